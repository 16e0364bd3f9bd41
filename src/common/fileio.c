/* fileio.c — whole-file reads, read-only mmaps and path joining. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_error(const char *path, SgError *err)
{
    int e = errno;
    return sg_fail(err, e == ENOENT || e == ENOTDIR ? SIGLIP_ENOENT : SIGLIP_EIO,
                   "cannot open %s: %s", path, strerror(e));
}

/* Opens path for reading into *fd with its stat in *st; only regular files. */
static int open_regular(const char *path, int *fd, struct stat *st, SgError *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return open_error(path, err);
    if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(*fd);
        return sg_fail(err, SIGLIP_EIO, "%s is not a regular file", path);
    }
    return SIGLIP_OK;
}

int sg_read_file(const char *path, size_t max_size, char **data, size_t *size, SgError *err)
{
    *data = NULL;
    *size = 0;
    int fd;
    struct stat st;
    int rc = open_regular(path, &fd, &st, err);
    if (rc != SIGLIP_OK)
        return rc;
    if ((unsigned long long)st.st_size > max_size) {
        close(fd);
        return sg_fail(err, SIGLIP_E2BIG, "%s is %lld bytes, more than the %zu accepted", path,
                       (long long)st.st_size, max_size);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return sg_fail(err, SIGLIP_ENOMEM, "out of memory reading %s (%zu bytes)", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return sg_fail(err, SIGLIP_EIO, "reading %s failed: %s", path,
                           r == 0 ? "file shrank while reading" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return SIGLIP_OK;
}

int sg_map_file(const char *path, SgMappedFile *out, SgError *err)
{
    out->data = NULL;
    out->size = 0;
    int fd;
    struct stat st;
    int rc = open_regular(path, &fd, &st, err);
    if (rc != SIGLIP_OK)
        return rc;
    if (st.st_size == 0) { /* mmap of 0 bytes fails; an empty mapping is still a valid answer */
        close(fd);
        return SIGLIP_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return sg_fail(err, e == ENOMEM ? SIGLIP_ENOMEM : SIGLIP_EIO, "cannot map %s: %s", path,
                       strerror(e));
    out->data = p;
    out->size = (size_t)st.st_size;
    return SIGLIP_OK;
}

void sg_mapped_release(const SgMappedFile *f, const void *p, size_t n)
{
    const unsigned char *a = p, *end = a + n;
    if (!f->data || a < f->data || end > f->data + f->size || n == 0)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)a / page * page, hi = ((uintptr_t)end + page - 1) / page * page;
    uintptr_t map_hi = ((uintptr_t)(f->data + f->size) + page - 1) / page * page;
    /* The mapping starts on a page and is read-only from a file: whole pages around the range,
     * neighbours' bytes included, only need reading again. */
    madvise((void *)lo, (hi < map_hi ? hi : map_hi) - lo, MADV_DONTNEED);
}

void sg_unmap_file(SgMappedFile *f)
{
    if (f && f->data)
        munmap((void *)f->data, f->size);
    if (f) {
        f->data = NULL;
        f->size = 0;
    }
}

int sg_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *sg_path_join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + nl + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, dl);
    size_t at = dl;
    if (dl && dir[dl - 1] != '/')
        p[at++] = '/';
    memcpy(p + at, name, nl + 1);
    return p;
}
