/* gif.c — the first frame of a GIF as Pillow loads it: a canvas the size of the logical screen
 * (grown to the frame), filled with the transparent index when there is one, the LZW-decoded
 * frame drawn at its offset, then a palette lookup (local, else global; indices past it, or all
 * when there is none, read as grey). */
#include <stdlib.h>
#include <string.h>

#include "image/bytes.h"
#include "image/decoders.h"

#define LZW_MAX_CODES 4096

typedef struct GifReader {
    const uint8_t *data;
    size_t size, pos;
} GifReader;

/* The LZW code stream, read across the GIF's length-prefixed sub-blocks. */
typedef struct LzwBits {
    GifReader *r;
    size_t block_left;
    int ended;    /* the zero-length terminator block was reached */
    int truncated;/* the file ended inside the data */
    uint32_t acc;
    int n_bits;
} LzwBits;

/* Next code of `width` bits, or -1 at the end of the data. */
static int lzw_next_code(LzwBits *b, int width)
{
    while (b->n_bits < width) {
        if (b->block_left == 0) {
            if (b->ended || b->r->pos >= b->r->size) {
                b->truncated = !b->ended;
                return -1;
            }
            b->block_left = b->r->data[b->r->pos++];
            if (b->block_left == 0) {
                b->ended = 1;
                return -1;
            }
        }
        if (b->r->pos >= b->r->size) {
            b->truncated = 1;
            return -1;
        }
        b->acc |= (uint32_t)b->r->data[b->r->pos++] << b->n_bits;
        b->n_bits += 8;
        b->block_left--;
    }
    int code = (int)(b->acc & ((1u << width) - 1));
    b->acc >>= width;
    b->n_bits -= width;
    return code;
}

/* Frame rectangle and where row i of the frame goes (interlaced or not). */
typedef struct GifFrame {
    int x0, y0, w, h, interlaced;
} GifFrame;

static int frame_row(const GifFrame *f, int i)
{
    if (!f->interlaced)
        return i;
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int p = 0; p < 4; p++) {
        int n = (f->h - start[p] + step[p] - 1) / step[p];
        if (n < 0)
            n = 0;
        if (i < n)
            return start[p] + i * step[p];
        i -= n;
    }
    return f->h - 1;
}

