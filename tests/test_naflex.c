/* test_naflex.c — SigLIP 2 NaFlex (model_type "siglip2") on the fixture made here
 * (tests/data/siglip2-naflex/gen_naflex.py): the processor's patch lists, masks and grids, the
 * antialiased position-grid resize, and the vision tower on a batch mixing aspect ratios
 * (1×64, 64×1, images smaller than one patch, 300×9, photos). Expected values: python3-pil
 * pixels through transformers' size rule and patch layout, torch's F.interpolate(antialias=True)
 * in float32, and a python3-torch float64 forward written from transformers' modeling_siglip2.py.
 * Tolerances: pixels, masks and grids exact; position tables 1e-6 (torch's float32 kernel);
 * outputs 1e-4 against float64 (as test_parity_tiny); a batch against its images one by one
 * 1e-5 (the same arithmetic, GEMMs blocked differently). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixtures.h"
#include "harness.h"
#include "image/image.h"
#include "model/model.h"
#include "model/pos_interp.h"
#include "siglip.h"

#define TOL 1e-4

enum { N_IMAGES = 10, N_TEXTS = 8, T = 64, D = 32, P = 8, PATCH = 3 * P * P, MAXP = 24 };

/* Caller-side arrays of a SiglipPatches for n images at budget N. */
typedef struct Inputs {
    SiglipPatches in;
    int n;
} Inputs;

static Inputs inputs_alloc(int n, int N)
{
    Inputs x = {{N, calloc((size_t)n * N * PATCH, sizeof(float)),
                 calloc((size_t)n * N, sizeof(int32_t)), calloc((size_t)n * 2, sizeof(int32_t))},
                n};
    return x;
}

static void inputs_free(Inputs *x)
{
    free(x->in.pixel_values);
    free(x->in.pixel_attention_mask);
    free(x->in.spatial_shapes);
}

/* Image `name`: made by the generator (siglip2-naflex/images) or a shared one (images/). */
static char *image_path(const cJSON *made, const char *name)
{
    const cJSON *v;
    char rel[160];
    snprintf(rel, sizeof rel, "images/%s", name);
    cJSON_ArrayForEach(v, made) if (strcmp(v->valuestring, name) == 0)
        snprintf(rel, sizeof rel, "siglip2-naflex/images/%s", name);
    return sg_test_path(rel);
}

/* The processor on the images listed in cases[key], checked exactly against pre.* */
static Inputs preprocess(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex,
                         const cJSON *cases, const char *key, const char *pre, int N)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(cases, key);
    const cJSON *made = cJSON_GetObjectItemCaseSensitive(cases, "made_images");
    int n = cJSON_GetArraySize(names);
    Inputs x = inputs_alloc(n, N);
    char **paths = calloc((size_t)n, sizeof *paths);
    for (int i = 0; i < n; i++)
        paths[i] = image_path(made, cJSON_GetArrayItem(names, i)->valuestring);
    int rc = siglip_preprocess_files_patches(siglip_model_image_processor(m),
                                             (const char *const *)paths, n, &x.in, NULL);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    char name[96];
    snprintf(name, sizeof name, "%s.pixel_values", pre);
    fx_expect_close(ex, name, x.in.pixel_values, (size_t)n * N * PATCH, 0.0);
    snprintf(name, sizeof name, "%s.pixel_attention_mask", pre);
    int32_t *mask = fx_i32(ex, name, (size_t)n * N);
    CHECK(mask && memcmp(mask, x.in.pixel_attention_mask, (size_t)n * N * sizeof *mask) == 0,
          "%s differs", name);
    snprintf(name, sizeof name, "%s.spatial_shapes", pre);
    int32_t *shapes = fx_i32(ex, name, (size_t)n * 2);
    for (int i = 0; shapes && i < n; i++)
        CHECK(shapes[2 * i] == x.in.spatial_shapes[2 * i] &&
                  shapes[2 * i + 1] == x.in.spatial_shapes[2 * i + 1],
              "%s[%d]: got %dx%d, want %dx%d", name, i, x.in.spatial_shapes[2 * i],
              x.in.spatial_shapes[2 * i + 1], shapes[2 * i], shapes[2 * i + 1]);
    free(mask);
    free(shapes);
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    return x;
}

