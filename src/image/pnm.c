/* pnm.c — binary PGM/PPM (P5, P6) as Pillow's PpmImagePlugin reads them: maxval 255 raw,
 * other maxvals scaled by round(v / maxval · out_max) with out_max 65535 for grey above 255
 * (mode I, clipped to 255 by convert("RGB")) and 255 otherwise. stb_image is not used: it
 * reads 16-bit samples in the wrong byte order and does not notice truncated data. */
#include <math.h>
#include <string.h>

#include "image/decoders.h"

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Reads one decimal header token after whitespace and comments; -1 when there is none. */
static long next_token(const SgDecodeInput *in, size_t *pos)
{
    for (;;) {
        while (*pos < in->size && is_space(in->data[*pos]))
            (*pos)++;
        if (*pos < in->size && in->data[*pos] == '#') {
            while (*pos < in->size && in->data[*pos] != '\n' && in->data[*pos] != '\r')
                (*pos)++;
            continue;
        }
        break;
    }
    long v = 0;
    size_t start = *pos;
    while (*pos < in->size && in->data[*pos] >= '0' && in->data[*pos] <= '9' && v < 100000000)
        v = v * 10 + (in->data[(*pos)++] - '0');
    return *pos > start ? v : -1;
}

/* Python's min(out_max, round(v / maxval * out_max)), round() being half to even like rint. */
static long scale_sample(unsigned v, long maxval, long out_max)
{
    double s = rint((double)v / (double)maxval * (double)out_max);
    return s > out_max ? out_max : (long)s;
}

int sg_decode_pnm(const SgDecodeInput *in, SgImage *out, SgError *err)
{
    int channels = in->data[1] == '6' ? 3 : 1;
    size_t pos = 2;
    long w = next_token(in, &pos), h = next_token(in, &pos), maxval = next_token(in, &pos);
    if (w < 0 || h < 0 || maxval < 0 || pos >= in->size || !is_space(in->data[pos]))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: corrupt PNM header", in->name);
    pos++; /* the single whitespace byte before the samples */
    int rc = sg_check_dimensions(in, w, h, err);
    if (rc)
        return rc;
    if (maxval < 1 || maxval > 65535)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: PNM maxval %ld is not in 1..65535", in->name,
                       maxval);
    int sample_bytes = maxval < 256 ? 1 : 2;
    size_t n = (size_t)w * (size_t)h * channels;
    if ((in->size - pos) / sample_bytes < n)
        return sg_fail(err, SIGLIP_EBADMSG, "%s: truncated PNM data", in->name);
    if ((rc = sg_image_alloc(out, (int)w, (int)h, err)))
        return rc;
    long out_max = channels == 1 && maxval > 255 ? 65535 : 255;
    const uint8_t *src = in->data + pos;
    for (size_t i = 0; i < n; i++) {
        unsigned v = sample_bytes == 1 ? src[i] : (unsigned)src[2 * i] << 8 | src[2 * i + 1];
        long s = maxval == 255 ? (long)v : scale_sample(v, maxval, out_max);
        uint8_t b = (uint8_t)(s > 255 ? 255 : s);
        if (channels == 3)
            out->rgb[i] = b;
        else
            out->rgb[3 * i] = out->rgb[3 * i + 1] = out->rgb[3 * i + 2] = b;
    }
    return 0;
}
