/* bench_ops.c — where one encoder layer's time goes: each op of a SigLIP layer timed alone at a
 * tower's real shape on one device (random inputs), as ms per call and GFLOP/s.
 *
 * Usage: bench_ops [--tower image|text] [--batch N] [--tokens T] [--width D] [--mlp I]
 *                  [--heads H] [--iters N] [--device SPEC] [--cache-dir DIR]
 *                  [--tuning-file JSON] [--weights f32|bf16|f16|q8]
 * Defaults: base-patch16-224's image tower (T 196, D 768, I 3072, 12 heads) at batch 8. The
 * device's tuning applies as it would in a forward (stored `siglip tune` result, else the table). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocl/kernels.h"
#include "ocl/ops.h"

static double clock_s(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* In-place insertion sort (n is small); returns the median. */
static double median(double *v, int n)
{
    for (int a = 0; a < n; a++)
        for (int b = a; b > 0 && v[b] < v[b - 1]; b--) {
            double tmp = v[b];
            v[b] = v[b - 1], v[b - 1] = tmp;
        }
    return v[n / 2];
}

static int upload_random(SgDevice *dev, size_t n, uint32_t seed, SgBuffer *out, SgError *err)
{
    float *host = malloc(n * sizeof *host);
    if (!host)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        host[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.2f;
    }
    int rc = sg_buffer_upload(dev, host, n * sizeof *host, out, err);
    free(host);
    return rc;
}

static int random_linear(SgDevice *dev, size_t N, size_t K, uint32_t seed, SgElemType dtype,
                         SgLinear *l, SgError *err)
{
    float *w = malloc(N * K * sizeof *w);
    if (!w)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (size_t i = 0; i < N * K; i++) {
        seed = seed * 1664525u + 1013904223u;
        w[i] = ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.05f;
    }
    int rc = sg_weight_upload(dev, w, N, K, dev->tuning.gemm, dtype, &l->w, err);
    free(w);
    if (rc == SIGLIP_OK)
        rc = upload_random(dev, N, seed + 1, &l->b, err);
    return rc;
}

typedef struct Shape {
    size_t B, T, D, I, H;
} Shape;

/* The ops of one layer (tower.c's run_encoder), each an index into run_op. A LayerNorm and the
 * Linear it feeds are one op (sg_op_norm_linear), as q8's integer form fuses them. */
enum { OP_QKV, OP_ATTN, OP_OUT, OP_FC1, OP_FC2, OP_COUNT };
static const char *const op_name[OP_COUNT] = {
    "layernorm 1 + qkv linear", "attention", "out linear (+=)", "layernorm 2 + fc1 linear+gelu",
    "fc2 linear (+=)",
};

typedef struct Layer {
    SgBuffer x, h, qkv, attn, hidden;
    SgLinear qkv_l, out_l, fc1, fc2;
    SgLayerNorm ln;
} Layer;

static double op_flops(int op, Shape s)
{
    double M = (double)(s.B * s.T), D = (double)s.D, I = (double)s.I, T = (double)s.T;
    switch (op) {
    case OP_QKV: return 2 * M * D * 3 * D;
    case OP_ATTN: return 4 * M * T * D;
    case OP_OUT: return 2 * M * D * D;
    case OP_FC1:
    case OP_FC2: return 2 * M * D * I;
    default: return 0;
    }
}

