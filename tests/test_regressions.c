/* test_regressions.c — inputs that once broke a parser (found by the fuzzers in fuzz/), kept in
 * tests/data/regress/<target>/ and fed through the same parser again. Each file's name starts with
 * the status it must now give (OK-, EBADMSG-, ENOTSUP-, E2BIG-, EINVAL-, ENOENT-); the sanitizer and
 * valgrind runs (.ci/sanitize.sh, .ci/valgrind.sh) catch the bad access itself if it comes back. */
#include <dirent.h>
#include <unistd.h>

#include "harness.h"
#include "st_writer.h"
#include "siglip.h"
#include "image/image.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "tokenizer/encoder.h"
#include "tokenizer/spiece.h"
#include "tokenizer/tokenizer.h"

/* Limits as in the fuzz targets, so a file found there behaves the same here. */
#define REGRESS_MAX_PIXELS (512u * 512u)
#define REGRESS_OUT_SIZE 16

/* ---------------------------------------------------------------- files */

/* A fresh scratch directory with the given files copied/written in; removed by scratch_remove. */
typedef struct Scratch {
    char dir[4096];
    const char *names[4];
    int n;
} Scratch;

static int scratch_open(Scratch *s)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/siglip-regress-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    s->n = 0;
    return mkdtemp(s->dir) ? 0 : -1;
}

static int scratch_put(Scratch *s, const char *name, const void *data, size_t size)
{
    s->names[s->n++] = name;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    return sg_test_write(path, data, size);
}

static void scratch_remove(Scratch *s)
{
    char path[4200];
    for (int i = 0; i < s->n; i++) {
        snprintf(path, sizeof path, "%s/%s", s->dir, s->names[i]);
        unlink(path);
    }
    rmdir(s->dir);
}

/* ---------------------------------------------------------------- one runner per fuzz target */

static int run_safetensors(const unsigned char *data, size_t size, SgError *err)
{
    SgSafetensors *st = NULL;
    int rc = sg_st_open_memory(&st, data, size, err);
    for (size_t i = 0; rc == 0 && i < sg_st_count(st); i++) {
        const SgTensor *t = sg_st_at(st, i);
        float *f32 = malloc(t->numel ? t->numel * sizeof *f32 : 1);
        if (!f32)
            rc = SIGLIP_ENOMEM;
        else if (t->dtype == SG_DTYPE_F32 || t->dtype == SG_DTYPE_F16 ||
                 t->dtype == SG_DTYPE_BF16 || t->dtype == SG_DTYPE_F64)
            rc = sg_tensor_to_f32(t, f32, err);
        free(f32);
    }
    sg_st_close(&st);
    return rc;
}

/* The index goes next to the two shards fuzz_safetensors_index uses: "a", "b" in
 * model-00001-of-00002.safetensors and "c", "d" in model-00002-of-00002.safetensors. */
static int run_safetensors_index(const unsigned char *data, size_t size, SgError *err)
{
    static const float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 1}, c[3] = {0.5f, 0.25f, 0.125f};
    static const int64_t d[2] = {7, 8};
    const StTensor first[] = {
        {.name = "a", .dtype = "F32", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "b", .dtype = "F32", .ndim = 1, .shape = {2}, .data = b}};
    const StTensor second[] = {
        {.name = "c", .dtype = "F32", .ndim = 1, .shape = {3}, .data = c},
        {.name = "d", .dtype = "I64", .ndim = 1, .shape = {2}, .data = d}};
    Scratch s;
    if (scratch_open(&s) != 0)
        return sg_fail(err, SIGLIP_EIO, "cannot create a scratch directory");
    char p1[4200], p2[4200], index[4200];
    snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", s.dir);
    snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", s.dir);
    snprintf(index, sizeof index, "%s/model.safetensors.index.json", s.dir);
    s.names[s.n++] = "model-00001-of-00002.safetensors";
    s.names[s.n++] = "model-00002-of-00002.safetensors";
    int rc = st_write(p1, first, 2, err->message, sizeof err->message) ||
                     st_write(p2, second, 2, err->message, sizeof err->message)
                 ? SIGLIP_EIO
                 : SIGLIP_OK;
    if (rc == 0 && scratch_put(&s, "model.safetensors.index.json", data, size) != 0)
        rc = sg_fail(err, SIGLIP_EIO, "cannot write the index");
    SgSafetensors *st = NULL;
    if (rc == 0)
        rc = sg_st_open(&st, index, err);
    for (size_t i = 0; rc == 0 && i < sg_st_count(st); i++) {
        const SgTensor *t = sg_st_at(st, i);
        float f32[8];
        if (t->dtype == SG_DTYPE_F32 && t->numel <= 8)
            rc = sg_tensor_to_f32(t, f32, err);
    }
    sg_st_close(&st);
    scratch_remove(&s);
    return rc;
}

