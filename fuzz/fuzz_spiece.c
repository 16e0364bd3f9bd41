/* fuzz_spiece.c — spiece.model bytes (protobuf ModelProto) through sg_encoder_load; a model that loads
 * then encodes a few fixed texts (fuzz_encode_texts), so its trie, normalizer charsmap, scores
 * and unigram or BPE encoder are exercised. */
#include "fuzz_util.h"
#include "tokenizer/encoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgEncoder *m = NULL;
    if (sg_encoder_load(&m, SG_ENCODER_SPIECE, data, size, &err) != 0)
        return 0;
    fuzz_encode_texts(m);
    sg_encoder_free(&m);
    return 0;
}
