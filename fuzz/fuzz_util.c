/* fuzz_util.c — helpers shared by the fuzz targets (harness code: it may print and abort). */
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer/encoder.h"

#ifndef SG_FUZZ_SOURCE_ROOT
#error "SG_FUZZ_SOURCE_ROOT must name the source tree (fuzz/meson.build sets it)"
#endif

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "fuzz harness: %s %s\n", what, arg ? arg : "");
    abort();
}

char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        die("out of memory", NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The scratch directory and the names written into it, for the cleanup at exit. */
enum { MAX_SCRATCH_FILES = 16 };
static char scratch_dir[4096];
static char *scratch_files[MAX_SCRATCH_FILES];
static int n_scratch_files;

static void remove_scratch(void)
{
    for (int i = 0; i < n_scratch_files; i++) {
        unlink(scratch_files[i]);
        free(scratch_files[i]);
    }
    if (scratch_dir[0])
        rmdir(scratch_dir);
}

const char *fuzz_scratch_dir(void)
{
    if (scratch_dir[0])
        return scratch_dir;
    /* /dev/shm keeps the per-input file writes off the disk where it exists. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch_dir, sizeof scratch_dir, "%s/siglip-fuzz-XXXXXX", base);
    if (!mkdtemp(scratch_dir))
        die("cannot create a scratch directory under", base);
    atexit(remove_scratch);
    return scratch_dir;
}

static void remember(char *path)
{
    for (int i = 0; i < n_scratch_files; i++)
        if (strcmp(scratch_files[i], path) == 0)
            return;
    if (n_scratch_files == MAX_SCRATCH_FILES)
        die("too many scratch files", path);
    scratch_files[n_scratch_files] = strdup(path);
    if (!scratch_files[n_scratch_files])
        die("out of memory", NULL);
    n_scratch_files++;
}

char *fuzz_write_file(const char *dir, const char *name, const void *data, size_t size)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path)
        die("out of memory", NULL);
    snprintf(path, n, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        die("cannot write", path);
    remember(path);
    return path;
}

unsigned char *fuzz_read_data(const char *rel, size_t *size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", SG_FUZZ_SOURCE_ROOT, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf)
                die("out of memory reading", path);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *size = len;
    return buf;
}

static const char *const texts[] = {
    "",
    "a photo of 2 cats",
    "  Hello,\tWORLD!  \n",
    "\xC3\xA9t\xC3\xA9 \xEF\xBC\xA1\xEF\xBC\xA2 \xE2\x85\xA0 \xEF\xAC\x81",  /* été, fullwidth, Ⅰ, ﬁ */
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x98\x80 \xE2\x96\x81x",  /* CJK, emoji, ▁ */
    "\xFF\xFE invalid \xC3",                                                /* bad UTF-8 */
    "<unk></s><pad>",
};

void fuzz_encoder(int format, const uint8_t *data, size_t size)
{
    SgError err;
    SgEncoder *e = NULL;
    if (sg_encoder_load(&e, (SgEncoderFormat)format, data, size, &err) != 0)
        return;
    const SgSpModel *m = e->sp;
    SgSpScratch scratch = {0};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        const int32_t *ids;
        size_t n_ids;
        const unsigned char *s = (const unsigned char *)texts[k];
        if (sg_encoder_encode(e, s, strlen(texts[k]), &scratch, &ids, &n_ids) != 0)
            continue;
        for (size_t i = 0; i < n_ids; i++) {
            if (ids[i] < 0 || ids[i] >= m->n_pieces)
                abort(); /* every id must name a piece */
            size_t len;
            const unsigned char *p = sg_sp_piece_text(m, ids[i], &len);
            if (p < m->blob || len > m->blob_size || (size_t)(p - m->blob) > m->blob_size - len)
                abort(); /* and its text must lie inside the model */
        }
        if (sg_sp_piece_to_id(m, s, strlen(texts[k])) >= m->n_pieces)
            abort();
    }
    sg_sp_scratch_free(&scratch);
    sg_encoder_free(&e);
}
