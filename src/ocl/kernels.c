/* kernels.c — the kernel table, the tuning fitted to the device's limits, building every program of
 * cl/ once per device with its tuning as -D options, and launching kernels with checked arguments. */
#include "ocl/kernels.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "ocl/cl_sources.h"
#include "ocl/probe.h"

/* Which file (program) and function each kernel id is. */
typedef struct SgKernelEntry {
    const char *program;
    const char *function;
} SgKernelEntry;

static const SgKernelEntry sg_kernel_table[SG_K_COUNT] = {
    [SG_K_BIAS_ACT] = {"elementwise", "bias_act"},
    [SG_K_ADD_BROADCAST] = {"elementwise", "add_broadcast"},
    [SG_K_COPY_ROWS] = {"elementwise", "copy_rows"},
    [SG_K_EMBED_TOKENS] = {"embedding", "embed_tokens"},
    [SG_K_IM2COL] = {"embedding", "im2col"},
    [SG_K_MEAN_TOKENS] = {"reduce", "mean_tokens"},
    [SG_K_LAYERNORM] = {"layernorm", "layernorm"},
    [SG_K_LAYERNORM_Q8] = {"layernorm", "layernorm_q8"},
    [SG_K_ATTENTION] = {"attention", "attention"},
    [SG_K_GEMM_PANELS] = {"gemm_packed", "gemm_packed"},
    [SG_K_ATTENTION_ROWS] = {"attention", "attention_rows"},
    [SG_K_ATTENTION_PACK_K] = {"attention", "attention_pack_k"},
    [SG_K_SEGMENT_LAST_ROWS] = {"elementwise", "segment_last_rows"},
    [SG_K_GEMM_PANELS_BF16] = {"gemm_packed", "gemm_packed"},
    [SG_K_GEMM_PANELS_F16] = {"gemm_packed", "gemm_packed"},
    [SG_K_GEMM_PANELS_Q8] = {"gemm_packed", "gemm_packed"},
    [SG_K_Q8_QUANTIZE_ROWS] = {"gemm_packed", "q8_quantize_rows"},
    [SG_K_LOOP_BUDGET] = {"probe", "loop_budget"},
};

