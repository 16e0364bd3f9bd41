/* tokenizer.c — SiglipTokenizer and Siglip2Tokenizer as transformers runs them: special-token
 * splitting; SiglipTokenizer's "▁" prefix, lowercasing, punctuation removal, whitespace collapsing
 * and "<unk>"-prefix trick, or Siglip2Tokenizer's lowercasing; eos, truncation and padding;
 * loading spiece.model / tokenizer.model + tokenizer_config.json; the public API. */
#include "tokenizer/tokenizer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"
#include "context.h"
#include "tokenizer/encoder.h"

/* ---------------------------------------------------------------- encoding one text */

/* Decodes the text (invalid UTF-8 → U+FFFD) into tok->cps as the tokenizer sees it; for
 * SiglipTokenizer.tokenize() every '▁' is turned into a space, then one '▁' put in front when
 * text is where the whole text starts (at_start). */
static int decode_text(SiglipTokenizer *tok, const char *text, size_t len, int at_start)
{
    SgBuf *b = &tok->cps;
    b->len = 0;
    if (sg_buf_reserve(b, (len + 1) * sizeof(uint32_t)) != 0)
        return SIGLIP_ENOMEM;
    uint32_t *cps = (uint32_t *)(void *)b->data;
    size_t n = 0;
    int siglip = tok->kind == SG_TOKENIZER_SIGLIP;
    if (siglip && at_start)
        cps[n++] = SG_SPIECE_UNDERLINE;
    for (size_t i = 0; i < len;) {
        uint32_t cp = sg_utf8_next((const unsigned char *)text, len, &i);
        cps[n++] = siglip && cp == SG_SPIECE_UNDERLINE ? ' ' : cp;
    }
    b->len = n * sizeof(uint32_t);
    return 0;
}

static int push_utf8(SgBuf *b, uint32_t cp)
{
    if (sg_buf_reserve(b, 4) != 0)
        return SIGLIP_ENOMEM;
    b->len += (size_t)sg_utf8_put(cp, b->data + b->len);
    return 0;
}

/* Siglip2Tokenizer's normalizer before the model: tok->segment = lower(segment) in UTF-8 (its
 * spaces become "▁" in the SentencePiece normalizer). The tokenizers library's Lowercase lowers
 * each character on its own: a word-final Σ becomes σ, not Python's ς. */
static int lowercase(SiglipTokenizer *tok, const uint32_t *seg, size_t n)
{
    SgBuf *out = &tok->segment;
    out->len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t lowered[2] = {seg[i], 0};
        int n_lowered = tok->do_lower_case ? sg_lower_char(seg[i], lowered) : 1;
        for (int k = 0; k < n_lowered; k++)
            if (push_utf8(out, lowered[k]) != 0)
                return SIGLIP_ENOMEM;
    }
    return 0;
}

/* tok->segment = unk_token + canonicalize(lower(segment)): ASCII punctuation removed, each run
 * of whitespace one space, both ends stripped; without unk_token unless with_unk. */
static int canonicalize(SiglipTokenizer *tok, const uint32_t *seg, size_t n, int with_unk)
{
    SgBuf *out = &tok->segment;
    size_t unk_len = with_unk ? strlen(tok->unk_token) : 0;
    out->len = 0;
    if (sg_buf_reserve(out, unk_len) != 0)
        return SIGLIP_ENOMEM;
    memcpy(out->data, tok->unk_token, unk_len);
    out->len = unk_len;
    int pending_space = 0, emitted = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t lowered[2] = {seg[i], 0};
        int n_lowered = tok->do_lower_case ? sg_py_lower_at(seg, n, i, lowered) : 1;
        for (int k = 0; k < n_lowered; k++) {
            uint32_t cp = lowered[k];
            if (sg_is_ascii_punct(cp))
                continue;
            if (sg_py_isspace(cp)) {
                pending_space = emitted;
                continue;
            }
            if ((pending_space && push_utf8(out, ' ') != 0) || push_utf8(out, cp) != 0)
                return SIGLIP_ENOMEM;
            pending_space = 0;
            emitted = 1;
        }
    }
    return 0;
}

static int push_id(SgBuf *b, int32_t id)
{
    if (sg_buf_reserve(b, sizeof id) != 0)
        return SIGLIP_ENOMEM;
    memcpy(b->data + b->len, &id, sizeof id);
    b->len += sizeof id;
    return 0;
}

/* One segment between special tokens: SiglipTokenizer._tokenize encodes unk_token + segment and
 * drops the pieces unk_token alone gives; Siglip2Tokenizer encodes the lowercased segment.
 * *n_added receives the number of ids appended. */
static int encode_segment(SiglipTokenizer *tok, const uint32_t *seg, size_t n, size_t *n_added)
{
    *n_added = 0;
    int siglip = tok->kind == SG_TOKENIZER_SIGLIP;
    int rc = siglip ? canonicalize(tok, seg, n, 1) : lowercase(tok, seg, n);
    const int32_t *ids;
    size_t n_ids;
    if (rc == 0)
        rc = sg_encoder_encode(tok->enc, tok->segment.data, tok->segment.len, &tok->sp_scratch,
                               &ids, &n_ids);
    if (rc != 0)
        return rc;
    size_t skip = siglip && n_ids >= (size_t)tok->unk_prefix_pieces
                      ? (size_t)tok->unk_prefix_pieces : 0;
    if (sg_buf_reserve(&tok->ids, (n_ids - skip) * sizeof(int32_t)) != 0)
        return SIGLIP_ENOMEM;
    memcpy(tok->ids.data + tok->ids.len, ids + skip, (n_ids - skip) * sizeof(int32_t));
    tok->ids.len += (n_ids - skip) * sizeof(int32_t);
    *n_added = n_ids - skip;
    return 0;
}

