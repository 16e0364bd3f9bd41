/* device.c — OpenCL platform/device discovery, selection by spec, opening a device (context, queue,
 * tuning) and device buffers with accounting. */
#include "ocl/device.h"

#include <CL/cl_ext.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

/* One device found during enumeration, with what selection and opening need beyond the info. */
typedef struct SgFoundDevice {
    SiglipDeviceInfo info;
    cl_platform_id platform;
    cl_device_id device;
    char platform_vendor[128];
    char platform_version[128];
} SgFoundDevice;

/* ---- querying strings of platforms and devices ---- */

typedef cl_int (*SgInfoFn)(const void *obj, cl_uint what, size_t size, void *value, size_t *ret);

static cl_int platform_info(const void *obj, cl_uint what, size_t size, void *value, size_t *ret)
{
    return clGetPlatformInfo((cl_platform_id)obj, what, size, value, ret);
}

static cl_int device_info(const void *obj, cl_uint what, size_t size, void *value, size_t *ret)
{
    return clGetDeviceInfo((cl_device_id)obj, what, size, value, ret);
}

/* A malloc'ed copy of a string property ("" when the query fails); NULL only when out of memory. */
static char *info_string(SgInfoFn fn, const void *obj, cl_uint what)
{
    size_t len = 0;
    if (fn(obj, what, 0, NULL, &len) != CL_SUCCESS)
        len = 0;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    if (len == 0 || fn(obj, what, len, s, NULL) != CL_SUCCESS)
        len = 0;
    s[len] = '\0';
    return s;
}

/* Copies a string property into buf (truncated to cap); -1 when out of memory. */
static int copy_info(SgInfoFn fn, const void *obj, cl_uint what, char *buf, size_t cap)
{
    char *s = info_string(fn, obj, what);
    if (!s)
        return -1;
    snprintf(buf, cap, "%s", s);
    free(s);
    return 0;
}

/* 1 when the space-separated extension list holds `name` as a whole word. */
static int has_extension(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name)) {
        int starts = p == list || p[-1] == ' ';
        int ends = p[n] == '\0' || p[n] == ' ';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static SiglipDeviceType device_type(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU)
        return SIGLIP_DEVICE_GPU;
    if (t & CL_DEVICE_TYPE_CPU)
        return SIGLIP_DEVICE_CPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR)
        return SIGLIP_DEVICE_ACCELERATOR;
    return SIGLIP_DEVICE_OTHER;
}

