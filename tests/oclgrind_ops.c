/* oclgrind_ops.c — every kernel of cl/ run once at a real model's sizes, for oclgrind's
 * memory-access, data-race and uninitialized-value checks (.ci/oclgrind.sh --sizes, issue 26):
 * GEMM depth K and attention key count Tk as in the towers (base: K 768, Tk 197 and dh 64;
 * so400m: K 1152, Tk 729, dh 72; text: K 768, Tk 64 with a mask and as packed texts), but few
 * rows, output columns and heads, since oclgrind interprets every work-item. Each output is
 * also compared with the double-precision reference of tests/ref_ops.c.
 *
 * Usage: oclgrind_ops base|so400m|text  (device SIGLIP_TEST_DEVICE, default auto; the GEMM runs
 * as packed panels, the attention both tiled and as rows, and the LayerNorm with the device's
 * work-group and, beside the row attention as on a CPU device, one work-item a row, whatever the
 * device's table says). */
#include <string.h>

#include "harness.h"
#include "ocl/kernels.h"
#include "ocl/ops.h"
#include "ref_ops.h"

typedef struct Sizes {
    const char *name;
    size_t K;       /* GEMM depth = width of the tower */
    size_t Tk;      /* keys of the attention (tokens of one image or text) */
    size_t dh;      /* head dimension */
    int text;       /* 1: masked keys, packed texts and the token embedding too */
} Sizes;

static const Sizes sizes[] = {
    {"base", 768, 197, 64, 0},   /* base-patch16-224: 196 patches + the head's probe */
    {"so400m", 1152, 729, 72, 0}, /* so400m-patch14-384: 27 × 27 patches */
    {"text", 768, 64, 64, 1},    /* the text tower: 64 positions */
};

static SgDevice *dev;
static SgError err;
static SgRng rng = {0x0c1941d5ull};

/* oclgrind 21.10's uninitialized-value plugin gives a buffer created in the slot of a released
 * one that buffer's shadow (which bytes hold initialized values, and its size): a kernel's
 * writes past the old size are then lost to it and the next kernel's reads of them reported
 * (tests/oclgrind_defects.c, case "reuse"). So no buffer is released before the end: hold()
 * keeps them, main releases them, and every buffer a kernel writes starts in a slot of its own,
 * all of it uninitialized to the plugin until written. */
#define MAX_HELD 64
static SgBuffer held[MAX_HELD];
static size_t n_held;

static void hold(SgBuffer *buf)
{
    if (!buf->mem)
        return;
    CHECK(n_held < MAX_HELD, "more than %d buffers held", MAX_HELD);
    if (n_held < MAX_HELD)
        held[n_held++] = *buf;
    else
        sg_buffer_release(dev, buf);
    *buf = (SgBuffer){0};
}

static float *random_floats(size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    if (!x) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    sg_rng_fill(&rng, x, n, lo, hi);
    return x;
}

