/* model.c — loading a SigLIP model directory (or random weights) onto the device: every tensor
 * checked against the shape its config implies and uploaded once; Linear weights and the token
 * embedding in the precision of the context's settings, converted and packed straight from the
 * checkpoint's mapping into the device buffer on the context's threads. */
#include "model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/parallel.h"
#include "image/image.h"
#include "model/pos_interp.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"

/* Where weights come from: a safetensors archive, or a seeded generator for benchmarks. */
typedef struct SgWeightSource {
    SgSafetensors *st;       /* NULL: random weights */
    uint64_t rng;            /* xorshift64 state for random weights */
    SgDevice *dev;
    SgElemType dtype;        /* storage of Linear weights (SiglipSettings.precision) */
    int threads;             /* packing threads (SiglipSettings.n_threads) */
    SgError *err;
} SgWeightSource;

/* How a random tensor is initialized (the values only need to be plausible for timing). */
typedef enum { INIT_WEIGHT, INIT_ONES, INIT_ZEROS } SgInit;

static float random_uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, size - at, "[");
    for (int i = 0; i < ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (at < size)
        snprintf(buf + at, size - at, "]");
}

/* The checkpoint's tensor `name`, which must have exactly `shape` and a float dtype. */
static int find_tensor(SgWeightSource *src, const char *name, int ndim, const int64_t *shape,
                       const SgTensor **out)
{
    const SgTensor *t = *out = sg_st_find(src->st, name);
    if (!t)
        return sg_fail(src->err, SIGLIP_ESHAPE, "tensor %s is missing from the checkpoint", name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[128], want[128];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return sg_fail(src->err, SIGLIP_ESHAPE, "tensor %s has shape %s, the config implies %s",
                       name, got, want);
    }
    return sg_tensor_check_float(t, src->err);
}

/* Fills dst[numel] with tensor `name`, which must have exactly `shape`. */
static int fetch_host(SgWeightSource *src, const char *name, int ndim, const int64_t *shape,
                      SgInit init, float *dst)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    if (!src->st) {
        for (size_t i = 0; i < numel; i++) {
            float r = random_uniform(&src->rng) * 0.02f;
            dst[i] = init == INIT_ONES ? 1.0f + r : init == INIT_ZEROS ? r * 0.1f : r;
        }
        return SIGLIP_OK;
    }
    const SgTensor *t;
    int rc = find_tensor(src, name, ndim, shape, &t);
    if (rc == SIGLIP_OK)
        rc = sg_tensor_to_f32(t, dst, src->err);
    if (t)
        sg_st_release(src->st, t); /* each tensor is read once: its file pages can leave the RSS */
    return rc;
}

/* Uploads tensor `name` of `shape` into a new device buffer. */
static int fetch_device(SgWeightSource *src, const char *name, int ndim, const int64_t *shape,
                        SgInit init, SgBuffer *out)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    float *host = malloc(numel * sizeof *host);
    if (!host)
        return sg_fail(src->err, SIGLIP_ENOMEM, "out of host memory for tensor %s (%zu floats)",
                       name, numel);
    int rc = fetch_host(src, name, ndim, shape, init, host);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_upload(src->dev, host, numel * sizeof *host, out, src->err);
    free(host);
    return rc;
}

static int load_vector(SgWeightSource *src, const char *name, int64_t n, SgInit init,
                       SgBuffer *out)
{
    return fetch_device(src, name, 1, &n, init, out);
}

/* Uploads rows as a Linear weight in the device's GEMM layout, or as a table when `table`. */
static int upload_rows(SgWeightSource *src, const char *what, SgRows *rows, SgWeight *weight,
                       SgTable *table)
{
    rows->threads = src->threads;
    int rc = table ? sg_table_upload(src->dev, rows, src->dtype, table, src->err)
                   : sg_weight_upload_rows(src->dev, rows, src->dev->tuning.gemm, src->dtype,
                                           weight, src->err);
    if (rc)
        sg_error_prefix(src->err, "uploading %s: ", what);
    return rc;
}

