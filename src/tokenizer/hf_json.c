/* hf_json.c — tokenizer.json (Hugging Face tokenizers): the vocabulary rebuilt as a SentencePiece
 * ModelProto so the piece trie, byte pieces and Viterbi are shared; HF's normalizers, its
 * optional Split pre-tokenizer, and its BPE merge order by rank. */
#include "tokenizer/hf_json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- building a ModelProto */

static int put_varint(SgBuf *b, uint64_t v)
{
    if (sg_buf_reserve(b, 10) != 0)
        return SIGLIP_ENOMEM;
    do {
        b->data[b->len++] = (unsigned char)((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return 0;
}

/* ModelProto.pieces {piece, score, type}. */
static int put_piece(SgBuf *b, const char *text, float score, int type)
{
    size_t len = strlen(text);
    SgBuf body = {0};
    uint32_t bits;
    memcpy(&bits, &score, sizeof bits);
    int rc = put_varint(&body, 0x0A) || put_varint(&body, len) || sg_buf_reserve(&body, len + 5);
    if (!rc) {
        memcpy(body.data + body.len, text, len);
        body.len += len;
        body.data[body.len++] = 0x15;
        for (int k = 0; k < 4; k++)
            body.data[body.len++] = (unsigned char)(bits >> (8 * k));
        rc = put_varint(&body, 0x18) || put_varint(&body, (uint64_t)type);
    }
    if (!rc)
        rc = put_varint(b, 0x0A) || put_varint(b, body.len) || sg_buf_reserve(b, body.len);
    if (!rc) {
        memcpy(b->data + b->len, body.data, body.len);
        b->len += body.len;
    }
    sg_buf_free(&body);
    return rc ? SIGLIP_ENOMEM : 0;
}

/* One vocabulary entry being collected: its text, score and SentencePiece type. */
typedef struct Entry {
    const char *text;
    float score;
    int type;
} Entry;

static int is_byte_piece(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    return strlen(s) == 6 && memcmp(s, "<0x", 3) == 0 && strchr(hex, s[3]) && strchr(hex, s[4]) &&
           s[5] == '>';
}

/* The vocabulary as entries indexed by id (ids must be 0..n-1 without gaps). */
static int collect_vocab(const cJSON *model, int bpe, Entry **out, int *n_out, SgError *err)
{
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    int n = cJSON_GetArraySize(vocab);
    if ((bpe && !cJSON_IsObject(vocab)) || (!bpe && !cJSON_IsArray(vocab)) || n <= 0)
        return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: model.vocab is missing or empty");
    Entry *e = calloc((size_t)n, sizeof *e);
    if (!e)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, vocab)
    {
        int id = i++;
        const char *text = NULL;
        float score = 0.0f;
        if (bpe) { /* {"piece": id} */
            text = v->string;
            id = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < n
                     ? (int)v->valuedouble : -1;
        } else if (cJSON_GetArraySize(v) == 2) { /* ["piece", score] */
            const cJSON *t = cJSON_GetArrayItem(v, 0), *s = cJSON_GetArrayItem(v, 1);
            text = cJSON_IsString(t) ? t->valuestring : NULL;
            score = cJSON_IsNumber(s) ? (float)s->valuedouble : 0.0f;
        }
        if (!text || !*text || id < 0 || e[id].text) {
            free(e);
            return sg_fail(err, SIGLIP_EBADMSG,
                           "tokenizer.json: vocabulary entry %d is malformed or its id repeats",
                           i - 1);
        }
        e[id] = (Entry){text, score, SG_PIECE_NORMAL};
    }
    *out = e;
    *n_out = n;
    return 0;
}

/* added_tokens: contents kept for splitting; ids past the vocabulary extend it. */
static int collect_added(const cJSON *root, SgHfModel *hf, Entry **entries, int *n,
                         SgError *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    int count = cJSON_GetArraySize(list);
    hf->added = calloc((size_t)count + 1, sizeof *hf->added);
    if (!hf->added)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    const cJSON *t;
    cJSON_ArrayForEach(t, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(t, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(content) || !*content->valuestring ||
            id->valuedouble < 0 || id->valuedouble > INT32_MAX - 1)
            return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: an added token is malformed");
        int k = (int)id->valuedouble;
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "special"));
        if (k >= *n) { /* past the vocabulary: must continue it */
            if (k != *n)
                return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: added token id %d leaves a "
                               "gap after %d vocabulary entries", k, *n);
            Entry *grown = realloc(*entries, (size_t)(*n + 1) * sizeof *grown);
            if (!grown)
                return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
            *entries = grown;
            grown[(*n)++] = (Entry){content->valuestring, 0.0f, SG_PIECE_NORMAL};
        } else if (strcmp((*entries)[k].text, content->valuestring) != 0) {
            return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: added token %d \"%s\" differs "
                           "from the vocabulary's \"%s\"", k, content->valuestring,
                           (*entries)[k].text);
        }
        if (special)
            (*entries)[k].type = SG_PIECE_CONTROL;
        if (!(hf->added[hf->n_added++] = strdup(content->valuestring)))
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    }
    return 0;
}

