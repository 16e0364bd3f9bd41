/* unigram.c — SentencePiece's unigram encoder: Viterbi over piece scores with its exact float
 * arithmetic and tie-breaking, then unknown-run merging and byte fallback (which SentencePiece's
 * BPE shares). */
#include "tokenizer/spiece.h"

#include <stdlib.h>

/* SentencePiece's kUnkPenalty: an unknown character scores min_score - 10. */
#define SG_UNK_PENALTY 10.0f

/* The best path ending at one byte position of the normalized text. */
typedef struct BestNode {
    float score;       /* total score of the best path ending here */
    int32_t starts_at; /* start of its last piece, -1 while unreached */
    int32_t id;        /* its last piece */
} BestNode;

void sg_sp_scratch_free(SgSpScratch *s)
{
    sg_buf_free(&s->normalized);
    sg_buf_free(&s->lattice);
    sg_buf_free(&s->path);
    sg_buf_free(&s->ids);
    sg_buf_free(&s->symbols);
    sg_buf_free(&s->agenda);
    sg_buf_free(&s->splits);
}

static void relax(BestNode *target, double candidate, int32_t starts_at, int32_t id)
{
    /* SentencePiece compares a double candidate against the stored float and keeps the first
     * path on ties (strictly greater replaces). */
    if (target->starts_at == -1 || candidate > (double)target->score) {
        target->score = (float)candidate;
        target->starts_at = starts_at;
        target->id = id;
    }
}

/* Viterbi over the pieces starting at each character; fills lattice[0..size]. */
static void viterbi(const SgSpModel *m, const unsigned char *text, int32_t size, BestNode *lattice)
{
    const SgPieceTrie *t = &m->trie;
    const float unk_score = m->min_score - SG_UNK_PENALTY;
    for (int32_t i = 0; i <= size; i++)
        lattice[i] = (BestNode){0.0f, -1, -1};
    for (int32_t start = 0; start < size;) {
        const float till_here = lattice[start].score;
        int32_t mblen = sg_utf8_lead_len(text[start]);
        if (mblen > size - start)
            mblen = size - start;
        int has_single = 0;
        int32_t node = 0;
        for (int32_t end = start; end < size;) {
            node = sg_trie_child(t, node, text[end++]);
            if (node < 0)
                break;
            int32_t id = t->vocab_id[node];
            if (id < 0 || m->pieces[id].type == SG_PIECE_UNUSED)
                continue;
            int32_t length = end - start;
            /* A user-defined piece gets a bonus so that it is always chosen; the arithmetic
             * (float product, double difference) is SentencePiece's. */
            double score = m->pieces[id].type == SG_PIECE_USER_DEFINED
                               ? (double)((float)length * m->max_score) - 0.1
                               : (double)m->pieces[id].score;
            relax(&lattice[end], score + (double)till_here, start, id);
            if (length == mblen)
                has_single = 1;
        }
        if (!has_single) {
            float candidate = unk_score + till_here; /* float sum, as in SentencePiece */
            relax(&lattice[start + mblen], (double)candidate, start, m->unk_id);
        }
        start += mblen;
    }
}

/* Appends the ids of the best path in order, merging runs of unknown pieces into one id, or with
 * byte_fallback spelling each unknown piece as its UTF-8 bytes. */
int sg_sp_emit_ids(const SgSpModel *m, const unsigned char *text, const SgSpan *path,
                   size_t n_path, SgSpScratch *scr)
{
    scr->ids.len = 0;
    if (sg_buf_reserve(&scr->ids, sizeof(int32_t)) != 0) /* never NULL, even for no ids */
        return SIGLIP_ENOMEM;
    int prev_unk = 0;
    for (size_t k = n_path; k-- > 0;) {
        const SgSpan *p = &path[k];
        int is_unk = p->id == m->unk_id;
        size_t need = is_unk && m->byte_fallback ? (size_t)(p->end - p->begin) : 1;
        if (sg_buf_reserve(&scr->ids, need * sizeof(int32_t)) != 0)
            return SIGLIP_ENOMEM;
        int32_t *out = (int32_t *)(void *)(scr->ids.data + scr->ids.len);
        size_t n_out = 0;
        if (is_unk && m->byte_fallback) {
            for (int32_t b = p->begin; b < p->end; b++)
                out[n_out++] = m->byte_ids[text[b]];
        } else if (!(is_unk && prev_unk)) {
            out[n_out++] = p->id;
        }
        scr->ids.len += n_out * sizeof(int32_t);
        prev_unk = is_unk;
    }
    return 0;
}

int sg_sp_unigram_encode(const SgSpModel *m, const unsigned char *text, size_t size,
                         SgSpScratch *scr)
{
    size_t n_path = 0;
    scr->lattice.len = scr->path.len = 0;
    if (sg_buf_reserve(&scr->lattice, (size + 1) * sizeof(BestNode)) != 0 ||
        sg_buf_reserve(&scr->path, (size + 1) * sizeof(SgSpan)) != 0)
        return SIGLIP_ENOMEM;
    BestNode *lattice = (BestNode *)(void *)scr->lattice.data;
    viterbi(m, text, (int32_t)size, lattice);
    SgSpan *path = (SgSpan *)(void *)scr->path.data;
    for (int32_t end = (int32_t)size; end > 0; end = lattice[end].starts_at)
        path[n_path++] = (SgSpan){lattice[end].starts_at, end, lattice[end].id};
    return sg_sp_emit_ids(m, text, path, n_path, scr);
}
