/* tower.c — the text and vision forwards as sequences of device ops over a reused workspace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "ocl/ops.h"

#define MAX2(a, b) ((a) > (b) ? (a) : (b))

enum { WS_X, WS_H, WS_QKV, WS_ATTN, WS_MLP, WS_IDS, WS_MASK, WS_POSITIONS, WS_SEGMENTS, WS_PIXELS,
       WS_POOLED, WS_POOLED2, WS_COUNT };

static SgBuffer *ws_slot(SgWorkspace *ws, int i)
{
    SgBuffer *slots[WS_COUNT] = {&ws->x,         &ws->h,        &ws->qkv,      &ws->attn,
                                 &ws->mlp,       &ws->ids,      &ws->mask,     &ws->positions,
                                 &ws->segments,  &ws->pixels,   &ws->pooled,   &ws->pooled2};
    return slots[i];
}

void sg_workspace_release(SiglipModel *m)
{
    SgWorkspace *ws = &m->ws;
    for (int i = 0; i < WS_COUNT; i++)
        sg_buffer_release(m->dev, ws_slot(ws, i));
    memset(ws, 0, sizeof *ws);
}

/* The workspace for B items of either tower, the vision one at N patch rows per item. */
static int workspace_reserve(SiglipModel *m, size_t B, size_t N, SgError *err)
{
    SgWorkspace *ws = &m->ws;
    if (B <= ws->batch && N <= ws->patches)
        return SIGLIP_OK;
    sg_workspace_release(m);
    const SgTowerConfig *t = &m->cfg.text, *v = &m->cfg.vision;
    size_t patch_len = (size_t)v->num_channels * (size_t)v->patch_size * (size_t)v->patch_size;
    size_t T = m->has_text ? (size_t)t->max_position_embeddings : 0;
    size_t D = MAX2((size_t)v->hidden_size, m->has_text ? (size_t)t->hidden_size : 0);
    size_t F = MAX2((size_t)v->intermediate_size, m->has_text ? (size_t)t->intermediate_size : 0);
    size_t Dp = m->has_text ? (size_t)t->projection_size : 0;
    size_t rows = B * MAX2(T, N);
    size_t f = sizeof(float);
    size_t sizes[WS_COUNT] = {
        [WS_X] = rows * D * f,
        [WS_H] = rows * D * f,
        [WS_QKV] = rows * 3 * D * f,
        [WS_ATTN] = rows * D * f,
        [WS_MLP] = rows * MAX2(F, patch_len) * f,
        [WS_IDS] = MAX2(B * T, 1) * sizeof(int32_t),
        [WS_MASK] = MAX2(B * MAX2(T, N), 1) * sizeof(int32_t),
        [WS_POSITIONS] = MAX2(B * T, 1) * sizeof(int32_t),
        [WS_SEGMENTS] = B * 3 * sizeof(int32_t),
        [WS_PIXELS] = m->cfg.naflex ? f : B * (size_t)v->num_channels * sg_vision_pixels(v) * f,
        [WS_POOLED] = B * MAX2(MAX2(Dp, D), (size_t)m->cfg.num_labels) * f,
        [WS_POOLED2] = B * D * f,
    };
    for (int i = 0; i < WS_COUNT; i++) {
        int rc = sg_buffer_create(m->dev, sizes[i], ws_slot(ws, i), err);
        if (rc) {
            sg_workspace_release(m);
            return rc;
        }
    }
    ws->rows = rows;
    ws->batch = B;
    ws->patches = N;
    return SIGLIP_OK;
}

int sg_workspace_reserve(SiglipModel *m, size_t B, SgError *err)
{
    return workspace_reserve(m, B, sg_vision_patches(&m->cfg.vision), err);
}

#define TRY(call)                                                                                \
    do {                                                                                         \
        int rc_ = (call);                                                                        \
        if (rc_)                                                                                 \
            return rc_;                                                                          \
    } while (0)

/* The workspace buffer b as a dense [B, T, cols] tensor. */
static SgView tensor(const SgBuffer *b, size_t B, size_t T, size_t cols)
{
    return sg_view(b->mem, B, T, cols);
}

/* The heads of a tower, with the usual 1/sqrt(head dim) scale. */
static SgHeads heads_of(const SgTowerConfig *c)
{
    size_t H = (size_t)c->num_attention_heads, dh = (size_t)c->hidden_size / H;
    return (SgHeads){H, 1.0f / sqrtf((float)dh)};
}

/* The encoder on x = ws->x ([B, T, D]): each layer is
 *   x += out_proj(attention(LN1(x)))   and   x += fc2(act(fc1(LN2(x)))). */