/* Fills f->info from the platform's and device's queried properties; SIGLIP_ENOMEM on failure. */
static int describe_device(cl_platform_id platform, cl_device_id device, int pi, int di,
                           SgFoundDevice *f, SgError *err)
{
    SiglipDeviceInfo *in = &f->info;
    memset(f, 0, sizeof *f);
    f->platform = platform;
    f->device = device;
    in->platform_index = pi;
    in->device_index = di;
    cl_device_type type = 0;
    cl_uint cus = 0, clock = 0;
    cl_ulong global = 0, max_alloc = 0, local = 0;
    size_t wg = 0;
    clGetDeviceInfo(device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    clGetDeviceInfo(device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    in->type = device_type(type);
    in->compute_units = cus;
    in->max_clock_mhz = clock;
    in->global_mem_bytes = global;
    in->max_alloc_bytes = max_alloc;
    in->local_mem_bytes = local;
    in->max_work_group_size = wg;

    char *ext = info_string(device_info, device, CL_DEVICE_EXTENSIONS);
    if (!ext ||
        copy_info(platform_info, platform, CL_PLATFORM_NAME, in->platform_name,
                  sizeof in->platform_name) ||
        copy_info(platform_info, platform, CL_PLATFORM_VENDOR, f->platform_vendor,
                  sizeof f->platform_vendor) ||
        copy_info(platform_info, platform, CL_PLATFORM_VERSION, f->platform_version,
                  sizeof f->platform_version) ||
        copy_info(device_info, device, CL_DEVICE_NAME, in->name, sizeof in->name) ||
        copy_info(device_info, device, CL_DEVICE_VENDOR, in->vendor, sizeof in->vendor) ||
        copy_info(device_info, device, CL_DEVICE_VERSION, in->version, sizeof in->version) ||
        copy_info(device_info, device, CL_DRIVER_VERSION, in->driver_version,
                  sizeof in->driver_version)) {
        free(ext);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while listing OpenCL devices");
    }
    cl_device_fp_config fp = 0;
    clGetDeviceInfo(device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    in->has_fma = (fp & CL_FP_FMA) != 0;
    in->has_fp16 = has_extension(ext, "cl_khr_fp16");
    in->has_fp64 = has_extension(ext, "cl_khr_fp64");
    in->has_subgroups =
        has_extension(ext, "cl_khr_subgroups") || has_extension(ext, "cl_intel_subgroups");
    free(ext);
    return SIGLIP_OK;
}

/* Appends the devices of one platform to *list (grown with realloc). */
static int add_platform_devices(cl_platform_id platform, int pi, SgFoundDevice **list, size_t *n,
                                SgError *err)
{
    cl_uint count = 0;
    cl_int st = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, NULL, &count);
    if (st == CL_DEVICE_NOT_FOUND || (st == CL_SUCCESS && count == 0))
        return SIGLIP_OK; /* a platform without devices is not an error */
    if (st != CL_SUCCESS)
        return sg_cl_fail(err, st, "clGetDeviceIDs");
    cl_device_id *ids = calloc(count, sizeof *ids);
    SgFoundDevice *grown = realloc(*list, (*n + count) * sizeof **list);
    if (grown)
        *list = grown;
    if (!ids || !grown) {
        free(ids);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while listing OpenCL devices");
    }
    st = clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, ids, NULL);
    int rc = st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clGetDeviceIDs");
    for (cl_uint d = 0; d < count && rc == SIGLIP_OK; d++) {
        rc = describe_device(platform, ids[d], pi, (int)d, &(*list)[*n], err);
        if (rc == SIGLIP_OK)
            (*n)++;
    }
    free(ids);
    return rc;
}

/* Every device of every platform, in platform then device order. */
static int enumerate_devices(SgFoundDevice **out, size_t *n_out, SgError *err)
{
    *out = NULL;
    *n_out = 0;
    cl_uint np = 0;
    cl_int st = clGetPlatformIDs(0, NULL, &np);
    if (st == CL_PLATFORM_NOT_FOUND_KHR || (st == CL_SUCCESS && np == 0))
        return sg_fail(err, SIGLIP_ENODEV,
                       "no OpenCL platform found (is an ICD such as pocl-opencl-icd installed?)");
    if (st != CL_SUCCESS)
        return sg_cl_fail(err, st, "clGetPlatformIDs");
    cl_platform_id *platforms = calloc(np, sizeof *platforms);
    if (!platforms)
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while listing OpenCL platforms");
    st = clGetPlatformIDs(np, platforms, NULL);
    int rc = st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clGetPlatformIDs");
    SgFoundDevice *list = NULL;
    size_t n = 0;
    for (cl_uint p = 0; p < np && rc == SIGLIP_OK; p++)
        rc = add_platform_devices(platforms[p], (int)p, &list, &n, err);
    free(platforms);
    if (rc == SIGLIP_OK && n == 0)
        rc = sg_fail(err, SIGLIP_ENODEV, "OpenCL platforms found, but none has a device");
    if (rc != SIGLIP_OK) {
        free(list);
        return rc;
    }
    *out = list;
    *n_out = n;
    return SIGLIP_OK;
}

/* ---- selection by spec ---- */

static int iequal(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && sg_icontains(a, b);
}

/* "P:D" with decimal indices. */
static int parse_indices(const char *spec, int *p, int *d)
{
    char *end;
    if (!isdigit((unsigned char)spec[0]))
        return 0;
    long pl = strtol(spec, &end, 10);
    if (*end != ':' || !isdigit((unsigned char)end[1]))
        return 0;
    long dl = strtol(end + 1, &end, 10);
    if (*end != '\0' || pl > INT32_MAX || dl > INT32_MAX)
        return 0;
    *p = (int)pl;
    *d = (int)dl;
    return 1;
}

typedef enum SgMatchKind { MATCH_ANY, MATCH_TYPE, MATCH_VENDOR, MATCH_NAME } SgMatchKind;

static int device_matches(const SgFoundDevice *f, SgMatchKind kind, SiglipDeviceType type,
                          const char *word)
{
    switch (kind) {
    case MATCH_ANY: return 1;
    case MATCH_TYPE: return f->info.type == type;
    case MATCH_VENDOR:
        return sg_icontains(f->info.platform_name, word) || sg_icontains(f->platform_vendor, word) ||
               sg_icontains(f->info.vendor, word);
    case MATCH_NAME: return sg_icontains(f->info.name, word);
    }
    return 0;
}

/* Preference among several matching device types: a GPU, then a CPU, then anything else. */
static int type_rank(SiglipDeviceType t)
{
    return t == SIGLIP_DEVICE_GPU ? 0 : t == SIGLIP_DEVICE_CPU ? 1 : 2;
}

/* The peak rate a device reports: compute units × clock (MHz). */
static uint64_t reported_rate(const SiglipDeviceInfo *d)
{
    return (uint64_t)d->compute_units * d->max_clock_mhz;
}

/* Whether a is preferred to b (the first listed wins a tie): a better type, or, among CPU
 * devices (several OpenCL implementations on the same processor, e.g. PoCL and rusticl), the
 * higher reported compute units × clock. Measured on one machine (README "Choosing the device"):
 * PoCL 2 × 2445 MHz, rusticl's llvmpipe 8 × 300 MHz, and PoCL runs the towers several times
 * faster. GPUs keep their order: their compute units are not comparable across vendors. */
static int preferred(const SiglipDeviceInfo *a, const SiglipDeviceInfo *b)
{
    if (type_rank(a->type) != type_rank(b->type))
        return type_rank(a->type) < type_rank(b->type);
    return a->type == SIGLIP_DEVICE_CPU && reported_rate(a) > reported_rate(b);
}

static long best_match(const SgFoundDevice *list, size_t n, SgMatchKind kind,
                       SiglipDeviceType type, const char *word)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (device_matches(&list[i], kind, type, word) &&
            (best < 0 || preferred(&list[i].info, &list[best].info)))
            best = (long)i;
    return best;
}

