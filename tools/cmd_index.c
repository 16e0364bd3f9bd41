/* cmd_index.c — `siglip index`: embeds the images of folders into an SQLite index, incrementally,
 * one committed transaction per batch. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"
#include "index_db.h"

static const char usage[] =
    "Usage: siglip index -m MODEL_DIR -o INDEX.sqlite [--from FILE] [DIR|IMAGE...]\n\n"
    "Embeds every image under the folders (recursively; hidden files and folders and symbolic\n"
    "links to folders are skipped) and the images named, and stores path, size, modification\n"
    "time and embedding in an SQLite index (WAL mode) made for `siglip search`. Run it again to\n"
    "bring the index up to date: only new or changed files are embedded, rows of files that no\n"
    "longer exist are dropped. Each batch is committed when done, so an interrupted run (Ctrl-C)\n"
    "keeps its work. A file that can't be decoded is recorded with its error (see the 'error'\n"
    "column) and tried again once it changes. An index made with another model, or with another\n"
    "--precision (recorded in the index), is refused. One run at a time per index: a second is\n"
    "refused while the first runs. On a full disk the batch in flight is rolled back; the summary\n"
    "counts what was saved, and the same command completes the index once space is free.\n\n"
    "  -m, --model DIR     model directory (a SiglipModel with a vision tower)\n"
    "  -o, --output FILE   the index (created when missing)\n"
    "  --from FILE         image paths, one per line (\"-\" = standard input), indexed whatever\n"
    "                      their extension\n"
    "  --retry-errors      try again the files recorded with an error even if unchanged\n\n"
    "Folders contribute files named *.jpg, *.jpeg, *.png, *.webp, *.gif, *.bmp, *.dib, *.tga,\n"
    "*.ppm, *.pgm, *.pbm, *.pnm, *.tif, *.tiff, *.ico, *.heic, *.heif, *.avif (any case).\n";

enum { OPT_FROM = OPT_FIRST_COMMAND_OPTION };

/* Set by SIGINT/SIGTERM: the run stops after the batch in flight is committed. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* The files this run found on disk. */
typedef struct FileSet {
    IndexFile *items;
    size_t n, cap;
} FileSet;

static void fileset_free(FileSet *s)
{
    index_files_free(s->items, s->n);
    memset(s, 0, sizeof *s);
}

static int fileset_add(FileSet *s, const char *path, const struct stat *sb)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        IndexFile *grown = realloc(s->items, cap * sizeof *grown);
        if (!grown)
            return cli_error("index: out of memory");
        s->items = grown;
        s->cap = cap;
    }
    IndexFile *f = &s->items[s->n];
    *f = (IndexFile){.path = strdup(path), .size = sb->st_size,
                     .mtime_ns = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec};
    if (!f->path)
        return cli_error("index: out of memory");
    s->n++;
    return CLI_OK;
}

static int has_image_extension(const char *name)
{
    static const char *const exts[] = {"jpg", "jpeg", "jpe",  "jfif", "png", "webp",
                                       "gif", "bmp",  "dib",  "tga",  "ppm", "pgm",
                                       "pbm", "pnm",  "tif",  "tiff", "ico", "heic",
                                       "heif", "avif"};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof exts / sizeof exts[0]; i++)
        if (!strcasecmp(dot + 1, exts[i]))
            return 1;
    return 0;
}

static int is_visible(const char *name)
{
    return name[0] != '.';
}

/* Adds the image files under dir (an absolute path), in name order so runs are reproducible.
 * A folder that can't be read is reported and skipped. */
static int walk(FileSet *set, const char *dir)
{
    CliList names = {.owns = 1};
    int err = index_list_dir(dir, is_visible, &names), rc = CLI_OK;
    if (err == ENOMEM)
        rc = cli_error("index: out of memory");
    else if (err)
        fprintf(stderr, "siglip: index: skipping folder %s: %s\n", dir, strerror(err));
    for (int i = 0; i < names.n && rc == CLI_OK; i++) {
        char path[PATH_MAX];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >= (int)sizeof path)
            continue;
        if (lstat(path, &sb))
            continue;
        if (S_ISDIR(sb.st_mode)) {
            rc = walk(set, path);
            continue;
        }
        if (!has_image_extension(path))
            continue;
        if (S_ISLNK(sb.st_mode) && stat(path, &sb)) /* a link to nothing: said, as a named file */
            fprintf(stderr, "siglip: index: skipping %s: %s\n", path, strerror(errno));
        else if (S_ISREG(sb.st_mode))
            rc = fileset_add(set, path, &sb);
    }
    cli_list_free(&names);
    return rc;
}

