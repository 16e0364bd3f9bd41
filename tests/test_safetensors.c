/* test_safetensors.c — safetensors archives: the tiny fixture against values read independently
 * with numpy, F16/BF16/F64 conversion against double-precision formulas and a numpy table,
 * writer round trips, sharded indexes, and every kind of malformed file with its status and
 * message. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"
#include "harness.h"
#include "st_writer.h"
#include "tensor_expect.h"
#include "model/safetensors.h"

/* ---- helpers --------------------------------------------------------------------------------- */

/* A scratch directory for files this test writes; removed at the end. */
static char scratch[64];

static char *scratch_path(const char *name)
{
    return sg_path_join(scratch, name);
}

static void write_bytes(const char *path, const void *data, size_t size)
{
    CHECK(sg_test_write(path, data, size) == 0, "cannot write %s", path);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* A safetensors image: header length (little-endian), header, then data_size bytes 0, 1, 2 ... */
static unsigned char *make_st(const char *header, size_t data_size, size_t *size)
{
    size_t n = strlen(header);
    *size = 8 + n + data_size;
    unsigned char *buf = malloc(*size);
    if (!buf)
        abort();
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    for (size_t i = 0; i < data_size; i++)
        buf[8 + n + i] = (unsigned char)i;
    return buf;
}

/* Opening buf must fail with `want` and a message containing `needle`. */
static void expect_mem_fail(const char *what, const void *buf, size_t size, int want,
                            const char *needle)
{
    SgError err = {0};
    static char sentinel;
    SgSafetensors *st = (SgSafetensors *)&sentinel; /* must come back NULL */
    int rc = sg_st_open_memory(&st, buf, size, &err);
    CHECK(rc == want, "%s: status %d (%s), expected %d; message: %s", what, rc,
          siglip_strerror(rc), want, err.message);
    CHECK(strstr(err.message, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
          err.message, needle);
    CHECK(st == NULL, "%s: archive not NULL after failure", what);
    if (st != (SgSafetensors *)&sentinel)
        sg_st_close(&st);
}

/* A header given as JSON (with data_size bytes of data) must fail that way. */
static void expect_header_fail(const char *header, size_t data_size, int want, const char *needle)
{
    size_t size;
    unsigned char *buf = make_st(header, data_size, &size);
    expect_mem_fail(header, buf, size, want, needle);
    free(buf);
}

/* Opening a path must fail with `want` and a message containing both needles. */
static void expect_open_fail(const char *path, int want, const char *needle1, const char *needle2)
{
    SgError err = {0};
    SgSafetensors *st = NULL;
    int rc = sg_st_open(&st, path, &err);
    CHECK(rc == want, "%s: status %d (%s), expected %d; message: %s", path, rc,
          siglip_strerror(rc), want, err.message);
    CHECK(strstr(err.message, needle1) && strstr(err.message, needle2),
          "%s: message \"%s\" lacks \"%s\" or \"%s\"", path, err.message, needle1, needle2);
    CHECK(st == NULL, "%s: archive not NULL after failure", path);
    sg_st_close(&st);
}

static int shape_is(const SgTensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim)
        return 0;
    for (int i = 0; i < ndim; i++)
        if (t->shape[i] != shape[i])
            return 0;
    return 1;
}

/* ---- the tiny fixture ------------------------------------------------------------------------ */

/* Values read from tests/data/tiny/model.safetensors with /usr/bin/python3 + numpy, parsing the
 * file by hand (struct.unpack('<Q') for the header length, json.loads for the header,
 * np.frombuffer(raw, '<f4') for the data): the first two and the last element, the element at
 * numel/2, and the float64 sum of all elements (numpy's pairwise sum). */

static const Expected tiny_expected[] = {
    {"logit_scale", 1, {1}, {2.3025851249694824, 2.3025851249694824}, 2.3025851249694824,
     2.3025851249694824, 2.3025851249694824},
    {"logit_bias", 1, {1}, {-2.5, -2.5}, -2.5, -2.5, -2.5},
    {"text_model.embeddings.token_embedding.weight", 2, {1000, 32},
     {-0.14498066902160645, 0.06993836909532547}, 0.013121366500854492, 0.17971354722976685,
     -30.860886686894446},
    {"vision_model.embeddings.patch_embedding.weight", 4, {32, 3, 8, 8},
     {-0.09368275851011276, 0.062251683324575424}, -0.06599544733762741, 0.0264323391020298,
     -0.6692217478080238},
    {"vision_model.head.probe", 3, {1, 1, 32}, {0.07532280683517456, -0.11331696808338165},
     -0.21527200937271118, -0.06971430778503418, -2.4655605368316174},
    {"text_model.head.bias", 1, {32}, {0.03513624891638756, -0.02466101199388504},
     -0.005480347666889429, -0.07663389295339584, -0.0453270289581269},
    {"vision_model.head.attention.in_proj_weight", 2, {96, 32},
     {0.2263069599866867, -0.1293581873178482}, 0.09847323596477509, 0.021358821541070938,
     -1.7884537927002384},
};

/* Converts t and compares it with e: exact elements, sum to rounding of the summation order. */
static void check_sorted_and_found(const SgSafetensors *st)
{
    for (size_t i = 0; i < sg_st_count(st); i++) {
        const SgTensor *t = sg_st_at(st, i);
        CHECK(t && sg_st_find(st, t->name) == t, "tensor %zu not found by name", i);
        CHECK(i == 0 || strcmp(sg_st_at(st, i - 1)->name, t->name) < 0, "not sorted at %zu", i);
    }
    CHECK(sg_st_at(st, sg_st_count(st)) == NULL, "sg_st_at past the end");
}

static void test_tiny(void)
{
    char *dir = sg_test_path("tiny");
    char *file = sg_test_path("tiny/model.safetensors");
    const char *paths[] = {dir, file};
    for (int p = 0; p < 2; p++) {
        SgSafetensors *st = check_file(paths[p], tiny_expected,
                                       sizeof tiny_expected / sizeof tiny_expected[0],
                                       SG_DTYPE_F32);
        if (!st)
            continue;
        /* 88 tensors in the header (numpy/json count, __metadata__ excluded). */
        CHECK(sg_st_count(st) == 88, "%s: %zu tensors", paths[p], sg_st_count(st));
        check_sorted_and_found(st);
        CHECK(sg_st_find(st, "text_model.head") == NULL, "prefix found");
        CHECK(sg_st_find(st, "__metadata__") == NULL, "__metadata__ is not a tensor");
        sg_st_close(&st);
        CHECK(st == NULL, "close sets NULL");
    }
    sg_st_close(NULL);
    free(dir);
    free(file);
}

/* ---- conversions ----------------------------------------------------------------------------- */

/* IEEE binary16 bits → value, from the definition (not bit manipulation). */
static double half_reference(unsigned h)
{
    unsigned e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, (int)e - 25);
    return h & 0x8000 ? -v : v;
}

