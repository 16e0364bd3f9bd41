/* weight_pack.h — Linear weights in reduced precision on the host (issue 14): rounding f32 to
 * bf16 / f16 / q8, the packed panel layout cl/weight_load.h reads, and the f32 values the device
 * then sees (for references and accuracy reports). Packing reads the source a row run at a time
 * (SgRows: host memory, or a checkpoint's mapping converted on the fly), so a weight is written
 * once, into the device buffer's memory, on several threads. */
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

struct SgRows;
/* Elements k0 .. k0 + len − 1 of row `row` of rows->src, as f32, into out. Called from several
 * threads at once, each on rows of its own. */
typedef void (*SgRowReader)(const struct SgRows *rows, size_t row, size_t k0, size_t len,
                            float *out);

/* A weight [n, k] (PyTorch layout: row = output channel) as rows to read. */
typedef struct SgRows {
    SgRowReader read;
    const void *src;  /* the reader's source */
    size_t n, k;
    int threads;      /* threads packing may use (≥ 1) */
} SgRows;

/* The rows of host memory w [n, k] (f32), for one thread. */
SgRows sg_rows_host(const float *w, size_t n, size_t k);

/* Bytes of an [N, K] weight of type t in `layout` (q8 and the reduced types only as panels), with
 * nr-column panels (nr is ignored for the CLBlast layout). */
size_t sg_weight_bytes(SgGemmPath layout, SgElemType t, size_t N, size_t K, size_t nr);

/* Packs w [N, K] as nr-column panels (8 <= nr <= SG_PANEL_MAX) of type t into dst, all
 * sg_weight_bytes(SG_GEMM_PANELS, t, N, K, nr) bytes written, on w->threads threads:
 * dst[panel][k][j] = w[panel·nr + j][k], zero past N; q8 appends the scales
 * [ceil(N/nr), ceil(K/32), nr]. */
void sg_weight_pack(SgElemType t, const SgRows *w, size_t nr, void *dst);

/* Copies w [N, K] row-major as f32 into dst (the CLBlast layout), on w->threads threads. */
void sg_weight_copy_rows(const SgRows *w, float *dst);

/* A gather table (the token embedding, issue 14) stored as t, rows × cols, read by
 * cl/embedding.cl through cl/weight_load.h's sg_table_load: f32/bf16/f16 row-major; q8 the
 * int8 rows, padded to 4 bytes, then the f32 scales [rows, ceil(cols/32)], each over 32
 * consecutive elements of a row (as a Linear's [N, K] scales over blocks of 32 inputs). */
size_t sg_table_bytes(SgElemType t, size_t rows, size_t cols);

/* Byte offset of the q8 scales in such a table. */
size_t sg_table_scales_offset(size_t rows, size_t cols);

/* Stores src [rows, cols] as a table of type t into dst (sg_table_bytes written), on
 * src->threads threads; the values the device then reads are sg_weight_dequantize(t, ...) of
 * src's values. */
void sg_table_pack(SgElemType t, const SgRows *src, void *dst);

/* The f32 values the device's GEMM multiplies by, for w [N, K] stored as t: out [N, K]. */
void sg_weight_dequantize(SgElemType t, const float *w, size_t N, size_t K, float *out);

/* x [M, K] (row stride ld) replaced in place by the values q8's integer GEMM multiplies
 * (cl/q8_rows.h sg_q8_round32): per row and block of 32 inputs, each value ·
 * (63/amax) rounded to nearest even, times amax/63 (f32 arithmetic, as the kernel). The tuner's
 * reference; tests/ref_ops.c has its own. */
void sg_q8_round_rows(float *x, size_t ld, size_t M, size_t K);

#endif /* SG_OCL_WEIGHT_PACK_H */
