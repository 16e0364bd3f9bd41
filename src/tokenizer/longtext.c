/* longtext.c — long texts in bounded memory: boundaries that no normalizer rule spans, prefix cuts
 * between characters that no piece holds side by side, and one long segment of a unigram
 * tokenizer walked chunk by chunk (Viterbi with the lattice's edge saved at each chunk start, the
 * best path read back by recomputing one chunk at a time). */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/encoder.h"
#include "tokenizer/tokenizer.h"

/* ---------------------------------------------------------------- chunk boundaries */

/* A character whose canonical form does not depend on its neighbours and that no whitespace rule
 * touches: not whitespace or ASCII punctuation (removed, collapsed), not Σ or İ (lowercased by
 * context, or into two characters), nothing case-ignorable (what Σ's context looks past), not
 * '▁' (SiglipTokenizer turns it into a space), no control character or U+FFFD. */
static int plain(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
    return cp >= 0xA0 && !sg_py_isspace(cp) && cp != 0x3A3 && cp != 0x130 &&
           cp != SG_SPIECE_UNDERLINE && cp != SG_REPLACEMENT_CHAR && !sg_is_case_ignorable(cp);
}

/* ASCII punctuation that SiglipTokenizer's canonicalization removes and that the Final_Sigma
 * context does not look past (so not . : ' ^ `, which are case-ignorable): a chunk boundary may
 * sit before a run of it, the canonical text joining the plain characters on both sides. */
static int removed_punct(const SiglipTokenizer *tok, uint32_t cp)
{
    return tok->kind == SG_TOKENIZER_SIGLIP && sg_is_ascii_punct(cp) && !sg_is_case_ignorable(cp);
}

/* The character of s that ends at byte `end` (not before lo), its first byte into *begin; -1
 * when the bytes before end are not one valid character. */
static int64_t char_before(const unsigned char *s, size_t lo, size_t end, size_t *begin)
{
    size_t b = end;
    while (b > lo && end - b < 4) {
        b--;
        if ((s[b] & 0xC0) != 0x80)
            break;
    }
    size_t i = b;
    uint32_t cp = b < end ? sg_utf8_next(s, end, &i) : 0;
    if (b == end || i != end)
        return -1;
    *begin = b;
    return cp;
}

/* The UTF-8 of cp as the canonical text has it (lowercased when lower_case) into out; returns
 * its length. */
static int canonical_utf8(uint32_t cp, int lower_case, unsigned char out[4])
{
    uint32_t lower[2] = {cp, 0};
    if (lower_case)
        sg_lower_char(cp, lower);
    return sg_utf8_put(lower[0], out);
}

/* Whether the pair (first, second) of code points stands side by side in a piece or special
 * token. */
static int pair_known(const SiglipTokenizer *tok, uint32_t first, uint32_t second)
{
    uint64_t key = ((uint64_t)first << 32 | second) + 1;
    for (size_t i = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & tok->pairs_mask;;
         i = (i + 1) & tok->pairs_mask) {
        if (tok->pairs[i] == key)
            return 1;
        if (tok->pairs[i] == 0)
            return 0;
    }
}

/* The first / last code point of UTF-8 text r[0..n) (n > 0). */
static uint32_t first_cp(const char *r, size_t n)
{
    size_t i = 0;
    return sg_utf8_next((const unsigned char *)r, n, &i);
}

static uint32_t last_cp(const char *r, size_t n)
{
    size_t b = n - 1;
    while (b > 0 && n - b < 4 && ((unsigned char)r[b] & 0xC0) == 0x80)
        b--;
    return first_cp(r + b, n - b);
}

/* Whether byte pos of the segment s[a..b) is a chunk boundary: the normalized text of the segment
 * is that of s[a..pos) followed by that of s[pos..b). Both sides of pos are plain characters for
 * at least the longest normalizer rule (norm_window bytes; the segment's end may come first),
 * so the canonical text there is their lowercase, written as is; no rule starting on the left
 * reaches past pos, so the normalizer steps through pos whatever came before; and the step that
 * ends at pos and the one that starts there each give text that does not end / start with a
 * space, so whitespace removal treats both sides alike. Without `pairs`, SiglipTokenizer's
 * removed punctuation may sit between those characters (not before pos: the character there is
 * plain), as no whitespace does, so the canonical text joins them either way. With `pairs`, no
 * piece may have the last character of the one side and the first of the other side by side.
 * SentencePiece normalizers. */
