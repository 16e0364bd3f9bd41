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

/* The decoder for the data's format by its magic bytes (TGA, which has none, by its header), or
 * NULL when no decoder knows it. */
static SgDecoder *find_decoder(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return sg_decode_jpeg;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return sg_decode_png;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return sg_decode_webp;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return sg_decode_gif;
    if (n >= 2 && d[0] == 'B' && d[1] == 'M')
        return sg_decode_bmp;
    if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && strchr(" \t\r\n#", d[2]) && d[2])
        return sg_decode_pnm;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 ||
                   memcmp(d, "II+\0", 4) == 0 || memcmp(d, "MM\0+", 4) == 0))
        return sg_decode_tiff;
    /* ICO and CUR with at least one entry (an uncompressed TGA can start as a CUR does) */
    if (n >= 6 && memcmp(d, "\0\0\1\0", 4) == 0 && sg_le16(d + 4) > 0)
        return sg_decode_ico;
    if (n >= 6 && memcmp(d, "\0\0\2\0", 4) == 0 && sg_le16(d + 4) > 0)
        return sg_decode_cur;
    if (looks_like_heif(d, n))
        return sg_decode_heif;
    if (n >= 4 && (sg_le32(d) == 12 || sg_le32(d) == 40 || sg_le32(d) == 64 ||
                   sg_le32(d) == 108 || sg_le32(d) == 124))
        return sg_decode_dib_file; /* Pillow's DIB: a BMP info header size first */
    if (looks_like_tga(d, n))
        return sg_decode_tga;
    return NULL;
}

int sg_image_decode(const void *data, size_t size, const char *name, const SgDecodeOptions *o,
                    SgImage *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    SgDecodeInput in = {data, size, name ? name : "image in memory", o->max_pixels,
                        o->allow_truncated};
    if (!data || size == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: empty image data", in.name);
    SgDecoder *decode = find_decoder(in.data, in.size);
    if (!decode)
        return sg_fail(err, SIGLIP_ENOTSUP, "%s: unknown image format (not JPEG, PNG, WebP, GIF, "
                       "BMP/DIB, TGA, PNM, ICO/CUR, TIFF, HEIF or AVIF)", in.name);
    int orientation = 1;
    int rc = decode(&in, out, &orientation, err);
    if (rc == 0 && !o->keep_orientation)
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
    SgDecodeOptions o = {max_pixels, 0, 0};
    return sg_image_decode(data, size, name, &o, out, err);
}

int sg_image_load_file_rgb8(const char *path, uint64_t max_pixels, SgImage *out, SgError *err)
{
    SgDecodeOptions o = {max_pixels, 0, 0};
    return sg_image_load_file(path, &o, out, err);
}
