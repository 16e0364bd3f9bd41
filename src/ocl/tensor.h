/* tensor.h — device memory as the ops see it: a buffer that owns its cl_mem and its size, and
 * views (offset, rows, columns, row stride, batch stride) into buffers. Sizes count bytes;
 * offsets and strides count elements. */
#ifndef SG_OCL_TENSOR_H
#define SG_OCL_TENSOR_H

#include <CL/cl.h>
#include <stddef.h>

#include "cl/weight_load.h"
#include "siglip.h"

/* Element types of device tensors. Activations are F32; Linear weights may be any (the GEMM
 * dispatches on SgWeight.dtype). The numbers are cl/weight_load.h's (-DSG_WEIGHT), and a
 * SiglipPrecision is the SgElemType of the same storage (sg_elem_type). */
typedef enum SgElemType {
    SG_ELEM_F32 = SG_CL_WEIGHT_F32,
    SG_ELEM_BF16 = SG_CL_WEIGHT_BF16,
    SG_ELEM_F16 = SG_CL_WEIGHT_F16,
    SG_ELEM_I8 = SG_CL_WEIGHT_Q8, /* int8, an f32 scale per output column and block of 32 inputs */
    SG_ELEM_COUNT = SG_CL_WEIGHT_COUNT
} SgElemType;
_Static_assert((int)SIGLIP_PRECISION_F32 == SG_ELEM_F32 &&
                   (int)SIGLIP_PRECISION_BF16 == SG_ELEM_BF16 &&
                   (int)SIGLIP_PRECISION_F16 == SG_ELEM_F16 &&
                   (int)SIGLIP_PRECISION_Q8 == SG_ELEM_I8,
               "SiglipPrecision numbers the weight types as cl/weight_load.h does");

/* The element type of weights stored in precision p (a valid one: siglip_precision_name(p)). */
static inline SgElemType sg_elem_type(SiglipPrecision p)
{
    return (SgElemType)p;
}

/* A device allocation that knows its size: sg_buffer_create/upload (ocl/device.h) fill it and
 * count it in the device's accounting; sg_buffer_release gives back exactly what was counted. */
typedef struct SgBuffer {
    cl_mem mem;   /* NULL when empty */
    size_t bytes;
} SgBuffer;

/* A strided 3-D window [batch, rows, cols] of float32 (or int32) elements of one cl_mem:
 * element (b, r, c) is at mem[off + b·bstride + r·ld + c]. bstride = 0 broadcasts one item to
 * every batch index. A view does not own its memory. */
typedef struct SgView {
    cl_mem mem;
    size_t off;
    size_t batch;
    size_t rows;
    size_t cols;
    size_t ld;      /* elements between rows, >= cols */
    size_t bstride; /* elements between batch items */
} SgView;

/* The contiguous tensor [batch, rows, cols] at the start of mem. */
static inline SgView sg_view(cl_mem mem, size_t batch, size_t rows, size_t cols)
{
    return (SgView){mem, 0, batch, rows, cols, cols, rows * cols};
}

/* Columns first .. first+n of every row of v (a slice of the last dimension). */
static inline SgView sg_view_cols(SgView v, size_t first, size_t n)
{
    v.off += first;
    v.cols = n;
    return v;
}

/* Row r of every batch item of v, as a [1, batch, cols] matrix (one row per item). */
static inline SgView sg_view_row_of_each(SgView v, size_t r)
{
    return (SgView){v.mem, v.off + r * v.ld, 1, v.batch, v.cols, v.bstride, 0};
}

/* The same elements, with batch items and rows merged: [1, batch·rows, cols]. Only valid when
 * the items follow one another (bstride = rows·ld), which sg_view_is_matrix checks. */
static inline SgView sg_view_flat(SgView v)
{
    return (SgView){v.mem, v.off, 1, v.batch * v.rows, v.cols, v.ld, v.batch * v.rows * v.ld};
}

/* 1 when v's batch items follow one another without gaps, so it is one [batch·rows, cols]
 * matrix with row stride ld. */
static inline int sg_view_is_matrix(SgView v)
{
    return v.batch <= 1 || v.bstride == v.rows * v.ld;
}

/* 1 when v is a dense [batch, rows, cols] block from offset 0. */
static inline int sg_view_is_dense(SgView v)
{
    return v.off == 0 && v.ld == v.cols && sg_view_is_matrix(v);
}

/* Elements the view reaches past the start of its buffer: the size the buffer needs. */
static inline size_t sg_view_span(SgView v)
{
    if (!v.batch || !v.rows || !v.cols)
        return v.off;
    return v.off + (v.batch - 1) * v.bstride + (v.rows - 1) * v.ld + v.cols;
}

#endif /* SG_OCL_TENSOR_H */
