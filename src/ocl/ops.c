/* ops.c — the device operations of ops.h other than the GEMM: view checks and kernel launches for
 * LayerNorm, attention, embeddings, patch extraction, broadcast add, mean and row copies. */
#include "ocl/ops.h"

#include "ocl/kernels.h"
#include "ocl/probe.h"
#include "ocl/weight_pack.h"

#define N_ARGS(a) (sizeof(a) / sizeof((a)[0]))

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Fails unless v is a dense [*, *, cols] block, as the kernels without strides need. */
static int check_dense(SgView v, size_t elem_size, const char *op, const char *name, SgError *err)
{
    if (!sg_view_is_dense(v))
        return sg_fail(err, SIGLIP_EINVAL, "%s: %s must be a dense tensor (offset 0, no gaps)",
                       op, name);
    return sg_check_view(v, elem_size, op, name, err);
}

/* gamma and beta of ln hold ln->n floats each. */
static int check_ln_params(const SgLayerNorm *ln, const char *op, SgError *err)
{
    int rc = sg_check_buffer(ln->w.mem, ln->n, sizeof(float), op, "gamma", err);
    return rc == SIGLIP_OK ? sg_check_buffer(ln->b.mem, ln->n, sizeof(float), op, "beta", err)
                           : rc;
}