/* The longest special token starting at cps[i] (NULL when none), as transformers' Trie.split. */
static const SgSpecialToken *special_at(const SiglipTokenizer *tok, const uint32_t *cps,
                                        size_t n, size_t i)
{
    const SgSpecialToken *best = NULL;
    uint32_t c = cps[i] & (SG_SPECIAL_FIRST_BITS - 1);
    if (!(tok->special_first[c / 64] >> (c % 64) & 1))
        return NULL; /* no special token starts with this character */
    for (int k = 0; k < tok->n_specials; k++) {
        const SgSpecialToken *s = &tok->specials[k];
        if (s->n_cps <= n - i && cps[i] == s->cps[0] &&
            memcmp(cps + i, s->cps, s->n_cps * sizeof *cps) == 0 &&
            (!best || s->n_cps > best->n_cps))
            best = s;
    }
    return best;
}

/* After a segment that ended with status rc: appends the special token that follows it (NULL:
 * none) and turns a failure into the tokenizer's message. */
static int after_segment(SiglipTokenizer *tok, int rc, const SgSpecialToken *special)
{
    if (rc == 0 && special)
        rc = push_id(&tok->ids, special->id);
    if (rc == SIGLIP_E2BIG)
        return sg_fail(&tok->err, rc, "text too long to tokenize");
    if (rc == SIGLIP_ENOTSUP) /* sg_tokenizer_refuse_whole's message */
        return rc;
    if (rc != 0)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory tokenizing");
    return 0;
}

/* SiglipTokenizer.tokenize drops a lone leading "▁" piece that precedes a special token (the
 * first segment gave first_segment_ids ids; SIZE_MAX when the text starts with a special). */
static void drop_lone_underline(SiglipTokenizer *tok, size_t first_segment_ids)
{
    int32_t *ids = (int32_t *)(void *)tok->ids.data;
    size_t n_ids = tok->ids.len / sizeof *ids;
    if (tok->kind == SG_TOKENIZER_SIGLIP && first_segment_ids == 1 && n_ids > 1 &&
        ids[0] == tok->underline_id) {
        memmove(ids, ids + 1, (n_ids - 1) * sizeof *ids);
        tok->ids.len -= sizeof *ids;
    }
}

int sg_tokenizer_encode_text(SiglipTokenizer *tok, const char *text, size_t len)
{
    tok->ids.len = 0;
    /* never NULL, even when no id comes (an empty text under the Gemma rules; found by
     * fuzz/fuzz_tokenizer) */
    if (sg_buf_reserve(&tok->ids, sizeof(int32_t)) != 0)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory tokenizing");
    if (len > SG_TOKENIZER_MAX_TEXT_BYTES)
        return sg_fail(&tok->err, SIGLIP_E2BIG, "text of %zu bytes exceeds the %u accepted", len,
                       SG_TOKENIZER_MAX_TEXT_BYTES);
    if (decode_text(tok, text, len, 1) != 0)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory tokenizing");
    const uint32_t *cps = (const uint32_t *)(const void *)tok->cps.data;
    size_t n = tok->cps.len / sizeof *cps;
    size_t seg_start = 0, first_segment_ids = SIZE_MAX;
    for (size_t i = 0; i <= n;) {
        const SgSpecialToken *special = i < n ? special_at(tok, cps, n, i) : NULL;
        if (!special && i < n) {
            i++;
            continue;
        }
        int rc = 0;
        if (i > seg_start) {
            size_t added;
            rc = encode_segment(tok, cps + seg_start, i - seg_start, &added);
            if (seg_start == 0)
                first_segment_ids = added;
        }
        if ((rc = after_segment(tok, rc, special)) != 0)
            return rc;
        if (!special)
            break;
        i += special->n_cps;
        seg_start = i;
    }
    drop_lone_underline(tok, first_segment_ids);
    return 0;
}

static int is_ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* The first position at or after `from` where a prefix may end (a space after an ASCII letter
 * or digit, when tok->head_cuts; a pair cut, when tok->pair_cuts), or len; len also when there is
 * none up to `stop` (the search ends there: a later cut makes too long a prefix). */
static size_t next_cut(const SiglipTokenizer *tok, const char *text, size_t len, size_t from,
                       size_t stop)
{
    for (size_t i = from > 0 ? from : 1; i < len && i <= stop; i++) {
        if (tok->head_cuts && text[i] == ' ' && is_ascii_alnum((unsigned char)text[i - 1]))
            return i;
        if (tok->pair_cuts && sg_tokenizer_pair_cut(tok, text, len, i))
            return i;
    }
    return len;
}

int sg_tokenizer_normalize_range(SiglipTokenizer *tok, const char *text, size_t a, size_t b,
                                 int seg_first, SgBuf *out)
{
    int rc = decode_text(tok, text + a, b - a, a == 0);
    const uint32_t *cps = (const uint32_t *)(const void *)tok->cps.data;
    size_t n = tok->cps.len / sizeof *cps;
    if (rc == 0)
        rc = tok->kind == SG_TOKENIZER_SIGLIP ? canonicalize(tok, cps, n, seg_first)
                                              : lowercase(tok, cps, n);
    SgBuf *norm = &tok->sp_scratch.normalized;
    if (rc == 0)
        rc = tok->enc->kind->normalize(tok->enc, tok->segment.data, tok->segment.len, norm);
    if (rc == 0)
        rc = sg_buf_reserve(out, norm->len);
    if (rc != 0)
        return SIGLIP_ENOMEM;
    memcpy(out->data + out->len, norm->data, norm->len);
    out->len += norm->len;
    return 0;
}

