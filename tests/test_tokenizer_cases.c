/* test_tokenizer_cases.c — the tokenizer against expectations made by the real SentencePiece and
 * Python (tests/data/tokenizer/cases.json, written by gen_cases.py): SiglipTokenizer ids for
 * many scripts and edge cases, padding/truncation, invalid UTF-8, raw SentencePiece encoding
 * (normalizer + Viterbi alone), a byte-fallback + user-defined model, truncated files, and
 * Python's str.lower() / str.isspace() over all of Unicode. Then SentencePiece BPE and the
 * Siglip2Tokenizer (Gemma) rules (tokenizer/bpe-cases.json, written by
 * data/siglip2/gen_bpe_cases.py with python3-sentencepiece on data/siglip2/tokenizer.model), and
 * the same model as tokenizer.json alone (tokenizer/json-cases.json: a Python port of HF
 * tokenizers' BPE, data/siglip2/gen_tokenizer_json.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "siglip.h"
#include "tokenizer/encoder.h"
#include "tokenizer/spiece.h"
#include "tokenizer/text.h"
#include "tokenizer/tokenizer.h"

/* got[0..n) equals the JSON int array `want`. */
static int same_ids(const int32_t *got, size_t n, const cJSON *want)
{
    if ((size_t)cJSON_GetArraySize(want) != n)
        return 0;
    size_t k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, want)
    {
        if (got[k++] != (int32_t)v->valuedouble)
            return 0;
    }
    return 1;
}

static const char *text_of(const cJSON *c)
{
    return cJSON_GetObjectItemCaseSensitive(c, "text")->valuestring;
}

static void test_siglip(SiglipContext *ctx, SiglipTokenizer *tok, const cJSON *cases)
{
    int passed = 0, total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = siglip_tokenize_one(tok, text_of(c), &ids, &n);
        int ok = rc == 0 && same_ids(ids, n, cJSON_GetObjectItemCaseSensitive(c, "ids"));
        CHECK(ok, "siglip case %d (\"%.60s\"): status %d, %zu ids (%s)", total, text_of(c), rc, n,
              siglip_context_error(ctx));
        passed += ok;
        total++;
        free(ids);
    }
    fprintf(stderr, "tokenizer (wrapper rules) cases identical: %d / %d\n", passed, total);
}

static void test_padded(SiglipTokenizer *tok, const cJSON *cases)
{
    int passed = 0, total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        int max_length = (int)cJSON_GetObjectItemCaseSensitive(c, "max_length")->valuedouble;
        int32_t ids[64], mask[64];
        const char *text = text_of(c);
        int rc = siglip_tokenize(tok, &text, 1, max_length, ids, mask);
        int ok = rc == 0 && same_ids(ids, (size_t)max_length, cJSON_GetObjectItemCaseSensitive(c, "ids")) &&
                 same_ids(mask, (size_t)max_length, cJSON_GetObjectItemCaseSensitive(c, "mask"));
        CHECK(ok, "padded case %d (max_length %d, \"%.40s\")", total, max_length, text);
        passed += ok;
        total++;
    }
    fprintf(stderr, "padded/truncated cases identical: %d / %d\n", passed, total);
}

static void test_invalid_utf8(SiglipTokenizer *tok, const cJSON *cases)
{
    const cJSON *c;
    int k = 0;
    cJSON_ArrayForEach(c, cases)
    {
        const char *hex = cJSON_GetObjectItemCaseSensitive(c, "hex")->valuestring;
        size_t len = strlen(hex) / 2;
        char *bytes = calloc(len + 1, 1);
        for (size_t i = 0; i < len; i++)
            sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&bytes[i]);
        int32_t *ids = NULL;
        size_t n = 0;
        int rc = siglip_tokenize_one(tok, bytes, &ids, &n);
        CHECK(rc == 0 && same_ids(ids, n, cJSON_GetObjectItemCaseSensitive(c, "ids")),
              "invalid UTF-8 case %d (%s)", k, hex);
        free(ids);
        free(bytes);
        k++;
    }
}

