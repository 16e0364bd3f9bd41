/* ref_ops.h — plain-C references of the device ops of src/ocl/ops.h, accumulating in double: the
 * one reference op set of the tests (test_ops checks each op, test_model_shapes whole forwards).
 * Pointers are already offset to the first element; strides count elements. */
#ifndef SG_TESTS_REF_OPS_H
#define SG_TESTS_REF_OPS_H

#include <stddef.h>
#include <stdint.h>

/* act: an SgActivation (common/activation.h); the one GELU of the tests, in double. */
double ref_activation(double x, int act);

/* y = act(x · wᵀ + b) or, with accumulate, y += x · wᵀ + b. x: [M, K] (ldx), w: [N, K], b: [N]
 * or NULL, y: [M, N] (ldy). */
void ref_linear(const float *x, size_t ldx, const float *w, const float *b, float *y, size_t ldy,
                size_t M, size_t N, size_t K, int act, int accumulate);

/* x [M, K] (row stride ldx) replaced, in place, by the values q8's integer GEMM multiplies
 * (cl/q8_rows.h, issue 28): per row and block of 32 inputs, amax = the largest magnitude, each
 * value x·(63/amax) rounded to nearest even (f32 arithmetic, 7 bits), times amax/63. */
void ref_quantize_rows(float *x, size_t ldx, size_t M, size_t K);

/* LayerNorm of each row of x: [rows, cols] into y (biased variance). */
void ref_layernorm(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                   size_t cols, float eps);

/* Softmax attention as HF's eager path computes it: scores·scale plus an additive bias of
 * float32's lowest value on masked keys, softmax, ·V. q row (b, t) at q + b·q_batch_stride +
 * t·ldq, k/v row (b, j) at (b·Tk + j)·ldkv, out row (b, t) at (b·Tq + t)·ldo; head h at h·dh.
 * mask: [B, Tk] or NULL. */
void ref_attention(const float *q, size_t ldq, size_t q_batch_stride, const float *k,
                   const float *v, size_t ldkv, const int32_t *mask, float *out, size_t ldo,
                   size_t B, size_t Tq, size_t Tk, size_t H, size_t dh, float scale);

/* out[b, t] = tok[ids[b, t]] + pos[t]: out [B, T, D]. */
void ref_embed_tokens(const int32_t *ids, const float *tok, const float *pos, float *out,
                      size_t B, size_t T, size_t D);

/* out[r] = tok[ids[r]] + pos[positions[r]]: out [R, D] (packed texts). */
void ref_embed_tokens_at(const int32_t *ids, const int32_t *positions, const float *tok,
                         const float *pos, float *out, size_t R, size_t D);

/* A stride-p, kernel-p convolution's patches: pixels [B, C, H, W] → [B·(H/p)·(W/p), C·p·p]. */
void ref_im2col(const float *pixels, float *patches, size_t B, size_t C, size_t H, size_t W,
                size_t p);

/* x[b] += v for x: [B, N·D], v: [N·D]. */
void ref_add_broadcast(float *x, const float *v, size_t B, size_t N, size_t D);

/* out[b] = mean over n of x[b, n]: x [B, N, D], out [B, D]. */
/* out[b] = mean of x[b, n] over the n with keep[b, n] != 0 (all n when keep is NULL). */
void ref_mean_tokens(const float *x, const int32_t *keep, float *out, size_t B, size_t N,
                     size_t D);

/* dst[r·ld_dst + c] = src[r·ld_src + c]. */
void ref_copy_rows(const float *src, size_t ld_src, float *dst, size_t ld_dst, size_t rows,
                   size_t cols);

#endif /* SG_TESTS_REF_OPS_H */
