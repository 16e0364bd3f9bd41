/* index_db.c — the SQLite photo index: schema, model metadata, file rows, the embedding matrix. */
#include "index_db.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Embeddings are stored as little-endian float32 ("f32"); on a big-endian host they are swapped. */
#define INDEX_PRECISION "f32"
#define INDEX_FORMAT "siglip-index"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS images("
    " id INTEGER PRIMARY KEY,"
    " path TEXT NOT NULL UNIQUE,"   /* absolute */
    " size INTEGER NOT NULL,"       /* bytes */
    " mtime_ns INTEGER NOT NULL,"
    " embedding BLOB,"              /* [dim] f32 little-endian; NULL when the file failed */
    " error TEXT,"                  /* why the file could not be embedded, else NULL */
    " indexed_at INTEGER NOT NULL"  /* unix seconds */
    ");";

/* Where the file's volume is mounted: the highest folder above path on the same device. */
static void mount_point(const char *path, char *out, size_t cap)
{
    char cur[PATH_MAX], parent[PATH_MAX];
    struct stat a, b;
    if (!realpath(path, cur)) { /* not created yet: its folder */
        snprintf(parent, sizeof parent, "%s", path);
        if (!realpath(dirname(parent), cur))
            snprintf(cur, sizeof cur, "%s", path);
    }
    while (strcmp(cur, "/") && !stat(cur, &a)) {
        snprintf(parent, sizeof parent, "%s", cur);
        dirname(parent);
        if (stat(parent, &b) || b.st_dev != a.st_dev)
            break;
        snprintf(cur, sizeof cur, "%s", parent);
    }
    snprintf(out, cap, "%s", cur);
}

void index_volume_note(const char *path, int err, char *buf, size_t cap)
{
    if (err != ENOSPC && err != EDQUOT && err != EFBIG)
        return;
    char mnt[PATH_MAX];
    struct statvfs vfs;
    mount_point(path, mnt, sizeof mnt);
    size_t used = strlen(buf);
    if (err == EFBIG)
        snprintf(buf + used, cap - used, " (the file size limit of this process is reached)");
    else if (!statvfs(mnt, &vfs))
        snprintf(buf + used, cap - used, " (the volume mounted at %s has %llu KiB free)", mnt,
                 (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024);
    else
        snprintf(buf + used, cap - used, " (the volume mounted at %s)", mnt);
}

/* The volume note of the connection's last error: SQLITE_FULL is a full disk (or quota) even
 * where SQLite kept no errno. */
static void db_volume_note(const IndexDb *d, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!d->db)
        return;
    int code = sqlite3_errcode(d->db) & 0xff, err = sqlite3_system_errno(d->db);
    if (code == SQLITE_FULL && err != EDQUOT && err != EFBIG)
        err = ENOSPC;
    if (code == SQLITE_FULL || code == SQLITE_IOERR)
        index_volume_note(d->path, err, buf, cap);
}

static int db_error(const IndexDb *d, const char *what)
{
    char note[PATH_MAX + 160];
    db_volume_note(d, note, sizeof note);
    return cli_error("%s: %s: %s%s", d->path, what,
                     d->db ? sqlite3_errmsg(d->db) : "out of memory", note);
}

static int exec(IndexDb *d, const char *sql)
{
    char *msg = NULL, note[PATH_MAX + 160];
    if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return CLI_OK;
    db_volume_note(d, note, sizeof note);
    cli_error("%s: %s%s", d->path, msg ? msg : sqlite3_errmsg(d->db), note);
    sqlite3_free(msg);
    return CLI_ERROR;
}

/* Our tables are never added to somebody else's database: a file with tables but no meta table
 * is not an index. */
static int refuse_foreign(IndexDb *d)
{
    sqlite3_stmt *st = NULL;
    int rc = CLI_OK;
    if (sqlite3_prepare_v2(d->db, "SELECT count(*), count(*) FILTER (WHERE name = 'meta')"
                           " FROM sqlite_master WHERE type = 'table'", -1, &st, NULL) ||
        sqlite3_step(st) != SQLITE_ROW)
        rc = db_error(d, "reading the schema");
    else if (sqlite3_column_int(st, 0) > 0 && sqlite3_column_int(st, 1) == 0)
        rc = cli_error("%s is an SQLite database but not a siglip index; choose another file",
                       d->path);
    sqlite3_finalize(st);
    return rc;
}

/* Opens path through a "file:" URI (for its query parameters): '%', '?' and '#' in the path are
 * escaped. */