/* Serializes the entries with the trainer / normalizer specs the HF path relies on: the model
 * type, byte_fallback, and SentencePiece's own normalizer switched off. */
static int build_proto(const Entry *e, int n, int bpe, int byte_fallback, SgBuf *blob)
{
    int rc = 0;
    for (int i = 0; i < n && !rc; i++)
        rc = put_piece(blob, e[i].text, e[i].score, e[i].type);
    static const unsigned char trainer_bpe[] = {0x12, 0x05, 0x18, 0x02, 0x98, 0x02, 0x01};
    static const unsigned char trainer_unigram[] = {0x12, 0x05, 0x18, 0x01, 0x98, 0x02, 0x01};
    static const unsigned char normalizer[] = {0x1A, 0x06, 0x18, 0x00, 0x20, 0x00, 0x28, 0x00};
    if (!rc && sg_buf_reserve(blob, sizeof trainer_bpe + sizeof normalizer) != 0)
        rc = SIGLIP_ENOMEM;
    if (!rc) {
        memcpy(blob->data + blob->len, bpe ? trainer_bpe : trainer_unigram, sizeof trainer_bpe);
        if (!byte_fallback)
            blob->data[blob->len + 6] = 0x00;
        blob->len += sizeof trainer_bpe;
        memcpy(blob->data + blob->len, normalizer, sizeof normalizer);
        blob->len += sizeof normalizer;
    }
    return rc;
}

/* ---------------------------------------------------------------- merges */

static size_t merge_slot(const SgHfModel *hf, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & hf->merge_mask;
}

/* The rank and merged id of the pair (left, right); -1 when it is no merge. */
static int32_t merge_find(const SgHfModel *hf, int32_t left, int32_t right, int32_t *new_id)
{
    if (!hf->merge_key)
        return -1;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    for (size_t s = merge_slot(hf, key);; s = (s + 1) & hf->merge_mask) {
        if (hf->merge_key[s] == key) {
            *new_id = hf->merge_id[s];
            return hf->merge_rank[s];
        }
        if (hf->merge_key[s] == 0)
            return -1;
    }
}

static int32_t vocab_id(const SgSpModel *m, const char *s, size_t len)
{
    int32_t node = 0;
    for (size_t i = 0; i < len && node >= 0; i++)
        node = sg_trie_child(&m->trie, node, (unsigned char)s[i]);
    if (node < 0 || len == 0)
        return -1;
    return m->trie.vocab_id[node] >= 0 ? m->trie.vocab_id[node] : m->trie.reserved_id[node];
}

/* A merge as "left right" (older files) or ["left", "right"]. */
static int merge_parts(const cJSON *v, const char **l, size_t *ll, const char **r, size_t *rl)
{
    if (cJSON_IsString(v)) {
        const char *space = strchr(v->valuestring, ' ');
        if (!space || strchr(space + 1, ' '))
            return -1;
        *l = v->valuestring;
        *ll = (size_t)(space - v->valuestring);
        *r = space + 1;
        *rl = strlen(space + 1);
        return 0;
    }
    const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
    if (cJSON_GetArraySize(v) != 2 || !cJSON_IsString(a) || !cJSON_IsString(b))
        return -1;
    *l = a->valuestring;
    *ll = strlen(a->valuestring);
    *r = b->valuestring;
    *rl = strlen(b->valuestring);
    return 0;
}

