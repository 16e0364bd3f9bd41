/* tuning.h — per-device choices of how ops run (GEMM path and its tile), kept as data: a table of
 * rules matched on queried device properties, most specific first, that a user-supplied JSON file
 * can override. */
#ifndef SG_OCL_TUNING_H
#define SG_OCL_TUNING_H

#include "siglip.h"
#include "common/error.h"

/* How Linear weights are laid out on the device, which decides the GEMM that reads them. */
typedef enum SgGemmPath {
    SG_GEMM_CLBLAST = 0, /* weights as in the checkpoint, [N, K]; CLBlast SGEMM + bias kernel */
    SG_GEMM_PANELS = 1,  /* weights packed as [ceil(N/NR), K, NR]; cl/gemm_packed.cl */
} SgGemmPath;

/* Which attention kernel of cl/attention.cl runs. */
typedef enum SgAttentionPath {
    SG_ATTN_TILED = 0, /* attention: work-groups share K/V tiles in local memory (GPUs) */
    SG_ATTN_ROWS = 1,  /* attention_rows: one work-item per block of queries, 8-wide vectors over
                        * the head dimension (CPU devices); falls back to TILED when dh % 8 != 0
                        * or Tk > SG_ATTN_MAX_TK */
} SgAttentionPath;

/* Every choice of how the ops run on one device, each passed to its kernel's program as a -D
 * (ocl/kernels.c says which) or deciding which kernel runs. The fields that are 0 in a rule or
 * file ("fit the device") become the device's own values in sg_tuning_fit (ocl/kernels.h). */
typedef struct SgTuning {
    SgGemmPath gemm;
    SgAttentionPath attention;
    int gemm_mr;           /* MR of gemm_packed.cl: output rows per work-item (1..16) */
    int gemm_nr;           /* NR: output columns per work-item = weight panel width (8..64, ×8) */
    int gemm_ku;           /* KU: k steps the kernel's inner loop unrolls (1..16) */
    int gemm_mb;           /* MB: blocks of MR rows each work-item computes in turn (1..64) */
    int gemm_chunk_kib;    /* x larger than this many KiB: gemm_packed walks it in chunks of
                            * row blocks holding 1/32 of this size, each chunk against every
                            * panel (0 = never) */
    int attn_qb;           /* SG_ATTN_QB: queries per work-item of attention_rows (1..16): its
                            * 2·QB float8 accumulators must fit the vector registers */
    int attn_wg;           /* queries per work-group of the tiled attention; 0 = fit (≤ 64) */
    int attn_tile_k;       /* SG_ATTN_TILE_K: keys per local-memory tile of the tiled attention;
                            * 0 = fit the device's local memory */
    int layernorm_wg;      /* SG_LN_WG: work-items per LayerNorm row; 0 = as many as the device
                            * allows (≤ 256); always a power of two once fitted */
    int gemm_q8_np;        /* SG_Q8_NP: q8 weights' GEMM form (cl/gemm_packed.cl): 0 = widened
                            * to f32 FMAs, 1..16 = integer dot products over this many panels
                            * per work-item (issue 28) */
    const char *rule;      /* which rule (or "file") decided: reported by benchmarks */
} SgTuning;


/* Picks the tuning for a device: the first matching rule of the built-in table, then the keys of
 * override_file (JSON: {"gemm": "clblast" | "panels", "gemm_mr": 8, "gemm_nr": 32, "gemm_ku": 1,
 * "gemm_mb": 1, "gemm_chunk_kib": 16384, "attention": "tiled" | "rows", "attention_qb": 4, "attention_wg": 0,
 * "attention_tile_k": 0, "layernorm_wg": 0, "gemm_q8_np": 8}, every key optional) on top when it
 * is not NULL.
 * A bad override file is SIGLIP_EBADMSG naming it. */
int sg_tuning_choose(const SiglipDeviceInfo *info, const char *override_file, SgTuning *out,
                     SgError *err);

/* The keys of the JSON file at `path` on top of *t (what sg_tuning_choose does with
 * override_file); t->rule becomes `rule`. A file that is not valid is SIGLIP_EBADMSG naming it
 * and the key, with *t partly updated. */
int sg_tuning_apply_file(const char *path, const char *rule, SgTuning *t, SgError *err);

#define SG_Q8_NP_MAX 32 /* largest gemm_q8_np */
#define SG_Q8_KC 256    /* inputs of x q8's integer form quantizes at a time (-DSG_Q8_KC) */
/* Private memory one work-item of q8's integer form may hold (its accumulators for MB·MR rows ×
 * NP panels, and the quantized chunk of x): sg_tuning_fit lowers gemm_q8_np to fit. PoCL keeps
 * it on the worker thread's stack. */
#define SG_Q8_PRIVATE_MAX (128 * 1024)

/* One register block of gemm_packed.cl. */
typedef struct SgGemmBlock {
    int mr, nr, ku, mb;
} SgGemmBlock;

/* The blocks `siglip tune` may choose on a device of this type (every one is tested by
 * tests/test_ops.c); returns their count and points *out at a static array. */
size_t sg_gemm_candidates(const SiglipDeviceInfo *info, const SgGemmBlock **out);

/* The q8 GEMM forms (gemm_q8_np values) `siglip tune` may choose on a device of this type, the
 * widening form (0) first (each one tested by tests/test_ops.c); returns their count and points
 * *out at a static array. */
size_t sg_gemm_q8_candidates(const SiglipDeviceInfo *info, const int **out);

/* The queries per attention_rows work-item `siglip tune` may choose on a device of this type
 * (each one tested by tests/test_ops.c); returns their count and points *out at a static array. */
size_t sg_attention_qb_candidates(const SiglipDeviceInfo *info, const int **out);

const char *sg_gemm_path_name(SgGemmPath p);
const char *sg_attention_path_name(SgAttentionPath p);

/* ---- results of `siglip tune`, stored as JSON in the cache directory ---- */

/* The file name of the stored result for a device: "tuning-<16 hex>.json", a hash of the device
 * name, driver version and library version (all three are in the file too). */
void sg_tuning_file_name(const SiglipDeviceInfo *info, char *buf, size_t size);

/* Writes *t for `info` to path as JSON ({"format": 1, "device", "driver", "library", the keys of
 * sg_tuning_apply_file, and "measured": the tuner's record, any JSON text or NULL}). */
int sg_tuning_save(const char *path, const SiglipDeviceInfo *info, const SgTuning *t,
                   const char *measured_json, SgError *err);

/* Applies the stored result at path on top of *t (rule "tuned") when it was made for this device,
 * driver and library. A file that does not parse or was made for something else is
 * SIGLIP_EBADMSG with the reason, and *t is left as it was. */
int sg_tuning_load_stored(const char *path, const SiglipDeviceInfo *info, SgTuning *t,
                          SgError *err);

#endif /* SG_OCL_TUNING_H */
