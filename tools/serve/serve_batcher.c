/* serve_batcher.c — the device worker of `siglip serve`: a bounded queue of units that one thread
 * coalesces into device batches (units of one kind, up to --max-batch items, after waiting at most
 * --max-wait-ms for company). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../cli.h"
#include "serve.h"

struct Batcher {
    BatcherConfig cfg;
    SiglipModelInfo info;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* the worker: work arrived, or stop */
    Unit *head, *tail;           /* FIFO of queued units */
    int queued_items;
    int reserved_items;
    int stopping;
    int flushing;                /* shutting down: run what is queued without waiting */
    double device_free_at;       /* when the last batch ended */
    BatcherStats stats;
    /* device-call buffers, the worker's own */
    int32_t *ids, *mask;         /* [max_batch, T] */
    float *pixels;               /* [max_batch, serve_image_floats] */
    int32_t *patch_mask;         /* NaFlex: [max_batch, N] */
    int32_t *spatial_shapes;     /* NaFlex: [max_batch, 2] */
    float *out;                  /* [max_batch, widest output] */
};

void serve_timespec(double t, struct timespec *ts)
{
    /* The condition variables run on CLOCK_MONOTONIC, the clock of cli_now(). */
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int serve_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int r = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return r;
}

void serve_thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, int *stop, pthread_t thread)
{
    pthread_mutex_lock(lock);
    *stop = 1;
    pthread_cond_broadcast(wake);
    pthread_mutex_unlock(lock);
    pthread_join(thread, NULL);
}

static size_t unit_width(const Batcher *b, UnitKind k)
{
    return k == UNIT_TEXT    ? (size_t)b->info.projection_size
           : k == UNIT_IMAGE ? (size_t)b->info.vision_hidden_size
                             : (size_t)b->info.num_labels;
}

static void queue_remove(Batcher *b, Unit *u)
{
    Unit **p = &b->head, *prev = NULL;
    while (*p && *p != u) {
        prev = *p;
        p = &(*p)->next;
    }
    if (!*p)
        return;
    *p = u->next;
    if (b->tail == u)
        b->tail = prev;
    u->next = NULL;
    b->queued_items -= u->n;
}

/* Items of kind k waiting in the queue. */
static int queued_of_kind(const Batcher *b, UnitKind k)
{
    int n = 0;
    for (const Unit *u = b->head; u; u = u->next)
        n += u->kind == k ? u->n : 0;
    return n;
}

/* Takes the head's kind and every unit of that kind (FIFO) that fits max_batch; the head always
 * goes, however large (it then runs in chunks). Called with the lock held. */
static int take_batch(Batcher *b, Unit **batch, int cap)
{
    UnitKind kind = b->head->kind;
    int n = 0, items = 0;
    for (Unit *u = b->head, *next; u && n < cap; u = next) {
        next = u->next;
        if (u->kind != kind || (n > 0 && items + u->n > b->cfg.max_batch))
            continue;
        queue_remove(b, u);
        u->state = UNIT_RUNNING;
        batch[n++] = u;
        items += u->n;
    }
    return n;
}

/* One device call over items [0, n) gathered in b's buffers. */
static int device_call(Batcher *b, UnitKind kind, int n)
{
    if (kind == UNIT_TEXT) {
        SiglipTextOutput o = {.embeds = b->out};
        return siglip_encode_text(b->cfg.model, b->ids, b->mask, n, &o);
    }
    SiglipPatches patches = {b->info.max_patches, b->pixels, b->patch_mask, b->spatial_shapes};
    if (kind == UNIT_IMAGE) {
        SiglipImageOutput o = {.embeds = b->out};
        return patches.max_patches ? siglip_encode_image_patches(b->cfg.model, &patches, n, &o)
                                   : siglip_encode_image(b->cfg.model, b->pixels, n, &o);
    }
    return patches.max_patches ? siglip_classify_logits_patches(b->cfg.model, &patches, n, b->out)
                               : siglip_classify_logits(b->cfg.model, b->pixels, n, b->out);
}

static void record_batch(Batcher *b, int n)
{
    int bucket = 0;
    while (bucket < 8 && n > (1 << bucket))
        bucket++;
    b->stats.batches++;
    b->stats.batch_hist[bucket]++;
    b->stats.items += (uint64_t)n;
}

/* Runs the batch's units, max_batch items per device call, a unit possibly spanning calls.
 * Without the lock: the units are RUNNING, so nobody else touches them. */