static int load_merges(const cJSON *model, const SgSpModel *m, SgHfModel *hf, SgError *err)
{
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    int n = cJSON_GetArraySize(merges);
    if (n == 0)
        return 0;
    if (n > (1 << 24)) /* ranks are ordered as floats in the agenda */
        return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: %d merges, more than the 16777216 "
                       "supported", n);
    size_t cap = 64;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    hf->merge_key = calloc(cap, sizeof *hf->merge_key);
    hf->merge_rank = malloc(cap * sizeof *hf->merge_rank);
    hf->merge_id = malloc(cap * sizeof *hf->merge_id);
    hf->merge_mask = cap - 1;
    if (!hf->merge_key || !hf->merge_rank || !hf->merge_id)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %d merges", n);
    char *joined = NULL;
    int rank = 0, rc = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, merges)
    {
        const char *l, *r;
        size_t ll, rl;
        if (merge_parts(v, &l, &ll, &r, &rl) != 0) {
            rc = sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: merge %d is malformed", rank);
            break;
        }
        char *grown = realloc(joined, ll + rl + 1);
        if (!grown) {
            rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory for merges");
            break;
        }
        joined = grown;
        memcpy(joined, l, ll);
        memcpy(joined + ll, r, rl);
        int32_t a = vocab_id(m, l, ll), b = vocab_id(m, r, rl), ab = vocab_id(m, joined, ll + rl);
        if (a < 0 || b < 0 || ab < 0) {
            rc = sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: merge %d (\"%.*s\" + \"%.*s\") "
                         "is not in the vocabulary", rank, (int)ll, l, (int)rl, r);
            break;
        }
        uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
        size_t s = merge_slot(hf, key);
        while (hf->merge_key[s] != 0 && hf->merge_key[s] != key)
            s = (s + 1) & hf->merge_mask;
        if (hf->merge_key[s] == 0) { /* HF keeps the first rank of a repeated pair */
            hf->merge_key[s] = key;
            hf->merge_rank[s] = rank;
            hf->merge_id[s] = ab;
        }
        rank++;
    }
    free(joined);
    return rc;
}

/* ---------------------------------------------------------------- normalizers */

static int add_norm(SgHfModel *hf, const cJSON *n, SgError *err);

static int add_norm_list(SgHfModel *hf, const cJSON *list, SgError *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        int rc = add_norm(hf, item, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int add_norm(SgHfModel *hf, const cJSON *n, SgError *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (!cJSON_IsString(type))
        return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: a normalizer has no type");
    const char *t = type->valuestring;
    if (strcmp(t, "Sequence") == 0)
        return add_norm_list(hf, cJSON_GetObjectItemCaseSensitive(n, "normalizers"), err);
    SgHfNorm norm = {0};
    static const struct { const char *name; SgHfNormKind kind; } simple[] = {
        {"Lowercase", SG_HF_LOWERCASE}, {"NFC", SG_HF_NFC}, {"NFD", SG_HF_NFD},
        {"NFKC", SG_HF_NFKC}, {"NFKD", SG_HF_NFKD}, {"Replace", SG_HF_REPLACE},
        {"Prepend", SG_HF_PREPEND}, {"Strip", SG_HF_STRIP}};
    size_t k = 0;
    while (k < sizeof simple / sizeof *simple && strcmp(simple[k].name, t) != 0)
        k++;
    if (k == sizeof simple / sizeof *simple)
        return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: normalizer \"%s\" is not supported "
                       "(Sequence, Lowercase, Replace, Prepend, Strip, NFC, NFD, NFKC, NFKD)", t);
    norm.kind = simple[k].kind;
    const char *from = NULL, *to = NULL;
    if (norm.kind == SG_HF_REPLACE) {
        const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(n, "pattern");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(pattern, "String");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, "content");
        if (!cJSON_IsString(s) || !*s->valuestring || !cJSON_IsString(c))
            return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: Replace normalizers are "
                           "supported with a String pattern only (not Regex)");
        from = s->valuestring;
        to = c->valuestring;
    } else if (norm.kind == SG_HF_PREPEND) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(n, "prepend");
        if (!cJSON_IsString(p))
            return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: Prepend without a string");
        to = p->valuestring;
    } else if (norm.kind == SG_HF_STRIP) {
        norm.left = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "strip_left"));
        norm.right = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "strip_right"));
    }
    if ((from && !(norm.from = strdup(from))) || (to && !(norm.to = strdup(to)))) {
        free(norm.from);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    }
    SgHfNorm *grown = realloc(hf->norms, (size_t)(hf->n_norms + 1) * sizeof *grown);
    if (!grown) {
        free(norm.from);
        free(norm.to);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    }
    hf->norms = grown;
    hf->norms[hf->n_norms++] = norm;
    return 0;
}

