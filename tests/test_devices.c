/* test_devices.c — device discovery and selection by spec, the no-platform and no-match errors,
 * the program binary cache, the build-failure path and device buffers with accounting. */
#include <CL/cl.h>
#include <ctype.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"
#include "harness.h"
#include "ocl/device.h"
#include "ocl/cl_sources.h"
#include "ocl/kernels.h"

/* ---- helpers ---- */

static SiglipContext *context_with(const char *spec, const char *cache_dir)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.device = spec;
    s.program_cache_dir = cache_dir;
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    if (rc != SIGLIP_OK) {
        fprintf(stderr, "siglip_context_create: %s\n", siglip_strerror(rc));
        exit(1);
    }
    return ctx;
}

static int icontains(const char *hay, const char *needle)
{
    for (; *hay; hay++) {
        size_t i = 0;
        while (needle[i] && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (!needle[i])
            return 1;
    }
    return 0;
}

/* Index of the entry siglip_devices_list marks for `spec`, -1 when none, -2 when several. */
static long selected_for(const char *spec, int *status, char *message, size_t cap)
{
    SiglipContext *ctx = context_with(spec, NULL);
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    *status = siglip_devices_list(ctx, &list, &n);
    snprintf(message, cap, "%s", siglip_context_error(ctx));
    long sel = -1;
    for (size_t i = 0; i < n; i++)
        if (list[i].is_selected)
            sel = sel == -1 ? (long)i : -2;
    siglip_devices_free(&list);
    CHECK(list == NULL, "siglip_devices_free must clear the pointer");
    siglip_context_close(&ctx);
    return sel;
}

/* First entry of `type`, or -1. */
static long first_of_type(const SiglipDeviceInfo *list, size_t n, SiglipDeviceType type)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].type == type)
            return (long)i;
    return -1;
}

/* The CPU device `auto` and `cpu` should pick, by the README's rule ("Choosing the device"):
 * the most compute units × clock, the first listed on a tie; -1 without a CPU device. */
static long fastest_cpu(const SiglipDeviceInfo *list, size_t n)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        double rate = (double)list[i].compute_units * list[i].max_clock_mhz;
        if (list[i].type == SIGLIP_DEVICE_CPU &&
            (best < 0 || rate > (double)list[best].compute_units * list[best].max_clock_mhz))
            best = (long)i;
    }
    return best;
}

/* ---- no platform at all (in a child process with an empty ICD directory) ---- */

static void test_no_platform(void)
{
    char dir[] = "/tmp/sg-no-icd-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        /* ocl-icd reads its vendor list from here: an empty directory means no platform. */
        setenv("OCL_ICD_VENDORS", dir, 1);
        SiglipContext *ctx = context_with("auto", NULL);
        SiglipDeviceInfo *list = NULL;
        size_t n = 0;
        int rc1 = siglip_devices_list(ctx, &list, &n);
        int msg1 = strstr(siglip_context_error(ctx), "no OpenCL platform") != NULL;
        int rc2 = siglip_context_open_device(ctx);
        int msg2 = strstr(siglip_context_error(ctx), "pocl-opencl-icd") != NULL;
        fprintf(stderr, "no platform: %d / %d: %s\n", rc1, rc2, siglip_context_error(ctx));
        siglip_context_close(&ctx);
        _exit(rc1 == SIGLIP_ENODEV && rc2 == SIGLIP_ENODEV && msg1 && msg2 && !list && n == 0
                  ? 0
                  : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    rmdir(dir);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "without a platform, listing and opening must fail with SIGLIP_ENODEV and say so");
}

/* ---- listing ---- */

static void test_listing(const SiglipDeviceInfo *list, size_t n)
{
    CHECK(n >= 1, "no device listed");
    for (size_t i = 0; i < n; i++) {
        const SiglipDeviceInfo *d = &list[i];
        printf("device %d:%d %s | %s | %s | %s | %u CUs | %u MHz | %.0f MiB (max alloc %.0f MiB) "
               "| local %.0f KiB | WG %zu | fp16 %d fp64 %d subgroups %d%s\n",
               d->platform_index, d->device_index, d->name, d->platform_name, d->vendor,
               d->version, d->compute_units, d->max_clock_mhz,
               (double)d->global_mem_bytes / 1048576.0, (double)d->max_alloc_bytes / 1048576.0,
               (double)d->local_mem_bytes / 1024.0, d->max_work_group_size, d->has_fp16,
               d->has_fp64, d->has_subgroups, d->is_selected ? " [selected]" : "");
        CHECK(d->name[0] && d->platform_name[0] && d->version[0], "device %zu lacks names", i);
        CHECK(d->compute_units > 0 && d->global_mem_bytes > 0 && d->max_alloc_bytes > 0 &&
                  d->max_alloc_bytes <= d->global_mem_bytes && d->max_work_group_size > 0 &&
                  d->local_mem_bytes > 0,
              "device %zu has implausible limits", i);
        CHECK(d->type >= SIGLIP_DEVICE_OTHER && d->type <= SIGLIP_DEVICE_ACCELERATOR,
              "device %zu type %d", i, (int)d->type);
        int expect_index = i > 0 && list[i - 1].platform_index == d->platform_index
                               ? list[i - 1].device_index + 1
                               : 0;
        CHECK(d->device_index == expect_index, "device %zu has index %d, expected %d", i,
              d->device_index, expect_index);
    }
}

/* ---- selection by spec ---- */

