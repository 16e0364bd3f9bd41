/* fuzz_tokenizer.c — arbitrary bytes as text through the tiny fixture's SiglipTokenizer and the
 * siglip2 fixture's Siglip2Tokenizer (Gemma BPE), or the siglip2-json one (tokenizer.json), by
 * the first byte (siglip_tokenize with padding and truncation, tokenize_one, detokenize of the
 * result), and the same bytes read as token ids through siglip_detokenize. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

static SgError err; /* the tokenizer keeps a pointer to its error record */

static SiglipTokenizer *tokenizer(unsigned which)
{
    static const char *const dirs[] = {SG_FUZZ_SOURCE_ROOT "/tests/data/tiny",
                                       SG_FUZZ_SOURCE_ROOT "/tests/data/siglip2",
                                       SG_FUZZ_SOURCE_ROOT "/tests/data/siglip2-json"};
    static SiglipTokenizer *toks[3];
    which %= 3;
    if (!toks[which] && sg_tokenizer_load(dirs[which], &err, &toks[which]) != 0)
        abort();
    return toks[which];
}

static void check_ids(const SiglipTokenizer *tok, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= tok->sp->n_pieces)
            abort();
}

/* Padded batch of one: max_length from the first byte, the rest as a NUL-terminated text. */
static void tokenize_padded(SiglipTokenizer *tok, const uint8_t *data, size_t size)
{
    int max_length = size ? 1 + data[0] % 80 : 8;
    char *text = fuzz_cstring(size ? data + 1 : data, size ? size - 1 : 0);
    int32_t ids[80], mask[80];
    const char *texts[1] = {text};
    if (siglip_tokenize(tok, texts, 1, max_length, ids, mask) == 0) {
        check_ids(tok, ids, (size_t)max_length);
        for (int i = 0; i < max_length; i++)
            if (mask[i] != 0 && mask[i] != 1)
                abort();
    }
    int32_t *one;
    size_t n_one;
    if (siglip_tokenize_one(tok, text, &one, &n_one) == 0) {
        check_ids(tok, one, n_one);
        char *back;
        if (siglip_detokenize(tok, one, n_one, &back) == 0)
            free(back);
        free(one);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SiglipTokenizer *tok = tokenizer(size ? data[size - 1] : 0);
    tokenize_padded(tok, data, size);
    /* the whole input, embedded NULs included */
    if (sg_tokenizer_encode_text(tok, (const char *)data, size) == 0)
        check_ids(tok, (const int32_t *)(const void *)tok->ids.data, tok->ids.len / sizeof(int32_t));
    /* the input as ids: most in range, some not (those must be refused, not read) */
    size_t n_ids = size / sizeof(int32_t);
    int32_t *ids = malloc(n_ids ? n_ids * sizeof *ids : 1);
    if (!ids)
        abort();
    for (size_t i = 0; i < n_ids; i++) {
        int32_t v;
        memcpy(&v, data + i * sizeof v, sizeof v);
        ids[i] = (v & 0x40000000) ? v : (int32_t)((uint32_t)v % (uint32_t)(tok->sp->n_pieces + 2));
    }
    char *text;
    if (siglip_detokenize(tok, ids, n_ids, &text) == 0)
        free(text);
    free(ids);
    return 0;
}