static int append(SgBuf *b, const void *p, size_t n)
{
    if (n == 0) /* p may be NULL then (an empty normalizer output), which memcpy must not see */
        return 0;
    if (sg_buf_reserve(b, n) != 0)
        return SIGLIP_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

/* One normalizer from `in` into `out`. */
static int apply_norm(const SgHfNorm *nz, const SgBuf *in, SgBuf *out)
{
    out->len = 0;
    const unsigned char *s = in->data;
    size_t n = in->len;
    if (n == 0) /* every normalizer maps "" to "" (and s may be NULL then) */
        return 0;
    switch (nz->kind) {
    case SG_HF_REPLACE: {
        size_t fl = strlen(nz->from), tl = strlen(nz->to);
        for (size_t i = 0; i < n;) {
            if (n - i >= fl && memcmp(s + i, nz->from, fl) == 0) {
                if (append(out, nz->to, tl))
                    return SIGLIP_ENOMEM;
                i += fl;
            } else if (append(out, s + i++, 1)) {
                return SIGLIP_ENOMEM;
            }
        }
        return 0;
    }
    case SG_HF_PREPEND:
        return (n && append(out, nz->to, strlen(nz->to))) || append(out, s, n) ? SIGLIP_ENOMEM : 0;
    case SG_HF_STRIP: {
        size_t b = 0, e = n;
        while (nz->left && b < e) {
            size_t i = b;
            if (!sg_py_isspace(sg_utf8_next(s, e, &i)))
                break;
            b = i;
        }
        while (nz->right && e > b) {
            size_t start = e - 1;
            while (start > b && (s[start] & 0xC0) == 0x80)
                start--;
            size_t i = start;
            if (!sg_py_isspace(sg_utf8_next(s, e, &i)))
                break;
            e = start;
        }
        return append(out, s + b, e - b);
    }
    case SG_HF_LOWERCASE: { /* each character on its own (Rust's char::to_lowercase) */
        for (size_t i = 0; i < n;) {
            uint32_t low[2];
            int k = sg_lower_char(sg_utf8_next(s, n, &i), low);
            if (sg_buf_reserve(out, 8) != 0)
                return SIGLIP_ENOMEM;
            for (int j = 0; j < k; j++)
                out->len += (size_t)sg_utf8_put(low[j], out->data + out->len);
        }
        return 0;
    }
    default: { /* Unicode normal forms */
        int opt = UTF8PROC_STABLE;
        if (nz->kind == SG_HF_NFC || nz->kind == SG_HF_NFKC)
            opt |= UTF8PROC_COMPOSE;
        else
            opt |= UTF8PROC_DECOMPOSE;
        if (nz->kind == SG_HF_NFKC || nz->kind == SG_HF_NFKD)
            opt |= UTF8PROC_COMPAT;
        utf8proc_uint8_t *res = NULL;
        utf8proc_ssize_t len = utf8proc_map(s, (utf8proc_ssize_t)n, &res, (utf8proc_option_t)opt);
        int rc = len < 0 ? SIGLIP_ENOMEM : append(out, res, (size_t)len);
        free(res);
        return rc;
    }
    }
}

int sg_hf_normalize(const SgHfModel *hf, const unsigned char *s, size_t n, SgBuf *out)
{
    SgBuf a = {0}, b = {0};
    int rc = append(&a, s, n);
    for (int k = 0; k < hf->n_norms && !rc; k++) {
        rc = apply_norm(&hf->norms[k], &a, &b);
        SgBuf t = a;
        a = b;
        b = t;
    }
    out->len = 0;
    if (!rc)
        rc = append(out, a.data, a.len);
    sg_buf_free(&a);
    sg_buf_free(&b);
    return rc;
}

/* ---------------------------------------------------------------- BPE by merge rank */

typedef struct HfSymbol {
    int32_t id;
    int32_t len;        /* bytes; 0 once merged into the left neighbour */
    int32_t prev, next; /* -1 at the ends */
} HfSymbol;

/* HF's Merge order (lowest rank, then leftmost) as an agenda candidate: score = -rank, exact
 * below 2^24 merges (checked at load); a = the merged id. */
static void push_merge(SgMergeCandidate *heap, size_t *n, int32_t rank, int32_t pos, int32_t id)
{
    sg_merge_push(heap, n, (SgMergeCandidate){-(float)rank, pos, id, 0});
}

static int add_symbol(SgBuf *b, int32_t id, int32_t len)
{
    if (sg_buf_reserve(b, sizeof(HfSymbol)) != 0)
        return SIGLIP_ENOMEM;
    HfSymbol *sym = (HfSymbol *)(void *)b->data;
    int32_t k = (int32_t)(b->len / sizeof *sym);
    sym[k] = (HfSymbol){id, len, k - 1, -1};
    if (k > 0)
        sym[k - 1].next = k;
    b->len += sizeof *sym;
    return 0;
}

/* The characters of the word as symbols: vocabulary entries, else byte pieces under
 * byte_fallback when all exist, else unk (runs fused under fuse_unk). */
static int initial_symbols(const SgSpModel *m, const SgHfModel *hf, const unsigned char *w,
                           size_t n, SgBuf *symbols)
{
    int32_t unk_len = 0; /* pending unk bytes */
    for (size_t i = 0; i < n;) {
        size_t start = i;
        sg_utf8_next(w, n, &i);
        int32_t clen = (int32_t)(i - start);
        int32_t id = vocab_id(m, (const char *)w + start, (size_t)clen);
        int bytes_ok = m->byte_fallback;
        for (int32_t k = 0; id < 0 && bytes_ok && k < clen; k++)
            bytes_ok = m->byte_ids[w[start + k]] != m->unk_id;
        if (id >= 0 || bytes_ok) {
            if (unk_len && add_symbol(symbols, m->unk_id, unk_len))
                return SIGLIP_ENOMEM;
            unk_len = 0;
            if (id >= 0) {
                if (add_symbol(symbols, id, clen))
                    return SIGLIP_ENOMEM;
            } else {
                for (int32_t k = 0; k < clen; k++)
                    if (add_symbol(symbols, m->byte_ids[w[start + k]], 1))
                        return SIGLIP_ENOMEM;
            }
            continue;
        }
        if (unk_len && !hf->fuse_unk) {
            if (add_symbol(symbols, m->unk_id, unk_len))
                return SIGLIP_ENOMEM;
            unk_len = 0;
        }
        unk_len += clen;
    }
    return unk_len ? add_symbol(symbols, m->unk_id, unk_len) : 0;
}

/* Word::merge_all of HF tokenizers. */
static int merge_all(const SgHfModel *hf, SgBuf *symbols, SgBuf *agenda)
{
    HfSymbol *sym = (HfSymbol *)(void *)symbols->data;
    size_t n = symbols->len / sizeof *sym, n_heap = 0;
    agenda->len = 0;
    if (sg_buf_reserve(agenda, (3 * n + 1) * sizeof(SgMergeCandidate)) != 0)
        return SIGLIP_ENOMEM;
    SgMergeCandidate *heap = (SgMergeCandidate *)(void *)agenda->data;
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t new_id, rank = merge_find(hf, sym[i].id, sym[i + 1].id, &new_id);
        if (rank >= 0)
            push_merge(heap, &n_heap, rank, (int32_t)i, new_id);
    }
    while (n_heap > 0) {
        SgMergeCandidate top = sg_merge_pop(heap, &n_heap);
        int32_t top_id = top.a;
        HfSymbol *cur = &sym[top.pos];
        if (cur->len == 0 || cur->next < 0)
            continue;
        HfSymbol right = sym[cur->next];
        int32_t new_id;
        if (merge_find(hf, cur->id, right.id, &new_id) < 0 || new_id != top_id)
            continue; /* an expired entry */
        sym[cur->next].len = 0;
        cur->id = top_id;
        cur->len += right.len;
        cur->next = right.next;
        if (right.next >= 0)
            sym[right.next].prev = top.pos;
        int32_t rank;
        if (cur->prev >= 0 && (rank = merge_find(hf, sym[cur->prev].id, cur->id, &new_id)) >= 0)
            push_merge(heap, &n_heap, rank, cur->prev, new_id);
        if (cur->next >= 0 && (rank = merge_find(hf, cur->id, sym[cur->next].id, &new_id)) >= 0)
            push_merge(heap, &n_heap, rank, top.pos, new_id);
    }
    return 0;
}