static void expect_selects(const char *spec, long want)
{
    int status;
    char msg[512];
    long got = selected_for(spec, &status, msg, sizeof msg);
    CHECK_STATUS(status, SIGLIP_OK, msg);
    CHECK(got == want, "spec \"%s\" selects entry %ld, expected %ld", spec, got, want);
}

/* A spec that matches nothing: listing works with nothing selected, opening is SIGLIP_ENODEV
 * with a message naming the spec and listing the devices there are. */
static void expect_no_match(const char *spec, const SiglipDeviceInfo *list)
{
    expect_selects(spec, -1);
    SiglipContext *ctx = context_with(spec, NULL);
    int rc = siglip_context_open_device(ctx);
    const char *msg = siglip_context_error(ctx);
    CHECK_STATUS(rc, SIGLIP_ENODEV, msg);
    CHECK(strstr(msg, spec) && strstr(msg, list[0].name) && strstr(msg, "0:0"),
          "spec \"%s\": message should name it and list the devices: %s", spec, msg);
    SiglipDeviceInfo info;
    CHECK_STATUS(siglip_context_device(ctx, &info), SIGLIP_EINVAL, siglip_context_error(ctx));
    siglip_context_close(&ctx);
}

static void test_specs(const SiglipDeviceInfo *list, size_t n)
{
    long gpu = first_of_type(list, n, SIGLIP_DEVICE_GPU);
    long cpu = fastest_cpu(list, n);
    long preferred = gpu >= 0 ? gpu : cpu >= 0 ? cpu : 0;
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %zu: %s (%s): %u compute units × %u MHz\n", i, list[i].name,
                list[i].platform_name, list[i].compute_units, list[i].max_clock_mhz);
    expect_selects("auto", preferred);
    expect_selects("AUTO", preferred);
    expect_selects("0:0", 0);
    expect_selects(NULL, preferred);
    if (cpu >= 0)
        expect_selects("cpu", cpu);
    if (gpu >= 0)
        expect_selects("gpu", gpu);
    else
        expect_no_match("gpu", list);

    /* A name substring, in another case than the device reports it. */
    const char *name = list[n - 1].name;
    char sub[16] = {0};
    size_t len = strlen(name);
    size_t from = len > 12 ? len / 2 - 4 : 0;
    for (size_t i = 0; i < 8 && name[from + i]; i++)
        sub[i] = (char)toupper((unsigned char)name[from + i]);
    long first_named = -1;
    for (size_t i = 0; i < n && first_named < 0; i++)
        if (icontains(list[i].name, sub))
            first_named = (long)i;
    int vendor_clash = 0; /* the substring might also be in some platform or vendor name */
    for (size_t i = 0; i < n; i++)
        vendor_clash |= icontains(list[i].platform_name, sub) || icontains(list[i].vendor, sub);
    if (!vendor_clash)
        expect_selects(sub, first_named);

    /* Vendors: pocl where the PoCL platform is there; nvidia selects or fails cleanly. */
    long pocl = -1, nvidia = -1;
    for (size_t i = 0; i < n; i++) {
        if (pocl < 0 && strstr(list[i].platform_name, "Portable Computing Language"))
            pocl = (long)i;
        if (nvidia < 0 && (icontains(list[i].platform_name, "nvidia") ||
                           icontains(list[i].vendor, "nvidia") || icontains(list[i].name, "nvidia")))
            nvidia = (long)i;
    }
    if (pocl >= 0) {
        int status;
        char msg[512];
        long got = selected_for("pocl", &status, msg, sizeof msg);
        CHECK(got >= 0 && strstr(list[got].platform_name, "Portable Computing Language"),
              "\"pocl\" selects %ld", got);
    }
    if (nvidia < 0)
        expect_no_match("nvidia", list);
    expect_no_match("9:9", list);
    expect_no_match("no-such-device-xyz", list);
}

/* The int8 dot-product probe (src/ocl/probe.c; q8's integer GEMM forms need it) against what is
 * known without it: PoCL's CPU device compiles for the host CPU, so it has them exactly when
 * the host CPU has AVX2 (cpuid, through the compiler's __builtin_cpu_supports); rusticl compiles
 * through SPIR-V for llvmpipe, which no x86 builtin reaches. Other devices: no expectation.
 * Likewise the VNNI the probe's kernel reads off the CPU it runs on (its own cpuid and XCR0)
 * against the host's, as GCC's runtime reads them (which also asks the OS for the zmm state):
 * 1 for AVX-512 VNNI with AVX512VL, else 2 for AVX-VNNI, else 0; 0 wherever has_int8_dot is. */
static void check_int8_probe(const SiglipDeviceInfo *info)
{
#if defined(__x86_64__)
    int host_avx2 = __builtin_cpu_supports("avx2") != 0;
    int host_vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")
                        ? 1
                        : __builtin_cpu_supports("avxvnni") ? 2 : 0;
#else
    int host_avx2 = 0, host_vnni = 0;
#endif
    if (strstr(info->platform_name, "Portable Computing Language") &&
        info->type == SIGLIP_DEVICE_CPU) {
        CHECK(info->has_int8_dot == host_avx2, "%s: has_int8_dot %d, host AVX2 %d", info->name,
              info->has_int8_dot, host_avx2);
        CHECK(info->has_vnni == (host_avx2 ? host_vnni : 0), "%s: has_vnni %d, host VNNI %d",
              info->name, info->has_vnni, host_vnni);
    } else if (strstr(info->platform_name, "rusticl")) {
        CHECK(info->has_int8_dot == 0, "%s: has_int8_dot %d", info->name, info->has_int8_dot);
    }
    CHECK(info->has_int8_dot || info->has_vnni == 0, "%s: has_vnni %d without int8 dot products",
          info->name, info->has_vnni);
    static const char *const vnni[] = {"no", "AVX-512 VNNI", "AVX-VNNI"};
    printf("%s: int8 dot products %s, VNNI %s\n", info->name, info->has_int8_dot ? "yes" : "no",
           info->has_vnni >= 0 && info->has_vnni <= 2 ? vnni[info->has_vnni] : "?");
}

