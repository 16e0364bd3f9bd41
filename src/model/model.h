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

/* A Linear layer y = x·wᵀ + b. */
typedef struct SgLinear {
    SgWeight w; /* [n_out, n_in] in the device's GEMM layout (ocl/ops.h) */
    cl_mem b;   /* [n_out] */
} SgLinear;

typedef struct SgLayerNorm {
    cl_mem w; /* [n] gamma */
    cl_mem b; /* [n] beta */
    size_t n;
    float eps;
} SgLayerNorm;

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
    cl_mem tok_emb;          /* [V, D] */
    cl_mem pos_emb;          /* [T, D] */
    SgEncoderLayer *layers;  /* [L] */
    SgLayerNorm final_ln;
    SgLinear head;           /* [Dp, D] */
} SgTextTower;

typedef struct SgVisionTower {
    SgLinear patch;          /* [D, C·p·p]: the stride-p convolution as a matmul */
    cl_mem pos_emb;          /* [N, D] */
    SgEncoderLayer *layers;  /* [L] */
    SgLayerNorm post_ln;
    /* Attention-pooling head (absent from some classification checkpoints). */
    int has_head;
    cl_mem head_q;           /* [1, D] probe·Wqᵀ + bq, precomputed at load: it has no input */
    SgLinear head_kv;        /* [2D, D] rows D:3D of in_proj */
    SgLinear head_out;       /* [D, D] */
    SgLayerNorm head_ln;
    SgLinear head_fc1;       /* [F, D] */
    SgLinear head_fc2;       /* [D, F] */
} SgVisionTower;

/* Activations of one forward chunk, reused by every layer and kept between calls; grown when a
 * bigger chunk comes. Rows = chunk batch × tokens. */
typedef struct SgWorkspace {
    size_t rows;             /* capacity in token rows */
    size_t batch;            /* capacity in batch items */
    cl_mem x;                /* [rows, D] residual stream */
    cl_mem h;                /* [rows, D] LayerNorm output; last_hidden_state at the end */
    cl_mem qkv;              /* [rows, 3D] */
    cl_mem attn;             /* [rows, D] */
    cl_mem mlp;              /* [rows, max(F, C·p·p)] MLP hidden; patches for the vision tower */
    cl_mem ids;              /* [batch, T] int32 */
    cl_mem mask;             /* [batch, T] int32 */
    cl_mem pixels;           /* [batch, C, H, W] */
    cl_mem pooled;           /* [batch, max(Dp, D)] */
    cl_mem pooled2;          /* [batch, max(D, F, labels)] */
    size_t bytes;            /* total, for releasing */
    size_t sizes[12];
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
};

/* Largest batch one forward chunk handles; bigger batches are run chunk by chunk. */
#define SG_MAX_CHUNK 256

/* Runs the text tower on B ≤ chunk items (tower.c). */
int sg_text_forward(SiglipModel *m, const int32_t *ids, const int32_t *mask, size_t B,
                    float *pooler, float *last_hidden, SgError *err);
/* Runs the vision tower on B ≤ chunk items; pooler needs the head, mean (for classification) is
 * [B, D] mean over patches of last_hidden_state (tower.c). */
int sg_vision_forward(SiglipModel *m, const float *pixels, size_t B, float *pooler,
                      float *last_hidden, float *class_logits, SgError *err);

/* Ensures the workspace holds B items of `tokens` rows each (tower.c). */
int sg_workspace_reserve(SiglipModel *m, size_t B, SgError *err);
void sg_workspace_release(SiglipModel *m);

#endif /* SG_MODEL_MODEL_H */
