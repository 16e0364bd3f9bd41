/* bytes.h — the one byte-order reader every image decoder uses: unaligned little/big-endian
 * integers from a byte pointer (the caller has checked that the bytes are there). */
#ifndef SG_IMAGE_BYTES_H
#define SG_IMAGE_BYTES_H

#include <stdint.h>

static inline uint32_t sg_le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t sg_be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t sg_le32(const uint8_t *p)
{
    return sg_le16(p) | sg_le16(p + 2) << 16;
}

static inline uint32_t sg_be32(const uint8_t *p)
{
    return sg_be16(p) << 16 | sg_be16(p + 2);
}

/* In the byte order a TIFF/EXIF block declares (big_endian = "MM"). */
static inline uint32_t sg_u16(const uint8_t *p, int big_endian)
{
    return big_endian ? sg_be16(p) : sg_le16(p);
}

static inline uint32_t sg_u32(const uint8_t *p, int big_endian)
{
    return big_endian ? sg_be32(p) : sg_le32(p);
}

#endif /* SG_IMAGE_BYTES_H */
