/* oclgrind_defects.c — standalone reproducers of the defects of oclgrind 21.10's
 * uninitialized-value plugin (Debian 12) that .ci/oclgrind.sh and tests/oclgrind_ops.c work
 * around; plain OpenCL calls, no libsiglip code (issue 26).
 *
 * Each case computes values the host checks, so on any device (meson runs it on the test
 * device) it is an ordinary test. Run under `oclgrind --uninitialized build/tests/oclgrind_defects
 * CASE` it shows the defect, with right outputs throughout:
 *   fresh    the control: `fill` writes a new buffer in a slot never used, `copy` reads it back:
 *            no report.
 *   reuse    a 4-float buffer written by a kernel and released; an 8-float buffer created next
 *            takes its slot and the plugin keeps the old shadow (4 floats), so the writes of
 *            `fill` past 4 floats are lost to it: 4 "Uninitialized value written" reports in
 *            `copy`, which reads them back.
 *   partial  clEnqueueWriteBuffer of floats 4..7 of 8: the plugin makes the buffer's shadow the
 *            size of that write (16 bytes) from offset 0, so the write itself and the kernel's
 *            writes past 4 floats are lost to it: 4 reports in `copy`.
 *   fill     clEnqueueFillBuffer of 8 floats: the shadow is remade at each 4-byte pattern's
 *            store, so it ends 4 bytes long: 7 reports in `copy`.
 *   shuffle  (s.x + s.y) + (s.z + s.w) of a float4: LLVM's vector combining makes it shuffles
 *            with undefined mask lanes, which the plugin reads as index −1 (it tests for
 *            llvm::Value::UndefValueVal, not the mask's −1) and copies from far outside the
 *            vector's shadow: SIGSEGV.
 * Usage: oclgrind_defects [fresh|reuse|partial|fill|shuffle ...] (no case: all; under oclgrind,
 * one case a run, as each leaves slots the next would take). */
#include <CL/cl.h>

#include "harness.h"
#include "ocl/kernels.h"

static const char *const source =
    "__kernel void fill(__global float *x) { x[get_global_id(0)] = 1.5f; }\n"
    "__kernel void copy(__global const float *x, __global float *y)\n"
    "{\n"
    "    y[get_global_id(0)] = x[get_global_id(0)];\n"
    "}\n"
    "__kernel void hsum(__global const float *x, __global float *y)\n"
    "{\n"
    "    const float4 s = vload4(0, x);\n"
    "    y[0] = (s.x + s.y) + (s.z + s.w);\n"
    "}\n";

typedef struct Cl {
    cl_context ctx;
    cl_command_queue queue;
    cl_kernel fill, copy, hsum;
} Cl;

#define N 8 /* floats of the buffers read back */

static cl_mem buffer(const Cl *cl, size_t floats, const float *init)
{
    cl_int st;
    cl_mem m = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE | (init ? CL_MEM_COPY_HOST_PTR : 0),
                              floats * sizeof(float), (void *)init, &st);
    CHECK(st == CL_SUCCESS, "clCreateBuffer: %d", st);
    return st == CL_SUCCESS ? m : NULL;
}

static cl_int run(const Cl *cl, cl_kernel k, cl_mem a, cl_mem b, size_t n)
{
    cl_int st = clSetKernelArg(k, 0, sizeof a, &a);
    if (st == CL_SUCCESS && b)
        st = clSetKernelArg(k, 1, sizeof b, &b);
    if (st == CL_SUCCESS)
        st = clEnqueueNDRangeKernel(cl->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL);
    CHECK(st == CL_SUCCESS, "running a kernel: %d", st);
    return st;
}

/* `fill` writes all N floats of x, `copy` copies them into a new buffer, and the host checks
 * they all read 1.5, whatever the plugin thinks of them. */
static void fill_copy_check(const Cl *cl, cl_mem x, const char *what)
{
    cl_mem y = buffer(cl, N, NULL);
    float got[N] = {0};
    cl_int st = y ? run(cl, cl->fill, x, NULL, N) : CL_INVALID_MEM_OBJECT;
    if (st == CL_SUCCESS)
        st = run(cl, cl->copy, x, y, N);
    if (st == CL_SUCCESS)
        st = clEnqueueReadBuffer(cl->queue, y, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL);
    CHECK(st == CL_SUCCESS, "%s: reading back: %d", what, st);
    for (size_t i = 0; i < N && st == CL_SUCCESS; i++)
        CHECK(got[i] == 1.5f, "%s: y[%zu] = %g, fill wrote 1.5", what, i, got[i]);
    if (y)
        clReleaseMemObject(y);
}

static void case_fresh(const Cl *cl)
{
    cl_mem x = buffer(cl, N, NULL);
    if (x)
        fill_copy_check(cl, x, "fresh"), clReleaseMemObject(x);
}

