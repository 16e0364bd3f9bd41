/* topk.c — the host top-k engine: blocked dot products over threads, bounded heaps, one merge. */
#include "topk.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rows scored together against every query, so a block stays in cache while the queries pass
 * over it (32 rows of 1152 floats = 144 KiB). */
enum { BLOCK_ROWS = 32 };
/* Below this many rows per thread, starting threads costs more than it saves. */
enum { MIN_ROWS_PER_THREAD = 16384 };

typedef struct HostEngine {
    TopkEngine base;
    const float *matrix; /* [n, dim], borrowed */
    size_t n;
    int dim;
    int threads;
} HostEngine;

/* The search of one thread over rows [begin, end). */
typedef struct Slice {
    const HostEngine *e;
    const float *queries; /* [n_queries, dim] */
    int n_queries;
    int k;
    size_t begin, end;
    TopkHit *heaps;       /* [n_queries, k] min-heaps: the worst kept hit on top */
    int *sizes;           /* [n_queries] */
    pthread_t thread;
    int on_thread;        /* runs on its own thread (else on the caller's) */
} Slice;

/* a is a worse result than b: lower cosine, or the same cosine from a later row. */
static int worse(const TopkHit *a, const TopkHit *b)
{
    return a->cosine < b->cosine || (a->cosine == b->cosine && a->row > b->row);
}

static void sift_down(TopkHit *heap, int size, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < size && worse(&heap[l], &heap[m]))
            m = l;
        if (r < size && worse(&heap[r], &heap[m]))
            m = r;
        if (m == i)
            return;
        TopkHit t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