/* Raw SentencePiece encoding (no SigLIP rules) with the model's add_dummy_prefix and without. */
static void test_raw(SgEncoder *e, const cJSON *cases, const char *ids_key, int add_dummy_prefix,
                     const char *what)
{
    SgSpModel *m = e->sp;
    SgSpScratch scratch = {0};
    int saved = m->normalizer.add_dummy_prefix;
    m->normalizer.add_dummy_prefix = add_dummy_prefix;
    int passed = 0, total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *text = text_of(c);
        const int32_t *ids;
        size_t n;
        int rc = sg_encoder_encode(e, (const unsigned char *)text, strlen(text), &scratch, &ids,
                                   &n);
        int ok = rc == 0 && same_ids(ids, n, cJSON_GetObjectItemCaseSensitive(c, ids_key));
        CHECK(ok, "%s case %d (\"%.60s\")", what, total, text);
        passed += ok;
        total++;
    }
    m->normalizer.add_dummy_prefix = saved;
    sg_sp_scratch_free(&scratch);
    fprintf(stderr, "%s identical to sentencepiece: %d / %d\n", what, passed, total);
}

static size_t put_varint(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    do {
        out[n] = (unsigned char)(v & 0x7F) | (v >= 0x80 ? 0x80 : 0);
        n++;
        v >>= 7;
    } while (v);
    return n;
}

/* A ModelProto `pieces` field {piece, score 0, type}. */
static size_t put_piece(unsigned char *out, const char *text, int type)
{
    unsigned char body[64];
    size_t len = strlen(text), n = 0;
    body[n++] = 0x0A;
    n += put_varint(body + n, len);
    memcpy(body + n, text, len);
    n += len;
    body[n++] = 0x15;
    memset(body + n, 0, 4); /* score 0.0f */
    n += 4;
    body[n++] = 0x18;
    n += put_varint(body + n, (uint64_t)type);
    size_t k = 0;
    out[k++] = 0x0A;
    k += put_varint(out + k, n);
    memcpy(out + k, body, n);
    return k + n;
}

/* The tiny model + 256 BYTE pieces + 4 USER_DEFINED pieces + byte_fallback, as gen_cases.py. */
static void test_augmented(const unsigned char *model, size_t size, const cJSON *data)
{
    static const char *user[] = {"xyz", "cat!", "\xEF\xBC\xA1\xEF\xBC\xA2", "\xE2\x96\x81\xE2\x96\x81"};
    unsigned char *blob = malloc(size + 256 * 24 + 4 * 32 + 8);
    memcpy(blob, model, size);
    size_t n = size;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        n += put_piece(blob + n, name, SG_PIECE_BYTE);
    }
    for (int u = 0; u < 4; u++)
        n += put_piece(blob + n, user[u], SG_PIECE_USER_DEFINED);
    memcpy(blob + n, "\x12\x03\x98\x02\x01", 5);
    n += 5;
    CHECK(n == (size_t)cJSON_GetObjectItemCaseSensitive(data, "augmented_size")->valuedouble,
          "augmented model is %zu bytes, the generator's is different", n);
    SgError err = {0};
    SgEncoder *m = NULL;
    int rc = sg_encoder_load(&m, SG_ENCODER_SPIECE, blob, n, &err);
    CHECK_STATUS(rc, 0, err.message);
    if (m) {
        CHECK(m->sp->byte_fallback && m->sp->byte_ids[0x41] == 1000 + 0x41, "byte piece ids");
        test_raw(m, cJSON_GetObjectItemCaseSensitive(data, "augmented"), "ids", 1,
                 "byte-fallback + user-defined model");
    }
    sg_encoder_free(&m);
    free(blob);
}