static void run_batch(Batcher *b, Unit **batch, int n_units)
{
    UnitKind kind = batch[0]->kind;
    size_t T = (size_t)b->info.text_max_positions;
    size_t per_image = serve_image_floats(&b->info), N = (size_t)b->info.max_patches;
    size_t width = unit_width(b, kind);
    int u = 0, at = 0; /* next item to gather: unit u, item at */
    while (u < n_units) {
        /* Gather up to max_batch items, remembering where each came from. */
        int fill = 0, u0 = u, at0 = at;
        while (u < n_units && fill < b->cfg.max_batch) {
            const Unit *x = batch[u];
            int take = x->n - at < b->cfg.max_batch - fill ? x->n - at : b->cfg.max_batch - fill;
            if (kind == UNIT_TEXT) {
                memcpy(b->ids + fill * T, x->ids + at * T, (size_t)take * T * sizeof *b->ids);
                memcpy(b->mask + fill * T, x->mask + at * T, (size_t)take * T * sizeof *b->mask);
            } else {
                memcpy(b->pixels + fill * per_image, x->pixels + at * per_image,
                       (size_t)take * per_image * sizeof *b->pixels);
                if (N) {
                    memcpy(b->patch_mask + fill * N, x->patch_mask + at * N,
                           (size_t)take * N * sizeof *b->patch_mask);
                    memcpy(b->spatial_shapes + fill * 2, x->spatial_shapes + at * 2,
                           (size_t)take * 2 * sizeof *b->spatial_shapes);
                }
            }
            fill += take;
            at += take;
            if (at == x->n) {
                u++;
                at = 0;
            }
        }
        int st = device_call(b, kind, fill);
        /* Scatter the outputs back in the same order. */
        int pos = 0;
        for (int k = u0, a = at0; pos < fill; k++, a = 0) {
            Unit *x = batch[k];
            int take = x->n - a < fill - pos ? x->n - a : fill - pos;
            if (st == SIGLIP_OK)
                memcpy(x->out + (size_t)a * width, b->out + (size_t)pos * width,
                       (size_t)take * width * sizeof *b->out);
            else if (x->status == SIGLIP_OK) {
                x->status = st;
                snprintf(x->error, sizeof x->error, "%s", siglip_context_error(b->cfg.ctx));
            }
            pos += take;
        }
        pthread_mutex_lock(&b->lock);
        record_batch(b, fill);
        pthread_mutex_unlock(&b->lock);
    }
}

/* Marks the batch's units done; a job whose last unit this was is finished and woken. */
static void complete_batch(Batcher *b, Unit **batch, int n_units)
{
    for (int i = 0; i < n_units; i++) {
        Job *job = batch[i]->job;
        /* When this is the job's last pending unit, none of its units is queued, so nothing can
         * change job->pending until this one is marked done below. */
        pthread_mutex_lock(&b->lock);
        int last = job->pending == 1;
        pthread_mutex_unlock(&b->lock);
        if (last && job->finish) {
            int ok = 1;
            for (int k = 0; k < job->n_units; k++)
                ok &= job->units[k].status == SIGLIP_OK;
            /* The finish hook runs on this thread: it may use the model. */
            if (ok)
                job->finish_status = job->finish(b->cfg.model, job, job->finish_error,
                                                 sizeof job->finish_error);
        }
        pthread_mutex_lock(&b->lock);
        batch[i]->state = UNIT_DONE;
        if (--job->pending == 0)
            pthread_cond_signal(&job->done);
        pthread_mutex_unlock(&b->lock);
    }
}

