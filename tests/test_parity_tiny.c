/* test_parity_tiny.c — the tiny and tiny-cls models against transformers' float64 forward:
 * every output of both towers, the logits with and without the text mask, the classifier logits.
 * Tolerance: max abs error ≤ 1e-4 against the f64 tensors (issue 2). */
#include "harness.h"
#include "st_writer.h"
#include "model/safetensors.h"
#include "fixtures.h"
#include "siglip.h"

#define TOL 1e-4

enum { N_TEXTS = 15, N_IMAGES = 11, T = 64, D = 32, S = 40, N_PATCHES = 25, N_LABELS = 5 };

static void expect_close(const SgSafetensors *ex, const char *name, const float *got, size_t n)
{
    fx_expect_close(ex, name, got, n, TOL);
}

static SiglipContext *open_context(SiglipTextMask mask)
{
    SiglipSettings s;
    sg_test_settings(&s);
    s.text_mask = mask;
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    CHECK(rc == SIGLIP_OK, "context create: %d", rc);
    return ctx;
}

/* Both towers without mask: hidden states, poolers, embeds, logits (both directions). */
static void check_unmasked(SiglipModel *m, const SgSafetensors *ex, const int32_t *ids,
                           const float *pixels)
{
    static float t_hidden[N_TEXTS * T * D], t_pool[N_TEXTS * D], t_emb[N_TEXTS * D];
    static float v_hidden[N_IMAGES * N_PATCHES * D], v_pool[N_IMAGES * D], v_emb[N_IMAGES * D];
    static float lpi[N_IMAGES * N_TEXTS], lpt[N_TEXTS * N_IMAGES];
    SiglipTextOutput to = {.pooler_output = t_pool, .embeds = t_emb, .last_hidden_state = t_hidden};
    int rc = siglip_encode_text(m, ids, NULL, N_TEXTS, &to);
    CHECK_STATUS(rc, SIGLIP_OK, "encode_text");
    SiglipImageOutput io = {.pooler_output = v_pool, .embeds = v_emb, .last_hidden_state = v_hidden};
    rc = siglip_encode_image(m, pixels, N_IMAGES, &io);
    CHECK_STATUS(rc, SIGLIP_OK, "encode_image");
    rc = siglip_logits(m, t_emb, N_TEXTS, v_emb, N_IMAGES, lpi, lpt);
    CHECK_STATUS(rc, SIGLIP_OK, "logits");
    expect_close(ex, "public.f64.text.last_hidden_state", t_hidden, sizeof t_hidden / 4);
    expect_close(ex, "public.f64.text.pooler_output", t_pool, sizeof t_pool / 4);
    expect_close(ex, "public.f64.text_embeds", t_emb, sizeof t_emb / 4);
    expect_close(ex, "public.f64.vision.last_hidden_state", v_hidden, sizeof v_hidden / 4);
    expect_close(ex, "public.f64.vision.pooler_output", v_pool, sizeof v_pool / 4);
    expect_close(ex, "public.f64.image_embeds", v_emb, sizeof v_emb / 4);
    expect_close(ex, "public.f64.logits_per_image", lpi, sizeof lpi / 4);
    expect_close(ex, "public.f64.logits_per_text", lpt, sizeof lpt / 4);

    /* Only embeds requested: the pooler is computed internally and must give the same embeds. */
    static float t_emb2[N_TEXTS * D];
    SiglipTextOutput only = {.embeds = t_emb2};
    rc = siglip_encode_text(m, ids, NULL, N_TEXTS, &only);
    CHECK_STATUS(rc, SIGLIP_OK, "encode_text embeds only");
    CHECK(sg_max_abs_diff(t_emb, t_emb2, N_TEXTS * D) == 0, "embeds differ between calls");
}

/* logits_per_image with the attention mask, as HF's processor passes it. */
static void masked_logits(SiglipModel *m, const int32_t *ids, const int32_t *mask,
                          const float *pixels, float *lpi)
{
    static float t_emb[N_TEXTS * D], v_emb[N_IMAGES * D];
    SiglipTextOutput to = {.embeds = t_emb};
    CHECK(siglip_encode_text(m, ids, mask, N_TEXTS, &to) == SIGLIP_OK, "masked encode_text");
    SiglipImageOutput io = {.embeds = v_emb};
    CHECK(siglip_encode_image(m, pixels, N_IMAGES, &io) == SIGLIP_OK, "encode_image");
    CHECK(siglip_logits(m, t_emb, N_TEXTS, v_emb, N_IMAGES, lpi, NULL) == SIGLIP_OK, "logits");
}

