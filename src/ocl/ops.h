/* ops.h — the device operations a SigLIP forward is made of, on views of device buffers
 * (ocl/tensor.h). Each enqueues work on dev->queue and returns without waiting; tensors hold
 * float32 unless said otherwise. Every op has a plain-C reference in tests/ref_ops.c and a test
 * comparing the two on random inputs. */
#ifndef SG_OCL_OPS_H
#define SG_OCL_OPS_H

#include <CL/cl.h>

#include "common/activation.h"
#include "common/error.h"
#include "ocl/device.h"
#include "ocl/tensor.h"
#include "ocl/weight_pack.h"

/* A Linear layer's weight w [N, K] (PyTorch layout) on the device, in the layout the device's
 * GEMM path reads (ocl/tuning.h): rows as given for CLBlast, or NR-column panels of wᵀ
 * ([ceil(N/NR), K, NR], zero past N, NR = dev->tuning.gemm_nr at upload) for cl/gemm_packed.cl. */
typedef struct SgWeight {
    SgBuffer buf;
    SgElemType dtype;    /* element type of buf; reduced types always in SG_GEMM_PANELS layout */
    SgGemmPath layout;
    size_t panel;     /* NR of SG_GEMM_PANELS (must match the device's kernel); 0 otherwise */
    size_t n_out;     /* N */
    size_t n_in;      /* K */
} SgWeight;

/* A Linear layer y = x·wᵀ + b. */
typedef struct SgLinear {
    SgWeight w; /* [n_out, n_in] */
    SgBuffer b; /* [n_out], or empty for none */
} SgLinear;

typedef struct SgLayerNorm {
    SgBuffer w; /* [n] gamma */
    SgBuffer b; /* [n] beta */
    size_t n;
    float eps;
} SgLayerNorm;

/* Uploads host w [N, K] (float32) stored as dtype (rounded as ocl/weight_pack.h says) in
 * `layout` (usually dev->tuning.gemm; reduced types always as panels). */
int sg_weight_upload(SgDevice *dev, const float *w, size_t N, size_t K, SgGemmPath layout,
                     SgElemType dtype, SgWeight *out, SgError *err);

/* The same from rows read on w->threads threads (a checkpoint's mapping: ocl/weight_pack.h),
 * written once, into the mapped device buffer. */
int sg_weight_upload_rows(SgDevice *dev, const SgRows *w, SgGemmPath layout, SgElemType dtype,
                          SgWeight *out, SgError *err);

/* How a Linear writes y: y = act(x·wᵀ + b), or y += x·wᵀ + b (the residual add fused into the
 * GEMM; no activation then). */
typedef enum SgStore {
    SG_STORE = 0,
    SG_ACCUMULATE = 1,
} SgStore;

/* Linear layer over every row of x: x [M, K] → y [M, N] (views whose batch items follow one
 * another count as batch·rows rows). N and K come from l->w. */
int sg_op_linear(SgDevice *dev, SgView x, const SgLinear *l, SgView y, SgActivation act,
                 SgStore store, SgError *err);

/* LayerNorm over the last dimension: y[r] = (x[r] − mean) / sqrt(var + eps) · gamma + beta, with
 * the biased variance. x, y: dense [rows, ln->n]; may be the same buffer. */
int sg_op_layernorm(SgDevice *dev, SgView x, SgView y, const SgLayerNorm *ln, SgError *err);

/* Bytes per row of q8 rows of K inputs (cl/q8_rows.h): K32 rounded values, then K32 / 32 int32
 * block sums and K32 / 32 f32 scales, K32 = K rounded up to a multiple of 32. */
static inline size_t sg_q8_rows_ld(size_t K)
{
    size_t k32 = (K + 31) / 32 * 32;
    return k32 + k32 / 32 * 8;
}

/* sg_op_layernorm of x rounded straight into q8 rows (cl/q8_rows.h) at yq, ldq bytes per row
 * (sg_q8_rows_ld(ln->n)): the input of q8's integer GEMM form (CPU devices only: one row per
 * work-item). yq holds at least rows · ldq bytes. */