/* A folder is walked; a file named directly (argument or --from line) is taken whatever its
 * extension. */
static int add_argument(FileSet *set, const char *arg)
{
    char abs[PATH_MAX];
    struct stat sb;
    if (!realpath(arg, abs) || stat(abs, &sb)) {
        fprintf(stderr, "siglip: index: skipping %s: %s\n", arg, strerror(errno));
        return CLI_OK;
    }
    if (S_ISDIR(sb.st_mode))
        return walk(set, abs);
    if (!S_ISREG(sb.st_mode)) {
        fprintf(stderr, "siglip: index: skipping %s: not a regular file\n", arg);
        return CLI_OK;
    }
    return fileset_add(set, abs, &sb);
}

/* What a run does, counted for the summary line. */
typedef struct Tally {
    size_t embedded, unchanged, removed, failed, pending;
} Tally;

/* One batch of files decoded to pixel values, or being decoded. */
typedef struct Decoded {
    IndexFile *const *files;
    int nb;
    int n_good;            /* images decoded, packed at the front of pixels */
    float *pixels;         /* [batch, 3, H, W] */
    const char **paths;    /* [batch] */
    int *ok;               /* [batch]: 1 when the file decoded */
    char **errors;         /* [batch]: message of each file that failed, else NULL */
} Decoded;

/* Decoding runs on its own thread, one batch ahead of the tower, with its own host-only context
 * (a context is used by one thread at a time; this one never opens a device). */
typedef struct Decoder {
    SiglipImageProcessor *proc;  /* keeps its own error message (siglip_image_processor_error) */
    SiglipContext *own_ctx;      /* the decoder's own context and processor, when it has them */
    SiglipImageProcessor *own_proc;
    int serial;                  /* 1: decode on the main thread, with the model's processor */
    size_t image_floats;         /* 3 · H · W */
    CliAhead ahead;
} Decoder;

typedef struct IndexJob {
    SiglipContext *ctx;
    SiglipModel *model;
    IndexDb db;
    int batch;
    int dim;
    Decoder decoder;
    Decoded decoded[2];    /* double buffer: one encoded while the other is decoded */
    float *embeds;         /* [batch, dim] */
} IndexJob;

/* Decodes the batch: all at once when every file is good, else one by one so a bad file fails
 * alone. */
static void decode_batch(const Decoder *d, Decoded *b)
{
    for (int i = 0; i < b->nb; i++) {
        b->paths[i] = b->files[i]->path;
        b->ok[i] = 1;
        b->errors[i] = NULL;
    }
    b->n_good = b->nb;
    if (siglip_preprocess_files(d->proc, b->paths, b->nb, b->pixels) == SIGLIP_OK)
        return;
    b->n_good = 0;
    for (int i = 0; i < b->nb; i++) {
        float *slot = b->pixels + (size_t)b->n_good * d->image_floats;
        b->ok[i] = siglip_preprocess_files(d->proc, &b->paths[i], 1, slot) == SIGLIP_OK;
        if (b->ok[i])
            b->n_good++;
        else /* NULL when out of memory: stored as "unknown error" */
            b->errors[i] = strdup(siglip_image_processor_error(d->proc));
    }
}

/* decode_batch() as cli_ahead_start calls it: without a thread, right there. */
static void decode_ahead(void *d, void *b)
{
    decode_batch(d, b);
}

/* Embeds and stores one decoded batch in one transaction; the tally counts it once committed
 * (a failed commit, e.g. on a full disk, saved none of it). */
