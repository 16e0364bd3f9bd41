/* test_scores.c — the pipelines' public scoring helpers (siglip_score_logits, siglip_format_label)
 * against values worked out by hand from transformers' zero-shot / classification pipelines. */
#include "harness.h"
#include "siglip.h"

/* float32 of exp/sigmoid results computed in double: a few ulps at most. */
#define SCORE_ATOL 1e-6

static void check_sigmoid(void)
{
    /* sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4; labels 0 and 3 tie at 1/2 and
     * keep their input order (Python's sorted is stable). */
    const float z[4] = {0.0f, (float)-log(3.0), (float)log(3.0), 0.0f};
    const SiglipScore want[4] = {{2, 0.75f}, {0, 0.5f}, {3, 0.5f}, {1, 0.25f}};
    SiglipScore s[4];
    siglip_score_logits(z, 4, SIGLIP_SCORE_SIGMOID, s);
    for (int i = 0; i < 4; i++)
        CHECK(s[i].label == want[i].label && fabs(s[i].score - want[i].score) < SCORE_ATOL,
              "sigmoid rank %d: label %d score %g, want %d %g", i, s[i].label, s[i].score,
              want[i].label, want[i].score);
}

static void check_softmax(void)
{
    /* softmax(1000 + [0, ln 3, ln 4]) = [1, 3, 4] / 8: the shift by the max keeps it finite. */
    const float z[3] = {1000.0f, (float)(1000.0 + log(3.0)), (float)(1000.0 + log(4.0))};
    const SiglipScore want[3] = {{2, 0.5f}, {1, 0.375f}, {0, 0.125f}};
    SiglipScore s[3];
    siglip_score_logits(z, 3, SIGLIP_SCORE_SOFTMAX, s);
    for (int i = 0; i < 3; i++)
        CHECK(s[i].label == want[i].label && fabs(s[i].score - want[i].score) < 1e-4,
              "softmax rank %d: label %d score %g, want %d %g", i, s[i].label, s[i].score,
              want[i].label, want[i].score);
    SiglipScore untouched = {7, 7.0f};
    siglip_score_logits(z, 0, SIGLIP_SCORE_SOFTMAX, &untouched);
    CHECK(untouched.label == 7, "n = 0 writes nothing");
}

static void check_format(const char *tpl, const char *label, const char *want)
{
    char *got = siglip_format_label(tpl, label);
    CHECK(got && strcmp(got, want) == 0, "format(%s, %s) = %s, want %s", tpl ? tpl : "NULL",
          label, got ? got : "NULL", want);
    free(got);
}

int main(void)
{
    check_sigmoid();
    check_softmax();
    /* Expected strings: Python's "<template>".format("<label>"). */
    check_format(NULL, "cat", "This is a photo of cat.");
    check_format("a {} photo", "dog", "a dog photo");
    check_format("{{{}}}", "x", "{x}");
    check_format("no field", "x", "no field");
    check_format("{}", "", "");
    CHECK(siglip_format_label("{}", NULL) == NULL, "NULL label gives NULL");
    return sg_test_finish("test_scores");
}
