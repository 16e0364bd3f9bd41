/* spiece.c — reading spiece.model: a bounds-checked protobuf reader for ModelProto, the piece
 * trie, and the checks SentencePiece's model loader makes. */
#include "tokenizer/spiece.h"

#include <float.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- protobuf wire format */

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_BYTES = 2, WIRE_FIXED32 = 5 };

typedef struct PbReader {
    const unsigned char *p;
    const unsigned char *end;
} PbReader;

/* Each reader returns 0, or -1 when the data ends early or is not protobuf. */
static int pb_varint(PbReader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end)
            return -1;
        unsigned char b = *r->p++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static int pb_tag(PbReader *r, uint32_t *field, uint32_t *wire)
{
    uint64_t tag;
    if (pb_varint(r, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF)
        return -1;
    *field = (uint32_t)(tag >> 3);
    *wire = (uint32_t)(tag & 7);
    return 0;
}

static int pb_bytes(PbReader *r, PbReader *sub)
{
    uint64_t len;
    if (pb_varint(r, &len) != 0 || len > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return 0;
}

static int pb_fixed32(PbReader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return -1;
    *v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
         (uint32_t)r->p[3] << 24;
    r->p += 4;
    return 0;
}

static int pb_skip(PbReader *r, uint32_t wire)
{
    uint64_t v;
    PbReader sub;
    switch (wire) {
    case WIRE_VARINT:
        return pb_varint(r, &v);
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
        ptrdiff_t n = wire == WIRE_FIXED64 ? 8 : 4;
        if (r->end - r->p < n)
            return -1;
        r->p += n;
        return 0;
    }
    case WIRE_BYTES:
        return pb_bytes(r, &sub);
    default:
        return -1; /* groups (3, 4) and wire types 6, 7 do not occur in ModelProto */
    }
}

/* One field of a message: for a varint or fixed32 field v is its value, for a bytes field sub its
 * span; fields of other wire types are skipped, as protobuf does with what it cannot interpret. */
typedef struct PbField {
    uint32_t field, wire;
    uint64_t v;
    PbReader sub;
} PbField;

/* Reads the next field of r into *f: 1 when one was read, 0 at the end, -1 when truncated. */
static int pb_next(PbReader *r, PbField *f)
{
    if (r->p >= r->end)
        return 0;
    f->v = 0;
    f->sub = (PbReader){0};
    if (pb_tag(r, &f->field, &f->wire) != 0)
        return -1;
    int rc;
    switch (f->wire) {
    case WIRE_VARINT:
        rc = pb_varint(r, &f->v);
        break;
    case WIRE_BYTES:
        rc = pb_bytes(r, &f->sub);
        break;
    case WIRE_FIXED32: {
        uint32_t x = 0;
        rc = pb_fixed32(r, &x);
        f->v = x;
        break;
    }
    default:
        rc = pb_skip(r, f->wire);
        break;
    }
    return rc == 0 ? 1 : -1;
}

/* ---------------------------------------------------------------- piece trie */

/* Inserts a piece; returns the node where it ends. Room was reserved by trie_init. */
static int32_t trie_insert(SgPieceTrie *t, const unsigned char *s, size_t len)
{
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        uint64_t key = (((uint64_t)node << 8) | s[i]) + 1;
        size_t slot = sg_trie_slot(t, key);
        while (t->edge_key[slot] != 0 && t->edge_key[slot] != key)
            slot = (slot + 1) & t->edge_mask;
        if (t->edge_key[slot] == 0) {
            int32_t child = (int32_t)t->n_nodes++;
            t->vocab_id[child] = t->reserved_id[child] = -1;
            t->edge_key[slot] = key;
            t->edge_child[slot] = child;
        }
        node = t->edge_child[slot];
    }
    return node;
}

