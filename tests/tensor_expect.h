/* tensor_expect.h — checking a safetensors tensor against values obtained independently (numpy):
 * shape, dtype, a few elements and the float64 sum. */
#ifndef SG_TESTS_TENSOR_EXPECT_H
#define SG_TESTS_TENSOR_EXPECT_H

#include "model/safetensors.h"

typedef struct Expected {
    const char *name;
    int ndim;
    int64_t shape[4];
    double first[2], last, mid, sum; /* [0], [1], [numel-1], [numel/2], sum of all */
} Expected;

/* CHECKs t's shape and dtype, and its float32 values against e (elements exactly, the sum to
 * 1e-9 relative). */
void check_values(const SgTensor *t, const Expected *e, SgDtype dtype);

/* Opens path (CHECKing that it opens) and checks each of expected [n] in it with check_values.
 * Returns the open file for further checks (the caller closes it), or NULL. */
SgSafetensors *check_file(const char *path, const Expected *expected, size_t n, SgDtype dtype);

#endif /* SG_TESTS_TENSOR_EXPECT_H */
