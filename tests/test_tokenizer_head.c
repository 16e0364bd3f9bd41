/* test_tokenizer_head.c — long texts are tokenized from a prefix, or walked chunk by chunk
 * (issue 32, item 3): for every tokenizer kind (SentencePiece unigram, SentencePiece BPE,
 * tokenizer.json BPE) the rows that siglip_tokenize_n computes that way equal, id for id, the
 * rows of the whole text encoded at once (sg_tokenizer_encode_text, the reference). A text with
 * no place to cut for more than SG_TOKENIZER_WHOLE_MAX bytes is refused (SIGLIP_ENOTSUP); one
 * that SiglipTokenizer reduces to nothing past a point (a tail of "!" or spaces) is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "siglip.h"
#include "tokenizer/tokenizer.h"

/* Pieces the random texts are made of: words in both cases, digits, punctuation, whitespace of
 * several kinds, accents (precomposed and combining), final sigma, CJK, emoji, every fixture's
 * special tokens, '▁', an invalid byte and NUL (the texts carry their lengths). */
static const char *const POOL[] = {
    "a", "photo", "of", "the", "Cat", "DOG", "on", "grass", "x7", "2024", "CamelCase", "zzz",
    "q", ".", ",", "!", "?", "'s", "(", ")", "--", "\"", "  ", "\t", "\n", "\xC2\xA0",
    "\xE3\x80\x80", "caf\xC3\xA9", "e\xCC\x81", "\xCE\xA3\xCE\x91\xCE\xA3", "\xCF\x82",
    "\xE7\x8C\xAB\xE3\x81\x8C\xE5\xA5\xBD\xE3\x81\x8D", "\xF0\x9F\x90\xB1", "</s>", "<unk>",
    "<pad>", "<eos>", "<bos>", "<mask>", "\xE2\x96\x81", "\xFF", "\0", "\xC3\x9F", "I\xCC\x87",
};
#define POOL_N (sizeof POOL / sizeof *POOL)

static size_t piece_len(const char *p)
{
    return *p ? strlen(p) : 1; /* "\0" is the NUL byte itself */
}

/* Appends random pool pieces to buf until it holds about `target` bytes; joined by single
 * spaces with probability `spaced` (0: a text without spaces, apart from pieces that are
 * whitespace). */
static size_t random_text(SgRng *rng, char *buf, size_t cap, size_t target, unsigned spaced)
{
    size_t n = 0;
    while (n < target) {
        const char *p = POOL[sg_rng_next(rng) % POOL_N];
        size_t len = piece_len(p);
        if (n + len + 1 > cap)
            break;
        memcpy(buf + n, p, len);
        n += len;
        if (sg_rng_next(rng) % 100 < spaced)
            buf[n++] = ' ';
    }
    return n;
}

/* The same text through siglip_tokenize_n with prefix cuts and without (the whole text). *cut
 * (may be NULL) is set when the head encoding stopped at a prefix, i.e. gave fewer ids than the
 * whole text. */
static int same_rows(SiglipTokenizer *tok, const char *text, size_t len, int max_length, int *cut)
{
    if (cut) {
        size_t whole, head;
        sg_tokenizer_encode_text(tok, text, len);
        whole = tok->ids.len;
        sg_tokenizer_encode_head(tok, text, len, (size_t)max_length - 1);
        head = tok->ids.len;
        *cut = head < whole;
    }
    int32_t *ids = malloc(2 * (size_t)max_length * sizeof *ids);
    int32_t *mask = malloc(2 * (size_t)max_length * sizeof *mask);
    int head = tok->head_cuts, walk = tok->long_unigram, pairs = tok->pair_cuts;
    int rc1 = siglip_tokenize_n(tok, &text, &len, 1, max_length, ids, mask);
    if (rc1 != 0)
        fprintf(stderr, "siglip_tokenize_n: %d %s\n", rc1, siglip_tokenizer_error(tok));
    /* the whole text at once, however long (the reference may cost what the cap avoids) */
    tok->head_cuts = tok->long_unigram = tok->pair_cuts = 0;
    tok->whole_max = SIZE_MAX;
    int rc2 = siglip_tokenize_n(tok, &text, &len, 1, max_length, ids + max_length,
                                mask + max_length);
    tok->head_cuts = head;
    tok->long_unigram = walk;
    tok->pair_cuts = pairs;
    tok->whole_max = SG_TOKENIZER_WHOLE_MAX;
    int same = rc1 == 0 && rc2 == 0 &&
               !memcmp(ids, ids + max_length, (size_t)max_length * sizeof *ids) &&
               !memcmp(mask, mask + max_length, (size_t)max_length * sizeof *mask);
    free(ids);
    free(mask);
    return same;
}