static int store_batch(IndexJob *job, Decoded *b, Tally *t)
{
    int rc = CLI_OK;
    size_t embedded = 0, failed = 0;
    if (b->n_good) {
        SiglipImageOutput out = {NULL, job->embeds, NULL};
        int st = siglip_encode_image(job->model, b->pixels, b->n_good, &out);
        if (st)
            rc = cli_lib_error(job->ctx, st, "index: embedding %s%s", b->paths[0],
                               b->nb > 1 ? " ..." : "");
    }
    if (rc == CLI_OK)
        rc = index_db_begin(&job->db);
    for (int i = 0, good = 0; i < b->nb && rc == CLI_OK; i++) {
        const float *e = b->ok[i] ? job->embeds + (size_t)good++ * job->dim : NULL;
        if (!b->ok[i])
            fprintf(stderr, "siglip: index: unreadable: %s\n",
                    b->errors[i] ? b->errors[i] : b->paths[i]);
        *(b->ok[i] ? &embedded : &failed) += 1;
        rc = index_db_put(&job->db, b->files[i], e, job->dim, b->errors[i]);
    }
    if (rc == CLI_OK)
        rc = index_db_commit(&job->db);
    if (rc == CLI_OK) {
        t->embedded += embedded;
        t->failed += failed;
    } else {
        index_db_rollback(&job->db);
    }
    for (int i = 0; i < b->nb; i++) {
        free(b->errors[i]);
        b->errors[i] = NULL;
    }
    return rc;
}

/* Batch i is encoded while batch i + 1 is decoded. */
static int embed_all(IndexJob *job, IndexFile **todo, size_t n, Tally *t)
{
    CliProgress progress;
    cli_progress_start(&progress, (long)n, "images");
    int rc = CLI_OK, cur = 0;
    size_t done = 0, batch = (size_t)job->batch;
    if (n) {
        job->decoded[0].files = todo;
        job->decoded[0].nb = n < batch ? (int)n : job->batch;
        decode_batch(&job->decoder, &job->decoded[0]);
    }
    for (; done < n && rc == CLI_OK && !interrupted; done += batch, cur ^= 1) {
        Decoded *now = &job->decoded[cur], *next = &job->decoded[cur ^ 1];
        if (done + batch < n) {
            next->files = todo + done + batch;
            next->nb = n - done - batch < batch ? (int)(n - done - batch) : job->batch;
            cli_ahead_start(&job->decoder.ahead, job->decoder.serial, decode_ahead, &job->decoder,
                            next);
        }
        rc = store_batch(job, now, t);
        cli_ahead_wait(&job->decoder.ahead);
        cli_progress_update(&progress, (long)(done + (size_t)now->nb));
    }
    cli_progress_end(&progress);
    t->pending = done < n ? n - done : 0;
    /* A batch decoded ahead but never stored still owns its error strings. */
    for (int i = 0; i < job->decoded[cur].nb && done < n; i++)
        free(job->decoded[cur].errors[i]);
    return rc;
}

/* Files to embed: new ones, changed ones (size or mtime), and with retry_errors the failed ones.
 * Marks the stored rows this run found. */
static int plan(FileSet *found, IndexFile *stored, size_t n_stored, int retry_errors,
                IndexFile ***todo, size_t *n_todo, Tally *t)
{
    *todo = found->n ? malloc(found->n * sizeof **todo) : NULL;
    *n_todo = 0;
    if (found->n && !*todo)
        return cli_error("index: out of memory");
    for (size_t i = 0; i < found->n; i++) {
        IndexFile *f = &found->items[i];
        /* The same file named twice (a folder and a file in it) is one row. */
        if (i > 0 && !strcmp(f->path, found->items[i - 1].path))
            continue;
        IndexFile *row =
            n_stored ? bsearch(f, stored, n_stored, sizeof *stored, index_file_compare) : NULL;
        if (row)
            row->seen = 1;
        if (row && row->size == f->size && row->mtime_ns == f->mtime_ns &&
            !(row->failed && retry_errors))
            t->unchanged++;
        else
            (*todo)[(*n_todo)++] = f;
    }
    return CLI_OK;
}

/* Drops the rows of files that no longer exist (a file this run did not walk but that still
 * exists, e.g. under a folder not named this time, keeps its row). */
