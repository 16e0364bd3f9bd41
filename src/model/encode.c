/* encode.c — the public forward entry points: argument checks, batch chunking, normalized embeds
 * and the logit head. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/pos_interp.h"

/* x[rows, n] /= ||x[r]||₂ per row, in double. A zero row stays zero (no division by zero). */
static void l2_normalize_rows(const float *in, float *out, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++) {
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            ss += (double)in[r * n + i] * in[r * n + i];
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (size_t i = 0; i < n; i++)
            out[r * n + i] = (float)(in[r * n + i] * inv);
    }
}

static int check_model(SiglipModel *m)
{
    return m && m->ctx && m->dev;
}

/* Where the pooler output goes: the caller's array, or a scratch one (*scratch, to be freed)
 * when only the normalized embeds were asked for. NULL with *rc = 0 when neither is wanted. */
static float *pooler_target(float *requested, const float *embeds, size_t floats,
                            float **scratch, int *rc, SgError *err)
{
    *scratch = NULL;
    *rc = SIGLIP_OK;
    if (requested || !embeds)
        return requested;
    *scratch = malloc(floats * sizeof **scratch);
    if (!*scratch)
        *rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory (%zu floats)", floats);
    return *scratch;
}

static size_t chunk_size(size_t batch, size_t at)
{
    return batch - at < SG_MAX_CHUNK ? batch - at : SG_MAX_CHUNK;
}

static int check_batch(SgError *err, const char *what, int batch)
{
    if (batch > SIGLIP_MAX_BATCH)
        return sg_fail(err, SIGLIP_E2BIG, "%s: batch %d exceeds SIGLIP_MAX_BATCH (%d)", what, batch,
                       SIGLIP_MAX_BATCH);
    return SIGLIP_OK;
}

int siglip_encode_text(SiglipModel *m, const int32_t *input_ids, const int32_t *attention_mask,
                       int batch, const SiglipTextOutput *out)
{
    if (!check_model(m))
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!m->has_text)
        return sg_fail(err, SIGLIP_EINVAL, "this model (%s) has no text tower",
                       sg_model_no_text_why(m));
    if (!input_ids || !out || batch <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_encode_text: input_ids and out must be set and batch > 0 (got %d)",
                       batch);
    if (check_batch(err, "siglip_encode_text", batch))
        return SIGLIP_E2BIG;
    const SgTowerConfig *c = &m->cfg.text;
    size_t T = (size_t)c->max_position_embeddings, D = (size_t)c->hidden_size,
           Dp = (size_t)c->projection_size;
    for (size_t i = 0; i < (size_t)batch * T; i++)
        if (input_ids[i] < 0 || input_ids[i] >= c->vocab_size)
            return sg_fail(err, SIGLIP_EINVAL,
                           "input_ids[%zu][%zu] = %d is outside the vocabulary [0, %d)", i / T,
                           i % T, input_ids[i], c->vocab_size);
    if (m->ctx->settings.text_mask == SIGLIP_TEXT_MASK_NONE)
        attention_mask = NULL;

    float *scratch;
    int rc;
    float *pooler = pooler_target(out->pooler_output, out->embeds, (size_t)batch * Dp, &scratch,
                                  &rc, err);
    for (size_t at = 0; at < (size_t)batch && rc == SIGLIP_OK; at += SG_MAX_CHUNK) {
        size_t n = chunk_size((size_t)batch, at);
        rc = sg_text_forward(m, input_ids + at * T, attention_mask ? attention_mask + at * T : NULL,
                             n, pooler ? pooler + at * Dp : NULL,
                             out->last_hidden_state ? out->last_hidden_state + at * T * D : NULL,
                             err);
    }
    if (rc == SIGLIP_OK && out->embeds)
        l2_normalize_rows(pooler, out->embeds, (size_t)batch, Dp);
    free(scratch);
    return rc;
}

/* The checks both image entry points make, in order: inputs and out set (inputs_ok) with
 * batch > 0, the model's kind matching the entry point (NaFlex or fixed size), the head when a
 * pooled output is asked for, the batch limit. */