/* Appends the UTF-8 of cp to buf (room for 4 more bytes assumed). */
static size_t put_cp(char *buf, size_t n, uint32_t cp)
{
    if (cp < 0x80) {
        buf[n] = (char)cp;
        return n + 1;
    }
    if (cp < 0x800) {
        buf[n] = (char)(0xC0 | cp >> 6);
        buf[n + 1] = (char)(0x80 | (cp & 0x3F));
        return n + 2;
    }
    buf[n] = (char)(0xE0 | cp >> 12);
    buf[n + 1] = (char)(0x80 | (cp >> 6 & 0x3F));
    buf[n + 2] = (char)(0x80 | (cp & 0x3F));
    return n + 3;
}

/* Long texts without spaces (several SG_TOKENIZER_CHUNK_BYTES chunks, so that a unigram
 * tokenizer walks them chunk by chunk and reads the path back across chunks): one letter (odd
 * and even lengths: with tied scores the first piece can follow the parity), two-letter
 * patterns, random CJK, mixed scripts with digits, punctuation runs, special tokens inside,
 * accents in both forms. Each row is compared with the whole text's (reference above). */
static void test_long_unspaced(SiglipTokenizer *tok, const char *fixture, uint64_t seed)
{
    SgRng rng = {seed};
    size_t cap = 1200 << 10;
    char *t = malloc(cap + 16);
    static const int lengths[] = {64, 8, 1};
    static const char *const mixed[] = {
        "a", "Z", "7", "\xD0\xB4", "\xCE\xBB", "\xE7\x8C\xAB", "\xE3\x81\x8C", "\xD8\xB9", "\xC3\xA9",
        "e\xCC\x81", "\xEF\xBC\xA1", "\xE2\x84\xA2", "\xE1\x84\x80\xE1\x85\xA1", "9", "x",
        "\xCE\xA3", "\xC4\xB0", ".", "--", "!?", "\xF0\x9F\x90\xB1",
    };
    int rows = 0, differ = 0;
    for (int c = 0; c < 14; c++) {
        /* 600 to 1020 KiB: those without a cut (abab…, one letter between punctuation) are then
         * under SG_TOKENIZER_WHOLE_MAX, so BPE encodes them whole instead of refusing them */
        size_t n = 0, target = (600 << 10) + sg_rng_next(&rng) % (420 << 10);
        switch (c) {
        case 0: /* one letter, odd length */
        case 1: /* one letter, even length */
            n = (target | 1) - (size_t)c;
            memset(t, 'a', n);
            break;
        case 2: /* two-letter pattern */
        case 3: /* aab pattern */
            while (n < target)
                {
                t[n] = c == 2 ? "ab"[n % 2] : "aab"[n % 3];
                n++;
            }
            break;
        case 4: /* random CJK */
            while (n < target)
                n = put_cp(t, n, 0x4E00 + (uint32_t)(sg_rng_next(&rng) % 0x5000));
            break;
        case 5: /* mixed scripts, digits, accents, punctuation */
        case 6:
            while (n < target) {
                const char *p = mixed[sg_rng_next(&rng) % (sizeof mixed / sizeof *mixed)];
                memcpy(t + n, p, strlen(p));
                n += strlen(p);
            }
            break;
        case 7: /* digits */
            while (n < target)
                t[n++] = (char)('0' + sg_rng_next(&rng) % 10);
            break;
        case 8: /* punctuation runs between letters */
            while (n < target) {
                t[n++] = (char)('a' + sg_rng_next(&rng) % 26);
                for (uint64_t k = sg_rng_next(&rng) % 4; k > 0; k--)
                    t[n++] = ".,!?-"[sg_rng_next(&rng) % 5];
            }
            break;
        case 9: /* special tokens inside a long run of one letter */
        case 10:
            while (n < target) {
                size_t run = (size_t)(sg_rng_next(&rng) % (400 << 10));
                run = run < target - n ? run : target - n; /* within the target (and t) */
                memset(t + n, 'a' + c - 9, run);
                n += run;
                const char *sp = POOL[33 + sg_rng_next(&rng) % 6]; /* the special tokens */
                memcpy(t + n, sp, strlen(sp));
                n += strlen(sp);
            }
            break;
        case 11: /* runs of CJK (unknown to tiny: one id each) between runs of letters, so that
                  * paths meet in several chunks and the ids add up across them */
            while (n < target) {
                size_t run = (size_t)(sg_rng_next(&rng) % (120 << 10));
                for (size_t k = 0; k < run && n < target; k += 3)
                    n = put_cp(t, n, 0x4E00 + (uint32_t)(sg_rng_next(&rng) % 0x5000));
                for (uint64_t k = 1 + sg_rng_next(&rng) % 6; k > 0 && n < target; k--)
                    t[n++] = "ab"[k % 2];
            }
            break;
        case 12: /* one letter between punctuation, which SiglipTokenizer removes: chunks end
                  * before a punctuation run */
            while (n < target) {
                t[n++] = "ab"[sg_rng_next(&rng) % 2];
                for (uint64_t k = 1 + sg_rng_next(&rng) % 2; k > 0; k--)
                    t[n++] = "!,-.?"[sg_rng_next(&rng) % 5];
            }
            break;
        default: /* the random pool, pieces joined without spaces */
            n = random_text(&rng, t, cap, target, 0);
            break;
        }
        for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++) {
            int same = same_rows(tok, t, n, lengths[l], NULL);
            rows++;
            differ += !same;
            CHECK(same, "%s: long unspaced text %d (%zu bytes, max_length %d): the walked row "
                  "differs from the whole text's", fixture, c, n, lengths[l]);
        }
    }
    fprintf(stderr, "%s: %d long unspaced rows: %d differ from the whole text's\n", fixture, rows,
            differ);
    free(t);
}