static int chunk_cut(const SiglipTokenizer *tok, const unsigned char *s, size_t a, size_t b,
                     size_t pos, int pairs)
{
    if (pos <= a || pos >= b || (s[pos] & 0xC0) == 0x80)
        return 0;
    enum { MAXB = SG_TOKENIZER_MAX_NORM_WINDOW + 4 };
    unsigned char left[MAXB], buf[2 * MAXB];
    size_t starts[MAXB], n_left = 0, left_len = 0;
    const size_t window = tok->norm_window;
    size_t skipped = 0; /* removed punctuation passed over, bounded to keep a check cheap */
    for (size_t end = pos; left_len < window;) {
        unsigned char ch[4];
        size_t begin;
        int64_t cp = char_before(s, a, end, &begin);
        if (cp >= 0 && !pairs && end < pos && removed_punct(tok, (uint32_t)cp) &&
            ++skipped < 4096) {
            end = begin;
            continue;
        }
        if (cp < 0 || !plain((uint32_t)cp))
            return 0;
        int n = canonical_utf8((uint32_t)cp, tok->do_lower_case, ch);
        memcpy(left + MAXB - left_len - (size_t)n, ch, (size_t)n);
        left_len += (size_t)n;
        starts[n_left++] = MAXB - left_len;
        end = begin;
    }
    memcpy(buf, left + MAXB - left_len, left_len);
    size_t len = left_len;
    for (size_t i = pos; i < b && len < left_len + window;) {
        uint32_t cp = sg_utf8_next(s, b, &i);
        if (!pairs && removed_punct(tok, cp) && ++skipped < 4096)
            continue;
        if (!plain(cp))
            return 0;
        len += (size_t)canonical_utf8(cp, tok->do_lower_case, buf + len);
    }
    const SgNormalizer *nz = &tok->sp->normalizer;
    const char *r, *r0 = "";
    size_t r_len, r0_len = 0;
    /* nothing on the right: only removed punctuation up to the segment's end */
    if (len > left_len)
        sg_normalize_unit(nz, buf + left_len, len - left_len, &r0, &r0_len);
    if (len > left_len && (r0_len == 0 || r0[0] == ' '))
        return 0;
    for (size_t k = 0; k < n_left; k++) {
        size_t at = starts[k] - (MAXB - left_len);
        size_t used = sg_normalize_unit(nz, buf + at, len - at, &r, &r_len);
        if (at + used > left_len ||
            (at + used == left_len &&
             (r_len == 0 || r[r_len - 1] == ' ' ||
              (pairs && r0_len > 0 &&
               pair_known(tok, last_cp(r, r_len), first_cp(r0, r0_len))))))
            return 0;
    }
    return 1;
}

int sg_tokenizer_pair_cut(const SiglipTokenizer *tok, const char *text, size_t len, size_t pos)
{
    const unsigned char *s = (const unsigned char *)text;
    if (pos == 0 || pos >= len || (s[pos] & 0xC0) == 0x80)
        return 0;
    size_t begin, i = pos;
    uint32_t y = sg_utf8_next(s, len, &i);
    int64_t before = plain(y) ? char_before(s, 0, pos, &begin) : -1;
    if (before < 0 || !plain((uint32_t)before))
        return 0;
    uint32_t x = (uint32_t)before, lx[2] = {x, 0}, ly[2] = {y, 0};
    if (tok->do_lower_case) {
        sg_lower_char(x, lx);
        sg_lower_char(y, ly);
    }
    /* as written (special tokens) and lowercased (what a normalizer without rules gives) */
    if (pair_known(tok, x, y) || pair_known(tok, lx[0], ly[0]))
        return 0;
    /* tokenizer.json's normalizers (long_init allows only those that leave plain characters
     * alone) keep them; SentencePiece's rules are checked where they apply */
    return tok->enc->hf ? 1 : chunk_cut(tok, s, 0, len, pos, 1);
}