/* bfloat16 bits → value, from the definition (8-bit exponent, 7-bit mantissa). */
static double bf16_reference(unsigned h)
{
    unsigned e = (h >> 7) & 255, m = h & 127;
    double v = e == 0 ? ldexp(m, -133) : e == 255 ? (m ? NAN : INFINITY) : ldexp(128 + m, (int)e - 134);
    return h & 0x8000 ? -v : v;
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Converts all 65536 16-bit patterns (stored little-endian at an odd, unaligned address). */
static int convert_all16(SgDtype dt, float *out)
{
    static unsigned char raw[1 + 2 * 65536];
    for (unsigned h = 0; h < 65536; h++) {
        raw[1 + 2 * h] = (unsigned char)h;
        raw[2 + 2 * h] = (unsigned char)(h >> 8);
    }
    SgTensor t = {.name = "all", .dtype = dt, .ndim = 1, .shape = {65536}, .data = raw + 1,
                  .nbytes = 2 * 65536, .numel = 65536};
    SgError err = {0};
    int rc = sg_tensor_to_f32(&t, out, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    return rc;
}

static void compare_all16(const char *what, const float *got, double (*ref)(unsigned))
{
    size_t bad = 0;
    for (unsigned h = 0; h < 65536; h++) {
        double want = ref(h);
        int ok = isnan(want) ? isnan(got[h]) && !signbit(got[h]) == !signbit(want)
                             : (double)got[h] == want && !signbit(got[h]) == !signbit(want);
        if (!ok && bad++ < 5)
            fprintf(stderr, "%s 0x%04x → %.9g, expected %.17g\n", what, h, got[h], want);
    }
    CHECK(bad == 0, "%s: %zu of 65536 patterns wrong", what, bad);
}

static void test_f16_bf16(void)
{
    static float got[65536];
    if (!convert_all16(SG_DTYPE_F16, got)) {
        compare_all16("F16", got, half_reference);
        /* numpy 1.24: h = np.arange(65536).astype(np.uint16); f = h.view(np.float16)
         * .astype(np.float32).view(np.uint32).astype(np.uint64);
         * (f * np.arange(1, 65537, dtype=np.uint64)).sum(dtype=np.uint64), wrapping mod 2^64.
         * It pins every bit, NaN payloads included (0x7c01 → 0x7f802000). */
        uint64_t hash = 0;
        for (unsigned h = 0; h < 65536; h++)
            hash += (uint64_t)f32_bits(got[h]) * (h + 1);
        CHECK(hash == 5905984343024599040ull, "F16 table hash %llu differs from numpy's",
              (unsigned long long)hash);
        CHECK(f32_bits(got[0x7c01]) == 0x7f802000u, "F16 NaN payload 0x%08x",
              f32_bits(got[0x7c01]));
        CHECK(got[0x3c00] == 1.0f && got[0x7bff] == 65504.0f && got[0x0001] == 0x1p-24f &&
                  got[0x03ff] == 0x3ffp-24f && got[0xc000] == -2.0f,
              "F16 landmarks");
    }
    if (!convert_all16(SG_DTYPE_BF16, got))
        compare_all16("BF16", got, bf16_reference);
}

static void test_f32_f64_and_others(void)
{
    /* F64 at an unaligned address; expected values are C's own double → float conversions. */
    static const double src[] = {1.0, -2.5, 0.1, 1e-50, 3.5e38, -1e39, 65504.0};
    unsigned char raw[1 + sizeof src];
    memcpy(raw + 1, src, sizeof src);
    SgTensor t = {.name = "d", .dtype = SG_DTYPE_F64, .ndim = 1, .shape = {7}, .data = raw + 1,
                  .nbytes = sizeof src, .numel = 7};
    float out[7];
    SgError err = {0};
    int rc = sg_tensor_to_f32(&t, out, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(out[0] == 1.0f && out[1] == -2.5f && out[2] == 0.1f && out[3] == 0.0f &&
              isinf(out[4]) && isinf(out[5]) && out[5] < 0 && out[6] == 65504.0f,
          "F64 values %g %g %g %g %g %g %g", out[0], out[1], out[2], out[3], out[4], out[5],
          out[6]);

    /* F32 at an unaligned address. */
    static const float f[] = {1.5f, -0.0f, 3.25e-39f, 1e30f};
    unsigned char fraw[3 + sizeof f];
    memcpy(fraw + 3, f, sizeof f);
    SgTensor tf = {.name = "f", .dtype = SG_DTYPE_F32, .ndim = 1, .shape = {4}, .data = fraw + 3,
                   .nbytes = sizeof f, .numel = 4};
    rc = sg_tensor_to_f32(&tf, out, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(memcmp(out, f, sizeof f) == 0, "F32 copy differs");

    /* Integer dtypes are not converted. */
    static const SgDtype ints[] = {SG_DTYPE_I64, SG_DTYPE_I32, SG_DTYPE_I16, SG_DTYPE_I8,
                                   SG_DTYPE_U8, SG_DTYPE_BOOL};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        SgTensor ti = {.name = "ids", .dtype = ints[i], .ndim = 1, .shape = {1}, .data = raw,
                       .nbytes = sg_dtype_size(ints[i]), .numel = 1};
        rc = sg_tensor_to_f32(&ti, out, &err);
        CHECK_STATUS(rc, SIGLIP_ENOTSUP, err.message);
        CHECK(strstr(err.message, "\"ids\"") && strstr(err.message, sg_dtype_name(ints[i])),
              "message names tensor and dtype: %s", err.message);
    }

    /* The dtype table as the safetensors format defines it. */
    static const struct {
        SgDtype dt;
        const char *name;
        size_t size;
    } table[] = {{SG_DTYPE_F32, "F32", 4}, {SG_DTYPE_F16, "F16", 2}, {SG_DTYPE_BF16, "BF16", 2},
                 {SG_DTYPE_F64, "F64", 8}, {SG_DTYPE_I64, "I64", 8}, {SG_DTYPE_I32, "I32", 4},
                 {SG_DTYPE_I16, "I16", 2}, {SG_DTYPE_I8, "I8", 1},   {SG_DTYPE_U8, "U8", 1},
                 {SG_DTYPE_BOOL, "BOOL", 1}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        CHECK(strcmp(sg_dtype_name(table[i].dt), table[i].name) == 0 &&
                  sg_dtype_size(table[i].dt) == table[i].size,
              "dtype %s", table[i].name);
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* Checks the header of a written file with cJSON: padding, order, contiguous offsets. */
static void check_written_header(const char *path, const StTensor *w, size_t n)
{
    char *data = NULL;
    size_t size = 0;
    SgError err = {0};
    if (sg_read_file(path, 1 << 20, &data, &size, &err)) {
        CHECK(0, "cannot read back %s: %s", path, err.message);
        return;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | (unsigned char)data[i];
    CHECK(hl % 8 == 0 && 8 + hl <= size, "header length %llu", (unsigned long long)hl);
    CHECK(data[8] == '{', "header starts with {");
    size_t end = 8 + (size_t)hl;
    while (end > 8 && data[end - 1] == ' ')
        end--;
    CHECK(data[end - 1] == '}' && 8 + hl - end < 8, "padding is fewer than 8 spaces");
    cJSON *root = cJSON_ParseWithLength(data + 8, (size_t)hl);
    CHECK(root != NULL, "header is JSON");
    const cJSON *e = root ? root->child : NULL;
    /* The writer puts {"format": "pt"} metadata first, as the Python package does. */
    CHECK(e && !strcmp(e->string, "__metadata__"), "__metadata__ comes first");
    if (e && !strcmp(e->string, "__metadata__"))
        e = e->next;
    double offset = 0;
    for (size_t i = 0; i < n; i++, e = e ? e->next : NULL) {
        CHECK(e && strcmp(e->string, w[i].name) == 0, "entry %zu is %s", i, w[i].name);
        const cJSON *off = e ? cJSON_GetObjectItem(e, "data_offsets") : NULL;
        CHECK(off && cJSON_GetArraySize(off) == 2 &&
                  cJSON_GetArrayItem(off, 0)->valuedouble == offset,
              "%s starts where the previous ended", w[i].name);
        if (off && cJSON_GetArraySize(off) == 2)
            offset = cJSON_GetArrayItem(off, 1)->valuedouble;
    }
    CHECK(8 + hl + (size_t)offset == size, "data section is exactly the tensors");
    cJSON_Delete(root);
    free(data);
}

static void test_write_roundtrip(void)
{
    static const float w[2][3] = {{1, -2, 3.5f}, {0.25f, -0.0f, 1e-30f}};
    static const int64_t ids[4] = {0, -1, INT64_MAX, 49407};
    static const int32_t scalar = -7;
    static const uint16_t half[2] = {0x3c00, 0xc000};
    const StTensor tensors[] = {
        {"weight", "F32", 2, {2, 3}, w},
        {"ids", "I64", 1, {4}, ids},
        {"quote\"back\\slash\ttab é", "I32", 0, {0}, &scalar},
        {"empty", "F32", 2, {0, 5}, NULL},
        {"half", "F16", 1, {2}, half},
    };
    size_t n = sizeof tensors / sizeof tensors[0];
    char *path = scratch_path("roundtrip.safetensors");
    SgError err = {0};
    int rc = st_write(path, tensors, (int)n, err.message, sizeof err.message) ? SIGLIP_EIO : 0;
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    check_written_header(path, tensors, n);
    SgSafetensors *st = NULL;
    rc = rc ? rc : sg_st_open(&st, path, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(sg_st_count(st) == n, "%zu tensors read back", sg_st_count(st));
    for (size_t i = 0; st && i < n; i++) {
        const SgTensor *t = sg_st_find(st, tensors[i].name);
        CHECK(t != NULL, "%s not read back", tensors[i].name);
        if (!t)
            continue;
        SgDtype want = SG_DTYPE_F32;
        while (want < SG_DTYPE_BOOL && strcmp(sg_dtype_name(want), tensors[i].dtype) != 0)
            want++;
        size_t nbytes = sg_dtype_size(want);
        for (int d = 0; d < tensors[i].ndim; d++)
            nbytes *= (size_t)tensors[i].shape[d];
        CHECK(t->dtype == want && shape_is(t, tensors[i].ndim, tensors[i].shape) &&
                  t->nbytes == nbytes,
              "%s dtype/shape/size", t->name);
        CHECK(nbytes == 0 || memcmp(t->data, tensors[i].data, nbytes) == 0, "%s bytes differ",
              t->name);
    }
    const SgTensor *h = sg_st_find(st, "half");
    float hv[2] = {0, 0};
    if (h && !sg_tensor_to_f32(h, hv, &err))
        CHECK(hv[0] == 1.0f && hv[1] == -2.0f, "F16 round trip %g %g", hv[0], hv[1]);
    sg_st_close(&st);

    /* Invalid writes. */
    char *msg = err.message;
    size_t cap = sizeof err.message;
    const StTensor dup[] = {{"a", "F32", 1, {1}, w}, {"a", "F32", 1, {1}, w}};
    CHECK(st_write(path, dup, 2, msg, cap) == -1, "duplicate names written");
    CHECK(strstr(msg, "\"a\": given twice") != NULL, "dup message: %s", msg);
    const StTensor neg[] = {{"n", "F32", 1, {-1}, w}};
    CHECK(st_write(path, neg, 1, msg, cap) == -1 && strstr(msg, "bad shape"), "neg: %s", msg);
    const StTensor nodata[] = {{"n", "F32", 1, {3}, NULL}};
    CHECK(st_write(path, nodata, 1, msg, cap) == -1 && strstr(msg, "NULL"), "nodata: %s", msg);
    const StTensor meta[] = {{"__metadata__", "F32", 1, {1}, w}};
    CHECK(st_write(path, meta, 1, msg, cap) == -1, "a tensor named __metadata__ written");
    const StTensor baddt[] = {{"x", "F8", 1, {1}, w}};
    CHECK(st_write(path, baddt, 1, msg, cap) == -1, "an unknown dtype written");
    CHECK(st_write("/nonexistent-dir/x.safetensors", tensors, 1, msg, cap) == -1,
          "writing into a missing directory");
    CHECK(strstr(err.message, "/nonexistent-dir/x.safetensors") != NULL, "EIO message: %s",
          err.message);
    remove(path);
    free(path);
}

/* ---- valid edge cases ------------------------------------------------------------------------ */

static void expect_mem_ok(const char *header, size_t data_size, size_t want_count)
{
    size_t size;
    unsigned char *buf = make_st(header, data_size, &size);
    SgError err = {0};
    SgSafetensors *st = NULL;
    int rc = sg_st_open_memory(&st, buf, size, &err);
    CHECK(rc == SIGLIP_OK, "%s: status %d, message %s", header, rc, err.message);
    CHECK(sg_st_count(st) == want_count, "%s: %zu tensors", header, sg_st_count(st));
    sg_st_close(&st);
    free(buf);
}

static void test_valid_edges(void)
{
    expect_mem_ok("{}", 0, 0);
    expect_mem_ok("{\"__metadata__\": {\"format\": \"pt\"}}      ", 0, 0);
    /* scalars, empty tensors sharing an offset, a hole between tensors, unknown extra keys */
    expect_mem_ok("{\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
                  " \"e1\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [4, 4]},"
                  " \"e2\": {\"dtype\": \"BOOL\", \"shape\": [0], \"data_offsets\": [4, 4]},"
                  " \"b\": {\"dtype\": \"BF16\", \"shape\": [2, 2], \"data_offsets\": [8, 16],"
                  " \"extra\": 1}}",
                  16, 4);
    /* The data pointer and shape of a tensor at a non-zero offset. */
    size_t size;
    unsigned char *buf =
        make_st("{\"x\": {\"dtype\": \"I16\", \"shape\": [1, 3], \"data_offsets\": [2, 8]}}", 10,
                &size);
    SgSafetensors *st = NULL;
    SgError err = {0};
    if (!sg_st_open_memory(&st, buf, size, &err)) {
        const SgTensor *t = sg_st_find(st, "x");
        size_t header = size - 10;
        CHECK(t && t->data == buf + header + 2 && t->nbytes == 6 && t->numel == 3 &&
                  t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 3 && t->dtype == SG_DTYPE_I16,
              "tensor x fields");
    }
    sg_st_close(&st);
    free(buf);
}

/* ---- malformed files ------------------------------------------------------------------------- */

/* The tiny fixture cut short at several points (in memory and as files). */
static void test_truncated(void)
{
    size_t size = 0;
    char *data = sg_test_read_data("tiny/model.safetensors", &size);
    if (!data)
        return;
    const size_t hl = 9520; /* the fixture's header length (struct.unpack('<Q') in Python) */
    static const struct {
        size_t cut;
        const char *needle;
    } cuts[] = {
        {0, "too short"},
        {5, "too short"},
        {8, "header length 9520 exceeds the 0 bytes after it"},
        {100, "header length 9520 exceeds"},
        {8 + hl - 1, "header length 9520 exceeds the 9519 bytes"},
        {8 + hl, "lie outside the 0-byte data section"},
        {8 + hl + 1000, "lie outside the 1000-byte data section"},
    };
    char what[64];
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(what, sizeof what, "tiny cut at %zu", cuts[i].cut);
        expect_mem_fail(what, data, cuts[i].cut, SIGLIP_EBADMSG, cuts[i].needle);
    }
    snprintf(what, sizeof what, "tiny cut at %zu", size - 1);
    expect_mem_fail(what, data, size - 1, SIGLIP_EBADMSG, "lie outside");
    /* The same through a file: the message names it. */
    char *path = scratch_path("truncated.safetensors");
    write_bytes(path, data, 100);
    expect_open_fail(path, SIGLIP_EBADMSG, path, "header length 9520 exceeds");
    remove(path);
    free(path);
    free(data);
}

static void test_header_length(void)
{
    unsigned char buf[24] = {0};
    /* absurd lengths */
    buf[7] = 0x80; /* 2^63 */
    expect_mem_fail("length 2^63", buf, sizeof buf, SIGLIP_EBADMSG,
                    "header length 9223372036854775808 is absurd");
    memset(buf, 0, 8);
    buf[0] = 0x00, buf[1] = 0xc2, buf[2] = 0xeb, buf[3] = 0x0b; /* 200,000,000 */
    expect_mem_fail("length 2e8", buf, sizeof buf, SIGLIP_EBADMSG, "200000000 is absurd");
    /* one more than the file holds */
    memset(buf, ' ', sizeof buf);
    memset(buf, 0, 8);
    buf[0] = 17;
    expect_mem_fail("length 17 of 16", buf, sizeof buf, SIGLIP_EBADMSG,
                    "header length 17 exceeds the 16 bytes");
    buf[0] = 0;
    expect_mem_fail("length 0", buf, sizeof buf, SIGLIP_EBADMSG, "header is not valid JSON");
}

static void test_bad_headers(void)
{
    static const struct {
        const char *header;
        size_t data;
        int want;
        const char *needle;
    } cases[] = {
        {"{\"a\": ", 0, SIGLIP_EBADMSG, "header is not valid JSON"},
        {"not json at all", 0, SIGLIP_EBADMSG, "header is not valid JSON"},
        {"{} {}", 0, SIGLIP_EBADMSG, "header is not valid JSON (at byte 2"},
        {"[1, 2]", 0, SIGLIP_EBADMSG, "header is not a JSON object"},
        {"\"F32\"", 0, SIGLIP_EBADMSG, "header is not a JSON object"},
        {"{\"w\": 5}", 0, SIGLIP_EBADMSG, "tensor \"w\": entry is not an object"},
        {"{\"__metadata__\": [1]}", 0, SIGLIP_EBADMSG, "\"__metadata__\" is not an object"},
        /* missing or mistyped fields */
        {"{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8, SIGLIP_EBADMSG,
         "tensor \"w\": missing \"dtype\""},
        {"{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8, SIGLIP_EBADMSG,
         "tensor \"w\": missing \"shape\""},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8, SIGLIP_EBADMSG,
         "tensor \"w\": missing \"data_offsets\""},
        {"{\"w\": {\"dtype\": 4, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, SIGLIP_EBADMSG,
         "tensor \"w\": \"dtype\" is not a string"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": 2, \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_EBADMSG, "tensor \"w\": \"shape\" is not an array"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": 0}}", 8, SIGLIP_EBADMSG,
         "tensor \"w\": \"data_offsets\" is not a pair"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8,
         SIGLIP_EBADMSG, "\"data_offsets\" is not a pair"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8, 16]}}", 16,
         SIGLIP_EBADMSG, "\"data_offsets\" is not a pair"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8,
         SIGLIP_EBADMSG, "with begin <= end"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [-8, 0]}}", 8,
         SIGLIP_EBADMSG, "\"data_offsets\" is not a pair"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, \"8\"]}}", 8,
         SIGLIP_EBADMSG, "\"data_offsets\" is not a pair"},
        /* dtypes */
        {"{\"w\": {\"dtype\": \"F8_E4M3\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2,
         SIGLIP_ENOTSUP, "tensor \"w\": dtype \"F8_E4M3\" is not supported"},
        {"{\"w\": {\"dtype\": \"f32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_ENOTSUP, "dtype \"f32\" is not supported"},
        /* shapes */
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_EBADMSG, "tensor \"w\": shape[1] is not a non-negative integer"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_EBADMSG, "shape[0] is not a non-negative integer"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_EBADMSG, "shape[0] is not a non-negative integer"},
        {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 1]}}",
         1, SIGLIP_ENOTSUP, "tensor \"w\": 9 dimensions"},
        {"{\"w\": {\"dtype\": \"U8\", \"shape\": [4294967296, 4294967296, 4294967296], "
         "\"data_offsets\": [0, 8]}}",
         8, SIGLIP_EBADMSG, "tensor \"w\": the element count of its shape overflows"},
        {"{\"w\": {\"dtype\": \"F64\", \"shape\": [4503599627370496, 1024], "
         "\"data_offsets\": [0, 8]}}",
         8, SIGLIP_EBADMSG, "tensor \"w\": the byte size of its shape overflows"},
        {"{\"w\": {\"dtype\": \"U8\", \"shape\": [1e300], \"data_offsets\": [0, 8]}}", 8,
         SIGLIP_EBADMSG, "shape[0] is not a non-negative integer"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24,
         SIGLIP_EBADMSG, "tensor \"w\": shape [2, 3] of F32 needs 24 bytes but data_offsets "
                         "[0, 20] hold 20"},
        {"{\"w\": {\"dtype\": \"BF16\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 16,
         SIGLIP_EBADMSG, "shape [4] of BF16 needs 8 bytes"},
        /* offsets outside the data */
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 7,
         SIGLIP_EBADMSG, "tensor \"w\": data_offsets [0, 8] lie outside the 7-byte data section"},
        {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [1000000, 1000008]}}",
         16, SIGLIP_EBADMSG, "lie outside the 16-byte data section"},
        {"{\"w\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [9, 9]}}", 8,
         SIGLIP_EBADMSG, "lie outside"},
        /* overlaps */
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [12, 20]}}",
         20, SIGLIP_EBADMSG, "tensors \"a\" [0, 16) and \"b\" [12, 20) overlap"},
        {"{\"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]},"
         " \"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
         16, SIGLIP_EBADMSG, "overlap"},
        {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
         " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}",
         16, SIGLIP_EBADMSG, "overlap"},
        /* an empty tensor inside another one */
        {"{\"a\": {\"dtype\": \"U8\", \"shape\": [100], \"data_offsets\": [0, 100]},"
         " \"b\": {\"dtype\": \"U8\", \"shape\": [0], \"data_offsets\": [10, 10]},"
         " \"c\": {\"dtype\": \"U8\", \"shape\": [10], \"data_offsets\": [50, 60]}}",
         100, SIGLIP_EBADMSG, "overlap"},
        {"{\"a\": {\"dtype\": \"U8\", \"shape\": [100], \"data_offsets\": [0, 100]},"
         " \"c\": {\"dtype\": \"U8\", \"shape\": [10], \"data_offsets\": [50, 60]},"
         " \"d\": {\"dtype\": \"U8\", \"shape\": [10], \"data_offsets\": [70, 80]}}",
         100, SIGLIP_EBADMSG, "tensors \"a\" [0, 100) and \"c\" [50, 60) overlap"},
        /* duplicate names */
        {"{\"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]},"
         " \"a\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [1, 2]}}",
         2, SIGLIP_EBADMSG, "tensor \"a\" appears twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_header_fail(cases[i].header, cases[i].data, cases[i].want, cases[i].needle);
    /* A NUL byte inside the header's padding. */
    static const unsigned char nul[] = {6, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', 0, ' ', ' '};
    expect_mem_fail("NUL in header", nul, sizeof nul, SIGLIP_EBADMSG, "header is not valid JSON");
}

/* ---- indexes and directories ----------------------------------------------------------------- */

static void write_shard(const char *name, const char *tensor_a, const char *tensor_b, float base)
{
    float a[3] = {base, base + 1, base + 2}, b[2] = {-base, -base - 1};
    const StTensor t[] = {{tensor_a, "F32", 1, {3}, a}, {tensor_b, "F32", 2, {1, 2}, b}};
    char *path = scratch_path(name);
    char msg[256] = "";
    CHECK(st_write(path, t, 2, msg, sizeof msg) == 0, "%s", msg);
    free(path);
}

static void write_index(const char *name, const char *json)
{
    char *path = scratch_path(name);
    write_text(path, json);
    free(path);
}

static void test_index(void)
{
    write_shard("s1.safetensors", "a.weight", "a.bias", 10);
    write_shard("s2.safetensors", "b.weight", "unlisted", 20);
    write_index("good.index.json",
                "{\"metadata\": {\"total_size\": 40}, \"weight_map\": {\"a.weight\": "
                "\"s1.safetensors\", \"b.weight\": \"s2.safetensors\", \"a.bias\": "
                "\"s1.safetensors\"}}");
    char *path = scratch_path("good.index.json");
    SgSafetensors *st = NULL;
    SgError err = {0};
    int rc = sg_st_open(&st, path, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(sg_st_count(st) == 3, "index: %zu tensors (the weight_map's 3)", sg_st_count(st));
    CHECK(sg_st_find(st, "unlisted") == NULL, "a tensor outside the weight_map is not listed");
    const SgTensor *bw = sg_st_find(st, "b.weight"), *ab = sg_st_find(st, "a.bias");
    float v[3] = {0};
    if (bw && !sg_tensor_to_f32(bw, v, &err))
        CHECK(v[0] == 20 && v[1] == 21 && v[2] == 22, "b.weight from s2: %g %g %g", v[0], v[1],
              v[2]);
    CHECK(ab && ab->ndim == 2 && ab->shape[0] == 1 && ab->shape[1] == 2, "a.bias shape");
    if (ab && !sg_tensor_to_f32(ab, v, &err))
        CHECK(v[0] == -10 && v[1] == -11, "a.bias from s1: %g %g", v[0], v[1]);
    check_sorted_and_found(st);
    sg_st_close(&st);
    free(path);

    static const struct {
        const char *json;
        int want;
        const char *needle;
    } bad[] = {
        {"{\"weight_map\": {\"a.weight\": \"missing.safetensors\"}}", SIGLIP_ENOENT,
         "weight_map names shard \"missing.safetensors\""},
        {"{\"weight_map\": {\"a.weight\": \"s1.safetensors\",", SIGLIP_EBADMSG,
         "not valid JSON"},
        {"[]", SIGLIP_EBADMSG, "not a JSON object"},
        {"{\"metadata\": {}}", SIGLIP_EBADMSG, "no \"weight_map\" object"},
        {"{\"weight_map\": []}", SIGLIP_EBADMSG, "no \"weight_map\" object"},
        {"{\"weight_map\": {}}", SIGLIP_EBADMSG, "\"weight_map\" is empty"},
        {"{\"weight_map\": {\"a.weight\": 1}}", SIGLIP_EBADMSG,
         "weight_map[\"a.weight\"] is not a string"},
        {"{\"weight_map\": {\"a.weight\": \"../s1.safetensors\"}}", SIGLIP_EBADMSG,
         "shard name \"../s1.safetensors\" is not a plain file name"},
        {"{\"weight_map\": {\"a.weight\": \"..\"}}", SIGLIP_EBADMSG, "shard name \"..\""},
        {"{\"weight_map\": {\"a.weight\": \"/etc/passwd\"}}", SIGLIP_EBADMSG,
         "shard name \"/etc/passwd\""},
        {"{\"weight_map\": {\"a.weight\": \"\"}}", SIGLIP_EBADMSG, "shard name \"\""},
        {"{\"weight_map\": {\"b.weight\": \"s1.safetensors\"}}", SIGLIP_EBADMSG,
         "weight_map names tensor \"b.weight\" in shard \"s1.safetensors\", which does not "
         "hold it"},
        {"{\"weight_map\": {\"a.weight\": \"s1.safetensors\", \"a.weight\": \"s1.safetensors\"}}",
         SIGLIP_EBADMSG, "tensor \"a.weight\" appears twice"},
        {"{\"weight_map\": {\"x\": \"bad.safetensors\"}}", SIGLIP_EBADMSG,
         "bad.safetensors: header is not valid JSON"},
    };
    char *bad_shard = scratch_path("bad.safetensors");
    size_t size;
    unsigned char *buf = make_st("{\"x\": ", 0, &size);
    write_bytes(bad_shard, buf, size);
    free(buf);
    char *bad_index = scratch_path("bad.index.json");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(bad_index, bad[i].json);
        expect_open_fail(bad_index, bad[i].want, bad_index, bad[i].needle);
    }
    remove(bad_index);
    remove(bad_shard);
    free(bad_index);
    free(bad_shard);
}

/* A directory is opened through model.safetensors, else through the index. */
static void test_directories(void)
{
    char *sub = scratch_path("model");
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    expect_open_fail(sub, SIGLIP_ENOENT, sub, "neither model.safetensors nor");

    char *index = sg_path_join(sub, "model.safetensors.index.json");
    char *shard = sg_path_join(sub, "model-00001-of-00001.safetensors");
    float w[2] = {1, 2};
    const StTensor t[] = {{"w", "F32", 1, {2}, w}};
    SgError err = {0};
    CHECK(st_write(shard, t, 1, err.message, sizeof err.message) == 0, "%s", err.message);
    write_text(index, "{\"weight_map\": {\"w\": \"model-00001-of-00001.safetensors\"}}");
    SgSafetensors *st = NULL;
    int rc = sg_st_open(&st, sub, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(sg_st_count(st) == 1 && sg_st_find(st, "w"), "directory via index");
    sg_st_close(&st);

    /* model.safetensors wins over the index. */
    char *single = sg_path_join(sub, "model.safetensors");
    const StTensor t2[] = {{"w", "F32", 1, {2}, w}, {"v", "F32", 1, {1}, w}};
    CHECK(st_write(single, t2, 2, err.message, sizeof err.message) == 0, "%s", err.message);
    rc = sg_st_open(&st, sub, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    CHECK(sg_st_count(st) == 2, "directory prefers model.safetensors");
    sg_st_close(&st);
    remove(single);

    /* An index whose shard is missing, found through the directory: the shard is named. */
    remove(shard);
    expect_open_fail(sub, SIGLIP_ENOENT, "model-00001-of-00001.safetensors", index);

    expect_open_fail("/nonexistent/model.safetensors", SIGLIP_ENOENT,
                     "/nonexistent/model.safetensors", "cannot open");
    remove(index);
    rmdir(sub);
    free(single);
    free(index);
    free(shard);
    free(sub);
}

int main(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/sg-test-st-XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    test_tiny();
    test_f16_bf16();
    test_f32_f64_and_others();
    test_write_roundtrip();
    test_valid_edges();
    test_truncated();
    test_header_length();
    test_bad_headers();
    test_index();
    test_directories();
    char *s1 = scratch_path("s1.safetensors"), *s2 = scratch_path("s2.safetensors"),
         *good = scratch_path("good.index.json");
    remove(s1);
    remove(s2);
    remove(good);
    free(s1);
    free(s2);
    free(good);
    CHECK(rmdir(scratch) == 0, "scratch directory %s left files behind", scratch);
    return sg_test_finish("test_safetensors");
}
