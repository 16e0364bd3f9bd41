/* test_model_shapes.c — any SigLIP shape from its config alone: the test writes model directories
 * of unusual shapes with random weights (patch 14 and 16, image sizes 224–512, 16 text positions,
 * projection_size ≠ hidden_size, odd head dims, an image size that is no multiple of the patch
 * size) and compares the library's towers with a plain-C
 * double-precision forward written here from the reference equations (siglip-reference.md §3).
 * Tolerance: |got − ref| ≤ 2e-4 + 2e-4·|ref| per element. */
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "ref_ops.h"
#include "common/activation.h"
#include "st_writer.h"
#include "model/safetensors.h"
#include "siglip.h"

#define MAX_TENSORS 256

typedef struct Shape {
    int tD, tH, tL, tF, tT, V, Dp;    /* text */
    int vD, vH, vL, vF, S, p;         /* vision */
    const char *act;                  /* hidden_act */
} Shape;

/* The weights the test invents, by name, kept on the host for the reference. */
typedef struct Weights {
    StTensor t[MAX_TENSORS];
    float *data[MAX_TENSORS];
    size_t n;
    SgRng rng;
} Weights;

static float *add(Weights *w, const char *name, int ndim, const int64_t *shape, float lo, float hi)
{
    size_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= (size_t)shape[i];
    float *d = malloc(numel * sizeof *d);
    sg_rng_fill(&w->rng, d, numel, lo, hi);
    StTensor *t = &w->t[w->n];
    t->name = strdup(name);
    t->dtype = "F32";
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = d;
    w->data[w->n++] = d;
    return d;
}

