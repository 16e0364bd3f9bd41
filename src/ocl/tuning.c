/* tuning.c — the knob table (every tuning knob's key, range, -D and tuner candidates), the built-in
 * per-device rules, the JSON override file and stored `siglip tune` results, all walking the table. */
#include "ocl/tuning.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <strings.h>

#include "common/fileio.h"
#include "common/text.h"
#include "common/version.h"

/* The names of the choice knobs' values, as files spell them. */
static const char *const gemm_names[] = {[SG_GEMM_CLBLAST] = "clblast", [SG_GEMM_PANELS] = "panels"};
static const char *const attn_names[] = {[SG_ATTN_TILED] = "tiled", [SG_ATTN_ROWS] = "rows"};
static const char *const q8_dot_names[] = {"vpmaddubsw", "vpdpbusd"};
_Static_assert(sizeof(SgGemmPath) == sizeof(int) && sizeof(SgAttentionPath) == sizeof(int),
               "choice knobs are read and written as int");

/* What `siglip tune` tries. The GEMM register blocks are columns of one list (candidate i is
 * mr[i]×nr[i], k unroll ku[i], mb[i] row blocks): on CPU devices, blocks whose MR·NR/8
 * accumulators + NR/8 weight vectors + 1 broadcast fit 16 ymm registers (AVX2), and the larger
 * ones that fit 32 (AVX-512), with and without a 4-step k unroll, and 1 to 16 row blocks per
 * work-item (PoCL spends microseconds scheduling each work-group, which small blocks alone cannot
 * amortize). The last candidate is CLBlast's GEMM, which GPUs and llvmpipe start from: the
 * tuner times it next to the panels everywhere, so a device the rules misjudge is set right by
 * measuring it. */
#define P SG_GEMM_PANELS
#define K SG_KNOB_KEEP
static const int cand_gemm[] = {P, P, P, P, P, P, P, P, P, P, P, P, SG_GEMM_CLBLAST};
static const int cand_mr[] = {4, 4, 6, 8, 4, 4, 4, 4, 6, 8, 8, 3, K};
static const int cand_nr[] = {16, 24, 16, 32, 16, 16, 16, 24, 16, 32, 16, 32, K};
static const int cand_ku[] = {1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1, K};
static const int cand_mb[] = {8, 8, 4, 1, 1, 8, 16, 4, 8, 4, 4, 8, K};
#undef P
#undef K
/* Walk order: never chunked, and x above 4, 16, 64 MiB walked in chunks. */
static const int cand_chunk[] = {0, 4096, 16384, 65536};
/* The tiled attention (its queries per work-item unused), and attention_rows with 2·QB float8
 * accumulators + 2 key vectors + 1 broadcast: 2 and 4 fit 16 registers, 6 just does, 8 needs 32. */
static const int cand_attention[] = {SG_ATTN_TILED, SG_ATTN_ROWS, SG_ATTN_ROWS, SG_ATTN_ROWS,
                                     SG_ATTN_ROWS};
static const int cand_qb[] = {SG_KNOB_KEEP, 2, 4, 6, 8};
/* q8's GEMM forms (issue 28, docs/q8-integer.md): widening, or integer dot products over 8 or 16
 * panels per work-item (x quantized once per 8·NR or 16·NR columns: at 4 the quantizing cost a
 * quarter more time than at 8 on the AMD EPYC), each with AVX2's vpmaddubsw + vpmaddwd or, where
 * the CPU has VNNI, vpdpbusd (sg_tuning_fit drops what the device cannot run, and duplicates go). */
static const int cand_q8_np[] = {0, 8, 16, 8, 16};
static const int cand_q8_dot[] = {0, 0, 0, 1, 1};

