/* normalizer.c — SentencePiece normalization: charsmap longest-prefix rules, whitespace handling. */
#include "tokenizer/normalizer.h"

#include <stdlib.h>
#include <string.h>

int sg_charsmap_init(SgCharsMap *m, const unsigned char *blob, size_t size, SgError *err)
{
    memset(m, 0, sizeof *m);
    if (size == 0)
        return 0;
    if (size <= 4)
        return sg_fail(err, SIGLIP_EBADMSG, "precompiled_charsmap is broken (%zu bytes)", size);
    uint32_t trie_size = (uint32_t)blob[0] | (uint32_t)blob[1] << 8 | (uint32_t)blob[2] << 16 |
                         (uint32_t)blob[3] << 24;
    if (trie_size >= size - 4)
        return sg_fail(err, SIGLIP_EBADMSG,
                       "precompiled_charsmap: trie size %u exceeds the blob (%zu bytes)", trie_size,
                       size);
    m->n_units = trie_size / 4;
    m->replacements_len = size - 4 - trie_size;
    m->units = malloc(m->n_units ? m->n_units * sizeof *m->units : 1);
    m->replacements = malloc(m->replacements_len);
    if (!m->units || !m->replacements) {
        sg_charsmap_free(m);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for the precompiled_charsmap");
    }
    const unsigned char *u = blob + 4;
    for (size_t k = 0; k < m->n_units; k++, u += 4)
        m->units[k] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
                      (uint32_t)u[3] << 24;
    memcpy(m->replacements, blob + 4 + trie_size, m->replacements_len);
    return 0;
}

void sg_charsmap_free(SgCharsMap *m)
{
    free(m->units);
    free(m->replacements);
    memset(m, 0, sizeof *m);
}

/* darts-clone unit fields */
static uint32_t unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

size_t sg_charsmap_match(const SgCharsMap *m, const unsigned char *s, size_t n, const char **repl,
                         size_t *repl_len)
{
    if (m->n_units == 0)
        return 0;
    size_t longest = 0;
    uint32_t value = 0;
    size_t pos = unit_offset(m->units[0]);
    for (size_t i = 0; i < n; i++) {
        pos ^= s[i];
        if (pos >= m->n_units)
            break; /* only a corrupt trie points outside itself */
        uint32_t unit = m->units[pos];
        if (unit_label(unit) != s[i])
            break;
        pos ^= unit_offset(unit);
        if (unit_has_leaf(unit)) {
            if (pos >= m->n_units)
                break;
            longest = i + 1; /* matches come shortest first */
            value = unit_value(m->units[pos]);
        }
    }
    if (longest == 0)
        return 0;
    if (value >= m->replacements_len) { /* corrupt: treat the rule as deleting the text */
        *repl = "";
        *repl_len = 0;
        return longest;
    }
    const char *r = m->replacements + value;
    const char *nul = memchr(r, '\0', m->replacements_len - value);
    *repl = r;
    *repl_len = nul ? (size_t)(nul - r) : m->replacements_len - value;
    return longest;
}

/* The longest key suffix that can be matched from unit position pos (-1: none), memoized per
 * position in memo[] (0: not yet known, else the value + 2; -1 marks a walk in progress, which
 * only a corrupt map can meet again) since darts-clone shares common subtrees (its trie is built from
 * a DAWG). Returns cap or more when the key is that long or the map is corrupt. */
static int longest_from(const SgCharsMap *m, size_t pos, int depth, int cap, int16_t *memo)
{
    if (memo[pos] < 0 || depth >= cap)
        return cap;
    if (memo[pos] > 0)
        return memo[pos] - 2;
    memo[pos] = -1;
    int best = -1;
    for (unsigned b = 0; b < 256 && best < cap; b++) {
        size_t child = pos ^ b;
        if (child >= m->n_units || unit_label(m->units[child]) != b)
            continue;
        uint32_t unit = m->units[child];
        size_t next = child ^ unit_offset(unit);
        int here = unit_has_leaf(unit) ? 1 : -1;
        int below = next < m->n_units ? longest_from(m, next, depth + 1, cap, memo) : -1;
        if (below >= 1 && below + 1 > here)
            here = below + 1;
        best = here > best ? here : best;
    }
    memo[pos] = (int16_t)((best < cap ? best : cap) + 2);
    return best;
}

