/* cmd_preprocess.c — `siglip preprocess`: pixel_values of images written to a .safetensors file
 * (with pixel_attention_mask and spatial_shapes for a SigLIP 2 NaFlex processor). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "st_writer.h"

static const char usage[] =
    "Usage: siglip preprocess -m MODEL_DIR -o OUT.safetensors [--max-patches N] [--strict]\n"
    "                         IMAGE...\n\n"
    "Decodes and preprocesses each IMAGE with the model's image processor (its\n"
    "preprocessor_config.json / processor_config.json) and writes pixel_values [N, 3, H, W] F32;\n"
    "for a SigLIP 2 NaFlex processor, as Siglip2ImageProcessor returns them, pixel_values\n"
    "[N, max_num_patches, C*P*P] F32, pixel_attention_mask [N, max_num_patches] I32 and\n"
    "spatial_shapes [N, 2] I32. An unreadable image is reported on stderr and skipped: the rows\n"
    "are the images that worked, named in the output's __metadata__.images, the others listed\n"
    "with why in __metadata__.failed. Exit status 1 when none could be read.\n"
    "No OpenCL device is needed.\n\n"
    "  -m, --model DIR   model directory\n"
    "  -o, --output FILE output .safetensors file\n"
    "  --max-patches N   SigLIP 2 NaFlex processors: patch budget per image (default: the\n"
    "                    processor's max_num_patches)\n"
    "  --strict          stop with exit status 1 at the first unreadable image\n";

/* The outputs: the readable images' rows packed in input order, and the failures. */
typedef struct Rows {
    int N;                   /* NaFlex: patch rows per image (0: fixed size) */
    size_t per_image;        /* floats of one image's pixel_values */
    float *pixels;           /* [n, per_image] */
    int32_t *mask, *shapes;  /* NaFlex: [n, N], [n, 2] */
    SiglipItemStatus *st;    /* [batch]: the chunk's outcomes */
    int *ok;                 /* [n]: input index of each row */
    int n_ok;
    int *failed;             /* [n]: input index of each failure */
    char **why;              /* [n]: its message (owned) */
    int n_failed;
} Rows;

static void rows_free(Rows *r)
{
    for (int i = 0; i < r->n_failed; i++)
        free(r->why[i]);
    free(r->pixels);
    free(r->mask);
    free(r->shapes);
    free(r->st);
    free(r->ok);
    free(r->failed);
    free(r->why);
}

static int rows_alloc(Rows *r, SiglipImageProcessor *proc, int n, int batch)
{
    int floats = 0, h = 0, w = 0;
    memset(r, 0, sizeof *r);
    r->N = siglip_image_processor_max_patches(proc, &floats);
    siglip_image_processor_size(proc, &h, &w);
    r->per_image = r->N ? (size_t)r->N * (size_t)floats : (size_t)3 * (size_t)h * (size_t)w;
    size_t count = cli_array_size((size_t)n, r->per_image), un = (size_t)n;
    r->pixels = count ? malloc(count * sizeof *r->pixels) : NULL;
    r->mask = malloc((un * (size_t)r->N + 1) * sizeof *r->mask);
    r->shapes = malloc((un * 2 + 1) * sizeof *r->shapes);
    r->st = calloc((size_t)batch, sizeof *r->st);
    r->ok = malloc(un * sizeof *r->ok);
    r->failed = malloc(un * sizeof *r->failed);
    r->why = calloc(un, sizeof *r->why);
    return r->pixels && r->mask && r->shapes && r->st && r->ok && r->failed && r->why ? 0 : -1;
}

/* Preprocesses images [first, first + nb) into the rows from n_ok on (failed ones zero). */
static int preprocess_chunk(SiglipImageProcessor *proc, Rows *r, char *const *paths, int nb)
{
    const char *const *p = (const char *const *)paths;
    size_t at = (size_t)r->n_ok;
    if (!r->N)
        return siglip_preprocess_files_each(proc, p, nb, r->pixels + at * r->per_image, r->st);
    SiglipPatches out = {r->N, r->pixels + at * r->per_image, r->mask + at * (size_t)r->N,
                         r->shapes + 2 * at};
    return siglip_preprocess_files_patches(proc, p, nb, &out, r->st);
}

/* Keeps the chunk's readable images as the next rows and records the others. */
static int keep_chunk(Rows *r, int first, int nb, int strict)
{
    size_t N = (size_t)r->N;
    int base = r->n_ok;
    for (int j = 0; j < nb; j++) {
        const SiglipItemStatus *s = &r->st[j];
        if (s->status) {
            if (strict)
                return cli_error("preprocess: stopping at the unreadable image %d: %s "
                                 "(--strict)", first + j + 1, s->message);
            fprintf(stderr, "siglip: preprocess: skipping image %d: %s\n", first + j + 1,
                    s->message);
            r->failed[r->n_failed] = first + j;
            if (!(r->why[r->n_failed++] = strdup(s->message)))
                return cli_error("preprocess: out of memory");
            continue;
        }
        size_t from = (size_t)(base + j), to = (size_t)r->n_ok;
        if (from != to) {
            memmove(r->pixels + to * r->per_image, r->pixels + from * r->per_image,
                    r->per_image * sizeof *r->pixels);
            memmove(r->mask + to * N, r->mask + from * N, N * sizeof *r->mask);
            memmove(r->shapes + 2 * to, r->shapes + 2 * from, 2 * sizeof *r->shapes);
        }
        r->ok[r->n_ok++] = first + j;
    }
    return CLI_OK;
}

