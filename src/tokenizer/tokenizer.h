/* tokenizer.h — the text tokenizers of the SigLIP family behind the public siglip_tokenize* API:
 * SiglipTokenizer (spiece.model, unigram) and Siglip2Tokenizer (Gemma's BPE tokenizer.model or
 * tokenizer.json, lowercased), and their loader for the model loader. */
#ifndef SG_TOKENIZER_TOKENIZER_H
#define SG_TOKENIZER_TOKENIZER_H

#include "common/error.h"
#include "siglip.h"
#include "tokenizer/spiece.h"
#include "tokenizer/text.h"

/* Longest text accepted, in bytes (longer: SIGLIP_E2BIG). */
#define SG_TOKENIZER_MAX_TEXT_BYTES (64u << 20)
/* Most special / added tokens (Gemma's files list a few hundred). */
#define SG_TOKENIZER_MAX_SPECIALS 65536
#define SG_SPECIAL_FIRST_BITS 1024

/* A token that is split out of the text before SentencePiece sees it (eos, unk, pad, added). */
typedef struct SgSpecialToken {
    uint32_t *cps;  /* [n_cps] its code points (owned) */
    size_t n_cps;
    int32_t id;
} SgSpecialToken;

/* Which wrapper rules run around the SentencePiece model. */
typedef enum SgTokenizerKind {
    /* transformers' SiglipTokenizer: "▁" prefix, canonicalization (lowercase, ASCII punctuation
     * removed, whitespace collapsed), the unk-prefix trick, eos unless already last */
    SG_TOKENIZER_SIGLIP = 0,
    /* Siglip2Tokenizer (Gemma's tokenizer + SigLIP 2's training rules): lowercase, spaces as "▁",
     * no dummy prefix, no bos, eos always appended */
    SG_TOKENIZER_GEMMA = 1,
} SgTokenizerKind;

struct SiglipTokenizer {
    SgError err;               /* the last failure of a call on it (owned: it may outlive ctx) */
    SgTokenizerKind kind;
    int pad_left;              /* padding_side "left" in tokenizer_config.json */
    struct SgEncoder *enc;     /* the model and its kind (owned) */
    SgSpModel *sp;             /* enc->sp, borrowed; add_dummy_prefix forced off, as both
                                * wrappers do */
    int max_length;            /* model_max_length */
    int do_lower_case;
    char *unk_token;           /* its text, prepended to every segment before encoding */
    int32_t eos_id, unk_id, pad_id;
    int unk_prefix_pieces;     /* how many pieces unk_token alone encodes to (dropped again) */
    int32_t underline_id;      /* id of the piece "▁", or -1 */
    int head_cuts;             /* the first ids of a text may come from a prefix of it (see
                                * sg_tokenizer_encode_head) */
    SgSpecialToken *specials;  /* [n_specials] (owned) */
    int n_specials;
    uint64_t special_first[SG_SPECIAL_FIRST_BITS / 64]; /* bit (first code point mod 1024) */
    /* scratch reused by every call (a tokenizer is used by one thread at a time) */
    SgBuf cps;                 /* uint32 code points of the current text */
    SgBuf segment;             /* unk_token + one canonicalized segment, UTF-8 */
    SgBuf ids;                 /* int32 ids of the current text, eos not yet added */
    SgSpScratch sp_scratch;
};

/* Whether dir holds a tokenizer file (spiece.model, tokenizer.model or tokenizer.json): 1 or 0;
 * SIGLIP_ENOMEM when out of memory (not to be taken for "no tokenizer"). */
int sg_tokenizer_exists(const char *dir);

/* Loads dir's tokenizer: spiece.model, else tokenizer.model, else tokenizer.json, with
 * tokenizer_config.json (optional), whose tokenizer_class picks the rules (GemmaTokenizer /
 * Siglip2Tokenizer: SG_TOKENIZER_GEMMA; SiglipTokenizer; absent or another class: by the file). A failure of this
 * call is recorded in *err (the caller's record); later calls record theirs in the tokenizer's own
 * err. No tokenizer file: SIGLIP_ENOENT. */
int sg_tokenizer_load(const char *dir, SgError *err, SiglipTokenizer **out);

/* Encodes one text into tok->ids without eos, padding or truncation (the raw token list of the
 * tokenizer's rules converted to ids). */
int sg_tokenizer_encode_text(SiglipTokenizer *tok, const char *text, size_t len);

/* The first text bytes a head encoding tries (then twice as many, and so on). */
#define SG_TOKENIZER_HEAD_BYTES 1024

/* Encodes into tok->ids at least the first `need` ids that sg_tokenizer_encode_text gives for
 * the whole text, encoding only a prefix when tok->head_cuts allows: memory then follows the
 * prefix that decides those ids, not the text. The prefix ends before a space that follows an
 * ASCII letter or digit (the tokenizer's pieces, special tokens and normalizers all keep the two
 * sides of such a space apart, checked at load), and holds more than `need` ids, so that the
 * last one, which a longer text could still extend (a run of unknown characters), is not among
 * them. Without such a cut the whole text is encoded. */
int sg_tokenizer_encode_head(SiglipTokenizer *tok, const char *text, size_t len, size_t need);

#endif /* SG_TOKENIZER_TOKENIZER_H */
