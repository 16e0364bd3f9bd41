/* text.h — Unicode helpers with Python's semantics: UTF-8 decoding with errors="replace",
 * str.lower(), str.isspace(), string.punctuation; plus a growable byte buffer. */
#ifndef SG_TOKENIZER_TEXT_H
#define SG_TOKENIZER_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define SG_REPLACEMENT_CHAR 0xFFFDu
#define SG_SPIECE_UNDERLINE 0x2581u /* '▁' */

/* A growable byte or element buffer; len and cap count bytes. */
typedef struct SgBuf {
    unsigned char *data;
    size_t len;
    size_t cap;
} SgBuf;

/* Makes room for `extra` more bytes; 0 or SIGLIP_ENOMEM. */
int sg_buf_reserve(SgBuf *b, size_t extra);
void sg_buf_free(SgBuf *b);

/* Decodes the code point at s[*i] (n bytes in all) and advances *i. An invalid sequence is
 * consumed as Python's decoder does with errors="replace": its longest valid prefix (at least one
 * byte) becomes one U+FFFD. */
uint32_t sg_utf8_next(const unsigned char *s, size_t n, size_t *i);

/* Writes the UTF-8 encoding of cp (a valid scalar value) to out; returns its length (1..4). */
int sg_utf8_put(uint32_t cp, unsigned char *out);

/* Python str.isspace() of one code point (what re's \s matches in a str pattern). */
int sg_py_isspace(uint32_t cp);

/* One of the 32 ASCII characters of Python's string.punctuation. */
int sg_is_ascii_punct(uint32_t cp);

/* Unicode's Case_Ignorable property (Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter, MidNumLet and
 * Single_Quote characters): what the Final_Sigma context of str.lower() looks past. */
int sg_is_case_ignorable(uint32_t cp);

/* The full lowercase mapping of one character on its own (U+0130 gives two; Σ gives σ): what the
 * tokenizers library's Lowercase normalizer does to each character (Rust's char::to_lowercase),
 * Siglip2Tokenizer's lowercasing. Writes 1 or 2 code points to out and returns how many. */
int sg_lower_char(uint32_t cp, uint32_t out[2]);

/* Python str.lower() of cps[i] within cps[0..n): sg_lower_char, except that Σ follows the
 * Final_Sigma context (ς at the end of a word). Writes 1 or 2 code points to out and returns how
 * many. */
int sg_py_lower_at(const uint32_t *cps, size_t n, size_t i, uint32_t out[2]);

#endif /* SG_TOKENIZER_TEXT_H */
