/* pos_interp.c — siglip_model_set_image_size (transformers' interpolate_pos_encoding): the
 * √N×√N position grid resized to the new patch grid once per size, on the host, and uploaded. */
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
