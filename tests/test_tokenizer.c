/* test_tokenizer.c — SiglipTokenizer against the transformers fixtures (tiny-cases.json texts →
 * tiny-expected.safetensors input_ids / attention_mask), and its behaviour on bad input: invalid
 * UTF-8, empty text, NUL, truncated / garbage / unsupported spiece.model, missing files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "model/safetensors.h"
#include "siglip.h"
#include "tokenizer/encoder.h"

#define T 64

/* The 15 public fixture texts give exactly transformers' ids and mask. */
static void test_fixtures(SiglipContext *ctx, SiglipTokenizer *tok)
{
    char *cases_path = sg_test_path("tiny-cases.json");
    char *st_path = sg_test_path("tiny-expected.safetensors");
    size_t size = 0;
    char *json = sg_test_read(cases_path, &size);
    CHECK(json != NULL, "cannot read %s", cases_path);
    cJSON *cases = json ? cJSON_Parse(json) : NULL;
    const cJSON *texts = cJSON_GetObjectItemCaseSensitive(cases, "public.texts");
    int n = cJSON_GetArraySize(texts);
    CHECK(n == 15, "expected 15 fixture texts, got %d", n);
    SgError err = {0};
    SgSafetensors *st = NULL;
    int rc = sg_st_open(&st, st_path, &err);
    CHECK_STATUS(rc, 0, err.message);
    const SgTensor *want_ids = st ? sg_st_find(st, "public.input_ids") : NULL;
    const SgTensor *want_mask = st ? sg_st_find(st, "public.attention_mask") : NULL;
    CHECK(want_ids && want_mask && want_ids->dtype == SG_DTYPE_I64 && want_ids->shape[0] == n &&
              want_ids->shape[1] == T && want_mask->shape[1] == T,
          "fixture tensors missing or of unexpected shape");
    if (n > 0 && want_ids && want_mask) {
        const char **ptrs = calloc((size_t)n, sizeof *ptrs);
        int32_t *ids = calloc((size_t)n * T, sizeof *ids);
        int32_t *mask = calloc((size_t)n * T, sizeof *mask);
        for (int i = 0; i < n; i++)
            ptrs[i] = cJSON_GetArrayItem(texts, i)->valuestring;
        rc = siglip_tokenize(tok, ptrs, n, 0, ids, mask);
        CHECK_STATUS(rc, 0, siglip_tokenizer_error(tok));
        int rows_ok = 0;
        for (int i = 0; i < n; i++) {
            int row_ok = 1;
            for (int k = 0; k < T; k++) {
                int64_t wi, wm;
                memcpy(&wi, (const char *)want_ids->data + ((size_t)i * T + k) * 8, 8);
                memcpy(&wm, (const char *)want_mask->data + ((size_t)i * T + k) * 8, 8);
                row_ok &= ids[i * T + k] == wi && mask[i * T + k] == wm;
            }
            CHECK(row_ok, "fixture text %d (\"%s\") differs from transformers", i, ptrs[i]);
            rows_ok += row_ok;
        }
        fprintf(stderr, "fixture texts identical to transformers: %d / %d\n", rows_ok, n);
        free(ptrs);
        free(ids);
        free(mask);
    }
    sg_st_close(&st);
    cJSON_Delete(cases);
    free(json);
    free(cases_path);
    free(st_path);
}

/* Encodes text with siglip_tokenize_one and compares with want[0..n_want). */
static void check_one(SiglipTokenizer *tok, const char *what, const char *text, const int32_t *want,
                      size_t n_want)
{
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = siglip_tokenize_one(tok, text, &ids, &n);
    CHECK(rc == 0, "%s: status %d", what, rc);
    int same = rc == 0 && n == n_want && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    CHECK(same, "%s: got %zu ids, expected %zu", what, n, n_want);
    free(ids);
}

/* Texts given with their lengths keep their NUL bytes as U+0000 (issue 32, item 2). Expected ids:
 * the real SentencePiece (python3-sentencepiece 0.1.97) under SiglipTokenizer's rules,
 * tests/data/tokenizer/gen_cases.py's siglip_ids(text): U+0000 is an unknown piece (id 2) that
 * this model's charsmap keeps. python/tests/test_api.py checks the same through the package. */
