/* device.h — the bottom of the OpenCL layer: platform/device discovery, selection by spec, one
 * opened device (facts, context, in-order queue, tuning) and its buffers with their accounting.
 * It knows nothing of kernels: ocl/kernels.h builds those on top (sg_device_open). */
#ifndef SG_OCL_DEVICE_H
#define SG_OCL_DEVICE_H

#include <CL/cl.h>
#include <stddef.h>

#include "siglip.h"
#include "common/error.h"
#include "ocl/tensor.h"
#include "ocl/tuning.h"

typedef struct SgKernels SgKernels; /* ocl/kernels.h: every cl_kernel the ops use */

typedef struct SgDevice {
    SiglipDeviceInfo info;       /* what was selected (is_selected = 1) */
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;      /* in-order */
    SgKernels *kernels;          /* owned by the kernel layer: built and freed by sg_device_open
                                  * and sg_device_close (ocl/kernels.h); NULL here */
    SgTuning tuning;             /* GEMM path etc., from the tuning table (ocl/tuning.h) */
    char tuning_path[1024];      /* stored `siglip tune` result looked for ("" = none looked for) */
    char tuning_note[SG_ERROR_MESSAGE_SIZE + 16]; /* why a stored result there was ignored ("" = used or absent) */
    SgBuffer scratch;            /* temporary buffer ops share (sg_device_scratch), grown on demand */
    size_t bytes_allocated;      /* device memory currently held through sg_buffer_* */
    size_t peak_bytes_allocated;
    cl_uint mem_base_align;      /* CL_DEVICE_MEM_BASE_ADDR_ALIGN in bytes (sub-buffer origins) */
    char platform_version[128];  /* CL_PLATFORM_VERSION, part of the program cache key */
    int probe_cpuid_avx2;        /* the AVX2 bit of cpuid as the VNNI probe's kernel read it on
                                  * the device (src/ocl/probe.c): 0 or 1; −1 = it did not run.
                                  * Tests check it against the host's: the probe read cpuid. */
} SgDevice;

/* Lists all devices of all platforms (malloc'ed array, caller frees with free()); marks the one
 * `spec` selects with is_selected. No platform: SIGLIP_ENODEV. */
int sg_device_list(const char *spec, SiglipDeviceInfo **out, size_t *n, SgError *err);

/* Opens the device `spec` selects (see SiglipSettings.device): context, queue and its tuning
 * (tuning_file may override the built-in table, NULL = none); no kernels yet. */
int sg_device_create(SgDevice **out, const char *spec, const char *tuning_file, SgError *err);
/* Releases the scratch buffer, queue and context; the kernels must be gone already. */
void sg_device_destroy(SgDevice **dev);

/* Device buffers with accounting (bytes_allocated / peak) and a clear message on failure:
 * out->bytes records what was counted, and release gives exactly that back. */
int sg_buffer_create(SgDevice *dev, size_t bytes, SgBuffer *out, SgError *err);
int sg_buffer_upload(SgDevice *dev, const void *host, size_t bytes, SgBuffer *out, SgError *err);
void sg_buffer_release(SgDevice *dev, SgBuffer *buf);
/* A new buffer of `bytes` filled on the host in place: *host points at its memory, mapped for
 * writing (contents undefined until written; on CPU devices the buffer's own memory, so no copy
 * is made); sg_buffer_unmap hands it to the device. The buffer is released on failure. */
int sg_buffer_create_mapped(SgDevice *dev, size_t bytes, SgBuffer *out, void **host,
                            SgError *err);
int sg_buffer_unmap(SgDevice *dev, SgBuffer *buf, void *host, SgError *err);
int sg_buffer_write(SgDevice *dev, cl_mem mem, size_t offset, size_t bytes, const void *host,
                    SgError *err);
int sg_buffer_read(SgDevice *dev, cl_mem mem, size_t offset, size_t bytes, void *host,
                   SgError *err);

/* A device buffer of at least `bytes` for an op's intermediate results, owned by the device and
 * reused by every op (the queue is in order, so one op's use ends before the next begins). */
int sg_device_scratch(SgDevice *dev, size_t bytes, cl_mem *out, SgError *err);

/* Waits for all queued work (clFinish). */
int sg_device_finish(SgDevice *dev, SgError *err);

/* Describes an OpenCL status code ("CL_OUT_OF_RESOURCES"). */
const char *sg_cl_strerror(cl_int status);

/* Records a failed OpenCL call: SIGLIP_ENOMEM for allocation failures, SIGLIP_EDEVICE otherwise. */
int sg_cl_fail(SgError *err, cl_int status, const char *what);

#endif /* SG_OCL_DEVICE_H */