/* Puts key into the open-addressing table keys[mask + 1]; returns 1 when it was not there. */
static int put_key(uint64_t *keys, size_t mask, uint64_t key)
{
    size_t k = (size_t)(key * 0x9E3779B97F4A7C15ull >> 20) & mask;
    while (keys[k] != 0 && keys[k] != key)
        k = (k + 1) & mask;
    int added = keys[k] == 0;
    keys[k] = key;
    return added;
}

/* Adds the pairs of adjacent code points of UTF-8 text s[0..n) to keys[mask + 1]; returns how
 * many were new. */
static size_t add_pairs(uint64_t *keys, size_t mask, const unsigned char *s, size_t n)
{
    size_t i = 0, added = 0;
    uint32_t prev = n ? sg_utf8_next(s, n, &i) : 0;
    while (i < n) {
        uint32_t cp = sg_utf8_next(s, n, &i);
        added += (size_t)put_key(keys, mask, ((uint64_t)prev << 32 | cp) + 1);
        prev = cp;
    }
    return added;
}

/* Table slots for n keys at most half full. */
static size_t pair_slots(size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n + 2)
        cap *= 2;
    return cap;
}

/* tok->pairs: the adjacent code points of every piece and special token, in a table sized for the
 * distinct pairs (collected first in one sized for all of them: a 256k-piece vocabulary has
 * about a third as many distinct ones). */
static void collect_pairs(SiglipTokenizer *tok, size_t bound)
{
    const SgSpModel *m = tok->sp;
    size_t cap = pair_slots(bound), distinct = 0;
    uint64_t *all = calloc(cap, sizeof *all);
    if (!all)
        return;
    for (int id = 0; id < m->n_pieces; id++) {
        size_t len;
        const unsigned char *p = sg_sp_piece_text(m, id, &len);
        distinct += add_pairs(all, cap - 1, p, len);
    }
    for (int k = 0; k < tok->n_specials; k++) {
        unsigned char utf8[4 * SG_TOKENIZER_MAX_SPECIAL_CPS];
        const SgSpecialToken *sp = &tok->specials[k];
        size_t n = 0;
        for (size_t i = 0; i < sp->n_cps; i++)
            n += (size_t)sg_utf8_put(sp->cps[i], utf8 + n);
        distinct += add_pairs(all, cap - 1, utf8, n);
    }
    size_t slots = pair_slots(distinct);
    uint64_t *keys = slots < cap ? calloc(slots, sizeof *keys) : NULL;
    if (keys) {
        for (size_t k = 0; k < cap; k++)
            if (all[k])
                put_key(keys, slots - 1, all[k]);
        free(all);
        all = keys;
        cap = slots;
    }
    tok->pairs = all;
    tok->pairs_mask = cap - 1;
    tok->pair_cuts = 1;
}

/* Whether tokenizer.json's normalizers and pre-tokenizer leave plain characters and the places
 * between them alone: Replace of text without plain characters, Prepend (at the start only),
 * Strip (whitespace at the ends), a Split pattern without plain characters, and no word taken
 * whole from the vocabulary (ignore_merges: a prefix's last word could be one). */
static int hf_keeps_plain(const SgHfModel *hf)
{
    for (int k = 0; k < hf->n_norms; k++) {
        const SgHfNorm *nz = &hf->norms[k];
        if (nz->kind != SG_HF_REPLACE && nz->kind != SG_HF_PREPEND && nz->kind != SG_HF_STRIP)
            return 0;
        const unsigned char *from = (const unsigned char *)(nz->from ? nz->from : "");
        for (size_t i = 0, n = strlen((const char *)from); nz->kind == SG_HF_REPLACE && i < n;)
            if (plain(sg_utf8_next(from, n, &i)))
                return 0;
    }
    const unsigned char *pat = (const unsigned char *)(hf->split_pattern ? hf->split_pattern : "");
    for (size_t i = 0, n = strlen((const char *)pat); hf->split != SG_HF_SPLIT_NONE && i < n;)
        if (plain(sg_utf8_next(pat, n, &i)))
            return 0;
    return !hf->ignore_merges;
}

