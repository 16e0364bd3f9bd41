/* fuzz_spiece.c — spiece.model bytes (protobuf ModelProto) through sg_sp_load; a model that loads
 * then encodes a few fixed texts, so its trie, normalizer charsmap and scores are exercised. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tokenizer/spiece.h"

static const char *const texts[] = {
    "",
    "a photo of 2 cats",
    "  Hello,\tWORLD!  \n",
    "\xC3\xA9t\xC3\xA9 \xEF\xBC\xA1\xEF\xBC\xA2 \xE2\x85\xA0 \xEF\xAC\x81",  /* été, fullwidth, Ⅰ, ﬁ */
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 \xE2\x96\x81x",  /* CJK, emoji, ▁ */
    "\xFF\xFE invalid \xC3",                                                /* bad UTF-8 */
    "<unk></s><pad>",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SgError err;
    SgSpModel *m = NULL;
    if (sg_sp_load(&m, data, size, &err) != 0)
        return 0;
    SgSpScratch scratch = {0};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        const int32_t *ids;
        size_t n_ids;
        const unsigned char *s = (const unsigned char *)texts[k];
        if (sg_sp_encode(m, s, strlen(texts[k]), &scratch, &ids, &n_ids) != 0)
            continue;
        for (size_t i = 0; i < n_ids; i++) {
            if (ids[i] < 0 || ids[i] >= m->n_pieces)
                abort(); /* every id must name a piece */
            size_t len;
            const unsigned char *p = sg_sp_piece_text(m, ids[i], &len);
            if (p < m->blob || len > m->blob_size || (size_t)(p - m->blob) > m->blob_size - len)
                abort(); /* and its text must lie inside the model */
        }
        if (sg_sp_piece_to_id(m, s, strlen(texts[k])) >= m->n_pieces)
            abort();
    }
    sg_sp_scratch_free(&scratch);
    sg_sp_free(&m);
    return 0;
}
