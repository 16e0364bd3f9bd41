/* gemm.c — Linear layers: weight upload in the device's layout, and sg_op_linear through either
 * cl/gemm_packed.cl (all fused) or CLBlast (gemm_clblast.c, then bias + activation in one kernel
 * pass). Weights of reduced precision (ocl/weight_pack.h) always take gemm_packed.cl, built for
 * their type. */
#include <stdlib.h>

#include "ocl/gemm.h"
#include "ocl/kernels.h"
#include "ocl/ops.h"
#include "ocl/probe.h"
#include "ocl/weight_pack.h"
#include "cl/q8_rows.h"

int sg_weight_upload_rows(SgDevice *dev, const SgRows *w, SgGemmPath layout, SgElemType dtype,
                          SgWeight *out, SgError *err)
{
    /* Reduced-precision weights are read by gemm_packed.cl on every device: CLBlast has no
     * mixed-precision GEMM, and a dequantized f32 copy would give the memory back. */
    if (dtype != SG_ELEM_F32)
        layout = SG_GEMM_PANELS;
    size_t N = w->n, K = w->k, nr = layout == SG_GEMM_PANELS ? (size_t)dev->tuning.gemm_nr : 0;
    *out = (SgWeight){.dtype = dtype, .layout = layout, .panel = nr, .n_out = N, .n_in = K};
    int rc = layout == SG_GEMM_PANELS ? sg_kernels_require_weight(dev, dtype, err) : SIGLIP_OK;
    if (rc != SIGLIP_OK)
        return rc;
    /* Written straight into the device buffer's memory: no host copy of the weight. */
    void *dst;
    rc = sg_buffer_create_mapped(dev, sg_weight_bytes(layout, dtype, N, K, nr), &out->buf, &dst,
                                 err);
    if (rc != SIGLIP_OK)
        return rc;
    if (layout == SG_GEMM_PANELS)
        sg_weight_pack(dtype, w, nr, dst);
    else
        sg_weight_copy_rows(w, dst);
    rc = sg_buffer_unmap(dev, &out->buf, dst, err);
    if (rc != SIGLIP_OK)
        sg_buffer_release(dev, &out->buf);
    return rc;
}

int sg_weight_upload(SgDevice *dev, const float *w, size_t N, size_t K, SgGemmPath layout,
                     SgElemType dtype, SgWeight *out, SgError *err)
{
    SgRows rows = sg_rows_host(w, N, K);
    return sg_weight_upload_rows(dev, &rows, layout, dtype, out, err);
}

