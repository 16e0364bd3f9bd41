/* resize.c — resize of RGB8 images bit-identical to Pillow's Image.resize with every filter:
 * NEAREST (Geometry.c's affine scale), and BOX, BILINEAR, HAMMING, BICUBIC, LANCZOS
 * (libImaging/Resample.c: separable passes, antialiased support, 22-bit fixed-point weights). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

/* Pillow: 8 bits for the result, two spare bits for kernel overshoot, the rest fraction. */
#define PRECISION_BITS (32 - 8 - 2)

/* One pass's taps: output pixel i reads `count[i]` inputs from `first[i]` with weights
 * `weight[i * ksize ...]` in fixed point. */
typedef struct SgTaps {
    int ksize;
    int *first;      /* [out_size] */
    int *count;      /* [out_size] */
    int32_t *weight; /* [out_size, ksize] */
} SgTaps;

/* The kernels are written exactly as Pillow evaluates them so that the double results (and
 * hence the rounded weights) are identical. */

static double box_kernel(double x)
{
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double bilinear_kernel(double x)
{
    if (x < 0.0)
        x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double hamming_kernel(double x)
{
    if (x < 0.0)
        x = -x;
    if (x == 0.0)
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    x = x * M_PI;
    return sin(x) / x * (0.54 + 0.46 * cos(x));
}

static double sinc(double x)
{
    if (x == 0.0)
        return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos_kernel(double x)
{
    /* a = 3: truncated sinc windowed by a 3× wider sinc */
    return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
}

/* Keys' cubic convolution kernel with a = -0.5. */
static double bicubic_kernel(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

typedef struct SgFilter {
    double (*kernel)(double x);
    double support; /* kernel is zero outside [-support, support] */
} SgFilter;

/* Indexed by PIL's filter ids (SgResample); NEAREST has no kernel. */
static const SgFilter filters[] = {
    [SG_RESAMPLE_LANCZOS] = {lanczos_kernel, 3.0},
    [SG_RESAMPLE_BILINEAR] = {bilinear_kernel, 1.0},
    [SG_RESAMPLE_BICUBIC] = {bicubic_kernel, 2.0},
    [SG_RESAMPLE_BOX] = {box_kernel, 0.5},
    [SG_RESAMPLE_HAMMING] = {hamming_kernel, 1.0},
};

static void taps_free(SgTaps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
    memset(t, 0, sizeof *t);
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for a box of [0, in_size). */
static int taps_init(SgTaps *t, const SgFilter *f, int in_size, int out_size, SgError *err)
{
    memset(t, 0, sizeof *t);
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    if ((size_t)out_size > SIZE_MAX / sizeof(int32_t) / (size_t)t->ksize)
        return sg_fail(err, SIGLIP_E2BIG, "resize to %d pixels is too large", out_size);
    double *k = malloc((size_t)t->ksize * sizeof *k);
    t->first = malloc((size_t)out_size * sizeof *t->first);
    t->count = malloc((size_t)out_size * sizeof *t->count);
    t->weight = calloc((size_t)out_size * (size_t)t->ksize, sizeof *t->weight);
    if (!k || !t->first || !t->count || !t->weight) {
        free(k);
        taps_free(t);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize weights");
    }
    double inv_filterscale = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale;
        double ww = 0.0;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = f->kernel((x + xmin - center + 0.5) * inv_filterscale);
            k[x] = w;
            ww += w;
        }
        int32_t *kw = &t->weight[(size_t)xx * t->ksize];
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? k[x] / ww : k[x];
            kw[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                          : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        t->first[xx] = xmin;
        t->count[xx] = xmax;
    }
    free(k);
    return 0;
}

/* Pillow's clip8: the sum already holds the rounding half; shift out the fraction and clamp. */
static inline uint8_t clip8(int32_t v)
{
    v >>= PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal pass over rows [row0, row0 + rows) of in [*, in_w, 3] into out [rows, out_w, 3]. */
static void pass_horizontal(const uint8_t *in, int in_w, int row0, int rows, uint8_t *out,
                            int out_w, const SgTaps *t)
{
    for (int y = 0; y < rows; y++) {
        const uint8_t *line = in + (size_t)(row0 + y) * in_w * 3;
        uint8_t *dst = out + (size_t)y * out_w * 3;
        for (int xx = 0; xx < out_w; xx++) {
            const int32_t *k = &t->weight[(size_t)xx * t->ksize];
            const uint8_t *src = line + (size_t)t->first[xx] * 3;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < t->count[xx]; x++) {
                s0 += src[x * 3 + 0] * k[x];
                s1 += src[x * 3 + 1] * k[x];
                s2 += src[x * 3 + 2] * k[x];
            }
            dst[xx * 3 + 0] = clip8(s0);
            dst[xx * 3 + 1] = clip8(s1);
            dst[xx * 3 + 2] = clip8(s2);
        }
    }
}

/* Vertical pass: in [*, w, 3] whose row 0 is source row `row0`, out [out_h, w, 3]. acc is
 * scratch [w * 3]. Integer sums are order-independent, so rows are accumulated whole. */
static void pass_vertical(const uint8_t *in, int w, int row0, uint8_t *out, int out_h,
                          const SgTaps *t, int32_t *acc)
{
    size_t n = (size_t)w * 3;
    for (int yy = 0; yy < out_h; yy++) {
        const int32_t *k = &t->weight[(size_t)yy * t->ksize];
        for (size_t i = 0; i < n; i++)
            acc[i] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < t->count[yy]; y++) {
            const uint8_t *src = in + (size_t)(t->first[yy] + y - row0) * n;
            int32_t ky = k[y];
            for (size_t i = 0; i < n; i++)
                acc[i] += src[i] * ky;
        }
        uint8_t *dst = out + (size_t)yy * n;
        for (size_t i = 0; i < n; i++)
            dst[i] = clip8(acc[i]);
    }
}

/* Horizontal pass (only the source rows the vertical taps read) then vertical pass, each
 * skipped when its size is unchanged: ImagingResampleInner. */
static int resize_h_then_v(const SgFilter *f, const uint8_t *in, int in_w, int in_h, uint8_t *out,
                           int out_w, int out_h, SgError *err)
{
    SgTaps th = {0}, tv = {0};
    uint8_t *tmp = NULL;
    int32_t *acc = NULL;
    int need_h = out_w != in_w, need_v = out_h != in_h;
    int rc = taps_init(&tv, f, in_h, out_h, err);
    if (rc == 0 && need_h)
        rc = taps_init(&th, f, in_w, out_w, err);
    if (rc)
        goto done;
    int row_first = tv.first[0];
    int row_last = tv.first[out_h - 1] + tv.count[out_h - 1];
    if (!need_v) {
        row_first = 0;
        row_last = in_h;
    }
    const uint8_t *vin = in;
    if (need_h) {
        uint8_t *dst = out;
        if (need_v) {
            tmp = malloc((size_t)out_w * 3 * (size_t)(row_last - row_first));
            if (!tmp) {
                rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
                goto done;
            }
            dst = tmp;
        }
        pass_horizontal(in, in_w, row_first, row_last - row_first, dst, out_w, &th);
        vin = tmp;
    } else {
        row_first = 0;
    }
    if (need_v) {
        acc = malloc((size_t)out_w * 3 * sizeof *acc);
        if (!acc) {
            rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
            goto done;
        }
        pass_vertical(vin, out_w, row_first, out, out_h, &tv, acc);
    } else if (!need_h) {
        memcpy(out, in, (size_t)in_w * in_h * 3);
    }
done:
    taps_free(&th);
    taps_free(&tv);
    free(tmp);
    free(acc);
    return rc;
}

/* Pillow's NEAREST resize (ImagingScaleAffine): source positions stepped in double from the
 * first pixel centre, truncated; the step is accumulated as Pillow does, rounding included. */
static int resize_nearest(const uint8_t *in, int in_w, int in_h, uint8_t *out, int out_w,
                          int out_h, SgError *err)
{
    int *xin = malloc((size_t)out_w * sizeof *xin);
    if (!xin)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
    double dx = (double)in_w / out_w, dy = (double)in_h / out_h;
    double xo = dx * 0.5, yo = dy * 0.5;
    for (int x = 0; x < out_w; x++, xo += dx)
        xin[x] = (int)xo < in_w ? (int)xo : in_w - 1; /* xo ≥ 0, and < in_w but for rounding */
    for (int y = 0; y < out_h; y++, yo += dy) {
        int yi = (int)yo < in_h ? (int)yo : in_h - 1;
        const uint8_t *src = in + (size_t)yi * in_w * 3;
        uint8_t *dst = out + (size_t)y * out_w * 3;
        for (int x = 0; x < out_w; x++)
            memcpy(dst + (size_t)x * 3, src + (size_t)xin[x] * 3, 3);
    }
    free(xin);
    return 0;
}

int sg_resize_bicubic_rgb8(const uint8_t *in, int in_w, int in_h, uint8_t *out, int out_w,
                           int out_h, SgError *err)
{
    return sg_resize_rgb8(in, in_w, in_h, out, out_w, out_h, SG_RESAMPLE_BICUBIC, err);
}

int sg_resize_rgb8(const uint8_t *in, int in_w, int in_h, uint8_t *out, int out_w, int out_h,
                   int resample, SgError *err)
{
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0)
        return sg_fail(err, SIGLIP_EINVAL, "resize of an empty image (%dx%d to %dx%d)", in_w,
                       in_h, out_w, out_h);
    if (resample < SG_RESAMPLE_NEAREST || resample > SG_RESAMPLE_HAMMING)
        return sg_fail(err, SIGLIP_EINVAL, "resample %d is not a PIL filter (0..5)", resample);
    if (in_w == out_w && in_h == out_h) { /* Pillow copies the image unchanged */
        memcpy(out, in, (size_t)in_w * in_h * 3);
        return 0;
    }
    if (resample == SG_RESAMPLE_NEAREST)
        return resize_nearest(in, in_w, in_h, out, out_w, out_h, err);
    const SgFilter *f = &filters[resample];
    /* Pillow >= 12.2 (Image.resize): a shrinking image more than 100 times taller than wide is
     * resized vertically first, as two single-pass resizes. */
    if (in_h > (int64_t)in_w * 100 && out_h < in_h && out_w != in_w) {
        uint8_t *mid = malloc((size_t)in_w * 3 * (size_t)out_h);
        if (!mid)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
        int rc = resize_h_then_v(f, in, in_w, in_h, mid, in_w, out_h, err);
        if (rc == 0)
            rc = resize_h_then_v(f, mid, in_w, out_h, out, out_w, out_h, err);
        free(mid);
        return rc;
    }
    return resize_h_then_v(f, in, in_w, in_h, out, out_w, out_h, err);
}