/* Index into list of the device `spec` selects (see SiglipSettings.device), or -1. */
static long select_device(const SgFoundDevice *list, size_t n, const char *spec)
{
    static const struct { const char *word; SiglipDeviceType type; } types[] = {
        {"gpu", SIGLIP_DEVICE_GPU},
        {"cpu", SIGLIP_DEVICE_CPU},
        {"accelerator", SIGLIP_DEVICE_ACCELERATOR},
    };
    if (!spec || !*spec || iequal(spec, "auto"))
        return best_match(list, n, MATCH_ANY, SIGLIP_DEVICE_OTHER, NULL);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (iequal(spec, types[i].word))
            return best_match(list, n, MATCH_TYPE, types[i].type, NULL);
    int p, d;
    if (parse_indices(spec, &p, &d)) {
        for (size_t i = 0; i < n; i++)
            if (list[i].info.platform_index == p && list[i].info.device_index == d)
                return (long)i;
        return -1;
    }
    long i = best_match(list, n, MATCH_VENDOR, SIGLIP_DEVICE_OTHER, spec);
    return i >= 0 ? i : best_match(list, n, MATCH_NAME, SIGLIP_DEVICE_OTHER, spec);
}

static const char *type_name(SiglipDeviceType t)
{
    switch (t) {
    case SIGLIP_DEVICE_CPU: return "CPU";
    case SIGLIP_DEVICE_GPU: return "GPU";
    case SIGLIP_DEVICE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

static int fail_no_match(const char *spec, const SgFoundDevice *list, size_t n, SgError *err)
{
    sg_fail(err, SIGLIP_ENODEV, "no OpenCL device matches \"%s\"; devices:", spec);
    for (size_t i = 0; i < n; i++)
        sg_error_append(err, "%s %d:%d %s \"%s\" (%s)", i ? ";" : "",
                        list[i].info.platform_index, list[i].info.device_index,
                        type_name(list[i].info.type), list[i].info.name,
                        list[i].info.platform_name);
    return SIGLIP_ENODEV;
}

int sg_device_list(const char *spec, SiglipDeviceInfo **out, size_t *n, SgError *err)
{
    *out = NULL;
    *n = 0;
    SgFoundDevice *found;
    size_t count;
    int rc = enumerate_devices(&found, &count, err);
    if (rc != SIGLIP_OK)
        return rc;
    SiglipDeviceInfo *infos = calloc(count, sizeof *infos);
    if (!infos) {
        free(found);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while listing OpenCL devices");
    }
    long selected = select_device(found, count, spec);
    for (size_t i = 0; i < count; i++) {
        infos[i] = found[i].info;
        infos[i].is_selected = (long)i == selected;
    }
    free(found);
    *out = infos;
    *n = count;
    return SIGLIP_OK;
}

/* ---- opening and closing ---- */

/* Creates the OpenCL context and in-order queue of dev. */
static int create_queue(SgDevice *dev, SgError *err)
{
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform,
                                     0};
    cl_int st;
    dev->context = clCreateContext(props, 1, &dev->device, NULL, NULL, &st);
    if (st != CL_SUCCESS)
        return sg_cl_fail(err, st, "clCreateContext");
    dev->queue = clCreateCommandQueue(dev->context, dev->device, 0, &st);
    if (st != CL_SUCCESS)
        return sg_cl_fail(err, st, "clCreateCommandQueue");
    return SIGLIP_OK;
}

/* A device record for the chosen entry (context and queue not made yet). */
static int new_device(const SgFoundDevice *f, SgDevice **out, SgError *err)
{
    SgDevice *dev = calloc(1, sizeof *dev);
    if (!dev) {
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory while opening an OpenCL device");
    }
    dev->info = f->info;
    dev->info.is_selected = 1;
    dev->platform = f->platform;
    dev->device = f->device;
    snprintf(dev->platform_version, sizeof dev->platform_version, "%s", f->platform_version);
    cl_uint align_bits = 0;
    clGetDeviceInfo(dev->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits, &align_bits,
                    NULL);
    dev->mem_base_align = align_bits >= 8 ? align_bits / 8 : 1;
    *out = dev;
    return SIGLIP_OK;
}

int sg_device_create(SgDevice **out, const char *spec, const char *tuning_file, SgError *err)
{
    *out = NULL;
    if (!spec)
        spec = "auto";
    SgFoundDevice *found;
    size_t count;
    int rc = enumerate_devices(&found, &count, err);
    if (rc != SIGLIP_OK)
        return rc;
    long selected = select_device(found, count, spec);
    SgDevice *dev = NULL;
    if (selected < 0)
        rc = fail_no_match(spec, found, count, err);
    else
        rc = new_device(&found[selected], &dev, err);
    free(found);
    if (rc == SIGLIP_OK && (rc = create_queue(dev, err)) != SIGLIP_OK)
        sg_error_prefix(err, "opening OpenCL device \"%s\": ", dev->info.name);
    if (rc == SIGLIP_OK)
        rc = sg_tuning_choose(&dev->info, tuning_file, &dev->tuning, err);
    if (rc != SIGLIP_OK)
        sg_device_destroy(&dev); /* dev is NULL again */
    *out = dev;
    return rc;
}

void sg_device_destroy(SgDevice **pdev)
{
    if (!pdev || !*pdev)
        return;
    SgDevice *dev = *pdev;
    if (dev->queue)
        clFinish(dev->queue);
    sg_buffer_release(dev, &dev->scratch);
    if (dev->queue)
        clReleaseCommandQueue(dev->queue);
    if (dev->context)
        clReleaseContext(dev->context);
    free(dev);
    *pdev = NULL;
}

int sg_device_scratch(SgDevice *dev, size_t bytes, cl_mem *out, SgError *err)
{
    if (bytes > dev->scratch.bytes) {
        sg_buffer_release(dev, &dev->scratch);
        int rc = sg_buffer_create(dev, bytes, &dev->scratch, err);
        if (rc != SIGLIP_OK)
            return rc;
    }
    *out = dev->scratch.mem;
    return SIGLIP_OK;
}

int sg_device_finish(SgDevice *dev, SgError *err)
{
    cl_int st = clFinish(dev->queue);
    return st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clFinish");
}

/* ---- buffers ---- */

static double mib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static int create_buffer(SgDevice *dev, size_t bytes, const void *host, SgBuffer *out,
                         SgError *err)
{
    *out = (SgBuffer){0};
    if (bytes == 0)
        return sg_fail(err, SIGLIP_EINVAL, "a device buffer of 0 bytes was requested");
    if (bytes > dev->info.max_alloc_bytes)
        return sg_fail(err, SIGLIP_ENOMEM,
                       "a device buffer needs %.1f MiB, but %s allows at most %.1f MiB in one "
                       "allocation",
                       mib(bytes), dev->info.name, mib(dev->info.max_alloc_bytes));
    cl_mem_flags flags = CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0);
    cl_int st;
    cl_mem mem = clCreateBuffer(dev->context, flags, bytes, (void *)host, &st);
    if (st != CL_SUCCESS) {
        int rc = sg_cl_fail(err, st, "clCreateBuffer");
        sg_error_append(err, " for %.1f MiB (%.1f MiB already allocated on %s, %.1f MiB total)",
                        mib(bytes), mib(dev->bytes_allocated), dev->info.name,
                        mib(dev->info.global_mem_bytes));
        return rc;
    }
    dev->bytes_allocated += bytes;
    if (dev->bytes_allocated > dev->peak_bytes_allocated)
        dev->peak_bytes_allocated = dev->bytes_allocated;
    *out = (SgBuffer){mem, bytes};
    return SIGLIP_OK;
}

