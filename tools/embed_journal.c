/* embed_journal.c — the rows `siglip embed` collects and its resume journal: a header (magic,
 * list length, width, model fingerprint, directory, precision, shape) then one record per image:
 * index, status, path, and either embeds + features (2·dim floats, host order) or the error
 * message; the header and each record end with the FNV-1a 64 of their bytes. */
#include "embed_journal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "index_db.h"

static const char journal_magic[] = "SIGLIP-EMBED-JOURNAL 3\n"; /* 3: + fingerprint, checksums */

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

/* A failed write of the journal, the volume named when it is full. */
static int journal_error(const EmbedJournal *j, int err)
{
    char note[PATH_MAX + 160] = "";
    index_volume_note(j->path, err, note, sizeof note);
    return cli_error("embed: writing %s: %s%s", j->path, strerror(err), note);
}

/* The journal's writes and reads go through these, which hash every byte. */
typedef struct Stream {
    FILE *f;
    uint64_t h;
    int bad;    /* a write failed, or a read came short (a torn record) */
} Stream;

static void put(Stream *s, const void *p, size_t n)
{
    if (!s->bad && fwrite(p, 1, n, s->f) != n)
        s->bad = 1;
    index_fnv1a(&s->h, p, n);
}

static void put_i32(Stream *s, int32_t v)
{
    put(s, &v, sizeof v);
}

static void put_str(Stream *s, const char *str)
{
    size_t n = strlen(str);
    put_i32(s, (int32_t)n);
    put(s, str, n);
}

/* Ends a header or record with the hash of its bytes, and starts the next one's. */
static void put_sum(Stream *s)
{
    uint64_t sum = s->h;
    if (!s->bad && fwrite(&sum, sizeof sum, 1, s->f) != 1)
        s->bad = 1;
    s->h = INDEX_FNV_OFFSET;
}

static int get(Stream *s, void *p, size_t n)
{
    if (s->bad || fread(p, 1, n, s->f) != n)
        return s->bad = 1, -1;
    index_fnv1a(&s->h, p, n);
    return 0;
}

static int get_i32(Stream *s, int32_t *v)
{
    return get(s, v, sizeof *v);
}

/* A length-prefixed string of at most `cap` bytes, malloc'ed; NULL at a torn or bad record. */
static char *get_str(Stream *s, size_t cap)
{
    int32_t n;
    if (get_i32(s, &n) || n < 0 || (size_t)n > cap)
        return NULL;
    char *str = malloc((size_t)n + 1);
    if (str && get(s, str, (size_t)n)) {
        free(str);
        return NULL;
    }
    if (str)
        str[n] = '\0';
    return str;
}

/* 0 when the stored hash matches the bytes read since the last one. */
static int get_sum(Stream *s)
{
    uint64_t want = s->h, sum;
    s->h = INDEX_FNV_OFFSET;
    if (s->bad || fread(&sum, sizeof sum, 1, s->f) != 1)
        return s->bad = 1, -1;
    return sum == want ? 0 : -1;
}

#define JOURNAL_MAX_STRING (1 << 20)

/* Reads one record into rows; 0, or -1 at a torn or corrupt record or one that doesn't match the
 * list (rows are then as before). */
static int read_record(Stream *s, char *const *paths, EmbedRows *r)
{
    int32_t index, status;
    if (get_i32(s, &index) || get_i32(s, &status) || index != r->n_done)
        return -1;
    char *path = get_str(s, JOURNAL_MAX_STRING), *msg = NULL;
    int rc = path && strcmp(path, paths[index]) == 0 ? 0 : -1;
    free(path);
    size_t at = (size_t)r->n_ok * r->dim, dim = (size_t)r->dim;
    if (rc == 0 && status == 0)
        rc = get(s, r->embeds + at, dim * sizeof(float)) ||
             get(s, r->features + at, dim * sizeof(float)) ? -1 : 0;
    else if (rc == 0)
        rc = (msg = get_str(s, JOURNAL_MAX_STRING)) ? 0 : -1;
    if (rc == 0)
        rc = get_sum(s);
    if (rc) {
        free(msg);
        return -1;
    }
    if (status == 0) {
        r->ok_index[r->n_ok++] = index;
    } else {
        r->failed_index[r->n_failed] = index;
        r->failed_error[r->n_failed++] = msg;
    }
    r->n_done++;
    return 0;
}

/* How a journal's header compares with this run. */
enum { HEADER_SAME, HEADER_OTHER, HEADER_OTHER_MODEL };