/* The first special token at or after byte `from` of the text, as sg_tokenizer_encode_text's
 * scan over the decoded text finds it (NULL when none): *at receives its first byte (len when
 * none), *n_bytes its length in the text. window has room for tok->max_special_cps + 1 code
 * points. Decodes only the few characters a match needs. */
static const SgSpecialToken *next_special(const SiglipTokenizer *tok, const char *text,
                                          size_t len, size_t from, size_t *at, size_t *n_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t window[SG_TOKENIZER_MAX_SPECIAL_CPS + 1];
    size_t ends[SG_TOKENIZER_MAX_SPECIAL_CPS + 1];
    int siglip = tok->kind == SG_TOKENIZER_SIGLIP;
    for (size_t i = from; i < len;) {
        size_t next = i;
        uint32_t cp = sg_utf8_next(s, len, &next);
        uint32_t c = (siglip && cp == SG_SPIECE_UNDERLINE ? ' ' : cp) & (SG_SPECIAL_FIRST_BITS - 1);
        if (tok->special_first[c / 64] >> (c % 64) & 1) {
            size_t n = 0;
            for (size_t j = i; j < len && n < (size_t)tok->max_special_cps; n++) {
                uint32_t w = sg_utf8_next(s, len, &j);
                window[n] = siglip && w == SG_SPIECE_UNDERLINE ? ' ' : w;
                ends[n] = j;
            }
            const SgSpecialToken *sp = special_at(tok, window, n, 0);
            if (sp) {
                *at = i;
                *n_bytes = ends[sp->n_cps - 1] - i;
                return sp;
            }
        }
        i = next;
    }
    *at = len;
    *n_bytes = 0;
    return NULL;
}

/* sg_tokenizer_encode_head for a unigram tokenizer and a text without a prefix cut near its
 * start: the text is walked segment by segment (between special tokens) without decoding it
 * whole, a long segment in bounded memory (sg_tokenizer_encode_long_segment), until more than
 * need + 1 ids are known (one more than needed, so that SiglipTokenizer's lone-"▁" rule, which
 * looks at the first segment's count, cannot change the first need ids). */
static int encode_stream(SiglipTokenizer *tok, const char *text, size_t len, size_t need)
{
    tok->ids.len = 0;
    if (sg_buf_reserve(&tok->ids, sizeof(int32_t)) != 0)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory tokenizing");
    size_t first_segment_ids = SIZE_MAX;
    int siglip = tok->kind == SG_TOKENIZER_SIGLIP;
    for (size_t pos = 0;;) {
        size_t at, n_bytes;
        const SgSpecialToken *special = next_special(tok, text, len, pos, &at, &n_bytes);
        int rc = 0;
        /* A run that SiglipTokenizer drops at the segment's end (only "!" or only spaces) is
         * never decoded: it could be the whole text. */
        size_t end = sg_tokenizer_trim_dropped(tok, text, pos, at);
        /* SiglipTokenizer's "▁" in front makes a first segment even before a special token. */
        if (end > pos || (pos == 0 && siglip)) {
            size_t added, have = tok->ids.len / sizeof(int32_t);
            if (end - pos > SG_TOKENIZER_CHUNK_BYTES) {
                rc = sg_tokenizer_encode_long_segment(tok, text, pos, end,
                                                      need + 1 > have ? need + 1 - have : 0,
                                                      &added);
            } else {
                rc = decode_text(tok, text + pos, end - pos, pos == 0);
                if (rc == 0)
                    rc = encode_segment(tok, (const uint32_t *)(const void *)tok->cps.data,
                                        tok->cps.len / sizeof(uint32_t), &added);
            }
            if (pos == 0)
                first_segment_ids = added;
        }
        if ((rc = after_segment(tok, rc, special)) != 0)
            return rc;
        if (!special || tok->ids.len / sizeof(int32_t) > need + 1)
            break;
        pos = at + n_bytes;
    }
    drop_lone_underline(tok, first_segment_ids);
    return 0;
}

int sg_tokenizer_encode_head(SiglipTokenizer *tok, const char *text, size_t len, size_t need)
{
    if (len <= SG_TOKENIZER_HEAD_BYTES || len > SG_TOKENIZER_MAX_TEXT_BYTES)
        return sg_tokenizer_encode_text(tok, text, len);
    sg_tokenizer_long_init(tok);
    for (size_t want = SG_TOKENIZER_HEAD_BYTES;; want *= 2) {
        size_t end = next_cut(tok, text, len, want, tok->whole_max);
        /* No cut near, or a prefix that long still short of ids (a run of unknown characters
         * is one): a unigram tokenizer walks the text in bounded memory instead. */
        if (tok->long_unigram && end > SG_TOKENIZER_CHUNK_BYTES)
            return encode_stream(tok, text, len, need);
        /* Others would encode that prefix whole: past whole_max it costs too much memory. */
        if (end > tok->whole_max)
            return tok->ids.len = 0, sg_tokenizer_refuse_whole(tok, 0, len);
        int rc = sg_tokenizer_encode_text(tok, text, end);
        if (rc != 0 || end == len || tok->ids.len / sizeof(int32_t) > need)
            return rc;
        want = end; /* doubled from the cut: each pass at least twice the last */
    }
}

/* encode_head walks a unigram text once its next cut lies past SG_TOKENIZER_CHUNK_BYTES, which
 * the search up to whole_max must reach: a smaller cap would refuse such texts instead. */
_Static_assert(SG_TOKENIZER_WHOLE_MAX >= SG_TOKENIZER_CHUNK_BYTES,
               "SG_TOKENIZER_WHOLE_MAX below SG_TOKENIZER_CHUNK_BYTES");

