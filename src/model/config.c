/* config.c — config.json → SgConfig: SiglipConfig's defaults, architecture, labels, range checks. */
#include "model/config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/activation.h"

/* Larger config.json files are not configs. */
/* Largest element count accepted for any one weight, so that device code may index with int. */
#define CONFIG_MAX_ELEMENTS INT32_MAX
#define CONFIG_MAX_LABELS (1 << 20)

/* One integer key of a tower config: where it goes, its transformers default and its sane range. */
typedef struct IntKey {
    const char *key;
    size_t offset; /* of the int in SgTowerConfig */
    int fallback;
    int min, max;
} IntKey;

#define TOWER_INT(field) #field, offsetof(SgTowerConfig, field)

/* The keys both towers have, with the defaults SiglipTextConfig and SiglipVisionConfig share; the
 * limits keep every size product far from overflow. */
static const IntKey tower_keys[] = {
    {TOWER_INT(hidden_size), 768, 1, 1 << 16},
    {TOWER_INT(intermediate_size), 3072, 1, 1 << 18},
    {TOWER_INT(num_hidden_layers), 12, 1, 1 << 10},
    {TOWER_INT(num_attention_heads), 12, 1, 1 << 16},
};

/* SiglipTextConfig's own keys and defaults. */
static const IntKey text_keys[] = {
    {TOWER_INT(vocab_size), 32000, 1, 1 << 24},
    {TOWER_INT(max_position_embeddings), 64, 1, 1 << 16},
    {TOWER_INT(pad_token_id), 1, 0, 1 << 24},
};

/* SiglipVisionConfig's own keys and defaults. */
static const IntKey vision_keys[] = {
    {TOWER_INT(num_channels), 3, 1, 1 << 10},
    {TOWER_INT(image_size), 224, 1, 1 << 15},
    {TOWER_INT(patch_size), 16, 1, 1 << 15},
};


#define N_KEYS(a) (sizeof(a) / sizeof((a)[0]))

/* The key's value, or NULL when it is absent or JSON null (transformers treats both as "use the
 * default"). */
static const cJSON *get_present(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsNumber(v))
        return "a number";
    return "null";
}

/* *v = the key's value (NULL when absent or null, as get_present) when it is of the kind `is`
 * accepts; otherwise an error naming section.key (key alone when section is NULL). */
static int get_typed(const cJSON *obj, const char *section, const char *key,
                     cJSON_bool (*is)(const cJSON *), const char *kind, const cJSON **v,
                     SgError *err)
{
    *v = get_present(obj, key);
    if (*v && !is(*v))
        return sg_fail(err, SIGLIP_EBADMSG, "%s%s%s: expected %s, got %s", section ? section : "",
                       section ? "." : "", key, kind, json_kind(*v));
    return SIGLIP_OK;
}

/* Reads an integer in [min, max] into *out; `where` is the key path used in messages. */
static int read_int(const cJSON *v, const char *where, int min, int max, int *out, SgError *err)
{
    if (!cJSON_IsNumber(v))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: expected an integer, got %s", where,
                       json_kind(v));
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return sg_fail(err, SIGLIP_EBADMSG, "%s = %.17g: must be an integer", where, d);
    if (d < min) {
        if (min == 1)
            return sg_fail(err, SIGLIP_EBADMSG, "%s = %.17g: must be positive", where, d);
        return sg_fail(err, SIGLIP_EBADMSG, "%s = %.17g: must be at least %d", where, d, min);
    }
    if (d > max)
        return sg_fail(err, SIGLIP_EBADMSG, "%s = %.17g: larger than the supported %d", where, d,
                       max);
    *out = (int)d;
    return SIGLIP_OK;
}

