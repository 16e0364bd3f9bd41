/* embed_journal.c — the rows `siglip embed` collects and its resume journal: a header (magic,
 * list length, width, model directory) then one record per image: index, status, path, and either
 * embeds + features (2·dim floats, host order) or the error message. */
#include "embed_journal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char journal_magic[] = "SIGLIP-EMBED-JOURNAL 2\n"; /* 2: + weight precision */

int embed_rows_alloc(EmbedRows *r, int n, int dim)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->dim = dim;
    size_t count = cli_array_size((size_t)n, (size_t)dim);
    r->embeds = count ? malloc(count * sizeof(float)) : NULL;
    r->features = count ? malloc(count * sizeof(float)) : NULL;
    r->ok_index = malloc((size_t)n * sizeof *r->ok_index);
    r->failed_index = malloc((size_t)n * sizeof *r->failed_index);
    r->failed_error = calloc((size_t)n, sizeof *r->failed_error);
    if (!r->embeds || !r->features || !r->ok_index || !r->failed_index || !r->failed_error)
        return cli_error("embed: out of memory for %d images", n);
    return CLI_OK;
}

void embed_rows_free(EmbedRows *r)
{
    for (int i = 0; i < r->n_failed; i++)
        free(r->failed_error[i]);
    free(r->embeds);
    free(r->features);
    free(r->ok_index);
    free(r->failed_index);
    free(r->failed_error);
    memset(r, 0, sizeof *r);
}

int embed_rows_fail(EmbedRows *r, int index, const char *message)
{
    char *copy = strdup(message);
    if (!copy)
        return cli_error("embed: out of memory");
    r->failed_index[r->n_failed] = index;
    r->failed_error[r->n_failed++] = copy;
    return CLI_OK;
}

static int put_i32(FILE *f, int32_t v)
{
    return fwrite(&v, sizeof v, 1, f) == 1 ? 0 : -1;
}

static int put_str(FILE *f, const char *s)
{
    size_t n = strlen(s);
    return put_i32(f, (int32_t)n) || fwrite(s, 1, n, f) != n ? -1 : 0;
}

static int get_i32(FILE *f, int32_t *v)
{
    return fread(v, sizeof *v, 1, f) == 1 ? 0 : -1;
}

/* A length-prefixed string of at most `cap` bytes, malloc'ed; NULL at a torn or bad record. */
static char *get_str(FILE *f, size_t cap)
{
    int32_t n;
    if (get_i32(f, &n) || n < 0 || (size_t)n > cap)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        return NULL;
    }
    if (s)
        s[n] = '\0';
    return s;
}

#define JOURNAL_MAX_STRING (1 << 20)

/* Reads one record into rows; 0, or -1 at a torn record or one that doesn't match the list. */
static int read_record(FILE *f, char *const *paths, EmbedRows *r)
{
    int32_t index, status;
    if (get_i32(f, &index) || get_i32(f, &status) || index != r->n_done)
        return -1;
    char *path = get_str(f, JOURNAL_MAX_STRING);
    int rc = path && strcmp(path, paths[index]) == 0 ? 0 : -1;
    free(path);
    if (rc)
        return -1;
    if (status == 0) {
        size_t at = (size_t)r->n_ok * r->dim, dim = (size_t)r->dim;
        if (fread(r->embeds + at, sizeof(float), dim, f) != dim ||
            fread(r->features + at, sizeof(float), dim, f) != dim)
            return -1;
        r->ok_index[r->n_ok++] = index;
    } else {
        char *msg = get_str(f, JOURNAL_MAX_STRING);
        if (!msg)
            return -1;
        r->failed_index[r->n_failed] = index;
        r->failed_error[r->n_failed++] = msg;
    }
    r->n_done++;
    return 0;
}

/* Loads a journal written for this model, precision, list and width; returns the offset after
 * its last complete record, or -1 when the journal is for something else (or unreadable). */
