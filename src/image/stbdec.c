/* stbdec.c — PNG, BMP and TGA through stb_image, plus where Pillow converts differently:
 * 16-bit grey PNG is mode I in Pillow and convert("RGB") clips it to 255 (stb keeps the high
 * byte). Header sizes are checked against the pixel limit before stb sees the data. */
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

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

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

/* stb reads past the end of uncompressed BMP and TGA data as zeros; Pillow refuses such a
 * truncated file, so the pixel data's extent is checked here. */
static int check_extent(const SgDecodeInput *in, uint64_t end)
{
    return end > in->size ? 1 : 0;
}

/* BMP with a BITMAPINFOHEADER or later: size limit, then (BI_RGB / BI_BITFIELDS) data extent. */
static int precheck_bmp(const SgDecodeInput *in, SgError *err)
{
    int64_t w = le32(in->data + 18), h = le32(in->data + 22);
    int rc = sg_check_dimensions(in, w, h < 0 ? -h : h, err);
    if (rc || in->size < 34)
        return rc;
    unsigned bpp = in->data[28] | in->data[29] << 8, compression = (unsigned)le32(in->data + 30);
    uint64_t row = ((uint64_t)w * bpp + 31) / 32 * 4;
    if ((compression == 0 || compression == 3) &&
        check_extent(in, (uint32_t)le32(in->data + 10) + row * (uint64_t)(h < 0 ? -h : h)))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated BMP data", in->name);
    return 0;
}

/* Uncompressed TGA (types 1, 2, 3): header, id, colour map, then w·h pixels. */
static int precheck_tga(const SgDecodeInput *in, SgError *err)
{
    const uint8_t *d = in->data;
    unsigned type = d[2], bpp = d[16];
    uint64_t w = d[12] | d[13] << 8, h = d[14] | d[15] << 8;
    int rc = sg_check_dimensions(in, (int64_t)w, (int64_t)h, err);
    if (rc || type > 3)
        return rc;
    uint64_t cmap = d[1] ? (uint64_t)(d[5] | d[6] << 8) * ((d[7] + 7) / 8) : 0;
    if (check_extent(in, 18 + d[0] + cmap + w * h * ((bpp + 7) / 8)))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated TGA data", in->name);
    return 0;
}

/* Sizes from the PNG IHDR, BMP or TGA header, checked before stb parses anything (stb itself
 * reports a huge PNG only as "corrupt"). */
static int precheck_header(const SgDecodeInput *in, SgError *err)
{
    if (is_png(in))
        return in->size >= 24 && memcmp(in->data + 12, "IHDR", 4) == 0
                   ? sg_check_dimensions(in, be32(in->data + 16), be32(in->data + 20), err)
                   : 0;
    if (in->data[0] == 'B' && in->data[1] == 'M')
        return in->size >= 26 && le32(in->data + 14) >= 40 ? precheck_bmp(in, err) : 0;
    return in->size >= 18 ? precheck_tga(in, err) : 0;
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
    int w, h, channels;
    if (in->size > INT32_MAX)
        return sg_fail(err, SIGLIP_E2BIG, "%s: file too large", in->name);
    int rc = precheck_header(in, err);
    if (rc)
        return rc;
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