#define SG_CAND(a) a, sizeof a / sizeof a[0]
#define SG_FIELD(f) offsetof(SgTuning, f)
/* key, field, lo, hi, step, names, fit, program, -D, label, phase, candidates */
const SgKnob sg_knobs[] = {
    {"gemm", SG_FIELD(gemm), 0, 1, 1, gemm_names, 0, NULL, NULL, "", SG_TUNE_GEMM_BLOCK,
     SG_CAND(cand_gemm)},
    {"gemm_mr", SG_FIELD(gemm_mr), 1, 16, 1, NULL, 0, "gemm_packed", "MR", " mr",
     SG_TUNE_GEMM_BLOCK, SG_CAND(cand_mr)},
    {"gemm_nr", SG_FIELD(gemm_nr), 8, 64, 8, NULL, 0, "gemm_packed", "NR", " nr",
     SG_TUNE_GEMM_BLOCK, SG_CAND(cand_nr)},
    {"gemm_ku", SG_FIELD(gemm_ku), 1, 16, 1, NULL, 0, "gemm_packed", "KU", " ku",
     SG_TUNE_GEMM_BLOCK, SG_CAND(cand_ku)},
    {"gemm_mb", SG_FIELD(gemm_mb), 1, 64, 1, NULL, 0, "gemm_packed", "MB", " mb",
     SG_TUNE_GEMM_BLOCK, SG_CAND(cand_mb)},
    {"gemm_wg", SG_FIELD(gemm_wg), 0, 256, 1, NULL, 64, "gemm_packed", "SG_GEMM_WG", " wg",
     SG_TUNE_NONE, NULL, 0},
    {"gemm_chunk_kib", SG_FIELD(gemm_chunk_kib), 0, 1 << 30, 1, NULL, 0, NULL, NULL,
     ", chunk KiB ", SG_TUNE_GEMM_WALK, SG_CAND(cand_chunk)},
    {"attention", SG_FIELD(attention), 0, 1, 1, attn_names, 0, NULL, NULL, ", attention ",
     SG_TUNE_ATTENTION, SG_CAND(cand_attention)},
    {"attention_qb", SG_FIELD(attn_qb), 1, 16, 1, NULL, 4, "attention", "SG_ATTN_QB", " qb",
     SG_TUNE_ATTENTION, SG_CAND(cand_qb)},
    {"attention_wg", SG_FIELD(attn_wg), 0, 4096, 1, NULL, 64, NULL, NULL, " wg", SG_TUNE_NONE,
     NULL, 0},
    {"attention_tile_k", SG_FIELD(attn_tile_k), 0, 1024, 1, NULL, 32, "attention",
     "SG_ATTN_TILE_K", " tile", SG_TUNE_NONE, NULL, 0},
    {"layernorm_wg", SG_FIELD(layernorm_wg), 0, 4096, 1, NULL, 256, "layernorm", "SG_LN_WG",
     ", layernorm wg ", SG_TUNE_NONE, NULL, 0},
    {"gemm_q8_np", SG_FIELD(gemm_q8_np), 0, SG_Q8_NP_MAX, 1, NULL, 0, "gemm_packed", "SG_Q8_NP",
     ", q8 int panels ", SG_TUNE_Q8_FORM, SG_CAND(cand_q8_np)},
    {"gemm_q8_dot", SG_FIELD(gemm_q8_dot), 0, 1, 1, q8_dot_names, 0, "gemm_packed", "SG_Q8_DOT",
     " ", SG_TUNE_Q8_FORM, SG_CAND(cand_q8_dot)},
};
const size_t sg_knob_count = sizeof sg_knobs / sizeof sg_knobs[0];

int sg_knob_get(const SgTuning *t, const SgKnob *k)
{
    int v;
    memcpy(&v, (const char *)t + k->offset, sizeof v);
    return v;
}

void sg_knob_set(SgTuning *t, const SgKnob *k, int value)
{
    memcpy((char *)t + k->offset, &value, sizeof value);
}

static int knob_in_range(const SgKnob *k, int v)
{
    return v >= k->lo && v <= k->hi && v % k->step == 0;
}

