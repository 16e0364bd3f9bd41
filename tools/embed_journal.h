/* embed_journal.h — what `siglip embed` keeps of its images: the rows that worked, the files that
 * failed, and the resume journal (every image's outcome appended and flushed batch by batch next
 * to the output, so that --resume skips what an interrupted run finished). */
#ifndef SIGLIP_EMBED_JOURNAL_H
#define SIGLIP_EMBED_JOURNAL_H

#include <stdio.h>

/* Outcomes of a list of n images, in list order. */
typedef struct EmbedRows {
    int n;          /* images in the list */
    int dim;
    int n_done;     /* images tried so far (the list's first n_done) */
    int n_ok;
    float *embeds;  /* [n_ok, dim] (room for n) */
    float *features;/* [n_ok, dim] (room for n) */
    int *ok_index;  /* [n_ok] list index of each row */
    int n_failed;
    int *failed_index;   /* [n_failed] */
    char **failed_error; /* [n_failed] malloc'ed messages */
} EmbedRows;

int embed_rows_alloc(EmbedRows *r, int n, int dim); /* CLI_OK or CLI_ERROR (printed) */
void embed_rows_free(EmbedRows *r);
/* Records a failure of list item `index` (the message is copied). */
int embed_rows_fail(EmbedRows *r, int index, const char *message);

typedef struct EmbedJournal {
    FILE *f;
    char *path; /* OUT.journal */
} EmbedJournal;

/* What a journal's embeddings were computed with: resuming needs the same of all. */
typedef struct JournalModel {
    const char *dir;         /* model directory, for messages */
    const char *fingerprint; /* the model's files (index_model_identify): replaced files differ */
    const char *precision;   /* --precision name: other weights give other embeddings */
    const char *shape;       /* --image-size / --max-patches as run, e.g. "model" or "48x40" */
} JournalModel;

/* Opens the journal next to out_path. With resume and a journal of the same precision, shape,
 * list and width, the outcomes it holds are loaded into rows up to its first torn or corrupt
 * record (every record carries a checksum; from there on the images are computed again);
 * a journal of another list, precision or shape is replaced by a new one, saying why. A journal
 * of another model (fingerprint) is refused: mixing rows of two models would be wrong, and
 * running without --resume starts over. Returns CLI_OK or CLI_ERROR (printed). */
int journal_open(EmbedJournal *j, const char *out_path, const JournalModel *model,
                 char *const *paths, int resume, EmbedRows *rows);

/* Appends the outcomes of list items [from, rows->n_done) and flushes them to disk. */
int journal_append(EmbedJournal *j, const EmbedRows *rows, char *const *paths, int from);

/* Closes the journal; removes its file when `done` (the output has been written). */
void journal_close(EmbedJournal *j, int done);

#endif /* SIGLIP_EMBED_JOURNAL_H */