/* Decodes the LZW data of one frame into the index canvas [cw, ch] at the frame's offset. */
static int lzw_decode(GifReader *r, const GifFrame *f, uint8_t *canvas, int cw,
                      const SgDecodeInput *in, SgError *err)
{
    const char *name = in->name;
    if (r->pos >= r->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF", name);
    int min_size = r->data[r->pos++];
    if (min_size < 1 || min_size > 11)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: bad GIF LZW code size %d", name, min_size);
    uint16_t *prefix = malloc(LZW_MAX_CODES * sizeof *prefix);
    uint8_t *suffix = malloc(LZW_MAX_CODES), *stack = malloc(LZW_MAX_CODES + 1);
    if (!prefix || !suffix || !stack) {
        free(prefix), free(suffix), free(stack);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", name);
    }
    const int clear = 1 << min_size, end = clear + 1;
    for (int i = 0; i < clear; i++) {
        prefix[i] = 0xFFFF;
        suffix[i] = (uint8_t)i;
    }
    LzwBits bits = {.r = r};
    int width = min_size + 1, next = end + 1, prev = -1, rc = 0;
    uint8_t first = 0;
    size_t n_pixels = (size_t)f->w * f->h, written = 0;
    for (;;) {
        int code = lzw_next_code(&bits, width);
        if (code < 0 || code == end)
            break;
        if (code == clear) {
            width = min_size + 1;
            next = end + 1;
            prev = -1;
            continue;
        }
        int depth = 0, c = code;
        if (prev < 0 && code >= clear) {
            rc = sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt GIF LZW data", name);
            break;
        }
        if (code >= next) {
            if (code > next || prev < 0) {
                rc = sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt GIF LZW data", name);
                break;
            }
            stack[depth++] = first; /* the KwKwK case: previous string + its first byte */
            c = prev;
        }
        while (c >= clear && depth < LZW_MAX_CODES) {
            stack[depth++] = suffix[c];
            c = prefix[c];
        }
        stack[depth++] = suffix[c];
        first = suffix[c];
        while (depth > 0 && written < n_pixels) {
            size_t y = (size_t)frame_row(f, (int)(written / f->w)), x = written % f->w;
            canvas[(f->y0 + y) * cw + f->x0 + x] = stack[--depth];
            written++;
        }
        if (prev >= 0 && next < LZW_MAX_CODES) {
            prefix[next] = (uint16_t)prev;
            suffix[next] = first;
            next++;
            if (next == (1 << width) && width < 12)
                width++;
        }
        prev = code;
    }
    if (rc == 0 && bits.truncated && written < n_pixels)
        rc = sg_truncated(in, err);
    free(prefix), free(suffix), free(stack);
    return rc;
}

/* Skips an extension's sub-blocks; returns its first sub-block (or NULL) in *first. */
static int skip_sub_blocks(GifReader *r, const uint8_t **first, size_t *first_len)
{
    *first = NULL;
    *first_len = 0;
    for (;;) {
        if (r->pos >= r->size)
            return -1;
        size_t n = r->data[r->pos++];
        if (n == 0)
            return 0;
        if (n > r->size - r->pos)
            return -1;
        if (!*first) {
            *first = r->data + r->pos;
            *first_len = n;
        }
        r->pos += n;
    }
}

/* Indices to RGB through the frame's palette (local, else global). Pillow keeps a short table
 * (2, 4, ... entries) in its 256-entry palette, so an index past it reads as grey (i, i, i),
 * and so does every index when the file has no table. */
static void palette_to_rgb(const uint8_t *idx, size_t n, const uint8_t *pal, int pal_entries,
                           uint8_t *rgb)
{
    uint8_t palette[256][3];
    sg_palette_fill(palette, pal, pal ? (size_t)pal_entries : 0);
    for (size_t i = 0; i < n; i++, rgb += 3)
        memcpy(rgb, palette[idx[i]], 3);
}

int sg_decode_gif(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    GifReader r = {in->data, in->size, 13};
    if (in->size < 13)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF header", in->name);
    int sw = (int)sg_le16(in->data + 6), sh = (int)sg_le16(in->data + 8);
    const uint8_t *pal = NULL;
    int pal_entries = 0, transparent = -1;
    if (in->data[10] & 0x80) {
        pal_entries = 2 << (in->data[10] & 7);
        if ((size_t)pal_entries * 3 > r.size - r.pos)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF palette", in->name);
        pal = in->data + r.pos;
        r.pos += (size_t)pal_entries * 3;
    }
    for (;;) {
        if (r.pos >= r.size)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: GIF has no image", in->name);
        uint8_t tag = in->data[r.pos++];
        if (tag == 0x21) {
            if (r.pos >= r.size)
                return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF", in->name);
            uint8_t label = in->data[r.pos++];
            const uint8_t *block;
            size_t len;
            if (skip_sub_blocks(&r, &block, &len))
                return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF extension", in->name);
            if (label == 0xF9 && block && len >= 4)
                transparent = (block[0] & 1) ? block[3] : -1;
        } else if (tag == 0x2C) {
            break;
        } else if (tag == 0x3B) {
            return sg_fail(err, SIGLIP_EBADMSG, "%s: GIF has no image", in->name);
        } else {
            return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt GIF block 0x%02x", in->name, tag);
        }
    }
    if (r.size - r.pos < 9)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF image descriptor", in->name);
    const uint8_t *d = in->data + r.pos;
    GifFrame f = {(int)sg_le16(d), (int)sg_le16(d + 2), (int)sg_le16(d + 4), (int)sg_le16(d + 6),
                  (d[8] & 0x40) != 0};
    r.pos += 9;
    if (d[8] & 0x80) {
        pal_entries = 2 << (d[8] & 7);
        if ((size_t)pal_entries * 3 > r.size - r.pos)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated GIF palette", in->name);
        pal = in->data + r.pos;
        r.pos += (size_t)pal_entries * 3;
    }
    int cw = f.x0 + f.w > sw ? f.x0 + f.w : sw, ch = f.y0 + f.h > sh ? f.y0 + f.h : sh;
    int rc = sg_check_dimensions(in, cw, ch, err);
    if (rc)
        return rc;
    uint8_t *canvas = malloc((size_t)cw * ch);
    if (!canvas)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory decoding %s", in->name);
    memset(canvas, transparent >= 0 ? transparent : 0, (size_t)cw * ch);
    if (f.w > 0 && f.h > 0)
        rc = lzw_decode(&r, &f, canvas, cw, in, err);
    if (rc == 0)
        rc = sg_image_alloc(out, cw, ch, err);
    if (rc == 0)
        palette_to_rgb(canvas, (size_t)cw * ch, pal, pal_entries, out->rgb);
    free(canvas);
    return rc;
}
