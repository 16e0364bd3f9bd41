/* exif.c — the EXIF Orientation tag (read from a TIFF-structured Exif block, bounds-checked) and
 * its application to an RGB8 image as PIL.ImageOps.exif_transpose. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/bytes.h"
#include "image/exif.h"

#define TIFF_TAG_ORIENTATION 0x0112

/* Bytes per value of the TIFF field types Pillow's ImageFileDirectory_v2 reads (its
 * _load_dispatch); 0: a type it skips, as if the entry were not there. */
static unsigned type_size(unsigned type)
{
    static const uint8_t size[17] = {
        [1] = 1, [2] = 1, [3] = 2, [4] = 4, [5] = 8, [6] = 1, [7] = 1, [8] = 2,
        [9] = 4, [10] = 8, [11] = 4, [12] = 8, [13] = 4, [16] = 8,
    };
    return type < sizeof size ? size[type] : 0;
}

static uint64_t u64_of(const uint8_t *p, int be)
{
    uint64_t hi = sg_u32(p + (be ? 0 : 4), be), lo = sg_u32(p + (be ? 4 : 0), be);
    return hi << 32 | lo;
}

/* 1–8 when the first value of a field equals that integer, as the dict lookup of Pillow's
 * exif_transpose matches it (6, 6.0 and the rational 12/2 alike); 0 otherwise. BYTE, ASCII
 * and UNDEFINED values are bytes or text to Pillow and never match. */
static int orientation_value(unsigned type, const uint8_t *v, int be)
{
    double x;
    switch (type) {
    case 3: x = sg_u16(v, be); break;
    case 8: x = (int16_t)sg_u16(v, be); break;
    case 4: case 13: x = sg_u32(v, be); break;
    case 9: x = (int32_t)sg_u32(v, be); break;
    case 6: x = (int8_t)v[0]; break;
    case 16: {
        uint64_t u = u64_of(v, be);
        x = u <= 8 ? (double)u : 0;
        break;
    }
    case 11: {
        uint32_t bits = sg_u32(v, be);
        float f;
        memcpy(&f, &bits, sizeof f);
        x = f;
        break;
    }
    case 12: {
        uint64_t bits = u64_of(v, be);
        memcpy(&x, &bits, sizeof x);
        break;
    }
    case 5: case 10: { /* a fraction: it equals k when num = k * den (den 0: NaN to Pillow) */
        int64_t num = type == 5 ? (int64_t)sg_u32(v, be) : (int32_t)sg_u32(v, be);
        int64_t den = type == 5 ? (int64_t)sg_u32(v + 4, be) : (int32_t)sg_u32(v + 4, be);
        for (int k = 1; k <= 8; k++)
            if (den != 0 && num == k * den)
                return k;
        return 0;
    }
    default: return 0;
    }
    for (int k = 1; k <= 8; k++)
        if (x == k)
            return k;
    return 0;
}

int sg_exif_orientation(const uint8_t *data, size_t size)
{
    int v = sg_exif_orientation_tag(data, size);
    return v >= 1 && v <= 8 ? v : 1;
}

/* As Pillow 9.4 loads IFD0: an entry of a type it does not know or with count 0 is skipped; at an
 * entry (of any tag) whose values lie (partly) outside the block its read fails and it stops
 * reading IFD0 (ImageFileDirectory_v2.load catches the OSError of _safe_read); of several
 * Orientation entries the last one read counts (each overwrites the tag); of several values the
 * first (Orientation has one). */
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
    int tag = -1;
    for (unsigned i = 0; i < n_entries; i++, entry += 12) {
        unsigned type = sg_u16(entry + 2, be), unit = type_size(type);
        uint64_t bytes = (uint64_t)sg_u32(entry + 4, be) * unit;
        if (bytes == 0) /* unknown type or no values */
            continue;
        const uint8_t *values = entry + 8;
        if (bytes > 4) { /* stored at an offset from the TIFF header */
            uint32_t at = sg_u32(entry + 8, be);
            if (at > size || bytes > size - at)
                break; /* Pillow's read fails here and it reads no further entries */
            values = data + at;
        }
        if (sg_u16(entry, be) == TIFF_TAG_ORIENTATION)
            tag = orientation_value(type, values, be);
    }
    return tag;
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