static int run_op(SgDevice *dev, Layer *L, Shape s, int op, SgError *err)
{
    size_t B = s.B, T = s.T, D = s.D;
    SgView x = sg_view(L->x.mem, B, T, D), h = sg_view(L->h.mem, B, T, D);
    SgView qkv = sg_view(L->qkv.mem, B, T, 3 * D), attn = sg_view(L->attn.mem, B, T, D);
    SgView hidden = sg_view(L->hidden.mem, B, T, s.I);
    switch (op) {
    case OP_QKV:
        return sg_op_norm_linear(dev, x, &L->ln, h, &L->qkv_l, qkv, SG_ACT_NONE, SG_STORE, err);
    case OP_ATTN:
        return sg_op_attention(dev, sg_view_cols(qkv, 0, D), sg_view_cols(qkv, D, D),
                               sg_view_cols(qkv, 2 * D, D), SG_NO_MASK, attn,
                               (SgHeads){s.H, 1.0f / sqrtf((float)(D / s.H))}, err);
    case OP_OUT: return sg_op_linear(dev, attn, &L->out_l, x, SG_ACT_NONE, SG_ACCUMULATE, err);
    case OP_FC1:
        return sg_op_norm_linear(dev, x, &L->ln, h, &L->fc1, hidden, SG_ACT_GELU_TANH, SG_STORE,
                                 err);
    default: return sg_op_linear(dev, hidden, &L->fc2, x, SG_ACT_NONE, SG_ACCUMULATE, err);
    }
}

/* The layer's two op pairs that hand each other q8 rows where q8's integer form runs
 * (src/ocl/ops.h): as one op (pair 0, 2: what the towers run) and as the two ops one after
 * another (pair 1, 3: the rounding pass between them, the baseline). */
enum { PAIR_ATTN, PAIR_ATTN_APART, PAIR_MLP, PAIR_MLP_APART, PAIR_COUNT };
static const char *const pair_name[PAIR_COUNT] = {
    "attention + out linear, one op", "attention, then out linear",
    "MLP (layernorm 2, fc1 + gelu, fc2), one op", "MLP as layernorm 2 + fc1 + gelu, then fc2",
}; /* (no name starts as a row of the op table does: bench/compare_sgemm.py reads those) */

static int run_pair(SgDevice *dev, Layer *L, Shape s, int pair, SgError *err)
{
    size_t B = s.B, T = s.T, D = s.D;
    SgView x = sg_view(L->x.mem, B, T, D), h = sg_view(L->h.mem, B, T, D);
    SgView qkv = sg_view(L->qkv.mem, B, T, 3 * D), attn = sg_view(L->attn.mem, B, T, D);
    SgView hidden = sg_view(L->hidden.mem, B, T, s.I);
    SgHeads heads = {s.H, 1.0f / sqrtf((float)(D / s.H))};
    SgView q = sg_view_cols(qkv, 0, D), k = sg_view_cols(qkv, D, D), v = sg_view_cols(qkv, 2 * D, D);
    switch (pair) {
    case PAIR_ATTN:
        return sg_op_attention_linear(dev, q, k, v, SG_NO_MASK, heads, attn, &L->out_l, x,
                                      SG_ACCUMULATE, err);
    case PAIR_MLP:
        return sg_op_norm_mlp(dev, x, &L->ln, h, &L->fc1, SG_ACT_GELU_TANH, hidden, &L->fc2, x,
                              SG_ACCUMULATE, err);
    case PAIR_ATTN_APART:
    case PAIR_MLP_APART:
        for (int op = pair == PAIR_ATTN_APART ? OP_ATTN : OP_FC1;
             op <= (pair == PAIR_ATTN_APART ? OP_OUT : OP_FC2); op++) {
            int rc = run_op(dev, L, s, op, err);
            if (rc != SIGLIP_OK)
                return rc;
        }
        return SIGLIP_OK;
    default: return SIGLIP_OK;
    }
}

/* Each pair as one op against its two ops one after another, in rounds (each round runs all
 * four, starting one further along, so that a drift of the machine's speed reaches both
 * sides): the median of the per-round ratios, apart / one op. */