int sg_tokenizer_refuse_whole(SiglipTokenizer *tok, size_t from, size_t len)
{
    const double mib = 1024.0 * 1024.0;
    return sg_fail(&tok->err, SIGLIP_ENOTSUP,
                   "bytes %zu to %zu (%.1f MiB) hold no place where the tokenizer may split the "
                   "text (such as a space after a letter or digit) within %.1f MiB, so its first "
                   "tokens are not decided there; such texts are tokenized up to %.1f MiB",
                   from, from + len, (double)len / mib, (double)tok->whole_max / mib,
                   (double)tok->whole_max / mib);
}

/* Whether a text's prefix that ends before a space following an ASCII letter or digit encodes to
 * the first ids of the whole text (sg_tokenizer_encode_head): no piece contains such a letter or
 * digit followed by a space ("▁" or " "), so no piece spans the cut (the unigram lattice and BPE
 * merges see the sides apart); no special token contains a space; no charsmap rule or Replace
 * normalizer matches across it; the Split pre-tokenizer's pattern holds no letter or digit; and
 * a word is not looked up whole (ignore_merges) when the space would join the word before it.
 * Lowercasing, punctuation removal and whitespace collapsing stop at a space. */
static int head_cuts_hold(const SiglipTokenizer *tok)
{
    const SgSpModel *m = tok->sp;
    for (int id = 0; id < m->n_pieces; id++) {
        size_t len;
        const unsigned char *p = sg_sp_piece_text(m, id, &len);
        for (size_t i = 0; i + 1 < len; i++)
            if (is_ascii_alnum(p[i]) &&
                (p[i + 1] == ' ' || (i + 3 < len && !memcmp(p + i + 1, "\xE2\x96\x81", 3))))
                return 0;
    }
    for (int k = 0; k < tok->n_specials; k++)
        for (size_t i = 0; i < tok->specials[k].n_cps; i++)
            if (tok->specials[k].cps[i] == ' ')
                return 0;
    for (int c = 0; c < 128; c++) {
        unsigned char pair[2] = {(unsigned char)c, ' '};
        const char *repl;
        size_t repl_len;
        if (is_ascii_alnum((unsigned char)c) &&
            sg_charsmap_match(&m->normalizer.charsmap, pair, 2, &repl, &repl_len) > 1)
            return 0;
    }
    const SgHfModel *hf = tok->enc->hf;
    for (int k = 0; hf && k < hf->n_norms; k++) {
        const char *from = hf->norms[k].from;
        for (size_t i = 0; hf->norms[k].kind == SG_HF_REPLACE && from && from[i] && from[i + 1];
             i++)
            if (is_ascii_alnum((unsigned char)from[i]) && from[i + 1] == ' ')
                return 0;
    }
    if (hf && hf->split != SG_HF_SPLIT_NONE) {
        for (const char *c = hf->split_pattern; c && *c; c++)
            if (is_ascii_alnum((unsigned char)*c))
                return 0;
        if (hf->ignore_merges && hf->split == SG_HF_SPLIT_MERGED_PREV)
            return 0;
    }
    return 1;
}

/* Appends eos: SiglipTokenizer unless the ids already end with it (_add_eos_if_not_present);
 * Siglip2Tokenizer always (its post-processor template "$A <eos>"). */
static size_t finish_ids(const SiglipTokenizer *tok, int32_t *ids, size_t n)
{
    if (tok->kind == SG_TOKENIZER_GEMMA || n == 0 || ids[n - 1] != tok->eos_id)
        ids[n++] = tok->eos_id;
    return n;
}

/* ---------------------------------------------------------------- loading */

/* A token setting: a string, or an AddedToken object {"content": ...}. */
static const char *token_text(const cJSON *item)
{
    if (cJSON_IsString(item))
        return item->valuestring;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
    return cJSON_IsString(content) ? content->valuestring : NULL;
}

