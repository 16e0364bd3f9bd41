/* fixtures.c — loading golden tensors from the fixtures' safetensors files for the tests, and
 * the checks the parity tests share. */
#include "fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
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
    if (!t) {
        fprintf(stderr, "fixture tensor %s is missing\n", name);
        return NULL;
    }
    if (t->numel != numel) {
        fprintf(stderr, "fixture tensor %s has %zu elements, the test expects %zu\n", name,
                t->numel, numel);
        return NULL;
    }
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

SiglipModel *fx_load_model(SiglipContext *ctx, const char *rel)
{
    char *dir = sg_test_path(rel);
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, dir, &m);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    free(dir);
    return m;
}