static int time_pairs(SgDevice *dev, Layer *L, Shape s, int iters, SgError *err)
{
    double ms[PAIR_COUNT][64], ratio[2][64];
    int n = iters < 64 ? iters : 64, rc = SIGLIP_OK;
    for (int r = -1; r < n && rc == SIGLIP_OK; r++) /* r = -1: warm-up */
        for (int i = 0; i < PAIR_COUNT && rc == SIGLIP_OK; i++) {
            int pair = (i + (r < 0 ? 0 : r)) % PAIR_COUNT;
            double t0 = now_s();
            rc = run_pair(dev, L, s, pair, err);
            if (rc == SIGLIP_OK)
                rc = sg_device_finish(dev, err);
            if (r >= 0)
                ms[pair][r] = (now_s() - t0) * 1e3;
        }
    if (rc != SIGLIP_OK)
        return rc;
    for (int r = 0; r < n; r++) {
        ratio[0][r] = ms[PAIR_ATTN_APART][r] / ms[PAIR_ATTN][r];
        ratio[1][r] = ms[PAIR_MLP_APART][r] / ms[PAIR_MLP][r];
    }
    printf("\n| pair | ms | apart / one op (median of %d rounds) |\n| --- | --- | --- |\n", n);
    for (int p = 0; p < PAIR_COUNT; p++) {
        printf("| %s | %.2f | ", pair_name[p], median(ms[p], n));
        if (p % 2 == 0)
            printf("%.3f |\n", median(ratio[p / 2], n));
        else
            printf("baseline |\n");
    }
    return SIGLIP_OK;
}

static size_t arg_size(const char *v)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return *end || n == 0 ? 0 : (size_t)n;
}