static long load(FILE *f, const JournalModel *m, char *const *paths, EmbedRows *r)
{
    char magic[sizeof journal_magic - 1];
    int32_t n, dim;
    if (fread(magic, 1, sizeof magic, f) != sizeof magic ||
        memcmp(magic, journal_magic, sizeof magic) || get_i32(f, &n) || get_i32(f, &dim) ||
        n != r->n || dim != r->dim)
        return -1;
    char *model = get_str(f, JOURNAL_MAX_STRING), *precision = get_str(f, JOURNAL_MAX_STRING);
    int same = model && precision && !strcmp(model, m->dir) && !strcmp(precision, m->precision);
    free(model);
    free(precision);
    if (!same)
        return -1;
    long end = ftell(f);
    while (r->n_done < r->n && read_record(f, paths, r) == 0)
        end = ftell(f);
    return end;
}

static int start_new(EmbedJournal *j, const JournalModel *m, const EmbedRows *r)
{
    j->f = fopen(j->path, "wb");
    if (!j->f)
        return cli_error("embed: creating %s: %s", j->path, strerror(errno));
    if (fwrite(journal_magic, 1, sizeof journal_magic - 1, j->f) != sizeof journal_magic - 1 ||
        put_i32(j->f, r->n) || put_i32(j->f, r->dim) || put_str(j->f, m->dir) || put_str(j->f, m->precision) ||
        fflush(j->f))
        return cli_error("embed: writing %s: %s", j->path, strerror(errno));
    return CLI_OK;
}

int journal_open(EmbedJournal *j, const char *out_path, const JournalModel *model,
                 char *const *paths, int resume, EmbedRows *rows)
{
    memset(j, 0, sizeof *j);
    size_t len = strlen(out_path) + sizeof ".journal";
    if (!(j->path = malloc(len)))
        return cli_error("embed: out of memory");
    snprintf(j->path, len, "%s.journal", out_path);
    FILE *old = resume ? fopen(j->path, "r+b") : NULL;
    if (!old) {
        if (resume)
            fprintf(stderr, "siglip: embed: no journal %s to resume from; starting anew\n",
                    j->path);
        return start_new(j, model, rows);
    }
    long end = load(old, model, paths, rows);
    if (end < 0) {
        fclose(old);
        for (int i = 0; i < rows->n_failed; i++)
            free(rows->failed_error[i]);
        rows->n_done = rows->n_ok = rows->n_failed = 0;
        fprintf(stderr, "siglip: embed: %s is for another model, precision or list; starting "
                "anew (this run: %s, --precision %s)\n", j->path, model->dir, model->precision);
        return start_new(j, model, rows);
    }
    if (fflush(old) || ftruncate(fileno(old), end) || fseek(old, end, SEEK_SET)) {
        fclose(old);
        return cli_error("embed: resuming from %s: %s", j->path, strerror(errno));
    }
    j->f = old;
    fprintf(stderr, "siglip: embed: resuming after %d of %d images (%s)\n", rows->n_done,
            rows->n, j->path);
    return CLI_OK;
}

int journal_append(EmbedJournal *j, const EmbedRows *r, char *const *paths, int from)
{
    int ok = r->n_ok, failed = r->n_failed; /* walk both lists back to the items of [from, done) */
    while (ok > 0 && r->ok_index[ok - 1] >= from)
        ok--;
    while (failed > 0 && r->failed_index[failed - 1] >= from)
        failed--;
    int bad = 0;
    for (int i = from; i < r->n_done && !bad; i++) {
        int is_ok = ok < r->n_ok && r->ok_index[ok] == i;
        bad = put_i32(j->f, i) || put_i32(j->f, is_ok ? 0 : 1) || put_str(j->f, paths[i]);
        if (!bad && is_ok) {
            size_t at = (size_t)ok++ * r->dim, dim = (size_t)r->dim;
            bad = fwrite(r->embeds + at, sizeof(float), dim, j->f) != dim ||
                  fwrite(r->features + at, sizeof(float), dim, j->f) != dim;
        } else if (!bad) {
            bad = put_str(j->f, r->failed_error[failed++]);
        }
    }
    if (bad || fflush(j->f) || fsync(fileno(j->f)))
        return cli_error("embed: writing %s: %s", j->path, strerror(errno));
    return CLI_OK;
}

void journal_close(EmbedJournal *j, int done)
{
    if (j->f)
        fclose(j->f);
    if (done && j->path)
        remove(j->path);
    free(j->path);
    memset(j, 0, sizeof *j);
}