const SgKnob *sg_tuning_out_of_range(const SgTuning *t)
{
    for (size_t i = 0; i < sg_knob_count; i++)
        if (!knob_in_range(&sg_knobs[i], sg_knob_get(t, &sg_knobs[i])))
            return &sg_knobs[i];
    return NULL;
}

void sg_tuning_fill_defaults(SgTuning *t)
{
    for (size_t i = 0; i < sg_knob_count; i++)
        if (sg_knobs[i].fit && sg_knob_get(t, &sg_knobs[i]) == 0)
            sg_knob_set(t, &sg_knobs[i], sg_knobs[i].fit);
}

void sg_tuning_defines(const SgTuning *t, const char *program, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sg_knob_count && n < size; i++)
        if (sg_knobs[i].program && !strcmp(sg_knobs[i].program, program))
            n += (size_t)snprintf(buf + n, size - n, "%s-D%s=%d", n ? " " : "",
                                  sg_knobs[i].define, sg_knob_get(t, &sg_knobs[i]));
}

void sg_tuning_describe(const SgTuning *t, SgTunePhase phase, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sg_knob_count && n < size; i++) {
        const SgKnob *k = &sg_knobs[i];
        if (phase != SG_TUNE_NONE && k->phase != phase)
            continue;
        int v = sg_knob_get(t, k);
        /* A phase's line starts at its first knob: without the separator before it. */
        const char *label = n ? k->label : k->label + strspn(k->label, ", ");
        if (k->names && knob_in_range(k, v))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", label, k->names[v - k->lo]);
        else
            n += (size_t)snprintf(buf + n, size - n, "%s%d", label, v);
    }
}

size_t sg_tune_candidates(SgTunePhase phase, const SgTuning *start, SgTuning *out, size_t max)
{
    size_t n_cand = 0, n = 0;
    SgTuning first = *start;
    for (size_t i = 0; i < sg_knob_count; i++)
        if (sg_knobs[i].phase == phase && sg_knobs[i].n_candidates > 0) {
            n_cand = sg_knobs[i].n_candidates > n_cand ? sg_knobs[i].n_candidates : n_cand;
            if (sg_knobs[i].n_candidates == 1)
                sg_knob_set(&first, &sg_knobs[i], sg_knobs[i].candidates[0]);
        }
    if (max > 0)
        out[n++] = first;
    for (size_t c = 0; c < n_cand && n < max; c++) {
        SgTuning t = first;
        for (size_t i = 0; i < sg_knob_count; i++) {
            const SgKnob *k = &sg_knobs[i];
            size_t j = k->n_candidates == 1 ? 0 : c;
            if (k->phase == phase && j < k->n_candidates && k->candidates[j] != SG_KNOB_KEEP)
                sg_knob_set(&t, k, k->candidates[j]);
        }
        int same = 1;
        for (size_t i = 0; i < sg_knob_count; i++)
            same &= sg_knob_get(&t, &sg_knobs[i]) == sg_knob_get(&first, &sg_knobs[i]);
        if (!same)
            out[n++] = t;
    }
    return n;
}

/* A rule applies when every field that is set matches: type (0 = any), and case-insensitive
 * substrings of the vendor and of the device name (NULL = any). Its values are a whole tuning,
 * the knobs left 0 fitted to the device (sg_knobs' fit). */
typedef struct SgTuningRule {
    SiglipDeviceType type;
    const char *vendor;
    const char *name;
    SgTuning values;
} SgTuningRule;

