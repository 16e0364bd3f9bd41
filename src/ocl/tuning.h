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
 * or deciding which kernel runs or how it is launched: one field per row of sg_knobs
 * (ocl/tuning.c), which says everything else about it. The fields that are 0 in a rule or file
 * ("fit the device") become the device's own values in sg_tuning_fit (ocl/kernels.h). */
typedef struct SgTuning {
    SgGemmPath gemm;
    SgAttentionPath attention;
    int gemm_mr;           /* MR of gemm_packed.cl: output rows per work-item (1..16) */
    int gemm_nr;           /* NR: output columns per work-item = weight panel width (8..64, ×8) */
    int gemm_ku;           /* KU: k steps the kernel's inner loop unrolls (1..16) */
    int gemm_mb;           /* MB: blocks of MR rows each work-item computes in turn (1..64) */
    int gemm_wg;           /* SG_GEMM_WG: work-items per work-group of gemm_packed.cl, each its own
                            * row blocks (1..256); 0 = fit (64, capped to the device). Devices
                            * that run a group's work-items as vector lanes want several */
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
                            * to f32 FMAs, 1..SG_Q8_NP_MAX = integer dot products over this many
                            * panels per work-item (issue 28); fitted to SG_Q8_PRIVATE_MAX */
    int gemm_q8_dot;       /* SG_Q8_DOT: the integer form's int8 multiply-add: 0 = vpmaddubsw +
                            * vpmaddwd (AVX2), 1 = vpdpbusd ("vpdpbusd" in files); fitted to 0
                            * where the device has no VNNI (SiglipDeviceInfo.has_vnni) */
    const char *rule;      /* which rule (or "file", "tuned") decided: reported by benchmarks */
    const char *table_rule; /* the rule of the built-in table that matched the device, whatever
                             * decided after it (static string) */
} SgTuning;

/* The phases of `siglip tune` (ocl/tune.c says how each one measures): the knobs of one phase are
 * searched together, candidate i setting each of them to its own i-th candidate. */
typedef enum SgTunePhase {
    SG_TUNE_NONE = 0,   /* not tuned: the table's (or the file's) value stays */
    SG_TUNE_GEMM_BLOCK, /* the register block of gemm_packed.cl, timed on every Linear layer */
    SG_TUNE_GEMM_WALK,  /* the walk order of the chosen block */
    SG_TUNE_ATTENTION,  /* which attention kernel, and its block of queries */
    SG_TUNE_Q8_FORM,    /* q8's GEMM form with the chosen block, timed on q8 weights */
    SG_TUNE_PHASES
} SgTunePhase;

#define SG_Q8_NP_MAX 32 /* largest gemm_q8_np */
#define SG_Q8_KC 256    /* inputs q8's integer form runs against a panel at a time (-DSG_Q8_KC) */
/* Private memory one work-item of q8's integer form may hold (its accumulators for MB·MR rows ×
 * NP panels): sg_tuning_fit lowers gemm_q8_np to fit. PoCL keeps it on the worker thread's
 * stack. */
#define SG_Q8_PRIVATE_MAX (128 * 1024)

/* A candidate value meaning "as the tuning the search starts from has it". */
#define SG_KNOB_KEEP (-1)

/* One knob: a row of sg_knobs. Adding a knob is a field of SgTuning, a row, and its use (in its
 * kernel, through `define`, or on the host through the field). */
typedef struct SgKnob {
    const char *key;           /* its key in tuning files and stored results */
    size_t offset;             /* offsetof(SgTuning, its field), an int or an int-sized enum */
    int lo, hi, step;          /* the values a file or sg_device_retune may give: lo..hi, a
                                * multiple of step */
    const char *const *names;  /* a choice: the JSON names of the values lo..hi; NULL = integer */
    int fit;                   /* the value 0 becomes before sg_tuning_fit caps it to the device
                                * (0 = 0 stays: it means something itself) */
    const char *program;       /* the program of cl/ it reaches as -D`define`=value, NULL = the
                                * host reads the field */
    const char *define;
    const char *label;         /* how siglip_context_tuning_info's line names it, before the value */
    SgTunePhase phase;         /* the tuner phase that searches it */
    const int *candidates;     /* what that phase tries, SG_KNOB_KEEP or a value each; one value
                                * alone is what every candidate of the phase gets */
    size_t n_candidates;
} SgKnob;

