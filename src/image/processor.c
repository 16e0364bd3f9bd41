/* processor.c — SiglipImageProcessor: loading, decode → resize → rescale → normalize into
 * pixel_values [N, 3, H, W] (transformers' or Immich's arithmetic), batches on several threads,
 * and the public siglip_* entry points. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/fileio.h"
#include "common/parallel.h"
#include "context.h"
#include "image/image.h"

/* Whether the processor_config.json at path holds an "image_processor" object; a file that can't
 * be read or parsed counts as holding one, so that its parse reports why. */
static int holds_image_processor(const char *path)
{
    SgError err = {0};
    char *text;
    size_t size;
    if (sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, &err))
        return 1;
    cJSON *root = cJSON_ParseWithLength(text, size);
    free(text);
    int holds = !root || cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "image_processor"));
    cJSON_Delete(root);
    return holds;
}

/* transformers 5 (PreprocessingMixin._get_config_dict): the "image_processor" object of
 * processor_config.json first, then preprocessor_config.json; a processor_config.json without one
 * (processor-level keys only) holds no image settings. */
char *sg_image_processor_config(const char *dir, int *rc)
{
    *rc = 0;
    char *nested = sg_path_join(dir, "processor_config.json");
    char *flat = sg_path_join(dir, "preprocessor_config.json");
    char *found = NULL;
    if (!nested || !flat)
        *rc = SIGLIP_ENOMEM;
    else if (sg_file_exists(nested) && holds_image_processor(nested))
        found = nested, nested = NULL;
    else if (sg_file_exists(flat))
        found = flat, flat = NULL;
    free(nested);
    free(flat);
    return found;
}

static int load_settings(const char *dir, SgImageSettings *s, SgError *err)
{
    sg_image_settings_default(s);
    if (!dir)
        return 0;
    int rc;
    char *path = sg_image_processor_config(dir, &rc);
    if (!path)
        return rc ? sg_fail(err, rc, "out of memory") : 0;
    char *text;
    size_t size;
    rc = sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, err);
    if (rc == 0) {
        rc = sg_image_settings_parse(text, path, s, err);
        free(text);
    }
    free(path);
    return rc;
}

int sg_image_processor_load(SiglipImageProcessor **out, const char *dir, const SiglipSettings *s,
                            SgError *err)
{
    *out = NULL;
    SiglipImageProcessor *p = calloc(1, sizeof *p);
    if (!p)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory");
    int rc = load_settings(dir, &p->settings, err);
    if (rc) {
        free(p);
        return rc;
    }
    p->decode.max_pixels = s->max_image_pixels;
    p->decode.allow_truncated = s->allow_truncated_images;
    p->n_threads = s->n_threads;
    *out = p;
    return 0;
}

void sg_image_processor_set_size(SiglipImageProcessor *p, int height, int width)
{
    p->settings.height = height;
    p->settings.width = width;
}

void sg_image_processor_set_naflex(SiglipImageProcessor *p, int naflex, int patch_size)
{
    p->settings.naflex = naflex;
    if (!p->settings.resample_given) /* the class's default: Siglip2's bilinear, Siglip's bicubic */
        p->settings.resample = naflex ? SG_RESAMPLE_BILINEAR : SG_RESAMPLE_BICUBIC;
    if (naflex)
        p->settings.patch_size = patch_size;
}

/* ((float32(v · rescale_factor in float64)) − mean) / std in float32, as transformers' rescale
 * (float64 product, cast to float32) then normalize (float32) compute it: one value per 8-bit
 * level and channel, the same arithmetic done once. */
static void level_table(const SgImageSettings *s, float lut[3][256])
{
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) {
            float x = s->do_rescale ? (float)((double)v * s->rescale_factor) : (float)v;
            lut[c][v] = s->do_normalize ? (x - s->image_mean[c]) / s->image_std[c] : x;
        }
}

static void to_float_planes(const SgImageSettings *s, const uint8_t *rgb, size_t n_pixels,
                            float *pixels)
{
    float lut[3][256];
    level_table(s, lut);
    for (int c = 0; c < 3; c++) {
        float *plane = pixels + (size_t)c * n_pixels;
        for (size_t i = 0; i < n_pixels; i++)
            plane[i] = lut[c][rgb[i * 3 + c]];
    }
}

