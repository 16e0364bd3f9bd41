/* test_config.c — config.json parsing: the fixtures' configs, every SiglipConfig default, labels,
 * architectures, and each kind of malformed or unsupported config with its status and message.
 * Expected values are the fixtures' config.json contents and the defaults table of
 * ../shared/docs/siglip-reference.md (transformers' SiglipTextConfig / SiglipVisionConfig). */
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "harness.h"
#include "model/config.h"
#include "ocl/ops.h"

/* Parses a config given as text; fails the test when the status is not `want`. */
static int parse(const char *json, SgConfig *cfg, SgError *err, int want)
{
    sg_error_clear(err);
    int rc = sg_config_parse(json, strlen(json), cfg, err);
    CHECK_STATUS(rc, want, err->message);
    return rc;
}

/* A bad config: status `want`, a message containing `needle`, and *cfg left empty. */
static void expect_fail(const char *json, int want, const char *needle)
{
    SgError err = {0};
    SgConfig cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    int rc = sg_config_parse(json, strlen(json), &cfg, &err);
    CHECK(rc == want, "config %s: status %d (%s), expected %d; message: %s", json, rc,
          siglip_strerror(rc), want, err.message);
    CHECK(strstr(err.message, needle) != NULL, "config %s: message \"%s\" lacks \"%s\"", json,
          err.message, needle);
    CHECK(cfg.id2label == NULL && cfg.num_labels == 0, "config %s: output not cleared", json);
    sg_config_free(&cfg);
}

/* Both towers of the tiny fixtures: 32 wide, 80 MLP, 2 layers, 4 heads, gelu_pytorch_tanh. */
static void check_tiny_towers(const SgConfig *c)
{
    const SgTowerConfig *t = &c->text, *v = &c->vision;
    CHECK(t->vocab_size == 1000 && t->hidden_size == 32 && t->intermediate_size == 80,
          "tiny text sizes %d %d %d", t->vocab_size, t->hidden_size, t->intermediate_size);
    CHECK(t->num_hidden_layers == 2 && t->num_attention_heads == 4, "tiny text L %d H %d",
          t->num_hidden_layers, t->num_attention_heads);
    CHECK(t->max_position_embeddings == 64 && t->pad_token_id == 1 && t->projection_size == 32,
          "tiny text T %d pad %d Dp %d", t->max_position_embeddings, t->pad_token_id,
          t->projection_size);
    CHECK(t->hidden_act == SG_ACT_GELU_TANH && t->layer_norm_eps == 1e-6f, "tiny text act/eps");
    CHECK(v->hidden_size == 32 && v->intermediate_size == 80 && v->num_hidden_layers == 2 &&
              v->num_attention_heads == 4,
          "tiny vision D %d F %d L %d H %d", v->hidden_size, v->intermediate_size,
          v->num_hidden_layers, v->num_attention_heads);
    CHECK(v->num_channels == 3 && v->image_size == 40 && v->patch_size == 8,
          "tiny vision C %d size %d patch %d", v->num_channels, v->image_size, v->patch_size);
    CHECK(v->hidden_act == SG_ACT_GELU_TANH && v->layer_norm_eps == 1e-6f, "tiny vision act/eps");
}

