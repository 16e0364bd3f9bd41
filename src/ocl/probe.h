/* probe.h — what the OpenCL implementation does, measured once when a device is opened, and how
 * the ops size their launches from it. */
#ifndef SG_OCL_PROBE_H
#define SG_OCL_PROBE_H

#include <stddef.h>

#include "common/error.h"
#include "ocl/device.h"

/* Runs cl/probe.cl's loop_budget on the device (its kernels built) and records in
 * dev->info.loop_budget how many loop iterations one work-item may run before the implementation
 * ends its loops early (0: none did within the probe's 262144). A failed launch or read is an
 * error: a device that cannot run a one-work-item kernel cannot run the model either. */
int sg_probe_loop_budget(SgDevice *dev, SgError *err);

/* Sets dev->info.has_int8_dot: whether a program calling the packed int8 multiply-adds that
 * cl/gemm_packed.cl's integer q8 form uses (clang's x86 AVX2 builtins) builds for the device. A
 * build that fails for any reason is a no: q8 then takes the widening form, which every device
 * runs. Where it builds, also dev->info.has_vnni: which VNNI the CPU running the device's
 * kernels has, as a kernel reads it there (cpuid and XCR0), 0 when that fails in any way.
 * Binaries are cached in cache_dir (NULL: none) as every program's are. */
void sg_probe_int8_dot(SgDevice *dev, const char *cache_dir);

/* How many of `units` (k steps of a GEMM, keys of attention) one launch may give a work-item
 * whose loops cost fixed + cost_per_unit · units iterations (each loop's exit test counted,
 * nothing assumed unrolled), within half the device's loop budget (the other half covers what
 * such a count leaves out): all of them on a device without a budget; otherwise a multiple of
 * `multiple`, at least `multiple`. */
/* Whether a work-item whose loops cost `cost` iterations stays within half the loop budget. */
int sg_loop_fits(const SgDevice *dev, size_t cost);

size_t sg_loop_units_per_launch(const SgDevice *dev, size_t units, size_t cost_per_unit,
                                size_t fixed, size_t multiple);

#endif /* SG_OCL_PROBE_H */
