/* bpe.c — SentencePiece's BPE encoder: adjacent symbols merged by piece score, best first. */
#include "tokenizer/spiece.h"

#include <string.h>

/* A run of normalized bytes being merged. Symbols only grow by absorbing their right neighbour,
 * which is then emptied, so a symbol always spans contiguous bytes. */
typedef struct Symbol {
    int32_t begin, len; /* len 0: absorbed into its left neighbour */
    int32_t prev, next; /* -1 at the ends */
    int32_t frozen;     /* a user-defined piece: never merged with anything */
} Symbol;

/* How an UNUSED piece was last formed: its first `left_len` bytes and the rest. */
typedef struct Split {
    int32_t id;
    int32_t left_len;
} Split;

/* SentencePiece's agenda order: higher score first, then the leftmost pair. Each (left, right)
 * pair is proposed at most once while valid, so this order is total on live candidates. */
static int better(const SgMergeCandidate *a, const SgMergeCandidate *b)
{
    return a->score > b->score || (a->score == b->score && a->pos < b->pos);
}

void sg_merge_push(SgMergeCandidate *heap, size_t *n, SgMergeCandidate c)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!better(&c, &heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = c;
}

SgMergeCandidate sg_merge_pop(SgMergeCandidate *heap, size_t *n)
{
    SgMergeCandidate top = heap[0], last = heap[--*n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n)
            break;
        if (child + 1 < *n && better(&heap[child + 1], &heap[child]))
            child++;
        if (!better(&heap[child], &last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (*n > 0)
        heap[i] = last;
    return top;
}

/* The NORMAL / USER_DEFINED / UNUSED piece spelled by s[0..len), or -1 (SentencePiece's pieces_
 * map, which leaves out control, unknown and byte pieces). */
static int32_t vocab_piece(const SgSpModel *m, const unsigned char *s, int32_t len)
{
    int32_t node = 0;
    for (int32_t i = 0; i < len && node >= 0; i++)
        node = sg_trie_child(&m->trie, node, s[i]);
    return node < 0 ? -1 : m->trie.vocab_id[node];
}

typedef struct BpeState {
    const SgSpModel *m;
    const unsigned char *text;
    Symbol *sym;
    SgMergeCandidate *heap; /* pos = left symbol, a = right symbol, b = merged size */
    size_t n_heap;
    SgBuf *splits;
    int oom;
} BpeState;

/* SentencePiece's MaybeAddNewSymbolPair. */
static void propose(BpeState *st, int32_t left, int32_t right)
{
    if (left < 0 || right < 0 || st->sym[left].frozen || st->sym[right].frozen)
        return;
    const Symbol *l = &st->sym[left], *r = &st->sym[right];
    int32_t size = l->len + r->len;
    int32_t id = vocab_piece(st->m, st->text + l->begin, size);
    if (id < 0)
        return;
    SgMergeCandidate c = {st->m->pieces[id].score, left, right, size};
    sg_merge_push(st->heap, &st->n_heap, c);
    if (st->m->pieces[id].type == SG_PIECE_UNUSED) {
        if (sg_buf_reserve(st->splits, sizeof(Split)) != 0) {
            st->oom = 1;
            return;
        }
        Split sp = {id, l->len};
        memcpy(st->splits->data + st->splits->len, &sp, sizeof sp);
        st->splits->len += sizeof sp;
    }
}

static int push_span(SgBuf *path, int32_t begin, int32_t end, int32_t id)
{
    if (sg_buf_reserve(path, sizeof(SgSpan)) != 0)
        return SIGLIP_ENOMEM;
    SgSpan span = {begin, end, id};
    memcpy(path->data + path->len, &span, sizeof span);
    path->len += sizeof span;
    return 0;
}

/* SentencePiece's resegment: an UNUSED piece is replaced by the two pieces it was last merged
 * from, recursively; anything else is emitted with its id (unk_id when not in the vocabulary). */
static int resegment(const BpeState *st, int32_t begin, int32_t len, SgBuf *path)
{
    const SgSpModel *m = st->m;
    int32_t id = sg_sp_piece_to_id(m, st->text + begin, (size_t)len);
    if (m->pieces[id].type == SG_PIECE_UNUSED) {
        const Split *splits = (const Split *)(const void *)st->splits->data;
        for (size_t k = st->splits->len / sizeof *splits; k-- > 0;) {
            if (splits[k].id != id)
                continue;
            int32_t left = splits[k].left_len;
            if (resegment(st, begin, left, path) != 0)
                return SIGLIP_ENOMEM;
            return resegment(st, begin + left, len - left, path);
        }
    }
    return push_span(path, begin, begin + len, id);
}

long sg_sp_bpe_segment(const SgSpModel *m, const unsigned char *text, int32_t size,
                       SgSpScratch *scr)
{
    scr->symbols.len = scr->agenda.len = scr->splits.len = scr->path.len = 0;
    /* At most one symbol per byte and, over the whole run, one candidate per initial pair plus
     * two per merge: fewer than 3 per byte. */
    if (sg_buf_reserve(&scr->symbols, ((size_t)size + 1) * sizeof(Symbol)) != 0 ||
        sg_buf_reserve(&scr->agenda, ((size_t)size * 3 + 1) * sizeof(SgMergeCandidate)) != 0)
        return -1;
    BpeState st = {m, text, (Symbol *)(void *)scr->symbols.data,
                   (SgMergeCandidate *)(void *)scr->agenda.data, 0, &scr->splits, 0};
    int32_t n_sym = 0;
    for (int32_t at = 0; at < size;) {
        size_t user = sg_sp_user_prefix(m, text + at, (size_t)(size - at));
        int32_t len = user ? (int32_t)user : sg_utf8_lead_len(text[at]);
        if (len > size - at)
            len = size - at;
        st.sym[n_sym] = (Symbol){at, len, n_sym - 1, at + len < size ? n_sym + 1 : -1, user > 0};
        n_sym++;
        at += len;
    }
    for (int32_t i = 1; i < n_sym; i++)
        propose(&st, i - 1, i);
    while (st.n_heap > 0 && !st.oom) {
        SgMergeCandidate top = sg_merge_pop(st.heap, &st.n_heap);
        int32_t left = top.pos, right = top.a;
        Symbol *l = &st.sym[left], *r = &st.sym[right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != top.b)
            continue; /* stale: one side has changed since it was proposed */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0)
            st.sym[r->next].prev = left;
        r->len = 0;
        propose(&st, l->prev, left);
        propose(&st, left, l->next);
    }
    if (st.oom)
        return -1;
    for (int32_t i = n_sym > 0 ? 0 : -1; i >= 0; i = st.sym[i].next)
        if (resegment(&st, st.sym[i].begin, st.sym[i].len, &scr->path) != 0)
            return -1;
    /* The caller reads the path last piece first, as the unigram lattice leaves it. */
    SgSpan *path = (SgSpan *)(void *)scr->path.data;
    size_t n = scr->path.len / sizeof *path;
    for (size_t a = 0, b = n; a + 1 < b; a++, b--) {
        SgSpan t = path[a];
        path[a] = path[b - 1];
        path[b - 1] = t;
    }
    return (long)n;
}