/* The vision tower on x in one call against pre.f64.*, and each image alone against the batch. */
static void check_forward(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex,
                          const Inputs *x, const char *pre)
{
    size_t n = (size_t)x->n, N = (size_t)x->in.max_patches;
    float *hidden = malloc(n * N * D * sizeof *hidden), *pool = malloc(n * D * sizeof *pool);
    SiglipImageOutput io = {.pooler_output = pool, .last_hidden_state = hidden};
    int rc = siglip_encode_image_patches(m, &x->in, x->n, &io);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    fx_expect_vision(ex, pre, hidden, n * N * D, pool, n * D, TOL);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float one_hidden[MAXP * D], one_pool[D];
        SiglipPatches one = {(int)N, x->in.pixel_values + i * N * PATCH,
                             x->in.pixel_attention_mask + i * N, x->in.spatial_shapes + 2 * i};
        SiglipImageOutput o1 = {.pooler_output = one_pool, .last_hidden_state = one_hidden};
        rc = siglip_encode_image_patches(m, &one, 1, &o1);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        double e1 = sg_max_abs_diff(one_pool, pool + i * D, D);
        double e2 = sg_max_abs_diff(one_hidden, hidden + i * N * D, N * D);
        worst = e1 > worst ? e1 : worst;
        worst = e2 > worst ? e2 : worst;
    }
    fprintf(stderr, "  %-40s max abs error %.3g\n", "batch vs one by one", worst);
    CHECK(worst <= 1e-5, "%s: a batch differs from its images run alone by %.3g", pre, worst);
    free(hidden);
    free(pool);
}

/* Embeds and logits of the mixed batch against the reference's text tower. */
static void check_logits(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex,
                         const Inputs *x, const cJSON *texts)
{
    const char *tx[N_TEXTS];
    for (int i = 0; i < N_TEXTS; i++)
        tx[i] = cJSON_GetArrayItem(texts, i)->valuestring;
    static int32_t ids[N_TEXTS * T];
    int rc = siglip_tokenize(siglip_model_tokenizer(m), tx, N_TEXTS, 0, ids, NULL);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    int32_t *want = fx_i32(ex, "input_ids", N_TEXTS * T);
    CHECK(want && memcmp(want, ids, sizeof ids) == 0, "token ids differ");
    free(want);
    static float t_emb[N_TEXTS * D], v_emb[N_IMAGES * D], lpi[N_IMAGES * N_TEXTS];
    SiglipTextOutput to = {.embeds = t_emb};
    rc = siglip_encode_text(m, ids, NULL, N_TEXTS, &to);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    SiglipImageOutput io = {.embeds = v_emb};
    rc = siglip_encode_image_patches(m, &x->in, x->n, &io);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    rc = siglip_logits(m, t_emb, N_TEXTS, v_emb, N_IMAGES, lpi, NULL);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    fx_expect_close(ex, "n24.f64.image_embeds", v_emb, N_IMAGES * D, TOL);
    fx_expect_close(ex, "n24.f64.logits_per_image", lpi, N_IMAGES * N_TEXTS, TOL);
}

/* siglip_zero_shot runs NaFlex models through patch lists: the pipeline's scores (default
 * template, mask passed, sigmoid) against the reference's, image by image and label by label. */
static void check_zero_shot(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex,
                            const cJSON *cases)
{
    const cJSON *made = cJSON_GetObjectItemCaseSensitive(cases, "made_images");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(cases, "images");
    const cJSON *labels_json = cJSON_GetObjectItemCaseSensitive(cases, "zero_shot_labels");
    enum { NI = 2, NL = 4 };
    char *paths[NI];
    const char *labels[NL];
    for (int i = 0; i < NI; i++)
        paths[i] = image_path(made, cJSON_GetArrayItem(names, i)->valuestring);
    for (int l = 0; l < NL; l++)
        labels[l] = cJSON_GetArrayItem(labels_json, l)->valuestring;
    SiglipScore scores[NI * NL];
    int rc = siglip_zero_shot(m, (const char *const *)paths, NI, labels, NL, NULL, scores);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    float *want = fx_f32(ex, "zs.scores", NI * NL);
    double worst = 0;
    for (int i = 0; want && rc == SIGLIP_OK && i < NI; i++)
        for (int k = 0; k < NL; k++) {
            const SiglipScore *sc = &scores[i * NL + k];
            double e = fabs(sc->score - want[i * NL + sc->label]);
            worst = e > worst ? e : worst;
            if (k > 0)
                CHECK(sc->score <= scores[i * NL + k - 1].score, "scores sorted");
        }
    fprintf(stderr, "  %-40s max abs error %.3g\n", "zero-shot scores", worst);
    CHECK(want && worst <= 1e-5, "zero-shot scores off by %.3g", worst);
    free(want);
    for (int i = 0; i < NI; i++)
        free(paths[i]);
}