/* Most specific first; the last rule matches every device.
 * CPU devices (PoCL, Intel's CPU runtime): CLBlast's kernels are tuned for GPUs and reach
 * 10–13 GFLOP/s under PoCL on a 2-core AVX-512 machine, where one work-item per 8×32 block of
 * the output, reading pre-packed weight panels, reaches 200–280 GFLOP/s (bench: siglip bench).
 * The block must fit the vector registers: 8×32 is 32 zmm-sized accumulators (as float8 pairs)
 * on AVX-512; on AVX2 (16 ymm) it spills, and the AVX2 block below was measured on an AMD EPYC
 * (Zen 4, AVX2 exposed, 2 cores) with `siglip tune` (README "CPU tuning").
 * PoCL names the LLVM CPU it compiles for in the device name ("pthread-haswell-...",
 * "cpu-skylake-avx512-..."), which is how the ISA is told apart.
 * Their attention likewise runs one work-item per block of queries, and LayerNorm one work-item
 * per row, rather than work-groups sharing local memory and barriers, which a CPU device only
 * emulates (a 256-wide LayerNorm group took ~20 ms for 1568×768 under PoCL). Its block of
 * queries holds 2·QB float8 accumulators: 4 queries fit AVX2's 16 registers next to the keys
 * (8 spilled: 31 ms per base image layer at batch 8 against 10.5 ms with 4, on the AMD EPYC),
 * 8 fit AVX-512's 32.
 * CPU devices walk an x of more than 16 MiB (base at batch 32: 19–77 MB) in chunks of 512 KiB of
 * rows against every weight panel, rather than every panel against all of x: base's image layer
 * at batch 32 went from 638 to 582–584 ms (chunks of 1 or 4 row blocks) on the AMD EPYC, while
 * at batch 8, where x stays in the caches, the unchunked walk was faster (137 against 152 ms).
 * q8 on CPU devices multiplies in integers over 16 panels per work-item (issue 28,
 * docs/q8-integer.md), with vpdpbusd where the CPU has VNNI (gemm_q8_dot 1; sg_tuning_fit makes
 * it 0 elsewhere); other devices widen the weights to f32 (gemm_q8_np 0). */
#define SG_CPU_AVX512(cpu)                                                                  \
    {SIGLIP_DEVICE_CPU, NULL, cpu,                                                          \
     {.gemm = SG_GEMM_PANELS, .gemm_mr = 8, .gemm_nr = 32, .gemm_ku = 1, .gemm_mb = 1,      \
      .gemm_wg = 1, .gemm_chunk_kib = 16384, .attention = SG_ATTN_ROWS, .attn_qb = 8,       \
      .layernorm_wg = 1, .gemm_q8_np = 16, .gemm_q8_dot = 1, .rule = "cpu-avx512"}}
/* Mesa's llvmpipe (rusticl) is a CPU device that runs like a GPU: the work-items of a group are
 * the lanes of its vectors (8 at 256 bits), so the CPU rules' one work-item per block leaves
 * every lane but one idle and runs its loops lane by lane. It gets the GPU's attention and
 * LayerNorm work-groups, and gemm_packed with 8 work-items per group, one lane each: an f32 base
 * GEMM (200×768×768) ran 2.4 GFLOP/s so, against 0.23 for CLBlast's; the tiny model's towers
 * (batch 8) 90 / 114 ms against 134 / 210 ms with CLBlast (AMD EPYC, Mesa 22.3.6,
 * docs/devices.md). Blocks of 8×64 or 16×32 fell to 0.25 GFLOP/s there (past what its compiler
 * keeps in registers). The device name is how its driver tells itself apart, as CLBlast keys its
 * own tuning database. */