int main(int argc, char **argv)
{
    Shape s = {8, 196, 768, 3072, 12};
    int iters = 5;
    const char *spec = "auto", *cache = NULL, *tuning_file = NULL;
    static const char *const dtype_names[] = {"f32", "bf16", "f16", "q8"};
    SgElemType dtype = SG_ELEM_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t *field = !strcmp(a, "--batch")    ? &s.B
                        : !strcmp(a, "--tokens") ? &s.T
                        : !strcmp(a, "--width")  ? &s.D
                        : !strcmp(a, "--mlp")    ? &s.I
                        : !strcmp(a, "--heads")  ? &s.H
                                                 : NULL;
        if (v && field && arg_size(v)) {
            *field = arg_size(v), i++;
        } else if (v && !strcmp(a, "--tower")) {
            s.T = !strcmp(v, "text") ? 64 : 196, i++;
        } else if (v && !strcmp(a, "--iters") && arg_size(v)) {
            iters = (int)arg_size(v), i++;
        } else if (v && !strcmp(a, "--device")) {
            spec = v, i++;
        } else if (v && !strcmp(a, "--cache-dir")) {
            cache = v, i++;
        } else if (v && !strcmp(a, "--tuning-file")) {
            tuning_file = v, i++;
        } else if (v && !strcmp(a, "--weights") &&
                   (!strcmp(v, "f32") || !strcmp(v, "bf16") || !strcmp(v, "f16") ||
                    !strcmp(v, "q8"))) {
            dtype = !strcmp(v, "bf16") ? SG_ELEM_BF16 : !strcmp(v, "f16") ? SG_ELEM_F16
                  : !strcmp(v, "q8") ? SG_ELEM_I8 : SG_ELEM_F32;
            i++;
        } else {
            fprintf(stderr, "usage: bench_ops [--tower image|text] [--batch N] [--tokens T] "
                            "[--width D] [--mlp I] [--heads H] [--iters N] [--device SPEC] "
                            "[--cache-dir DIR] [--tuning-file JSON] "
                            "[--weights f32|bf16|f16|q8]\n");
            return 2;
        }
    }
    if (s.D % s.H) {
        fprintf(stderr, "bench_ops: --width must be a multiple of --heads\n");
        return 2;
    }
    SgError err = {0};
    SgDevice *dev = NULL;
    Layer L = {0};
    size_t M = s.B * s.T;
    int rc = sg_device_open(&dev, spec, cache, tuning_file, &err);
    if (rc == SIGLIP_OK)
        rc = upload_random(dev, M * s.D, 1, &L.x, &err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, M * s.D * 4, &L.h, &err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, M * 3 * s.D * 4, &L.qkv, &err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, M * s.D * 4, &L.attn, &err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, M * s.I * 4, &L.hidden, &err);
    if (rc == SIGLIP_OK)
        rc = random_linear(dev, 3 * s.D, s.D, 2, dtype, &L.qkv_l, &err);
    if (rc == SIGLIP_OK)
        rc = random_linear(dev, s.D, s.D, 3, dtype, &L.out_l, &err);
    if (rc == SIGLIP_OK)
        rc = random_linear(dev, s.I, s.D, 4, dtype, &L.fc1, &err);
    if (rc == SIGLIP_OK)
        rc = random_linear(dev, s.D, s.I, 5, dtype, &L.fc2, &err);
    if (rc == SIGLIP_OK)
        rc = upload_random(dev, s.D, 6, &L.ln.w, &err);
    if (rc == SIGLIP_OK)
        rc = upload_random(dev, s.D, 7, &L.ln.b, &err);
    L.ln.n = s.D, L.ln.eps = 1e-6f;
    if (rc != SIGLIP_OK) {
        fprintf(stderr, "bench_ops: %s\n", err.message);
        sg_device_close(&dev);
        return 1;
    }
    const SgTuning *t = &dev->tuning;
    printf("device: %s; tuning (%s): %s %dx%d ku%d mb%d chunk %d KiB, attention %s qb%d; "
           "weights %s (q8 form %d)\n", dev->info.name, t->rule, sg_gemm_path_name(t->gemm),
           t->gemm_mr, t->gemm_nr, t->gemm_ku, t->gemm_mb, t->gemm_chunk_kib,
           sg_attention_path_name(t->attention), t->attn_qb, dtype_names[dtype], t->gemm_q8_np);
    printf("shape: batch %zu, tokens %zu, width %zu, mlp %zu, heads %zu; median of %d\n\n", s.B,
           s.T, s.D, s.I, s.H, iters);
    /* CPU ms: the process's CPU time per call (a CPU device's threads), steadier than the wall
     * clock when other jobs share the cores. */
    printf("| op | ms | GFLOP/s | share | CPU ms |\n| --- | --- | --- | --- | --- |\n");
    double ms[OP_COUNT], cpu_ms[OP_COUNT], total = 0;
    for (int op = 0; op < OP_COUNT && rc == SIGLIP_OK; op++) {
        double runs[64], cpu[64];
        int n = iters < 64 ? iters : 64;
        for (int r = -1; r < n && rc == SIGLIP_OK; r++) { /* r = -1: warm-up */
            double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
            rc = run_op(dev, &L, s, op, &err);
            if (rc == SIGLIP_OK)
                rc = sg_device_finish(dev, &err);
            if (r >= 0) {
                runs[r] = (now_s() - t0) * 1e3;
                cpu[r] = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3;
            }
        }
        ms[op] = median(runs, n);
        cpu_ms[op] = median(cpu, n);
        total += ms[op];
    }
    for (int op = 0; op < OP_COUNT && rc == SIGLIP_OK; op++) {
        double f = op_flops(op, s);
        printf("| %s | %.2f | ", op_name[op], ms[op]);
        if (f > 0)
            printf("%.1f", f / (ms[op] * 1e6));
        else
            printf("–");
        printf(" | %.1f %% | %.2f |\n", 100 * ms[op] / total, cpu_ms[op]);
    }
    if (rc == SIGLIP_OK) {
        double f = 0;
        for (int op = 0; op < OP_COUNT; op++)
            f += op_flops(op, s);
        printf("| layer | %.2f | %.1f | 100 %% |\n", total, f / (total * 1e6));
        rc = time_pairs(dev, &L, s, iters, &err);
    }
    if (rc != SIGLIP_OK) {
        fprintf(stderr, "bench_ops: %s\n", err.message);
    }
    SgBuffer *bufs[] = {&L.x, &L.h, &L.qkv, &L.attn, &L.hidden, &L.qkv_l.b, &L.out_l.b,
                        &L.fc1.b, &L.fc2.b, &L.ln.w, &L.ln.b, &L.qkv_l.w.buf, &L.out_l.w.buf,
                        &L.fc1.w.buf, &L.fc2.w.buf};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        sg_buffer_release(dev, bufs[i]);
    sg_device_close(&dev);
    return rc == SIGLIP_OK ? 0 : 1;
}
