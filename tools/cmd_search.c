/* cmd_search.c — `siglip search`: the indexed images that best match texts or example images. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "index_db.h"
#include "json_out.h"
#include "search_results.h"

static const char usage[] =
    "Usage: siglip search INDEX.sqlite [TEXT...] [--image FILE...] [--top K] [--json]\n"
    "                     [--html PAGE.html] [-m MODEL_DIR] [--engine auto|host|device]\n\n"
    "Finds the images of an index made by `siglip index` that best match each text (\"a dog on\n"
    "the beach\") or each example image, best first. Each hit has the model's probability that\n"
    "image and query match, sigmoid(logit_scale * cosine + logit_bias) (\"score\"; SigLIP was\n"
    "trained on text-image pairs, so for an image query rank by cosine), and the cosine\n"
    "similarity of the two embeddings. The index's embeddings are loaded once for all queries.\n"
    "Queries are embedded in the index's --precision unless --precision is given (which must\n"
    "then be the index's).\n\n"
    "  -m, --model DIR   model directory (default: the one the index was built with); it must\n"
    "                    be the index's model\n"
    "  --image FILE      an example image: find similar ones (repeat for more)\n"
    "  --top K           hits per query (default 10)\n"
    "  --json            one JSON array: [{\"query\", \"type\": \"text\"|\"image\",\n"
    "                    \"results\": [{\"path\", \"score\", \"cosine\"}]}]\n"
    "  --html FILE       also write a page of thumbnails with their scores (self-contained:\n"
    "                    the thumbnails are embedded as JPEG data URIs)\n"
    "  --engine E        top-k engine: host (dot products on the host's CPUs), device (a GEMM\n"
    "                    on the OpenCL device, the matrix uploaded once) or auto (default: the\n"
    "                    device from 100000 rows on when it is not a CPU)\n"
    "  --timing          print on stderr how long loading, encoding and the search took\n\n"
    "--threads N sets the host threads of the top-k as well as of image decoding.\n";

enum { OPT_IMAGE = OPT_FIRST_COMMAND_OPTION, OPT_TOP, OPT_HTML, OPT_ENGINE };

typedef struct SearchOptions {
    const char *index_path;
    const char *model_dir;    /* NULL: the index's */
    CliList texts;            /* borrowed from argv */
    CliList images;           /* borrowed from argv */
    int top;
    int json;
    const char *html;
    int timing;
    TopkEngineKind engine;
} SearchOptions;

typedef struct SearchJob {
    SiglipContext *ctx;
    SiglipModel *model;
    SiglipModelInfo info;
    int threads;              /* --threads: host threads of the top-k too (0 = all CPUs) */
} SearchJob;

/* Query embeddings [n_texts + n_images, dim], texts first. */
static int encode_queries(const SearchJob *job, const SearchOptions *o, float *q)
{
    int dim = job->info.vision_hidden_size, len = job->info.text_max_positions;
    SiglipTokenizer *tok = siglip_model_tokenizer(job->model);
    SiglipImageProcessor *proc = siglip_model_image_processor(job->model);
    int rc = CLI_OK;
    if (o->texts.n && (!tok || job->info.projection_size != dim))
        return cli_error("search: the model can't embed texts comparably to its images "
                         "(no tokenizer, or text width %d vs image width %d)",
                         job->info.projection_size, dim);
    int32_t *ids = NULL, *mask = NULL; /* [1, len] each: queries go one at a time */
    float *pixels = NULL;              /* [1, 3, H, W] */
    if (o->texts.n) {
        ids = malloc((size_t)len * sizeof *ids);
        mask = malloc((size_t)len * sizeof *mask);
        rc = ids && mask ? CLI_OK : cli_error("search: out of memory");
    }
    for (int i = 0; i < o->texts.n && rc == CLI_OK; i++) {
        SiglipTextOutput out = {NULL, q + (size_t)i * dim, NULL};
        const char *text = o->texts.items[i];
        const char *why = NULL;
        int st = siglip_tokenize(tok, &text, 1, len, ids, mask);
        if (st)
            why = siglip_tokenizer_error(tok);
        else if ((st = siglip_encode_text(job->model, ids, mask, 1, &out)))
            why = siglip_context_error(job->ctx);
        if (st)
            rc = cli_msg_error(why, st, "search: embedding \"%s\"", text);
    }
    if (o->images.n && rc == CLI_OK && cli_check_processor("search", job->model, proc))
        rc = CLI_ERROR;
    if (o->images.n && rc == CLI_OK) {
        int h = 0, w = 0;
        siglip_image_processor_size(proc, &h, &w);
        pixels = malloc((size_t)3 * (size_t)h * (size_t)w * sizeof *pixels);
        rc = pixels ? CLI_OK : cli_error("search: out of memory");
    }
    for (int i = 0; i < o->images.n && rc == CLI_OK; i++) {
        SiglipImageOutput out = {NULL, q + (size_t)(o->texts.n + i) * dim, NULL};
        const char *path = o->images.items[i];
        const char *why = NULL;
        int st = siglip_preprocess_files(proc, &path, 1, pixels);
        if (st)
            why = siglip_image_processor_error(proc);
        else if ((st = siglip_encode_image(job->model, pixels, 1, &out)))
            why = siglip_context_error(job->ctx);
        if (st)
            rc = cli_msg_error(why, st, "search: query image %s", path);
    }
    free(ids);
    free(mask);
    free(pixels);
    return rc;
}

