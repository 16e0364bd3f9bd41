/* cmd_classify.c — `siglip classify`: zero-shot classification of images against labels, or an
 * image-classification model's own classes; a bad image is reported and skipped. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip classify -m MODEL_DIR -l LABEL [-l LABEL ...] [--template T] [--top K]\n"
    "                       [--image-size H[xW]] [--max-patches N] [--json] [--strict]\n"
    "                       [--timing] IMAGE...\n\n"
    "Zero-shot classification as transformers' pipeline(\"zero-shot-image-classification\"): each\n"
    "label's score is sigmoid(logit), labels sorted highest first. With an image-classification\n"
    "model (SiglipForImageClassification) and no -l: its own classes, softmax scores (sigmoid\n"
    "for a multi-label or one-label classifier, as transformers' image-classification pipeline).\n"
    "An image that can't be read is reported on stderr (and as {\"image\", \"error\"} in --json)\n"
    "and skipped; the exit status is 0 when at least one image was classified.\n\n"
    "  -m, --model DIR   model directory\n"
    "  -l, --label TEXT  a candidate label (repeat for more)\n"
    "  --template T      hypothesis template, \"{}\" replaced by the label\n"
    "                    (default \"This is a photo of {}.\")\n"
    "  --top K           print only the K best labels per image (default: all)\n"
    "  --image-size H[xW] run the vision tower at H×W pixels (default: the model's), the\n"
    "                    position grid interpolated as transformers' interpolate_pos_encoding\n"
    "                    (not for NaFlex models, which take --max-patches)\n"
    "  --max-patches N   SigLIP 2 NaFlex models: patch budget per image (default: the\n"
    "                    processor's max_num_patches, 256 on the Hub)\n"
    "  --json            one JSON array, an entry per image in order: {\"image\": path,\n"
    "                    \"results\": [{\"label\", \"score\"}]}, or {\"image\": path, \"error\": why}\n"
    "  --strict          stop with exit status 1 at the first unreadable image\n"
    "  --timing          print on stderr the time of loading, tokenizing, preprocessing and\n"
    "                    the towers\n";

enum {
    OPT_TEMPLATE = OPT_FIRST_COMMAND_OPTION,
    OPT_TOP,
};

/* Seconds spent, for --timing. */
typedef struct Timing {
    double load, tokenize, preprocess, text_tower, image_tower;
} Timing;

typedef struct ClassifyJob {
    SiglipModel *model;
    SiglipContext *ctx;
    char *const *images;
    int n_images;
    const CliList *labels;
    const char *template_;
    int top;
    int batch;
    int json;
    int strict;
    int timing;
    const CliCommon *common;
    const char *model_dir;
} ClassifyJob;

/* One batch of images [first, first + nb) of the list, decoded (or being decoded). */
typedef struct Batch {
    int first, nb;
    CliImages x;
    SiglipItemStatus *st; /* [batch] each file's outcome */
    int status;           /* the preprocessing call's own library status (not a file's) */
} Batch;

/* Decoding runs on its own thread, one batch ahead of the towers, with an image processor of its
 * own (a host-only one; the model's belongs to the model's context, which the towers use), unless
 * that one would differ from the model's (--image-size): then the model's, on this thread. */
typedef struct Decoder {
    SiglipImageProcessor *proc;
    SiglipImageProcessor *own;
    int serial;
    char *const *paths;
    CliAhead ahead;
    double seconds;    /* preprocessing time, summed */
} Decoder;

static void decode(Decoder *d, Batch *b)
{
    double t0 = cli_now();
    b->status = cli_images_preprocess(&b->x, d->proc, (const char *const *)d->paths + b->first,
                                      b->nb, b->st);
    d->seconds += cli_now() - t0;
}

/* decode() as cli_ahead_start calls it. */
static void decode_ahead(void *d, void *b)
{
    decode(d, b);
}

/* The thread's processor: the directory's, with the model processor's patch budget; used when it
 * makes the same inputs as the model's. */
static int prepare_decoder(const ClassifyJob *job, Decoder *d)
{
    SiglipImageProcessor *model_proc = siglip_model_image_processor(job->model);
    if (!model_proc)
        return cli_error("classify: the model has no image processor");
    if (cli_check_processor("classify", job->model, model_proc))
        return CLI_ERROR;
    d->proc = model_proc;
    d->serial = 1;
    if (cli_load_host(job->common, job->model_dir, NULL, &d->own) != CLI_OK)
        return CLI_ERROR;
    int f1 = 0, f2 = 0, n1 = siglip_image_processor_max_patches(model_proc, &f1);
    if (n1 && siglip_image_processor_set_max_patches(d->own, n1))
        return CLI_OK; /* stays serial */
    int h1, w1, h2, w2, n2 = siglip_image_processor_max_patches(d->own, &f2);
    siglip_image_processor_size(model_proc, &h1, &w1);
    siglip_image_processor_size(d->own, &h2, &w2);
    if (n1 == n2 && f1 == f2 && h1 == h2 && w1 == w2) {
        d->proc = d->own;
        d->serial = 0;
    }
    return CLI_OK;
}

