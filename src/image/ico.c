/* ico.c — Windows icons and cursors as Pillow's IcoImagePlugin and CurImagePlugin load them: of
 * an icon the entry with the most pixels (then the deepest colour; the last such entry of the
 * directory), a PNG or a DIB whose height counts the AND mask twice; of a cursor the first entry
 * unless a later one is wider and taller, a DIB. convert("RGB") drops the mask, so only the
 * colours are decoded. */
#include <math.h>
#include <string.h>

#include "image/bytes.h"
#include "image/decoders.h"

#define ICO_DIR_ENTRY 16

/* Pillow's color_depth: bpp, else ceil(log2(colours)), else 256. */
static double color_depth(const uint8_t *e)
{
    unsigned bpp = sg_le16(e + 6), colors = e[2];
    if (bpp)
        return bpp;
    return colors ? ceil(log2(colors)) : 256;
}

int sg_decode_ico(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    if (in->size < 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated ICO header", in->name);
    unsigned n = sg_le16(in->data + 4);
    if (n == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: ICO has no images", in->name);
    if ((size_t)n * ICO_DIR_ENTRY > in->size - 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated ICO directory", in->name);
    const uint8_t *best = NULL;
    unsigned best_square = 0;
    double best_depth = 0;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = in->data + 6 + (size_t)i * ICO_DIR_ENTRY;
        unsigned w = e[0] ? e[0] : 256, h = e[1] ? e[1] : 256, square = w * h;
        double depth = color_depth(e);
        if (!best || square > best_square || (square == best_square && depth >= best_depth)) {
            best = e;
            best_square = square;
            best_depth = depth;
        }
    }
    uint32_t offset = sg_le32(best + 12);
    if (offset >= in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: ICO image offset past the end", in->name);
    SgDecodeInput sub = *in;
    sub.data = in->data + offset;
    sub.size = in->size - offset;
    if (sub.size >= 8 && memcmp(sub.data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        int png_orientation; /* Pillow's ICO image carries no EXIF of its own */
        return sg_decode_png(&sub, out, &png_orientation, err);
    }
    return sg_decode_dib(&sub, 2, out, err);
}

int sg_decode_cur(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    if (in->size < 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated CUR header", in->name);
    unsigned n = sg_le16(in->data + 4);
    if (n == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: CUR has no cursors", in->name);
    if ((size_t)n * ICO_DIR_ENTRY > in->size - 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated CUR directory", in->name);
    const uint8_t *best = in->data + 6;
    for (unsigned i = 1; i < n; i++) {
        const uint8_t *e = in->data + 6 + (size_t)i * ICO_DIR_ENTRY;
        if (e[0] > best[0] && e[1] > best[1])
            best = e;
    }
    uint32_t offset = sg_le32(best + 12);
    if (offset >= in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: CUR image offset past the end", in->name);
    SgDecodeInput sub = *in;
    sub.data = in->data + offset;
    sub.size = in->size - offset;
    return sg_decode_dib(&sub, 2, out, err);
}