static int set_string(char **dst, const char *src)
{
    char *copy = strdup(src);
    if (!copy)
        return SIGLIP_ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

typedef struct TokenNames {
    char *eos, *unk, *pad, *bos, *mask; /* bos, mask: Siglip2Tokenizer only */
    const cJSON *added; /* added_tokens_decoder, or NULL */
    const cJSON *extra[2]; /* additional_special_tokens, extra_special_tokens */
} TokenNames;

/* An added token's id: added_tokens_decoder first, then the SentencePiece vocabulary. */
static int32_t token_id(const SiglipTokenizer *tok, const cJSON *added, const char *text)
{
    const cJSON *entry;
    cJSON_ArrayForEach(entry, added)
    {
        const char *content = token_text(entry);
        char *end;
        long id = strtol(entry->string ? entry->string : "", &end, 10);
        if (content && strcmp(content, text) == 0 && *end == '\0' && id >= 0 && id <= INT32_MAX)
            return (int32_t)id;
    }
    return sg_sp_piece_to_id(tok->sp, (const unsigned char *)text, strlen(text));
}

static int add_special(SiglipTokenizer *tok, const cJSON *added, const char *text)
{
    if (!text || !*text)
        return 0;
    size_t len = strlen(text);
    for (int k = 0; k < tok->n_specials; k++) { /* already there? */
        const SgSpecialToken *s = &tok->specials[k];
        size_t i = 0, j = 0;
        while (i < len && j < s->n_cps && sg_utf8_next((const unsigned char *)text, len, &i) == s->cps[j])
            j++;
        if (i == len && j == s->n_cps)
            return 0;
    }
    if (tok->n_specials == SG_TOKENIZER_MAX_SPECIALS)
        return sg_fail(&tok->err, SIGLIP_ENOTSUP, "more than %d special tokens",
                       SG_TOKENIZER_MAX_SPECIALS);
    SgSpecialToken *grown = realloc(tok->specials, (size_t)(tok->n_specials + 1) * sizeof *grown);
    if (!grown)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    tok->specials = grown;
    SgSpecialToken *s = &tok->specials[tok->n_specials];
    uint32_t first = sg_utf8_next((const unsigned char *)text, len, &(size_t){0}) &
                     (SG_SPECIAL_FIRST_BITS - 1);
    tok->special_first[first / 64] |= 1ull << (first % 64);
    s->cps = malloc(len * sizeof *s->cps);
    if (!s->cps)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    s->n_cps = 0;
    for (size_t i = 0; i < len;)
        s->cps[s->n_cps++] = sg_utf8_next((const unsigned char *)text, len, &i);
    s->id = token_id(tok, added, text);
    tok->n_specials++;
    return 0;
}

/* tokenizer_class → rules: Gemma's classes are run as Siglip2Tokenizer (transformers maps the
 * SigLIP 2 checkpoints' "GemmaTokenizer" to it), SiglipTokenizer as itself; any other class keeps
 * the rules the tokenizer file implies. */
static void read_class(SiglipTokenizer *tok, const cJSON *cfg)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "tokenizer_class");
    if (!cJSON_IsString(v))
        return;
    static const char *const gemma[] = {"GemmaTokenizer", "GemmaTokenizerFast",
                                        "Siglip2Tokenizer"};
    static const char *const siglip[] = {"SiglipTokenizer", "SiglipTokenizerFast"};
    for (size_t k = 0; k < sizeof gemma / sizeof *gemma; k++)
        if (strcmp(v->valuestring, gemma[k]) == 0)
            tok->kind = SG_TOKENIZER_GEMMA;
    for (size_t k = 0; k < sizeof siglip / sizeof *siglip; k++)
        if (strcmp(v->valuestring, siglip[k]) == 0)
            tok->kind = SG_TOKENIZER_SIGLIP;
}

static int read_config(SiglipTokenizer *tok, const cJSON *cfg, TokenNames *names)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "model_max_length");
    /* Absent, or transformers' "very large integer" placeholder: keep SiglipTokenizer's 64. */
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 1e6)
        tok->max_length = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(cfg, "do_lower_case");
    if (cJSON_IsBool(v))
        tok->do_lower_case = cJSON_IsTrue(v);
    /* absent: the class's default (read_class ran), as transformers takes it: Siglip2Tokenizer's
     * class attribute is "left", SiglipTokenizer keeps the base class's "right" */
    v = cJSON_GetObjectItemCaseSensitive(cfg, "padding_side");
    tok->pad_left = cJSON_IsString(v) ? strcmp(v->valuestring, "left") == 0
                                      : tok->kind == SG_TOKENIZER_GEMMA;
    struct { const char *key; char **dst; } keys[] = {
        {"eos_token", &names->eos}, {"unk_token", &names->unk}, {"pad_token", &names->pad},
        {"bos_token", &names->bos}, {"mask_token", &names->mask}};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        const char *text = token_text(cJSON_GetObjectItemCaseSensitive(cfg, keys[k].key));
        if (text && *text && set_string(keys[k].dst, text) != 0)
            return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    }
    names->added = cJSON_GetObjectItemCaseSensitive(cfg, "added_tokens_decoder");
    names->extra[0] = cJSON_GetObjectItemCaseSensitive(cfg, "additional_special_tokens");
    names->extra[1] = cJSON_GetObjectItemCaseSensitive(cfg, "extra_special_tokens");
    return 0;
}

static int load_config(SiglipTokenizer *tok, const char *dir, TokenNames *names, cJSON **cfg)
{
    char *path = sg_path_join(dir, "tokenizer_config.json");
    if (!path)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory");
    int rc = 0;
    if (sg_file_exists(path)) {
        char *text;
        size_t size;
        rc = sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, &tok->err);
        if (rc == 0) {
            *cfg = cJSON_ParseWithLength(text, size);
            free(text);
            if (!*cfg || !cJSON_IsObject(*cfg))
                rc = sg_fail(&tok->err, SIGLIP_EBADMSG, "%s is not a JSON object", path);
            else {
                read_class(tok, *cfg);
                rc = read_config(tok, *cfg, names);
            }
        }
    }
    free(path);
    return rc;
}

/* Special tokens and ids, the unk-prefix length, the "▁" piece. */
static int resolve_tokens(SiglipTokenizer *tok, TokenNames *names)
{
    int rc = set_string(&tok->unk_token, names->unk);
    if (rc != 0)
        return sg_fail(&tok->err, rc, "out of memory loading the tokenizer");
    const char *core[] = {names->eos, names->unk, names->pad, names->bos, names->mask};
    size_t n_core = tok->kind == SG_TOKENIZER_GEMMA ? 5 : 3;
    for (size_t k = 0; k < n_core && rc == 0; k++)
        rc = add_special(tok, names->added, core[k]);
    for (int e = 0; e < 2 && rc == 0; e++) {
        const cJSON *item;
        cJSON_ArrayForEach(item, names->extra[e])
        {
            if (rc == 0)
                rc = add_special(tok, names->added, token_text(item));
        }
    }
    const cJSON *entry; /* every added token is split out, special or not */
    cJSON_ArrayForEach(entry, names->added)
    {
        if (rc == 0)
            rc = add_special(tok, names->added, token_text(entry));
    }
    const SgHfModel *hf = tok->enc->hf; /* tokenizer.json's added_tokens likewise */
    for (int k = 0; hf && k < hf->n_added && rc == 0; k++)
        rc = add_special(tok, names->added, hf->added[k]);
    if (rc != 0)
        return rc;
    tok->eos_id = token_id(tok, names->added, names->eos);
    tok->unk_id = token_id(tok, names->added, names->unk);
    tok->pad_id = token_id(tok, names->added, names->pad);
    if (tok->kind == SG_TOKENIZER_GEMMA)
        return 0;
    const int32_t *ids;
    size_t n_ids;
    rc = sg_encoder_encode(tok->enc, (const unsigned char *)tok->unk_token,
                           strlen(tok->unk_token), &tok->sp_scratch, &ids, &n_ids);
    if (rc != 0)
        return sg_fail(&tok->err, rc, "out of memory loading the tokenizer");
    tok->unk_prefix_pieces = (int)n_ids;
    int32_t underline = sg_sp_piece_to_id(tok->sp, (const unsigned char *)"\xE2\x96\x81", 3);
    tok->underline_id = underline == tok->sp->unk_id ? -1 : underline;
    return 0;
}

