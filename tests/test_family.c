/* test_family.c — the SigLIP family beyond the original checkpoints, on fixtures made here
 * (tests/data/siglip2/gen_fixtures.py): a SigLIP 2 fixed-resolution model (no "architectures",
 * Gemma BPE tokenizer.model, GemmaTokenizer config, bilinear preprocessing),
 * interpolate_pos_encoding at 48×40 and 64×64, and a multilingual SiglipTokenizer model whose spiece.model has more pieces
 * than the embedding has rows. Expected values: a python3-torch float64 forward written from
 * transformers' modeling_siglip.py (siglip2/ref_siglip.py, itself within 4e-7 of transformers on
 * the tiny fixture), token ids from python3-sentencepiece, pixels from python3-pil, position
 * tables from torch's F.interpolate. Tolerances: outputs 1e-4 (as test_parity_tiny), pixels
 * 1e-6, position tables 1e-6 against float64 and 2e-6 against torch's float32 kernel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fixtures.h"
#include "harness.h"
#include "image/image.h"
#include "model/model.h"
#include "model/pos_interp.h"
#include "tokenizer/tokenizer.h"
#include "siglip.h"

#define TOL 1e-4

enum { N_TEXTS = 8, N_IMAGES = 4, T = 64, D = 32, S = 32, P = 8 };

static const char *const images[N_IMAGES] = {"rgb_97x61.png", "rgb_640x480.png",
                                             "baseline_80x60.jpg", "rgba_45x33.png"};

/* The model's processor on the fixture images: [N_IMAGES, 3, h, w]. */
static float *preprocess(SiglipContext *ctx, SiglipModel *m, int h, int w)
{
    char *paths[N_IMAGES];
    for (int i = 0; i < N_IMAGES; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", images[i]);
        paths[i] = sg_test_path(rel);
    }
    float *px = malloc((size_t)N_IMAGES * 3 * h * w * sizeof *px);
    int rc = siglip_preprocess_files(siglip_model_image_processor(m),
                                     (const char *const *)paths, N_IMAGES, px);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    for (int i = 0; i < N_IMAGES; i++)
        free(paths[i]);
    return px;
}

/* Tokenizer ids, processor pixels and every output of both towers against the reference. */
static void check_model(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex,
                        const char *pre, const cJSON *texts)
{
    const char *tx[N_TEXTS];
    for (int i = 0; i < N_TEXTS; i++)
        tx[i] = cJSON_GetArrayItem(texts, i)->valuestring;
    static int32_t ids[N_TEXTS * T], mask[N_TEXTS * T];
    int rc = siglip_tokenize(siglip_model_tokenizer(m), tx, N_TEXTS, 0, ids, mask);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    char name[128];
    snprintf(name, sizeof name, "%s.input_ids", pre);
    int32_t *want = fx_i32(ex, name, N_TEXTS * T);
    CHECK(want && memcmp(want, ids, sizeof ids) == 0, "%s: token ids differ", name);
    free(want);
    float *px = preprocess(ctx, m, S, S);
    snprintf(name, sizeof name, "%s.pixel_values", pre);
    fx_expect_close(ex, name, px, (size_t)N_IMAGES * 3 * S * S, 1e-6);
    static float t_pool[N_TEXTS * D], t_emb[N_TEXTS * D], v_hidden[N_IMAGES * 16 * D];
    static float v_pool[N_IMAGES * D], v_emb[N_IMAGES * D], lpi[N_IMAGES * N_TEXTS];
    /* big_vision's semantics for the fixture: no attention mask */
    SiglipTextOutput to = {.pooler_output = t_pool, .embeds = t_emb};
    rc = siglip_encode_text(m, ids, NULL, N_TEXTS, &to);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    SiglipImageOutput io = {.pooler_output = v_pool, .embeds = v_emb,
                            .last_hidden_state = v_hidden};
    rc = siglip_encode_image(m, px, N_IMAGES, &io);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    rc = siglip_logits(m, t_emb, N_TEXTS, v_emb, N_IMAGES, lpi, NULL);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    struct { const char *key; const float *got; size_t n; } outs[] = {
        {"text.pooler_output", t_pool, N_TEXTS * D}, {"text_embeds", t_emb, N_TEXTS * D},
        {"vision.last_hidden_state", v_hidden, N_IMAGES * 16 * D},
        {"vision.pooler_output", v_pool, N_IMAGES * D}, {"image_embeds", v_emb, N_IMAGES * D},
        {"logits_per_image", lpi, N_IMAGES * N_TEXTS}};
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        snprintf(name, sizeof name, "%s.f64.%s", pre, outs[k].key);
        fx_expect_close(ex, name, outs[k].got, outs[k].n, TOL);
    }
    free(px);
}

/* interpolate_pos_encoding: the vision tower at h × w against the reference forward. */
static void check_interpolated(SiglipContext *ctx, SiglipModel *m, const SgSafetensors *ex, int h,
                               int w)
{
    int rc = siglip_model_set_image_size(m, h, w);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    SiglipModelInfo info;
    siglip_model_info(m, &info);
    size_t n = (size_t)(h / P) * (size_t)(w / P);
    CHECK(info.image_size == h && info.image_width == w && info.num_patches == (int)n,
          "info after resize: %dx%d, %d patches", info.image_size, info.image_width,
          info.num_patches);
    int ph, pw;
    siglip_image_processor_size(siglip_model_image_processor(m), &ph, &pw);
    CHECK(ph == h && pw == w, "processor follows: %dx%d", ph, pw);
    float *px = preprocess(ctx, m, h, w);
    char name[128];
    snprintf(name, sizeof name, "s2.%dx%d.pixel_values", h, w);
    fx_expect_close(ex, name, px, (size_t)N_IMAGES * 3 * h * w, 1e-6);
    float *hidden = malloc(N_IMAGES * n * D * sizeof *hidden);
    static float pool[N_IMAGES * D];
    SiglipImageOutput io = {.pooler_output = pool, .last_hidden_state = hidden};
    rc = siglip_encode_image(m, px, N_IMAGES, &io);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    snprintf(name, sizeof name, "s2.%dx%d", h, w);
    fx_expect_vision(ex, name, hidden, N_IMAGES * n * D, pool, N_IMAGES * D, TOL);
    free(hidden);
    free(px);
}

