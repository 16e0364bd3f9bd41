/* cmd_devices.c — `siglip devices`: every OpenCL platform and device, which one is picked, and
 * for CPU devices what decides their speed (the ISA their kernels are compiled for, tuning). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip devices [--json] [--device SPEC]\n\n"
    "Lists every device of every OpenCL platform and marks the one the device spec (--device,\n"
    "else SIGLIP_DEVICE, else auto) selects.\n\n"
    "  --json            one JSON object: {\"spec\", \"selected\", \"devices\": [...]}\n\n"
    "For a CPU device PoCL compiles the kernels for one LLVM CPU (\"haswell\": AVX2,\n"
    "\"skylake-avx512\": AVX-512...), named in its device name; the same model runs about twice\n"
    "as fast with AVX-512 as with AVX2 on the same cores. The line 'kernels' shows it next to the\n"
    "host CPU's widest ISA (from /proc/cpuinfo), and 'tuning' which tuning the device gets.\n";

/* ---- what decides a CPU device's speed ---- */

/* The vector ISA of an LLVM x86 CPU name, as the families that compile it (NULL: unknown). */
static const char *llvm_cpu_vector_isa(const char *cpu)
{
    static const char *const avx512[] = {
        "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
        "icelake-server", "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
        "graniterapids", "knl", "knm", "znver4", "znver5", "x86-64-v4", NULL};
    static const char *const avx2[] = {
        "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake", "arrowlake",
        "gracemont", "znver1", "znver2", "znver3", "bdver4", "x86-64-v3", NULL};
    static const char *const avx[] = {"sandybridge", "ivybridge", "btver2", "bdver1", "bdver2",
                                      "bdver3", NULL};
    static const struct { const char *const *names; const char *isa; } families[] = {
        {avx512, "AVX-512"}, {avx2, "AVX2"}, {avx, "AVX"}};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const char *const *n = families[f].names; *n; n++)
            if (!strcmp(cpu, *n))
                return families[f].isa;
    return NULL;
}

