/* encoder.c — the tokenizer model kinds as one table of normalizer + segmentation, chosen at load,
 * and the encode entry every kind goes through. */
#include "tokenizer/encoder.h"

#include <stdlib.h>

static int sp_normalize(const SgEncoder *e, const unsigned char *s, size_t n, SgBuf *out)
{
    return sg_normalize(&e->sp->normalizer, s, n, out);
}

static int hf_normalize(const SgEncoder *e, const unsigned char *s, size_t n, SgBuf *out)
{
    return sg_hf_normalize(e->hf, s, n, out);
}

static int unigram_segment(const SgEncoder *e, const unsigned char *text, size_t size,
                           SgSpScratch *scr)
{
    return sg_sp_unigram_encode(e->sp, text, size, scr);
}

static int sp_bpe_segment(const SgEncoder *e, const unsigned char *text, size_t size,
                          SgSpScratch *scr)
{
    long n_path = sg_sp_bpe_segment(e->sp, text, (int32_t)size, scr);
    if (n_path < 0)
        return SIGLIP_ENOMEM;
    return sg_sp_emit_ids(e->sp, text, (const SgSpan *)(const void *)scr->path.data,
                          (size_t)n_path, scr);
}

static int hf_bpe_segment(const SgEncoder *e, const unsigned char *text, size_t size,
                          SgSpScratch *scr)
{
    return sg_hf_bpe_encode(e->sp, e->hf, text, size, scr) != 0 ? SIGLIP_ENOMEM : 0;
}

static const SgEncoderKind sp_unigram = {"SentencePiece unigram", sp_normalize, unigram_segment};
static const SgEncoderKind sp_bpe = {"SentencePiece BPE", sp_normalize, sp_bpe_segment};
/* tokenizer.json brings its own normalizers (and, for BPE, HF's merge order). */
static const SgEncoderKind hf_unigram = {"tokenizer.json Unigram", hf_normalize, unigram_segment};
static const SgEncoderKind hf_bpe = {"tokenizer.json BPE", hf_normalize, hf_bpe_segment};

int sg_encoder_load(SgEncoder **out, SgEncoderFormat format, const void *data, size_t size,
                    SgError *err)
{
    *out = NULL;
    SgEncoder *e = calloc(1, sizeof *e);
    if (!e)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory loading the tokenizer");
    int rc = format == SG_ENCODER_TOKENIZER_JSON
                 ? sg_hf_load(data, size, &e->sp, &e->hf, err)
                 : sg_sp_load(&e->sp, data, size, err);
    if (rc != 0) {
        sg_encoder_free(&e);
        return rc;
    }
    if (e->hf)
        e->kind = e->hf->bpe ? &hf_bpe : &hf_unigram;
    else
        e->kind = e->sp->model_type == SG_MODEL_BPE ? &sp_bpe : &sp_unigram;
    *out = e;
    return 0;
}

void sg_encoder_free(SgEncoder **e)
{
    if (!e || !*e)
        return;
    sg_sp_free(&(*e)->sp);
    sg_hf_free((*e)->hf);
    free(*e);
    *e = NULL;
}

int sg_encoder_encode(const SgEncoder *e, const unsigned char *s, size_t n, SgSpScratch *scr,
                      const int32_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    if (e->kind->normalize(e, s, n, &scr->normalized) != 0)
        return SIGLIP_ENOMEM;
    size_t size = scr->normalized.len;
    if (size >= INT32_MAX / 2)
        return SIGLIP_E2BIG;
    int rc = e->kind->segment(e, scr->normalized.data, size, scr);
    if (rc != 0)
        return rc;
    *ids = (const int32_t *)(const void *)scr->ids.data;
    *n_ids = scr->ids.len / sizeof(int32_t);
    return 0;
}
