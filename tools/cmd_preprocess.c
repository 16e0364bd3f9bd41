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

static int run(SiglipImageProcessor *proc, char *const *paths, int n, int batch,
               const char *out_path)
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

static int preprocess_option(void *arg, const CliCommon *c, int opt, char *value)
{
    if (opt != 'o')
        return CLI_NOT_MINE;
    *(const char **)arg = value;
    return CLI_OK;
}

int cmd_preprocess(int argc, char **argv)
{
    static const struct option own[] = {
        {"output", required_argument, NULL, 'o'},
    };
    CliCommon c;
    const char *out_path = NULL;
    CliParser p = {.shortopts = ":hm:o:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = preprocess_option, .arg = &out_path};
    int r = cli_parse_options(&c, "preprocess", argc, argv, &p);
    if (r >= 0)
        return r;
    if (!out_path)
        return cli_usage_error(c.cmd, "-o OUT.safetensors is required");
    if (optind >= argc)
        return cli_usage_error(c.cmd, "no IMAGE given");
    SiglipImageProcessor *proc = NULL;
    r = cli_load_host(&c, p.model_dir, NULL, &proc);
    if (r == CLI_OK)
        r = run(proc, argv + optind, argc - optind, c.batch, out_path);
    siglip_image_processor_free(&proc);
    return r;
}