/* The knob table (ocl/tuning.c): every knob once, in the order files and lines list them. */
extern const SgKnob sg_knobs[];
extern const size_t sg_knob_count;

/* The value of knob k in *t, and setting it. */
int sg_knob_get(const SgTuning *t, const SgKnob *k);
void sg_knob_set(SgTuning *t, const SgKnob *k, int value);

/* NULL when every knob of *t is in its range, else the first knob that is not. */
const SgKnob *sg_tuning_out_of_range(const SgTuning *t);

/* Every knob of *t that is 0 and has a fitted default gets it (sg_tuning_fit, before capping). */
void sg_tuning_fill_defaults(SgTuning *t);

/* The -D options *t gives program `program` of cl/ ("-DNAME=value" for every knob reaching it,
 * space-separated, in table order) into buf; "" for a program no knob reaches. */
void sg_tuning_defines(const SgTuning *t, const char *program, char *buf, size_t size);

/* The knobs of *t that `phase` tunes as "label value" pieces (all knobs for SG_TUNE_NONE) into
 * buf: what siglip_context_tuning_info and the tuner's progress show. */
void sg_tuning_describe(const SgTuning *t, SgTunePhase phase, char *buf, size_t size);

/* The candidates of `phase` from `start`: start first (with the phase's one-value knobs set),
 * then each candidate that differs from it, as whole tunings, at most max of them into out.
 * Returns how many. The tuner measures exactly these; tests/test_ops.c checks every one. */
size_t sg_tune_candidates(SgTunePhase phase, const SgTuning *start, SgTuning *out, size_t max);

/* Picks the tuning for a device: the first matching rule of the built-in table, then the keys of
 * override_file (JSON: the keys of sg_knobs, e.g. {"gemm": "clblast" | "panels", "gemm_mr": 8,
 * "attention": "tiled" | "rows", "layernorm_wg": 0}, every key optional) on top when it is not
 * NULL. A bad override file is SIGLIP_EBADMSG naming it. */
int sg_tuning_choose(const SiglipDeviceInfo *info, const char *override_file, SgTuning *out,
                     SgError *err);

/* The keys of the JSON file at `path` on top of *t (what sg_tuning_choose does with
 * override_file); t->rule becomes `rule`. A file that is not valid is SIGLIP_EBADMSG naming it
 * and the key, with *t partly updated. */
int sg_tuning_apply_file(const char *path, const char *rule, SgTuning *t, SgError *err);

/* One register block of gemm_packed.cl. */
typedef struct SgGemmBlock {
    int mr, nr, ku, mb;
} SgGemmBlock;

const char *sg_gemm_path_name(SgGemmPath p);
const char *sg_attention_path_name(SgAttentionPath p);

/* ---- results of `siglip tune`, stored as JSON in the cache directory ---- */

/* The file name of the stored result for a device: "tuning-<16 hex>.json", a hash of the device
 * name, driver version and library version (all three are in the file too). */
void sg_tuning_file_name(const SiglipDeviceInfo *info, char *buf, size_t size);

/* Writes *t for `info` to path as JSON ({"format": 1, "device", "driver", "library", the keys of
 * sg_knobs, and "measured": the tuner's record, any JSON text or NULL}). */
int sg_tuning_save(const char *path, const SiglipDeviceInfo *info, const SgTuning *t,
                   const char *measured_json, SgError *err);

/* Applies the stored result at path on top of *t (rule "tuned") when it was made for this device,
 * driver and library. A file that does not parse or was made for something else is
 * SIGLIP_EBADMSG with the reason, and *t is left as it was. */
int sg_tuning_load_stored(const char *path, const SiglipDeviceInfo *info, SgTuning *t,
                          SgError *err);

#endif /* SG_OCL_TUNING_H */