/* Loads tests/data/<rel>/config.json into *cfg, CHECKing that it loads. */
static int load_fixture(const char *rel, SgConfig *cfg)
{
    char *dir = sg_test_path(rel);
    SgError err = {0};
    int rc = sg_config_load(dir, cfg, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    free(dir);
    return rc;
}

static void test_tiny(void)
{
    SgConfig cfg;
    if (!load_fixture("tiny", &cfg)) {
        CHECK(cfg.architecture == SIGLIP_ARCH_MODEL, "tiny architecture %d", cfg.architecture);
        CHECK(cfg.num_labels == 0 && cfg.id2label == NULL, "tiny has no labels");
        check_tiny_towers(&cfg);
    }
    sg_config_free(&cfg);
}

static void test_tiny_cls(void)
{
    SgConfig cfg;
    if (!load_fixture("tiny-cls", &cfg)) {
        CHECK(cfg.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION, "tiny-cls architecture %d",
              cfg.architecture);
        check_tiny_towers(&cfg);
        CHECK(cfg.num_labels == 5 && cfg.id2label, "tiny-cls labels %d", cfg.num_labels);
        for (int i = 0; cfg.id2label && i < cfg.num_labels; i++) {
            char want[32];
            snprintf(want, sizeof want, "class_%d", i);
            CHECK(strcmp(cfg.id2label[i], want) == 0, "label %d = %s", i, cfg.id2label[i]);
        }
    }
    sg_config_free(&cfg);
}

/* medium-bf16's config.json (copied into tests/data): base widths, one layer, vocab 1000. */
static void test_medium(void)
{
    size_t size = 0;
    char *text = sg_test_read_data("medium-config.json", &size);
    SgError err = {0};
    SgConfig cfg;
    int rc = SIGLIP_OK;
    if (text && !(rc = sg_config_parse(text, size, &cfg, &err))) {
        const SgTowerConfig *t = &cfg.text, *v = &cfg.vision;
        CHECK(cfg.architecture == SIGLIP_ARCH_MODEL, "medium architecture");
        CHECK(t->vocab_size == 1000 && t->hidden_size == 768 && t->intermediate_size == 3072 &&
                  t->num_hidden_layers == 1 && t->num_attention_heads == 12 &&
                  t->max_position_embeddings == 64 && t->projection_size == 768,
              "medium text V %d D %d F %d L %d H %d", t->vocab_size, t->hidden_size,
              t->intermediate_size, t->num_hidden_layers, t->num_attention_heads);
        CHECK(v->hidden_size == 768 && v->intermediate_size == 3072 && v->num_hidden_layers == 1 &&
                  v->num_attention_heads == 12 && v->image_size == 224 && v->patch_size == 16 &&
                  v->num_channels == 3,
              "medium vision D %d F %d L %d H %d size %d patch %d", v->hidden_size,
              v->intermediate_size, v->num_hidden_layers, v->num_attention_heads, v->image_size,
              v->patch_size);
        sg_config_free(&cfg);
    }
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    free(text);
}

/* The minimal Hub form is google/siglip-base-patch16-224: every value is a default. */
static void test_minimal_defaults(void)
{
    SgConfig cfg;
    SgError err = {0};
    if (parse("{\"model_type\": \"siglip\", \"text_config\": {}, \"vision_config\": {}}", &cfg,
              &err, SIGLIP_OK))
        return;
    const SgTowerConfig *t = &cfg.text, *v = &cfg.vision;
    CHECK(cfg.architecture == SIGLIP_ARCH_MODEL, "default architecture %d", cfg.architecture);
    CHECK(cfg.num_labels == 0 && !cfg.id2label, "SiglipModel has no labels");
    CHECK(t->vocab_size == 32000, "vocab_size %d", t->vocab_size);
    CHECK(t->hidden_size == 768, "text hidden_size %d", t->hidden_size);
    CHECK(t->intermediate_size == 3072, "text intermediate_size %d", t->intermediate_size);
    CHECK(t->num_hidden_layers == 12, "text num_hidden_layers %d", t->num_hidden_layers);
    CHECK(t->num_attention_heads == 12, "text num_attention_heads %d", t->num_attention_heads);
    CHECK(t->max_position_embeddings == 64, "max_position_embeddings %d",
          t->max_position_embeddings);
    CHECK(t->hidden_act == SG_ACT_GELU_TANH, "text hidden_act %d", t->hidden_act);
    CHECK(t->layer_norm_eps == 1e-6f, "text layer_norm_eps %g", t->layer_norm_eps);
    CHECK(t->pad_token_id == 1, "pad_token_id %d", t->pad_token_id);
    CHECK(t->projection_size == 768, "projection_size %d", t->projection_size);
    CHECK(v->hidden_size == 768, "vision hidden_size %d", v->hidden_size);
    CHECK(v->intermediate_size == 3072, "vision intermediate_size %d", v->intermediate_size);
    CHECK(v->num_hidden_layers == 12, "vision num_hidden_layers %d", v->num_hidden_layers);
    CHECK(v->num_attention_heads == 12, "vision num_attention_heads %d", v->num_attention_heads);
    CHECK(v->num_channels == 3, "num_channels %d", v->num_channels);
    CHECK(v->image_size == 224, "image_size %d", v->image_size);
    CHECK(v->patch_size == 16, "patch_size %d", v->patch_size);
    CHECK(v->hidden_act == SG_ACT_GELU_TANH, "vision hidden_act %d", v->hidden_act);
    CHECK(v->layer_norm_eps == 1e-6f, "vision layer_norm_eps %g", v->layer_norm_eps);
    sg_config_free(&cfg);

    /* {} and null sections / values are the same defaults. */
    if (!parse("{\"text_config\": null, \"vision_config\": {\"hidden_size\": null}}", &cfg, &err,
               SIGLIP_OK)) {
        CHECK(cfg.text.hidden_size == 768 && cfg.vision.hidden_size == 768 &&
                  cfg.text.vocab_size == 32000 && cfg.vision.image_size == 224,
              "null means default");
        sg_config_free(&cfg);
    }
    if (!parse("{}", &cfg, &err, SIGLIP_OK)) {
        CHECK(cfg.architecture == SIGLIP_ARCH_MODEL && cfg.text.projection_size == 768 &&
                  cfg.vision.patch_size == 16,
              "{} is the default SiglipModel");
        sg_config_free(&cfg);
    }
}

/* projection_size follows text hidden_size unless given. */
static void test_projection_size(void)
{
    SgConfig cfg;
    SgError err = {0};
    if (!parse("{\"text_config\": {\"hidden_size\": 1152, \"num_attention_heads\": 16}}", &cfg,
               &err, SIGLIP_OK)) {
        CHECK(cfg.text.projection_size == 1152, "default projection_size %d",
              cfg.text.projection_size);
        sg_config_free(&cfg);
    }
    if (!parse("{\"text_config\": {\"hidden_size\": 1152, \"num_attention_heads\": 16, "
               "\"projection_size\": 768}, \"vision_config\": {\"image_size\": 384, "
               "\"patch_size\": 14, \"hidden_size\": 1152, \"num_attention_heads\": 16}}",
               &cfg, &err, SIGLIP_OK)) {
        /* so400m-patch14-384: 384 is not a multiple of 14; the convolution takes 27 patches per
         * side and ignores the last 6 pixels, as transformers does. */
        CHECK(cfg.vision.image_size == 384 && cfg.vision.patch_size == 14, "so400m-384 vision");
        sg_config_free(&cfg);
    }
    if (!parse("{\"text_config\": {\"hidden_size\": 1152, \"num_attention_heads\": 16, "
               "\"projection_size\": 768, \"max_position_embeddings\": 16}, \"vision_config\": "
               "{\"image_size\": 378, \"patch_size\": 14, \"hidden_size\": 1152, "
               "\"intermediate_size\": 4304, \"num_attention_heads\": 16}}",
               &cfg, &err, SIGLIP_OK)) {
        CHECK(cfg.text.projection_size == 768 && cfg.text.hidden_size == 1152 &&
                  cfg.text.max_position_embeddings == 16,
              "explicit projection_size %d", cfg.text.projection_size);
        CHECK(cfg.vision.image_size == 378 && cfg.vision.patch_size == 14 &&
                  cfg.vision.intermediate_size == 4304,
              "so400m-like vision");
        sg_config_free(&cfg);
    }
}

static void check_act(const char *name, SgActivation want)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"text_config\": {\"hidden_act\": \"%s\"}, \"vision_config\": {\"hidden_act\": "
             "\"%s\"}}",
             name, name);
    SgConfig cfg;
    SgError err = {0};
    if (!parse(json, &cfg, &err, SIGLIP_OK)) {
        CHECK(cfg.text.hidden_act == want && cfg.vision.hidden_act == want, "%s → %d %d", name,
              cfg.text.hidden_act, cfg.vision.hidden_act);
        sg_config_free(&cfg);
    }
}

