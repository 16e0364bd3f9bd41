/* fuzz_spiece.c — spiece.model bytes (protobuf ModelProto) through sg_encoder_load; a model that
 * loads then encodes a few fixed texts (fuzz_encoder), so its trie, normalizer charsmap, scores
 * and unigram or BPE encoder are exercised. */
#include "fuzz_util.h"
#include "tokenizer/encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_encoder(SG_ENCODER_SPIECE, data, size);
    return 0;
}