void sg_tokenizer_long_init(SiglipTokenizer *tok)
{
    if (tok->long_init)
        return;
    tok->long_init = 1;
    const SgSpModel *m = tok->sp;
    size_t window = sg_charsmap_max_key(&m->normalizer.charsmap, SG_TOKENIZER_MAX_NORM_WINDOW);
    size_t bytes = 0;
    for (int id = 0; id < m->n_pieces; id++) {
        if (m->pieces[id].type == SG_PIECE_USER_DEFINED && m->pieces[id].len > window)
            window = m->pieces[id].len;
        bytes += m->pieces[id].len;
    }
    tok->norm_window = window > 4 ? window : 4;
    int window_ok = tok->norm_window < SG_TOKENIZER_MAX_NORM_WINDOW;
    if (!window_ok)
        tok->long_unigram = 0;
    /* A special token with a plain character at an end could sit inside a boundary's window;
     * one too long to spell in collect_pairs' buffer turns pair cuts off too. */
    int ok = window_ok && (!tok->enc->hf || hf_keeps_plain(tok->enc->hf));
    for (int k = 0; k < tok->n_specials && ok; k++) {
        const SgSpecialToken *sp = &tok->specials[k];
        ok = !plain(sp->cps[0]) && !plain(sp->cps[sp->n_cps - 1]) &&
             sp->n_cps <= SG_TOKENIZER_MAX_SPECIAL_CPS;
        bytes += sp->n_cps;
    }
    if (ok)
        collect_pairs(tok, bytes);
}

/* The first chunk boundary at or after from + SG_TOKENIZER_CHUNK_BYTES, or b; b also when none
 * comes within tok->whole_max bytes of from (the chunk is then refused). */
static size_t next_boundary(const SiglipTokenizer *tok, const char *text, size_t a, size_t b,
                            size_t from)
{
    if (b - from <= SG_TOKENIZER_CHUNK_BYTES)
        return b;
    size_t last = b - from > tok->whole_max ? from + tok->whole_max : b - 1;
    for (size_t pos = from + SG_TOKENIZER_CHUNK_BYTES; pos <= last; pos++)
        if (chunk_cut(tok, (const unsigned char *)text, a, b, pos, 0))
            return pos;
    return b;
}

size_t sg_tokenizer_trim_dropped(const SiglipTokenizer *tok, const char *text, size_t a, size_t b)
{
    /* canonicalize removes ASCII punctuation, and whitespace with nothing kept after it; none of
     * these characters is cased, so the lowercasing before them (Final_Sigma looks ahead for a
     * cased letter) is the same without them */
    if (tok->kind != SG_TOKENIZER_SIGLIP)
        return b;
    size_t begin;
    for (int64_t cp; b > a && (cp = char_before((const unsigned char *)text, a, b, &begin)) >= 0 &&
                     (sg_is_ascii_punct((uint32_t)cp) || sg_py_isspace((uint32_t)cp) ||
                      cp == SG_SPIECE_UNDERLINE);)
        b = begin;
    return b;
}

/* ---------------------------------------------------------------- the walk */

/* One chunk: input bytes [in_begin, in_end), normalized positions [norm_begin, norm_end) of the
 * segment, and the first character start at or after norm_begin. */
typedef struct Chunk {
    size_t in_begin, in_end;
    size_t norm_begin, norm_end;
    size_t first_start;
} Chunk;

/* A normalized window and its lattice: text positions [base, base + text.len], node i of the
 * lattice at position base + i. */
typedef struct Window {
    SgBuf text;
    SgBuf lattice;
    size_t base;
} Window;

typedef struct Walk {
    SiglipTokenizer *tok;
    const char *text;
    size_t a, b;          /* the segment's input bytes */
    size_t keep;          /* nodes saved per chunk: positions norm_begin .. norm_begin + max_piece */
    SgBuf chunks;         /* Chunk[] normalized so far */
    SgBuf saved;          /* SgBestNode[keep] per chunk: its first nodes before its own starts */
    int ended;            /* the last chunk is normalized; total is the segment's length */
    size_t total;
    Window live, redo;    /* the forward pass; a chunk recomputed for reading the path back */
    size_t committed;     /* the best path up to this position is known and counted */
    /* the path read so far, first pieces first (runs of unknown pieces as one span), only the
     * first `cap` of them kept */
    SgSpan *first;
    size_t n_first, cap, n_ids;
    int last_unk;         /* the last counted span is an unknown piece */
    /* a backtrace batch: the last `cap` spans found (the path read backwards) */
    SgSpan *ring;
    size_t ring_n, batch_ids;
    int batch_prev_unk, batch_end_unk;
} Walk;