static void test_activations(void)
{
    check_act("gelu_pytorch_tanh", SG_ACT_GELU_TANH);
    check_act("gelu_new", SG_ACT_GELU_TANH);
    check_act("gelu_fast", SG_ACT_GELU_TANH);
    check_act("gelu", SG_ACT_GELU_ERF);
    /* transformers' ACT2FN: GELUActivation(use_gelu_python) is erf; GELUTanh(python) and
     * AccurateGELUActivation the tanh form */
    check_act("gelu_python", SG_ACT_GELU_ERF);
    check_act("gelu_python_tanh", SG_ACT_GELU_TANH);
    check_act("gelu_accurate", SG_ACT_GELU_TANH);
    expect_fail("{\"vision_config\": {\"hidden_act\": \"relu\"}}", SIGLIP_ENOTSUP,
                "vision_config.hidden_act = \"relu\" is not supported");
    expect_fail("{\"text_config\": {\"hidden_act\": \"quick_gelu\"}}", SIGLIP_ENOTSUP,
                "text_config.hidden_act");
    expect_fail("{\"text_config\": {\"hidden_act\": 3}}", SIGLIP_EBADMSG,
                "text_config.hidden_act: expected a string");
}

/* Labels of a classification config given by its JSON; want[i] = expected names. */
static void check_labels(const char *json, int n, const char *const *want)
{
    SgConfig cfg;
    SgError err = {0};
    if (parse(json, &cfg, &err, SIGLIP_OK))
        return;
    CHECK(cfg.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION, "%s: architecture", json);
    CHECK(cfg.num_labels == n, "%s: %d labels, expected %d", json, cfg.num_labels, n);
    for (int i = 0; i < n && i < cfg.num_labels; i++)
        CHECK(strcmp(cfg.id2label[i], want[i]) == 0, "%s: label %d = %s, expected %s", json, i,
              cfg.id2label[i], want[i]);
    sg_config_free(&cfg);
}

