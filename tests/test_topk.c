/* test_topk.c — the host top-k engine of `siglip search` (tools/topk.c) against a full sort of
 * dot products computed here in double precision. */
#include "harness.h"
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

/* One search: n rows of dim, nq queries, k hits each, over `threads` threads. */
static void check_search(size_t n, int dim, int nq, int k, int threads, uint64_t seed)
{
    SgRng rng = {seed};
    float *m = malloc(n * (size_t)dim * sizeof *m);         /* [n, dim] */
    float *q = malloc((size_t)nq * (size_t)dim * sizeof *q); /* [nq, dim] */
    TopkHit *hits = malloc((size_t)nq * (size_t)k * sizeof *hits);
    Ref *ref = malloc(n * sizeof *ref);
    sg_rng_fill(&rng, m, n * (size_t)dim, -1, 1);
    sg_rng_fill(&rng, q, (size_t)nq * (size_t)dim, -1, 1);
    TopkEngine *e = topk_host_create(m, n, dim, threads);
    CHECK(e && e->search(e, q, nq, k, hits) == 0, "search n=%zu", n);
    size_t wrong_rows = 0;
    double worst = 0;
    for (int j = 0; j < nq && e; j++) {
        for (size_t r = 0; r < n; r++) {
            double s = 0;
            for (int d = 0; d < dim; d++)
                s += (double)q[(size_t)j * dim + d] * m[r * dim + d];
            ref[r] = (Ref){r, s};
        }
        qsort(ref, n, sizeof *ref, ref_order);
        for (int i = 0; i < k; i++) {
            const TopkHit *h = &hits[(size_t)j * k + i];
            double diff = fabs(h->cosine - ref[i].score);
            worst = diff > worst ? diff : worst;
            /* Rows whose scores are closer than float rounding may swap places. */
            if (h->row != ref[i].row && fabs(ref[i].score - ref[i + (i + 1 < k)].score) > COS_ATOL &&
                (i == 0 || fabs(ref[i].score - ref[i - 1].score) > COS_ATOL))
                wrong_rows++;
        }
    }
    CHECK(wrong_rows == 0 && worst <= COS_ATOL,
          "n=%zu dim=%d nq=%d k=%d threads=%d: %zu hits out of place, max |cos diff| %.3g", n, dim,
          nq, k, threads, wrong_rows, worst);
    topk_destroy(&e);
    CHECK(e == NULL, "destroy clears the handle");
    free(ref);
    free(hits);
    free(q);
    free(m);
}

int main(void)
{
    check_search(1, 3, 1, 1, 1, 1);                 /* one row */
    check_search(7, 5, 5, 7, 0, 2);                 /* k = n, dim not a multiple of 8 */
    check_search(100, 32, 1, 10, 1, 3);
    check_search(1000, 64, 9, 1000, 2, 4);          /* full ranking: every heap path */
    check_search(40000, 48, 1, 10, 2, 5);           /* two threads' heaps merged */
    check_search(40000, 48, 6, 25, 3, 6);           /* query blocks of 4 and a remainder */
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