size_t sg_charsmap_max_key(const SgCharsMap *m, size_t cap)
{
    if (m->n_units == 0)
        return 0;
    int limit = cap < 4096 ? (int)cap : 4096;
    int16_t *memo = calloc(m->n_units, sizeof *memo);
    size_t root = unit_offset(m->units[0]);
    int longest = memo && root < m->n_units ? longest_from(m, root, 0, limit, memo) : limit;
    free(memo);
    return longest < 0 ? 0 : longest >= limit ? cap : (size_t)longest;
}

/* SentencePiece's DecodeUTF8 validity: the length of the valid character at s, or 0. */
static size_t sp_valid_char_len(const unsigned char *s, size_t n)
{
    size_t i = 0;
    uint32_t cp = sg_utf8_next(s, n, &i);
    if (cp == SG_REPLACEMENT_CHAR && i != 3)
        return 0; /* a real U+FFFD is 3 bytes; anything else was an invalid sequence */
    return i;
}

/* One step of Normalizer::NormalizePrefix: how many input bytes are consumed, and what they
 * become. */
size_t sg_normalize_unit(const SgNormalizer *nz, const unsigned char *s, size_t n, const char **out,
                         size_t *out_len)
{
    if (nz->user_prefix) {
        size_t len = nz->user_prefix(nz->user_prefix_model, s, n);
        if (len) {
            *out = (const char *)s;
            *out_len = len;
            return len;
        }
    }
    size_t len = sg_charsmap_match(&nz->charsmap, s, n, out, out_len);
    if (len)
        return len;
    len = sp_valid_char_len(s, n);
    if (len == 0) {
        *out = "\xEF\xBF\xBD";
        *out_len = 3;
        return 1;
    }
    *out = (const char *)s;
    *out_len = len;
    return len;
}

static void put_space(const SgNormalizer *nz, SgBuf *out)
{
    if (nz->escape_whitespaces) {
        memcpy(out->data + out->len, "\xE2\x96\x81", 3);
        out->len += 3;
    } else {
        out->data[out->len++] = ' ';
    }
}

static int ends_with(const SgBuf *b, const char *suffix, size_t len)
{
    return b->len >= len && memcmp(b->data + b->len - len, suffix, len) == 0;
}

int sg_normalize(const SgNormalizer *nz, const unsigned char *s, size_t n, SgBuf *out)
{
    out->len = 0;
    if (nz->remove_extra_whitespaces) { /* drop leading input that normalizes to exactly " " */
        while (n > 0) {
            const char *r;
            size_t rlen;
            size_t used = sg_normalize_unit(nz, s, n, &r, &rlen);
            if (!(rlen == 1 && r[0] == ' '))
                break;
            s += used;
            n -= used;
        }
    }
    if (n == 0)
        return 0;
    int add_prefix = nz->add_dummy_prefix && !nz->treat_whitespace_as_suffix;
    int add_suffix = nz->add_dummy_prefix && nz->treat_whitespace_as_suffix;
    if (sg_buf_reserve(out, 3) != 0)
        return SIGLIP_ENOMEM;
    if (add_prefix)
        put_space(nz, out);
    int prev_space = nz->remove_extra_whitespaces;
    while (n > 0) {
        const char *r;
        size_t rlen;
        size_t used = sg_normalize_unit(nz, s, n, &r, &rlen);
        s += used;
        n -= used;
        while (prev_space && rlen > 0 && r[0] == ' ') {
            r++;
            rlen--;
        }
        if (rlen > 0) {
            if (sg_buf_reserve(out, rlen * 3 + 3) != 0) /* each space may become 3 bytes */
                return SIGLIP_ENOMEM;
            for (size_t k = 0; k < rlen; k++) {
                if (nz->escape_whitespaces && r[k] == ' ')
                    put_space(nz, out);
                else
                    out->data[out->len++] = (unsigned char)r[k];
            }
            prev_space = r[rlen - 1] == ' ';
        }
        if (!nz->remove_extra_whitespaces)
            prev_space = 0;
    }
    if (nz->remove_extra_whitespaces) {
        const char *space = nz->escape_whitespaces ? "\xE2\x96\x81" : " ";
        size_t slen = nz->escape_whitespaces ? 3 : 1;
        while (ends_with(out, space, slen))
            out->len -= slen;
    }
    if (add_suffix) {
        if (sg_buf_reserve(out, 3) != 0)
            return SIGLIP_ENOMEM;
        put_space(nz, out);
    }
    return 0;
}
