/* device_api.c — the public device functions of siglip.h: listing devices, opening the context's
 * device and reporting which one it is. */
#include <stdlib.h>

#include "context.h"
#include "ocl/kernels.h"

int siglip_devices_list(SiglipContext *ctx, SiglipDeviceInfo **out, size_t *n)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!out || !n)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL,
                       "siglip_devices_list: out and n must not be NULL");
    return sg_device_list(ctx->settings.device, out, n, sg_ctx_err(ctx));
}

void siglip_devices_free(SiglipDeviceInfo **list)
{
    if (!list)
        return;
    free(*list);
    *list = NULL;
}

int siglip_context_open_device(SiglipContext *ctx)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (ctx->device)
        return SIGLIP_OK;
    return sg_device_open_limited(&ctx->device, ctx->settings.device,
                                  ctx->settings.program_cache_dir, ctx->settings.tuning_file,
                                  &ctx->settings.device_limits, sg_ctx_err(ctx));
}

int siglip_context_device(SiglipContext *ctx, SiglipDeviceInfo *out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!out)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL, "siglip_context_device: out is NULL");
    if (!ctx->device)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL,
                       "no OpenCL device is open on this context yet "
                       "(call siglip_context_open_device() or load a model first)");
    *out = ctx->device->info;
    return SIGLIP_OK;
}
