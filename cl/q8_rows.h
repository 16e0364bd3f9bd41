/* q8_rows.h — activations rounded to 7 bits for q8's integer GEMM form (issue 28): the rule and
 * the row layout, shared by the ops that write them and cl/gemm_packed.cl, which reads them.
 *
 * Rule: per row and block of 32 inputs, amax = the largest magnitude, scale amax / 63, each value
 * × (63 / amax) (one division per block) clamped to [−63, 63] and rounded to nearest even, in
 * f32, so that a plain-C reference reproduces every value exactly (tests/ref_ops.c
 * ref_quantize_rows). fmax skips NaN as the weights' comparisons do; clamp maps a NaN value to
 * −63. Why 63 and not the weights' 127: the GEMM multiplies x with the weights offset to unsigned
 * bytes (w + 128 ≤ 255, cl/gemm_packed.cl sg_dot4), and AVX2's vpmaddubsw sums two such products
 * in int16: 2 · 255 · 63 = 32130 fits, 2 · 255 · 127 would saturate.
 *
 * Layout of a matrix of M rows × K inputs ("q8 rows"), K32 = K rounded up to a multiple of 32,
 * every row at row · ld bytes (ld = sg_q8_rows_ld(K) on the host, src/ocl/ops.h):
 *   bytes 0 .. K32−1              the rounded values q, int8 in [−63, 63] (0 past K)
 *   bytes K32 + 4b                int32: 128 · Σ q over block b (what the weights' offset adds)
 *   bytes K32 + 4·K32/32 + 4b     f32: block b's scale
 * ld is a multiple of 4, so every quad of inputs and every sum and scale is aligned.
 *
 * Besides LayerNorm (layernorm_q8) and the rounding pass (q8_quantize_rows), two producers write
 * q8 rows where the next GEMM reads them: gemm_packed's integer form as its epilogue (fc1 for
 * fc2) and attention_rows (for the output projection); the host (src/ocl/gemm.c) decides. */
#ifndef SG_CL_Q8_ROWS_H
#define SG_CL_Q8_ROWS_H

/* gemm_packed's `accumulate` argument that makes y q8 rows of act(x·wᵀ + b) (y_off, ldy in
 * bytes; the integer form only), for both sides. */
#define SG_CL_Y_Q8_ROWS 2

#ifdef __OPENCL_VERSION__
#include "sum8.h"

/* Row pointers of one row of q8 rows (K32 as above). */
#define SG_Q8_ROW_Q(row) ((__global const char *)(row))
#define SG_Q8_ROW_SUM(row, k32) ((__global const int *)((row) + (size_t)(k32)))
#define SG_Q8_ROW_S(row, k32) ((__global const float *)((row) + (size_t)(k32) + (size_t)(k32) / 8))

/* The 32 values of v rounded by the rule into q[0 .. 31] (4-byte aligned), 128 · their sum into
 * *sum, the block's scale into *s. On AVX2: vcvtps2dq (the default rounding: to nearest even),
 * two saturating packs and one vpermd to undo their lane interleaving, a 32-byte store; PoCL's
 * rint and char8 stores were 15 instructions per value. */
inline void sg_q8_round32(float8 v[4], __global char *q, __global int *sum, __global float *s)
{
    float8 m = fmax(fmax(fabs(v[0]), fabs(v[1])), fmax(fabs(v[2]), fabs(v[3])));
    float4 m4 = fmax(m.lo, m.hi);
    float2 m2 = fmax(m4.lo, m4.hi);
    const float amax = fmax(m2.x, m2.y);
    const float inv = amax > 0.0f ? 63.0f / amax : 0.0f;
    *s = amax / 63.0f;
#pragma unroll
    for (int k = 0; k < 4; k++) /* clamp before rounding: its bounds are whole */
        v[k] = clamp(v[k] * inv, -63.0f, 63.0f);
#if defined(__AVX2__)
    const int8 i0 = __builtin_ia32_cvtps2dq256(v[0]), i1 = __builtin_ia32_cvtps2dq256(v[1]);
    const int8 i2 = __builtin_ia32_cvtps2dq256(v[2]), i3 = __builtin_ia32_cvtps2dq256(v[3]);
    const short16 s01 = __builtin_ia32_packssdw256(i0, i1), s23 = __builtin_ia32_packssdw256(i2, i3);
    /* 4-byte groups now v0[0..3] v1[0..3] v2[0..3] v3[0..3] v0[4..7] v1[4..7] ... */
    const int8 g = __builtin_ia32_permvarsi256(
        __builtin_astype(__builtin_ia32_packsswb256(s01, s23), int8), (int8)(0, 4, 1, 5, 2, 6, 3, 7));
    vstore8(g, 0, (__global int *)q);
    const float8 r = convert_float8((i0 + i1) + (i2 + i3));
#else
    float8 r = (float8)(0.0f);
#pragma unroll
    for (int k = 0; k < 4; k++) {
        const float8 w = rint(v[k]);
        vstore8(convert_char8(w), k, q);
        r += w;
    }
#endif
    /* The sum (|Σ| ≤ 32·63: exact in f32) through sg_sum8, whose lane order oclgrind's checker
     * survives (an integer .lo/.hi halving crashed it). */
    *sum = 128 * (int)sg_sum8(r);
}

/* Block b of one row of q8 rows (row: its first byte; K32 as above) rounded from v: where the
 * layout puts its values, sum and scale. */
inline void sg_q8_store_block(float8 v[4], __global uchar *row, int k32, int b)
{
    sg_q8_round32(v, (__global char *)row + 32 * b, (__global int *)(row + k32) + b,
                  (__global float *)(row + k32 + k32 / 8) + b);
}

#endif /* __OPENCL_VERSION__ */

#endif /* SG_CL_Q8_ROWS_H */
