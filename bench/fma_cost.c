/* fma_cost.c — what OpenCL's fma() costs next to mad() on every device, with plain OpenCL calls
 * (no libsiglip): the measurement behind cl/fma.h's choice (SiglipDeviceInfo.has_fma).
 *
 * One 200×768×768 f32 matrix product, y = x·w, each work-item an 8×8 block of y in eight float8
 * accumulators, 8 work-items per group; the same kernel built with -DMULADD=fma and -DMULADD=mad,
 * each run once untimed and 3 times timed (enqueue to clFinish), GFLOP/s = 2·M·N·K / time. Also
 * prints the device's CL_FP_FMA bit and the largest difference of each form from a double-precision
 * product of sampled elements.
 *
 * Usage: fma_cost (then every device of every platform; RUSTICL_ENABLE=llvmpipe lists rusticl's). */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { M = 200, N = 768, K = 768, WG = 8, ITERS = 3 };

static const char kernel_src[] =
    "#define STEP(a, s) a = MULADD((float8)(s), wv, a)\n"
    "__kernel void block8x8(__global const float *x, __global const float *w,\n"
    "                       __global float *y, const int N, const int K)\n"
    "{\n"
    "    const int n0 = get_global_id(0) * 8, m0 = get_global_id(1) * 8;\n"
    "    float8 a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;\n"
    "    __global const float *xr = x + (size_t)m0 * K;\n"
    "    for (int k = 0; k < K; k++) {\n"
    "        const float8 wv = vload8(0, w + (size_t)k * N + n0);\n"
    "        STEP(a0, xr[k]); STEP(a1, xr[K + k]); STEP(a2, xr[2 * K + k]);\n"
    "        STEP(a3, xr[3 * K + k]); STEP(a4, xr[4 * K + k]); STEP(a5, xr[5 * K + k]);\n"
    "        STEP(a6, xr[6 * K + k]); STEP(a7, xr[7 * K + k]);\n"
    "    }\n"
    "    __global float *yr = y + (size_t)m0 * N + n0;\n"
    "    vstore8(a0, 0, yr); vstore8(a1, 0, yr + N); vstore8(a2, 0, yr + 2 * N);\n"
    "    vstore8(a3, 0, yr + 3 * N); vstore8(a4, 0, yr + 4 * N); vstore8(a5, 0, yr + 5 * N);\n"
    "    vstore8(a6, 0, yr + 6 * N); vstore8(a7, 0, yr + 7 * N);\n"
    "}\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Seconds per run of the kernel built with -DMULADD=form, and its largest error against double;
 * a negative time when any step fails (the step is printed). */
static double run_form(cl_context ctx, cl_device_id dev, cl_command_queue q, cl_mem bx, cl_mem bw,
                       cl_mem by, const char *form, const float *x, const float *w, float *y,
                       double *max_err)
{
    const char *src = kernel_src;
    cl_int st;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &src, NULL, &st);
    char options[64];
    snprintf(options, sizeof options, "-DMULADD=%s", form);
    if (st != CL_SUCCESS || clBuildProgram(prog, 1, &dev, options, NULL, NULL) != CL_SUCCESS) {
        printf("    %s: build failed\n", form);
        clReleaseProgram(prog);
        return -1.0;
    }
    cl_kernel k = clCreateKernel(prog, "block8x8", &st);
    const int n = N, kk = K;
    clSetKernelArg(k, 0, sizeof bx, &bx);
    clSetKernelArg(k, 1, sizeof bw, &bw);
    clSetKernelArg(k, 2, sizeof by, &by);
    clSetKernelArg(k, 3, sizeof n, &n);
    clSetKernelArg(k, 4, sizeof kk, &kk);
    const size_t global[2] = {N / 8, M / 8}, local[2] = {WG, 1};
    double seconds = -1.0;
    if (clEnqueueNDRangeKernel(q, k, 2, NULL, global, local, 0, NULL, NULL) == CL_SUCCESS &&
        clFinish(q) == CL_SUCCESS) {
        double t0 = now();
        for (int i = 0; i < ITERS; i++)
            clEnqueueNDRangeKernel(q, k, 2, NULL, global, local, 0, NULL, NULL);
        clFinish(q);
        seconds = (now() - t0) / ITERS;
        clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof(float) * M * N, y, 0, NULL, NULL);
        *max_err = 0.0;
        for (int m = 0; m < M; m += 13)
            for (int j = 0; j < N; j += 37) {
                double ref = 0.0;
                for (int i = 0; i < K; i++)
                    ref += (double)x[(size_t)m * K + i] * w[(size_t)i * N + j];
                double e = fabs(y[(size_t)m * N + j] - ref);
                *max_err = e > *max_err ? e : *max_err;
            }
    } else {
        printf("    %s: launch failed\n", form);
    }
    clReleaseKernel(k);
    clReleaseProgram(prog);
    return seconds;
}

static void measure(cl_platform_id platform, cl_device_id dev, const float *x, const float *w,
                    float *y)
{
    char name[256] = "", pname[256] = "";
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL);
    clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof pname, pname, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    printf("%s (%s): CL_FP_FMA %s\n", name, pname, fp & CL_FP_FMA ? "yes" : "no");
    cl_int st;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &st);
    if (st != CL_SUCCESS) {
        printf("    no context (%d)\n", st);
        return;
    }
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &st);
    cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               sizeof(float) * M * K, (void *)x, &st);
    cl_mem bw = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               sizeof(float) * K * N, (void *)w, &st);
    cl_mem by = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, sizeof(float) * M * N, NULL, &st);
    const char *forms[] = {"fma", "mad"};
    double t[2];
    for (int f = 0; f < 2; f++) {
        double err = 0.0;
        t[f] = run_form(ctx, dev, q, bx, bw, by, forms[f], x, w, y, &err);
        if (t[f] > 0)
            printf("    %s: %8.2f ms  %7.2f GFLOP/s  max error %.2g\n", forms[f], t[f] * 1e3,
                   2.0 * M * N * K / t[f] * 1e-9, err);
    }
    if (t[0] > 0 && t[1] > 0)
        printf("    fma / mad time: %.2f\n", t[0] / t[1]);
    clReleaseMemObject(bx);
    clReleaseMemObject(bw);
    clReleaseMemObject(by);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
}

int main(void)
{
    float *x = malloc(sizeof(float) * M * K), *w = malloc(sizeof(float) * K * N),
          *y = malloc(sizeof(float) * M * N);
    if (!x || !w || !y)
        return 1;
    for (size_t i = 0; i < (size_t)M * K; i++)
        x[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    for (size_t i = 0; i < (size_t)K * N; i++)
        w[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
    cl_platform_id platforms[16];
    cl_uint np = 0;
    if (clGetPlatformIDs(16, platforms, &np) != CL_SUCCESS || np == 0) {
        printf("no OpenCL platform\n");
        return 1;
    }
    for (cl_uint p = 0; p < np && p < 16; p++) {
        cl_device_id devs[16];
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < 16; d++)
            measure(platforms[p], devs[d], x, w, y);
    }
    free(x);
    free(w);
    free(y);
    return 0;
}