static void test_texts_with_nul(SiglipTokenizer *tok)
{
    static const struct {
        const char *text;
        size_t len;
        int32_t ids[8];
        size_t n;
    } cases[] = {
        {"a\0b", 3, {70, 2, 33, 1}, 4},
        {"\0", 1, {7, 2, 1}, 3},
        {"cat\0 dog\0\0", 10, {372, 59, 2, 414, 29, 2, 1}, 7},
        {"\0</s>\0x", 7, {7, 2, 1, 2, 86, 1}, 6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int32_t *ids = NULL, row[T], mask[T];
        size_t n = 0;
        int rc = siglip_tokenize_one_n(tok, cases[c].text, cases[c].len, &ids, &n);
        CHECK(rc == 0 && n == cases[c].n && !memcmp(ids, cases[c].ids, n * sizeof *ids),
              "tokenize_one_n of case %zu: status %d, %zu ids", c, rc, n);
        free(ids);
        const char *text = cases[c].text;
        rc = siglip_tokenize_n(tok, &text, &cases[c].len, 1, T, row, mask);
        int same = rc == 0;
        for (size_t k = 0; k < T; k++)
            same &= row[k] == (k < cases[c].n ? cases[c].ids[k] : 1) && mask[k] == (k < cases[c].n);
        CHECK(same, "tokenize_n of case %zu: status %d, ids %d %d %d", c, rc, row[0], row[1], row[2]);
    }
    /* lengths NULL: texts end at their NUL, as siglip_tokenize. */
    const char *texts[2] = {"a\0b", "a"};
    int32_t with_null[2 * T], mask[2 * T];
    CHECK(siglip_tokenize_n(tok, texts, NULL, 2, T, with_null, mask) == 0 &&
              !memcmp(with_null, with_null + T, T * sizeof *with_null),
          "siglip_tokenize_n without lengths must end each text at its NUL");
}

static void test_edge_texts(SiglipContext *ctx, SiglipTokenizer *tok)
{
    static const int32_t eos_only[] = {1};
    check_one(tok, "empty text", "", eos_only, 1);
    check_one(tok, "only punctuation and spaces", " !?  .. \t", eos_only, 1);
    /* A NUL ends the text: "a photo\0 of" is "a photo" (ids from the generator's 'a photo'). */
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(siglip_tokenize_one(tok, "a photo\0 of 2 cats", &a, &na) == 0 &&
              siglip_tokenize_one(tok, "a photo", &b, &nb) == 0,
          "tokenize_one failed: %s", siglip_tokenizer_error(tok));
    CHECK(a && b && na == nb && memcmp(a, b, na * sizeof *a) == 0, "text must end at its NUL");
    free(a);
    free(b);
    test_texts_with_nul(tok);
    /* Invalid UTF-8: each bad sequence becomes one U+FFFD, which this model's nmt_nfkc charsmap
     * deletes (expectations from gen_cases.py; more in cases.json "invalid_utf8"). */
    check_one(tok, "lone 0xFF", "\xff", eos_only, 1);
    check_one(tok, "truncated 3-byte sequence", "\xe2\x82", eos_only, 1);
    /* Every byte value as a one-byte text: no crash, eos last. */
    for (int c = 1; c < 256; c++) {
        char text[2] = {(char)c, 0};
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = siglip_tokenize_one(tok, text, &ids, &n);
        CHECK(rc == 0 && n >= 1 && ids[n - 1] == 1, "byte 0x%02x: status %d", c, rc);
        free(ids);
    }
    /* Truncation keeps eos last; padding uses pad id 1 with mask 0. */
    const char *long_text = "the quick brown fox jumps over the lazy dog again and again";
    int32_t ids[8], mask[8];
    CHECK(siglip_tokenize(tok, &long_text, 1, 8, ids, mask) == 0, "tokenize failed");
    CHECK(ids[7] == 1 && mask[7] == 1 && mask[0] == 1, "truncated row must end with eos");
    const char *short_text = "a";
    CHECK(siglip_tokenize(tok, &short_text, 1, 8, ids, mask) == 0, "tokenize failed");
    CHECK(ids[0] == 70 && ids[1] == 1 && ids[2] == 1 && mask[1] == 1 && mask[2] == 0 &&
              ids[7] == 1 && mask[7] == 0,
          "padding: ids %d %d %d mask %d %d", ids[0], ids[1], ids[2], mask[1], mask[2]);
    CHECK(siglip_tokenizer_max_length(tok) == 64, "model_max_length %d",
          siglip_tokenizer_max_length(tok));
}

static void test_api_errors(SiglipContext *ctx, SiglipTokenizer *tok)
{
    int32_t ids[T];
    const char *null_text = NULL;
    CHECK_STATUS(siglip_tokenize(tok, &null_text, 1, T, ids, NULL), SIGLIP_EINVAL,
                 siglip_tokenizer_error(tok));
    CHECK(strstr(siglip_tokenizer_error(tok), "NULL") != NULL, "message: %s",
          siglip_tokenizer_error(tok));
    const char *text = "x";
    CHECK_STATUS(siglip_tokenize(tok, &text, 0, T, ids, NULL), SIGLIP_EINVAL,
                 siglip_tokenizer_error(tok));
    CHECK_STATUS(siglip_tokenize(NULL, &text, 1, T, ids, NULL), SIGLIP_EINVAL, "");
    int32_t bad_id = 5000;
    char *out = NULL;
    CHECK_STATUS(siglip_detokenize(tok, &bad_id, 1, &out), SIGLIP_EINVAL,
                 siglip_tokenizer_error(tok));
    CHECK(out == NULL, "no text on failure");
    /* Decoding: specials skipped, '▁' → space, ends stripped. */
    const char *sentence = "A photo of 2 cats </s> here";
    int32_t *enc = NULL;
    size_t n = 0;
    CHECK(siglip_tokenize_one(tok, sentence, &enc, &n) == 0, "tokenize_one failed");
    CHECK(siglip_detokenize(tok, enc, n, &out) == 0, "detokenize failed: %s",
          siglip_tokenizer_error(tok));
    CHECK(out && strcmp(out, "a photo of 2 catshere") == 0 , "decoded \"%s\"", out ? out : "");
    free(out);
    free(enc);
    SiglipTokenizer *none = NULL;
    CHECK_STATUS(siglip_tokenizer_load(ctx, NULL, &none), SIGLIP_EINVAL, siglip_context_error(ctx));
    siglip_tokenizer_free(NULL);
    siglip_tokenizer_free(&none);
}

/* Writes data as <dir>/spiece.model and loads that directory. */
static int load_blob(SiglipContext *ctx, const char *dir, const void *data, size_t size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    if (sg_test_write(path, data, size) != 0)
        return -9999;
    SiglipTokenizer *tok = NULL;
    int rc = siglip_tokenizer_load(ctx, dir, &tok);
    if (rc == 0) { /* a model that loads must also tokenize */
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK(siglip_tokenize_one(tok, "Hello wörld ①", &ids, &n) == 0, "loaded model fails");
        free(ids);
    }
    siglip_tokenizer_free(&tok);
    unlink(path);
    return rc;
}

static void test_bad_models(SiglipContext *ctx)
{
    char dir[] = "/tmp/sg-tok-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
    SiglipTokenizer *tok = NULL;
    int rc = siglip_tokenizer_load(ctx, dir, &tok);
    CHECK_STATUS(rc, SIGLIP_ENOENT, siglip_context_error(ctx));
    CHECK(strstr(siglip_context_error(ctx), "spiece.model") != NULL, "message: %s",
          siglip_context_error(ctx));
    CHECK(tok == NULL, "no tokenizer on failure");

    char *model_path = sg_test_path("tiny/spiece.model");
    size_t size = 0;
    unsigned char *model = (unsigned char *)sg_test_read(model_path, &size);
    CHECK(model && size > 1000, "cannot read %s", model_path);
    if (!model)
        return;
    CHECK_STATUS(load_blob(ctx, dir, model, 0), SIGLIP_EBADMSG, siglip_context_error(ctx));
    /* Cut points the real SentencePiece rejects (gen_cases.py "truncated" lists them all). */
    const size_t cuts[] = {1, 2, 3, 5, 8, 13, 100, 1000, 4097, size / 3, size / 2, size - 100,
                           size - 10, size - 2, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        rc = load_blob(ctx, dir, model, cuts[k]);
        CHECK(rc == SIGLIP_EBADMSG, "cut at %zu: status %d (%s)", cuts[k], rc,
              siglip_context_error(ctx));
        CHECK(strstr(siglip_context_error(ctx), "spiece.model") != NULL, "message: %s",
              siglip_context_error(ctx));
    }
    const char text[] = "this is not a sentencepiece model\n";
    CHECK_STATUS(load_blob(ctx, dir, text, sizeof text - 1), SIGLIP_EBADMSG,
                 siglip_context_error(ctx));
    SgRng rng = {0x1234567};
    unsigned char garbage[4096];
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 1 + sg_rng_next(&rng) % sizeof garbage;
        for (size_t i = 0; i < n; i++)
            garbage[i] = (unsigned char)sg_rng_next(&rng);
        rc = load_blob(ctx, dir, garbage, n);
        CHECK(rc == SIGLIP_EBADMSG, "garbage trial %d: status %d", trial, rc);
    }
    /* Random byte flips inside the real model: any status, never a crash. */
    for (int trial = 0; trial < 20; trial++) {
        unsigned char *copy = malloc(size);
        memcpy(copy, model, size);
        for (int f = 0; f < 8; f++)
            copy[sg_rng_next(&rng) % size] = (unsigned char)sg_rng_next(&rng);
        load_blob(ctx, dir, copy, size);
        free(copy);
    }
    /* trainer_spec { model_type: WORD } appended (merged into the spec): unsupported. */
    unsigned char *bpe = malloc(size + 4);
    memcpy(bpe, model, size);
    memcpy(bpe + size, "\x12\x02\x18\x03", 4);
    rc = load_blob(ctx, dir, bpe, size + 4);
    CHECK_STATUS(rc, SIGLIP_ENOTSUP, siglip_context_error(ctx));
    CHECK(strstr(siglip_context_error(ctx), "WORD") != NULL, "message: %s",
          siglip_context_error(ctx));
    free(bpe);
    /* A malformed tokenizer_config.json next to a good model. */
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
    sg_test_write(cfg, "{\"model_max_length\": ", 21);
    CHECK_STATUS(load_blob(ctx, dir, model, size), SIGLIP_EBADMSG, siglip_context_error(ctx));
    sg_test_write(cfg, "{\"model_max_length\": 16, \"do_lower_case\": false}", 48);
    char spath[4096];
    snprintf(spath, sizeof spath, "%s/spiece.model", dir);
    sg_test_write(spath, model, size);
    rc = siglip_tokenizer_load(ctx, dir, &tok);
    CHECK_STATUS(rc, 0, siglip_context_error(ctx));
    CHECK(tok && siglip_tokenizer_max_length(tok) == 16, "model_max_length from the config");
    siglip_tokenizer_free(&tok);
    unlink(cfg);
    unlink(spath);
    rmdir(dir);
    free(model);
    free(model_path);
}