static int trie_init(SgPieceTrie *t, size_t total_bytes)
{
    size_t max_nodes = total_bytes + 1;
    size_t cap = 64;
    while (cap < 2 * total_bytes + 2)
        cap *= 2;
    t->vocab_id = malloc(max_nodes * sizeof *t->vocab_id);
    t->reserved_id = malloc(max_nodes * sizeof *t->reserved_id);
    t->edge_key = calloc(cap, sizeof *t->edge_key);
    t->edge_child = malloc(cap * sizeof *t->edge_child);
    t->edge_mask = cap - 1;
    t->n_nodes = 1;
    if (!t->vocab_id || !t->reserved_id || !t->edge_key || !t->edge_child)
        return SIGLIP_ENOMEM;
    t->vocab_id[0] = t->reserved_id[0] = -1;
    return 0;
}

static void trie_free(SgPieceTrie *t)
{
    free(t->vocab_id);
    free(t->reserved_id);
    free(t->edge_key);
    free(t->edge_child);
    memset(t, 0, sizeof *t);
}

static int32_t trie_find(const SgPieceTrie *t, const unsigned char *s, size_t len)
{
    int32_t node = 0;
    for (size_t i = 0; i < len && node >= 0; i++)
        node = sg_trie_child(t, node, s[i]);
    return node;
}

int sg_sp_piece_to_id(const SgSpModel *m, const unsigned char *s, size_t len)
{
    int32_t node = trie_find(&m->trie, s, len);
    if (node < 0)
        return m->unk_id;
    if (m->trie.reserved_id[node] >= 0)
        return m->trie.reserved_id[node];
    return m->trie.vocab_id[node] >= 0 ? m->trie.vocab_id[node] : m->unk_id;
}

size_t sg_sp_user_prefix(const SgSpModel *m, const unsigned char *s, size_t n)
{
    size_t longest = 0;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = sg_trie_child(&m->trie, node, s[i]);
        if (node < 0)
            break;
        int32_t id = m->trie.vocab_id[node];
        if (id >= 0 && m->pieces[id].type == SG_PIECE_USER_DEFINED)
            longest = i + 1;
    }
    return longest;
}

static size_t user_prefix(const void *model, const unsigned char *s, size_t n)
{
    return sg_sp_user_prefix(model, s, n);
}

/* ---------------------------------------------------------------- ModelProto */

static int bad(SgError *err, const SgSpModel *m, const PbReader *r, const char *what)
{
    return sg_fail(err, SIGLIP_EBADMSG, "spiece.model is malformed: %s (at byte %zu of %zu)", what,
                   (size_t)(r->p - m->blob), m->blob_size);
}

static int parse_piece(SgSpModel *m, PbReader r, SgPiece *piece, SgError *err)
{
    piece->offset = 0;
    piece->len = 0;
    piece->score = 0.0f;
    piece->type = SG_PIECE_NORMAL;
    PbField f;
    int got;
    while ((got = pb_next(&r, &f)) > 0) {
        if (f.field == 1 && f.wire == WIRE_BYTES) {
            piece->offset = (uint32_t)(f.sub.p - m->blob);
            piece->len = (uint32_t)(f.sub.end - f.sub.p);
        } else if (f.field == 2 && f.wire == WIRE_FIXED32) {
            uint32_t bits = (uint32_t)f.v;
            memcpy(&piece->score, &bits, sizeof bits);
        } else if (f.field == 3 && f.wire == WIRE_VARINT && f.v >= SG_PIECE_NORMAL &&
                   f.v <= SG_PIECE_BYTE) {
            piece->type = (uint8_t)f.v;
        }
    }
    return got < 0 ? bad(err, m, &r, "truncated piece") : 0;
}

static int parse_trainer_spec(SgSpModel *m, PbReader r, SgError *err)
{
    PbField f;
    int got;
    while ((got = pb_next(&r, &f)) > 0) {
        if (f.wire != WIRE_VARINT)
            continue;
        switch (f.field) {
        case 3:
            if (f.v >= SG_MODEL_UNIGRAM && f.v <= SG_MODEL_CHAR)
                m->model_type = (int)f.v;
            break;
        case 24: m->normalizer.treat_whitespace_as_suffix = f.v != 0; break;
        case 35: m->byte_fallback = f.v != 0; break;
        case 41: m->bos_id = (int32_t)(uint32_t)f.v; break;
        case 42: m->eos_id = (int32_t)(uint32_t)f.v; break;
        case 43: m->pad_id = (int32_t)(uint32_t)f.v; break;
        default: break;
        }
    }
    return got < 0 ? bad(err, m, &r, "truncated trainer_spec") : 0;
}

