/* sum8.h — the sum of a float8's 8 lanes, in one fixed order, for the kernels that reduce a
 * vector accumulator (layernorm.cl, attention.cl); cl/embed_kernels.py inlines it. */
#ifndef SG_CL_SUM8_H
#define SG_CL_SUM8_H

/* ((v0 + v4) + (v1 + v5)) + ((v2 + v6) + (v3 + v7)). The three scalar additions are written as
 * fma(a, 1, b), which is a + b exactly (a·1 is exact and fma rounds once), so every device gives
 * the bits it gave as plain additions (PoCL's compiler folds them back to fadd). The reason is a
 * checker: as additions of lanes of one vector, LLVM's vector combining turns them into partial
 * shuffles (undefined mask lanes), and oclgrind 21.10's uninitialized-value plugin crashes on
 * every such shuffle (tests/oclgrind_defects.c, case "shuffle"). This stays fma() on a device
 * without a fused multiply-add too (cl/fma.h; oclgrind is one): there it is a software routine,
 * but it runs a few times per row, not in a loop over K. */
inline float sg_sum8(float8 v)
{
    const float4 s = v.lo + v.hi;
    return fma(fma(s.x, 1.0f, s.y), 1.0f, fma(s.z, 1.0f, s.w));
}

#endif