/* A VNNI probe that never ran reads as no VNNI, as a CPU without it does: where it should run (the
 * int8 probe passed), the AVX2 bit its kernel read off the device's CPU must be there, and on
 * PoCL's CPU device equal the host's. */
static void check_vnni_probe_ran(const SgDevice *dev)
{
    if (!dev->info.has_int8_dot) {
        CHECK(dev->probe_cpuid_avx2 == -1, "%s: VNNI probe ran (%d) without int8 dot products",
              dev->info.name, dev->probe_cpuid_avx2);
        return;
    }
    CHECK(dev->probe_cpuid_avx2 == 1, "%s: the VNNI probe's kernel read AVX2 %d (−1: not run) on "
          "a device that runs AVX2 code", dev->info.name, dev->probe_cpuid_avx2);
#if defined(__x86_64__)
    if (strstr(dev->info.platform_name, "Portable Computing Language"))
        CHECK(dev->probe_cpuid_avx2 == (__builtin_cpu_supports("avx2") != 0),
              "%s: probe's AVX2 %d, host's %d", dev->info.name, dev->probe_cpuid_avx2,
              __builtin_cpu_supports("avx2") != 0);
#endif
}

/* Opening through the public API: the reported device is the listed one; opening twice keeps it. */

/* has_fma (cl/fma.h: fma() or mad() in the kernels) is the CL_FP_FMA bit the device reports,
 * asked here with a plain OpenCL call; PoCL's CPU device compiles for the host CPU, so it
 * reports it exactly when the host has FMA (cpuid). */
static void check_fma_flag(const SgDevice *dev)
{
    cl_device_fp_config fp = 0;
    CHECK(clGetDeviceInfo(dev->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL) ==
              CL_SUCCESS, "CL_DEVICE_SINGLE_FP_CONFIG");
    CHECK(dev->info.has_fma == ((fp & CL_FP_FMA) != 0), "%s: has_fma %d, CL_FP_FMA %d",
          dev->info.name, dev->info.has_fma, (fp & CL_FP_FMA) != 0);
#if defined(__x86_64__) || defined(__i386__)
    if (strstr(dev->info.platform_name, "Portable Computing Language") &&
        dev->info.type == SIGLIP_DEVICE_CPU)
        CHECK(dev->info.has_fma == (__builtin_cpu_supports("fma") != 0), "%s: has_fma %d",
              dev->info.name, dev->info.has_fma);
#endif
    printf("%s: fused multiply-add %s\n", dev->info.name, dev->info.has_fma ? "yes" : "no (mad)");
}

static void test_open(const SiglipDeviceInfo *list, size_t n)
{
    SiglipContext *ctx = context_with("0:0", sg_test_cache_dir());
    SiglipDeviceInfo info;
    CHECK_STATUS(siglip_context_device(ctx, &info), SIGLIP_EINVAL, siglip_context_error(ctx));
    int rc = siglip_context_open_device(ctx);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    if (rc != SIGLIP_OK) {
        siglip_context_close(&ctx);
        return;
    }
    SgDevice *first = ctx->device;
    CHECK_STATUS(siglip_context_open_device(ctx), SIGLIP_OK, siglip_context_error(ctx));
    CHECK(ctx->device == first, "a second open must keep the device");
    CHECK_STATUS(siglip_context_device(ctx, &info), SIGLIP_OK, siglip_context_error(ctx));
    CHECK(info.platform_index == 0 && info.device_index == 0 && info.is_selected &&
              strcmp(info.name, list[0].name) == 0,
          "opened %d:%d %s", info.platform_index, info.device_index, info.name);

    /* The extension flags agree with the raw extension string. */
    char ext[8192] = {0};
    clGetDeviceInfo(first->device, CL_DEVICE_EXTENSIONS, sizeof ext - 1, ext, NULL);
    CHECK(info.has_fp64 == (strstr(ext, "cl_khr_fp64") != NULL), "has_fp64 %d", info.has_fp64);
    CHECK(info.has_fp16 == (strstr(ext, "cl_khr_fp16") != NULL), "has_fp16 %d", info.has_fp16);
    check_int8_probe(&info);
    siglip_context_close(&ctx);
    CHECK(ctx == NULL, "siglip_context_close must clear the pointer");
    (void)n;
}

/* ---- the program binary cache ---- */

static int for_each_cache_file(const char *dir, int (*fn)(const char *path))
{
    DIR *d = opendir(dir);
    int count = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        count += fn(path);
    }
    closedir(d);
    return count;
}

static int corrupt_file(const char *path)
{
    FILE *f = fopen(path, "r+b");
    if (!f)
        return 0;
    fseek(f, 24, SEEK_SET); /* past the header: only the checksum can notice */
    fputs("garbage", f);
    fclose(f);
    return 1;
}

static int remove_file(const char *path)
{
    return unlink(path) == 0;
}

static int count_file(const char *path)
{
    return strstr(path, ".tmp") == NULL;
}