static const float *get(const Weights *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const float *get(const Weights *w, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return w->data[i];
    fprintf(stderr, "test bug: no weight %s\n", name);
    exit(2);
}

static void add_linear(Weights *w, const char *prefix, int out, int in)
{
    char name[256];
    float bound = 1.0f / sqrtf((float)in);
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(w, name, 2, (int64_t[]){out, in}, -bound, bound);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add(w, name, 1, (int64_t[]){out}, -0.1f, 0.1f);
}

static void add_ln(Weights *w, const char *prefix, int n)
{
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(w, name, 1, (int64_t[]){n}, 0.5f, 1.5f);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add(w, name, 1, (int64_t[]){n}, -0.2f, 0.2f);
}

static void add_encoder(Weights *w, const char *tower, int L, int D, int F)
{
    static const char *const proj[] = {"q_proj", "k_proj", "v_proj", "out_proj"};
    char p[256];
    for (int i = 0; i < L; i++) {
        snprintf(p, sizeof p, "%s.encoder.layers.%d.layer_norm1", tower, i);
        add_ln(w, p, D);
        snprintf(p, sizeof p, "%s.encoder.layers.%d.layer_norm2", tower, i);
        add_ln(w, p, D);
        for (int j = 0; j < 4; j++) {
            snprintf(p, sizeof p, "%s.encoder.layers.%d.self_attn.%s", tower, i, proj[j]);
            add_linear(w, p, D, D);
        }
        snprintf(p, sizeof p, "%s.encoder.layers.%d.mlp.fc1", tower, i);
        add_linear(w, p, F, D);
        snprintf(p, sizeof p, "%s.encoder.layers.%d.mlp.fc2", tower, i);
        add_linear(w, p, D, F);
    }
}

static void make_weights(Weights *w, const Shape *s)
{
    int N = (s->S / s->p) * (s->S / s->p);
    add(w, "logit_scale", 1, (int64_t[]){1}, 2.0f, 2.5f);
    add(w, "logit_bias", 1, (int64_t[]){1}, -5.0f, -4.0f);
    add(w, "text_model.embeddings.token_embedding.weight", 2, (int64_t[]){s->V, s->tD}, -1, 1);
    add(w, "text_model.embeddings.position_embedding.weight", 2, (int64_t[]){s->tT, s->tD}, -1, 1);
    add_encoder(w, "text_model", s->tL, s->tD, s->tF);
    add_ln(w, "text_model.final_layer_norm", s->tD);
    add_linear(w, "text_model.head", s->Dp, s->tD);
    float pb = 1.0f / sqrtf(3.0f * s->p * s->p);
    add(w, "vision_model.embeddings.patch_embedding.weight", 4,
        (int64_t[]){s->vD, 3, s->p, s->p}, -pb, pb);
    add(w, "vision_model.embeddings.patch_embedding.bias", 1, (int64_t[]){s->vD}, -0.1f, 0.1f);
    add(w, "vision_model.embeddings.position_embedding.weight", 2, (int64_t[]){N, s->vD}, -1, 1);
    add_encoder(w, "vision_model", s->vL, s->vD, s->vF);
    add_ln(w, "vision_model.post_layernorm", s->vD);
    add(w, "vision_model.head.probe", 3, (int64_t[]){1, 1, s->vD}, -1, 1);
    float ib = 1.0f / sqrtf((float)s->vD);
    add(w, "vision_model.head.attention.in_proj_weight", 2, (int64_t[]){3 * s->vD, s->vD}, -ib, ib);
    add(w, "vision_model.head.attention.in_proj_bias", 1, (int64_t[]){3 * s->vD}, -0.1f, 0.1f);
    add_linear(w, "vision_model.head.attention.out_proj", s->vD, s->vD);
    add_ln(w, "vision_model.head.layernorm", s->vD);
    add_linear(w, "vision_model.head.mlp.fc1", s->vF, s->vD);
    add_linear(w, "vision_model.head.mlp.fc2", s->vD, s->vF);
}

/* ---- the reference forward: tests/ref_ops.c, the op references of test_ops too ---- */

/* hidden_act by name: "gelu" is the erf form, every other name the shapes use the tanh form. */
static int act_of(const char *name)
{
    return !strcmp(name, "gelu") ? SG_ACT_GELU_ERF : SG_ACT_GELU_TANH;
}

/* y[M, N] (+)= act(x[M, K] · w[N, K]ᵀ + b[N]), every matrix dense. */
static void linear(const float *x, const float *w, const float *b, float *y, int M, int N, int K,
                   int act, int accumulate)
{
    ref_linear(x, (size_t)K, w, b, y, (size_t)N, (size_t)M, (size_t)N, (size_t)K, act,
               accumulate);
}

/* out[Tq, D] = softmax(q kᵀ / √dh) v per head, no mask; q [Tq, D], k, v [Tk, D]. */
static void attention(const float *q, const float *k, const float *v, float *out, int Tq, int Tk,
                      int D, int H)
{
    size_t dh = (size_t)(D / H);
    ref_attention(q, (size_t)D, 0, k, v, (size_t)D, NULL, out, (size_t)D, 1, (size_t)Tq,
                  (size_t)Tk, (size_t)H, dh, (float)(1.0 / sqrt((double)dh)));
}

/* One item's encoder over x[T, D] in place: the residual adds are accumulating linears. */
static void ref_encoder(const Weights *w, const char *tower, float *x, int T, int D, int H, int F,
                        int L, int act)
{
    size_t td = (size_t)T * D;
    float *h = malloc(td * 4), *q = malloc(td * 4), *k = malloc(td * 4), *v = malloc(td * 4),
          *a = malloc(td * 4), *m = malloc((size_t)T * F * 4);
    for (int l = 0; l < L; l++) {
#define P(s) get(w, "%s.encoder.layers.%d." s, tower, l)
#define WB(s) P(s ".weight"), P(s ".bias")
        ref_layernorm(x, h, WB("layer_norm1"), T, D, 1e-6f);
        linear(h, WB("self_attn.q_proj"), q, T, D, D, SG_ACT_NONE, 0);
        linear(h, WB("self_attn.k_proj"), k, T, D, D, SG_ACT_NONE, 0);
        linear(h, WB("self_attn.v_proj"), v, T, D, D, SG_ACT_NONE, 0);
        attention(q, k, v, a, T, T, D, H);
        linear(a, WB("self_attn.out_proj"), x, T, D, D, SG_ACT_NONE, 1);
        ref_layernorm(x, h, WB("layer_norm2"), T, D, 1e-6f);
        linear(h, WB("mlp.fc1"), m, T, F, D, act, 0);
        linear(m, WB("mlp.fc2"), x, T, D, F, SG_ACT_NONE, 1);
#undef WB
#undef P
    }
    free(h), free(q), free(k), free(v), free(a), free(m);
}

/* pooler [Dp] of one text. */
static void ref_text(const Weights *w, const Shape *s, const int32_t *ids, float *pooler)
{
    int T = s->tT, D = s->tD;
    float *x = malloc((size_t)T * D * 4), *h = malloc((size_t)T * D * 4);
    ref_embed_tokens(ids, get(w, "text_model.embeddings.token_embedding.weight"),
                     get(w, "text_model.embeddings.position_embedding.weight"), x, 1, T, D);
    ref_encoder(w, "text_model", x, T, D, s->tH, s->tF, s->tL, act_of(s->act));
    ref_layernorm(x, h, get(w, "text_model.final_layer_norm.weight"),
                  get(w, "text_model.final_layer_norm.bias"), T, D, 1e-6f);
    linear(h + (size_t)(T - 1) * D, get(w, "text_model.head.weight"),
           get(w, "text_model.head.bias"), pooler, 1, s->Dp, D, SG_ACT_NONE, 0);
    free(x), free(h);
}

/* pooler [vD] of one image [3, S, S]. */
static void ref_vision(const Weights *w, const Shape *s, const float *img, float *pooler)
{
    int side = s->S / s->p, N = side * side, D = s->vD, K = 3 * s->p * s->p, F = s->vF;
    int act = act_of(s->act);
    float *patch = malloc((size_t)N * K * 4), *x = malloc((size_t)N * D * 4),
          *h = malloc((size_t)N * D * 4), *kk = malloc((size_t)N * D * 4),
          *vv = malloc((size_t)N * D * 4);
    ref_im2col(img, patch, 1, 3, s->S, s->S, s->p);
    linear(patch, get(w, "vision_model.embeddings.patch_embedding.weight"),
           get(w, "vision_model.embeddings.patch_embedding.bias"), x, N, D, K, SG_ACT_NONE, 0);
    ref_add_broadcast(x, get(w, "vision_model.embeddings.position_embedding.weight"), 1, N, D);
    ref_encoder(w, "vision_model", x, N, D, s->vH, F, s->vL, act);
    ref_layernorm(x, h, get(w, "vision_model.post_layernorm.weight"),
                  get(w, "vision_model.post_layernorm.bias"), N, D, 1e-6f);
    /* MAP head: in_proj's three row blocks give q (from the probe), k and v. */
    const float *inw = get(w, "vision_model.head.attention.in_proj_weight");
    const float *inb = get(w, "vision_model.head.attention.in_proj_bias");
    float q[4096] = {0}, a[4096] = {0}, ln[4096] = {0}, m[8192] = {0};
    linear(get(w, "vision_model.head.probe"), inw, inb, q, 1, D, D, SG_ACT_NONE, 0);
    linear(h, inw + (size_t)D * D, inb + D, kk, N, D, D, SG_ACT_NONE, 0);
    linear(h, inw + (size_t)2 * D * D, inb + 2 * D, vv, N, D, D, SG_ACT_NONE, 0);
    attention(q, kk, vv, a, 1, N, D, s->vH);
    /* pooler = o + mlp(layernorm(o)), o the attention's out_proj */
    linear(a, get(w, "vision_model.head.attention.out_proj.weight"),
           get(w, "vision_model.head.attention.out_proj.bias"), pooler, 1, D, D, SG_ACT_NONE, 0);
    ref_layernorm(pooler, ln, get(w, "vision_model.head.layernorm.weight"),
                  get(w, "vision_model.head.layernorm.bias"), 1, D, 1e-6f);
    linear(ln, get(w, "vision_model.head.mlp.fc1.weight"),
           get(w, "vision_model.head.mlp.fc1.bias"), m, 1, F, D, act, 0);
    linear(m, get(w, "vision_model.head.mlp.fc2.weight"),
           get(w, "vision_model.head.mlp.fc2.bias"), pooler, 1, D, F, SG_ACT_NONE, 1);
    free(patch), free(x), free(h), free(kk), free(vv);
}

/* ---- the test ---- */

static void write_model(const char *dir, const Shape *s, Weights *w)
{
    mkdir(dir, 0755);
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "{\"model_type\": \"siglip\", \"architectures\": [\"SiglipModel\"],\n"
            " \"text_config\": {\"hidden_size\": %d, \"num_attention_heads\": %d,"
            " \"num_hidden_layers\": %d, \"intermediate_size\": %d,"
            " \"max_position_embeddings\": %d, \"vocab_size\": %d, \"projection_size\": %d,"
            " \"hidden_act\": \"%s\"},\n"
            " \"vision_config\": {\"hidden_size\": %d, \"num_attention_heads\": %d,"
            " \"num_hidden_layers\": %d, \"intermediate_size\": %d, \"image_size\": %d,"
            " \"patch_size\": %d, \"hidden_act\": \"%s\"}}\n",
            s->tD, s->tH, s->tL, s->tF, s->tT, s->V, s->Dp, s->act, s->vD, s->vH, s->vL, s->vF,
            s->S, s->p, s->act);
    fclose(f);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    SgError err = {0};
    int rc = st_write(path, w->t, (int)w->n, err.message, sizeof err.message);
    CHECK(rc == 0, "writing %s: %s", path, err.message);
}

