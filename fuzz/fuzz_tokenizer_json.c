/* fuzz_tokenizer_json.c — tokenizer.json bytes through sg_encoder_load (vocabulary, merges,
 * normalizers, added tokens); a model that loads then encodes the fixed texts of fuzz_encoder,
 * exercising HF's normalizers and BPE merge order or the Unigram path. */
#include "fuzz_util.h"
#include "tokenizer/encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_encoder(SG_ENCODER_TOKENIZER_JSON, data, size);
    return 0;
}
