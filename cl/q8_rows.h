/* q8_rows.h — activations rounded to 8 bits for q8's integer GEMM form (issue 28): the rule and
 * the row layout, shared by the ops that write them and cl/gemm_packed.cl, which reads them.
 *
 * Rule (the rule of the weights, src/ocl/weight_pack.c): per row and block of 32 inputs, amax =
 * the largest magnitude, scale amax / 127, each value × (127 / amax) (one division per block)
 * clamped to [−127, 127] and rounded to nearest even, in f32, so that a plain-C reference
 * reproduces every value exactly (tests/ref_ops.c ref_quantize_rows). fmax skips NaN as the
 * weights' comparisons do; clamp maps a NaN value to −127.
 *
 * Layout of a matrix of M rows × K inputs ("q8 rows"), K32 = K rounded up to a multiple of 32,
 * every row at row · ld bytes (ld = sg_q8_rows_ld(K) on the host, src/ocl/gemm.h):
 *   bytes 0 .. K32−1       the rounded values q, int8 in [−127, 127] (0 past K)
 *   bytes K32 .. 2·K32−1   their magnitudes |q| (the unsigned operand of vpmaddubsw)
 *   bytes 2·K32 ..         K32 / 32 f32 scales, block b's at 2·K32 + 4b
 * ld is a multiple of 4, so every quad of inputs and every scale is aligned. */
#ifndef SG_CL_Q8_ROWS_H
#define SG_CL_Q8_ROWS_H

/* Row pointers of one row of q8 rows (K32 as above). */
#define SG_Q8_ROW_Q(row) ((__global const char *)(row))
#define SG_Q8_ROW_U(row, k32) ((__global const char *)(row) + (k32))
#define SG_Q8_ROW_S(row, k32) ((__global const float *)((row) + 2 * (size_t)(k32)))

/* The 32 values of v rounded by the rule into q[0 .. 31], their magnitudes into u, the block's
 * scale into *s (q and u 4-byte aligned). On AVX2: vcvtps2dq (the
 * default rounding: to nearest even), two saturating packs and one vpermd to undo their lane
 * interleaving, 32-byte stores; PoCL's rint and char8 stores were 15 instructions per value. */
inline void sg_q8_round32(float8 v[4], __global char *q, __global char *u, __global float *s)
{
    float8 m = fmax(fmax(fabs(v[0]), fabs(v[1])), fmax(fabs(v[2]), fabs(v[3])));
    float4 m4 = fmax(m.lo, m.hi);
    float2 m2 = fmax(m4.lo, m4.hi);
    const float amax = fmax(m2.x, m2.y);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    *s = amax / 127.0f;
#pragma unroll
    for (int k = 0; k < 4; k++) /* clamp before rounding: its bounds are whole */
        v[k] = clamp(v[k] * inv, -127.0f, 127.0f);
#if defined(__AVX2__)
    const short16 s01 = __builtin_ia32_packssdw256(__builtin_ia32_cvtps2dq256(v[0]),
                                                   __builtin_ia32_cvtps2dq256(v[1]));
    const short16 s23 = __builtin_ia32_packssdw256(__builtin_ia32_cvtps2dq256(v[2]),
                                                   __builtin_ia32_cvtps2dq256(v[3]));
    /* 4-byte groups now v0[0..3] v1[0..3] v2[0..3] v3[0..3] v0[4..7] v1[4..7] ... */
    const int8 g = __builtin_ia32_permvarsi256(
        __builtin_astype(__builtin_ia32_packsswb256(s01, s23), int8), (int8)(0, 4, 1, 5, 2, 6, 3, 7));
    typedef char sg_char32 __attribute__((ext_vector_type(32)));
    const sg_char32 c = __builtin_astype(g, sg_char32);
    vstore8(g, 0, (__global int *)q);
    vstore8(__builtin_astype(__builtin_ia32_psignb256(c, c), int8), 0, (__global int *)u);
#else
#pragma unroll
    for (int k = 0; k < 4; k++) {
        const char8 c = convert_char8(rint(v[k]));
        vstore8(c, k, q);
        vstore8(abs(c), k, (__global uchar *)u);
    }
#endif
}

#endif /* SG_CL_Q8_ROWS_H */
