/* processor.c — SiglipImageProcessor: loading, decode → resize → rescale → normalize into
 * pixel_values [N, 3, H, W], batches on several threads, and the public siglip_* entry points. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "context.h"
#include "image/image.h"

static const char *const config_names[] = {"preprocessor_config.json", "processor_config.json"};

char *sg_image_processor_config(const char *dir, int *rc)
{
    *rc = 0;
    for (size_t i = 0; i < sizeof config_names / sizeof *config_names; i++) {
        char *path = sg_path_join(dir, config_names[i]);
        if (!path) {
            *rc = SIGLIP_ENOMEM;
            return NULL;
        }
        if (sg_file_exists(path))
            return path;
        free(path);
    }
    return NULL;
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

/* ((float32(v · rescale_factor in float64)) − mean) / std in float32, as transformers' rescale
 * (float64 product, cast to float32) then normalize (float32) compute it. */
static void to_float_planes(const SgImageSettings *s, const uint8_t *rgb, size_t n_pixels,
                            float *pixels)
{
    for (int c = 0; c < 3; c++) {
        float *plane = pixels + (size_t)c * n_pixels;
        float mean = s->image_mean[c], std = s->image_std[c];
        float lut[256]; /* one value per 8-bit level: the same arithmetic, done once */
        for (int v = 0; v < 256; v++) {
            float x = s->do_rescale ? (float)((double)v * s->rescale_factor) : (float)v;
            lut[v] = s->do_normalize ? (x - mean) / std : x;
        }
        for (size_t i = 0; i < n_pixels; i++)
            plane[i] = lut[rgb[i * 3 + c]];
    }
}

int sg_image_to_pixels(const SiglipImageProcessor *p, const SgImage *img, float *pixels,
                       SgError *err)
{
    const SgImageSettings *s = &p->settings;
    int h = s->height, w = s->width;
    const uint8_t *rgb = img->rgb;
    uint8_t *resized = NULL;
    if (img->width != w || img->height != h) {
        if (!s->do_resize)
            return sg_fail(err, SIGLIP_EINVAL,
                           "image is %dx%d but do_resize is false and the output is %dx%d",
                           img->width, img->height, w, h);
        resized = malloc((size_t)w * h * 3);
        if (!resized)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory for resize");
        int rc = sg_resize_rgb8(img->rgb, img->width, img->height, resized, w, h, s->resample,
                                err);
        if (rc) {
            free(resized);
            return rc;
        }
        rgb = resized;
    }
    to_float_planes(s, rgb, (size_t)w * h, pixels);
    free(resized);
    return 0;
}

int sg_preprocess_memory(const SiglipImageProcessor *p, const void *data, size_t size,
                         float *pixel_values, SgError *err)
{
    SgImage img;
    int rc = sg_image_decode(data, size, NULL, &p->decode, &img, err);
    if (rc == 0) {
        rc = sg_image_to_pixels(p, &img, pixel_values, err);
        sg_image_free(&img);
    }
    return rc;
}

static int preprocess_file(const SiglipImageProcessor *p, const char *path, float *pixels,
                           SgError *err)
{
    SgImage img;
    int rc = sg_image_load_file(path, &p->decode, &img, err);
    if (rc == 0) {
        rc = sg_image_to_pixels(p, &img, pixels, err);
        sg_image_free(&img);
        if (rc)
            sg_error_prefix(err, "%s: ", path);
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
    float *pixel_values;
    size_t image_floats;
    SiglipItemStatus *status; /* [n], or NULL: stop at the first failure */
    atomic_int next;
    atomic_int failed;
} Batch;

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
        float *pixels = b->pixel_values + (size_t)i * b->image_floats;
        int rc = preprocess_file(b->p, b->paths[i], pixels, &w->err);
        if (b->status) {
            record_item(&b->status[i], rc, rc ? w->err.message : "");
            if (rc)
                memset(pixels, 0, b->image_floats * sizeof *pixels);
        } else if (rc) {
            w->first_failure = i;
            atomic_store(&b->failed, 1);
        }
    }
    return NULL;
}

static int thread_count(const SiglipImageProcessor *p, int n)
{
    long t = p->n_threads > 0 ? p->n_threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (t < 1)
        t = 1;
    return t < n ? (int)t : n;
}

int sg_preprocess_files(const SiglipImageProcessor *p, const char *const *paths, int n,
                        float *pixel_values, SiglipItemStatus *status, SgError *err)
{
    Batch b = {.p = p, .paths = paths, .n = n, .pixel_values = pixel_values,
               .image_floats = (size_t)3 * p->settings.height * p->settings.width,
               .status = status};
    atomic_init(&b.next, 0);
    atomic_init(&b.failed, 0);
    int n_workers = thread_count(p, n);
    Worker *workers = calloc((size_t)n_workers, sizeof *workers);
    if (!workers)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory for image threads");
    int started = 0;
    for (; started < n_workers; started++) {
        workers[started].batch = &b;
        if (started > 0 && pthread_create(&workers[started].thread, NULL, worker_main,
                                           &workers[started]))
            break;
    }
    worker_main(&workers[0]); /* the calling thread works too */
    for (int t = 1; t < started; t++)
        pthread_join(workers[t].thread, NULL);
    const Worker *bad = NULL;
    for (int t = 0; t < started; t++)
        if (workers[t].first_failure < n && (!bad || workers[t].first_failure < bad->first_failure))
            bad = &workers[t];
    int rc = 0;
    if (bad)
        rc = sg_fail(err, bad->err.code, "%s", bad->err.message);
    free(workers);
    return rc;
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

int siglip_preprocess_files(SiglipImageProcessor *proc, const char *const *paths, int n,
                            float *pixel_values)
{
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_file_list(proc, "siglip_preprocess_files", paths, n, pixel_values);
    return rc ? rc : sg_preprocess_files(proc, paths, n, pixel_values, NULL, &proc->err);
}

int siglip_preprocess_files_each(SiglipImageProcessor *proc, const char *const *paths, int n,
                                 float *pixel_values, SiglipItemStatus *status)
{
    if (!proc)
        return SIGLIP_EINVAL;
    int rc = check_file_list(proc, "siglip_preprocess_files_each", paths, n, pixel_values);
    if (rc == 0 && !status)
        rc = sg_fail(&proc->err, SIGLIP_EINVAL, "siglip_preprocess_files_each: status is NULL");
    return rc ? rc : sg_preprocess_files(proc, paths, n, pixel_values, status, &proc->err);
}

int siglip_preprocess_memory(SiglipImageProcessor *proc, const void *data, size_t size,
                             float *pixel_values)
{
    if (!proc)
        return SIGLIP_EINVAL;
    if (!data || !pixel_values)
        return sg_fail(&proc->err, SIGLIP_EINVAL,
                       "siglip_preprocess_memory: data and pixel_values must not be NULL");
    return sg_preprocess_memory(proc, data, size, pixel_values, &proc->err);
}