static SgDevice *open_with_cache(const char *dir, SgError *err)
{
    SgDevice *dev = NULL;
    int rc = sg_device_open(&dev, sg_test_device(), dir, NULL, err);
    CHECK_STATUS(rc, SIGLIP_OK, err->message);
    return dev;
}

static void test_cache(SgError *err)
{
    char dir[] = "/tmp/sg-cache-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    char sub[64];
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* created on first save */
    SgDevice *dev = open_with_cache(sub, err);
    if (!dev)
        return;
    double cold = dev->kernels->build_seconds;
    CHECK(dev->kernels->from_cache == 0, "a fresh cache dir can't hold programs");
    sg_device_close(&dev);
    int files = for_each_cache_file(sub, count_file);
    CHECK(files >= 5, "%d cache files written", files);

    dev = open_with_cache(sub, err);
    if (!dev)
        return;
    printf("kernel build: %.3f s cold, %.3f s from cache\n", cold, dev->kernels->build_seconds);
    CHECK(dev->kernels->from_cache == 1, "the second open must load from the cache");
    sg_device_close(&dev);

    /* Damaged files are rebuilt, not trusted. */
    CHECK(for_each_cache_file(sub, corrupt_file) == files, "corrupting the cache files");
    dev = open_with_cache(sub, err);
    if (dev)
        CHECK(dev->kernels->from_cache == 0, "corrupted cache files must not be loaded");
    sg_device_close(&dev);
    dev = open_with_cache(sub, err);
    if (dev)
        CHECK(dev->kernels->from_cache == 1, "rebuilt programs must be cached again");

    /* The key covers the options: another define is another binary. */
    static const char text[] = "__kernel void f(__global float *x) { x[0] = VALUE; }";
    SgProgramSource src = {"probe", text, strlen(text), "-DVALUE=1", sub};
    SgProgram p;
    if (dev) {
        CHECK_STATUS(sg_program_build(dev, &src, &p, err), SIGLIP_OK, err->message);
        CHECK(p.from_cache == 0, "first build of probe");
        sg_program_free(&p);
        CHECK_STATUS(sg_program_build(dev, &src, &p, err), SIGLIP_OK, err->message);
        CHECK(p.from_cache == 1, "same source and options: from the cache");
        sg_program_free(&p);
        src.options = "-DVALUE=2";
        CHECK_STATUS(sg_program_build(dev, &src, &p, err), SIGLIP_OK, err->message);
        CHECK(p.from_cache == 0, "other options: not from the cache");
        sg_program_free(&p);
    }
    sg_device_close(&dev);
    for_each_cache_file(sub, remove_file);
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/a", dir);
    rmdir(sub);
    CHECK(rmdir(dir) == 0, "cache dir left files behind");
}

/* ---- a kernel that does not compile ---- */

static void test_build_failure(SgDevice *dev, SgError *err)
{
    static const char text[] =
        "__kernel void broken(__global float *x) { x[0] = not_declared_anywhere; }";
    SgProgramSource src = {"broken", text, strlen(text), "", NULL};
    SgProgram p;
    int rc = sg_program_build(dev, &src, &p, err);
    CHECK_STATUS(rc, SIGLIP_EBUILD, err->message);
    CHECK(p.program == NULL && p.log == NULL, "no program on failure");
    CHECK(strstr(err->message, "cl/broken.cl") != NULL, "message names the file: %s",
          err->message);
    CHECK(strstr(err->message, "build log") && strstr(err->message, "not_declared_anywhere"),
          "message carries the compiler's log: %s", err->message);
}

/* ---- buffers ---- */

static void test_buffers(SgDevice *dev, SgError *err)
{
    size_t before = dev->bytes_allocated;
    SgBuffer a, b;
    float data[100], back[100];
    for (int i = 0; i < 100; i++)
        data[i] = (float)i * 0.5f;
    CHECK_STATUS(sg_buffer_upload(dev, data, sizeof data, &a, err), SIGLIP_OK, err->message);
    CHECK_STATUS(sg_buffer_create(dev, 4096, &b, err), SIGLIP_OK, err->message);
    CHECK(dev->bytes_allocated == before + sizeof data + 4096, "accounting: %zu",
          dev->bytes_allocated);
    CHECK(dev->peak_bytes_allocated >= dev->bytes_allocated, "peak below current");
    CHECK(a.bytes == sizeof data && b.bytes == 4096, "buffers know their sizes");
    CHECK_STATUS(sg_buffer_read(dev, a.mem, 40, 200, back, err), SIGLIP_OK, err->message);
    CHECK(memcmp(back, data + 10, 200) == 0, "read back differs");
    CHECK_STATUS(sg_buffer_write(dev, b.mem, 100, 400, data, err), SIGLIP_OK, err->message);
    CHECK_STATUS(sg_buffer_read(dev, b.mem, 100, 400, back, err), SIGLIP_OK, err->message);
    CHECK(memcmp(back, data, 400) == 0, "write/read round trip differs");
    size_t peak = dev->peak_bytes_allocated;
    sg_buffer_release(dev, &a);
    sg_buffer_release(dev, &b);
    CHECK(a.mem == NULL && b.mem == NULL && a.bytes == 0, "release clears the buffer");
    CHECK(dev->bytes_allocated == before && dev->peak_bytes_allocated == peak,
          "accounting after release: %zu, peak %zu", dev->bytes_allocated,
          dev->peak_bytes_allocated);

    int rc = sg_buffer_create(dev, (size_t)dev->info.max_alloc_bytes + 1, &a, err);
    CHECK_STATUS(rc, SIGLIP_ENOMEM, err->message);
    CHECK(a.mem == NULL && strstr(err->message, "MiB"), "message: %s", err->message);
    CHECK_STATUS(sg_buffer_create(dev, 0, &a, err), SIGLIP_EINVAL, err->message);
    CHECK(dev->bytes_allocated == before, "failed allocations must not count");
}

