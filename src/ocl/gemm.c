/* gemm.c — sg_op_linear: the GEMM through CLBlast, then bias + activation in one kernel pass. */
#include <clblast_c.h>

#include "ocl/kernels.h"
#include "ocl/ops.h"

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

static int check_linear_args(cl_mem x, size_t x_off, size_t ldx, cl_mem w, cl_mem b, cl_mem y,
                             size_t y_off, size_t ldy, size_t M, size_t N, size_t K,
                             SgActivation act, int accumulate, SgError *err)
{
    static const char op[] = "linear";
    if (K == 0 || ldx < K || ldy < N)
        return sg_fail(err, SIGLIP_EINVAL, "linear: bad shape (K=%zu, ldx=%zu, N=%zu, ldy=%zu)",
                       K, ldx, N, ldy);
    if (act != SG_ACT_NONE && act != SG_ACT_GELU_TANH && act != SG_ACT_GELU_ERF)
        return sg_fail(err, SIGLIP_EINVAL, "linear: unknown activation %d", (int)act);
    if (accumulate && act != SG_ACT_NONE)
        return sg_fail(err, SIGLIP_EINVAL, "linear: accumulate needs activation NONE");
    int rc = sg_check_buffer(x, sg_span(x_off, M, ldx, K), sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(w, N * K, sizeof(float), op, "w", err);
    if (rc == SIGLIP_OK && b)
        rc = sg_check_buffer(b, N, sizeof(float), op, "b", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(y, sg_span(y_off, M, ldy, N), sizeof(float), op, "y", err);
    return rc;
}

static int bias_act(SgDevice *dev, cl_mem y, size_t y_off, size_t ldy, cl_mem b, size_t M,
                    size_t N, SgActivation act, SgError *err)
{
    cl_uint off = (cl_uint)y_off, ld = (cl_uint)ldy, n = (cl_uint)N, m = (cl_uint)M;
    cl_int has_bias = b != NULL, activation = (cl_int)act;
    SgArg args[] = {SG_ARG(y), SG_ARG(off), SG_ARG(ld), SG_ARG(b), SG_ARG(has_bias),
                    SG_ARG(n), SG_ARG(m), SG_ARG(activation)};
    size_t global[2] = {N, M};
    return sg_launch(dev, SG_K_BIAS_ACT, args, sizeof args / sizeof args[0], 2, global, NULL,
                     err);
}

int sg_op_linear(SgDevice *dev, cl_mem x, size_t x_off, size_t ldx, cl_mem w, cl_mem b, cl_mem y,
                 size_t y_off, size_t ldy, size_t M, size_t N, size_t K, SgActivation act,
                 int accumulate, SgError *err)
{
    if (M == 0 || N == 0)
        return SIGLIP_OK;
    int rc = check_linear_args(x, x_off, ldx, w, b, y, y_off, ldy, M, N, K, act, accumulate, err);
    if (rc != SIGLIP_OK)
        return rc;
    /* y = x · wᵀ: row-major with w [N, K] transposed; beta = 1 adds onto y for residuals. */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, M, N, K, 1.0f, x, x_off, ldx, w, 0, K,
                                       accumulate ? 1.0f : 0.0f, y, y_off, ldy, &dev->queue, NULL);
    if (s != CLBlastSuccess)
        return clblast_fail(err, s, M, N, K);
    if (!b && act == SG_ACT_NONE)
        return SIGLIP_OK;
    return bias_act(dev, y, y_off, ldy, b, M, N, act, err);
}
