/* ops.c — the device operations of ops.h other than the GEMM: argument checks and kernel launches
 * for LayerNorm, attention, embeddings, patch extraction, broadcast add, mean and row copies. */
#include "ocl/ops.h"

#include "ocl/kernels.h"

#define N_ARGS(a) (sizeof(a) / sizeof((a)[0]))

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

int sg_op_layernorm(SgDevice *dev, cl_mem x, cl_mem y, cl_mem gamma, cl_mem beta, size_t rows,
                    size_t cols, float eps, SgError *err)
{
    static const char op[] = "layernorm";
    if (rows == 0 || cols == 0)
        return SIGLIP_OK;
    int rc = sg_check_buffer(x, rows * cols, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(y, rows * cols, sizeof(float), op, "y", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(gamma, cols, sizeof(float), op, "gamma", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(beta, cols, sizeof(float), op, "beta", err);
    if (rc != SIGLIP_OK)
        return rc;
    const SgKernels *k = dev->kernels;
    size_t local = sg_pow2_floor(min_size(k->tune.layernorm_wg, k->max_wg[SG_K_LAYERNORM]));
    cl_uint n_cols = (cl_uint)cols;
    cl_float e = eps;
    SgArg args[] = {SG_ARG(x), SG_ARG(y), SG_ARG(gamma), SG_ARG(beta), SG_ARG(n_cols), SG_ARG(e)};
    size_t global = rows * local;
    return sg_launch(dev, SG_K_LAYERNORM, args, N_ARGS(args), 1, &global, &local, err);
}

/* Shape and buffer checks of sg_op_attention. */
static int check_attention(cl_mem q, size_t q_off, size_t ldq, size_t q_batch_stride, cl_mem k,
                           size_t k_off, cl_mem v, size_t v_off, size_t ldkv, cl_mem mask,
                           cl_mem out, size_t o_off, size_t ldo, size_t B, size_t Tq, size_t Tk,
                           size_t H, size_t dh, SgError *err)
{
    static const char op[] = "attention";
    size_t width = H * dh;
    if (dh == 0 || dh > SG_ATTN_MAX_DH)
        return sg_fail(err, SIGLIP_EINVAL, "attention: head dim %zu is outside 1..%d", dh,
                       SG_ATTN_MAX_DH);
    if (Tk == 0 || ldq < width || ldkv < width || ldo < width)
        return sg_fail(err, SIGLIP_EINVAL,
                       "attention: bad shape (Tk=%zu, H·dh=%zu, ldq=%zu, ldkv=%zu, ldo=%zu)", Tk,
                       width, ldq, ldkv, ldo);
    size_t q_need = q_off + (B - 1) * q_batch_stride + sg_span(0, Tq, ldq, width);
    int rc = sg_check_buffer(q, q_need, sizeof(float), op, "q", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(k, sg_span(k_off, B * Tk, ldkv, width), sizeof(float), op, "k", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(v, sg_span(v_off, B * Tk, ldkv, width), sizeof(float), op, "v", err);
    if (rc == SIGLIP_OK && mask)
        rc = sg_check_buffer(mask, B * Tk, sizeof(cl_int), op, "mask", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(out, sg_span(o_off, B * Tq, ldo, width), sizeof(float), op, "out",
                             err);
    return rc;
}

/* attention_rows (cl/attention.cl): keys transposed into the device scratch buffer, then one
 * work-item per block of SG_ATTN_QB queries. */
static int attention_rows(SgDevice *dev, cl_mem q, size_t q_off, size_t ldq, size_t q_bstride,
                          cl_mem k, size_t k_off, cl_mem v, size_t v_off, size_t ldkv, cl_mem mask,
                          cl_mem out, size_t o_off, size_t ldo, size_t B, size_t Tq, size_t Tk,
                          size_t H, size_t dh, float scale, SgError *err)
{
    size_t Tkp = (Tk + 15) / 16 * 16;
    cl_mem kt;
    int rc = sg_device_scratch(dev, B * H * dh * Tkp * sizeof(float), &kt, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint a_k_off = (cl_uint)k_off, a_ldkv = (cl_uint)ldkv, a_tk = (cl_uint)Tk,
            a_tkp = (cl_uint)Tkp, a_h = (cl_uint)H, a_dh = (cl_uint)dh;
    SgArg pack[] = {SG_ARG(k),   SG_ARG(a_k_off), SG_ARG(a_ldkv), SG_ARG(a_tk),
                    SG_ARG(a_tkp), SG_ARG(a_h),   SG_ARG(a_dh),   SG_ARG(kt)};
    size_t pack_global[3] = {Tkp, dh, B * H};
    rc = sg_launch(dev, SG_K_ATTENTION_PACK_K, pack, N_ARGS(pack), 3, pack_global, NULL, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint a_q_off = (cl_uint)q_off, a_ldq = (cl_uint)ldq, a_qbs = (cl_uint)q_bstride;
    cl_uint a_v_off = (cl_uint)v_off, a_o_off = (cl_uint)o_off, a_ldo = (cl_uint)ldo;
    cl_uint a_tq = (cl_uint)Tq;
    cl_int has_mask = mask != NULL;
    cl_mem mask_arg = mask ? mask : kt; /* never read without has_mask */
    cl_float a_scale = scale;
    SgArg args[] = {SG_ARG(q),        SG_ARG(a_q_off), SG_ARG(a_ldq),    SG_ARG(a_qbs),
                    SG_ARG(kt),       SG_ARG(a_tkp),   SG_ARG(v),        SG_ARG(a_v_off),
                    SG_ARG(a_ldkv),   SG_ARG(mask_arg), SG_ARG(has_mask), SG_ARG(out),
                    SG_ARG(a_o_off),  SG_ARG(a_ldo),   SG_ARG(a_tq),     SG_ARG(a_tk),
                    SG_ARG(a_h),      SG_ARG(a_dh),    SG_ARG(a_scale)};
    size_t global[3] = {(Tq + SG_ATTN_QB - 1) / SG_ATTN_QB, H, B}, one[3] = {1, 1, 1};
    return sg_launch(dev, SG_K_ATTENTION_ROWS, args, N_ARGS(args), 3, global, one, err);
}

int sg_op_attention(SgDevice *dev, cl_mem q, size_t q_off, size_t ldq, size_t q_batch_stride,
                    cl_mem k, size_t k_off, cl_mem v, size_t v_off, size_t ldkv, cl_mem mask,
                    cl_mem out, size_t o_off, size_t ldo, size_t B, size_t Tq, size_t Tk,
                    size_t H, size_t dh, float scale, SgError *err)
{
    if (B == 0 || Tq == 0 || H == 0)
        return SIGLIP_OK;
    int rc = check_attention(q, q_off, ldq, q_batch_stride, k, k_off, v, v_off, ldkv, mask, out,
                             o_off, ldo, B, Tq, Tk, H, dh, err);
    if (rc != SIGLIP_OK)
        return rc;
    const SgKernels *kern = dev->kernels;
    cl_uint a_q_off = (cl_uint)q_off, a_ldq = (cl_uint)ldq, a_qbs = (cl_uint)q_batch_stride;
    cl_uint a_k_off = (cl_uint)k_off, a_v_off = (cl_uint)v_off, a_ldkv = (cl_uint)ldkv;
    cl_uint a_o_off = (cl_uint)o_off, a_ldo = (cl_uint)ldo;
    cl_uint a_tq = (cl_uint)Tq, a_tk = (cl_uint)Tk, a_dh = (cl_uint)dh;
    cl_int has_mask = mask != NULL;
    cl_float a_scale = scale;
    size_t tile_bytes = kern->tune.attn_tile_k * dh * sizeof(float);
    SgArg args[] = {SG_ARG(q),       SG_ARG(a_q_off),      SG_ARG(a_ldq),   SG_ARG(a_qbs),
                    SG_ARG(k),       SG_ARG(a_k_off),      SG_ARG(v),       SG_ARG(a_v_off),
                    SG_ARG(a_ldkv),  SG_ARG(mask),         SG_ARG(has_mask), SG_ARG(out),
                    SG_ARG(a_o_off), SG_ARG(a_ldo),        SG_ARG(a_tq),    SG_ARG(a_tk),
                    SG_ARG(a_dh),    SG_ARG(a_scale),      SG_LOCAL(tile_bytes),
                    SG_LOCAL(tile_bytes)};
    if (dev->tuning.attention == SG_ATTN_ROWS && dh % 8 == 0 && Tk <= SG_ATTN_MAX_TK)
        return attention_rows(dev, q, q_off, ldq, q_batch_stride, k, k_off, v, v_off, ldkv, mask,
                              out, o_off, ldo, B, Tq, Tk, H, dh, scale, err);
    size_t local[3] = {min_size(kern->tune.attn_wg, kern->max_wg[SG_K_ATTENTION]), 1, 1};
    size_t global[3] = {Tq, H, B};
    return sg_launch(dev, SG_K_ATTENTION, args, N_ARGS(args), 3, global, local, err);
}

int sg_op_embed_tokens(SgDevice *dev, cl_mem ids, cl_mem tok_emb, cl_mem pos_emb, cl_mem out,
                       size_t B, size_t T, size_t D, SgError *err)
{
    static const char op[] = "embed_tokens";
    if (B == 0 || T == 0 || D == 0)
        return SIGLIP_OK;
    int rc = sg_check_buffer(ids, B * T, sizeof(cl_int), op, "ids", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(tok_emb, D, sizeof(float), op, "tok_emb", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(pos_emb, T * D, sizeof(float), op, "pos_emb", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(out, B * T * D, sizeof(float), op, "out", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint t = (cl_uint)T, d = (cl_uint)D, bt = (cl_uint)(B * T);
    SgArg args[] = {SG_ARG(ids), SG_ARG(tok_emb), SG_ARG(pos_emb), SG_ARG(out),
                    SG_ARG(t),   SG_ARG(d),       SG_ARG(bt)};
    size_t global[2] = {D, B * T};
    return sg_launch(dev, SG_K_EMBED_TOKENS, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_im2col(SgDevice *dev, cl_mem pixels, cl_mem patches, size_t B, size_t C, size_t H,
                 size_t W, size_t p, SgError *err)
{
    static const char op[] = "im2col";
    if (p == 0 || H < p || W < p)
        return sg_fail(err, SIGLIP_EINVAL, "im2col: patch size %zu does not fit a %zux%zu image",
                       p, H, W);
    if (B == 0 || C == 0)
        return SIGLIP_OK;
    size_t rows = B * (H / p) * (W / p), cols = C * p * p;
    int rc = sg_check_buffer(pixels, B * C * H * W, sizeof(float), op, "pixels", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(patches, rows * cols, sizeof(float), op, "patches", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint c = (cl_uint)C, h = (cl_uint)H, w = (cl_uint)W, pp = (cl_uint)p, r = (cl_uint)rows;
    SgArg args[] = {SG_ARG(pixels), SG_ARG(patches), SG_ARG(c), SG_ARG(h),
                    SG_ARG(w),      SG_ARG(pp),      SG_ARG(r)};
    size_t global[2] = {cols, rows};
    return sg_launch(dev, SG_K_IM2COL, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_add_broadcast(SgDevice *dev, cl_mem x, cl_mem v, size_t B, size_t N, size_t D,
                        SgError *err)
{
    static const char op[] = "add_broadcast";
    if (B == 0 || N == 0 || D == 0)
        return SIGLIP_OK;
    int rc = sg_check_buffer(x, B * N * D, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(v, N * D, sizeof(float), op, "v", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint n = (cl_uint)(N * D), b = (cl_uint)B;
    SgArg args[] = {SG_ARG(x), SG_ARG(v), SG_ARG(n), SG_ARG(b)};
    size_t global[2] = {N * D, B};
    return sg_launch(dev, SG_K_ADD_BROADCAST, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_mean_tokens(SgDevice *dev, cl_mem x, cl_mem out, size_t B, size_t N, size_t D,
                      SgError *err)
{
    static const char op[] = "mean_tokens";
    if (N == 0)
        return sg_fail(err, SIGLIP_EINVAL, "mean_tokens: mean over zero tokens");
    if (B == 0 || D == 0)
        return SIGLIP_OK;
    int rc = sg_check_buffer(x, B * N * D, sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(out, B * D, sizeof(float), op, "out", err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint n = (cl_uint)N, d = (cl_uint)D, b = (cl_uint)B;
    SgArg args[] = {SG_ARG(x), SG_ARG(out), SG_ARG(n), SG_ARG(d), SG_ARG(b)};
    size_t global[2] = {D, B};
    return sg_launch(dev, SG_K_MEAN_TOKENS, args, N_ARGS(args), 2, global, NULL, err);
}

int sg_op_copy_rows(SgDevice *dev, cl_mem src, size_t src_off, size_t ld_src, cl_mem dst,
                    size_t dst_off, size_t ld_dst, size_t rows, size_t cols, SgError *err)
{
    static const char op[] = "copy_rows";
    if (rows == 0 || cols == 0)
        return SIGLIP_OK;
    if (ld_src < cols || ld_dst < cols)
        return sg_fail(err, SIGLIP_EINVAL, "copy_rows: row strides %zu, %zu below %zu columns",
                       ld_src, ld_dst, cols);
    int rc = sg_check_buffer(src, sg_span(src_off, rows, ld_src, cols), sizeof(float), op, "src",
                             err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(dst, sg_span(dst_off, rows, ld_dst, cols), sizeof(float), op, "dst",
                             err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint so = (cl_uint)src_off, sl = (cl_uint)ld_src, d_o = (cl_uint)dst_off;
    cl_uint dl = (cl_uint)ld_dst, c = (cl_uint)cols, r = (cl_uint)rows;
    SgArg args[] = {SG_ARG(src), SG_ARG(so), SG_ARG(sl), SG_ARG(dst),
                    SG_ARG(d_o), SG_ARG(dl), SG_ARG(c),  SG_ARG(r)};
    size_t global[2] = {cols, rows};
    return sg_launch(dev, SG_K_COPY_ROWS, args, N_ARGS(args), 2, global, NULL, err);
}
