/* test_threads.c — two contexts used from two threads at once give results identical (bit for
 * bit) to one context used alone: the zero-shot pipeline and both towers on the tiny model. */
#include <pthread.h>

#include "harness.h"
#include "siglip.h"

enum { N_IMAGES = 4, N_LABELS = 3, D = 32, ROUNDS = 3 };

static const char *const labels[N_LABELS] = {"a cat", "a dog", "a remote"};
static const char *image_names[N_IMAGES] = {"images/rgb_40x40.png", "images/baseline_80x60.jpg",
                                            "images/palette_30x30.png", "images/rgba_45x33.png"};
static char *image_paths[N_IMAGES];

typedef struct Result {
    SiglipScore scores[N_IMAGES * N_LABELS];
    float text_embeds[N_LABELS * D];
    int status;
    char message[512];
} Result;

/* The whole job on a fresh context: what one thread does. */
static void run_job(Result *r)
{
    memset(r, 0, sizeof *r);
    SiglipSettings s;
    sg_test_settings(&s);
    s.n_threads = 2;
    SiglipContext *ctx = NULL;
    SiglipModel *m = NULL;
    char *tiny = sg_test_path("tiny");
    r->status = siglip_context_create(&ctx, &s);
    if (!r->status)
        r->status = siglip_model_load(ctx, tiny, &m);
    for (int round = 0; round < ROUNDS && !r->status; round++)
        r->status = siglip_zero_shot(m, (const char *const *)image_paths, N_IMAGES, labels,
                                     N_LABELS, NULL, r->scores);
    int32_t ids[N_LABELS * 64], mask[N_LABELS * 64];
    if (!r->status)
        r->status = siglip_tokenize(siglip_model_tokenizer(m), labels, N_LABELS, 64, ids, mask);
    SiglipTextOutput to = {.embeds = r->text_embeds};
    if (!r->status)
        r->status = siglip_encode_text(m, ids, mask, N_LABELS, &to);
    if (r->status && ctx)
        snprintf(r->message, sizeof r->message, "%s", siglip_context_error(ctx));
    siglip_model_free(&m);
    siglip_context_close(&ctx);
    free(tiny);
}

static void *thread_main(void *arg)
{
    run_job(arg);
    return NULL;
}

static void check_same(const Result *alone, const Result *r, const char *who)
{
    CHECK(r->status == SIGLIP_OK, "%s: status %d: %s", who, r->status, r->message);
    CHECK(memcmp(alone->scores, r->scores, sizeof r->scores) == 0,
          "%s: zero-shot scores differ from the single-context run", who);
    CHECK(memcmp(alone->text_embeds, r->text_embeds, sizeof r->text_embeds) == 0,
          "%s: text embeds differ from the single-context run", who);
}

int main(void)
{
    for (int i = 0; i < N_IMAGES; i++)
        image_paths[i] = sg_test_path(image_names[i]);
    static Result alone, a, b;
    run_job(&alone);
    CHECK(alone.status == SIGLIP_OK, "single context: %s", alone.message);

    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, thread_main, &a) == 0, "thread a");
    CHECK(pthread_create(&tb, NULL, thread_main, &b) == 0, "thread b");
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    check_same(&alone, &a, "thread a");
    check_same(&alone, &b, "thread b");
    fprintf(stderr, "  two contexts on two threads: %d zero-shot rounds each, results %s\n", ROUNDS,
            sg_test_failures ? "DIFFER" : "identical to one context alone");
    for (int i = 0; i < N_IMAGES; i++)
        free(image_paths[i]);
    return sg_test_finish("test_threads");
}
