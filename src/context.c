/* context.c — SiglipContext creation and teardown, settings defaults and version queries. */
#include "context.h"

#include <stdlib.h>
#include <string.h>

#include "common/version.h"
#include "ocl/kernels.h"

void siglip_default_settings(SiglipSettings *s)
{
    memset(s, 0, sizeof *s);
    s->device = NULL;
    s->program_cache_dir = NULL;
    s->text_mask = SIGLIP_TEXT_MASK_HF;
    s->max_image_pixels = 100000000ull;
    s->n_threads = 0;
    s->tuning_file = NULL;
}

/* Bytes of a copy of s (NULL: none). */
static size_t copy_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s (NULL stays NULL) to *at and moves *at past the copy. */
static const char *copy_to(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = copy_size(s);
    const char *copy = memcpy(*at, s, n);
    *at += n;
    return copy;
}

int siglip_context_create(SiglipContext **out, const SiglipSettings *s)
{
    if (!out)
        return SIGLIP_EINVAL;
    *out = NULL;
    SiglipSettings defaults;
    siglip_default_settings(&defaults);
    if (!s)
        s = &defaults;
    for (size_t i = 0; i < sizeof s->reserved; i++)
        if (s->reserved[i])
            return SIGLIP_EINVAL;
    if ((s->text_mask != SIGLIP_TEXT_MASK_HF && s->text_mask != SIGLIP_TEXT_MASK_NONE) ||
        s->n_threads < 0 || s->max_image_pixels == 0 ||
        !siglip_precision_name(s->precision))
        return SIGLIP_EINVAL;

    /* The caller's strings may go away: copies follow the context in its allocation. */
    const char *device = s->device ? s->device : "auto";
    SiglipContext *ctx = calloc(1, sizeof *ctx + copy_size(device) +
                                       copy_size(s->program_cache_dir) + copy_size(s->tuning_file));
    if (!ctx)
        return SIGLIP_ENOMEM;
    ctx->settings = *s;
    char *at = ctx->strings;
    ctx->settings.device = copy_to(&at, device);
    ctx->settings.program_cache_dir = copy_to(&at, s->program_cache_dir);
    ctx->settings.tuning_file = copy_to(&at, s->tuning_file);
    *out = ctx;
    return SIGLIP_OK;
}

void siglip_context_close(SiglipContext **pctx)
{
    if (!pctx || !*pctx)
        return;
    SiglipContext *ctx = *pctx;
    sg_device_close(&ctx->device);
    free(ctx);
    *pctx = NULL;
}

const char *siglip_context_error(const SiglipContext *ctx)
{
    return ctx ? ctx->err.message : "";
}

unsigned siglip_version(void)
{
    return (unsigned)SIGLIP_VERSION_MAJOR << 16 | (unsigned)SIGLIP_VERSION_MINOR << 8 |
           (unsigned)SIGLIP_VERSION_PATCH;
}

/* The names of the precisions, the only spelling of them outside the enum: the CLI and the Python
 * package read them from here. One per element type the kernels load (ocl/tensor.h). */
static const char *const precision_names[] = {
    [SIGLIP_PRECISION_F32] = "f32",
    [SIGLIP_PRECISION_BF16] = "bf16",
    [SIGLIP_PRECISION_F16] = "f16",
    [SIGLIP_PRECISION_Q8] = "q8",
};
_Static_assert(sizeof precision_names / sizeof precision_names[0] == SG_ELEM_COUNT,
               "every weight type has a precision name");

const char *siglip_precision_name(SiglipPrecision p)
{
    return (unsigned)p < sizeof precision_names / sizeof precision_names[0] ? precision_names[p]
                                                                            : NULL;
}

const char *siglip_version_string(void)
{
    return SG_VERSION_STRING;
}

int siglip_context_memory(SiglipContext *ctx, uint64_t *current, uint64_t *peak)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!ctx->device)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL,
                       "siglip_context_memory: no device is open yet");
    if (current)
        *current = ctx->device->bytes_allocated;
    if (peak)
        *peak = ctx->device->peak_bytes_allocated;
    return SIGLIP_OK;
}

void siglip_context_reset_peak_memory(SiglipContext *ctx)
{
    if (ctx && ctx->device)
        ctx->device->peak_bytes_allocated = ctx->device->bytes_allocated;
}