static int read_int_keys(const cJSON *obj, const char *section, const IntKey *keys, size_t n,
                         SgTowerConfig *tower, SgError *err)
{
    for (size_t i = 0; i < n; i++) {
        int *dst = (int *)((char *)tower + keys[i].offset);
        *dst = keys[i].fallback;
        const cJSON *v = get_present(obj, keys[i].key);
        if (!v)
            continue;
        char where[128];
        snprintf(where, sizeof where, "%s.%s", section, keys[i].key);
        int rc = read_int(v, where, keys[i].min, keys[i].max, dst, err);
        if (rc)
            return rc;
    }
    return SIGLIP_OK;
}

/* hidden_act → SgActivation. The three tanh names are the same function in transformers. */
static int read_activation(const cJSON *obj, const char *section, SgActivation *act,
                           SgError *err)
{
    *act = SG_ACT_GELU_TANH;
    const cJSON *v;
    int rc = get_typed(obj, section, "hidden_act", cJSON_IsString, "a string", &v, err);
    if (rc || !v)
        return rc;
    /* transformers' ACT2FN names of the two GELUs: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), and
     * 0.5x(1 + erf(x/√2)) */
    static const char *const tanh_names[] = {"gelu_pytorch_tanh", "gelu_new", "gelu_fast",
                                             "gelu_python_tanh", "gelu_accurate"};
    static const char *const erf_names[] = {"gelu", "gelu_python"};
    for (size_t i = 0; i < N_KEYS(tanh_names); i++)
        if (strcmp(v->valuestring, tanh_names[i]) == 0)
            return SIGLIP_OK;
    for (size_t i = 0; i < N_KEYS(erf_names); i++)
        if (strcmp(v->valuestring, erf_names[i]) == 0) {
            *act = SG_ACT_GELU_ERF;
            return SIGLIP_OK;
        }
    return sg_fail(err, SIGLIP_ENOTSUP,
                   "%s.hidden_act = \"%s\" is not supported (the GELUs: gelu_pytorch_tanh, "
                   "gelu_new, gelu_fast, gelu_python_tanh, gelu_accurate; gelu, gelu_python)",
                   section, v->valuestring);
}

static int read_eps(const cJSON *obj, const char *section, float *eps, SgError *err)
{
    *eps = 1e-6f;
    const cJSON *v;
    int rc = get_typed(obj, section, "layer_norm_eps", cJSON_IsNumber, "a number", &v, err);
    if (rc || !v)
        return rc;
    double d = v->valuedouble;
    if (!(d > 0 && d <= 1))
        return sg_fail(err, SIGLIP_EBADMSG, "%s.layer_norm_eps = %g: must be in (0, 1]", section,
                       d);
    *eps = (float)d;
    return SIGLIP_OK;
}

/* a × b elements must fit CONFIG_MAX_ELEMENTS (each factor is already bounded, so no overflow). */
static int check_elements(const char *section, const char *what, int64_t a, int64_t b,
                          SgError *err)
{
    if (a * b <= CONFIG_MAX_ELEMENTS)
        return SIGLIP_OK;
    return sg_fail(err, SIGLIP_EBADMSG, "%s: %s = %lld elements, more than the supported %d",
                   section, what, (long long)(a * b), CONFIG_MAX_ELEMENTS);
}

static int check_divides(const char *section, const char *num_key, int num, const char *den_key,
                         int den, SgError *err)
{
    if (num % den == 0)
        return SIGLIP_OK;
    return sg_fail(err, SIGLIP_EBADMSG, "%s.%s = %d is not divisible by %s.%s = %d", section,
                   num_key, num, section, den_key, den);
}

/* Fetches text_config / vision_config: absent or null means all defaults (obj = NULL). */
static int get_section(const cJSON *root, const char *section, const cJSON **obj, SgError *err)
{
    return get_typed(root, NULL, section, cJSON_IsObject, "an object", obj, err);
}

