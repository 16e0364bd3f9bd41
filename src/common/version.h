/* version.h — the library's version as a string constant, for the code that stamps files with it
 * (siglip_version_string in context.c, stored tuning results in ocl/tuning.c) without calling up
 * into the public layer. */
#ifndef SG_COMMON_VERSION_H
#define SG_COMMON_VERSION_H

#include "siglip_version.h"

#define SG_STR2(x) #x
#define SG_STR(x) SG_STR2(x)
#define SG_VERSION_STRING \
    SG_STR(SIGLIP_VERSION_MAJOR) "." SG_STR(SIGLIP_VERSION_MINOR) "." SG_STR(SIGLIP_VERSION_PATCH)

#endif /* SG_COMMON_VERSION_H */