static int check_image_call(SiglipModel *m, const char *fn, int naflex, int inputs_ok, int batch,
                            const SiglipImageOutput *out)
{
    if (!check_model(m))
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!inputs_ok || !out || batch <= 0)
        return sg_fail(err, SIGLIP_EINVAL, "%s: the inputs and out must be set and batch > 0 "
                       "(got %d)", fn, batch);
    if (m->cfg.naflex != naflex)
        return sg_fail(err, SIGLIP_EINVAL, naflex ? "%s: this model is not a SigLIP 2 NaFlex "
                                                    "model (use siglip_encode_image)"
                                                  : "%s: a SigLIP 2 NaFlex model takes patches "
                                                    "(siglip_encode_image_patches)", fn);
    if ((out->pooler_output || out->embeds) && !m->vision.has_head)
        return sg_fail(err, SIGLIP_EINVAL,
                       "this checkpoint has no vision pooling head (vision_model.head.*): only "
                       "last_hidden_state is available");
    return check_batch(err, fn, batch);
}

static int check_finite(SgError *err, const float *pixel_values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pixel_values[i]))
            return sg_fail(err, SIGLIP_EINVAL, "pixel_values[%zu] is not finite", i);
    return SIGLIP_OK;
}

int siglip_encode_image(SiglipModel *m, const float *pixel_values, int batch,
                        const SiglipImageOutput *out)
{
    int rc = check_image_call(m, "siglip_encode_image", 0, pixel_values != NULL, batch, out);
    if (rc)
        return rc;
    SgError *err = sg_ctx_err(m->ctx);
    const SgTowerConfig *c = &m->cfg.vision;
    size_t N = sg_vision_patches(c);
    size_t D = (size_t)c->hidden_size, per_image = (size_t)c->num_channels * sg_vision_pixels(c);
    if ((rc = check_finite(err, pixel_values, (size_t)batch * per_image)))
        return rc;

    float *scratch;
    float *pooler = pooler_target(out->pooler_output, out->embeds, (size_t)batch * D, &scratch,
                                  &rc, err);
    for (size_t at = 0; at < (size_t)batch && rc == SIGLIP_OK; at += SG_MAX_CHUNK) {
        size_t n = chunk_size((size_t)batch, at);
        rc = sg_vision_forward(m, pixel_values + at * per_image, n,
                               pooler ? pooler + at * D : NULL,
                               out->last_hidden_state ? out->last_hidden_state + at * N * D : NULL,
                               NULL, err);
    }
    if (rc == SIGLIP_OK && out->embeds)
        l2_normalize_rows(pooler, out->embeds, (size_t)batch, D);
    free(scratch);
    return rc;
}

/* Checks one NaFlex item: its (h, w) grid fits N rows and its mask is h·w ones then zeros. */
static int check_patch_item(const SiglipPatches *in, size_t i, SgError *err)
{
    size_t N = (size_t)in->max_patches;
    int32_t h = in->spatial_shapes[2 * i], w = in->spatial_shapes[2 * i + 1];
    if (h < 1 || w < 1 || (int64_t)h * w > (int64_t)N)
        return sg_fail(err, SIGLIP_EINVAL, "spatial_shapes[%zu] = (%d, %d): need h, w ≥ 1 and "
                       "h·w ≤ max_patches %zu", i, h, w, N);
    const int32_t *mask = in->pixel_attention_mask + i * N;
    for (size_t r = 0; r < N; r++)
        if (mask[r] != (r < (size_t)h * (size_t)w))
            return sg_fail(err, SIGLIP_EINVAL, "pixel_attention_mask[%zu] is not %d ones then "
                           "zeros (row %zu)", i, h * w, r);
    return SIGLIP_OK;
}

/* The NaFlex position rows of items [at, at + B): each image's grid resized to its (h, w), rows
 * past h·w repeating its first row. Grids repeat across a batch, so each distinct shape is
 * resized once per chunk (they are small: at most N·D floats). */