int sg_buffer_create(SgDevice *dev, size_t bytes, SgBuffer *out, SgError *err)
{
    return create_buffer(dev, bytes, NULL, out, err);
}

int sg_buffer_upload(SgDevice *dev, const void *host, size_t bytes, SgBuffer *out, SgError *err)
{
    if (!host)
        return sg_fail(err, SIGLIP_EINVAL, "sg_buffer_upload: no host data");
    return create_buffer(dev, bytes, host, out, err);
}

int sg_buffer_create_mapped(SgDevice *dev, size_t bytes, SgBuffer *out, void **host,
                            SgError *err)
{
    *host = NULL;
    int rc = create_buffer(dev, bytes, NULL, out, err);
    if (rc != SIGLIP_OK)
        return rc;
    cl_int st;
    *host = clEnqueueMapBuffer(dev->queue, out->mem, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0,
                               bytes, 0, NULL, NULL, &st);
    if (st != CL_SUCCESS) {
        sg_buffer_release(dev, out);
        *host = NULL;
        return sg_cl_fail(err, st, "clEnqueueMapBuffer");
    }
    return SIGLIP_OK;
}

int sg_buffer_unmap(SgDevice *dev, SgBuffer *buf, void *host, SgError *err)
{
    cl_int st = clEnqueueUnmapMemObject(dev->queue, buf->mem, host, 0, NULL, NULL);
    return st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clEnqueueUnmapMemObject");
}

