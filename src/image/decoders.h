/* decoders.h — the per-format decoders behind sg_image_decode_rgb8. Each checks its header's
 * pixel count against max_pixels before decoding, converts to RGB8 as PIL's convert("RGB") and
 * reports the EXIF Orientation it found (1 when none). */
#ifndef SG_IMAGE_DECODERS_H
#define SG_IMAGE_DECODERS_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* What every decoder is given: the encoded bytes, a name for messages and the pixel limit. */
typedef struct SgDecodeInput {
    const uint8_t *data;
    size_t size;
    const char *name;
    uint64_t max_pixels;
} SgDecodeInput;

int sg_decode_jpeg(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
int sg_decode_webp(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
int sg_decode_gif(const SgDecodeInput *in, SgImage *out, SgError *err);
/* Binary PGM/PPM (P5, P6). */
int sg_decode_pnm(const SgDecodeInput *in, SgImage *out, SgError *err);
/* PNG, BMP and TGA through stb_image, with Pillow's conversion where stb's differs. */
int sg_decode_stb(const SgDecodeInput *in, SgImage *out, SgError *err);
/* The Orientation of a PNG's eXIf chunk (1 when none). */
int sg_png_exif_orientation(const uint8_t *data, size_t size);

/* Shared checks: E2BIG when w × h exceeds the limit, EBADMSG when either is zero or negative. */
int sg_check_dimensions(const SgDecodeInput *in, int64_t w, int64_t h, SgError *err);

/* Allocates out->rgb for w × h pixels. */
int sg_image_alloc(SgImage *out, int w, int h, SgError *err);

#endif /* SG_IMAGE_DECODERS_H */
