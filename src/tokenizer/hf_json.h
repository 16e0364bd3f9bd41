/* hf_json.h — Hugging Face tokenizers' tokenizer.json (BPE or Unigram model, normalizer list,
 * added tokens) as an SgSpModel (the vocabulary) and an SgHfModel (the BPE merge ranks and
 * normalizers HF applies), with HF's normalizing and BPE over them. */
#ifndef SG_TOKENIZER_HF_JSON_H
#define SG_TOKENIZER_HF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "tokenizer/spiece.h"

/* One step of the normalizer list. */
typedef enum SgHfNormKind {
    SG_HF_LOWERCASE,
    SG_HF_REPLACE,   /* every occurrence of `from` (a plain string) by `to` */
    SG_HF_PREPEND,   /* `to` in front of non-empty text */
    SG_HF_STRIP,     /* whitespace at the left and/or right end */
    SG_HF_NFC,
    SG_HF_NFD,
    SG_HF_NFKC,
    SG_HF_NFKD,
} SgHfNormKind;

typedef struct SgHfNorm {
    SgHfNormKind kind;
    char *from, *to; /* owned; REPLACE, PREPEND */
    int left, right; /* STRIP */
} SgHfNorm;

/* The Split pre-tokenizer's SplitDelimiterBehavior: what becomes of each match of the pattern. */
typedef enum SgHfSplit {
    SG_HF_SPLIT_NONE,        /* no pre-tokenizer: the normalized text is one word */
    SG_HF_SPLIT_REMOVED,
    SG_HF_SPLIT_ISOLATED,
    SG_HF_SPLIT_MERGED_PREV, /* MergedWithPrevious */
    SG_HF_SPLIT_MERGED_NEXT, /* MergedWithNext */
    SG_HF_SPLIT_CONTIGUOUS,  /* runs of matches are one isolated word */
} SgHfSplit;

/* The parts of tokenizer.json that SentencePiece's model has no room for. */
typedef struct SgHfModel {
    SgHfNorm *norms;       /* [n_norms] applied in order */
    int n_norms;
    int bpe;               /* model.type "BPE" (else "Unigram") */
    int fuse_unk;          /* BPE: runs of unknown characters are one unk */
    int ignore_merges;     /* BPE: a word that is a vocabulary entry is taken whole */
    SgHfSplit split;       /* BPE: pre_tokenizer Split on the string `split_pattern` */
    char *split_pattern;   /* owned */
    /* BPE merges: (left id, right id) → rank and merged id, open addressing */
    uint64_t *merge_key;   /* [merge_mask + 1] (left << 32 | right) + 1; 0 = empty */
    int32_t *merge_rank;
    int32_t *merge_id;
    size_t merge_mask;
    char **added;          /* [n_added] added_tokens contents (owned), split out before encoding */
    int n_added;
} SgHfModel;

/* Reads tokenizer.json text (len bytes) into a new SgSpModel (*out: its vocabulary) and a new
 * SgHfModel (*out_hf: the rest), both the caller's (sg_sp_free, sg_hf_free). A model,
 * normalizer or pre-tokenizer outside the supported set is SIGLIP_ENOTSUP naming it; malformed
 * JSON or an inconsistent vocabulary is SIGLIP_EBADMSG. */
int sg_hf_load(const char *json, size_t len, SgSpModel **out, SgHfModel **out_hf, SgError *err);

void sg_hf_free(SgHfModel *hf);

/* The HF normalizers on s[0..n) into out (replaced). Only fails with SIGLIP_ENOMEM. */
int sg_hf_normalize(const SgHfModel *hf, const unsigned char *s, size_t n, SgBuf *out);

/* HF's BPE (word.merge_all: the lowest-ranked adjacent pair first, leftmost on ties) over each
 * word of the normalized text (the whole text, or the Split pre-tokenizer's words); ids into
 * scr->ids. 0 or SIGLIP_ENOMEM. */
int sg_hf_bpe_encode(const SgSpModel *m, const SgHfModel *hf, const unsigned char *text,
                     size_t size, SgSpScratch *scr);

#endif /* SG_TOKENIZER_HF_JSON_H */
