/* matrix.h — internals of siglip_matrix_* (pipeline/matrix.c) that tests reach. */
#ifndef SG_PIPELINE_MATRIX_H
#define SG_PIPELINE_MATRIX_H

#include "siglip.h"

/* siglip_matrix_create with blocks of block_rows rows (0 = chosen from the buffer limits), so
 * that tests cover many blocks and a short last one without gigabytes of rows. */
int sg_matrix_create_blocks(SiglipContext *ctx, const float *rows, size_t n, int dim,
                            size_t block_rows, SiglipMatrix **out);

#endif /* SG_PIPELINE_MATRIX_H */