/* Host copy of a [n_out, n_in] weight, uploaded in the device's GEMM layout. */
static int upload_weight(SgWeightSource *src, const char *name, const float *host, size_t n_out,
                         size_t n_in, SgWeight *out)
{
    SgRows rows = sg_rows_host(host, n_out, n_in);
    return upload_rows(src, name, &rows, out, NULL);
}

/* A weight whose rows are those of up to three checkpoint tensors one after another (q, k and v
 * of one layer as one [3D, D] weight), each `part_rows` rows. */
typedef struct TensorParts {
    const SgTensor *part[3];
    size_t part_rows;
} TensorParts;

static void read_parts(const SgRows *rows, size_t row, size_t k0, size_t len, float *out)
{
    const TensorParts *tp = rows->src;
    sg_tensor_range_to_f32(tp->part[row / tp->part_rows], row % tp->part_rows * rows->k + k0, len,
                           out);
}

/* What load_rows uploads: tensors names[0 .. n_parts) of `shape` each, their elements forming
 * [part_rows, n_in], stacked. */
typedef struct RowsSpec {
    const char *const *names;
    int n_parts;
    int ndim;
    const int64_t *shape;
    size_t part_rows, n_in;
} RowsSpec;

/* Uploads the weight (or table) `spec` describes: read, converted and packed straight from the
 * checkpoint's mapping; random weights are generated into host memory first. */
static int load_rows(SgWeightSource *src, const RowsSpec *spec, SgWeight *weight, SgTable *table)
{
    size_t n_out = spec->part_rows * (size_t)spec->n_parts;
    TensorParts parts = {.part_rows = spec->part_rows};
    SgRows rows = {read_parts, &parts, n_out, spec->n_in, 1};
    float *host = NULL;
    int rc = SIGLIP_OK;
    if (!src->st) {
        host = malloc(n_out * spec->n_in * sizeof *host);
        if (!host)
            return sg_fail(src->err, SIGLIP_ENOMEM, "out of host memory for tensor %s",
                           spec->names[0]);
        for (int i = 0; i < spec->n_parts; i++)
            fetch_host(src, NULL, spec->ndim, spec->shape, INIT_WEIGHT,
                       host + (size_t)i * spec->part_rows * spec->n_in);
        rows = sg_rows_host(host, n_out, spec->n_in);
    }
    for (int i = 0; i < spec->n_parts && src->st && rc == SIGLIP_OK; i++)
        rc = find_tensor(src, spec->names[i], spec->ndim, spec->shape, &parts.part[i]);
    if (rc == SIGLIP_OK)
        rc = upload_rows(src, spec->names[0], &rows, weight, table);
    for (int i = 0; i < spec->n_parts; i++)
        if (parts.part[i])
            sg_st_release(src->st, parts.part[i]); /* read once: the file pages can leave the RSS */
    free(host);
    return rc;
}

/* Weight `name` of `shape` (whose elements form [n_out, n_in]) into the GEMM layout. */
static int fetch_weight(SgWeightSource *src, const char *name, int ndim, const int64_t *shape,
                        size_t n_out, size_t n_in, SgWeight *out)
{
    RowsSpec spec = {&name, 1, ndim, shape, n_out, n_in};
    return load_rows(src, &spec, out, NULL);
}

/* Table `name` [rows, cols] (the token embedding) stored in the model's precision. */
static int fetch_table(SgWeightSource *src, const char *name, size_t rows, size_t cols,
                       SgTable *out)
{
    int64_t shape[2] = {(int64_t)rows, (int64_t)cols};
    RowsSpec spec = {&name, 1, 2, shape, rows, cols};
    return load_rows(src, &spec, NULL, out);
}

static int load_linear(SgWeightSource *src, const char *prefix, size_t n_out, size_t n_in,
                       SgLinear *lin)
{
    char name[320];
    int64_t shape[2] = {(int64_t)n_out, (int64_t)n_in};
    snprintf(name, sizeof name, "%s.weight", prefix);
    int rc = fetch_weight(src, name, 2, shape, n_out, n_in, &lin->w);
    if (rc)
        return rc;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load_vector(src, name, (int64_t)n_out, INIT_ZEROS, &lin->b);
}