static void compare(const char *what, const float *got, const float *ref, size_t n)
{
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - ref[i]);
        worst = d > worst ? d : worst;
        if (!(d <= 2e-4 + 2e-4 * fabs(ref[i])))
            bad++;
    }
    fprintf(stderr, "  %-28s max abs error %.3g\n", what, worst);
    CHECK(bad == 0, "%s: %zu of %zu elements outside 2e-4 + 2e-4·|ref|", what, bad, n);
}

static void run_shape(SiglipContext *ctx, const Shape *s, const char *root, int index)
{
    enum { B_TEXT = 3, B_IMG = 2 };
    Weights *w = calloc(1, sizeof *w);
    w->rng.s = 0x5167ull + (uint64_t)index;
    make_weights(w, s);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/shape%d", root, index);
    write_model(dir, s, w);
    fprintf(stderr, "shape %d: text %d/%d heads/%d layers/F %d/T %d/Dp %d, vision %d/%d heads/"
                    "%d layers/F %d/%dpx patch %d, %s\n", index, s->tD, s->tH, s->tL, s->tF,
            s->tT, s->Dp, s->vD, s->vH, s->vL, s->vF, s->S, s->p, s->act);

    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, dir, &m);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    if (m) {
        int32_t *ids = malloc((size_t)B_TEXT * s->tT * sizeof *ids);
        for (int i = 0; i < B_TEXT * s->tT; i++)
            ids[i] = (int32_t)(sg_rng_next(&w->rng) % (uint64_t)s->V);
        size_t img = (size_t)3 * s->S * s->S;
        float *pixels = malloc(B_IMG * img * sizeof *pixels);
        sg_rng_fill(&w->rng, pixels, B_IMG * img, -1, 1);
        float *tp = malloc((size_t)B_TEXT * s->Dp * 4), *vp = malloc((size_t)B_IMG * s->vD * 4);
        float *rt = malloc((size_t)B_TEXT * s->Dp * 4), *rv = malloc((size_t)B_IMG * s->vD * 4);
        /* Images first, on a fresh workspace: sized by the image batch alone. */
        SiglipImageOutput io = {.pooler_output = vp};
        rc = siglip_encode_image(m, pixels, B_IMG, &io);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        SiglipTextOutput to = {.pooler_output = tp};
        rc = siglip_encode_text(m, ids, NULL, B_TEXT, &to);
        CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
        for (int b = 0; b < B_TEXT; b++)
            ref_text(w, s, ids + (size_t)b * s->tT, rt + (size_t)b * s->Dp);
        for (int b = 0; b < B_IMG; b++)
            ref_vision(w, s, pixels + b * img, rv + (size_t)b * s->vD);
        compare("text pooler_output", tp, rt, (size_t)B_TEXT * s->Dp);
        compare("vision pooler_output", vp, rv, (size_t)B_IMG * s->vD);
        free(ids), free(pixels), free(tp), free(vp), free(rt), free(rv);
    }
    siglip_model_free(&m);
    for (size_t i = 0; i < w->n; i++) {
        free((void *)w->t[i].name);
        free(w->data[i]);
    }
    free(w);
}