static int run_encoder(SiglipModel *m, const SgTowerConfig *c, const SgEncoderLayer *layers,
                       size_t B, size_t T, SgMask mask, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    size_t D = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
    SgView x = tensor(&ws->x, B, T, D), h = tensor(&ws->h, B, T, D);
    SgView qkv = tensor(&ws->qkv, B, T, 3 * D); /* rows [q | k | v], each D wide */
    SgView q = sg_view_cols(qkv, 0, D), k = sg_view_cols(qkv, D, D), v = sg_view_cols(qkv, 2 * D, D);
    SgView attn = tensor(&ws->attn, B, T, D), hidden = tensor(&ws->mlp, B, T, F);
    SgHeads heads = heads_of(c);
    for (int i = 0; i < c->num_hidden_layers; i++) {
        const SgEncoderLayer *l = &layers[i];
        TRY(sg_op_norm_linear(dev, x, &l->ln1, h, &l->qkv, qkv, SG_ACT_NONE, SG_STORE, err));
        TRY(sg_op_attention_linear(dev, q, k, v, mask, heads, attn, &l->out, x, SG_ACCUMULATE,
                                   err));
        TRY(sg_op_norm_mlp(dev, x, &l->ln2, h, &l->fc1, c->hidden_act, hidden, &l->fc2, x,
                           SG_ACCUMULATE, err));
    }
    return SIGLIP_OK;
}

/* The number of real tokens of each text when every mask row is ones then zeros with at least
 * one 1 (what the tokenizer gives): lengths[b], and 1. 0 for any other pattern. */
static int prefix_lengths(const int32_t *mask, size_t B, size_t T, size_t *lengths)
{
    for (size_t b = 0; b < B; b++) {
        const int32_t *row = mask + b * T;
        size_t L = 0;
        while (L < T && row[L] != 0)
            L++;
        for (size_t t = L; t < T; t++)
            if (row[t] != 0)
                return 0;
        if (L == 0)
            return 0;
        lengths[b] = L;
    }
    return 1;
}

/* Host side of the packed text batch: item b's real tokens, then its last position T − 1 unless
 * that is real already, one after another. ids: [B, T]; packed_ids, positions: [≤ B·T];
 * segments: [B, 3] as SgSegments wants. Returns the number of packed rows. */
static size_t pack_texts(const int32_t *ids, const size_t *lengths, size_t B, size_t T,
                         int32_t *packed_ids, int32_t *positions, int32_t *segments,
                         SgSegments *seg)
{
    size_t R = 0;
    seg->count = B;
    seg->max_queries = seg->max_keys = 0;
    for (size_t b = 0; b < B; b++) {
        size_t L = lengths[b], n = L < T ? L + 1 : T;
        segments[3 * b] = (int32_t)R;
        segments[3 * b + 1] = (int32_t)n;
        segments[3 * b + 2] = (int32_t)L;
        for (size_t i = 0; i < n; i++, R++) {
            size_t t = i < L ? i : T - 1;
            packed_ids[R] = ids[b * T + t];
            positions[R] = (int32_t)t;
        }
        seg->max_queries = MAX2(seg->max_queries, n);
        seg->max_keys = MAX2(seg->max_keys, L);
    }
    return R;
}

/* The pooler output under HF's mask with prefix masks: each layer runs on the real tokens and the
 * last position only, packed without padding. The other (padding) positions reach nothing the
 * pooler depends on: they are never keys, and position T − 1's query attends to real keys only.
 * pooler: [B, Dp]. */
