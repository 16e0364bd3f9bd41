/* st_writer.c — the safetensors writer: JSON header built in memory, data streamed after it. */
#include "st_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_out.h"

static size_t dtype_size(const char *dtype)
{
    static const struct { const char *name; size_t size; } table[] = {
        {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1},
    };
    for (size_t i = 0; dtype && i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(dtype, table[i].name))
            return table[i].size;
    return 0;
}

static size_t tensor_bytes(const StTensor *t)
{
    size_t n = dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* The header JSON, padded with spaces to a multiple of 8 bytes; malloc'ed into *out. */
static int build_header(const StTensor *tensors, int n, const char *const *metadata, char **out,
                        size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return -1;
    fputs("{\"__metadata__\":{\"format\":\"pt\"", f);
    for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2) {
        fputc(',', f);
        json_string(f, metadata[i]);
        fputc(':', f);
        json_string(f, metadata[i + 1]);
    }
    fputc('}', f);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const StTensor *t = &tensors[i];
        fputc(',', f);
        json_string(f, t->name);
        fprintf(f, ":{\"dtype\":\"%s\",\"shape\":[", t->dtype);
        for (int d = 0; d < t->ndim; d++)
            fprintf(f, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        size_t bytes = tensor_bytes(t);
        fprintf(f, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    fputc('}', f);
    while ((size_t)ftell(f) % 8)
        fputc(' ', f);
    if (fclose(f)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = size;
    return 0;
}

/* The first problem of tensor i (its name, dtype, rank, shape, data, or a name given before), or
 * NULL. */
static const char *problem(const StTensor *tensors, int i)
{
    const StTensor *t = &tensors[i];
    if (!t->name || !strcmp(t->name, "__metadata__"))
        return "invalid tensor name";
    if (!dtype_size(t->dtype) || t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return "unsupported dtype or rank";
    size_t bytes = dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0 || __builtin_mul_overflow(bytes, (uint64_t)t->shape[d], &bytes))
            return "bad shape";
    if (bytes && !t->data)
        return "data is NULL";
    for (int j = 0; j < i; j++)
        if (!strcmp(tensors[j].name, t->name))
            return "given twice";
    return NULL;
}

static int validate(const StTensor *tensors, int n, char *errbuf, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        const char *why = problem(tensors, i);
        if (why) {
            snprintf(errbuf, errlen, "tensor \"%s\": %s", tensors[i].name ? tensors[i].name : "?",
                     why);
            return -1;
        }
    }
    return 0;
}

static int write_all(FILE *f, const StTensor *tensors, int n, const char *header, size_t hlen)
{
    unsigned char len_le[8];
    for (int i = 0; i < 8; i++)
        len_le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (fwrite(len_le, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen)
        return -1;
    /* Data is written in host order: the format is little-endian, as is every supported host. */
    for (int i = 0; i < n; i++) {
        size_t bytes = tensor_bytes(&tensors[i]);
        if (bytes && fwrite(tensors[i].data, 1, bytes, f) != bytes)
            return -1;
    }
    return 0;
}

int st_write(const char *path, const StTensor *tensors, int n, char *errbuf, size_t errlen)
{
    return st_write_with_metadata(path, tensors, n, NULL, errbuf, errlen);
}

int st_write_with_metadata(const char *path, const StTensor *tensors, int n,
                           const char *const *metadata, char *errbuf, size_t errlen)
{
    if (validate(tensors, n, errbuf, errlen))
        return -1;
    char *header = NULL;
    size_t hlen = 0;
    if (build_header(tensors, n, metadata, &header, &hlen)) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    size_t tlen = strlen(path) + 16;
    char *tmp = malloc(tlen);
    if (!tmp) {
        free(header);
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    /* A regular file is written under a temporary name and renamed into place, so a reader never
     * sees half of it; anything else that exists (/dev/null, a pipe, a terminal) is written
     * directly: renaming over it would replace a device node with a file. */
    struct stat st;
    int direct = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    snprintf(tmp, tlen, "%s%s", path, direct ? "" : ".tmp");
    int rc = -1;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(errbuf, errlen, "cannot create %s: %s", tmp, strerror(errno));
    } else {
        int werr = write_all(f, tensors, n, header, hlen);
        int saved = errno;
        if (fclose(f) || werr)
            snprintf(errbuf, errlen, "writing %s: %s", path, strerror(werr ? saved : errno));
        else if (!direct && rename(tmp, path))
            snprintf(errbuf, errlen, "renaming to %s: %s", path, strerror(errno));
        else
            rc = 0;
        if (rc && !direct)
            remove(tmp);
    }
    free(tmp);
    free(header);
    return rc;
}
