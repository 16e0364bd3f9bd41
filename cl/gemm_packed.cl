/* gemm_packed.cl — Linear layers for devices that run work-items as CPU threads: each work-item
 * computes an MR × 32 block of y = act(x·wᵀ + b) (or y += x·wᵀ + b) in vector registers, reading
 * weights packed at load time into 32-column panels so every k step is 32 contiguous floats.
 *
 * Layouts (elements):
 *   x:  [M, K] with row stride ldx, starting at x_off
 *   wp: [ceil(N/32), K, 32] panels of wᵀ; columns past N are zero; element type by -DSG_WEIGHT
 *       (cl/weight_load.h: f32, bf16, f16, or int8 followed by its scales)
 *   b:  [N] (or has_bias = 0)
 *   y:  [M, N] with row stride ldy, starting at y_off
 * Work: global size (ceil(M/MR), ceil(N/32)), local size (1, 1). Weights are packed on the host
 * when they are uploaded (sg_weight_upload in src/ocl/gemm.c). */

#ifndef MR
#define MR 8 /* rows of y per work-item: 4·MR float8 accumulators must fit the vector registers */
#endif

#include "activation.h"
SG_DEFINE_ACTIVATE(float8)
#include "weight_load.h"

/* A k step reads 32 weights as four float8 (vectors wider than 256 bits make PoCL's builtins warn
 * about the AVX ABI); every row keeps four float8 accumulators. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void gemm_packed(const int M, const int N, const int K,
                 __global const float *x, const int x_off, const int ldx,
                 __global const sg_welem *wp,
                 __global const float *b, const int has_bias,
                 __global float *y, const int y_off, const int ldy,
                 const int act, const int accumulate)
{
    const int m0 = get_global_id(0) * MR;
    const int panel = get_global_id(1);
    const int n0 = panel * 32;

    float8 acc[MR][4];
    __global const float *row[MR];
#pragma unroll
    for (int i = 0; i < MR; i++) {
#pragma unroll
        for (int q = 0; q < 4; q++)
            acc[i][q] = (float8)(0.0f);
        /* Rows past M re-read row M−1 (cheap, in cache) and are not stored. */
        row[i] = x + x_off + (size_t)min(m0 + i, M - 1) * ldx;
    }
    __global const sg_welem *w = wp + (size_t)panel * K * 32;
    __global const float *ws = sg_weight_scales(wp, N, K, panel);
    for (int k = 0; k < K; k++) {
        const float8 w0 = sg_load_w8(w, ws, k, 0), w1 = sg_load_w8(w, ws, k, 1),
                     w2 = sg_load_w8(w, ws, k, 2), w3 = sg_load_w8(w, ws, k, 3);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            const float8 a = (float8)(row[i][k]);
            acc[i][0] = fma(a, w0, acc[i][0]);
            acc[i][1] = fma(a, w1, acc[i][1]);
            acc[i][2] = fma(a, w2, acc[i][2]);
            acc[i][3] = fma(a, w3, acc[i][3]);
        }
    }

    const int n_valid = min(32, N - n0);
    float8 bias[4] = {(float8)(0.0f), (float8)(0.0f), (float8)(0.0f), (float8)(0.0f)};
    if (has_bias && n_valid == 32)
        for (int q = 0; q < 4; q++)
            bias[q] = vload8(q, b + n0);
#pragma unroll
    for (int i = 0; i < MR; i++) {
        if (m0 + i >= M)
            break;
        __global float *out = y + y_off + (size_t)(m0 + i) * ldy + n0;
        if (n_valid == 32) {
            /* Whole panel: the epilogue in vector form. */
            for (int q = 0; q < 4; q++) {
                float8 v = acc[i][q] + bias[q];
                v = accumulate ? v + vload8(q, out) : sg_activate_float8(v, act);
                vstore8(v, q, out);
            }
            continue;
        }
        float vals[32];
        for (int q = 0; q < 4; q++)
            vstore8(acc[i][q], q, vals);
        for (int j = 0; j < n_valid; j++) {
            float v = vals[j] + (has_bias ? b[n0 + j] : 0.0f);
            out[j] = accumulate ? out[j] + v : sg_activate_float(v, act);
        }
    }
}
