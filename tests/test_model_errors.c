/* test_model_errors.c — siglip_model_load on broken model directories: each case must give the
 * documented status and a message naming the problem, leave no model behind, and leave the
 * context usable (the tiny model loads afterwards). Run with --no-platform under an ICD loader
 * that finds no platform, it checks the "no OpenCL platform" error instead. */
#include <sys/stat.h>

#include "harness.h"
#include "st_writer.h"
#include "common/fileio.h"
#include "model/safetensors.h"
#include "siglip.h"

static char root[] = "/tmp/siglip-model-errors-XXXXXX";

static void write_bytes(const char *dir, const char *name, const void *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(sg_test_write(path, data, size) == 0, "writing %s", path);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    write_bytes(dir, name, text, strlen(text));
}

static char *make_dir(const char *name)
{
    char *dir = sg_path_join(root, name);
    mkdir(dir, 0755);
    return dir;
}

/* tiny's tensors rewritten with one change: `drop` is left out, `reshape` gets a wrong shape. */
static void write_tiny_variant(const char *dir, const char *drop, const char *reshape)
{
    char *src = sg_test_path("tiny/model.safetensors");
    SgSafetensors *st = NULL;
    SgError err = {0};
    CHECK(sg_st_open(&st, src, &err) == 0, "%s", err.message);
    size_t n = st ? sg_st_count(st) : 0, k = 0;
    StTensor *out = calloc(n + 1, sizeof *out);
    float **bufs = calloc(n + 1, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        const SgTensor *t = sg_st_at(st, i);
        if (drop && !strcmp(t->name, drop))
            continue;
        bufs[k] = malloc(t->numel * sizeof(float));
        sg_tensor_to_f32(t, bufs[k], &err);
        out[k] = (StTensor){.name = t->name, .dtype = "F32", .ndim = t->ndim, .data = bufs[k]};
        memcpy(out[k].shape, t->shape, sizeof t->shape);
        if (reshape && !strcmp(t->name, reshape) && t->ndim == 2) {
            /* same element count, transposed shape: only the shape check can catch it */
            out[k].shape[0] = t->shape[1];
            out[k].shape[1] = t->shape[0];
        }
        k++;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(st_write(path, out, (int)k, err.message, sizeof err.message) == 0, "%s", err.message);
    for (size_t i = 0; i < k; i++)
        free(bufs[i]);
    free(bufs);
    free(out);
    sg_st_close(&st);
    free(src);
}

static void with_tiny_config(const char *dir)
{
    size_t size;
    char *cfg = sg_test_read_data("tiny/config.json", &size);
    if (cfg)
        write_bytes(dir, "config.json", cfg, size);
    free(cfg);
}

/* Loads dir and checks the status and that the message contains `needle`. */
static void expect_failure(SiglipContext *ctx, const char *dir, int status, const char *needle)
{
    SiglipModel *m = (SiglipModel *)&m; /* must be reset to NULL on failure */
    int rc = siglip_model_load(ctx, dir, &m);
    const char *msg = siglip_context_error(ctx);
    fprintf(stderr, "  %-28s -> %d %s\n", strrchr(dir, '/') + 1, rc, msg);
    CHECK_STATUS(rc, status, msg);
    CHECK(m == NULL, "model pointer not reset on failure");
    CHECK(strstr(msg, needle) != NULL, "message \"%s\" does not mention \"%s\"", msg, needle);
}

static void run_cases(SiglipContext *ctx)
{
    char *d;
    d = sg_path_join(root, "does-not-exist");
    expect_failure(ctx, d, SIGLIP_ENOENT, "config.json");
    free(d);

    d = make_dir("no-config");
    expect_failure(ctx, d, SIGLIP_ENOENT, "config.json");
    free(d);

    d = make_dir("config-not-json");
    write_text(d, "config.json", "{\"model_type\": \"siglip\", \"text_config\": {");
    expect_failure(ctx, d, SIGLIP_EBADMSG, "config.json");
    free(d);

    d = make_dir("zero-heads");
    write_text(d, "config.json", "{\"model_type\": \"siglip\", \"text_config\": "
                                 "{\"num_attention_heads\": 0}, \"vision_config\": {}}");
    expect_failure(ctx, d, SIGLIP_EBADMSG, "num_attention_heads");
    free(d);

    d = make_dir("heads-not-dividing");
    write_text(d, "config.json", "{\"model_type\": \"siglip\", \"text_config\": {}, "
                                 "\"vision_config\": {\"hidden_size\": 100, "
                                 "\"num_attention_heads\": 12}}");
    expect_failure(ctx, d, SIGLIP_EBADMSG, "num_attention_heads");
    free(d);

    d = make_dir("no-weights");
    with_tiny_config(d);
    expect_failure(ctx, d, SIGLIP_ENOENT, "safetensors");
    free(d);

    d = make_dir("truncated-weights");
    with_tiny_config(d);
    size_t size;
    char *st = sg_test_read_data("tiny/model.safetensors", &size);
    if (st)
        write_bytes(d, "model.safetensors", st, size / 2);
    expect_failure(ctx, d, SIGLIP_EBADMSG, "model.safetensors");
    free(st);
    free(d);

    d = make_dir("missing-tensor");
    with_tiny_config(d);
    write_tiny_variant(d, "text_model.encoder.layers.1.mlp.fc2.weight", NULL);
    expect_failure(ctx, d, SIGLIP_ESHAPE, "text_model.encoder.layers.1.mlp.fc2.weight");
    free(d);

    d = make_dir("wrong-shape");
    with_tiny_config(d);
    write_tiny_variant(d, NULL, "vision_model.encoder.layers.0.mlp.fc1.weight");
    expect_failure(ctx, d, SIGLIP_ESHAPE, "vision_model.encoder.layers.0.mlp.fc1.weight");
    free(d);

    d = make_dir("config-disagrees");
    write_text(d, "config.json", "{\"model_type\": \"siglip\", \"text_config\": {\"hidden_size\": "
                                 "32, \"num_attention_heads\": 4, \"intermediate_size\": 80, "
                                 "\"num_hidden_layers\": 2, \"vocab_size\": 1000}, "
                                 "\"vision_config\": {}}");
    write_tiny_variant(d, NULL, NULL);
    expect_failure(ctx, d, SIGLIP_ESHAPE, "vision_model.");
    free(d);

    d = make_dir("index-missing-shard");
    with_tiny_config(d);
    write_text(d, "model.safetensors.index.json",
               "{\"metadata\": {}, \"weight_map\": {\"logit_scale\": "
               "\"model-00001-of-00002.safetensors\"}}");
    expect_failure(ctx, d, SIGLIP_ENOENT, "model-00001-of-00002.safetensors");
    free(d);

    /* The context still works after every failure above. */
    char *tiny = sg_test_path("tiny");
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, tiny, &m);
    CHECK_STATUS(rc, SIGLIP_OK, siglip_context_error(ctx));
    /* Limits: a batch past SIGLIP_MAX_BATCH is refused before anything is read. */
    int32_t ids[64] = {0};
    float pixels[1] = {0};
    SiglipTextOutput to = {0};
    SiglipImageOutput io = {0};
    rc = siglip_encode_text(m, ids, NULL, SIGLIP_MAX_BATCH + 1, &to);
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_context_error(ctx));
    CHECK(strstr(siglip_context_error(ctx), "SIGLIP_MAX_BATCH") != NULL, "limit named");
    rc = siglip_encode_image(m, pixels, SIGLIP_MAX_BATCH + 1, &io);
    CHECK_STATUS(rc, SIGLIP_E2BIG, siglip_context_error(ctx));
    /* Token ids outside the vocabulary are refused. */
    ids[5] = 1000;
    rc = siglip_encode_text(m, ids, NULL, 1, &to);
    CHECK_STATUS(rc, SIGLIP_EINVAL, siglip_context_error(ctx));
    CHECK(strstr(siglip_context_error(ctx), "vocabulary") != NULL, "message names the vocabulary");
    siglip_model_free(&m);
    CHECK(m == NULL, "free resets the pointer");
    siglip_model_free(&m); /* a second free is a no-op */
    free(tiny);
}