void sg_buffer_release(SgDevice *dev, SgBuffer *buf)
{
    if (!buf || !buf->mem)
        return;
    clReleaseMemObject(buf->mem);
    dev->bytes_allocated -= buf->bytes;
    *buf = (SgBuffer){0};
}

int sg_buffer_write(SgDevice *dev, cl_mem mem, size_t offset, size_t bytes, const void *host,
                    SgError *err)
{
    if (bytes == 0)
        return SIGLIP_OK;
    cl_int st = clEnqueueWriteBuffer(dev->queue, mem, CL_TRUE, offset, bytes, host, 0, NULL, NULL);
    return st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clEnqueueWriteBuffer");
}

int sg_buffer_read(SgDevice *dev, cl_mem mem, size_t offset, size_t bytes, void *host,
                   SgError *err)
{
    if (bytes == 0)
        return SIGLIP_OK;
    cl_int st = clEnqueueReadBuffer(dev->queue, mem, CL_TRUE, offset, bytes, host, 0, NULL, NULL);
    return st == CL_SUCCESS ? SIGLIP_OK : sg_cl_fail(err, st, "clEnqueueReadBuffer");
}

/* ---- OpenCL status codes ---- */

const char *sg_cl_strerror(cl_int status)
{
    switch (status) {
#define SG_CL_CASE(c) case c: return #c;
    SG_CL_CASE(CL_SUCCESS)
    SG_CL_CASE(CL_DEVICE_NOT_FOUND)
    SG_CL_CASE(CL_DEVICE_NOT_AVAILABLE)
    SG_CL_CASE(CL_COMPILER_NOT_AVAILABLE)
    SG_CL_CASE(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    SG_CL_CASE(CL_OUT_OF_RESOURCES)
    SG_CL_CASE(CL_OUT_OF_HOST_MEMORY)
    SG_CL_CASE(CL_PROFILING_INFO_NOT_AVAILABLE)
    SG_CL_CASE(CL_MEM_COPY_OVERLAP)
    SG_CL_CASE(CL_IMAGE_FORMAT_MISMATCH)
    SG_CL_CASE(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    SG_CL_CASE(CL_BUILD_PROGRAM_FAILURE)
    SG_CL_CASE(CL_MAP_FAILURE)
    SG_CL_CASE(CL_MISALIGNED_SUB_BUFFER_OFFSET)
    SG_CL_CASE(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    SG_CL_CASE(CL_COMPILE_PROGRAM_FAILURE)
    SG_CL_CASE(CL_LINKER_NOT_AVAILABLE)
    SG_CL_CASE(CL_LINK_PROGRAM_FAILURE)
    SG_CL_CASE(CL_DEVICE_PARTITION_FAILED)
    SG_CL_CASE(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)
    SG_CL_CASE(CL_INVALID_VALUE)
    SG_CL_CASE(CL_INVALID_DEVICE_TYPE)
    SG_CL_CASE(CL_INVALID_PLATFORM)
    SG_CL_CASE(CL_INVALID_DEVICE)
    SG_CL_CASE(CL_INVALID_CONTEXT)
    SG_CL_CASE(CL_INVALID_QUEUE_PROPERTIES)
    SG_CL_CASE(CL_INVALID_COMMAND_QUEUE)
    SG_CL_CASE(CL_INVALID_HOST_PTR)
    SG_CL_CASE(CL_INVALID_MEM_OBJECT)
    SG_CL_CASE(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)
    SG_CL_CASE(CL_INVALID_IMAGE_SIZE)
    SG_CL_CASE(CL_INVALID_SAMPLER)
    SG_CL_CASE(CL_INVALID_BINARY)
    SG_CL_CASE(CL_INVALID_BUILD_OPTIONS)
    SG_CL_CASE(CL_INVALID_PROGRAM)
    SG_CL_CASE(CL_INVALID_PROGRAM_EXECUTABLE)
    SG_CL_CASE(CL_INVALID_KERNEL_NAME)
    SG_CL_CASE(CL_INVALID_KERNEL_DEFINITION)
    SG_CL_CASE(CL_INVALID_KERNEL)
    SG_CL_CASE(CL_INVALID_ARG_INDEX)
    SG_CL_CASE(CL_INVALID_ARG_VALUE)
    SG_CL_CASE(CL_INVALID_ARG_SIZE)
    SG_CL_CASE(CL_INVALID_KERNEL_ARGS)
    SG_CL_CASE(CL_INVALID_WORK_DIMENSION)
    SG_CL_CASE(CL_INVALID_WORK_GROUP_SIZE)
    SG_CL_CASE(CL_INVALID_WORK_ITEM_SIZE)
    SG_CL_CASE(CL_INVALID_GLOBAL_OFFSET)
    SG_CL_CASE(CL_INVALID_EVENT_WAIT_LIST)
    SG_CL_CASE(CL_INVALID_EVENT)
    SG_CL_CASE(CL_INVALID_OPERATION)
    SG_CL_CASE(CL_INVALID_GL_OBJECT)
    SG_CL_CASE(CL_INVALID_BUFFER_SIZE)
    SG_CL_CASE(CL_INVALID_MIP_LEVEL)
    SG_CL_CASE(CL_INVALID_GLOBAL_WORK_SIZE)
    SG_CL_CASE(CL_INVALID_PROPERTY)
    SG_CL_CASE(CL_INVALID_IMAGE_DESCRIPTOR)
    SG_CL_CASE(CL_INVALID_COMPILER_OPTIONS)
    SG_CL_CASE(CL_INVALID_LINKER_OPTIONS)
    SG_CL_CASE(CL_INVALID_DEVICE_PARTITION_COUNT)
    SG_CL_CASE(CL_PLATFORM_NOT_FOUND_KHR)
#undef SG_CL_CASE
    default: return "unknown OpenCL error";
    }
}

int sg_cl_fail(SgError *err, cl_int status, const char *what)
{
    int code = status == CL_MEM_OBJECT_ALLOCATION_FAILURE || status == CL_OUT_OF_RESOURCES ||
                       status == CL_OUT_OF_HOST_MEMORY
                   ? SIGLIP_ENOMEM
                   : SIGLIP_EDEVICE;
    return sg_fail(err, code, "%s failed: %s (%d)", what, sg_cl_strerror(status), (int)status);
}
