/* pipeline.c — zero-shot image classification and SiglipForImageClassification end to end, from
 * image files and label strings to sorted scores (transformers' pipeline semantics). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "model/model.h"

/* Images go through the towers this many at a time, bounding host memory for long lists. */
#define PIPELINE_IMAGE_CHUNK 32

static const char default_template[] = "This is a photo of {}.";

char *siglip_format_label(const char *template_, const char *label)
{
    const char *tpl = template_ ? template_ : default_template;
    if (!label)
        return NULL;
    size_t ll = strlen(label), n = 1;
    for (const char *p = tpl; *p; p++)
        n += (p[0] == '{' && p[1] == '}') ? ll : 1;
    char *out = malloc(n);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = tpl; *p; p++) {
        if (p[0] == '{' && p[1] == '}') {
            memcpy(o, label, ll);
            o += ll;
            p++;
        } else if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            *o++ = *p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

void siglip_score_logits(const float *logits, int n, SiglipScoring scoring, SiglipScore *scores)
{
    if (!logits || !scores || n <= 0)
        return;
    double zmax = logits[0], sum = 0;
    for (int l = 1; l < n; l++)
        zmax = logits[l] > zmax ? logits[l] : zmax;
    for (int l = 0; scoring == SIGLIP_SCORE_SOFTMAX && l < n; l++)
        sum += exp((double)logits[l] - zmax);
    for (int l = 0; l < n; l++) {
        double z = logits[l];
        scores[l].label = l;
        scores[l].score = scoring == SIGLIP_SCORE_SOFTMAX ? (float)(exp(z - zmax) / sum)
                                                          : (float)(1.0 / (1.0 + exp(-z)));
    }
    /* Stable insertion sort, highest first: Python's sorted(key=-score) keeps ties in order. */
    for (int i = 1; i < n; i++) {
        SiglipScore v = scores[i];
        int j = i;
        while (j > 0 && scores[j - 1].score < v.score) {
            scores[j] = scores[j - 1];
            j--;
        }
        scores[j] = v;
    }
}

/* Text embeds [n_labels, Dp] of the formatted labels. */
static int encode_labels(SiglipModel *m, const char *const *labels, int n_labels, const char *tpl,
                         float *embeds, SgError *err)
{
    int T = m->cfg.text.max_position_embeddings;
    char **texts = calloc((size_t)n_labels, sizeof *texts);
    int32_t *ids = malloc((size_t)n_labels * (size_t)T * sizeof *ids);  /* [L, T] */
    int32_t *mask = malloc((size_t)n_labels * (size_t)T * sizeof *mask); /* [L, T] */
    int rc = SIGLIP_OK;
    if (!texts || !ids || !mask)
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (int i = 0; i < n_labels && rc == SIGLIP_OK; i++) {
        if (!labels[i])
            rc = sg_fail(err, SIGLIP_EINVAL, "label %d is NULL", i);
        else if (!(texts[i] = siglip_format_label(tpl, labels[i])))
            rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    }
    if (rc == SIGLIP_OK && (rc = siglip_tokenize(m->tokenizer, (const char *const *)texts,
                                                 n_labels, T, ids, mask)))
        sg_fail(err, rc, "%s", siglip_tokenizer_error(m->tokenizer));
    if (rc == SIGLIP_OK) {
        SiglipTextOutput out = {.embeds = embeds};
        rc = siglip_encode_text(m, ids, mask, n_labels, &out);
    }
    for (int i = 0; texts && i < n_labels; i++)
        free(texts[i]);
    free(texts);
    free(ids);
    free(mask);
    return rc;
}

/* What the pipelines ask of the model (a text tower and tokenizer for zero-shot, a classifier for
 * classification) and of the images: 1 to SIGLIP_MAX_BATCH paths and a processor that makes
 * pixel_values of the model's size. */
static int check_model(SiglipModel *m, int zero_shot, const char *const *image_paths,
                       int n_images, SgError *err)
{
    const char *fn = zero_shot ? "siglip_zero_shot" : "siglip_classify";
    if (zero_shot && !m->has_text)
        return sg_fail(err, SIGLIP_EINVAL, "zero-shot classification needs a SiglipModel with a "
                                           "text tower; this model has none (%s)",
                       sg_model_no_text_why(m));
    if (zero_shot && !m->tokenizer)
        return sg_fail(err, SIGLIP_EINVAL, "the model directory has no tokenizer (spiece.model, "
                                           "tokenizer.model or tokenizer.json)");
    if (!zero_shot && !m->has_classifier)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_classify needs a SiglipForImageClassification "
                                           "model; use siglip_zero_shot with labels instead");
    if (!image_paths || n_images <= 0)
        return sg_fail(err, SIGLIP_EINVAL, "%s: image paths must be set, n_images > 0", fn);
    if (n_images > SIGLIP_MAX_BATCH)
        return sg_fail(err, SIGLIP_E2BIG, "%s: %d images exceed SIGLIP_MAX_BATCH (%d)", fn,
                       n_images, SIGLIP_MAX_BATCH);
    if (m->cfg.naflex) /* patch lists of any grid: the processor follows the model's patch size */
        return SIGLIP_OK;
    int h, w;
    siglip_image_processor_size(m->processor, &h, &w);
    const SgTowerConfig *v = &m->cfg.vision;
    if (h != v->image_height || w != v->image_width)
        return sg_fail(err, SIGLIP_EINVAL,
                       "the image processor produces %d×%d images but the model expects %d×%d",
                       h, w, v->image_height, v->image_width);
    return SIGLIP_OK;
}