static void test_labels(void)
{
    static const char *const abc[] = {"a", "b", "c"};
    check_labels("{\"architectures\": [\"SiglipForImageClassification\"], \"id2label\": "
                 "{\"2\": \"c\", \"0\": \"a\", \"1\": \"b\"}}",
                 3, abc);
    /* id2label wins over num_labels, as in PretrainedConfig. */
    check_labels("{\"architectures\": [\"SiglipForImageClassification\"], \"num_labels\": 7, "
                 "\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}",
                 3, abc);
    static const char *const generic[] = {"LABEL_0", "LABEL_1", "LABEL_2"};
    check_labels("{\"architectures\": [\"SiglipForImageClassification\"], \"num_labels\": 3}", 3,
                 generic);
    check_labels("{\"architectures\": [\"SiglipForImageClassification\"]}", 2, generic);
    /* how the pipeline scores: transformers' ImageClassificationPipeline.postprocess */
    static const struct { const char *json; int scoring; } scoring[] = {
        {"\"num_labels\": 3", SIGLIP_SCORE_SOFTMAX},
        {"\"num_labels\": 1", SIGLIP_SCORE_SIGMOID},
        {"\"num_labels\": 3, \"problem_type\": \"multi_label_classification\"",
         SIGLIP_SCORE_SIGMOID},
        {"\"num_labels\": 3, \"problem_type\": \"single_label_classification\"",
         SIGLIP_SCORE_SOFTMAX},
        {"\"num_labels\": 1, \"problem_type\": \"single_label_classification\"",
         SIGLIP_SCORE_SIGMOID},
        {"\"num_labels\": 3, \"problem_type\": null", SIGLIP_SCORE_SOFTMAX},
    };
    for (size_t k = 0; k < sizeof scoring / sizeof *scoring; k++) {
        char json[256];
        snprintf(json, sizeof json, "{\"architectures\": [\"SiglipForImageClassification\"], %s}",
                 scoring[k].json);
        SgConfig cfg;
        SgError err = {0};
        if (parse(json, &cfg, &err, SIGLIP_OK) == 0) {
            CHECK(cfg.class_scoring == scoring[k].scoring, "%s: scoring %d, expected %d", json,
                  cfg.class_scoring, scoring[k].scoring);
            sg_config_free(&cfg);
        }
    }
    expect_fail("{\"architectures\": [\"SiglipForImageClassification\"], \"problem_type\": 3}",
                SIGLIP_EBADMSG, "problem_type: expected a string");
    /* vision_use_head (PaliGemma's towers say false): default true, either family */
    static const struct { const char *json; int use_head; } heads[] = {
        {"{}", 1},
        {"{\"vision_config\": {\"vision_use_head\": false}}", 0},
        {"{\"vision_config\": {\"vision_use_head\": true}}", 1},
        {"{\"vision_config\": {\"vision_use_head\": null}}", 1},
        {"{\"model_type\": \"siglip2\", \"vision_config\": {\"vision_use_head\": false}}", 0},
    };
    for (size_t k = 0; k < sizeof heads / sizeof *heads; k++) {
        SgConfig cfg;
        SgError err = {0};
        if (parse(heads[k].json, &cfg, &err, SIGLIP_OK) == 0) {
            CHECK(cfg.vision.use_head == heads[k].use_head, "%s: use_head %d", heads[k].json,
                  cfg.vision.use_head);
            sg_config_free(&cfg);
        }
    }
    expect_fail("{\"vision_config\": {\"vision_use_head\": 0}}", SIGLIP_EBADMSG,
                "vision_use_head: expected true or false");
    /* a vision tower saved alone loads without a text tower */
    static const struct { const char *json; int vision_only; } alone[] = {
        {"{\"architectures\": [\"SiglipVisionModel\"]}", 1},
        {"{\"architectures\": [\"SiglipModel\", \"SiglipVisionModel\"]}", 0},
        {"{\"architectures\": [\"SiglipModel\"]}", 0},
        {"{\"model_type\": \"siglip2\", \"architectures\": [\"Siglip2VisionModel\"]}", 1},
    };
    for (size_t k = 0; k < sizeof alone / sizeof *alone; k++) {
        SgConfig cfg;
        SgError err = {0};
        if (parse(alone[k].json, &cfg, &err, SIGLIP_OK) == 0) {
            CHECK(cfg.vision_only == alone[k].vision_only, "%s: vision_only %d", alone[k].json,
                  cfg.vision_only);
            sg_config_free(&cfg);
        }
    }

    const char *cls = "{\"architectures\": [\"SiglipForImageClassification\"], ";
    char json[512];
    static const struct {
        const char *rest, *needle;
    } bad[] = {
        {"\"id2label\": {\"0\": \"a\", \"x\": \"b\"}}", "id2label key \"x\" is not an index"},
        {"\"id2label\": {\"0\": \"a\", \"5\": \"b\"}}", "id2label key \"5\" is not an index"},
        {"\"id2label\": {\"0\": \"a\", \"-1\": \"b\"}}", "id2label key \"-1\""},
        {"\"id2label\": {\"0\": \"a\", \"0\": \"b\"}}", "id2label key \"0\" appears twice"},
        {"\"id2label\": {\"0\": \"a\", \"1\": 2}}", "id2label[\"1\"]: expected a string"},
        {"\"id2label\": {}}", "id2label has 0 entries"},
        {"\"id2label\": [\"a\"]}", "id2label: expected an object"},
        {"\"num_labels\": 0}", "num_labels = 0: must be positive"},
        {"\"num_labels\": 2.5}", "num_labels = 2.5: must be an integer"},
        {"\"num_labels\": 2000000}", "num_labels = 2000000: larger than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(json, sizeof json, "%s%s", cls, bad[i].rest);
        expect_fail(json, SIGLIP_EBADMSG, bad[i].needle);
    }
}

static void test_architectures(void)
{
    static const char *const model_shaped[] = {"[\"SiglipModel\"]", "[\"SiglipTextModel\"]",
                                               "[\"SiglipVisionModel\"]", "[]"};
    for (size_t i = 0; i < 4; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"architectures\": %s, \"id2label\": {\"0\": \"x\"}}",
                 model_shaped[i]);
        SgConfig cfg;
        SgError err = {0};
        if (!parse(json, &cfg, &err, SIGLIP_OK)) {
            CHECK(cfg.architecture == SIGLIP_ARCH_MODEL && cfg.num_labels == 0, "%s → model",
                  json);
            sg_config_free(&cfg);
        }
    }
    expect_fail("{\"architectures\": [\"CLIPModel\"]}", SIGLIP_ENOTSUP,
                "architectures[0] = \"CLIPModel\" is not supported");
    expect_fail("{\"architectures\": [\"SiglipModel\", \"Siglip2Model\"]}", SIGLIP_ENOTSUP,
                "architectures[1] = \"Siglip2Model\"");
    expect_fail("{\"architectures\": \"SiglipModel\"}", SIGLIP_EBADMSG,
                "architectures: expected an array");
    expect_fail("{\"architectures\": [1]}", SIGLIP_EBADMSG, "architectures[0]: expected a string");
    /* SigLIP 2 NaFlex: model_type "siglip2", a square position grid of num_patches (default
     * 256, Siglip2VisionConfig), Siglip2 architecture names only. */
    {
        SgError e2 = {0};
        SgConfig c2;
        if (parse("{\"model_type\": \"siglip2\", \"architectures\": [\"Siglip2Model\"], "
                  "\"vision_config\": {\"patch_size\": 16}}", &c2, &e2, 0) == 0)
            CHECK(c2.naflex && c2.vision.num_patches == 256 && c2.vision.image_size == 256 &&
                      c2.architecture == SIGLIP_ARCH_MODEL,
                  "siglip2 defaults: naflex %d, num_patches %d", c2.naflex,
                  c2.vision.num_patches);
        sg_config_free(&c2);
    }
    expect_fail("{\"model_type\": \"siglip2\", \"vision_config\": {\"num_patches\": 200}}",
                SIGLIP_EBADMSG, "vision_config.num_patches = 200 is not a square");
    /* Siglip2ForImageClassification: NaFlex with labels; SigLIP's class name is not siglip2's */
    static const char *const ab[] = {"a", "b"};
    check_labels("{\"model_type\": \"siglip2\", \"architectures\": "
                 "[\"Siglip2ForImageClassification\"], \"id2label\": {\"0\": \"a\", \"1\": \"b\"}}",
                 2, ab);
    expect_fail("{\"model_type\": \"siglip2\", \"architectures\": "
                "[\"SiglipForImageClassification\"]}",
                SIGLIP_ENOTSUP, "architectures[0] = \"SiglipForImageClassification\"");
    expect_fail("{\"model_type\": \"siglip\", \"architectures\": "
                "[\"Siglip2ForImageClassification\"]}",
                SIGLIP_ENOTSUP, "architectures[0] = \"Siglip2ForImageClassification\"");
    expect_fail("{\"model_type\": \"siglip2\", \"architectures\": [\"SiglipModel\"]}",
                SIGLIP_ENOTSUP, "for model_type \"siglip2\"");
    expect_fail("{\"model_type\": \"clip\"}", SIGLIP_ENOTSUP,
                "expected \"siglip\" or \"siglip2\"");
    /* SigLIP 2 fixed resolution: model_type "siglip" and no architectures → SiglipModel. */
    SgError err = {0};
    SgConfig cfg;
    if (parse("{\"model_type\": \"siglip\", \"text_config\": {\"vocab_size\": 256000}, "
              "\"vision_config\": {\"image_size\": 256}}", &cfg, &err, 0) == 0)
        CHECK(cfg.architecture == SIGLIP_ARCH_MODEL && cfg.text.vocab_size == 256000,
              "siglip2 fixed-resolution config is SiglipModel");
    sg_config_free(&cfg);
    expect_fail("{\"model_type\": \"siglip_vision_model\", \"hidden_size\": 768}", SIGLIP_ENOTSUP,
                "model_type \"siglip_vision_model\"");
    expect_fail("{\"model_type\": 1}", SIGLIP_EBADMSG, "model_type: expected a string");
}