int sg_op_layernorm(SgDevice *dev, SgView x, SgView y, const SgLayerNorm *ln, SgError *err)
{
    static const char op[] = "layernorm";
    size_t rows = x.batch * x.rows, cols = ln->n;
    if (rows == 0 || cols == 0)
        return SIGLIP_OK;
    if (x.cols != cols || y.cols != cols || y.batch * y.rows != rows)
        return sg_fail(err, SIGLIP_EINVAL, "layernorm: x has %zu×%zu, y %zu×%zu, gamma %zu", rows,
                       x.cols, y.batch * y.rows, y.cols, cols);
    int rc = check_dense(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = check_dense(y, sizeof(float), op, "y", err);
    if (rc == SIGLIP_OK)
        rc = check_ln_params(ln, op, err);
    if (rc != SIGLIP_OK)
        return rc;
    size_t local = sg_pow2_floor(min_size((size_t)dev->tuning.layernorm_wg,
                                          dev->kernels->max_wg[SG_K_LAYERNORM]));
    cl_uint n_cols = (cl_uint)cols;
    cl_float e = ln->eps;
    SgArg args[] = {SG_ARG(x.mem),    SG_ARG(y.mem), SG_ARG(ln->w.mem),
                    SG_ARG(ln->b.mem), SG_ARG(n_cols), SG_ARG(e)};
    size_t global = rows * local;
    return sg_launch(dev, SG_K_LAYERNORM, args, N_ARGS(args), 1, &global, &local, err);
}

int sg_op_layernorm_q8(SgDevice *dev, SgView x, const SgLayerNorm *ln, cl_mem yq, size_t ldq,
                       SgError *err)
{
    static const char op[] = "layernorm_q8";
    size_t rows = x.batch * x.rows, cols = ln->n;
    if (rows == 0 || cols == 0)
        return SIGLIP_OK;
    if (x.cols != cols || ldq < sg_q8_rows_ld(cols) || ldq % 4)
        return sg_fail(err, SIGLIP_EINVAL, "layernorm_q8: x has %zu×%zu, gamma %zu, q8 rows of "
                       "%zu bytes", rows, x.cols, cols, ldq);
    int rc = check_dense(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(yq, rows * ldq, 1, op, "yq", err);
    if (rc == SIGLIP_OK)
        rc = check_ln_params(ln, op, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint n_cols = (cl_uint)cols, lq = (cl_uint)ldq;
    cl_float e = ln->eps;
    SgArg args[] = {SG_ARG(x.mem),     SG_ARG(yq),     SG_ARG(lq), SG_ARG(ln->w.mem),
                    SG_ARG(ln->b.mem), SG_ARG(n_cols), SG_ARG(e)};
    return sg_launch(dev, SG_K_LAYERNORM_Q8, args, N_ARGS(args), 1, &rows, NULL, err);
}

/* The attention problem in the kernels' terms: every stride and size as the 32-bit values the
 * kernels take. */
typedef struct SgAttnArgs {
    cl_uint q_off, ldq, q_bstride, k_off, v_off, ldkv, o_off, ldo, Tq, Tk, H, dh;
    cl_int has_mask;
    cl_float scale;
    cl_int has_seg;
    size_t B; /* batch items, or segments */
} SgAttnArgs;

/* The packed form of attention (mask.seg.rows set): checks the segment table against the views
 * and turns the problem into seg.count items of at most max_queries × max_keys. */
static int check_segments(SgView *q, SgView *k, SgView *v, SgMask mask, SgView *out,
                          SgError *err)
{
    SgSegments s = mask.seg;
    if (mask.keep)
        return sg_fail(err, SIGLIP_EINVAL, "attention: a key mask with packed segments");
    if (q->batch != 1 || k->batch != 1 || v->batch != 1 || out->batch != 1 ||
        s.max_queries > q->rows || s.max_keys > k->rows || s.max_keys == 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "attention: packed segments need [1, rows, width] views holding "
                       "%zu queries and 1..%zu keys", s.max_queries, s.max_keys);
    int rc = sg_check_buffer(s.rows, s.count * 3, sizeof(cl_int), "attention", "segments", err);
    /* The kernels see seg.count items of max_queries × max_keys rows from the segment table. */
    q->batch = k->batch = v->batch = out->batch = s.count;
    q->bstride = k->bstride = v->bstride = out->bstride = 0;
    return rc;
}

/* Shape and buffer checks of sg_op_attention; fills a. */
static int check_attention(SgView q, SgView k, SgView v, SgMask mask, SgView out, SgHeads heads,
                           SgAttnArgs *a, SgError *err)
{
    static const char op[] = "attention";
    size_t width = q.cols, H = heads.count, dh = H ? width / H : 0;
    if (dh == 0 || dh * H != width || dh > SG_ATTN_MAX_DH)
        return sg_fail(err, SIGLIP_EINVAL,
                       "attention: %zu columns do not split into %zu heads of 1..%d", width, H,
                       SG_ATTN_MAX_DH);
    if (k.rows == 0 || k.cols != width || v.cols != width || out.cols != width ||
        v.rows != k.rows || out.rows != q.rows || k.ld != v.ld)
        return sg_fail(err, SIGLIP_EINVAL,
                       "attention: shapes disagree (q %zu×%zu, k %zu×%zu ld %zu, v %zu×%zu ld "
                       "%zu, out %zu×%zu)",
                       q.rows, q.cols, k.rows, k.cols, k.ld, v.rows, v.cols, v.ld, out.rows,
                       out.cols);
    size_t B = out.batch;
    if (!sg_view_is_matrix(k) || !sg_view_is_matrix(v) || !sg_view_is_matrix(out) ||
        k.batch != B || v.batch != B || (q.batch != B && q.bstride != 0))
        return sg_fail(err, SIGLIP_EINVAL,
                       "attention: k, v and out need %zu batch items following one another", B);
    q.batch = B;
    int rc = sg_check_view(q, sizeof(float), op, "q", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_view(k, sizeof(float), op, "k", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_view(v, sizeof(float), op, "v", err);
    if (rc == SIGLIP_OK && mask.keep)
        rc = sg_check_buffer(mask.keep, B * k.rows, sizeof(cl_int), op, "mask", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_view(out, sizeof(float), op, "out", err);
    int packed = mask.seg.rows != NULL;
    if (rc == SIGLIP_OK && packed)
        rc = check_segments(&q, &k, &v, mask, &out, err);
    size_t Tq = packed ? mask.seg.max_queries : q.rows, Tk = packed ? mask.seg.max_keys : k.rows;
    *a = (SgAttnArgs){(cl_uint)q.off, (cl_uint)q.ld,    (cl_uint)q.bstride, (cl_uint)k.off,
                      (cl_uint)v.off, (cl_uint)k.ld,    (cl_uint)out.off,   (cl_uint)out.ld,
                      (cl_uint)Tq,    (cl_uint)Tk,      (cl_uint)H,         (cl_uint)dh,
                      mask.keep != NULL, heads.scale,   packed,             out.batch};
    return rc;
}

/* attention_rows (cl/attention.cl): keys transposed into the device scratch buffer, then one
 * work-item per block of dev->tuning.attn_qb queries (the program's SG_ATTN_QB). out_q8 > 0:
 * out is q8 rows of that many bytes per row from the start of out.mem (the head dimension a
 * multiple of 32), not f32. */
static int attention_rows(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                          const SgAttnArgs *a, cl_uint out_q8, SgError *err)
{
    size_t B = a->B, Tkp = ((size_t)a->Tk + 15) / 16 * 16;
    cl_mem kt;
    int rc = sg_device_scratch(dev, B * a->H * a->dh * Tkp * sizeof(float), &kt, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint tkp = (cl_uint)Tkp;
    cl_mem seg_arg = a->has_seg ? mask.seg.rows : kt; /* never read without has_seg */
    SgArg pack[] = {SG_ARG(k.mem), SG_ARG(a->k_off), SG_ARG(a->ldkv),  SG_ARG(a->Tk),
                    SG_ARG(tkp),   SG_ARG(a->H),     SG_ARG(a->dh),    SG_ARG(seg_arg),
                    SG_ARG(a->has_seg), SG_ARG(kt)};
    size_t pack_global[3] = {Tkp, a->dh, B * a->H};
    rc = sg_launch(dev, SG_K_ATTENTION_PACK_K, pack, N_ARGS(pack), 3, pack_global, NULL, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_mem mask_arg = mask.keep ? mask.keep : kt; /* never read without has_mask */
    cl_uint o_off = out_q8 ? 0 : a->o_off, ldo = out_q8 ? out_q8 : a->ldo;
    cl_int is_q8 = out_q8 > 0;
    SgArg args[] = {SG_ARG(q.mem),    SG_ARG(a->q_off), SG_ARG(a->ldq),      SG_ARG(a->q_bstride),
                    SG_ARG(kt),       SG_ARG(tkp),      SG_ARG(v.mem),       SG_ARG(a->v_off),
                    SG_ARG(a->ldkv),  SG_ARG(mask_arg), SG_ARG(a->has_mask), SG_ARG(seg_arg),
                    SG_ARG(a->has_seg), SG_ARG(out.mem), SG_ARG(o_off),    SG_ARG(ldo),
                    SG_ARG(a->Tq),    SG_ARG(a->Tk),    SG_ARG(a->H),        SG_ARG(a->dh),
                    SG_ARG(a->scale), SG_ARG(is_q8)};
    size_t qb = (size_t)dev->tuning.attn_qb;
    size_t global[3] = {((size_t)a->Tq + qb - 1) / qb, a->H, B};
    size_t one[3] = {1, 1, 1};
    return sg_launch(dev, SG_K_ATTENTION_ROWS, args, N_ARGS(args), 3, global, one, err);
}

/* Loop iterations (each exit test counted, nothing assumed unrolled) of one work-item of
 * attention_rows over Tk keys: the scores of its qb queries 16 keys at a time, their softmax,
 * and P·V over 16-wide slices of the head. */
static size_t attention_rows_loop_cost(size_t Tk, size_t dh, size_t qb)
{
    size_t blocks = (Tk + 15) / 16, Tk16 = blocks * 16;
    size_t scores = blocks * (2 * (qb + 1) + (dh + 1) * (qb + 2) + 17);
    size_t softmax = (qb + 1) + qb * 2 * (Tk16 / 8 + 1);
    size_t pv = (dh / 16 + 1) * (2 * (qb + 1) + (Tk + 1) * (qb + 2));
    return (qb + 1) + scores + softmax + pv;
}

/* attention (cl/attention.cl): work-groups share K/V tiles in local memory. A work-item's loops
 * cost about 3·dh per key (dot product, P·V, its share of loading the tiles) besides the fixed
 * 4·dh of its query and output and a pass over the mask; where that passes the device's loop
 * budget, launches over runs of keys carry the softmax (the state in the device scratch). */
static int attention_tiled(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                           const SgAttnArgs *a, SgError *err)
{
    const SgKernels *kern = dev->kernels;
    size_t tile = (size_t)dev->tuning.attn_tile_k, tile_bytes = tile * a->dh * sizeof(float);
    size_t run = sg_loop_units_per_launch(dev, a->Tk, 3 * (size_t)a->dh + 8,
                                          4 * ((size_t)a->dh + 1) + a->Tk + 8, tile);
    cl_mem state = out.mem; /* never touched when one launch takes every key */
    int rc = run < a->Tk ? sg_device_scratch(dev, a->B * a->H * a->Tq * 2 * sizeof(float), &state,
                                             err)
                         : SIGLIP_OK;
    size_t local[3] = {min_size((size_t)dev->tuning.attn_wg, kern->max_wg[SG_K_ATTENTION]), 1, 1};
    size_t global[3] = {a->Tq, a->H, a->B};
    for (size_t j0 = 0; j0 < a->Tk && rc == SIGLIP_OK; j0 += run) {
        cl_uint j_begin = (cl_uint)j0, j_end = (cl_uint)(j0 + run < a->Tk ? j0 + run : a->Tk);
        SgArg args[] = {SG_ARG(q.mem),      SG_ARG(a->q_off),   SG_ARG(a->ldq),
                        SG_ARG(a->q_bstride), SG_ARG(k.mem),    SG_ARG(a->k_off),
                        SG_ARG(v.mem),      SG_ARG(a->v_off),   SG_ARG(a->ldkv),
                        SG_ARG(mask.keep),  SG_ARG(a->has_mask), SG_ARG(mask.seg.rows),
                        SG_ARG(a->has_seg), SG_ARG(out.mem),    SG_ARG(a->o_off),
                        SG_ARG(a->ldo),     SG_ARG(a->Tq),      SG_ARG(a->Tk),
                        SG_ARG(a->dh),      SG_ARG(a->scale),   SG_ARG(j_begin),
                        SG_ARG(j_end),      SG_ARG(state),      SG_LOCAL(tile_bytes),
                        SG_LOCAL(tile_bytes)};
        rc = sg_launch(dev, SG_K_ATTENTION, args, N_ARGS(args), 3, global, local, err);
    }
    return rc;
}

/* Whether sg_op_attention runs attention_rows for keys of Tk rows and heads dh wide: the
 * device's choice, unless the shape is past that kernel's limits or the device's loop budget
 * (it takes every key in one work-item); else the tiled kernel, which can split the keys. */
static int attention_takes_rows(const SgDevice *dev, size_t Tk, size_t dh)
{
    return dev->tuning.attention == SG_ATTN_ROWS && dh % 8 == 0 && Tk <= SG_ATTN_MAX_TK &&
           sg_loop_fits(dev, attention_rows_loop_cost(Tk, dh, (size_t)dev->tuning.attn_qb));
}

int sg_attention_writes_q8(const SgDevice *dev, SgView q, SgView k, SgMask mask, SgView out,
                           SgHeads heads)
{
    size_t H = heads.count, dh = H ? q.cols / H : 0, Tk = mask.seg.rows ? mask.seg.max_keys : k.rows;
    size_t rows = out.batch * out.rows;
    return dh > 0 && dh % 32 == 0 && attention_takes_rows(dev, Tk, dh) &&
           sg_buffer_size(out.mem) >= rows * sg_q8_rows_ld(out.cols);
}

/* sg_op_attention (as_q8 = 0) or sg_op_attention_q8 (as_q8 = 1). */
static int attention_op(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                        SgHeads heads, int as_q8, SgError *err)
{
    if (out.batch == 0 || q.rows == 0 || heads.count == 0 || (mask.seg.rows && !mask.seg.count))
        return SIGLIP_OK;
    SgAttnArgs a;
    int rc = check_attention(q, k, v, mask, out, heads, &a, err);
    if (rc != SIGLIP_OK)
        return rc;
    if (as_q8 && !sg_attention_writes_q8(dev, q, k, mask, out, heads))
        return sg_fail(err, SIGLIP_ENOTSUP, "attention: q8 rows need the attention_rows kernel, "
                       "heads a multiple of 32 wide and %zu bytes in out's buffer",
                       out.batch * out.rows * sg_q8_rows_ld(out.cols));
    if (as_q8)
        return attention_rows(dev, q, k, v, mask, out, &a, (cl_uint)sg_q8_rows_ld(out.cols), err);
    if (attention_takes_rows(dev, a.Tk, a.dh))
        return attention_rows(dev, q, k, v, mask, out, &a, 0, err);
    return attention_tiled(dev, q, k, v, mask, out, &a, err);
}

int sg_op_attention(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                    SgHeads heads, SgError *err)
{
    return attention_op(dev, q, k, v, mask, out, heads, 0, err);
}

int sg_op_attention_q8(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                       SgHeads heads, SgError *err)
{
    return attention_op(dev, q, k, v, mask, out, heads, 1, err);
}

int sg_table_upload(SgDevice *dev, const SgRows *src, SgElemType dtype, SgTable *out,
                    SgError *err)
{
    *out = (SgTable){.dtype = dtype, .rows = src->n, .cols = src->k};
    void *dst;
    int rc = sg_buffer_create_mapped(dev, sg_table_bytes(dtype, src->n, src->k), &out->buf, &dst,
                                     err);
    if (rc != SIGLIP_OK)
        return rc;
    sg_table_pack(dtype, src, dst);
    rc = sg_buffer_unmap(dev, &out->buf, dst, err);
    if (rc != SIGLIP_OK)
        sg_buffer_release(dev, &out->buf);
    return rc;
}

int sg_op_embed_tokens(SgDevice *dev, cl_mem ids, cl_mem positions, const SgTable *tok_emb,
                       cl_mem pos_emb, SgView out, SgError *err)
{
    static const char op[] = "embed_tokens";
    size_t B = out.batch, T = out.rows, D = out.cols;
    if (B == 0 || T == 0 || D == 0)
        return SIGLIP_OK;
    if (tok_emb->cols != D || tok_emb->rows == 0 || (unsigned)tok_emb->dtype > SG_ELEM_I8)
        return sg_fail(err, SIGLIP_EINVAL, "embed_tokens: table of %zu×%zu (type %d) for %zu "
                       "columns", tok_emb->rows, tok_emb->cols, (int)tok_emb->dtype, D);
    int rc = sg_check_buffer(ids, B * T, sizeof(cl_int), op, "ids", err);
    if (rc == SIGLIP_OK && positions)
        rc = sg_check_buffer(positions, B * T, sizeof(cl_int), op, "positions", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(tok_emb->buf.mem,
                             sg_table_bytes(tok_emb->dtype, tok_emb->rows, tok_emb->cols), 1, op,
                             "tok_emb", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(pos_emb, (positions ? 1 : T) * D, sizeof(float), op, "pos_emb", err);
    if (rc == SIGLIP_OK)
        rc = check_dense(out, sizeof(float), op, "out", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint t = (cl_uint)T, d = (cl_uint)D, bt = (cl_uint)(B * T), v = (cl_uint)tok_emb->rows;
    cl_int has_pos = positions != NULL, type = (cl_int)tok_emb->dtype;
    cl_mem pos_arg = positions ? positions : ids; /* never read without has_pos */
    SgArg args[] = {SG_ARG(ids),     SG_ARG(pos_arg), SG_ARG(has_pos),         SG_ARG(tok_emb->buf.mem),
                    SG_ARG(type),    SG_ARG(v),       SG_ARG(pos_emb),         SG_ARG(out.mem),
                    SG_ARG(t),       SG_ARG(d),       SG_ARG(bt)};
    size_t global[2] = {D, B * T};
    return sg_launch(dev, SG_K_EMBED_TOKENS, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_segment_last_rows(SgDevice *dev, SgView x, SgSegments seg, SgView out, SgError *err)
{
    static const char op[] = "segment_last_rows";
    size_t B = seg.count, D = x.cols;
    if (B == 0 || D == 0)
        return SIGLIP_OK;
    if (out.batch * out.rows != B || out.cols != D || x.batch * x.rows < seg.max_queries)
        return sg_fail(err, SIGLIP_EINVAL, "segment_last_rows: out must hold %zu rows of %zu", B,
                       D);
    int rc = check_dense(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = check_dense(out, sizeof(float), op, "out", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(seg.rows, B * 3, sizeof(cl_int), op, "segments", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint d = (cl_uint)D, b = (cl_uint)B;
    SgArg args[] = {SG_ARG(x.mem), SG_ARG(seg.rows), SG_ARG(out.mem), SG_ARG(d), SG_ARG(b)};
    size_t global[2] = {D, B};
    return sg_launch(dev, SG_K_SEGMENT_LAST_ROWS, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_im2col(SgDevice *dev, cl_mem pixels, SgImages s, size_t p, cl_mem patches,
                 SgError *err)
{
    static const char op[] = "im2col";
    if (p == 0 || s.H < p || s.W < p)
        return sg_fail(err, SIGLIP_EINVAL, "im2col: patch size %zu does not fit a %zux%zu image",
                       p, s.H, s.W);
    if (s.B == 0 || s.C == 0)
        return SIGLIP_OK;
    size_t rows = s.B * (s.H / p) * (s.W / p), cols = s.C * p * p;
    int rc = sg_check_buffer(pixels, s.B * s.C * s.H * s.W, sizeof(float), op, "pixels", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(patches, rows * cols, sizeof(float), op, "patches", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint c = (cl_uint)s.C, h = (cl_uint)s.H, w = (cl_uint)s.W, pp = (cl_uint)p;
    cl_uint r = (cl_uint)rows;
    SgArg args[] = {SG_ARG(pixels), SG_ARG(patches), SG_ARG(c), SG_ARG(h),
                    SG_ARG(w),      SG_ARG(pp),      SG_ARG(r)};
    size_t global[2] = {cols, rows};
    return sg_launch(dev, SG_K_IM2COL, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_add_broadcast(SgDevice *dev, SgView x, cl_mem v, SgError *err)
{
    static const char op[] = "add_broadcast";
    size_t B = x.batch, N = x.rows, D = x.cols;
    if (B == 0 || N == 0 || D == 0)
        return SIGLIP_OK;
    int rc = check_dense(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(v, N * D, sizeof(float), op, "v", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint n = (cl_uint)(N * D), b = (cl_uint)B;
    SgArg args[] = {SG_ARG(x.mem), SG_ARG(v), SG_ARG(n), SG_ARG(b)};
    size_t global[2] = {N * D, B};
    return sg_launch(dev, SG_K_ADD_BROADCAST, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_mean_tokens(SgDevice *dev, SgView x, SgMask mask, SgView out, SgError *err)
{
    static const char op[] = "mean_tokens";
    size_t B = x.batch, N = x.rows, D = x.cols;
    if (N == 0)
        return sg_fail(err, SIGLIP_EINVAL, "mean_tokens: mean over zero tokens");
    if (mask.seg.rows)
        return sg_fail(err, SIGLIP_EINVAL, "mean_tokens: packed segments are not supported");
    if (B == 0 || D == 0)
        return SIGLIP_OK;
    if (out.batch * out.rows != B || out.cols != D)
        return sg_fail(err, SIGLIP_EINVAL, "mean_tokens: out must hold %zu rows of %zu", B, D);
    int rc = check_dense(x, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = check_dense(out, sizeof(float), op, "out", err);
    if (rc == SIGLIP_OK && mask.keep)
        rc = sg_check_buffer(mask.keep, B * N, sizeof(cl_int), op, "mask", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint n = (cl_uint)N, d = (cl_uint)D, b = (cl_uint)B, has_keep = mask.keep != NULL;
    cl_mem keep = mask.keep ? mask.keep : x.mem; /* never read without has_keep */
    SgArg args[] = {SG_ARG(x.mem), SG_ARG(keep), SG_ARG(has_keep), SG_ARG(out.mem),
                    SG_ARG(n),     SG_ARG(d),    SG_ARG(b)};
    size_t global[2] = {D, B};
    return sg_launch(dev, SG_K_MEAN_TOKENS, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_copy_rows(SgDevice *dev, SgView src, SgView dst, SgError *err)
{
    static const char op[] = "copy_rows";
    size_t rows = src.batch * src.rows, cols = src.cols;
    if (rows == 0 || cols == 0)
        return SIGLIP_OK;
    if (dst.batch * dst.rows != rows || dst.cols != cols)
        return sg_fail(err, SIGLIP_EINVAL, "copy_rows: %zu×%zu into %zu×%zu", rows, cols,
                       dst.batch * dst.rows, dst.cols);
    if (src.ld < cols || dst.ld < cols || !sg_view_is_matrix(src) || !sg_view_is_matrix(dst))
        return sg_fail(err, SIGLIP_EINVAL, "copy_rows: row strides %zu, %zu below %zu columns",
                       src.ld, dst.ld, cols);
    int rc = sg_check_view(src, sizeof(float), op, "src", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_view(dst, sizeof(float), op, "dst", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint so = (cl_uint)src.off, sl = (cl_uint)src.ld, d_o = (cl_uint)dst.off;
    cl_uint dl = (cl_uint)dst.ld, c = (cl_uint)cols, r = (cl_uint)rows;
    SgArg args[] = {SG_ARG(src.mem), SG_ARG(so), SG_ARG(sl), SG_ARG(dst.mem),
                    SG_ARG(d_o),     SG_ARG(dl), SG_ARG(c),  SG_ARG(r)};
    size_t global[2] = {cols, rows};
    return sg_launch(dev, SG_K_COPY_ROWS, args, N_ARGS(args), 2, global, NULL, err);
}
