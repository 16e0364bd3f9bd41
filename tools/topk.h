/* topk.h — the k stored embeddings most similar to each query: one small interface, so the host
 * engine (topk.c) and the device GEMM engine (topk_device.c) are interchangeable behind
 * `siglip search` and `siglip serve --index`. */
#ifndef SIGLIP_TOPK_H
#define SIGLIP_TOPK_H

#include <stddef.h>

#include <siglip.h>

/* One result: a row of the matrix and its dot product with the query (= cosine similarity, both
 * being L2-normalized). */
typedef struct TopkHit {
    size_t row;
    float cosine;
} TopkHit;

typedef struct TopkEngine TopkEngine;

/* An engine searches one matrix [n, dim] given at creation. */
struct TopkEngine {
    const char *name;
    /* The k best rows for each of n_queries queries [n_queries, dim], best first (ties: the lower
     * row first): hits [n_queries, k], caller-allocated, 1 <= k <= n. 0, or -1 on failure
     * (out of memory; a device engine's failure is explained by error()). */
    int (*search)(TopkEngine *e, const float *queries, int n_queries, int k, TopkHit *hits);
    void (*destroy)(TopkEngine *e);
    /* Why the last search failed: "out of memory" for the host engine, the library's message for
     * the device engine. Borrowed from the engine. */
    const char *(*error)(const TopkEngine *e);
};

/* The host engine: blocked dot products over `threads` threads (0 = online CPUs), each keeping a
 * bounded heap of k per query, merged at the end. The matrix is borrowed and must outlive the
 * engine. NULL when out of memory. */
TopkEngine *topk_host_create(const float *matrix, size_t n, int dim, int threads);

/* The device engine: the matrix uploaded once to ctx's device (siglip_matrix_create), each search
 * a GEMM scores [n_queries, n] = queries · matrixᵀ there, block by block, with the selection on
 * the host (siglip_matrix_topk). ctx is borrowed, must outlive the engine and be used by one
 * thread at a time with it; the matrix may be freed once this returns. NULL on failure, with
 * the reason in siglip_context_error(ctx). */
TopkEngine *topk_device_create(SiglipContext *ctx, const float *matrix, size_t n, int dim);

/* Which engine `auto` picks: the device engine from this many stored rows on, when the context's
 * device is not a CPU (on a CPU device the host engine reads the same memory without the GEMM's
 * extra pass over the scores; measured in docs/search.md). */
#define TOPK_DEVICE_MIN_ROWS 100000

typedef enum TopkEngineKind { TOPK_AUTO = 0, TOPK_HOST = 1, TOPK_DEVICE = 2 } TopkEngineKind;

/* Parses "auto" | "host" | "device"; -1 for anything else. */
int topk_parse_kind(const char *s);

/* The engine `kind` names for a matrix of n rows (auto: see TOPK_DEVICE_MIN_ROWS), over `threads`
 * host threads or ctx's device. NULL on failure, with the reason in *why (a static string or
 * siglip_context_error(ctx)). */
TopkEngine *topk_create(TopkEngineKind kind, SiglipContext *ctx, const float *matrix, size_t n,
                        int dim, int threads, const char **why);

static inline void topk_destroy(TopkEngine **e)
{
    if (*e)
        (*e)->destroy(*e);
    *e = NULL;
}

#endif /* SIGLIP_TOPK_H */