static void check_device_spec_errors(void)
{
    static const char *const specs[] = {"9:9", "no-such-device-name", "accelerator"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        SiglipSettings s;
        siglip_default_settings(&s);
        s.device = specs[i];
        SiglipContext *ctx = NULL;
        CHECK(siglip_context_create(&ctx, &s) == SIGLIP_OK, "create");
        int rc = siglip_context_open_device(ctx);
        fprintf(stderr, "  device \"%s\" -> %d %s\n", specs[i], rc, siglip_context_error(ctx));
        CHECK_STATUS(rc, SIGLIP_ENODEV, siglip_context_error(ctx));
        CHECK(strlen(siglip_context_error(ctx)) > 0, "message");
        siglip_context_close(&ctx);
    }
}

/* Under an ICD loader with no vendors: loading a model says there is no platform. */
static int no_platform(void)
{
    SiglipContext *ctx = NULL;
    CHECK(siglip_context_create(&ctx, NULL) == SIGLIP_OK, "create");
    char *tiny = sg_test_path("tiny");
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, tiny, &m);
    fprintf(stderr, "  no platform -> %d %s\n", rc, siglip_context_error(ctx));
    CHECK_STATUS(rc, SIGLIP_ENODEV, siglip_context_error(ctx));
    CHECK(strstr(siglip_context_error(ctx), "platform") != NULL, "message names the platform");
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    CHECK(siglip_devices_list(ctx, &list, &n) == SIGLIP_ENODEV, "list without platform");
    siglip_devices_free(&list);
    free(tiny);
    siglip_context_close(&ctx);
    return sg_test_finish("test_model_errors --no-platform");
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--no-platform"))
        return no_platform();
    if (!mkdtemp(root))
        return 1;
    SiglipContext *ctx = sg_test_context();
    if (ctx)
        run_cases(ctx);
    siglip_context_close(&ctx);
    check_device_spec_errors();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
    return sg_test_finish("test_model_errors");
}
