/* parallel.h — splitting a loop over threads inside one library call (all joined before it
 * returns; no thread outlives the call, nothing global). */
#ifndef SG_COMMON_PARALLEL_H
#define SG_COMMON_PARALLEL_H

#include <stddef.h>

/* fn(arg, begin, end) for consecutive ranges covering [0, n), one range per thread. */
typedef void (*SgRangeFn)(void *arg, size_t begin, size_t end);

/* Runs fn over [0, n) on up to `threads` threads: threads − 1 started here and the calling one,
 * taking contiguous chunks (about 8 per thread, none empty) in turn until none is left, so a
 * thread the OS delays costs its share only once. If no thread can be started the calling one
 * does it all: the work is always done. */
void sg_parallel_for(int threads, size_t n, SgRangeFn fn, void *arg);

/* `requested` threads, or the online CPUs for 0 (SiglipSettings.n_threads semantics); ≥ 1. */
int sg_thread_count(int requested);

#endif /* SG_COMMON_PARALLEL_H */
