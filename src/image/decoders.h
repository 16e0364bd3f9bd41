/* decoders.h — what the per-format decoders share: their input, the size and truncation checks
 * and the output allocation (pixels.c). Each decoder checks its header's pixel count against
 * max_pixels before decoding, converts to RGB8 as PIL's convert("RGB") and reports the
 * orientation Pillow's exif_transpose would apply (1 when none). The dispatcher (decode.c)
 * depends on the decoders; decoders depend only on this header, bytes.h and exif.h. */
#ifndef SG_IMAGE_DECODERS_H
#define SG_IMAGE_DECODERS_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* What every decoder is given: the encoded bytes, a name for messages and the options. */
typedef struct SgDecodeInput {
    const uint8_t *data;
    size_t size;
    const char *name;
    uint64_t max_pixels;
    int allow_truncated; /* decode what a truncated file holds instead of failing */
} SgDecodeInput;

/* Every format's decoder: decodes in into out (RGB8) and sets *orientation (left at 1 by the
 * caller) to what exif_transpose would apply. */
typedef int SgDecoder(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);

int sg_decode_jpeg(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
int sg_decode_webp(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
int sg_decode_gif(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* PGM/PPM/PBM, binary (P4, P5, P6) and plain (P1, P2, P3). */
int sg_decode_pnm(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* PNG through stb_image, with the orientation of its eXIf, XMP or raw-profile chunks. */
int sg_decode_png(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* TGA through stb_image, with Pillow's handling of the right-hand origin. */
int sg_decode_tga(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* BMP ("BM" file) as Pillow's BmpImagePlugin. */
int sg_decode_bmp(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* A DIB (BMP without its 14-byte file header) as stored in ICO files: in->data starts at the
 * header-size field; height_div is 2 for ICO (the height counts the AND mask too). */
int sg_decode_dib(const SgDecodeInput *in, int height_div, SgImage *out, SgError *err);
/* ICO: the largest image, PNG or DIB, as Pillow's IcoImagePlugin picks it. */
int sg_decode_ico(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* CUR: the cursor Pillow's CurImagePlugin picks. */
int sg_decode_cur(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* A .dib file: a DIB (info header, palette, pixels) with no file header, as Pillow's DIB. */
int sg_decode_dib_file(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* TIFF through libtiff: the first page. */
int sg_decode_tiff(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);
/* HEIF/HEIC and AVIF through libheif: the primary image, its irot/imir already applied. */
int sg_decode_heif(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err);

/* PNG/TGA pixels through stb_image with Pillow's conversion to RGB (no header checks). */
int sg_decode_stb(const SgDecodeInput *in, SgImage *out, SgError *err);

/* E2BIG when w × h exceeds the limit, EBADMSG when either is zero or negative. */
int sg_check_dimensions(const SgDecodeInput *in, int64_t w, int64_t h, SgError *err);

/* The data ended before the image did: EBADMSG naming the file ("image file is truncated", as
 * Pillow says), or 0 when the caller allowed truncated images (the decoder then keeps what it
 * decoded; the rest stays as the decoder filled it). */
int sg_truncated(const SgDecodeInput *in, SgError *err);

/* Allocates out->rgb for w × h pixels, zero-filled (black, as Pillow's new image memory). */
int sg_image_alloc(SgImage *out, int w, int h, SgError *err);

/* One RGB channel of Pillow's cmyk2rgb: nk − c·nk/255 (rounded as Pillow's MULDIV255), with
 * nk = 255 − k. */
uint8_t sg_cmyk_channel(unsigned c, unsigned nk);

/* A palette as Pillow's P mode holds it: the n (≤ 256) RGB triplets of rgb, then grey (i, i, i)
 * for every other index i, as Pillow's palette starts as that grey ramp and a file's palette
 * overwrites only its first entries; an index past a short palette thus reads as grey. */
void sg_palette_fill(uint8_t palette[256][3], const uint8_t *rgb, size_t n);

/* Mirrors an image left to right in place. */
void sg_image_flip_horizontal(SgImage *img);

#endif /* SG_IMAGE_DECODERS_H */
