/* test_precision.c — reduced-precision weights (SiglipSettings.precision, issue 14) against the
 * f32 path of the same library on the same inputs: cosine of every text/image embed row and the
 * largest logits_per_image error, each against a documented bound (docs/precision.md),
 * on random base-shaped weights and on the medium-bf16 fixture (skipped when absent). The f32
 * path itself is held to transformers by test_parity_*; here the reference is f32 storage. */
#include "harness.h"
#include "siglip.h"

/* Base widths (D = 768, F = 3072, 12 heads, 224² images of 16² patches) with 2 layers per tower
 * instead of 12 to keep CI time down; vocabulary 1000 and 64 positions as medium-bf16. */
static const char random_config[] =
    "{\"architectures\": [\"SiglipModel\"], \"model_type\": \"siglip\","
    " \"text_config\": {\"hidden_size\": 768, \"intermediate_size\": 3072,"
    " \"num_attention_heads\": 12, \"num_hidden_layers\": 2, \"vocab_size\": 1000,"
    " \"max_position_embeddings\": 64, \"projection_size\": 768},"
    " \"vision_config\": {\"hidden_size\": 768, \"intermediate_size\": 3072,"
    " \"num_attention_heads\": 12, \"num_hidden_layers\": 2, \"image_size\": 224,"
    " \"patch_size\": 16}}";

enum { N_TEXTS = 3, N_IMAGES = 2, T = 64, D = 768, S = 224 };

/* Bounds per precision (f32 first, which must match itself exactly): the embed cosines
 * (≥ 0.9999 bf16/f16, ≥ 0.999 q8) and logit errors a little above what was measured (docs/precision.md).
 * q8 (issue 28): its GEMM rounds the activations too, to 7 bits (cl/q8_rows.h; the integer
 * form, the table's choice on CPU devices): measured 0.99965 / 0.99968, 1.87e-2 (random) and
 * 0.99946 / 0.99975, 1.58e-2 (medium) on PoCL, so the logit bound is 0.03 (with 8-bit
 * activations it was 0.02 for 5.4e-3 / 1.07e-2; the widening form, on devices without int8 dot
 * products, measured 9.7e-3). */
static const struct {
    SiglipPrecision p;
    const char *name;
    double min_cosine, max_logit_err;
} bounds[] = {
    {SIGLIP_PRECISION_F32, "f32", 1.0 - 1e-12, 1e-9},
    {SIGLIP_PRECISION_BF16, "bf16", 0.9999, 0.015},
    {SIGLIP_PRECISION_F16, "f16", 0.9999, 0.003},
    {SIGLIP_PRECISION_Q8, "q8", 0.999, 0.03},
};

typedef struct Outputs {
    float text[N_TEXTS * D], image[N_IMAGES * D], logits[N_IMAGES * N_TEXTS];
    uint64_t device_bytes;
} Outputs;

/* Loads the model (dir, or random_config when NULL) stored in precision p and runs both towers. */
static int run(const char *dir, SiglipPrecision p, const int32_t *ids, const float *pixels,
               Outputs *o)
{
    SiglipSettings s;
    sg_test_settings(&s);
    s.precision = p;
    SiglipContext *ctx = NULL;
    SiglipModel *m = NULL;
    int rc = siglip_context_create(&ctx, &s);
    if (rc == SIGLIP_OK)
        rc = dir ? siglip_model_load(ctx, dir, &m)
                 : siglip_model_create_random(ctx, random_config, 7, &m);
    if (rc == SIGLIP_OK)
        rc = siglip_context_memory(ctx, &o->device_bytes, NULL);
    SiglipTextOutput to = {.embeds = o->text};
    SiglipImageOutput io = {.embeds = o->image};
    if (rc == SIGLIP_OK)
        rc = siglip_encode_text(m, ids, NULL, N_TEXTS, &to);
    if (rc == SIGLIP_OK)
        rc = siglip_encode_image(m, pixels, N_IMAGES, &io);
    if (rc == SIGLIP_OK)
        rc = siglip_logits(m, o->text, N_TEXTS, o->image, N_IMAGES, o->logits, NULL);
    CHECK_STATUS(rc, SIGLIP_OK, ctx ? siglip_context_error(ctx) : "context");
    siglip_model_free(&m);
    siglip_context_close(&ctx);
    return rc;
}

