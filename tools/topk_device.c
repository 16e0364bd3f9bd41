/* topk_device.c — the device top-k engine (siglip_matrix_* of the library) behind tools/topk.h,
 * and the choice between it and the host engine. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topk.h"

typedef struct DeviceEngine {
    TopkEngine base;
    SiglipContext *ctx;  /* borrowed */
    SiglipMatrix *matrix;
    size_t n;
    size_t *ids;         /* [cap] work arrays of siglip_matrix_topk, grown on demand */
    float *scores;       /* [cap] */
    size_t cap;
    const char *failure; /* NULL: the context's message */
} DeviceEngine;

static int device_search(TopkEngine *base, const float *queries, int n_queries, int k,
                         TopkHit *hits)
{
    DeviceEngine *e = (DeviceEngine *)base;
    size_t need = (size_t)n_queries * (size_t)k;
    e->failure = NULL;
    if (need > e->cap) {
        size_t *ids = realloc(e->ids, need * sizeof *ids);
        e->ids = ids ? ids : e->ids;
        float *scores = ids ? realloc(e->scores, need * sizeof *scores) : NULL;
        e->scores = scores ? scores : e->scores;
        if (!ids || !scores) {
            e->failure = "out of memory";
            return -1;
        }
        e->cap = need;
    }
    if (siglip_matrix_topk(e->matrix, queries, n_queries, k, e->ids, e->scores) != SIGLIP_OK)
        return -1;
    for (size_t i = 0; i < need; i++)
        hits[i] = (TopkHit){e->ids[i], e->scores[i]};
    return 0;
}

static const char *device_error(const TopkEngine *base)
{
    const DeviceEngine *e = (const DeviceEngine *)base;
    return e->failure ? e->failure : siglip_context_error(e->ctx);
}

static void device_destroy(TopkEngine *base)
{
    DeviceEngine *e = (DeviceEngine *)base;
    siglip_matrix_free(&e->matrix);
    free(e->ids);
    free(e->scores);
    free(e);
}

TopkEngine *topk_device_create(SiglipContext *ctx, const float *matrix, size_t n, int dim)
{
    DeviceEngine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->base = (TopkEngine){"device", device_search, device_destroy, device_error};
    e->ctx = ctx;
    e->n = n;
    if (siglip_matrix_create(ctx, matrix, n, dim, &e->matrix) != SIGLIP_OK) {
        free(e);
        return NULL;
    }
    return &e->base;
}

int topk_parse_kind(const char *s)
{
    static const char *const names[] = {"auto", "host", "device"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

/* auto: the device engine for large matrices on a device that is not the host's CPUs. The
 * device is looked up in the list, so that choosing the host engine builds no kernels. */
static TopkEngineKind resolve(TopkEngineKind kind, SiglipContext *ctx, size_t n)
{
    if (kind != TOPK_AUTO)
        return kind;
    SiglipDeviceInfo *list = NULL;
    size_t count = 0;
    TopkEngineKind pick = TOPK_HOST;
    if (n >= TOPK_DEVICE_MIN_ROWS && siglip_devices_list(ctx, &list, &count) == SIGLIP_OK)
        for (size_t i = 0; i < count; i++)
            if (list[i].is_selected && list[i].type != SIGLIP_DEVICE_CPU)
                pick = TOPK_DEVICE;
    siglip_devices_free(&list);
    return pick;
}

TopkEngine *topk_create(TopkEngineKind kind, SiglipContext *ctx, const float *matrix, size_t n,
                        int dim, int threads, const char **why)
{
    TopkEngine *e = NULL;
    *why = "out of memory";
    if (resolve(kind, ctx, n) == TOPK_HOST)
        return topk_host_create(matrix, n, dim, threads);
    e = topk_device_create(ctx, matrix, n, dim);
    if (!e && siglip_context_error(ctx)[0])
        *why = siglip_context_error(ctx);
    return e;
}
