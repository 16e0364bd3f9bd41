/* pnm.c — PBM/PGM/PPM, binary (P4, P5, P6) and plain (P1, P2, P3), as Pillow's PpmImagePlugin
 * reads them: bits are 1 = black; maxval 255 samples raw, other maxvals scaled by
 * round(v / maxval · out_max) with out_max 65535 for grey above 255 (mode I, clipped to 255 by
 * convert("RGB")) and 255 otherwise. stb_image is not used: it reads 16-bit samples in the wrong
 * byte order and does not notice truncated data. */
#include <math.h>
#include <string.h>

#include "image/bytes.h"
#include "image/decoders.h"

#define PNM_MAX_TOKEN 10 /* Pillow refuses longer tokens */

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_comment(const SgDecodeInput *in, size_t *pos)
{
    while (*pos < in->size && in->data[*pos] != '\n' && in->data[*pos] != '\r')
        (*pos)++;
}

/* Reads one decimal token after whitespace and comments; -1 when there is none (or it is not
 * a number of at most 10 digits). Leaves *pos on the byte after the token. */
static long next_token(const SgDecodeInput *in, size_t *pos)
{
    for (;;) {
        while (*pos < in->size && is_space(in->data[*pos]))
            (*pos)++;
        if (*pos < in->size && in->data[*pos] == '#') {
            skip_comment(in, pos);
            continue;
        }
        break;
    }
    long v = 0;
    size_t start = *pos;
    while (*pos < in->size && in->data[*pos] >= '0' && in->data[*pos] <= '9' &&
           *pos - start < PNM_MAX_TOKEN)
        v = v * 10 + (in->data[(*pos)++] - '0');
    if (*pos == start || (*pos < in->size && !is_space(in->data[*pos]) && in->data[*pos] != '#'))
        return -1;
    return v;
}

/* Python's min(out_max, round(v / maxval · out_max)), round() being half to even like rint. */
static long scale_sample(unsigned long v, long maxval, long out_max)
{
    double s = rint((double)v / (double)maxval * (double)out_max);
    return s > out_max ? out_max : (long)s;
}

typedef struct PnmHeader {
    char kind;       /* '1'..'6' */
    int channels;    /* 1 or 3 */
    long w, h, maxval;
    long out_max;    /* 65535 for grey above 255 (Pillow's mode I), else 255 */
} PnmHeader;

static void put_sample(SgImage *out, const PnmHeader *p, size_t i, long v)
{
    uint8_t b = (uint8_t)(v > 255 ? 255 : v);
    if (p->channels == 3)
        out->rgb[i] = b;
    else
        out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] = b;
}

static int decode_binary(const SgDecodeInput *in, const PnmHeader *p, size_t pos, SgImage *out,
                         SgError *err)
{
    const uint8_t *src = in->data + pos;
    size_t avail = in->size - pos;
    if (p->kind == '4') {
        size_t row = ((size_t)p->w + 7) / 8;
        for (long y = 0; y < p->h; y++, src += row) {
            if (avail < row * (size_t)(y + 1))
                return sg_truncated(in, err);
            for (long x = 0; x < p->w; x++) {
                int black = src[x >> 3] >> (7 - (x & 7)) & 1;
                put_sample(out, p, (size_t)y * p->w + x, black ? 0 : 255);
            }
        }
        return 0;
    }
    int sample_bytes = p->maxval < 256 ? 1 : 2;
    size_t n = (size_t)p->w * (size_t)p->h * p->channels;
    size_t have = avail / sample_bytes < n ? avail / sample_bytes : n;
    for (size_t i = 0; i < have; i++) {
        unsigned v = sample_bytes == 1 ? src[i] : sg_be16(src + 2 * i);
        put_sample(out, p, i, p->maxval == 255 ? (long)v : scale_sample(v, p->maxval, p->out_max));
    }
    return have < n ? sg_truncated(in, err) : 0;
}

/* Plain formats: P1 digits need no separators; P2/P3 samples are whitespace-separated numbers
 * of at most 10 digits and at most maxval. Comments run from '#' to the end of the line. */
static int decode_plain(const SgDecodeInput *in, const PnmHeader *p, size_t pos, SgImage *out,
                        SgError *err)
{
    size_t n = (size_t)p->w * (size_t)p->h * p->channels, i = 0;
    while (i < n) {
        while (pos < in->size && (is_space(in->data[pos]) || in->data[pos] == '#')) {
            if (in->data[pos] == '#')
                skip_comment(in, &pos);
            else
                pos++;
        }
        if (pos >= in->size)
            return sg_truncated(in, err);
        if (p->kind == '1') {
            uint8_t c = in->data[pos++];
            if (c != '0' && c != '1')
                return sg_fail(err, SIGLIP_EBADMSG, "%s: invalid PBM token '%c'", in->name, c);
            put_sample(out, p, i++, c == '1' ? 0 : 255);
            continue;
        }
        unsigned long v = 0;
        size_t start = pos;
        while (pos < in->size && in->data[pos] >= '0' && in->data[pos] <= '9' &&
               pos - start <= PNM_MAX_TOKEN)
            v = v * 10 + (in->data[pos++] - '0');
        if (pos == start || pos - start > PNM_MAX_TOKEN ||
            (pos < in->size && !is_space(in->data[pos]) && in->data[pos] != '#'))
            return sg_fail(err, SIGLIP_EBADMSG, "%s: bad sample in plain PNM data", in->name);
        if (v > (unsigned long)p->maxval)
            return sg_fail(err, SIGLIP_EBADMSG, "%s: PNM sample %lu exceeds maxval %ld",
                           in->name, v, p->maxval);
        put_sample(out, p, i++, scale_sample(v, p->maxval, p->out_max));
    }
    return 0;
}

int sg_decode_pnm(const SgDecodeInput *in, SgImage *out, int *orientation, SgError *err)
{
    PnmHeader p = {.kind = (char)in->data[1], .maxval = 1};
    p.channels = p.kind == '3' || p.kind == '6' ? 3 : 1;
    int bits = p.kind == '1' || p.kind == '4';
    size_t pos = 2;
    p.w = next_token(in, &pos);
    p.h = next_token(in, &pos);
    if (!bits)
        p.maxval = next_token(in, &pos);
    if (p.w < 0 || p.h < 0 || p.maxval < 0 || pos >= in->size)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt PNM header", in->name);
    pos++; /* the single whitespace byte before the samples */
    int rc = sg_check_dimensions(in, p.w, p.h, err);
    if (rc)
        return rc;
    if (p.maxval < 1 || p.maxval > 65535)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: PNM maxval %ld is not in 1..65535", in->name,
                       p.maxval);
    p.out_max = p.channels == 1 && p.maxval > 255 ? 65535 : 255;
    if ((rc = sg_image_alloc(out, (int)p.w, (int)p.h, err)))
        return rc;
    return p.kind >= '4' ? decode_binary(in, &p, pos, out, err)
                         : decode_plain(in, &p, pos, out, err);
}