static int parse_normalizer_spec(SgSpModel *m, PbReader r, PbReader *charsmap, SgError *err)
{
    PbField f;
    int got;
    while ((got = pb_next(&r, &f)) > 0) {
        if (f.field == 2 && f.wire == WIRE_BYTES)
            *charsmap = f.sub;
        else if (f.field == 3 && f.wire == WIRE_VARINT)
            m->normalizer.add_dummy_prefix = f.v != 0;
        else if (f.field == 4 && f.wire == WIRE_VARINT)
            m->normalizer.remove_extra_whitespaces = f.v != 0;
        else if (f.field == 5 && f.wire == WIRE_VARINT)
            m->normalizer.escape_whitespaces = f.v != 0;
    }
    return got < 0 ? bad(err, m, &r, "truncated normalizer_spec") : 0;
}

static int add_piece(SgSpModel *m, const SgPiece *piece, int *cap)
{
    if (m->n_pieces == *cap) {
        int new_cap = *cap ? *cap * 2 : 1024;
        SgPiece *p = realloc(m->pieces, (size_t)new_cap * sizeof *p);
        if (!p)
            return SIGLIP_ENOMEM;
        m->pieces = p;
        *cap = new_cap;
    }
    m->pieces[m->n_pieces++] = *piece;
    return 0;
}

/* Top level: pieces (1), trainer_spec (2), normalizer_spec (3); the rest is skipped. */
static int parse_model_proto(SgSpModel *m, PbReader *charsmap, SgError *err)
{
    PbReader r = {m->blob, m->blob + m->blob_size};
    int cap = 0;
    PbField f;
    int got;
    while ((got = pb_next(&r, &f)) > 0) {
        if (f.wire != WIRE_BYTES)
            continue;
        int rc = 0;
        if (f.field == 1) {
            SgPiece piece;
            rc = parse_piece(m, f.sub, &piece, err);
            if (rc == 0 && m->n_pieces == INT32_MAX)
                return bad(err, m, &r, "too many pieces");
            if (rc == 0 && add_piece(m, &piece, &cap) != 0)
                return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading spiece.model");
        } else if (f.field == 2) {
            rc = parse_trainer_spec(m, f.sub, err);
        } else if (f.field == 3) {
            rc = parse_normalizer_spec(m, f.sub, charsmap, err);
        }
        if (rc != 0)
            return rc;
    }
    return got < 0 ? bad(err, m, &r, "truncated or not a protobuf message") : 0;
}

/* Builds the trie and makes the checks of SentencePiece's ModelInterface::InitializePieces. */
static int index_pieces(SgSpModel *m, SgError *err)
{
    size_t total = 0;
    for (int i = 0; i < m->n_pieces; i++)
        total += m->pieces[i].len;
    if (trie_init(&m->trie, total) != 0)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory indexing spiece.model");
    m->unk_id = -1;
    m->min_score = FLT_MAX;
    m->max_score = FLT_MIN; /* sic: SentencePiece starts from the smallest positive float */
    for (int i = 0; i < m->n_pieces; i++) {
        const SgPiece *p = &m->pieces[i];
        if (p->len == 0)
            return sg_fail(err, SIGLIP_EBADMSG, "spiece.model: piece %d is empty", i);
        int32_t node = trie_insert(&m->trie, m->blob + p->offset, p->len);
        int normal = p->type == SG_PIECE_NORMAL || p->type == SG_PIECE_USER_DEFINED ||
                     p->type == SG_PIECE_UNUSED;
        int32_t *slot = normal ? &m->trie.vocab_id[node] : &m->trie.reserved_id[node];
        if (*slot >= 0)
            return sg_fail(err, SIGLIP_EBADMSG, "spiece.model: piece %d (\"%.*s\") is already defined",
                           i, (int)(p->len > 64 ? 64 : p->len), (const char *)m->blob + p->offset);
        *slot = i;
        if (p->type == SG_PIECE_UNKNOWN) {
            if (m->unk_id >= 0)
                return sg_fail(err, SIGLIP_EBADMSG, "spiece.model: more than one unknown piece");
            m->unk_id = i;
        }
        if (p->type == SG_PIECE_BYTE && !m->byte_fallback)
            return sg_fail(err, SIGLIP_EBADMSG,
                           "spiece.model: byte piece %d defined without byte_fallback", i);
        if (p->type == SG_PIECE_NORMAL) {
            m->min_score = p->score < m->min_score ? p->score : m->min_score;
            m->max_score = p->score > m->max_score ? p->score : m->max_score;
        }
    }
    if (m->unk_id < 0)
        return sg_fail(err, SIGLIP_EBADMSG, "spiece.model: no unknown piece is defined");
    for (int b = 0; b < 256; b++) {
        char name[8];
        static const char hex[] = "0123456789ABCDEF";
        memcpy(name, "<0x", 3);
        name[3] = hex[b >> 4];
        name[4] = hex[b & 15];
        name[5] = '>';
        m->byte_ids[b] = sg_sp_piece_to_id(m, (const unsigned char *)name, 6);
    }
    return 0;
}