/* Fills t with unit repeated to exactly n bytes (units of one-byte characters, or n a multiple of
 * the unit's length). */
static void repeat(char *t, size_t n, const char *unit)
{
    size_t u = strlen(unit);
    for (size_t i = 0; i < n; i += u)
        memcpy(t + i, unit, n - i < u ? n - i : u);
}

/* SG_TOKENIZER_WHOLE_MAX: texts that have no place to cut (for BPE: no space after a letter or
 * digit, no pair of characters that no piece holds; for a unigram walk: no chunk boundary, which
 * needs plain characters on both sides) give the whole text's row up to that many bytes, and are
 * refused past it with SIGLIP_ENOTSUP and a message naming the reason; the tokenizer stays
 * usable. Which texts have no cut follows from the rules in docs/serve-limits.md. */
static void test_whole_max(SiglipTokenizer *tok, const char *fixture)
{
    const size_t max = SG_TOKENIZER_WHOLE_MAX;
    int bpe = strncmp(fixture, "siglip2", 7) == 0;
    static const struct {
        const char *unit;
        int refused_bpe, refused_unigram; /* past the cap */
    } cases[] = {
        {"ab", 1, 0},                     /* "ab" is a piece: no pair cut; a boundary for a walk */
        {"a.", 1, 1},                     /* '.' is neither plain nor removed before a boundary */
        {"\xCE\xA3\xCE\x91", 1, 1},       /* ΣΑ: Σ is lowercased by context, never plain */
        {"ab!", 1, 0},                    /* removed punctuation: a boundary sits before it */
    };
    char *t = malloc(max + 64);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        /* at the cap (a multiple of every unit's length or of one-byte units), then past it */
        size_t at = max - max % strlen(cases[k].unit);
        repeat(t, at, cases[k].unit);
        CHECK(same_rows(tok, t, at, 64, NULL), "%s: %zu bytes of \"%s\" (at the cap): the row "
              "differs from the whole text's, or the text is refused", fixture, at, cases[k].unit);
        size_t past = at + 2 * strlen(cases[k].unit);
        repeat(t, past, cases[k].unit);
        int refused = bpe ? cases[k].refused_bpe : cases[k].refused_unigram;
        if (!refused) {
            CHECK(same_rows(tok, t, past, 64, NULL), "%s: %zu bytes of \"%s\": the row differs "
                  "from the whole text's", fixture, past, cases[k].unit);
            continue;
        }
        int32_t ids[64], mask[64];
        const char *texts[] = {"a photo", t};
        size_t lengths[] = {7, past};
        int rc = siglip_tokenize_n(tok, texts, lengths, 2, 64, ids, mask);
        const char *msg = siglip_tokenizer_error(tok);
        CHECK(rc == SIGLIP_ENOTSUP && strstr(msg, "text 1: ") &&
                  strstr(msg, "no place where the tokenizer may split") &&
                  strstr(msg, "tokenized up to 1.0 MiB"),
              "%s: %zu bytes of \"%s\" past the cap: status %d, message \"%s\"", fixture, past,
              cases[k].unit, rc, msg);
        CHECK(same_rows(tok, "a photo", 7, 64, NULL), "%s: the tokenizer after a refusal", fixture);
    }
    free(t);
}

