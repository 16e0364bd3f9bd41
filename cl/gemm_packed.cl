/* gemm_packed.cl — Linear layers for devices that run work-items as CPU threads: each work-item
 * computes an MR × NR block of y = act(x·wᵀ + b) (or y = act(y + x·wᵀ + b)) in vector
 * registers, reading weights packed at load time into NR-column panels so every k step is NR
 * contiguous floats.
 *
 * Layouts (elements):
 *   x:  [M, K] with row stride ldx, starting at x_off
 *   wp: [ceil(N/NR), K, NR] panels of wᵀ; columns past N are zero; element type by -DSG_WEIGHT
 *       (cl/weight_load.h: f32, bf16, f16, or int8 followed by its scales)
 *   b:  [N] (or has_bias = 0)
 *   y:  [M, N] with row stride ldy, starting at y_off
 * Work: global size (ceil(M/(MR·MB)), ceil(N/NR)), local size (1, 1). Weights are packed on the host
 * when they are uploaded (sg_weight_upload in src/ocl/gemm.c) with the same NR.
 * One launch sums inputs k0 .. k1−1 (k0 a multiple of 32) of the K the panels hold: the host
 * splits K over several launches (the first stores, the others accumulate, the last applies
 * the activation) where the device cuts long loops short (a loop budget, src/ocl/probe.c).
 * Walk order: a CPU device hands out work-items in order of their linear id (dimension 0
 * fastest), so by default consecutive work-items share a weight panel and stream all of x; when x
 * outgrows the cache (batch 32: 77 MB of MLP activations) each panel streams it from memory
 * again. With mc > 0 (an argument: the host decides from the size of x) the linear ids are
 * renumbered: mc row blocks × every panel, chunk after chunk, so a chunk's rows of x stay in
 * cache while the weights stream past them.
 *
 * Tunables (-D, chosen per device by src/ocl/tuning.c or `siglip tune`): a block keeps
 * MR·NR/8 float8 accumulators, NR/8 weight vectors and one broadcast live, which must fit the
 * vector registers (16 ymm on AVX2: 4×24, 6×16; 32 zmm-halves on AVX-512: 8×32). */

#ifndef MR
#define MR 8 /* rows of y per work-item */
#endif
#ifndef NR
#define NR 32 /* columns of y per work-item = panel width; a multiple of 8 */
#endif
#ifndef KU
#define KU 1 /* k steps unrolled */
#endif
#ifndef MB
#define MB 1 /* blocks of MR rows per work-item */
#endif
#define NV (NR / 8) /* float8 vectors per panel row */

#include "activation.h"
SG_DEFINE_ACTIVATE(float8)
#include "weight_load.h"

/* One k step of the block: acc[i][·] += x[row i][k] · (panel row k). The panel is read as
 * float8s (sg_load_w8, widened from its storage type): vectors wider than 256 bits make PoCL's
 * builtins warn about the AVX ABI. */
inline void sg_fma_step(float8 acc[MR][NV], __global const float *row[MR],
                        __global const sg_welem *w, __global const float *ws, int k)
{
    float8 wv[NV];
#pragma unroll
    for (int q = 0; q < NV; q++)
        wv[q] = sg_load_w8(w, ws, k, q);
#pragma unroll
    for (int i = 0; i < MR; i++) {
        const float8 a = (float8)(row[i][k]);
#pragma unroll
        for (int q = 0; q < NV; q++)
            acc[i][q] = fma(a, wv[q], acc[i][q]);
    }
}

/* Work-items per work-group, along the row blocks: each still computes its own blocks alone
 * (no local memory, no barrier); a device that runs a group's work-items as the lanes of its
 * vectors (llvmpipe, GPUs) needs several to fill them. Work-items past the last row block
 * store nothing. */