static int load_layernorm(SgWeightSource *src, const char *prefix, size_t n, float eps,
                          SgLayerNorm *ln)
{
    char name[320];
    ln->n = n;
    ln->eps = eps;
    snprintf(name, sizeof name, "%s.weight", prefix);
    int rc = load_vector(src, name, (int64_t)n, INIT_ONES, &ln->w);
    if (rc)
        return rc;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load_vector(src, name, (int64_t)n, INIT_ZEROS, &ln->b);
}

/* q_proj, k_proj and v_proj of one layer into one [3D, D] weight and [3D] bias. Random weights
 * are drawn in checkpoint order (q weight, q bias, k weight, ...), as they always were. */
static int load_qkv(SgWeightSource *src, const char *prefix, size_t D, SgLinear *lin)
{
    static const char *const parts[3] = {"q_proj", "k_proj", "v_proj"};
    char names[3][320];
    const char *weights[3];
    int64_t wshape[2] = {(int64_t)D, (int64_t)D}, bshape[1] = {(int64_t)D};
    float *b = malloc(3 * D * sizeof *b);                             /* [3D] */
    float *w = src->st ? NULL : malloc(3 * D * D * sizeof *w);        /* [3D, D], random only */
    int rc = !b || (!src->st && !w)
                 ? sg_fail(src->err, SIGLIP_ENOMEM, "out of host memory loading %s", prefix)
                 : SIGLIP_OK;
    for (int i = 0; i < 3 && rc == SIGLIP_OK; i++) {
        char name[320];
        snprintf(names[i], sizeof names[i], "%s.%s.weight", prefix, parts[i]);
        weights[i] = names[i];
        if (w)
            rc = fetch_host(src, names[i], 2, wshape, INIT_WEIGHT, w + (size_t)i * D * D);
        snprintf(name, sizeof name, "%s.%s.bias", prefix, parts[i]);
        if (rc == SIGLIP_OK)
            rc = fetch_host(src, name, 1, bshape, INIT_ZEROS, b + (size_t)i * D);
    }
    RowsSpec spec = {weights, 3, 2, wshape, D, D};
    if (rc == SIGLIP_OK)
        rc = w ? upload_weight(src, prefix, w, 3 * D, D, &lin->w)
               : load_rows(src, &spec, &lin->w, NULL);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_upload(src->dev, b, 3 * D * sizeof *b, &lin->b, src->err);
    free(w);
    free(b);
    return rc;
}

static int load_encoder(SgWeightSource *src, const char *tower, const SgTowerConfig *c,
                        SgEncoderLayer **out)
{
    size_t L = (size_t)c->num_hidden_layers, D = (size_t)c->hidden_size,
           F = (size_t)c->intermediate_size;
    SgEncoderLayer *layers = calloc(L, sizeof *layers);
    if (!layers)
        return sg_fail(src->err, SIGLIP_ENOMEM, "out of host memory");
    *out = layers;
    char p[192], q[256];
    for (size_t i = 0; i < L; i++) {
        SgEncoderLayer *l = &layers[i];
        snprintf(p, sizeof p, "%s.encoder.layers.%zu", tower, i);
        int rc;
#define TRY(call)                                                                                \
    if ((rc = (call)) != SIGLIP_OK)                                                              \
        return rc;
        snprintf(q, sizeof q, "%s.layer_norm1", p);
        TRY(load_layernorm(src, q, D, c->layer_norm_eps, &l->ln1));
        snprintf(q, sizeof q, "%s.self_attn", p);
        TRY(load_qkv(src, q, D, &l->qkv));
        snprintf(q, sizeof q, "%s.self_attn.out_proj", p);
        TRY(load_linear(src, q, D, D, &l->out));
        snprintf(q, sizeof q, "%s.layer_norm2", p);
        TRY(load_layernorm(src, q, D, c->layer_norm_eps, &l->ln2));
        snprintf(q, sizeof q, "%s.mlp.fc1", p);
        TRY(load_linear(src, q, F, D, &l->fc1));
        snprintf(q, sizeof q, "%s.mlp.fc2", p);
        TRY(load_linear(src, q, D, F, &l->fc2));
#undef TRY
    }
    return SIGLIP_OK;
}