int sg_op_layernorm_q8(SgDevice *dev, SgView x, const SgLayerNorm *ln, cl_mem yq, size_t ldq,
                       SgError *err);

/* y = act(LN(x) · wᵀ + b) (or y += ...): sg_op_layernorm into h, then sg_op_linear; where l runs
 * q8's integer form, LayerNorm writes the GEMM's rounded input itself (sg_op_layernorm_q8, into
 * the device's scratch buffer) and h is left as it was. h: [rows, ln->n], dense; may be
 * x (LayerNorm in place). */
int sg_op_norm_linear(SgDevice *dev, SgView x, const SgLayerNorm *ln, SgView h, const SgLinear *l,
                      SgView y, SgActivation act, SgStore store, SgError *err);

/* Sequences of different lengths packed one after another in the rows of one matrix (texts
 * without their padding): rows: [count, 3] int32 on the device, item b = (first row, query rows,
 * key rows); its queries, keys and outputs are the rows first .. first + query/key rows − 1.
 * The caller guarantees 1 ≤ key rows ≤ query rows ≤ max_queries, key rows ≤ max_keys and that
 * every row lies inside the views (the op cannot read device memory to check). */
typedef struct SgSegments {
    cl_mem rows;
    size_t count, max_queries, max_keys;
} SgSegments;

/* Which keys each query may attend to. keep: [B, Tk] int32, 1 = attend, 0 = masked out, or NULL
 * for all keys. A row whose keys are all masked gets the uniform average (what HF's additive
 * −inf-like mask gives). seg.rows set: packed sequences instead of a batch (keep must be NULL). */
typedef struct SgMask {
    cl_mem keep;
    SgSegments seg;
} SgMask;
#define SG_NO_MASK ((SgMask){NULL, {NULL, 0, 0, 0}})

/* Heads of an attention: count, and the factor on q·k (usually 1/sqrt(head dim)). */
typedef struct SgHeads {
    size_t count;
    float scale;
} SgHeads;

/* Multi-head scaled dot-product attention, softmax over keys, without writing the score matrix:
 *   q [B, Tq, H·dh] → out [B, Tq, H·dh], against k, v [B, Tk, H·dh]; head h is columns h·dh ..
 * q.bstride = 0 broadcasts one set of queries to every batch item (the vision head's probe). B is
 * out.batch; k and v must share their row stride, their items following one another.
 * With mask.seg.rows: q, k, v, out are [1, R, H·dh] views of packed rows, each segment attending
 * within itself only (its queries against its keys). */
int sg_op_attention(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                    SgHeads heads, SgError *err);

/* 1 when sg_op_attention_q8 runs for these arguments: dev takes attention_rows for them (its
 * tuning's choice, within that kernel's limits), each head is a multiple of 32 wide (a block of
 * q8 rows lies in one head), and out's buffer holds the q8 rows. */
int sg_attention_writes_q8(const SgDevice *dev, SgView q, SgView k, SgMask mask, SgView out,
                           SgHeads heads);

/* sg_op_attention with out written as q8 rows (cl/q8_rows.h) of out.cols inputs from the start of
 * out's buffer, sg_q8_rows_ld(out.cols) bytes per row, instead of as f32 (out's offset and row
 * stride give only the shape then): the output projection's input in q8's integer GEMM form,
 * rounded where it is produced. SIGLIP_ENOTSUP where sg_attention_writes_q8 says no. */
int sg_op_attention_q8(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask, SgView out,
                       SgHeads heads, SgError *err);

/* y = attention(q, k, v)·wᵀ + b (or y += ...): a layer's attention and output projection.
 * sg_op_attention into out, then sg_op_linear from it; where l runs q8's integer form and
 * sg_attention_writes_q8 holds, the attention writes its output as q8 rows into out's buffer
 * (sg_op_attention_q8), which the GEMM reads without a rounding pass. out: dense. */
int sg_op_attention_linear(SgDevice *dev, SgView q, SgView k, SgView v, SgMask mask,
                           SgHeads heads, SgView out, const SgLinear *l, SgView y, SgStore store,
                           SgError *err);