static int parse_tower_common(const cJSON *obj, const char *section, const IntKey *keys, size_t n,
                              SgTowerConfig *t, SgError *err)
{
    int rc = read_int_keys(obj, section, tower_keys, N_KEYS(tower_keys), t, err);
    if (!rc)
        rc = read_int_keys(obj, section, keys, n, t, err);
    if (!rc)
        rc = read_activation(obj, section, &t->hidden_act, err);
    if (!rc)
        rc = read_eps(obj, section, &t->layer_norm_eps, err);
    if (!rc)
        rc = check_divides(section, "hidden_size", t->hidden_size, "num_attention_heads",
                           t->num_attention_heads, err);
    if (!rc)
        rc = check_elements(section, "intermediate_size × hidden_size", t->intermediate_size,
                            t->hidden_size, err);
    if (!rc) /* the vision head's in_proj [3D, D] is the largest square-ish weight */
        rc = check_elements(section, "3·hidden_size × hidden_size", 3 * (int64_t)t->hidden_size,
                            t->hidden_size, err);
    return rc;
}

/* Section `section` of root (its object in *obj) with the keys both towers have. */
static int parse_section(const cJSON *root, const char *section, const IntKey *keys, size_t n,
                         const cJSON **obj, SgTowerConfig *t, SgError *err)
{
    int rc = get_section(root, section, obj, err);
    return rc ? rc : parse_tower_common(*obj, section, keys, n, t, err);
}

static int parse_text(const cJSON *root, SgTowerConfig *t, SgError *err)
{
    static const char section[] = "text_config";
    const cJSON *obj;
    int rc = parse_section(root, section, text_keys, N_KEYS(text_keys), &obj, t, err);
    if (rc)
        return rc;
    t->projection_size = t->hidden_size;
    const cJSON *v = get_present(obj, "projection_size");
    if (v && (rc = read_int(v, "text_config.projection_size", 1, 1 << 16, &t->projection_size,
                            err)))
        return rc;
    rc = check_elements(section, "vocab_size × hidden_size", t->vocab_size, t->hidden_size, err);
    if (!rc)
        rc = check_elements(section, "projection_size × hidden_size", t->projection_size,
                            t->hidden_size, err);
    return rc;
}

/* Element counts of the vision tower's position table and patch embedding. */
static int check_vision_sizes(const char *section, const SgTowerConfig *t, SgError *err)
{
    int64_t patch_elements = (int64_t)t->num_channels * t->patch_size * t->patch_size;
    int rc = check_elements(section, "num_patches × hidden_size", t->num_patches, t->hidden_size,
                            err);
    if (!rc)
        rc = check_elements(section, "num_channels × patch_size² × hidden_size", patch_elements,
                            t->hidden_size, err);
    return rc;
}

/* vision_use_head: transformers' SiglipVisionTransformer builds the pooling head unless the vision
 * config says false (use_head = getattr(config, "vision_use_head", True)). */
static int read_use_head(const cJSON *obj, SgTowerConfig *t, SgError *err)
{
    const cJSON *v = get_present(obj, "vision_use_head");
    t->use_head = 1;
    if (v && !cJSON_IsBool(v))
        return sg_fail(err, SIGLIP_EBADMSG, "vision_config.vision_use_head: expected true or "
                       "false, got %s", json_kind(v));
    if (v)
        t->use_head = cJSON_IsTrue(v);
    return SIGLIP_OK;
}

static int parse_vision(const cJSON *root, SgTowerConfig *t, SgError *err)
{
    static const char section[] = "vision_config";
    const cJSON *obj;
    int rc = parse_section(root, section, vision_keys, N_KEYS(vision_keys), &obj, t, err);
    if (!rc)
        rc = read_use_head(obj, t, err);
    /* The patch embedding is a stride-p convolution without padding: floor(image_size / p)
     * patches per side, the remainder ignored (so400m-patch14-384: 27 × 14 = 378 of 384). */
    if (!rc && t->patch_size > t->image_size)
        rc = sg_fail(err, SIGLIP_EBADMSG, "%s.patch_size = %d is larger than %s.image_size = %d",
                     section, t->patch_size, section, t->image_size);
    if (rc)
        return rc;
    t->image_height = t->image_width = t->image_size;
    int64_t side = t->image_size / t->patch_size;
    t->num_patches = (int)(side * side);
    return check_vision_sizes(section, t, err);
}

