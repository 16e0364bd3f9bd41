/* tensor_expect.c — check_values(): a tensor against independently obtained values. */
#include "tensor_expect.h"

#include <math.h>

#include "harness.h"
#include "siglip.h"

void check_values(const SgTensor *t, const Expected *e, SgDtype dtype)
{
    int shape_ok = t->ndim == e->ndim;
    for (int i = 0; shape_ok && i < e->ndim; i++)
        shape_ok = t->shape[i] == e->shape[i];
    CHECK(shape_ok, "%s: shape", e->name);
    CHECK(t->dtype == dtype, "%s: dtype %s, expected %s", e->name, sg_dtype_name(t->dtype),
          sg_dtype_name(dtype));
    float *v = malloc(t->numel * sizeof *v);
    SgError err = {0};
    int rc = v ? sg_tensor_to_f32(t, v, &err) : SIGLIP_ENOMEM;
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (!rc && t->numel) {
        double sum = 0;
        for (size_t i = 0; i < t->numel; i++)
            sum += v[i];
        CHECK(v[0] == (float)e->first[0], "%s[0] = %.9g, expected %.9g", e->name, v[0],
              e->first[0]);
        CHECK(t->numel < 2 || v[1] == (float)e->first[1], "%s[1] = %.9g, expected %.9g", e->name,
              v[1], e->first[1]);
        CHECK(v[t->numel - 1] == (float)e->last, "%s[-1] = %.9g, expected %.9g", e->name,
              v[t->numel - 1], e->last);
        CHECK(v[t->numel / 2] == (float)e->mid, "%s[n/2] = %.9g, expected %.9g", e->name,
              v[t->numel / 2], e->mid);
        CHECK(fabs(sum - e->sum) <= 1e-9 * (1 + fabs(e->sum)), "%s sum %.17g, expected %.17g",
              e->name, sum, e->sum);
    }
    free(v);
}

SgSafetensors *check_file(const char *path, const Expected *expected, size_t n, SgDtype dtype)
{
    SgSafetensors *st = NULL;
    SgError err = {0};
    int rc = sg_st_open(&st, path, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    for (size_t i = 0; st && i < n; i++) {
        const SgTensor *t = sg_st_find(st, expected[i].name);
        CHECK(t != NULL, "%s: %s missing", path, expected[i].name);
        if (t)
            check_values(t, &expected[i], dtype);
    }
    return st;
}
