/* test_failures.c — injected failures: host allocations (malloc/calloc/realloc), device buffers
 * (clCreateBuffer) and kernel builds (clBuildProgram) fail at every call site in turn while a
 * model loads and runs, and a device too small for the model. Each failure must give a clean
 * status and message, and the same context must work afterwards. The test binary is linked with
 * -Wl,--wrap for those symbols, so the library itself carries no injection hooks; run it under
 * valgrind or ASan to see that the failure paths leak nothing. */
#include <CL/cl.h>

#include "harness.h"
#include "siglip.h"

/* ---- the wrapped functions: fail the n-th call after arming, or past a device budget ---- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
cl_mem __real_clCreateBuffer(cl_context c, cl_mem_flags f, size_t size, void *host, cl_int *rc);
cl_int __real_clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *options,
                             void (*notify)(cl_program, void *), void *user);

typedef enum { FAIL_NONE, FAIL_HOST, FAIL_BUFFER, FAIL_BUILD } FailKind;

static FailKind armed = FAIL_NONE;
static long countdown = -1;    /* the call that fails is the one that brings it to 0 */
static long calls;             /* calls of the armed kind since arming */
static int persistent;         /* every call from the n-th on fails, not only the n-th */
static size_t device_budget;   /* 0 = unlimited; else clCreateBuffer fails past it */
static size_t device_used;

static int should_fail(FailKind kind)
{
    if (armed != kind)
        return 0;
    calls++;
    if (persistent && countdown <= 0)
        return 1;
    return countdown-- == 0;
}

void *__wrap_malloc(size_t size);
void *__wrap_malloc(size_t size)
{
    return should_fail(FAIL_HOST) ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail(FAIL_HOST) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size)
{
    return should_fail(FAIL_HOST) ? NULL : __real_realloc(p, size);
}

cl_mem __wrap_clCreateBuffer(cl_context c, cl_mem_flags f, size_t size, void *host, cl_int *rc);
cl_mem __wrap_clCreateBuffer(cl_context c, cl_mem_flags f, size_t size, void *host, cl_int *rc)
{
    if (should_fail(FAIL_BUFFER) || (device_budget && device_used + size > device_budget)) {
        if (rc)
            *rc = CL_MEM_OBJECT_ALLOCATION_FAILURE;
        return NULL;
    }
    device_used += size; /* never decreases: the budget runs bound the total a load asks for */
    return __real_clCreateBuffer(c, f, size, host, rc);
}

cl_int __wrap_clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *options,
                             void (*notify)(cl_program, void *), void *user);
cl_int __wrap_clBuildProgram(cl_program p, cl_uint n, const cl_device_id *d, const char *options,
                             void (*notify)(cl_program, void *), void *user)
{
    if (should_fail(FAIL_BUILD))
        return CL_BUILD_PROGRAM_FAILURE;
    return __real_clBuildProgram(p, n, d, options, notify, user);
}

static void arm(FailKind kind, long n, int from_then_on)
{
    armed = kind;
    persistent = from_then_on;
    countdown = n;
    calls = 0;
}

static void disarm(void)
{
    armed = FAIL_NONE;
    countdown = -1;
}

/* ---- the workload ---- */

static char *image_path; /* made before any injection: the harness's own mallocs must not fail */
static uint64_t clean_held; /* device bytes a context holds after a clean workload (scratch) */

static SiglipContext *new_context(void)
{
    SiglipSettings s;
    sg_test_settings(&s);
    SiglipContext *ctx = NULL;
    return siglip_context_create(&ctx, &s) == SIGLIP_OK ? ctx : NULL;
}

/* Loads tiny and runs both towers and the pipeline pieces on it. msg [size] receives the failure's
 * message, from the handle that reports it (the tokenizer and the processor keep their own). */
static int workload(SiglipContext *ctx, const char *tiny, char *msg, size_t size)
{
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, tiny, &m);
    static const char *const texts[] = {"a photo of a cat", "a dog"};
    int32_t ids[2 * 64], mask[2 * 64];
    float emb[2 * 32];
    const char *why = NULL;
    if (rc == SIGLIP_OK && (rc = siglip_tokenize(siglip_model_tokenizer(m), texts, 2, 64, ids,
                                                 mask)))
        why = siglip_tokenizer_error(siglip_model_tokenizer(m));
    if (rc == SIGLIP_OK) {
        SiglipTextOutput to = {.embeds = emb};
        rc = siglip_encode_text(m, ids, mask, 2, &to);
    }
    if (rc == SIGLIP_OK) {
        static float pixels[2 * 3 * 40 * 40];
        const char *paths[2] = {image_path, image_path};
        rc = siglip_preprocess_files(siglip_model_image_processor(m), paths, 2, pixels);
        why = rc ? siglip_image_processor_error(siglip_model_image_processor(m)) : NULL;
        SiglipImageOutput io = {.embeds = emb};
        if (rc == SIGLIP_OK)
            rc = siglip_encode_image(m, pixels, 2, &io);
    }
    snprintf(msg, size, "%s", why ? why : siglip_context_error(ctx));
    siglip_model_free(&m);
    return rc;
}

static int expected_status(FailKind kind, int rc)
{
    if (kind == FAIL_BUILD)
        return rc == SIGLIP_EBUILD;
    return rc == SIGLIP_ENOMEM;
}

