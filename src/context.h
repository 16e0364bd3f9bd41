/* context.h — what a SiglipContext holds: its settings, its last error and its OpenCL device. */
#ifndef SG_CONTEXT_H
#define SG_CONTEXT_H

#include "siglip.h"
#include "common/error.h"

typedef struct SgDevice SgDevice; /* ocl/device.h */

struct SiglipContext {
    SiglipSettings settings; /* string members point at the copies below */
    char *device_spec;       /* owned copy of settings.device ("auto" when NULL) */
    char *program_cache_dir; /* owned copy or NULL */
    char *tuning_file;       /* owned copy or NULL */
    SgDevice *device;        /* opened by siglip_context_open_device(); owned */
    SgError err;             /* the last failure, read by siglip_context_error() */
};

/* The error record public calls on this context write their failures to. The previous message is
 * kept until a later failure replaces it (siglip.h promises that). */
static inline SgError *sg_ctx_err(SiglipContext *ctx)
{
    return &ctx->err;
}

#endif /* SG_CONTEXT_H */
