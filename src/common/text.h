/* text.h — small string helpers shared by the parsers and the device layer. */
#ifndef SG_COMMON_TEXT_H
#define SG_COMMON_TEXT_H

/* 1 when `needle` occurs in `hay` ignoring ASCII case ("" occurs everywhere). */
int sg_icontains(const char *hay, const char *needle);

#endif /* SG_COMMON_TEXT_H */
