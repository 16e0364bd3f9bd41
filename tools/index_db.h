/* index_db.h — the SQLite photo index shared by `siglip index` and `siglip search`: schema, the
 * model it was built with, file rows and the embedding matrix. */
#ifndef SIGLIP_INDEX_DB_H
#define SIGLIP_INDEX_DB_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "siglip.h"

/* Version of the schema below; an index of another version is refused. */
#define INDEX_SCHEMA_VERSION 1

/* The model an index belongs to. Two models are the same when their fingerprints are: a hash of
 * config.json, the processor config, the safetensors headers and 1 MiB sampled from the weights
 * (model_id.c), so a copy of the same model in another directory is the same model. */
typedef struct IndexModel {
    char fingerprint[17];   /* 16 hex digits */
    char name[256];         /* the model directory's last component, for messages */
    char dir[PATH_MAX];     /* absolute model directory: search loads it when no -m is given */
    int dim;                /* embedding width (vision_hidden_size) */
    double logit_scale;     /* exp() applied, as SiglipModelInfo */
    double logit_bias;
    char weights[8];        /* weight precision of the embeddings (--precision; "f32" before) */
} IndexModel;

/* One indexed file as stored: the key is the absolute path. */
typedef struct IndexFile {
    char *path;
    int64_t size;
    int64_t mtime_ns;
    int failed;             /* recorded with an error instead of an embedding */
    int seen;               /* set by the indexer when this run's walk found the file */
} IndexFile;

typedef struct IndexDb {
    struct sqlite3 *db;
    struct sqlite3_stmt *put;
    struct sqlite3_stmt *drop;
    const char *path;
    int lock_fd;            /* the writer's flock()ed descriptor of the file, when locked */
    int locked;
} IndexDb;

/* Opens the index at path: writable (created when missing, switched to WAL mode, and claimed
 * with an exclusive flock() so that a second writer is refused) for the indexer, or for reading
 * (an existing file; nothing is written: a read-only file, folder or mount is opened read-only,
 * immutable when SQLite can't make its WAL index there and no WAL is pending). Prints the error
 * and returns CLI_ERROR on failure; *d is then closed. */
int index_db_open(IndexDb *d, const char *path, int writable);
void index_db_close(IndexDb *d);

/* Reads the stored model into *m; *present is 0 when the index is new (no model yet). CLI_ERROR
 * (printed) when the file is not an index of this schema. */
int index_db_read_model(IndexDb *d, IndexModel *m, int *present);
int index_db_write_model(IndexDb *d, const IndexModel *m);

/* CLI_OK when `stored` (the index's model) and `model` are the same model with the same width;
 * else prints why the index can't be used with it and returns CLI_ERROR. */
int index_db_check_model(const char *db_path, const IndexModel *stored, const IndexModel *model);

/* Transactions: every finished batch is one, so an interrupted run keeps what it committed. Each
 * commit is then checkpointed into the database (the WAL holds about one batch). */
int index_db_begin(IndexDb *d);
int index_db_commit(IndexDb *d);
/* Rolls back the transaction in progress, if any (after a failed put or commit). */
void index_db_rollback(IndexDb *d);

/* Appends to buf (a string) " (the volume mounted at M has N KiB free)" when err (an errno) is
 * ENOSPC or EDQUOT, a note on the file size limit for EFBIG, else nothing: the messages of a
 * full disk name the volume of path. */
void index_volume_note(const char *path, int err, char *buf, size_t cap);

/* Stores (inserting or replacing) the row of file f: its embedding [dim] or, when embedding is
 * NULL, the error message. */
int index_db_put(IndexDb *d, const IndexFile *f, const float *embedding, int dim,
                 const char *error);
int index_db_drop(IndexDb *d, const char *path);

/* Every stored row, sorted by path (strcmp). *files is malloc'ed; free with index_files_free(). */
int index_db_files(IndexDb *d, IndexFile **files, size_t *n);
void index_files_free(IndexFile *files, size_t n);
/* qsort/bsearch order of IndexFile: strcmp of the paths. */
int index_file_compare(const void *a, const void *b);

/* The searchable part of an index: rows with an embedding, as one matrix. */
typedef struct IndexMatrix {
    size_t n;
    int dim;
    float *embeds;          /* [n, dim] L2-normalized image embeddings */
    char **paths;           /* [n] */
} IndexMatrix;

/* Loads every embedding of the index (rows whose blob is not dim floats are skipped with a
 * warning). Prints the error and returns CLI_ERROR on failure. */
int index_db_load_matrix(IndexDb *d, int dim, IndexMatrix *out);
void index_matrix_free(IndexMatrix *m);

/* The names in folder dir that keep() accepts, sorted by strcmp, appended to *names as owned
 * strings (walks of photo folders and of model directories list them in a reproducible order).
 * Returns 0, or the errno of opendir (nothing printed; out of memory is ENOMEM). */
int index_list_dir(const char *dir, int (*keep)(const char *name), CliList *names);

/* Fills *m from a loaded model: fingerprint of dir, dimensions, logit scale/bias, and the weight
 * precision it was loaded in. */
int index_model_identify(const char *dir, const SiglipModelInfo *info, SiglipPrecision weights,
                         IndexModel *m);

/* FNV-1a 64 (model fingerprints, embed journal checksums): hashes n bytes into *h, which starts
 * at INDEX_FNV_OFFSET. Not cryptographic: it catches accidents, nobody forges one. */
#define INDEX_FNV_OFFSET 0xcbf29ce484222325ULL
void index_fnv1a(uint64_t *h, const void *data, size_t n);

#endif /* SIGLIP_INDEX_DB_H */
