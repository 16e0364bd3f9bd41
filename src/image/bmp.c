/* bmp.c — BMP and DIB as Pillow's BmpImagePlugin reads them: OS/2 v1/v2 and Windows v3–v5
 * headers, top-down rows, 1/4/8-bit palettes (greyscale palettes read as L or 1; an index past
 * the palette reads as grey index), RLE8/RLE4 with Pillow's run semantics, 16-bit 5-5-5/5-6-5
 * expanded as v·255/31 (v·255/63), 24/32-bit and the bitfield layouts Pillow accepts. */
#include <stdlib.h>
#include <string.h>

#include "image/bytes.h"
#include "image/decoders.h"

enum { BMP_RAW = 0, BMP_RLE8 = 1, BMP_RLE4 = 2, BMP_BITFIELDS = 3 };

/* How each stored pixel becomes RGB (Pillow's rawmode). */
typedef enum BmpPixel {
    PX_BIT1,      /* "1": 0 or 255 */
    PX_GREY8,     /* "L" */
    PX_INDEX,     /* "P;1", "P;4", "P": palette index of `bits` bits */
    PX_BGR15, PX_BGR16, PX_BGR, PX_BGRX, PX_XBGR, PX_RGBX,
} BmpPixel;

typedef struct BmpInfo {
    int64_t width, height;
    int top_down;
    unsigned bits, compression;
    BmpPixel pixel;
    unsigned unpack_bits;   /* bits per pixel the unpacker reads */
    uint8_t palette[256][3];/* RGB; entries past n_palette are the grey ramp, as Pillow's */
    size_t data_offset;     /* where the pixel data starts */
} BmpInfo;

