/* test_image.c — image preprocessing parity with transformers' SiglipImageProcessorPil on the
 * fixture images (tiny: 11 images at 40×40, nested processor_config.json; medium: 2 images at
 * 224×224, flat preprocessor_config.json), plus batching on several threads. */
#include <cjson/cJSON.h>

#include "harness.h"
#include "siglip.h"
#include "common/fileio.h"
#include "model/safetensors.h"

/* Image file names of a cases file's "<prefix>.images" list, as malloc'ed full paths. */
static int read_image_list(const char *cases_rel, const char *key, char ***paths)
{
    char *cases = sg_test_path(cases_rel);
    char *text = NULL;
    size_t size;
    SgError err;
    int n = -1;
    if (sg_read_file(cases, 1 << 24, &text, &size, &err) == 0) {
        cJSON *root = cJSON_Parse(text);
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, key);
        if (cJSON_IsArray(list)) {
            n = cJSON_GetArraySize(list);
            *paths = calloc((size_t)n, sizeof **paths);
            for (int i = 0; i < n; i++) {
                char rel[512];
                snprintf(rel, sizeof rel, "images/%s", cJSON_GetArrayItem(list, i)->valuestring);
                (*paths)[i] = sg_test_path(rel);
            }
        }
        cJSON_Delete(root);
    }
    free(text);
    free(cases);
    return n;
}

static void free_list(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* Preprocesses the listed images with the processor of `proc_dir` and compares them with the
 * expected tensor; returns the max abs error. */
static double check_parity(SiglipContext *ctx, const char *proc_dir, const char *cases_rel,
                           const char *list_key, const char *expected_rel, const char *tensor,
                           int want_size)
{
    char **paths = NULL;
    int n = read_image_list(cases_rel, list_key, &paths);
    CHECK(n > 0, "no image list %s in %s", list_key, cases_rel);
    if (n <= 0)
        return INFINITY;
    SiglipImageProcessor *proc = NULL;
    int rc = siglip_image_processor_load(ctx, proc_dir, &proc);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    int h = 0, w = 0;
    siglip_image_processor_size(proc, &h, &w);
    CHECK(h == want_size && w == want_size, "processor size %dx%d, expected %d", h, w, want_size);
    size_t per = (size_t)3 * h * w;
    float *got = calloc((size_t)n * per, sizeof *got);
    rc = siglip_preprocess_files(proc, (const char *const *)paths, n, got);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_image_processor_error(proc));

    char *st_path = sg_test_path(expected_rel);
    SgSafetensors *st = NULL;
    SgError err;
    double max_err = INFINITY;
    rc = sg_st_open(&st, st_path, &err);
    CHECK(rc == 0, "open %s: %s", st_path, err.message);
    const SgTensor *t = st ? sg_st_find(st, tensor) : NULL;
    CHECK(t != NULL, "tensor %s missing", tensor);
    if (t && t->numel == (size_t)n * per) {
        float *ref = malloc(t->numel * sizeof *ref);
        CHECK(sg_tensor_to_f32(t, ref, &err) == 0, "convert: %s", err.message);
        max_err = sg_max_abs_diff(got, ref, t->numel);
        for (int i = 0; i < n; i++) {
            double e = sg_max_abs_diff(got + i * per, ref + i * per, per);
            fprintf(stderr, "  %-28s max abs error %.3g\n", strrchr(paths[i], '/') + 1, e);
            CHECK(e <= 1e-6, "%s: max abs error %g > 1e-6", paths[i], e);
        }
        free(ref);
    } else {
        CHECK(0, "tensor %s has %zu values, expected %zu", tensor, t ? t->numel : 0,
              (size_t)n * per);
    }
    sg_st_close(&st);
    free(st_path);
    free(got);
    siglip_image_processor_free(&proc);
    CHECK(proc == NULL, "free must clear the handle");
    free_list(paths, n);
    return max_err;
}

/* The same batch on 1 and 3 threads, repeated to 40 images, gives identical bytes; a failing
 * image in the middle is the one named. */
