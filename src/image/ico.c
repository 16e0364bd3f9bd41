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

/* The entry count of an ICO or CUR directory, checked against the data. */
static int directory(const SgDecodeInput *in, const char *kind, unsigned *n, SgError *err)
{
    if (in->size < 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated %s header", in->name, kind);
    *n = sg_le16(in->data + 4);
    if (*n == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: %s has no images", in->name, kind);
    if ((size_t)*n * ICO_DIR_ENTRY > in->size - 6)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated %s directory", in->name, kind);
    return 0;
}

/* The bytes directory entry e points at, as a decoder input. */
static int entry_data(const SgDecodeInput *in, const uint8_t *e, const char *kind,
                      SgDecodeInput *sub, SgError *err)
{
    uint32_t offset = sg_le32(e + 12);
    if (offset >= in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: %s image offset past the end", in->name, kind);
    *sub = *in;
    sub->data = in->data + offset;
    sub->size = in->size - offset;
    return 0;
}

int sg_decode_ico(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    unsigned n;
    int rc = directory(in, "ICO", &n, err);
    if (rc)
        return rc;
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
    SgDecodeInput sub;
    if ((rc = entry_data(in, best, "ICO", &sub, err)))
        return rc;
    if (sub.size >= 8 && memcmp(sub.data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        int png_orientation; /* Pillow's ICO image carries no EXIF of its own */
        return sg_decode_png(&sub, out, &png_orientation, err);
    }
    return sg_decode_dib(&sub, 2, out, err);
}

int sg_decode_cur(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    unsigned n;
    int rc = directory(in, "CUR", &n, err);
    if (rc)
        return rc;
    const uint8_t *best = in->data + 6;
    for (unsigned i = 1; i < n; i++) {
        const uint8_t *e = in->data + 6 + (size_t)i * ICO_DIR_ENTRY;
        if (e[0] > best[0] && e[1] > best[1])
            best = e;
    }
    SgDecodeInput sub;
    if ((rc = entry_data(in, best, "CUR", &sub, err)))
        return rc;
    return sg_decode_dib(&sub, 2, out, err);
}
