/* serve_kits.c — host kits of `siglip serve`: per-thread tokenizer and image processor, each on a
 * host-only context of its own, lent to one request at a time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

struct KitPool {
    Kit *kits;                  /* [n] */
    int n;
    Kit *free_list;
    pthread_mutex_t lock;
    pthread_cond_t returned;
};

static void kit_close(Kit *k)
{
    siglip_tokenizer_free(&k->tok);
    siglip_image_processor_free(&k->proc);
    siglip_context_close(&k->ctx);
}

static int has_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* A model directory without a processor config gets the reference defaults sized to the model
 * (as siglip_model_load() does). The public API makes a processor from a directory only, so the
 * kits load theirs from a temporary one holding just that size. Returns the directory to load
 * from: dir itself, or tmp (filled in) which the caller removes. */
static const char *processor_dir(const KitPoolConfig *cfg, char *tmp, size_t size)
{
    if (has_file(cfg->model_dir, "preprocessor_config.json") ||
        has_file(cfg->model_dir, "processor_config.json"))
        return cfg->model_dir;
    const char *base = getenv("TMPDIR");
    snprintf(tmp, size, "%s/siglip-serve-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp))
        return NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", tmp);
    FILE *f = fopen(path, "w");
    if (!f) {
        rmdir(tmp);
        return NULL;
    }
    if (cfg->max_patches) /* a NaFlex model's processor: Siglip2's defaults at the model's P */
        fprintf(f, "{\"image_processor_type\": \"Siglip2ImageProcessor\", \"max_num_patches\": %d, "
                   "\"patch_size\": %d}\n", cfg->max_patches, cfg->patch_size);
    else
        fprintf(f, "{\"size\": {\"height\": %d, \"width\": %d}}\n", cfg->image_size,
                cfg->image_size);
    fclose(f);
    return tmp;
}

static void remove_processor_dir(const char *dir, const char *model_dir)
{
    if (!dir || dir == model_dir)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    unlink(path);
    rmdir(dir);
}

static int kit_open(Kit *k, const KitPoolConfig *cfg, const char *proc_dir, char *error,
                    size_t size)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.n_threads = 1; /* one request per kit; concurrency comes from the kits */
    s.max_image_pixels = cfg->max_image_pixels;
    int st = siglip_context_create(&k->ctx, &s);
    if (st) {
        snprintf(error, size, "creating a host context: %s", siglip_strerror(st));
        return st;
    }
    if ((has_file(cfg->model_dir, "spiece.model") || has_file(cfg->model_dir, "tokenizer.model") ||
         has_file(cfg->model_dir, "tokenizer.json")) &&
        (st = siglip_tokenizer_load(k->ctx, cfg->model_dir, &k->tok))) {
        snprintf(error, size, "loading the tokenizer of %s: %s", cfg->model_dir,
                 siglip_context_error(k->ctx));
        return st;
    }
    if ((st = siglip_image_processor_load(k->ctx, proc_dir, &k->proc))) {
        snprintf(error, size, "loading the image processor of %s: %s", cfg->model_dir,
                 siglip_context_error(k->ctx));
        return st;
    }
    if (cfg->immich && (st = siglip_image_processor_set_immich(k->proc, cfg->model_dir))) {
        snprintf(error, size, "Immich's preprocessing for %s: %s", cfg->model_dir,
                 siglip_image_processor_error(k->proc));
        return st;
    }
    int h = 0, w = 0, floats = 0, n = siglip_image_processor_max_patches(k->proc, &floats);
    siglip_image_processor_size(k->proc, &h, &w);
    if (n != cfg->max_patches) {
        snprintf(error, size, "the image processor of %s takes %d patches per image but the "
                 "model %d", cfg->model_dir, n, cfg->max_patches);
        return SIGLIP_EINVAL;
    }
    /* The model's own processor follows its patch size; one loaded from the directory makes
     * patches of the config's (16 when it names none): they must be the model's, whose rows
     * the buffers are sized for. */
    if (n && floats != 3 * cfg->patch_size * cfg->patch_size) {
        snprintf(error, size, "the image processor of %s makes patches of %d values but the "
                 "model takes %d (%d×%d RGB): name patch_size %d in its processor config",
                 cfg->model_dir, floats, 3 * cfg->patch_size * cfg->patch_size, cfg->patch_size,
                 cfg->patch_size, cfg->patch_size);
        return SIGLIP_EINVAL;
    }
    if (!n && (h != cfg->image_size || w != cfg->image_size)) {
        snprintf(error, size, "the image processor of %s produces %d×%d images but the model "
                 "expects %d×%d", cfg->model_dir, h, w, cfg->image_size, cfg->image_size);
        return SIGLIP_EINVAL;
    }
    return SIGLIP_OK;
}

/* Closes the pool's p->n open kits and frees it (its lock and condition are kit_pool_free's). */
static void pool_free(KitPool *p)
{
    for (int i = 0; i < p->n; i++)
        kit_close(&p->kits[i]);
    free(p->kits);
    free(p);
}

int kit_pool_create(KitPool **out, const KitPoolConfig *cfg, char *error, size_t size)
{
    *out = NULL;
    KitPool *p = calloc(1, sizeof *p);
    Kit *kits = calloc((size_t)cfg->n_kits, sizeof *kits);
    if (!p || !kits) {
        free(p);
        free(kits);
        snprintf(error, size, "out of memory");
        return SIGLIP_ENOMEM;
    }
    p->kits = kits;
    char tmp[4096];
    const char *proc_dir = processor_dir(cfg, tmp, sizeof tmp);
    int st = proc_dir ? SIGLIP_OK : SIGLIP_EIO;
    if (!proc_dir)
        snprintf(error, size, "writing a temporary image processor config: %s", strerror(errno));
    for (int i = 0; i < cfg->n_kits && st == SIGLIP_OK; i++) {
        st = kit_open(&kits[i], cfg, proc_dir, error, size);
        p->n = i + 1;
        kits[i].next = p->free_list;
        p->free_list = &kits[i];
    }
    remove_processor_dir(proc_dir, cfg->model_dir);
    if (st == SIGLIP_OK && (pthread_mutex_init(&p->lock, NULL) || serve_cond_init(&p->returned))) {
        snprintf(error, size, "out of memory");
        st = SIGLIP_ENOMEM;
    }
    if (st)
        pool_free(p);
    else
        *out = p;
    return st;
}

void kit_pool_free(KitPool **pp)
{
    KitPool *p = pp ? *pp : NULL;
    if (!p)
        return;
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->lock);
    pool_free(p);
    *pp = NULL;
}

Kit *kit_acquire(KitPool *p, double deadline)
{
    struct timespec ts;
    serve_timespec(deadline, &ts);
    pthread_mutex_lock(&p->lock);
    int r = 0;
    while (!p->free_list && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&p->returned, &p->lock, &ts);
    Kit *k = p->free_list;
    if (k)
        p->free_list = k->next;
    pthread_mutex_unlock(&p->lock);
    return k;
}

void kit_release(KitPool *p, Kit *k)
{
    pthread_mutex_lock(&p->lock);
    k->next = p->free_list;
    p->free_list = k;
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}