static void check_threads(void)
{
    char **paths = NULL;
    int n = read_image_list("tiny-cases.json", "public.images", &paths);
    if (n <= 0)
        return;
    enum { BATCH = 40 };
    const char *batch[BATCH];
    for (int i = 0; i < BATCH; i++)
        batch[i] = paths[i % n];
    float *out[2];
    for (int k = 0; k < 2; k++) {
        SiglipSettings s;
        siglip_default_settings(&s);
        s.n_threads = k == 0 ? 1 : 3;
        SiglipContext *ctx = NULL;
        CHECK(siglip_context_create(&ctx, &s) == 0, "context");
        char *dir = sg_test_path("tiny");
        SiglipImageProcessor *proc = NULL;
        CHECK_STATUS(siglip_image_processor_load(ctx, dir, &proc), SIGLIP_OK,
                     siglip_context_error(ctx));
        out[k] = calloc((size_t)BATCH * 3 * 40 * 40, sizeof(float));
        CHECK_STATUS(siglip_preprocess_files(proc, batch, BATCH, out[k]), SIGLIP_OK,
                     siglip_image_processor_error(proc));
        if (k == 1) {
            char *bad1 = sg_test_path("images-extra/in/bad_truncated.png");
            char *bad2 = sg_test_path("images-extra/in/bad_unknown.xyz");
            batch[17] = bad1;
            batch[29] = bad2;
            float *tmp = calloc((size_t)BATCH * 3 * 40 * 40, sizeof(float));
            int rc = siglip_preprocess_files(proc, batch, BATCH, tmp);
            CHECK_STATUS(rc, SIGLIP_EBADMSG, siglip_image_processor_error(proc));
            CHECK(strstr(siglip_image_processor_error(proc), "bad_truncated.png") != NULL,
                  "the first bad image must be named: %s", siglip_image_processor_error(proc));
            free(tmp);
            free(bad1);
            free(bad2);
        }
        siglip_image_processor_free(&proc);
        siglip_context_close(&ctx);
        free(dir);
    }
    CHECK(memcmp(out[0], out[1], (size_t)BATCH * 3 * 40 * 40 * sizeof(float)) == 0,
          "1 and 3 threads differ");
    free(out[0]);
    free(out[1]);
    free_list(paths, n);
}

/* A processor owns its settings and error message: it works, and reports, after its context is
 * closed (ASan and valgrind in CI catch a read of the closed context). */
static void check_outlives_context(const char *image)
{
    SiglipContext *ctx = NULL;
    SiglipImageProcessor *proc = NULL;
    CHECK(siglip_context_create(&ctx, NULL) == 0 &&
          siglip_image_processor_load(ctx, NULL, &proc) == 0, "load: %s",
          siglip_context_error(ctx));
    siglip_context_close(&ctx);
    if (!proc)
        return;
    float *px = malloc((size_t)3 * 224 * 224 * sizeof *px); /* [1, 3, 224, 224] */
    const char *good[1] = {image}, *missing[1] = {"/nonexistent/cat.png"};
    CHECK_STATUS(siglip_preprocess_files(proc, good, 1, px), SIGLIP_OK,
                 siglip_image_processor_error(proc));
    CHECK_STATUS(siglip_preprocess_files(proc, missing, 1, px), SIGLIP_ENOENT,
                 siglip_image_processor_error(proc));
    CHECK(strstr(siglip_image_processor_error(proc), "/nonexistent/cat.png") != NULL,
          "own message names the file: %s", siglip_image_processor_error(proc));
    free(px);
    siglip_image_processor_free(&proc);
}

int main(void)
{
    SiglipContext *ctx = NULL;
    CHECK(siglip_context_create(&ctx, NULL) == 0, "context");
    char *tiny = sg_test_path("tiny");
    double e_tiny = check_parity(ctx, tiny, "tiny-cases.json", "public.images",
                                 "tiny-expected.safetensors",
                                 "public.pixel_values.SiglipImageProcessorPil", 40);
    char *medium = sg_test_path("images-extra/medium");
    double e_medium = check_parity(ctx, medium, "medium-cases.json", "medium.images",
                                   "medium-expected.safetensors",
                                   "medium.pixel_values.SiglipImageProcessorPil", 224);
    fprintf(stderr, "max abs error: tiny %.3g, medium %.3g\n", e_tiny, e_medium);
    check_threads();
    char *image = sg_test_path("images/rgb_97x61.png");
    check_outlives_context(image);
    free(image);
    free(tiny);
    free(medium);
    siglip_context_close(&ctx);
    return sg_test_finish("test_image");
}