static const char *model_type_name(int t)
{
    switch (t) {
    case SG_MODEL_BPE: return "BPE";
    case SG_MODEL_WORD: return "WORD";
    case SG_MODEL_CHAR: return "CHAR";
    default: return "UNIGRAM";
    }
}

int sg_sp_load(SgSpModel **out, const unsigned char *data, size_t size, SgError *err)
{
    *out = NULL;
    if (size == 0)
        return sg_fail(err, SIGLIP_EBADMSG, "spiece.model is empty");
    if (size > UINT32_MAX)
        return sg_fail(err, SIGLIP_E2BIG, "spiece.model is larger than 4 GiB");
    SgSpModel *m = calloc(1, sizeof *m);
    if (!m || !(m->blob = malloc(size))) {
        free(m);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory loading spiece.model");
    }
    memcpy(m->blob, data, size);
    m->blob_size = size;
    m->model_type = SG_MODEL_UNIGRAM;
    m->bos_id = 1;
    m->eos_id = 2;
    m->pad_id = -1;
    m->normalizer.add_dummy_prefix = 1;
    m->normalizer.remove_extra_whitespaces = 1;
    m->normalizer.escape_whitespaces = 1;
    PbReader charsmap = {0};
    int rc = parse_model_proto(m, &charsmap, err);
    if (rc == 0 && m->n_pieces == 0)
        rc = sg_fail(err, SIGLIP_EBADMSG, "spiece.model has no pieces (not a SentencePiece model?)");
    if (rc == 0 && m->model_type != SG_MODEL_UNIGRAM && m->model_type != SG_MODEL_BPE)
        rc = sg_fail(err, SIGLIP_ENOTSUP,
                     "spiece.model: unsupported model type %s (UNIGRAM or BPE)",
                     model_type_name(m->model_type));
    if (rc == 0)
        rc = index_pieces(m, err);
    if (rc == 0)
        rc = sg_charsmap_init(&m->normalizer.charsmap, charsmap.p,
                              (size_t)(charsmap.end - charsmap.p), err);
    if (rc != 0) {
        sg_sp_free(&m);
        return rc;
    }
    for (int i = 0; i < m->n_pieces; i++) {
        if (m->pieces[i].type == SG_PIECE_USER_DEFINED) { /* SentencePiece's PrefixMatcher */
            m->normalizer.user_prefix = user_prefix;
            m->normalizer.user_prefix_model = m;
            break;
        }
    }
    *out = m;
    return 0;
}

void sg_sp_free(SgSpModel **model)
{
    if (!model || !*model)
        return;
    SgSpModel *m = *model;
    sg_charsmap_free(&m->normalizer.charsmap);
    trie_free(&m->trie);
    free(m->pieces);
    free(m->blob);
    free(m);
    *model = NULL;
}