/* sg_pos_interp_bicubic as an FxPosResize (it cannot fail). */
static int interp_bicubic(const float *grid, int in_h, int in_w, size_t dim, int out_h, int out_w,
                          float *out)
{
    sg_pos_interp_bicubic(grid, in_h, in_w, dim, out_h, out_w, out);
    return 0;
}

static void test_siglip2(SiglipContext *ctx, const SgSafetensors *ex, const cJSON *cases)
{
    SiglipModelInfo info;
    SiglipModel *m = fx_load_model(ctx, "siglip2", &info);
    if (!m)
        return;
    CHECK(info.architecture == SIGLIP_ARCH_MODEL && info.has_tokenizer && info.vocab_size == 4000 &&
              m->processor->settings.resample == 2 && info.image_width == S,
          "SigLIP 2 model: architecture %d, tokenizer %d, resample %d", info.architecture,
          info.has_tokenizer, m->processor->settings.resample);
    check_model(ctx, m, ex, "s2", cJSON_GetObjectItemCaseSensitive(cases, "texts"));
    /* the bare position-table interpolation against torch's F.interpolate */
    static const FxPosRef pos_refs[] = {{".f64", 1e-6}, {".f32", 2e-6}};
    fx_check_pos_tables(m, ex, cJSON_GetObjectItemCaseSensitive(cases, "pos_sizes"),
                        interp_bicubic, pos_refs, 2);
    check_interpolated(ctx, m, ex, 48, 40);
    check_interpolated(ctx, m, ex, 64, 64);
    /* back to the checkpoint's size: the stored grid again, bit for bit the first results */
    int rc = siglip_model_set_image_size(m, 0, 0);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    CHECK(m->pos_grid == NULL, "stored grid restored");
    /* device memory: the interpolated table is the only buffer a size change adds (no forward
     * runs in between, so the workspace stays released) */
    uint64_t at_64 = 0, restored = 0;
    CHECK_STATUS(siglip_model_set_image_size(m, 64, 64), SIGLIP_OK, "resize");
    CHECK_STATUS(siglip_context_memory(ctx, &at_64, NULL), SIGLIP_OK, "memory");
    CHECK_STATUS(siglip_model_set_image_size(m, 0, 0), SIGLIP_OK, "restore");
    CHECK_STATUS(siglip_context_memory(ctx, &restored, NULL), SIGLIP_OK, "memory");
    CHECK(at_64 - restored == 64 * D * sizeof(float), "an 8×8 table is %llu bytes",
          (unsigned long long)(at_64 - restored));
    check_model(ctx, m, ex, "s2", cJSON_GetObjectItemCaseSensitive(cases, "texts"));
    CHECK(siglip_model_set_image_size(m, 7, 64) == SIGLIP_EINVAL, "a side below the patch size");
    CHECK(siglip_model_set_image_size(NULL, 64, 64) == SIGLIP_EINVAL, "NULL model");
    siglip_model_free(&m);
}

static void test_multilingual(SiglipContext *ctx, const SgSafetensors *ex, const cJSON *cases)
{
    SiglipModel *m = fx_load_model(ctx, "multilingual", NULL);
    if (!m)
        return;
    SiglipTokenizer *tok = siglip_model_tokenizer(m);
    int pieces = (int)cJSON_GetObjectItemCaseSensitive(cases, "pieces")->valuedouble;
    CHECK(tok && tok->kind == SG_TOKENIZER_SIGLIP && tok->sp->n_pieces == pieces,
          "multilingual tokenizer");
    check_model(ctx, m, ex, "ml", cJSON_GetObjectItemCaseSensitive(cases, "texts"));
    /* a text with a piece past the 2900 embedding rows: the same ids as SentencePiece, and a
     * clear refusal from the text tower rather than a read outside the embedding */
    const char *text = cJSON_GetObjectItemCaseSensitive(cases, "guarded_text")->valuestring;
    int32_t ids[T], mask[T];
    int rc = siglip_tokenize(tok, &text, 1, 0, ids, mask);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(cases, "guarded_ids");
    for (int k = 0; k < cJSON_GetArraySize(want); k++)
        CHECK(ids[k] == (int32_t)cJSON_GetArrayItem(want, k)->valuedouble, "guarded id %d", k);
    float pool[D];
    SiglipTextOutput to = {.pooler_output = pool};
    rc = siglip_encode_text(m, ids, mask, 1, &to);
    CHECK(rc == SIGLIP_EINVAL && strstr(siglip_context_error(ctx), "outside the vocabulary"),
          "id past the embedding: status %d (%s)", rc, siglip_context_error(ctx));
    siglip_model_free(&m);
}

int main(void)
{
    FxSuite fx;
    if (!fx_suite_open(&fx, "family-cases.json", "family-expected.safetensors")) {
        test_siglip2(fx.ctx, fx.ex, cJSON_GetObjectItemCaseSensitive(fx.cases, "siglip2"));
        test_multilingual(fx.ctx, fx.ex,
                          cJSON_GetObjectItemCaseSensitive(fx.cases, "multilingual"));
    }
    fx_suite_close(&fx);
    return sg_test_finish("test_family");
}