static void print_text(const SearchResults *r)
{
    for (int q = 0; q < r->n_queries; q++) {
        const SearchQuery *query = &r->queries[q];
        /* Paths and queries escaped: one line per hit, whatever the file names hold. */
        printf(query->is_image ? "%simage " : "%s\"", q ? "\n" : "");
        cli_print_escaped(stdout, query->text);
        printf(query->is_image ? "\n" : "\"\n");
        for (int j = 0; j < r->k; j++) {
            const TopkHit *h = &r->hits[(size_t)q * r->k + j];
            printf("%4d  %.4f  %+.4f  ", j + 1, search_score(r, h->cosine), h->cosine);
            cli_print_escaped(stdout, r->paths[h->row]);
            putchar('\n');
        }
    }
}

static void print_json(const SearchResults *r)
{
    printf("[");
    for (int q = 0; q < r->n_queries; q++) {
        printf(q ? ",\n{\"query\": " : "\n{\"query\": ");
        json_string(stdout, r->queries[q].text);
        printf(", \"type\": \"%s\", \"results\": [", r->queries[q].is_image ? "image" : "text");
        for (int j = 0; j < r->k; j++) {
            const TopkHit *h = &r->hits[(size_t)q * r->k + j];
            printf(j ? ",\n  {\"path\": " : "\n  {\"path\": ");
            json_string(stdout, r->paths[h->row]);
            printf(", \"score\": ");
            json_float(stdout, search_score(r, h->cosine));
            printf(", \"cosine\": ");
            json_float(stdout, h->cosine);
            printf("}");
        }
        printf("]}");
    }
    printf("\n]\n");
}

/* Runs the queries against the loaded matrix and prints (and draws) the results. */
static int search_matrix(const SearchJob *job, const SearchOptions *o, const IndexMatrix *m,
                         const IndexModel *im)
{
    int n_queries = o->texts.n + o->images.n;
    int k = m->n < (size_t)o->top ? (int)m->n : o->top;
    float *q = malloc((size_t)n_queries * (size_t)m->dim * sizeof *q); /* [n_queries, dim] */
    SearchQuery *queries = calloc((size_t)n_queries, sizeof *queries);
    TopkHit *hits = malloc(((size_t)n_queries * (size_t)k + 1) * sizeof *hits);
    const char *why = "out of memory";
    double t0 = cli_now(), t1 = t0, t2 = t0;
    TopkEngine *engine = m->n ? topk_create(o->engine, job->ctx, m->embeds, m->n, m->dim,
                                            job->threads, &why)
                              : NULL;
    if (engine && o->timing)
        fprintf(stderr, "siglip: search: %s engine ready in %.3f s\n", engine->name,
                cli_now() - t0);
    int rc = !q || !queries || !hits ? cli_error("search: out of memory")
             : !engine && m->n      ? cli_error("search: top-k engine: %s", why)
                                    : CLI_OK;
    t0 = cli_now();
    if (rc == CLI_OK)
        rc = encode_queries(job, o, q);
    t1 = cli_now();
    if (rc == CLI_OK && k > 0 && engine->search(engine, q, n_queries, k, hits))
        rc = cli_error("search: %s", engine->error(engine));
    t2 = cli_now();
    if (rc == CLI_OK && o->timing)
        fprintf(stderr, "siglip: search: %d queries encoded in %.3f s; top-%d of %zu in %.4f s "
                "(%s)\n", n_queries, t1 - t0, k, m->n, t2 - t1, engine ? engine->name : "-");
    for (int i = 0; i < n_queries; i++)
        queries[i] = i < o->texts.n ? (SearchQuery){o->texts.items[i], 0}
                                    : (SearchQuery){o->images.items[i - o->texts.n], 1};
    SearchResults r = {o->index_path, im->name, m->n, queries, n_queries, k, hits,
                       m->paths, im->logit_scale, im->logit_bias};
    if (rc == CLI_OK)
        o->json ? print_json(&r) : print_text(&r);
    if (rc == CLI_OK && o->html)
        rc = html_write_results(o->html, &r);
    topk_destroy(&engine);
    free(hits);
    free(queries);
    free(q);
    return rc;
}

