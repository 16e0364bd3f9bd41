/* st_writer.h — writing tensors to a .safetensors file (the format of the Python package): the
 * project's one writer (the library only reads safetensors), which the CLI, the tests and the
 * fuzzers link from the support library target (support/meson.build). */
#ifndef SIGLIP_ST_WRITER_H
#define SIGLIP_ST_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

/* One tensor to write; data is borrowed and holds product(shape) elements of dtype. */
typedef struct StTensor {
    const char *name;
    const char *dtype;           /* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8",
                                  * "BOOL"; data in that type's little-endian bytes */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
} StTensor;

/* Writes the tensors, in the given order, to path: an 8-byte little-endian header length, the JSON
 * header (dtype, shape, data_offsets per tensor, plus __metadata__) padded with spaces to a
 * multiple of 8, then the data back to back. The file is written next to path and renamed over it,
 * so a failure never leaves a truncated file. Names must be distinct (and not "__metadata__"), dims
 * non-negative, data non-NULL unless the tensor is empty. Returns 0, or -1 with a message naming
 * the tensor or the file in errbuf. */
int st_write(const char *path, const StTensor *tensors, int n, char *errbuf, size_t errlen);

/* st_write with more __metadata__ entries after "format": metadata is a NULL-terminated list of
 * key, value, key, value, ... strings (values are strings, as the format requires). */
int st_write_with_metadata(const char *path, const StTensor *tensors, int n,
                           const char *const *metadata, char *errbuf, size_t errlen);

#endif /* SIGLIP_ST_WRITER_H */
