/* cmd_classify.c — `siglip classify`: zero-shot classification of images against labels, or an
 * image-classification model's own classes. */
#include <stdlib.h>

#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip classify -m MODEL_DIR -l LABEL [-l LABEL ...] [--template T] [--top K]\n"
    "                       [--image-size H[xW]] [--max-patches N] [--json] IMAGE...\n\n"
    "Zero-shot classification as transformers' pipeline(\"zero-shot-image-classification\"): each\n"
    "label's score is sigmoid(logit), labels sorted highest first. With an image-classification\n"
    "model (SiglipForImageClassification) and no -l: its own classes, softmax scores.\n\n"
    "  -m, --model DIR   model directory\n"
    "  -l, --label TEXT  a candidate label (repeat for more)\n"
    "  --template T      hypothesis template, \"{}\" replaced by the label\n"
    "                    (default \"This is a photo of {}.\")\n"
    "  --top K           print only the K best labels per image (default: all)\n"
    "  --image-size H[xW] run the vision tower at H×W pixels (default: the model's), the\n"
    "                    position grid interpolated as transformers' interpolate_pos_encoding\n"
    "  --max-patches N   SigLIP 2 NaFlex models: patch budget per image (default: the\n"
    "                    processor's max_num_patches, 256 on the Hub)\n"
    "  --json            one JSON array: [{\"image\": path, \"results\": [{\"label\", \"score\"}]}]\n";

enum {
    OPT_TEMPLATE = OPT_FIRST_COMMAND_OPTION,
    OPT_TOP,
    OPT_JSON,
};

/* What to print: per image, k (label, score) pairs. */
typedef struct Results {
    char *const *images;
    int n_images;
    int k;                       /* results kept per image */
    int row;                     /* SiglipScore entries per image in scores */
    const SiglipScore *scores;   /* [n_images, row], sorted */
    const char *const *labels;   /* zero-shot labels, or NULL: names from the model */
    const SiglipModel *model;
} Results;

static const char *label_name(const Results *r, int index)
{
    if (r->labels)
        return r->labels[index];
    const char *name = siglip_model_label(r->model, index);
    return name ? name : "?";
}

/* Prints the results of image i of the chunk: JSON (after a comma unless it is the first of the
 * run; the array brackets are the caller's) or a human block. */
static void print_image(const Results *r, int i, int first, int json)
{
    const SiglipScore *row = r->scores + (size_t)i * r->row;
    if (json) {
        printf(first ? "\n{\"image\": " : ",\n{\"image\": ");
        json_string(stdout, r->images[i]);
        printf(", \"results\": [");
        for (int j = 0; j < r->k; j++) {
            printf(j ? ", {\"label\": " : "{\"label\": ");
            json_string(stdout, label_name(r, row[j].label));
            printf(", \"score\": ");
            json_float(stdout, row[j].score);
            printf("}");
        }
        printf("]}");
        return;
    }
    printf("%s\n", r->images[i]);
    for (int j = 0; j < r->k; j++)
        printf("  %.4f  %s\n", row[j].score, label_name(r, row[j].label));
}

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
} ClassifyJob;

/* Runs one chunk of images: zero-shot when labels were given, else the model's classifier. */
static int run_chunk(const ClassifyJob *job, int first, int nb, int row, SiglipScore *scores)
{
    const char *const *paths = (const char *const *)job->images + first;
    int st;
    if (job->labels->n)
        st = siglip_zero_shot(job->model, paths, nb, (const char *const *)job->labels->items,
                              job->labels->n, job->template_, scores);
    else
        st = siglip_classify(job->model, paths, nb, row, scores);
    if (st)
        return cli_lib_error(job->ctx, st, "classify %s%s", paths[0], nb > 1 ? " ..." : "");
    return CLI_OK;
}

/* Classifies the images chunk by chunk, printing each chunk's results as soon as it is done. */
static int run(const ClassifyJob *job, int n_classes)
{
    int zero_shot = job->labels->n > 0;
    /* Zero-shot returns every label sorted; the classifier is asked for top-k only. */
    int row = zero_shot ? n_classes : (job->top > 0 && job->top < n_classes ? job->top : n_classes);
    int k = job->top > 0 && job->top < row ? job->top : row;
    SiglipScore *scores = malloc((size_t)job->batch * (size_t)row * sizeof *scores);
    if (!scores)
        return cli_error("classify: out of memory");
    int rc = CLI_OK;
    if (job->json)
        printf("[");
    for (int i = 0; i < job->n_images && rc == CLI_OK; i += job->batch) {
        int nb = job->n_images - i < job->batch ? job->n_images - i : job->batch;
        rc = run_chunk(job, i, nb, row, scores);
        Results r = {job->images + i, nb, k, row, scores,
                     zero_shot ? (const char *const *)job->labels->items : NULL, job->model};
        for (int j = 0; j < nb && rc == CLI_OK; j++)
            print_image(&r, j, i + j == 0, job->json);
        fflush(stdout); /* results of long runs appear chunk by chunk */
    }
    if (job->json)
        printf("\n]\n");
    free(scores);
    return rc;
}

static int classify_with_model(const ClassifyJob *job_in)
{
    ClassifyJob job = *job_in;
    SiglipModelInfo info;
    siglip_model_info(job.model, &info);
    if (job.labels->n) {
        if (info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION)
            return cli_usage_error("classify", "this model is an image classifier without a text "
                                   "tower; drop -l to use its own %d classes", info.num_labels);
        return run(&job, job.labels->n);
    }
    if (info.architecture != SIGLIP_ARCH_IMAGE_CLASSIFICATION)
        return cli_usage_error("classify", "give candidate labels with -l (the model has no "
                               "classifier of its own)");
    return run(&job, info.num_labels);
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
    case OPT_JSON:
        a->job->json = 1;
        return CLI_OK;
    default:
        return CLI_NOT_MINE;
    }
}

int cmd_classify(int argc, char **argv)
{
    static const struct option own[] = {
        {"label", required_argument, NULL, 'l'},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"top", required_argument, NULL, OPT_TOP},
        {"json", no_argument, NULL, OPT_JSON},
    };
    CliCommon c;
    ClassifyJob job = {0};
    ClassifyArgs a = {.job = &job};
    job.labels = &a.labels;
    CliParser p = {.shortopts = ":hm:l:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = classify_option, .arg = &a, .shape = &a.shape};
    int r = cli_parse_options(&c, "classify", argc, argv, &p);
    if (r < 0 && optind >= argc)
        r = cli_usage_error(c.cmd, "no IMAGE given");
    if (r < 0) {
        r = cli_open_model(&c, p.model_dir, a.shape, &job.ctx, &job.model);
        job.images = argv + optind;
        job.n_images = argc - optind;
        job.batch = c.batch;
        if (r == CLI_OK)
            r = classify_with_model(&job);
    }
    siglip_model_free(&job.model);
    siglip_context_close(&job.ctx);
    cli_list_free(&a.labels);
    return r;
}