static int run_config(const unsigned char *data, size_t size, SgError *err)
{
    SgConfig cfg;
    int rc = sg_config_parse((const char *)data, size, &cfg, err);
    sg_config_free(&cfg);
    return rc;
}

static int run_image_settings(const unsigned char *data, size_t size, SgError *err)
{
    SgImageSettings s;
    (void)size; /* read_all NUL-terminates */
    return sg_image_settings_parse((const char *)data, "regression", &s, err);
}

static int run_image(const unsigned char *data, size_t size, SgError *err)
{
    SgImage img;
    int rc = sg_image_decode_rgb8(data, size, NULL, REGRESS_MAX_PIXELS, &img, err);
    if (rc != 0)
        return rc;
    SiglipImageProcessor proc = {.decode.max_pixels = REGRESS_MAX_PIXELS, .n_threads = 1};
    sg_image_settings_default(&proc.settings);
    sg_image_processor_set_size(&proc, REGRESS_OUT_SIZE, REGRESS_OUT_SIZE);
    float pixels[3 * REGRESS_OUT_SIZE * REGRESS_OUT_SIZE]; /* [3, H, W] */
    rc = sg_image_to_pixels(&proc, &img, pixels, err);
    sg_image_free(&img);
    return rc;
}

/* The file as a tokenizer model of `format`, then each of texts[0..n) through it. */
static int run_encoder(SgEncoderFormat format, const unsigned char *data, size_t size,
                       const char *const *texts, size_t n, SgError *err)
{
    SgEncoder *m = NULL;
    int rc = sg_encoder_load(&m, format, data, size, err);
    SgSpScratch scratch = {0};
    const int32_t *ids;
    size_t n_ids;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = sg_encoder_encode(m, (const unsigned char *)texts[k], strlen(texts[k]), &scratch,
                               &ids, &n_ids);
    sg_sp_scratch_free(&scratch);
    sg_encoder_free(&m);
    return rc;
}

static int run_spiece(const unsigned char *data, size_t size, SgError *err)
{
    static const char *const text[] = {"a photo of 2 cats \xE2\x96\x81 \xC3\xA9t\xC3\xA9"};
    return run_encoder(SG_ENCODER_SPIECE, data, size, text, 1, err);
}

/* The tiny fixture's tokenizer on the file as text: padded to 16, and whole (NULs included). */
static int run_tokenizer(const unsigned char *data, size_t size, SgError *err)
{
    char *dir = sg_test_path("tiny");
    SiglipTokenizer *tok = NULL;
    int rc = dir ? sg_tokenizer_load(dir, err, &tok) : SIGLIP_ENOMEM;
    free(dir);
    if (rc != 0)
        return rc;
    int32_t ids[16], mask[16];
    const char *texts[1] = {(const char *)data};
    rc = siglip_tokenize(tok, texts, 1, 16, ids, mask);
    if (rc == 0)
        rc = sg_tokenizer_encode_text(tok, (const char *)data, size);
    siglip_tokenizer_free(&tok);
    return rc;
}