static int text_forward_packed(SiglipModel *m, const int32_t *ids, const size_t *lengths,
                               size_t B, float *pooler, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.text;
    size_t T = (size_t)c->max_position_embeddings, D = (size_t)c->hidden_size;
    int32_t *host = malloc((2 * B * T + 3 * B) * sizeof *host);
    if (!host)
        return sg_fail(err, SIGLIP_ENOMEM, "out of host memory (%zu packed tokens)", B * T);
    int32_t *packed_ids = host, *positions = host + B * T, *segments = host + 2 * B * T;
    SgSegments seg = {ws->segments.mem, 0, 0, 0};
    size_t R = pack_texts(ids, lengths, B, T, packed_ids, positions, segments, &seg);
    int rc = sg_buffer_write(dev, ws->ids.mem, 0, R * sizeof *host, packed_ids, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_write(dev, ws->positions.mem, 0, R * sizeof *host, positions, err);
    if (rc == SIGLIP_OK)
        rc = sg_buffer_write(dev, ws->segments.mem, 0, 3 * B * sizeof *host, segments, err);
    free(host);
    TRY(rc);
    SgView x = tensor(&ws->x, 1, R, D);             /* packed rows */
    SgView last = tensor(&ws->pooled2, B, 1, D);    /* each text's position T − 1 */
    const SgLinear *hd = &m->text.head;
    TRY(sg_op_embed_tokens(dev, ws->ids.mem, ws->positions.mem, &m->text.tok_emb,
                           m->text.pos_emb.mem, x, err));
    TRY(run_encoder(m, c, m->text.layers, 1, R, (SgMask){NULL, seg}, err));
    /* head(final_layer_norm(hidden)[:, -1]): the LayerNorm is row-wise, so only those rows. */
    TRY(sg_op_segment_last_rows(dev, x, seg, last, err));
    TRY(sg_op_norm_linear(dev, last, &m->text.final_ln, last, hd,
                          tensor(&ws->pooled, B, 1, hd->w.n_out), SG_ACT_NONE, SG_STORE, err));
    return sg_buffer_read(dev, ws->pooled.mem, 0, B * hd->w.n_out * sizeof(float), pooler, err);
}

int sg_text_forward(SiglipModel *m, const int32_t *ids, const int32_t *mask, size_t B,
                    float *pooler, float *last_hidden, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.text;
    size_t T = (size_t)c->max_position_embeddings, D = (size_t)c->hidden_size;
    TRY(sg_workspace_reserve(m, B, err));
    size_t lengths[SG_MAX_CHUNK];
    if (mask && pooler && !last_hidden && B <= SG_MAX_CHUNK && prefix_lengths(mask, B, T, lengths))
        return text_forward_packed(m, ids, lengths, B, pooler, err);
    SgView x = tensor(&ws->x, B, T, D), h = tensor(&ws->h, B, T, D);
    TRY(sg_buffer_write(dev, ws->ids.mem, 0, B * T * sizeof *ids, ids, err));
    if (mask)
        TRY(sg_buffer_write(dev, ws->mask.mem, 0, B * T * sizeof *mask, mask, err));
    TRY(sg_op_embed_tokens(dev, ws->ids.mem, NULL, &m->text.tok_emb, m->text.pos_emb.mem, x,
                           err));
    SgMask keep = {mask ? ws->mask.mem : NULL, {NULL, 0, 0, 0}};
    TRY(run_encoder(m, c, m->text.layers, B, T, keep, err));
    TRY(sg_op_layernorm(dev, x, h, &m->text.final_ln, err));
    if (pooler) {
        /* head(last_hidden_state[:, -1]) */
        const SgLinear *hd = &m->text.head;
        SgView pooled = tensor(&ws->pooled, 1, B, hd->w.n_out);
        TRY(sg_op_linear(dev, sg_view_row_of_each(h, T - 1), hd, pooled, SG_ACT_NONE, SG_STORE,
                         err));
        TRY(sg_buffer_read(dev, ws->pooled.mem, 0, B * hd->w.n_out * sizeof(float), pooler, err));
    }
    if (last_hidden)
        TRY(sg_buffer_read(dev, ws->h.mem, 0, B * T * D * sizeof(float), last_hidden, err));
    return SIGLIP_OK;
}

/* Multi-head attention pooling: one learned query against the hidden states ws->h (keys masked
 * by `mask`), then o += mlp(layernorm(o)); the result [B, D] is left in ws->pooled. */
static int run_vision_head(SiglipModel *m, size_t B, size_t N, SgMask mask, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgVisionTower *v = &m->vision;
    const SgTowerConfig *c = &m->cfg.vision;
    size_t D = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
    SgView kv = tensor(&ws->qkv, B, N, 2 * D); /* rows [k | v] */
    SgView probe = {v->head_q.mem, 0, B, 1, D, D, 0}; /* one query row for every item */
    SgView o = tensor(&ws->pooled, B, 1, D), o_norm = tensor(&ws->pooled2, B, 1, D);
    SgView attn = tensor(&ws->attn, B, 1, D), hidden = tensor(&ws->mlp, B, 1, F);
    TRY(sg_op_linear(dev, tensor(&ws->h, B, N, D), &v->head_kv, kv, SG_ACT_NONE, SG_STORE, err));
    TRY(sg_op_attention_linear(dev, probe, sg_view_cols(kv, 0, D), sg_view_cols(kv, D, D), mask,
                               heads_of(c), attn, &v->head_out, o, SG_STORE, err));
    TRY(sg_op_norm_mlp(dev, o, &v->head_ln, o_norm, &v->head_fc1, c->hidden_act, hidden,
                       &v->head_fc2, o, SG_ACCUMULATE, err));
    return SIGLIP_OK;
}

/* The vision tower after the embeddings (x = ws->x, [B, N, D]): encoder, post-LayerNorm, then
 * what was asked for: last_hidden_state, the pooling head, the classifier over the mean. */
static int vision_rest(SiglipModel *m, size_t B, size_t N, SgMask mask, float *pooler,
                       float *last_hidden, float *class_logits, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.vision;
    size_t D = (size_t)c->hidden_size;
    SgView x = tensor(&ws->x, B, N, D), h = tensor(&ws->h, B, N, D);
    TRY(run_encoder(m, c, m->vision.layers, B, N, mask, err));
    TRY(sg_op_layernorm(dev, x, h, &m->vision.post_ln, err));
    if (last_hidden)
        TRY(sg_buffer_read(dev, ws->h.mem, 0, B * N * D * sizeof(float), last_hidden, err));
    if (pooler) {
        TRY(run_vision_head(m, B, N, mask, err));
        TRY(sg_buffer_read(dev, ws->pooled.mem, 0, B * D * sizeof(float), pooler, err));
    }
    if (class_logits) {
        const SgLinear *cls = &m->classifier;
        SgView mean = tensor(&ws->pooled2, B, 1, D);
        TRY(sg_op_mean_tokens(dev, h, mask, mean, err)); /* NaFlex: the image's own patches */
        TRY(sg_op_linear(dev, mean, cls, tensor(&ws->pooled, B, 1, cls->w.n_out), SG_ACT_NONE,
                         SG_STORE, err));
        TRY(sg_buffer_read(dev, ws->pooled.mem, 0, B * cls->w.n_out * sizeof(float), class_logits,
                           err));
    }
    return SIGLIP_OK;
}

int sg_vision_forward(SiglipModel *m, const float *pixels, size_t B, float *pooler,
                      float *last_hidden, float *class_logits, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.vision;
    const SgVisionTower *v = &m->vision;
    size_t C = (size_t)c->num_channels, Hi = (size_t)c->image_height, Wi = (size_t)c->image_width;
    size_t p = (size_t)c->patch_size, D = (size_t)c->hidden_size, N = sg_vision_patches(c);
    TRY(sg_workspace_reserve(m, B, err));
    SgView x = tensor(&ws->x, B, N, D);
    TRY(sg_buffer_write(dev, ws->pixels.mem, 0, B * C * Hi * Wi * sizeof *pixels, pixels, err));
    /* Patch embedding: the stride-p convolution as im2col + GEMM, then + position embedding. */
    SgView patches = tensor(&ws->mlp, B, N, C * p * p);
    TRY(sg_op_im2col(dev, ws->pixels.mem, (SgImages){B, C, Hi, Wi}, p, ws->mlp.mem, err));
    TRY(sg_op_linear(dev, patches, &v->patch, x, SG_ACT_NONE, SG_STORE, err));
    TRY(sg_op_add_broadcast(dev, x, v->pos_emb.mem, err));
    return vision_rest(m, B, N, SG_NO_MASK, pooler, last_hidden, class_logits, err);
}

/* NaFlex: x = positions (filled by the caller, [B, N, D]), then x += patches · Wᵀ + b, the
 * encoder and head with the key mask. patches [B, N, C·p·p], mask [B, N]. */
int sg_vision_forward_patches(SiglipModel *m, const SgPatchInput *in, size_t B, float *pooler,
                              float *last_hidden, float *class_logits, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.vision;
    size_t N = in->N, D = (size_t)c->hidden_size;
    size_t patch_len = (size_t)c->num_channels * (size_t)c->patch_size * (size_t)c->patch_size;
    TRY(workspace_reserve(m, B, N, err));
    TRY(sg_buffer_write(dev, ws->x.mem, 0, B * N * D * sizeof(float), in->positions, err));
    TRY(sg_buffer_write(dev, ws->mlp.mem, 0, B * N * patch_len * sizeof(float), in->patches, err));
    TRY(sg_buffer_write(dev, ws->mask.mem, 0, B * N * sizeof(int32_t), in->mask, err));
    TRY(sg_op_linear(dev, tensor(&ws->mlp, B, N, patch_len), &m->vision.patch,
                     tensor(&ws->x, B, N, D), SG_ACT_NONE, SG_ACCUMULATE, err));
    return vision_rest(m, B, N, (SgMask){.keep = ws->mask.mem}, pooler, last_hidden, class_logits,
                       err);
}