static int load_scalar(SgWeightSource *src, const char *name, float random_value, float *out)
{
    int64_t one = 1;
    if (!src->st) {
        *out = random_value;
        return SIGLIP_OK;
    }
    return fetch_host(src, name, 1, &one, INIT_WEIGHT, out);
}

static int load_text(SgWeightSource *src, SiglipModel *m)
{
    const SgTowerConfig *c = &m->cfg.text;
    int64_t V = c->vocab_size, T = c->max_position_embeddings, D = c->hidden_size;
    int rc = fetch_table(src, "text_model.embeddings.token_embedding.weight", (size_t)V,
                         (size_t)D, &m->text.tok_emb);
    if (!rc)
        rc = fetch_device(src, "text_model.embeddings.position_embedding.weight", 2,
                          (int64_t[]){T, D}, INIT_WEIGHT, &m->text.pos_emb);
    if (!rc)
        rc = load_encoder(src, "text_model", c, &m->text.layers);
    if (!rc)
        rc = load_layernorm(src, "text_model.final_layer_norm", (size_t)D, c->layer_norm_eps,
                            &m->text.final_ln);
    if (!rc)
        rc = load_linear(src, "text_model.head", (size_t)c->projection_size, (size_t)D,
                         &m->text.head);
    if (!rc)
        rc = load_scalar(src, "logit_scale", logf(10.0f), &m->logit_scale);
    if (!rc)
        rc = load_scalar(src, "logit_bias", -10.0f, &m->logit_bias);
    return rc;
}

/* The probe's query never changes: compute probe·Wqᵀ + bq once, on the host, in double. */
static int load_head_query(SgWeightSource *src, SiglipModel *m, size_t D)
{
    float *probe = malloc(D * sizeof *probe);      /* [D] */
    float *w = malloc(3 * D * D * sizeof *w);      /* [3D, D] in_proj_weight */
    float *b = malloc(3 * D * sizeof *b);          /* [3D] in_proj_bias */
    float *q = malloc(D * sizeof *q);              /* [D] */
    int rc = SIGLIP_OK;
    if (!probe || !w || !b || !q)
        rc = sg_fail(src->err, SIGLIP_ENOMEM, "out of host memory loading the vision head");
    if (!rc)
        rc = fetch_host(src, "vision_model.head.probe", 3, (int64_t[]){1, 1, (int64_t)D},
                        INIT_WEIGHT, probe);
    if (!rc)
        rc = fetch_host(src, "vision_model.head.attention.in_proj_weight", 2,
                        (int64_t[]){3 * (int64_t)D, (int64_t)D}, INIT_WEIGHT, w);
    if (!rc)
        rc = fetch_host(src, "vision_model.head.attention.in_proj_bias", 1,
                        (int64_t[]){3 * (int64_t)D}, INIT_ZEROS, b);
    if (!rc) {
        for (size_t i = 0; i < D; i++) {
            double acc = b[i];
            for (size_t k = 0; k < D; k++)
                acc += (double)probe[k] * w[i * D + k];
            q[i] = (float)acc;
        }
        SgLinear *kv = &m->vision.head_kv;
        rc = sg_buffer_upload(src->dev, q, D * sizeof *q, &m->vision.head_q, src->err);
        if (!rc)
            rc = upload_weight(src, "vision_model.head.attention.in_proj_weight[D:3D]", w + D * D,
                               2 * D, D, &kv->w);
        if (!rc)
            rc = sg_buffer_upload(src->dev, b + D, 2 * D * sizeof *b, &kv->b, src->err);
    }
    free(probe);
    free(w);
    free(b);
    free(q);
    return rc;
}

/* All of vision_model.head.* is in the checkpoint (random weights always have a head). */
static int checkpoint_has_head(const SgWeightSource *src)
{
    return !src->st || sg_st_find(src->st, "vision_model.head.probe") != NULL;
}