/* Tokenizes the formatted labels and runs the text tower once: embeds [L, D]. */
static int encode_labels(const ClassifyJob *job, int T, float *embeds, Timing *t)
{
    int L = job->labels->n;
    SiglipTokenizer *tok = siglip_model_tokenizer(job->model);
    if (!tok)
        return cli_error("classify: the model directory has no tokenizer");
    CliList texts = {0};
    int32_t *ids = malloc((size_t)L * (size_t)T * sizeof *ids);   /* [L, T] */
    int32_t *mask = malloc((size_t)L * (size_t)T * sizeof *mask); /* [L, T] */
    int rc = CLI_OK;
    if (!ids || !mask || cli_list_format_labels(&texts, job->template_, job->labels->items, L))
        rc = cli_error("classify: out of memory");
    double t0 = cli_now();
    const char *const *items = (const char *const *)texts.items;
    int st = rc == CLI_OK ? siglip_tokenize(tok, items, L, T, ids, mask) : 0;
    if (st)
        rc = cli_msg_error(siglip_tokenizer_error(tok), st, "classify: labels");
    double t1 = cli_now();
    SiglipTextOutput out = {.embeds = embeds};
    if (rc == CLI_OK && (st = siglip_encode_text(job->model, ids, mask, L, &out)))
        rc = cli_lib_error(job->ctx, st, "classify: labels");
    t->tokenize += t1 - t0;
    t->text_tower += cli_now() - t1;
    cli_list_free(&texts);
    free(ids);
    free(mask);
    return rc;
}

/* What a run prints: per image k (label, score) pairs. */
typedef struct Printer {
    int k;                       /* results kept per image */
    int row;                     /* SiglipScore entries per image in scores */
    const char *const *labels;   /* zero-shot labels, or NULL: names from the model */
    const SiglipModel *model;
    int json;
    int printed;                 /* JSON entries so far (for the commas) */
} Printer;

static const char *label_name(const Printer *p, int index)
{
    if (p->labels)
        return p->labels[index];
    const char *name = siglip_model_label(p->model, index);
    return name ? name : "?";
}

/* One image's entry: its sorted scores [row] or, when scores is NULL, its error (JSON only: the
 * human output has it on stderr). */
static void print_image(Printer *p, const char *path, const SiglipScore *scores,
                        const char *error)
{
    if (!p->json) {
        if (!scores)
            return;
        cli_print_escaped(stdout, path);
        putchar('\n');
        /* %.3g: SigLIP's sigmoid scores are often far below 1e-4, which %.4f showed as 0.0000 */
        for (int j = 0; j < p->k; j++) {
            printf("  %-10.3g  ", scores[j].score);
            cli_print_escaped(stdout, label_name(p, scores[j].label));
            putchar('\n');
        }
        return;
    }
    printf(p->printed++ ? ",\n{\"image\": " : "\n{\"image\": ");
    json_string(stdout, path);
    if (!scores) {
        printf(", \"error\": ");
        json_string(stdout, error);
        printf("}");
        return;
    }
    printf(", \"results\": [");
    for (int j = 0; j < p->k; j++) {
        printf(j ? ", {\"label\": " : "{\"label\": ");
        json_string(stdout, label_name(p, scores[j].label));
        printf(", \"score\": ");
        json_float(stdout, scores[j].score);
        printf("}");
    }
    printf("]}");
}

/* Buffers of a run: the labels' embeds and one batch's image embeds, logits and scores. */
typedef struct Run {
    const ClassifyJob *job;
    Printer printer;
    int L;                   /* logits per image: labels, or the classifier's classes */
    SiglipScoring scoring;   /* sigmoid (zero-shot, multi-label) or softmax */
    float *text_embeds;      /* [labels, D] (zero-shot) */
    float *image_embeds;     /* [batch, D] */
    float *logits;           /* [batch, L] */
    SiglipScore *scores;     /* [L] */
    int ok, failed;
    Timing *timing;
    const SiglipImageProcessor *proc; /* the decoder's: it keeps the message of a failed call */
} Run;