/* The file as tokenizer_config.json next to the tiny fixture's spiece.model. */
static int run_tokenizer_config(const unsigned char *data, size_t size, SgError *err)
{
    char *model_path = sg_test_path("tiny/spiece.model");
    size_t model_size = 0;
    unsigned char *model = model_path ? (unsigned char *)sg_test_read(model_path, &model_size) : NULL;
    free(model_path);
    Scratch s;
    int rc = model ? 0 : sg_fail(err, SIGLIP_EIO, "cannot read tiny/spiece.model");
    if (rc == 0 && scratch_open(&s) != 0)
        rc = sg_fail(err, SIGLIP_EIO, "cannot create a scratch directory");
    else if (rc == 0) {
        if (scratch_put(&s, "spiece.model", model, model_size) != 0 ||
            scratch_put(&s, "tokenizer_config.json", data, size) != 0)
            rc = sg_fail(err, SIGLIP_EIO, "cannot write the scratch files");
        SiglipTokenizer *tok = NULL;
        if (rc == 0)
            rc = sg_tokenizer_load(s.dir, err, &tok);
        int32_t ids[2 * 64];
        const char *texts[2] = {"a photo of a cat</s>", "<unk> <pad> [MASK]"};
        if (rc == 0)
            rc = siglip_tokenize(tok, texts, 2, 64, ids, NULL);
        siglip_tokenizer_free(&tok);
        scratch_remove(&s);
    }
    free(model);
    return rc;
}

/* The file as tokenizer.json (as fuzz_tokenizer_json), then texts through it; the empty text
 * too: its normalizers give empty outputs. */
static int run_tokenizer_json(const unsigned char *data, size_t size, SgError *err)
{
    static const char *const texts[] = {"", "A Photo of 2 Cats \xE2\x96\x81\xE2\x96\x81 </s>"};
    return run_encoder(SG_ENCODER_TOKENIZER_JSON, data, size, texts, 2, err);
}

typedef int (*Runner)(const unsigned char *data, size_t size, SgError *err);

static const struct {
    const char *target; /* fuzz target and tests/data/regress/ folder */
    Runner run;
} runners[] = {
    {"safetensors", run_safetensors},     {"safetensors_index", run_safetensors_index},
    {"config", run_config},               {"image_settings", run_image_settings},
    {"image", run_image},                 {"spiece", run_spiece},
    {"tokenizer", run_tokenizer},         {"tokenizer_config", run_tokenizer_config},
    {"tokenizer_json", run_tokenizer_json},
};

/* ---------------------------------------------------------------- driver */

/* The status a file's name asks for ("EBADMSG-truncated.json" → SIGLIP_EBADMSG), or 1 when the
 * name has no known prefix. */
static int expected_status(const char *name)
{
    static const struct { const char *prefix; int status; } names[] = {
        {"OK-", SIGLIP_OK},           {"EBADMSG-", SIGLIP_EBADMSG}, {"ENOTSUP-", SIGLIP_ENOTSUP},
        {"E2BIG-", SIGLIP_E2BIG},     {"EINVAL-", SIGLIP_EINVAL},   {"ENOENT-", SIGLIP_ENOENT},
        {"ESHAPE-", SIGLIP_ESHAPE},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strncmp(name, names[i].prefix, strlen(names[i].prefix)) == 0)
            return names[i].status;
    return 1;
}

static int run_file(const char *target, Runner run, const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int want = expected_status(name);
    CHECK(want <= 0, "%s/%s: the file name must start with the expected status (OK-, EBADMSG-, ...)",
          target, name);
    size_t size = 0;
    unsigned char *data = (unsigned char *)sg_test_read(path, &size);
    CHECK(data != NULL, "cannot read %s", path);
    if (!data || want > 0) {
        free(data);
        return 0;
    }
    SgError err = {0};
    int rc = run(data, size, &err);
    CHECK_STATUS(rc, want, err.message);
    CHECK(rc == 0 || err.message[0] != '\0', "%s/%s: failed without a message", target, name);
    free(data);
    return 1;
}

int main(void)
{
    int files = 0;
    for (size_t r = 0; r < sizeof runners / sizeof *runners; r++) {
        char rel[256];
        snprintf(rel, sizeof rel, "regress/%s", runners[r].target);
        char *dir = sg_test_path(rel);
        DIR *d = dir ? opendir(dir) : NULL;
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                files += run_file(runners[r].target, runners[r].run, dir, e->d_name);
        if (d)
            closedir(d);
        free(dir);
    }
    CHECK(files >= 2, "only %d regression files found under %s/regress", files, sg_test_data_dir());
    fprintf(stderr, "test_regressions: %d regression inputs\n", files);
    return sg_test_finish("test_regressions");
}