/* img resized to w × h with the processor's filter: img->rgb itself when it already has that
 * size, else a malloc'ed copy in *owned. */
static const uint8_t *resized_rgb(const SiglipImageProcessor *p, const SgImage *img, int w, int h,
                                  uint8_t **owned, int *rc, SgError *err)
{
    const SgImageSettings *s = &p->settings;
    *owned = NULL;
    *rc = 0;
    if (img->width == w && img->height == h)
        return img->rgb;
    if (!s->do_resize) {
        *rc = sg_fail(err, SIGLIP_EINVAL,
                      "image is %dx%d but do_resize is false and the output is %dx%d",
                      img->width, img->height, w, h);
        return NULL;
    }
    if (!(*owned = malloc((size_t)w * h * 3))) {
        *rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
        return NULL;
    }
    *rc = sg_resize_rgb8(img->rgb, img->width, img->height, *owned, w, h, s->resample, err);
    if (*rc) {
        free(*owned);
        *owned = NULL;
        return NULL;
    }
    return *owned;
}

/* Immich's normalize(to_numpy(img), mean, std): x = float32(v) / 255, then x *= float32(1 / std),
 * then x -= float32(mean / std), each step rounded to float32 as numpy does (volatile keeps the
 * compiler from fusing the multiply and the subtraction into one rounding). */
static void immich_level_table(const SgImageSettings *s, float lut[3][256])
{
    for (int c = 0; c < 3; c++) {
        float inv = 1.0f / s->image_std[c], shift = s->image_mean[c] / s->image_std[c];
        for (int v = 0; v < 256; v++) {
            volatile float x = (float)v / 255.0f;
            volatile float scaled = x * inv;
            lut[c][v] = scaled - shift;
        }
    }
}

/* Immich's OpenClipVisualEncoder.transform: resize_pil + crop_pil ("shortest") or a plain resize
 * ("squash") to size × size with the processor's filter, then immich_level_table. */
static int immich_to_pixels(const SiglipImageProcessor *p, const SgImage *img, float *pixels,
                            SgError *err)
{
    const SgImageSettings *s = &p->settings;
    int size = s->height, w = size, h = size;
    if (s->immich_crop)
        sg_immich_resized_size(img->width, img->height, size, &w, &h);
    if ((uint64_t)w * (uint64_t)h > p->decode.max_pixels)
        return sg_fail(err, SIGLIP_E2BIG, "image is %dx%d: resizing its shortest side to %d "
                       "makes %dx%d, more than the %llu-pixel limit", img->width, img->height,
                       size, w, h, (unsigned long long)p->decode.max_pixels);
    uint8_t *owned;
    int rc;
    const uint8_t *rgb = resized_rgb(p, img, w, h, &owned, &rc, err);
    if (!rgb)
        return rc;
    /* crop_pil: left = int(W / 2 − size / 2), in float64 and truncated (never negative here) */
    int left = (int)(w / 2.0 - size / 2.0), top = (int)(h / 2.0 - size / 2.0);
    float lut[3][256];
    immich_level_table(s, lut);
    size_t n = (size_t)size * size;
    for (int y = 0; y < size; y++) {
        const uint8_t *row = rgb + ((size_t)(top + y) * w + left) * 3;
        for (int x = 0; x < size; x++)
            for (int c = 0; c < 3; c++)
                pixels[c * n + (size_t)y * size + x] = lut[c][row[x * 3 + c]];
    }
    free(owned);
    return 0;
}

int sg_image_to_pixels(const SiglipImageProcessor *p, const SgImage *img, float *pixels,
                       SgError *err)
{
    const SgImageSettings *s = &p->settings;
    if (s->immich)
        return immich_to_pixels(p, img, pixels, err);
    uint8_t *owned;
    int rc;
    const uint8_t *rgb = resized_rgb(p, img, s->width, s->height, &owned, &rc, err);
    if (rgb)
        to_float_planes(s, rgb, (size_t)s->width * s->height, pixels);
    free(owned);
    return rc;
}

