/* test_immich.c — Immich's preprocessing mode and clean_text against tests/data/immich (a Python
 * reference written from Immich's transforms.py and run with Pillow and numpy: gen.py); with the
 * argument "model", the embeddings of Immich's whole path (that preprocessing + ref_siglip.py's
 * float64 forward) against the towers on the OpenCL device. */
#include <cjson/cJSON.h>

#include "fixtures.h"
#include "harness.h"
#include "siglip.h"

/* A host-only context (no device is opened for preprocessing) with a pixel limit. */
static SiglipContext *host_context(uint64_t max_pixels)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.n_threads = 1;
    if (max_pixels)
        s.max_image_pixels = max_pixels;
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    CHECK_STATUS(rc, SIGLIP_OK, "siglip_context_create");
    return ctx;
}

/* The processor of tests/data/<model> in Immich's mode with tests/data/<cfg> (NULL: defaults). */
static SiglipImageProcessor *immich_processor(SiglipContext *ctx, const char *model,
                                              const char *cfg)
{
    char *dir = sg_test_path(model), *cfg_dir = cfg ? sg_test_path(cfg) : NULL;
    SiglipImageProcessor *p = NULL;
    int rc = siglip_image_processor_load(ctx, dir, &p);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    if (p) {
        rc = siglip_image_processor_set_immich(p, cfg_dir);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_image_processor_error(p));
    }
    free(dir);
    free(cfg_dir);
    return p;
}

/* Pixel values of every image of one case, bit for bit, and the decoded sizes. */
static void check_pixel_case(SiglipContext *ctx, const SgSafetensors *ex, const cJSON *c)
{
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const cJSON *cfg = cJSON_GetObjectItem(c, "preprocess_cfg");
    SiglipImageProcessor *p = immich_processor(ctx, cJSON_GetObjectItem(c, "model")->valuestring,
                                               cJSON_IsString(cfg) ? cfg->valuestring : NULL);
    if (!p)
        return;
    int h = 0, w = 0;
    siglip_image_processor_size(p, &h, &w);
    CHECK(h == w && h > 0, "%s: Immich's output is square, got %dx%d", name, w, h);
    size_t n = (size_t)3 * h * w;
    float *got = malloc(n * sizeof *got);
    const cJSON *img;
    cJSON_ArrayForEach(img, cJSON_GetObjectItem(c, "images"))
    {
        char key[256];
        snprintf(key, sizeof key, "%s/%s", name, img->valuestring);
        size_t size;
        char *data = sg_test_read_data(img->valuestring, &size);
        float *want = fx_f32(ex, key, n);
        int width = 0, height = 0;
        int rc = data && want ? siglip_preprocess_memory_size(p, data, size, got, &width, &height)
                              : -1;
        CHECK_STATUS(rc, SIGLIP_OK, siglip_image_processor_error(p));
        if (rc == SIGLIP_OK) {
            size_t bad = 0, first = n;
            for (size_t i = 0; i < n; i++)
                if (memcmp(&got[i], &want[i], sizeof *got)) {
                    first = bad++ ? first : i;
                }
            CHECK(bad == 0, "%s: %zu of %zu pixel values differ from Immich's (first at %zu: "
                  "%.9g, Immich %.9g; max |diff| %.3g)", key, bad, n, first,
                  first < n ? got[first] : 0.0, first < n ? want[first] : 0.0,
                  sg_max_abs_diff(got, want, n));
            snprintf(key, sizeof key, "dims/%s", img->valuestring);
            int32_t *dims = fx_i32(ex, key, 2);
            CHECK(dims && dims[0] == height && dims[1] == width,
                  "%s: decoded %dx%d, PIL (no EXIF transpose) %dx%d", img->valuestring, width,
                  height, dims ? dims[1] : -1, dims ? dims[0] : -1);
            free(dims);
        }
        free(want);
        free(data);
    }
    free(got);
    siglip_image_processor_free(&p);
}

static void test_clean_text(const cJSON *cases)
{
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cases)
    {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        const char *want = cJSON_GetObjectItem(c, "expected")->valuestring;
        int canon = cJSON_IsTrue(cJSON_GetObjectItem(c, "canonicalize"));
        char *got = NULL;
        int rc = siglip_immich_clean_text(text, canon, &got);
        CHECK_STATUS(rc, SIGLIP_OK, "siglip_immich_clean_text");
        CHECK(got && !strcmp(got, want), "clean_text(%s, canonicalize=%d) = \"%s\", Immich's "
              "\"%s\"", text, canon, got ? got : "(null)", want);
        free(got);
        n++;
    }
    CHECK(n >= 40, "only %d clean_text cases", n);
    char *out = (char *)"untouched";
    CHECK(siglip_immich_clean_text(NULL, 1, &out) == SIGLIP_EINVAL && out == NULL,
          "NULL text is SIGLIP_EINVAL with *out NULL");
    CHECK(siglip_immich_clean_text("x", 1, NULL) == SIGLIP_EINVAL, "NULL out is SIGLIP_EINVAL");
    /* invalid UTF-8 reads as Python's errors="replace": one U+FFFD per bad sequence */
    CHECK(siglip_immich_clean_text("a\xff\xfe  b!", 1, &out) == SIGLIP_OK && out &&
              !strcmp(out, "a\xef\xbf\xbd\xef\xbf\xbd b"), "invalid UTF-8: \"%s\"", out);
    free(out);
}

