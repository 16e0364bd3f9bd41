/* model_id.c — which model an index belongs to: a fingerprint of a model directory's files. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "index_db.h"

/* Blocks of the weights data sampled, evenly spaced from the first to the last byte: any change
 * of a fine-tune or a different dtype shows in them, without reading gigabytes on every search. */
enum { SAMPLE_BLOCKS = 256, SAMPLE_BYTES = 4096 };
/* Larger safetensors headers are hashed up to here (real ones are a few hundred KiB at most). */
#define MAX_HEADER_BYTES ((uint64_t)64 << 20)

/* FNV-1a, 64 bit: not cryptographic; it tells models apart, nobody forges one. */
void index_fnv1a(uint64_t *h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        *h ^= p[i];
        *h *= 0x100000001b3ULL;
    }
}

/* Hashes a whole small file; a missing one hashes as a marker so presence counts too. */
static int hash_small_file(uint64_t *h, const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    index_fnv1a(h, name, strlen(name) + 1);
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? CLI_OK : cli_error("reading %s: %s", path, strerror(errno));
    unsigned char buf[8192];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        index_fnv1a(h, buf, got);
    int rc = ferror(f) ? cli_error("reading %s: %s", path, strerror(errno)) : CLI_OK;
    fclose(f);
    return rc;
}

/* Hashes a safetensors file: its size, its JSON header (names, dtypes, shapes, offsets) and
 * SAMPLE_BLOCKS blocks of its data. */
static int hash_weights(uint64_t *h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_error("reading %s: %s", path, strerror(errno));
    struct stat sb;
    unsigned char buf[SAMPLE_BYTES];
    int rc = fstat(fileno(f), &sb) ? cli_error("reading %s: %s", path, strerror(errno)) : CLI_OK;
    uint64_t size = (uint64_t)sb.st_size, header = 0;
    index_fnv1a(h, &size, sizeof size);
    if (rc == CLI_OK && fread(buf, 1, 8, f) == 8) {
        for (int i = 7; i >= 0; i--)
            header = header << 8 | buf[i];
        header = header > MAX_HEADER_BYTES ? MAX_HEADER_BYTES : header;
        for (uint64_t done = 0; done < header;) {
            size_t want = header - done < sizeof buf ? (size_t)(header - done) : sizeof buf;
            size_t got = fread(buf, 1, want, f);
            if (!got)
                break;
            index_fnv1a(h, buf, got);
            done += got;
        }
    }
    uint64_t data = 8 + header, span = size > data + SAMPLE_BYTES ? size - data - SAMPLE_BYTES : 0;
    for (int i = 0; i < SAMPLE_BLOCKS && rc == CLI_OK && size > data; i++) {
        uint64_t at = data + span * (uint64_t)i / (SAMPLE_BLOCKS - 1);
        if (fseeko(f, (off_t)at, SEEK_SET))
            rc = cli_error("reading %s: %s", path, strerror(errno));
        else
            index_fnv1a(h, buf, fread(buf, 1, sizeof buf, f));
    }
    if (rc == CLI_OK && ferror(f))
        rc = cli_error("reading %s: %s", path, strerror(errno));
    fclose(f);
    return rc;
}

static int is_weights_file(const char *name)
{
    size_t n = strlen(name), m = strlen(".safetensors");
    return n >= m && !strcmp(name + n - m, ".safetensors");
}

/* Every *.safetensors file of dir (a single file or the shards of an index), sorted by name. */
static int hash_all_weights(uint64_t *h, const char *dir)
{
    CliList names = {.owns = 1};
    int err = index_list_dir(dir, is_weights_file, &names), rc = CLI_OK;
    if (err)
        rc = cli_error("reading %s: %s", dir, strerror(err));
    for (int i = 0; i < names.n && rc == CLI_OK; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >= (int)sizeof path)
            rc = cli_error("%s/%s: path too long", dir, names.items[i]);
        else
            rc = hash_weights(h, path);
    }
    cli_list_free(&names);
    return rc;
}

int index_model_identify(const char *dir, const SiglipModelInfo *info, SiglipPrecision weights,
                         IndexModel *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->weights, sizeof m->weights, "%s", cli_precision_name(weights));
    if (!realpath(dir, m->dir))
        return cli_error("model %s: %s", dir, strerror(errno));
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", m->dir);
    snprintf(m->name, sizeof m->name, "%s", basename(base));
    m->dim = info->vision_hidden_size;
    m->logit_scale = info->logit_scale;
    m->logit_bias = info->logit_bias;
    uint64_t h = INDEX_FNV_OFFSET;
    int rc = hash_small_file(&h, m->dir, "config.json");
    if (rc == CLI_OK)
        rc = hash_small_file(&h, m->dir, "preprocessor_config.json");
    if (rc == CLI_OK)
        rc = hash_small_file(&h, m->dir, "processor_config.json");
    if (rc == CLI_OK)
        rc = hash_all_weights(&h, m->dir);
    snprintf(m->fingerprint, sizeof m->fingerprint, "%016llx", (unsigned long long)h);
    return rc;
}