static void test_truncated(const unsigned char *model, const cJSON *cases)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        size_t cut = (size_t)cJSON_GetObjectItemCaseSensitive(c, "cut")->valuedouble;
        int loads = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "loads"));
        SgError err = {0};
        SgSpModel *m = NULL;
        int rc = sg_sp_load(&m, model, cut, &err);
        CHECK(loads ? rc == 0 : rc == SIGLIP_EBADMSG, "cut at %zu: status %d (%s), sentencepiece %s",
              cut, rc, err.message, loads ? "loads it" : "rejects it");
        sg_sp_free(&m);
    }
}

static void test_lower(const cJSON *table, const cJSON *context)
{
    /* every code point: mapped ones as listed, all others unchanged */
    unsigned char *mapped = calloc(0x110000, 1);
    int bad = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, table)
    {
        uint32_t cp = (uint32_t)cJSON_GetArrayItem(row, 0)->valuedouble;
        uint32_t out[2];
        int n = sg_py_lower_at(&cp, 1, 0, out);
        int want_n = cJSON_GetArraySize(row) - 1;
        int ok = n == want_n;
        for (int k = 0; ok && k < n; k++)
            ok = out[k] == (uint32_t)cJSON_GetArrayItem(row, k + 1)->valuedouble;
        if (!ok && bad++ < 10)
            fprintf(stderr, "lower(U+%04X) differs from Python\n", cp);
        mapped[cp] = 1;
    }
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if (mapped[cp] || (cp >= 0xD800 && cp <= 0xDFFF))
            continue;
        uint32_t out[2];
        int n = sg_py_lower_at(&cp, 1, 0, out);
        if ((n != 1 || out[0] != cp) && bad++ < 10)
            fprintf(stderr, "lower(U+%04X) should be unchanged\n", cp);
    }
    CHECK(bad == 0, "%d code points lowercase differently from Python's str.lower()", bad);
    free(mapped);
    const cJSON *c;
    cJSON_ArrayForEach(c, context)
    {
        const char *text = text_of(c);
        const char *want = cJSON_GetObjectItemCaseSensitive(c, "lower")->valuestring;
        uint32_t cps[64];
        size_t n = 0, len = strlen(text);
        for (size_t i = 0; i < len && n < 64;)
            cps[n++] = sg_utf8_next((const unsigned char *)text, len, &i);
        unsigned char got[256];
        size_t g = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t out[2];
            int k = sg_py_lower_at(cps, n, i, out);
            for (int j = 0; j < k; j++)
                g += (size_t)sg_utf8_put(out[j], got + g);
        }
        got[g] = 0;
        CHECK(strcmp((const char *)got, want) == 0, "lower(\"%s\") = \"%s\", Python \"%s\"", text,
              got, want);
    }
}

/* mark[cp] = value for every code point of the [first, last] ranges */
static void mark_ranges(unsigned char *mark, const cJSON *ranges, unsigned char value)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, ranges)
    {
        uint32_t lo = (uint32_t)cJSON_GetArrayItem(r, 0)->valuedouble;
        uint32_t hi = (uint32_t)cJSON_GetArrayItem(r, 1)->valuedouble;
        for (uint32_t cp = lo; cp <= hi && cp < 0x110000; cp++)
            mark[cp] = value;
    }
}

/* Final_Sigma's look-behind over all of Unicode: "xΣ" lowercases to "xς" exactly after the
 * characters listed (ranges from Python's str.lower(), gen_cases.py cased_ranges), to "xσ" after
 * all others; code points the generator's Unicode left unassigned are not compared (utf8proc may
 * know a later version: Python 3.11's Unicode 14 lacks Unicode 15's U+1DF25..1DF2A letters). */