/* Runs the towers on the readable images of a decoded batch and prints every image's entry. */
static int classify_batch(Run *r, Batch *b)
{
    const ClassifyJob *job = r->job;
    if (b->status)
        return cli_msg_error(siglip_image_processor_error(r->proc), b->status,
                             "classify: images %d..%d", b->first + 1, b->first + b->nb);
    int k = 0;
    for (int j = 0; j < b->nb; j++) {
        if (!b->st[j].status) {
            cli_images_move(&b->x, j, k++);
            continue;
        }
        fprintf(stderr, "siglip: classify: skipping image %d: %s\n", b->first + j + 1,
                b->st[j].message);
        if (job->strict)
            return cli_error("classify: stopping at the unreadable image %d (--strict)",
                             b->first + j + 1);
    }
    double t0 = cli_now();
    int st = SIGLIP_OK;
    if (k && job->labels->n) {
        SiglipImageOutput o = {NULL, r->image_embeds, NULL};
        st = cli_images_encode(&b->x, job->model, k, &o);
        if (!st)
            st = siglip_logits(job->model, r->text_embeds, r->L, r->image_embeds, k, r->logits,
                               NULL);
    } else if (k) {
        st = cli_images_classify(&b->x, job->model, k, r->logits);
    }
    r->timing->image_tower += cli_now() - t0;
    if (st)
        return cli_lib_error(job->ctx, st, "classify: images %d..%d", b->first + 1,
                             b->first + b->nb);
    for (int j = 0, good = 0; j < b->nb; j++) {
        const char *path = job->images[b->first + j];
        if (b->st[j].status) {
            print_image(&r->printer, path, NULL, b->st[j].message);
            r->failed++;
            continue;
        }
        siglip_score_logits(r->logits + (size_t)good++ * r->L, r->L,
                            r->scoring,
                            r->scores);
        print_image(&r->printer, path, r->scores, NULL);
        r->ok++;
    }
    fflush(stdout); /* results of long runs appear batch by batch */
    return CLI_OK;
}

/* Batch i goes through the towers while batch i + 1 is decoded. */
static int classify_all(Run *r, Decoder *d, Batch *batches)
{
    const ClassifyJob *job = r->job;
    int rc = CLI_OK, cur = 0, n = job->n_images;
    batches[0] = (Batch){0, n < job->batch ? n : job->batch, batches[0].x, batches[0].st, 0};
    decode(d, &batches[0]);
    for (int at = 0; at < n && rc == CLI_OK; at += job->batch, cur ^= 1) {
        Batch *now = &batches[cur], *next = &batches[cur ^ 1];
        if (at + job->batch < n) {
            int first = at + job->batch;
            *next = (Batch){first, n - first < job->batch ? n - first : job->batch, next->x,
                            next->st, 0};
            cli_ahead_start(&d->ahead, d->serial, decode_ahead, d, next);
        }
        rc = classify_batch(r, now);
        cli_ahead_wait(&d->ahead);
    }
    return rc;
}

static void print_timing(const Timing *t, const Decoder *d, int n)
{
    fprintf(stderr, "siglip: classify: load %.3f s, tokenize %.4f s, preprocess %.3f s (%s), "
            "towers %.3f s (text %.3f s once, image %.3f s) for %d images\n", t->load,
            t->tokenize, d->seconds, d->serial ? "before the towers" : "overlapping the towers",
            t->text_tower + t->image_tower, t->text_tower, t->image_tower, n);
}

