/* spiece.h — a SentencePiece model (spiece.model / tokenizer.model, protobuf ModelProto): pieces,
 * a byte trie over them, the normalizer, and unigram or BPE encoding with SentencePiece's exact
 * results. */
#ifndef SG_TOKENIZER_SPIECE_H
#define SG_TOKENIZER_SPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/text.h"

typedef enum SgPieceType {
    SG_PIECE_NORMAL = 1,
    SG_PIECE_UNKNOWN = 2,
    SG_PIECE_CONTROL = 3,
    SG_PIECE_USER_DEFINED = 4,
    SG_PIECE_UNUSED = 5,
    SG_PIECE_BYTE = 6,
} SgPieceType;

typedef enum SgModelType {
    SG_MODEL_UNIGRAM = 1,
    SG_MODEL_BPE = 2,
    SG_MODEL_WORD = 3,
    SG_MODEL_CHAR = 4,
} SgModelType;

typedef struct SgPiece {
    uint32_t offset; /* piece text = model->blob + offset, `len` bytes, not NUL-terminated */
    uint32_t len;
    float score;
    uint8_t type;    /* SgPieceType */
} SgPiece;

/* A byte trie over piece strings; children are found through one hash table of edges. */
typedef struct SgPieceTrie {
    int32_t *vocab_id;    /* [n_nodes] NORMAL / USER_DEFINED / UNUSED piece ending here, or -1 */
    int32_t *reserved_id; /* [n_nodes] CONTROL / UNKNOWN / BYTE piece ending here, or -1 */
    size_t n_nodes;
    uint64_t *edge_key;   /* [edge_mask + 1] (parent << 8 | byte) + 1; 0 = empty slot */
    int32_t *edge_child;  /* [edge_mask + 1] */
    size_t edge_mask;
} SgPieceTrie;

static inline size_t sg_trie_slot(const SgPieceTrie *t, uint64_t key)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & t->edge_mask;
}

/* The child of `node` along `byte`, or -1. */
static inline int32_t sg_trie_child(const SgPieceTrie *t, int32_t node, unsigned char byte)
{
    uint64_t key = (((uint64_t)node << 8) | byte) + 1;
    for (size_t s = sg_trie_slot(t, key);; s = (s + 1) & t->edge_mask) {
        if (t->edge_key[s] == key)
            return t->edge_child[s];
        if (t->edge_key[s] == 0)
            return -1;
    }
}

typedef struct SgSpModel {
    unsigned char *blob;  /* the serialized model (owned); pieces point into it */
    size_t blob_size;
    SgPiece *pieces;      /* [n_pieces] */
    int n_pieces;
    int model_type;       /* SgModelType */
    int unk_id;           /* the UNKNOWN piece */
    int bos_id, eos_id, pad_id; /* trainer_spec (may be -1) */
    int byte_fallback;
    int byte_ids[256];    /* id of "<0xNN>" (unk_id when absent) */
    float min_score;      /* over NORMAL pieces, as the unigram model computes them */
    float max_score;
    SgNormalizer normalizer;
    SgPieceTrie trie;
} SgSpModel;

/* Parses a serialized ModelProto (copied). Malformed protobuf or an inconsistent model:
 * SIGLIP_EBADMSG; a model type other than unigram or BPE: SIGLIP_ENOTSUP. */
int sg_sp_load(SgSpModel **out, const unsigned char *data, size_t size, SgError *err);
void sg_sp_free(SgSpModel **model);

/* SentencePiece's PieceToId: reserved pieces first, then the others; unk_id when absent. */
int sg_sp_piece_to_id(const SgSpModel *m, const unsigned char *s, size_t len);

/* The text of piece `id` (not NUL-terminated). */
static inline const unsigned char *sg_sp_piece_text(const SgSpModel *m, int id, size_t *len)
{
    *len = m->pieces[id].len;
    return m->blob + m->pieces[id].offset;
}

/* Reusable buffers for encoding (no allocation per call once they have grown). */
typedef struct SgSpScratch {
    SgBuf normalized;
    SgBuf lattice;  /* unigram: best path nodes, one per normalized byte + 1 */
    SgBuf path;     /* the segmentation's pieces (SgSpan), last first */
    SgBuf ids;      /* int32 result */
    SgBuf symbols;  /* BPE: the symbols being merged */
    SgBuf agenda;   /* BPE: heap of candidate merges */
    SgBuf splits;   /* BPE: how UNUSED pieces were merged, for resegmenting them */
} SgSpScratch;

void sg_sp_scratch_free(SgSpScratch *s);

/* One piece of a segmentation: bytes [begin, end) of the normalized text and its id. */
typedef struct SgSpan {
    int32_t begin, end;
    int32_t id;
} SgSpan;

/* The longest USER_DEFINED piece at the start of s[0..n), 0 when none (SentencePiece's
 * PrefixMatcher). */
size_t sg_sp_user_prefix(const SgSpModel *m, const unsigned char *s, size_t n);

/* Length in bytes of the UTF-8 character whose lead byte is `lead` (1 for a stray byte). */
static inline int sg_utf8_lead_len(unsigned char lead)
{
    static const unsigned char len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[lead >> 4];
}

/* A candidate merge in a BPE agenda: the highest score first, then the leftmost `pos`; `a` and
 * `b` are the encoder's own (SentencePiece: right symbol and merged size; HF: merged id). */
typedef struct SgMergeCandidate {
    float score;
    int32_t pos;
    int32_t a, b;
} SgMergeCandidate;

/* Binary heap of candidates in that order; *n is its size, the array has room for one more. */
void sg_merge_push(SgMergeCandidate *heap, size_t *n, SgMergeCandidate c);
SgMergeCandidate sg_merge_pop(SgMergeCandidate *heap, size_t *n);

/* SentencePiece's BPE segmentation of normalized text[0..size) (bpe_model.cc): characters and
 * user-defined pieces as symbols, the best-scoring adjacent pair merged first (leftmost on ties),
 * UNUSED pieces split back. Writes the pieces into scr->path, last first; returns their count,
 * or -1 when out of memory. */
long sg_sp_bpe_segment(const SgSpModel *m, const unsigned char *text, int32_t size,
                       SgSpScratch *scr);

/* The ids of a segmentation (path[0..n_path), last piece first) of normalized text into scr->ids
 * as SentencePiece emits them: runs of unknown pieces merged into one, or under byte_fallback
 * each unknown piece spelt as its bytes. 0 or SIGLIP_ENOMEM. */
int sg_sp_emit_ids(const SgSpModel *m, const unsigned char *text, const SgSpan *path,
                   size_t n_path, SgSpScratch *scr);

/* SentencePiece's unigram encoding of normalized text[0..size) (size < INT32_MAX / 2): Viterbi,
 * then sg_sp_emit_ids. 0 or SIGLIP_ENOMEM. (Normalizing and choosing unigram or BPE is the
 * caller's: tokenizer/encoder.h.) */
int sg_sp_unigram_encode(const SgSpModel *m, const unsigned char *text, size_t size,
                         SgSpScratch *scr);

#endif /* SG_TOKENIZER_SPIECE_H */
