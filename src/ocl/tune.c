/* tune.c — the device tuner: walks the phases of the knob table (ocl/tuning.c: the GEMM's register
 * block, its walk order, the attention kernel), every candidate of each checked against plain-C
 * results computed here and timed at the model's shapes. */
#include "ocl/tune.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocl/kernels.h"
#include "ocl/ops.h"
#include "ocl/weight_pack.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Deterministic values in [-0.5, 0.5): accuracy checks and timings need no better randomness. */
static void fill(float *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

static int upload_random(SgDevice *dev, size_t n, uint32_t seed, SgBuffer *out, SgError *err)
{
    float *host = malloc(n * sizeof *host);
    if (!host)
        return sg_fail(err, SIGLIP_ENOMEM, "tune: out of host memory");
    fill(host, n, seed);
    int rc = sg_buffer_upload(dev, host, n * sizeof *host, out, err);
    free(host);
    return rc;
}

/* ---- accuracy: the device's GEMM against a plain loop, at an awkward size ---- */

/* Worst |got − ref| / (1 + |ref|) of y = gelu_tanh(x·wᵀ + b), x [M, K], w [N, K] stored as
 * dtype. The reference takes the values the storage rounds w to (sg_weight_dequantize) and, for
 * q8's integer form, those it rounds x to (sg_q8_round_rows), so every form is held to the f32
 * tolerance. */
static int gemm_error(SgDevice *dev, size_t M, size_t N, size_t K, SgElemType dtype,
                      double *worst, SgError *err)
{
    float *x = malloc(M * K * 4), *w = malloc(N * K * 4), *b = malloc(N * 4), *y = malloc(M * N * 4);
    SgBuffer bx = {0}, bb = {0}, by = {0};
    SgLinear lin = {0};
    int rc = x && w && b && y ? SIGLIP_OK : sg_fail(err, SIGLIP_ENOMEM, "tune: out of memory");
    if (rc == SIGLIP_OK) {
        fill(x, M * K, 1), fill(w, N * K, 2), fill(b, N, 3);
        rc = sg_buffer_upload(dev, x, M * K * 4, &bx, err);
    }
    if (rc == SIGLIP_OK)
        rc = sg_buffer_upload(dev, b, N * 4, &bb, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, M * N * 4, &by, err);
    if (rc == SIGLIP_OK)
        rc = sg_weight_upload(dev, w, N, K, dev->tuning.gemm, dtype, &lin.w, err);
    lin.b = bb;
    sg_weight_dequantize(dtype, w, N, K, w);
    if (dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0)
        sg_q8_round_rows(x, K, M, K);
    if (rc == SIGLIP_OK)
        rc = sg_op_linear(dev, sg_view(bx.mem, 1, M, K), &lin, sg_view(by.mem, 1, M, N),
                          SG_ACT_GELU_TANH, SG_STORE, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_read(dev, by.mem, 0, M * N * 4, y, err);
    *worst = 0;
    for (size_t m = 0; rc == SIGLIP_OK && m < M; m++)
        for (size_t n = 0; n < N; n++) {
            double s = b[n];
            for (size_t k = 0; k < K; k++)
                s += (double)x[m * K + k] * w[n * K + k];
            s = 0.5 * s * (1 + tanh(0.7978845608028654 * (s + 0.044715 * s * s * s)));
            double e = fabs(y[m * N + n] - s) / (1 + fabs(s));
            *worst = e > *worst || isnan(e) ? (isnan(e) ? INFINITY : e) : *worst;
        }
    sg_buffer_release(dev, &lin.w.buf);
    sg_buffer_release(dev, &bx), sg_buffer_release(dev, &bb), sg_buffer_release(dev, &by);
    free(x), free(w), free(b), free(y);
    return rc;
}

/* ---- timing: one layer's four Linear layers of every tower (with the LayerNorms before QKV
 * and fc1, as the towers run them) ---- */

/* Seconds for all layers of every tower (the fastest of `reps` timed runs of one layer), the
 * weights stored as dtype. */
static int time_gemms(SgDevice *dev, const SgTuneJob *job, int reps, SgElemType dtype,
                      double *seconds, SgError *err)
{
    *seconds = 0;
    int rc = SIGLIP_OK;
    for (size_t t = 0; t < job->n_towers && rc == SIGLIP_OK; t++) {
        const SgTuneTower *tw = &job->towers[t];
        size_t M = tw->M, D = tw->D, I = tw->I;
        SgBuffer x = {0}, h = {0}, qkv = {0}, hn = {0};
        SgLinear l[4];
        memset(l, 0, sizeof l);
        SgLayerNorm ln = {.n = D, .eps = 1e-6f};
        const size_t n_out[4] = {3 * D, D, I, D}, n_in[4] = {D, D, D, I};
        rc = upload_random(dev, M * D, 4, &x, err);
        if (rc == SIGLIP_OK)
            rc = sg_buffer_create(dev, M * I * 4, &h, err);
        if (rc == SIGLIP_OK)
            rc = sg_buffer_create(dev, M * 3 * D * 4, &qkv, err);
        if (rc == SIGLIP_OK)
            rc = sg_buffer_create(dev, M * D * 4, &hn, err);
        if (rc == SIGLIP_OK)
            rc = upload_random(dev, D, 13, &ln.w, err);
        if (rc == SIGLIP_OK)
            rc = upload_random(dev, D, 14, &ln.b, err);
        for (int i = 0; i < 4 && rc == SIGLIP_OK; i++) {
            float *w = malloc(n_out[i] * n_in[i] * sizeof *w);
            if (!w)
                rc = sg_fail(err, SIGLIP_ENOMEM, "tune: out of host memory");
            else {
                fill(w, n_out[i] * n_in[i], 5 + (uint32_t)i);
                rc = sg_weight_upload(dev, w, n_out[i], n_in[i], dev->tuning.gemm, dtype,
                                      &l[i].w, err);
                free(w);
            }
            if (rc == SIGLIP_OK)
                rc = upload_random(dev, n_out[i], 9 + (uint32_t)i, &l[i].b, err);
        }
        double best = INFINITY;
        for (int r = 0; r <= reps && rc == SIGLIP_OK; r++) { /* run 0 warms up */
            double t0 = now_s();
            /* As run_encoder (src/model/tower.c) runs them: LayerNorm into QKV, and into the
             * MLP, fc1's output handed to fc2 (as q8 rows where q8's integer form runs); the
             * output projection from f32 (the attention's output, not run here). */
            SgView vx = sg_view(x.mem, 1, M, D), vh = sg_view(h.mem, 1, M, I);
            SgView vn = sg_view(hn.mem, 1, M, D);
            rc = sg_op_norm_linear(dev, vx, &ln, vn, &l[0], sg_view(qkv.mem, 1, M, 3 * D),
                                   SG_ACT_NONE, SG_STORE, err);
            if (rc == SIGLIP_OK)
                rc = sg_op_linear(dev, vx, &l[1], sg_view(h.mem, 1, M, D), SG_ACT_NONE,
                                  SG_STORE, err);
            if (rc == SIGLIP_OK)
                rc = sg_op_norm_mlp(dev, vx, &ln, vn, &l[2], SG_ACT_GELU_TANH, vh, &l[3], vx,
                                    SG_ACCUMULATE, err);
            if (rc == SIGLIP_OK)
                rc = sg_device_finish(dev, err);
            if (r > 0 && now_s() - t0 < best)
                best = now_s() - t0;
        }
        *seconds += best * (double)tw->layers;
        for (int i = 0; i < 4; i++)
            sg_buffer_release(dev, &l[i].w.buf), sg_buffer_release(dev, &l[i].b);
        sg_buffer_release(dev, &x), sg_buffer_release(dev, &h), sg_buffer_release(dev, &qkv);
        sg_buffer_release(dev, &hn), sg_buffer_release(dev, &ln.w), sg_buffer_release(dev, &ln.b);
    }
    return rc;
}

static double gemm_flops(const SgTuneJob *job)
{
    double f = 0;
    for (size_t t = 0; t < job->n_towers; t++) {
        const SgTuneTower *tw = &job->towers[t];
        f += 2.0 * (double)tw->M * (double)tw->D * (4.0 * tw->D + 2.0 * tw->I) * (double)tw->layers;
    }
    return f;
}

/* ---- attention: both kernels at the first tower's shape ---- */

/* Seconds of one attention of the first tower with dev->tuning.attention as it is, and the worst
 * error of its first query rows against a plain loop. */
static int time_attention(SgDevice *dev, const SgTuneTower *tw, double *seconds, double *worst,
                          SgError *err)
{
    size_t T = tw->tokens, D = tw->D, B = tw->M / tw->tokens, H = tw->heads, dh = D / H;
    SgBuffer qkv = {0}, out = {0};
    float *host = malloc(T * 3 * D * sizeof *host), *got = malloc(D * sizeof *got);
    int rc = host && got ? SIGLIP_OK : sg_fail(err, SIGLIP_ENOMEM, "tune: out of host memory");
    if (rc == SIGLIP_OK) {
        fill(host, T * 3 * D, 21);
        rc = sg_buffer_create(dev, B * T * 3 * D * 4, &qkv, err);
    }
    for (size_t b = 0; b < B && rc == SIGLIP_OK; b++)
        rc = sg_buffer_write(dev, qkv.mem, b * T * 3 * D * 4, T * 3 * D * 4, host, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_create(dev, B * T * D * 4, &out, err);
    SgView q = {qkv.mem, 0, B, T, D, 3 * D, T * 3 * D}, k = q, v = q;
    k.off = D, v.off = 2 * D;
    SgHeads heads = {H, 1.0f / sqrtf((float)dh)};
    *seconds = INFINITY;
    for (int r = 0; r < 3 && rc == SIGLIP_OK; r++) {
        double t0 = now_s();
        rc = sg_op_attention(dev, q, k, v, SG_NO_MASK, sg_view(out.mem, B, T, D), heads, err);
        if (rc == SIGLIP_OK)
            rc = sg_device_finish(dev, err);
        if (r > 0 && now_s() - t0 < *seconds)
            *seconds = now_s() - t0;
    }
    if (rc == SIGLIP_OK)
        rc = sg_buffer_read(dev, out.mem, 0, D * 4, got, err); /* item 0, query 0 */
    *worst = 0;
    double *p = rc == SIGLIP_OK ? malloc(T * sizeof *p) : NULL;
    for (size_t h = 0; p && h < H; h++) {
        double mx = -INFINITY, sum = 0;
        for (size_t j = 0; j < T; j++) {
            double s = 0;
            for (size_t d = 0; d < dh; d++)
                s += (double)host[h * dh + d] * host[j * 3 * D + D + h * dh + d];
            p[j] = s * heads.scale;
            mx = p[j] > mx ? p[j] : mx;
        }
        for (size_t j = 0; j < T; j++)
            sum += p[j] = exp(p[j] - mx);
        for (size_t d = 0; d < dh; d++) {
            double o = 0;
            for (size_t j = 0; j < T; j++)
                o += p[j] / sum * host[j * 3 * D + 2 * D + h * dh + d];
            double e = fabs(got[h * dh + d] - o) / (1 + fabs(o));
            *worst = isnan(e) ? INFINITY : e > *worst ? e : *worst;
        }
    }
    free(p), free(host), free(got);
    sg_buffer_release(dev, &qkv), sg_buffer_release(dev, &out);
    return rc;
}

/* ---- how each phase of the knob table is measured ---- */

/* Seconds of one candidate (dev retuned to it) and its worst error against plain C; `reps` timed
 * runs where the measure repeats. A candidate over SG_TUNE_TOLERANCE is rejected. */
typedef int (*SgMeasure)(SgDevice *dev, const SgTuneJob *job, int reps, double *seconds,
                         double *worst, SgError *err);

#define SG_TUNE_TOLERANCE 1e-4 /* as tests/test_ops.c holds the ops to */

/* The GEMM at an awkward size (two panels and a remainder of the block's width) against a plain
 * loop, then, when that passes, one layer's four Linear layers of every tower. */
static int measure_gemm_block(SgDevice *dev, const SgTuneJob *job, int reps, double *seconds,
                              double *worst, SgError *err)
{
    int rc = gemm_error(dev, 13, (size_t)dev->tuning.gemm_nr * 2 + 5, 37, SG_ELEM_F32, worst,
                        err);
    if (rc == SIGLIP_OK && *worst <= SG_TUNE_TOLERANCE)
        rc = time_gemms(dev, job, reps, SG_ELEM_F32, seconds, err);
    return rc;
}

/* q8's form (issue 28): the same check and timing with q8 weights (the form as sg_tuning_fit
 * fitted it to the block's private memory). */
static int measure_q8_form(SgDevice *dev, const SgTuneJob *job, int reps, double *seconds,
                           double *worst, SgError *err)
{
    int rc = gemm_error(dev, 13, (size_t)dev->tuning.gemm_nr * 2 + 5, 37, SG_ELEM_I8, worst, err);
    if (rc == SIGLIP_OK && *worst <= SG_TUNE_TOLERANCE)
        rc = time_gemms(dev, job, reps, SG_ELEM_I8, seconds, err);
    return rc;
}

/* The Linear layers at the batch and at four times it (where x leaves the caches), each per
 * item, so that neither decides alone. The walk order changes no result: nothing to check. */
static int measure_gemm_walk(SgDevice *dev, const SgTuneJob *job, int reps, double *seconds,
                             double *worst, SgError *err)
{
    SgTuneJob big = *job;
    for (size_t t = 0; t < big.n_towers; t++)
        big.towers[t].M *= 4;
    double s1 = INFINITY, s4 = INFINITY;
    *worst = 0;
    int rc = time_gemms(dev, job, reps, SG_ELEM_F32, &s1, err);
    if (rc == SIGLIP_OK)
        rc = time_gemms(dev, &big, 1, SG_ELEM_F32, &s4, err);
    *seconds = s1 + s4 / 4;
    return rc;
}

/* One attention of the first tower, as dev->tuning runs it. */
static int measure_attention(SgDevice *dev, const SgTuneJob *job, int reps, double *seconds,
                             double *worst, SgError *err)
{
    (void)reps;
    if (job->n_towers == 0)
        return sg_fail(err, SIGLIP_EINVAL, "tune: no tower to time attention at");
    return time_attention(dev, &job->towers[0], seconds, worst, err);
}

/* How the tuner runs each phase of the knob table (ocl/tuning.c lists the knobs and their
 * candidates), in this order. */
typedef struct SgPhaseRun {
    const char *name;   /* its key in the record, and in progress lines */
    SgMeasure measure;
    int required;       /* no candidate passing fails the tuner (else the start stays) */
    int runoff;         /* the fastest are timed once more before one is chosen */
    int ignores_budget; /* cheap enough that every candidate runs whatever the budget */
    double (*flops)(const SgTuneJob *job); /* work of one measure, for GFLOP/s; NULL = none */
} SgPhaseRun;

static const SgPhaseRun phase_runs[SG_TUNE_PHASES] = {
    [SG_TUNE_GEMM_BLOCK] = {"gemm block", measure_gemm_block, 1, 1, 0, gemm_flops},
    [SG_TUNE_GEMM_WALK] = {"gemm walk", measure_gemm_walk, 0, 0, 0, NULL},
    [SG_TUNE_ATTENTION] = {"attention kernel", measure_attention, 0, 0, 1, NULL},
    [SG_TUNE_Q8_FORM] = {"q8 form", measure_q8_form, 0, 0, 0, gemm_flops},
};

/* ---- the search ---- */

#define SG_TUNE_MAX 64          /* candidates one phase measures at most */
#define SG_TUNE_RUNOFF 3        /* the fastest this many are timed once more */

/* Times the SG_TUNE_RUNOFF fastest of the passed candidates once more, one after another,
 * keeping each one's best time: on a shared machine one slow moment should not decide. The
 * first one (the start: the table's own) is always among them: it was measured first, when the
 * device had just started, and measured slower than it is (4×16 mb8: 120 GFLOP/s against
 * 166–176 for its neighbours in one run on the AMD EPYC). Returns the index of the fastest. */
static size_t runoff(SgDevice *dev, const SgTuneJob *job, const SgPhaseRun *ph,
                     const SgTuning *cand, double *secs, size_t n)
{
    size_t pick[SG_TUNE_RUNOFF + 1], n_pick = 0;
    for (int round = 0; round < SG_TUNE_RUNOFF && (size_t)round < n; round++)
        for (size_t i = 0; i < n; i++) { /* the round-th fastest */
            size_t faster = 0;
            for (size_t j = 0; j < n; j++)
                faster += secs[j] < secs[i] || (secs[j] == secs[i] && j < i);
            if (faster == (size_t)round)
                pick[n_pick++] = i;
        }
    int has_first = 0;
    for (size_t p = 0; p < n_pick; p++)
        has_first |= pick[p] == 0;
    if (!has_first && n > 0)
        pick[n_pick++] = 0;
    for (size_t p = 0; p < n_pick && n > 1; p++) {
        double s = INFINITY, e = INFINITY;
        SgError ignored = {0};
        if (sg_device_retune(dev, &cand[pick[p]], job->cache_dir, &ignored) == SIGLIP_OK &&
            ph->measure(dev, job, 1, &s, &e, &ignored) == SIGLIP_OK && s < secs[pick[p]])
            secs[pick[p]] = s;
    }
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        best = secs[i] < secs[best] ? i : best;
    return best;
}

/* Where the tuner is: the clock, the progress count and the record. */
typedef struct SgTuneRun {
    const SgTuneJob *job;
    double start, last_cost;
    int done, total;
    cJSON *rec;
} SgTuneRun;

static void report(SgTuneRun *run, const char *what)
{
    if (run->job->progress)
        run->job->progress(run->job->user, run->done, run->total, what);
    run->done++;
}

/* One candidate: retuned to, measured, recorded in list; its seconds, or a negative status when
 * it was rejected. */
static int try_candidate(SgDevice *dev, SgTuneRun *run, SgTunePhase p, const SgTuning *cand,
                         cJSON *list, double *seconds)
{
    const SgPhaseRun *ph = &phase_runs[p];
    double t0 = now_s(), e = INFINITY;
    *seconds = INFINITY;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToArray(list, c);
    for (size_t i = 0; i < sg_knob_count; i++)
        if (sg_knobs[i].phase == p)
            cJSON_AddNumberToObject(c, sg_knobs[i].key, sg_knob_get(cand, &sg_knobs[i]));
    SgError why = {0};
    int st = sg_device_retune(dev, cand, run->job->cache_dir, &why);
    if (st == SIGLIP_OK)
        st = ph->measure(dev, run->job, 2, seconds, &e, &why);
    if (st == SIGLIP_OK && !(e <= SG_TUNE_TOLERANCE))
        st = sg_fail(&why, SIGLIP_EDEVICE, "error %.2e over the tolerance", e);
    run->last_cost = now_s() - t0;
    if (st != SIGLIP_OK) {
        cJSON_AddStringToObject(c, "rejected", why.message);
        return st;
    }
    cJSON_AddNumberToObject(c, "seconds", *seconds);
    cJSON_AddNumberToObject(c, "max_error", e);
    if (ph->flops)
        cJSON_AddNumberToObject(c, "gflops", ph->flops(run->job) / *seconds * 1e-9);
    return SIGLIP_OK;
}

/* Phase p from *chosen: every candidate the budget allows, then *chosen = the fastest that
 * passed (unchanged when none did and the phase is not required). */
static int run_phase(SgDevice *dev, SgTuneRun *run, SgTunePhase p, SgTuning *chosen,
                     SgError *err)
{
    const SgPhaseRun *ph = &phase_runs[p];
    SgTuning cand[SG_TUNE_MAX], passed[SG_TUNE_MAX];
    double secs[SG_TUNE_MAX];
    size_t n = sg_tune_candidates_fitted(&dev->info, p, chosen, cand, SG_TUNE_MAX), n_passed = 0;
    cJSON *list = cJSON_AddArrayToObject(run->rec, ph->name);
    for (size_t i = 0; i < n; i++) {
        char what[96];
        size_t len = (size_t)snprintf(what, sizeof what, "%s: ", ph->name);
        sg_tuning_describe(&cand[i], p, what + len, sizeof what - len);
        report(run, what);
        /* A candidate costs about what the last one did: start it only if it should end in
         * time. A required phase always runs its first (the start), so that a short budget
         * still compares against it; another phase out of time keeps the start unmeasured. */
        if ((i > 0 || !ph->required) && !ph->ignores_budget &&
            now_s() - run->start + run->last_cost > run->job->budget_s) {
            run->done += (int)(n - i - 1); /* the candidates not run */
            break;
        }
        if (try_candidate(dev, run, p, &cand[i], list, &secs[n_passed]) == SIGLIP_OK)
            passed[n_passed++] = cand[i];
    }
    if (n_passed == 0 && ph->required)
        return sg_fail(err, SIGLIP_EDEVICE, "tune: no %s candidate built and passed its check",
                       ph->name);
    if (n_passed == 0)
        return sg_device_retune(dev, chosen, run->job->cache_dir, err);
    size_t best = 0;
    if (ph->runoff) {
        char what[64];
        snprintf(what, sizeof what, "%s: the fastest once more", ph->name);
        report(run, what);
        best = runoff(dev, run->job, ph, passed, secs, n_passed);
        char key[64];
        snprintf(key, sizeof key, "%s best_seconds", ph->name);
        cJSON *w = cJSON_AddArrayToObject(run->rec, key);
        for (size_t i = 0; i < n_passed; i++)
            cJSON_AddItemToArray(w, cJSON_CreateNumber(secs[i]));
    } else
        for (size_t i = 1; i < n_passed; i++)
            best = secs[i] < secs[best] ? i : best;
    *chosen = passed[best];
    return sg_device_retune(dev, chosen, run->job->cache_dir, err);
}

int sg_tune(SgDevice *dev, const SgTuneJob *job, SgTuning *best, char **record, SgError *err)
{
    SgTuneRun run = {job, now_s(), 0, 0, 1, cJSON_CreateObject()};
    SgTuning chosen = dev->tuning, scratch[SG_TUNE_MAX];
    for (int p = SG_TUNE_NONE + 1; p < SG_TUNE_PHASES; p++) /* the steps, for progress */
        run.total += (int)sg_tune_candidates_fitted(&dev->info, (SgTunePhase)p, &chosen, scratch,
                                                    SG_TUNE_MAX) +
                     phase_runs[p].runoff;
    cJSON_AddNumberToObject(run.rec, "budget_s", job->budget_s);
    int rc = SIGLIP_OK;
    for (int p = SG_TUNE_NONE + 1; p < SG_TUNE_PHASES && rc == SIGLIP_OK; p++)
        rc = run_phase(dev, &run, (SgTunePhase)p, &chosen, err);
    if (job->progress)
        job->progress(job->user, run.total, run.total, "done");
    cJSON_AddNumberToObject(run.rec, "seconds", now_s() - run.start);
    chosen.rule = "tuned";
    *best = chosen;
    *record = rc == SIGLIP_OK ? cJSON_PrintUnformatted(run.rec) : NULL;
    cJSON_Delete(run.rec);
    if (rc == SIGLIP_OK && !*record)
        rc = sg_fail(err, SIGLIP_ENOMEM, "tune: out of memory");
    return rc;
}
