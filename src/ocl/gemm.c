/* gemm.c — Linear layers: weight upload in the device's layout, and sg_op_linear through either
 * CLBlast (then bias + activation in one kernel pass) or cl/gemm_packed.cl (all fused). */
#include <clblast_c.h>
#include <stdlib.h>

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

#define PANEL 32 /* output columns per weight panel; fixed by gemm_packed.cl's two float16s */

static size_t weight_floats(SgGemmPath layout, size_t N, size_t K)
{
    return layout == SG_GEMM_PANELS ? (N + PANEL - 1) / PANEL * K * PANEL : N * K;
}

int sg_weight_upload(SgDevice *dev, const float *w, size_t N, size_t K, SgGemmPath layout,
                     SgWeight *out, SgError *err)
{
    *out = (SgWeight){.layout = layout, .n_out = N, .n_in = K};
    size_t floats = weight_floats(layout, N, K);
    if (layout == SG_GEMM_CLBLAST) {
        out->bytes = floats * sizeof(float);
        return sg_buffer_upload(dev, out->bytes, w, &out->mem, err);
    }
    /* wp[panel][k][j] = w[panel·32 + j][k], zero past N: each k step of the kernel then reads
     * 32 consecutive floats. */
    float *wp = calloc(floats, sizeof *wp);
    if (!wp)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory packing a %zu×%zu weight", N, K);
    for (size_t n = 0; n < N; n++) {
        float *dst = wp + (n / PANEL) * K * PANEL + n % PANEL;
        const float *src = w + n * K;
        for (size_t k = 0; k < K; k++)
            dst[k * PANEL] = src[k];
    }
    out->bytes = floats * sizeof(float);
    int rc = sg_buffer_upload(dev, out->bytes, wp, &out->mem, err);
    free(wp);
    return rc;
}

void sg_weight_release(SgDevice *dev, SgWeight *w)
{
    if (w->mem)
        sg_buffer_release(dev, &w->mem, w->bytes);
    w->bytes = 0;
}

static int check_linear_args(cl_mem x, size_t x_off, size_t ldx, const SgWeight *w, cl_mem b,
                             cl_mem y, size_t y_off, size_t ldy, size_t M, SgActivation act,
                             int accumulate, SgError *err)
{
    static const char op[] = "linear";
    size_t N = w->n_out, K = w->n_in;
    if (K == 0 || ldx < K || ldy < N)
        return sg_fail(err, SIGLIP_EINVAL, "linear: bad shape (K=%zu, ldx=%zu, N=%zu, ldy=%zu)",
                       K, ldx, N, ldy);
    if (act != SG_ACT_NONE && act != SG_ACT_GELU_TANH && act != SG_ACT_GELU_ERF)
        return sg_fail(err, SIGLIP_EINVAL, "linear: unknown activation %d", (int)act);
    if (accumulate && act != SG_ACT_NONE)
        return sg_fail(err, SIGLIP_EINVAL, "linear: accumulate needs activation NONE");
    int rc = sg_check_buffer(x, sg_span(x_off, M, ldx, K), sizeof(float), op, "x", err);
    if (rc == SIGLIP_OK)
        rc = sg_check_buffer(w->mem, weight_floats(w->layout, N, K), sizeof(float), op, "w",
                             err);
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

static int linear_clblast(SgDevice *dev, cl_mem x, size_t x_off, size_t ldx, const SgWeight *w,
                          cl_mem b, cl_mem y, size_t y_off, size_t ldy, size_t M,
                          SgActivation act, int accumulate, SgError *err)
{
    size_t N = w->n_out, K = w->n_in;
    /* y = x · wᵀ: row-major with w [N, K] transposed; beta = 1 adds onto y for residuals. */
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                                       CLBlastTransposeYes, M, N, K, 1.0f, x, x_off, ldx, w->mem,
                                       0, K, accumulate ? 1.0f : 0.0f, y, y_off, ldy, &dev->queue,
                                       NULL);
    if (s != CLBlastSuccess)
        return clblast_fail(err, s, M, N, K);
    if (!b && act == SG_ACT_NONE)
        return SIGLIP_OK;
    return bias_act(dev, y, y_off, ldy, b, M, N, act, err);
}

static int linear_panels(SgDevice *dev, cl_mem x, size_t x_off, size_t ldx, const SgWeight *w,
                         cl_mem b, cl_mem y, size_t y_off, size_t ldy, size_t M,
                         SgActivation act, int accumulate, SgError *err)
{
    cl_int m = (cl_int)M, n = (cl_int)w->n_out, k = (cl_int)w->n_in;
    cl_int xo = (cl_int)x_off, lx = (cl_int)ldx, yo = (cl_int)y_off, ly = (cl_int)ldy;
    cl_int has_bias = b != NULL, activation = (cl_int)act, acc = accumulate;
    cl_mem bias = b ? b : w->mem; /* any valid buffer when there is no bias: never read */
    SgArg args[] = {SG_ARG(m),    SG_ARG(n),     SG_ARG(k),        SG_ARG(x),
                    SG_ARG(xo),   SG_ARG(lx),    SG_ARG(w->mem),   SG_ARG(bias),
                    SG_ARG(has_bias), SG_ARG(y), SG_ARG(yo),       SG_ARG(ly),
                    SG_ARG(activation), SG_ARG(acc)};
    size_t mr = (size_t)dev->tuning.gemm_mr;
    size_t global[2] = {(M + mr - 1) / mr, (w->n_out + PANEL - 1) / PANEL};
    size_t local[2] = {1, 1};
    return sg_launch(dev, SG_K_GEMM_PANELS, args, sizeof args / sizeof args[0], 2, global, local,
                     err);
}

int sg_op_linear(SgDevice *dev, cl_mem x, size_t x_off, size_t ldx, const SgWeight *w, cl_mem b,
                 cl_mem y, size_t y_off, size_t ldy, size_t M, SgActivation act, int accumulate,
                 SgError *err)
{
    if (M == 0 || w->n_out == 0)
        return SIGLIP_OK;
    int rc = check_linear_args(x, x_off, ldx, w, b, y, y_off, ldy, M, act, accumulate, err);
    if (rc != SIGLIP_OK)
        return rc;
    if (w->layout == SG_GEMM_PANELS)
        return linear_panels(dev, x, x_off, ldx, w, b, y, y_off, ldy, M, act, accumulate, err);
    return linear_clblast(dev, x, x_off, ldx, w, b, y, y_off, ldy, M, act, accumulate, err);
}
