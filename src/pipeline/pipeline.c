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

/* Python's template.format(label) for templates whose only fields are "{}": each "{}" becomes
 * the label, "{{" and "}}" become literal braces. Returns a malloc'ed string or NULL. */
static char *format_template(const char *tpl, const char *label)
{
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

/* Stable sort, highest score first (Python's sorted(key=-score) keeps ties in input order). */
static void sort_scores(SiglipScore *s, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        SiglipScore v = s[i];
        size_t j = i;
        while (j > 0 && s[j - 1].score < v.score) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = v;
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
        else if (!(texts[i] = format_template(tpl, labels[i])))
            rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    }
    if (rc == SIGLIP_OK)
        rc = siglip_tokenize(m->tokenizer, (const char *const *)texts, n_labels, T, ids, mask);
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

static int check_processor(SiglipModel *m, SgError *err)
{
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

/* The vision inputs of up to `chunk` images: pixel_values [chunk, 3, H, W], or for NaFlex the
 * patch lists [chunk, N, C·P·P] with masks [chunk, N] and grids [chunk, 2]. */
typedef struct ImageInputs {
    float *pixels;
    SiglipPatches patches;
} ImageInputs;

static int image_inputs_alloc(SiglipModel *m, size_t chunk, ImageInputs *x, SgError *err)
{
    memset(x, 0, sizeof *x);
    int patch_floats = 0, N = siglip_image_processor_max_patches(m->processor, &patch_floats);
    size_t per_image = N ? (size_t)N * (size_t)patch_floats : 3 * sg_vision_pixels(&m->cfg.vision);
    x->pixels = malloc(chunk * per_image * sizeof(float));
    int ok = x->pixels != NULL;
    if (N) {
        x->patches = (SiglipPatches){N, x->pixels, malloc(chunk * (size_t)N * sizeof(int32_t)),
                                     malloc(chunk * 2 * sizeof(int32_t))};
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

/* Preprocesses n files into x and runs the vision tower on them: embeds [n, D]. */
static int embed_image_files(SiglipModel *m, ImageInputs *x, const char *const *paths, int n,
                             float *embeds)
{
    SiglipImageOutput out = {.embeds = embeds};
    int rc;
    if (x->patches.max_patches) {
        rc = siglip_preprocess_files_patches(m->processor, paths, n, &x->patches, NULL);
        return rc ? rc : siglip_encode_image_patches(m, &x->patches, n, &out);
    }
    rc = siglip_preprocess_files(m->processor, paths, n, x->pixels);
    return rc ? rc : siglip_encode_image(m, x->pixels, n, &out);
}

int siglip_zero_shot(SiglipModel *m, const char *const *image_paths, int n_images,
                     const char *const *labels, int n_labels, const char *template_,
                     SiglipScore *scores)
{
    if (!m || !m->ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(m->ctx);
    if (!image_paths || !labels || !scores || n_images <= 0 || n_labels <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_zero_shot: images, labels and scores must be set, counts > 0");
    if (n_images > SIGLIP_MAX_BATCH || n_labels > SIGLIP_MAX_BATCH)
        return sg_fail(err, SIGLIP_E2BIG, "siglip_zero_shot: %d images and %d labels: at most "
                       "SIGLIP_MAX_BATCH (%d) of each", n_images, n_labels, SIGLIP_MAX_BATCH);
    if (!m->has_text)
        return sg_fail(err, SIGLIP_EINVAL, "zero-shot classification needs a SiglipModel with a "
                                           "text tower; this is an image-classification model");
    if (!m->tokenizer)
        return sg_fail(err, SIGLIP_EINVAL, "the model directory has no tokenizer (spiece.model, "
                                           "tokenizer.model or tokenizer.json)");
    int rc = check_processor(m, err);
    if (rc)
        return rc;
    size_t D = (size_t)m->cfg.text.projection_size, L = (size_t)n_labels;
    size_t chunk = n_images < PIPELINE_IMAGE_CHUNK ? (size_t)n_images : PIPELINE_IMAGE_CHUNK;
    ImageInputs x;
    rc = image_inputs_alloc(m, chunk, &x, err);
    float *text_embeds = malloc(L * D * sizeof(float));               /* [L, D] */
    float *image_embeds = malloc(chunk * D * sizeof(float));          /* [chunk, D] */
    float *logits = malloc(chunk * L * sizeof(float));                /* [chunk, L] */
    if (!rc && (!text_embeds || !image_embeds || !logits))
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    if (rc == SIGLIP_OK)
        rc = encode_labels(m, labels, n_labels, template_ ? template_ : default_template,
                           text_embeds, err);
    for (size_t at = 0; at < (size_t)n_images && rc == SIGLIP_OK; at += chunk) {
        size_t n = (size_t)n_images - at < chunk ? (size_t)n_images - at : chunk;
        rc = embed_image_files(m, &x, image_paths + at, (int)n, image_embeds);
        if (rc == SIGLIP_OK)
            rc = siglip_logits(m, text_embeds, n_labels, image_embeds, (int)n, logits, NULL);
        for (size_t i = 0; i < n && rc == SIGLIP_OK; i++) {
            SiglipScore *row = scores + (at + i) * L;
            for (size_t l = 0; l < L; l++) {
                row[l].label = (int)l;
                row[l].score = (float)(1.0 / (1.0 + exp(-(double)logits[i * L + l])));
            }
            sort_scores(row, L);
        }
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
    if (!image_paths || !scores || n_images <= 0)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_classify: images and scores must be set, n_images > 0");
    if (n_images > SIGLIP_MAX_BATCH)
        return sg_fail(err, SIGLIP_E2BIG, "siglip_classify: %d images exceed SIGLIP_MAX_BATCH (%d)",
                       n_images, SIGLIP_MAX_BATCH);
    if (!m->has_classifier)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_classify needs a SiglipForImageClassification "
                                           "model; use siglip_zero_shot with labels instead");
    int rc = check_processor(m, err);
    if (rc)
        return rc;
    size_t L = (size_t)m->cfg.num_labels;
    size_t k = top_k <= 0 || (size_t)top_k > L ? L : (size_t)top_k;
    size_t per_image = 3 * sg_vision_pixels(&m->cfg.vision);
    size_t chunk = n_images < PIPELINE_IMAGE_CHUNK ? (size_t)n_images : PIPELINE_IMAGE_CHUNK;
    float *pixels = malloc(chunk * per_image * sizeof(float)); /* [chunk, 3, S, S] */
    float *logits = malloc(chunk * L * sizeof(float));         /* [chunk, L] */
    SiglipScore *row = malloc(L * sizeof *row);                /* [L] */
    if (!pixels || !logits || !row)
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of host memory");
    for (size_t at = 0; at < (size_t)n_images && rc == SIGLIP_OK; at += chunk) {
        size_t n = (size_t)n_images - at < chunk ? (size_t)n_images - at : chunk;
        rc = siglip_preprocess_files(m->processor, image_paths + at, (int)n, pixels);
        if (rc == SIGLIP_OK)
            rc = siglip_classify_logits(m, pixels, (int)n, logits);
        for (size_t i = 0; i < n && rc == SIGLIP_OK; i++) {
            const float *z = logits + i * L;
            double zmax = z[0], sum = 0;
            for (size_t l = 1; l < L; l++)
                zmax = z[l] > zmax ? z[l] : zmax;
            for (size_t l = 0; l < L; l++)
                sum += exp((double)z[l] - zmax);
            for (size_t l = 0; l < L; l++) {
                row[l].label = (int)l;
                row[l].score = (float)(exp((double)z[l] - zmax) / sum);
            }
            sort_scores(row, L);
            memcpy(scores + (at + i) * k, row, k * sizeof *row);
        }
    }
    free(pixels);
    free(logits);
    free(row);
    return rc;
}
