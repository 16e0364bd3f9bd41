/* cmd_embed.c — `siglip embed`: text and image embeddings, features and logits written to a
 * .safetensors file, images streamed through the device in batches. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "st_writer.h"

static const char usage[] =
    "Usage: siglip embed -m MODEL_DIR [-t TEXT ...] [-i IMAGE ...] [--images-from FILE]\n"
    "                    -o OUT.safetensors\n\n"
    "Writes F32 tensors: text_embeds [T, D] and text_features [T, D] (pooler output) for the texts,\n"
    "image_embeds [I, D] and image_features [I, D] for the images, and logits_per_image [I, T]\n"
    "when both are given. Images go through in batches of --batch, with a progress bar when\n"
    "stderr is a terminal.\n\n"
    "  -m, --model DIR        model directory\n"
    "  -t, --text TEXT        a text (repeat for more)\n"
    "  -i, --image FILE       an image (repeat for more)\n"
    "  --images-from FILE     image paths, one per line (\"-\" = standard input)\n"
    "  -o, --output FILE      output .safetensors file\n";

enum { OPT_IMAGES_FROM = OPT_FIRST_COMMAND_OPTION };

/* Outputs for n items of width dim. */
typedef struct Embeddings {
    int n;
    int dim;
    float *embeds;   /* [n, dim] L2-normalized */
    float *features; /* [n, dim] pooler output */
} Embeddings;

static int embeddings_alloc(Embeddings *e, int n, int dim)
{
    e->n = n;
    e->dim = dim;
    size_t count = cli_array_size((size_t)n, (size_t)dim);
    if (!n)
        return 0;
    e->embeds = count ? malloc(count * sizeof(float)) : NULL;
    e->features = count ? malloc(count * sizeof(float)) : NULL;
    return e->embeds && e->features ? 0 : -1;
}

static void embeddings_free(Embeddings *e)
{
    free(e->embeds);
    free(e->features);
    memset(e, 0, sizeof *e);
}

typedef struct EmbedJob {
    SiglipContext *ctx;
    SiglipModel *model;
    SiglipModelInfo info;
    int batch;
} EmbedJob;

static int embed_texts(const EmbedJob *job, char *const *texts, Embeddings *out)
{
    SiglipTokenizer *tok = siglip_model_tokenizer(job->model);
    if (!tok)
        return cli_error("embed: the model directory has no tokenizer (spiece.model)");
    int len = job->info.text_max_positions, batch = job->batch;
    size_t count = cli_array_size((size_t)batch, (size_t)len);
    int32_t *ids = count ? malloc(count * sizeof *ids) : NULL;   /* [batch, len] */
    int32_t *mask = count ? malloc(count * sizeof *mask) : NULL; /* [batch, len] */
    int rc = ids && mask ? CLI_OK : cli_error("embed: out of memory");
    for (int i = 0; i < out->n && rc == CLI_OK; i += batch) {
        int nb = out->n - i < batch ? out->n - i : batch;
        size_t at = (size_t)i * (size_t)out->dim;
        SiglipTextOutput o = {out->features + at, out->embeds + at, NULL};
        int st = siglip_tokenize(tok, (const char *const *)texts + i, nb, len, ids, mask);
        if (st == SIGLIP_OK)
            st = siglip_encode_text(job->model, ids, mask, nb, &o);
        if (st)
            rc = cli_lib_error(job->ctx, st, "embed: texts %d..%d", i + 1, i + nb);
    }
    free(ids);
    free(mask);
    return rc;
}

static int embed_images(const EmbedJob *job, char *const *paths, Embeddings *out)
{
    SiglipImageProcessor *proc = siglip_model_image_processor(job->model);
    if (!proc)
        return cli_error("embed: the model has no image processor");
    int h = 0, w = 0, batch = job->batch;
    siglip_image_processor_size(proc, &h, &w);
    size_t per_image = (size_t)3 * (size_t)h * (size_t)w;
    size_t count = cli_array_size((size_t)batch, per_image);
    float *pixels = count ? malloc(count * sizeof *pixels) : NULL; /* [batch, 3, h, w] */
    if (!pixels)
        return cli_error("embed: out of memory for a batch of %d images", batch);
    CliProgress progress;
    cli_progress_start(&progress, out->n, "images");
    int rc = CLI_OK;
    for (int i = 0; i < out->n && rc == CLI_OK; i += batch) {
        int nb = out->n - i < batch ? out->n - i : batch;
        size_t at = (size_t)i * (size_t)out->dim;
        SiglipImageOutput o = {out->features + at, out->embeds + at, NULL};
        int st = siglip_preprocess_files(proc, (const char *const *)paths + i, nb, pixels);
        if (st == SIGLIP_OK)
            st = siglip_encode_image(job->model, pixels, nb, &o);
        if (st)
            rc = cli_lib_error(job->ctx, st, "embed: images %d..%d", i + 1, i + nb);
        else
            cli_progress_update(&progress, i + nb);
    }
    cli_progress_end(&progress);
    free(pixels);
    return rc;
}