static int load_vision(SgWeightSource *src, SiglipModel *m)
{
    const SgTowerConfig *c = &m->cfg.vision;
    int64_t D = c->hidden_size, C = c->num_channels, p = c->patch_size, F = c->intermediate_size;
    int64_t N = c->num_patches;
    SgVisionTower *v = &m->vision;
    /* SiglipModel: a Conv2d [D, C, p, p] (columns (c, ky, kx), as im2col writes patches);
     * Siglip2Model: a Linear [D, C·p·p] over patches flattened (ky·p + kx)·C + c. */
    int rc = m->cfg.naflex
                 ? fetch_weight(src, "vision_model.embeddings.patch_embedding.weight", 2,
                                (int64_t[]){D, C * p * p}, (size_t)D, (size_t)(C * p * p),
                                &v->patch.w)
                 : fetch_weight(src, "vision_model.embeddings.patch_embedding.weight", 4,
                                (int64_t[]){D, C, p, p}, (size_t)D, (size_t)(C * p * p),
                                &v->patch.w);
    if (!rc)
        rc = load_vector(src, "vision_model.embeddings.patch_embedding.bias", D, INIT_ZEROS,
                         &v->patch.b);
    if (!rc)
        rc = fetch_device(src, "vision_model.embeddings.position_embedding.weight", 2,
                          (int64_t[]){N, D}, INIT_WEIGHT, &v->pos_emb);
    if (!rc)
        rc = load_encoder(src, "vision_model", c, &v->layers);
    if (!rc)
        rc = load_layernorm(src, "vision_model.post_layernorm", (size_t)D, c->layer_norm_eps,
                            &v->post_ln);
    /* SiglipModel needs the head (unless its config has none); the classification path doesn't
     * use it. */
    v->has_head = c->use_head &&
                  (m->cfg.architecture == SIGLIP_ARCH_MODEL || checkpoint_has_head(src));
    if (!rc && v->has_head) {
        rc = load_head_query(src, m, (size_t)D);
        if (!rc)
            rc = load_linear(src, "vision_model.head.attention.out_proj", (size_t)D, (size_t)D,
                             &v->head_out);
        if (!rc)
            rc = load_layernorm(src, "vision_model.head.layernorm", (size_t)D,
                                c->layer_norm_eps, &v->head_ln);
        if (!rc)
            rc = load_linear(src, "vision_model.head.mlp.fc1", (size_t)F, (size_t)D,
                             &v->head_fc1);
        if (!rc)
            rc = load_linear(src, "vision_model.head.mlp.fc2", (size_t)D, (size_t)F,
                             &v->head_fc2);
    }
    return rc;
}

static int load_weights(SgWeightSource *src, SiglipModel *m)
{
    int rc = SIGLIP_OK;
    m->has_text = m->cfg.architecture == SIGLIP_ARCH_MODEL && !m->cfg.vision_only;
    if (m->has_text)
        rc = load_text(src, m);
    if (!rc)
        rc = load_vision(src, m);
    if (!rc && m->cfg.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION) {
        m->has_classifier = 1;
        rc = load_linear(src, "classifier", (size_t)m->cfg.num_labels,
                         (size_t)m->cfg.vision.hidden_size, &m->classifier);
    }
    return rc;
}

/* Releasing walks the buffers: each knows its size, so the device's accounting returns to what it
 * was before loading (the leak test checks that). */
static void release_linear(SgDevice *dev, SgLinear *l)
{
    sg_buffer_release(dev, &l->b);
    sg_buffer_release(dev, &l->w.buf);
}

static void release_layernorm(SgDevice *dev, SgLayerNorm *ln)
{
    sg_buffer_release(dev, &ln->w);
    sg_buffer_release(dev, &ln->b);
}

static void release_encoder(SgDevice *dev, SgEncoderLayer **layers, int n)
{
    if (!*layers)
        return;
    for (int i = 0; i < n; i++) {
        SgEncoderLayer *l = &(*layers)[i];
        release_layernorm(dev, &l->ln1);
        release_layernorm(dev, &l->ln2);
        release_linear(dev, &l->qkv);
        release_linear(dev, &l->out);
        release_linear(dev, &l->fc1);
        release_linear(dev, &l->fc2);
    }
    free(*layers);
    *layers = NULL;
}