static void check_masked(SiglipModel *m, const SgSafetensors *ex, const int32_t *ids,
                         const int32_t *mask, const float *pixels)
{
    static float lpi[N_IMAGES * N_TEXTS];
    masked_logits(m, ids, mask, pixels, lpi);
    /* There is no f64 masked tensor; the f32 one is within 2e-6 of f64 elsewhere. */
    expect_close(ex, "public.f32.masked.logits_per_image", lpi, sizeof lpi / 4);
}

/* SIGLIP_TEXT_MASK_NONE ignores a given mask: the result is the unmasked forward. */
static void check_mask_none(const SgSafetensors *ex, const int32_t *ids, const int32_t *mask,
                            const float *pixels)
{
    SiglipContext *ctx = open_context(SIGLIP_TEXT_MASK_NONE);
    SiglipModel *m = ctx ? fx_load_model(ctx, "tiny", NULL) : NULL;
    if (m) {
        static float lpi[N_IMAGES * N_TEXTS];
        masked_logits(m, ids, mask, pixels, lpi);
        expect_close(ex, "public.f64.logits_per_image", lpi, sizeof lpi / 4);
    }
    siglip_model_free(&m);
    siglip_context_close(&ctx);
}

static void check_classifier(SiglipContext *ctx, const SgSafetensors *ex, const float *pixels)
{
    SiglipModelInfo info;
    SiglipModel *m = fx_load_model(ctx, "tiny-cls", &info);
    if (!m)
        return;
    CHECK(info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION, "architecture %d",
          info.architecture);
    CHECK(info.num_labels == N_LABELS, "num_labels %d", info.num_labels);
    CHECK(siglip_model_label(m, 3) && !strcmp(siglip_model_label(m, 3), "class_3"), "label 3");
    CHECK(siglip_model_label(m, N_LABELS) == NULL, "label out of range");
    static float logits[N_IMAGES * N_LABELS];
    int rc = siglip_classify_logits(m, pixels, N_IMAGES, logits);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    expect_close(ex, "public.cls.f64.logits", logits, sizeof logits / 4);
    /* The classification model has no text tower. */
    int32_t ids[T] = {0};
    SiglipTextOutput to = {0};
    rc = siglip_encode_text(m, ids, NULL, 1, &to);
    CHECK_STATUS(rc, SIGLIP_EINVAL, siglip_context_error(ctx));
    siglip_model_free(&m);
}

/* IEEE binary16 nearest to f (ties to even), without relying on compiler support for _Float16. */
static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, mant = x & 0x7fffffu;
    int32_t exp = (int32_t)((x >> 23) & 0xffu) - 127 + 15;
    if (((x >> 23) & 0xffu) == 0xffu)
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00u);
    uint32_t shift = 13, base = (uint32_t)exp << 10;
    if (exp <= 0) { /* subnormal half: shift the implicit bit in */
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000u;
        shift = (uint32_t)(14 - exp);
        base = 0;
    }
    uint32_t half = base + (mant >> shift), rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u)))
        half++; /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | half);
}

