/* test_topk.c — the top-k engines of `siglip search` (tools/topk.c on the host, tools/topk_device.c
 * over siglip_matrix_* on the OpenCL device) and the library's siglip_matrix_scores/_topk,
 * against a full sort of dot products computed here in double precision. */
#include <stdint.h>

#include "harness.h"
#include "context.h"
#include "ocl/device.h"
#include "pipeline/matrix.h"
#include "topk.h"

/* float32 sums of up to 800 products of values in [-1, 1): far below this. */
#define COS_ATOL 1e-4

typedef struct Ref {
    size_t row;
    double score;
} Ref;

static int ref_order(const void *a, const void *b)
{
    const Ref *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/* A random problem: m [n, dim], q [nq, dim] in [-1, 1). */
typedef struct Problem {
    size_t n;
    int dim, nq, k;
    float *m, *q;
} Problem;

static Problem make_problem(size_t n, int dim, int nq, int k, uint64_t seed)
{
    SgRng rng = {seed};
    Problem p = {n, dim, nq, k, malloc(n * (size_t)dim * sizeof(float)),
                 malloc((size_t)nq * (size_t)dim * sizeof(float))};
    sg_rng_fill(&rng, p.m, n * (size_t)dim, -1, 1);
    sg_rng_fill(&rng, p.q, (size_t)nq * (size_t)dim, -1, 1);
    return p;
}

static void free_problem(Problem *p)
{
    free(p->m);
    free(p->q);
}

/* hits [nq, k] against the double-precision full sort: each hit's score within COS_ATOL, each
 * row in its place unless its neighbour's score is closer than float rounding. */
static void check_hits(const Problem *p, const TopkHit *hits, const char *what)
{
    Ref *ref = malloc(p->n * sizeof *ref);
    size_t wrong_rows = 0;
    double worst = 0;
    int k = p->k;
    for (int j = 0; j < p->nq; j++) {
        for (size_t r = 0; r < p->n; r++) {
            double s = 0;
            for (int d = 0; d < p->dim; d++)
                s += (double)p->q[(size_t)j * p->dim + d] * p->m[r * p->dim + d];
            ref[r] = (Ref){r, s};
        }
        qsort(ref, p->n, sizeof *ref, ref_order);
        for (int i = 0; i < k; i++) {
            const TopkHit *h = &hits[(size_t)j * k + i];
            double diff = fabs(h->cosine - ref[i].score);
            worst = diff > worst ? diff : worst;
            if (h->row != ref[i].row && fabs(ref[i].score - ref[i + (i + 1 < k)].score) > COS_ATOL &&
                (i == 0 || fabs(ref[i].score - ref[i - 1].score) > COS_ATOL))
                wrong_rows++;
        }
    }
    CHECK(wrong_rows == 0 && worst <= COS_ATOL,
          "%s n=%zu dim=%d nq=%d k=%d: %zu hits out of place, max |cos diff| %.3g", what, p->n,
          p->dim, p->nq, k, wrong_rows, worst);
    free(ref);
}

/* One search through an engine of tools/topk.h: host (threads) or device (ctx). */
static void check_engine(SiglipContext *ctx, size_t n, int dim, int nq, int k, int threads,
                         uint64_t seed)
{
    Problem p = make_problem(n, dim, nq, k, seed);
    TopkHit *hits = malloc((size_t)nq * (size_t)k * sizeof *hits);
    TopkEngine *e =
        ctx ? topk_device_create(ctx, p.m, n, dim) : topk_host_create(p.m, n, dim, threads);
    const char *what = ctx ? "device" : "host";
    CHECK(e && e->search(e, p.q, nq, k, hits) == 0, "%s search n=%zu: %s", what, n,
          e ? e->error(e) : ctx ? siglip_context_error(ctx) : "create");
    if (e)
        check_hits(&p, hits, what);
    topk_destroy(&e);
    CHECK(e == NULL, "destroy clears the handle");
    free(hits);
    free_problem(&p);
}

/* siglip_matrix_topk and _scores on blocks of block_rows rows: many blocks, a short last one,
 * query groups of 64 and a remainder. */
static void check_matrix(SiglipContext *ctx, size_t n, int dim, int nq, int k, size_t block_rows,
                         uint64_t seed)
{
    Problem p = make_problem(n, dim, nq, k, seed);
    size_t nk = (size_t)nq * (size_t)k;
    size_t *ids = malloc(nk * sizeof *ids);
    float *scores = malloc(nk * sizeof *scores);
    float *all = malloc((size_t)nq * n * sizeof *all); /* [nq, n] */
    TopkHit *hits = malloc(nk * sizeof *hits);
    SiglipMatrix *m = NULL;
    int rc = sg_matrix_create_blocks(ctx, p.m, n, dim, block_rows, &m);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    if (rc == SIGLIP_OK) {
        rc = siglip_matrix_topk(m, p.q, nq, k, ids, scores);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        for (size_t i = 0; i < nk; i++)
            hits[i] = (TopkHit){ids[i], scores[i]};
        check_hits(&p, hits, "matrix_topk");
        rc = siglip_matrix_scores(m, p.q, nq, all);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        double worst = 0;
        for (int j = 0; j < nq; j++)
            for (size_t r = 0; r < n; r++) {
                double s = 0;
                for (int d = 0; d < dim; d++)
                    s += (double)p.q[(size_t)j * dim + d] * p.m[r * dim + d];
                double diff = fabs(all[(size_t)j * n + r] - s);
                worst = diff > worst ? diff : worst;
            }
        CHECK(worst <= COS_ATOL, "matrix_scores n=%zu blocks of %zu nq=%d: max diff %.3g", n,
              block_rows, nq, worst);
    }
    siglip_matrix_free(&m);
    CHECK(m == NULL, "free clears the handle");
    free(hits);
    free(all);
    free(scores);
    free(ids);
    free_problem(&p);
}

/* Ties (identical rows rank by row, lowest first, across blocks too), k > n, bad arguments. */
static void check_matrix_edges(SiglipContext *ctx)
{
    enum { N = 7, D = 8, K = 10 };
    float m[N * D] = {0}, q[D] = {1};
    float v[N] = {0.5f, 1.0f, -1.0f, 1.0f, 0.25f, 1.0f, 0.5f};
    for (int r = 0; r < N; r++)
        m[r * D] = v[r];
    SiglipMatrix *mat = NULL;
    int rc = sg_matrix_create_blocks(ctx, m, N, D, 2, &mat); /* blocks of 2: ties span blocks */
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    size_t ids[K];
    float s[K];
    rc = mat ? siglip_matrix_topk(mat, q, 1, K, ids, s) : rc;
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    static const size_t want[K] = {1, 3, 5, 0, 6, 4, 2, SIZE_MAX, SIZE_MAX, SIZE_MAX};
    int same = 1;
    for (int i = 0; i < K; i++)
        same &= ids[i] == want[i] && (i < N ? s[i] == v[want[i]] : isinf(s[i]) && s[i] < 0);
    CHECK(same, "ties by row, k > n padded: %zu %zu %zu %zu %zu %zu %zu %zu", ids[0], ids[1],
          ids[2], ids[3], ids[4], ids[5], ids[6], ids[7]);
    /* A full heap: a later row of an equal score must not displace an earlier one. */
    rc = mat ? siglip_matrix_topk(mat, q, 1, 2, ids, s) : rc;
    CHECK(rc == SIGLIP_OK && ids[0] == 1 && ids[1] == 3, "k = 2 of three equal rows: %zu %zu",
          ids[0], ids[1]);
    CHECK_STATUS(siglip_matrix_topk(mat, q, 1, 0, ids, s), SIGLIP_EINVAL, "k = 0");
    CHECK_STATUS(siglip_matrix_topk(mat, NULL, 1, 1, ids, s), SIGLIP_EINVAL, "no queries");
    CHECK(strstr(siglip_context_error(ctx), "siglip_matrix_topk") != NULL, "message: %s",
          siglip_context_error(ctx));
    CHECK_STATUS(siglip_matrix_scores(mat, q, 0, s), SIGLIP_EINVAL, "no queries");
    siglip_matrix_free(&mat);
    CHECK_STATUS(siglip_matrix_create(ctx, m, 0, D, &mat), SIGLIP_EINVAL, "n = 0");
    CHECK(mat == NULL, "no matrix on failure");
    CHECK_STATUS(siglip_matrix_create(ctx, m, N, 0, &mat), SIGLIP_EINVAL, "dim = 0");
    siglip_matrix_free(NULL);
}

/* The device engine and the matrix API, with each GEMM layout the device can use. */
static void check_device(void)
{
    float m[4 * 8] = {0}, q[8] = {1};
    SiglipSettings s;
    sg_test_settings(&s);
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    if (rc == SIGLIP_OK)
        rc = siglip_context_open_device(ctx);
    CHECK_STATUS(rc, SIGLIP_OK, ctx ? siglip_context_error(ctx) : "");
    for (int layout = SG_GEMM_CLBLAST; layout <= SG_GEMM_PANELS && rc == SIGLIP_OK; layout++) {
        ctx->device->tuning.gemm = (SgGemmPath)layout;
        SiglipMatrix *probe = NULL;
        if (siglip_matrix_create(ctx, m, 4, 8, &probe) == SIGLIP_OK &&
            siglip_matrix_topk(probe, q, 1, 1, (size_t[1]){0}, (float[1]){0}) == SIGLIP_ENOTSUP) {
            printf("layout %s: not in this build, skipped\n", sg_gemm_path_name(layout));
            siglip_matrix_free(&probe);
            continue;
        }
        siglip_matrix_free(&probe);
        printf("layout %s\n", sg_gemm_path_name(layout));
        check_engine(ctx, 1, 3, 1, 1, 0, 11);
        check_engine(ctx, 7, 5, 5, 7, 0, 12);
        check_engine(ctx, 1000, 64, 9, 1000, 0, 13);
        check_engine(ctx, 40000, 48, 6, 25, 0, 14);
        check_matrix(ctx, 1000, 48, 70, 10, 50, 15);  /* 20 blocks of 50; 64 + 6 queries */
        check_matrix(ctx, 1001, 37, 3, 40, 64, 16);   /* a last block of 41, odd dim */
        check_matrix(ctx, 300, 20, 65, 300, 256, 17); /* full ranking over two blocks */
        check_matrix_edges(ctx);
    }
    siglip_context_close(&ctx);
}

/* No argument: the host engine (no OpenCL, so valgrind can run it); "device": the device engine
 * and siglip_matrix_* on the test device. */
int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "device")) {
        check_device();
        return sg_test_finish("test_topk device");
    }
    check_engine(NULL, 1, 3, 1, 1, 1, 1);                 /* one row */
    check_engine(NULL, 7, 5, 5, 7, 0, 2);                 /* k = n, dim not a multiple of 8 */
    check_engine(NULL, 100, 32, 1, 10, 1, 3);
    check_engine(NULL, 1000, 64, 9, 1000, 2, 4);          /* full ranking: every heap path */
    check_engine(NULL, 40000, 48, 1, 10, 2, 5);           /* two threads' heaps merged */
    check_engine(NULL, 40000, 48, 6, 25, 3, 6);           /* query blocks of 4 and a remainder */
    /* Ties: identical rows rank by row index, lowest first. */
    float m[4 * 8] = {0}, q[8] = {1};
    for (int r = 0; r < 4; r++)
        m[r * 8] = r == 2 ? 0.5f : 1.0f;
    TopkHit hits[4];
    TopkEngine *e = topk_host_create(m, 4, 8, 1);
    CHECK(e && e->search(e, q, 1, 4, hits) == 0, "tie search");
    CHECK(hits[0].row == 0 && hits[1].row == 1 && hits[2].row == 3 && hits[3].row == 2,
          "ties by row: %zu %zu %zu %zu", hits[0].row, hits[1].row, hits[2].row, hits[3].row);
    topk_destroy(&e);
    return sg_test_finish("test_topk");
}