static Chunk *chunk_at(const Walk *w, size_t k)
{
    return (Chunk *)(void *)w->chunks.data + k;
}

static size_t n_chunks(const Walk *w)
{
    return w->chunks.len / sizeof(Chunk);
}

/* Appends the unreached nodes of w's window for its text bytes from `from` on. */
static int extend_lattice(Window *win, size_t from)
{
    size_t need = (win->text.len + 1) * sizeof(SgBestNode);
    if (need > win->lattice.len && sg_buf_reserve(&win->lattice, need - win->lattice.len) != 0)
        return SIGLIP_ENOMEM;
    SgBestNode *nodes = (SgBestNode *)(void *)win->lattice.data;
    for (size_t i = from; i <= win->text.len; i++)
        nodes[i] = (SgBestNode){0.0f, -1, -1};
    win->lattice.len = need;
    return 0;
}

/* Normalizes the next chunk of the segment onto the live window. */
static int append_chunk(Walk *w)
{
    size_t from = n_chunks(w) ? chunk_at(w, n_chunks(w) - 1)->in_end : w->a;
    Chunk c = {from, next_boundary(w->tok, w->text, w->a, w->b, from), 0, 0, 0};
    if (c.in_end - c.in_begin > w->tok->whole_max) /* no boundary: normalized whole, it would
                                                    * cost memory in proportion */
        return sg_tokenizer_refuse_whole(w->tok, from, w->b - from);
    c.norm_begin = w->live.base + w->live.text.len;
    size_t old = w->live.text.len;
    if (sg_tokenizer_normalize_range(w->tok, w->text, c.in_begin, c.in_end, from == w->a,
                                     &w->live.text) != 0 ||
        extend_lattice(&w->live, old + 1) != 0 || sg_buf_reserve(&w->chunks, sizeof c) != 0)
        return SIGLIP_ENOMEM;
    c.norm_end = w->live.base + w->live.text.len;
    if (c.norm_end >= INT32_MAX / 2)
        return SIGLIP_E2BIG;
    memcpy(w->chunks.data + w->chunks.len, &c, sizeof c);
    w->chunks.len += sizeof c;
    if (c.in_end == w->b) {
        w->ended = 1;
        w->total = c.norm_end;
    }
    return 0;
}

/* Records a span of the path read backwards: the ring keeps the last `cap` (the batch's first
 * ones); a run of unknown pieces is one span, as it is one id. */
static void push_back_span(Walk *w, int32_t begin, int32_t end, int32_t id)
{
    int unk = id == w->tok->sp->unk_id;
    if (unk && w->batch_prev_unk) {
        w->ring[(w->ring_n - 1) % w->cap].begin = begin;
        return;
    }
    if (w->ring_n == 0)
        w->batch_end_unk = unk; /* the batch's last span, read first */
    w->ring[w->ring_n++ % w->cap] = (SgSpan){begin, end, id};
    w->batch_ids++;
    w->batch_prev_unk = unk;
}

/* Adds a finished batch (the path from w->committed to `to`) after the spans already counted. */
static void commit_batch(Walk *w, size_t to)
{
    size_t kept = w->ring_n < w->cap ? w->ring_n : w->cap;
    for (size_t k = 0; k < kept; k++) {
        const SgSpan *s = &w->ring[(w->ring_n - 1 - k) % w->cap];
        if (k == 0 && s->id == w->tok->sp->unk_id && w->last_unk) {
            w->batch_ids--; /* continues the run of unknown pieces before: the same id */
            continue;
        }
        if (w->n_first < w->cap)
            w->first[w->n_first++] = *s;
    }
    if (w->ring_n > 0)
        w->last_unk = w->batch_end_unk;
    w->n_ids += w->batch_ids;
    w->committed = to;
    w->ring_n = w->batch_ids = 0;
    w->batch_prev_unk = 0;
}

