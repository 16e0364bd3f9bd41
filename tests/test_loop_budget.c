/* test_loop_budget.c — a standalone reproducer of the loop budget some OpenCL implementations
 * impose (Mesa's llvmpipe under rusticl ends every loop of a work-item, silently, once 65535
 * iterations of its loops together have run), and the library's measure of it.
 *
 * Part 1 uses plain OpenCL calls only, no libsiglip code: one work-item runs a loop of n trips of
 * a linear congruential generator and reports its trips and value; the host computes the value
 * itself. On a conforming implementation every n gives n trips and the host's value; where the
 * loops are cut, the output says after how many trips. Part 2 checks that sg_device_open's probe
 * (dev->info.loop_budget) reports what part 1 saw, and how launches are sized from it. */
#include <CL/cl.h>
#include <stdint.h>

#include "harness.h"
#include "ocl/kernels.h"
#include "ocl/probe.h"

static const char *const repro_source =
    "__kernel void lcg(__global uint *out, uint n, uint inner)\n"
    "{\n"
    "    uint x = out[0], i = 0;\n"
    "    for (; i < n; i++)\n"
    "        for (uint j = 0; j < inner; j++)\n"
    "            x = x * 1664525u + 1013904223u;\n"
    "    out[1] = i;\n"
    "    out[2] = x;\n"
    "}\n"
    "__kernel void lcg1(__global uint *out, uint n, uint inner)\n"
    "{\n"
    "    uint x = out[0], i = 0;\n"
    "    for (; i < n; i++)\n"
    "        x = x * 1664525u + 1013904223u;\n"
    "    out[1] = i;\n"
    "    out[2] = x;\n"
    "}\n";

/* Runs the reproducer with n outer trips of `inner` steps each (lcg1: one step, no inner loop); returns the trips the device made
 * (n when it ran them all and reached the host's value), or 0 after a failed call. */
static cl_uint repro_run(cl_context ctx, cl_command_queue queue, cl_kernel kernel, cl_uint n,
                         cl_uint inner)
{
    cl_uint h[3] = {12345u, 0, 0};
    cl_int st;
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof h, h, &st);
    CHECK(st == CL_SUCCESS, "clCreateBuffer: %d", st);
    if (st != CL_SUCCESS)
        return 0;
    size_t one = 1;
    clSetKernelArg(kernel, 0, sizeof m, &m);
    clSetKernelArg(kernel, 1, sizeof n, &n);
    clSetKernelArg(kernel, 2, sizeof inner, &inner);
    st = clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &one, &one, 0, NULL, NULL);
    if (st == CL_SUCCESS)
        st = clEnqueueReadBuffer(queue, m, CL_TRUE, 0, sizeof h, h, 0, NULL, NULL);
    clReleaseMemObject(m);
    CHECK(st == CL_SUCCESS, "running the reproducer: %d", st);
    uint32_t x = 12345u;
    for (uint64_t i = 0; i < (uint64_t)h[1] * inner; i++)
        x = x * 1664525u + 1013904223u;
    /* Whatever the trip count, the value must be the one those trips give. A cut loop breaks
     * out in the middle of an inner loop, so the value may lag; that is the defect shown. */
    printf("  n = %6u, inner = %u: %6u trips, value %s\n", n, inner, h[1],
           h[2] == x ? "as the host computes it" : "NOT the host's (the inner loop was cut too)");
    return h[1];
}