static int drop_deleted(IndexDb *db, const IndexFile *stored, size_t n_stored, Tally *t)
{
    int rc = index_db_begin(db);
    size_t removed = 0;
    for (size_t i = 0; i < n_stored && rc == CLI_OK; i++) {
        struct stat sb;
        if (stored[i].seen || !stat(stored[i].path, &sb) || (errno != ENOENT && errno != ENOTDIR))
            continue;
        rc = index_db_drop(db, stored[i].path);
        removed++;
    }
    if (rc == CLI_OK)
        rc = index_db_commit(db);
    if (rc == CLI_OK)
        t->removed += removed;
    else
        index_db_rollback(db);
    return rc;
}

/* Checks (or, for a new index, records) the model the index belongs to. */
static int bind_model(IndexJob *job, const char *db_path, const char *model_dir,
                      const SiglipModelInfo *info, SiglipPrecision weights)
{
    IndexModel model, stored;
    int present = 0, rc = index_model_identify(model_dir, info, weights, &model);
    if (rc == CLI_OK)
        rc = index_db_read_model(&job->db, &stored, &present);
    if (rc == CLI_OK && present)
        rc = index_db_check_model(db_path, &stored, &model);
    if (rc != CLI_OK)
        return rc;
    /* Rewritten each run: the model directory recorded is the last one used. */
    return index_db_write_model(&job->db, &model);
}

static int update_index(IndexJob *job, const CliList *args, int retry_errors, Tally *t)
{
    FileSet found = {0};
    IndexFile *stored = NULL, **todo = NULL;
    size_t n_stored = 0, n_todo = 0;
    int rc = CLI_OK;
    for (int i = 0; i < args->n && rc == CLI_OK; i++)
        rc = add_argument(&found, args->items[i]);
    if (found.n)
        qsort(found.items, found.n, sizeof *found.items, index_file_compare);
    if (rc == CLI_OK)
        rc = index_db_files(&job->db, &stored, &n_stored);
    if (rc == CLI_OK)
        rc = plan(&found, stored, n_stored, retry_errors, &todo, &n_todo, t);
    if (rc == CLI_OK)
        rc = drop_deleted(&job->db, stored, n_stored, t);
    if (rc == CLI_OK)
        rc = embed_all(job, todo, n_todo, t);
    free(todo);
    index_files_free(stored, n_stored);
    fileset_free(&found);
    return rc;
}

/* The decoder's context and image processor: its own, so that it can run on its own thread,
 * unless the directory has no processor config (the loader's defaults are 224×224, while the
 * model's own processor is sized to the model): then the model's, on the main thread. */
static int prepare_decoder(IndexJob *job, const CliCommon *c, const char *model_dir,
                           const SiglipModelInfo *info)
{
    Decoder *d = &job->decoder;
    int rc = cli_open_context(c, &d->own_ctx);
    if (rc != CLI_OK)
        return rc;
    int st = siglip_image_processor_load(d->own_ctx, model_dir, &d->own_proc);
    if (st)
        return cli_lib_error(d->own_ctx, st, "index: image processor of %s", model_dir);
    int h = 0, w = 0;
    siglip_image_processor_size(d->own_proc, &h, &w);
    d->serial = h != info->image_size || w != info->image_width;
    d->proc = d->serial ? siglip_model_image_processor(job->model) : d->own_proc;
    if (cli_check_processor("index", job->model, d->proc))
        return CLI_ERROR;
    siglip_image_processor_size(d->proc, &h, &w);
    d->image_floats = (size_t)3 * (size_t)h * (size_t)w;
    return CLI_OK;
}

/* The two batch buffers and the embeddings of one batch. */
static int allocate_buffers(IndexJob *job, const SiglipModelInfo *info)
{
    size_t pixels = cli_array_size((size_t)job->batch, job->decoder.image_floats);
    for (int b = 0; b < 2; b++) {
        Decoded *d = &job->decoded[b];
        d->pixels = pixels ? malloc(pixels * sizeof(float)) : NULL;
        d->paths = calloc((size_t)job->batch, sizeof *d->paths);
        d->ok = calloc((size_t)job->batch, sizeof *d->ok);
        d->errors = calloc((size_t)job->batch, sizeof *d->errors);
        if (!d->pixels || !d->paths || !d->ok || !d->errors)
            return cli_error("index: out of memory for a batch of %d images", job->batch);
    }
    job->dim = info->vision_hidden_size;
    job->embeds = malloc((size_t)job->batch * (size_t)job->dim * sizeof(float));
    return job->embeds ? CLI_OK : cli_error("index: out of memory");
}

