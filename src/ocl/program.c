/* program.c — building one OpenCL program from source, with a cache of program binaries on disk
 * keyed by source, options, device, driver and platform. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "ocl/program.h"

/* A cache file is this header followed by the driver's binary; the header lets a truncated or
 * foreign file be rejected before the driver sees it. */
#define SG_CACHE_MAGIC "SGCLBIN1"
typedef struct SgCacheHeader {
    char magic[8];
    uint64_t size;     /* bytes of binary after the header */
    uint64_t checksum; /* fnv1a of those bytes */
} SgCacheHeader;

#define SG_CACHE_MAX_BYTES ((size_t)1 << 30)

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Hashes a field with its length first, so that ("ab", "c") and ("a", "bc") differ. */
static uint64_t hash_field(uint64_t h, const void *data, size_t n)
{
    uint64_t len = n;
    return fnv1a(fnv1a(h, &len, sizeof len), data, n);
}

/* The cache file for a program: <cache_dir>/<name>-<32 hex digits>.bin, malloc'ed. */
static char *cache_path(const SgDevice *dev, const SgProgramSource *src)
{
    const char *fields[] = {src->options, dev->info.name, dev->info.driver_version,
                            dev->platform_version, dev->info.version};
    uint64_t h[2] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull};
    for (int k = 0; k < 2; k++) {
        h[k] = hash_field(h[k], src->source, src->length);
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            h[k] = hash_field(h[k], fields[i], strlen(fields[i]));
    }
    size_t n = strlen(src->cache_dir) + strlen(src->name) + 64;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s-%016llx%016llx.bin", src->cache_dir, src->name,
                 (unsigned long long)h[0], (unsigned long long)h[1]);
    return path;
}

/* The program from a cache file, or NULL when there is none or it is unusable (then the caller
 * builds from source; a cache problem is never an error). */
static cl_program load_cached(SgDevice *dev, const char *path, const char *options)
{
    char *data;
    size_t size;
    if (sg_read_file(path, SG_CACHE_MAX_BYTES, &data, &size, NULL) != SIGLIP_OK)
        return NULL;
    SgCacheHeader hdr;
    cl_program prog = NULL;
    if (size > sizeof hdr) {
        memcpy(&hdr, data, sizeof hdr);
        const unsigned char *bin = (const unsigned char *)data + sizeof hdr;
        size_t bin_size = size - sizeof hdr;
        if (memcmp(hdr.magic, SG_CACHE_MAGIC, sizeof hdr.magic) == 0 && hdr.size == bin_size &&
            hdr.checksum == fnv1a(0xcbf29ce484222325ull, bin, bin_size)) {
            cl_int bin_status, st;
            prog = clCreateProgramWithBinary(dev->context, 1, &dev->device, &bin_size, &bin,
                                             &bin_status, &st);
            if (st != CL_SUCCESS || bin_status != CL_SUCCESS ||
                clBuildProgram(prog, 1, &dev->device, options, NULL, NULL) != CL_SUCCESS) {
                if (prog)
                    clReleaseProgram(prog);
                prog = NULL;
            }
        }
    }
    free(data);
    return prog;
}

/* mkdir -p; failures are left for the file creation to notice. */
static void make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return;
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    }
    mkdir(p, 0777);
    free(p);
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes the file under a unique temporary name, then renames it into place, so that another
 * process never reads a partial file. */
static void write_cache_file(const char *path, const unsigned char *bin, size_t size)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        fchmod(fd, 0644); /* mkstemp makes it private; the cache may be shared */
        SgCacheHeader hdr = {.size = size, .checksum = fnv1a(0xcbf29ce484222325ull, bin, size)};
        memcpy(hdr.magic, SG_CACHE_MAGIC, sizeof hdr.magic);
        int bad = write_all(fd, &hdr, sizeof hdr) || write_all(fd, bin, size);
        bad |= close(fd) != 0;
        if (bad || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(tmp);
}

/* Saves a built program's binary (best effort: a cache that can't be written is skipped). */
static void save_cached(cl_program prog, const char *cache_dir, const char *path)
{
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0 || size > SG_CACHE_MAX_BYTES)
        return;
    unsigned char *bin = malloc(size);
    unsigned char *bins[1] = {bin};
    if (bin && clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS) {
        make_dirs(cache_dir);
        write_cache_file(path, bin, size);
    }
    free(bin);
}

/* The program's build log, malloc'ed ("" when there is none); NULL only when out of memory. */
static char *build_log(SgDevice *dev, cl_program prog)
{
    size_t len = 0;
    if (clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) !=
        CL_SUCCESS)
        len = 0;
    char *log = malloc(len + 1);
    if (!log)
        return NULL;
    if (len > 0 &&
        clGetProgramBuildInfo(prog, dev->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) !=
            CL_SUCCESS)
        len = 0;
    log[len] = '\0';
    return log;
}

static int build_from_source(SgDevice *dev, const SgProgramSource *src, SgProgram *out,
                             SgError *err)
{
    cl_int st;
    const char *text = src->source;
    cl_program prog = clCreateProgramWithSource(dev->context, 1, &text, &src->length, &st);
    if (st != CL_SUCCESS) {
        int rc = sg_cl_fail(err, st, "clCreateProgramWithSource");
        sg_error_prefix(err, "cl/%s.cl: ", src->name);
        return rc;
    }
    st = clBuildProgram(prog, 1, &dev->device, src->options, NULL, NULL);
    char *log = build_log(dev, prog);
    if (st == CL_SUCCESS && log) {
        out->program = prog;
        out->log = log;
        return SIGLIP_OK;
    }
    int rc;
    if (st == CL_SUCCESS) {
        rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory building cl/%s.cl", src->name);
    } else if (st == CL_BUILD_PROGRAM_FAILURE || st == CL_INVALID_BUILD_OPTIONS ||
               st == CL_COMPILER_NOT_AVAILABLE) {
        rc = sg_fail(err, SIGLIP_EBUILD, "building OpenCL program cl/%s.cl for %s failed: %s",
                     src->name, dev->info.name, sg_cl_strerror(st));
        sg_error_append(err, "; build log:\n%s", log && *log ? log : "(none)");
    } else {
        rc = sg_cl_fail(err, st, "clBuildProgram");
        sg_error_prefix(err, "cl/%s.cl: ", src->name);
    }
    free(log);
    clReleaseProgram(prog);
    return rc;
}

int sg_program_build(SgDevice *dev, const SgProgramSource *src, SgProgram *out, SgError *err)
{
    *out = (SgProgram){0};
    char *path = NULL;
    if (src->cache_dir) {
        path = cache_path(dev, src);
        if (!path)
            return sg_fail(err, SIGLIP_ENOMEM, "out of memory building cl/%s.cl", src->name);
        out->program = load_cached(dev, path, src->options);
    }
    int rc = SIGLIP_OK;
    if (out->program) {
        out->from_cache = 1;
        if (!(out->log = strdup(""))) {
            sg_program_free(out);
            rc = sg_fail(err, SIGLIP_ENOMEM, "out of memory building cl/%s.cl", src->name);
        }
    } else {
        rc = build_from_source(dev, src, out, err);
        if (rc == SIGLIP_OK && path)
            save_cached(out->program, src->cache_dir, path);
    }
    free(path);
    return rc;
}

void sg_program_free(SgProgram *p)
{
    if (p->program)
        clReleaseProgram(p->program);
    free(p->log);
    *p = (SgProgram){0};
}