/* Recomputes chunk k's lattice in w->redo from its saved first nodes. */
static int redo_chunk(Walk *w, size_t k)
{
    const Chunk *c = chunk_at(w, k);
    Window *r = &w->redo;
    r->text.len = 0;
    r->base = c->norm_begin;
    /* its text and, past it, as much as the longest piece reads (or the segment's end) */
    size_t j = k;
    do {
        const Chunk *cj = chunk_at(w, j);
        if (sg_tokenizer_normalize_range(w->tok, w->text, cj->in_begin, cj->in_end,
                                         cj->in_begin == w->a, &r->text) != 0)
            return SIGLIP_ENOMEM;
        j++;
    } while (j < n_chunks(w) && r->base + r->text.len < c->norm_end + w->tok->max_piece);
    if (extend_lattice(r, 0) != 0)
        return SIGLIP_ENOMEM;
    SgBestNode *nodes = (SgBestNode *)(void *)r->lattice.data;
    const SgBestNode *saved = (const SgBestNode *)(const void *)w->saved.data + k * w->keep;
    for (size_t i = 0; i < w->keep && i <= r->text.len; i++)
        nodes[i] = saved[i];
    sg_sp_viterbi_steps(w->tok->sp, r->text.data, r->text.len, c->first_start - r->base,
                        c->norm_end - r->base, r->base, nodes);
    return 0;
}

/* Reads the best path back from position `from` (whose node is final) to w->committed and
 * counts it; chunk `live_k` is the live window's, earlier ones are recomputed. */
static int read_back(Walk *w, size_t from, size_t live_k)
{
    size_t q = from, k = live_k;
    while (q > w->committed) {
        const Window *win = &w->live;
        if (q < w->live.base) {
            while (k > 0 && chunk_at(w, k)->norm_begin >= q)
                k--;
            int rc = redo_chunk(w, k);
            if (rc != 0)
                return rc;
            win = &w->redo;
        }
        const SgBestNode *nodes = (const SgBestNode *)(const void *)win->lattice.data;
        while (q > w->committed && q >= win->base) {
            const SgBestNode *n = &nodes[q - win->base];
            push_back_span(w, n->starts_at, (int32_t)q, n->id);
            q = (size_t)n->starts_at;
        }
    }
    commit_batch(w, from);
    return 0;
}

/* Where every best path through the reached nodes that a later piece can start from (positions
 * past end - max_piece) meets, when that is inside the live window: the path up to there is the
 * whole segment's, whatever follows. 0 when they do not meet there (or only at the start). */
static size_t paths_meet(const Walk *w, size_t end, size_t *cur)
{
    const Window *win = &w->live;
    const SgBestNode *nodes = (const SgBestNode *)(const void *)win->lattice.data;
    size_t n = 0;
    if (end < win->base + w->tok->max_piece)
        return 0;
    for (size_t q = end - w->tok->max_piece + 1; q <= end; q++)
        if (nodes[q - win->base].starts_at >= 0)
            cur[n++] = q;
    for (int steps = 0; n > 0 && steps < 65536; steps++) {
        size_t hi = 0, lo = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            hi = cur[i] > hi ? cur[i] : hi;
            lo = cur[i] < lo ? cur[i] : lo;
        }
        if (hi == lo)
            return hi > w->committed ? hi : 0;
        for (size_t i = 0; i < n; i++) {
            if (cur[i] != hi)
                continue;
            int32_t back = nodes[hi - win->base].starts_at;
            if (back < 0 || (size_t)back < win->base || (size_t)back < w->committed)
                return 0;
            cur[i] = (size_t)back;
        }
    }
    return 0;
}

/* Saves chunk k's first nodes (positions norm_begin .. + max_piece of the live window). */
static int save_nodes(Walk *w, size_t k)
{
    if (sg_buf_reserve(&w->saved, w->keep * sizeof(SgBestNode)) != 0)
        return SIGLIP_ENOMEM;
    SgBestNode *dst = (SgBestNode *)(void *)(w->saved.data + w->saved.len);
    const SgBestNode *nodes = (const SgBestNode *)(const void *)w->live.lattice.data;
    size_t at = chunk_at(w, k)->norm_begin - w->live.base;
    for (size_t i = 0; i < w->keep; i++)
        dst[i] = at + i <= w->live.text.len ? nodes[at + i] : (SgBestNode){0.0f, -1, -1};
    w->saved.len += w->keep * sizeof(SgBestNode);
    return 0;
}