/* The vision inputs of up to *chunk = min(n_images, PIPELINE_IMAGE_CHUNK) images: pixel_values
 * [chunk, 3, H, W], or for NaFlex the patch lists [chunk, N, C·P·P] with masks [chunk, N] and
 * grids [chunk, 2]. */
typedef struct ImageInputs {
    float *pixels;
    SiglipPatches patches;
} ImageInputs;

static int image_inputs_alloc(SiglipModel *m, int n_images, size_t *chunk, ImageInputs *x,
                              SgError *err)
{
    memset(x, 0, sizeof *x);
    *chunk = n_images < PIPELINE_IMAGE_CHUNK ? (size_t)n_images : PIPELINE_IMAGE_CHUNK;
    int patch_floats = 0, N = siglip_image_processor_max_patches(m->processor, &patch_floats);
    size_t per_image = N ? (size_t)N * (size_t)patch_floats : 3 * sg_vision_pixels(&m->cfg.vision);
    x->pixels = malloc(*chunk * per_image * sizeof(float));
    int ok = x->pixels != NULL;
    if (N) {
        x->patches = (SiglipPatches){N, x->pixels, malloc(*chunk * (size_t)N * sizeof(int32_t)),
                                     malloc(*chunk * 2 * sizeof(int32_t))};
        ok = ok && x->patches.pixel_attention_mask && x->patches.spatial_shapes;
    }
    return ok ? SIGLIP_OK : sg_fail(err, SIGLIP_ENOMEM, "out of host memory for images");
}

static void image_inputs_free(ImageInputs *x)
{
    free(x->pixels);
    free(x->patches.pixel_attention_mask);
    free(x->patches.spatial_shapes);
}

/* n files into x with the model's processor (patch lists for NaFlex), its failure recorded in
 * the context. */
static int preprocess(SiglipModel *m, ImageInputs *x, const char *const *paths, int n,
                      SgError *err)
{
    int rc = x->patches.max_patches
                 ? siglip_preprocess_files_patches(m->processor, paths, n, &x->patches, NULL)
                 : siglip_preprocess_files(m->processor, paths, n, x->pixels);
    return rc ? sg_fail(err, rc, "%s", siglip_image_processor_error(m->processor)) : SIGLIP_OK;
}

/* Preprocesses n files into x and runs the vision tower on them: embeds [n, D]. */
static int embed_image_files(SiglipModel *m, ImageInputs *x, const char *const *paths, int n,
                             float *embeds, SgError *err)
{
    SiglipImageOutput out = {.embeds = embeds};
    int rc = preprocess(m, x, paths, n, err);
    if (rc)
        return rc;
    return x->patches.max_patches ? siglip_encode_image_patches(m, &x->patches, n, &out)
                                  : siglip_encode_image(m, x->pixels, n, &out);
}

