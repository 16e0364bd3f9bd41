/* bench_naflex.c — the SigLIP 2 NaFlex vision tower next to the fixed-resolution one at the same
 * patch count, on one device in one run: random weights of a base shape (768 wide, 12 heads,
 * 3072 MLP), a fixed SiglipModel at (16·g)² pixels and a Siglip2Model with max_num_patches g²,
 * fed a batch mixing aspect ratios (g×g, g/2×2g, 2g×g/2, and a grid below the budget, padded).
 * Reports the median seconds per batch of each (runs interleaved) and their ratio (NaFlex /
 * fixed).
 * Usage: bench_naflex [--device SPEC] [--layers L] [--batch B] [--grid g] [--iters N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siglip.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct Run {
    SiglipModel *model;
    const float *pixels;        /* fixed: [B, 3, S, S] */
    const SiglipPatches *patches; /* NaFlex, or NULL */
    int batch;
    float *pooled;
} Run;

static int forward(const Run *r)
{
    SiglipImageOutput o = {.pooler_output = r->pooled};
    return r->patches ? siglip_encode_image_patches(r->model, r->patches, r->batch, &o)
                      : siglip_encode_image(r->model, r->pixels, r->batch, &o);
}

/* Median seconds of `iters` forwards of each run after one warm-up each, the two runs
 * interleaved so that load on a shared machine hits both alike; 0 on success. */
static int time_runs(const Run *runs[2], int iters, double median[2])
{
    double t[2][64];
    for (int k = 0; k < 2; k++)
        if (forward(runs[k]))
            return -1;
    for (int i = 0; i < iters; i++)
        for (int k = 0; k < 2; k++) {
            double t0 = now_s();
            if (forward(runs[k]))
                return -1;
            t[k][i] = now_s() - t0;
        }
    for (int k = 0; k < 2; k++) {
        qsort(t[k], (size_t)iters, sizeof *t[k], cmp_double);
        median[k] = t[k][iters / 2];
    }
    return 0;
}

static const char *config(char *buf, size_t n, int naflex, int layers, int grid)
{
    snprintf(buf, n,
             "{\"model_type\": \"%s\", \"text_config\": {\"num_hidden_layers\": 1, "
             "\"vocab_size\": 1000}, \"vision_config\": {\"hidden_size\": 768, "
             "\"intermediate_size\": 3072, \"num_attention_heads\": 12, \"num_hidden_layers\": "
             "%d, \"patch_size\": 16, \"%s\": %d}}",
             naflex ? "siglip2" : "siglip", layers, naflex ? "num_patches" : "image_size",
             naflex ? grid * grid : 16 * grid);
    return buf;
}

int main(int argc, char **argv)
{
    const char *device = NULL;
    int layers = 12, batch = 4, grid = 16, iters = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--device"))
            device = argv[i + 1];
        else if (!strcmp(argv[i], "--layers"))
            layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--grid"))
            grid = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters"))
            iters = atoi(argv[i + 1]);
    }
    if (layers < 1 || batch < 1 || grid < 2 || grid % 2 || iters < 1 || iters > 64) {
        fprintf(stderr, "bench_naflex: bad arguments\n");
        return 2;
    }
    SiglipSettings s;
    siglip_default_settings(&s);
    s.device = device;
    SiglipContext *ctx = NULL;
    SiglipModel *fixed = NULL, *naflex = NULL;
    char cfg[512];
    int rc = siglip_context_create(&ctx, &s);
    if (!rc)
        rc = siglip_model_create_random(ctx, config(cfg, sizeof cfg, 0, layers, grid), 1, &fixed);
    if (!rc)
        rc = siglip_model_create_random(ctx, config(cfg, sizeof cfg, 1, layers, grid), 1, &naflex);
    if (rc) {
        fprintf(stderr, "bench_naflex: %s\n", siglip_context_error(ctx));
        return 1;
    }
    int S = 16 * grid, N = grid * grid, patch = 3 * 16 * 16;
    size_t px_n = (size_t)batch * 3 * S * S, pt_n = (size_t)batch * N * patch;
    float *pixels = malloc(px_n * sizeof *pixels), *pv = malloc(pt_n * sizeof *pv);
    int32_t *mask = calloc((size_t)batch * N, sizeof *mask);
    int32_t *shapes = malloc((size_t)batch * 2 * sizeof *shapes);
    float *pooled = malloc((size_t)batch * 768 * sizeof *pooled);
    uint32_t seed = 7;
    for (size_t i = 0; i < px_n; i++)
        pixels[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (size_t i = 0; i < pt_n; i++)
        pv[i] = pixels[i % px_n];
    const int grids[4][2] = {{grid, grid}, {grid / 2, grid * 2}, {grid * 2, grid / 2},
                             {grid - 1, grid - 1}};
    for (int b = 0; b < batch; b++) {
        shapes[2 * b] = grids[b % 4][0];
        shapes[2 * b + 1] = grids[b % 4][1];
        for (int r = 0; r < shapes[2 * b] * shapes[2 * b + 1]; r++)
            mask[(size_t)b * N + r] = 1;
    }
    SiglipPatches patches = {N, pv, mask, shapes};
    Run rf = {fixed, pixels, NULL, batch, pooled}, rn = {naflex, NULL, &patches, batch, pooled};
    const Run *runs[2] = {&rf, &rn};
    double t[2];
    int failed = time_runs(runs, iters, t);
    double tf = t[0], tn = t[1];
    SiglipDeviceInfo dev;
    siglip_context_device(ctx, &dev);
    if (failed)
        fprintf(stderr, "bench_naflex: %s\n", siglip_context_error(ctx));
    else
        printf("device %s; vision tower base-patch16 width, %d layers, batch %d, %d patches per "
               "image\n  fixed %dx%d (SiglipModel):        %.3f s/batch\n"
               "  NaFlex max_patches %d (Siglip2Model, mixed grids): %.3f s/batch\n"
               "  ratio NaFlex / fixed: %.3f\n",
               dev.name, layers, batch, N, S, S, tf, N, tn, tn / tf);
    free(pixels);
    free(pv);
    free(mask);
    free(shapes);
    free(pooled);
    siglip_model_free(&fixed);
    siglip_model_free(&naflex);
    siglip_context_close(&ctx);
    return failed != 0;
}