/* BPE::tokenize of one word, its ids appended to scr->ids. */
static int encode_word(const SgSpModel *m, const SgHfModel *hf, const unsigned char *text,
                       size_t size, SgSpScratch *scr)
{
    scr->symbols.len = 0;
    if (size == 0)
        return 0;
    int32_t whole = hf->ignore_merges ? vocab_id(m, (const char *)text, size) : -1;
    if (whole >= 0)
        return append(&scr->ids, &whole, sizeof whole);
    if (initial_symbols(m, hf, text, size, &scr->symbols) ||
        merge_all(hf, &scr->symbols, &scr->agenda))
        return SIGLIP_ENOMEM;
    const HfSymbol *sym = (const HfSymbol *)(const void *)scr->symbols.data;
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        if (append(&scr->ids, &sym[i].id, sizeof sym[i].id))
            return SIGLIP_ENOMEM;
    return 0;
}

/* The next match of the split pattern at or after `at`, or n. */
static size_t next_match(const SgHfModel *hf, const unsigned char *s, size_t n, size_t at)
{
    size_t pl = strlen(hf->split_pattern);
    for (; at + pl <= n; at++)
        if (memcmp(s + at, hf->split_pattern, pl) == 0)
            return at;
    return n;
}

int sg_hf_bpe_encode(const SgSpModel *m, const SgHfModel *hf, const unsigned char *text,
                     size_t size, SgSpScratch *scr)
{
    scr->ids.len = 0;
    if (sg_buf_reserve(&scr->ids, sizeof(int32_t)) != 0)
        return SIGLIP_ENOMEM;
    if (hf->split == SG_HF_SPLIT_NONE)
        return encode_word(m, hf, text, size, scr);
    /* Words between matches; a match is dropped, its own word, or glued to a neighbour. Empty
     * words are skipped, as HF filters them. */
    size_t pl = strlen(hf->split_pattern), start = 0;
    for (size_t at = next_match(hf, text, size, 0); at < size;) {
        size_t end = at + pl;
        if (hf->split == SG_HF_SPLIT_CONTIGUOUS)
            while (end + pl <= size && memcmp(text + end, hf->split_pattern, pl) == 0)
                end += pl;
        int rc = 0;
        switch (hf->split) {
        case SG_HF_SPLIT_MERGED_PREV:
            rc = encode_word(m, hf, text + start, end - start, scr);
            start = end;
            break;
        case SG_HF_SPLIT_MERGED_NEXT:
            rc = encode_word(m, hf, text + start, at - start, scr);
            start = at;
            break;
        default: /* REMOVED, ISOLATED, CONTIGUOUS */
            rc = encode_word(m, hf, text + start, at - start, scr);
            if (!rc && hf->split != SG_HF_SPLIT_REMOVED)
                rc = encode_word(m, hf, text + at, end - at, scr);
            start = end;
            break;
        }
        if (rc)
            return rc;
        at = next_match(hf, text, size, end);
    }
    return encode_word(m, hf, text + start, size - start, scr);
}