/* Preprocesses n files into x and runs the classifier on them: logits [n, L]. */
static int classify_image_files(SiglipModel *m, ImageInputs *x, const char *const *paths, int n,
                                float *logits, SgError *err)
{
    int rc = preprocess(m, x, paths, n, err);
    if (rc)
        return rc;
    return x->patches.max_patches ? siglip_classify_logits_patches(m, &x->patches, n, logits)
                                  : siglip_classify_logits(m, x->pixels, n, logits);
}

int siglip_zero_shot(SiglipModel *m, const char *const *image_paths, int n_images,
                     const char *const *labels, int n_labels, const char *template_,
                     SiglipScore *scores)
{
    if (!m || !m->ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!labels || !scores || n_labels <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_zero_shot: labels and scores must be set, n_labels > 0");
    if (n_labels > SIGLIP_MAX_BATCH)
        return sg_fail(err, SIGLIP_E2BIG, "siglip_zero_shot: %d labels exceed SIGLIP_MAX_BATCH "
                       "(%d)", n_labels, SIGLIP_MAX_BATCH);
    int rc = check_model(m, 1, image_paths, n_images, err);
    if (rc)
        return rc;
    size_t D = (size_t)m->cfg.text.projection_size, L = (size_t)n_labels, chunk;
    ImageInputs x;
    rc = image_inputs_alloc(m, n_images, &chunk, &x, err);
    float *text_embeds = malloc(L * D * sizeof(float));               /* [L, D] */
    float *image_embeds = malloc(chunk * D * sizeof(float));          /* [chunk, D] */
    float *logits = malloc(chunk * L * sizeof(float));                /* [chunk, L] */
    if (rc == SIGLIP_OK && (!text_embeds || !image_embeds || !logits))
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    if (rc == SIGLIP_OK)
        rc = encode_labels(m, labels, n_labels, template_, text_embeds, err);
    for (size_t at = 0; at < (size_t)n_images && rc == SIGLIP_OK; at += chunk) {
        size_t n = (size_t)n_images - at < chunk ? (size_t)n_images - at : chunk;
        rc = embed_image_files(m, &x, image_paths + at, (int)n, image_embeds, err);
        if (rc == SIGLIP_OK)
            rc = siglip_logits(m, text_embeds, n_labels, image_embeds, (int)n, logits, NULL);
        for (size_t i = 0; i < n && rc == SIGLIP_OK; i++)
            siglip_score_logits(logits + i * L, (int)L, SIGLIP_SCORE_SIGMOID,
                                scores + (at + i) * L);
    }
    free(text_embeds);
    image_inputs_free(&x);
    free(image_embeds);
    free(logits);
    return rc;
}

int siglip_classify(SiglipModel *m, const char *const *image_paths, int n_images, int top_k,
                    SiglipScore *scores)
{
    if (!m || !m->ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!scores)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_classify: scores must be set");
    int rc = check_model(m, 0, image_paths, n_images, err);
    if (rc)
        return rc;
    size_t L = (size_t)m->cfg.num_labels;
    size_t k = top_k <= 0 || (size_t)top_k > L ? L : (size_t)top_k;
    size_t chunk;
    ImageInputs x;
    rc = image_inputs_alloc(m, n_images, &chunk, &x, err);
    float *logits = malloc(chunk * L * sizeof(float));         /* [chunk, L] */
    SiglipScore *row = malloc(L * sizeof *row);                /* [L] */
    if (rc == SIGLIP_OK && (!logits || !row))
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (size_t at = 0; at < (size_t)n_images && rc == SIGLIP_OK; at += chunk) {
        size_t n = (size_t)n_images - at < chunk ? (size_t)n_images - at : chunk;
        rc = classify_image_files(m, &x, image_paths + at, (int)n, logits, err);
        for (size_t i = 0; i < n && rc == SIGLIP_OK; i++) {
            siglip_score_logits(logits + i * L, (int)L, (SiglipScoring)m->cfg.class_scoring, row);
            memcpy(scores + (at + i) * k, row, k * sizeof *row);
        }
    }
    image_inputs_free(&x);
    free(logits);
    free(row);
    return rc;
}
