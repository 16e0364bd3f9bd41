/* normalizer.h — SentencePiece's normalizer: the precompiled_charsmap (a darts-clone double-array
 * trie plus a blob of replacement strings), whitespace removal and escaping, the dummy prefix. */
#ifndef SG_TOKENIZER_NORMALIZER_H
#define SG_TOKENIZER_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "tokenizer/text.h"

/* The decoded precompiled_charsmap. */
typedef struct SgCharsMap {
    uint32_t *units;       /* [n_units] double-array trie units (host order, owned) */
    size_t n_units;
    char *replacements;    /* [replacements_len] NUL-separated replacement strings (owned) */
    size_t replacements_len;
} SgCharsMap;

/* Decodes a serialized charsmap: uint32 trie size in bytes (little-endian), the trie units, then
 * the replacement strings. An empty blob gives an empty map (no rules). */
int sg_charsmap_init(SgCharsMap *m, const unsigned char *blob, size_t size, SgError *err);
void sg_charsmap_free(SgCharsMap *m);

/* Longest rule matching a prefix of s[0..n): returns the matched length in bytes (0 when none)
 * and sets *repl / *repl_len to its replacement. */
size_t sg_charsmap_match(const SgCharsMap *m, const unsigned char *s, size_t n, const char **repl,
                         size_t *repl_len);

/* The longest key of the map in bytes, or cap when it has keys of cap bytes or more (or cannot be
 * walked). */
size_t sg_charsmap_max_key(const SgCharsMap *m, size_t cap);

/* Longest USER_DEFINED piece that is a prefix of s[0..n) (0 when none); provided by the model. */
typedef size_t (*SgUserPrefixFn)(const void *model, const unsigned char *s, size_t n);

typedef struct SgNormalizer {
    SgCharsMap charsmap;
    int add_dummy_prefix;
    int remove_extra_whitespaces;
    int escape_whitespaces;
    int treat_whitespace_as_suffix;
    SgUserPrefixFn user_prefix; /* may be NULL */
    const void *user_prefix_model;
} SgNormalizer;

/* One step of the normalizer at s[0..n) (n > 0): the longest user-defined piece, else the
 * longest charsmap rule, else one character (U+FFFD for an invalid byte); returns the bytes
 * consumed and sets *out / *out_len to what they become (before whitespace handling). */
size_t sg_normalize_unit(const SgNormalizer *nz, const unsigned char *s, size_t n, const char **out,
                         size_t *out_len);

/* Normalizes s[0..n) into out (replacing out's contents) as SentencePiece's
 * Normalizer::Normalize does. Only fails with SIGLIP_ENOMEM. */
int sg_normalize(const SgNormalizer *nz, const unsigned char *s, size_t n, SgBuf *out);

#endif /* SG_TOKENIZER_NORMALIZER_H */
