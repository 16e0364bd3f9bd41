/* test_text_short.c — the packed text forward (real tokens + the last position, issue 22) against
 * the full 64-position forward of the same library on the same inputs: pooler_output, embeds
 * and logits within 1e-6 (absolute), on the tiny fixture, medium-bf16 (when present) and random
 * weights with head dim 64, for lengths 1, 2, 7, 63, 64 alone and mixed in one batch.
 * The full path is the reference here: asking for last_hidden_state runs it (tower.c), and it is
 * itself checked against transformers' float64 forward by test_parity_tiny/medium, whose masked
 * logits now go through the packed path too. Masks that are no prefix (a hole, an all-zero row)
 * must give what the full path gives. */
#include <math.h>

#include "harness.h"
#include "fixtures.h"
#include "siglip.h"

#define TOL 1e-6
#define MAX_B 16

/* A model and what its text inputs look like. */
typedef struct Case {
    SiglipModel *m;
    const char *name;
    int T, V, Dp;
    SgRng rng;
} Case;

static int32_t ids[MAX_B * 64], mask[MAX_B * 64];

/* Random ids; mask row b = lengths[b] ones then zeros (lengths[b] < 0: the pattern −lengths[b]
 * names, see fill_odd_mask). */
static void fill_inputs(Case *c, const int *lengths, int B)
{
    for (int i = 0; i < B * c->T; i++)
        ids[i] = (int32_t)(sg_rng_next(&c->rng) % (uint64_t)c->V);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < c->T; t++)
            mask[b * c->T + t] = t < lengths[b];
}

/* pooler, embeds (short path, what zero-shot and embed ask for) vs the same with
 * last_hidden_state (full path); logits of both against the same unit "image" rows. */
static void compare_paths(Case *c, int B, const char *label)
{
    size_t n = (size_t)B * c->Dp;
    static float p_short[MAX_B * 1024], e_short[MAX_B * 1024], p_full[MAX_B * 1024],
        e_full[MAX_B * 1024], img[4 * 1024], l_short[4 * MAX_B], l_full[4 * MAX_B];
    static float hidden[MAX_B * 64 * 1024];
    SiglipTextOutput s = {p_short, e_short, NULL}, f = {p_full, e_full, hidden};
    CHECK_STATUS(siglip_encode_text(c->m, ids, mask, B, &s), SIGLIP_OK, label);
    CHECK_STATUS(siglip_encode_text(c->m, ids, mask, B, &f), SIGLIP_OK, label);
    sg_rng_fill(&c->rng, img, (size_t)4 * c->Dp, -1, 1);
    for (int i = 0; i < 4; i++) {
        double ss = 0;
        for (int k = 0; k < c->Dp; k++)
            ss += (double)img[i * c->Dp + k] * img[i * c->Dp + k];
        for (int k = 0; k < c->Dp; k++)
            img[i * c->Dp + k] = (float)(img[i * c->Dp + k] / sqrt(ss));
    }
    CHECK_STATUS(siglip_logits(c->m, e_short, B, img, 4, l_short, NULL), SIGLIP_OK, label);
    CHECK_STATUS(siglip_logits(c->m, e_full, B, img, 4, l_full, NULL), SIGLIP_OK, label);
    double dp = sg_max_abs_diff(p_short, p_full, n), de = sg_max_abs_diff(e_short, e_full, n);
    double dl = sg_max_abs_diff(l_short, l_full, (size_t)4 * B);
    fprintf(stderr, "  %-8s %-34s pooler %.2e embeds %.2e logits %.2e\n", c->name, label, dp, de,
            dl);
    CHECK(dp <= TOL && de <= TOL && dl <= TOL, "%s %s: short vs full path %.3g %.3g %.3g > %g",
          c->name, label, dp, de, dl, TOL);
}

static void run_lengths(Case *c, const int *lengths, int B, const char *label)
{
    fill_inputs(c, lengths, B);
    compare_paths(c, B, label);
}

static void run_case(Case *c, int uniform)
{
    int T = c->T;
    if (uniform) {
        const int each[] = {1, 2, 7, T - 1, T};
        for (size_t i = 0; i < sizeof each / sizeof each[0]; i++) {
            int lengths[3] = {each[i], each[i], each[i]};
            char label[64];
            snprintf(label, sizeof label, "3 texts of length %d", each[i]);
            run_lengths(c, lengths, 3, label);
        }
    }
    const int mixed[] = {7, 1, T, 2, T - 1, 12, 1, 30};
    run_lengths(c, mixed, 8, "mixed 7,1,T,2,T-1,12,1,30");
    /* Not prefixes: a hole in row 1, row 2 all zeros. Both calls take the full path; a wrong
     * detection would pack row 1 as 3 tokens and differ. */
    int lengths[3] = {5, 6, 4};
    fill_inputs(c, lengths, 3);
    mask[1 * T + 3] = 0;
    for (int t = 0; t < T; t++)
        mask[2 * T + t] = 0;
    compare_paths(c, 3, "hole + all-zero row (full path)");
}

/* Runs the cases on a loaded fixture model (NULL after a failed load: nothing to do). */
static void run_fixture(Case *c, int uniform)
{
    if (!c->m)
        return;
    SiglipModelInfo info;
    siglip_model_info(c->m, &info);
    c->V = info.vocab_size;
    c->Dp = info.projection_size;
    run_case(c, uniform);
    siglip_model_free(&c->m);
}

int main(void)
{
    SiglipContext *ctx = sg_test_context(); /* SIGLIP_TEXT_MASK_HF */
    if (!ctx)
        return sg_test_finish("test_text_short");

    Case tiny = {fx_load_model(ctx, "tiny", NULL), "tiny", 64, 0, 0, {0x7e57ull}};
    run_fixture(&tiny, 1);

    /* Random weights: base's head dim 64 and 64 positions, narrower and shallower for CI time. */
    static const char config[] =
        "{\"model_type\": \"siglip\", \"architectures\": [\"SiglipModel\"],"
        " \"text_config\": {\"hidden_size\": 192, \"num_attention_heads\": 3,"
        " \"num_hidden_layers\": 3, \"intermediate_size\": 384, \"max_position_embeddings\": 64,"
        " \"vocab_size\": 1000},"
        " \"vision_config\": {\"hidden_size\": 192, \"num_attention_heads\": 3,"
        " \"num_hidden_layers\": 1, \"intermediate_size\": 64, \"image_size\": 32,"
        " \"patch_size\": 16}}";
    Case rnd = {NULL, "random", 64, 1000, 192, {0xba5eull}};
    CHECK_STATUS(siglip_model_create_random(ctx, config, 22, &rnd.m), SIGLIP_OK,
                 siglip_context_error(ctx));
    if (rnd.m)
        run_case(&rnd, 1);
    siglip_model_free(&rnd.m);

    const char *fixtures = sg_test_medium_dir();
    if (fixtures) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/medium-bf16", fixtures);
        Case med = {NULL, "medium", 64, 0, 0, {0x3ed1ull}};
        CHECK_STATUS(siglip_model_load(ctx, dir, &med.m), SIGLIP_OK, siglip_context_error(ctx));
        run_fixture(&med, 0);
    } else {
        fprintf(stderr, "medium fixtures not found: medium case skipped\n");
    }
    siglip_context_close(&ctx);
    return sg_test_finish("test_text_short");
}