/* The Split pre-tokenizer's behaviours on "a b" / "a  b" (spaces become "▁" first), with merges
 * a+▁ (rank 0), ▁+b (1), a▁+b (2); the expected ids follow HF's SplitDelimiterBehavior by hand. */
static void test_split_pre_tokenizer(void)
{
    static const struct { const char *behavior, *text; int32_t ids[4]; size_t n; } cases[] = {
        {NULL, "a b", {6}, 1},                        /* one word: a▁ first, then a▁b */
        {"MergedWithPrevious", "a b", {4, 2}, 2},     /* "a▁" "b" */
        {"MergedWithNext", "a b", {1, 5}, 2},         /* "a" "▁b" */
        {"Removed", "a b", {1, 2}, 2},                /* "a" "b" */
        {"Isolated", "a b", {1, 3, 2}, 3},            /* "a" "▁" "b" */
        {"Contiguous", "a  b", {1, 3, 3, 2}, 4},      /* "a" "▁▁" "b" */
        {"Isolated", "a  b", {1, 3, 3, 2}, 4},        /* "a" "▁" "▁" "b" */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char pre[160] = "null", json[1024];
        if (cases[k].behavior)
            snprintf(pre, sizeof pre, "{\"type\": \"Split\", \"pattern\": {\"String\": "
                     "\"\xE2\x96\x81\"}, \"behavior\": \"%s\", \"invert\": false}",
                     cases[k].behavior);
        snprintf(json, sizeof json,
                 "{\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
                 "\"content\": \"\xE2\x96\x81\"}, \"pre_tokenizer\": %s, \"model\": {\"type\": "
                 "\"BPE\", \"unk_token\": \"<unk>\", \"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, "
                 "\"\xE2\x96\x81\": 3, \"a\xE2\x96\x81\": 4, \"\xE2\x96\x81" "b\": 5, "
                 "\"a\xE2\x96\x81" "b\": 6}, \"merges\": [\"a \xE2\x96\x81\", "
                 "\"\xE2\x96\x81 b\", \"a\xE2\x96\x81 b\"]}}", pre);
        SgError err = {0};
        SgEncoder *m = NULL;
        int rc = sg_encoder_load(&m, SG_ENCODER_TOKENIZER_JSON, json, strlen(json), &err);
        CHECK_STATUS(rc, 0, err.message);
        if (!m)
            continue;
        CHECK(!strcmp(m->kind->name, "tokenizer.json BPE"), "kind %s", m->kind->name);
        SgSpScratch scr = {0};
        const int32_t *ids;
        size_t n = 0;
        rc = sg_encoder_encode(m, (const unsigned char *)cases[k].text, strlen(cases[k].text),
                               &scr, &ids, &n);
        int same = rc == 0 && n == cases[k].n;
        for (size_t i = 0; same && i < n; i++)
            same = ids[i] == cases[k].ids[i];
        CHECK(same, "Split %s on \"%s\": %zu ids", cases[k].behavior ? cases[k].behavior : "none",
              cases[k].text, n);
        sg_sp_scratch_free(&scr);
        sg_encoder_free(&m);
    }
}

