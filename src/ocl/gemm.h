/* gemm.h — inside sg_op_linear: one checked Linear problem, and the GEMM back ends that run it. */
#ifndef SG_OCL_GEMM_H
#define SG_OCL_GEMM_H

#include "ocl/ops.h"

/* y [M, N] (row stride ldy, from y_off) = act(x [M, K] (ldx, from x_off) · wᵀ + b), or += . */
typedef struct SgGemm {
    cl_mem x;
    size_t x_off, ldx;
    const SgWeight *w;
    cl_mem b; /* NULL: no bias */
    cl_mem y;
    size_t y_off, ldy;
    size_t M;
    SgActivation act;
    SgStore store;
} SgGemm;

/* CLBlast SGEMM, then sg_gemm_bias_act (gemm_clblast.c); without CLBlast in the build a clear
 * SIGLIP_ENOTSUP. */
int sg_gemm_clblast(SgDevice *dev, const SgGemm *g, SgError *err);

/* y = act(y + b) in place (cl/elementwise.cl bias_act). */
int sg_gemm_bias_act(SgDevice *dev, const SgGemm *g, SgError *err);

#endif /* SG_OCL_GEMM_H */
