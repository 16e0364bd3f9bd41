/* matrix.c — a matrix of stored embeddings resident on the device, scored against queries by the
 * op layer's GEMM (sg_op_linear with the matrix as the weight), block of rows by block of rows,
 * with the top-k selected on the host while the device scores the next block. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/matrix.h"

#include "context.h"
#include "ocl/device.h"
#include "ocl/ops.h"

/* Queries scored per device call: the GEMM's M. Bounds the query and score buffers. */
#define MATRIX_QUERY_GROUP 64
/* Largest block of stored rows in one device buffer (one Linear weight). */
#define MATRIX_BLOCK_BYTES ((size_t)256 << 20)
/* Largest block of scores [MATRIX_QUERY_GROUP, rows] read back at once. */
#define MATRIX_SCORE_BYTES ((size_t)32 << 20)
/* Block sizes are multiples of the packed GEMM's panel width, so no block but the last pads. */
#define MATRIX_ROW_ALIGN 32
#define MATRIX_MAX_DIM 65536

struct SiglipMatrix {
    SiglipContext *ctx;  /* borrowed: the device and the error record */
    size_t n;            /* rows */
    int dim;
    size_t block_rows;   /* rows per block; the last block may hold fewer */
    size_t n_blocks;
    SgLinear *blocks;    /* [n_blocks]: rows [b·block_rows, ...) as a weight [rows, dim], no bias */
    SgBuffer x;          /* [MATRIX_QUERY_GROUP, dim] queries of one group */
    SgBuffer y;          /* [MATRIX_QUERY_GROUP, block_rows] scores of one block */
    float *host;         /* [MATRIX_QUERY_GROUP, block_rows] the same, read back */
};

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* Rows per block: within the buffer limits above and the device's largest allocation. */
static size_t choose_block_rows(const SgDevice *dev, size_t n, int dim)
{
    size_t budget = min_size(MATRIX_BLOCK_BYTES, (size_t)dev->info.max_alloc_bytes / 2);
    size_t rows = budget / ((size_t)dim * sizeof(float));
    rows = min_size(rows, MATRIX_SCORE_BYTES / (MATRIX_QUERY_GROUP * sizeof(float)));
    rows = rows / MATRIX_ROW_ALIGN * MATRIX_ROW_ALIGN;
    if (rows < MATRIX_ROW_ALIGN)
        rows = MATRIX_ROW_ALIGN;
    return min_size(rows, n);
}

static size_t rows_of_block(const SiglipMatrix *m, size_t b)
{
    return min_size(m->block_rows, m->n - b * m->block_rows);
}

int siglip_matrix_create(SiglipContext *ctx, const float *rows, size_t n, int dim,
                         SiglipMatrix **out)
{
    return sg_matrix_create_blocks(ctx, rows, n, dim, 0, out);
}

int sg_matrix_create_blocks(SiglipContext *ctx, const float *rows, size_t n, int dim,
                            size_t block_rows, SiglipMatrix **out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(ctx);
    if (!out)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_matrix_create: out is NULL");
    *out = NULL;
    if (!rows || n == 0 || dim < 1 || dim > MATRIX_MAX_DIM)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_matrix_create: need rows, n >= 1 and 1 <= dim <= %d (n %zu, dim %d)",
                       MATRIX_MAX_DIM, n, dim);
    int rc = siglip_context_open_device(ctx);
    if (rc != SIGLIP_OK)
        return rc;
    SgDevice *dev = ctx->device;
    SiglipMatrix *m = calloc(1, sizeof *m);
    if (!m)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    m->ctx = ctx;
    m->n = n;
    m->dim = dim;
    m->block_rows = block_rows ? min_size(block_rows, n) : choose_block_rows(dev, n, dim);
    m->n_blocks = (n + m->block_rows - 1) / m->block_rows;
    m->blocks = calloc(m->n_blocks, sizeof *m->blocks);
    m->host = malloc(MATRIX_QUERY_GROUP * m->block_rows * sizeof *m->host);
    if (!m->blocks || !m->host)
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (size_t b = 0; b < m->n_blocks && rc == SIGLIP_OK; b++)
        rc = sg_weight_upload(dev, rows + b * m->block_rows * (size_t)dim, rows_of_block(m, b),
                              (size_t)dim, dev->tuning.gemm, SG_ELEM_F32, &m->blocks[b].w, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, MATRIX_QUERY_GROUP * (size_t)dim * sizeof(float), &m->x, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, MATRIX_QUERY_GROUP * m->block_rows * sizeof(float), &m->y, err);
    if (rc != SIGLIP_OK) {
        sg_error_prefix(err, "siglip_matrix_create (%zu rows of %d)", n, dim);
        siglip_matrix_free(&m);
        return rc;
    }
    *out = m;
    return SIGLIP_OK;
}

