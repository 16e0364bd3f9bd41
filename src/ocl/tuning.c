/* tuning.c — the built-in tuning table and the JSON override file. */
#include "ocl/tuning.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fileio.h"

/* A rule applies when every field that is set matches: type (0 = any), and case-insensitive
 * substrings of the vendor and of the device name (NULL = any). */
typedef struct SgTuningRule {
    SiglipDeviceType type;
    const char *vendor;
    const char *name;
    SgGemmPath gemm;
    int gemm_mr;
    SgAttentionPath attention;
    int layernorm_wg;
    const char *why;
} SgTuningRule;

/* Most specific first; the last rule matches every device.
 * CPU devices (PoCL, Intel's CPU runtime): CLBlast's kernels are tuned for GPUs and reach
 * 10–13 GFLOP/s under PoCL on a 2-core AVX-512 machine, where one work-item per 8×32 block of
 * the output, reading pre-packed weight panels, reaches 200–280 GFLOP/s (bench: siglip bench).
 * Their attention likewise runs one work-item per block of queries, and LayerNorm one work-item
 * per row, rather than work-groups sharing local memory and barriers, which a CPU device only
 * emulates (a 256-wide LayerNorm group took ~20 ms for 1568×768 under PoCL). */
static const SgTuningRule rules[] = {
    {SIGLIP_DEVICE_CPU, NULL, NULL, SG_GEMM_PANELS, 8, SG_ATTN_ROWS, 1, "cpu"},
    {SIGLIP_DEVICE_OTHER, NULL, NULL, SG_GEMM_CLBLAST, 8, SG_ATTN_TILED, 0, "default"},
};

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return n == 0;
}

static int rule_matches(const SgTuningRule *r, const SiglipDeviceInfo *info)
{
    return (r->type == SIGLIP_DEVICE_OTHER || r->type == info->type) &&
           (!r->vendor || contains_ci(info->vendor, r->vendor)) &&
           (!r->name || contains_ci(info->name, r->name));
}

const char *sg_gemm_path_name(SgGemmPath p)
{
    return p == SG_GEMM_PANELS ? "panels" : "clblast";
}

static int apply_override(const char *path, SgTuning *t, SgError *err)
{
    char *text = NULL;
    size_t size = 0;
    int rc = sg_read_file(path, 1 << 20, &text, &size, err);
    if (rc)
        return rc;
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s is not a JSON object", path);
    }
    const cJSON *gemm = cJSON_GetObjectItemCaseSensitive(root, "gemm");
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(root, "gemm_mr");
    const cJSON *attn = cJSON_GetObjectItemCaseSensitive(root, "attention");
    const cJSON *lnwg = cJSON_GetObjectItemCaseSensitive(root, "layernorm_wg");
    if (lnwg) {
        if (cJSON_IsNumber(lnwg) && lnwg->valuedouble >= 0 && lnwg->valuedouble <= 4096 &&
            lnwg->valuedouble == (int)lnwg->valuedouble)
            t->layernorm_wg = (int)lnwg->valuedouble;
        else
            rc = sg_fail(err, SIGLIP_EBADMSG,
                         "tuning file %s: \"layernorm_wg\" must be an integer from 0 to 4096",
                         path);
    }
    if (!rc && attn) {
        if (cJSON_IsString(attn) && !strcmp(attn->valuestring, "tiled"))
            t->attention = SG_ATTN_TILED;
        else if (cJSON_IsString(attn) && !strcmp(attn->valuestring, "rows"))
            t->attention = SG_ATTN_ROWS;
        else
            rc = sg_fail(err, SIGLIP_EBADMSG,
                         "tuning file %s: \"attention\" must be \"tiled\" or \"rows\"", path);
    }
    if (!rc && gemm) {
        if (cJSON_IsString(gemm) && !strcmp(gemm->valuestring, "clblast"))
            t->gemm = SG_GEMM_CLBLAST;
        else if (cJSON_IsString(gemm) && !strcmp(gemm->valuestring, "panels"))
            t->gemm = SG_GEMM_PANELS;
        else
            rc = sg_fail(err, SIGLIP_EBADMSG,
                         "tuning file %s: \"gemm\" must be \"clblast\" or \"panels\"", path);
    }
    if (!rc && mr) {
        if (cJSON_IsNumber(mr) && mr->valuedouble >= 1 && mr->valuedouble <= 16 &&
            mr->valuedouble == (int)mr->valuedouble)
            t->gemm_mr = (int)mr->valuedouble;
        else
            rc = sg_fail(err, SIGLIP_EBADMSG,
                         "tuning file %s: \"gemm_mr\" must be an integer from 1 to 16", path);
    }
    cJSON_Delete(root);
    t->rule = "file";
    return rc;
}

int sg_tuning_choose(const SiglipDeviceInfo *info, const char *override_file, SgTuning *out,
                     SgError *err)
{
    const SgTuningRule *r = &rules[sizeof rules / sizeof rules[0] - 1];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rule_matches(&rules[i], info)) {
            r = &rules[i];
            break;
        }
    out->gemm = r->gemm;
    out->gemm_mr = r->gemm_mr;
    out->attention = r->attention;
    out->layernorm_wg = r->layernorm_wg;
    out->rule = r->why;
    return override_file ? apply_override(override_file, out, err) : SIGLIP_OK;
}
