/* fuzz_tokenizer_json.c — tokenizer.json bytes through sg_encoder_load (vocabulary, merges,
 * normalizers, added tokens); a model that loads then encodes the fixed texts of
 * fuzz_encode_texts, exercising HF's normalizers and BPE merge order or the Unigram path. */
#include "fuzz_util.h"
#include "tokenizer/encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgEncoder *m = NULL;
    if (sg_encoder_load(&m, SG_ENCODER_TOKENIZER_JSON, data, size, &err) != 0)
        return 0;
    fuzz_encode_texts(m);
    sg_encoder_free(&m);
    return 0;
}