static int load_spiece(SiglipTokenizer *tok, const char *dir, const char *file)
{
    char *path = sg_path_join(dir, file);
    if (!path)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory");
    char *data = NULL;
    size_t size = 0;
    int rc = sg_read_file(path, SG_TOKENIZER_MAX_BYTES, &data, &size, &tok->err);
    if (rc == 0) {
        rc = sg_encoder_load(&tok->enc, strcmp(file, "tokenizer.json") == 0
                                 ? SG_ENCODER_TOKENIZER_JSON : SG_ENCODER_SPIECE,
                             data, size, &tok->err);
        if (rc != 0)
            sg_error_prefix(&tok->err, "loading %s: ", path);
        else
            tok->sp = tok->enc->sp;
    }
    free(data);
    free(path);
    if (rc == 0) {
        /* SiglipTokenizer.get_spm_processor; Siglip2Tokenizer's normalizer (lowercase, " " → "▁")
         * neither adds a prefix nor drops spaces, whatever the Gemma model file says. */
        tok->sp->normalizer.add_dummy_prefix = 0;
        if (tok->kind == SG_TOKENIZER_GEMMA)
            tok->sp->normalizer.remove_extra_whitespaces = 0;
    }
    return rc;
}

/* The tokenizer file of dir into *file (NULL when it has none): a SentencePiece model when there
 * is one (the ids python3-sentencepiece gives are the reference), tokenizer.json when it is the
 * only file. SIGLIP_ENOMEM when a path cannot be built: an allocation failure is not a missing
 * file. */
static int tokenizer_file(const char *dir, const char **file)
{
    static const char *const files[] = {"spiece.model", "tokenizer.model", "tokenizer.json"};
    *file = NULL;
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char *path = sg_path_join(dir, files[k]);
        if (!path)
            return SIGLIP_ENOMEM;
        int has = sg_file_exists(path);
        free(path);
        if (has) {
            *file = files[k];
            break;
        }
    }
    return SIGLIP_OK;
}

int sg_tokenizer_exists(const char *dir)
{
    const char *file;
    int rc = tokenizer_file(dir, &file);
    return rc != SIGLIP_OK ? rc : file != NULL;
}

static int set_default_names(SiglipTokenizer *tok, TokenNames *names)
{
    int gemma = tok->kind == SG_TOKENIZER_GEMMA;
    if (set_string(&names->eos, gemma ? "<eos>" : "</s>") != 0 ||
        set_string(&names->unk, "<unk>") != 0 ||
        set_string(&names->pad, gemma ? "<pad>" : "</s>") != 0 ||
        (gemma && (set_string(&names->bos, "<bos>") != 0 ||
                   set_string(&names->mask, "<mask>") != 0)))
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    return 0;
}

/* What walking a long text in bounded memory (encode_stream) needs and whether it may: a
 * SentencePiece unigram model without byte fallback (the ids of a segment are its pieces', runs
 * of unknown ones merged); special tokens of at most SG_TOKENIZER_MAX_SPECIAL_CPS code points;
 * and, for SiglipTokenizer, no special token with a "▁" (the text's own turn into spaces, so only
 * the "▁" put in front could match one, which the walk does not look at). The normalizer's
 * longest rule is measured on the first walk (long_text_window). */
static void long_text_limits(SiglipTokenizer *tok)
{
    const SgSpModel *m = tok->sp;
    size_t longest = 4; /* an unknown character spans up to 4 bytes */
    for (int id = 0; id < m->n_pieces; id++)
        longest = m->pieces[id].len > longest ? m->pieces[id].len : longest;
    tok->max_piece = longest;
    int ok = !tok->enc->hf && m->model_type == SG_MODEL_UNIGRAM && !m->byte_fallback &&
             longest < (1u << 20);
    tok->max_special_cps = 1;
    for (int k = 0; k < tok->n_specials; k++) {
        const SgSpecialToken *sp = &tok->specials[k];
        if (sp->n_cps > (size_t)tok->max_special_cps)
            tok->max_special_cps = (int)(sp->n_cps < INT_MAX ? sp->n_cps : INT_MAX);
        for (size_t i = 0; i < sp->n_cps; i++)
            if (tok->kind == SG_TOKENIZER_SIGLIP && sp->cps[i] == SG_SPIECE_UNDERLINE)
                ok = 0;
    }
    tok->long_unigram = ok && tok->max_special_cps <= SG_TOKENIZER_MAX_SPECIAL_CPS;
}