/* Not JSON, not an object, or a section of the wrong kind. */
static void test_not_json(void)
{
    expect_fail("", SIGLIP_EBADMSG, "not valid JSON");
    expect_fail("{\n  \"text_config\": {\n    \"hidden_size\": 32,,\n  }\n}", SIGLIP_EBADMSG,
                "not valid JSON (line 3, column ");
    expect_fail("{\"text_config\": {}", SIGLIP_EBADMSG, "not valid JSON");
    expect_fail("{} {}", SIGLIP_EBADMSG, "not valid JSON (line 1, column 4)");
    expect_fail("[1, 2]", SIGLIP_EBADMSG, "config is an array, not a JSON object");
    expect_fail("\"siglip\"", SIGLIP_EBADMSG, "not a JSON object");
    expect_fail("{\"text_config\": \"small\"}", SIGLIP_EBADMSG,
                "text_config: expected an object, got a string");
    expect_fail("{\"vision_config\": [768]}", SIGLIP_EBADMSG,
                "vision_config: expected an object, got an array");

    /* The length is honoured: the text after `len` bytes is not read. */
    const char *json = "{\"text_config\": {}}garbage";
    SgConfig cfg;
    SgError err = {0};
    int rc = sg_config_parse(json, 19, &cfg, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    if (!rc)
        sg_config_free(&cfg);
}

/* Impossible or absurd sizes name the key and the value. */
static void test_bad_values(void)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"vision_config\": {\"num_attention_heads\": 0}}",
         "vision_config.num_attention_heads = 0: must be positive"},
        {"{\"text_config\": {\"num_attention_heads\": 0}}",
         "text_config.num_attention_heads = 0: must be positive"},
        {"{\"text_config\": {\"hidden_size\": -768}}",
         "text_config.hidden_size = -768: must be positive"},
        {"{\"text_config\": {\"num_hidden_layers\": 0}}",
         "text_config.num_hidden_layers = 0: must be positive"},
        {"{\"vision_config\": {\"patch_size\": 0}}",
         "vision_config.patch_size = 0: must be positive"},
        {"{\"vision_config\": {\"image_size\": -224}}",
         "vision_config.image_size = -224: must be positive"},
        {"{\"text_config\": {\"vocab_size\": 0}}", "text_config.vocab_size = 0: must be positive"},
        {"{\"text_config\": {\"pad_token_id\": -1}}",
         "text_config.pad_token_id = -1: must be at least 0"},
        {"{\"text_config\": {\"projection_size\": 0}}",
         "text_config.projection_size = 0: must be positive"},
        {"{\"vision_config\": {\"num_channels\": 0}}",
         "vision_config.num_channels = 0: must be positive"},
        {"{\"text_config\": {\"hidden_size\": 770}}",
         "text_config.hidden_size = 770 is not divisible by text_config.num_attention_heads = 12"},
        {"{\"vision_config\": {\"hidden_size\": 768, \"num_attention_heads\": 7}}",
         "vision_config.hidden_size = 768 is not divisible by vision_config.num_attention_heads = 7"},
        {"{\"vision_config\": {\"image_size\": 16, \"patch_size\": 32}}",
         "vision_config.patch_size = 32 is larger than vision_config.image_size = 16"},
        {"{\"text_config\": {\"hidden_size\": 767.5}}",
         "text_config.hidden_size = 767.5: must be an integer"},
        {"{\"text_config\": {\"hidden_size\": \"768\"}}",
         "text_config.hidden_size: expected an integer, got a string"},
        {"{\"text_config\": {\"hidden_size\": true}}",
         "text_config.hidden_size: expected an integer, got a boolean"},
        {"{\"text_config\": {\"hidden_size\": 2097152}}",
         "text_config.hidden_size = 2097152: larger than the supported"},
        {"{\"vision_config\": {\"intermediate_size\": 1e300}}",
         "vision_config.intermediate_size = 1.0000000000000001e+300: larger than"},
        {"{\"text_config\": {\"max_position_embeddings\": 1e999}}",
         "text_config.max_position_embeddings = inf: must be an integer"},
        {"{\"text_config\": {\"vocab_size\": 16777216, \"hidden_size\": 1024, "
         "\"num_attention_heads\": 16}}",
         "text_config: vocab_size × hidden_size = 17179869184 elements"},
        {"{\"vision_config\": {\"hidden_size\": 65536, \"num_attention_heads\": 16, "
         "\"intermediate_size\": 16}}",
         "vision_config: 3·hidden_size × hidden_size"},
        {"{\"vision_config\": {\"image_size\": 32768, \"patch_size\": 1}}",
         "vision_config: num_patches × hidden_size"},
        {"{\"text_config\": {\"layer_norm_eps\": 0}}",
         "text_config.layer_norm_eps = 0: must be in (0, 1]"},
        {"{\"vision_config\": {\"layer_norm_eps\": -1e-6}}", "vision_config.layer_norm_eps"},
        {"{\"vision_config\": {\"layer_norm_eps\": \"1e-6\"}}",
         "vision_config.layer_norm_eps: expected a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_fail(bad[i].json, SIGLIP_EBADMSG, bad[i].needle);
}

