/* safetensors.h — memory-mapped safetensors archives: one file, or a model.safetensors.index.json
 * with its shards, validated on open (header JSON, dtypes, offsets inside the file, no overlap). */
#ifndef SG_MODEL_SAFETENSORS_H
#define SG_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SG_ST_MAX_DIMS 8

typedef enum SgDtype {
    SG_DTYPE_F32, SG_DTYPE_F16, SG_DTYPE_BF16, SG_DTYPE_F64,
    SG_DTYPE_I64, SG_DTYPE_I32, SG_DTYPE_I16, SG_DTYPE_I8, SG_DTYPE_U8, SG_DTYPE_BOOL,
} SgDtype;

typedef struct SgTensor {
    const char *name;            /* owned by the archive */
    SgDtype dtype;
    int ndim;
    int64_t shape[SG_ST_MAX_DIMS];
    const void *data;            /* into the mapping; not necessarily aligned */
    size_t nbytes;
    size_t numel;
} SgTensor;

typedef struct SgSafetensors SgSafetensors;

/* Opens `path`: a .safetensors file, a .safetensors.index.json, or a directory holding
 * model.safetensors or model.safetensors.index.json. Every shard is mapped read-only. */
int sg_st_open(SgSafetensors **out, const char *path, SgError *err);

/* Parses one safetensors file already in memory (not copied: it must outlive the archive). */
int sg_st_open_memory(SgSafetensors **out, const void *data, size_t size, SgError *err);

void sg_st_close(SgSafetensors **st);

size_t sg_st_count(const SgSafetensors *st);
const SgTensor *sg_st_at(const SgSafetensors *st, size_t i);
/* NULL when absent. */
const SgTensor *sg_st_find(const SgSafetensors *st, const char *name);

/* t (a tensor of st) has been read and won't be again: drops its file pages from the process's
 * resident memory (sg_mapped_release); no-op for sg_st_open_memory archives. */
void sg_st_release(const SgSafetensors *st, const SgTensor *t);

const char *sg_dtype_name(SgDtype dt);
size_t sg_dtype_size(SgDtype dt);

/* Converts any float dtype (F32, F16, BF16, F64) to float32 into dst[numel]; other dtypes are
 * SIGLIP_ENOTSUP. */
int sg_tensor_to_f32(const SgTensor *t, float *dst, SgError *err);

/* SIGLIP_OK when t has a float dtype (F32, F16, BF16, F64), else SIGLIP_ENOTSUP naming it. */
int sg_tensor_check_float(const SgTensor *t, SgError *err);

/* Elements first .. first + n − 1 of t (a float dtype: sg_tensor_check_float) as float32 into
 * dst; safe to call from several threads at once. */
void sg_tensor_range_to_f32(const SgTensor *t, size_t first, size_t n, float *dst);

#endif /* SG_MODEL_SAFETENSORS_H */