/* tokenizer.json variants: what is supported loads, what is not is refused by name. */
static void test_tokenizer_json(void)
{
#define VOCAB "\"vocab\": {\"<unk>\": 0, \"a\": 1, \"b\": 2, \"ab\": 3}"
#define BPE "\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", " VOCAB
    static const struct { const char *rest; int want; const char *needle; } cases[] = {
        {BPE ", \"merges\": [\"a b\"]}", 0, ""},
        {BPE ", \"merges\": [[\"a\", \"b\"]]},"
         "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
         "{\"type\": \"Lowercase\"}, {\"type\": \"Prepend\", \"prepend\": \"a\"}]}", 0, ""},
        {"\"model\": {\"type\": \"WordPiece\", " VOCAB "}", SIGLIP_ENOTSUP, "WordPiece"},
        {BPE ", \"merges\": [\"a c\"]}",
         SIGLIP_EBADMSG, "not in the vocabulary"},
        {BPE ", \"merges\": []}, "
         "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}", SIGLIP_ENOTSUP, "ByteLevel"},
        {BPE ", \"merges\": []}, "
         "\"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"Regex\": \" +\"}, "
         "\"content\": \" \"}",
         SIGLIP_ENOTSUP, "Regex"},
        {BPE ", \"merges\": [], "
         "\"continuing_subword_prefix\": \"##\"}", SIGLIP_ENOTSUP, "continuing_subword_prefix"},
        {"\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}", SIGLIP_ENOTSUP, "unknown token"},
        {BPE ", \"merges\": []}, "
         "\"added_tokens\": [{\"id\": 9, \"content\": \"<x>\"}]", SIGLIP_EBADMSG, "gap"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char json[1200];
        snprintf(json, sizeof json, "{%s}", cases[k].rest);
        SgError err = {0};
        SgEncoder *m = NULL;
        int rc = sg_encoder_load(&m, SG_ENCODER_TOKENIZER_JSON, json, strlen(json), &err);
        CHECK(rc == cases[k].want && strstr(err.message, cases[k].needle),
              "tokenizer.json case %zu: status %d (%s)", k, rc, err.message);
        if (m && k == 0) { /* "ab" merges; an unknown character is <unk> */
            SgSpScratch scr = {0};
            const int32_t *ids;
            size_t n;
            rc = sg_encoder_encode(m, (const unsigned char *)"abxa", 4, &scr, &ids, &n);
            CHECK(rc == 0 && n == 3 && ids[0] == 3 && ids[1] == 0 && ids[2] == 1,
                  "BPE on \"abxa\": %zu ids", n);
            sg_sp_scratch_free(&scr);
        }
        sg_encoder_free(&m);
    }
    SgError err = {0};
    SgEncoder *m = NULL;
    CHECK(sg_encoder_load(&m, SG_ENCODER_TOKENIZER_JSON, "[1]", 3, &err) == SIGLIP_EBADMSG,
          "not an object");
    test_split_pre_tokenizer();
#undef BPE
#undef VOCAB
}

/* A tokenizer owns its error message: it works, and reports, after its context is closed (a
 * borrowed pointer into the context would be read after free here; ASan and valgrind in CI). */
static void test_outlives_context(const char *dir)
{
    SiglipContext *ctx = NULL;
    SiglipTokenizer *tok = NULL;
    CHECK(siglip_context_create(&ctx, NULL) == 0 && siglip_tokenizer_load(ctx, dir, &tok) == 0,
          "load: %s", siglip_context_error(ctx));
    siglip_context_close(&ctx);
    if (!tok)
        return;
    CHECK(strcmp(siglip_tokenizer_error(tok), "") == 0, "no message before a failure");
    /* transformers' ids for this text (tests/data/tokenizer/cases.json), cut to 10 */
    static const int32_t want[10] = {70, 7, 28, 239, 226, 27, 70, 372, 59, 1};
    const char *text = "a photo of a cat";
    int32_t ids[10];
    CHECK_STATUS(siglip_tokenize(tok, &text, 1, 10, ids, NULL), SIGLIP_OK,
                 siglip_tokenizer_error(tok));
    CHECK(memcmp(ids, want, sizeof want) == 0, "ids differ from transformers' without a context");
    CHECK_STATUS(siglip_tokenize(tok, &text, 0, 10, ids, NULL), SIGLIP_EINVAL,
                 siglip_tokenizer_error(tok));
    CHECK(strstr(siglip_tokenizer_error(tok), "siglip_tokenize") != NULL, "own message: %s",
          siglip_tokenizer_error(tok));
    siglip_tokenizer_free(&tok);
}

/* padding_side absent from tokenizer_config.json (or no config at all): the class's own default,
 * which transformers' PreTrainedTokenizerBase takes when the config names none —
 * Siglip2Tokenizer's class attribute says "left" (models/siglip2/tokenization_siglip2.py),
 * SiglipTokenizer keeps the base class's "right"; a named side wins. */
static void test_padding_side_default(SiglipContext *ctx)
{
    static const struct { const char *file, *config; int left; } cases[] = {
        {"siglip2/tokenizer.model", "{}", 1},
        {"siglip2/tokenizer.model", NULL, 1},
        {"siglip2/tokenizer.model", "{\"padding_side\": \"right\"}", 0},
        {"siglip2/tokenizer.model", "{\"tokenizer_class\": \"GemmaTokenizer\"}", 1},
        {"tiny/spiece.model", "{}", 0},
        {"tiny/spiece.model", "{\"padding_side\": \"left\"}", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char dir[] = "/tmp/siglip-padside-XXXXXX", model[4096], cfg[4096];
        CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");
        char *src = sg_test_path(cases[k].file);
        size_t size = 0;
        char *blob = sg_test_read(src, &size);
        snprintf(model, sizeof model, "%s/%s", dir, strrchr(cases[k].file, '/') + 1);
        snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", dir);
        CHECK(blob && sg_test_write(model, blob, size) == 0, "cannot copy %s", src);
        if (cases[k].config)
            sg_test_write(cfg, cases[k].config, strlen(cases[k].config));
        SiglipTokenizer *tok = NULL;
        int rc = siglip_tokenizer_load(ctx, dir, &tok);
        CHECK_STATUS(rc, 0, siglip_context_error(ctx));
        int32_t ids[8], mask[8];
        const char *text = "a";
        rc = tok ? siglip_tokenize(tok, &text, 1, 8, ids, mask) : rc;
        int left = mask[0] == 0 && mask[7] == 1, right = mask[0] == 1 && mask[7] == 0;
        CHECK(rc == 0 && (cases[k].left ? left : right), "%s with config %s: status %d, %s padding",
              cases[k].file, cases[k].config ? cases[k].config : "(none)", rc,
              left ? "left" : right ? "right" : "no");
        siglip_tokenizer_free(&tok);
        unlink(model);
        unlink(cfg);
        rmdir(dir);
        free(blob);
        free(src);
    }
}

int main(void)
{
    SiglipContext *ctx = NULL;
    if (siglip_context_create(&ctx, NULL) != 0)
        return 1;
    char *dir = sg_test_path("tiny");
    SiglipTokenizer *tok = NULL;
    int rc = siglip_tokenizer_load(ctx, dir, &tok);
    CHECK_STATUS(rc, 0, siglip_context_error(ctx));
    if (tok) {
        test_fixtures(ctx, tok);
        test_edge_texts(ctx, tok);
        test_api_errors(ctx, tok);
    }
    test_bad_models(ctx);
    test_tokenizer_json();
    test_padding_side_default(ctx);
    test_outlives_context(dir);
    siglip_tokenizer_free(&tok);
    CHECK(tok == NULL, "free sets the handle to NULL");
    free(dir);
    siglip_context_close(&ctx);
    return sg_test_finish("test_tokenizer");
}
