/* cmd_embed.c — `siglip embed`: text and image embeddings, features and logits written to a
 * .safetensors file, images streamed through the device in batches. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "embed_journal.h"
#include "index_db.h"
#include "json_out.h"
#include "st_writer.h"

static const char usage[] =
    "Usage: siglip embed -m MODEL_DIR [-t TEXT ...] [-i IMAGE ...] [--images-from FILE]\n"
    "                    -o OUT.safetensors [--strict] [--resume] [--image-size H[xW]]\n"
    "                    [--max-patches N]\n\n"
    "Writes F32 tensors: text_embeds [T, D] and text_features [T, D] (pooler output) for the\n"
    "texts, image_embeds [I, D] and image_features [I, D] for the images that could be read, and\n"
    "logits_per_image [I, T] when both are given. __metadata__ holds the texts, the path of\n"
    "each image row, the images that failed (with why), the model directory, precision, device\n"
    "and library version. Images go through in batches of --batch, with a progress bar when\n"
    "stderr is a terminal. An unreadable image is reported on stderr and skipped; the exit\n"
    "status is 0 when at least one image (or, without images, every text) was embedded.\n"
    "Finished batches are kept in OUT.safetensors.journal until the output is written.\n\n"
    "  -m, --model DIR        model directory\n"
    "  -t, --text TEXT        a text (repeat for more)\n"
    "  -i, --image FILE       an image (repeat for more)\n"
    "  --images-from FILE     image paths, one per line (\"-\" = standard input)\n"
    "  -o, --output FILE      output .safetensors file\n"
    "  --strict               stop with exit status 1 at the first unreadable image\n"
    "  --resume               continue an interrupted run from its journal\n"
    "  --image-size H[xW]     run the vision tower at H×W pixels (default: the model's), the\n"
    "                         position grid interpolated as transformers' interpolate_pos_encoding\n"
    "                         (not for NaFlex models, which take --max-patches)\n"
    "  --max-patches N        SigLIP 2 NaFlex models: patch budget per image (default: the\n"
    "                         processor's max_num_patches, 256 on the Hub)\n";

enum { OPT_IMAGES_FROM = OPT_FIRST_COMMAND_OPTION };

/* What the image options ask for. */
typedef struct EmbedOptions {
    int strict;
    int resume;
    CliModelShape shape; /* --image-size, --max-patches */
} EmbedOptions;

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
    const char *model_dir;
    const char *precision;  /* --precision, recorded in the output's metadata */
    SiglipPrecision weights;
    EmbedOptions opt;
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
        const char *why = NULL;
        int st = siglip_tokenize(tok, (const char *const *)texts + i, nb, len, ids, mask);
        if (st)
            why = siglip_tokenizer_error(tok);
        else if ((st = siglip_encode_text(job->model, ids, mask, nb, &o)))
            why = siglip_context_error(job->ctx);
        if (st)
            rc = cli_msg_error(why, st, "embed: texts %d..%d", i + 1, i + nb);
    }
    free(ids);
    free(mask);
    return rc;
}

/* Moves the pixel_values of the batch's readable images to the front; returns their count and
 * records the failures. */
static int keep_readable(EmbedRows *rows, int first, const SiglipItemStatus *st, int nb,
                         CliImages *images, int *rc)
{
    int k = 0;
    for (int j = 0; j < nb; j++) {
        if (st[j].status) {
            fprintf(stderr, "siglip: embed: skipping image %d: %s\n", first + j + 1,
                    st[j].message);
            if ((*rc = embed_rows_fail(rows, first + j, st[j].message)))
                return 0;
            continue;
        }
        cli_images_move(images, j, k);
        rows->ok_index[rows->n_ok + k++] = first + j;
    }
    return k;
}

/* One batch of images [first, first + nb): readable ones encoded into the next rows. */
static int embed_batch(const EmbedJob *job, SiglipImageProcessor *proc, char *const *paths,
                       int first, int nb, CliImages *images, SiglipItemStatus *st,
                       EmbedRows *rows)
{
    int rc = CLI_OK;
    const char *const *batch_paths = (const char *const *)paths + first;
    int st_rc = cli_images_preprocess(images, proc, batch_paths, nb, job->opt.strict ? NULL : st);
    if (st_rc)
        return cli_msg_error(siglip_image_processor_error(proc), st_rc, "embed: images %d..%d",
                             first + 1, first + nb);
    int k = nb;
    if (!job->opt.strict) {
        k = keep_readable(rows, first, st, nb, images, &rc);
    } else {
        for (int j = 0; j < nb; j++)
            rows->ok_index[rows->n_ok + j] = first + j;
    }
    size_t at = (size_t)rows->n_ok * (size_t)rows->dim;
    SiglipImageOutput o = {rows->features + at, rows->embeds + at, NULL};
    if (rc == CLI_OK && k > 0 && (st_rc = cli_images_encode(images, job->model, k, &o)))
        return cli_lib_error(job->ctx, st_rc, "embed: images %d..%d", first + 1, first + nb);
    rows->n_ok += k;
    rows->n_done = first + nb;
    return rc;
}

