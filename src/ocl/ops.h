/* ops.h — the device operations a SigLIP forward is made of. Each enqueues work on dev->queue and
 * returns without waiting; buffers hold float32 unless said otherwise; offsets and strides count
 * elements, not bytes. Every op has a plain-C reference in tests/ref_ops.c and a test comparing
 * the two on random inputs. */
#ifndef SG_OCL_OPS_H
#define SG_OCL_OPS_H

#include <CL/cl.h>

#include "common/error.h"
#include "ocl/device.h"

typedef enum SgActivation {
    SG_ACT_NONE = 0,
    SG_ACT_GELU_TANH = 1, /* 0.5x(1+tanh(√(2/π)(x+0.044715x³))), HF gelu_pytorch_tanh */
    SG_ACT_GELU_ERF = 2,  /* 0.5x(1+erf(x/√2)), HF gelu */
} SgActivation;

/* A Linear layer's weight w [N, K] (PyTorch layout) on the device, in the layout the device's
 * GEMM path reads (ocl/tuning.h): rows as given for CLBlast, or 32-column panels of wᵀ
 * ([ceil(N/32), K, 32], zero past N) for cl/gemm_packed.cl. */
typedef struct SgWeight {
    cl_mem mem;
    SgGemmPath layout;
    size_t n_out;   /* N */
    size_t n_in;    /* K */
    size_t bytes;
} SgWeight;

/* Uploads host w [N, K] in `layout` (usually dev->tuning.gemm). */
int sg_weight_upload(SgDevice *dev, const float *w, size_t N, size_t K, SgGemmPath layout,
                     SgWeight *out, SgError *err);
void sg_weight_release(SgDevice *dev, SgWeight *w);

/* Linear layer, y = act(x · wᵀ + b) (accumulate = 0) or y += x · wᵀ + b (accumulate = 1, for
 * residual connections; act must be NONE then). N and K come from w.
 *   x: [M, K] starting at x_off, row stride ldx (>= K)
 *   b: [N] or NULL
 *   y: [M, N] starting at y_off, row stride ldy (>= N) */
int sg_op_linear(SgDevice *dev, cl_mem x, size_t x_off, size_t ldx, const SgWeight *w, cl_mem b,
                 cl_mem y, size_t y_off, size_t ldy, size_t M, SgActivation act, int accumulate,
                 SgError *err);

/* LayerNorm over the last dimension: y[r] = (x[r] − mean) / sqrt(var + eps) · gamma + beta, with
 * the biased variance. x, y: [rows, cols]; may be the same buffer. */
int sg_op_layernorm(SgDevice *dev, cl_mem x, cl_mem y, cl_mem gamma, cl_mem beta, size_t rows,
                    size_t cols, float eps, SgError *err);

/* Multi-head scaled dot-product attention, softmax over keys, without writing the score matrix.
 *   q: [B, Tq, *]: head h of row (b, t) at q[q_off + (b·Tq + t)·ldq + h·dh .. + dh]
 *   k, v: [B, Tk, *] likewise with k_off / v_off and row stride ldkv
 *   mask: [B, Tk] int32, 1 = attend, 0 = masked out, or NULL for none. A row whose keys are all
 *         masked gets the uniform average (what HF's additive −inf-like mask gives).
 *   out: [B, Tq, H·dh] with row stride ldo (>= H·dh), starting at o_off
 *   scale: usually 1/sqrt(dh)
 * q_batch_stride = 0 broadcasts one set of queries (Tq rows) to every batch item (the vision
 * head's probe); otherwise it is Tq·ldq. */
int sg_op_attention(SgDevice *dev, cl_mem q, size_t q_off, size_t ldq, size_t q_batch_stride,
                    cl_mem k, size_t k_off, cl_mem v, size_t v_off, size_t ldkv, cl_mem mask,
                    cl_mem out, size_t o_off, size_t ldo, size_t B, size_t Tq, size_t Tk,
                    size_t H, size_t dh, float scale, SgError *err);

/* Text embeddings: out[b, t, :] = tok_emb[ids[b, t], :] + pos_emb[t, :].
 * ids: [B, T] int32 (already checked to be < V), tok_emb: [V, D], pos_emb: [>= T, D],
 * out: [B, T, D]. */
int sg_op_embed_tokens(SgDevice *dev, cl_mem ids, cl_mem tok_emb, cl_mem pos_emb, cl_mem out,
                       size_t B, size_t T, size_t D, SgError *err);

/* Patch extraction (im2col of a stride-p, kernel-p convolution): pixels [B, C, H, W] →
 * patches [B·(H/p)·(W/p), C·p·p], patches row-major over the image, each flattened in
 * (c, ky, kx) order so that patches · conv_weight[D, C·p·p]ᵀ is the convolution. */
int sg_op_im2col(SgDevice *dev, cl_mem pixels, cl_mem patches, size_t B, size_t C, size_t H,
                 size_t W, size_t p, SgError *err);

/* x[b, n, :] += v[n, :] for every b: x: [B, N, D], v: [N, D] (position embeddings). */
int sg_op_add_broadcast(SgDevice *dev, cl_mem x, cl_mem v, size_t B, size_t N, size_t D,
                        SgError *err);

/* out[b, :] = mean over n of x[b, n, :]: x: [B, N, D], out: [B, D]. */
int sg_op_mean_tokens(SgDevice *dev, cl_mem x, cl_mem out, size_t B, size_t N, size_t D,
                      SgError *err);

/* Copies rows: dst[r·ld_dst + c] = src[src_off + r·ld_src + c] for r < rows, c < cols. */
int sg_op_copy_rows(SgDevice *dev, cl_mem src, size_t src_off, size_t ld_src, cl_mem dst,
                    size_t dst_off, size_t ld_dst, size_t rows, size_t cols, SgError *err);

#endif /* SG_OCL_OPS_H */
