/* fixtures.h — reading the transformers golden tensors (*-expected.safetensors) in tests. */
#ifndef SG_TESTS_FIXTURES_H
#define SG_TESTS_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "model/safetensors.h"

/* Opens "<dir>/<name>" or returns NULL after printing why. */
SgSafetensors *fx_open(const char *dir, const char *name);

/* Tensor `name` as a malloc'ed float array; NULL (after printing why) when it is absent or does
 * not hold exactly `numel` elements. */
float *fx_f32(const SgSafetensors *st, const char *name, size_t numel);

/* An I64 tensor (input_ids, attention_mask) as a malloc'ed int32 array, checked as above. */
int32_t *fx_i32(const SgSafetensors *st, const char *name, size_t numel);

struct SiglipContext;
struct SiglipModel;

/* Checks max |got − fixture tensor `name`| ≤ tol over n values, printing the error. */
void fx_expect_close(const SgSafetensors *ex, const char *name, const float *got, size_t n,
                     double tol);

/* siglip_model_load of tests/data/<rel>; NULL after a failed check. */
struct SiglipModel *fx_load_model(struct SiglipContext *ctx, const char *rel);

#endif /* SG_TESTS_FIXTURES_H */