void siglip_model_free(SiglipModel **pm)
{
    if (!pm || !*pm)
        return;
    SiglipModel *m = *pm;
    SgDevice *dev = m->dev;
    if (dev) {
        sg_pos_interp_release(m);
        sg_workspace_release(m);
        sg_buffer_release(dev, &m->text.tok_emb.buf);
        sg_buffer_release(dev, &m->text.pos_emb);
        release_encoder(dev, &m->text.layers, m->cfg.text.num_hidden_layers);
        release_layernorm(dev, &m->text.final_ln);
        release_linear(dev, &m->text.head);
        release_linear(dev, &m->vision.patch);
        sg_buffer_release(dev, &m->vision.pos_emb);
        release_encoder(dev, &m->vision.layers, m->cfg.vision.num_hidden_layers);
        release_layernorm(dev, &m->vision.post_ln);
        sg_buffer_release(dev, &m->vision.head_q);
        release_linear(dev, &m->vision.head_kv);
        release_linear(dev, &m->vision.head_out);
        release_layernorm(dev, &m->vision.head_ln);
        release_linear(dev, &m->vision.head_fc1);
        release_linear(dev, &m->vision.head_fc2);
        release_linear(dev, &m->classifier);
    }
    siglip_tokenizer_free(&m->tokenizer);
    siglip_image_processor_free(&m->processor);
    sg_config_free(&m->cfg);
    free(m->naflex_grid);
    free(m);
    *pm = NULL;
}

/* 1 when dir has a processor config, 0 when not, SIGLIP_ENOMEM when out of memory. */
static int has_processor_config(const char *dir)
{
    int rc;
    char *path = sg_image_processor_config(dir, &rc);
    int found = path != NULL;
    free(path);
    return rc != SIGLIP_OK ? rc : found;
}

/* The CPU-side companions: tokenizer when a tokenizer file exists, image processor always (the
 * reference defaults sized to the model when the directory has no processor config). */
static int load_companions(SiglipModel *m, const char *dir, SgError *err)
{
    SiglipContext *ctx = m->ctx;
    int has = dir ? sg_tokenizer_exists(dir) : 0;
    if (has < 0)
        return sg_fail(err, has, "out of memory looking for the tokenizer in %s", dir);
    if (has) {
        int rc = sg_tokenizer_load(dir, err, &m->tokenizer);
        if (rc)
            return rc;
    }
    int rc = sg_image_processor_load(&m->processor, dir, &ctx->settings, err);
    if (rc)
        return rc;
    int has_config = dir ? has_processor_config(dir) : 0;
    if (has_config < 0)
        return sg_fail(err, has_config, "out of memory looking for the processor config in %s",
                       dir);
    if (!has_config)
        sg_image_processor_set_size(m->processor, m->cfg.vision.image_size,
                                    m->cfg.vision.image_size);
    /* The processor follows the model: patch lists of its patch size for NaFlex (the config's
     * max_num_patches kept), fixed-size pixel_values otherwise. A processor config naming
     * another patch size would feed the patch embedding rows of the wrong width in transformers
     * (a shape error there): refused here rather than silently re-patched. */
    const SgImageSettings *ps = &m->processor->settings;
    if (m->cfg.naflex && ps->patch_size_given && ps->patch_size != m->cfg.vision.patch_size)
        return sg_fail(err, SIGLIP_EBADMSG, "the image processor's patch_size %d differs from "
                       "vision_config.patch_size %d", ps->patch_size, m->cfg.vision.patch_size);
    sg_image_processor_set_naflex(m->processor, m->cfg.naflex, m->cfg.vision.patch_size);
    if (m->cfg.naflex && m->cfg.vision.num_channels != 3)
        return sg_fail(err, SIGLIP_ENOTSUP, "vision_config.num_channels = %d: the image "
                       "processor makes RGB patches", m->cfg.vision.num_channels);
    return SIGLIP_OK;
}

