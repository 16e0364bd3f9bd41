/* cmd_preprocess.c — `siglip preprocess`: pixel_values of images written to a .safetensors file. */
#include <stdlib.h>

#include "cli.h"
#include "st_writer.h"

static const char usage[] =
    "Usage: siglip preprocess -m MODEL_DIR -o OUT.safetensors IMAGE...\n\n"
    "Decodes and preprocesses each IMAGE with the model's image processor (its\n"
    "preprocessor_config.json / processor_config.json) and writes pixel_values [N, 3, H, W] F32.\n"
    "No OpenCL device is needed.\n\n"
    "  -m, --model DIR   model directory\n"
    "  -o, --output FILE output .safetensors file\n";

/* Preprocesses the images in chunks of `batch` into pixels [n, 3, h, w]. */
static int preprocess_all(SiglipImageProcessor *proc, char *const *paths, int n, int batch,
                          size_t per_image, float *pixels)
{
    CliProgress progress;
    cli_progress_start(&progress, n, "images");
    for (int i = 0; i < n; i += batch) {
        int nb = n - i < batch ? n - i : batch;
        int st = siglip_preprocess_files(proc, (const char *const *)paths + i, nb,
                                         pixels + (size_t)i * per_image);
        if (st) {
            cli_progress_end(&progress);
            return cli_msg_error(siglip_image_processor_error(proc), st, "preprocess");
        }
        cli_progress_update(&progress, i + nb);
    }
    cli_progress_end(&progress);
    return CLI_OK;
}

static int run(SiglipContext *ctx, SiglipImageProcessor *proc, char *const *paths, int n,
               int batch, const char *out_path)
{
    int h = 0, w = 0;
    siglip_image_processor_size(proc, &h, &w);
    size_t per_image = (size_t)3 * (size_t)h * (size_t)w;
    size_t count = cli_array_size((size_t)n, per_image);
    float *pixels = count ? malloc(count * sizeof *pixels) : NULL; /* [n, 3, h, w] */
    if (!pixels)
        return cli_error("preprocess: out of memory for %d images of %dx%d", n, w, h);
    int rc = preprocess_all(proc, paths, n, batch, per_image, pixels);
    if (rc == CLI_OK) {
        StTensor t = {"pixel_values", "F32", 4, {n, 3, h, w}, pixels};
        char msg[512];
        if (st_write(out_path, &t, 1, msg, sizeof msg))
            rc = cli_error("preprocess: writing %s: %s", out_path, msg);
    }
    free(pixels);
    return rc;
}

int cmd_preprocess(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {0, 0, 0, 0},
    };
    CliCommon c;
    cli_common_init(&c, "preprocess");
    const char *model_dir = NULL, *out_path = NULL;
    int opt, r;
    while ((opt = getopt_long(argc, argv, ":hm:o:", longopts, NULL)) != -1) {
        if ((r = cli_common_option(&c, opt, optarg)) == CLI_USAGE)
            return CLI_USAGE;
        if (r)
            continue;
        if (opt == 'm')
            model_dir = optarg;
        else if (opt == 'o')
            out_path = optarg;
        else
            return cli_getopt_error(c.cmd, opt, argv);
    }
    if ((r = cli_help_or_version(&c, usage)) >= 0)
        return r;
    if (!model_dir)
        return cli_usage_error(c.cmd, "-m MODEL_DIR is required");
    if (!out_path)
        return cli_usage_error(c.cmd, "-o OUT.safetensors is required");
    if (optind >= argc)
        return cli_usage_error(c.cmd, "no IMAGE given");

    SiglipContext *ctx = NULL;
    if (cli_open_context(&c, &ctx))
        return CLI_ERROR;
    SiglipImageProcessor *proc = NULL;
    int st = siglip_image_processor_load(ctx, model_dir, &proc);
    if (st)
        r = cli_lib_error(ctx, st, "loading the image processor of %s", model_dir);
    else
        r = run(ctx, proc, argv + optind, argc - optind, c.batch, out_path);
    siglip_image_processor_free(&proc);
    siglip_context_close(&ctx);
    return r;
}
