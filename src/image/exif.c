/* exif.c — the EXIF Orientation tag (read from a TIFF-structured Exif block, bounds-checked) and
 * its application to an RGB8 image as PIL.ImageOps.exif_transpose. */
#include <stdlib.h>
#include <string.h>

#include "image/bytes.h"
#include "image/exif.h"

#define TIFF_TAG_ORIENTATION 0x0112
#define TIFF_TYPE_SHORT 3
#define TIFF_TYPE_LONG 4

int sg_exif_orientation(const uint8_t *data, size_t size)
{
    int v = sg_exif_orientation_tag(data, size);
    return v >= 1 && v <= 8 ? v : 1;
}

int sg_exif_orientation_tag(const uint8_t *data, size_t size)
{
    if (size >= 6 && memcmp(data, "Exif\0\0", 6) == 0) {
        data += 6;
        size -= 6;
    }
    if (size < 8)
        return -1;
    int be;
    if (memcmp(data, "II*\0", 4) == 0)
        be = 0;
    else if (memcmp(data, "MM\0*", 4) == 0)
        be = 1;
    else
        return -1;
    uint32_t ifd = sg_u32(data + 4, be);
    if (ifd > size - 2)
        return -1;
    unsigned n_entries = sg_u16(data + ifd, be);
    const uint8_t *entry = data + ifd + 2;
    size_t room = (size - ifd - 2) / 12;
    if (n_entries > room)
        n_entries = (unsigned)room;
    for (unsigned i = 0; i < n_entries; i++, entry += 12) {
        if (sg_u16(entry, be) != TIFF_TAG_ORIENTATION)
            continue;
        unsigned type = sg_u16(entry + 2, be);
        uint32_t count = sg_u32(entry + 4, be);
        uint32_t v = 0; /* present but unusable: no transposition, and XMP is not consulted */
        if (count == 1 && type == TIFF_TYPE_SHORT)
            v = sg_u16(entry + 8, be);
        else if (count == 1 && type == TIFF_TYPE_LONG)
            v = sg_u32(entry + 8, be);
        return v <= 8 ? (int)v : 0;
    }
    return -1;
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

int sg_xmp_orientation(const uint8_t *xmp, size_t size)
{
    static const char key[] = "tiff:Orientation";
    const size_t n = sizeof key - 1;
    for (size_t i = 0; i + n + 2 <= size; i++) {
        if (memcmp(xmp + i, key, n) != 0)
            continue;
        const uint8_t *p = xmp + i + n;
        if (p[0] == '>' && p[1] >= '0' && p[1] <= '9')
            return p[1] - '0';
        if (p[0] == '=' && p[1] == '"' && i + n + 3 <= size && p[2] >= '0' && p[2] <= '9')
            return p[2] - '0';
    }
    return -1;
}