/* Siglip2VisionConfig: the position table is a √num_patches square grid, resized per image. The
 * grid's own size (side · p) stands in for image_size where one is reported. */
static int parse_vision_naflex(const cJSON *root, SgTowerConfig *t, SgError *err)
{
    static const char section[] = "vision_config";
    const cJSON *obj;
    /* Siglip2VisionConfig has SiglipVisionConfig's keys (image_size unused) and num_patches. */
    int rc = parse_section(root, section, vision_keys, N_KEYS(vision_keys), &obj, t, err);
    if (!rc)
        rc = read_use_head(obj, t, err);
    t->num_patches = 256;
    const cJSON *v = rc ? NULL : get_present(obj, "num_patches");
    if (v)
        rc = read_int(v, "vision_config.num_patches", 1, 1 << 20, &t->num_patches, err);
    if (rc)
        return rc;
    int side = (int)sqrt((double)t->num_patches);
    while ((int64_t)side * side > t->num_patches)
        side--;
    while ((int64_t)(side + 1) * (side + 1) <= t->num_patches)
        side++;
    if ((int64_t)side * side != t->num_patches)
        return sg_fail(err, SIGLIP_EBADMSG, "%s.num_patches = %d is not a square (the position "
                       "grid is √num_patches × √num_patches)", section, t->num_patches);
    if ((int64_t)side * t->patch_size > (1 << 15))
        return sg_fail(err, SIGLIP_EBADMSG, "%s: position grid %d × patch_size %d is too large",
                       section, side, t->patch_size);
    t->image_size = t->image_height = t->image_width = side * t->patch_size;
    return check_vision_sizes(section, t, err);
}

/* model_type must be "siglip" (SiglipModel; SigLIP 2 fixed resolution too) or "siglip2"
 * (Siglip2Model: NaFlex) when given; single-tower configs and later families are refused. */
static int check_model_type(const cJSON *root, int *naflex, SgError *err)
{
    *naflex = 0;
    const cJSON *v;
    int rc = get_typed(root, NULL, "model_type", cJSON_IsString, "a string", &v, err);
    if (rc || !v)
        return rc;
    if (strcmp(v->valuestring, "siglip") == 0)
        return SIGLIP_OK;
    if (strcmp(v->valuestring, "siglip2") == 0) {
        *naflex = 1;
        return SIGLIP_OK;
    }
    return sg_fail(err, SIGLIP_ENOTSUP,
                   "model_type \"%s\" is not supported (expected \"siglip\" or \"siglip2\")",
                   v->valuestring);
}

/* SiglipForImageClassification → classification. SiglipModel, SiglipTextModel and
 * SiglipVisionModel (a SiglipConfig checkpoint whose tensors carry the tower prefixes) are
 * SiglipModel-shaped: the weight loader then finds which towers are present; for model_type
 * "siglip2" the same names with Siglip2, and Siglip2ForImageClassification. Anything
 * else is another model family. No `architectures` at all means SiglipModel. */
