/* gemm_clblast.c — the CLBlast path of sg_op_linear: SGEMM on weights in checkpoint layout, then
 * bias + activation in one kernel pass. Built only when CLBlast is found (meson option clblast). */
#include <clblast_c.h>

#include "ocl/gemm.h"

static const char *clblast_status_name(CLBlastStatusCode s)
{
    switch (s) {
#define SG_CB_CASE(c) case c: return #c;
    SG_CB_CASE(CLBlastSuccess)
    SG_CB_CASE(CLBlastOpenCLCompilerNotAvailable)
    SG_CB_CASE(CLBlastTempBufferAllocFailure)
    SG_CB_CASE(CLBlastOpenCLOutOfResources)
    SG_CB_CASE(CLBlastOpenCLOutOfHostMemory)
    SG_CB_CASE(CLBlastOpenCLBuildProgramFailure)
    SG_CB_CASE(CLBlastInvalidValue)
    SG_CB_CASE(CLBlastInvalidCommandQueue)
    SG_CB_CASE(CLBlastInvalidMemObject)
    SG_CB_CASE(CLBlastInvalidBinary)
    SG_CB_CASE(CLBlastInvalidBuildOptions)
    SG_CB_CASE(CLBlastInvalidProgram)
    SG_CB_CASE(CLBlastInvalidProgramExecutable)
    SG_CB_CASE(CLBlastInvalidKernelName)
    SG_CB_CASE(CLBlastInvalidKernelDefinition)
    SG_CB_CASE(CLBlastInvalidKernel)
    SG_CB_CASE(CLBlastInvalidArgIndex)
    SG_CB_CASE(CLBlastInvalidArgValue)
    SG_CB_CASE(CLBlastInvalidArgSize)
    SG_CB_CASE(CLBlastInvalidKernelArgs)
    SG_CB_CASE(CLBlastInvalidLocalNumDimensions)
    SG_CB_CASE(CLBlastInvalidLocalThreadsTotal)
    SG_CB_CASE(CLBlastInvalidLocalThreadsDim)
    SG_CB_CASE(CLBlastInvalidGlobalOffset)
    SG_CB_CASE(CLBlastInvalidEventWaitList)
    SG_CB_CASE(CLBlastInvalidEvent)
    SG_CB_CASE(CLBlastInvalidOperation)
    SG_CB_CASE(CLBlastInvalidBufferSize)
    SG_CB_CASE(CLBlastInvalidGlobalWorkSize)
    SG_CB_CASE(CLBlastNotImplemented)
    SG_CB_CASE(CLBlastInvalidMatrixA)
    SG_CB_CASE(CLBlastInvalidMatrixB)
    SG_CB_CASE(CLBlastInvalidMatrixC)
    SG_CB_CASE(CLBlastInvalidDimension)
    SG_CB_CASE(CLBlastInvalidLeadDimA)
    SG_CB_CASE(CLBlastInvalidLeadDimB)
    SG_CB_CASE(CLBlastInvalidLeadDimC)
    SG_CB_CASE(CLBlastInsufficientMemoryA)
    SG_CB_CASE(CLBlastInsufficientMemoryB)
    SG_CB_CASE(CLBlastInsufficientMemoryC)
    SG_CB_CASE(CLBlastInsufficientMemoryTemp)
    SG_CB_CASE(CLBlastInvalidOverrideKernel)
    SG_CB_CASE(CLBlastMissingOverrideParameter)
    SG_CB_CASE(CLBlastInvalidLocalMemUsage)
    SG_CB_CASE(CLBlastDatabaseError)
    SG_CB_CASE(CLBlastUnknownError)
    SG_CB_CASE(CLBlastUnexpectedError)
#undef SG_CB_CASE
    default: return "unrecognised CLBlast status";
    }
}

static int clblast_fail(SgError *err, CLBlastStatusCode s, size_t M, size_t N, size_t K)
{
    int code = s == CLBlastTempBufferAllocFailure || s == CLBlastOpenCLOutOfResources ||
                       s == CLBlastOpenCLOutOfHostMemory
                   ? SIGLIP_ENOMEM
                   : SIGLIP_EDEVICE;
    return sg_fail(err, code, "CLBlast SGEMM (M=%zu, N=%zu, K=%zu) failed: %s (%d)", M, N, K,
                   clblast_status_name(s), (int)s);
}

int sg_gemm_clblast(SgDevice *dev, const SgGemm *g, SgError *err)
{
    size_t M = g->M, N = g->w->n_out, K = g->w->n_in;
    /* y = x · wᵀ: row-major with w [N, K] transposed; beta = 1 adds onto y for residuals. */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, M, N, K, 1.0f, g->x, g->x_off, g->ldx,
                                       g->w->buf.mem, 0, K,
                                       g->store == SG_ACCUMULATE ? 1.0f : 0.0f, g->y, g->y_off,
                                       g->ldy, &dev->queue, NULL);
    if (s != CLBlastSuccess)
        return clblast_fail(err, s, M, N, K);
    if (!g->b && g->act == SG_ACT_NONE)
        return SIGLIP_OK;
    return sg_gemm_bias_act(dev, g, err);
}
