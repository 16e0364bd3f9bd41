/* fuzz_util.h — helpers shared by the fuzz targets: NUL-terminated copies, a private scratch
 * directory for parsers that read files, and paths into tests/data. */
#ifndef SG_FUZZ_UTIL_H
#define SG_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The entry point every target defines (libFuzzer declares no header for it). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'ed copy of data with a NUL appended; aborts when out of memory (a harness bug). */
char *fuzz_cstring(const uint8_t *data, size_t size);

/* A directory private to this process, created on first use and removed (with the files written
 * through fuzz_write_file) at exit. Aborts when it cannot be created. */
const char *fuzz_scratch_dir(void);

/* Writes dir/name (replacing it); aborts on failure. Returns the malloc'ed path. */
char *fuzz_write_file(const char *dir, const char *name, const void *data, size_t size);

/* Reads <source root>/rel whole; aborts when it is missing. *size receives its length. */
unsigned char *fuzz_read_data(const char *rel, size_t *size);

/* data as a tokenizer model of `format` (an SgEncoderFormat, tokenizer/encoder.h); a model that
 * loads then encodes a few fixed texts (empty, ASCII, whitespace, accents, CJK, emoji, invalid
 * UTF-8, special-looking): aborts when an id names no piece or a piece's text lies outside the
 * model. */
void fuzz_encoder(int format, const uint8_t *data, size_t size);

#endif /* SG_FUZZ_UTIL_H */
