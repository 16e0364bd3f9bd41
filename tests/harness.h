/* harness.h — the small test harness every test program uses: checks that record and go on,
 * fixture paths, seeded random data, and error measures (max abs, atol + rtol·|ref|, cosine). */
#ifndef SG_TESTS_HARNESS_H
#define SG_TESTS_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit status meson reads as "skipped". */
#define SG_TEST_SKIP 77

extern int sg_test_failures;
extern int sg_test_checks;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        sg_test_checks++;                                                                        \
        if (!(cond)) {                                                                           \
            sg_test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);                    \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fputc('\n', stderr);                                                                 \
        }                                                                                        \
    } while (0)

/* CHECK that a call returned status `want`; prints the context message when it did not. */
#define CHECK_STATUS(got, want, msg)                                                             \
    CHECK((got) == (want), "status %d (%s), expected %d; message: %s", (got),                   \
          siglip_strerror(got), (want), (msg))

/* Ends main(): prints a summary line and returns the process status. */
int sg_test_finish(const char *name);

/* tests/data in the source tree (SIGLIP_TEST_DATA, set by meson). */
const char *sg_test_data_dir(void);
/* dir of the medium fixtures (SIGLIP_MEDIUM_FIXTURES) or NULL when absent: skip then. */
const char *sg_test_medium_dir(void);
/* sg_test_medium_dir() for a test that needs them: exits with SG_TEST_SKIP when they are absent. */
const char *sg_test_require_medium(void);
/* Device spec for tests (SIGLIP_TEST_DEVICE, default "auto"). */
const char *sg_test_device(void);
/* Tuning override file for tests (SIGLIP_TEST_TUNING) or NULL. */
const char *sg_test_tuning(void);
/* Caps on the device's limits for tests (SIGLIP_TEST_LIMITS=gpu: work-group 256, 32 KiB local
 * memory, no fp16, no fp64, the limits real GPUs report; unset: NULL, the device's own). */
struct SiglipDeviceLimits;
const struct SiglipDeviceLimits *sg_test_limits(void);
/* Program binary cache dir for tests (SIGLIP_TEST_CACHE) or NULL. */
const char *sg_test_cache_dir(void);
/* Default settings with the test device, program cache and tuning file filled in. */
struct SiglipSettings;
void sg_test_settings(struct SiglipSettings *s);
/* A context of sg_test_settings; NULL after a failed check. */
struct SiglipContext *sg_test_context(void);
/* Opens the test device (sg_device_open with sg_test_device() and sg_test_cache_dir()) into
 * *dev. 0 when it is open (the caller closes it); else what main() returns: SG_TEST_SKIP when
 * there is no device, or sg_test_finish(name) after a failed check. */
struct SgDevice;
struct SgError;
int sg_test_open_device(struct SgDevice **dev, struct SgError *err, const char *name);
/* malloc'ed "<data dir>/<rel>". */
char *sg_test_path(const char *rel);

/* A whole file in a malloc'ed buffer with a NUL appended (not counted in *size), or NULL. */
char *sg_test_read(const char *path, size_t *size);
/* sg_test_read of tests/data/<rel>; NULL after a failed check. */
char *sg_test_read_data(const char *rel, size_t *size);
/* Writes `size` bytes to `path`; 0 on success. */
int sg_test_write(const char *path, const void *data, size_t size);

/* Deterministic uniform floats in [lo, hi). */
typedef struct SgRng { uint64_t s; } SgRng;
static inline uint64_t sg_rng_next(SgRng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}
static inline float sg_rng_uniform(SgRng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((sg_rng_next(r) >> 40) * (1.0 / 16777216.0));
}
void sg_rng_fill(SgRng *r, float *x, size_t n, float lo, float hi);

/* max |a − b| */
double sg_max_abs_diff(const float *a, const float *b, size_t n);
/* Number of i with |got − ref| > atol + rtol·|ref| (the first few are printed under `what`). */
size_t sg_count_mismatches(const char *what, const float *got, const float *ref, size_t n,
                           double atol, double rtol);
/* cosine similarity of two vectors */
double sg_cosine(const float *a, const float *b, size_t n);

#endif /* SG_TESTS_HARNESS_H */