/* Shared by siglip_model_load and siglip_model_create_random: takes ownership of *cfg. */
static int model_build(SiglipContext *ctx, SgConfig *cfg, SgSafetensors *st, uint64_t seed,
                       const char *dir, SiglipModel **out)
{
    SgError *err = sg_ctx_err(ctx);
    SiglipModel *m = calloc(1, sizeof *m);
    if (!m) {
        sg_config_free(cfg);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
    }
    m->ctx = ctx;
    m->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    int rc = siglip_context_open_device(ctx);
    if (!rc) {
        m->dev = ctx->device;
        SgWeightSource src = {.st = st, .rng = seed * 0x9E3779B97F4A7C15ull | 1, .dev = m->dev,
                              .dtype = sg_elem_type(ctx->settings.precision),
                              .threads = sg_thread_count(ctx->settings.n_threads), .err = err};
        rc = load_weights(&src, m);
    }
    if (!rc)
        rc = load_companions(m, dir, err);
    if (rc) {
        siglip_model_free(&m);
        return rc;
    }
    *out = m;
    return SIGLIP_OK;
}

int siglip_model_load(SiglipContext *ctx, const char *dir, SiglipModel **out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(ctx);
    if (!out || !dir)
        return sg_fail(err, SIGLIP_EINVAL, "siglip_model_load: dir and out must not be NULL");
    *out = NULL;
    SgConfig cfg;
    int rc = sg_config_load(dir, &cfg, err);
    if (rc)
        return rc;
    SgSafetensors *st = NULL;
    rc = sg_st_open(&st, dir, err);
    if (rc) {
        sg_config_free(&cfg);
        return rc;
    }
    rc = model_build(ctx, &cfg, st, 0, dir, out);
    sg_st_close(&st); /* weights now live on the device: the mappings can go */
    if (rc)
        sg_error_prefix(err, "loading %s: ", dir);
    return rc;
}

int siglip_model_create_random(SiglipContext *ctx, const char *config_json, uint64_t seed,
                               SiglipModel **out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    SgError *err = sg_ctx_err(ctx);
    if (!out || !config_json)
        return sg_fail(err, SIGLIP_EINVAL,
                       "siglip_model_create_random: config_json and out must not be NULL");
    *out = NULL;
    SgConfig cfg;
    int rc = sg_config_parse(config_json, strlen(config_json), &cfg, err);
    if (rc)
        return rc;
    return model_build(ctx, &cfg, NULL, seed, NULL, out);
}

void siglip_model_info(const SiglipModel *m, SiglipModelInfo *info)
{
    memset(info, 0, sizeof *info);
    if (!m)
        return;
    const SgTowerConfig *t = &m->cfg.text, *v = &m->cfg.vision;
    info->architecture = m->cfg.architecture;
    if (m->has_text) {
        info->text_hidden_size = t->hidden_size;
        info->text_layers = t->num_hidden_layers;
        info->text_heads = t->num_attention_heads;
        info->text_intermediate_size = t->intermediate_size;
        info->text_max_positions = t->max_position_embeddings;
        info->vocab_size = t->vocab_size;
        info->projection_size = t->projection_size;
        info->logit_scale = expf(m->logit_scale);
        info->logit_bias = m->logit_bias;
    }
    info->vision_hidden_size = v->hidden_size;
    info->vision_layers = v->num_hidden_layers;
    info->vision_heads = v->num_attention_heads;
    info->vision_intermediate_size = v->intermediate_size;
    info->image_size = v->image_height;
    info->image_width = v->image_width;
    info->patch_size = v->patch_size;
    info->num_channels = v->num_channels;
    info->num_patches = (int)sg_vision_patches(v);
    info->num_labels = m->has_classifier ? m->cfg.num_labels : 0;
    info->class_scoring = m->cfg.class_scoring;
    if (m->cfg.naflex) {
        info->num_patches = v->num_patches;
        info->max_patches = siglip_image_processor_max_patches(m->processor, NULL);
    }
    info->has_tokenizer = m->tokenizer != NULL;
    info->has_image_processor = m->processor != NULL;
}

const char *siglip_model_label(const SiglipModel *m, int index)
{
    if (!m || !m->cfg.id2label || index < 0 || index >= m->cfg.num_labels)
        return NULL;
    return m->cfg.id2label[index];
}

SiglipTokenizer *siglip_model_tokenizer(SiglipModel *m)
{
    return m ? m->tokenizer : NULL;
}

SiglipImageProcessor *siglip_model_image_processor(SiglipModel *m)
{
    return m ? m->processor : NULL;
}
