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
    int long_unigram;          /* a long text may be walked in bounded memory (unigram models;
                                * sg_tokenizer_encode_long_segment) */
    size_t max_piece;          /* the longest piece in bytes (at least 4: an unknown character) */
    size_t norm_window;        /* the longest normalizer rule or user-defined piece in bytes
                                * (0 until the first long walk measures it) */
    int max_special_cps;       /* the longest special token in code points */
    size_t whole_max;          /* SG_TOKENIZER_WHOLE_MAX (tests raise it to encode a long text
                                * whole for reference) */
    int long_init;             /* norm_window, pair_cuts and pairs are set (on the first long
                                * text: they cost tens of milliseconds, which loading every
                                * tokenizer need not pay) */
    int pair_cuts;             /* a prefix may also end between two characters that no piece
                                * or special token has side by side (sg_tokenizer_pair_cut) */
    uint64_t *pairs;           /* [pairs_mask + 1] those pairs, (first << 32 | second) + 1, 0 =
                                * empty slot (owned) */
    size_t pairs_mask;
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
/* Input bytes a long segment is normalized and segmented by at a time (the first boundary past
 * each multiple that no normalizer rule spans), and the distance to the next prefix cut past
 * which a unigram tokenizer walks the text in such chunks instead of encoding prefixes whole. */
#define SG_TOKENIZER_CHUNK_BYTES (256u << 10)
/* The longest part of a text that siglip_tokenize_n encodes (or normalizes) at once when no place
 * to cut it comes first: a prefix without a cut (a BPE tokenizer, or a unigram one that cannot
 * walk), or a chunk of a unigram walk without a boundary. Such a part costs up to about 52 bytes of
 * peak memory per text byte (Gemma's BPE; docs/serve-limits.md), so a longer one is refused
 * (SIGLIP_ENOTSUP) instead of encoded: the memory a text costs stays bounded. At least
 * SG_TOKENIZER_CHUNK_BYTES. */
#define SG_TOKENIZER_WHOLE_MAX (1u << 20)
/* Limits of that walk: longer rules or special tokens leave the tokenizer on the whole text. */
#define SG_TOKENIZER_MAX_NORM_WINDOW 64
#define SG_TOKENIZER_MAX_SPECIAL_CPS 256

/* Encodes into tok->ids at least the first `need` ids that sg_tokenizer_encode_text gives for
 * the whole text, encoding only a prefix when tok->head_cuts allows: memory then follows the
 * prefix that decides those ids, not the text. The prefix ends before a space that follows an
 * ASCII letter or digit (the tokenizer's pieces, special tokens and normalizers all keep the two
 * sides of such a space apart, checked at load), and holds more than `need` ids, so that the
 * last one, which a longer text could still extend (a run of unknown characters), is not among
 * them. A unigram tokenizer that can walks a text without such a cut near its start
 * (encode_stream); otherwise a prefix up to tok->whole_max bytes is encoded whole, and a text
 * that would need a longer one is refused: SIGLIP_ENOTSUP (sg_tokenizer_refuse_whole). */
int sg_tokenizer_encode_head(SiglipTokenizer *tok, const char *text, size_t len, size_t need);

/* Appends to out the normalized text (what the segmentation sees) of text[a..b), a part of one
 * segment between special tokens: decoded, SiglipTokenizer's canonicalization (unk_token in
 * front when seg_first) or the Gemma lowercasing, then the model's normalizer. Equal to the
 * corresponding bytes of the whole segment's normalized text when a and b are boundaries that
 * sg_tokenizer_encode_long_segment chose. 0 or SIGLIP_ENOMEM. */
int sg_tokenizer_normalize_range(SiglipTokenizer *tok, const char *text, size_t a, size_t b,
                                 int seg_first, SgBuf *out);

/* longtext.c: sets tok->norm_window, tok->pair_cuts and tok->pairs once (long_init); the long
 * walk is turned off when a normalizer rule is too long for its boundary check. Out of memory
 * only leaves pair cuts off. */
void sg_tokenizer_long_init(SiglipTokenizer *tok);

/* Whether a prefix of the text may end at byte pos (tok->pair_cuts): the characters before and
 * after it are plain (their canonical forms do not depend on context; see longtext.c), no
 * normalizer rule spans pos, and neither the characters as written nor as the model sees them
 * stand side by side in any piece or special token, so no piece of the segmentation (unigram
 * lattice edge or BPE merge) can span pos. */
int sg_tokenizer_pair_cut(const SiglipTokenizer *tok, const char *text, size_t len, size_t pos);

/* longtext.c: appends to tok->ids the ids of the segment text[a..b) (no special token inside)
 * as encode_segment gives them for a unigram model (tok->long_unigram), in memory bounded by a
 * chunk of SG_TOKENIZER_CHUNK_BYTES and not by the segment: the segment is normalized and run
 * through Viterbi chunk by chunk, keeping the lattice's last max_piece nodes at each chunk start;
 * the best path is read back chunk by chunk (each recomputed from its start), or from where all
 * paths that can still win have met. Either all the segment's ids are appended, or more than
 * `need` of its first ones. *added receives how many. 0, SIGLIP_ENOMEM, SIGLIP_E2BIG, or
 * SIGLIP_ENOTSUP with tok->err set when a chunk would exceed tok->whole_max (no boundary). */
int sg_tokenizer_encode_long_segment(SiglipTokenizer *tok, const char *text, size_t a, size_t b,
                                     size_t need, size_t *added);

/* Records in tok->err the refusal of a text whose bytes from..from + len hold no place to cut
 * within tok->whole_max bytes; returns SIGLIP_ENOTSUP. */
int sg_tokenizer_refuse_whole(SiglipTokenizer *tok, size_t from, size_t len);

/* longtext.c: where the segment text[a..b) ends once the run of characters that SiglipTokenizer's
 * canonicalization drops at a segment's end is taken off (ASCII punctuation, whitespace, '▁'): the
 * segment encodes to the same ids without it. b for Siglip2Tokenizer, whose spaces are pieces. */
size_t sg_tokenizer_trim_dropped(const SiglipTokenizer *tok, const char *text, size_t a, size_t b);

#endif /* SG_TOKENIZER_TOKENIZER_H */