int sg_tokenizer_load(const char *dir, SgError *err, SiglipTokenizer **out)
{
    *out = NULL;
    SiglipTokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    tok->max_length = 64;
    tok->do_lower_case = 1;
    tok->whole_max = SG_TOKENIZER_WHOLE_MAX;
    TokenNames names = {0};
    cJSON *cfg = NULL;
    const char *file = NULL;
    int rc = tokenizer_file(dir, &file);
    if (rc != 0)
        rc = sg_fail(&tok->err, rc, "out of memory looking for the tokenizer in %s", dir);
    else if (!file)
        rc = sg_fail(&tok->err, SIGLIP_ENOENT,
                     "%s has no tokenizer (spiece.model, tokenizer.model or tokenizer.json)", dir);
    /* The file decides the rules unless tokenizer_config.json names the class: spiece.model is
     * SiglipTokenizer's, the others Siglip2Tokenizer's (Gemma). */
    tok->kind = file && strcmp(file, "spiece.model") != 0 ? SG_TOKENIZER_GEMMA
                                                          : SG_TOKENIZER_SIGLIP;
    tok->pad_left = tok->kind == SG_TOKENIZER_GEMMA; /* the class's side; the config may name one */
    if (rc == 0)
        rc = load_config(tok, dir, &names, &cfg);
    /* Names the config left out take the class's defaults. */
    TokenNames given = names;
    memset(&names, 0, sizeof names);
    if (rc == 0)
        rc = set_default_names(tok, &names);
    char **slots[] = {&names.eos, &names.unk, &names.pad, &names.bos, &names.mask};
    char *values[] = {given.eos, given.unk, given.pad, given.bos, given.mask};
    for (size_t k = 0; k < 5; k++) {
        if (values[k]) {
            free(*slots[k]);
            *slots[k] = values[k];
        }
    }
    names.added = given.added;
    names.extra[0] = given.extra[0];
    names.extra[1] = given.extra[1];
    if (rc == 0)
        rc = load_spiece(tok, dir, file);
    if (rc == 0)
        rc = resolve_tokens(tok, &names);
    if (rc == 0) {
        tok->head_cuts = head_cuts_hold(tok);
        long_text_limits(tok);
    }
    cJSON_Delete(cfg);
    for (size_t k = 0; k < 5; k++)
        free(*slots[k]);
    if (rc != 0) {
        sg_error_pass(err, &tok->err);
        siglip_tokenizer_free(&tok);
        return rc;
    }
    sg_error_clear(&tok->err);
    *out = tok;
    return 0;
}

/* ---------------------------------------------------------------- public API */

int siglip_tokenizer_load(SiglipContext *ctx, const char *dir, SiglipTokenizer **out)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!dir || !out)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL, "siglip_tokenizer_load: NULL argument");
    return sg_tokenizer_load(dir, sg_ctx_err(ctx), out);
}

void siglip_tokenizer_free(SiglipTokenizer **tok)
{
    if (!tok || !*tok)
        return;
    SiglipTokenizer *t = *tok;
    sg_encoder_free(&t->enc);
    free(t->unk_token);
    for (int k = 0; k < t->n_specials; k++)
        free(t->specials[k].cps);
    free(t->specials);
    sg_buf_free(&t->cps);
    sg_buf_free(&t->segment);
    sg_buf_free(&t->ids);
    sg_sp_scratch_free(&t->sp_scratch);
    free(t->pairs);
    free(t);
    *tok = NULL;
}

const char *siglip_tokenizer_error(const SiglipTokenizer *tok)
{
    return tok ? tok->err.message : "";
}

int siglip_tokenizer_max_length(const SiglipTokenizer *tok)
{
    return tok ? tok->max_length : 0;
}

/* Frees the scratch buffers a long text grew past 1 MiB, so that the memory goes back after the
 * call instead of staying with the tokenizer (a service's tokenizers live as long as it does). */
static void trim_scratch(SiglipTokenizer *tok)
{
    SgBuf *bufs[] = {&tok->cps, &tok->segment, &tok->ids, &tok->sp_scratch.normalized,
                     &tok->sp_scratch.lattice, &tok->sp_scratch.path, &tok->sp_scratch.ids,
                     &tok->sp_scratch.symbols, &tok->sp_scratch.agenda, &tok->sp_scratch.splits};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++)
        if (bufs[k]->cap > (1u << 20))
            sg_buf_free(bufs[k]);
}

int siglip_tokenize(SiglipTokenizer *tok, const char *const *texts, int n, int max_length,
                    int32_t *ids, int32_t *mask)
{
    return siglip_tokenize_n(tok, texts, NULL, n, max_length, ids, mask);
}

int siglip_tokenize_n(SiglipTokenizer *tok, const char *const *texts, const size_t *lengths,
                      int n, int max_length, int32_t *ids, int32_t *mask)
{
    if (!tok)
        return SIGLIP_EINVAL;
    if (!texts || !ids || n <= 0)
        return sg_fail(&tok->err, SIGLIP_EINVAL, "siglip_tokenize: %s",
                       n <= 0 ? "batch must be at least 1" : "NULL argument");
    if (n > SIGLIP_MAX_BATCH)
        return sg_fail(&tok->err, SIGLIP_E2BIG, "siglip_tokenize: %d texts exceed SIGLIP_MAX_BATCH "
                       "(%d)", n, SIGLIP_MAX_BATCH);
    size_t len_max = max_length > 0 ? (size_t)max_length : (size_t)tok->max_length;
    for (int t = 0; t < n; t++) {
        if (!texts[t])
            return sg_fail(&tok->err, SIGLIP_EINVAL, "siglip_tokenize: text %d is NULL", t);
        /* Only the first len_max - 1 ids are kept (eos goes last). */
        int rc = sg_tokenizer_encode_head(tok, texts[t], lengths ? lengths[t] : strlen(texts[t]),
                                          len_max - 1);
        if (rc != 0) {
            sg_error_prefix(&tok->err, "siglip_tokenize: text %d: ", t);
            return trim_scratch(tok), rc;
        }
        const int32_t *enc = (const int32_t *)(const void *)tok->ids.data;
        size_t n_enc = tok->ids.len / sizeof *enc;
        if (n_enc + 1 > len_max) /* truncation leaves room for eos */
            n_enc = len_max - 1;
        int32_t *row = ids + (size_t)t * len_max;
        memcpy(row, enc, n_enc * sizeof *row);
        size_t n_row = finish_ids(tok, row, n_enc);
        size_t first = tok->pad_left ? len_max - n_row : 0; /* where the tokens start */
        if (first)
            memmove(row + first, row, n_row * sizeof *row);
        for (size_t k = 0; k < len_max; k++) {
            int is_token = k >= first && k < first + n_row;
            if (!is_token)
                row[k] = tok->pad_id;
            if (mask)
                mask[(size_t)t * len_max + k] = is_token;
        }
    }
    trim_scratch(tok);
    return 0;
}

