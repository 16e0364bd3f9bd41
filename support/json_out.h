/* json_out.h — writing JSON values to a stream: escaped strings and numbers that round-trip. */
#ifndef SIGLIP_JSON_OUT_H
#define SIGLIP_JSON_OUT_H

#include <stdint.h>
#include <stdio.h>

/* A quoted JSON string; control characters escaped, invalid UTF-8 bytes written as \ufffd so the
 * output always parses. */
void json_string(FILE *f, const char *s);

/* A float with 9 significant digits (enough to read back the same float32), or null when it is not
 * finite. */
void json_float(FILE *f, double v);

/* A number with `digits` significant digits, or null when it is not finite. */
void json_number(FILE *f, double v, int digits);

/* n floats as json_float writes them, with sep between two (no brackets: the caller's). */
void json_float_list(FILE *f, const float *v, int n, const char *sep);

/* "[a, b, ...]" of n int32 values. */
void json_int_array(FILE *f, const int32_t *v, int n);

/* One item of json_array: writes item i of ctx to f. */
typedef void JsonItem(FILE *f, int i, const void *ctx);

/* A JSON array of n items, each written by `item`, built in memory (malloc'ed; NULL when out of
 * memory): a __metadata__ value of a .safetensors file, say. */
char *json_array(int n, JsonItem *item, const void *ctx);

#endif /* SIGLIP_JSON_OUT_H */
