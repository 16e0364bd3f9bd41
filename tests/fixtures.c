/* fixtures.c — loading golden tensors from the fixtures' safetensors files for the tests, and
 * the checks the parity tests share. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "model/model.h"
#include "siglip.h"

SgSafetensors *fx_open(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    SgSafetensors *st = NULL;
    SgError err = {0};
    if (sg_st_open(&st, path, &err) != 0) {
        fprintf(stderr, "cannot open fixture %s: %s\n", path, err.message);
        return NULL;
    }
    return st;
}

static const SgTensor *find_checked(const SgSafetensors *st, const char *name, size_t numel)
{
    const SgTensor *t = st ? sg_st_find(st, name) : NULL;
    /* a test that reads a tensor needs it: its absence fails the test, not just its check */
    CHECK(t != NULL, "fixture tensor %s is missing", name);
    if (!t)
        return NULL;
    CHECK(t->numel == numel, "fixture tensor %s has %zu elements, the test expects %zu", name,
          t->numel, numel);
    if (t->numel != numel)
        return NULL;
    return t;
}

float *fx_f32(const SgSafetensors *st, const char *name, size_t numel)
{
    const SgTensor *t = find_checked(st, name, numel);
    float *out = t ? malloc(numel * sizeof *out) : NULL;
    SgError err = {0};
    if (out && sg_tensor_to_f32(t, out, &err) != 0) {
        fprintf(stderr, "fixture tensor %s: %s\n", name, err.message);
        free(out);
        return NULL;
    }
    return out;
}

int32_t *fx_i32(const SgSafetensors *st, const char *name, size_t numel)
{
    const SgTensor *t = find_checked(st, name, numel);
    if (!t)
        return NULL;
    if (t->dtype != SG_DTYPE_I64) {
        fprintf(stderr, "fixture tensor %s is %s, expected I64\n", name, sg_dtype_name(t->dtype));
        return NULL;
    }
    int32_t *out = malloc(numel * sizeof *out);
    for (size_t i = 0; out && i < numel; i++) {
        int64_t v;
        memcpy(&v, (const unsigned char *)t->data + i * 8, 8);
        out[i] = (int32_t)v;
    }
    return out;
}

void fx_expect_close(const SgSafetensors *ex, const char *name, const float *got, size_t n,
                     double tol)
{
    float *ref = fx_f32(ex, name, n);
    CHECK(ref != NULL, "fixture %s", name);
    if (!ref)
        return;
    double e = sg_max_abs_diff(got, ref, n);
    fprintf(stderr, "  %-40s max abs error %.3g\n", name, e);
    CHECK(e <= tol, "%s: max abs error %.3g > %.1g", name, e, tol);
    free(ref);
}

void fx_expect_vision(const SgSafetensors *ex, const char *pre, const float *hidden,
                      size_t n_hidden, const float *pool, size_t n_pool, double tol)
{
    char name[128];
    snprintf(name, sizeof name, "%s.f64.vision.last_hidden_state", pre);
    fx_expect_close(ex, name, hidden, n_hidden, tol);
    snprintf(name, sizeof name, "%s.f64.vision.pooler_output", pre);
    fx_expect_close(ex, name, pool, n_pool, tol);
}

SiglipModel *fx_load_model(SiglipContext *ctx, const char *rel, SiglipModelInfo *info)
{
    char *dir = sg_test_path(rel);
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, dir, &m);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    free(dir);
    if (m && info)
        siglip_model_info(m, info);
    return m;
}

void fx_check_pos_tables(SiglipModel *m, const SgSafetensors *ex, const cJSON *sizes,
                         FxPosResize resize, const FxPosRef *refs, size_t n_refs)
{
    size_t D = (size_t)m->cfg.vision.hidden_size, N = (size_t)m->cfg.vision.num_patches;
    int g = 1;
    while ((size_t)(g + 1) * (size_t)(g + 1) <= N)
        g++;
    float *grid = malloc(N * D * sizeof *grid); /* [g·g, D] */
    SgError err = {0};
    int rc = grid ? sg_buffer_read(m->dev, m->vision.pos_emb.mem, 0, N * D * sizeof *grid, grid,
                                   &err)
                  : SIGLIP_ENOMEM;
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    const cJSON *s;
    cJSON_ArrayForEach(s, sizes)
    {
        int gh = (int)cJSON_GetArrayItem(s, 0)->valuedouble;
        int gw = (int)cJSON_GetArrayItem(s, 1)->valuedouble;
        size_t n = (size_t)gh * (size_t)gw * D;
        float *out = rc ? NULL : malloc(n * sizeof *out); /* [gh·gw, D] */
        CHECK(out && resize(grid, g, g, D, gh, gw, out) == 0, "resize to %dx%d", gh, gw);
        for (size_t r = 0; out && r < n_refs; r++) {
            char name[64];
            snprintf(name, sizeof name, "pos.%dx%d%s", gh, gw, refs[r].suffix);
            fx_expect_close(ex, name, out, n, refs[r].tol);
        }
        if (out && gh == g && gw == g)
            CHECK(memcmp(out, grid, N * D * sizeof *grid) == 0, "same-size resize must be exact");
        free(out);
    }
    free(grid);
}

int fx_suite_open(FxSuite *s, const char *cases_rel, const char *expected_rel)
{
    memset(s, 0, sizeof *s);
    size_t size = 0;
    s->json = sg_test_read_data(cases_rel, &size);
    s->cases = s->json ? cJSON_Parse(s->json) : NULL;
    CHECK(!s->json || s->cases, "cannot parse %s", cases_rel);
    s->ex = fx_open(sg_test_data_dir(), expected_rel);
    s->ctx = sg_test_context();
    if (!s->cases || !s->ex || !s->ctx)
        return -1;
    int rc = siglip_context_open_device(s->ctx);
    if (rc == SIGLIP_ENODEV) {
        fprintf(stderr, "no OpenCL device: skipped\n");
        fx_suite_close(s);
        exit(SG_TEST_SKIP);
    }
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(s->ctx));
    return rc ? -1 : 0;
}

void fx_suite_close(FxSuite *s)
{
    siglip_context_close(&s->ctx);
    sg_st_close(&s->ex);
    cJSON_Delete(s->cases);
    free(s->json);
    memset(s, 0, sizeof *s);
}