/* tiny's weights rewritten as F16 or BF16 (round to nearest even) into dir/model.safetensors. */
static int write_tiny_as(const char *dir, SgDtype dtype)
{
    char *src_path = sg_test_path("tiny/model.safetensors"), path[4200];
    SgSafetensors *st = NULL;
    SgError err = {0};
    int rc = sg_st_open(&st, src_path, &err);
    size_t n = rc ? 0 : sg_st_count(st);
    StTensor *out = calloc(n + 1, sizeof *out);
    uint16_t **bufs = calloc(n + 1, sizeof *bufs);
    for (size_t i = 0; i < n && !rc; i++) {
        const SgTensor *t = sg_st_at(st, i);
        float *f = malloc(t->numel * sizeof *f);
        bufs[i] = malloc(t->numel * sizeof **bufs);
        rc = sg_tensor_to_f32(t, f, &err);
        for (size_t e = 0; e < t->numel; e++) {
            if (dtype == SG_DTYPE_F16) {
                bufs[i][e] = f32_to_f16(f[e]);
            } else {
                uint32_t bits;
                memcpy(&bits, &f[e], 4);
                bufs[i][e] = (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
            }
        }
        free(f);
        out[i] = (StTensor){.name = t->name, .dtype = sg_dtype_name(dtype), .ndim = t->ndim,
                            .data = bufs[i]};
        memcpy(out[i].shape, t->shape, sizeof t->shape);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (!rc && st_write(path, out, (int)n, err.message, sizeof err.message) != 0)
        rc = SIGLIP_EIO;
    CHECK(rc == 0, "writing %s: %s", path, err.message);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs), free(out), free(src_path);
    sg_st_close(&st);
    return rc;
}

/* The same model stored as F16 and as BF16 loads and gives the f64 logits within the rounding
 * of its weights (F16: 11-bit, BF16: 8-bit mantissas; logits are around −2..−5 here). */
static void check_half_dtypes(const SgSafetensors *ex, const int32_t *ids, const float *pixels)
{
    static const struct { SgDtype dtype; const char *name; double tol; } kinds[] = {
        {SG_DTYPE_F16, "F16", 5e-3}, {SG_DTYPE_BF16, "BF16", 5e-2}};
    float *ref = fx_f32(ex, "public.f64.logits_per_image", N_IMAGES * N_TEXTS);
    for (size_t k = 0; ref && k < 2; k++) {
        char dir[] = "/tmp/siglip-half-XXXXXX", cmd[256];
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(cmd, sizeof cmd, "cp '%s/tiny/config.json' '%s/'", sg_test_data_dir(), dir);
        CHECK(system(cmd) == 0, "copy config");
        SiglipContext *ctx = open_context(SIGLIP_TEXT_MASK_HF);
        SiglipModel *m = NULL;
        if (write_tiny_as(dir, kinds[k].dtype) == 0 && ctx) {
            int rc = siglip_model_load(ctx, dir, &m);
            CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        }
        if (m) {
            static float t_emb[N_TEXTS * D], v_emb[N_IMAGES * D], lpi[N_IMAGES * N_TEXTS];
            SiglipTextOutput to = {.embeds = t_emb};
            SiglipImageOutput io = {.embeds = v_emb};
            CHECK(siglip_encode_text(m, ids, NULL, N_TEXTS, &to) == SIGLIP_OK, "text");
            CHECK(siglip_encode_image(m, pixels, N_IMAGES, &io) == SIGLIP_OK, "image");
            CHECK(siglip_logits(m, t_emb, N_TEXTS, v_emb, N_IMAGES, lpi, NULL) == SIGLIP_OK, "l");
            double e = sg_max_abs_diff(lpi, ref, N_IMAGES * N_TEXTS);
            fprintf(stderr, "  %-4s weights: logits_per_image max abs error %.3g (limit %.0e)\n",
                    kinds[k].name, e, kinds[k].tol);
            CHECK(e <= kinds[k].tol, "%s weights: logits error %.3g", kinds[k].name, e);
        }
        siglip_model_free(&m);
        siglip_context_close(&ctx);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0, "cleanup");
    }
    free(ref);
}

int main(int argc, char **argv)
{
    /* --quick (for simulators such as oclgrind): both towers unmasked and the classifier only. */
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    SgSafetensors *ex = fx_open(sg_test_data_dir(), "tiny-expected.safetensors");
    int32_t *ids = fx_i32(ex, "public.input_ids", N_TEXTS * T);
    int32_t *mask = fx_i32(ex, "public.attention_mask", N_TEXTS * T);
    float *pixels = fx_f32(ex, "public.pixel_values.SiglipImageProcessorPil", N_IMAGES * 3 * S * S);
    if (!ex || !ids || !mask || !pixels)
        return 1;

    SiglipContext *ctx = open_context(SIGLIP_TEXT_MASK_HF);
    SiglipModelInfo info;
    SiglipModel *m = ctx ? fx_load_model(ctx, "tiny", &info) : NULL;
    if (m) {
        CHECK(info.text_hidden_size == D && info.text_max_positions == T && info.vocab_size == 1000
                  && info.image_size == S && info.patch_size == 8 && info.num_patches == N_PATCHES,
              "model info");
        check_unmasked(m, ex, ids, pixels);
        if (!quick)
            check_masked(m, ex, ids, mask, pixels);
    }
    siglip_model_free(&m);
    if (ctx)
        check_classifier(ctx, ex, pixels);
    siglip_context_close(&ctx);
    if (!quick) {
        check_mask_none(ex, ids, mask, pixels);
        check_half_dtypes(ex, ids, pixels);
    }

    free(ids);
    free(mask);
    free(pixels);
    sg_st_close(&ex);
    return sg_test_finish("test_parity_tiny");
}