/* The value of a /proc/cpuinfo field of the first CPU ("" when absent), in buf. */
static const char *cpuinfo_field(const char *field, char *buf, size_t size)
{
    buf[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return buf;
    char line[4096];
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (colon && !strncmp(line, field, n) && strspn(line + n, " \t") == (size_t)(colon - line) - n) {
            snprintf(buf, size, "%s", colon + 1 + strspn(colon + 1, " \t"));
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    fclose(f);
    return buf;
}

/* The widest vector ISA the host CPU exposes, from /proc/cpuinfo's flags ("?" off Linux/x86). */
static const char *host_vector_isa(void)
{
    char flags[4096];
    cpuinfo_field("flags", flags, sizeof flags);
    static const char *const order[][2] = {{" avx512f ", "AVX-512"}, {" avx2 ", "AVX2"},
                                           {" avx ", "AVX"}, {" sse2 ", "SSE2"}};
    char padded[4100];
    snprintf(padded, sizeof padded, " %s ", flags);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (strstr(padded, order[i][0]))
            return order[i][1];
    return "?";
}

/* The LLVM CPU PoCL compiles a CPU device's kernels for, from its device name
 * "<driver>-<llvm cpu>-<CPU model>" ("pthread-haswell-AMD EPYC", "cpu-skylake-avx512-Intel(R)
 * Xeon(R) ..."), into buf; "" when the name has another form. The LLVM name may itself hold a
 * dash, so the CPU model from /proc/cpuinfo is cut off the end, else a known dashed name or the
 * first word is taken. */
static const char *device_llvm_cpu(const SiglipDeviceInfo *d, char *buf, size_t size)
{
    static const char *const drivers[] = {"pthread-", "cpu-minimal-", "cpu-", "basic-", NULL};
    static const char *const dashed[] = {"skylake-avx512", "icelake-client", "icelake-server",
                                         "goldmont-plus", "x86-64-v4", "x86-64-v3", "x86-64-v2",
                                         "x86-64", NULL};
    buf[0] = 0;
    const char *rest = NULL;
    for (const char *const *p = drivers; d->type == SIGLIP_DEVICE_CPU && *p && !rest; p++)
        if (!strncmp(d->name, *p, strlen(*p)))
            rest = d->name + strlen(*p);
    if (!rest)
        return buf;
    char model[256];
    size_t n = strlen(rest), m = strlen(cpuinfo_field("model name", model, sizeof model));
    if (m && n > m + 1 && !strcmp(rest + n - m, model) && rest[n - m - 1] == '-') {
        n -= m + 1;
    } else {
        n = strcspn(rest, "-");
        for (const char *const *p = dashed; *p; p++) {
            size_t k = strlen(*p);
            if (!strncmp(rest, *p, k) && (rest[k] == '-' || !rest[k])) {
                n = k;
                break;
            }
        }
    }
    snprintf(buf, size, "%.*s", (int)n, rest);
    return buf;
}

/* What decides a device's speed beyond its size: filled by speed_facts(). */
typedef struct SpeedFacts {
    char llvm_cpu[64];         /* "" when not a PoCL CPU device */
    const char *kernel_isa;    /* vector ISA of llvm_cpu, or NULL */
    const char *host_isa;      /* of the CPU this process runs on */
    char tuning[4096];         /* the stored siglip_tune result's path, or "" (built-in table) */
} SpeedFacts;

static SpeedFacts speed_facts(const SiglipDeviceInfo *d, SiglipContext *ctx)
{
    SpeedFacts f;
    device_llvm_cpu(d, f.llvm_cpu, sizeof f.llvm_cpu);
    f.kernel_isa = f.llvm_cpu[0] ? llvm_cpu_vector_isa(f.llvm_cpu) : NULL;
    f.host_isa = host_vector_isa();
    if (siglip_tuning_stored_path(ctx, d, f.tuning, sizeof f.tuning) != 1)
        f.tuning[0] = '\0';
    return f;
}

static const char *type_name(SiglipDeviceType t)
{
    switch (t) {
    case SIGLIP_DEVICE_CPU: return "cpu";
    case SIGLIP_DEVICE_GPU: return "gpu";
    case SIGLIP_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* The speed facts as JSON fields: "kernel_cpu", "kernel_isa", "host_isa" (null off a PoCL CPU
 * device or when unknown), "tuning": "built-in" or the stored result's path. */
static void print_speed_json(const SpeedFacts *f)
{
    printf(", \"kernel_cpu\": ");
    if (f->llvm_cpu[0])
        json_string(stdout, f->llvm_cpu);
    else
        printf("null");
    printf(", \"kernel_isa\": ");
    if (f->kernel_isa)
        json_string(stdout, f->kernel_isa);
    else
        printf("null");
    printf(", \"host_isa\": ");
    json_string(stdout, f->host_isa);
    printf(", \"tuning\": ");
    json_string(stdout, f->tuning[0] ? f->tuning : "built-in");
}

static void print_device_json(const SiglipDeviceInfo *d, const SpeedFacts *f)
{
    printf("{\"spec\": \"%d:%d\", \"platform\": ", d->platform_index, d->device_index);
    json_string(stdout, d->platform_name);
    printf(", \"name\": ");
    json_string(stdout, d->name);
    printf(", \"type\": \"%s\", \"vendor\": ", type_name(d->type));
    json_string(stdout, d->vendor);
    printf(", \"version\": ");
    json_string(stdout, d->version);
    printf(", \"driver_version\": ");
    json_string(stdout, d->driver_version);
    printf(", \"compute_units\": %u, \"max_clock_mhz\": %u, \"global_mem_bytes\": %llu, "
           "\"max_alloc_bytes\": %llu, \"local_mem_bytes\": %llu, \"max_work_group_size\": %zu, "
           "\"fp16\": %s, \"fp64\": %s, \"fma\": %s, \"subgroups\": %s, \"selected\": %s",
           d->compute_units, d->max_clock_mhz, (unsigned long long)d->global_mem_bytes,
           (unsigned long long)d->max_alloc_bytes, (unsigned long long)d->local_mem_bytes,
           d->max_work_group_size, d->has_fp16 ? "true" : "false", d->has_fp64 ? "true" : "false",
           d->has_fma ? "true" : "false", d->has_subgroups ? "true" : "false", d->is_selected ? "true" : "false");
    print_speed_json(f);
    printf("}");
}

static void print_speed_human(const SiglipDeviceInfo *d, const SpeedFacts *f)
{
    if (f->llvm_cpu[0]) {
        printf("        kernels compiled for %s (%s); host CPU: %s", f->llvm_cpu,
               f->kernel_isa ? f->kernel_isa : "ISA unknown to this tool", f->host_isa);
        if (f->kernel_isa && strcmp(f->kernel_isa, f->host_isa))
            printf(" (differs: PoCL/LLVM does not use all of this CPU)");
        printf("\n");
    }
    if (f->tuning[0])
        printf("        tuning: stored siglip tune result %s\n", f->tuning);
    else
        printf("        tuning: the library's built-in table for %s devices (no stored \"siglip tune\" "
               "result)\n", type_name(d->type));
}

/* The entry the spec of the listing context picked, or NULL. */
static const SiglipDeviceInfo *find_selected(const SiglipDeviceInfo *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].is_selected)
            return &list[i];
    return NULL;
}

/* "P:D" of d as a JSON string, or null. */
static void print_spec_json(const SiglipDeviceInfo *d)
{
    if (d)
        printf("\"%d:%d\"", d->platform_index, d->device_index);
    else
        printf("null");
}

static void print_json(const char *spec, const SiglipDeviceInfo *list, size_t n,
                       const SiglipDeviceInfo *auto_pick, SiglipContext *ctx)
{
    printf("{\"spec\": ");
    json_string(stdout, spec);
    printf(", \"selected\": ");
    print_spec_json(find_selected(list, n));
    printf(", \"auto\": ");
    print_spec_json(auto_pick);
    printf(", \"devices\": [");
    for (size_t i = 0; i < n; i++) {
        printf(i ? ",\n  " : "\n  ");
        SpeedFacts f = speed_facts(&list[i], ctx);
        print_device_json(&list[i], &f);
    }
    printf("\n]}\n");
}

static void print_human(const char *spec, const SiglipDeviceInfo *list, size_t n,
                        const SiglipDeviceInfo *auto_pick, SiglipContext *ctx)
{
    const SiglipDeviceInfo *sel = find_selected(list, n);
    for (size_t i = 0; i < n; i++) {
        const SiglipDeviceInfo *d = &list[i];
        printf("%s %d:%d  %-4s %s\n", d->is_selected ? "*" : " ", d->platform_index,
               d->device_index, type_name(d->type), d->name);
        printf("        platform %s; vendor %s; %s; driver %s\n", d->platform_name, d->vendor,
               d->version, d->driver_version);
        printf("        %u compute units at %u MHz; memory %.0f MiB, max alloc %.0f MiB, local %.0f "
               "KiB; fp16 %s, fp64 %s, fma %s\n",
               d->compute_units, d->max_clock_mhz, mib(d->global_mem_bytes),
               mib(d->max_alloc_bytes), (double)d->local_mem_bytes / 1024.0,
               d->has_fp16 ? "yes" : "no", d->has_fp64 ? "yes" : "no", d->has_fma ? "yes" : "no");
        SpeedFacts f = speed_facts(d, ctx);
        print_speed_human(d, &f);
        /* issue 26: the lead's loop-budget probe (dev->info.loop_budget, 0 = no limit) is run at
         * device open, not listing; report it here once the listing carries it. */
    }
    if (sel)
        printf("\n'%s' selects %d:%d (%s)\n", spec, sel->platform_index, sel->device_index,
               sel->name);
    else
        printf("\n'%s' matches no device\n", spec);
    if (auto_pick && auto_pick != sel)
        printf("'auto' would select %d:%d (%s)\n", auto_pick->platform_index,
               auto_pick->device_index, auto_pick->name);
    size_t n_cpu = 0;
    for (size_t i = 0; i < n; i++)
        n_cpu += list[i].type == SIGLIP_DEVICE_CPU;
    if (n_cpu > 1)
        printf("('auto' and 'cpu' take, of several CPU devices, the one with the most compute "
               "units x clock)\n");
}

/* The device "auto" picks, as the entry of `list` with the same indices (NULL when none): listed
 * again through a context with the default spec. */
static const SiglipDeviceInfo *auto_selection(const SiglipDeviceInfo *list, size_t n)
{
    SiglipContext *ctx = NULL;
    SiglipDeviceInfo *again = NULL;
    size_t m = 0;
    const SiglipDeviceInfo *pick = NULL;
    if (siglip_context_create(&ctx, NULL) == SIGLIP_OK &&
        siglip_devices_list(ctx, &again, &m) == SIGLIP_OK) {
        const SiglipDeviceInfo *a = find_selected(again, m);
        for (size_t i = 0; a && i < n; i++)
            if (list[i].platform_index == a->platform_index &&
                list[i].device_index == a->device_index)
                pick = &list[i];
    }
    siglip_devices_free(&again);
    siglip_context_close(&ctx);
    return pick;
}

int cmd_devices(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"json", no_argument, NULL, 'j'},
        {0, 0, 0, 0},
    };
    CliCommon c;
    cli_common_init(&c, "devices");
    int json = 0, opt, r;
    while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if ((r = cli_common_option(&c, opt, optarg)) == CLI_USAGE)
            return CLI_USAGE;
        if (r)
            continue;
        if (opt == 'j')
            json = 1;
        else
            return cli_getopt_error(c.cmd, opt, argv);
    }
    if ((r = cli_help_or_version(&c, usage)) >= 0)
        return r;
    if (optind < argc)
        return cli_usage_error(c.cmd, "unexpected argument '%s'", argv[optind]);

    SiglipContext *ctx = NULL;
    if (cli_open_context(&c, &ctx))
        return CLI_ERROR;
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    int st = siglip_devices_list(ctx, &list, &n);
    if (st) {
        r = cli_lib_error(ctx, st, "listing OpenCL devices");
    } else {
        const char *spec = c.device ? c.device : "auto";
        const SiglipDeviceInfo *auto_pick = c.device ? auto_selection(list, n)
                                                     : find_selected(list, n);
        if (json)
            print_json(spec, list, n, auto_pick, ctx);
        else
            print_human(spec, list, n, auto_pick, ctx);
        /* The list is still printed, but a --device that matches nothing is an error. */
        r = find_selected(list, n) ? CLI_OK : CLI_ERROR;
        if (r != CLI_OK)
            fprintf(stderr, "siglip: devices: no OpenCL device matches \"%s\"\n", spec);
    }
    siglip_devices_free(&list);
    siglip_context_close(&ctx);
    return r;
}
