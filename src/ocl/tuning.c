/* tuning.c — the built-in tuning table and the JSON override file. */
#include "ocl/tuning.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include "common/fileio.h"
#include "common/text.h"

/* A rule applies when every field that is set matches: type (0 = any), and case-insensitive
 * substrings of the vendor and of the device name (NULL = any). */
typedef struct SgTuningRule {
    SiglipDeviceType type;
    const char *vendor;
    const char *name;
    SgGemmPath gemm;
    SgGemmBlock block;
    SgAttentionPath attention;
    int attn_qb;
    int layernorm_wg;
    const char *why;
} SgTuningRule;

/* Most specific first; the last rule matches every device.
 * CPU devices (PoCL, Intel's CPU runtime): CLBlast's kernels are tuned for GPUs and reach
 * 10–13 GFLOP/s under PoCL on a 2-core AVX-512 machine, where one work-item per 8×32 block of
 * the output, reading pre-packed weight panels, reaches 200–280 GFLOP/s (bench: siglip bench).
 * The block must fit the vector registers: 8×32 is 32 zmm-sized accumulators (as float8 pairs)
 * on AVX-512; on AVX2 (16 ymm) it spills, and SG_AVX2_BLOCK below was measured on an AMD EPYC
 * (Zen 4, AVX2 exposed, 2 cores) with `siglip tune` (README "CPU tuning").
 * PoCL names the LLVM CPU it compiles for in the device name ("pthread-haswell-...",
 * "cpu-skylake-avx512-..."), which is how the ISA is told apart.
 * Their attention likewise runs one work-item per block of queries, and LayerNorm one work-item
 * per row, rather than work-groups sharing local memory and barriers, which a CPU device only
 * emulates (a 256-wide LayerNorm group took ~20 ms for 1568×768 under PoCL). Its block of
 * queries holds 2·QB float8 accumulators: 4 queries fit AVX2's 16 registers next to the keys
 * (8 spilled: 31 ms per base image layer at batch 8 against 10.5 ms with 4, on the AMD EPYC),
 * 8 fit AVX-512's 32. */
#define SG_AVX512_BLOCK {8, 32, 1, 1}
/* CPU devices walk an x of more than 16 MiB (base at batch 32: 19–77 MB) in chunks of 512 KiB of
 * rows against every weight panel, rather than every panel against all of x: base's image layer
 * at batch 32 went from 638 to 582–584 ms (chunks of 1 or 4 row blocks) on the AMD EPYC, while
 * at batch 8, where x stays in the caches, the unchunked walk was faster (137 against 152 ms). */
#define SG_CPU_CHUNK_KIB 16384
#define SG_AVX2_BLOCK {4, 16, 1, 8}
/* q8 on CPU devices: integer dot products over 8 panels per work-item (issue 28,
 * docs/q8-integer.md has the measurements); other devices widen to f32. */
#define SG_CPU_Q8_NP 16
#define SG_CPU_AVX512(cpu) \
    {SIGLIP_DEVICE_CPU, NULL, cpu, SG_GEMM_PANELS, SG_AVX512_BLOCK, SG_ATTN_ROWS, 8, 1, "cpu-avx512"}
static const SgTuningRule rules[] = {
    SG_CPU_AVX512("avx512"),      SG_CPU_AVX512("cascadelake"), SG_CPU_AVX512("cooperlake"),
    SG_CPU_AVX512("icelake"),     SG_CPU_AVX512("tigerlake"),   SG_CPU_AVX512("rocketlake"),
    SG_CPU_AVX512("sapphirerapids"), SG_CPU_AVX512("graniterapids"),
    SG_CPU_AVX512("emeraldrapids"),  SG_CPU_AVX512("znver4"),   SG_CPU_AVX512("znver5"),
    {SIGLIP_DEVICE_CPU, NULL, NULL, SG_GEMM_PANELS, SG_AVX2_BLOCK, SG_ATTN_ROWS, 4, 1, "cpu-avx2"},
    {SIGLIP_DEVICE_OTHER, NULL, NULL, SG_GEMM_CLBLAST, {8, 32, 1, 1}, SG_ATTN_TILED, 4, 0, "default"},
};

