/* cmd_devices.c — `siglip devices`: every OpenCL platform and device, and which one is picked. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip devices [--json] [--device SPEC]\n\n"
    "Lists every device of every OpenCL platform and marks the one the device spec (--device,\n"
    "else SIGLIP_DEVICE, else auto) selects.\n\n"
    "  --json            one JSON object: {\"spec\", \"selected\", \"devices\": [...]}\n";

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

static void print_device_json(const SiglipDeviceInfo *d)
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
           "\"fp16\": %s, \"fp64\": %s, \"subgroups\": %s, \"selected\": %s}",
           d->compute_units, d->max_clock_mhz, (unsigned long long)d->global_mem_bytes,
           (unsigned long long)d->max_alloc_bytes, (unsigned long long)d->local_mem_bytes,
           d->max_work_group_size, d->has_fp16 ? "true" : "false", d->has_fp64 ? "true" : "false",
           d->has_subgroups ? "true" : "false", d->is_selected ? "true" : "false");
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
                       const SiglipDeviceInfo *auto_pick)
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
        print_device_json(&list[i]);
    }
    printf("\n]}\n");
}

static void print_human(const char *spec, const SiglipDeviceInfo *list, size_t n,
                        const SiglipDeviceInfo *auto_pick)
{
    const SiglipDeviceInfo *sel = find_selected(list, n);
    for (size_t i = 0; i < n; i++) {
        const SiglipDeviceInfo *d = &list[i];
        printf("%s %d:%d  %-4s %s\n", d->is_selected ? "*" : " ", d->platform_index,
               d->device_index, type_name(d->type), d->name);
        printf("        platform %s; vendor %s; %s; driver %s\n", d->platform_name, d->vendor,
               d->version, d->driver_version);
        printf("        %u compute units at %u MHz; memory %.0f MiB, max alloc %.0f MiB, local %.0f "
               "KiB; fp16 %s, fp64 %s\n",
               d->compute_units, d->max_clock_mhz, mib(d->global_mem_bytes),
               mib(d->max_alloc_bytes), (double)d->local_mem_bytes / 1024.0,
               d->has_fp16 ? "yes" : "no", d->has_fp64 ? "yes" : "no");
    }
    if (sel)
        printf("\n'%s' selects %d:%d (%s)\n", spec, sel->platform_index, sel->device_index,
               sel->name);
    else
        printf("\n'%s' matches no device\n", spec);
    if (auto_pick && auto_pick != sel)
        printf("'auto' would select %d:%d (%s)\n", auto_pick->platform_index,
               auto_pick->device_index, auto_pick->name);
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
            print_json(spec, list, n, auto_pick);
        else
            print_human(spec, list, n, auto_pick);
        /* The list is still printed, but a --device that matches nothing is an error. */
        r = find_selected(list, n) ? CLI_OK : CLI_ERROR;
        if (r != CLI_OK)
            fprintf(stderr, "siglip: devices: no OpenCL device matches \"%s\"\n", spec);
    }
    siglip_devices_free(&list);
    siglip_context_close(&ctx);
    return r;
}
