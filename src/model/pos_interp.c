/* pos_interp.c — position grids resized on the host: bicubic for siglip_model_set_image_size
 * (transformers' interpolate_pos_encoding), antialiased bilinear for SigLIP 2 NaFlex. */
#include "model/pos_interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"
#include "model/model.h"

/* The size change of a model: the stored grid kept aside while an interpolated one is in use. */
struct SgPosGrid {
    SgBuffer stored; /* [N, D] the checkpoint's table (moved out of vision.pos_emb) */
};

/* torch's cubic convolution weights for fractional offset t (get_cubic_upsample_coefficients). */
static void cubic_weights(double t, double w[4])
{
    const double a = -0.75;
    double x = t + 1.0;
    w[0] = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    x = t;
    w[1] = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    x = 1.0 - t;
    w[2] = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    x = 2.0 - t;
    w[3] = ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
}

/* For each output index along one axis: the first tap (may be out of range) and 4 weights. */
static void axis_taps(int in, int out, int *first, double *w)
{
    double scale = (double)in / out;
    for (int i = 0; i < out; i++) {
        double src = scale * (i + 0.5) - 0.5; /* align_corners=False, not clamped for cubic */
        double f = floor(src);
        first[i] = (int)f - 1;
        cubic_weights(src - f, &w[4 * i]);
    }
}