/* Misuse gets a clear SIGLIP_EINVAL; a bad file in a list call is reported, not fatal. */
static void check_errors(SiglipContext *ctx, SiglipModel *m, Inputs *x)
{
    SiglipImageProcessor *proc = siglip_model_image_processor(m);
    float px[3 * 8 * 8];
    SiglipImageOutput io = {.pooler_output = px};
    CHECK(siglip_encode_image(m, px, 1, &io) == SIGLIP_EINVAL, "fixed-size encode refused");
    const char *bad_path = "/nonexistent/image.png";
    CHECK(siglip_preprocess_files(proc, &bad_path, 1, px) == SIGLIP_EINVAL,
          "fixed-size preprocess refused");
    CHECK(siglip_image_processor_set_max_patches(proc, 0) == SIGLIP_EINVAL, "budget 0");
    /* Siglip2Model has no interpolate_pos_encoding: a fixed size is refused, not half-applied
     * (the n7 forward below runs after it) */
    CHECK(siglip_model_set_image_size(m, 64, 64) == SIGLIP_ENOTSUP &&
              strstr(siglip_context_error(ctx), "max_patches"),
          "fixed image size on NaFlex: %s", siglip_context_error(ctx));
    SiglipPatches wrong = x->in;
    wrong.max_patches = MAXP + 1;
    CHECK(siglip_preprocess_files_patches(proc, &bad_path, 1, &wrong, NULL) == SIGLIP_EINVAL,
          "budget mismatch");
    x->in.pixel_attention_mask[3] = 0; /* a hole in image 0's mask */
    CHECK(siglip_encode_image_patches(m, &x->in, 1, &io) == SIGLIP_EINVAL &&
              strstr(siglip_context_error(ctx), "pixel_attention_mask"),
          "bad mask: %s", siglip_context_error(ctx));
    x->in.pixel_attention_mask[3] = 1;
    x->in.spatial_shapes[0] = 5; /* 5·6 > 24 */
    CHECK(siglip_encode_image_patches(m, &x->in, 1, &io) == SIGLIP_EINVAL, "grid too big");
    /* a list with a missing file: its rows zero, its status says why, the others done */
    Inputs two = inputs_alloc(2, MAXP);
    char *good = sg_test_path("images/rgb_97x61.png");
    const char *paths[2] = {bad_path, good};
    SiglipItemStatus st[2];
    memset(two.in.pixel_values, 0x7f, (size_t)MAXP * PATCH * sizeof(float));
    int rc = siglip_preprocess_files_patches(proc, paths, 2, &two.in, st);
    CHECK(rc == SIGLIP_OK && st[0].status != SIGLIP_OK && st[1].status == SIGLIP_OK &&
              strstr(st[0].message, "nonexistent") && two.in.spatial_shapes[0] == 0 &&
              two.in.pixel_values[0] == 0.0f && two.in.pixel_attention_mask[0] == 0 &&
              two.in.spatial_shapes[2] == 4 && two.in.spatial_shapes[3] == 6,
          "per-item status: rc %d, %d %d", rc, st[0].status, st[1].status);
    free(good);
    inputs_free(&two);
}

/* The model: its info, position tables, both budgets' batches, logits, zero-shot, misuse. */
static void test_model(SiglipContext *ctx, SiglipModel *m, const SiglipModelInfo *info,
                       const SgSafetensors *ex, const cJSON *cases)
{
    CHECK(info->max_patches == MAXP && info->num_patches == 16 && info->has_tokenizer &&
              info->patch_size == P,
          "info: max_patches %d, num_patches %d", info->max_patches, info->num_patches);
    /* sg_pos_resize_aa_bilinear against torch's F.interpolate(antialias=True) in float32 */
    static const FxPosRef pos_ref = {"", 1e-6};
    fx_check_pos_tables(m, ex, cJSON_GetObjectItemCaseSensitive(cases, "pos_shapes"),
                        sg_pos_resize_aa_bilinear, &pos_ref, 1);
    Inputs x = preprocess(ctx, m, ex, cases, "images", "n24", MAXP);
    check_forward(ctx, m, ex, &x, "n24");
    check_logits(ctx, m, ex, &x, cJSON_GetObjectItemCaseSensitive(cases, "texts"));
    check_zero_shot(ctx, m, ex, cases);
    check_errors(ctx, m, &x);
    inputs_free(&x);
    /* another budget: 7 patches (odd, below the 4×4 grid) */
    SiglipImageProcessor *proc = siglip_model_image_processor(m);
    CHECK_STATUS(siglip_image_processor_set_max_patches(proc, 7), SIGLIP_OK, "budget");
    x = preprocess(ctx, m, ex, cases, "n7_images", "n7", 7);
    check_forward(ctx, m, ex, &x, "n7");
    inputs_free(&x);
}

