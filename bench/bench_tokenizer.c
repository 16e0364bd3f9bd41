/* bench_tokenizer.c — texts per second of siglip_tokenize() on typical captions (padding to
 * max_length, batches of 64), single thread. tokenizer_compare.py times Python on the same texts.
 * Usage: bench_tokenizer [model_dir] [seconds] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siglip.h"

/* The same captions as tokenizer_compare.py: every template with every label. */
static const char *const templates[] = {
    "a photo of a %s.", "This is a photo of %s.", "a blurry photo of the %s",
    "A close-up picture of a small %s, taken outdoors on a sunny day!", "an illustration of %s",
    "a bad photo of the %s; low quality, JPEG artifacts", "itap of a %s.", "a sculpture of a %s",
};
static const char *const labels[] = {
    "cat", "dog", "airplane", "remote control", "golden retriever", "Eiffel Tower", "café",
    "traffic light", "red double-decker bus", "pizza margherita", "mountain bike", "sea turtle",
    "laptop computer", "hot-air balloon", "snowy owl", "Ferris wheel",
};

#define N_TEMPLATES (sizeof templates / sizeof templates[0])
#define N_LABELS (sizeof labels / sizeof labels[0])
#define N_CAPTIONS (N_TEMPLATES * N_LABELS)
#define BATCH 64

/* dst = tpl with its "%s" replaced by label (kept out of printf: the templates are data). */
static void fill_template(char *dst, size_t size, const char *tpl, const char *label)
{
    const char *hole = strstr(tpl, "%s");
    snprintf(dst, size, "%.*s%s%s", (int)(hole - tpl), tpl, label, hole + 2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/data/tiny";
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    static char storage[N_CAPTIONS][160];
    const char *captions[N_CAPTIONS];
    size_t bytes = 0;
    for (size_t t = 0; t < N_TEMPLATES; t++)
        for (size_t l = 0; l < N_LABELS; l++) {
            char *s = storage[t * N_LABELS + l];
            fill_template(s, sizeof storage[0], templates[t], labels[l]);
            captions[t * N_LABELS + l] = s;
            bytes += strlen(s);
        }
    SiglipContext *ctx = NULL;
    SiglipTokenizer *tok = NULL;
    if (siglip_context_create(&ctx, NULL) != 0)
        return 1;
    if (siglip_tokenizer_load(ctx, dir, &tok) != 0) {
        fprintf(stderr, "bench_tokenizer: %s\n", siglip_context_error(ctx));
        siglip_context_close(&ctx);
        return 1;
    }
    int max_length = siglip_tokenizer_max_length(tok);
    int32_t *ids = malloc(sizeof *ids * BATCH * (size_t)max_length);
    int32_t *mask = malloc(sizeof *mask * BATCH * (size_t)max_length);
    long texts = 0;
    double start = now_s(), elapsed = 0.0;
    int rc = 0;
    while (rc == 0 && (elapsed < seconds || texts == 0)) {
        for (size_t b = 0; rc == 0 && b < N_CAPTIONS; b += BATCH) {
            int n = (int)(N_CAPTIONS - b < BATCH ? N_CAPTIONS - b : BATCH);
            rc = siglip_tokenize(tok, captions + b, n, 0, ids, mask);
            texts += n;
        }
        elapsed = now_s() - start;
    }
    if (rc != 0)
        fprintf(stderr, "bench_tokenizer: %s\n", siglip_tokenizer_error(tok));
    else
        printf("{\"bench\": \"tokenizer\", \"implementation\": \"libsiglip C\", \"captions\": %zu, "
               "\"mean_bytes\": %.1f, \"max_length\": %d, \"texts_per_s\": %.0f, "
               "\"us_per_text\": %.3f}\n",
               (size_t)N_CAPTIONS, (double)bytes / N_CAPTIONS, max_length, (double)texts / elapsed,
               1e6 * elapsed / (double)texts);
    free(ids);
    free(mask);
    siglip_tokenizer_free(&tok);
    siglip_context_close(&ctx);
    return rc == 0 ? 0 : 1;
}
