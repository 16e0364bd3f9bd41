/* fma.h — the kernels' multiply-add: fused where the device has a fused multiply-add instruction,
 * OpenCL's mad() where it has not; cl/embed_kernels.py inlines it. */
#ifndef SG_CL_FMA_H
#define SG_CL_FMA_H

/* SG_HAS_FMA: CL_FP_FMA in the device's CL_DEVICE_SINGLE_FP_CONFIG (SiglipDeviceInfo.has_fma),
 * passed by the host as -D. Without it OpenCL's fma() is still correctly rounded, i.e. a software
 * routine: on Mesa's llvmpipe (rusticl, which reports no CL_FP_FMA) an f32 GEMM ran 0.21 GFLOP/s
 * with fma() and 1.86 with mad() (bench/fma_cost.c, docs/devices.md). mad() lets the compiler
 * use whatever multiply-add the device has: its product may be rounded before the addition, a
 * difference far inside the tests' tolerances, which hold both forms to the same bounds.
 * (cl/sum8.h keeps fma(a, 1, b) for an exact addition: a few per row, not per k.) */
#ifndef SG_HAS_FMA
#define SG_HAS_FMA 1
#endif

#if SG_HAS_FMA
#define sg_fma(a, b, c) fma(a, b, c)
#else
#define sg_fma(a, b, c) mad(a, b, c)
#endif

#endif
