/* fuzz_tokenizer_config.c — tokenizer_config.json text through sg_tokenizer_load (special and
 * added tokens, model_max_length, do_lower_case), next to a real spiece.model; a tokenizer that
 * loads then encodes texts holding its special tokens. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

/* The SentencePiece model next to the fuzzed config (source-relative): the small seed model of
 * fuzz_spiece, as loading the fixtures' 250 KB one for every input is 10× slower. */
#define FUZZ_SPIECE_MODEL "fuzz/corpus/spiece/byte_fallback.model"

static const char *const texts[] = {
    "a photo of a cat</s>",
    "<unk> <pad> <s> [MASK] <extra_id_0>x",
    "Hello,  World!\t\xE2\x96\x81",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *dir;
    if (!dir) {
        size_t n;
        unsigned char *model = fuzz_read_data(FUZZ_SPIECE_MODEL, &n);
        dir = fuzz_scratch_dir();
        free(fuzz_write_file(dir, "spiece.model", model, n));
        free(model);
    }
    free(fuzz_write_file(dir, "tokenizer_config.json", data, size));

    SgError err;
    SiglipTokenizer *tok = NULL;
    if (sg_tokenizer_load(dir, &err, &tok) != 0)
        return 0;
    int max_length = siglip_tokenizer_max_length(tok);
    if (max_length < 1)
        abort();
    if (max_length > 256)
        max_length = 256;
    int32_t ids[3 * 256]; /* [3, max_length] */
    if (siglip_tokenize(tok, texts, 3, max_length, ids, NULL) == 0) {
        for (int i = 0; i < 3 * max_length; i++)
            if (ids[i] < 0)
                abort();
        /* added tokens may have ids past the SentencePiece vocabulary: refused, not read */
        char *back;
        if (siglip_detokenize(tok, ids, (size_t)max_length, &back) == 0)
            free(back);
    }
    siglip_tokenizer_free(&tok);
    return 0;
}
