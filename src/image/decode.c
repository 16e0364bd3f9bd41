/* decode.c — format detection by magic bytes, the shared limits, the PNG eXIf orientation and
 * sg_image_decode_rgb8 / sg_image_load_file_rgb8. */
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "image/decoders.h"
#include "image/exif.h"

/* Files larger than this are refused before reading (an image that big is far past any pixel
 * limit anyway). */
#define SG_IMAGE_MAX_FILE_BYTES ((size_t)1 << 31)

typedef enum SgFormat {
    SG_FMT_UNKNOWN, SG_FMT_JPEG, SG_FMT_PNG, SG_FMT_WEBP, SG_FMT_GIF, SG_FMT_BMP, SG_FMT_PNM,
    SG_FMT_PNM_UNSUPPORTED, SG_FMT_TGA,
} SgFormat;

void sg_image_free(SgImage *img)
{
    if (!img)
        return;
    free(img->rgb);
    memset(img, 0, sizeof *img);
}

int sg_image_alloc(SgImage *out, int w, int h, SgError *err)
{
    out->rgb = malloc((size_t)w * (size_t)h * 3);
    if (!out->rgb)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for a %dx%d image", w, h);
    out->width = w;
    out->height = h;
    return 0;
}

int sg_check_dimensions(const SgDecodeInput *in, int64_t w, int64_t h, SgError *err)
{
    if (w <= 0 || h <= 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: image has zero size (%lldx%lld)", in->name,
                       (long long)w, (long long)h);
    if ((uint64_t)w * (uint64_t)h > in->max_pixels)
        return sg_fail(err, SIGLIP_E2BIG,
                       "%s: image of %lldx%lld pixels exceeds the limit of %llu pixels", in->name,
                       (long long)w, (long long)h, (unsigned long long)in->max_pixels);
    return 0;
}

/* Pillow's TgaImagePlugin accepts these header values; TGA has no magic number. */
static int looks_like_tga(const uint8_t *d, size_t n)
{
    if (n < 18)
        return 0;
    int cmap = d[1], type = d[2], depth = d[16];
    int w = d[12] | d[13] << 8, h = d[14] | d[15] << 8;
    return cmap <= 1 && (type == 1 || type == 2 || type == 3 || type == 9 || type == 10 ||
                         type == 11) &&
           (depth == 8 || depth == 15 || depth == 16 || depth == 24 || depth == 32) && w > 0 &&
           h > 0;
}

static SgFormat detect_format(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return SG_FMT_JPEG;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return SG_FMT_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return SG_FMT_WEBP;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return SG_FMT_GIF;
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return SG_FMT_BMP;
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' && strchr(" \t\r\n#", d[2]) && d[2])
        return d[1] == '5' || d[1] == '6' ? SG_FMT_PNM : SG_FMT_PNM_UNSUPPORTED;
    if (looks_like_tga(d, n))
        return SG_FMT_TGA;
    return SG_FMT_UNKNOWN;
}

static uint32_t read_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int sg_png_exif_orientation(const uint8_t *data, size_t size)
{
    size_t pos = 8;
    while (pos + 12 <= size) {
        uint32_t len = read_be32(data + pos);
        if (len > size - pos - 12)
            break;
        if (memcmp(data + pos + 4, "eXIf", 4) == 0)
            return sg_exif_orientation(data + pos + 8, len);
        if (memcmp(data + pos + 4, "IEND", 4) == 0)
            break;
        pos += 12 + (size_t)len;
    }
    return 1;
}

static int dispatch(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    *orientation = 1;
    switch (detect_format(in->data, in->size)) {
    case SG_FMT_JPEG:
        return sg_decode_jpeg(in, out, orientation, err);
    case SG_FMT_WEBP:
        return sg_decode_webp(in, out, orientation, err);
    case SG_FMT_GIF:
        return sg_decode_gif(in, out, err);
    case SG_FMT_PNG:
        *orientation = sg_png_exif_orientation(in->data, in->size);
        return sg_decode_stb(in, out, err);
    case SG_FMT_PNM:
        return sg_decode_pnm(in, out, err);
    case SG_FMT_BMP:
    case SG_FMT_TGA:
        return sg_decode_stb(in, out, err);
    case SG_FMT_PNM_UNSUPPORTED:
        return sg_fail(err, SIGLIP_ENOTSUP,
                       "%s: only binary PGM/PPM (P5, P6) images are supported, not P%c",
                       in->name, in->data[1]);
    default:
        return sg_fail(err, SIGLIP_ENOTSUP,
                       "%s: unknown image format (not JPEG, PNG, WebP, GIF, BMP, TGA or PNM)",
                       in->name);
    }
}

int sg_image_decode_rgb8(const void *data, size_t size, const char *name, uint64_t max_pixels,
                         SgImage *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    SgDecodeInput in = {data, size, name ? name : "image in memory", max_pixels};
    if (!data || size == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: empty image data", in.name);
    int orientation;
    int rc = dispatch(&in, out, &orientation, err);
    if (rc == 0)
        rc = sg_exif_apply_orientation(out, orientation, err);
    if (rc)
        sg_image_free(out);
    return rc;
}

int sg_image_load_file_rgb8(const char *path, uint64_t max_pixels, SgImage *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t size;
    int rc = sg_read_file(path, SG_IMAGE_MAX_FILE_BYTES, &data, &size, err);
    if (rc)
        return rc;
    rc = sg_image_decode_rgb8(data, size, path, max_pixels, out, err);
    free(data);
    return rc;
}