static void test_cased_before_sigma(const cJSON *ranges, const cJSON *unassigned)
{
    unsigned char *cased = calloc(0x110000, 1);
    mark_ranges(cased, ranges, 1);
    mark_ranges(cased, unassigned, 2);
    int bad = 0, n_cased = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++) {
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cased[cp] == 2)
            continue;
        const uint32_t text[2] = {cp, 0x3A3};
        uint32_t out[2];
        sg_py_lower_at(text, 2, 1, out);
        uint32_t want = cased[cp] ? 0x3C2 : 0x3C3;
        n_cased += cased[cp];
        if (out[0] != want && bad++ < 10)
            fprintf(stderr, "lower(U+%04X Σ) ends in U+%04X, Python U+%04X\n", cp, out[0], want);
    }
    CHECK(n_cased > 2000, "%d cased code points listed", n_cased);
    CHECK(bad == 0, "%d code points make Σ final or not unlike Python's str.lower()", bad);
    /* the tokenizers library's Lowercase (Siglip2Tokenizer) has no such context */
    uint32_t out[2];
    CHECK(sg_lower_char(0x3A3, out) == 1 && out[0] == 0x3C3, "lower_char(Σ) = U+%04X", out[0]);
    free(cased);
}

static void test_isspace(const cJSON *list)
{
    unsigned char *space = calloc(0x110000, 1);
    const cJSON *v;
    cJSON_ArrayForEach(v, list)
    {
        space[(uint32_t)v->valuedouble] = 1;
    }
    int bad = 0;
    for (uint32_t cp = 0; cp < 0x110000; cp++)
        bad += (sg_py_isspace(cp) != 0) != space[cp];
    CHECK(bad == 0 && cJSON_GetArraySize(list) > 20, "%d code points disagree with str.isspace()",
          bad);
    free(space);
}

/* tests/data/<rel> parsed as JSON (*text keeps the file; free both), or NULL after a failed
 * check. */
static cJSON *read_json(const char *rel, char **text)
{
    char *path = sg_test_path(rel);
    size_t size = 0;
    *text = sg_test_read(path, &size);
    cJSON *data = *text ? cJSON_Parse(*text) : NULL;
    CHECK(data != NULL, "cannot read %s", path);
    free(path);
    return data;
}

/* Reads a whole test data file as a SentencePiece model. */
static SgEncoder *load_model_file(const char *rel)
{
    char *path = sg_test_path(rel);
    size_t size = 0;
    unsigned char *blob = (unsigned char *)sg_test_read(path, &size);
    SgError err = {0};
    SgEncoder *m = NULL;
    int rc = blob ? sg_encoder_load(&m, SG_ENCODER_SPIECE, blob, size, &err) : SIGLIP_ENOENT;
    CHECK_STATUS(rc, 0, err.message);
    free(blob);
    free(path);
    return m;
}

/* tokenizer.json as the only tokenizer file: HF's BPE by merge rank under the Siglip2 rules, on
 * the texts of bpe-cases.json (`bpe`, whose ids it overwrites with the port's where they differ
 * from SentencePiece's). */
