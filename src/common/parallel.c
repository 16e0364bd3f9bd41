/* parallel.c — sg_parallel_for: a loop split into chunks taken in turn by short-lived threads. */
#include "common/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#define MAX_THREADS 64
#define CHUNKS_PER_THREAD 8 /* a thread the OS delays leaves its later chunks to the others */

typedef struct Loop {
    SgRangeFn fn;
    void *arg;
    size_t n, chunk;
    atomic_size_t next;
} Loop;

static void *worker(void *p)
{
    Loop *l = p;
    for (;;) {
        size_t begin = atomic_fetch_add(&l->next, l->chunk);
        if (begin >= l->n)
            return NULL;
        l->fn(l->arg, begin, begin + l->chunk < l->n ? begin + l->chunk : l->n);
    }
}

int sg_thread_count(int requested)
{
    long n = requested > 0 ? requested : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

void sg_parallel_for(int threads, size_t n, SgRangeFn fn, void *arg)
{
    size_t t = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : (size_t)threads;
    if (t > n)
        t = n;
    if (t <= 1) {
        if (n)
            fn(arg, 0, n);
        return;
    }
    size_t chunk = n / (t * CHUNKS_PER_THREAD);
    Loop loop = {.fn = fn, .arg = arg, .n = n, .chunk = chunk ? chunk : 1};
    atomic_init(&loop.next, 0);
    pthread_t thread[MAX_THREADS];
    size_t started = 1;
    while (started < t && pthread_create(&thread[started], NULL, worker, &loop) == 0)
        started++;
    worker(&loop); /* the calling thread works too, and alone if no thread could start */
    for (size_t i = 1; i < started; i++)
        pthread_join(thread[i], NULL);
}
