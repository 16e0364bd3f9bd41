/* exif.c — the EXIF Orientation tag (read from a TIFF-structured Exif block, bounds-checked) and
 * its application to an RGB8 image as PIL.ImageOps.exif_transpose. */
#include <stdlib.h>
#include <string.h>

#include "image/exif.h"

#define TIFF_TAG_ORIENTATION 0x0112
#define TIFF_TYPE_SHORT 3
#define TIFF_TYPE_LONG 4

static unsigned read_u16(const uint8_t *p, int big_endian)
{
    return big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t read_u32(const uint8_t *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int sg_exif_orientation(const uint8_t *data, size_t size)
{
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) {
        data += 6;
        size -= 6;
    }
    if (size < 8)
        return 1;
    int be;
    if (memcmp(data, "II*\0", 4) == 0)
        be = 0;
    else if (memcmp(data, "MM\0*", 4) == 0)
        be = 1;
    else
        return 1;
    uint32_t ifd = read_u32(data + 4, be);
    if (ifd > size - 2)
        return 1;
    unsigned n_entries = read_u16(data + ifd, be);
    const uint8_t *entry = data + ifd + 2;
    size_t room = (size - ifd - 2) / 12;
    if (n_entries > room)
        n_entries = (unsigned)room;
    for (unsigned i = 0; i < n_entries; i++, entry += 12) {
        if (read_u16(entry, be) != TIFF_TAG_ORIENTATION)
            continue;
        unsigned type = read_u16(entry + 2, be);
        uint32_t count = read_u32(entry + 4, be);
        if (count != 1)
            return 1;
        uint32_t v;
        if (type == TIFF_TYPE_SHORT)
            v = read_u16(entry + 8, be);
        else if (type == TIFF_TYPE_LONG)
            v = read_u32(entry + 8, be);
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

/* Where output pixel (x, y) of an oriented image reads its source pixel, for the transposition
 * PIL applies per orientation (2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE,
 * 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90). w, h are the source size. */
static void source_of(int orientation, int x, int y, int w, int h, int *sx, int *sy)
{
    switch (orientation) {
    case 2: *sx = w - 1 - x; *sy = y; break;
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4: *sx = x; *sy = h - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = h - 1 - x; break;
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;
    case 8: *sx = w - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

int sg_exif_apply_orientation(SgImage *img, int orientation, SgError *err)
{
    if (orientation < 2 || orientation > 8)
        return 0;
    int w = img->width, h = img->height;
    int swap = orientation >= 5;
    int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *out = malloc((size_t)w * h * 3);
    if (!out)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for EXIF orientation");
    for (int y = 0; y < oh; y++) {
        uint8_t *dst = out + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            source_of(orientation, x, y, w, h, &sx, &sy);
            memcpy(dst + (size_t)x * 3, img->rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    free(img->rgb);
    img->rgb = out;
    img->width = ow;
    img->height = oh;
    return 0;
}