/* Checks the shapes of a Linear and fills g with x [M, K] and y [M, N] as strided matrices. */
static int check_linear(SgView x, const SgLinear *l, SgView y, SgActivation act, SgStore store,
                        SgGemm *g, SgError *err)
{
    static const char op[] = "linear";
    const SgWeight *w = &l->w;
    size_t N = w->n_out, K = w->n_in, M = x.batch * x.rows;
    if (w->dtype != SG_ELEM_F32 && w->layout != SG_GEMM_PANELS)
        return sg_fail(err, SIGLIP_ENOTSUP, "linear: reduced-precision weights need the panel "
                       "layout");
    if (w->layout == SG_GEMM_PANELS && (w->panel < 8 || w->panel % 8))
        return sg_fail(err, SIGLIP_EINVAL, "linear: weight panel width %zu is not a multiple of 8",
                       w->panel);
    if (K == 0 || x.cols != K || y.cols != N || y.batch * y.rows != M || x.ld < K || y.ld < N)
        return sg_fail(err, SIGLIP_EINVAL,
                       "linear: bad shape (x %zu×%zu ld %zu, w %zu×%zu, y %zu×%zu ld %zu)", M,
                       x.cols, x.ld, N, K, y.batch * y.rows, y.cols, y.ld);
    if (!sg_view_is_matrix(x) || !sg_view_is_matrix(y))
        return sg_fail(err, SIGLIP_EINVAL, "linear: x and y must be matrices (no batch gaps)");
    if (act != SG_ACT_NONE && act != SG_ACT_GELU_TANH && act != SG_ACT_GELU_ERF)
        return sg_fail(err, SIGLIP_EINVAL, "linear: unknown activation %d", (int)act);
    if (store == SG_ACCUMULATE && act != SG_ACT_NONE)
        return sg_fail(err, SIGLIP_EINVAL, "linear: accumulate needs activation NONE");
    int rc = sg_check_view(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(w->buf.mem, sg_weight_bytes(w->layout, w->dtype, N, K, w->panel), 1,
                             op, "w",
                             err);
    if (rc == SIGLIP_OK && l->b.mem)
        rc = sg_check_buffer(l->b.mem, N, sizeof(float), op, "b", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_view(y, sizeof(float), op, "y", err);
    *g = (SgGemm){x.mem, x.off, x.ld, w, l->b.mem, y.mem, y.off, y.ld, M, act, store};
    return rc;
}

/* Loop iterations one k step of gemm_packed.cl costs a work-item, each loop's exit test
 * counted and nothing assumed unrolled: the k loop, the NV weight loads, the MR rows and each
 * row's NV vectors (21 for a 4×16 block; llvmpipe's budget ran out after 21.3–24.4 per step). */
static size_t gemm_loop_cost_per_k(const SgTuning *t)
{
    size_t nv = (size_t)t->gemm_nr / 8, mr = (size_t)t->gemm_mr;
    return 2 + (nv + 1) + (mr + 1) + mr * (nv + 1);
}

/* Whether linear layers with weights w run q8's integer form here, reading x as q8 rows. */
static int linear_is_integer(const SgDevice *dev, const SgWeight *w)
{
    return w->layout == SG_GEMM_PANELS && w->dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0;
}

/* The device's scratch buffer as q8 rows (cl/q8_rows.h) of the integer form's input x [M, K]:
 * *xq, and *ldq bytes per row. */
static int q8_rows_scratch(SgDevice *dev, const SgGemm *g, cl_mem *xq, size_t *ldq, SgError *err)
{
    *ldq = sg_q8_rows_ld(g->w->n_in);
    return sg_device_scratch(dev, g->M * *ldq, xq, err);
}

/* x [M, K] rounded into q8 rows in the device's scratch buffer (q8_rows_scratch), for q8's
 * integer form where no op wrote them. */
static int linear_round_x(SgDevice *dev, const SgGemm *g, cl_mem *xq, size_t *ldq, SgError *err)
{
    int rc = q8_rows_scratch(dev, g, xq, ldq, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_int m = (cl_int)g->M, k = (cl_int)g->w->n_in, xo = (cl_int)g->x_off, lx = (cl_int)g->ldx;
    cl_int lq = (cl_int)*ldq;
    SgArg args[] = {SG_ARG(m), SG_ARG(k), SG_ARG(g->x), SG_ARG(xo), SG_ARG(lx), SG_ARG(*xq),
                    SG_ARG(lq)};
    size_t global[1] = {g->M};
    return sg_launch(dev, SG_K_Q8_QUANTIZE_ROWS, args, sizeof args / sizeof args[0], 1, global,
                     NULL, err);
}

/* Inputs of w one launch of gemm_packed sums (a multiple of 32, or all of them): all, unless the
 * device's loop budget ends a work-item's MB·K steps early; then launches over runs of K sum into
 * y, the first with the bias, the last with the activation. Each k step costs a work-item
 * gemm_loop_cost_per_k, NP times over for the integer form's gemm_q8_np panels (an upper bound:
 * it steps four inputs at a time). */
static size_t linear_k_run(const SgDevice *dev, const SgWeight *w)
{
    size_t np = linear_is_integer(dev, w) ? (size_t)dev->tuning.gemm_q8_np : 1;
    size_t per_k = np * gemm_loop_cost_per_k(&dev->tuning);
    return sg_loop_units_per_launch(dev, w->n_in, (size_t)dev->tuning.gemm_mb * per_k, 0, 32);
}

int sg_linear_writes_q8(const SgDevice *dev, const SgWeight *w)
{
    /* A work-item's NP·NR columns must be whole blocks of 32 (cl/gemm_packed.cl
     * SG_Q8_ROWS_OUT): every NP of the tuner's candidates (8, 16) makes them so; a tuning file
     * may set any. */
    size_t cols = (size_t)dev->tuning.gemm_q8_np * (size_t)dev->tuning.gemm_nr;
    return linear_is_integer(dev, w) && cols % 32 == 0 && linear_k_run(dev, w) >= w->n_in;
}

/* xq: NULL, or x already as q8 rows there (ldq bytes per row) where the form is the integer one.
 * yq: NULL, or where y goes as q8 rows instead (ldyq bytes per row; sg_linear_writes_q8 holds). */
static int linear_panels(SgDevice *dev, const SgGemm *g, cl_mem xq, size_t ldq, cl_mem yq,
                         size_t ldyq, SgError *err)
{
    const SgWeight *w = g->w;
    if (w->panel != (size_t)dev->tuning.gemm_nr)
        return sg_fail(err, SIGLIP_EINVAL, "linear: weight packed in %zu-column panels, but the "
                       "device's kernel reads %d (upload it again after retuning)", w->panel,
                       dev->tuning.gemm_nr);
    /* Reduced-precision GEMMs are built on first use, and again after a retune dropped them. */
    int rc = sg_kernels_require_weight(dev, w->dtype, err);
    if (rc != SIGLIP_OK)
        return rc;
    /* q8's integer form reads x as q8 rows (offset and stride in bytes). */
    cl_mem x = g->x;
    size_t x_off = g->x_off, ldx = g->ldx, row_bytes = w->n_in * 4;
    if (linear_is_integer(dev, w)) {
        if (xq) {
            x = xq, ldx = ldq;
        } else {
            rc = linear_round_x(dev, g, &x, &ldx, err);
            if (rc != SIGLIP_OK)
                return rc;
        }
        x_off = 0;
        row_bytes = ldx;
    }
    cl_int m = (cl_int)g->M, n = (cl_int)w->n_out, k = (cl_int)w->n_in;
    cl_int xo = (cl_int)x_off, lx = (cl_int)ldx;
    cl_mem bias = g->b ? g->b : w->buf.mem; /* any valid buffer when there is no bias: never read */
    size_t rows = (size_t)dev->tuning.gemm_mr * (size_t)dev->tuning.gemm_mb;
    /* Walk order (cl/gemm_packed.cl): chunks of row blocks holding 1/32 of the cache budget. */
    size_t budget = (size_t)dev->tuning.gemm_chunk_kib * 1024, x_bytes = g->M * row_bytes;
    size_t block_bytes = rows * row_bytes, per_chunk = budget / 32 / block_bytes;
    cl_int mc = budget && x_bytes > budget ? (cl_int)(per_chunk > 0 ? per_chunk : 1) : 0;
    size_t k_run = linear_k_run(dev, w);
    if (yq && k_run < w->n_in)
        return sg_fail(err, SIGLIP_ENOTSUP, "linear: q8 rows out of a GEMM split over launches");
    cl_mem y = yq ? yq : g->y;
    cl_int yo = yq ? 0 : (cl_int)g->y_off, ly = yq ? (cl_int)ldyq : (cl_int)g->ldy;
    /* Row blocks rounded up to whole work-groups: the kernel stores no row past M. */
    size_t wg = (size_t)dev->tuning.gemm_wg, row_blocks = (g->M + rows - 1) / rows;
    size_t np = linear_is_integer(dev, w) ? (size_t)dev->tuning.gemm_q8_np : 1;
    size_t panels = (w->n_out + w->panel - 1) / w->panel;
    size_t global[2] = {(row_blocks + wg - 1) / wg * wg, (panels + np - 1) / np};
    size_t local[2] = {wg, 1};
    for (size_t k0 = 0; k0 < w->n_in && rc == SIGLIP_OK; k0 += k_run) {
        int first = k0 == 0, last = k0 + k_run >= w->n_in;
        cl_int kb = (cl_int)k0, ke = (cl_int)(last ? w->n_in : k0 + k_run);
        cl_int has_bias = first && g->b != NULL;
        cl_int activation = last ? (cl_int)g->act : (cl_int)SG_ACT_NONE;
        cl_int acc = yq ? SG_CL_Y_Q8_ROWS : !first || g->store == SG_ACCUMULATE;
        SgArg args[] = {SG_ARG(m),    SG_ARG(n),     SG_ARG(k),          SG_ARG(x),
                        SG_ARG(xo),   SG_ARG(lx),    SG_ARG(w->buf.mem), SG_ARG(bias),
                        SG_ARG(has_bias), SG_ARG(y),  SG_ARG(yo),        SG_ARG(ly),
                        SG_ARG(activation), SG_ARG(acc), SG_ARG(mc),     SG_ARG(kb),
                        SG_ARG(ke)};
        rc = sg_launch(dev, sg_gemm_kernel(w->dtype), args, sizeof args / sizeof args[0], 2,
                       global, local, err);
    }
    return rc;
}

int sg_gemm_bias_act(SgDevice *dev, const SgGemm *g, SgError *err)
{
    cl_uint off = (cl_uint)g->y_off, ld = (cl_uint)g->ldy, n = (cl_uint)g->w->n_out;
    cl_uint m = (cl_uint)g->M;
    cl_int has_bias = g->b != NULL, activation = (cl_int)g->act;
    SgArg args[] = {SG_ARG(g->y), SG_ARG(off), SG_ARG(ld), SG_ARG(g->b), SG_ARG(has_bias),
                    SG_ARG(n),    SG_ARG(m),   SG_ARG(activation)};
    size_t global[2] = {g->w->n_out, g->M};
    return sg_launch(dev, SG_K_BIAS_ACT, args, sizeof args / sizeof args[0], 2, global, NULL,
                     err);
}

int sg_op_linear(SgDevice *dev, SgView x, const SgLinear *l, SgView y, SgActivation act,
                 SgStore store, SgError *err)
{
    if (x.batch * x.rows == 0 || l->w.n_out == 0)
        return SIGLIP_OK;
    SgGemm g;
    int rc = check_linear(x, l, y, act, store, &g, err);
    if (rc != SIGLIP_OK)
        return rc;
    if (l->w.layout == SG_GEMM_PANELS)
        return linear_panels(dev, &g, NULL, 0, NULL, 0, err);
    return sg_gemm_clblast(dev, &g, err);
}

int sg_op_norm_linear(SgDevice *dev, SgView x, const SgLayerNorm *ln, SgView h, const SgLinear *l,
                      SgView y, SgActivation act, SgStore store, SgError *err)
{
    if (x.batch * x.rows == 0 || l->w.n_out == 0)
        return SIGLIP_OK;
    if (!linear_is_integer(dev, &l->w)) {
        int rc = sg_op_layernorm(dev, x, h, ln, err);
        return rc == SIGLIP_OK ? sg_op_linear(dev, h, l, y, act, store, err) : rc;
    }
    /* q8's integer form: LayerNorm writes q8 rows (into the device's scratch buffer) that the
     * GEMM reads; h is not written. */
    SgGemm g;
    size_t ldq = 0;
    cl_mem xq = NULL;
    int rc = check_linear(h, l, y, act, store, &g, err);
    if (rc == SIGLIP_OK)
        rc = q8_rows_scratch(dev, &g, &xq, &ldq, err);
    if (rc == SIGLIP_OK)
        rc = sg_op_layernorm_q8(dev, x, ln, xq, ldq, err);
    return rc == SIGLIP_OK ? linear_panels(dev, &g, xq, ldq, NULL, 0, err) : rc;
}

int sg_op_attention_linear(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask,
                           SgHeads heads, SgView out, const SgLinear *l, SgView y, SgStore store,
                           SgError *err)
{
    if (!linear_is_integer(dev, &l->w) || !sg_attention_writes_q8(dev, q, k, mask, out, heads)) {
        int rc = sg_op_attention(dev, q, k, v, mask, out, heads, err);
        return rc == SIGLIP_OK ? sg_op_linear(dev, out, l, y, SG_ACT_NONE, store, err) : rc;
    }
    if (out.batch * out.rows == 0 || l->w.n_out == 0)
        return SIGLIP_OK;
    /* q8's integer form: the attention writes q8 rows into out's buffer, the GEMM reads them. */
    SgGemm g;
    int rc = check_linear(out, l, y, SG_ACT_NONE, store, &g, err);
    if (rc == SIGLIP_OK && !sg_view_is_dense(out))
        rc = sg_fail(err, SIGLIP_EINVAL, "attention_linear: out must be dense");
    if (rc == SIGLIP_OK)
        rc = sg_op_attention_q8(dev, q, k, v, mask, out, heads, err);
    return rc == SIGLIP_OK ? linear_panels(dev, &g, out.mem, sg_q8_rows_ld(out.cols), NULL, 0, err)
                           : rc;
}

int sg_op_norm_mlp(SgDevice *dev, SgView x, const SgLayerNorm *ln, SgView h, const SgLinear *fc1,
                   SgActivation act, SgView hidden, const SgLinear *fc2, SgView y, SgStore store,
                   SgError *err)
{
    size_t M = hidden.batch * hidden.rows, ldh = sg_q8_rows_ld(hidden.cols);
    if (!sg_linear_writes_q8(dev, &fc1->w) || !linear_is_integer(dev, &fc2->w) ||
        sg_buffer_size(hidden.mem) < M * ldh) {
        int rc = sg_op_norm_linear(dev, x, ln, h, fc1, hidden, act, SG_STORE, err);
        return rc == SIGLIP_OK ? sg_op_linear(dev, hidden, fc2, y, SG_ACT_NONE, store, err) : rc;
    }
    if (x.batch * x.rows == 0 || fc1->w.n_out == 0 || fc2->w.n_out == 0)
        return SIGLIP_OK;
    /* q8's integer form throughout: LayerNorm writes q8 rows into the device's scratch buffer,
     * fc1 reads them and writes act(...) as q8 rows into hidden's buffer, fc2 reads those. */
    SgGemm g1, g2;
    size_t ldq = 0;
    cl_mem xq = NULL;
    int rc = check_linear(h, fc1, hidden, act, SG_STORE, &g1, err);
    if (rc == SIGLIP_OK)
        rc = check_linear(hidden, fc2, y, SG_ACT_NONE, store, &g2, err);
    if (rc == SIGLIP_OK && !sg_view_is_dense(hidden))
        rc = sg_fail(err, SIGLIP_EINVAL, "norm_mlp: hidden must be dense");
    if (rc == SIGLIP_OK)
        rc = q8_rows_scratch(dev, &g1, &xq, &ldq, err);
    if (rc == SIGLIP_OK)
        rc = sg_op_layernorm_q8(dev, x, ln, xq, ldq, err);
    if (rc == SIGLIP_OK)
        rc = linear_panels(dev, &g1, xq, ldq, hidden.mem, ldh, err);
    return rc == SIGLIP_OK ? linear_panels(dev, &g2, hidden.mem, ldh, NULL, 0, err) : rc;
}

#ifndef SG_HAVE_CLBLAST
int sg_gemm_clblast(SgDevice *dev, const SgGemm *g, SgError *err)
{
    return sg_fail(err, SIGLIP_ENOTSUP,
                   "linear: weights in CLBlast layout, but this build has no CLBlast "
                   "(meson option clblast)");
}
#endif