/* What `siglip tune` tries on CPU devices: blocks whose MR·NR/8 accumulators + NR/8 weight
 * vectors + 1 broadcast fit 16 ymm registers (AVX2), and the larger ones that fit 32 (AVX-512),
 * with and without a 4-step k unroll, and 1 to 16 row blocks per work-item (PoCL spends
 * microseconds scheduling each work-group, which small blocks alone cannot amortize). */
static const SgGemmBlock cpu_candidates[] = {
    {4, 16, 1, 8}, {4, 24, 1, 8}, {6, 16, 1, 4}, {8, 32, 1, 1}, {4, 16, 1, 1}, {4, 16, 4, 8},
    {4, 16, 1, 16}, {4, 24, 1, 4}, {6, 16, 1, 8}, {8, 32, 1, 4}, {8, 16, 1, 4}, {3, 32, 1, 8},
};
/* GPUs use CLBlast unless a tuning file says "panels"; the panels' candidates are the same. */

/* Queries per attention_rows work-item: 2·QB float8 accumulators + 2 key vectors + 1 broadcast;
 * 2 and 4 fit 16 registers, 6 just does, 8 needs 32. */
static const int qb_candidates[] = {2, 4, 6, 8};

/* q8 forms: widening, or integer over 8 or 16 panels per work-item (x quantized once per 8·NR or
 * 16·NR columns: at 4 the quantizing cost a quarter more time than at 8 on the AMD EPYC). */
static const int q8_np_candidates[] = {0, 8, 16};

size_t sg_gemm_q8_candidates(const SiglipDeviceInfo *info, const int **out)
{
    (void)info;
    *out = q8_np_candidates;
    return sizeof q8_np_candidates / sizeof q8_np_candidates[0];
}

size_t sg_attention_qb_candidates(const SiglipDeviceInfo *info, const int **out)
{
    (void)info;
    *out = qb_candidates;
    return sizeof qb_candidates / sizeof qb_candidates[0];
}

const char *sg_attention_path_name(SgAttentionPath p)
{
    return p == SG_ATTN_ROWS ? "rows" : "tiled";
}

size_t sg_gemm_candidates(const SiglipDeviceInfo *info, const SgGemmBlock **out)
{
    (void)info;
    *out = cpu_candidates;
    return sizeof cpu_candidates / sizeof cpu_candidates[0];
}

static int rule_matches(const SgTuningRule *r, const SiglipDeviceInfo *info)
{
    return (r->type == SIGLIP_DEVICE_OTHER || r->type == info->type) &&
           (!r->vendor || sg_icontains(info->vendor, r->vendor)) &&
           (!r->name || sg_icontains(info->name, r->name));
}

const char *sg_gemm_path_name(SgGemmPath p)
{
    return p == SG_GEMM_PANELS ? "panels" : "clblast";
}

/* Key `key` of the override file as one of names[0..n): 1 with *out set, 0 when absent, a
 * negative status (naming the file and the choices) when it is something else. */
static int choice_key(const cJSON *root, const char *path, const char *key,
                      const char *const *names, int n, int *out, SgError *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item)
        return 0;
    for (int i = 0; i < n && cJSON_IsString(item); i++)
        if (!strcmp(item->valuestring, names[i])) {
            *out = i;
            return 1;
        }
    return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"%s\" must be \"%s\" or \"%s\"",
                   path, key, names[0], names[1]);
}

/* Key `key` as an integer in [lo, hi]: 1 with *out set, 0 when absent, negative when invalid. */
static int int_key(const cJSON *root, const char *path, const char *key, int lo, int hi,
                   int *out, SgError *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item)
        return 0;
    if (cJSON_IsNumber(item) && item->valuedouble >= lo && item->valuedouble <= hi &&
        item->valuedouble == (int)item->valuedouble) {
        *out = (int)item->valuedouble;
        return 1;
    }
    return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"%s\" must be an integer from %d to %d",
                   path, key, lo, hi);
}