static void free_job(IndexJob *job)
{
    index_db_close(&job->db);
    for (int b = 0; b < 2; b++) {
        free(job->decoded[b].pixels);
        free(job->decoded[b].paths);
        free(job->decoded[b].ok);
        free(job->decoded[b].errors);
    }
    free(job->embeds);
    siglip_image_processor_free(&job->decoder.own_proc);
    siglip_context_close(&job->decoder.own_ctx);
    siglip_model_free(&job->model);
    siglip_context_close(&job->ctx);
}

static int load_and_run(const CliCommon *c, const char *model_dir, const char *db_path,
                        const CliList *args, int retry_errors)
{
    IndexJob job = {.batch = c->batch};
    SiglipModelInfo info;
    Tally t = {0};
    int rc = cli_open_context(c, &job.ctx);
    if (rc == CLI_OK)
        rc = cli_load_model(job.ctx, model_dir, &job.model);
    if (rc == CLI_OK) {
        siglip_model_info(job.model, &info);
        if (info.architecture != SIGLIP_ARCH_MODEL)
            rc = cli_error("index: %s has no image embeddings (an image-classification model); "
                           "use a SiglipModel", model_dir);
    }
    if (rc == CLI_OK)
        rc = index_db_open(&job.db, db_path, 1);
    if (rc == CLI_OK && (rc = bind_model(&job, db_path, model_dir, &info, c->precision)) == CLI_OK)
        rc = prepare_decoder(&job, c, model_dir, &info);
    if (rc == CLI_OK)
        rc = allocate_buffers(&job, &info);
    if (rc == CLI_OK) {
        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = update_index(&job, args, retry_errors, &t);
    }
    if (rc == CLI_OK || t.embedded || t.failed)
        printf("%s: %zu embedded, %zu unreadable, %zu unchanged, %zu removed\n", db_path,
               t.embedded, t.failed, t.unchanged, t.removed);
    if (rc == CLI_OK && interrupted) {
        fprintf(stderr, "siglip: index: interrupted with %zu files left; the finished batches "
                        "are saved, run the same command again to go on\n", t.pending);
        rc = 130;
    }
    free_job(&job);
    return rc;
}

/* What the options fill besides the common ones. */
typedef struct IndexArgs {
    CliList paths; /* folders and images, owned */
    const char *db_path;
    int retry_errors;
} IndexArgs;

static int index_option(void *arg, const CliCommon *c, int opt, char *value)
{
    IndexArgs *a = arg;
    switch (opt) {
    case 'o':
        a->db_path = value;
        return CLI_OK;
    case OPT_FROM:
        return cli_list_read_lines(&a->paths, value) ? CLI_ERROR : CLI_OK;
    default:
        return CLI_NOT_MINE;
    }
}

int cmd_index(int argc, char **argv)
{
    CliCommon c;
    IndexArgs a = {.paths = {.owns = 1}};
    const struct option own[] = {
        {"output", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, OPT_FROM},
        {"retry-errors", no_argument, &a.retry_errors, 1},
    };
    CliParser p = {.shortopts = ":hm:o:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = index_option, .arg = &a};
    int r = cli_parse_options(&c, "index", argc, argv, &p);
    for (int i = optind; i < argc && r < 0; i++) {
        char *copy = strdup(argv[i]);
        if (!copy || cli_list_push(&a.paths, copy)) {
            free(copy);
            r = cli_error("index: out of memory");
        }
    }
    if (r < 0 && !a.db_path)
        r = cli_usage_error(c.cmd, "-o INDEX.sqlite is required");
    if (r < 0 && !a.paths.n)
        r = cli_usage_error(c.cmd, "nothing to index: give folders, images or --from FILE");
    if (r < 0)
        r = load_and_run(&c, p.model_dir, a.db_path, &a.paths, a.retry_errors);
    cli_list_free(&a.paths);
    return r;
}
