/* weight_pack.h — Linear weights in reduced precision on the host (issue 14): rounding f32 to
 * bf16 / f16 / q8, the packed panel layout cl/weight_load.h reads, and the f32 values the device
 * then sees (for references and accuracy reports). */
#ifndef SG_OCL_WEIGHT_PACK_H
#define SG_OCL_WEIGHT_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "ocl/tensor.h"
#include "ocl/tuning.h"

#define SG_PANEL_MAX 64 /* widest weight panel (NR of cl/gemm_packed.cl, a multiple of 8) */
#define SG_Q8_BLOCK 32 /* inputs (along K) sharing one q8 scale */

/* f32 → bf16 and f16 bits, rounding to nearest even (NaN stays NaN; f16 overflow gives ±inf),
 * and back. */
uint16_t sg_f32_to_bf16(float f);
uint16_t sg_f32_to_f16(float f);
float sg_bf16_to_f32(uint16_t h);
float sg_f16_to_f32(uint16_t h);

/* Bytes of an [N, K] weight of type t in `layout` (q8 and the reduced types only as panels), with
 * nr-column panels (nr is ignored for the CLBlast layout). */
size_t sg_weight_bytes(SgGemmPath layout, SgElemType t, size_t N, size_t K, size_t nr);

/* Packs w [N, K] (f32, PyTorch layout) as nr-column panels (8 <= nr <= SG_PANEL_MAX) of type t
 * into dst, all sg_weight_bytes(SG_GEMM_PANELS, t, N, K, nr) bytes written:
 * dst[panel][k][j] = w[panel·nr + j][k], zero past N; q8 appends the scales
 * [ceil(N/nr), ceil(K/32), nr]. */
void sg_weight_pack(SgElemType t, const float *w, size_t N, size_t K, size_t nr, void *dst);

/* A gather table (the token embedding, issue 14) stored as t, rows × cols, read by
 * cl/embedding.cl through cl/weight_load.h's sg_table_load: f32/bf16/f16 row-major; q8 the
 * int8 rows, padded to 4 bytes, then the f32 scales [rows, ceil(cols/32)], each over 32
 * consecutive elements of a row (as a Linear's [N, K] scales over blocks of 32 inputs). */
size_t sg_table_bytes(SgElemType t, size_t rows, size_t cols);

/* Byte offset of the q8 scales in such a table. */
size_t sg_table_scales_offset(size_t rows, size_t cols);

/* Stores src [rows, cols] (f32) as a table of type t into dst (sg_table_bytes written); the
 * values the device then reads are sg_weight_dequantize(t, src, rows, cols). */
void sg_table_pack(SgElemType t, const float *src, size_t rows, size_t cols, void *dst);

/* The f32 values the device's GEMM multiplies by, for w [N, K] stored as t: out [N, K]. */
void sg_weight_dequantize(SgElemType t, const float *w, size_t N, size_t K, float *out);

#endif /* SG_OCL_WEIGHT_PACK_H */