/* ---------------------------------------------------------------- loading */

void sg_hf_free(SgHfModel *hf)
{
    if (!hf)
        return;
    for (int k = 0; k < hf->n_norms; k++) {
        free(hf->norms[k].from);
        free(hf->norms[k].to);
    }
    free(hf->norms);
    free(hf->merge_key);
    free(hf->merge_rank);
    free(hf->merge_id);
    free(hf->split_pattern);
    for (int k = 0; k < hf->n_added; k++)
        free(hf->added[k]);
    free(hf->added);
    free(hf);
}

/* The model section: type, flags, unk; BPE options HF has and this reader does not support are
 * refused rather than ignored. */
static int read_model_kind(const cJSON *model, SgHfModel *hf, int *byte_fallback, SgError *err)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!cJSON_IsString(type))
        return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json: model.type is missing");
    hf->bpe = strcmp(type->valuestring, "BPE") == 0;
    if (!hf->bpe && strcmp(type->valuestring, "Unigram") != 0)
        return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: model type \"%s\" is not supported "
                       "(BPE or Unigram)", type->valuestring);
    *byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    hf->fuse_unk = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "fuse_unk"));
    hf->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges"));
    static const char *const unsupported[] = {"continuing_subword_prefix", "end_of_word_suffix",
                                              "dropout"};
    for (size_t k = 0; hf->bpe && k < sizeof unsupported / sizeof *unsupported; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, unsupported[k]);
        if (v && !cJSON_IsNull(v) && !(cJSON_IsString(v) && !*v->valuestring))
            return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: BPE %s is not supported",
                           unsupported[k]);
    }
    return 0;
}