/* SiglipTokenizer drops ASCII punctuation and whitespace with nothing kept after it, so a segment
 * (between special tokens) that ends in a run of them gives the same ids without it, and that
 * run is never decoded: 2 MiB of "!" or spaces (no place to cut) are tokenized, not refused. Each
 * row equals the whole text's (reference, encoded whole). Siglip2Tokenizer keeps spaces and
 * punctuation as pieces: there such texts are refused (test_whole_max's rule). */
static void test_dropped_tail(SiglipTokenizer *tok, const char *fixture)
{
    const size_t n = 2 * SG_TOKENIZER_WHOLE_MAX;
    static const struct {
        const char *head, *unit, *between, *unit2;
    } cases[] = {
        {"", "!", "", ""},
        {"", " ", "", ""},
        {"", "\xE2\x96\x81 \t\n\xC2\xA0\xE3\x80\x80", "", ""}, /* '▁' and other whitespace */
        {"A photo of a cat", "! ?.,", "", ""},
        {"\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3", ".'", "", ""}, /* ΟΔΟΣ: final sigma looks past . ' */
        {"cat", " !", "</s>dog", "?? "},                  /* a special token between runs */
        {"</s>", "  ", "</s>", "!"},                      /* segments of nothing */
        {"Photo", "!", "<unk>", "x"},                     /* a tail, then a run that is kept */
    };
    char *t = malloc(n + 64);
    int rows = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        size_t len = strlen(cases[k].head), run = n / 2 - n / 2 % strlen(cases[k].unit);
        memcpy(t, cases[k].head, len);
        repeat(t + len, run, cases[k].unit);
        len += run;
        memcpy(t + len, cases[k].between, strlen(cases[k].between));
        len += strlen(cases[k].between);
        if (*cases[k].unit2) {
            run = n / 2 - n / 2 % strlen(cases[k].unit2);
            repeat(t + len, run, cases[k].unit2);
            len += run;
        }
        static const int lengths[] = {64, 8, 1};
        for (size_t l = 0; l < sizeof lengths / sizeof *lengths; l++, rows++)
            CHECK(same_rows(tok, t, len, lengths[l], NULL), "%s: dropped tail case %zu (%zu "
                  "bytes, max_length %d): the row differs from the whole text's, or it is refused",
                  fixture, k, len, lengths[l]);
    }
    fprintf(stderr, "%s: %d rows of texts with dropped tails equal the whole text's\n", fixture,
            rows);
    free(t);
}

/* Long texts without spaces against python3-sentencepiece (tests/data/tokenizer/long-cases.json,
 * written by gen_long_cases.py: the real SentencePiece on the whole text under the fixture's
 * tokenizer rules): each text is its parts, each a string repeated. */
static void test_long_reference(SiglipTokenizer *tok, const char *fixture)
{
    size_t size = 0;
    char *json = sg_test_read_data("tokenizer/long-cases.json", &size);
    cJSON *data = json ? cJSON_ParseWithLength(json, size) : NULL;
    CHECK(data != NULL, "tokenizer/long-cases.json does not parse");
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(data, "cases"))
    {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "fixture")->valuestring, fixture) != 0)
            continue;
        size_t len = 0, cap = 0;
        char *text = NULL;
        const cJSON *part;
        cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(c, "parts"))
        {
            const char *unit = cJSON_GetArrayItem(part, 0)->valuestring;
            size_t ulen = strlen(unit), reps = (size_t)cJSON_GetArrayItem(part, 1)->valuedouble;
            if (len + ulen * reps + 1 > cap) {
                cap = 2 * (len + ulen * reps + 1);
                text = realloc(text, cap);
            }
            for (size_t r = 0; r < reps; r++, len += ulen)
                memcpy(text + len, unit, ulen);
        }
        int max_length = (int)cJSON_GetObjectItemCaseSensitive(c, "max_length")->valuedouble;
        int32_t ids[64], mask[64];
        const char *texts[] = {text};
        int rc = siglip_tokenize_n(tok, texts, &len, 1, max_length, ids, mask);
        int same = rc == 0;
        for (int k = 0; same && k < max_length; k++)
            same = ids[k] == cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "ids"), k)
                                ->valueint &&
                   mask[k] == cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(c, "mask"), k)
                                  ->valueint;
        CHECK(same, "%s: long case %d (%zu bytes, max_length %d) differs from SentencePiece's row",
              fixture, n_cases, len, max_length);
        n_cases++;
        free(text);
    }
    fprintf(stderr, "%s: %d long texts compared with SentencePiece's rows\n", fixture, n_cases);
    cJSON_Delete(data);
    free(json);
}