/* The tuning table and its override file: every key applies, a bad file is a clear error. */
static void test_tuning(void)
{
    SiglipDeviceInfo cpu = {.type = SIGLIP_DEVICE_CPU}, gpu = {.type = SIGLIP_DEVICE_GPU};
    SgTuning t;
    SgError err = {0};
    CHECK(sg_tuning_choose(&cpu, NULL, &t, &err) == 0 && t.gemm == SG_GEMM_PANELS &&
              t.attention == SG_ATTN_ROWS && t.attn_qb == 4 && t.layernorm_wg == 1 &&
              t.gemm_chunk_kib == 16384 && !strcmp(t.rule, "cpu-avx2") &&
              !strcmp(t.table_rule, "cpu-avx2"),
          "cpu rule: %s", t.rule);
    /* PoCL names the LLVM CPU: an AVX-512 one gets the block measured there. */
    SiglipDeviceInfo avx512 = {.type = SIGLIP_DEVICE_CPU, .name = "cpu-skylake-avx512-Intel"};
    CHECK(sg_tuning_choose(&avx512, NULL, &t, &err) == 0 && !strcmp(t.rule, "cpu-avx512") &&
              t.gemm_mr == 8 && t.gemm_nr == 32 && t.gemm_mb == 1 && t.attn_qb == 8,
          "avx512 rule: %s", t.rule);
    /* Mesa's llvmpipe runs work-items as vector lanes: the GPU's attention and LayerNorm, the
     * packed GEMM 8 work-items per group (src/ocl/tuning.c). */
    SiglipDeviceInfo lanes = {.type = SIGLIP_DEVICE_CPU, .name = "llvmpipe (LLVM 15.0.6, 256 bits)"};
    CHECK(sg_tuning_choose(&lanes, NULL, &t, &err) == 0 && !strcmp(t.rule, "cpu-lanes") &&
              t.gemm == SG_GEMM_PANELS && t.gemm_wg == 8 && t.attention == SG_ATTN_TILED &&
              t.layernorm_wg == 0 && t.gemm_chunk_kib == 0,
          "llvmpipe rule: %s", t.rule);
#ifdef SG_HAVE_CLBLAST
    const SgGemmPath gpu_gemm = SG_GEMM_CLBLAST, file_gemm = SG_GEMM_CLBLAST;
    const int clblast_file_status = SIGLIP_OK;
#else /* a build without CLBlast: the packed GEMM everywhere, a file asking for CLBlast fails */
    const SgGemmPath gpu_gemm = SG_GEMM_PANELS, file_gemm = SG_GEMM_PANELS;
    const int clblast_file_status = SIGLIP_ENOTSUP;
#endif
    CHECK(sg_tuning_choose(&gpu, NULL, &t, &err) == 0 && t.gemm == gpu_gemm &&
              t.attention == SG_ATTN_TILED && t.layernorm_wg == 0 && t.gemm_chunk_kib == 0,
          "default rule");
    char path[] = "/tmp/siglip-tuning-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    /* gemm: what a file that applies must leave in t.gemm */
    const struct { const char *json; int status; SgGemmPath gemm; } files[] = {
        {"{\"gemm\": \"clblast\", \"gemm_mr\": 4, \"attention\": \"tiled\", "
         "\"layernorm_wg\": 64}", clblast_file_status, file_gemm},
        {"{\"gemm\": \"panels\", \"gemm_mr\": 4, \"attention\": \"tiled\", "
         "\"layernorm_wg\": 64, \"attention_qb\": 6, \"attention_wg\": 16, "
         "\"attention_tile_k\": 8}", SIGLIP_OK, SG_GEMM_PANELS},
        {"{\"attention_qb\": 17}", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"{\"attention_tile_k\": -1}", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"{\"gemm\": \"cublas\"}", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"{\"gemm_mr\": 0}", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"{\"attention\": 3}", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"[1, 2]", SIGLIP_EBADMSG, SG_GEMM_PANELS},
        {"not json", SIGLIP_EBADMSG, SG_GEMM_PANELS},
    };
    for (size_t i = 0; fd >= 0 && i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(path, "w");
        fputs(files[i].json, f);
        fclose(f);
        int rc = sg_tuning_choose(&cpu, path, &t, &err);
        CHECK_STATUS(rc, files[i].status, err.message);
        if (rc == SIGLIP_OK)
            CHECK(t.gemm == files[i].gemm && t.gemm_mr == 4 && t.attention == SG_ATTN_TILED &&
                      t.layernorm_wg == 64 && !strcmp(t.rule, "file") &&
                      (i == 0 || (t.attn_qb == 6 && t.attn_wg == 16 && t.attn_tile_k == 8)),
                  "override applied");
        else
            CHECK(strstr(err.message, path) != NULL, "message names the file: %s", err.message);
    }
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    CHECK(sg_tuning_choose(&cpu, "/nonexistent/tuning.json", &t, &err) == SIGLIP_ENOENT,
          "missing file");
    /* Fitting to a small device: 0 = the device's own value, the rest capped to its limits; the
     * K/V tiles (2·tile·SG_ATTN_MAX_DH + tile floats) within 3/4 of 16 KiB of local memory. */
    SiglipDeviceInfo small = {.type = SIGLIP_DEVICE_GPU, .max_work_group_size = 32,
                              .local_mem_bytes = 16384};
    sg_tuning_choose(&small, NULL, &t, &err);
    t.attn_qb = 0, t.attn_wg = 100;
    sg_tuning_fit(&small, &t);
    CHECK(t.layernorm_wg == 32 && t.attn_wg == 32 && t.attn_tile_k == 8 && t.attn_qb == 4,
          "fitted: ln %d, attention wg %d tile %d qb %d", t.layernorm_wg, t.attn_wg,
          t.attn_tile_k, t.attn_qb);
    SgTuning again = t;
    sg_tuning_fit(&small, &again);
    CHECK(!memcmp(&again, &t, sizeof t), "fitting twice changes nothing");
    t.layernorm_wg = 24; /* not a power of two */
    sg_tuning_fit(&small, &t);
    CHECK(t.layernorm_wg == 16, "layernorm_wg 24 → %d", t.layernorm_wg);
}

