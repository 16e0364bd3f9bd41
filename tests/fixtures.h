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
struct cJSON;

/* Checks max |got − fixture tensor `name`| ≤ tol over n values, printing the error. */
void fx_expect_close(const SgSafetensors *ex, const char *name, const float *got, size_t n,
                     double tol);

/* Checks the vision tower's outputs against "<pre>.f64.vision.last_hidden_state" (n_hidden values)
 * and "<pre>.f64.vision.pooler_output" (n_pool values) at tol. */
void fx_expect_vision(const SgSafetensors *ex, const char *pre, const float *hidden,
                      size_t n_hidden, const float *pool, size_t n_pool, double tol);

struct SiglipModelInfo;

/* siglip_model_load of tests/data/<rel>, its siglip_model_info in *info (info may be NULL); NULL
 * after a failed check. */
struct SiglipModel *fx_load_model(struct SiglipContext *ctx, const char *rel,
                                  struct SiglipModelInfo *info);

/* A host resize of a position table: grid [in_h·in_w, D] → out [out_h·out_w, D]; 0 on success. */
typedef int (*FxPosResize)(const float *grid, int in_h, int in_w, size_t D, int out_h, int out_w,
                           float *out);

/* One reference a resized table is checked against: tensor "pos.<gh>x<gw><suffix>" at tol. */
typedef struct FxPosRef {
    const char *suffix;
    double tol;
} FxPosRef;

/* resize of the model's stored square position grid [g·g, D] to each [gh, gw] of `sizes` against
 * refs[n_refs]; resizing to g × g itself must give the stored grid bit for bit. */
void fx_check_pos_tables(struct SiglipModel *m, const SgSafetensors *ex, const struct cJSON *sizes,
                         FxPosResize resize, const FxPosRef *refs, size_t n_refs);

/* What a fixture test starts from: its cases (tests/data/<cases_rel>), its expected tensors
 * (tests/data/<expected_rel>) and a context with the device open. */
typedef struct FxSuite {
    char *json;
    struct cJSON *cases;
    SgSafetensors *ex;
    struct SiglipContext *ctx;
} FxSuite;

/* Opens all three; 0, or -1 after a failed check (close it either way). Exits with SG_TEST_SKIP
 * when there is no OpenCL device. */
int fx_suite_open(FxSuite *s, const char *cases_rel, const char *expected_rel);
void fx_suite_close(FxSuite *s);

#endif /* SG_TESTS_FIXTURES_H */