#ifndef SG_GEMM_WG
#define SG_GEMM_WG 1
#endif
__kernel __attribute__((reqd_work_group_size(SG_GEMM_WG, 1, 1)))
void gemm_packed(const int M, const int N, const int K,
                 __global const float *x, const int x_off, const int ldx,
                 __global const sg_welem *wp,
                 __global const float *b, const int has_bias,
                 __global float *y, const int y_off, const int ldy,
                 const int act, const int accumulate, const int mc, const int k0, const int k1)
{
    int row_block = get_global_id(0), panel = get_global_id(1);
    if (mc > 0) {
        const int RB = get_global_size(0), P = get_global_size(1);
        const int l = panel * RB + row_block;
        const int chunk = l / (mc * P), r = l - chunk * mc * P;
        const int rows_here = min(mc, RB - chunk * mc);
        panel = r / rows_here;
        row_block = chunk * mc + (r - panel * rows_here);
    }
    const int n0 = panel * NR;
    /* MB blocks of rows one after another against the same panel, which stays in cache; fewer,
     * longer work-items also spend less of the time in the driver's scheduling. */
    for (int mb = 0; mb < MB; mb++) {
        const int m0 = (row_block * MB + mb) * MR;
        if (m0 >= M)
            break;

        float8 acc[MR][NV];
        __global const float *row[MR];
#pragma unroll
        for (int i = 0; i < MR; i++) {
#pragma unroll
            for (int q = 0; q < NV; q++)
                acc[i][q] = (float8)(0.0f);
            /* Rows past M re-read row M−1 (cheap, in cache) and are not stored. */
            row[i] = x + x_off + (size_t)min(m0 + i, M - 1) * ldx;
        }
        __global const sg_welem *w = wp + (size_t)panel * K * NR;
        __global const float *ws = sg_weight_scales(wp, N, K, panel);
#if SG_WEIGHT == SG_CL_WEIGHT_Q8
        /* q8: each block of 32 inputs summed with the raw int8 weights, then scaled once per
         * block (one multiply per 32 FMAs instead of one per weight). */
        for (int kb = k0 / 32; kb * 32 < k1; kb++) {
            float8 part[MR][NV];
#pragma unroll
            for (int i = 0; i < MR; i++)
#pragma unroll
                for (int q = 0; q < NV; q++)
                    part[i][q] = (float8)(0.0f);
            const int k_end = min(kb * 32 + 32, k1);
            for (int k = kb * 32; k < k_end; k++)
                sg_fma_step(part, row, w, ws, k);
#pragma unroll
            for (int q = 0; q < NV; q++) {
                const float8 sc = sg_load_scale8(ws, kb, q);
#pragma unroll
                for (int i = 0; i < MR; i++)
                    acc[i][q] = fma(part[i][q], sc, acc[i][q]);
            }
        }
#else
        /* KU k steps per trip (unrolled by hand: K is not known at compile time), then the rest. */
        int k = k0;
        for (; k + KU <= k1; k += KU) {
#pragma unroll
            for (int u = 0; u < KU; u++)
                sg_fma_step(acc, row, w, ws, k + u);
        }
        for (; k < k1; k++)
            sg_fma_step(acc, row, w, ws, k);
#endif

        const int n_valid = min(NR, N - n0);
        float8 bias[NV];
#pragma unroll
        for (int q = 0; q < NV; q++)
            bias[q] = has_bias && n_valid == NR ? vload8(q, b + n0) : (float8)(0.0f);
#pragma unroll
        for (int i = 0; i < MR; i++) {
            if (m0 + i >= M)
                break;
            __global float *out = y + y_off + (size_t)(m0 + i) * ldy + n0;
            if (n_valid == NR) {
                /* Whole panel: the epilogue in vector form. */
                for (int q = 0; q < NV; q++) {
                    float8 v = acc[i][q] + bias[q];
                    v = sg_activate_float8(accumulate ? v + vload8(q, out) : v, act);
                    vstore8(v, q, out);
                }
                continue;
            }
            float vals[NR];
            for (int q = 0; q < NV; q++)
                vstore8(acc[i][q], q, vals);
            for (int j = 0; j < n_valid; j++) {
                float v = vals[j] + (has_bias ? b[n0 + j] : 0.0f);
                out[j] = sg_activate_float(accumulate ? out[j] + v : v, act);
            }
        }
    }
}