/* The knob table itself: each key once; every knob round-trips through a stored result at a
 * value of its own (the test's, not the table's: lo + step, or its second name), is named on the
 * tuning line, and out of its range is refused by sg_device_retune's check. */
static void test_knob_table(void)
{
    SiglipDeviceInfo info = {.type = SIGLIP_DEVICE_CPU, .name = "knob-test", .driver_version = "1"};
    SgError err = {0};
    SgTuning t, back;
    sg_tuning_choose(&info, NULL, &t, &err);
    for (size_t i = 0; i < sg_knob_count; i++) {
        const SgKnob *k = &sg_knobs[i];
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(k->key, sg_knobs[j].key) != 0, "key %s twice", k->key);
        CHECK(k->lo <= k->hi && k->step >= 1 && k->lo % k->step == 0, "%s: range", k->key);
        sg_knob_set(&t, k, k->lo + k->step);
    }
    char dir[] = "/tmp/siglip-knobs-XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/tuning.json", dir);
    CHECK_STATUS(sg_tuning_save(path, &info, &t, NULL, &err), SIGLIP_OK, err.message);
    sg_tuning_choose(&info, NULL, &back, &err);
    CHECK_STATUS(sg_tuning_load_stored(path, &info, &back, &err), SIGLIP_OK, err.message);
    unlink(path);
    rmdir(dir);
    char line[256];
    sg_tuning_describe(&t, SG_TUNE_NONE, line, sizeof line);
    for (size_t i = 0; i < sg_knob_count; i++) {
        const SgKnob *k = &sg_knobs[i];
        CHECK(sg_knob_get(&back, k) == k->lo + k->step, "%s: stored %d, read back %d", k->key,
              k->lo + k->step, sg_knob_get(&back, k));
        char piece[64];
        const char *label = k->label + (i == 0 ? strspn(k->label, ", ") : 0);
        if (k->names)
            snprintf(piece, sizeof piece, "%s%s", label, k->names[k->step]);
        else
            snprintf(piece, sizeof piece, "%s%d", label, k->lo + k->step);
        CHECK(strstr(line, piece) != NULL, "tuning line \"%s\" names %s as \"%s\"", line,
              k->key, piece);
        SgTuning bad = t;
        sg_knob_set(&bad, k, k->hi + 1);
        CHECK(sg_tuning_out_of_range(&bad) == k, "%s = %d is out of range", k->key, k->hi + 1);
    }
    CHECK(sg_tuning_out_of_range(&t) == NULL, "every knob in range");
    /* The -D options: a program gets its knobs' defines, one no knob reaches none. */
    char defs[256];
    sg_tuning_defines(&t, "gemm_packed", defs, sizeof defs);
    CHECK(!strcmp(defs, "-DMR=2 -DNR=16 -DKU=2 -DMB=2 -DSG_GEMM_WG=1 -DSG_Q8_NP=1 -DSG_Q8_DOT=1"),
          "gemm_packed: %s", defs);
    sg_tuning_defines(&t, "elementwise", defs, sizeof defs);
    CHECK(!strcmp(defs, ""), "elementwise: %s", defs);
}

/* Stored `siglip tune` results: what is saved loads back; one made for another device or a
 * corrupt one is refused with the reason and leaves the tuning alone. */