/* The 32/24/16-bit bitfield layouts Pillow supports, as (r, g, b, a) masks. */
static int bitfields_pixel(unsigned bits, const uint32_t m[4], BmpPixel *px)
{
    static const struct { unsigned bits; uint32_t m[4]; int check_alpha; BmpPixel px; } t[] = {
        {32, {0xFF0000, 0xFF00, 0xFF, 0}, 1, PX_BGRX},
        {32, {0xFF000000, 0xFF0000, 0xFF00, 0}, 1, PX_XBGR},
        {32, {0xFF000000, 0xFF0000, 0xFF00, 0xFF}, 1, PX_XBGR},
        {32, {0xFF, 0xFF00, 0xFF0000, 0xFF000000}, 1, PX_RGBX},
        {32, {0xFF0000, 0xFF00, 0xFF, 0xFF000000}, 1, PX_BGRX},
        {32, {0, 0, 0, 0}, 1, PX_BGRX},
        {24, {0xFF0000, 0xFF00, 0xFF, 0}, 0, PX_BGR},
        {16, {0xF800, 0x7E0, 0x1F, 0}, 0, PX_BGR16},
        {16, {0x7C00, 0x3E0, 0x1F, 0}, 0, PX_BGR15},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (t[i].bits == bits && t[i].m[0] == m[0] && t[i].m[1] == m[1] && t[i].m[2] == m[2] &&
            (!t[i].check_alpha || t[i].m[3] == m[3])) {
            *px = t[i].px;
            return 0;
        }
    return -1;
}

/* Reads the palette at `pos` (entries of `pad` bytes, BGR first) and decides, as Pillow does,
 * whether it is the grey ramp (then the file reads as "L", or as "1" for two colours). */
static void read_palette(const SgDecodeInput *in, size_t pos, uint64_t colors, unsigned pad,
                         BmpInfo *b)
{
    sg_palette_fill(b->palette, NULL, 0);
    uint64_t avail = pos < in->size ? (in->size - pos) / pad : 0;
    int grey = 1;
    for (uint64_t i = 0; i < colors; i++) {
        unsigned want = colors == 2 ? (i ? 255 : 0) : (unsigned)(i & 255);
        if (i >= avail) {
            grey = 0;
            break;
        }
        const uint8_t *e = in->data + pos + i * pad;
        grey &= e[0] == want && e[1] == want && e[2] == want;
        if (i < 256) {
            b->palette[i][0] = e[2];
            b->palette[i][1] = e[1];
            b->palette[i][2] = e[0];
        }
    }
    if (grey) {
        b->pixel = colors == 2 ? PX_BIT1 : PX_GREY8;
        b->unpack_bits = colors == 2 ? 1 : 8;
    }
}

static int unsupported(const SgDecodeInput *in, const char *what, unsigned v, SgError *err)
{
    return sg_fail(err, SIGLIP_ENOTSUP, "%s: unsupported BMP %s (%u)", in->name, what, v);
}

/* Parses the info header at in->data + hdr. file_offset: the data offset of the file header,
 * 0 for a DIB (data right after the palette). */
static int parse_header(const SgDecodeInput *in, size_t hdr, size_t file_offset, BmpInfo *b,
                        SgError *err)
{
    const uint8_t *d = in->data;
    if (hdr + 4 > in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated BMP header", in->name);
    uint32_t hsize = sg_le32(d + hdr);
    if (hsize != 12 && hsize != 40 && hsize != 64 && hsize != 108 && hsize != 124)
        return unsupported(in, "header size", hsize, err);
    if (hdr + hsize > in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated BMP header", in->name);
    const uint8_t *h = d + hdr + 4;
    size_t pos = hdr + hsize;
    uint64_t colors = 0;
    unsigned pad = 4;
    uint32_t masks[4] = {0, 0, 0, 0};
    if (hsize == 12) {
        b->width = sg_le16(h), b->height = sg_le16(h + 2), b->bits = sg_le16(h + 6);
        b->compression = BMP_RAW;
        pad = 3;
    } else {
        b->top_down = h[7] == 0xFF;
        b->width = sg_le32(h);
        b->height = b->top_down ? (int64_t)((1ull << 32) - sg_le32(h + 4)) : sg_le32(h + 4);
        b->bits = sg_le16(h + 10);
        b->compression = sg_le32(h + 12);
        colors = sg_le32(h + 28);
        if (b->compression == BMP_BITFIELDS && hsize >= 56) {
            for (int i = 0; i < 4; i++)
                masks[i] = sg_le32(h + 36 + 4 * i);
        } else if (b->compression == BMP_BITFIELDS) {
            if (pos + 12 > in->size)
                return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated BMP header", in->name);
            for (int i = 0; i < 3; i++)
                masks[i] = sg_le32(d + pos + 4 * i);
            pos += 12;
        }
    }
    int rc = sg_check_dimensions(in, b->width, b->height, err);
    if (rc)
        return rc;
    if (!colors)
        colors = b->bits < 32 ? 1ull << b->bits : 0;
    b->data_offset = file_offset;
    if (file_offset == hdr + hsize && b->bits <= 8)
        b->data_offset += 4 * colors; /* Pillow adds 4 bytes per colour, even for OS/2 v1 */
    static const BmpPixel by_bits[33] = {[16] = PX_BGR15, [24] = PX_BGR, [32] = PX_BGRX};
    if (b->bits != 1 && b->bits != 4 && b->bits != 8 && b->bits != 16 && b->bits != 24 &&
        b->bits != 32)
        return unsupported(in, "pixel depth", b->bits, err);
    b->pixel = b->bits <= 8 ? PX_INDEX : by_bits[b->bits];
    b->unpack_bits = b->bits;
    if (b->compression == BMP_BITFIELDS) {
        if (bitfields_pixel(b->bits, masks, &b->pixel))
            return sg_fail(err, SIGLIP_ENOTSUP, "%s: unsupported BMP bitfields layout", in->name);
    } else if (b->compression == BMP_RLE8 || b->compression == BMP_RLE4) {
        if (b->bits > 8)
            return unsupported(in, "RLE pixel depth", b->bits, err);
    } else if (b->compression != BMP_RAW) {
        return unsupported(in, "compression", b->compression, err);
    }
    if (b->pixel == PX_INDEX) {
        if (colors == 0 || colors > 65536)
            return unsupported(in, "palette size", (unsigned)colors, err);
        read_palette(in, pos, colors, pad, b);
        pos += (size_t)colors * pad;
    }
    if (!file_offset)
        b->data_offset = pos;
    if (b->compression != BMP_RAW && b->compression != BMP_BITFIELDS && b->pixel == PX_BIT1)
        return unsupported(in, "RLE with a two-colour grey palette", 1, err);
    return 0;
}

static void put_pixel(const BmpInfo *b, const uint8_t *row, int64_t x, uint8_t *rgb)
{
    const uint8_t *p;
    unsigned v;
    switch (b->pixel) {
    case PX_BIT1:
        rgb[0] = rgb[1] = rgb[2] = (row[x >> 3] >> (7 - (x & 7)) & 1) ? 255 : 0;
        return;
    case PX_GREY8:
        rgb[0] = rgb[1] = rgb[2] = row[x];
        return;
    case PX_INDEX:
        v = b->unpack_bits == 8 ? row[x]
            : b->unpack_bits == 4 ? (row[x >> 1] >> (x & 1 ? 0 : 4)) & 15
                                  : (row[x >> 3] >> (7 - (x & 7))) & 1;
        memcpy(rgb, b->palette[v], 3);
        return;
    case PX_BGR15:
    case PX_BGR16:
        v = sg_le16(row + 2 * x);
        rgb[2] = (uint8_t)((v & 31) * 255 / 31);
        if (b->pixel == PX_BGR15) {
            rgb[1] = (uint8_t)((v >> 5 & 31) * 255 / 31);
            rgb[0] = (uint8_t)((v >> 10 & 31) * 255 / 31);
        } else {
            rgb[1] = (uint8_t)((v >> 5 & 63) * 255 / 63);
            rgb[0] = (uint8_t)((v >> 11 & 31) * 255 / 31);
        }
        return;
    case PX_BGR:
    case PX_BGRX:
        p = row + (b->pixel == PX_BGR ? 3 : 4) * x;
        rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0];
        return;
    case PX_XBGR:
        p = row + 4 * x;
        rgb[0] = p[3], rgb[1] = p[2], rgb[2] = p[1];
        return;
    case PX_RGBX:
        memcpy(rgb, row + 4 * x, 3);
        return;
    }
}

/* Rows of max(stride, unpacked bytes) bytes, as Pillow's raw decoder steps through them. */
static int decode_raw(const SgDecodeInput *in, const BmpInfo *b, SgImage *out, SgError *err)
{
    uint64_t stride = ((uint64_t)b->width * b->bits + 31) >> 3 & ~(uint64_t)3;
    uint64_t need = ((uint64_t)b->width * b->unpack_bits + 7) / 8;
    uint64_t step = stride > need ? stride : need;
    for (int64_t r = 0; r < b->height; r++) {
        uint64_t at = b->data_offset + (uint64_t)r * step;
        if (at > in->size || in->size - at < need)
            return sg_truncated(in, err);
        int64_t y = b->top_down ? r : b->height - 1 - r;
        uint8_t *dst = out->rgb + (size_t)y * out->width * 3;
        for (int64_t x = 0; x < b->width; x++)
            put_pixel(b, in->data + at, x, dst + 3 * x);
    }
    return 0;
}

/* Pillow's BmpRleDecoder: a stream of indices filled row after row (x only clips encoded runs),
 * end-of-line pads the row with index 0, delta skips right + up·width indices (0), absolute runs
 * of RLE4 read count/2 bytes. Returns the number of indices produced. */
static size_t rle_indices(const SgDecodeInput *in, const BmpInfo *b, uint8_t *idx, size_t total,
                          int *short_data)
{
    const uint8_t *d = in->data;
    size_t pos = b->data_offset, n = 0, w = (size_t)b->width, x = 0;
    int rle4 = b->compression == BMP_RLE4;
    *short_data = 0;
#define PUT(v) do { if (n < total) idx[n] = (uint8_t)(v); n++; } while (0)
    while (n < total) {
        if (pos + 2 > in->size) {
            *short_data = 1;
            break;
        }
        unsigned count = d[pos], byte = d[pos + 1];
        pos += 2;
        if (count) {
            if (x + count > w)
                count = x < w ? (unsigned)(w - x) : 0;
            for (unsigned i = 0; i < count; i++)
                PUT(rle4 ? (i % 2 ? byte & 15 : byte >> 4) : byte);
            x += count;
        } else if (byte == 0) {
            while (n % w)
                PUT(0);
            x = 0;
        } else if (byte == 1) {
            break;
        } else if (byte == 2) {
            if (pos + 2 > in->size) {
                *short_data = 1;
                break;
            }
            size_t skip = d[pos] + (size_t)d[pos + 1] * w;
            pos += 2;
            for (size_t i = 0; i < skip && n < total; i++)
                PUT(0);
            x = n % w;
        } else {
            size_t nbytes = rle4 ? byte / 2 : byte, got = in->size - pos < nbytes
                                                              ? in->size - pos : nbytes;
            for (size_t i = 0; i < got; i++) {
                if (rle4) {
                    PUT(d[pos + i] >> 4);
                    PUT(d[pos + i] & 15);
                } else {
                    PUT(d[pos + i]);
                }
            }
            pos += got;
            if (got < nbytes) {
                *short_data = 1;
                break;
            }
            x += byte;
            pos += pos & 1; /* runs end on a 16-bit boundary of the file */
        }
    }
#undef PUT
    return n < total ? n : total;
}

static int decode_rle(const SgDecodeInput *in, const BmpInfo *b, SgImage *out, SgError *err)
{
    size_t total = (size_t)b->width * (size_t)b->height;
    uint8_t *idx = calloc(total, 1);
    if (!idx)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    int short_data, rc = 0;
    size_t n = rle_indices(in, b, idx, total, &short_data);
    if (n < total)
        rc = short_data ? sg_truncated(in, err)
                        : (in->allow_truncated ? 0 : sg_fail(err, SIGLIP_EBADMSG,
                                                              "%s: not enough BMP RLE image data",
                                                              in->name));
    BmpInfo flat = *b;
    flat.unpack_bits = 8;
    for (int64_t r = 0; rc == 0 && r < b->height; r++) {
        int64_t y = b->top_down ? r : b->height - 1 - r;
        for (int64_t x = 0; x < b->width; x++)
            put_pixel(&flat, idx + (size_t)r * b->width, x,
                      out->rgb + ((size_t)y * out->width + (size_t)x) * 3);
    }
    free(idx);
    return rc;
}

static int decode_at(const SgDecodeInput *in, size_t hdr, size_t file_offset, int height_div,
                     SgImage *out, SgError *err)
{
    BmpInfo *b = calloc(1, sizeof *b);
    if (!b)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    int rc = parse_header(in, hdr, file_offset, b, err);
    if (rc == 0 && height_div > 1) {
        b->height /= height_div;
        rc = sg_check_dimensions(in, b->width, b->height, err);
    }
    if (rc == 0)
        rc = sg_image_alloc(out, (int)b->width, (int)b->height, err);
    if (rc == 0)
        rc = b->compression == BMP_RLE8 || b->compression == BMP_RLE4 ? decode_rle(in, b, out, err)
                                                                      : decode_raw(in, b, out, err);
    free(b);
    if (rc)
        sg_image_free(out);
    return rc;
}

int sg_decode_bmp(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    if (in->size < 18)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated BMP header", in->name);
    return decode_at(in, 14, sg_le32(in->data + 10), 1, out, err);
}

int sg_decode_dib(const SgDecodeInput *in, int height_div, SgImage *out, SgError *err)
{
    return decode_at(in, 0, 0, height_div, out, err);
}

int sg_decode_dib_file(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    return decode_at(in, 0, 0, 1, out, err);
}
