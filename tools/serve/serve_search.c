/* serve_search.c — the photo index behind `siglip serve --index`: loaded once at start (the same
 * checks as `siglip search`), searched by one top-k engine that the connection threads share. */
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "../index_db.h"
#include "json_out.h"
#include "../search_results.h"
#include "../topk.h"
#include "serve.h"

struct SearchIndex {
    IndexMatrix matrix;       /* [n, dim] and the paths, owned */
    IndexModel model;         /* the index's meta: logit scale and bias */
    SiglipContext *ctx;       /* the device engine's own context (not the worker's); or NULL */
    TopkEngine *engine;
    pthread_mutex_t lock;     /* one search at a time on the engine */
};

/* Reads the index and checks that it was made with the served model. */
static int load_index(SearchIndex *idx, const SearchIndexConfig *cfg)
{
    IndexDb db;
    IndexModel served;
    int present = 0;
    int rc = index_db_open(&db, cfg->path, 0);
    if (rc != CLI_OK)
        return rc;
    rc = index_db_read_model(&db, &idx->model, &present);
    if (rc == CLI_OK && !present)
        rc = cli_error("serve: --index %s is an empty index", cfg->path);
    if (rc == CLI_OK)
        rc = index_model_identify(cfg->model_dir, cfg->info, cfg->common->precision,
                                  &served);
    if (rc == CLI_OK)
        rc = index_db_check_model(cfg->path, &idx->model, &served);
    if (rc == CLI_OK)
        rc = index_db_load_matrix(&db, idx->model.dim, &idx->matrix);
    index_db_close(&db);
    if (rc == CLI_OK && !idx->matrix.n)
        rc = cli_error("serve: --index %s holds no embeddings", cfg->path);
    return rc;
}

int search_index_open(SearchIndex **out, const SearchIndexConfig *cfg)
{
    SearchIndex *idx = calloc(1, sizeof *idx);
    if (!idx || pthread_mutex_init(&idx->lock, NULL)) {
        free(idx);
        return cli_error("serve: out of memory");
    }
    *out = idx;
    int rc = load_index(idx, cfg);
    if (rc == CLI_OK && cfg->engine != TOPK_HOST)
        rc = cli_open_context(cfg->common, &idx->ctx);
    const char *why = "out of memory";
    if (rc == CLI_OK &&
        !(idx->engine = topk_create((TopkEngineKind)cfg->engine, idx->ctx, idx->matrix.embeds,
                                    idx->matrix.n, idx->matrix.dim, cfg->common->threads, &why)))
        rc = cli_error("serve: --index %s: top-k engine: %s", cfg->path, why);
    if (rc != CLI_OK)
        search_index_free(out);
    return rc;
}

void search_index_free(SearchIndex **pidx)
{
    SearchIndex *idx = *pidx;
    if (!idx)
        return;
    topk_destroy(&idx->engine);
    siglip_context_close(&idx->ctx);
    index_matrix_free(&idx->matrix);
    pthread_mutex_destroy(&idx->lock);
    free(idx);
    *pidx = NULL;
}

size_t search_index_rows(const SearchIndex *idx)
{
    return idx->matrix.n;
}

const char *search_index_engine(const SearchIndex *idx)
{
    return idx->engine->name;
}

int search_index_answer(SearchIndex *idx, const float *query, int k, FILE *f, char *error,
                        size_t esize)
{
    if ((size_t)k > idx->matrix.n)
        k = (int)idx->matrix.n;
    TopkHit *hits = malloc((size_t)k * sizeof *hits);
    if (!hits) {
        snprintf(error, esize, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&idx->lock);
    int rc = idx->engine->search(idx->engine, query, 1, k, hits);
    if (rc)
        snprintf(error, esize, "search: %s", idx->engine->error(idx->engine));
    pthread_mutex_unlock(&idx->lock);
    for (int j = 0; j < k && !rc; j++) {
        fputs(j ? ", {\"path\": " : "{\"path\": ", f);
        json_string(f, idx->matrix.paths[hits[j].row]);
        fputs(", \"score\": ", f);
        json_float(f, search_probability(idx->model.logit_scale, idx->model.logit_bias,
                                         hits[j].cosine));
        fputs(", \"cosine\": ", f);
        json_float(f, hits[j].cosine);
        fputc('}', f);
    }
    free(hits);
    return rc;
}