static void test_stored_tuning(void)
{
    SiglipDeviceInfo info = {.type = SIGLIP_DEVICE_CPU, .name = "pthread-haswell-test",
                             .driver_version = "9.9"};
    SgError err = {0};
    SgTuning table, tuned, t;
    sg_tuning_choose(&info, NULL, &table, &err);
    tuned = table;
    tuned.gemm_mr = 6, tuned.gemm_nr = 24, tuned.gemm_ku = 4, tuned.gemm_mb = 2;
    tuned.attention = SG_ATTN_TILED, tuned.layernorm_wg = 32;
    tuned.attn_qb = 6, tuned.attn_wg = 16, tuned.attn_tile_k = 8, tuned.gemm_chunk_kib = 4096;
    char dir[] = "/tmp/siglip-stored-XXXXXX", name[64], path[512];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    sg_tuning_file_name(&info, name, sizeof name);
    CHECK(!strncmp(name, "tuning-", 7) && strstr(name, ".json"), "file name %s", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_STATUS(sg_tuning_save(path, &info, &tuned, "{\"gemm\": []}", &err), SIGLIP_OK,
                 err.message);
    t = table;
    CHECK_STATUS(sg_tuning_load_stored(path, &info, &t, &err), SIGLIP_OK, err.message);
    CHECK(t.gemm_mr == 6 && t.gemm_nr == 24 && t.gemm_ku == 4 && t.gemm_mb == 2 &&
              t.attention == SG_ATTN_TILED && t.layernorm_wg == 32 && t.attn_qb == 6 &&
              t.attn_wg == 16 && t.attn_tile_k == 8 && t.gemm_chunk_kib == 4096 &&
              !strcmp(t.rule, "tuned") && !strcmp(t.table_rule, "cpu-avx2"),
          "round trip");
    SiglipDeviceInfo other = info;
    snprintf(other.driver_version, sizeof other.driver_version, "10.0");
    t = table;
    CHECK_STATUS(sg_tuning_load_stored(path, &other, &t, &err), SIGLIP_EBADMSG, err.message);
    CHECK(strstr(err.message, "another driver") && t.gemm_mr == table.gemm_mr, "%s",
          err.message);
    FILE *f = fopen(path, "w");
    fputs("{\"device\": \"pthread-haswell-test\", \"gemm_mr\": ", f); /* cut short */
    fclose(f);
    CHECK_STATUS(sg_tuning_load_stored(path, &info, &t, &err), SIGLIP_EBADMSG, err.message);
    CHECK(strstr(err.message, path) && t.gemm_mr == table.gemm_mr, "%s", err.message);
    unlink(path);

    /* On a real device: a corrupt stored file is ignored with the reason shown, a good one is
     * applied when the device opens. */
    SiglipContext *ctx = context_with(sg_test_device(), dir);
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    if (siglip_devices_list(ctx, &list, &n) == SIGLIP_OK && n > 0) {
        const SiglipDeviceInfo *d = &list[0];
        for (size_t i = 0; i < n; i++)
            d = list[i].is_selected ? &list[i] : d;
        CHECK(siglip_tuning_stored_path(ctx, d, path, sizeof path) == 0, "none stored yet");
        f = fopen(path, "w");
        fputs("garbage", f);
        fclose(f);
        CHECK(siglip_tuning_stored_path(ctx, d, path, sizeof path) == 1, "stored file seen");
        SiglipTuningInfo ti;
        int rc = siglip_context_open_device(ctx);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        CHECK_STATUS(siglip_context_tuning_info(ctx, &ti), SIGLIP_OK, siglip_context_error(ctx));
        CHECK(!strcmp(ti.source, "rule") && strstr(ti.note, "ignored") && ti.stored_exists,
              "corrupt stored file ignored: %s / %s", ti.source, ti.note);
        siglip_context_close(&ctx);
        tuned = table;
        tuned.gemm_mb = 3;
        CHECK_STATUS(sg_tuning_save(path, d, &tuned, NULL, &err), SIGLIP_OK, err.message);
        ctx = context_with(sg_test_device(), dir);
        rc = siglip_context_open_device(ctx);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        CHECK(siglip_context_tuning_info(ctx, &ti) == SIGLIP_OK && !strcmp(ti.source, "tuned") &&
                  strstr(ti.config, "mb3") && !ti.note[0], "stored file applied: %s %s",
              ti.source, ti.config);
        unlink(path);
    }
    siglip_devices_free(&list);
    siglip_context_close(&ctx);
    /* The program binaries of the opened device went into dir too. */
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (dp)
        closedir(dp);
    rmdir(dir);
}

/* siglip_tune() end to end at a small shape with a tiny budget: it stores a result that a device
 * opened afterwards runs with; without a cache directory it is a clear error. */
static int progress_calls;
static void count_progress(void *user, int done, int total, const char *what)
{
    (void)user, (void)what;
    progress_calls += done <= total;
}

static void test_tune(void)
{
    char dir[] = "/tmp/siglip-tune-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    SiglipModelInfo m = {.vision_hidden_size = 64, .vision_layers = 1, .vision_heads = 2,
                         .vision_intermediate_size = 96, .num_patches = 20};
    SiglipTuneOptions opt = {.budget_s = 0.01, .batch = 2, .progress = count_progress};
    SiglipTuningInfo ti;
    SiglipContext *ctx = context_with(sg_test_device(), NULL);
    CHECK_STATUS(siglip_tune(ctx, &m, &opt, &ti), SIGLIP_EINVAL, siglip_context_error(ctx));
    siglip_context_close(&ctx);
    ctx = context_with(sg_test_device(), dir);
    int rc = siglip_tune(ctx, &m, &opt, &ti);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    CHECK(rc != SIGLIP_OK || (!strcmp(ti.source, "tuned") && ti.stored_exists &&
                              progress_calls > 2), "stored: %s %s (%d progress calls)",
          ti.source, ti.stored_path, progress_calls);
    siglip_context_close(&ctx);
    ctx = context_with(sg_test_device(), dir);
    CHECK_STATUS(siglip_context_open_device(ctx), SIGLIP_OK, siglip_context_error(ctx));
    SiglipTuningInfo now;
    CHECK(siglip_context_tuning_info(ctx, &now) == SIGLIP_OK && !strcmp(now.source, "tuned") &&
              !strcmp(now.config, ti.config), "applied: %s %s", now.source, now.config);
    siglip_context_close(&ctx);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "%s", cmd);
}