static void test_load_errors(void)
{
    SgConfig cfg;
    SgError err = {0};
    int rc = sg_config_load("/nonexistent/siglip-model", &cfg, &err);
    CHECK_STATUS(rc, SIGLIP_ENOENT, err.message);
    CHECK(strstr(err.message, "/nonexistent/siglip-model/config.json") != NULL,
          "missing config message: %s", err.message);
    /* A directory without config.json. */
    char *dir = sg_test_path("images");
    rc = sg_config_load(dir, &cfg, &err);
    CHECK_STATUS(rc, SIGLIP_ENOENT, err.message);
    CHECK(strstr(err.message, "config.json") != NULL, "message names config.json: %s",
          err.message);
    free(dir);
    /* A parse failure through sg_config_load names the file. */
    char tmpl[] = "/tmp/sg-test-config-XXXXXX";
    char *tmp = mkdtemp(tmpl);
    CHECK(tmp != NULL, "mkdtemp failed");
    if (tmp) {
        char *path = sg_path_join(tmp, "config.json");
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("{\"vision_config\": {\"patch_size\": 0}}", f);
            fclose(f);
        }
        rc = sg_config_load(tmp, &cfg, &err);
        CHECK_STATUS(rc, SIGLIP_EBADMSG, err.message);
        CHECK(strstr(err.message, path) && strstr(err.message, "vision_config.patch_size = 0"),
              "message names the file and key: %s", err.message);
        remove(path);
        rmdir(tmp);
        free(path);
    }
    rc = sg_config_parse(NULL, 0, &cfg, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
}

int main(void)
{
    test_tiny();
    test_tiny_cls();
    test_medium();
    test_minimal_defaults();
    test_projection_size();
    test_activations();
    test_labels();
    test_architectures();
    test_not_json();
    test_bad_values();
    test_load_errors();
    return sg_test_finish("test_config");
}