static void case_reuse(const Cl *cl)
{
    cl_mem small = buffer(cl, N / 2, NULL);
    if (small && run(cl, cl->fill, small, NULL, N / 2) == CL_SUCCESS)
        clFinish(cl->queue);
    if (small)
        clReleaseMemObject(small);
    cl_mem x = buffer(cl, N, NULL); /* oclgrind: the slot `small` had */
    if (x)
        fill_copy_check(cl, x, "reuse"), clReleaseMemObject(x);
}

static void case_partial(const Cl *cl)
{
    const float half[N / 2] = {0};
    cl_mem x = buffer(cl, N, NULL);
    if (!x)
        return;
    cl_int st = clEnqueueWriteBuffer(cl->queue, x, CL_TRUE, sizeof half, sizeof half, half, 0,
                                     NULL, NULL);
    CHECK(st == CL_SUCCESS, "clEnqueueWriteBuffer: %d", st);
    fill_copy_check(cl, x, "partial");
    clReleaseMemObject(x);
}

static void case_fill(const Cl *cl)
{
    const float zero = 0.0f;
    cl_mem x = buffer(cl, N, NULL);
    if (!x)
        return;
    cl_int st = clEnqueueFillBuffer(cl->queue, x, &zero, sizeof zero, 0, N * sizeof zero, 0, NULL,
                                    NULL);
    CHECK(st == CL_SUCCESS, "clEnqueueFillBuffer: %d", st);
    fill_copy_check(cl, x, "fill");
    clReleaseMemObject(x);
}

static void case_shuffle(const Cl *cl)
{
    /* (1 + 2) + (4 + 8) = 15, exact in float. */
    const float in[4] = {1.0f, 2.0f, 4.0f, 8.0f};
    cl_mem x = buffer(cl, 4, in), y = buffer(cl, 1, NULL);
    float got = 0.0f;
    cl_int st = x && y ? run(cl, cl->hsum, x, y, 1) : CL_INVALID_MEM_OBJECT;
    if (st == CL_SUCCESS)
        st = clEnqueueReadBuffer(cl->queue, y, CL_TRUE, 0, sizeof got, &got, 0, NULL, NULL);
    CHECK(st == CL_SUCCESS && got == 15.0f, "shuffle: %g (status %d), (1 + 2) + (4 + 8) = 15", got,
          st);
    if (x)
        clReleaseMemObject(x);
    if (y)
        clReleaseMemObject(y);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(const Cl *);
    } cases[] = {{"fresh", case_fresh}, {"reuse", case_reuse}, {"partial", case_partial}, {"fill", case_fill},
                 {"shuffle", case_shuffle}};
    const size_t n_cases = sizeof cases / sizeof cases[0];
    for (int a = 1; a < argc; a++) {
        size_t c = 0;
        while (c < n_cases && strcmp(argv[a], cases[c].name))
            c++;
        if (c == n_cases) {
            fprintf(stderr, "usage: oclgrind_defects [fresh|reuse|partial|fill|shuffle ...]\n");
            return 2;
        }
    }
    SgDevice *dev = NULL;
    SgError err = {0};
    int rc = sg_test_open_device(&dev, &err, "oclgrind_defects");
    if (rc)
        return rc;
    Cl cl = {0};
    cl_int st;
    cl.ctx = clCreateContext(NULL, 1, &dev->device, NULL, NULL, &st);
    CHECK(st == CL_SUCCESS, "clCreateContext: %d", st);
    cl_program prog = NULL;
    if (st == CL_SUCCESS) {
        cl.queue = clCreateCommandQueue(cl.ctx, dev->device, 0, &st);
        prog = clCreateProgramWithSource(cl.ctx, 1, (const char **)&source, NULL, &st);
        if (st == CL_SUCCESS)
            st = clBuildProgram(prog, 1, &dev->device, "", NULL, NULL);
        CHECK(st == CL_SUCCESS, "building the reproducers: %d", st);
    }
    if (st == CL_SUCCESS) {
        cl.fill = clCreateKernel(prog, "fill", &st);
        cl.copy = clCreateKernel(prog, "copy", &st);
        cl.hsum = clCreateKernel(prog, "hsum", &st);
        CHECK(cl.fill && cl.copy && cl.hsum, "clCreateKernel: %d", st);
    }
    for (size_t c = 0; c < n_cases && cl.fill && cl.copy && cl.hsum; c++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++)
            wanted |= !strcmp(argv[a], cases[c].name);
        if (wanted) {
            fprintf(stderr, "case %s\n", cases[c].name); /* before a crash names it */
            cases[c].run(&cl);
        }
    }
    if (cl.fill)
        clReleaseKernel(cl.fill);
    if (cl.copy)
        clReleaseKernel(cl.copy);
    if (cl.hsum)
        clReleaseKernel(cl.hsum);
    if (prog)
        clReleaseProgram(prog);
    if (cl.queue)
        clReleaseCommandQueue(cl.queue);
    if (cl.ctx)
        clReleaseContext(cl.ctx);
    sg_device_close(&dev);
    return sg_test_finish("oclgrind_defects");
}