int main(void)
{
    static const Shape shapes[] = {
        /* so400m-like geometry: patch 14 at 224 (256 patches), 16 text positions, Dp ≠ text D,
         * head dims 8 (text) and 12 (vision) */
        {40, 5, 2, 70, 16, 97, 36, 36, 3, 1, 50, 224, 14, "gelu_pytorch_tanh"},
        /* 384 with patch 16 (576 patches), head dim 72 as so400m's, erf GELU */
        {72, 1, 1, 40, 64, 50, 72, 72, 1, 1, 30, 384, 16, "gelu"},
        /* 512 with patch 16 (1024 patches) */
        {16, 2, 1, 24, 64, 20, 16, 16, 2, 1, 24, 512, 16, "gelu_pytorch_tanh"},
        /* so400m-patch14-384 geometry: 384 is no multiple of 14, 27×27 patches, the last 6
         * pixel rows and columns unused */
        {16, 2, 1, 24, 16, 20, 24, 24, 3, 1, 40, 384, 14, "gelu_pytorch_tanh"},
    };
    char root[] = "/tmp/siglip-shapes-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    SiglipContext *ctx = sg_test_context();
    for (size_t i = 0; ctx && i < sizeof shapes / sizeof shapes[0]; i++)
        run_shape(ctx, &shapes[i], root, (int)i);
    siglip_context_close(&ctx);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
    return sg_test_finish("test_model_shapes");
}
