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
    OPT_IMAGE_SIZE,
    OPT_MAX_PATCHES,
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

int cmd_classify(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, 'm'},
        {"label", required_argument, NULL, 'l'},
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"top", required_argument, NULL, OPT_TOP},
        {"json", no_argument, NULL, OPT_JSON},
        {"image-size", required_argument, NULL, OPT_IMAGE_SIZE},
        {"max-patches", required_argument, NULL, OPT_MAX_PATCHES},
        {0, 0, 0, 0},
    };
    CliCommon c;
    cli_common_init(&c, "classify");
    CliList labels = {0};
    ClassifyJob job = {.labels = &labels};
    const char *model_dir = NULL;
    int opt, r = -1, image_h = 0, image_w = 0, max_patches = 0;
    while (r < 0 && (opt = getopt_long(argc, argv, ":hm:l:", longopts, NULL)) != -1) {
        int common = cli_common_option(&c, opt, optarg);
        if (common == CLI_USAGE)
            r = CLI_USAGE;
        else if (common)
            continue;
        else if (opt == 'm')
            model_dir = optarg;
        else if (opt == 'l') {
            if (cli_list_push(&labels, optarg))
                r = cli_error("classify: out of memory");
        } else if (opt == OPT_TEMPLATE)
            job.template_ = optarg;
        else if (opt == OPT_TOP) {
            if (cli_parse_int(c.cmd, "--top", optarg, 1, 1 << 20, &job.top))
                r = CLI_USAGE;
        } else if (opt == OPT_JSON)
            job.json = 1;
        else if (opt == OPT_IMAGE_SIZE) {
            if (cli_parse_image_size(c.cmd, optarg, &image_h, &image_w))
                r = CLI_USAGE;
        } else if (opt == OPT_MAX_PATCHES) {
            if (cli_parse_int(c.cmd, "--max-patches", optarg, 1, 65536, &max_patches))
                r = CLI_USAGE;
        } else
            r = cli_getopt_error(c.cmd, opt, argv);
    }
    if (r < 0)
        r = cli_help_or_version(&c, usage);
    if (r < 0 && !model_dir)
        r = cli_usage_error(c.cmd, "-m MODEL_DIR is required");
    if (r < 0 && optind >= argc)
        r = cli_usage_error(c.cmd, "no IMAGE given");
    if (r >= 0) {
        cli_list_free(&labels);
        return r;
    }

    SiglipContext *ctx = NULL;
    r = cli_open_context(&c, &ctx);
    if (r == CLI_OK)
        r = cli_load_model(ctx, model_dir, &job.model);
    if (r == CLI_OK)
        r = cli_apply_image_size(ctx, job.model, image_h, image_w);
    if (r == CLI_OK)
        r = cli_apply_max_patches(ctx, job.model, max_patches);
    if (r == CLI_OK) {
        job.ctx = ctx;
        job.images = argv + optind;
        job.n_images = argc - optind;
        job.batch = c.batch;
        r = classify_with_model(&job);
    }
    siglip_model_free(&job.model);
    siglip_context_close(&ctx);
    cli_list_free(&labels);
    return r;
}