static const SgTuningRule rules[] = {
    {SIGLIP_DEVICE_CPU, NULL, "llvmpipe",
     {.gemm = SG_GEMM_PANELS, .gemm_mr = 8, .gemm_nr = 32, .gemm_ku = 1, .gemm_mb = 1,
      .gemm_wg = 8, .gemm_chunk_kib = 0, .attention = SG_ATTN_TILED, .attn_qb = 4,
      .layernorm_wg = 0, .rule = "cpu-lanes"}},
    SG_CPU_AVX512("avx512"),      SG_CPU_AVX512("cascadelake"), SG_CPU_AVX512("cooperlake"),
    SG_CPU_AVX512("icelake"),     SG_CPU_AVX512("tigerlake"),   SG_CPU_AVX512("rocketlake"),
    SG_CPU_AVX512("sapphirerapids"), SG_CPU_AVX512("graniterapids"),
    SG_CPU_AVX512("emeraldrapids"),  SG_CPU_AVX512("znver4"),   SG_CPU_AVX512("znver5"),
    {SIGLIP_DEVICE_CPU, NULL, NULL,
     {.gemm = SG_GEMM_PANELS, .gemm_mr = 4, .gemm_nr = 16, .gemm_ku = 1, .gemm_mb = 8,
      .gemm_wg = 1, .gemm_chunk_kib = 16384, .attention = SG_ATTN_ROWS, .attn_qb = 4,
      .layernorm_wg = 1, .gemm_q8_np = 16, .gemm_q8_dot = 1, .rule = "cpu-avx2"}},
    {SIGLIP_DEVICE_OTHER, NULL, NULL,
     {.gemm = SG_GEMM_CLBLAST, .gemm_mr = 8, .gemm_nr = 32, .gemm_ku = 1, .gemm_mb = 1,
      .gemm_chunk_kib = 0, .attention = SG_ATTN_TILED, .attn_qb = 4, .layernorm_wg = 0,
      .rule = "default"}},
};

const char *sg_attention_path_name(SgAttentionPath p)
{
    return p == SG_ATTN_ROWS ? attn_names[SG_ATTN_ROWS] : attn_names[SG_ATTN_TILED];
}

static int rule_matches(const SgTuningRule *r, const SiglipDeviceInfo *info)
{
    return (r->type == SIGLIP_DEVICE_OTHER || r->type == info->type) &&
           (!r->vendor || sg_icontains(info->vendor, r->vendor)) &&
           (!r->name || sg_icontains(info->name, r->name));
}

const char *sg_gemm_path_name(SgGemmPath p)
{
    return p == SG_GEMM_PANELS ? gemm_names[SG_GEMM_PANELS] : gemm_names[SG_GEMM_CLBLAST];
}

/* Knob k from the override file's object: 1 with *out set, 0 when absent, a negative status
 * (naming the file, the key and what it must be) when it is something else. */
static int knob_key(const cJSON *root, const char *path, const SgKnob *k, int *out, SgError *err)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, k->key);
    if (!item)
        return 0;
    for (int v = k->lo; k->names && v <= k->hi && cJSON_IsString(item); v++)
        if (!strcmp(item->valuestring, k->names[v - k->lo])) {
            *out = v;
            return 1;
        }
    if (k->names)
        return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"%s\" must be \"%s\" or \"%s\"",
                       path, k->key, k->names[0], k->names[k->hi - k->lo]);
    if (!cJSON_IsNumber(item) || !(item->valuedouble >= k->lo && item->valuedouble <= k->hi) ||
        item->valuedouble != (int)item->valuedouble)
        return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"%s\" must be an integer from %d "
                       "to %d", path, k->key, k->lo, k->hi);
    *out = (int)item->valuedouble;
    if (*out % k->step)
        return sg_fail(err, SIGLIP_EBADMSG, "tuning file %s: \"%s\" must be a multiple of %d",
                       path, k->key, k->step);
    return 1;
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
    int v = 0;
    for (size_t i = 0; i < sg_knob_count && rc >= 0; i++)
        if ((rc = knob_key(root, path, &sg_knobs[i], &v, err)) == 1)
            sg_knob_set(t, &sg_knobs[i], v);
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
    *out = r->values; /* attention_wg, attention_tile_k: 0, fitted to the device */
    out->table_rule = r->values.rule;
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
    const char *parts[] = {info->name, info->driver_version, SG_VERSION_STRING};
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
    cJSON_AddStringToObject(root, "library", SG_VERSION_STRING);
    for (size_t i = 0; i < sg_knob_count; i++) {
        const SgKnob *k = &sg_knobs[i];
        int v = sg_knob_get(t, k);
        if (k->names && knob_in_range(k, v))
            cJSON_AddStringToObject(root, k->key, k->names[v - k->lo]);
        else
            cJSON_AddNumberToObject(root, k->key, v);
    }
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
                    : !string_is(root, "library", SG_VERSION_STRING)
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