/* Part 1 on the device the tests use; returns the trips of a single 262144-trip loop. */
static cl_uint reproduce(const SgDevice *dev)
{
    cl_int st;
    cl_context ctx = clCreateContext(NULL, 1, &dev->device, NULL, NULL, &st);
    CHECK(st == CL_SUCCESS, "clCreateContext: %d", st);
    if (st != CL_SUCCESS)
        return 0;
    cl_command_queue queue = clCreateCommandQueue(ctx, dev->device, 0, &st);
    cl_program prog = clCreateProgramWithSource(ctx, 1, (const char **)&repro_source, NULL, &st);
    st = clBuildProgram(prog, 1, &dev->device, "", NULL, NULL);
    CHECK(st == CL_SUCCESS, "clBuildProgram: %d", st);
    cl_kernel kernel = clCreateKernel(prog, "lcg", &st);
    cl_uint single = 0;
    if (st == CL_SUCCESS) {
        printf("standalone reproducer on %s (%s, driver %s):\n", dev->info.name,
               dev->info.platform_name, dev->info.driver_version);
        const cl_uint ns[] = {1000, 65534, 70000, 262144};
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
            for (cl_uint inner = 1; inner <= 4; inner *= 2) {
                cl_uint trips = repro_run(ctx, queue, kernel, ns[i], inner);
                CHECK(trips <= ns[i], "%u trips of %u", trips, ns[i]);
                /* The budget counts loops, not work: a short loop always runs whole. */
                if (ns[i] == 1000)
                    CHECK(trips == ns[i], "a 1000-trip loop ran %u trips", trips);
            }
        clReleaseKernel(kernel);
        /* The probe's own shape (cl/probe.cl): one loop, no inner one. */
        kernel = clCreateKernel(prog, "lcg1", &st);
        CHECK(st == CL_SUCCESS, "clCreateKernel: %d", st);
        if (st == CL_SUCCESS)
            single = repro_run(ctx, queue, kernel, 262144, 1);
        clReleaseKernel(kernel);
    }
    clReleaseProgram(prog);
    clReleaseCommandQueue(queue);
    clReleaseContext(ctx);
    return single;
}

int main(void)
{
    SgDevice *dev = NULL;
    SgError err = {0};
    int rc = sg_test_open_device(&dev, &err, "test_loop_budget");
    if (rc)
        return rc;

    cl_uint trips = reproduce(dev);
    /* Part 2: the probe saw the same. */
    cl_uint want = trips < 262144 ? trips : 0;
    printf("the library's probe: loop budget %u (%s)\n", dev->info.loop_budget,
           dev->info.loop_budget ? "launches are split to stay within half of it" : "none");
    CHECK(dev->info.loop_budget == want, "probe says %u, the reproducer saw %u of 262144 trips",
          dev->info.loop_budget, trips);

    /* Launch sizes from a budget, with numbers worked by hand: half of 65535 is 32767. */
    uint32_t saved = dev->info.loop_budget;
    dev->info.loop_budget = 0;
    CHECK(sg_loop_units_per_launch(dev, 4304, 1000, 0, 32) == 4304, "no budget: all units");
    CHECK(sg_loop_fits(dev, SIZE_MAX), "no budget: anything fits");
    dev->info.loop_budget = 65535;
    CHECK(sg_loop_fits(dev, 32767) && !sg_loop_fits(dev, 32768), "half the budget fits");
    /* 768 k steps × 21 = 16128 fit; 3072 × 21 do not: 32767 / 21 = 1560 → 1536 (×32). */
    CHECK(sg_loop_units_per_launch(dev, 768, 21, 0, 32) == 768, "768 × 21 fits");
    CHECK(sg_loop_units_per_launch(dev, 3072, 21, 0, 32) == 1536, "%zu",
          sg_loop_units_per_launch(dev, 3072, 21, 0, 32));
    /* (32767 − 1029) / 224 = 141 keys → 128 (tiles of 32). */
    CHECK(sg_loop_units_per_launch(dev, 729, 224, 1029, 32) == 128, "%zu",
          sg_loop_units_per_launch(dev, 729, 224, 1029, 32));
    /* A unit that alone exceeds the budget still makes progress: one multiple per launch. */
    CHECK(sg_loop_units_per_launch(dev, 100, 40000, 0, 32) == 32, "at least one multiple");
    dev->info.loop_budget = saved;

    sg_device_close(&dev);
    return sg_test_finish("test_loop_budget");
}
