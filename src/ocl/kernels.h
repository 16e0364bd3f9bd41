/* kernels.h — the OpenCL programs and kernels of cl/, built once per device on top of ocl/device.h
 * and ocl/program.h: the kernel table, the tunables decided from device features, opening a device
 * with its kernels, and launching a kernel. */
#ifndef SG_OCL_KERNELS_H
#define SG_OCL_KERNELS_H

#include <CL/cl.h>
#include <stddef.h>

#include "common/error.h"
#include "ocl/cl_sources.h"
#include "ocl/device.h"
#include "ocl/program.h"

/* Largest head dimension the attention kernel accepts (its private accumulators are this long). */
#define SG_ATTN_MAX_DH 128
/* Most keys attention_rows keeps scores for (so400m-patch14-384: 729; base-512: 1024). */
#define SG_ATTN_MAX_TK 1024

/* Every kernel the ops enqueue; sg_kernel_table in kernels.c names each one's file and function. */
typedef enum SgKernelId {
    SG_K_BIAS_ACT, SG_K_ADD_BROADCAST, SG_K_COPY_ROWS, SG_K_SEGMENT_LAST_ROWS, /* elementwise.cl */
    SG_K_EMBED_TOKENS, SG_K_IM2COL,                                            /* embedding.cl */
    SG_K_MEAN_TOKENS,                                                          /* reduce.cl */
    SG_K_LAYERNORM, SG_K_LAYERNORM_Q8,                                         /* layernorm.cl */
    SG_K_ATTENTION, SG_K_ATTENTION_ROWS, SG_K_ATTENTION_PACK_K,                /* attention.cl */
    SG_K_GEMM_PANELS,                                                          /* gemm_packed.cl */
    SG_K_LOOP_BUDGET,                                                          /* probe.cl */
    /* gemm_packed.cl built with -DSG_WEIGHT=1, 2, 3 (cl/weight_load.h): built on first use, by
     * sg_kernels_require_weight, as only models loaded in that precision need them. */
    SG_K_GEMM_PANELS_BF16,
    SG_K_GEMM_PANELS_F16,
    SG_K_GEMM_PANELS_Q8,
    SG_K_Q8_QUANTIZE_ROWS, /* in the q8 program: x rounded to q8 rows for the integer form */
    SG_K_COUNT
} SgKernelId;

struct SgKernels {
    SgProgram *programs;           /* [sg_cl_source_count], with their build logs */
    size_t n_programs;
    SgProgram weight_programs[SG_ELEM_COUNT]; /* gemm_packed.cl per SgElemType, [0] unused (built
                                               * on use) */
    char *cache_dir;               /* program binary cache, NULL for none */
    cl_kernel kernel[SG_K_COUNT];
    size_t max_wg[SG_K_COUNT];     /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on this device */
    double build_seconds;          /* wall time spent building (or loading cached) programs */
    int from_cache;                /* 1 when every program came from the binary cache */
};

/* Opens the device `spec` selects (sg_device_create) and builds every kernel of cl/ into
 * dev->kernels, using cache_dir for program binaries when not NULL. */
int sg_device_open(SgDevice **out, const char *spec, const char *cache_dir,
                   const char *tuning_file, SgError *err);
/* sg_device_open with the device's limits capped by *limits (NULL = none) before the tuning is
 * fitted to them: dev->info then reports the capped values. */
int sg_device_open_limited(SgDevice **out, const char *spec, const char *cache_dir,
                           const char *tuning_file, const SiglipDeviceLimits *limits,
                           SgError *err);
/* Caps info's work-group size, local memory and fp16/fp64 by limits (fields 0 leave it). */
void sg_device_limits_apply(SiglipDeviceInfo *info, const SiglipDeviceLimits *limits);
/* Makes *t runnable on the device: the fields left 0 get the device's values, the others are
 * capped to its limits (work-group size, local memory). Idempotent; sg_device_open and
 * sg_device_retune apply it to dev->tuning. */
void sg_tuning_fit(const SiglipDeviceInfo *info, SgTuning *t);

/* sg_tune_candidates(phase, start, out, max) less each candidate that sg_tuning_fit makes the
 * same on this device as an earlier one (q8's integer forms are the widening form without int8
 * dot products): what the tuner measures on the device and tests/test_ops.c checks, each once.
 * The candidates in out stay as asked (not fitted). Returns how many. */
size_t sg_tune_candidates_fitted(const SiglipDeviceInfo *info, SgTunePhase phase,
                                 const SgTuning *start, SgTuning *out, size_t max);