/* 1 when the word `w` stands alone in src (no identifier character on either side). */
static int has_word(const char *src, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = strstr(src, w); p; p = strstr(p + 1, w)) {
        int before = p > src && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = isalnum((unsigned char)p[n]) || p[n] == '_';
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* GPU-shaped limits (README "Testing", issue 26): with the device capped to what real GPUs report
 * (work-group 256, 32 KiB local memory, no fp16, no fp64), whatever a tuning asks for is fitted
 * under them. The local memory each kernel needs is what the OpenCL compiler reports
 * (CL_KERNEL_LOCAL_MEM_SIZE), not what the fit computes; requests far above the caps (the
 * largest a tuning file may name) must fit too. No kernel source may use fp16 or fp64 types. */
static void test_gpu_limits(void)
{
    static const SiglipDeviceLimits gpu = {256, 32 * 1024, 1, 1};
    SgError err = {0};
    SgDevice *dev = NULL;
    int rc = sg_device_open_limited(&dev, sg_test_device(), sg_test_cache_dir(), NULL, &gpu, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (!dev)
        return;
    CHECK(dev->info.max_work_group_size <= 256 && dev->info.local_mem_bytes <= 32 * 1024 &&
              !dev->info.has_fp16 && !dev->info.has_fp64,
          "capped info: wg %zu, local %llu, fp16 %d, fp64 %d", dev->info.max_work_group_size,
          (unsigned long long)dev->info.local_mem_bytes, dev->info.has_fp16, dev->info.has_fp64);
    /* The table's own fit, then the largest requests: 0 = fit, and values past every cap. */
    static const int asks[][3] = {{-1, -1, -1}, {0, 0, 0}, {4096, 4096, 1024}};
    for (size_t a = 0; a < sizeof asks / sizeof asks[0]; a++) {
        SgTuning t = dev->tuning;
        if (asks[a][0] >= 0) {
            t.layernorm_wg = asks[a][0];
            t.attn_wg = asks[a][1];
            t.attn_tile_k = asks[a][2];
            rc = sg_device_retune(dev, &t, sg_test_cache_dir(), &err);
            CHECK_STATUS(rc, SIGLIP_OK, err.message);
        }
        t = dev->tuning;
        CHECK(t.layernorm_wg >= 1 && t.layernorm_wg <= 256 && t.attn_wg >= 1 &&
                  t.attn_wg <= 256 && t.attn_tile_k >= 1,
              "ask %zu: layernorm wg %d, attention wg %d, tile %d", a, t.layernorm_wg, t.attn_wg,
              t.attn_tile_k);
        for (int id = 0; id < SG_K_COUNT; id++) {
            cl_kernel k = dev->kernels->kernel[id];
            cl_ulong local = 0;
            if (!k)
                continue; /* built on first use (the reduced-precision GEMMs: no local memory) */
            cl_int st = clGetKernelWorkGroupInfo(k, dev->device, CL_KERNEL_LOCAL_MEM_SIZE,
                                                 sizeof local, &local, NULL);
            CHECK(st == CL_SUCCESS && local <= 32 * 1024,
                  "ask %zu: kernel %d needs %llu bytes of local memory (status %d), GPU limit "
                  "32768", a, id, (unsigned long long)local, (int)st);
        }
    }
    sg_device_close(&dev);
    /* fp16 and fp64 arithmetic need their extension enabled, so no kernel may enable one; half
     * is only a storage type (vload_half, core OpenCL), and double must not appear at all. The
     * builds themselves show the rest: PoCL has no fp16, rusticl no fp64. */
    for (size_t i = 0; i < sg_cl_source_count; i++) {
        const char *src = sg_cl_sources[i].source;
        CHECK(!strstr(src, "EXTENSION cl_khr_fp16") && !strstr(src, "EXTENSION cl_khr_fp64"),
              "cl/%s.cl enables cl_khr_fp16 or cl_khr_fp64", sg_cl_sources[i].name);
        CHECK(!has_word(src, "double"), "cl/%s.cl uses double", sg_cl_sources[i].name);
        for (int w = 2; w <= 16; w *= 2) {
            char vec[16];
            snprintf(vec, sizeof vec, "double%d", w);
            CHECK(!has_word(src, vec), "cl/%s.cl uses %s", sg_cl_sources[i].name, vec);
        }
    }
}

int main(void)
{
    test_tuning();
    test_knob_table();
    test_no_platform(); /* first OpenCL use: it forks, and the ICD loader reads its env once */
    test_stored_tuning();
    test_tune();

    SiglipContext *ctx = context_with(sg_test_device(), NULL);
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    int rc = siglip_devices_list(ctx, &list, &n);
    if (rc == SIGLIP_ENODEV) {
        fprintf(stderr, "skipped: %s\n", siglip_context_error(ctx));
        siglip_context_close(&ctx);
        return SG_TEST_SKIP;
    }
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    size_t n_selected = 0;
    for (size_t i = 0; i < n; i++)
        n_selected += list[i].is_selected != 0;
    CHECK(n_selected == 1, "%zu devices marked selected for \"%s\"", n_selected,
          sg_test_device());
    CHECK_STATUS(siglip_devices_list(ctx, NULL, &n), SIGLIP_EINVAL, siglip_context_error(ctx));
    siglip_context_close(&ctx);
    if (n > 0) {
        test_listing(list, n);
        test_specs(list, n);
        test_open(list, n);
    }
    siglip_devices_free(&list);
    test_gpu_limits();

    SgError err = {0};
    test_cache(&err);
    SgDevice *dev = NULL;
    rc = sg_device_open_limited(&dev, sg_test_device(), sg_test_cache_dir(), NULL,
                                sg_test_limits(), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (dev) {
        check_int8_probe(&dev->info);
        check_vnni_probe_ran(dev);
        check_fma_flag(dev);
        test_build_failure(dev, &err);
        test_buffers(dev, &err);
    }
    sg_device_close(&dev);
    fflush(stdout);
    return sg_test_finish("test_devices");
}
