/* harness.c — implementation of the shared test helpers in harness.h. */
#include "harness.h"

#include "ocl/kernels.h"
#include "siglip.h"

#include <sys/stat.h>

int sg_test_failures;
int sg_test_checks;

int sg_test_finish(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, sg_test_checks, sg_test_failures);
    return sg_test_failures ? 1 : 0;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

const char *sg_test_data_dir(void) { return env_or("SIGLIP_TEST_DATA", "tests/data"); }
const char *sg_test_device(void) { return env_or("SIGLIP_TEST_DEVICE", "auto"); }
const char *sg_test_cache_dir(void) { return env_or("SIGLIP_TEST_CACHE", NULL); }
const char *sg_test_tuning(void) { return env_or("SIGLIP_TEST_TUNING", NULL); }

const SiglipDeviceLimits *sg_test_limits(void)
{
    static const SiglipDeviceLimits gpu = {.max_work_group_size = 256,
                                           .max_local_mem_bytes = 32 * 1024,
                                           .no_fp16 = 1, .no_fp64 = 1};
    const char *v = env_or("SIGLIP_TEST_LIMITS", NULL);
    if (!v)
        return NULL;
    if (strcmp(v, "gpu") != 0) {
        fprintf(stderr, "SIGLIP_TEST_LIMITS=%s: only \"gpu\" is known\n", v);
        exit(1);
    }
    return &gpu;
}

const char *sg_test_medium_dir(void)
{
    const char *d = env_or("SIGLIP_MEDIUM_FIXTURES", NULL);
    if (!d)
        return NULL;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/medium-bf16/config.json", d);
    struct stat st;
    return stat(probe, &st) == 0 ? d : NULL;
}

const char *sg_test_require_medium(void)
{
    const char *d = sg_test_medium_dir();
    if (!d) {
        fprintf(stderr, "medium fixtures not found (SIGLIP_MEDIUM_FIXTURES): skipped\n");
        exit(SG_TEST_SKIP);
    }
    return d;
}

void sg_test_settings(SiglipSettings *s)
{
    siglip_default_settings(s);
    s->device = sg_test_device();
    s->program_cache_dir = sg_test_cache_dir();
    s->tuning_file = sg_test_tuning();
    if (sg_test_limits())
        s->device_limits = *sg_test_limits();
}

SiglipContext *sg_test_context(void)
{
    SiglipSettings s;
    sg_test_settings(&s);
    SiglipContext *ctx = NULL;
    int rc = siglip_context_create(&ctx, &s);
    CHECK_STATUS(rc, SIGLIP_OK, "context");
    return ctx;
}

int sg_test_open_device(SgDevice **dev, SgError *err, const char *name)
{
    int rc = sg_device_open_limited(dev, sg_test_device(), sg_test_cache_dir(), NULL,
                                    sg_test_limits(), err);
    if (rc == SIGLIP_ENODEV) {
        fprintf(stderr, "skipped: %s\n", err->message);
        return SG_TEST_SKIP;
    }
    CHECK_STATUS(rc, SIGLIP_OK, err->message);
    return rc == SIGLIP_OK ? 0 : sg_test_finish(name);
}

char *sg_test_path(const char *rel)
{
    const char *d = sg_test_data_dir();
    size_t n = strlen(d) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", d, rel);
    return p;
}

char *sg_test_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *size = (size_t)n;
    }
    return buf;
}

char *sg_test_read_data(const char *rel, size_t *size)
{
    char *path = sg_test_path(rel);
    char *data = path ? sg_test_read(path, size) : NULL;
    CHECK(data != NULL, "cannot read %s", path ? path : rel);
    free(path);
    return data;
}

int sg_test_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

void sg_rng_fill(SgRng *r, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sg_rng_uniform(r, lo, hi);
}

double sg_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d)
            m = d != d ? INFINITY : d;
    }
    return m;
}

size_t sg_count_mismatches(const char *what, const float *got, const float *ref, size_t n,
                           double atol, double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!(d <= atol + rtol * fabs((double)ref[i]))) {
            if (bad < 5)
                fprintf(stderr, "  %s[%zu]: got %.9g, expected %.9g (diff %.3g)\n", what, i,
                        got[i], ref[i], d);
            bad++;
        }
    }
    return bad;
}

double sg_cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb));
}