/* Kernels of the table that kernels_build leaves to sg_kernels_require_weight. */
static int built_on_use(SgKernelId id)
{
    return id >= SG_K_GEMM_PANELS_BF16 && id <= SG_K_Q8_QUANTIZE_ROWS;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sg_tuning_fit(const SiglipDeviceInfo *info, SgTuning *t)
{
    sg_tuning_fill_defaults(t); /* the knobs left 0: sg_knobs' fitted defaults */
    size_t wg = info->max_work_group_size ? info->max_work_group_size : 1;
    size_t ln = (size_t)t->layernorm_wg;
    t->layernorm_wg = (int)sg_pow2_floor(wg < ln ? wg : ln);
    size_t gw = (size_t)t->gemm_wg;
    t->gemm_wg = (int)(wg < gw ? wg : gw);
    size_t aw = (size_t)t->attn_wg;
    t->attn_wg = (int)(wg < aw ? wg : aw);
    /* The K and V tiles (tile_k × dh floats each, dh up to SG_ATTN_MAX_DH) plus the tile's mask
     * must leave a quarter of the local memory free; the scores of a tile live in private
     * memory, so tiles stay small. */
    size_t tile = (size_t)t->attn_tile_k;
    while (tile > 1 && (2 * tile * SG_ATTN_MAX_DH + tile) * sizeof(float) >
                           info->local_mem_bytes / 4 * 3)
        tile /= 2;
    t->attn_tile_k = (int)tile;
    /* q8's integer form: only where the compiler builds its int8 multiply-adds (elsewhere LLVM
     * makes scalar code of the portable form, which llvmpipe took over 10 minutes to compile for
     * an 8×32 block), with the most panels per work-item (up to the asked number) whose
     * accumulators fit SG_Q8_PRIVATE_MAX; none fitting is the widening form. */
    if (!info->has_int8_dot)
        t->gemm_q8_np = 0;
    size_t rows = (size_t)t->gemm_mb * (size_t)t->gemm_mr;
    while (t->gemm_q8_np > 0 &&
           rows * (size_t)t->gemm_q8_np * (size_t)t->gemm_nr * 4 > SG_Q8_PRIVATE_MAX)
        t->gemm_q8_np--;
    /* vpdpbusd: only where the CPU has it, and only in the integer form. */
    if (!info->has_vnni || t->gemm_q8_np == 0)
        t->gemm_q8_dot = 0;
}

size_t sg_tune_candidates_fitted(const SiglipDeviceInfo *info, SgTunePhase phase,
                                 const SgTuning *start, SgTuning *out, size_t max)
{
    size_t n = sg_tune_candidates(phase, start, out, max), kept = 0;
    for (size_t i = 0; i < n; i++) {
        SgTuning fi = out[i];
        sg_tuning_fit(info, &fi);
        int dup = 0;
        for (size_t j = 0; j < kept && !dup; j++) {
            SgTuning fj = out[j];
            sg_tuning_fit(info, &fj);
            dup = 1;
            for (size_t k = 0; k < sg_knob_count; k++)
                dup &= sg_knob_get(&fi, &sg_knobs[k]) == sg_knob_get(&fj, &sg_knobs[k]);
        }
        if (!dup)
            out[kept++] = out[i];
    }
    return kept;
}

static void kernels_free(SgKernels **pk)
{
    if (!pk || !*pk)
        return;
    SgKernels *k = *pk;
    for (int i = 0; i < SG_K_COUNT; i++)
        if (k->kernel[i])
            clReleaseKernel(k->kernel[i]);
    for (size_t i = 0; i < k->n_programs; i++)
        sg_program_free(&k->programs[i]);
    for (size_t i = 0; i < SG_ELEM_COUNT; i++)
        sg_program_free(&k->weight_programs[i]);
    free(k->programs);
    free(k->cache_dir);
    free(k);
    *pk = NULL;
}

const SgClSource *sg_cl_source_find(const char *name, size_t *index)
{
    for (size_t i = 0; i < sg_cl_source_count; i++)
        if (!strcmp(sg_cl_sources[i].name, name)) {
            *index = i;
            return &sg_cl_sources[i];
        }
    return NULL;
}

static int create_kernel_in(SgDevice *dev, SgKernels *k, SgKernelId id, cl_program program,
                            SgError *err)
{
    const SgKernelEntry *e = &sg_kernel_table[id];
    cl_int st;
    k->kernel[id] = clCreateKernel(program, e->function, &st);
    if (st != CL_SUCCESS) {
        int rc = sg_cl_fail(err, st, "clCreateKernel");
        sg_error_prefix(err, "kernel %s of cl/%s.cl: ", e->function, e->program);
        return rc;
    }
    size_t wg = 0;
    st = clGetKernelWorkGroupInfo(k->kernel[id], dev->device, CL_KERNEL_WORK_GROUP_SIZE,
                                  sizeof wg, &wg, NULL);
    k->max_wg[id] = st == CL_SUCCESS && wg > 0 ? wg : 1;
    return SIGLIP_OK;
}

static int create_kernel(SgDevice *dev, SgKernels *k, SgKernelId id, SgError *err)
{
    const SgKernelEntry *e = &sg_kernel_table[id];
    size_t i;
    if (!sg_cl_source_find(e->program, &i) || i >= k->n_programs)
        return sg_fail(err, SIGLIP_EBUILD, "kernel %s: cl/%s.cl is not among the embedded sources",
                       e->function, e->program);
    return create_kernel_in(dev, k, id, k->programs[i].program, err);
}

static void program_options(const SiglipDeviceInfo *info, const SgTuning *t, size_t i, char *buf,
                            size_t size);

void sg_weight_program_options(const SiglipDeviceInfo *info, const SgTuning *t, SgElemType type,
                               char *buf, size_t size)
{
    /* The f32 program's options (its GEMM block: the panel width the weights are packed with)
     * plus the storage type, and q8's chunk of inputs (its form, SG_Q8_NP, is a knob). */
    size_t i = 0;
    char block[SG_PROGRAM_OPTIONS_MAX];
    block[0] = '\0';
    if (sg_cl_source_find(sg_kernel_table[SG_K_GEMM_PANELS].program, &i))
        program_options(info, t, i, block, sizeof block);
    snprintf(buf, size, "%s -DSG_WEIGHT=%d -DSG_Q8_KC=%d", block, (int)type, SG_Q8_KC);
}

int sg_kernels_require_weight(SgDevice *dev, SgElemType t, SgError *err)
{
    SgKernels *k = dev->kernels;
    SgKernelId id = sg_gemm_kernel(t);
    if (k->kernel[id])
        return SIGLIP_OK;
    size_t i;
    const SgClSource *cl = sg_cl_source_find(sg_kernel_table[id].program, &i);
    if (!cl)
        return sg_fail(err, SIGLIP_EBUILD, "cl/gemm_packed.cl is not among the embedded sources");
    char options[SG_WEIGHT_OPTIONS_MAX];
    sg_weight_program_options(&dev->info, &dev->tuning, t, options, sizeof options);
    SgProgramSource src = {cl->name, cl->source, cl->length, options, k->cache_dir};
    int rc = sg_program_build(dev, &src, &k->weight_programs[t], err);
    if (rc == SIGLIP_OK)
        rc = create_kernel_in(dev, k, id, k->weight_programs[t].program, err);
    if (rc == SIGLIP_OK && t == SG_ELEM_I8)
        rc = create_kernel_in(dev, k, SG_K_Q8_QUANTIZE_ROWS, k->weight_programs[t].program, err);
    return rc;
}

/* Limits the host and a program of cl/ share, passed as -D after the program's knobs. */
static const struct {
    const char *program, *define;
    int value;
} program_limits[] = {
    {"attention", "SG_ATTN_MAX_DH", SG_ATTN_MAX_DH},
    {"attention", "SG_ATTN_MAX_TK", SG_ATTN_MAX_TK},
};

/* The device's features a program of cl/ reads, as -D (cl/fma.h: SG_HAS_FMA; cl/gemm_packed.cl:
 * SG_X86_VNNI, which VNNI encoding). */
static const struct {
    const char *program, *define;
    size_t offset; /* of the int32_t value in SiglipDeviceInfo */
} program_features[] = {
    {"attention", "SG_HAS_FMA", offsetof(SiglipDeviceInfo, has_fma)},
    {"gemm_packed", "SG_HAS_FMA", offsetof(SiglipDeviceInfo, has_fma)},
    {"gemm_packed", "SG_X86_VNNI", offsetof(SiglipDeviceInfo, has_vnni)},
    {"layernorm", "SG_HAS_FMA", offsetof(SiglipDeviceInfo, has_fma)},
};

/* The -D options of program i: the knobs of sg_knobs that reach it, from the tuning t, then the
 * limits it is built for and the features of the device (info) it reads. Each program gets only
 * the values its own source reads, so that retuning one op leaves every other program's binary
 * (and cache entry) as it is. */
static void program_options(const SiglipDeviceInfo *info, const SgTuning *t, size_t i, char *buf,
                            size_t size)
{
    const char *name = sg_cl_sources[i].name;
    sg_tuning_defines(t, name, buf, size);
    for (size_t l = 0; l < sizeof program_limits / sizeof program_limits[0]; l++) {
        size_t n = strlen(buf);
        if (!strcmp(program_limits[l].program, name))
            snprintf(buf + n, size - n, "%s-D%s=%d", n ? " " : "", program_limits[l].define,
                     program_limits[l].value);
    }
    for (size_t f = 0; f < sizeof program_features / sizeof program_features[0]; f++) {
        size_t n = strlen(buf);
        int32_t value;
        memcpy(&value, (const char *)info + program_features[f].offset, sizeof value);
        if (!strcmp(program_features[f].program, name))
            snprintf(buf + n, size - n, "%s-D%s=%d", n ? " " : "", program_features[f].define,
                     (int)value);
    }
}

/* (Re)builds program i, and every kernel of the table that lives in it. */
static int build_program(SgDevice *dev, SgKernels *k, size_t i, const char *cache_dir,
                         SgError *err)
{
    const SgClSource *cl = &sg_cl_sources[i];
    char options[SG_PROGRAM_OPTIONS_MAX];
    program_options(&dev->info, &dev->tuning, i, options, sizeof options);
    SgProgram fresh = {0};
    SgProgramSource src = {cl->name, cl->source, cl->length, options, cache_dir};
    int rc = sg_program_build(dev, &src, &fresh, err);
    if (rc != SIGLIP_OK)
        return rc;
    /* Every kernel of this program goes, the reduced-precision GEMMs too: they were built with
     * the old options and are built again on their next use. */
    for (int id = 0; id < SG_K_COUNT; id++)
        if (k->kernel[id] && !strcmp(sg_kernel_table[id].program, cl->name)) {
            clReleaseKernel(k->kernel[id]);
            k->kernel[id] = NULL;
        }
    if (!strcmp(cl->name, "gemm_packed"))
        for (size_t t = 0; t < SG_ELEM_COUNT; t++)
            sg_program_free(&k->weight_programs[t]);
    sg_program_free(&k->programs[i]);
    k->programs[i] = fresh;
    for (int id = 0; id < SG_K_COUNT && rc == SIGLIP_OK; id++)
        if (!built_on_use((SgKernelId)id) && !strcmp(sg_kernel_table[id].program, cl->name))
            rc = create_kernel(dev, k, (SgKernelId)id, err);
    return rc;
}

/* Builds every program of sg_cl_sources and creates every kernel of the table into dev->kernels. */
static int kernels_build(SgDevice *dev, const char *cache_dir, SgError *err)
{
    SgKernels *k = calloc(1, sizeof *k);
    if (k)
        k->programs = calloc(sg_cl_source_count + 1, sizeof *k->programs);
    if (!k || !k->programs) {
        kernels_free(&k);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while building kernels");
    }
    sg_tuning_fit(&dev->info, &dev->tuning);

    double start = now_seconds();
    int all_cached = 1, rc = SIGLIP_OK;
    for (size_t i = 0; i < sg_cl_source_count && rc == SIGLIP_OK; i++) {
        k->n_programs = i + 1;
        rc = build_program(dev, k, i, cache_dir, err);
        all_cached &= k->programs[i].from_cache;
    }
    if (rc == SIGLIP_OK && cache_dir && !(k->cache_dir = strdup(cache_dir)))
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory while building kernels");
    if (rc != SIGLIP_OK) {
        kernels_free(&k);
        return rc;
    }
    k->build_seconds = now_seconds() - start;
    k->from_cache = all_cached;
    dev->kernels = k;
    return SIGLIP_OK;
}

int sg_device_retune(SgDevice *dev, const SgTuning *want, const char *cache_dir, SgError *err)
{
    SgTuning t = *want;
    const SgKnob *bad = sg_tuning_out_of_range(&t);
    if (bad)
        return sg_fail(err, SIGLIP_EINVAL, "tuning: %s %d is out of range (%d to %d, a multiple "
                       "of %d)", bad->key, sg_knob_get(&t, bad), bad->lo, bad->hi, bad->step);
    sg_tuning_fit(&dev->info, &t);
    SgTuning before = dev->tuning;
    SgKernels *k = dev->kernels;
    int rc = SIGLIP_OK;
    size_t i = 0;
    for (; i < k->n_programs && rc == SIGLIP_OK; i++) {
        char old_opt[SG_PROGRAM_OPTIONS_MAX], new_opt[SG_PROGRAM_OPTIONS_MAX];
        program_options(&dev->info, &before, i, old_opt, sizeof old_opt);
        program_options(&dev->info, &t, i, new_opt, sizeof new_opt);
        if (strcmp(old_opt, new_opt) != 0) {
            dev->tuning = t;
            rc = build_program(dev, k, i, cache_dir, err);
        }
    }
    dev->tuning = t;
    if (rc != SIGLIP_OK) {
        /* Back to the previous tuning: the programs rebuilt so far are rebuilt as they were
         * (from the cache, where there is one); the failed one is still the old program. */
        dev->tuning = before;
        for (size_t j = 0; j + 1 < i; j++) {
            char old_opt[SG_PROGRAM_OPTIONS_MAX], new_opt[SG_PROGRAM_OPTIONS_MAX];
            program_options(&dev->info, &before, j, old_opt, sizeof old_opt);
            program_options(&dev->info, &t, j, new_opt, sizeof new_opt);
            SgError ignored = {0};
            if (strcmp(old_opt, new_opt) != 0)
                (void)build_program(dev, k, j, cache_dir, &ignored);
        }
    }
    return rc;
}

/* A stored `siglip tune` result in cache_dir applies unless a tuning file was given. It is the
 * library's own cache, so one that cannot be used is ignored with the reason kept (the built-in
 * table still works), while a bad tuning file the user named is an error. */
static void apply_stored_tuning(SgDevice *dev, const char *cache_dir)
{
    char name[64];
    sg_tuning_file_name(&dev->info, name, sizeof name);
    snprintf(dev->tuning_path, sizeof dev->tuning_path, "%s/%s", cache_dir, name);
    if (!sg_file_exists(dev->tuning_path))
        return;
    SgError why = {0};
    if (sg_tuning_load_stored(dev->tuning_path, &dev->info, &dev->tuning, &why) != SIGLIP_OK)
        snprintf(dev->tuning_note, sizeof dev->tuning_note, "ignored: %s", why.message);
}

void sg_device_limits_apply(SiglipDeviceInfo *info, const SiglipDeviceLimits *limits)
{
    if (!limits)
        return;
    if (limits->max_work_group_size && limits->max_work_group_size < info->max_work_group_size)
        info->max_work_group_size = limits->max_work_group_size;
    if (limits->max_local_mem_bytes && limits->max_local_mem_bytes < info->local_mem_bytes)
        info->local_mem_bytes = limits->max_local_mem_bytes;
    if (limits->no_fp16)
        info->has_fp16 = 0;
    if (limits->no_fp64)
        info->has_fp64 = 0;
}

int sg_device_open(SgDevice **out, const char *spec, const char *cache_dir,
                   const char *tuning_file, SgError *err)
{
    return sg_device_open_limited(out, spec, cache_dir, tuning_file, NULL, err);
}

int sg_device_open_limited(SgDevice **out, const char *spec, const char *cache_dir,
                           const char *tuning_file, const SiglipDeviceLimits *limits,
                           SgError *err)
{
    int rc = sg_device_create(out, spec, tuning_file, err);
    /* Before anything is fitted or built: the capped limits are the device's from here on. */
    if (rc == SIGLIP_OK)
        sg_device_limits_apply(&(*out)->info, limits);
    if (rc == SIGLIP_OK && !tuning_file && cache_dir)
        apply_stored_tuning(*out, cache_dir);
    if (rc == SIGLIP_OK) /* before the fit: q8's integer form needs it */
        sg_probe_int8_dot(*out, cache_dir);
    if (rc == SIGLIP_OK && (rc = kernels_build(*out, cache_dir, err)) != SIGLIP_OK)
        sg_device_destroy(out); /* the build's messages name the device and the file */
    if (rc == SIGLIP_OK && (rc = sg_probe_loop_budget(*out, err)) != SIGLIP_OK)
        sg_device_close(out);
    return rc;
}

void sg_device_close(SgDevice **dev)
{
    if (!dev || !*dev)
        return;
    if ((*dev)->queue)
        clFinish((*dev)->queue);
    kernels_free(&(*dev)->kernels);
    sg_device_destroy(dev);
}

const char *sg_kernels_build_log(const SgDevice *dev, size_t i, const char **name)
{
    static const char *const weight_names[SG_ELEM_COUNT] = {
        [SG_ELEM_BF16] = "gemm_packed (bf16 weights)", [SG_ELEM_F16] = "gemm_packed (f16 weights)",
        [SG_ELEM_I8] = "gemm_packed (q8 weights)"};
    const SgKernels *k = dev->kernels;
    if (!k || i >= k->n_programs + SG_ELEM_COUNT - 1)
        return NULL;
    if (i >= k->n_programs) { /* the reduced-precision GEMMs, "" until built */
        size_t t = i - k->n_programs + 1;
        if (name)
            *name = weight_names[t];
        return k->weight_programs[t].log ? k->weight_programs[t].log : "";
    }
    if (name)
        *name = sg_cl_sources[i].name;
    return k->programs[i].log;
}

int sg_launch(SgDevice *dev, SgKernelId id, const SgArg *args, size_t n_args, cl_uint dims,
              const size_t *global, const size_t *local, SgError *err)
{
    cl_kernel kernel = dev->kernels->kernel[id];
    const char *fn = sg_kernel_table[id].function;
    for (size_t i = 0; i < n_args; i++) {
        cl_int st = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (st != CL_SUCCESS) {
            int rc = sg_cl_fail(err, st, "clSetKernelArg");
            sg_error_prefix(err, "kernel %s, argument %zu: ", fn, i);
            return rc;
        }
    }
    size_t rounded[3];
    for (cl_uint d = 0; d < dims; d++) {
        if (global[d] == 0)
            return SIGLIP_OK; /* nothing to do */
        rounded[d] = local ? (global[d] + local[d] - 1) / local[d] * local[d] : global[d];
    }
    cl_int st = clEnqueueNDRangeKernel(dev->queue, kernel, dims, NULL, rounded, local, 0, NULL,
                                       NULL);
    if (st != CL_SUCCESS) {
        int rc = sg_cl_fail(err, st, "clEnqueueNDRangeKernel");
        sg_error_prefix(err, "kernel %s: ", fn);
        return rc;
    }
    return SIGLIP_OK;
}

size_t sg_buffer_size(cl_mem mem)
{
    size_t bytes = 0;
    if (!mem || clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof bytes, &bytes, NULL) != CL_SUCCESS)
        return 0;
    return bytes;
}

int sg_check_buffer(cl_mem mem, size_t count, size_t elem_size, const char *op, const char *name,
                    SgError *err)
{
    size_t bytes = sg_buffer_size(mem);
    if (bytes == 0)
        return sg_fail(err, SIGLIP_EINVAL, "%s: %s is not a valid device buffer", op, name);
    if (count > UINT32_MAX)
        return sg_fail(err, SIGLIP_EINVAL,
                       "%s: %s spans %zu elements, more than the kernels' 32-bit indices reach",
                       op, name, count);
    if (bytes / elem_size < count)
        return sg_fail(err, SIGLIP_EINVAL, "%s: %s holds %zu elements but %zu are needed", op,
                       name, bytes / elem_size, count);
    return SIGLIP_OK;
}