static int embed_images(const EmbedJob *job, char *const *paths, const char *out_path,
                        EmbedRows *rows)
{
    SiglipImageProcessor *proc = siglip_model_image_processor(job->model);
    if (!proc)
        return cli_error("embed: the model has no image processor");
    if (cli_check_processor("embed", job->model, proc))
        return CLI_ERROR;
    int batch = job->batch;
    CliImages images;
    int alloc_failed = cli_images_alloc(job->model, batch, &images);
    SiglipItemStatus *st = malloc((size_t)batch * sizeof *st);
    if (alloc_failed || !st) {
        cli_images_free(&images);
        free(st);
        return cli_error("embed: out of memory for a batch of %d images", batch);
    }
    EmbedJournal journal = {0};
    IndexModel id;
    char shape[64];
    snprintf(shape, sizeof shape, "size %dx%d, patches %d", job->opt.shape.image_h,
             job->opt.shape.image_w, job->opt.shape.max_patches);
    JournalModel key = {job->model_dir, id.fingerprint, job->precision, shape};
    int rc = index_model_identify(job->model_dir, &job->info, job->weights, &id);
    if (rc == CLI_OK)
        rc = journal_open(&journal, out_path, &key, paths, job->opt.resume, rows);
    CliProgress progress;
    cli_progress_start(&progress, rows->n, "images");
    for (int i = rows->n_done; i < rows->n && rc == CLI_OK; i += batch) {
        int nb = rows->n - i < batch ? rows->n - i : batch;
        rc = embed_batch(job, proc, paths, i, nb, &images, st, rows);
        if (rc == CLI_OK)
            rc = journal_append(&journal, rows, paths, i);
        cli_progress_update(&progress, rows->n_done);
    }
    cli_progress_end(&progress);
    journal_close(&journal, 0);
    cli_images_free(&images);
    free(st);
    return rc;
}

static void text_item(FILE *f, int i, const void *ctx)
{
    json_string(f, ((const CliList *)ctx)->items[i]);
}

/* What the image items need: the list and the outcomes. */
typedef struct ImageItems {
    const CliList *images;
    const EmbedRows *rows;
} ImageItems;

static void row_path_item(FILE *f, int i, const void *ctx)
{
    const ImageItems *it = ctx;
    json_string(f, it->images->items[it->rows->ok_index[i]]);
}

/* {"path": ..., "error": ...} of a failed image */
static void failed_item(FILE *f, int i, const void *ctx)
{
    const ImageItems *it = ctx;
    fputs("{\"path\":", f);
    json_string(f, it->images->items[it->rows->failed_index[i]]);
    fputs(",\"error\":", f);
    json_string(f, it->rows->failed_error[i]);
    fputc('}', f);
}

/* Writes whichever of the outputs exist, with the provenance of every row as __metadata__;
 * logits [n_ok, n_texts] may be NULL. */
static int write_outputs(const EmbedJob *job, const char *path, const CliList *texts,
                         const Embeddings *text, const CliList *images, const EmbedRows *rows,
                         const float *logits)
{
    StTensor t[5];
    int n = 0, n_img = rows->n_ok, d = rows->dim;
    if (text->n) {
        t[n++] = (StTensor){"text_embeds", "F32", 2, {text->n, text->dim}, text->embeds};
        t[n++] = (StTensor){"text_features", "F32", 2, {text->n, text->dim}, text->features};
    }
    if (images->n) {
        t[n++] = (StTensor){"image_embeds", "F32", 2, {n_img, d}, rows->embeds};
        t[n++] = (StTensor){"image_features", "F32", 2, {n_img, d}, rows->features};
    }
    if (logits)
        t[n++] = (StTensor){"logits_per_image", "F32", 2, {n_img, text->n}, logits};
    SiglipDeviceInfo dev;
    const char *device = siglip_context_device(job->ctx, &dev) == SIGLIP_OK ? dev.name : "";
    ImageItems items = {images, rows};
    char *text_list = json_array(texts->n, text_item, texts);
    char *image_list = json_array(n_img, row_path_item, &items);
    char *failed = json_array(rows->n_failed, failed_item, &items);
    const char *meta[] = {"texts", text_list, "images", image_list, "failed", failed,
                          "model_dir", job->model_dir, "precision", job->precision, "device", device,
                          "library_version", siglip_version_string(), NULL};
    char msg[512];
    int rc = CLI_OK;
    if (!text_list || !image_list || !failed)
        rc = cli_error("embed: out of memory");
    else if (st_write_with_metadata(path, t, n, meta, msg, sizeof msg))
        rc = cli_error("embed: writing %s: %s", path, msg);
    free(text_list);
    free(image_list);
    free(failed);
    return rc;
}

