/* bench_shapes.c — the table of published SigLIP shapes and the FLOP counts of their forwards. */
#include "bench_shapes.h"

#include <stdio.h>
#include <string.h>

/* From the published configs (siglip-reference.md, "Published SigLIP shapes"); "tiny" is the
 * shape of the tests/data/tiny fixture, for quick runs. */
static const BenchShape shapes[] = {
    /* name                  vocab  pos  text D/F/L/H         vision D/F/L/H        image patch */
    {"tiny",                  1000, 64,  32,   80,  2,  4,    32,   80,  2,  4,     40,   8},
    {"base-patch16-224",     32000, 64, 768, 3072, 12, 12,   768, 3072, 12, 12,    224,  16},
    {"base-patch16-256",     32000, 64, 768, 3072, 12, 12,   768, 3072, 12, 12,    256,  16},
    {"base-patch16-384",     32000, 64, 768, 3072, 12, 12,   768, 3072, 12, 12,    384,  16},
    {"base-patch16-512",     32000, 64, 768, 3072, 12, 12,   768, 3072, 12, 12,    512,  16},
    {"base-patch16-256-multilingual",
                            250000, 64, 768, 3072, 12, 12,   768, 3072, 12, 12,    256,  16},
    {"large-patch16-256",    32000, 64, 1024, 4096, 24, 16, 1024, 4096, 24, 16,    256,  16},
    {"large-patch16-384",    32000, 64, 1024, 4096, 24, 16, 1024, 4096, 24, 16,    384,  16},
    {"so400m-patch14-224",   32000, 16, 1152, 4304, 27, 16, 1152, 4304, 27, 16,    224,  14},
    {"so400m-patch14-384",   32000, 64, 1152, 4304, 27, 16, 1152, 4304, 27, 16,    384,  14},
};

const BenchShape *bench_shapes(size_t *n)
{
    *n = sizeof shapes / sizeof shapes[0];
    return shapes;
}

const BenchShape *bench_shape_find(const char *name)
{
    static const char prefix[] = "google/siglip-";
    if (!strncmp(name, prefix, sizeof prefix - 1))
        name += sizeof prefix - 1;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (!strcmp(shapes[i].name, name))
            return &shapes[i];
    return NULL;
}

const char *bench_shape_config(const BenchShape *s, char *buf, size_t size)
{
    int n = snprintf(buf, size,
        "{\"architectures\": [\"SiglipModel\"], \"model_type\": \"siglip\",\n"
        " \"text_config\": {\"vocab_size\": %d, \"max_position_embeddings\": %d, "
        "\"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d, "
        "\"num_attention_heads\": %d, \"projection_size\": %d},\n"
        " \"vision_config\": {\"hidden_size\": %d, \"intermediate_size\": %d, "
        "\"num_hidden_layers\": %d, \"num_attention_heads\": %d, \"image_size\": %d, "
        "\"patch_size\": %d, \"num_channels\": 3}}\n",
        s->vocab_size, s->text_positions, s->text_hidden, s->text_intermediate, s->text_layers,
        s->text_heads, s->text_hidden, s->vision_hidden, s->vision_intermediate,
        s->vision_layers, s->vision_heads, s->image_size, s->patch_size);
    return n > 0 && (size_t)n < size ? buf : NULL;
}

void bench_shape_info(const BenchShape *s, SiglipModelInfo *m)
{
    memset(m, 0, sizeof *m);
    m->architecture = SIGLIP_ARCH_MODEL;
    m->text_hidden_size = s->text_hidden;
    m->text_layers = s->text_layers;
    m->text_heads = s->text_heads;
    m->text_intermediate_size = s->text_intermediate;
    m->text_max_positions = s->text_positions;
    m->vocab_size = s->vocab_size;
    m->projection_size = s->text_hidden;
    m->vision_hidden_size = s->vision_hidden;
    m->vision_layers = s->vision_layers;
    m->vision_heads = s->vision_heads;
    m->vision_intermediate_size = s->vision_intermediate;
    m->image_size = s->image_size;
    m->patch_size = s->patch_size;
    m->num_channels = 3;
    m->num_patches = (s->image_size / s->patch_size) * (s->image_size / s->patch_size);
}

/* One pre-LN encoder layer over n tokens of width d with MLP width f: q, k, v and out
 * projections, QKᵀ and PV over all heads, fc1 and fc2. */
static double layer_flops(double n, double d, double f)
{
    return 2 * n * d * d * 4 + 2 * n * n * d * 2 + 2 * n * d * f * 2;
}

double bench_image_flops(const SiglipModelInfo *m, int batch, int with_head)
{
    double n = m->num_patches, d = m->vision_hidden_size, f = m->vision_intermediate_size;
    double patch = (double)m->num_channels * m->patch_size * m->patch_size;
    double per_image = 2 * n * d * patch + m->vision_layers * layer_flops(n, d, f);
    if (with_head) {
        /* One probe query: its q projection, k and v over n tokens, QKᵀ and PV for one query,
         * out projection and the MLP on one token. */
        per_image += 2 * d * d + 2 * n * d * d * 2 + 2 * n * d * 2 + 2 * d * d + 2 * d * f * 2;
    }
    return per_image * batch;
}

double bench_text_flops(const SiglipModelInfo *m, int batch, int positions)
{
    double t = positions, d = m->text_hidden_size, f = m->text_intermediate_size;
    double per_text = m->text_layers * layer_flops(t, d, f) + 2 * d * m->projection_size;
    return per_text * batch;
}