/* The JSON text of the file at path parsed into *root (NULL when it does not parse). */
static int read_json(const char *path, cJSON **root, SgError *err)
{
    char *text = NULL;
    size_t size = 0;
    int rc = sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, err);
    if (rc == SIGLIP_OK)
        *root = cJSON_ParseWithLength(text, size);
    free(text);
    return rc;
}

int sg_tuning_apply_file(const char *path, const char *rule, SgTuning *t, SgError *err)
{
    cJSON *root = NULL;
    int rc = read_json(path, &root, err);
    if (rc)
        return rc;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s is not a JSON object", path);
    }
    static const char *const gemm_names[] = {[SG_GEMM_CLBLAST] = "clblast",
                                             [SG_GEMM_PANELS] = "panels"};
    static const char *const attn_names[] = {[SG_ATTN_TILED] = "tiled", [SG_ATTN_ROWS] = "rows"};
    int v;
    if ((rc = choice_key(root, path, "gemm", gemm_names, 2, &v, err)) == 1)
        t->gemm = (SgGemmPath)v;
    if (rc >= 0 && (rc = choice_key(root, path, "attention", attn_names, 2, &v, err)) == 1)
        t->attention = (SgAttentionPath)v;
    if (rc >= 0 && (rc = int_key(root, path, "gemm_mr", 1, 16, &v, err)) == 1)
        t->gemm_mr = v;
    if (rc >= 0 && (rc = int_key(root, path, "gemm_nr", 8, 64, &v, err)) == 1) {
        if (v % 8)
            rc = sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"gemm_nr\" must be a multiple "
                         "of 8", path);
        t->gemm_nr = v;
    }
    if (rc >= 0 && (rc = int_key(root, path, "gemm_ku", 1, 16, &v, err)) == 1)
        t->gemm_ku = v;
    if (rc >= 0 && (rc = int_key(root, path, "gemm_mb", 1, 64, &v, err)) == 1)
        t->gemm_mb = v;
    if (rc >= 0 && (rc = int_key(root, path, "gemm_chunk_kib", 0, 1 << 30, &v, err)) == 1)
        t->gemm_chunk_kib = v;
    if (rc >= 0 && (rc = int_key(root, path, "attention_qb", 1, 16, &v, err)) == 1)
        t->attn_qb = v;
    if (rc >= 0 && (rc = int_key(root, path, "attention_wg", 0, 4096, &v, err)) == 1)
        t->attn_wg = v;
    if (rc >= 0 && (rc = int_key(root, path, "attention_tile_k", 0, 1024, &v, err)) == 1)
        t->attn_tile_k = v;
    if (rc >= 0 && (rc = int_key(root, path, "layernorm_wg", 0, 4096, &v, err)) == 1)
        t->layernorm_wg = v;
    if (rc >= 0 && (rc = int_key(root, path, "gemm_q8_np", 0, SG_Q8_NP_MAX, &v, err)) == 1)
        t->gemm_q8_np = v;
    rc = rc < 0 ? rc : SIGLIP_OK;
    cJSON_Delete(root);
    t->rule = rule;
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
    out->gemm_mr = r->block.mr;
    out->gemm_nr = r->block.nr;
    out->gemm_ku = r->block.ku;
    out->gemm_mb = r->block.mb;
    out->gemm_chunk_kib = r->type == SIGLIP_DEVICE_CPU ? SG_CPU_CHUNK_KIB : 0;
    out->attention = r->attention;
    out->attn_qb = r->attn_qb;
    out->attn_wg = 0, out->attn_tile_k = 0; /* fitted to the device */
    out->layernorm_wg = r->layernorm_wg;
    out->gemm_q8_np = r->type == SIGLIP_DEVICE_CPU ? SG_CPU_Q8_NP : 0;
    out->rule = r->why;
#ifndef SG_HAVE_CLBLAST
    out->gemm = SG_GEMM_PANELS; /* the only GEMM of a build without CLBlast */
