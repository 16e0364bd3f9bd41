/* tower.c — the text and vision forwards as sequences of device ops over a reused workspace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "ocl/ops.h"

#define MAX2(a, b) ((a) > (b) ? (a) : (b))

enum { WS_X, WS_H, WS_QKV, WS_ATTN, WS_MLP, WS_IDS, WS_MASK, WS_PIXELS, WS_POOLED, WS_POOLED2,
       WS_COUNT };

static cl_mem *ws_slot(SgWorkspace *ws, int i)
{
    cl_mem *slots[WS_COUNT] = {&ws->x,    &ws->h,    &ws->qkv,    &ws->attn,   &ws->mlp,
                               &ws->ids,  &ws->mask, &ws->pixels, &ws->pooled, &ws->pooled2};
    return slots[i];
}

void sg_workspace_release(SiglipModel *m)
{
    SgWorkspace *ws = &m->ws;
    for (int i = 0; i < WS_COUNT; i++)
        sg_buffer_release(m->dev, ws_slot(ws, i), ws->sizes[i]);
    memset(ws, 0, sizeof *ws);
}

int sg_workspace_reserve(SiglipModel *m, size_t B, SgError *err)
{
    SgWorkspace *ws = &m->ws;
    if (B <= ws->batch)
        return SIGLIP_OK;
    sg_workspace_release(m);
    const SgTowerConfig *t = &m->cfg.text, *v = &m->cfg.vision;
    size_t N = sg_vision_patches(v);
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
        [WS_MASK] = MAX2(B * T, 1) * sizeof(int32_t),
        [WS_PIXELS] = B * (size_t)v->num_channels * sg_vision_pixels(v) * f,
        [WS_POOLED] = B * MAX2(MAX2(Dp, D), (size_t)m->cfg.num_labels) * f,
        [WS_POOLED2] = B * D * f,
    };
    for (int i = 0; i < WS_COUNT; i++) {
        int rc = sg_buffer_create(m->dev, sizes[i], ws_slot(ws, i), err);
        if (rc) {
            sg_workspace_release(m);
            return rc;
        }
        ws->sizes[i] = sizes[i];
        ws->bytes += sizes[i];
    }
    ws->rows = rows;
    ws->batch = B;
    return SIGLIP_OK;
}

#define TRY(call)                                                                                \
    do {                                                                                         \
        int rc_ = (call);                                                                        \
        if (rc_)                                                                                 \
            return rc_;                                                                          \
    } while (0)

/* y = act(x·wᵀ + b) over `rows` contiguous rows. */
static int linear(SgDevice *dev, cl_mem x, const SgLinear *l, cl_mem y, size_t rows,
                  SgActivation act, SgError *err)
{
    return sg_op_linear(dev, x, 0, l->w.n_in, &l->w, l->b, y, 0, l->w.n_out, rows, act, 0, err);
}

/* y += x·wᵀ + b: the residual add fused into the GEMM. */
static int linear_residual(SgDevice *dev, cl_mem x, const SgLinear *l, cl_mem y, size_t rows,
                           SgError *err)
{
    return sg_op_linear(dev, x, 0, l->w.n_in, &l->w, l->b, y, 0, l->w.n_out, rows, SG_ACT_NONE, 1,
                        err);
}

static int layernorm(SgDevice *dev, cl_mem x, cl_mem y, const SgLayerNorm *ln, size_t rows,
                     SgError *err)
{
    return sg_op_layernorm(dev, x, y, ln->w, ln->b, rows, ln->n, ln->eps, err);
}

/* The encoder on ws->x ([B, T, D]): each layer is
 *   x += out_proj(attention(LN1(x)))   and   x += fc2(act(fc1(LN2(x)))). */
static int run_encoder(SiglipModel *m, const SgTowerConfig *c, const SgEncoderLayer *layers,
                       size_t B, size_t T, cl_mem mask, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    size_t D = (size_t)c->hidden_size, H = (size_t)c->num_attention_heads, dh = D / H;
    size_t rows = B * T;
    float scale = 1.0f / sqrtf((float)dh);
    for (int i = 0; i < c->num_hidden_layers; i++) {
        const SgEncoderLayer *l = &layers[i];
        TRY(layernorm(dev, ws->x, ws->h, &l->ln1, rows, err));
        TRY(linear(dev, ws->h, &l->qkv, ws->qkv, rows, SG_ACT_NONE, err));
        /* qkv rows are [q | k | v], each D wide. */
        TRY(sg_op_attention(dev, ws->qkv, 0, 3 * D, T * 3 * D, ws->qkv, D, ws->qkv, 2 * D, 3 * D,
                            mask, ws->attn, 0, D, B, T, T, H, dh, scale, err));
        TRY(linear_residual(dev, ws->attn, &l->out, ws->x, rows, err));
        TRY(layernorm(dev, ws->x, ws->h, &l->ln2, rows, err));
        TRY(linear(dev, ws->h, &l->fc1, ws->mlp, rows, (SgActivation)c->hidden_act, err));
        TRY(linear_residual(dev, ws->mlp, &l->fc2, ws->x, rows, err));
    }
    return SIGLIP_OK;
}

