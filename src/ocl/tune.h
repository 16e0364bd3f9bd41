/* tune.h — the device tuner behind siglip_tune(): times the candidate configurations of the hot
 * ops at a model's real shapes on an opened device and keeps the fastest that stays accurate. */
#ifndef SG_OCL_TUNE_H
#define SG_OCL_TUNE_H

#include "ocl/device.h"

/* The shapes that matter: each tower's layer as M rows (batch · tokens) through Linear layers
 * D → 3D (QKV), D → D, D → I (GELU), I → D (accumulate), `layers` times, with `heads` heads. */
typedef struct SgTuneTower {
    size_t M, tokens, D, I, heads, layers;
} SgTuneTower;

typedef struct SgTuneJob {
    SgTuneTower towers[2];
    size_t n_towers;
    double budget_s;                 /* wall time after which no further candidate starts */
    const char *cache_dir;           /* program binaries of the candidates */
    void (*progress)(void *user, int done, int total, const char *what);
    void *user;
} SgTuneJob;

/* Fills *best with dev->tuning improved by measurement (rule "tuned") and *record (malloc'ed JSON
 * text of every measurement, caller frees) and leaves dev retuned to *best. */
int sg_tune(SgDevice *dev, const SgTuneJob *job, SgTuning *best, char **record, SgError *err);

#endif /* SG_OCL_TUNE_H */
