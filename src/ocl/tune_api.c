/* tune_api.c — the public tuning functions of siglip.h: siglip_tune() and what a device runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "context.h"
#include "ocl/kernels.h"
#include "ocl/tune.h"

static void describe(const SgDevice *dev, SiglipTuningInfo *out)
{
    const SgTuning *t = &dev->tuning;
    memset(out, 0, sizeof *out);
    int stored = !strcmp(t->rule, "tuned"), file = !strcmp(t->rule, "file");
    snprintf(out->source, sizeof out->source, "%s", stored ? "tuned" : file ? "file" : "rule");
    snprintf(out->rule, sizeof out->rule, "%s", t->table_rule ? t->table_rule : "");
    sg_tuning_describe(t, SG_TUNE_NONE, out->config, sizeof out->config);
    snprintf(out->stored_path, sizeof out->stored_path, "%s", dev->tuning_path);
    out->stored_exists = dev->tuning_path[0] && sg_file_exists(dev->tuning_path);
    snprintf(out->note, sizeof out->note, "%.1000s", dev->tuning_note);
}

int siglip_context_tuning_info(SiglipContext *ctx, SiglipTuningInfo *out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!out || !ctx->device)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL, "siglip_context_tuning_info: %s",
                       out ? "no device is open on this context yet" : "out is NULL");
    describe(ctx->device, out);
    return SIGLIP_OK;
}

int siglip_tuning_stored_path(SiglipContext *ctx, const SiglipDeviceInfo *device, char *buf,
                              size_t size)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!device || !buf || size == 0)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL,
                       "siglip_tuning_stored_path: device and buf must be given");
    buf[0] = '\0';
    if (!ctx->settings.program_cache_dir)
        return 0;
    char name[64];
    sg_tuning_file_name(device, name, sizeof name);
    snprintf(buf, size, "%s/%s", ctx->settings.program_cache_dir, name);
    return sg_file_exists(buf);
}

/* The towers of a model as the tuner's shapes, at `batch` items. */
static size_t tune_towers(const SiglipModelInfo *m, size_t batch, SgTuneTower *out)
{
    size_t n = 0;
    if (m->vision_layers > 0 && m->num_patches > 0)
        out[n++] = (SgTuneTower){batch * (size_t)m->num_patches, (size_t)m->num_patches,
                                 (size_t)m->vision_hidden_size,
                                 (size_t)m->vision_intermediate_size, (size_t)m->vision_heads,
                                 (size_t)m->vision_layers};
    if (m->text_layers > 0 && m->text_max_positions > 0)
        out[n++] = (SgTuneTower){batch * (size_t)m->text_max_positions,
                                 (size_t)m->text_max_positions, (size_t)m->text_hidden_size,
                                 (size_t)m->text_intermediate_size, (size_t)m->text_heads,
                                 (size_t)m->text_layers};
    for (size_t i = 0; i < n; i++)
        if (!out[i].D || !out[i].I || !out[i].heads || out[i].D % out[i].heads)
            return 0;
    return n;
}

int siglip_tune(SiglipContext *ctx, const SiglipModelInfo *model, const SiglipTuneOptions *opt,
                SiglipTuningInfo *out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(ctx);
    const char *cache = ctx->settings.program_cache_dir;
    if (!model)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_tune: model is NULL");
    if (!cache)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_tune: the result is stored in the program "
                       "cache directory, and this context has none (program_cache_dir)");
    SiglipTuneOptions o = opt ? *opt : (SiglipTuneOptions){0};
    SgTuneJob job = {.budget_s = o.budget_s > 0 ? o.budget_s : 40, .cache_dir = cache,
                     .progress = o.progress, .user = o.user};
    job.n_towers = tune_towers(model, o.batch > 0 ? (size_t)o.batch : 8, job.towers);
    if (job.n_towers == 0)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_tune: the model info has no tower to tune");
    /* A private device: the table's rule as the start, whatever is stored or configured. */
    SgDevice *dev = NULL;
    int rc = sg_device_open(&dev, ctx->settings.device, cache, NULL, err);
    if (rc == SIGLIP_OK && strcmp(dev->tuning.rule, "tuned") == 0)
        rc = sg_tuning_choose(&dev->info, NULL, &dev->tuning, err);
    SgTuning best;
    char *record = NULL;
    if (rc == SIGLIP_OK)
        rc = sg_tune(dev, &job, &best, &record, err);
    if (rc == SIGLIP_OK)
        rc = sg_tuning_save(dev->tuning_path, &dev->info, &best, record, err);
    free(record);
    if (rc == SIGLIP_OK && out) {
        dev->tuning = best;
        dev->tuning_note[0] = '\0';
        describe(dev, out);
    }
    sg_device_close(&dev);
    return rc;
}