static void *worker_main(void *arg)
{
    Batcher *b = arg;
    Unit *batch[256];
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->head && !b->stopping)
            pthread_cond_wait(&b->wake, &b->lock);
        if (!b->head)
            break; /* stopping with an empty queue */
        /* Give the head's batch up to max_wait to fill up, unless it is full already. The window
         * opens when both the head and the device are there: clients whose answers the last
         * batch just gave send their next requests in that window, so a closed loop of as many
         * clients as --max-batch settles into full batches, not into two alternating halves. */
        double start = b->head->queued_at > b->device_free_at ? b->head->queued_at
                                                               : b->device_free_at;
        double until = start + b->cfg.max_wait_s;
        while (b->head && !b->stopping && !b->flushing &&
               queued_of_kind(b, b->head->kind) < b->cfg.max_batch && cli_now() < until) {
            struct timespec ts;
            serve_timespec(until, &ts);
            pthread_cond_timedwait(&b->wake, &b->lock, &ts);
        }
        if (!b->head)
            continue; /* its units were withdrawn at their deadlines */
        int n = take_batch(b, batch, (int)(sizeof batch / sizeof batch[0]));
        pthread_mutex_unlock(&b->lock);
        run_batch(b, batch, n);
        complete_batch(b, batch, n);
        pthread_mutex_lock(&b->lock);
        b->device_free_at = cli_now();
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The memory of a batcher (its thread and locks are batcher_stop's). */
static void batcher_free(Batcher *b)
{
    free(b->ids);
    free(b->mask);
    free(b->pixels);
    free(b->patch_mask);
    free(b->spatial_shapes);
    free(b->out);
    free(b);
}

int batcher_start(Batcher **out, const BatcherConfig *cfg)
{
    *out = NULL;
    Batcher *b = calloc(1, sizeof *b);
    if (!b)
        return SIGLIP_ENOMEM;
    b->cfg = *cfg;
    siglip_model_info(cfg->model, &b->info);
    b->stats.capacity = cfg->capacity;
    size_t mb = (size_t)cfg->max_batch, T = (size_t)b->info.text_max_positions;
    size_t width = (size_t)b->info.projection_size, N = (size_t)b->info.max_patches;
    if ((size_t)b->info.vision_hidden_size > width)
        width = (size_t)b->info.vision_hidden_size;
    if ((size_t)b->info.num_labels > width)
        width = (size_t)b->info.num_labels;
    b->ids = malloc(mb * (T ? T : 1) * sizeof *b->ids);
    b->mask = malloc(mb * (T ? T : 1) * sizeof *b->mask);
    b->pixels = malloc(mb * serve_image_floats(&b->info) * sizeof *b->pixels);
    b->patch_mask = malloc(mb * (N ? N : 1) * sizeof *b->patch_mask);
    b->spatial_shapes = malloc(mb * 2 * sizeof *b->spatial_shapes);
    b->out = malloc(mb * width * sizeof *b->out);
    int ok = b->ids && b->mask && b->pixels && b->patch_mask && b->spatial_shapes && b->out;
    if (ok && (pthread_mutex_init(&b->lock, NULL) || serve_cond_init(&b->wake)))
        ok = 0;
    if (ok && pthread_create(&b->thread, NULL, worker_main, b)) {
        pthread_cond_destroy(&b->wake);
        pthread_mutex_destroy(&b->lock);
        ok = 0;
    }
    if (ok)
        *out = b;
    else
        batcher_free(b);
    return ok ? SIGLIP_OK : SIGLIP_ENOMEM;
}

void batcher_stop(Batcher **bp)
{
    Batcher *b = bp ? *bp : NULL;
    if (!b)
        return;
    serve_thread_stop(&b->lock, &b->wake, &b->stopping, b->thread);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->lock);
    batcher_free(b);
    *bp = NULL;
}

void batcher_flush(Batcher *b)
{
    pthread_mutex_lock(&b->lock);
    b->flushing = 1;
    pthread_cond_broadcast(&b->wake);
    pthread_mutex_unlock(&b->lock);
}

int batcher_has_room(Batcher *b)
{
    pthread_mutex_lock(&b->lock);
    int room = b->reserved_items < b->cfg.capacity;
    pthread_mutex_unlock(&b->lock);
    return room;
}

int batcher_reserve(Batcher *b, int n)
{
    if (n > b->cfg.capacity)
        return -2;
    pthread_mutex_lock(&b->lock);
    int ok = b->reserved_items + n <= b->cfg.capacity;
    if (ok)
        b->reserved_items += n;
    pthread_mutex_unlock(&b->lock);
    return ok ? 0 : -1;
}

void batcher_release(Batcher *b, int n)
{
    pthread_mutex_lock(&b->lock);
    b->reserved_items -= n;
    pthread_mutex_unlock(&b->lock);
}

int batcher_run(Batcher *b, Job *job, double deadline)
{
    if (serve_cond_init(&job->done))
        return -1;
    double now = cli_now();
    pthread_mutex_lock(&b->lock);
    job->pending = job->n_units;
    job->finish_status = SIGLIP_OK;
    job->finish_error[0] = '\0';
    for (int i = 0; i < job->n_units; i++) {
        Unit *u = &job->units[i];
        u->job = job;
        u->state = UNIT_QUEUED;
        u->status = SIGLIP_OK;
        u->error[0] = '\0';
        u->queued_at = now;
        u->next = NULL;
        if (b->tail)
            b->tail->next = u;
        else
            b->head = u;
        b->tail = u;
        b->queued_items += u->n;
    }
    pthread_cond_signal(&b->wake);
    struct timespec ts;
    serve_timespec(deadline, &ts);
    int timed_out = 0;
    while (job->pending > 0) {
        if (!timed_out && pthread_cond_timedwait(&job->done, &b->lock, &ts) == ETIMEDOUT) {
            timed_out = 1;
            for (int i = 0; i < job->n_units; i++) {
                Unit *u = &job->units[i];
                if (u->state == UNIT_QUEUED) {
                    queue_remove(b, u);
                    u->status = UNIT_WITHDRAWN;
                    u->state = UNIT_DONE;
                    job->pending--;
                }
            }
        } else if (timed_out) {
            pthread_cond_wait(&job->done, &b->lock); /* a unit is on the device: its end is near */
        }
    }
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&job->done);
    return timed_out ? -1 : 0;
}

void batcher_stats(Batcher *b, BatcherStats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->stats;
    out->queued_items = b->queued_items;
    out->reserved_items = b->reserved_items;
    pthread_mutex_unlock(&b->lock);
}
