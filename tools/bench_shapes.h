/* bench_shapes.h — published SigLIP shapes as config.json text, and analytic FLOP counts of the
 * tower forwards, for `siglip bench`. */
#ifndef SIGLIP_BENCH_SHAPES_H
#define SIGLIP_BENCH_SHAPES_H

#include <stddef.h>

#include "siglip.h"

/* Dimensions of one published checkpoint (both towers). */
typedef struct BenchShape {
    const char *name;          /* "base-patch16-224", ... (google/siglip-<name> on the Hub) */
    int vocab_size;
    int text_positions;
    int text_hidden, text_intermediate, text_layers, text_heads;
    int vision_hidden, vision_intermediate, vision_layers, vision_heads;
    int image_size, patch_size;
} BenchShape;

/* The built-in shapes, in table order; *n receives their count. */
const BenchShape *bench_shapes(size_t *n);

/* The shape called `name` (a "google/siglip-" prefix is accepted), or NULL. */
const BenchShape *bench_shape_find(const char *name);

/* Writes a minimal SiglipModel config.json for the shape into buf; returns buf, or NULL when it
 * does not fit. */
const char *bench_shape_config(const BenchShape *s, char *buf, size_t size);

/* The SiglipModelInfo a model of this shape has (architecture SIGLIP_ARCH_MODEL). */
void bench_shape_info(const BenchShape *s, SiglipModelInfo *out);

/* Floating-point operations of one forward of `batch` items, counting 2·M·N·K per matrix product:
 * every linear layer, attention QKᵀ and PV, the patch embedding and the heads (LayerNorm, softmax
 * and GELU are left out; they are a few percent). The image count includes the attention-pooling
 * head only when with_head is set (SiglipModel); the text count includes its head on the last
 * token and counts `positions` positions per text (text_max_positions, or fewer for the short
 * path: real tokens + the last position). */
double bench_image_flops(const SiglipModelInfo *m, int batch, int with_head);
double bench_text_flops(const SiglipModelInfo *m, int batch, int positions);

#endif /* SIGLIP_BENCH_SHAPES_H */
