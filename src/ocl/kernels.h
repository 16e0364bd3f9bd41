/* kernels.h — the OpenCL programs and kernels of cl/, built once per device on top of ocl/device.h
 * and ocl/program.h: the kernel table, the tunables decided from device features, opening a device
 * with its kernels, and launching a kernel. */
#ifndef SG_OCL_KERNELS_H
#define SG_OCL_KERNELS_H

#include <CL/cl.h>
#include <stddef.h>

#include "common/error.h"
#include "ocl/device.h"
#include "ocl/program.h"

/* Largest head dimension the attention kernel accepts (its private accumulators are this long). */
#define SG_ATTN_MAX_DH 128
/* Most keys attention_rows keeps scores for (so400m-patch14-384: 729; base-512: 1024). */
#define SG_ATTN_MAX_TK 1024
/* Queries per work-item of attention_rows. */
#define SG_ATTN_QB 8

/* Every kernel the ops enqueue; sg_kernel_table in kernels.c names each one's file and function. */
typedef enum SgKernelId {
    SG_K_BIAS_ACT,      /* elementwise.cl */
    SG_K_ADD_BROADCAST, /* elementwise.cl */
    SG_K_COPY_ROWS,     /* elementwise.cl */
    SG_K_EMBED_TOKENS,  /* embedding.cl */
    SG_K_IM2COL,        /* embedding.cl */
    SG_K_MEAN_TOKENS,   /* reduce.cl */
    SG_K_LAYERNORM,     /* layernorm.cl */
    SG_K_ATTENTION,     /* attention.cl */
    SG_K_GEMM_PANELS,   /* gemm_packed.cl */
    SG_K_ATTENTION_ROWS, /* attention.cl */
    SG_K_ATTENTION_PACK_K, /* attention.cl */
    SG_K_SEGMENT_LAST_ROWS, /* elementwise.cl */
    /* gemm_packed.cl built with -DSG_WEIGHT=1, 2, 3 (cl/weight_load.h): built on first use, by
     * sg_kernels_require_weight, as only models loaded in that precision need them. */
    SG_K_GEMM_PANELS_BF16,
    SG_K_GEMM_PANELS_F16,
    SG_K_GEMM_PANELS_Q8,
    SG_K_COUNT
} SgKernelId;

/* Work-group sizes and tiles chosen from the device's limits; passed to every program as -D. */
typedef struct SgTunables {
    size_t layernorm_wg;  /* SG_LN_WG: power of two, work-items per LayerNorm row */
    size_t attn_wg;       /* SG_ATTN_WG: queries per attention work-group */
    size_t attn_tile_k;   /* SG_ATTN_TILE_K: keys per tile held in local memory */
} SgTunables;

struct SgKernels {
    SgProgram *programs;           /* [sg_cl_source_count], with their build logs */
    size_t n_programs;
    SgProgram weight_programs[4];  /* gemm_packed.cl per SgElemType, [0] unused (built on use) */
    char *cache_dir;               /* program binary cache, NULL for none */
    cl_kernel kernel[SG_K_COUNT];
    size_t max_wg[SG_K_COUNT];     /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on this device */
    SgTunables tune;
    char options[512];             /* build options shared by all programs */
    double build_seconds;          /* wall time spent building (or loading cached) programs */
    int from_cache;                /* 1 when every program came from the binary cache */
};

/* Opens the device `spec` selects (sg_device_create) and builds every kernel of cl/ into
 * dev->kernels, using cache_dir for program binaries when not NULL. */
int sg_device_open(SgDevice **out, const char *spec, const char *cache_dir,
                   const char *tuning_file, SgError *err);
/* Rebuilds cl/gemm_packed.cl for another register block and records it in dev->tuning: weights
 * uploaded before are then refused by sg_op_linear until uploaded again (their panel width
 * may differ). On failure the device keeps its previous block. For the tuner and the op tests. */
int sg_device_retune_gemm(SgDevice *dev, SgGemmBlock block, const char *cache_dir, SgError *err);

/* Frees the kernels, then the device (sg_device_destroy). */
void sg_device_close(SgDevice **dev);

/* The GEMM kernel reading weights of type t (sg_gemm_kernel), built now if it was not yet. */
int sg_kernels_require_weight(SgDevice *dev, SgElemType t, SgError *err);

/* The kernel id of gemm_packed.cl for weights of type t. */
static inline SgKernelId sg_gemm_kernel(SgElemType t)
{
    return t == SG_ELEM_F32 ? SG_K_GEMM_PANELS : (SgKernelId)(SG_K_GEMM_PANELS_BF16 + t - 1);
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

/* sg_check_buffer for every element view v reaches. */
static inline int sg_check_view(SgView v, size_t elem_size, const char *op, const char *name,
                                SgError *err)
{
    return sg_check_buffer(v.mem, sg_view_span(v), elem_size, op, name, err);
}

#endif /* SG_OCL_KERNELS_H */