/* Bad preprocess_cfg.json files are refused with the processor left as it was. */
static void test_bad_configs(SiglipContext *ctx)
{
    static const struct { const char *dir; int status; const char *what; } bad[] = {
        {"immich/bad-mode", SIGLIP_ENOTSUP, "resize_mode"},
        {"immich/bad-interp", SIGLIP_ENOTSUP, "interpolation"},
        {"immich/bad-std", SIGLIP_EBADMSG, "std has a zero"},
        {"immich/bad-json", SIGLIP_EBADMSG, "invalid JSON"},
    };
    char *tiny = sg_test_path("tiny");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        SiglipImageProcessor *p = NULL;
        CHECK_STATUS(siglip_image_processor_load(ctx, tiny, &p), SIGLIP_OK, "load");
        char *dir = sg_test_path(bad[i].dir);
        int rc = siglip_image_processor_set_immich(p, dir);
        CHECK(rc == bad[i].status && strstr(siglip_image_processor_error(p), bad[i].what),
              "%s: status %d (%s)", bad[i].dir, rc, siglip_image_processor_error(p));
        /* unchanged: the transformers path at the model's size, which gen.py does not produce */
        int h = 0, w = 0;
        siglip_image_processor_size(p, &h, &w);
        CHECK(h == 40 && w == 40, "%s: size changed to %dx%d", bad[i].dir, w, h);
        free(dir);
        siglip_image_processor_free(&p);
    }
    free(tiny);
    CHECK(siglip_image_processor_set_immich(NULL, NULL) == SIGLIP_EINVAL, "NULL processor");
    /* a NaFlex processor has no square to crop to */
    char *naflex = sg_test_path("siglip2-naflex");
    SiglipImageProcessor *p = NULL;
    CHECK_STATUS(siglip_image_processor_load(ctx, naflex, &p), SIGLIP_OK, "load naflex");
    CHECK(p && siglip_image_processor_set_immich(p, NULL) == SIGLIP_EINVAL, "NaFlex: %s",
          siglip_image_processor_error(p));
    siglip_image_processor_free(&p);
    free(naflex);
}

/* An image whose shortest-side resize would pass the pixel limit is refused, not allocated:
 * 13×21 (273 pixels) becomes 40×64 = 2560 at size 40. */
static void test_resize_limit(void)
{
    SiglipContext *ctx = host_context(1000);
    SiglipImageProcessor *p = ctx ? immich_processor(ctx, "tiny", NULL) : NULL;
    size_t size;
    char *data = sg_test_read_data("images/rgb_13x21.png", &size);
    float *px = malloc(3 * 40 * 40 * sizeof *px);
    if (p && data && px) {
        int rc = siglip_preprocess_memory(p, data, size, px);
        CHECK(rc == SIGLIP_E2BIG && strstr(siglip_image_processor_error(p), "40x64"),
              "status %d (%s)", rc, siglip_image_processor_error(p));
    }
    free(px);
    free(data);
    siglip_image_processor_free(&p);
    siglip_context_close(&ctx);
}

static void test_host(const cJSON *cases, const SgSafetensors *pixels)
{
    SiglipContext *ctx = host_context(0);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(cases, "pixels"))
        check_pixel_case(ctx, pixels, c);
    test_clean_text(cJSON_GetObjectItem(cases, "clean"));
    test_bad_configs(ctx);
    siglip_context_close(&ctx);
    test_resize_limit();
}

/* ---- embeddings on the device ---- */

/* cosine ≥ 0.99999 with Immich's path, unit norm to 1e-5, exactly the expected dimension. */
static void check_embedding(const SgSafetensors *ex, const char *key, const float *got, int dim)
{
    const SgTensor *t = sg_st_find(ex, key);
    CHECK(t && t->numel == (size_t)dim, "%s: the model gives %d floats, the reference %zu", key,
          dim, t ? t->numel : 0);
    float *want = t ? fx_f32(ex, key, (size_t)dim) : NULL;
    if (!want)
        return;
    double norm = 0;
    for (int i = 0; i < dim; i++)
        norm += (double)got[i] * got[i];
    double cos = sg_cosine(got, want, (size_t)dim);
    CHECK(cos >= 0.99999, "%s: cosine %.9f with Immich's path", key, cos);
    CHECK(fabs(sqrt(norm) - 1) <= 1e-5, "%s: norm %.9f", key, sqrt(norm));
    printf("%s: cosine %.9f, max |diff| %.3g\n", key, cos, sg_max_abs_diff(got, want, (size_t)dim));
    free(want);
}

