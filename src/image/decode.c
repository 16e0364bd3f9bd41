/* decode.c — the dispatcher: format detection by magic bytes, the call to that format's decoder
 * (decoders.h), the orientation it reports applied as exif_transpose, and file loading. */
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "image/bytes.h"
#include "image/decoders.h"
#include "image/exif.h"

/* Files larger than this are refused before reading (an image that big is far past any pixel
 * limit anyway). */
#define SG_IMAGE_MAX_FILE_BYTES ((size_t)1 << 31)

typedef enum SgFormat {
    SG_FMT_UNKNOWN, SG_FMT_JPEG, SG_FMT_PNG, SG_FMT_WEBP, SG_FMT_GIF, SG_FMT_BMP, SG_FMT_PNM,
    SG_FMT_PNM_UNSUPPORTED, SG_FMT_TGA, SG_FMT_ICO, SG_FMT_TIFF, SG_FMT_HEIF,
} SgFormat;

/* Pillow's TgaImagePlugin accepts these header values; TGA has no magic number. */
static int looks_like_tga(const uint8_t *d, size_t n)
{
    if (n < 18)
        return 0;
    int cmap = d[1], type = d[2], depth = d[16];
    return cmap <= 1 && (type == 1 || type == 2 || type == 3 || type == 9 || type == 10 ||
                         type == 11) &&
           (depth == 8 || depth == 15 || depth == 16 || depth == 24 || depth == 32) &&
           sg_le16(d + 12) > 0 && sg_le16(d + 14) > 0;
}

/* An ISO base media file whose ftyp names a HEIF or AVIF brand (major or compatible). */
static int looks_like_heif(const uint8_t *d, size_t n)
{
    static const char brands[][5] = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1",
                                      "msf1", "avif", "avis"};
    if (n < 16 || memcmp(d + 4, "ftyp", 4) != 0)
        return 0;
    size_t box = sg_be32(d);
    if (box < 16 || box > n)
        box = n < 64 ? n : 64;
    for (size_t at = 8; at + 4 <= box; at += at == 8 ? 8 : 4) /* major, then compatible */
        for (size_t b = 0; b < sizeof brands / sizeof *brands; b++)
            if (memcmp(d + at, brands[b], 4) == 0)
                return 1;
    return 0;
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
        return d[1] == '7' ? SG_FMT_PNM_UNSUPPORTED : SG_FMT_PNM;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 ||
                   memcmp(d, "II+\0", 4) == 0 || memcmp(d, "MM\0+", 4) == 0))
        return SG_FMT_TIFF;
    if (n >= 4 && memcmp(d, "\0\0\1\0", 4) == 0)
        return SG_FMT_ICO;
    if (looks_like_heif(d, n))
        return SG_FMT_HEIF;
    if (looks_like_tga(d, n))
        return SG_FMT_TGA;
    return SG_FMT_UNKNOWN;
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
        return sg_decode_png(in, out, orientation, err);
    case SG_FMT_PNM:
        return sg_decode_pnm(in, out, err);
    case SG_FMT_BMP:
        return sg_decode_bmp(in, out, err);
    case SG_FMT_TGA:
        return sg_decode_tga(in, out, err);
    case SG_FMT_ICO:
        return sg_decode_ico(in, out, err);
    case SG_FMT_TIFF:
        return sg_decode_tiff(in, out, orientation, err);
    case SG_FMT_HEIF:
        return sg_decode_heif(in, out, err);
    case SG_FMT_PNM_UNSUPPORTED:
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: PAM (P7) images are not supported", in->name);
    default:
        return sg_fail(err, SIGLIP_ENOTSUP,
                       "%s: unknown image format (not JPEG, PNG, WebP, GIF, BMP, TGA, PNM, ICO, "
                       "TIFF, HEIF or AVIF)", in->name);
    }
}

int sg_image_decode(const void *data, size_t size, const char *name, const SgDecodeOptions *o,
                    SgImage *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    SgDecodeInput in = {data, size, name ? name : "image in memory", o->max_pixels,
                        o->allow_truncated};
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

int sg_image_load_file(const char *path, const SgDecodeOptions *o, SgImage *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    char *data;
    size_t size;
    int rc = sg_read_file(path, SG_IMAGE_MAX_FILE_BYTES, &data, &size, err);
    if (rc)
        return rc;
    rc = sg_image_decode(data, size, path, o, out, err);
    free(data);
    return rc;
}

int sg_image_decode_rgb8(const void *data, size_t size, const char *name, uint64_t max_pixels,
                         SgImage *out, SgError *err)
{
    SgDecodeOptions o = {max_pixels, 0};
    return sg_image_decode(data, size, name, &o, out, err);
}

int sg_image_load_file_rgb8(const char *path, uint64_t max_pixels, SgImage *out, SgError *err)
{
    SgDecodeOptions o = {max_pixels, 0};
    return sg_image_load_file(path, &o, out, err);
}
