/* clean.c — Immich's clean_text (immich_ml/models/transforms.py) with Python's semantics: the
 * search text Immich's machine-learning service hands its CLIP tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "siglip.h"
#include "tokenizer/text.h"

/* " ".join(text.split()) on the code points cps [n] in place; returns the new length. */
static size_t join_words(uint32_t *cps, size_t n)
{
    size_t out = 0;
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
        if (sg_py_isspace(cps[i])) {
            in_word = 0;
            continue;
        }
        if (!in_word && out > 0)
            cps[out++] = ' ';
        in_word = 1;
        cps[out++] = cps[i];
    }
    return out;
}

/* text.translate(str.maketrans("", "", string.punctuation)) in place; returns the new length. */
static size_t drop_punctuation(uint32_t *cps, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (!sg_is_ascii_punct(cps[i]))
            cps[out++] = cps[i];
    return out;
}

int siglip_immich_clean_text(const char *text, int canonicalize, char **out)
{
    if (!out)
        return SIGLIP_EINVAL;
    *out = NULL;
    if (!text)
        return SIGLIP_EINVAL;
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), n = 0;
    /* one code point per byte at most; lowercasing writes at most 2 per code point, 4 bytes each */
    uint32_t *cps = malloc((len + 1) * sizeof *cps);
    char *res = malloc(len * 8 + 1);
    if (!cps || !res) {
        free(cps);
        free(res);
        return SIGLIP_ENOMEM;
    }
    for (size_t i = 0; i < len;)
        cps[n++] = sg_utf8_next(s, len, &i);
    n = join_words(cps, n);
    if (canonicalize)
        n = drop_punctuation(cps, n);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t lowered[2] = {cps[i], 0};
        int k = canonicalize ? sg_py_lower_at(cps, n, i, lowered) : 1;
        for (int j = 0; j < k; j++)
            w += (size_t)sg_utf8_put(lowered[j], (unsigned char *)res + w);
    }
    res[w] = '\0';
    free(cps);
    *out = res;
    return SIGLIP_OK;
}