void siglip_matrix_free(SiglipMatrix **pm)
{
    if (!pm || !*pm)
        return;
    SiglipMatrix *m = *pm;
    SgDevice *dev = m->ctx->device;
    for (size_t b = 0; m->blocks && b < m->n_blocks; b++)
        sg_buffer_release(dev, &m->blocks[b].w.buf);
    sg_buffer_release(dev, &m->x);
    sg_buffer_release(dev, &m->y);
    free(m->blocks);
    free(m->host);
    free(m);
    *pm = NULL;
}

void siglip_matrix_shape(const SiglipMatrix *m, size_t *n, int *dim)
{
    if (n)
        *n = m ? m->n : 0;
    if (dim)
        *dim = m ? m->dim : 0;
}

/* What is done with the scores of one block: s [nq, rows] are queries q0.. against rows
 * first.. of the matrix. */
typedef void (*BlockFn)(void *arg, int q0, int nq, size_t first, size_t rows, const float *s);

/* scores [nq, rows of block b] = queries · blockᵀ, enqueued. */
static int enqueue_block(SiglipMatrix *m, size_t b, int nq)
{
    SgDevice *dev = m->ctx->device;
    SgView x = sg_view(m->x.mem, 1, (size_t)nq, (size_t)m->dim);
    SgView y = sg_view(m->y.mem, 1, (size_t)nq, rows_of_block(m, b));
    int rc = sg_op_linear(dev, x, &m->blocks[b], y, SG_ACT_NONE, SG_STORE, sg_ctx_err(m->ctx));
    /* Submit now: the host works on the previous block while the device runs this one. */
    cl_int st = rc == SIGLIP_OK ? clFlush(dev->queue) : CL_SUCCESS;
    return st == CL_SUCCESS ? rc : sg_cl_fail(sg_ctx_err(m->ctx), st, "clFlush");
}

/* Scores queries q0 .. q0+nq (nq <= MATRIX_QUERY_GROUP) against every block, handing each
 * block's scores to fn. The GEMM of block b+1 runs while fn consumes block b: the read of b
 * returns before b+1 is enqueued into the same device buffer, so one buffer suffices. */
static int score_group(SiglipMatrix *m, const float *queries, int q0, int nq, BlockFn fn,
                       void *arg)
{
    SgDevice *dev = m->ctx->device;
    SgError *err = sg_ctx_err(m->ctx);
    size_t dim = (size_t)m->dim;
    int rc = sg_buffer_write(dev, m->x.mem, 0, (size_t)nq * dim * sizeof(float),
                             queries + (size_t)q0 * dim, err);
    if (rc == SIGLIP_OK)
        rc = enqueue_block(m, 0, nq);
    for (size_t b = 0; b < m->n_blocks && rc == SIGLIP_OK; b++) {
        size_t rows = rows_of_block(m, b);
        rc = sg_buffer_read(dev, m->y.mem, 0, (size_t)nq * rows * sizeof(float), m->host, err);
        if (rc == SIGLIP_OK && b + 1 < m->n_blocks)
            rc = enqueue_block(m, b + 1, nq);
        if (rc == SIGLIP_OK)
            fn(arg, q0, nq, b * m->block_rows, rows, m->host);
    }
    return rc;
}

static int score_all(SiglipMatrix *m, const float *queries, int n_queries, BlockFn fn, void *arg)
{
    int rc = SIGLIP_OK;
    for (int q0 = 0; q0 < n_queries && rc == SIGLIP_OK; q0 += MATRIX_QUERY_GROUP) {
        int nq = n_queries - q0 < MATRIX_QUERY_GROUP ? n_queries - q0 : MATRIX_QUERY_GROUP;
        rc = score_group(m, queries, q0, nq, fn, arg);
    }
    return rc;
}

static int check_query_args(SiglipMatrix *m, const float *queries, int n_queries,
                            const void *out, const char *fn)
{
    if (!m)
        return SIGLIP_EINVAL;
    if (!queries || !out || n_queries < 1)
        return sg_fail(sg_ctx_err(m->ctx), SIGLIP_EINVAL,
                       "%s: need queries, an output array and n_queries >= 1 (got %d)", fn,
                       n_queries);
    return SIGLIP_OK;
}

typedef struct ScoresOut {
    float *scores; /* [n_queries, n] */
    size_t n;
} ScoresOut;