static void test_kind(const char *fixture, uint64_t seed)
{
    SiglipContext *ctx = NULL;
    SiglipTokenizer *tok = NULL;
    char *dir = sg_test_path(fixture);
    CHECK(siglip_context_create(&ctx, NULL) == 0, "context");
    int rc = siglip_tokenizer_load(ctx, dir, &tok);
    CHECK_STATUS(rc, 0, siglip_context_error(ctx));
    free(dir);
    if (!tok) {
        siglip_context_close(&ctx);
        return;
    }
    /* Without cuts the test below would compare the whole-text path with itself. */
    CHECK(tok->head_cuts, "%s: prefix cuts are off for this tokenizer", fixture);
    SgRng rng = {seed};
    size_t cap = 64 << 10;
    char *text = malloc(cap);
    static const int lengths[] = {64, 8, 3};
    int texts = 0, rows = 0, differ = 0, cuts = 0;
    for (int i = 0; i < 160; i++) {
        /* Up to 6 KiB (the first prefix is 1 KiB): spaced, sparsely spaced, or no spaces. */
        unsigned spaced = i % 3 == 0 ? 90 : i % 3 == 1 ? 5 : 0;
        size_t len = random_text(&rng, text, cap, sg_rng_next(&rng) % 6000, spaced);
        if (i % 8 == 7) { /* 3 KiB that give no token (SiglipTokenizer drops punctuation), then words */
            size_t lead = 3000;
            memmove(text + lead, text, len < cap - lead ? len : cap - lead);
            for (size_t k = 0; k < lead; k++)
                text[k] = ".! ?"[k % 4];
            len = len + lead < cap ? len + lead : cap;
        }
        texts++;
        /* Also the lengths that make the row end right at the first prefix's last ids (need = 0
         * stops at the first prefix), where a cut that splits a word would show. */
        sg_tokenizer_encode_head(tok, text, len, 0);
        int head_ids = (int)(tok->ids.len / sizeof(int32_t));
        int all_lengths[] = {lengths[0], lengths[1], lengths[2], head_ids, head_ids + 1};
        for (size_t l = 0; l < sizeof all_lengths / sizeof *all_lengths; l++) {
            if (all_lengths[l] < 1)
                continue;
            int cut = 0;
            int same = same_rows(tok, text, len, all_lengths[l], &cut);
            rows++;
            cuts += cut;
            differ += !same;
            CHECK(same, "%s: text %d (%zu bytes, max_length %d): the prefix's row differs from "
                  "the whole text's", fixture, i, len, all_lengths[l]);
        }
    }
    /* A long spaced text is decided by its first words; a long one without spaces is tokenized
     * whole; both give the whole text's row. */
    size_t big = 256 << 10;
    char *long_text = malloc(big);
    size_t n = 0;
    while (n + 6 < big) {
        memcpy(long_text + n, "Photo ", 6);
        n += 6;
    }
    int cut = 0, same = same_rows(tok, long_text, n, 64, &cut);
    rows++;
    cuts += cut;
    differ += !same;
    CHECK(same && cut, "%s: a 256 KiB spaced text: same %d, cut %d", fixture, same, cut);
    memset(long_text, 'a', big);
    same = same_rows(tok, long_text, big, 64, NULL);
    rows++;
    differ += !same;
    CHECK(same, "%s: a 256 KiB text without spaces", fixture);
    fprintf(stderr, "%s: %d texts, %d rows (%d from a prefix): %d differ from the whole text's\n",
            fixture, texts, rows, cuts, differ);
    test_long_unspaced(tok, fixture, seed + 100);
    test_whole_max(tok, fixture);
    if (tok->kind == SG_TOKENIZER_SIGLIP)
        test_dropped_tail(tok, fixture);
    if (!strcmp(fixture, "tiny") || !strcmp(fixture, "siglip2"))
        test_long_reference(tok, fixture);
    /* Enough rows must come from a prefix for the comparison to test the cut. */
    CHECK(cuts >= rows / 4, "%s: only %d of %d rows came from a prefix", fixture, cuts, rows);
    free(long_text);
    free(text);
    siglip_tokenizer_free(&tok);
    siglip_context_close(&ctx);
}

int main(void)
{
    test_kind("tiny", 11);            /* spiece.model: unigram, SiglipTokenizer rules */
    test_kind("multilingual", 12);    /* spiece.model of the multilingual fixture */
    test_kind("siglip2", 13);         /* tokenizer.model: BPE, Siglip2Tokenizer (Gemma) rules */
    test_kind("siglip2-json", 14);    /* tokenizer.json: HF BPE with its normalizers */
    return sg_test_finish("test_tokenizer_head");
}