static int clampi(int v, int hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

void sg_pos_interp_bicubic(const float *grid, int in_h, int in_w, size_t D, int out_h, int out_w,
                           float *out)
{
    int *fy = malloc((size_t)out_h * sizeof *fy), *fx = malloc((size_t)out_w * sizeof *fx);
    double *wy = malloc((size_t)out_h * 4 * sizeof *wy);
    double *wx = malloc((size_t)out_w * 4 * sizeof *wx);
    double *acc = malloc(D * sizeof *acc);
    if (fy && fx && wy && wx && acc) {
        axis_taps(in_h, out_h, fy, wy);
        axis_taps(in_w, out_w, fx, wx);
        for (int y = 0; y < out_h; y++)
            for (int x = 0; x < out_w; x++) {
                memset(acc, 0, D * sizeof *acc);
                for (int i = 0; i < 4; i++) {
                    int sy = clampi(fy[y] + i, in_h - 1);
                    for (int j = 0; j < 4; j++) {
                        int sx = clampi(fx[x] + j, in_w - 1);
                        double w = wy[4 * y + i] * wx[4 * x + j];
                        const float *src = grid + ((size_t)sy * in_w + sx) * D;
                        for (size_t d = 0; d < D; d++)
                            acc[d] += w * src[d];
                    }
                }
                float *dst = out + ((size_t)y * out_w + x) * D;
                for (size_t d = 0; d < D; d++)
                    dst[d] = (float)acc[d];
            }
    }
    free(fy);
    free(fx);
    free(wy);
    free(wx);
    free(acc);
}

/* The antialiased bilinear taps of one axis (torch's _compute_weights_aa for a triangle filter,
 * with its float / double promotions): output i reads in[first[i] ..] with count[i] ≤ max_taps
 * weights w[i·max_taps ..] that sum to 1. */
static void aa_taps(int in, int out, int max_taps, int *first, int *count, float *w)
{
    float scale = (float)in / (float)out;
    float support = scale >= 1.0f ? scale : 1.0f; /* (interp_size / 2) · scale, interp_size 2 */
    float invscale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    for (int i = 0; i < out; i++) {
        float center = (float)((double)scale * (i + 0.5));
        int64_t lo = (int64_t)((double)(center - support) + 0.5);
        int64_t hi = (int64_t)((double)(center + support) + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > in ? in : hi;
        int n = (int)(hi - lo);
        if (n > max_taps)
            n = max_taps;
        float *wi = w + (size_t)i * max_taps, total = 0.0f;
        for (int j = 0; j < n; j++) {
            float x = (float)(((double)((float)(j + lo) - center) + 0.5) * (double)invscale);
            x = x < 0.0f ? -x : x;
            wi[j] = x < 1.0f ? (float)(1.0 - (double)x) : 0.0f;
            total += wi[j];
        }
        for (int j = 0; j < n && total != 0.0f; j++)
            wi[j] /= total;
        first[i] = (int)lo;
        count[i] = n;
    }
}

/* The taps of one axis as aa_taps computes them: output k of n_out reads count[k] inputs from
 * first[k] with weights w[k·max_taps ..]. */
typedef struct AaTaps {
    int n_out, max_taps;
    const int *first, *count;
    const float *w;
} AaTaps;

/* One separable pass: out[o, k, d] = Σ_j w[k, j] · in[o, first[k] + j, d] over a [outer, n_in,
 * inner] array (the weighted sum in float, from the first tap on, as torch accumulates). */
static void aa_pass(const float *in, size_t outer, int n_in, size_t inner, const AaTaps *t,
                    float *out)
{
    for (size_t o = 0; o < outer; o++)
        for (int k = 0; k < t->n_out; k++) {
            const float *wk = t->w + (size_t)k * t->max_taps;
            float *dst = out + (o * (size_t)t->n_out + (size_t)k) * inner;
            const float *src = in + (o * (size_t)n_in + (size_t)t->first[k]) * inner;
            for (size_t d = 0; d < inner; d++) {
                float acc = src[d] * wk[0];
                for (int j = 1; j < t->count[k]; j++)
                    acc += src[(size_t)j * inner + d] * wk[j];
                dst[d] = acc;
            }
        }
}

int sg_pos_resize_aa_bilinear(const float *grid, int in_h, int in_w, size_t D, int out_h,
                              int out_w, float *out)
{
    /* A downscale by s reads at most 2s + 1 inputs per output, an upscale at most 3. */
    int taps_h = (2 * in_h + out_h - 1) / out_h + 3, taps_w = (2 * in_w + out_w - 1) / out_w + 3;
    int *fh = malloc((size_t)out_h * 2 * sizeof *fh), *fw = malloc((size_t)out_w * 2 * sizeof *fw);
    float *wh = malloc((size_t)out_h * taps_h * sizeof *wh);
    float *ww = malloc((size_t)out_w * taps_w * sizeof *ww);
    float *tmp = malloc((size_t)in_h * out_w * D * sizeof *tmp); /* [in_h, out_w, D] */
    int ok = fh && fw && wh && ww && tmp;
    if (ok) {
        aa_taps(in_w, out_w, taps_w, fw, fw + out_w, ww);
        aa_taps(in_h, out_h, taps_h, fh, fh + out_h, wh);
        AaTaps along_w = {out_w, taps_w, fw, fw + out_w, ww};
        AaTaps along_h = {out_h, taps_h, fh, fh + out_h, wh};
        aa_pass(grid, (size_t)in_h, in_w, D, &along_w, tmp);
        aa_pass(tmp, 1, in_h, (size_t)out_w * D, &along_h, out);
    }
    free(fh);
    free(fw);
    free(wh);
    free(ww);
    free(tmp);
    return ok ? 0 : SIGLIP_ENOMEM;
}

void sg_pos_interp_release(SiglipModel *m)
{
    struct SgPosGrid *g = m->pos_grid;
    if (!g)
        return;
    sg_buffer_release(m->dev, &m->vision.pos_emb);
    m->vision.pos_emb = g->stored;
    SgTowerConfig *v = &m->cfg.vision;
    v->image_height = v->image_width = v->image_size;
    free(g);
    m->pos_grid = NULL;
}

/* The interpolated table for an out_h × out_w patch grid, uploaded into *out. */
static int upload_interpolated(SiglipModel *m, const SgBuffer *stored, int out_h, int out_w,
                               SgBuffer *out, SgError *err)
{
    const SgTowerConfig *v = &m->cfg.vision;
    int side = v->image_size / v->patch_size;
    size_t D = (size_t)v->hidden_size, n_in = (size_t)side * side;
    size_t n_out = (size_t)out_h * out_w;
    float *grid = malloc(n_in * D * sizeof *grid);
    float *table = malloc(n_out * D * sizeof *table);
    int rc = grid && table ? SIGLIP_OK
                           : sg_fail(err, SIGLIP_ENOMEM, "out of memory interpolating positions");
    if (!rc)
        rc = sg_buffer_read(m->dev, stored->mem, 0, n_in * D * sizeof *grid, grid, err);
    if (!rc) {
        sg_pos_interp_bicubic(grid, side, side, D, out_h, out_w, table);
        rc = sg_buffer_upload(m->dev, table, n_out * D * sizeof *table, out, err);
    }
    free(grid);
    free(table);
    return rc;
}

int siglip_model_set_image_size(SiglipModel *m, int height, int width)
{
    if (!m || !m->ctx || !m->dev)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    SgTowerConfig *v = &m->cfg.vision;
    /* Siglip2Model has no interpolate_pos_encoding: NaFlex resizes its position grid to each
     * image's own patch grid (the image processor's max_num_patches sets the budget) */
    if (m->cfg.naflex)
        return sg_fail(err, SIGLIP_ENOTSUP,
                       "a SigLIP 2 NaFlex model takes each image at its own size; set the patch "
                       "budget (siglip_image_processor_set_max_patches, --max-patches) instead");
    if (height == 0 && width == 0)
        height = width = v->image_size;
    if (height < v->patch_size || width < v->patch_size || height > (1 << 15) ||
        width > (1 << 15))
        return sg_fail(err, SIGLIP_EINVAL,
                       "image size %dx%d: each side must be in [patch_size %d, 32768]", height,
                       width, v->patch_size);
    int gh = height / v->patch_size, gw = width / v->patch_size;
    int side = v->image_size / v->patch_size;
    if ((int64_t)gh * gw * v->hidden_size > INT32_MAX)
        return sg_fail(err, SIGLIP_E2BIG, "image size %dx%d: %d×%d patches are too many", height,
                       width, gh, gw);
    sg_pos_interp_release(m);
    sg_workspace_release(m); /* sized for the previous input */
    int rc = SIGLIP_OK;
    if (gh != side || gw != side) { /* the stored grid already fits: used unchanged */
        struct SgPosGrid *g = calloc(1, sizeof *g);
        if (!g)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
        SgBuffer table = {0};
        rc = upload_interpolated(m, &m->vision.pos_emb, gh, gw, &table, err);
        if (rc) {
            free(g);
            return rc;
        }
        g->stored = m->vision.pos_emb;
        m->vision.pos_emb = table;
        m->pos_grid = g;
    }
    v->image_height = height;
    v->image_width = width;
    if (m->processor)
        sg_image_processor_set_size(m->processor, height, width);
    return rc;
}