/* Reads and checks the header; HEADER_OTHER_MODEL (the journal's fingerprint and directory in
 * theirs) when only the model differs. */
static int read_header(Stream *s, const JournalModel *m, const EmbedRows *r, char *theirs,
                       size_t cap)
{
    char magic[sizeof journal_magic - 1];
    int32_t n, dim;
    if (get(s, magic, sizeof magic) || memcmp(magic, journal_magic, sizeof magic) ||
        get_i32(s, &n) || get_i32(s, &dim))
        return HEADER_OTHER;
    char *fp = get_str(s, 64), *dir = get_str(s, JOURNAL_MAX_STRING),
         *precision = get_str(s, 64), *shape = get_str(s, 64);
    int rc = !fp || !dir || !precision || !shape || get_sum(s) ? HEADER_OTHER : HEADER_SAME;
    if (rc == HEADER_SAME && (n != r->n || dim != r->dim || strcmp(precision, m->precision) ||
                              strcmp(shape, m->shape)))
        rc = HEADER_OTHER;
    if (rc == HEADER_SAME && strcmp(fp, m->fingerprint)) {
        snprintf(theirs, cap, "fingerprint %s, from %s", fp, dir);
        rc = HEADER_OTHER_MODEL;
    }
    free(fp);
    free(dir);
    free(precision);
    free(shape);
    return rc;
}

static int start_new(EmbedJournal *j, const JournalModel *m, const EmbedRows *r)
{
    j->f = fopen(j->path, "wb");
    if (!j->f)
        return cli_error("embed: creating %s: %s", j->path, strerror(errno));
    Stream s = {j->f, INDEX_FNV_OFFSET, 0};
    put(&s, journal_magic, sizeof journal_magic - 1);
    put_i32(&s, r->n);
    put_i32(&s, r->dim);
    put_str(&s, m->fingerprint);
    put_str(&s, m->dir);
    put_str(&s, m->precision);
    put_str(&s, m->shape);
    put_sum(&s);
    if (s.bad || fflush(j->f))
        return journal_error(j, errno);
    return CLI_OK;
}

/* Forgets what a rejected journal loaded. */
static void reset_rows(EmbedRows *rows)
{
    for (int i = 0; i < rows->n_failed; i++) {
        free(rows->failed_error[i]);
        rows->failed_error[i] = NULL;
    }
    rows->n_done = rows->n_ok = rows->n_failed = 0;
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
    Stream s = {old, INDEX_FNV_OFFSET, 0};
    char theirs[PATH_MAX + 64] = "";
    int header = read_header(&s, model, rows, theirs, sizeof theirs);
    if (header == HEADER_OTHER_MODEL) {
        fclose(old);
        return cli_error("embed: %s was written with another model (%s) than this run's "
                         "(fingerprint %s, from %s): its rows can't be mixed with this model's; "
                         "run without --resume to start over", j->path, theirs,
                         model->fingerprint, model->dir);
    }
    if (header != HEADER_SAME) {
        fclose(old);
        fprintf(stderr, "siglip: embed: %s is for another model, precision or list, or its "
                "header is damaged; starting anew (this run: %s, --precision %s)\n", j->path,
                model->dir, model->precision);
        return start_new(j, model, rows);
    }
    long end = ftell(old);
    while (rows->n_done < rows->n && read_record(&s, paths, rows) == 0)
        end = ftell(old);
    if (rows->n_done < rows->n && !feof(old))
        fprintf(stderr, "siglip: embed: %s: the record of image %d is damaged; it and the images "
                "after it are computed again\n", j->path, rows->n_done + 1);
    if (fflush(old) || ftruncate(fileno(old), end) || fseek(old, end, SEEK_SET)) {
        fclose(old);
        reset_rows(rows);
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
    Stream s = {j->f, INDEX_FNV_OFFSET, 0};
    for (int i = from; i < r->n_done && !s.bad; i++) {
        int is_ok = ok < r->n_ok && r->ok_index[ok] == i;
        put_i32(&s, i);
        put_i32(&s, is_ok ? 0 : 1);
        put_str(&s, paths[i]);
        if (is_ok) {
            size_t at = (size_t)ok++ * r->dim, dim = (size_t)r->dim;
            put(&s, r->embeds + at, dim * sizeof(float));
            put(&s, r->features + at, dim * sizeof(float));
        } else {
            put_str(&s, r->failed_error[failed++]);
        }
        put_sum(&s);
    }
    if (s.bad || fflush(j->f) || fsync(fileno(j->f)))
        return journal_error(j, errno);
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
