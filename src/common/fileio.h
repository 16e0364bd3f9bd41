/* fileio.h — reading and memory-mapping files, joining paths; failures reported through SgError. */
#ifndef SG_COMMON_FILEIO_H
#define SG_COMMON_FILEIO_H

#include <stddef.h>

#include "common/error.h"

/* The size caps of files the library reads whole, in one place: JSON configs (config.json,
 * processor, tokenizer_config and tuning files), a safetensors index (a weight_map of every
 * tensor) and a tokenizer model (spiece.model, tokenizer.model or tokenizer.json, whose 256k-entry
 * vocabularies run to tens of MiB). */
#define SG_CONFIG_MAX_BYTES ((size_t)16 << 20)
#define SG_ST_INDEX_MAX_BYTES ((size_t)64 << 20)
#define SG_TOKENIZER_MAX_BYTES ((size_t)256 << 20)

/* Reads a whole file into a malloc'ed buffer with a NUL byte appended (not counted in *size).
 * The caller frees *data. Missing file: SIGLIP_ENOENT; larger than max_size: SIGLIP_E2BIG. */
int sg_read_file(const char *path, size_t max_size, char **data, size_t *size, SgError *err);

/* A read-only memory mapping of a whole file. */
typedef struct SgMappedFile {
    const unsigned char *data;
    size_t size;
} SgMappedFile;

int sg_map_file(const char *path, SgMappedFile *out, SgError *err);
void sg_unmap_file(SgMappedFile *f);

/* Tells the kernel that bytes [p, p + n) of f (a part of its mapping) won't be read again soon:
 * their pages leave the process's resident set (they stay in the page cache, and reading them
 * again maps them back, so this is never wrong, only slower). No-op outside f. */
void sg_mapped_release(const SgMappedFile *f, const void *p, size_t n);

/* 1 when path names an existing regular file, else 0. */
int sg_file_exists(const char *path);

/* dir + "/" + name into a malloc'ed string (NULL when out of memory). */
char *sg_path_join(const char *dir, const char *name);

#endif /* SG_COMMON_FILEIO_H */
