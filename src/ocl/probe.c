/* probe.c — measurements of the OpenCL implementation made at device open (cl/probe.cl): the
 * loop budget, and the size of launches that stay within it. */
#include "ocl/probe.h"

#include <stdint.h>
#include <string.h>

#include "ocl/kernels.h"
#include "ocl/program.h"

/* Trips the probe asks for: well past llvmpipe's 65535, a few milliseconds anywhere else. */
#define SG_PROBE_TRIPS 262144u

int sg_probe_loop_budget(SgDevice *dev, SgError *err)
{
    dev->info.loop_budget = 0;
    cl_uint host[3] = {12345u, 0, 0};
    SgBuffer buf = {0};
    int rc = sg_buffer_upload(dev, host, sizeof host, &buf, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_uint trips = SG_PROBE_TRIPS;
    SgArg args[] = {SG_ARG(buf.mem), SG_ARG(trips)};
    size_t one = 1;
    rc = sg_launch(dev, SG_K_LOOP_BUDGET, args, sizeof args / sizeof args[0], 1, &one, &one, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_read(dev, buf.mem, 0, sizeof host, host, err);
    sg_buffer_release(dev, &buf);
    if (rc != SIGLIP_OK) {
        sg_error_prefix(err, "probing the device's loops: ");
        return rc;
    }
    /* Fewer trips than asked: the implementation cut the loop short after that many. */
    if (host[1] < trips)
        dev->info.loop_budget = host[1] > 0 ? host[1] : 1;
    return SIGLIP_OK;
}

int sg_loop_fits(const SgDevice *dev, size_t cost)
{
    return dev->info.loop_budget == 0 || cost <= dev->info.loop_budget / 2;
}

size_t sg_loop_units_per_launch(const SgDevice *dev, size_t units, size_t cost_per_unit,
                                size_t fixed, size_t multiple)
{
    size_t half = dev->info.loop_budget / 2;
    if (sg_loop_fits(dev, fixed + cost_per_unit * units))
        return units;
    /* Fewer than `units` fit here (sg_loop_fits said so): whole multiples of them. */
    size_t allowed = half > fixed ? (half - fixed) / cost_per_unit : 0;
    allowed = allowed / multiple * multiple;
    return allowed > 0 ? allowed : multiple;
}

/* Holds the kernel int8_dot only where the compiler targets x86 with AVX2 (PoCL compiles for the
 * host CPU; rusticl, oclgrind and GPU compilers target no x86 ISA): the three builtins of sg_dot4
 * in cl/gemm_packed.cl. Elsewhere it holds only `none`, so that the program builds on every
 * device: a build failure is what oclgrind's API check reports, and what a driver may log. */
static const char int8_dot_source[] =
    "#if defined(__AVX2__) && defined(__x86_64__)\n"
    "typedef char sg_char32 __attribute__((ext_vector_type(32)));\n"
    "__kernel void int8_dot(__global const char *a, __global int *out)\n"
    "{\n"
    "    const char16 lo = vload16(0, a), hi = vload16(1, a);\n"
    "    const sg_char32 v = __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,\n"
    "        11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);\n"
    "    const short16 p = __builtin_ia32_pmaddubsw256(v, __builtin_ia32_psignb256(v, v));\n"
    "    const int8 r = __builtin_ia32_pmaddwd256(p, (short16)(1));\n"
    "    out[0] = r.s0;\n"
    "}\n"
    "#else\n"
    "__kernel void none(__global int *out) { out[0] = 0; }\n"
    "#endif\n";

/* Built only where int8_dot was (so the compiler targets x86): x86_vnni writes 1 where the CPU
 * it runs on has AVX-512 VNNI and AVX512VL (cpuid leaf 7: ECX bit 11, EBX bits 16 and 31) and
 * the OS saves the opmask and zmm registers (XCR0 bits 1, 2, 5, 6, 7), else 2 where it has
 * AVX-VNNI (leaf 7 subleaf 1: EAX bit 4; XCR0 bits 1 and 2), else 0. The compiler cannot tell:
 * Debian's PoCL compiles for its kernel library's CPU (haswell, skylake-avx512) whatever the CPU
 * is, so the kernel asks the CPU it runs on. It also writes the AVX2 bit (leaf 7: EBX bit 5),
 * which tests compare with the host's. A program of its own: a compiler that builds the
 * builtins but not the inline assembly loses VNNI only, not int8_dot. */
static const char x86_vnni_source[] =
    "#if defined(__x86_64__)\n"
    "void sg_cpuid(uint leaf, uint sub, uint r[4])\n"
    "{\n"
    "    uint a, b, c, d;\n"
    "    __asm__ volatile(\"cpuid\" : \"=a\"(a), \"=b\"(b), \"=c\"(c), \"=d\"(d) : \"a\"(leaf), \"c\"(sub));\n"
    "    r[0] = a; r[1] = b; r[2] = c; r[3] = d;\n"
    "}\n"
    "__kernel void x86_vnni(__global int *out)\n"
    "{\n"
    "    uint r0[4], r7[4] = {0, 0, 0, 0}, r71[4] = {0, 0, 0, 0}, xcr0, xcr0_hi;\n"
    "    sg_cpuid(0, 0, r0);\n"
    "    if (r0[0] >= 7) sg_cpuid(7, 0, r7);\n"
    "    if (r0[0] >= 7 && r7[0] >= 1) sg_cpuid(7, 1, r71);\n"
    "    __asm__ volatile(\"xgetbv\" : \"=a\"(xcr0), \"=d\"(xcr0_hi) : \"c\"(0u));\n"
    "    const int evex = (r7[2] >> 11 & 1) && (r7[1] >> 16 & 1) && (r7[1] >> 31 & 1) &&\n"
    "                     (xcr0 & 0xe6u) == 0xe6u;\n"
    "    const int vex = (r71[0] >> 4 & 1) && (xcr0 & 6u) == 6u;\n"
    "    out[0] = evex ? 1 : vex ? 2 : 0;\n"
    "    out[1] = r7[1] >> 5 & 1;\n"
    "}\n"
    "#else\n"
    "__kernel void none(__global int *out) { out[0] = 0; }\n"
    "#endif\n";

/* Whether the probe program `name` builds for dev and holds the kernel `kernel` (*prog: the
 * program, to free). */
static int probe_builds(SgDevice *dev, const char *name, const char *source, size_t length,
                        const char *kernel, const char *cache_dir, SgProgram *prog)
{
    SgProgramSource src = {name, source, length, "", cache_dir};
    SgError ignored = {0};
    char names[64] = "";
    return sg_program_build(dev, &src, prog, &ignored) == SIGLIP_OK &&
           clGetProgramInfo(prog->program, CL_PROGRAM_KERNEL_NAMES, sizeof names, names, NULL) ==
               CL_SUCCESS &&
           strcmp(names, kernel) == 0;
}

/* What x86_vnni (above) reads off the CPU the device runs on (and dev->probe_cpuid_avx2): 0
 * where it cannot run. */
static int run_x86_vnni(SgDevice *dev, cl_program program)
{
    cl_int st;
    cl_kernel kernel = clCreateKernel(program, "x86_vnni", &st);
    if (st != CL_SUCCESS)
        return 0;
    cl_int host[2] = {-1, -1};
    SgBuffer buf = {0};
    SgError ignored = {0};
    size_t one = 1;
    int ok = sg_buffer_upload(dev, host, sizeof host, &buf, &ignored) == SIGLIP_OK &&
             clSetKernelArg(kernel, 0, sizeof buf.mem, &buf.mem) == CL_SUCCESS &&
             clEnqueueNDRangeKernel(dev->queue, kernel, 1, NULL, &one, &one, 0, NULL, NULL) ==
                 CL_SUCCESS &&
             sg_buffer_read(dev, buf.mem, 0, sizeof host, host, &ignored) == SIGLIP_OK;
    sg_buffer_release(dev, &buf);
    clReleaseKernel(kernel);
    if (ok && (host[1] == 0 || host[1] == 1))
        dev->probe_cpuid_avx2 = host[1];
    return ok && (host[0] == 1 || host[0] == 2) ? host[0] : 0;
}

void sg_probe_int8_dot(SgDevice *dev, const char *cache_dir)
{
    SgProgram prog = {0};
    dev->info.has_int8_dot = probe_builds(dev, "int8_dot_probe", int8_dot_source,
                                          sizeof int8_dot_source - 1, "int8_dot", cache_dir, &prog);
    sg_program_free(&prog);
    dev->info.has_vnni = 0;
    dev->probe_cpuid_avx2 = -1;
    if (dev->info.has_int8_dot &&
        probe_builds(dev, "x86_vnni_probe", x86_vnni_source, sizeof x86_vnni_source - 1,
                     "x86_vnni", cache_dir, &prog))
        dev->info.has_vnni = run_x86_vnni(dev, prog.program);
    sg_program_free(&prog);
}
