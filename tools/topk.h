/* topk.h — the k stored embeddings most similar to each query: one small interface, so the host
 * path here and a device GEMM path later are interchangeable behind `siglip search`. */
#ifndef SIGLIP_TOPK_H
#define SIGLIP_TOPK_H

#include <stddef.h>

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
     * row first): hits [n_queries, k], caller-allocated, 1 <= k <= n. 0, or -1 when out of
     * memory. */
    int (*search)(TopkEngine *e, const float *queries, int n_queries, int k, TopkHit *hits);
    void (*destroy)(TopkEngine *e);
};

/* The host engine: blocked dot products over `threads` threads (0 = online CPUs), each keeping a
 * bounded heap of k per query, merged at the end. The matrix is borrowed and must outlive the
 * engine. NULL when out of memory. */
TopkEngine *topk_host_create(const float *matrix, size_t n, int dim, int threads);

/* A device engine (a GEMM scores[n_queries, n] = queries · matrixᵀ on the OpenCL device, then a
 * per-query selection) plugs in here once the library exposes a GEMM on device-resident data. */

static inline void topk_destroy(TopkEngine **e)
{
    if (*e)
        (*e)->destroy(*e);
    *e = NULL;
}

#endif /* SIGLIP_TOPK_H */
