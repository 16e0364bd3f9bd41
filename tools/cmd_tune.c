/* cmd_tune.c — `siglip tune`: measures the op configurations of a model's shapes on a device and
 * stores the fastest accurate one for that device (the library's siglip_tune() does the work). */
#include <stdlib.h>
#include <string.h>

#include "bench_shapes.h"
#include "cli.h"

static const char usage[] =
    "Usage: siglip tune [-m MODEL_DIR | --model NAME] [--device SPEC] [--budget-s S]\n"
    "                   [--batch N] [--cache-dir DIR]\n\n"
    "Times candidate configurations of the hot ops (GEMM register blocks, attention kernels) at\n"
    "the model's shapes on the device, keeps the fastest whose results agree with a plain-C\n"
    "computation, and stores it in the cache directory as tuning-<hash>.json for this device,\n"
    "driver and library version. Every later run on that device uses it (`siglip bench` shows\n"
    "\"tuned\"); delete the file to go back to the built-in table.\n\n"
    "  -m, --model-dir DIR  a model directory whose shapes are tuned for\n"
    "  --model NAME      a built-in shape (siglip bench --list-models; default base-patch16-224)\n"
    "  --budget-s S      no further candidate starts after S seconds (default 40)\n"
    "  --batch N         batch size the shapes are timed at (default 8)\n";

enum { OPT_MODEL_NAME = OPT_FIRST_COMMAND_OPTION, OPT_BUDGET };

typedef struct TuneOptions {
    CliCommon common;
    const char *model_dir, *shape;
    int budget_s;
} TuneOptions;

static void progress(void *user, int done, int total, const char *what)
{
    CliProgress *p = user;
    if (done == 0)
        cli_progress_start(p, total, "steps");
    cli_progress_update(p, done);
    if (done == total)
        cli_progress_end(p);
    else if (!p->enabled)
        fprintf(stderr, "tune: %d/%d %s\n", done + 1, total, what);
}

static int parse(TuneOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, OPT_MODEL_NAME},
        {"model-dir", required_argument, NULL, 'm'},
        {"budget-s", required_argument, NULL, OPT_BUDGET},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ":hm:", longopts, NULL)) != -1) {
        if (opt == 'm')
            o->model_dir = optarg;
        else if (opt == OPT_MODEL_NAME && !bench_shape_find(optarg))
            return cli_usage_error(o->common.cmd, "unknown model '%s' (see siglip bench "
                                   "--list-models)", optarg);
        else if (opt == OPT_MODEL_NAME)
            o->shape = optarg;
        else if (opt == OPT_BUDGET) {
            if (cli_parse_int(o->common.cmd, "--budget-s", optarg, 1, 3600, &o->budget_s))
                return CLI_USAGE;
        } else {
            int r = cli_common_option(&o->common, opt, optarg);
            if (r == CLI_USAGE || !r)
                return r == CLI_USAGE ? CLI_USAGE : cli_getopt_error(o->common.cmd, opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error(o->common.cmd, "unexpected argument '%s'", argv[optind]);
    if (o->model_dir && o->shape)
        return cli_usage_error(o->common.cmd, "give -m or --model, not both");
    return -1;
}

int cmd_tune(int argc, char **argv)
{
    TuneOptions o = {.shape = NULL, .budget_s = 40};
    cli_common_init(&o.common, "tune");
    int r = parse(&o, argc, argv);
    if (r >= 0)
        return r;
    if (o.common.help || o.common.version)
        return cli_help_or_version(&o.common, usage);
    SiglipContext *ctx = NULL;
    if ((r = cli_open_context(&o.common, &ctx)) != CLI_OK)
        return r;
    SiglipModelInfo info;
    if (o.model_dir) {
        SiglipModel *model = NULL;
        if ((r = cli_load_model(ctx, o.model_dir, &model)) != CLI_OK) {
            siglip_context_close(&ctx);
            return r;
        }
        siglip_model_info(model, &info);
        siglip_model_free(&model);
    } else
        bench_shape_info(bench_shape_find(o.shape ? o.shape : "base-patch16-224"), &info);
    CliProgress bar;
    SiglipTuneOptions t = {.budget_s = o.budget_s, .progress = progress, .user = &bar,
                           .batch = o.common.batch_given ? o.common.batch : 8};
    SiglipTuningInfo out;
    double start = cli_now();
    int st = siglip_tune(ctx, &info, &t, &out);
    if (st != SIGLIP_OK) {
        r = cli_lib_error(ctx, st, "tune");
        siglip_context_close(&ctx);
        return r;
    }
    printf("tuned in %.1f s: %s\nstored: %s\n", cli_now() - start, out.config, out.stored_path);
    siglip_context_close(&ctx);
    return CLI_OK;
}
