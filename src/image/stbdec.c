/* stbdec.c — PNG and TGA pixels through stb_image, plus where Pillow converts differently:
 * 16-bit grey PNG is mode I in Pillow and convert("RGB") clips it to 255 (stb keeps the high
 * byte). Callers check header sizes against the pixel limit before stb sees the data. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "image/bytes.h"
#include "image/decoders.h"

static const char *stb_reason(void)
{
    const char *r = stbi_failure_reason();
    return r ? r : "unknown error";
}

static int is_png(const SgDecodeInput *in)
{
    return in->size >= 8 && memcmp(in->data, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* Whether the RLE packets of a TGA (types 9-11) cover all w·h pixels before the data ends. */
static int tga_rle_complete(const SgDecodeInput *in, size_t pos, uint64_t n_pixels,
                            unsigned pixel_bytes)
{
    for (uint64_t n = 0; n < n_pixels;) {
        if (pos >= in->size)
            return 0;
        unsigned head = in->data[pos++], count = (head & 0x7F) + 1;
        pos += head & 0x80 ? pixel_bytes : (size_t)count * pixel_bytes;
        n += count;
    }
    return pos <= in->size;
}

/* A truncated TGA, allowed: stb decodes a copy padded with zeros to `size` bytes (for RLE data,
 * each zero byte starts a one-pixel literal packet of zeros), so the missing pixels are black. */
static int decode_padded(const SgDecodeInput *in, uint64_t size, SgImage *out, SgError *err)
{
    if (size > INT32_MAX)
        return sg_fail(err, SIGLIP_E2BIG, "%s: file too large", in->name);
    uint8_t *copy = calloc((size_t)size, 1);
    if (!copy)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    memcpy(copy, in->data, in->size);
    SgDecodeInput padded = *in;
    padded.data = copy;
    padded.size = (size_t)size;
    int rc = sg_decode_stb(&padded, out, err);
    free(copy);
    return rc;
}

/* TGA: header, id, colour map, then the pixels. stb reads past the end of uncompressed data as
 * zeros and ignores the right-hand-origin bit; Pillow refuses the former and mirrors the
 * latter. */
int sg_decode_tga(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    const uint8_t *d = in->data;
    unsigned type = d[2], bpp = d[16];
    uint64_t w = sg_le16(d + 12), h = sg_le16(d + 14);
    int rc = sg_check_dimensions(in, (int64_t)w, (int64_t)h, err);
    if (rc)
        return rc;
    uint64_t cmap = d[1] ? (uint64_t)sg_le16(d + 5) * ((d[7] + 7) / 8) : 0;
    uint64_t start = 18 + d[0] + cmap, pixel_bytes = (bpp + 7) / 8;
    int complete = type <= 3 ? start + w * h * pixel_bytes <= in->size
                             : tga_rle_complete(in, start, w * h, (unsigned)pixel_bytes);
    if (complete)
        rc = sg_decode_stb(in, out, err);
    else if ((rc = sg_truncated(in, err)) == 0)
        rc = decode_padded(in, start + w * h * (pixel_bytes + 1) + in->size, out, err);
    if (rc)
        return rc;
    if (d[17] & 0x10)
        sg_image_flip_horizontal(out);
    return 0;
}

/* 16-bit greyscale PNG without alpha (IHDR depth byte 24, colour type byte 25). */
static int is_png_gray16(const SgDecodeInput *in)
{
    return is_png(in) && in->size >= 26 && in->data[24] == 16 && in->data[25] == 0;
}

/* Expands n-channel 8-bit pixels to RGB: grey replicated, alpha dropped without compositing. */
static void channels_to_rgb(const uint8_t *src, int channels, size_t n_pixels, uint8_t *rgb)
{
    for (size_t i = 0; i < n_pixels; i++, src += channels, rgb += 3) {
        if (channels <= 2) {
            rgb[0] = rgb[1] = rgb[2] = src[0];
        } else {
            rgb[0] = src[0];
            rgb[1] = src[1];
            rgb[2] = src[2];
        }
    }
}

/* Pillow's I → RGB: each 16-bit grey value clipped to 255 and replicated. */
static int decode_gray16_png(const SgDecodeInput *in, SgImage *out, SgError *err)
{
    int w, h, channels;
    stbi_us *px = stbi_load_16_from_memory(in->data, (int)in->size, &w, &h, &channels, 0);
    if (!px)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated image (%s)", in->name,
                       stb_reason());
    int rc = sg_image_alloc(out, w, h, err);
    if (rc == 0) {
        size_t n = (size_t)w * h;
        for (size_t i = 0; i < n; i++) {
            unsigned v = px[i * channels]; /* a tRNS chunk makes stb add an alpha channel */
            out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] =
                (uint8_t)(v > 255 ? 255 : v);
        }
    }
    stbi_image_free(px);
    return rc;
}

int sg_decode_stb(const SgDecodeInput *in, SgImage *out, SgError *err)
{
    int w, h, channels, rc;
    if (in->size > INT32_MAX)
        return sg_fail(err, SIGLIP_E2BIG, "%s: file too large", in->name);
    if (!stbi_info_from_memory(in->data, (int)in->size, &w, &h, &channels))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated image (%s)", in->name,
                       stb_reason());
    if ((rc = sg_check_dimensions(in, w, h, err)))
        return rc;
    if (is_png_gray16(in))
        return decode_gray16_png(in, out, err);
    uint8_t *px = stbi_load_from_memory(in->data, (int)in->size, &w, &h, &channels, 0);
    if (!px)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt or truncated image (%s)", in->name,
                       stb_reason());
    rc = sg_image_alloc(out, w, h, err);
    if (rc == 0)
        channels_to_rgb(px, channels, (size_t)w * h, out->rgb);
    stbi_image_free(px);
    return rc;
}