static void sift_up(TopkHit *heap, int i)
{
    while (i > 0 && worse(&heap[i], &heap[(i - 1) / 2])) {
        TopkHit t = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* Keeps hit when it is among the k best seen so far. */
static void heap_offer(TopkHit *heap, int *size, int k, TopkHit hit)
{
    if (*size < k) {
        heap[*size] = hit;
        sift_up(heap, (*size)++);
    } else if (worse(&heap[0], &hit)) {
        heap[0] = hit;
        sift_down(heap, k, 0);
    }
}

/* The dot products of one row with QB queries at once: the row is loaded once for all of them,
 * which is what bounds a scan for several queries. Four-float vectors (GCC/Clang vector
 * extension; SSE on any x86-64, NEON on ARM) hold the sums, since -O2 does not vectorize a float
 * reduction by itself. */
enum { QB = 4 };
typedef float F4 __attribute__((vector_size(16)));

static F4 load4(const float *p)
{
    F4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void dot_queries(const float *const *q, const float *row, int dim, float *out)
{
    F4 acc[QB][2];
    memset(acc, 0, sizeof acc);
    int i = 0;
    for (; i + 8 <= dim; i += 8) {
        F4 r0 = load4(row + i), r1 = load4(row + i + 4);
        for (int b = 0; b < QB; b++) {
            acc[b][0] += load4(q[b] + i) * r0;
            acc[b][1] += load4(q[b] + i + 4) * r1;
        }
    }
    for (int b = 0; b < QB; b++) {
        F4 a = acc[b][0] + acc[b][1];
        float s = (a[0] + a[2]) + (a[1] + a[3]);
        for (int r = i; r < dim; r++)
            s += q[b][r] * row[r];
        out[b] = s;
    }
}

/* a · b over dim floats, for the queries left over from the blocks of QB. */
static float dot(const float *a, const float *b, int dim)
{
    F4 acc[2];
    memset(acc, 0, sizeof acc);
    int i = 0;
    for (; i + 8 <= dim; i += 8) {
        acc[0] += load4(a + i) * load4(b + i);
        acc[1] += load4(a + i + 4) * load4(b + i + 4);
    }
    F4 v = acc[0] + acc[1];
    float s = (v[0] + v[2]) + (v[1] + v[3]);
    for (; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

static void *run_slice(void *arg)
{
    Slice *s = arg;
    const HostEngine *e = s->e;
    for (size_t r0 = s->begin; r0 < s->end; r0 += BLOCK_ROWS) {
        size_t r1 = s->end - r0 < BLOCK_ROWS ? s->end : r0 + BLOCK_ROWS;
        int q = 0;
        for (; q + QB <= s->n_queries; q += QB) {
            const float *qs[QB];
            for (int b = 0; b < QB; b++)
                qs[b] = s->queries + (size_t)(q + b) * e->dim;
            for (size_t r = r0; r < r1; r++) {
                float scores[QB];
                dot_queries(qs, e->matrix + r * (size_t)e->dim, e->dim, scores);
                for (int b = 0; b < QB; b++)
                    heap_offer(s->heaps + (size_t)(q + b) * s->k, &s->sizes[q + b], s->k,
                               (TopkHit){r, scores[b]});
            }
        }
        for (; q < s->n_queries; q++) {
            const float *query = s->queries + (size_t)q * e->dim;
            TopkHit *heap = s->heaps + (size_t)q * s->k;
            for (size_t r = r0; r < r1; r++) {
                TopkHit hit = {r, dot(query, e->matrix + r * (size_t)e->dim, e->dim)};
                heap_offer(heap, &s->sizes[q], s->k, hit);
            }
        }
    }
    return NULL;
}

static int best_first(const void *a, const void *b)
{
    const TopkHit *x = a, *y = b;
    return worse(y, x) ? -1 : worse(x, y) ? 1 : 0;
}

static int host_search(TopkEngine *base, const float *queries, int n_queries, int k,
                       TopkHit *hits)
{
    HostEngine *e = (HostEngine *)base;
    size_t want = e->n / MIN_ROWS_PER_THREAD;
    int threads = want < 1 ? 1 : want < (size_t)e->threads ? (int)want : e->threads;
    size_t per_thread = (size_t)n_queries * (size_t)k;
    Slice *slices = calloc((size_t)threads, sizeof *slices);
    TopkHit *heaps = malloc((size_t)threads * per_thread * sizeof *heaps);
    int *sizes = calloc((size_t)threads * (size_t)n_queries, sizeof *sizes);
    int rc = slices && heaps && sizes ? 0 : -1;
    for (int t = 0; t < threads && rc == 0; t++) {
        slices[t] = (Slice){.e = e, .queries = queries, .n_queries = n_queries, .k = k,
                            .begin = e->n * (size_t)t / (size_t)threads,
                            .end = e->n * (size_t)(t + 1) / (size_t)threads,
                            .heaps = heaps + t * per_thread,
                            .sizes = sizes + (size_t)t * (size_t)n_queries};
        /* Slice 0 runs on the calling thread, after the others have started (or any whose
         * thread could not be started). */
        slices[t].on_thread = t > 0 && !pthread_create(&slices[t].thread, NULL, run_slice,
                                                       &slices[t]);
    }
    for (int t = 0; t < threads && rc == 0; t++)
        if (!slices[t].on_thread)
            run_slice(&slices[t]);
    for (int t = 0; t < threads && rc == 0; t++)
        if (slices[t].on_thread)
            pthread_join(slices[t].thread, NULL);
    /* Merge: the union of the threads' heaps holds every query's k best. */
    TopkHit *all = rc == 0 ? malloc((size_t)threads * (size_t)k * sizeof *all) : NULL;
    rc = all ? 0 : -1;
    for (int q = 0; q < n_queries && rc == 0; q++) {
        int m = 0;
        for (int t = 0; t < threads; t++) {
            int size = slices[t].sizes[q];
            memcpy(all + m, slices[t].heaps + (size_t)q * k, (size_t)size * sizeof *all);
            m += size;
        }
        qsort(all, (size_t)m, sizeof *all, best_first);
        memcpy(hits + (size_t)q * k, all, (size_t)(m < k ? m : k) * sizeof *all);
    }
    free(all);
    free(sizes);
    free(heaps);
    free(slices);
    return rc;
}

static void host_destroy(TopkEngine *e)
{
    free(e);
}

static const char *host_error(const TopkEngine *e)
{
    (void)e;
    return "out of memory";
}

TopkEngine *topk_host_create(const float *matrix, size_t n, int dim, int threads)
{
    HostEngine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    e->base = (TopkEngine){"host", host_search, host_destroy, host_error};
    e->matrix = matrix;
    e->n = n;
    e->dim = dim;
    e->threads = threads > 0 ? threads : cpus > 0 ? (int)cpus : 1;
    return &e->base;
}