typedef struct Named {
    char *const *paths;
    const Rows *rows;
} Named;

static void image_item(FILE *f, int i, const void *ctx)
{
    const Named *n = ctx;
    json_string(f, n->paths[n->rows->ok[i]]);
}

/* {"path": ..., "error": ...} of a failed image */
static void failed_item(FILE *f, int i, const void *ctx)
{
    const Named *n = ctx;
    fputs("{\"path\":", f);
    json_string(f, n->paths[n->rows->failed[i]]);
    fputs(",\"error\":", f);
    json_string(f, n->rows->why[i]);
    fputc('}', f);
}

static int write_rows(const Rows *r, char *const *paths, SiglipImageProcessor *proc,
                      const char *out_path)
{
    int n = r->n_ok, h = 0, w = 0;
    siglip_image_processor_size(proc, &h, &w);
    StTensor t[3] = {{"pixel_values", "F32", 4, {n, 3, h, w}, r->pixels}};
    int n_t = 1;
    if (r->N) {
        t[0] = (StTensor){"pixel_values", "F32", 3, {n, r->N, (int64_t)(r->per_image / r->N)},
                          r->pixels};
        t[n_t++] = (StTensor){"pixel_attention_mask", "I32", 2, {n, r->N}, r->mask};
        t[n_t++] = (StTensor){"spatial_shapes", "I32", 2, {n, 2}, r->shapes};
    }
    Named named = {paths, r};
    char *images = json_array(n, image_item, &named);
    char *failed = json_array(r->n_failed, failed_item, &named);
    const char *meta[] = {"images", images, "failed", failed, "library_version",
                          siglip_version_string(), NULL};
    char msg[512];
    int rc = CLI_OK;
    if (!images || !failed)
        rc = cli_error("preprocess: out of memory");
    else if (st_write_with_metadata(out_path, t, n_t, meta, msg, sizeof msg))
        rc = cli_error("preprocess: writing %s: %s", out_path, msg);
    free(images);
    free(failed);
    return rc;
}

static int run(SiglipImageProcessor *proc, char *const *paths, int n, int batch, int strict,
               const char *out_path)
{
    Rows r;
    int rc = CLI_OK;
    if (rows_alloc(&r, proc, n, batch))
        rc = cli_error("preprocess: out of memory for %d images", n);
    CliProgress progress;
    cli_progress_start(&progress, n, "images");
    for (int i = 0; i < n && rc == CLI_OK; i += batch) {
        int nb = n - i < batch ? n - i : batch;
        int st = preprocess_chunk(proc, &r, paths + i, nb);
        rc = st ? cli_msg_error(siglip_image_processor_error(proc), st, "preprocess")
                : keep_chunk(&r, i, nb, strict);
        cli_progress_update(&progress, i + nb);
    }
    cli_progress_end(&progress);
    if (rc == CLI_OK && !r.n_ok)
        rc = cli_error("preprocess: none of the %d images could be read", n);
    if (rc == CLI_OK)
        rc = write_rows(&r, paths, proc, out_path);
    if (rc == CLI_OK && r.n_failed)
        fprintf(stderr, "siglip: preprocess: %d of %d images written, %d skipped (listed in the "
                        "output's __metadata__.failed)\n", r.n_ok, n, r.n_failed);
    rows_free(&r);
    return rc;
}

typedef struct PreprocessArgs {
    const char *out_path;
    int strict;
    int max_patches;
} PreprocessArgs;

static int preprocess_option(void *arg, const CliCommon *c, int opt, char *value)
{
    PreprocessArgs *a = arg;
    if (opt == 'o') {
        a->out_path = value;
        return CLI_OK;
    }
    if (opt != OPT_MAX_PATCHES)
        return CLI_NOT_MINE;
    return cli_parse_int(c->cmd, "--max-patches", value, 1, 65536, &a->max_patches) ? CLI_USAGE
                                                                                      : CLI_OK;
}

int cmd_preprocess(int argc, char **argv)
{
    CliCommon c;
    PreprocessArgs a = {0};
    const struct option own[] = {
        {"output", required_argument, NULL, 'o'},
        {"strict", no_argument, &a.strict, 1},
        {"max-patches", required_argument, NULL, OPT_MAX_PATCHES},
    };
    CliParser p = {.shortopts = ":hm:o:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = preprocess_option, .arg = &a};
    int r = cli_parse_options(&c, "preprocess", argc, argv, &p);
    if (r >= 0)
        return r;
    if (!a.out_path)
        return cli_usage_error(c.cmd, "-o OUT.safetensors is required");
    if (optind >= argc)
        return cli_usage_error(c.cmd, "no IMAGE given");
    SiglipImageProcessor *proc = NULL;
    r = cli_load_host(&c, p.model_dir, NULL, &proc);
    if (r == CLI_OK)
        r = cli_set_max_patches(proc, a.max_patches);
    if (r == CLI_OK)
        r = run(proc, argv + optind, argc - optind, c.batch, a.strict, a.out_path);
    siglip_image_processor_free(&proc);
    return r;
}