int sg_text_forward(SiglipModel *m, const int32_t *ids, const int32_t *mask, size_t B,
                    float *pooler, float *last_hidden, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgTowerConfig *c = &m->cfg.text;
    size_t T = (size_t)c->max_position_embeddings, D = (size_t)c->hidden_size;
    TRY(sg_workspace_reserve(m, B, err));
    TRY(sg_buffer_write(dev, ws->ids, 0, B * T * sizeof *ids, ids, err));
    if (mask)
        TRY(sg_buffer_write(dev, ws->mask, 0, B * T * sizeof *mask, mask, err));
    TRY(sg_op_embed_tokens(dev, ws->ids, m->text.tok_emb, m->text.pos_emb, ws->x, B, T, D, err));
    TRY(run_encoder(m, c, m->text.layers, B, T, mask ? ws->mask : NULL, err));
    TRY(layernorm(dev, ws->x, ws->h, &m->text.final_ln, B * T, err));
    if (pooler) {
        /* head(last_hidden_state[:, -1]): rows T·D apart, starting at the last position. */
        const SgLinear *hd = &m->text.head;
        TRY(sg_op_linear(dev, ws->h, (T - 1) * D, T * D, &hd->w, hd->b, ws->pooled, 0,
                         hd->w.n_out, B, SG_ACT_NONE, 0, err));
        TRY(sg_buffer_read(dev, ws->pooled, 0, B * hd->w.n_out * sizeof(float), pooler, err));
    }
    if (last_hidden)
        TRY(sg_buffer_read(dev, ws->h, 0, B * T * D * sizeof(float), last_hidden, err));
    return SIGLIP_OK;
}

/* Multi-head attention pooling: one learned query against the hidden states ws->h, then
 * o += mlp(layernorm(o)); the result [B, D] is left in ws->pooled. */
static int run_vision_head(SiglipModel *m, size_t B, size_t N, SgError *err)
{
    SgDevice *dev = m->dev;
    SgWorkspace *ws = &m->ws;
    const SgVisionTower *v = &m->vision;
    const SgTowerConfig *c = &m->cfg.vision;
    size_t D = (size_t)c->hidden_size, H = (size_t)c->num_attention_heads, dh = D / H;
    TRY(linear(dev, ws->h, &v->head_kv, ws->qkv, B * N, SG_ACT_NONE, err)); /* [B·N, 2D] */
    TRY(sg_op_attention(dev, v->head_q, 0, D, 0, ws->qkv, 0, ws->qkv, D, 2 * D, NULL, ws->attn, 0,
                        D, B, 1, N, H, dh, 1.0f / sqrtf((float)dh), err));
    TRY(linear(dev, ws->attn, &v->head_out, ws->pooled, B, SG_ACT_NONE, err));
    TRY(layernorm(dev, ws->pooled, ws->pooled2, &v->head_ln, B, err));
    TRY(linear(dev, ws->pooled2, &v->head_fc1, ws->mlp, B, (SgActivation)c->hidden_act, err));
    TRY(linear_residual(dev, ws->mlp, &v->head_fc2, ws->pooled, B, err));
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
    TRY(sg_buffer_write(dev, ws->pixels, 0, B * C * Hi * Wi * sizeof *pixels, pixels, err));
    /* Patch embedding: the stride-p convolution as im2col + GEMM, then + position embedding. */
    TRY(sg_op_im2col(dev, ws->pixels, ws->mlp, B, C, Hi, Wi, p, err));
    TRY(linear(dev, ws->mlp, &v->patch, ws->x, B * N, SG_ACT_NONE, err));
    TRY(sg_op_add_broadcast(dev, ws->x, v->pos_emb, B, N, D, err));
    TRY(run_encoder(m, c, v->layers, B, N, NULL, err));
    TRY(layernorm(dev, ws->x, ws->h, &v->post_ln, B * N, err));
    if (last_hidden)
        TRY(sg_buffer_read(dev, ws->h, 0, B * N * D * sizeof(float), last_hidden, err));
    if (pooler) {
        TRY(run_vision_head(m, B, N, err));
        TRY(sg_buffer_read(dev, ws->pooled, 0, B * D * sizeof(float), pooler, err));
    }
    if (class_logits) {
        const SgLinear *cls = &m->classifier;
        TRY(sg_op_mean_tokens(dev, ws->h, ws->pooled2, B, N, D, err));
        TRY(linear(dev, ws->pooled2, cls, ws->pooled, B, SG_ACT_NONE, err));
        TRY(sg_buffer_read(dev, ws->pooled, 0, B * cls->w.n_out * sizeof(float), class_logits,
                           err));
    }
    return SIGLIP_OK;
}
