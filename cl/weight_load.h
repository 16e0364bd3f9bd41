/* weight_load.h — how reduced-precision weights are widened to f32 (issue 14): one 8-wide group of
 * packed weights for cl/gemm_packed.cl, its type selected at build time by -DSG_WEIGHT=0 (f32),
 * 1 (bf16), 2 (f16) or 3 (q8), and one element of a gather table (the token embedding) for
 * cl/embedding.cl, its type an argument. The numbers are defined here once, for both sides:
 * SgElemType (src/ocl/tensor.h) is made of them and checks at compile time that SiglipPrecision
 * (include/siglip.h) numbers the same types alike. Every type is widened to f32 here, so the
 * kernels compute in f32 whatever the storage.
 *
 * A panel holds [K, NR] elements of wᵀ (NR: gemm_packed.cl's panel width; sg_weight_pack in
 * src/ocl/weight_pack.c); bf16 with NR a multiple of 16 in column pairs (sg_load_w8). q8 stores
 * the int8 panels of all ceil(N/NR) panels first, then the f32
 * scales: [ceil(N/NR), ceil(K/32), NR], the scale of output column j over inputs 32·b .. 32·b+31
 * of each panel. */
#ifndef SG_CL_WEIGHT_LOAD_H
#define SG_CL_WEIGHT_LOAD_H

#define SG_CL_WEIGHT_F32 0
#define SG_CL_WEIGHT_BF16 1
#define SG_CL_WEIGHT_F16 2
#define SG_CL_WEIGHT_Q8 3 /* int8 with an f32 scale per output column and block of 32 inputs */
#define SG_CL_WEIGHT_COUNT 4

#ifdef __OPENCL_VERSION__
#ifndef SG_WEIGHT
#define SG_WEIGHT 0
#endif

#if SG_WEIGHT == SG_CL_WEIGHT_F32
typedef float sg_welem;
#elif SG_WEIGHT == SG_CL_WEIGHT_BF16
typedef ushort sg_welem; /* the high half of an f32 */
#elif SG_WEIGHT == SG_CL_WEIGHT_F16
typedef half sg_welem; /* only loaded through vload_half: no cl_khr_fp16 needed */
#elif SG_WEIGHT == SG_CL_WEIGHT_Q8
typedef char sg_welem;
#else
#error "SG_WEIGHT must be 0..3"
#endif

#ifdef NR /* the GEMM's loads (gemm_packed.cl defines its panel width) */
/* 1 where bf16 panels are stored, and read, in column pairs (sg_load_w8). */
#define SG_W8_PAIRED (SG_WEIGHT == SG_CL_WEIGHT_BF16 && NR % 16 == 0)

/* Scales of panel `panel` (q8 only; NULL otherwise). wp is the start of the weight buffer. */
inline __global const float *sg_weight_scales(__global const sg_welem *wp, int N, int K,
                                              int panel)
{
#if SG_WEIGHT == SG_CL_WEIGHT_Q8
    const size_t panels = (size_t)(N + NR - 1) / NR;
    __global const float *s = (__global const float *)(wp + panels * (size_t)K * NR);
    return s + (size_t)panel * ((K + 31) / 32) * NR;
#else
    (void)wp; (void)N; (void)K; (void)panel;
    return 0;
#endif
}

/* Weights k, columns 8q .. 8q+7 of a panel starting at w, as f32; for q8 the int8 values
 * unscaled: the GEMM multiplies each block of 32 inputs' partial sums by that block's scales
 * (sg_load_scale8) instead of every weight. */
inline float8 sg_load_w8(__global const sg_welem *w, __global const float *s, int k, int q)
{
    const size_t at = (size_t)k * NR + (size_t)q * 8;
#if SG_WEIGHT == SG_CL_WEIGHT_F32
    (void)s;
    return ((__global const float8 *)w)[at / 8];
#elif SG_W8_PAIRED
    /* Column pairs: in each group of 16 columns, uint c holds column c in its low half and
     * column c + 8 in its high half (sg_weight_pack's bf16 layout where NR % 16 == 0; a
     * little-endian device). Columns 16·(q/2) .. +7 are the low halves shifted up, the next 8
     * the high halves with the low bits cleared: one 32-byte load and one integer op per 8
     * weights, where widening 8 plain bf16s is a zero-extending load and a shift (AVX2:
     * vpmovzxwd + vpslld; bf16 GEMMs ran 10–20% slower than f32 so, docs/performance.md). */
    (void)s;
    (void)at;
    const uint8 u = vload8(0, (__global const uint *)(w + (size_t)k * NR + (size_t)(q / 2) * 16));
    return as_float8((q & 1) ? u & (uint8)(0xffff0000u) : u << 16);
#elif SG_WEIGHT == SG_CL_WEIGHT_BF16
    (void)s;
    return as_float8(convert_uint8(vload8(0, w + at)) << 16);
#elif SG_WEIGHT == SG_CL_WEIGHT_F16
    (void)s;
    return vload_half8(0, w + at);
#else
    (void)s;
    return convert_float8(vload8(0, w + at));
#endif
}

/* q8: the scales of columns 8q .. 8q+7 for inputs 32·kb .. 32·kb+31. */
inline float8 sg_load_scale8(__global const float *s, int kb, int q)
{
    return vload8(0, s + (size_t)kb * NR + q * 8);
}
#endif /* NR */

/* Element (r, c) of a gather table [rows, cols] of type `type` (SgElemType), as f32. The layout is
 * sg_table_pack's (src/ocl/weight_pack.c): row-major elements; q8 then, from the first 4-byte
 * boundary after them, f32 scales [rows, ceil(cols/32)] over 32 consecutive elements of a row.
 * Each case widens as sg_load_w8 does, one element at a time. */
inline float sg_table_load(__global const uchar *t, int type, uint rows, uint cols, uint r, uint c)
{
    const size_t i = (size_t)r * cols + c;
    if (type == SG_CL_WEIGHT_BF16)
        return as_float((uint)((__global const ushort *)t)[i] << 16);
    if (type == SG_CL_WEIGHT_F16)
        return vload_half(i, (__global const half *)t);
    if (type == SG_CL_WEIGHT_Q8) {
        const size_t at = ((size_t)rows * cols + 3) / 4 * 4;
        __global const float *s = (__global const float *)(t + at);
        return convert_float(((__global const char *)t)[i]) * s[(size_t)r * ((cols + 31) / 32) + c / 32];
    }
    return ((__global const float *)t)[i];
}
#endif /* __OPENCL_VERSION__ */

#endif /* SG_CL_WEIGHT_LOAD_H */