static int run(const ClassifyJob *job, int n_classes, Timing *t)
{
    SiglipModelInfo info;
    siglip_model_info(job->model, &info);
    int zero_shot = job->labels->n > 0, L = n_classes;
    int k = job->top > 0 && job->top < L ? job->top : L;
    size_t D = (size_t)(zero_shot ? info.projection_size : 1), B = (size_t)job->batch;
    Run r = {job, {k, L, zero_shot ? (const char *const *)job->labels->items : NULL, job->model,
                   job->json, 0}, L,
             zero_shot ? SIGLIP_SCORE_SIGMOID : (SiglipScoring)info.class_scoring,
             NULL, NULL, NULL, NULL, 0, 0, t, NULL};
    Decoder d = {.paths = job->images};
    Batch batches[2] = {0};
    r.text_embeds = malloc((size_t)L * D * sizeof(float));
    r.image_embeds = malloc(B * D * sizeof(float));
    r.logits = malloc(B * (size_t)L * sizeof(float));
    r.scores = malloc((size_t)L * sizeof *r.scores);
    int rc = r.text_embeds && r.image_embeds && r.logits && r.scores
                 ? CLI_OK : cli_error("classify: out of memory");
    for (int i = 0; i < 2 && rc == CLI_OK; i++) {
        batches[i].st = malloc(B * sizeof *batches[i].st);
        if (cli_images_alloc(job->model, job->batch, &batches[i].x) || !batches[i].st)
            rc = cli_error("classify: out of memory for a batch of %d images", job->batch);
    }
    if (rc == CLI_OK)
        rc = prepare_decoder(job, &d);
    r.proc = d.proc;
    if (rc == CLI_OK && zero_shot) /* once per run, whatever the number of batches */
        rc = encode_labels(job, info.text_max_positions, r.text_embeds, t);
    if (job->json)
        printf("[");
    if (rc == CLI_OK)
        rc = classify_all(&r, &d, batches);
    if (job->json)
        printf("\n]\n");
    if (rc == CLI_OK && !r.ok)
        rc = cli_error("classify: none of the %d images could be read", job->n_images);
    else if (rc == CLI_OK && r.failed)
        fprintf(stderr, "siglip: classify: %d of %d images classified, %d skipped\n", r.ok,
                job->n_images, r.failed);
    if (rc == CLI_OK && job->timing)
        print_timing(t, &d, r.ok);
    for (int i = 0; i < 2; i++) {
        cli_images_free(&batches[i].x);
        free(batches[i].st);
    }
    siglip_image_processor_free(&d.own);
    free(r.text_embeds);
    free(r.image_embeds);
    free(r.logits);
    free(r.scores);
    return rc;
}

static int classify_with_model(const ClassifyJob *job, Timing *t)
{
    SiglipModelInfo info;
    siglip_model_info(job->model, &info);
    if (job->labels->n) {
        if (info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION)
            return cli_usage_error("classify", "this model is an image classifier without a text "
                                   "tower; drop -l to use its own %d classes", info.num_labels);
        if (!info.text_hidden_size)
            return cli_usage_error("classify", "this model is a vision tower alone: it has no "
                                   "text tower for -l labels");
        if (job->labels->n > SIGLIP_MAX_BATCH)
            return cli_usage_error("classify", "%d labels: at most %d", job->labels->n,
                                   SIGLIP_MAX_BATCH);
        return run(job, job->labels->n, t);
    }
    if (info.architecture != SIGLIP_ARCH_IMAGE_CLASSIFICATION)
        return cli_usage_error("classify", "give candidate labels with -l (the model has no "
                               "classifier of its own)");
    return run(job, info.num_labels, t);
}

/* What the options fill besides the common ones. */
typedef struct ClassifyArgs {
    ClassifyJob *job;
    CliList labels;
    CliModelShape shape;
} ClassifyArgs;

static int classify_option(void *arg, const CliCommon *c, int opt, char *value)
{
    ClassifyArgs *a = arg;
    switch (opt) {
    case 'l':
        return cli_list_push(&a->labels, value) ? cli_error("classify: out of memory")
                                                        : CLI_OK;
    case OPT_TEMPLATE:
        a->job->template_ = value;
        return CLI_OK;
    case OPT_TOP:
        return cli_parse_int(c->cmd, "--top", value, 1, 1 << 20, &a->job->top) ? CLI_USAGE
                                                                               : CLI_OK;
    default:
        return CLI_NOT_MINE;
    }
}

int cmd_classify(int argc, char **argv)
{
    CliCommon c;
    ClassifyJob job = {0};
    const struct option own[] = {
        {"label", required_argument, NULL, 'l'},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"top", required_argument, NULL, OPT_TOP},
        {"json", no_argument, &job.json, 1},
        {"strict", no_argument, &job.strict, 1},
        {"timing", no_argument, &job.timing, 1},
    };
    ClassifyArgs a = {.job = &job};
    job.labels = &a.labels;
    CliParser p = {.shortopts = ":hm:l:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = classify_option, .arg = &a, .shape = &a.shape};
    int r = cli_parse_options(&c, "classify", argc, argv, &p);
    if (r < 0 && optind >= argc)
        r = cli_usage_error(c.cmd, "no IMAGE given");
    if (r < 0) {
        Timing t = {0};
        double t0 = cli_now();
        r = cli_open_model(&c, p.model_dir, a.shape, &job.ctx, &job.model);
        t.load = cli_now() - t0;
        job.images = argv + optind;
        job.n_images = argc - optind;
        job.batch = c.batch;
        job.common = &c;
        job.model_dir = p.model_dir;
        if (r == CLI_OK)
            r = classify_with_model(&job, &t);
    }
    siglip_model_free(&job.model);
    siglip_context_close(&job.ctx);
    cli_list_free(&a.labels);
    return r;
}
