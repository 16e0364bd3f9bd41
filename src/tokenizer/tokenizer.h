/* tokenizer.h — SiglipTokenizer (transformers' rules on top of a SentencePiece unigram model):
 * the handle behind the public siglip_tokenize* API, and its loader for the model loader. */
#ifndef SG_TOKENIZER_TOKENIZER_H
#define SG_TOKENIZER_TOKENIZER_H

#include "common/error.h"
#include "siglip.h"
#include "tokenizer/spiece.h"
#include "tokenizer/text.h"

/* Longest text accepted, in bytes (longer: SIGLIP_E2BIG). */
#define SG_TOKENIZER_MAX_TEXT_BYTES (64u << 20)
/* Most special / added tokens read from tokenizer_config.json. */
#define SG_TOKENIZER_MAX_SPECIALS 16

/* A token that is split out of the text before SentencePiece sees it (eos, unk, pad, added). */
typedef struct SgSpecialToken {
    uint32_t *cps;  /* [n_cps] its code points (owned) */
    size_t n_cps;
    int32_t id;
} SgSpecialToken;

struct SiglipTokenizer {
    SgError *err;              /* where later calls record failures: the context's (borrowed) */
    SgSpModel *sp;             /* with add_dummy_prefix forced off, as SiglipTokenizer does */
    int max_length;            /* model_max_length */
    int do_lower_case;
    char *unk_token;           /* its text, prepended to every segment before encoding */
    int32_t eos_id, unk_id, pad_id;
    int unk_prefix_pieces;     /* how many pieces unk_token alone encodes to (dropped again) */
    int32_t underline_id;      /* id of the piece "▁", or -1 */
    SgSpecialToken specials[SG_TOKENIZER_MAX_SPECIALS];
    int n_specials;
    /* scratch reused by every call (a tokenizer is used by one thread at a time) */
    SgBuf cps;                 /* uint32 code points of the current text */
    SgBuf segment;             /* unk_token + one canonicalized segment, UTF-8 */
    SgBuf ids;                 /* int32 ids of the current text, eos not yet added */
    SgSpScratch sp_scratch;
};

/* Loads dir/spiece.model and dir/tokenizer_config.json (optional). Failures of this call and of
 * every later call on the tokenizer are recorded in *err, which must outlive the tokenizer (pass
 * the context's error record). Missing spiece.model: SIGLIP_ENOENT. */
int sg_tokenizer_load(const char *dir, SgError *err, SiglipTokenizer **out);

/* Encodes one text into tok->ids without eos, padding or truncation (the raw SiglipTokenizer
 * token list converted to ids). */
int sg_tokenizer_encode_text(SiglipTokenizer *tok, const char *text, size_t len);

#endif /* SG_TOKENIZER_TOKENIZER_H */