/* Drops the live window's text and nodes before position `to`. */
static void slide(Window *win, size_t to)
{
    size_t drop = to - win->base;
    memmove(win->text.data, win->text.data + drop, win->text.len - drop);
    win->text.len -= drop;
    memmove(win->lattice.data, win->lattice.data + drop * sizeof(SgBestNode),
            win->lattice.len - drop * sizeof(SgBestNode));
    win->lattice.len -= drop * sizeof(SgBestNode);
    win->base = to;
}

/* The forward pass, stopping once the path read back holds more than `want` ids. */
static int walk(Walk *w, size_t want, size_t *cur)
{
    size_t start = 0, tried = 0;
    for (size_t k = 0;; k++) {
        if (k >= n_chunks(w)) {
            int rc = append_chunk(w);
            if (rc != 0)
                return rc;
        }
        Chunk *c = chunk_at(w, k);
        while (!w->ended && w->live.base + w->live.text.len < c->norm_end + w->tok->max_piece) {
            int rc = append_chunk(w);
            if (rc != 0)
                return rc;
            c = chunk_at(w, k);
        }
        c->first_start = start;
        if (save_nodes(w, k) != 0)
            return SIGLIP_ENOMEM;
        SgBestNode *nodes = (SgBestNode *)(void *)w->live.lattice.data;
        start = w->live.base + sg_sp_viterbi_steps(w->tok->sp, w->live.text.data,
                                                   w->live.text.len, start - w->live.base,
                                                   c->norm_end - w->live.base, w->live.base,
                                                   nodes);
        if (w->ended && c->norm_end == w->total)
            return read_back(w, w->total, k);
        /* Reading back costs a pass over the chunks since the last commit: tried again only
         * after as many chunks again. */
        size_t meet = k + 1 >= 2 * tried ? paths_meet(w, c->norm_end, cur) : 0;
        if (meet) {
            tried = k + 1;
            int rc = read_back(w, meet, k);
            if (rc != 0 || w->n_ids > want)
                return rc;
        }
        slide(&w->live, c->norm_end);
    }
}

int sg_tokenizer_encode_long_segment(SiglipTokenizer *tok, const char *text, size_t a, size_t b,
                                     size_t need, size_t *added)
{
    *added = 0;
    size_t skip = tok->kind == SG_TOKENIZER_SIGLIP ? (size_t)tok->unk_prefix_pieces : 0;
    Walk w = {.tok = tok, .text = text, .a = a, .b = b, .keep = tok->max_piece + 1};
    w.cap = need + skip + 2;
    w.first = malloc(w.cap * sizeof *w.first);
    w.ring = malloc(w.cap * sizeof *w.ring);
    size_t *cur = malloc(w.keep * sizeof *cur);
    int rc = w.first && w.ring && cur ? 0 : SIGLIP_ENOMEM;
    if (rc == 0)
        rc = extend_lattice(&w.live, 0);
    if (rc == 0)
        rc = walk(&w, need + skip, cur);
    /* encode_segment's rule: unk_token's own pieces go when the segment has as many */
    size_t from = w.n_ids >= skip ? skip : 0;
    if (rc == 0 && sg_buf_reserve(&tok->ids, w.n_first * sizeof(int32_t)) != 0)
        rc = SIGLIP_ENOMEM;
    for (size_t k = from; rc == 0 && k < w.n_first; k++) {
        memcpy(tok->ids.data + tok->ids.len, &w.first[k].id, sizeof(int32_t));
        tok->ids.len += sizeof(int32_t);
        (*added)++;
    }
    free(cur);
    free(w.first);
    free(w.ring);
    sg_buf_free(&w.chunks);
    sg_buf_free(&w.saved);
    sg_buf_free(&w.live.text);
    sg_buf_free(&w.live.lattice);
    sg_buf_free(&w.redo.text);
    sg_buf_free(&w.redo.lattice);
    return rc;
}
