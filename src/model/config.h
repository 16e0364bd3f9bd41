/* config.h — a SigLIP config.json parsed with every default of transformers' SiglipConfig. */
#ifndef SG_MODEL_CONFIG_H
#define SG_MODEL_CONFIG_H

#include <stddef.h>

#include "siglip.h"
#include "common/activation.h"
#include "common/error.h"

typedef struct SgTowerConfig {
    int hidden_size;             /* D */
    int intermediate_size;       /* F */
    int num_hidden_layers;       /* L */
    int num_attention_heads;     /* H; D % H == 0 */
    float layer_norm_eps;
    SgActivation hidden_act;     /* gelu_pytorch_tanh / gelu_new → GELU_TANH, gelu → GELU_ERF */
    /* text only */
    int vocab_size;              /* V */
    int max_position_embeddings; /* T */
    int pad_token_id;
    int projection_size;         /* Dp (= hidden_size by default) */
    /* vision only */
    int num_channels;            /* C */
    int image_size;              /* the checkpoint's H = W, its position grid (image_size / p)² */
    int patch_size;              /* p */
    int num_patches;             /* entries of the position table: (image_size / p)², or NaFlex's
                                  * num_patches (a square grid) */
    int use_head;                /* vision_config.vision_use_head (default true): the MAP pooling
                                  * head exists (PaliGemma's towers have none) */
    /* The input size the vision forward runs at: image_size² unless siglip_model_set_image_size
     * changed it (pos_interp.c). */
    int image_height, image_width;
} SgTowerConfig;

/* Pixels and patches of one vision input at the size the forward runs at. */
static inline size_t sg_vision_pixels(const SgTowerConfig *v)
{
    return (size_t)v->image_height * (size_t)v->image_width;
}

static inline size_t sg_vision_patches(const SgTowerConfig *v)
{
    return (size_t)(v->image_height / v->patch_size) * (size_t)(v->image_width / v->patch_size);
}

typedef struct SgConfig {
    SiglipArchitecture architecture;
    /* model_type "siglip2" (Siglip2Model, NaFlex): the vision tower takes patch lists with a
     * key mask and resizes its position grid per image (tower.c, pos_interp.c). */
    int naflex;
    /* architectures names the vision tower alone (SiglipVisionModel / Siglip2VisionModel, as
     * PaliGemma-style and vision-only exports are saved): no text tower is loaded. */
    int vision_only;
    SgTowerConfig text;
    SgTowerConfig vision;
    int num_labels;              /* classification: entries of id2label */
    /* how the image-classification pipeline scores the classes (a SiglipScoring): sigmoid for
     * problem_type "multi_label_classification" or a single label, else softmax */
    int class_scoring;
    char **id2label;             /* [num_labels] owned strings, or NULL */
} SgConfig;

/* Parses config.json text. Missing keys take SiglipConfig's defaults; the minimal
 * {"model_type": "siglip", "text_config": {}, "vision_config": {}} is base-patch16-224.
 * a hidden_act other than gelu_pytorch_tanh, gelu_new, gelu_fast or gelu is SIGLIP_ENOTSUP;
 * impossible values (non-positive sizes, D % H != 0, patch_size > image_size) are
 * SIGLIP_EBADMSG naming the key. */
int sg_config_parse(const char *json, size_t len, SgConfig *out, SgError *err);

/* Reads and parses dir/config.json. */
int sg_config_load(const char *dir, SgConfig *out, SgError *err);

void sg_config_free(SgConfig *cfg);

#endif /* SG_MODEL_CONFIG_H */
