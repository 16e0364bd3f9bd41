/* text.c — Python-compatible UTF-8 decoding, lowercasing, whitespace and punctuation tests. */
#include "tokenizer/text.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "siglip.h"

int sg_buf_reserve(SgBuf *b, size_t extra)
{
    /* Storage is allocated even for extra == 0, so callers may form data + len and memcpy zero
     * bytes into it: both are undefined on a NULL pointer (found by fuzz/fuzz_tokenizer). */
    if (b->data && b->cap - b->len >= extra)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return SIGLIP_ENOMEM;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return SIGLIP_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

void sg_buf_free(SgBuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int is_cont(unsigned char c, unsigned char lo, unsigned char hi)
{
    return c >= lo && c <= hi;
}

uint32_t sg_utf8_next(const unsigned char *s, size_t n, size_t *i)
{
    size_t p = *i;
    unsigned char c = s[p];
    if (c < 0x80) {
        *i = p + 1;
        return c;
    }
    if (c < 0xC2 || c > 0xF4) {
        *i = p + 1;
        return SG_REPLACEMENT_CHAR;
    }
    /* Expected length, the lead byte's payload bits and the allowed range of the second byte
     * (Unicode Table 3-7), which excludes overlongs, surrogates and code points above U+10FFFF. */
    int len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = c & (0x7Fu >> len);
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    size_t k = 1;
    for (; k < (size_t)len; k++) {
        if (p + k >= n || !is_cont(s[p + k], k == 1 ? lo : 0x80, k == 1 ? hi : 0xBF))
            break;
        cp = (cp << 6) | (s[p + k] & 0x3F);
    }
    *i = p + k; /* on failure: the valid prefix (at least the lead byte) becomes one U+FFFD */
    return k == (size_t)len ? cp : SG_REPLACEMENT_CHAR;
}

int sg_utf8_put(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int sg_py_isspace(uint32_t cp)
{
    /* CPython's _PyUnicode_IsWhitespace: bidi class WS, B or S, or category Zs. */
    if (cp < 0x80)
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20);
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
        return 1;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

int sg_is_ascii_punct(uint32_t cp)
{
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
}

/* Unicode's Cased property: letters with case, plus Other_Lowercase / Other_Uppercase ones
 * (modifier letters such as ª, ʰ) that have no case mapping. */
static int is_cased(uint32_t cp)
{
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT)
        return 1;
    if (utf8proc_tolower((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp ||
        utf8proc_toupper((utf8proc_int32_t)cp) != (utf8proc_int32_t)cp)
        return 1;
    static const uint32_t other_cased[][2] = {
        {0x00AA, 0x00AA}, {0x00BA, 0x00BA}, {0x02B0, 0x02B8}, {0x02C0, 0x02C1}, {0x02E0, 0x02E4},
        {0x0345, 0x0345}, {0x037A, 0x037A}, {0x1D2C, 0x1D6A}, {0x1D78, 0x1D78}, {0x1D9B, 0x1DBF},
        {0x2071, 0x2071}, {0x207F, 0x207F}, {0x2090, 0x209C}, {0x2160, 0x217F}, {0x24B6, 0x24E9},
        {0x2C7C, 0x2C7D}, {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F8, 0xA7F9}, {0xAB5C, 0xAB5F},
        /* squared, negative circled and negative squared Latin capitals (Other_Uppercase) */
        {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
    };
    for (size_t k = 0; k < sizeof other_cased / sizeof other_cased[0]; k++)
        if (cp >= other_cased[k][0] && cp <= other_cased[k][1])
            return 1;
    return 0;
}

int sg_is_case_ignorable(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_SK:
        return 1;
    default:
        break;
    }
    static const uint32_t word_break_mid[] = {
        0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027,
        0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A,
    };
    for (size_t k = 0; k < sizeof word_break_mid / sizeof word_break_mid[0]; k++)
        if (cp == word_break_mid[k])
            return 1;
    return 0;
}

/* CPython's handle_capital_sigma: Σ is final when a cased letter precedes it and none follows
 * (case-ignorable characters skipped on both sides). */
static uint32_t lower_sigma(const uint32_t *cps, size_t n, size_t i)
{
    size_t j = i;
    while (j > 0 && sg_is_case_ignorable(cps[j - 1]))
        j--;
    if (j == 0 || !is_cased(cps[j - 1]))
        return 0x3C3;
    j = i + 1;
    while (j < n && sg_is_case_ignorable(cps[j]))
        j++;
    return (j == n || !is_cased(cps[j])) ? 0x3C2 : 0x3C3;
}

int sg_lower_char(uint32_t cp, uint32_t out[2])
{
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (cp == 0x130) { /* the one unconditional multi-character lowercase mapping */
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    return 1;
}

int sg_py_lower_at(const uint32_t *cps, size_t n, size_t i, uint32_t out[2])
{
    if (cps[i] == 0x3A3) {
        out[0] = lower_sigma(cps, n, i);
        return 1;
    }
    return sg_lower_char(cps[i], out);
}