static cl_mem upload(const void *host, size_t bytes, SgBuffer *buf)
{
    int rc = sg_buffer_upload(dev, host, bytes, buf, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    return buf->mem;
}

static cl_mem scratch(size_t bytes, SgBuffer *buf)
{
    int rc = sg_buffer_create(dev, bytes, buf, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    return buf->mem;
}

/* Reads n floats of buf back and compares them with ref (atol + rtol·|ref|). */
static void expect(const char *what, SgBuffer *buf, const float *ref, size_t n, double tol)
{
    float *got = malloc(n * sizeof *got);
    int rc = got ? sg_buffer_read(dev, buf->mem, 0, n * sizeof *got, got, &err) : SIGLIP_ENOMEM;
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (rc == SIGLIP_OK) {
        size_t bad = sg_count_mismatches(what, got, ref, n, tol, tol);
        CHECK(bad == 0, "%s: %zu of %zu values off by more than %g", what, bad, n, tol);
    }
    free(got);
}

/* Linear M × N × K in every weight type, GELU + bias stored, then accumulated without. */
/* buf holds q8 rows (cl/q8_rows.h) of rows × n values: each within half a step (its block's
 * scale) of ref (test_ops checks the rounding itself). */
static void expect_q8_rows(const char *what, SgBuffer *buf, const float *ref, size_t rows,
                           size_t n)
{
    size_t ldq = sg_q8_rows_ld(n), k32 = (n + 31) / 32 * 32;
    unsigned char *q = malloc(rows * ldq);
    float *deq = malloc(rows * n * sizeof *deq);
    if (q && deq && sg_buffer_read(dev, buf->mem, 0, rows * ldq, q, &err) == SIGLIP_OK) {
        float step = 0;
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < n; c++) {
                float sc;
                memcpy(&sc, q + r * ldq + k32 + k32 / 8 + 4 * (c / 32), 4);
                deq[r * n + c] = (float)(signed char)q[r * ldq + c] * sc;
                step = sc > step ? sc : step;
            }
        size_t bad = sg_count_mismatches(what, deq, ref, rows * n, 0.51 * step, 1e-4);
        CHECK(bad == 0, "%s: %zu of %zu values off by more than half a step", what, bad,
              rows * n);
    }
    free(q), free(deq);
}

static void run_linear(const Sizes *s)
{
    const size_t M = 5, N = 72, K = s->K; /* N: one panel and a part of the next */
    static const char *const names[] = {"f32", "bf16", "f16", "q8"};
    float *x = random_floats(M * K, -1, 1), *b = random_floats(N, -1, 1);
    float *y0 = random_floats(M * N, -1, 1), *ref = malloc(M * N * sizeof *ref);
    /* q8's integer form (gemm_q8_np > 0) rounds x per row and block of 32 too (docs/
     * q8-integer.md): its reference multiplies that rounding of x (as test_ops). */
    float *xq = malloc(M * K * sizeof *xq);
    if (xq) {
        memcpy(xq, x, M * K * sizeof *xq);
        ref_quantize_rows(xq, K, M, K);
    }
    for (int t = SG_ELEM_F32; t <= SG_ELEM_I8 && ref && xq; t++) {
        float *w = random_floats(N * K, -0.05f, 0.05f);
        SgLinear l = {0};
        SgBuffer bx = {0}, by = {0};
        int rc = sg_weight_upload(dev, w, N, K, SG_GEMM_PANELS, (SgElemType)t, &l.w, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        sg_weight_dequantize((SgElemType)t, w, N, K, w); /* what the device holds */
        upload(x, M * K * 4, &bx);
        upload(b, N * 4, &l.b);
        upload(y0, M * N * 4, &by);
        for (int acc = 0; acc <= 1 && rc == SIGLIP_OK; acc++) {
            SgActivation act = acc ? SG_ACT_NONE : SG_ACT_GELU_TANH;
            rc = sg_op_linear(dev, sg_view(bx.mem, 1, M, K), &l, sg_view(by.mem, 1, M, N), act,
                              acc ? SG_ACCUMULATE : SG_STORE, &err);
            CHECK_STATUS(rc, SIGLIP_OK, err.message);
            int rounds_x = t == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0;
            ref_linear(rounds_x ? xq : x, K, w, b, ref, N, M, N, K, act, acc);
            char what[64];
            snprintf(what, sizeof what, "%s linear %s K=%zu%s", s->name, names[t], K,
                     acc ? " +=" : " gelu");
            expect(what, &by, ref, M * N, 1e-4); /* as test_ops: f32 sums of 1152 terms */
        }
        hold(&l.w.buf), hold(&l.b);
        hold(&bx), hold(&by);
        free(w);
    }
    free(x), free(xq), free(b), free(y0), free(ref);
}

static void run_layernorm(const Sizes *s)
{
    const size_t rows = 3, n = s->K;
    float *x = random_floats(rows * n, -2, 3), *g = random_floats(n, 0.5f, 1.5f);
    float *be = random_floats(n, -1, 1), *ref = malloc(rows * n * sizeof *ref);
    SgBuffer bx = {0}, by = {0};
    SgLayerNorm ln = {.n = n, .eps = 1e-6f};
    upload(x, rows * n * 4, &bx), upload(g, n * 4, &ln.w), upload(be, n * 4, &ln.b);
    scratch(rows * n * 4, &by);
    int rc = sg_op_layernorm(dev, sg_view(bx.mem, 1, rows, n), sg_view(by.mem, 1, rows, n), &ln,
                             &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (ref) {
        ref_layernorm(x, ref, g, be, rows, n, 1e-6f);
        expect("layernorm", &by, ref, rows * n, 1e-4);
    }
    /* The same rows into q8 rows (q8's integer GEMM form reads them; on a device without it only
     * this test runs the kernel): each value within half a step of its block's scale of the
     * reference (test_ops checks the rounding itself). */
    size_t ldq = sg_q8_rows_ld(n);
    SgBuffer bq = {0};
    scratch(rows * ldq, &bq);
    rc = sg_op_layernorm_q8(dev, sg_view(bx.mem, 1, rows, n), &ln, bq.mem, ldq, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (rc == SIGLIP_OK && ref)
        expect_q8_rows("layernorm_q8", &bq, ref, rows, n);
    hold(&bx), hold(&by), hold(&bq);
    hold(&ln.w), hold(&ln.b);
    free(x), free(g), free(be), free(ref);
}

/* Attention of Tq queries against Tk keys, 2 heads of dh; text: with a mask of the last keys
 * and as two packed texts (the second of Tk positions). */
static void run_attention(const Sizes *s)
{
    const size_t H = 2, W = H * s->dh, Tk = s->Tk, Tq = 3, B = s->text ? 2 : 1;
    float *q = random_floats(B * Tq * W, -1, 1), *kv = random_floats(2 * B * Tk * W, -1, 1);
    float *ref = malloc(B * Tq * W * sizeof *ref);
    int32_t *keep = malloc(B * Tk * sizeof *keep);
    for (size_t i = 0; keep && i < B * Tk; i++)
        keep[i] = i % Tk < Tk - 7 * (i / Tk + 1); /* 7 and 14 positions of padding */
    SgBuffer bq = {0}, bkv = {0}, bo = {0}, bm = {0};
    upload(q, B * Tq * W * 4, &bq), upload(kv, 2 * B * Tk * W * 4, &bkv);
    scratch(B * Tq * W * 4, &bo);
    SgMask mask = SG_NO_MASK;
    if (s->text && keep)
        mask.keep = upload(keep, B * Tk * 4, &bm);
    /* k rows [B·Tk, W] then v rows: k and v share the row stride W */
    SgView vk = {bkv.mem, 0, B, Tk, W, W, Tk * W}, vv = {bkv.mem, B * Tk * W, B, Tk, W, W, Tk * W};
    float scale = 1.0f / sqrtf((float)s->dh);
    int rc = sg_op_attention(dev, sg_view(bq.mem, B, Tq, W), vk, vv, mask,
                             sg_view(bo.mem, B, Tq, W), (SgHeads){H, scale}, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    char what[64];
    snprintf(what, sizeof what, "%s attention %s Tk=%zu", s->name,
             sg_attention_path_name(dev->tuning.attention), Tk);
    if (ref && keep) {
        ref_attention(q, W, Tq * W, kv, kv + B * Tk * W, W, s->text ? keep : NULL, ref, W, B, Tq,
                      Tk, H, s->dh, scale);
        expect(what, &bo, ref, B * Tq * W, 1e-4);
    }
    /* attention_rows writing q8 rows (the output projection's input in q8's integer form) where
     * the heads allow it (dh a multiple of 32: base and text, not so400m's 72). */
    SgView vq = sg_view(bq.mem, B, Tq, W), vo = sg_view(bo.mem, B, Tq, W);
    if (sg_attention_writes_q8(dev, vq, vk, mask, vo, (SgHeads){H, scale})) {
        rc = sg_op_attention_q8(dev, vq, vk, vv, mask, vo, (SgHeads){H, scale}, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        snprintf(what, sizeof what, "%s attention_q8 Tk=%zu", s->name, Tk);
        if (rc == SIGLIP_OK && ref && keep)
            expect_q8_rows(what, &bo, ref, B * Tq, W);
    }
    hold(&bq), hold(&bkv), hold(&bo);
    hold(&bm);
    free(q), free(kv), free(ref), free(keep);
}

/* Two texts packed in rows [q | k | v] (lengths 9 and Tk), their attention within each, and
 * the last row of each (the text tower's pooled output). */
static void run_packed_texts(const Sizes *s)
{
    const size_t H = 2, W = H * s->dh, len[2] = {9, s->Tk}, R = len[0] + len[1];
    int32_t seg[6] = {0, (int32_t)len[0], (int32_t)len[0], (int32_t)len[0], (int32_t)len[1],
                      (int32_t)len[1]};
    float *qkv = random_floats(R * 3 * W, -1, 1), *ref = malloc(R * W * sizeof *ref);
    SgBuffer bqkv = {0}, bs = {0}, bo = {0}, blast = {0};
    upload(qkv, R * 3 * W * 4, &bqkv), upload(seg, sizeof seg, &bs);
    scratch(R * W * 4, &bo), scratch(2 * W * 4, &blast);
    SgView all = sg_view(bqkv.mem, 1, R, 3 * W), out = sg_view(bo.mem, 1, R, W);
    SgSegments segs = {bs.mem, 2, s->Tk, s->Tk};
    SgMask m = {NULL, segs};
    float scale = 1.0f / sqrtf((float)s->dh);
    int rc = sg_op_attention(dev, sg_view_cols(all, 0, W), sg_view_cols(all, W, W),
                             sg_view_cols(all, 2 * W, W), m, out, (SgHeads){H, scale}, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    rc = sg_op_segment_last_rows(dev, out, segs, sg_view(blast.mem, 2, 1, W), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (ref) {
        for (size_t i = 0; i < 2; i++) {
            size_t r0 = (size_t)seg[3 * i];
            ref_attention(qkv + r0 * 3 * W, 3 * W, 0, qkv + r0 * 3 * W + W,
                          qkv + r0 * 3 * W + 2 * W, 3 * W, NULL, ref + r0 * W, W, 1, len[i],
                          len[i], H, s->dh, scale);
        }
        expect("packed texts attention", &bo, ref, R * W, 1e-4);
        float last[2 * 2 * 72];
        memcpy(last, ref + (len[0] - 1) * W, W * 4);
        memcpy(last + W, ref + (R - 1) * W, W * 4);
        expect("segment_last_rows", &blast, last, 2 * W, 1e-4);
    }
    hold(&bqkv), hold(&bs), hold(&bo);
    hold(&blast);
    free(qkv), free(ref);
}

/* The embeddings: token rows of the text tower (every table type) or patches of one image
 * (im2col), the position embeddings added, a copy of rows and the mean over tokens. */
static void run_embeddings(const Sizes *s)
{
    const size_t D = s->K, T = s->Tk, V = 50;
    SgBuffer bx = {0}, bpos = {0}, bmean = {0}, bcopy = {0};
    float *pos = random_floats(T * D, -1, 1), *x = malloc(T * D * sizeof *x);
    float *ref = malloc(D * sizeof *ref);
    if (!x || !ref)
        exit(1);
    upload(pos, T * D * 4, &bpos);
    scratch(T * D * 4, &bx);
    if (s->text) {
        int32_t ids[64];
        for (size_t i = 0; i < T && i < 64; i++)
            ids[i] = (int32_t)(sg_rng_next(&rng) % V);
        SgBuffer bids = {0};
        upload(ids, T * 4, &bids);
        float *tok = random_floats(V * D, -1, 1);
        for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++) {
            SgTable table = {0};
            SgRows rows = sg_rows_host(tok, V, D);
            int rc = sg_table_upload(dev, &rows, (SgElemType)t, &table, &err);
            CHECK_STATUS(rc, SIGLIP_OK, err.message);
            if (rc == SIGLIP_OK)
                rc = sg_op_embed_tokens(dev, bids.mem, NULL, &table, bpos.mem,
                                        sg_view(bx.mem, 1, T, D), &err);
            CHECK_STATUS(rc, SIGLIP_OK, err.message);
            float *deq = random_floats(V * D, 0, 0);
            sg_weight_dequantize((SgElemType)t, tok, V, D, deq);
            ref_embed_tokens(ids, deq, pos, x, 1, T, D);
            expect("embed_tokens", &bx, x, T * D, 1e-6);
            hold(&table.buf);
            free(deq);
        }
        hold(&bids);
        free(tok);
    } else {
        size_t p = s->K == 768 ? 16 : 14, side = p * 3; /* 3 × 3 patches of the model's size */
        float *pix = random_floats(3 * side * side, -1, 1);
        SgBuffer bpix = {0};
        upload(pix, 3 * side * side * 4, &bpix);
        int rc = sg_op_im2col(dev, bpix.mem, (SgImages){1, 3, side, side}, p, bx.mem, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        ref_im2col(pix, x, 1, 3, side, side, p);
        expect("im2col", &bx, x, 9 * 3 * p * p, 0);
        /* The rest at the tower's token count: the position embeddings on Tk rows. */
        rc = sg_buffer_write(dev, bx.mem, 0, T * D * 4, pos, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        memcpy(x, pos, T * D * 4);
        rc = sg_op_add_broadcast(dev, sg_view(bx.mem, 1, T, D), bpos.mem, &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        ref_add_broadcast(x, pos, 1, T, D);
        expect("add_broadcast", &bx, x, T * D, 0);
        hold(&bpix);
        free(pix);
    }
    scratch(D * 4, &bmean), scratch(T * D * 4, &bcopy);
    int rc = sg_op_mean_tokens(dev, sg_view(bx.mem, 1, T, D), SG_NO_MASK,
                               sg_view(bmean.mem, 1, 1, D), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    ref_mean_tokens(x, NULL, ref, 1, T, D);
    expect("mean_tokens", &bmean, ref, D, 1e-5);
    /* the masked mean (Siglip2ForImageClassification's pooling): 5 padding tokens left out */
    SgBuffer bkeep = {0}, bmean2 = {0};
    int32_t *keep = malloc(T * sizeof *keep);
    for (size_t t = 0; keep && t < T; t++)
        keep[t] = t + 5 < T || t == 0;
    SgMask km = {keep ? upload(keep, T * 4, &bkeep) : NULL, {NULL, 0, 0, 0}};
    scratch(D * 4, &bmean2);
    rc = sg_op_mean_tokens(dev, sg_view(bx.mem, 1, T, D), km, sg_view(bmean2.mem, 1, 1, D), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    ref_mean_tokens(x, keep, ref, 1, T, D);
    expect("mean_tokens (masked)", &bmean2, ref, D, 1e-5);
    hold(&bkeep), hold(&bmean2);
    free(keep);
    rc = sg_op_copy_rows(dev, sg_view(bx.mem, 1, T, D), sg_view(bcopy.mem, 1, T, D), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    expect("copy_rows", &bcopy, x, T * D, 0);
    hold(&bx), hold(&bpos), hold(&bmean);
    hold(&bcopy);
    free(pos), free(x), free(ref);
}

int main(int argc, char **argv)
{
    const Sizes *s = NULL;
    for (size_t i = 0; argc == 2 && i < sizeof sizes / sizeof *sizes; i++)
        if (!strcmp(argv[1], sizes[i].name))
            s = &sizes[i];
    if (!s) {
        fprintf(stderr, "usage: oclgrind_ops base|so400m|text\n");
        return 2;
    }
    int rc = sg_device_open_limited(&dev, sg_test_device(), sg_test_cache_dir(), NULL,
                                    sg_test_limits(), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (rc != SIGLIP_OK)
        return sg_test_finish("oclgrind_ops");
    fprintf(stderr, "%s on %s: K %zu, Tk %zu, dh %zu\n", s->name, dev->info.name, s->K, s->Tk,
            s->dh);
    /* Slots released before this point (the device probe's buffer at open) go to uploads, whose
     * host write gives the plugin a shadow of their own size; then the device scratch, at the
     * most attention_rows takes here (2 items or texts × 2 heads × dh × Tk rounded up to 16),
     * so that it is never released and created again larger. */
    SgBuffer absorb[4] = {{0}};
    for (size_t i = 0; i < 4; i++)
        upload(&s->K, sizeof s->K, &absorb[i]), hold(&absorb[i]);
    cl_mem kt;
    rc = sg_device_scratch(dev, 2 * 2 * s->dh * ((s->Tk + 15) / 16 * 16) * sizeof(float), &kt,
                           &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    static const SgAttentionPath paths[] = {SG_ATTN_TILED, SG_ATTN_ROWS};
    for (size_t a = 0; a < 2; a++) {
        SgTuning t = dev->tuning;
        t.gemm = SG_GEMM_PANELS;
        t.attention = paths[a];
        if (paths[a] == SG_ATTN_ROWS)
            t.layernorm_wg = 1; /* as on a CPU device: layernorm_row, one work-item per row */
        rc = sg_device_retune(dev, &t, sg_test_cache_dir(), &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        if (rc != SIGLIP_OK)
            break;
        /* What runs next goes to the log first: a simulator that dies names no kernel. */
        fprintf(stderr, "  attention (%s)\n", sg_attention_path_name(paths[a]));
        run_attention(s);
        if (s->text) {
            fprintf(stderr, "  packed texts (%s)\n", sg_attention_path_name(paths[a]));
            run_packed_texts(s);
        }
        fprintf(stderr, "  layernorm (%d work-items a row)\n", dev->tuning.layernorm_wg);
        run_layernorm(s);
        if (a == 0) {
            fprintf(stderr, "  linear\n");
            run_linear(s);
            fprintf(stderr, "  embeddings\n");
            run_embeddings(s);
        }
    }
    CHECK(dev->scratch.mem == kt, "the device scratch was created again, larger than reserved");
    for (size_t i = 0; i < n_held; i++)
        sg_buffer_release(dev, &held[i]);
    sg_device_close(&dev);
    return sg_test_finish("oclgrind_ops");
}
