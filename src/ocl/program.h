/* program.h — building one OpenCL program for a device, with an on-disk cache of program binaries
 * and the build log kept (the middle of the OpenCL layer: device.h below, kernels.h above). */
#ifndef SG_OCL_PROGRAM_H
#define SG_OCL_PROGRAM_H

#include <CL/cl.h>
#include <stddef.h>

#include "common/error.h"
#include "ocl/device.h"

/* What to build: one cl/ file's source with its build options (-D tunables). */
typedef struct SgProgramSource {
    const char *name;      /* file name without .cl, for messages and the cache file name */
    const char *source;
    size_t length;
    const char *options;
    const char *cache_dir; /* NULL: no binary cache */
} SgProgramSource;

typedef struct SgProgram {
    cl_program program;
    int from_cache; /* 1 when loaded from a cached binary */
    char *log;      /* malloc'ed build log of a fresh build ("" when empty or cached) */
} SgProgram;

/* Builds src for dev, or loads it from src->cache_dir when a binary for the same source,
 * options, device, driver and platform is there, saving the binary after a fresh build. A failing
 * build is SIGLIP_EBUILD naming the file, with the build log. */
int sg_program_build(SgDevice *dev, const SgProgramSource *src, SgProgram *out, SgError *err);
void sg_program_free(SgProgram *p);

#endif /* SG_OCL_PROGRAM_H */