int siglip_tokenize_one(SiglipTokenizer *tok, const char *text, int32_t **ids, size_t *n_ids)
{
    return siglip_tokenize_one_n(tok, text, text ? strlen(text) : 0, ids, n_ids);
}

int siglip_tokenize_one_n(SiglipTokenizer *tok, const char *text, size_t length, int32_t **ids,
                          size_t *n_ids)
{
    if (!tok)
        return SIGLIP_EINVAL;
    if (!text || !ids || !n_ids)
        return sg_fail(&tok->err, SIGLIP_EINVAL, "siglip_tokenize_one: NULL argument");
    *ids = NULL;
    *n_ids = 0;
    int rc = sg_tokenizer_encode_text(tok, text, length);
    size_t n = tok->ids.len / sizeof(int32_t);
    int32_t *out = rc == 0 ? malloc((n + 1) * sizeof *out) : NULL;
    if (out && n)
        memcpy(out, tok->ids.data, n * sizeof *out);
    trim_scratch(tok);
    if (rc != 0)
        return rc;
    if (!out)
        return sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory");
    *n_ids = finish_ids(tok, out, n);
    *ids = out;
    return 0;
}

/* Whether decoding skips this id: the special tokens, control and unknown pieces. */
static int is_skipped(const SiglipTokenizer *tok, int32_t id)
{
    if (id == tok->eos_id || id == tok->unk_id || id == tok->pad_id)
        return 1;
    for (int k = 0; k < tok->n_specials; k++)
        if (id == tok->specials[k].id)
            return 1;
    int type = tok->sp->pieces[id].type;
    return type == SG_PIECE_CONTROL || type == SG_PIECE_UNKNOWN;
}

/* Appends piece `id` as text: byte pieces as their byte, '▁' as a space. */
static int append_piece(const SiglipTokenizer *tok, int32_t id, SgBuf *out)
{
    size_t len;
    const unsigned char *p = sg_sp_piece_text(tok->sp, id, &len);
    if (sg_buf_reserve(out, len + 1) != 0)
        return SIGLIP_ENOMEM;
    if (tok->sp->pieces[id].type == SG_PIECE_BYTE && len == 6) {
        out->data[out->len++] = (unsigned char)strtol((const char *)p + 3, NULL, 16);
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && p[i] == 0xE2 && p[i + 1] == 0x96 && p[i + 2] == 0x81) {
            out->data[out->len++] = ' ';
            i += 2;
        } else {
            out->data[out->len++] = p[i];
        }
    }
    return 0;
}

int siglip_detokenize(SiglipTokenizer *tok, const int32_t *ids, size_t n_ids, char **text)
{
    if (!tok)
        return SIGLIP_EINVAL;
    if (!text || (!ids && n_ids))
        return sg_fail(&tok->err, SIGLIP_EINVAL, "siglip_detokenize: NULL argument");
    *text = NULL;
    SgBuf raw = {0};
    int rc = 0;
    for (size_t k = 0; k < n_ids && rc == 0; k++) {
        if (ids[k] < 0 || ids[k] >= tok->sp->n_pieces)
            rc = sg_fail(&tok->err, SIGLIP_EINVAL, "siglip_detokenize: id %d at %zu is outside the "
                         "vocabulary of %d", (int)ids[k], k, tok->sp->n_pieces);
        else if (!is_skipped(tok, ids[k]) && append_piece(tok, ids[k], &raw) != 0)
            rc = sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory");
    }
    /* SiglipTokenizer strips spaces at both ends (Gemma's decoder keeps them); byte pieces that
     * do not form UTF-8 become U+FFFD */
    size_t begin = 0, end = raw.len;
    while (tok->kind == SG_TOKENIZER_SIGLIP && begin < end && raw.data[begin] == ' ')
        begin++;
    while (tok->kind == SG_TOKENIZER_SIGLIP && end > begin && raw.data[end - 1] == ' ')
        end--;
    SgBuf clean = {0};
    if (rc == 0 && sg_buf_reserve(&clean, (end - begin) * 3 + 1) != 0)
        rc = sg_fail(&tok->err, SIGLIP_ENOMEM, "out of memory");
    for (size_t i = begin; rc == 0 && i < end;) {
        uint32_t cp = sg_utf8_next(raw.data, end, &i);
        clean.len += (size_t)sg_utf8_put(cp, clean.data + clean.len);
    }
    sg_buf_free(&raw);
    if (rc != 0) {
        sg_buf_free(&clean);
        return rc;
    }
    clean.data[clean.len] = '\0';
    *text = (char *)clean.data;
    return 0;
}