static int fill_positions(SiglipModel *m, const SiglipPatches *in, size_t at, size_t B,
                          float *pos, SgError *err)
{
    const SgTowerConfig *c = &m->cfg.vision;
    size_t N = (size_t)in->max_patches, D = (size_t)c->hidden_size;
    int side = c->image_size / c->patch_size;
    if (!m->naflex_grid) {
        size_t bytes = (size_t)c->num_patches * D * sizeof(float);
        if (!(m->naflex_grid = malloc(bytes)))
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for the position grid");
        int rc = sg_buffer_read(m->dev, m->vision.pos_emb.mem, 0, bytes, m->naflex_grid, err);
        if (rc) {
            free(m->naflex_grid);
            m->naflex_grid = NULL;
            return rc;
        }
    }
    for (size_t i = 0; i < B; i++) {
        const int32_t *shape = in->spatial_shapes + 2 * (at + i);
        size_t n = (size_t)shape[0] * (size_t)shape[1];
        float *dst = pos + i * N * D;
        size_t same = 0; /* an earlier item of this chunk with the same grid */
        while (same < i && memcmp(in->spatial_shapes + 2 * (at + same), shape, 2 * sizeof *shape))
            same++;
        if (same < i)
            memcpy(dst, pos + same * N * D, n * D * sizeof *dst);
        else if (sg_pos_resize_aa_bilinear(m->naflex_grid, side, side, D, shape[0], shape[1], dst))
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory resizing positions");
        for (size_t r = n; r < N; r++)
            memcpy(dst + r * D, dst, D * sizeof *dst);
    }
    return SIGLIP_OK;
}

/* The NaFlex vision tower over a checked call's items, chunk by chunk: pooler [B, D], last_hidden
 * [B, N, D] and class_logits [B, L], each NULL when not wanted. */
static int patches_forward(SiglipModel *m, const SiglipPatches *in, int batch, float *pooler,
                           float *last_hidden, float *class_logits, SgError *err)
{
    const SgTowerConfig *c = &m->cfg.vision;
    size_t N = (size_t)in->max_patches, D = (size_t)c->hidden_size, L = (size_t)m->cfg.num_labels;
    size_t per_image = N * (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    int rc = SIGLIP_OK;
    for (size_t i = 0; i < (size_t)batch && !rc; i++)
        rc = check_patch_item(in, i, err);
    if (rc || (rc = check_finite(err, in->pixel_values, (size_t)batch * per_image)))
        return rc;
    size_t chunk = chunk_size((size_t)batch, 0);
    float *pos = malloc(chunk * N * D * sizeof *pos); /* [chunk, N, D] */
    if (!pos)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory for positions");
    for (size_t at = 0; at < (size_t)batch && rc == SIGLIP_OK; at += SG_MAX_CHUNK) {
        size_t n = chunk_size((size_t)batch, at);
        rc = fill_positions(m, in, at, n, pos, err);
        SgPatchInput item = {N, pos, in->pixel_values + at * per_image,
                             in->pixel_attention_mask + at * N};
        if (!rc)
            rc = sg_vision_forward_patches(m, &item, n, pooler ? pooler + at * D : NULL,
                                           last_hidden ? last_hidden + at * N * D : NULL,
                                           class_logits ? class_logits + at * L : NULL, err);
    }
    free(pos);
    return rc;
}

/* The max_patches of a patches call: SIGLIP_EINVAL outside 1..SG_MAX_PATCHES. */
static int check_max_patches(const SiglipPatches *in, const char *fn, SgError *err)
{
    if (in->max_patches < 1 || in->max_patches > SG_MAX_PATCHES)
        return sg_fail(err, SIGLIP_EINVAL, "%s: max_patches %d is not in 1..%d", fn,
                       in->max_patches, SG_MAX_PATCHES);
    return SIGLIP_OK;
}

int siglip_encode_image_patches(SiglipModel *m, const SiglipPatches *in, int batch,
                                const SiglipImageOutput *out)
{
    static const char fn[] = "siglip_encode_image_patches";
    int inputs_ok = in && in->pixel_values && in->pixel_attention_mask && in->spatial_shapes;
    int rc = check_image_call(m, fn, 1, inputs_ok, batch, out);
    SgError *err = rc ? NULL : sg_ctx_err(m->ctx);
    if (rc || (rc = check_max_patches(in, fn, err)))
        return rc;
    size_t D = (size_t)m->cfg.vision.hidden_size;
    float *scratch;
    float *pooler = pooler_target(out->pooler_output, out->embeds, (size_t)batch * D, &scratch,
                                  &rc, err);
    if (!rc)
        rc = patches_forward(m, in, batch, pooler, out->last_hidden_state, NULL, err);
    if (rc == SIGLIP_OK && out->embeds)
        l2_normalize_rows(pooler, out->embeds, (size_t)batch, D);
    free(scratch);
    return rc;
}

int siglip_classify_logits(SiglipModel *m, const float *pixel_values, int batch, float *logits)
{
    if (!check_model(m))
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!m->has_classifier)
        return sg_fail(err, SIGLIP_EINVAL,
                       "this model has no classifier (it is not SiglipForImageClassification)");
    if (!pixel_values || !logits || batch <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_classify_logits: pixel_values and logits must be set and batch > 0");
    if (check_batch(err, "siglip_classify_logits", batch))
        return SIGLIP_E2BIG;
    if (m->cfg.naflex)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_classify_logits: a SigLIP 2 NaFlex model takes "
                       "patches (siglip_classify_logits_patches)");
    const SgTowerConfig *c = &m->cfg.vision;
    size_t per_image = (size_t)c->num_channels * sg_vision_pixels(c);
    size_t L = (size_t)m->cfg.num_labels;
    int rc = SIGLIP_OK;
    for (size_t at = 0; at < (size_t)batch && rc == SIGLIP_OK; at += SG_MAX_CHUNK) {
        size_t n = chunk_size((size_t)batch, at);
        rc = sg_vision_forward(m, pixel_values + at * per_image, n, NULL, NULL, logits + at * L,
                               err);
    }
    return rc;
}

