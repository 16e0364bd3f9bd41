/* test_tokenizer_head.c — long texts are tokenized from a prefix (issue 32, item 3): for every
 * tokenizer kind (SentencePiece unigram, SentencePiece BPE, tokenizer.json BPE) the rows that
 * siglip_tokenize_n computes from a prefix equal, id for id, the rows of the whole text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int head = tok->head_cuts;
    int rc1 = siglip_tokenize_n(tok, &text, &len, 1, max_length, ids, mask);
    tok->head_cuts = 0;
    int rc2 = siglip_tokenize_n(tok, &text, &len, 1, max_length, ids + max_length,
                                mask + max_length);
    tok->head_cuts = head;
    int same = rc1 == 0 && rc2 == 0 &&
               !memcmp(ids, ids + max_length, (size_t)max_length * sizeof *ids) &&
               !memcmp(mask, mask + max_length, (size_t)max_length * sizeof *mask);
    free(ids);
    free(mask);
    return same;
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
