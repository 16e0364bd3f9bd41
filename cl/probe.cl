/* probe.cl — kernels that measure what an OpenCL implementation does, run once when a device is
 * opened (src/ocl/probe.c).
 *
 * loop_budget: one work-item runs a loop of n trips, each step of a linear congruential
 * generator (so no compiler can shorten the loop), and writes how many trips it made and the
 * value reached. An implementation that cuts loops short — Mesa's llvmpipe (gallivm) stops every
 * loop of an invocation once 65535 iterations of all its loops together have run, silently —
 * reports fewer trips than n. out[0] holds the seed on entry. */
__kernel void loop_budget(__global uint *out, const uint n)
{
    uint x = out[0], i = 0;
    for (; i < n; i++)
        x = x * 1664525u + 1013904223u;
    out[1] = i;
    out[2] = x;
}
