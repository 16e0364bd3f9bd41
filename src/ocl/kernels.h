/* kernels.h — the OpenCL programs and kernels of cl/, built once per device: the kernel table, the
 * tunables decided from device features, and the program builder with its binary cache. */
#ifndef SG_OCL_KERNELS_H
#define SG_OCL_KERNELS_H

#include <CL/cl.h>
#include <stddef.h>

#include "common/error.h"
#include "ocl/device.h"

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
    SG_K_COUNT
} SgKernelId;

/* Work-group sizes and tiles chosen from the device's limits; passed to every program as -D. */
typedef struct SgTunables {
    size_t layernorm_wg;  /* SG_LN_WG: power of two, work-items per LayerNorm row */
    size_t attn_wg;       /* SG_ATTN_WG: queries per attention work-group */
    size_t attn_tile_k;   /* SG_ATTN_TILE_K: keys per tile held in local memory */
} SgTunables;

struct SgKernels {
    cl_program *programs;          /* [sg_cl_source_count] */
    size_t n_programs;
    cl_kernel kernel[SG_K_COUNT];
    size_t max_wg[SG_K_COUNT];     /* CL_KERNEL_WORK_GROUP_SIZE of each kernel on this device */
    SgTunables tune;
    char options[512];             /* build options shared by all programs */
};

/* Builds every program of sg_cl_sources and creates every kernel of the table into dev->kernels;
 * sets dev->build_seconds and dev->program_from_cache. */
int sg_kernels_build(SgDevice *dev, SgError *err);
void sg_kernels_free(SgKernels **k);

/* Builds one program from source for dev, or loads it from dev->cache_dir when a binary for the
 * same source, options, device, driver and platform is there (then *from_cache = 1), saving the
 * binary after a fresh build. A failing build is SIGLIP_EBUILD naming `name`, with the build log. */
int sg_program_build(SgDevice *dev, const char *name, const char *source, size_t length,
                     const char *options, cl_program *out, int *from_cache, SgError *err);

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

/* Elements a strided block [rows, cols] with row stride ld starting at off reaches: the size a
 * buffer needs to hold it. */
static inline size_t sg_span(size_t off, size_t rows, size_t ld, size_t cols)
{
    return rows && cols ? off + (rows - 1) * ld + cols : off;
}

/* Fails with SIGLIP_EINVAL unless `mem` holds at least `count` elements of `elem_size` bytes and
 * count fits the kernels' 32-bit indices; `op` and `name` go into the message. */
int sg_check_buffer(cl_mem mem, size_t count, size_t elem_size, const char *op, const char *name,
                    SgError *err);

#endif /* SG_OCL_KERNELS_H */