static int read_architecture(const cJSON *root, int naflex, SiglipArchitecture *arch,
                             int *vision_only, SgError *err)
{
    *arch = SIGLIP_ARCH_MODEL;
    *vision_only = 0;
    int towers = 0; /* bit 0: a model with a text tower named, bit 1: the vision model */
    const cJSON *list;
    int rc = get_typed(root, NULL, "architectures", cJSON_IsArray, "an array", &list, err);
    if (rc || !list)
        return rc;
    static const char *const model_shaped[2][3] = {
        {"SiglipModel", "SiglipTextModel", "SiglipVisionModel"},
        {"Siglip2Model", "Siglip2TextModel", "Siglip2VisionModel"}};
    int i = 0;
    for (const cJSON *v = list->child; v; v = v->next, i++) {
        if (!cJSON_IsString(v))
            return sg_fail(err, SIGLIP_EBADMSG, "architectures[%d]: expected a string, got %s", i,
                           json_kind(v));
        if (strcmp(v->valuestring, naflex ? "Siglip2ForImageClassification"
                                          : "SiglipForImageClassification") == 0) {
            *arch = SIGLIP_ARCH_IMAGE_CLASSIFICATION;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < N_KEYS(model_shaped[0]); k++)
            if (strcmp(v->valuestring, model_shaped[naflex][k]) == 0) {
                known = 1;
                towers |= k == 2 ? 2 : 1;
            }
        if (!known)
            return sg_fail(err, SIGLIP_ENOTSUP,
                           naflex ? "architectures[%d] = \"%s\" is not supported for model_type "
                                    "\"siglip2\" (Siglip2Model or Siglip2ForImageClassification)"
                                  : "architectures[%d] = \"%s\" is not supported (SiglipModel or "
                                    "SiglipForImageClassification)",
                           i, v->valuestring);
    }
    *vision_only = towers == 2 && *arch == SIGLIP_ARCH_MODEL;
    return SIGLIP_OK;
}

/* "17" → 17 when it is a decimal index below n (as Python int() reads it), else -1. */
static long label_index(const char *key, int n)
{
    if (!key[0] || strlen(key) > 9)
        return -1;
    long idx = 0;
    for (const char *p = key; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        idx = idx * 10 + (*p - '0');
    }
    return idx < n ? idx : -1;
}

static int read_id2label(const cJSON *map, SgConfig *cfg, SgError *err)
{
    if (!cJSON_IsObject(map))
        return sg_fail(err, SIGLIP_EBADMSG, "id2label: expected an object, got %s",
                       json_kind(map));
    int n = cJSON_GetArraySize(map);
    if (n <= 0 || n > CONFIG_MAX_LABELS)
        return sg_fail(err, SIGLIP_EBADMSG, "id2label has %d entries: expected 1 to %d", n,
                       CONFIG_MAX_LABELS);
    cfg->id2label = calloc((size_t)n, sizeof *cfg->id2label);
    if (!cfg->id2label)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %d labels", n);
    cfg->num_labels = n;
    for (const cJSON *v = map->child; v; v = v->next) {
        long idx = label_index(v->string, n);
        if (idx < 0)
            return sg_fail(err, SIGLIP_EBADMSG, "id2label key \"%s\" is not an index in 0..%d",
                           v->string, n - 1);
        if (cfg->id2label[idx])
            return sg_fail(err, SIGLIP_EBADMSG, "id2label key \"%s\" appears twice", v->string);
        if (!cJSON_IsString(v))
            return sg_fail(err, SIGLIP_EBADMSG, "id2label[\"%s\"]: expected a string, got %s",
                           v->string, json_kind(v));
        cfg->id2label[idx] = strdup(v->valuestring);
        if (!cfg->id2label[idx])
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for label %ld", idx);
    }
    return SIGLIP_OK;
}

/* Labels "LABEL_i", as PretrainedConfig makes them when only num_labels is known. */
static int default_labels(int n, SgConfig *cfg, SgError *err)
{
    cfg->id2label = calloc((size_t)n, sizeof *cfg->id2label);
    if (!cfg->id2label)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for %d labels", n);
    cfg->num_labels = n;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "LABEL_%d", i);
        if (!(cfg->id2label[i] = strdup(name)))
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for label %d", i);
    }
    return SIGLIP_OK;
}

/* Classification labels: id2label wins over num_labels (as in PretrainedConfig); with neither,
 * transformers' default of two labels. */
static int read_labels(const cJSON *root, SgConfig *cfg, SgError *err)
{
    const cJSON *map = get_present(root, "id2label");
    if (map)
        return read_id2label(map, cfg, err);
    int n = 2;
    const cJSON *v = get_present(root, "num_labels");
    int rc = v ? read_int(v, "num_labels", 1, CONFIG_MAX_LABELS, &n, err) : SIGLIP_OK;
    return rc ? rc : default_labels(n, cfg, err);
}