static void embed_images(SiglipModel *m, const SgSafetensors *ex, const char *model,
                         const cJSON *images)
{
    SiglipModelInfo info;
    siglip_model_info(m, &info);
    SiglipImageProcessor *p = siglip_model_image_processor(m);
    CHECK_STATUS(siglip_image_processor_set_immich(p, NULL), SIGLIP_OK,
                 siglip_image_processor_error(p));
    size_t S = (size_t)info.image_size;
    float *px = malloc(3 * S * S * sizeof *px);
    float *emb = malloc((size_t)info.vision_hidden_size * sizeof *emb);
    const cJSON *img;
    cJSON_ArrayForEach(img, images)
    {
        size_t size;
        char *data = sg_test_read_data(img->valuestring, &size);
        int rc = data ? siglip_preprocess_memory(p, data, size, px) : -1;
        CHECK_STATUS(rc, SIGLIP_OK, siglip_image_processor_error(p));
        SiglipImageOutput out = {.embeds = emb};
        if (rc == 0 && (rc = siglip_encode_image(m, px, 1, &out)) == 0) {
            char key[256];
            snprintf(key, sizeof key, "%s/image/%s", model, img->valuestring);
            check_embedding(ex, key, emb, info.vision_hidden_size);
        }
        free(data);
    }
    free(px);
    free(emb);
}

/* Text: clean_text (canonicalize), the model's tokenizer padded to 64, no attention mask (the
 * context's text_mask is NONE, open_clip's tower): ids as the reference's, then the embedding. */
static void embed_texts(SiglipModel *m, const SgSafetensors *ex, const cJSON *c)
{
    SiglipModelInfo info;
    siglip_model_info(m, &info);
    int T = info.text_max_positions, dim = info.projection_size;
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    float *emb = malloc((size_t)dim * sizeof *emb);
    const cJSON *text, *want_ids = cJSON_GetObjectItem(c, "ids");
    int i = 0;
    cJSON_ArrayForEach(text, cJSON_GetObjectItem(c, "texts"))
    {
        char *clean = NULL;
        CHECK_STATUS(siglip_immich_clean_text(text->valuestring, 1, &clean), SIGLIP_OK, "clean");
        const char *texts[1] = {clean};
        int rc = clean ? siglip_tokenize(siglip_model_tokenizer(m), texts, 1, T, ids, NULL) : -1;
        CHECK_STATUS(rc, SIGLIP_OK, "tokenize");
        const cJSON *row = cJSON_GetArrayItem(want_ids, i);
        for (int k = 0; rc == 0 && k < T; k++)
            CHECK(ids[k] == (int32_t)cJSON_GetArrayItem(row, k)->valuedouble,
                  "text %d: id %d is %d, the reference's %d", i, k, ids[k],
                  (int)cJSON_GetArrayItem(row, k)->valuedouble);
        SiglipTextOutput out = {.embeds = emb};
        if (rc == 0 && (rc = siglip_encode_text(m, ids, NULL, 1, &out)) == 0) {
            char key[64];
            snprintf(key, sizeof key, "tiny/text/%d", i);
            check_embedding(ex, key, emb, dim);
        }
        CHECK_STATUS(rc, SIGLIP_OK, "encode");
        free(clean);
        i++;
    }
    free(ids);
    free(emb);
}

static void test_model(const cJSON *cases)
{
    SiglipSettings s;
    sg_test_settings(&s);
    s.text_mask = SIGLIP_TEXT_MASK_NONE;
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    CHECK_STATUS(rc, SIGLIP_OK, "siglip_context_create");
    if (ctx && (rc = siglip_context_open_device(ctx)) == SIGLIP_ENODEV) {
        fprintf(stderr, "no OpenCL device: skipped\n");
        siglip_context_close(&ctx);
        exit(SG_TEST_SKIP);
    }
    SgSafetensors *ex = fx_open(sg_test_data_dir(), "immich/embeds.safetensors");
    const cJSON *embed = cJSON_GetObjectItem(cases, "embed");
    SiglipModel *m = ctx && ex ? fx_load_model(ctx, "tiny", NULL) : NULL;
    if (m) {
        const cJSON *tiny = cJSON_GetObjectItem(embed, "tiny");
        embed_images(m, ex, "tiny", cJSON_GetObjectItem(tiny, "images"));
        embed_texts(m, ex, tiny);
        siglip_model_free(&m);
    }
    if (ctx && ex && (m = fx_load_model(ctx, "siglip2", NULL))) {
        embed_images(m, ex, "siglip2",
                     cJSON_GetObjectItem(cJSON_GetObjectItem(embed, "siglip2"), "images"));
        siglip_model_free(&m);
    }
    sg_st_close(&ex);
    siglip_context_close(&ctx);
}

int main(int argc, char **argv)
{
    int model = argc > 1 && !strcmp(argv[1], "model");
    size_t json_size;
    char *json = sg_test_read_data("immich/cases.json", &json_size);
    cJSON *cases = json ? cJSON_Parse(json) : NULL;
    CHECK(cases != NULL, "tests/data/immich/cases.json does not parse");
    if (cases && model) {
        test_model(cases);
    } else if (cases) {
        SgSafetensors *px = fx_open(sg_test_data_dir(), "immich/pixels.safetensors");
        if (px)
            test_host(cases, px);
        sg_st_close(&px);
    }
    cJSON_Delete(cases);
    free(json);
    return sg_test_finish(model ? "test_immich model" : "test_immich");
}
