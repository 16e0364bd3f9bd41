/* cl_sources.h — the kernel sources of cl/, embedded at build time (cl/embed_kernels.py). */
#ifndef SG_OCL_CL_SOURCES_H
#define SG_OCL_CL_SOURCES_H

#include <stddef.h>

typedef struct SgClSource {
    const char *name;   /* file name without .cl, e.g. "layernorm" */
    const char *source; /* NUL-terminated */
    size_t length;      /* without the NUL */
} SgClSource;

extern const SgClSource sg_cl_sources[];
extern const size_t sg_cl_source_count;

#endif /* SG_OCL_CL_SOURCES_H */