/* Side `size` at `scale`: rounded up to a multiple of p, at least p. */
static int scaled_side(double scale, int size, int p)
{
    double cells = ceil((double)size * scale / p);
    return cells < 1 ? p : (int)cells * p;
}

void sg_naflex_size(int height, int width, int p, int max_patches, int *out_h, int *out_w)
{
    const double eps = 1e-5;
    double lo = eps / 10, hi = 100.0;
    while (hi - lo >= eps) {
        double mid = (lo + hi) / 2;
        int64_t cells = (int64_t)(scaled_side(mid, height, p) / p) * (scaled_side(mid, width, p) / p);
        if (cells <= max_patches)
            lo = mid;
        else
            hi = mid;
    }
    *out_h = scaled_side(lo, height, p);
    *out_w = scaled_side(lo, width, p);
}

int sg_image_to_patches(const SiglipImageProcessor *p, const SgImage *img, const SgPatchItem *o,
                        SgError *err)
{
    const SgImageSettings *s = &p->settings;
    int P = s->patch_size, N = s->max_num_patches, h = img->height, w = img->width;
    if (s->do_resize)
        sg_naflex_size(img->height, img->width, P, N, &h, &w);
    int gh = h / P, gw = w / P;
    if (gh * P != h || gw * P != w || (int64_t)gh * gw > N)
        return sg_fail(err, SIGLIP_EINVAL, "image is %dx%d: without do_resize it must be a "
                       "grid of at most %d patches of %d pixels", img->width, img->height, N, P);
    uint8_t *owned;
    int rc;
    const uint8_t *rgb = resized_rgb(p, img, w, h, &owned, &rc, err);
    if (!rgb)
        return rc;
    float lut[3][256];
    level_table(s, lut);
    size_t patch_len = (size_t)3 * P * P;
    /* patch (gy, gx) is row gy·gw + gx; its pixel (py, px) channel c is (py·P + px)·3 + c */
    for (int gy = 0; gy < gh; gy++)
        for (int gx = 0; gx < gw; gx++) {
            float *dst = o->pixels + ((size_t)gy * gw + gx) * patch_len;
            for (int py = 0; py < P; py++) {
                const uint8_t *src = rgb + (((size_t)gy * P + py) * w + (size_t)gx * P) * 3;
                for (int i = 0; i < P * 3; i++)
                    dst[(size_t)py * P * 3 + i] = lut[i % 3][src[i]];
            }
        }
    size_t n = (size_t)gh * gw;
    memset(o->pixels + n * patch_len, 0, ((size_t)N - n) * patch_len * sizeof *o->pixels);
    for (size_t r = 0; r < (size_t)N; r++)
        o->mask[r] = r < n;
    o->shape[0] = gh;
    o->shape[1] = gw;
    free(owned);
    return 0;
}

int sg_preprocess_memory(const SiglipImageProcessor *p, const void *data, size_t size,
                         float *pixel_values, int dims[2], SgError *err)
{
    SgImage img;
    int rc = sg_image_decode(data, size, NULL, &p->decode, &img, err);
    if (rc == 0) {
        if (dims) {
            dims[0] = img.width;
            dims[1] = img.height;
        }
        rc = sg_image_to_pixels(p, &img, pixel_values, err);
        sg_image_free(&img);
    }
    return rc;
}

/* Work shared by the threads of one batch: images are claimed in index order, so when image i
 * fails every image before it has been claimed and the lowest failing index is the first bad
 * image of the batch. With per-item statuses a failure is recorded and the batch goes on. */
typedef struct Batch {
    const SiglipImageProcessor *p;
    const char *const *paths;
    int n;
    float *pixel_values;      /* [n, image_floats] */
    size_t image_floats;
    int32_t *mask;            /* NaFlex: [n, N] (else NULL) */
    int32_t *shapes;          /* NaFlex: [n, 2] */
    SiglipItemStatus *status; /* [n], or NULL: stop at the first failure */
    atomic_int next;
    atomic_int failed;
} Batch;

/* Item i's place in the batch's outputs. */
static SgPatchItem batch_item(const Batch *b, int i)
{
    size_t N = (size_t)b->p->settings.max_num_patches;
    return (SgPatchItem){b->pixel_values + (size_t)i * b->image_floats,
                         b->mask ? b->mask + (size_t)i * N : NULL,
                         b->shapes ? b->shapes + (size_t)i * 2 : NULL};
}