static int run(const CliCommon *c, const SearchOptions *o)
{
    IndexDb db;
    IndexModel stored, model;
    IndexMatrix m = {0};
    SearchJob job = {.threads = c->threads};
    int rc = index_db_open(&db, o->index_path, 0);
    if (rc != CLI_OK)
        return rc;
    int present = 0;
    rc = index_db_read_model(&db, &stored, &present);
    if (rc == CLI_OK && !present)
        rc = cli_error("%s is an empty index", o->index_path);
    const char *dir = o->model_dir ? o->model_dir : stored.dir;
    if (rc == CLI_OK && !o->model_dir && access(dir, F_OK))
        rc = cli_error("%s: the index's model directory %s is gone; name the model with -m DIR",
                       o->index_path, dir);
    /* Queries are embedded in the index's weight precision unless --precision says otherwise
     * (which index_db_check_model then refuses). */
    CliCommon settings = *c;
    if (rc == CLI_OK && !c->precision_given)
        cli_precision_parse(stored.weights, &settings.precision);
    if (rc == CLI_OK)
        rc = cli_open_context(&settings, &job.ctx);
    if (rc == CLI_OK)
        rc = cli_load_model(job.ctx, dir, &job.model);
    if (rc == CLI_OK) {
        siglip_model_info(job.model, &job.info);
        rc = index_model_identify(dir, &job.info, settings.precision, &model);
    }
    if (rc == CLI_OK)
        rc = index_db_check_model(o->index_path, &stored, &model);
    double t0 = cli_now();
    if (rc == CLI_OK)
        rc = index_db_load_matrix(&db, stored.dim, &m);
    if (rc == CLI_OK && o->timing)
        fprintf(stderr, "siglip: search: loaded %zu embeddings of %d floats in %.3f s\n", m.n,
                m.dim, cli_now() - t0);
    index_db_close(&db);
    if (rc == CLI_OK)
        rc = search_matrix(&job, o, &m, &stored);
    index_matrix_free(&m);
    siglip_model_free(&job.model);
    siglip_context_close(&job.ctx);
    return rc;
}

static int search_option(void *arg, const CliCommon *c, int opt, char *value)
{
    SearchOptions *o = arg;
    switch (opt) {
    case OPT_IMAGE:
        return cli_list_push(&o->images, value) ? cli_error("search: out of memory") : CLI_OK;
    case OPT_TOP:
        return cli_parse_int(c->cmd, "--top", value, 1, 1 << 20, &o->top) ? CLI_USAGE : CLI_OK;
    case OPT_HTML:
        o->html = value;
        return CLI_OK;
    case OPT_ENGINE: {
        int kind = topk_parse_kind(value);
        if (kind < 0)
            return cli_usage_error(c->cmd, "--engine must be auto, host or device");
        o->engine = (TopkEngineKind)kind;
        return CLI_OK;
    }
    default:
        return CLI_NOT_MINE;
    }
}

int cmd_search(int argc, char **argv)
{
    CliCommon c;
    SearchOptions o = {.top = 10};
    const struct option own[] = {
        {"image", required_argument, NULL, OPT_IMAGE},
        {"top", required_argument, NULL, OPT_TOP},
        {"json", no_argument, &o.json, 1},
        {"html", required_argument, NULL, OPT_HTML},
        {"timing", no_argument, &o.timing, 1},
        {"engine", required_argument, NULL, OPT_ENGINE},
    };
    CliParser p = {.shortopts = ":hm:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = search_option, .arg = &o, .model_optional = 1};
    int r = cli_parse_options(&c, "search", argc, argv, &p);
    o.model_dir = p.model_dir;
    if (r < 0 && optind < argc)
        o.index_path = argv[optind++];
    for (int i = optind; i < argc && r < 0; i++)
        if (cli_list_push(&o.texts, argv[i]))
            r = cli_error("search: out of memory");
    if (r < 0 && !o.index_path)
        r = cli_usage_error(c.cmd, "INDEX.sqlite is required");
    if (r < 0 && !o.texts.n && !o.images.n)
        r = cli_usage_error(c.cmd, "nothing to search for: give a TEXT or --image FILE");
    if (r < 0)
        r = run(&c, &o);
    cli_list_free(&o.texts);
    cli_list_free(&o.images);
    return r;
}