static void test_json(SiglipContext *ctx, cJSON *bpe)
{
    char *json;
    cJSON *data = read_json("tokenizer/json-cases.json", &json);
    char *dir = sg_test_path("siglip2-json");
    SiglipTokenizer *tok = NULL;
    int rc = data ? siglip_tokenizer_load(ctx, dir, &tok) : SIGLIP_ENOENT;
    CHECK_STATUS(rc, 0, siglip_context_error(ctx));
    if (tok) {
        CHECK(tok->kind == SG_TOKENIZER_GEMMA && tok->enc->hf && tok->enc->hf->bpe &&
                  !strcmp(tok->enc->kind->name, "tokenizer.json BPE") &&
                  tok->sp->n_pieces == 4000 && tok->pad_id == 0 && tok->eos_id == 1,
              "tokenizer.json model: kind %d, %d pieces", tok->kind, tok->sp->n_pieces);
        cJSON *cases = cJSON_GetObjectItemCaseSensitive(bpe, "cases");
        const cJSON *d;
        cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(data, "differs"))
        {
            int k = (int)cJSON_GetObjectItemCaseSensitive(d, "index")->valuedouble;
            cJSON *ids = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "ids"), 1);
            cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(cases, k), "ids", ids);
        }
        test_siglip(ctx, tok, cases);
        fprintf(stderr, "of which HF BPE and SentencePiece agree on %d\n",
                (int)cJSON_GetObjectItemCaseSensitive(data, "same_as_spm")->valuedouble);
    }
    /* a Unigram tokenizer.json (Prepend + Replace normalizers, byte fallback): SentencePiece's
     * ids on the model it was written from */
    char *uni_path = sg_test_path("tokenizer/unigram.json");
    size_t uni_size = 0;
    char *uni = sg_test_read(uni_path, &uni_size);
    SgError err = {0};
    SgEncoder *m = NULL;
    rc = uni ? sg_encoder_load(&m, SG_ENCODER_TOKENIZER_JSON, uni, uni_size, &err)
             : SIGLIP_ENOENT;
    CHECK_STATUS(rc, 0, err.message);
    if (m && data) {
        CHECK(m->sp->model_type == SG_MODEL_UNIGRAM && m->sp->byte_fallback &&
                  m->hf->n_norms == 2 && !strcmp(m->kind->name, "tokenizer.json Unigram"),
              "unigram tokenizer.json: type %d, kind %s", m->sp->model_type, m->kind->name);
        test_raw(m, cJSON_GetObjectItemCaseSensitive(data, "unigram"), "ids", 0,
                 "Unigram tokenizer.json");
    }
    sg_encoder_free(&m);
    free(uni);
    free(uni_path);
    siglip_tokenizer_free(&tok);
    cJSON_Delete(data);
    free(json);
    free(dir);
}

/* The Gemma-shaped BPE model: raw SentencePiece ids, Siglip2Tokenizer ids (unpadded and padded /
 * truncated), and a variant with UNUSED pieces that SentencePiece splits back. */
static void test_bpe(SiglipContext *ctx)
{
    char *json;
    cJSON *data = read_json("tokenizer/bpe-cases.json", &json);
    SgEncoder *m = load_model_file("siglip2/tokenizer.model");
    if (data && m) {
        CHECK(m->sp->model_type == SG_MODEL_BPE && m->sp->byte_fallback &&
                  !strcmp(m->kind->name, "SentencePiece BPE") &&
                  m->sp->n_pieces ==
                      (int)cJSON_GetObjectItemCaseSensitive(data, "pieces")->valuedouble,
              "tokenizer.model: type %d, %d pieces", m->sp->model_type, m->sp->n_pieces);
        test_raw(m, cJSON_GetObjectItemCaseSensitive(data, "cases"), "raw", 0, "BPE raw encode");
    }
    sg_encoder_free(&m);
    m = load_model_file("tokenizer/bpe-unused.model");
    if (data && m) {
        int n_unused = 0;
        for (int i = 0; i < m->sp->n_pieces; i++)
            n_unused += m->sp->pieces[i].type == SG_PIECE_UNUSED;
        const cJSON *listed = cJSON_GetObjectItemCaseSensitive(data, "unused_pieces");
        CHECK(n_unused == cJSON_GetArraySize(listed), "%d UNUSED pieces", n_unused);
        test_raw(m, cJSON_GetObjectItemCaseSensitive(data, "unused"), "raw", 0,
                 "BPE with UNUSED pieces");
    }
    sg_encoder_free(&m);
    char *dir = sg_test_path("siglip2");
    SiglipTokenizer *tok = NULL;
    int rc = data ? siglip_tokenizer_load(ctx, dir, &tok) : SIGLIP_ENOENT;
    CHECK_STATUS(rc, 0, siglip_context_error(ctx));
    if (tok) {
        /* the first call on a fresh tokenizer with an empty text: eos and padding only */
        int32_t ids[4], mask[4];
        const char *empty = "";
        rc = siglip_tokenize(tok, &empty, 1, 4, ids, mask);
        CHECK(rc == 0 && ids[0] == 1 && ids[1] == 0 && mask[0] == 1 && mask[1] == 0,
              "empty text first: status %d", rc);
        CHECK(tok->kind == SG_TOKENIZER_GEMMA && tok->pad_id == 0 && tok->eos_id == 1 &&
                  tok->max_length == 64 && !tok->pad_left,
              "GemmaTokenizer config: kind %d, pad %d, eos %d, max_length %d", tok->kind,
              tok->pad_id, tok->eos_id, tok->max_length);
        test_siglip(ctx, tok, cJSON_GetObjectItemCaseSensitive(data, "cases"));
        test_padded(tok, cJSON_GetObjectItemCaseSensitive(data, "padded"));
    }
    siglip_tokenizer_free(&tok);
    if (data)
        test_json(ctx, data);
    cJSON_Delete(data);
    free(json);
    free(dir);
}