static void copy_block(void *arg, int q0, int nq, size_t first, size_t rows, const float *s)
{
    const ScoresOut *o = arg;
    for (int i = 0; i < nq; i++)
        memcpy(o->scores + (size_t)(q0 + i) * o->n + first, s + (size_t)i * rows,
               rows * sizeof *s);
}

int siglip_matrix_scores(SiglipMatrix *m, const float *queries, int n_queries, float *scores)
{
    int rc = check_query_args(m, queries, n_queries, scores, "siglip_matrix_scores");
    ScoresOut o = {scores, m ? m->n : 0};
    return rc == SIGLIP_OK ? score_all(m, queries, n_queries, copy_block, &o) : rc;
}

/* Per query a min-heap of its best rows so far, kept in the caller's output arrays: the worst
 * kept hit on top, so a better score replaces it. */
typedef struct TopkOut {
    size_t *ids;    /* [n_queries, k] */
    float *scores;  /* [n_queries, k] */
    int *sizes;     /* [n_queries] hits kept so far */
    int k;
} TopkOut;

/* Hit a (score sa, row ra) ranks after hit b: lower score, or the same score from a later row. */
static int worse(float sa, size_t ra, float sb, size_t rb)
{
    return sa < sb || (sa == sb && ra > rb);
}

static void swap_hits(size_t *ids, float *s, int i, int j)
{
    size_t r = ids[i];
    float v = s[i];
    ids[i] = ids[j];
    s[i] = s[j];
    ids[j] = r;
    s[j] = v;
}

static void sift_down(size_t *ids, float *s, int size, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < size && worse(s[l], ids[l], s[w], ids[w]))
            w = l;
        if (r < size && worse(s[r], ids[r], s[w], ids[w]))
            w = r;
        if (w == i)
            return;
        swap_hits(ids, s, i, w);
        i = w;
    }
}

static void sift_up(size_t *ids, float *s, int i)
{
    while (i > 0 && worse(s[i], ids[i], s[(i - 1) / 2], ids[(i - 1) / 2])) {
        swap_hits(ids, s, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void select_block(void *arg, int q0, int nq, size_t first, size_t rows, const float *s)
{
    const TopkOut *o = arg;
    for (int i = 0; i < nq; i++) {
        size_t *ids = o->ids + (size_t)(q0 + i) * (size_t)o->k;
        float *hs = o->scores + (size_t)(q0 + i) * (size_t)o->k;
        int *size = &o->sizes[q0 + i];
        const float *row = s + (size_t)i * rows;
        for (size_t r = 0; r < rows; r++) {
            float v = isnan(row[r]) ? -INFINITY : row[r];
            if (*size < o->k) {
                ids[*size] = first + r;
                hs[*size] = v;
                sift_up(ids, hs, (*size)++);
            } else if (v > hs[0]) { /* rows come in order: an equal score ranks after the top */
                ids[0] = first + r;
                hs[0] = v;
                sift_down(ids, hs, o->k, 0);
            }
        }
    }
}

/* Heap sort of one query's heap into best-first order; the places past its size are padded. */
static void finish_query(size_t *ids, float *s, int size, int k)
{
    for (int end = size - 1; end > 0; end--) {
        swap_hits(ids, s, 0, end);
        sift_down(ids, s, end, 0);
    }
    for (int j = size; j < k; j++) {
        ids[j] = SIZE_MAX;
        s[j] = -INFINITY;
    }
}

int siglip_matrix_topk(SiglipMatrix *m, const float *queries, int n_queries, int k,
                       size_t *row_ids, float *scores)
{
    int rc = check_query_args(m, queries, n_queries, row_ids, "siglip_matrix_topk");
    if (rc != SIGLIP_OK)
        return rc;
    if (!scores || k < 1)
        return sg_fail(sg_ctx_err(m->ctx), SIGLIP_EINVAL,
                       "siglip_matrix_topk: need scores and k >= 1 (got %d)", k);
    TopkOut o = {row_ids, scores, calloc((size_t)n_queries, sizeof(int)), k};
    if (!o.sizes)
        return sg_fail(sg_ctx_err(m->ctx), SIGLIP_ENOMEM, "out of host memory");
    rc = score_all(m, queries, n_queries, select_block, &o);
    for (int q = 0; q < n_queries && rc == SIGLIP_OK; q++)
        finish_query(row_ids + (size_t)q * (size_t)k, scores + (size_t)q * (size_t)k,
                     o.sizes[q], k);
    free(o.sizes);
    return rc;
}