/* Siglip2ForImageClassification (tests/data/siglip2-naflex-cls/gen_naflex_cls.py: this fixture's
 * vision tower with a classifier): logits within TOL of the float64 reference that pools each
 * image's own patches, and farther than 100·TOL from a mean over all N rows (padding included),
 * so the fixture tells the two apart; siglip_classify end to end; the fixed-size and
 * classifier-less calls refused. */
static void test_classifier(SiglipModel *plain)
{
    FxSuite fx;
    SiglipModelInfo info;
    SiglipModel *m = NULL;
    if (fx_suite_open(&fx, "siglip2-naflex-cls/cases.json",
                      "siglip2-naflex-cls/expected.safetensors") == 0 &&
        (m = fx_load_model(fx.ctx, "siglip2-naflex-cls", &info))) {
        enum { L = 5 };
        CHECK(info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION && info.num_labels == L &&
                  info.max_patches == MAXP,
              "info: architecture %d, %d labels, max_patches %d", info.architecture,
              info.num_labels, info.max_patches);
        static const struct { const char *key, *pre; int N; } runs[] = {{"images", "n24", MAXP},
                                                                        {"n7_images", "n7", 7}};
        SiglipImageProcessor *proc = siglip_model_image_processor(m);
        for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
            CHECK_STATUS(siglip_image_processor_set_max_patches(proc, runs[r].N), SIGLIP_OK,
                         "budget");
            Inputs x = preprocess(fx.ctx, m, fx.ex, fx.cases, runs[r].key, runs[r].pre, runs[r].N);
            size_t n = (size_t)x.n;
            float *logits = calloc(n * L, sizeof *logits);
            int rc = siglip_classify_logits_patches(m, &x.in, x.n, logits);
            CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(fx.ctx));
            char name[64];
            snprintf(name, sizeof name, "%s.f64.logits", runs[r].pre);
            fx_expect_close(fx.ex, name, logits, n * L, TOL);
            snprintf(name, sizeof name, "%s.f64.logits_unmasked", runs[r].pre);
            float *unmasked = fx_f32(fx.ex, name, n * L);
            double apart = 0;
            for (size_t i = 0; unmasked && i < n * L; i++)
                apart = fmax(apart, fabs((double)unmasked[i] - logits[i]));
            CHECK(apart > 100 * TOL, "%s: the padded mean is only %.2g away", runs[r].pre, apart);
            /* the fixed-size call and a model without a classifier are refused */
            CHECK(siglip_classify_logits(m, x.in.pixel_values, x.n, logits) == SIGLIP_EINVAL,
                  "siglip_classify_logits on NaFlex");
            CHECK(siglip_classify_logits_patches(plain, &x.in, x.n, logits) == SIGLIP_EINVAL,
                  "siglip_classify_logits_patches without a classifier");
            free(unmasked);
            free(logits);
            inputs_free(&x);
        }
        /* end to end from files at the processor's budget: the best class is the reference's */
        CHECK_STATUS(siglip_image_processor_set_max_patches(proc, MAXP), SIGLIP_OK, "budget");
        float *want = fx_f32(fx.ex, "n24.f64.logits", N_IMAGES * L);
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(fx.cases, "images");
        const cJSON *made = cJSON_GetObjectItemCaseSensitive(fx.cases, "made_images");
        char *paths[3];
        for (int i = 0; i < 3; i++)
            paths[i] = image_path(made, cJSON_GetArrayItem(names, i)->valuestring);
        SiglipScore scores[3 * L];
        int rc = siglip_classify(m, (const char *const *)paths, 3, 0, scores);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(fx.ctx));
        CHECK(want != NULL, "n24.f64.logits");
        for (int i = 0; rc == SIGLIP_OK && want && i < 3; i++) {
            int best = 0;
            for (int l = 1; l < L; l++)
                best = want[i * L + l] > want[i * L + best] ? l : best;
            CHECK(scores[i * L].label == best, "image %d: class %d, reference %d", i,
                  scores[i * L].label, best);
        }
        for (int i = 0; i < 3; i++)
            free(paths[i]);
        free(want);
    }
    siglip_model_free(&m);
    fx_suite_close(&fx);
}

int main(void)
{
    FxSuite fx;
    SiglipModelInfo info;
    SiglipModel *m = NULL;
    if (!fx_suite_open(&fx, "siglip2-naflex/cases.json", "siglip2-naflex/expected.safetensors") &&
        (m = fx_load_model(fx.ctx, "siglip2-naflex", &info)))
        test_model(fx.ctx, m, &info, fx.ex, fx.cases);
    if (m)
        test_classifier(m);
    siglip_model_free(&m);
    fx_suite_close(&fx);
    return sg_test_finish("test_naflex");
}