/* Marks unk, byte and control pieces so the SentencePiece model knows them. */
static int mark_pieces(const cJSON *model, const SgHfModel *hf, int byte_fallback, Entry *e,
                       int n, SgError *err)
{
    int unk = -1;
    if (hf->bpe) {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
        for (int i = 0; cJSON_IsString(u) && i < n && unk < 0; i++)
            if (strcmp(e[i].text, u->valuestring) == 0)
                unk = i;
    } else {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(model, "unk_id");
        unk = cJSON_IsNumber(u) && u->valuedouble >= 0 && u->valuedouble < n ? (int)u->valuedouble
                                                                             : -1;
    }
    if (unk < 0)
        return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: a model without an unknown token "
                       "in its vocabulary is not supported");
    e[unk].type = SG_PIECE_UNKNOWN;
    for (int i = 0; byte_fallback && i < n; i++)
        if (i != unk && is_byte_piece(e[i].text))
            e[i].type = SG_PIECE_BYTE;
    return 0;
}

/* None, or (for BPE) Split on a plain string, which Gemma's converter writes. */
static int read_pre_tokenizer(const cJSON *root, SgHfModel *hf, SgError *err)
{
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!pre || cJSON_IsNull(pre))
        return 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pre, "type");
    const cJSON *pattern = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(pre, "pattern"), "String");
    const cJSON *behavior = cJSON_GetObjectItemCaseSensitive(pre, "behavior");
    static const struct { const char *name; SgHfSplit split; } behaviors[] = {
        {"Removed", SG_HF_SPLIT_REMOVED}, {"Isolated", SG_HF_SPLIT_ISOLATED},
        {"MergedWithPrevious", SG_HF_SPLIT_MERGED_PREV},
        {"MergedWithNext", SG_HF_SPLIT_MERGED_NEXT}, {"Contiguous", SG_HF_SPLIT_CONTIGUOUS}};
    if (hf->bpe && cJSON_IsString(type) && strcmp(type->valuestring, "Split") == 0 &&
        cJSON_IsString(pattern) && *pattern->valuestring && cJSON_IsString(behavior) &&
        !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pre, "invert"))) {
        for (size_t k = 0; k < sizeof behaviors / sizeof *behaviors; k++) {
            if (strcmp(behavior->valuestring, behaviors[k].name) != 0)
                continue;
            hf->split = behaviors[k].split;
            hf->split_pattern = strdup(pattern->valuestring);
            return hf->split_pattern ? 0 : sg_fail(err, SIGLIP_ENOMEM, "out of memory");
        }
    }
    return sg_fail(err, SIGLIP_ENOTSUP, "tokenizer.json: pre_tokenizer \"%s\" is not supported "
                   "(none, or Split on a string pattern with a BPE model)",
                   cJSON_IsString(type) ? type->valuestring : "?");
}

int sg_hf_load(const char *json, size_t len, SgSpModel **out, SgHfModel **out_hf, SgError *err)
{
    *out = NULL;
    *out_hf = NULL;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sg_fail(err, SIGLIP_EBADMSG, "tokenizer.json is not a JSON object");
    }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    SgHfModel *hf = calloc(1, sizeof *hf);
    Entry *entries = NULL;
    int n = 0, byte_fallback = 0;
    SgBuf blob = {0};
    int rc = hf ? 0 : sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    if (!rc)
        rc = read_model_kind(model, hf, &byte_fallback, err);
    if (!rc)
        rc = read_pre_tokenizer(root, hf, err);
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (!rc && norm && !cJSON_IsNull(norm))
        rc = add_norm(hf, norm, err);
    if (!rc)
        rc = collect_vocab(model, hf->bpe, &entries, &n, err);
    if (!rc)
        rc = collect_added(root, hf, &entries, &n, err);
    if (!rc)
        rc = mark_pieces(model, hf, byte_fallback, entries, n, err);
    if (!rc && build_proto(entries, n, hf->bpe, byte_fallback, &blob) != 0)
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory reading tokenizer.json");
    SgSpModel *m = NULL;
    if (!rc)
        rc = sg_sp_load(&m, blob.data, blob.len, err);
    if (!rc && hf->bpe)
        rc = load_merges(model, m, hf, err);
    sg_buf_free(&blob);
    free(entries);
    cJSON_Delete(root);
    if (rc) {
        sg_hf_free(hf);
        sg_sp_free(&m);
        return rc;
    }
    *out = m;
    *out_hf = hf;
    return 0;
}