/* Zeroes item i's outputs (a failed image with per-item statuses). */
static void clear_item(const Batch *b, int i)
{
    SgPatchItem o = batch_item(b, i);
    memset(o.pixels, 0, b->image_floats * sizeof *o.pixels);
    if (o.mask) {
        memset(o.mask, 0, (size_t)b->p->settings.max_num_patches * sizeof *o.mask);
        o.shape[0] = o.shape[1] = 0;
    }
}

static int preprocess_file(const Batch *b, int i, SgError *err)
{
    SgImage img;
    SgPatchItem o = batch_item(b, i);
    int rc = sg_image_load_file(b->paths[i], &b->p->decode, &img, err);
    if (rc == 0) {
        rc = o.mask ? sg_image_to_patches(b->p, &img, &o, err)
                    : sg_image_to_pixels(b->p, &img, o.pixels, err);
        sg_image_free(&img);
        if (rc)
            sg_error_prefix(err, "%s: ", b->paths[i]);
    }
    return rc;
}

typedef struct Worker {
    Batch *batch;
    pthread_t thread;
    int first_failure; /* index, or batch->n when none */
    SgError err;
} Worker;

static void record_item(SiglipItemStatus *st, int code, const char *message)
{
    st->status = code;
    size_t len = strnlen(message, sizeof st->message - 1);
    memcpy(st->message, message, len);
    st->message[len] = '\0';
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    Batch *b = w->batch;
    w->first_failure = b->n;
    while (!atomic_load(&b->failed)) {
        int i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n)
            break;
        int rc = preprocess_file(b, i, &w->err);
        if (b->status) {
            record_item(&b->status[i], rc, rc ? w->err.message : "");
            if (rc)
                clear_item(b, i);
        } else if (rc) {
            w->first_failure = i;
            atomic_store(&b->failed, 1);
        }
    }
    return NULL;
}

static int thread_count(const SiglipImageProcessor *p, int n)
{
    int t = sg_thread_count(p->n_threads);
    return t < n ? t : n;
}

/* Runs batch b (outputs and paths set) on the processor's threads. */
static int run_batch(Batch *b, SgError *err)
{
    atomic_init(&b->next, 0);
    atomic_init(&b->failed, 0);
    int n_workers = thread_count(b->p, b->n);
    Worker *workers = calloc((size_t)n_workers, sizeof *workers);
    if (!workers)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for image threads");
    int started = 0;
    for (; started < n_workers; started++) {
        workers[started].batch = b;
        if (started > 0 && pthread_create(&workers[started].thread, NULL, worker_main,
                                           &workers[started]))
            break;
    }
    worker_main(&workers[0]); /* the calling thread works too */
    for (int t = 1; t < started; t++)
        pthread_join(workers[t].thread, NULL);
    const Worker *bad = NULL;
    for (int t = 0; t < started; t++)
        if (workers[t].first_failure < b->n &&
            (!bad || workers[t].first_failure < bad->first_failure))
            bad = &workers[t];
    int rc = 0;
    if (bad)
        rc = sg_fail(err, bad->err.code, "%s", bad->err.message);
    free(workers);
    return rc;
}

int sg_preprocess_files(const SiglipImageProcessor *p, const char *const *paths, int n,
                        float *pixel_values, SiglipItemStatus *status, SgError *err)
{
    Batch b = {.p = p, .paths = paths, .n = n, .pixel_values = pixel_values,
               .image_floats = (size_t)3 * p->settings.height * p->settings.width,
               .status = status};
    return run_batch(&b, err);
}

int sg_preprocess_files_patches(const SiglipImageProcessor *p, const char *const *paths, int n,
                                const SgPatchItem *out, SiglipItemStatus *status, SgError *err)
{
    size_t P = (size_t)p->settings.patch_size;
    Batch b = {.p = p, .paths = paths, .n = n, .pixel_values = out->pixels,
               .image_floats = (size_t)p->settings.max_num_patches * 3 * P * P,
               .mask = out->mask, .shapes = out->shape, .status = status};
    return run_batch(&b, err);
}