/* Switches the device to tuning *want (fitted): rebuilds every program whose -D options change
 * (from cache_dir when it has them) and records it in dev->tuning. A new GEMM panel width makes
 * sg_op_linear refuse weights uploaded before until they are uploaded again. Out-of-range
 * values are SIGLIP_EINVAL; on any failure the device keeps its previous tuning. For the tuner
 * and the op tests. */
int sg_device_retune(SgDevice *dev, const SgTuning *want, const char *cache_dir, SgError *err);

/* dev->tuning with another GEMM register block, for sg_device_retune. */
static inline SgTuning sg_tuning_with_block(const SgTuning *t, SgGemmBlock b)
{
    SgTuning out = *t;
    out.gemm_mr = b.mr, out.gemm_nr = b.nr, out.gemm_ku = b.ku, out.gemm_mb = b.mb;
    return out;
}

/* Frees the kernels, then the device (sg_device_destroy). */
void sg_device_close(SgDevice **dev);

/* The GEMM kernel reading weights of type t (sg_gemm_kernel), built now if it was not yet. */
int sg_kernels_require_weight(SgDevice *dev, SgElemType t, SgError *err);

/* The embedded source of program `name` (cl/<name>.cl) and its index in sg_cl_sources, or NULL. */
const SgClSource *sg_cl_source_find(const char *name, size_t *index);

/* Longest -D option string of one program of cl/, and of a weight type's GEMM program. */
#define SG_PROGRAM_OPTIONS_MAX 256
#define SG_WEIGHT_OPTIONS_MAX (SG_PROGRAM_OPTIONS_MAX + 48)

/* Into buf (SG_WEIGHT_OPTIONS_MAX bytes suffice): the -D options of cl/gemm_packed.cl reading
 * weights of type `type`, for a device with `info`'s features tuned as t, as
 * sg_kernels_require_weight builds it (tests build it for features the device lacks). */
void sg_weight_program_options(const SiglipDeviceInfo *info, const SgTuning *t, SgElemType type,
                               char *buf, size_t size);

/* The kernel id of gemm_packed.cl for weights of type t. */
static inline SgKernelId sg_gemm_kernel(SgElemType t)
{
    static const SgKernelId ids[SG_ELEM_COUNT] = {
        [SG_ELEM_F32] = SG_K_GEMM_PANELS, [SG_ELEM_BF16] = SG_K_GEMM_PANELS_BF16,
        [SG_ELEM_F16] = SG_K_GEMM_PANELS_F16, [SG_ELEM_I8] = SG_K_GEMM_PANELS_Q8};
    return ids[t];
}

/* The build log of program i of cl/ (its file name in *name), "" for a program loaded from the
 * cache; after the programs of cl/ come the bf16, f16 and q8 GEMMs ("" until built); NULL past
 * those. For tests that hold the kernels warning-free. */
const char *sg_kernels_build_log(const SgDevice *dev, size_t i, const char **name);

/* One kernel argument: a value of `size` bytes at `value`, or local memory of `size` bytes when
 * value is NULL. */
typedef struct SgArg {
    size_t size;
    const void *value;
} SgArg;
#define SG_ARG(x) ((SgArg){sizeof(x), &(x)})
#define SG_LOCAL(bytes) ((SgArg){(bytes), NULL})

/* Sets the arguments of kernel `id` and enqueues it over `global` (local = NULL lets the driver
 * choose; otherwise global is rounded up to a multiple of local). */
int sg_launch(SgDevice *dev, SgKernelId id, const SgArg *args, size_t n_args, cl_uint dims,
              const size_t *global, const size_t *local, SgError *err);

/* The largest power of two <= v (1 for v = 0). */
static inline size_t sg_pow2_floor(size_t v)
{
    size_t p = 1;
    while (p * 2 <= v)
        p *= 2;
    return p;
}

/* Fails with SIGLIP_EINVAL unless `mem` holds at least `count` elements of `elem_size` bytes and
 * count fits the kernels' 32-bit indices; `op` and `name` go into the message. */
int sg_check_buffer(cl_mem mem, size_t count, size_t elem_size, const char *op, const char *name,
                    SgError *err);

/* The bytes `mem` holds; 0 for NULL or what is not a device buffer. */
size_t sg_buffer_size(cl_mem mem);

/* sg_check_buffer for every element view v reaches. */
static inline int sg_check_view(SgView v, size_t elem_size, const char *op, const char *name,
                                SgError *err)
{
    return sg_check_buffer(v.mem, sg_view_span(v), elem_size, op, name, err);
}

#endif /* SG_OCL_KERNELS_H */