static double min_row_cosine(const float *a, const float *b, size_t rows)
{
    double c = 1.0;
    for (size_t r = 0; r < rows; r++) {
        double x = sg_cosine(a + r * D, b + r * D, D);
        c = x < c ? x : c;
    }
    return c;
}

/* Zero-shot labels: each image's best text under p must be f32's wherever f32's margin between
 * its best two texts is more than twice the logit bound (closer ones may swap within it).
 * Returns how many images were decided. */
static int same_labels(const char *label, const char *name, const float *got, const float *ref,
                       double max_err)
{
    int decided = 0;
    for (size_t i = 0; i < N_IMAGES; i++) {
        const float *r = ref + i * N_TEXTS, *g = got + i * N_TEXTS;
        size_t best = 0, best_g = 0;
        for (size_t t = 1; t < N_TEXTS; t++) {
            best = r[t] > r[best] ? t : best;
            best_g = g[t] > g[best_g] ? t : best_g;
        }
        double second = -INFINITY;
        for (size_t t = 0; t < N_TEXTS; t++)
            second = t != best && r[t] > second ? r[t] : second;
        if (r[best] - second <= 2 * max_err)
            continue;
        decided++;
        CHECK(best_g == best, "%s %s: image %zu labelled text %zu, f32 text %zu", label, name, i,
              best_g, best);
    }
    return decided;
}

static void compare_precisions(const char *label, const char *dir, const int32_t *ids,
                               const float *pixels)
{
    static Outputs ref, got;
    if (run(dir, SIGLIP_PRECISION_F32, ids, pixels, &ref) != SIGLIP_OK)
        return;
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        if (run(dir, bounds[i].p, ids, pixels, &got) != SIGLIP_OK)
            continue;
        double ct = min_row_cosine(got.text, ref.text, N_TEXTS);
        double ci = min_row_cosine(got.image, ref.image, N_IMAGES);
        double e = sg_max_abs_diff(got.logits, ref.logits, N_IMAGES * N_TEXTS);
        printf("%-7s %-5s text cos %.7f  image cos %.7f  logit err %.2e  device %.1f MB "
               "(%.3f of f32)\n",
               label, bounds[i].name, ct, ci, e, got.device_bytes / 1e6,
               (double)got.device_bytes / (double)ref.device_bytes);
        CHECK(ct >= bounds[i].min_cosine && ci >= bounds[i].min_cosine,
              "%s %s: embed cosine %.7f / %.7f below %.7f", label, bounds[i].name, ct, ci,
              bounds[i].min_cosine);
        CHECK(e <= bounds[i].max_logit_err, "%s %s: logit error %.3g above %.3g", label,
              bounds[i].name, e, bounds[i].max_logit_err);
        int decided = same_labels(label, bounds[i].name, got.logits, ref.logits,
                                  bounds[i].max_logit_err);
        printf("%-7s %-5s zero-shot labels compared on %d of %d images\n", label, bounds[i].name,
               decided, N_IMAGES);
    }
}

int main(void)
{
    static int32_t ids[N_TEXTS * T];
    static float pixels[N_IMAGES * 3 * S * S];
    SgRng rng = {0x5eed};
    for (size_t i = 0; i < N_TEXTS * T; i++)
        ids[i] = (int32_t)(sg_rng_next(&rng) % 1000);
    sg_rng_fill(&rng, pixels, N_IMAGES * 3 * S * S, -1.0f, 1.0f);
    compare_precisions("random", NULL, ids, pixels);

    const char *fixtures = sg_test_medium_dir();
    if (fixtures) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/medium-bf16", fixtures);
        compare_precisions("medium", dir, ids, pixels);
    } else {
        printf("medium fixtures not found (SIGLIP_MEDIUM_FIXTURES): medium part skipped\n");
    }
    return sg_test_finish("test_precision");
}
