/* model.h — a loaded SigLIP model: its config, its weights on the device (float32), the workspace
 * the forward reuses across layers and calls, and the tokenizer / image processor loaded with it. */
#ifndef SG_MODEL_MODEL_H
#define SG_MODEL_MODEL_H

#include <CL/cl.h>

#include "siglip.h"
#include "context.h"
#include "model/config.h"
#include "ocl/device.h"
#include "ocl/ops.h"

/* One pre-LN encoder layer. q, k and v projections are fused into one [3D, D] matrix at load time
 * (rows 0:D = q_proj, D:2D = k_proj, 2D:3D = v_proj) so attention inputs come from one GEMM. */
typedef struct SgEncoderLayer {
    SgLayerNorm ln1, ln2;
    SgLinear qkv;  /* [3D, D] */
    SgLinear out;  /* [D, D] */
    SgLinear fc1;  /* [F, D] */
    SgLinear fc2;  /* [D, F] */
} SgEncoderLayer;

typedef struct SgTextTower {
    SgTable tok_emb;         /* [V, D] in the model's precision */
    SgBuffer pos_emb;        /* [T, D] */
    SgEncoderLayer *layers;  /* [L] */
    SgLayerNorm final_ln;
    SgLinear head;           /* [Dp, D] */
} SgTextTower;

typedef struct SgVisionTower {
    SgLinear patch;          /* [D, C·p·p]: the stride-p convolution as a matmul */
    SgBuffer pos_emb;        /* [N, D] */
    SgEncoderLayer *layers;  /* [L] */
    SgLayerNorm post_ln;
    /* Attention-pooling head (absent from some classification checkpoints). */
    int has_head;
    SgBuffer head_q;         /* [1, D] probe·Wqᵀ + bq, precomputed at load: it has no input */
    SgLinear head_kv;        /* [2D, D] rows D:3D of in_proj */
    SgLinear head_out;       /* [D, D] */
    SgLayerNorm head_ln;
    SgLinear head_fc1;       /* [F, D] */
    SgLinear head_fc2;       /* [D, F] */
} SgVisionTower;

/* Activations of one forward chunk, reused by every layer and kept between calls; grown when a
 * bigger chunk comes. B = batch capacity, R = B·max(T, N) token rows, D = the wider tower's hidden
 * size, F its MLP width, Dp the text projection size, L the classifier's labels. */
typedef struct SgWorkspace {
    size_t rows;             /* R: capacity in token rows */
    size_t batch;            /* B: capacity in batch items */
    size_t patches;          /* N: vision rows per item it was sized for */
    SgBuffer x;              /* [R, D] residual stream */
    SgBuffer h;              /* [R, D] LayerNorm output; last_hidden_state at the end */
    SgBuffer qkv;            /* [R, 3D] */
    SgBuffer attn;           /* [R, D] */
    SgBuffer mlp;            /* [R, max(F, C·p·p)] MLP hidden; patches for the vision tower */
    SgBuffer ids;            /* [B, T] int32 */
    SgBuffer mask;           /* [B, T] int32 */
    SgBuffer positions;      /* [B, T] int32: each packed text row's position */
    SgBuffer segments;       /* [B, 3] int32: each packed text's rows (ocl/ops.h SgSegments) */
    SgBuffer pixels;         /* [B, C, H, W] */
    SgBuffer pooled;         /* [B, max(Dp, D, L)] */
    SgBuffer pooled2;        /* [B, D]: the head's LayerNorm output; the mean over patches */
} SgWorkspace;

struct SiglipModel {
    SiglipContext *ctx;      /* not owned */
    SgDevice *dev;           /* ctx->device */
    SgConfig cfg;
    int has_text;
    SgTextTower text;
    SgVisionTower vision;
    float logit_scale;       /* raw parameter; exp() applied when used */
    float logit_bias;
    int has_classifier;
    SgLinear classifier;     /* [labels, D] */
    SiglipTokenizer *tokenizer;        /* owned, NULL when the directory had no spiece.model */
    SiglipImageProcessor *processor;   /* owned */
    SgWorkspace ws;
    struct SgPosGrid *pos_grid;        /* pos_interp.c: set while the input size differs */
    float *naflex_grid;      /* NaFlex: host copy [num_patches, D] of the position table, read
                              * back on first use (owned) */
};

/* One NaFlex forward chunk, on the host: B items of N rows each. */
typedef struct SgPatchInput {
    size_t N;
    const float *positions;  /* [B, N, D] each image's resized position grid, padding = row 0 */
    const float *patches;    /* [B, N, C·p·p] */
    const int32_t *mask;     /* [B, N] 1 = real patch */
} SgPatchInput;

/* Largest NaFlex patch budget (max_num_patches) accepted. */
#define SG_MAX_PATCHES 65536

/* Largest batch one forward chunk handles; bigger batches are run chunk by chunk. */
#define SG_MAX_CHUNK 256

/* Why a model has no text tower, for messages: "image classification" or "a vision tower
 * alone". */
static inline const char *sg_model_no_text_why(const SiglipModel *m)
{
    return m->cfg.vision_only ? "a vision tower alone" : "image classification";
}

/* Runs the text tower on B ≤ chunk items (tower.c). With a mask whose rows are prefixes of ones
 * and no last_hidden asked for, only the real tokens and the last position are computed. */
int sg_text_forward(SiglipModel *m, const int32_t *ids, const int32_t *mask, size_t B,
                    float *pooler, float *last_hidden, SgError *err);
/* Runs the vision tower on B ≤ chunk items; pooler needs the head, mean (for classification) is
 * [B, D] mean over patches of last_hidden_state (tower.c). */
int sg_vision_forward(SiglipModel *m, const float *pixels, size_t B, float *pooler,
                      float *last_hidden, float *class_logits, SgError *err);

/* Runs a NaFlex vision tower on B ≤ chunk items with per-item key masks (tower.c); class_logits
 * (Siglip2ForImageClassification) pool the mean over each item's own patches. */
int sg_vision_forward_patches(SiglipModel *m, const SgPatchInput *in, size_t B, float *pooler,
                              float *last_hidden, float *class_logits, SgError *err);

/* Ensures the workspace holds B items of either tower (tower.c). */
int sg_workspace_reserve(SiglipModel *m, size_t B, SgError *err);
void sg_workspace_release(SiglipModel *m);

#endif /* SG_MODEL_MODEL_H */
