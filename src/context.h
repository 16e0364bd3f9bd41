/* context.h — what a SiglipContext holds: its settings, its last error and its OpenCL device. */
#ifndef SG_CONTEXT_H
#define SG_CONTEXT_H

#include "siglip.h"
#include "common/error.h"

typedef struct SgDevice SgDevice; /* ocl/device.h */

struct SiglipContext {
    SiglipSettings settings; /* string members point into strings[] (device "auto" when NULL) */
    SgDevice *device;        /* opened by siglip_context_open_device(); owned */
    SgError err;             /* the last failure, read by siglip_context_error() */
    char strings[];          /* the settings' strings, copied: allocated with the context */
};

/* The error record public calls on this context write their failures to. The previous message is
 * kept until a later failure replaces it (siglip.h promises that). */
static inline SgError *sg_ctx_err(SiglipContext *ctx)
{
    return &ctx->err;
}

#endif /* SG_CONTEXT_H */