#endif
    int rc = override_file ? sg_tuning_apply_file(override_file, "file", out, err) : SIGLIP_OK;
#ifndef SG_HAVE_CLBLAST
    if (rc == SIGLIP_OK && out->gemm == SG_GEMM_CLBLAST)
        rc = sg_fail(err, SIGLIP_ENOTSUP, "tuning file %s asks for the CLBlast GEMM, but this "
                     "build has no CLBlast (meson option clblast)", override_file);
#endif
    return rc;
}

/* ---- stored results ---- */

void sg_tuning_file_name(const SiglipDeviceInfo *info, char *buf, size_t size)
{
    /* FNV-1a over the three strings, each with its terminator. */
    const char *parts[] = {info->name, info->driver_version, siglip_version_string()};
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < 3; i++)
        for (const char *c = parts[i];; c++) {
            h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
            if (!*c)
                break;
        }
    snprintf(buf, size, "tuning-%016llx.json", (unsigned long long)h);
}

int sg_tuning_save(const char *path, const SiglipDeviceInfo *info, const SgTuning *t,
                   const char *measured_json, SgError *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", 1);
    cJSON_AddStringToObject(root, "device", info->name);
    cJSON_AddStringToObject(root, "driver", info->driver_version);
    cJSON_AddStringToObject(root, "library", siglip_version_string());
    cJSON_AddStringToObject(root, "gemm", sg_gemm_path_name(t->gemm));
    cJSON_AddNumberToObject(root, "gemm_mr", t->gemm_mr);
    cJSON_AddNumberToObject(root, "gemm_nr", t->gemm_nr);
    cJSON_AddNumberToObject(root, "gemm_ku", t->gemm_ku);
    cJSON_AddNumberToObject(root, "gemm_mb", t->gemm_mb);
    cJSON_AddNumberToObject(root, "gemm_chunk_kib", t->gemm_chunk_kib);
    cJSON_AddStringToObject(root, "attention", sg_attention_path_name(t->attention));
    cJSON_AddNumberToObject(root, "attention_qb", t->attn_qb);
    cJSON_AddNumberToObject(root, "attention_wg", t->attn_wg);
    cJSON_AddNumberToObject(root, "attention_tile_k", t->attn_tile_k);
    cJSON_AddNumberToObject(root, "layernorm_wg", t->layernorm_wg);
    cJSON_AddNumberToObject(root, "gemm_q8_np", t->gemm_q8_np);
    cJSON *measured = measured_json ? cJSON_Parse(measured_json) : NULL;
    if (measured)
        cJSON_AddItemToObject(root, "measured", measured);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory writing tuning file %s", path);
    /* Written whole to a temporary name, then renamed: a reader never sees half a file. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = f && fclose(f) == 0 && ok;
    free(text);
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return sg_fail(err, SIGLIP_EIO, "cannot write tuning file %s", path);
    }
    return SIGLIP_OK;
}

/* Whether string key `key` of root equals want. */
static int string_is(const cJSON *root, const char *key, const char *want)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsString(item) && !strcmp(item->valuestring, want);
}

int sg_tuning_load_stored(const char *path, const SiglipDeviceInfo *info, SgTuning *t,
                          SgError *err)
{
    cJSON *root = NULL;
    int rc = read_json(path, &root, err);
    if (rc)
        return rc;
    const char *why = !cJSON_IsObject(root) ? "is not a JSON object"
                    : !string_is(root, "device", info->name) ? "was made for another device"
                    : !string_is(root, "driver", info->driver_version)
                        ? "was made under another driver version"
                    : !string_is(root, "library", siglip_version_string())
                        ? "was made by another library version"
                        : NULL;
    cJSON_Delete(root);
    if (why)
        return sg_fail(err, SIGLIP_EBADMSG, "stored tuning %s %s", path, why);
    SgTuning tuned = *t;
    rc = sg_tuning_apply_file(path, "tuned", &tuned, err);
    if (rc == SIGLIP_OK)
        *t = tuned;
    return rc;
}