static int open_uri(IndexDb *d, const char *query)
{
    size_t len = strlen(d->path);
    char *uri = malloc(3 * len + strlen(query) + 8), *o = uri;
    if (!uri)
        return SQLITE_NOMEM;
    o += sprintf(o, "file:");
    for (const char *p = d->path; *p; p++)
        o += strchr("%?#", *p) ? sprintf(o, "%%%02X", (unsigned char)*p) : (*o = *p, 1);
    sprintf(o, "?%s", query);
    int rc = sqlite3_open_v2(uri, &d->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    return rc;
}

/* A reader that SQLite can't serve here: a WAL database needs its -shm (WAL index) file, which a
 * read-only folder or mount won't let it create. With no WAL pending, every committed row is in
 * the database file itself, which is then opened immutable (no -shm, no locks). */
static int open_reader_fallback(IndexDb *d)
{
    char wal[PATH_MAX];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", d->path);
    if (!stat(wal, &sb) && sb.st_size > 0)
        return cli_error("%s: can't be read here: SQLite can't create %s-shm (%s) and %s holds "
                         "commits not yet in the database; run `siglip index` on it once where "
                         "it is writable, or copy the database with its -wal file elsewhere",
                         d->path, d->path, sqlite3_errmsg(d->db), wal);
    sqlite3_close(d->db);
    d->db = NULL;
    if (open_uri(d, "immutable=1") != SQLITE_OK)
        return db_error(d, "opening the index read-only");
    sqlite3_busy_timeout(d->db, 10000);
    return CLI_OK;
}

/* The writer's claim: an exclusive flock() on the database file, released when the process ends
 * however it ends. SQLite's own locks are fcntl() locks, which closing any descriptor of the file
 * drops: this descriptor stays open until after sqlite3_close(). */
static int claim(IndexDb *d)
{
    d->lock_fd = open(d->path, O_RDONLY | O_CLOEXEC);
    if (d->lock_fd < 0)
        return cli_error("%s: %s", d->path, strerror(errno));
    d->locked = 1;
    if (!flock(d->lock_fd, LOCK_EX | LOCK_NB))
        return CLI_OK;
    if (errno == EWOULDBLOCK)
        return cli_error("%s is being updated by another `siglip index` run; wait for it to "
                         "finish (or stop it) and run this one again", d->path);
    return cli_error("%s: locking: %s", d->path, strerror(errno));
}

int index_db_open(IndexDb *d, const char *path, int writable)
{
    memset(d, 0, sizeof *d);
    d->path = path;
    if (!writable && access(path, R_OK))
        return cli_error("%s: %s", path, strerror(errno));
    /* A reader opens read-write when it may (it writes nothing): the last connection to close
     * then removes the -wal and -shm files, which a read-only one leaves behind. */
    int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READWRITE;
    if (!writable && access(path, W_OK))
        flags = SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
        int rc = db_error(d, "opening the index");
        index_db_close(d);
        return rc;
    }
    /* A second process reading (search) while another writes (index) waits instead of failing. */
    sqlite3_busy_timeout(d->db, 10000);
    int rc = writable ? claim(d) : CLI_OK;
    /* The first read makes SQLite open the WAL index: READONLY or CANTOPEN there means it could
     * not (a read-only folder or mount). */
    int probe = writable ? SQLITE_OK
                         : sqlite3_exec(d->db, "SELECT count(*) FROM sqlite_master", NULL, NULL,
                                        NULL) & 0xff;
    if (probe == SQLITE_READONLY || probe == SQLITE_CANTOPEN)
        rc = open_reader_fallback(d);
    /* WAL: readers never block the writer; synchronous=NORMAL still keeps every committed batch
     * through a crash of the process (only a power loss may lose the last commits). */
    if (rc == CLI_OK && writable)
        rc = refuse_foreign(d);
    /* 64 KiB pages (for a new file; an existing one keeps its size): a row of 768 or 1152 floats
     * fills most of a 4 KiB page alone, or spills past it; twenty fit in 64 KiB. The WAL is
     * checkpointed after every commit (wal_autocheckpoint=1: a passive checkpoint, which never
     * waits for readers) and cut back to 1 MiB when it restarts, so that it holds about one
     * batch: SQLite's default (1000 pages, here 64 MiB) let a small index need many times its
     * size on disk. */
    if (rc == CLI_OK && writable)
        rc = exec(d, "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA wal_autocheckpoint=1; PRAGMA journal_size_limit=1048576;");
    if (rc == CLI_OK && writable)
        rc = exec(d, schema_sql);
    if (rc == CLI_OK && writable &&
        (sqlite3_prepare_v2(d->db,
                            "INSERT INTO images(path, size, mtime_ns, embedding, error, indexed_at)"
                            " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(path) DO UPDATE SET"
                            " size = ?2, mtime_ns = ?3, embedding = ?4, error = ?5,"
                            " indexed_at = ?6", -1, &d->put, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(d->db, "DELETE FROM images WHERE path = ?1", -1, &d->drop,
                            NULL) != SQLITE_OK))
        rc = db_error(d, "preparing statements");
    if (rc != CLI_OK)
        index_db_close(d);
    return rc;
}

void index_db_close(IndexDb *d)
{
    sqlite3_finalize(d->put);
    sqlite3_finalize(d->drop);
    sqlite3_close(d->db);
    if (d->locked && d->lock_fd >= 0)
        close(d->lock_fd); /* after sqlite3_close: see claim() */
    memset(d, 0, sizeof *d);
}

/* Value of a meta key copied into buf; 1 found, 0 absent, -1 (printed) on a database error. */
static int meta_get(IndexDb *d, const char *key, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int prep = sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
    if (prep) {
        /* No meta table: some other SQLite database; busy, locked or damaged: say so */
        int code = prep & 0xff;
        if (code == SQLITE_BUSY || code == SQLITE_LOCKED || code == SQLITE_CORRUPT ||
            code == SQLITE_NOTADB || code == SQLITE_IOERR || code == SQLITE_CANTOPEN)
            db_error(d, "reading the metadata");
        else
            cli_error("%s is not a siglip index (%s)", d->path, sqlite3_errmsg(d->db));
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(buf, cap, "%s", v ? (const char *)v : "");
        rc = 1;
    } else if (step != SQLITE_DONE) {
        db_error(d, "reading the metadata");
        rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

int index_db_read_model(IndexDb *d, IndexModel *m, int *present)
{
    memset(m, 0, sizeof *m);
    char format[64] = "", version[32] = "", dim[32] = "", scale[64] = "", bias[64] = "",
         precision[32] = "";
    int found = meta_get(d, "format", format, sizeof format);
    *present = found == 1;
    if (found != 1)
        return found == 0 ? CLI_OK : CLI_ERROR;
    if (strcmp(format, INDEX_FORMAT))
        return cli_error("%s is not a siglip index (format '%s')", d->path, format);
    if (meta_get(d, "schema_version", version, sizeof version) != 1 ||
        atoi(version) != INDEX_SCHEMA_VERSION)
        return cli_error("%s: index schema version '%s', this siglip reads version %d", d->path,
                         version, INDEX_SCHEMA_VERSION);
    if (meta_get(d, "precision", precision, sizeof precision) != 1 ||
        strcmp(precision, INDEX_PRECISION))
        return cli_error("%s: embeddings stored as '%s', this siglip reads '%s'", d->path,
                         precision, INDEX_PRECISION);
    if (meta_get(d, "model_fingerprint", m->fingerprint, sizeof m->fingerprint) != 1 ||
        meta_get(d, "model_name", m->name, sizeof m->name) != 1 ||
        meta_get(d, "model_dir", m->dir, sizeof m->dir) != 1 ||
        meta_get(d, "dim", dim, sizeof dim) != 1 ||
        meta_get(d, "logit_scale", scale, sizeof scale) != 1 ||
        meta_get(d, "logit_bias", bias, sizeof bias) != 1)
        return cli_error("%s: the index metadata is incomplete", d->path);
    /* Indexes made before --precision existed hold f32 embeddings and no "weights" key. */
    int weights = meta_get(d, "weights", m->weights, sizeof m->weights);
    if (weights < 0)
        return CLI_ERROR;
    SiglipPrecision p;
    if (weights == 0)
        snprintf(m->weights, sizeof m->weights, "f32");
    else if (!cli_precision_parse(m->weights, &p))
        return cli_error("%s: unknown weight precision '%s' in the index", d->path, m->weights);
    char *end_dim, *end_scale, *end_bias;
    long n_dim = strtol(dim, &end_dim, 10);
    m->logit_scale = strtod(scale, &end_scale);
    m->logit_bias = strtod(bias, &end_bias);
    if (*end_dim || end_dim == dim || n_dim < 1 || n_dim > 1 << 20 || *end_scale ||
        end_scale == scale || !isfinite(m->logit_scale) || *end_bias || end_bias == bias ||
        !isfinite(m->logit_bias))
        return cli_error("%s: the index metadata is damaged (dim '%s', logit_scale '%s', "
                         "logit_bias '%s')", d->path, dim, scale, bias);
    m->dim = (int)n_dim;
    return CLI_OK;
}

int index_db_write_model(IndexDb *d, const IndexModel *m)
{
    char version[16], dim[16], scale[32], bias[32];
    snprintf(version, sizeof version, "%d", INDEX_SCHEMA_VERSION);
    snprintf(dim, sizeof dim, "%d", m->dim);
    snprintf(scale, sizeof scale, "%.9g", m->logit_scale);
    snprintf(bias, sizeof bias, "%.9g", m->logit_bias);
    const char *kv[][2] = {
        {"format", INDEX_FORMAT}, {"schema_version", version}, {"precision", INDEX_PRECISION},
        {"model_fingerprint", m->fingerprint}, {"model_name", m->name}, {"model_dir", m->dir},
        {"dim", dim}, {"logit_scale", scale}, {"logit_bias", bias},
        {"weights", m->weights}, {"created_by", siglip_version_string()},
    };
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(d->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1,
                           &st, NULL))
        return db_error(d, "writing the metadata");
    int rc = CLI_OK;
    for (size_t i = 0; i < sizeof kv / sizeof kv[0] && rc == CLI_OK; i++) {
        sqlite3_bind_text(st, 1, kv[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kv[i][1], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_error(d, "writing the metadata");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

int index_db_check_model(const char *db_path, const IndexModel *stored, const IndexModel *model)
{
    if (!strcmp(stored->fingerprint, model->fingerprint) && stored->dim == model->dim) {
        if (!strcmp(stored->weights, model->weights))
            return CLI_OK;
        return cli_error("%s holds embeddings of %s weights, this run loads the model in %s: "
                         "one index holds one weight precision (embeddings of another differ "
                         "slightly); use --precision %s, or index into a new file", db_path,
                         stored->weights, model->weights, stored->weights);
    }
    return cli_error("%s was built with another model: '%s' (fingerprint %s, %d-d embeddings, "
                     "from %s), not '%s' (fingerprint %s, %d-d); embeddings of different models "
                     "can't be compared: use that model, or index into a new file",
                     db_path, stored->name, stored->fingerprint, stored->dim, stored->dir,
                     model->name, model->fingerprint, model->dim);
}

int index_db_begin(IndexDb *d)
{
    return exec(d, "BEGIN IMMEDIATE");
}

int index_db_commit(IndexDb *d)
{
    return exec(d, "COMMIT");
}

void index_db_rollback(IndexDb *d)
{
    if (d->db && !sqlite3_get_autocommit(d->db))
        sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The stored byte order of a float. */
static void to_little_endian(uint8_t *dst, const float *src, int n)
{
    memcpy(dst, src, (size_t)n * sizeof *src);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (int i = 0; i < n; i++) {
        uint8_t *p = dst + 4 * i, t0 = p[0], t1 = p[1];
        p[0] = p[3], p[1] = p[2], p[2] = t1, p[3] = t0;
    }
#endif
}

int index_db_put(IndexDb *d, const IndexFile *f, const float *embedding, int dim,
                 const char *error)
{
    sqlite3_stmt *st = d->put;
    uint8_t *blob = NULL;
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_int64(st, 3, f->mtime_ns);
    if (embedding) {
        blob = malloc((size_t)dim * sizeof(float));
        if (!blob)
            return cli_error("%s: out of memory", d->path);
        to_little_endian(blob, embedding, dim);
        sqlite3_bind_blob(st, 4, blob, dim * (int)sizeof(float), SQLITE_STATIC);
        sqlite3_bind_null(st, 5);
    } else {
        sqlite3_bind_null(st, 4);
        sqlite3_bind_text(st, 5, error ? error : "unknown error", -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 6, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st) == SQLITE_DONE ? CLI_OK : db_error(d, "storing a row");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(blob);
    return rc;
}

int index_db_drop(IndexDb *d, const char *path)
{
    sqlite3_bind_text(d->drop, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(d->drop) == SQLITE_DONE ? CLI_OK : db_error(d, "removing a row");
    sqlite3_reset(d->drop);
    return rc;
}

int index_file_compare(const void *a, const void *b)
{
    return strcmp(((const IndexFile *)a)->path, ((const IndexFile *)b)->path);
}

void index_files_free(IndexFile *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i].path);
    free(files);
}

int index_db_files(IndexDb *d, IndexFile **files, size_t *n)
{
    *files = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    /* Sorted below by the C library's strcmp, not SQLite's collation, so bsearch agrees. */
    if (sqlite3_prepare_v2(d->db, "SELECT path, size, mtime_ns, embedding IS NULL FROM images",
                           -1, &st, NULL))
        return db_error(d, "reading the rows");
    size_t cap = 0;
    int step, rc = CLI_OK;
    while (rc == CLI_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 1024;
            IndexFile *grown = realloc(*files, cap * sizeof *grown);
            if (!grown) {
                rc = cli_error("%s: out of memory", d->path);
                break;
            }
            *files = grown;
        }
        IndexFile *f = &(*files)[*n];
        const unsigned char *p = sqlite3_column_text(st, 0);
        *f = (IndexFile){.path = strdup(p ? (const char *)p : ""),
                         .size = sqlite3_column_int64(st, 1),
                         .mtime_ns = sqlite3_column_int64(st, 2),
                         .failed = sqlite3_column_int(st, 3)};
        if (!f->path)
            rc = cli_error("%s: out of memory", d->path);
        else
            (*n)++;
    }
    if (rc == CLI_OK && step != SQLITE_DONE)
        rc = db_error(d, "reading the rows");
    sqlite3_finalize(st);
    if (rc == CLI_OK && *n)
        qsort(*files, *n, sizeof **files, index_file_compare);
    if (rc != CLI_OK) {
        index_files_free(*files, *n);
        *files = NULL;
        *n = 0;
    }
    return rc;
}

void index_matrix_free(IndexMatrix *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->paths[i]);
    free(m->paths);
    free(m->embeds);
    memset(m, 0, sizeof *m);
}

/* Reads blob as dim little-endian floats into dst. */
static void from_little_endian(float *dst, const void *blob, int dim)
{
    memcpy(dst, blob, (size_t)dim * sizeof *dst);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    to_little_endian((uint8_t *)dst, dst, dim); /* the swap is its own inverse */
#endif
}

static int all_finite(const float *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

int index_db_load_matrix(IndexDb *d, int dim, IndexMatrix *out)
{
    memset(out, 0, sizeof *out);
    out->dim = dim;
    sqlite3_stmt *st = NULL;
    sqlite3_int64 rows = 0;
    /* All rows, failed ones included: counted from the path index, without reading the blobs. */
    if (sqlite3_prepare_v2(d->db, "SELECT count(*) FROM images", -1, &st, NULL) ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_error(d, "counting the embeddings");
    }
    rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    size_t count = cli_array_size((size_t)rows, (size_t)dim);
    out->embeds = rows && count ? malloc(count * sizeof(float)) : NULL;
    out->paths = rows ? calloc((size_t)rows, sizeof *out->paths) : NULL;
    if (rows && (!out->embeds || !out->paths)) {
        index_matrix_free(out);
        return cli_error("%s: out of memory for %lld embeddings", d->path, (long long)rows);
    }
    if (sqlite3_prepare_v2(d->db, "SELECT path, embedding FROM images WHERE embedding IS NOT NULL"
                           " ORDER BY id", -1, &st, NULL)) {
        index_matrix_free(out);
        return db_error(d, "reading the embeddings");
    }
    int step = SQLITE_DONE, rc = CLI_OK;
    size_t skipped = 0;
    /* A writer may add rows between the count and this read: keep at most `rows`. */
    while (rc == CLI_OK && out->n < (size_t)rows && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(st, 0);
        const void *blob = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) != dim * (int)sizeof(float) || !p) {
            skipped++;
            continue;
        }
        float *row = out->embeds + out->n * (size_t)dim;
        from_little_endian(row, blob, dim);
        if (!all_finite(row, dim)) { /* a NaN would outrank every score: both engines skip it */
            skipped++;
            continue;
        }
        if (!(out->paths[out->n] = strdup((const char *)p)))
            rc = cli_error("%s: out of memory", d->path);
        else
            out->n++;
    }
    if (rc == CLI_OK && out->n + skipped < (size_t)rows && step != SQLITE_DONE)
        rc = db_error(d, "reading the embeddings");
    sqlite3_finalize(st);
    if (skipped)
        fprintf(stderr, "siglip: %s: %zu rows with a malformed embedding skipped\n", d->path,
                skipped);
    if (rc != CLI_OK)
        index_matrix_free(out);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int index_list_dir(const char *dir, int (*keep)(const char *name), CliList *names)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return errno;
    int first = names->n, rc = 0;
    names->owns = 1;
    struct dirent *e;
    while (!rc && (e = readdir(dp))) {
        if (!keep(e->d_name))
            continue;
        char *copy = strdup(e->d_name);
        if (!copy || cli_list_push(names, copy)) {
            free(copy);
            rc = ENOMEM;
        }
    }
    closedir(dp);
    if (names->n > first)
        qsort(names->items + first, (size_t)(names->n - first), sizeof *names->items, by_name);
    return rc;
}