/* Fails call 0, 1, 2, ... of `kind` (or every call from there on) until the workload completes.
 * A failure either is absorbed by a fallback (a program-cache read that fails rebuilds from
 * source) or gives the kind's status with a message; either way the same context must then run
 * the workload cleanly. open_first: one context, its device opened (kernels built) before the
 * sweep and used by every step, so only the model's load and run are swept, without a kernel
 * build per step (seconds each on rusticl). Returns the number of failures that reached the
 * caller. */
static long sweep(FailKind kind, const char *what, const char *tiny, long stride, int from_then_on,
                  int open_first)
{
    long n = 0, sites = 0, absorbed = 0;
    SiglipContext *shared = open_first ? new_context() : NULL;
    if (open_first && (!shared || siglip_context_open_device(shared) != SIGLIP_OK)) {
        CHECK(0, "opening the device: %s", shared ? siglip_context_error(shared) : "no context");
        siglip_context_close(&shared);
        return sites;
    }
    for (;; n += stride) {
        SiglipContext *ctx = shared ? shared : new_context();
        if (!ctx)
            return sites;
        arm(kind, n, from_then_on);
        char msg[4096];
        int rc = workload(ctx, tiny, msg, sizeof msg);
        long seen = calls;
        disarm();
        if (rc == SIGLIP_OK && seen <= n) { /* the n-th call never came: all sites done */
            if (!shared)
                siglip_context_close(&ctx);
            break;
        }
        if (rc == SIGLIP_OK) {
            absorbed++;
        } else {
            sites++;
            CHECK(expected_status(kind, rc), "%s failure at call %ld: status %d (%s), message: %s",
                  what, n, rc, siglip_strerror(rc), msg);
            CHECK(strlen(msg) > 0, "%s failure at call %ld: no message",
                  what, n);
        }
        /* Nothing leaked on the device: with the model gone, the context holds at most what a
         * clean run leaves (the device's shared scratch buffer). */
        uint64_t held = 0;
        if (siglip_context_memory(ctx, &held, NULL) == SIGLIP_OK)
            CHECK(held <= clean_held, "%s failure at call %ld: %llu device bytes still held "
                  "after the model was freed (a clean run leaves %llu)", what, n,
                  (unsigned long long)held, (unsigned long long)clean_held);
        int again = workload(ctx, tiny, msg, sizeof msg);
        CHECK_STATUS(again, SIGLIP_OK, msg);
        if (!shared)
            siglip_context_close(&ctx);
    }
    siglip_context_close(&shared);
    fprintf(stderr, "  %-14s %ld failures reported cleanly, %ld absorbed by a fallback (every %ld%s%s)\n",
            what, sites, absorbed, stride, from_then_on ? ", from then on" : "",
            open_first ? ", device opened first" : "");
    return sites;
}

/* A device with too little memory: medium-sized model, tiny budget. */
static void too_small_device(const char *tiny)
{
    SiglipContext *ctx = new_context();
    char *dir = NULL;
    const char *medium = sg_test_medium_dir();
    char path[4096];
    if (medium) {
        snprintf(path, sizeof path, "%s/medium-bf16", medium);
        dir = path;
    }
    device_used = 0;
    device_budget = 8u << 20; /* 8 MiB: medium needs ~100 MiB, tiny ~1 */
    SiglipModel *m = NULL;
    int rc = siglip_model_load(ctx, dir ? dir : tiny, &m);
    if (dir) {
        fprintf(stderr, "  8 MiB device, medium model -> %d %s\n", rc, siglip_context_error(ctx));
        CHECK_STATUS(rc, SIGLIP_ENOMEM, siglip_context_error(ctx));
        CHECK(m == NULL, "no model on failure");
        CHECK(strstr(siglip_context_error(ctx), "MiB") != NULL, "message gives sizes");
    }
    siglip_model_free(&m);
    device_used = 0;
    char msg[4096];
    rc = workload(ctx, tiny, msg, sizeof msg); /* tiny fits the same budget: the context works */
    CHECK_STATUS(rc, SIGLIP_OK, msg);
    device_budget = 0;
    siglip_context_close(&ctx);
}

int main(void)
{
    char *tiny = sg_test_path("tiny");
    image_path = sg_test_path("images/rgb_97x61.png");
    /* Reference run: the workload succeeds with nothing injected. */
    SiglipContext *ctx = new_context();
    char msg[4096] = "no context";
    CHECK(ctx && workload(ctx, tiny, msg, sizeof msg) == SIGLIP_OK, "clean run: %s", msg);
    CHECK(ctx && siglip_context_memory(ctx, &clean_held, NULL) == SIGLIP_OK, "memory query");
    fprintf(stderr, "  a clean run leaves %llu device bytes held (the shared scratch)\n",
            (unsigned long long)clean_held);
    siglip_context_close(&ctx);

    CHECK(sweep(FAIL_BUILD, "clBuildProgram", tiny, 1, 1, 0) > 0, "no build was failed");
    CHECK(sweep(FAIL_BUFFER, "clCreateBuffer", tiny, 1, 0, 0) > 0, "no buffer was failed");
    /* Host allocations: every 7th of the whole workload (device opening and kernel builds
     * included; a stride that keeps the sweep short where every step builds the kernels), then
     * every one of the model's load and run (the tokenizer's and processor's file probing
     * included: an allocation failure there is SIGLIP_ENOMEM, not a missing file). */
    CHECK(sweep(FAIL_HOST, "malloc", tiny, 7, 0, 0) > 0, "no allocation was failed");
    CHECK(sweep(FAIL_HOST, "malloc (load)", tiny, 1, 0, 1) > 0, "no allocation was failed");
    too_small_device(tiny);
    free(tiny);
    free(image_path);
    return sg_test_finish("test_failures");
}
