/* encoder.h — one interface over the tokenizer model kinds (SentencePiece unigram, SentencePiece
 * BPE, tokenizer.json Unigram, tokenizer.json BPE): the kind is chosen when the model is loaded,
 * and encoding is its normalizer, then its segmentation. */
#ifndef SG_TOKENIZER_ENCODER_H
#define SG_TOKENIZER_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "tokenizer/hf_json.h"
#include "tokenizer/spiece.h"

typedef struct SgEncoder SgEncoder;

/* What a kind does; both fail only with SIGLIP_ENOMEM. */
typedef struct SgEncoderKind {
    const char *name; /* "SentencePiece unigram", …: for messages and tests */
    /* s[0..n) normalized into out (replaced) */
    int (*normalize)(const SgEncoder *e, const unsigned char *s, size_t n, SgBuf *out);
    /* the ids of normalized text[0..size) into scr->ids (replaced) */
    int (*segment)(const SgEncoder *e, const unsigned char *text, size_t size, SgSpScratch *scr);
} SgEncoderKind;

struct SgEncoder {
    const SgEncoderKind *kind; /* chosen by sg_encoder_load (static) */
    SgSpModel *sp;             /* the pieces every kind has (owned) */
    SgHfModel *hf;             /* tokenizer.json's normalizers, merges, added tokens (owned);
                                * NULL for a SentencePiece model */
};

/* The file formats sg_encoder_load reads. */
typedef enum SgEncoderFormat {
    SG_ENCODER_SPIECE,         /* spiece.model / tokenizer.model (protobuf ModelProto) */
    SG_ENCODER_TOKENIZER_JSON, /* Hugging Face tokenizers' tokenizer.json */
} SgEncoderFormat;

/* Loads a model of `format` from data[0..size) (copied) into a new *out, the caller's
 * (sg_encoder_free), its kind chosen from what the file says. Errors as sg_sp_load / sg_hf_load. */
int sg_encoder_load(SgEncoder **out, SgEncoderFormat format, const void *data, size_t size,
                    SgError *err);
void sg_encoder_free(SgEncoder **e);

/* Encodes s[0..n) as the kind's reference does (SentencePieceProcessor::Encode, or HF tokenizers'
 * model on its normalizers' output). On success *ids points into scr->ids (valid until the next
 * call) and *n_ids is its length; SIGLIP_ENOMEM, or SIGLIP_E2BIG for a normalized text of 1 GiB
 * or more. */
int sg_encoder_encode(const SgEncoder *e, const unsigned char *s, size_t n, SgSpScratch *scr,
                      const int32_t **ids, size_t *n_ids);

#endif /* SG_TOKENIZER_ENCODER_H */