static int run(const EmbedJob *job, const CliList *texts, const CliList *images, const char *path)
{
    Embeddings text = {0};
    EmbedRows rows = {0};
    float *logits = NULL; /* [images that worked, texts] */
    int rc = CLI_OK;
    if (embeddings_alloc(&text, texts->n, job->info.projection_size))
        rc = cli_error("embed: out of memory");
    if (rc == CLI_OK && images->n)
        rc = embed_rows_alloc(&rows, images->n, job->info.vision_hidden_size);
    if (rc == CLI_OK && texts->n)
        rc = embed_texts(job, texts->items, &text);
    if (rc == CLI_OK && images->n)
        rc = embed_images(job, images->items, path, &rows);
    if (rc == CLI_OK && images->n && rows.n_ok == 0)
        rc = cli_error("embed: none of the %d images could be read", images->n);
    if (rc == CLI_OK && texts->n && rows.n_ok) {
        logits = malloc((size_t)texts->n * (size_t)rows.n_ok * sizeof *logits);
        int st = logits ? siglip_logits(job->model, text.embeds, text.n, rows.embeds, rows.n_ok,
                                        logits, NULL)
                        : SIGLIP_ENOMEM;
        if (st)
            rc = cli_lib_error(job->ctx, st, "embed: logits");
    }
    if (rc == CLI_OK)
        rc = write_outputs(job, path, texts, &text, images, &rows, logits);
    if (rc == CLI_OK && images->n) {
        EmbedJournal j = {0};
        if (asprintf(&j.path, "%s.journal", path) >= 0)
            journal_close(&j, 1); /* the output holds everything now */
        if (rows.n_failed)
            fprintf(stderr, "siglip: embed: %d of %d images embedded, %d skipped (listed in the "
                    "output's __metadata__.failed)\n", rows.n_ok, rows.n, rows.n_failed);
    }
    free(logits);
    embeddings_free(&text);
    embed_rows_free(&rows);
    return rc;
}

static int load_and_run(const CliCommon *c, const EmbedJob *base, const CliList *texts,
                        const CliList *images, const char *out_path)
{
    EmbedJob job = *base;
    job.batch = c->batch;
    job.precision = cli_precision_name(c->precision);
    job.weights = c->precision;
    int r = cli_open_model(c, job.model_dir, job.opt.shape, &job.ctx, &job.model);
    if (r == CLI_OK) {
        siglip_model_info(job.model, &job.info);
        if (texts->n && !job.info.text_hidden_size) /* a classifier, or a vision tower alone */
            r = cli_usage_error(c->cmd, "-t: this model has no text tower");
        else
            r = run(&job, texts, images, out_path);
    }
    siglip_model_free(&job.model);
    siglip_context_close(&job.ctx);
    return r;
}

/* What the options fill besides the common ones. */
typedef struct EmbedArgs {
    EmbedOptions *opt;
    CliList texts, images;
    const char *out_path;
} EmbedArgs;

static int embed_option(void *arg, const CliCommon *c, int opt, char *value)
{
    EmbedArgs *a = arg;
    char *copy = NULL;
    switch (opt) {
    case 'o':
        a->out_path = value;
        return CLI_OK;
    case 't':
        return cli_list_push(&a->texts, value) ? cli_error("embed: out of memory") : CLI_OK;
    case 'i':
        if (!(copy = strdup(value)) || cli_list_push(&a->images, copy)) {
            free(copy);
            return cli_error("embed: out of memory");
        }
        return CLI_OK;
    case OPT_IMAGES_FROM:
        return cli_list_read_lines(&a->images, value) ? CLI_ERROR : CLI_OK;
    default:
        return CLI_NOT_MINE;
    }
}

int cmd_embed(int argc, char **argv)
{
    CliCommon c;
    EmbedJob job = {0};
    const struct option own[] = {
        {"text", required_argument, NULL, 't'},
        {"image", required_argument, NULL, 'i'},
        {"images-from", required_argument, NULL, OPT_IMAGES_FROM},
        {"output", required_argument, NULL, 'o'},
        {"strict", no_argument, &job.opt.strict, 1},
        {"resume", no_argument, &job.opt.resume, 1},
    };
    /* -i paths are duplicated so that one list can also own the lines of --images-from. */
    EmbedArgs a = {.opt = &job.opt, .images = {.owns = 1}};
    CliParser p = {.shortopts = ":hm:t:i:o:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = embed_option, .arg = &a, .shape = &job.opt.shape};
    int r = cli_parse_options(&c, "embed", argc, argv, &p);
    job.model_dir = p.model_dir;
    if (r < 0 && !a.out_path)
        r = cli_usage_error(c.cmd, "-o OUT.safetensors is required");
    if (r < 0 && optind < argc)
        r = cli_usage_error(c.cmd, "unexpected argument '%s' (use -t TEXT or -i IMAGE)",
                            argv[optind]);
    if (r < 0 && !a.texts.n && !a.images.n)
        r = cli_usage_error(c.cmd, "nothing to embed: give -t TEXT, -i IMAGE or --images-from");
    if (r < 0)
        r = load_and_run(&c, &job, &a.texts, &a.images, a.out_path);
    cli_list_free(&a.texts);
    cli_list_free(&a.images);
    return r;
}