int siglip_classify_logits_patches(SiglipModel *m, const SiglipPatches *in, int batch,
                                   float *logits)
{
    static const char fn[] = "siglip_classify_logits_patches";
    if (!check_model(m))
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!m->has_classifier)
        return sg_fail(err, SIGLIP_EINVAL, "this model has no classifier (it is not "
                       "Siglip2ForImageClassification)");
    if (!m->cfg.naflex)
        return sg_fail(err, SIGLIP_EINVAL, "%s: this model is not a SigLIP 2 NaFlex model (use "
                       "siglip_classify_logits)", fn);
    if (!in || !in->pixel_values || !in->pixel_attention_mask || !in->spatial_shapes || !logits ||
        batch <= 0)
        return sg_fail(err, SIGLIP_EINVAL, "%s: the inputs and logits must be set and batch > 0 "
                       "(got %d)", fn, batch);
    if (check_batch(err, fn, batch))
        return SIGLIP_E2BIG;
    int rc = check_max_patches(in, fn, err);
    return rc ? rc : patches_forward(m, in, batch, NULL, NULL, logits, err);
}

int siglip_logits(const SiglipModel *m, const float *text_embeds, int n_text,
                  const float *image_embeds, int n_image, float *logits_per_image,
                  float *logits_per_text)
{
    if (!m || !m->ctx)
        return SIGLIP_EINVAL;
    SgError *err = &m->ctx->err;
    if (!m->has_text)
        return sg_fail(err, SIGLIP_EINVAL, "this model (%s) has no text tower and no logit head",
                       sg_model_no_text_why(m));
    if (!text_embeds || !image_embeds || n_text <= 0 || n_image <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_logits: embeds must be set and n_text, n_image > 0");
    if (check_batch(err, "siglip_logits", n_text) || check_batch(err, "siglip_logits", n_image))
        return SIGLIP_E2BIG;
    size_t D = (size_t)m->cfg.text.projection_size;
    if ((int)D != m->cfg.vision.hidden_size)
        return sg_fail(err, SIGLIP_ESHAPE,
                       "text projection_size %zu differs from the vision hidden_size %d",
                       D, m->cfg.vision.hidden_size);
    double scale = exp((double)m->logit_scale), bias = m->logit_bias;
    for (int t = 0; t < n_text; t++)
        for (int i = 0; i < n_image; i++) {
            double dot = 0;
            for (size_t k = 0; k < D; k++)
                dot += (double)text_embeds[(size_t)t * D + k] * image_embeds[(size_t)i * D + k];
            float logit = (float)(dot * scale + bias);
            if (logits_per_text)
                logits_per_text[(size_t)t * n_image + i] = logit;
            if (logits_per_image)
                logits_per_image[(size_t)i * n_text + t] = logit;
        }
    return SIGLIP_OK;
}