/* ---------------------------------------------------------------------------- public API */

int siglip_image_processor_load(SiglipContext *ctx, const char *dir, SiglipImageProcessor **out)
{
    if (!ctx)
        return SIGLIP_EINVAL;
    if (!out)
        return sg_fail(sg_ctx_err(ctx), SIGLIP_EINVAL, "siglip_image_processor_load: out is NULL");
    return sg_image_processor_load(out, dir, &ctx->settings, sg_ctx_err(ctx));
}

void siglip_image_processor_free(SiglipImageProcessor **proc)
{
    if (!proc || !*proc)
        return;
    free(*proc);
    *proc = NULL;
}

const char *siglip_image_processor_error(const SiglipImageProcessor *proc)
{
    return proc ? proc->err.message : "";
}

void siglip_image_processor_size(const SiglipImageProcessor *proc, int *height, int *width)
{
    if (height)
        *height = proc ? proc->settings.height : 0;
    if (width)
        *width = proc ? proc->settings.width : 0;
}

/* The checks both list entry points make before any image is read. */
static int check_file_list(SiglipImageProcessor *proc, const char *fn, const char *const *paths,
                           int n, const float *pixel_values)
{
    if (!paths || n <= 0 || !pixel_values)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: need paths, n > 0 and pixel_values", fn);
    if (n > SIGLIP_MAX_BATCH)
        return sg_fail(&proc->err, SIGLIP_E2BIG, "%s: %d images exceed SIGLIP_MAX_BATCH (%d)", fn,
                       n, SIGLIP_MAX_BATCH);
    for (int i = 0; i < n; i++)
        if (!paths[i])
            return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: path %d is NULL", fn, i);
    return 0;
}

/* The fixed-size entry points refuse a NaFlex processor: its output is a patch list. */
static int check_fixed_size(SiglipImageProcessor *proc, const char *fn)
{
    if (!proc->settings.naflex)
        return 0;
    return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: this is a SigLIP 2 NaFlex processor (patch "
                   "lists: siglip_preprocess_files_patches)", fn);
}

int siglip_preprocess_files(SiglipImageProcessor *proc, const char *const *paths, int n,
                            float *pixel_values)
{
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_file_list(proc, "siglip_preprocess_files", paths, n, pixel_values);
    if (!rc)
        rc = check_fixed_size(proc, "siglip_preprocess_files");
    return rc ? rc : sg_preprocess_files(proc, paths, n, pixel_values, NULL, &proc->err);
}

int siglip_preprocess_files_each(SiglipImageProcessor *proc, const char *const *paths, int n,
                                 float *pixel_values, SiglipItemStatus *status)
{
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_file_list(proc, "siglip_preprocess_files_each", paths, n, pixel_values);
    if (!rc)
        rc = check_fixed_size(proc, "siglip_preprocess_files_each");
    if (rc == 0 && !status)
        rc = sg_fail(&proc->err, SIGLIP_EINVAL, "siglip_preprocess_files_each: status is NULL");
    return rc ? rc : sg_preprocess_files(proc, paths, n, pixel_values, status, &proc->err);
}

int siglip_preprocess_memory_size(SiglipImageProcessor *proc, const void *data, size_t size,
                                  float *pixel_values, int *width, int *height)
{
    if (!proc)
        return SIGLIP_EINVAL;
    if (!data || !pixel_values)
        return sg_fail(&proc->err, SIGLIP_EINVAL,
                       "siglip_preprocess_memory: data and pixel_values must not be NULL");
    int dims[2] = {0, 0};
    int rc = check_fixed_size(proc, "siglip_preprocess_memory");
    if (!rc)
        rc = sg_preprocess_memory(proc, data, size, pixel_values, dims, &proc->err);
    if (width)
        *width = dims[0];
    if (height)
        *height = dims[1];
    return rc;
}

int siglip_preprocess_memory(SiglipImageProcessor *proc, const void *data, size_t size,
                             float *pixel_values)
{
    return siglip_preprocess_memory_size(proc, data, size, pixel_values, NULL, NULL);
}