static int parse_root(const cJSON *root, SgConfig *cfg, SgError *err)
{
    if (!cJSON_IsObject(root))
        return sg_fail(err, SIGLIP_EBADMSG, "config is %s, not a JSON object", json_kind(root));
    int rc = check_model_type(root, &cfg->naflex, err);
    if (!rc)
        rc = read_architecture(root, cfg->naflex, &cfg->architecture, &cfg->vision_only, err);
    if (!rc)
        rc = parse_text(root, &cfg->text, err);
    if (!rc)
        rc = cfg->naflex ? parse_vision_naflex(root, &cfg->vision, err)
                         : parse_vision(root, &cfg->vision, err);
    if (rc || cfg->architecture != SIGLIP_ARCH_IMAGE_CLASSIFICATION)
        return rc;
    rc = read_labels(root, cfg, err);
    const cJSON *problem = rc ? NULL : get_present(root, "problem_type");
    if (problem && !cJSON_IsString(problem))
        rc = sg_fail(err, SIGLIP_EBADMSG, "problem_type: expected a string, got %s",
                     json_kind(problem));
    /* transformers' ImageClassificationPipeline.postprocess: sigmoid for multi-label
     * classification or one label, softmax otherwise */
    int multi_label = cJSON_IsString(problem) &&
                      !strcmp(problem->valuestring, "multi_label_classification");
    cfg->class_scoring = multi_label || cfg->num_labels == 1
                             ? SIGLIP_SCORE_SIGMOID
                             : SIGLIP_SCORE_SOFTMAX;
    if (!rc)
        rc = check_elements("config", "num_labels × vision_config.hidden_size", cfg->num_labels,
                            cfg->vision.hidden_size, err);
    return rc;
}

/* A parse failure with its line and column, from the position cJSON stopped at. */
static int json_syntax_error(const char *json, size_t len, const char *stop, SgError *err)
{
    size_t at = stop && stop >= json && stop <= json + len ? (size_t)(stop - json) : len;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at; i++) {
        if (json[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return sg_fail(err, SIGLIP_EBADMSG, "config is not valid JSON (line %zu, column %zu)", line,
                   col);
}

/* The first byte at or after p that is neither JSON whitespace nor a terminating NUL. */
static const char *skip_whitespace(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\0'))
        p++;
    return p;
}

int sg_config_parse(const char *json, size_t len, SgConfig *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    if (!json)
        return sg_fail(err, SIGLIP_EINVAL, "config text is NULL");
    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &stop, 0);
    if (!root)
        return json_syntax_error(json, len, stop, err);
    const char *trailing = stop ? skip_whitespace(stop, json + len) : json + len;
    if (trailing < json + len) {
        cJSON_Delete(root);
        return json_syntax_error(json, len, trailing, err);
    }
    SgConfig cfg = {0};
    int rc = parse_root(root, &cfg, err);
    cJSON_Delete(root);
    if (rc) {
        sg_config_free(&cfg);
        return rc;
    }
    *out = cfg;
    return SIGLIP_OK;
}

int sg_config_load(const char *dir, SgConfig *out, SgError *err)
{
    memset(out, 0, sizeof *out);
    char *path = sg_path_join(dir, "config.json");
    if (!path)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
    char *text = NULL;
    size_t size = 0;
    int rc = sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, err);
    if (!rc) {
        rc = sg_config_parse(text, size, out, err);
        if (rc)
            sg_error_prefix(err, "%s: ", path);
    }
    free(text);
    free(path);
    return rc;
}

void sg_config_free(SgConfig *cfg)
{
    if (!cfg)
        return;
    if (cfg->id2label)
        for (int i = 0; i < cfg->num_labels; i++)
            free(cfg->id2label[i]);
    free(cfg->id2label);
    memset(cfg, 0, sizeof *cfg);
}