int main(void)
{
    char *cases_path = sg_test_path("tokenizer/cases.json");
    char *model_path = sg_test_path("tiny/spiece.model");
    size_t json_size = 0, model_size = 0;
    char *json = sg_test_read(cases_path, &json_size);
    unsigned char *model = (unsigned char *)sg_test_read(model_path, &model_size);
    cJSON *data = json ? cJSON_Parse(json) : NULL;
    CHECK(data && model, "cannot read %s or %s", cases_path, model_path);
    SiglipContext *ctx = NULL;
    SiglipTokenizer *tok = NULL;
    char *dir = sg_test_path("tiny");
    if (data && model && siglip_context_create(&ctx, NULL) == 0) {
        int rc = siglip_tokenizer_load(ctx, dir, &tok);
        CHECK_STATUS(rc, 0, siglip_context_error(ctx));
        int k = (int)cJSON_GetObjectItemCaseSensitive(data, "unk_prefix_pieces")->valuedouble;
        CHECK(tok && tok->unk_prefix_pieces == k, "\"<unk>\" encodes to %d pieces, Python says %d",
              tok ? tok->unk_prefix_pieces : -1, k);
        if (tok) {
            test_siglip(ctx, tok, cJSON_GetObjectItemCaseSensitive(data, "siglip"));
            test_padded(tok, cJSON_GetObjectItemCaseSensitive(data, "padded"));
            test_invalid_utf8(tok, cJSON_GetObjectItemCaseSensitive(data, "invalid_utf8"));
        }
        SgError err = {0};
        SgEncoder *m = NULL;
        rc = sg_encoder_load(&m, SG_ENCODER_SPIECE, model, model_size, &err);
        CHECK_STATUS(rc, 0, err.message);
        if (m) {
            CHECK(!strcmp(m->kind->name, "SentencePiece unigram"), "kind %s", m->kind->name);
            const cJSON *raw = cJSON_GetObjectItemCaseSensitive(data, "raw");
            test_raw(m, raw, "ids", m->sp->normalizer.add_dummy_prefix, "raw encode");
            test_raw(m, raw, "ids_no_prefix", 0, "raw encode without dummy prefix");
        }
        sg_encoder_free(&m);
        test_augmented(model, model_size, data);
        test_truncated(model, cJSON_GetObjectItemCaseSensitive(data, "truncated"));
        test_lower(cJSON_GetObjectItemCaseSensitive(data, "lower"),
                   cJSON_GetObjectItemCaseSensitive(data, "lower_context"));
        test_cased_before_sigma(cJSON_GetObjectItemCaseSensitive(data, "cased_before_sigma"),
                                cJSON_GetObjectItemCaseSensitive(data, "unassigned"));
        test_isspace(cJSON_GetObjectItemCaseSensitive(data, "isspace"));
        test_bpe(ctx);
    }
    siglip_tokenizer_free(&tok);
    siglip_context_close(&ctx);
    cJSON_Delete(data);
    free(json);
    free(model);
    free(dir);
    free(cases_path);
    free(model_path);
    return sg_test_finish("test_tokenizer_cases");
}