int siglip_image_processor_set_immich(SiglipImageProcessor *proc, const char *dir)
{
    if (!proc)
        return SIGLIP_EINVAL;
    if (proc->settings.naflex)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "siglip_image_processor_set_immich: a SigLIP 2 "
                       "NaFlex processor has no fixed size to crop to");
    SgImageSettings t = proc->settings;
    t.immich = t.immich_crop = 1;
    t.resample = SG_RESAMPLE_BICUBIC; /* open_clip's SigLIP preprocess_cfg */
    t.width = t.height;
    char *path = dir ? sg_path_join(dir, "preprocess_cfg.json") : NULL;
    if (dir && !path)
        return sg_fail(&proc->err, SIGLIP_ENOMEM, "out of memory");
    int rc = 0;
    if (path && sg_file_exists(path)) {
        char *text;
        size_t size;
        rc = sg_read_file(path, SG_CONFIG_MAX_BYTES, &text, &size, &proc->err);
        if (rc == 0) {
            rc = sg_image_settings_parse_immich(text, path, &t, &proc->err);
            free(text);
        }
    }
    free(path);
    if (rc == 0) {
        proc->settings = t;
        proc->decode.keep_orientation = 1;
    }
    return rc;
}

int siglip_image_processor_max_patches(const SiglipImageProcessor *proc, int *patch_floats)
{
    int naflex = proc && proc->settings.naflex;
    int P = naflex ? proc->settings.patch_size : 0;
    if (patch_floats)
        *patch_floats = 3 * P * P;
    return naflex ? proc->settings.max_num_patches : 0;
}

int siglip_image_processor_set_max_patches(SiglipImageProcessor *proc, int n)
{
    if (!proc)
        return SIGLIP_EINVAL;
    if (!proc->settings.naflex)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "max_num_patches: this processor has a fixed "
                       "size (not SigLIP 2 NaFlex)");
    if (n < 1 || n > 65536)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "max_num_patches %d is not in 1..65536", n);
    proc->settings.max_num_patches = n;
    return 0;
}

/* The checks of the NaFlex entry points: a NaFlex processor, out's arrays, its budget. */
static int check_patches_out(SiglipImageProcessor *proc, const char *fn, const SiglipPatches *out)
{
    if (!proc->settings.naflex)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: not a SigLIP 2 NaFlex processor (use "
                       "siglip_preprocess_files)", fn);
    if (!out || !out->pixel_values || !out->pixel_attention_mask || !out->spatial_shapes)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: out and its three arrays must be set", fn);
    if (out->max_patches != proc->settings.max_num_patches)
        return sg_fail(&proc->err, SIGLIP_EINVAL, "%s: out->max_patches %d differs from the "
                       "processor's max_num_patches %d", fn, out->max_patches,
                       proc->settings.max_num_patches);
    return 0;
}

int siglip_preprocess_files_patches(SiglipImageProcessor *proc, const char *const *paths, int n,
                                    const SiglipPatches *out, SiglipItemStatus *status)
{
    static const char fn[] = "siglip_preprocess_files_patches";
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_patches_out(proc, fn, out);
    if (!rc)
        rc = check_file_list(proc, fn, paths, n, out->pixel_values);
    if (rc)
        return rc;
    SgPatchItem o = {out->pixel_values, out->pixel_attention_mask, out->spatial_shapes};
    return sg_preprocess_files_patches(proc, paths, n, &o, status, &proc->err);
}

int siglip_preprocess_memory_patches(SiglipImageProcessor *proc, const void *data, size_t size,
                                     const SiglipPatches *out)
{
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_patches_out(proc, "siglip_preprocess_memory_patches", out);
    if (!rc && !data)
        rc = sg_fail(&proc->err, SIGLIP_EINVAL, "siglip_preprocess_memory_patches: data is NULL");
    if (rc)
        return rc;
    SgImage img;
    rc = sg_image_decode(data, size, NULL, &proc->decode, &img, &proc->err);
    if (rc == 0) {
        SgPatchItem o = {out->pixel_values, out->pixel_attention_mask, out->spatial_shapes};
        rc = sg_image_to_patches(proc, &img, &o, &proc->err);
        sg_image_free(&img);
    }
    return rc;
}