/* 1 when a Linear with weights w writes its output as q8 rows (cl/q8_rows.h) for a next one in
 * q8's integer form (sg_op_norm_mlp): its own GEMM runs the integer form, whose epilogue rounds
 * them, in one launch (not split over K by a loop budget: the activation needs the whole sum),
 * over gemm_q8_np · gemm_nr columns per work-item that are whole blocks of 32. */
int sg_linear_writes_q8(const SgDevice *dev, const SgWeight *w);

/* y = fc2(act(fc1(LN(x)))) + b₂ (or y += ...): a layer's MLP after its LayerNorm, through h
 * ([rows, ln->n]) and hidden ([rows, fc1's n_out]), both dense. As sg_op_norm_linear then
 * sg_op_linear; where fc1 and fc2 run q8's integer form, fc1 in one launch and hidden's buffer
 * holds the q8 rows, fc1's epilogue writes act(...) as q8 rows into hidden's buffer, which fc2
 * reads without a rounding pass (h is not written, as in sg_op_norm_linear). */
int sg_op_norm_mlp(SgDevice *dev, SgView x, const SgLayerNorm *ln, SgView h, const SgLinear *fc1,
                   SgActivation act, SgView hidden, const SgLinear *fc2, SgView y, SgStore store,
                   SgError *err);

/* A gather table [rows, cols] on the device stored as dtype (ocl/weight_pack.h's sg_table_pack
 * layout): the token embedding in the model's precision. */
typedef struct SgTable {
    SgBuffer buf;
    SgElemType dtype;
    size_t rows, cols;
} SgTable;

/* Uploads src's rows [src->n, src->k] as a table of type dtype (rounded as ocl/weight_pack.h
 * says), written into the mapped device buffer on src->threads threads. */
int sg_table_upload(SgDevice *dev, const SgRows *src, SgElemType dtype, SgTable *out,
                    SgError *err);

/* Text embeddings: out[b, t, :] = tok_emb[ids[b, t], :] + pos_emb[t, :], the table's elements
 * widened to f32 (cl/weight_load.h).
 * ids: [B, T] int32 (already checked to be < V), tok_emb: [V, D], pos_emb: [>= T, D] f32,
 * out: dense [B, T, D]. With positions ([B·T] int32, each already checked to be a row of
 * pos_emb), row r takes pos_emb[positions[r]] instead: a gather for packed texts. */
int sg_op_embed_tokens(SgDevice *dev, cl_mem ids, cl_mem positions, const SgTable *tok_emb,
                       cl_mem pos_emb, SgView out, SgError *err);

/* out[b, :] = x[last row of segment b, :]: x dense [1, R, D], out dense [seg.count, 1, D]. */
int sg_op_segment_last_rows(SgDevice *dev, SgView x, SgSegments seg, SgView out, SgError *err);

/* Shape of a batch of images: pixels [B, C, H, W]. */
typedef struct SgImages {
    size_t B, C, H, W;
} SgImages;

/* Patch extraction (im2col of a stride-p, kernel-p convolution): pixels [B, C, H, W] →
 * patches [B·(H/p)·(W/p), C·p·p], patches row-major over the image, each flattened in
 * (c, ky, kx) order so that patches · conv_weight[D, C·p·p]ᵀ is the convolution. */
int sg_op_im2col(SgDevice *dev, cl_mem pixels, SgImages shape, size_t p, cl_mem patches,
                 SgError *err);

/* x[b, n, :] += v[n, :] for every b: x: dense [B, N, D], v: [N, D] (position embeddings). */
int sg_op_add_broadcast(SgDevice *dev, SgView x, cl_mem v, SgError *err);

/* out[b, :] = mean over the tokens n of x[b, n, :] that mask.keep [B, N] keeps (nonzero; every
 * row of x must keep at least one), or over all N without a key mask: x: dense [B, N, D], out:
 * dense [B, 1, D]. Packed segments are not supported here. */
int sg_op_mean_tokens(SgDevice *dev, SgView x, SgMask mask, SgView out, SgError *err);

/* Copies the rows of src into dst (same batch·rows and cols; strides may differ). */
int sg_op_copy_rows(SgDevice *dev, SgView src, SgView dst, SgError *err);

#endif /* SG_OCL_OPS_H */