/* Writes whichever of the outputs exist; logits [n_images, n_texts] may be NULL. */
static int write_outputs(const char *path, const Embeddings *text, const Embeddings *image,
                         const float *logits)
{
    StTensor t[5];
    int n = 0;
    if (text->n) {
        t[n++] = (StTensor){"text_embeds", "F32", 2, {text->n, text->dim}, text->embeds};
        t[n++] = (StTensor){"text_features", "F32", 2, {text->n, text->dim}, text->features};
    }
    if (image->n) {
        t[n++] = (StTensor){"image_embeds", "F32", 2, {image->n, image->dim}, image->embeds};
        t[n++] = (StTensor){"image_features", "F32", 2, {image->n, image->dim}, image->features};
    }
    if (logits)
        t[n++] = (StTensor){"logits_per_image", "F32", 2, {image->n, text->n}, logits};
    char msg[512];
    if (st_write(path, t, n, msg, sizeof msg))
        return cli_error("embed: writing %s: %s", path, msg);
    return CLI_OK;
}

static int run(const EmbedJob *job, const CliList *texts, const CliList *images, const char *path)
{
    Embeddings text = {0}, image = {0};
    float *logits = NULL; /* [images, texts] */
    int rc = CLI_OK;
    if (embeddings_alloc(&text, texts->n, job->info.projection_size) ||
        embeddings_alloc(&image, images->n, job->info.vision_hidden_size))
        rc = cli_error("embed: out of memory");
    if (rc == CLI_OK && texts->n)
        rc = embed_texts(job, texts->items, &text);
    if (rc == CLI_OK && images->n)
        rc = embed_images(job, images->items, &image);
    if (rc == CLI_OK && texts->n && images->n) {
        logits = malloc((size_t)texts->n * (size_t)images->n * sizeof *logits);
        int st = logits ? siglip_logits(job->model, text.embeds, text.n, image.embeds, image.n,
                                        logits, NULL)
                        : SIGLIP_ENOMEM;
        if (st)
            rc = cli_lib_error(job->ctx, st, "embed: logits");
    }
    if (rc == CLI_OK)
        rc = write_outputs(path, &text, &image, logits);
    free(logits);
    embeddings_free(&text);
    embeddings_free(&image);
    return rc;
}

static int load_and_run(const CliCommon *c, const char *model_dir, const CliList *texts,
                        const CliList *images, const char *out_path)
{
    EmbedJob job = {.batch = c->batch};
    int r = cli_open_context(c, &job.ctx);
    if (r == CLI_OK)
        r = cli_load_model(job.ctx, model_dir, &job.model);
    if (r == CLI_OK) {
        siglip_model_info(job.model, &job.info);
        if (texts->n && job.info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION)
            r = cli_usage_error(c->cmd, "-t: this model has no text tower");
        else
            r = run(&job, texts, images, out_path);
    }
    siglip_model_free(&job.model);
    siglip_context_close(&job.ctx);
    return r;
}

int cmd_embed(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, 'm'},
        {"text", required_argument, NULL, 't'},
        {"image", required_argument, NULL, 'i'},
        {"images-from", required_argument, NULL, OPT_IMAGES_FROM},
        {"output", required_argument, NULL, 'o'},
        {0, 0, 0, 0},
    };
    CliCommon c;
    cli_common_init(&c, "embed");
    CliList texts = {0}, images = {0};
    const char *model_dir = NULL, *out_path = NULL;
    int opt, r = -1;
    /* -i paths are duplicated so that one list can also own the lines of --images-from. */
    images.owns = 1;
    while (r < 0 && (opt = getopt_long(argc, argv, ":hm:t:i:o:", longopts, NULL)) != -1) {
        int common = cli_common_option(&c, opt, optarg);
        char *copy = NULL;
        if (common == CLI_USAGE)
            r = CLI_USAGE;
        else if (common)
            continue;
        else if (opt == 'm')
            model_dir = optarg;
        else if (opt == 'o')
            out_path = optarg;
        else if (opt == 't') {
            if (cli_list_push(&texts, optarg))
                r = cli_error("embed: out of memory");
        } else if (opt == 'i') {
            if (!(copy = strdup(optarg)) || cli_list_push(&images, copy)) {
                free(copy);
                r = cli_error("embed: out of memory");
            }
        } else if (opt == OPT_IMAGES_FROM) {
            if (cli_list_read_lines(&images, optarg))
                r = CLI_ERROR;
        } else
            r = cli_getopt_error(c.cmd, opt, argv);
    }
    if (r < 0)
        r = cli_help_or_version(&c, usage);
    if (r < 0 && !model_dir)
        r = cli_usage_error(c.cmd, "-m MODEL_DIR is required");
    if (r < 0 && !out_path)
        r = cli_usage_error(c.cmd, "-o OUT.safetensors is required");
    if (r < 0 && optind < argc)
        r = cli_usage_error(c.cmd, "unexpected argument '%s' (use -t TEXT or -i IMAGE)",
                            argv[optind]);
    if (r < 0 && !texts.n && !images.n)
        r = cli_usage_error(c.cmd, "nothing to embed: give -t TEXT, -i IMAGE or --images-from");
    if (r < 0)
        r = load_and_run(&c, model_dir, &texts, &images, out_path);
    cli_list_free(&texts);
    cli_list_free(&images);
    return r;
}
