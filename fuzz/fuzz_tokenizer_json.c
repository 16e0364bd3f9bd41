/* fuzz_tokenizer_json.c — tokenizer.json bytes through sg_hf_load (vocabulary, merges,
 * normalizers, added tokens); a model that loads then encodes the fixed texts of
 * fuzz_encode_texts, exercising HF's normalizers and BPE merge order or the Unigram path. */
#include "fuzz_util.h"
#include "tokenizer/hf_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgSpModel *m = NULL;
    if (sg_hf_load((const char *)data, size, &m, &err) != 0)
        return 0;
    fuzz_encode_texts(m);
    sg_sp_free(&m);
    return 0;
}
