/* gemm_packed.cl — Linear layers for devices that run work-items as CPU threads: each work-item
 * computes an MR × 32 block of y = act(x·wᵀ + b) (or y += x·wᵀ + b) in vector registers, reading
 * weights packed at load time into 32-column panels so every k step is two contiguous float16s.
 *
 * Layouts (elements):
 *   x:  [M, K] with row stride ldx, starting at x_off
 *   wp: [ceil(N/32), K, 32] panels of wᵀ; columns past N are zero
 *   b:  [N] (or has_bias = 0)
 *   y:  [M, N] with row stride ldy, starting at y_off
 * Work: global size (ceil(M/MR), ceil(N/32)), local size (1, 1). Weights are packed on the host
 * when they are uploaded (sg_weight_upload in src/ocl/gemm.c). */

#ifndef MR
#define MR 8 /* rows of y per work-item: 2·MR float16 accumulators must fit the vector registers */
#endif

#define ACT_NONE 0
#define ACT_GELU_TANH 1
#define ACT_GELU_ERF 2

inline float gemm_activate(float v, int act)
{
    if (act == ACT_GELU_TANH)
        return 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    if (act == ACT_GELU_ERF)
        return 0.5f * v * (1.0f + erf(v * 0.7071067811865476f));
    return v;
}

inline float16 gemm_activate16(float16 v, int act)
{
    if (act == ACT_GELU_TANH)
        return 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    if (act == ACT_GELU_ERF)
        return 0.5f * v * (1.0f + erf(v * 0.7071067811865476f));
    return v;
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_packed(const int M, const int N, const int K,
                 __global const float *x, const int x_off, const int ldx,
                 __global const float16 *wp,
                 __global const float *b, const int has_bias,
                 __global float *y, const int y_off, const int ldy,
                 const int act, const int accumulate)
{
    const int m0 = get_global_id(0) * MR;
    const int panel = get_global_id(1);
    const int n0 = panel * 32;

    float16 acc_lo[MR], acc_hi[MR];
    __global const float *row[MR];
#pragma unroll
    for (int i = 0; i < MR; i++) {
        acc_lo[i] = (float16)(0.0f);
        acc_hi[i] = (float16)(0.0f);
        /* Rows past M re-read row M−1 (cheap, in cache) and are not stored. */
        row[i] = x + x_off + (size_t)min(m0 + i, M - 1) * ldx;
    }
    __global const float16 *w = wp + (size_t)panel * K * 2;
    for (int k = 0; k < K; k++) {
        const float16 w_lo = w[2 * k], w_hi = w[2 * k + 1];
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const float16 a = (float16)(row[i][k]);
            acc_lo[i] = fma(a, w_lo, acc_lo[i]);
            acc_hi[i] = fma(a, w_hi, acc_hi[i]);
        }
    }

    const int n_valid = min(32, N - n0);
    float16 bias_lo = (float16)(0.0f), bias_hi = (float16)(0.0f);
    if (has_bias && n_valid == 32) {
        bias_lo = vload16(0, b + n0);
        bias_hi = vload16(1, b + n0);
    }
#pragma unroll
    for (int i = 0; i < MR; i++) {
        if (m0 + i >= M)
            break;
        __global float *out = y + y_off + (size_t)(m0 + i) * ldy + n0;
        if (n_valid == 32) {
            /* Whole panel: the epilogue in vector form (tanh/erf vectorize only this way). */
            float16 lo = acc_lo[i] + bias_lo, hi = acc_hi[i] + bias_hi;
            if (accumulate) {
                lo += vload16(0, out);
                hi += vload16(1, out);
            } else {
                lo = gemm_activate16(lo, act);
                hi = gemm_activate16(hi, act);
            }
            vstore16(lo, 0, out);
            vstore16(hi, 1, out);
            continue;
        }
        float vals[32];
        vstore16(acc_lo[i], 0, vals);
        vstore16(acc_hi[i], 1, vals);
        for (int j = 0; j < n_valid; j++) {
            float v = vals[j] + (has_bias ? b[n0 + j] : 0.0f);
            out[j] = accumulate ? out[j] + v : gemm_activate(v, act);
        }
    }
}
