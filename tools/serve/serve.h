/* serve.h — `siglip serve`: what its parts share (device batcher, host kits, request parsing,
 * metrics, the HTTP layer). */
#ifndef SIGLIP_SERVE_H
#define SIGLIP_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "siglip.h"

/* ---- device batcher (serve_batcher.c) ----
 * One worker thread owns the model (a SiglipContext is used by one thread at a time) and runs the
 * queued units in coalesced device batches. Host threads prepare inputs, submit a job and wait. */

typedef enum UnitKind {
    UNIT_TEXT = 0,     /* ids/mask [n, T] → embeds [n, Dp] */
    UNIT_IMAGE = 1,    /* images (serve_image_floats) → embeds [n, D] */
    UNIT_CLASSIFY = 2, /* images → classifier logits [n, num_labels] */
    UNIT_KINDS = 3,
} UnitKind;

typedef enum UnitState { UNIT_IDLE = 0, UNIT_QUEUED, UNIT_RUNNING, UNIT_DONE } UnitState;

typedef struct Job Job;

/* Status of a unit withdrawn at its request's deadline before it reached the device. */
#define UNIT_WITHDRAWN 1

/* One kind of device work of one request. Inputs and output belong to the request. */
typedef struct Unit {
    UnitKind kind;
    int n;                  /* items */
    const int32_t *ids;     /* [n, T] (text) */
    const int32_t *mask;    /* [n, T] (text) */
    const float *pixels;    /* [n, serve_image_floats] (image, classify) */
    const int32_t *patch_mask; /* NaFlex: pixel_attention_mask [n, N] */
    const int32_t *spatial_shapes; /* NaFlex: (h, w) [n, 2] */
    float *out;             /* [n, width of the kind] */
    /* filled by the worker */
    UnitState state;
    int status;             /* SIGLIP_OK, the library's status, or UNIT_WITHDRAWN */
    char error[256];        /* the library's message when status != 0 */
    double queued_at;
    Job *job;
    struct Unit *next;      /* queue link */
} Unit;

/* Runs on the worker thread, with the model, once every unit of the job is done (zero-shot
 * logits need both towers' embeds). Returns a SIGLIP status; message into error. */
typedef int (*JobFinish)(SiglipModel *model, Job *job, char *error, size_t size);

struct Job {
    Unit units[2];
    int n_units;
    JobFinish finish;       /* may be NULL */
    void *finish_arg;
    int pending;            /* units not yet done */
    int finish_status;
    char finish_error[256];
    pthread_cond_t done;
};

typedef struct BatcherStats {
    uint64_t batches;       /* device calls made */
    uint64_t batch_hist[9]; /* device batches of ≤1, ≤2, ≤4, ... ≤128, more items */
    uint64_t items;         /* items run */
    int queued_items;       /* items waiting for the device now */
    int reserved_items;     /* items admitted and not yet answered */
    int capacity;           /* the most items admitted at once */
} BatcherStats;

typedef struct Batcher Batcher;

/* Floats of one image as the device takes it: pixel_values [3, S, S]; for a SigLIP 2 NaFlex model
 * (info->max_patches N > 0, the processor's budget) a patch list [N, C·P·P], which comes with
 * its pixel_attention_mask row [N] and its grid (h, w). */
static inline size_t serve_image_floats(const SiglipModelInfo *info)
{
    size_t patch = (size_t)info->num_channels * (size_t)info->patch_size * (size_t)info->patch_size;
    return info->max_patches ? (size_t)info->max_patches * patch
                             : (size_t)3 * (size_t)info->image_size * (size_t)info->image_size;
}

typedef struct BatcherConfig {
    SiglipContext *ctx;     /* the model's context: used by the worker thread only from */
    SiglipModel *model;     /* batcher_start on */
    int max_batch;          /* items per device call */
    double max_wait_s;      /* how long the first queued unit waits for others to join it */
    int capacity;           /* items admitted at once (queued + running + being prepared) */
} BatcherConfig;

int batcher_start(Batcher **out, const BatcherConfig *cfg);
/* CLOCK_MONOTONIC condition variables, waited on with deadlines in cli_now() seconds. */
int serve_cond_init(pthread_cond_t *c);
void serve_timespec(double t, struct timespec *ts);
/* Sets *stop under lock, wakes the waiters on wake and joins the thread (which waits on wake for
 * *stop). */
void serve_thread_stop(pthread_mutex_t *lock, pthread_cond_t *wake, int *stop, pthread_t thread);
/* From now on batches run as soon as the device is free, without waiting to fill up (shutdown). */
void batcher_flush(Batcher *b);
/* Whether at least one more item would be admitted now. */
int batcher_has_room(Batcher *b);
/* Lets the queue run empty, then joins the worker and frees the batcher. */
void batcher_stop(Batcher **b);
/* Admission: reserves room for n items. 0, -1 when the queue is full now, -2 when n exceeds
 * its capacity. */
int batcher_reserve(Batcher *b, int n);
void batcher_release(Batcher *b, int n);
/* Queues the job's units and waits until they are done or `deadline` (cli_now() seconds) passes.
 * 0 when done (each unit's status says how it went), -1 on the deadline: units not yet started
 * are withdrawn; a unit already on the device is waited for, so the job's buffers are free to
 * release on return either way. */
int batcher_run(Batcher *b, Job *job, double deadline);
void batcher_stats(Batcher *b, BatcherStats *out);

/* ---- host kits (serve_kits.c) ----
 * Tokenizing and decoding on host threads need handles of their own: a kit is a host-only context
 * with a tokenizer and an image processor, checked out by one request at a time. */

typedef struct Kit {
    SiglipContext *ctx;
    SiglipTokenizer *tok;          /* NULL when the model directory has none */
    SiglipImageProcessor *proc;
    struct Kit *next;
} Kit;

typedef struct KitPool KitPool;

typedef struct KitPoolConfig {
    const char *model_dir;
    int n_kits;
    uint64_t max_image_pixels;
    int image_size;                /* what the model expects: a processor must produce it */
    int max_patches;               /* NaFlex: the budget the processors must have (else 0) */
    int patch_size;                /* NaFlex: the model's P, the processors' too */
    int immich;                    /* Immich's preprocessing (siglip_image_processor_set_immich
                                    * with the model directory's preprocess_cfg.json) */
} KitPoolConfig;

/* Creates the kits; on failure writes one line into error and returns a negative status. */
int kit_pool_create(KitPool **out, const KitPoolConfig *cfg, char *error, size_t size);
void kit_pool_free(KitPool **pool);
/* Waits for a free kit until deadline; NULL when the deadline passed. */
Kit *kit_acquire(KitPool *pool, double deadline);
void kit_release(KitPool *pool, Kit *kit);

/* Per-request limits (ServiceLimits) are defined with the API below. */
typedef struct ServiceLimits ServiceLimits;

/* ---- request bodies (serve_parse.c) ---- */

/* Bytes of one input, pointing into the request body or into `owned`. */
typedef struct Bytes {
    const unsigned char *data;
    size_t size;
    unsigned char *owned;          /* decoded base64, freed with the request */
} Bytes;

/* One input of /v1/embeddings: a text (NUL-terminated, owned) or an image's encoded bytes. */
typedef struct Input {
    char *text;                    /* NULL for an image */
    Bytes image;
} Input;

typedef struct EmbedRequest {
    Input *inputs;
    int n;
    int base64_output;             /* encoding_format "base64" */
    int dimensions;                /* "dimensions" asked for, 0 when left out */
} EmbedRequest;

typedef struct ClassifyRequest {
    Bytes *images;
    int n_images;
    int single;                    /* "image" was one value: answer with one list, not a list of lists */
    char **labels;                 /* candidate_labels (owned) */
    int n_labels;
    char *template_;               /* hypothesis_template or NULL (owned) */
    int top_k;                     /* 0 = all */
} ClassifyRequest;

/* Why a request body was refused: a one-line message, and the request field at fault when one
 * is (OpenAI's error "param"), else "". */
typedef struct ParseError {
    char message[512];
    char param[64];
} ParseError;

/* Parse a body as JSON or multipart/form-data (content_type decides). 0, or -1 with a one-line
 * reason in error. The request may point into body: keep body until the request is freed. */
int parse_embed_request(const char *content_type, const unsigned char *body, size_t size,
                        const ServiceLimits *lim, EmbedRequest *out, ParseError *error);
int parse_classify_request(const char *content_type, const unsigned char *body, size_t size,
                           const ServiceLimits *lim, ClassifyRequest *out, ParseError *error);
void embed_request_free(EmbedRequest *r);
void classify_request_free(ClassifyRequest *r);

/* POST /v1/search: {"query": text | {"image": base64}, "top_k": K (default 10)}; JSON only. */
typedef struct SearchRequest {
    Input query;
    int top_k;
} SearchRequest;
int parse_search_request(const char *content_type, const unsigned char *body, size_t size,
                         SearchRequest *out, ParseError *error);
void search_request_free(SearchRequest *r);

/* One part of a multipart/form-data body; data points into the body. */
typedef struct Part {
    char name[64];
    int has_filename;
    const unsigned char *data;
    size_t size;
} Part;

typedef struct Form {
    Part *parts;                   /* malloc'ed (free it, also after a failure) */
    int n;
} Form;

/* Splits a multipart/form-data body (boundary from content_type) into at most max_parts parts.
 * 0, or -1 with a one-line reason in error. */
int parse_form(const char *content_type, const unsigned char *body, size_t size, int max_parts,
               Form *form, ParseError *error);
/* A part's data as a malloc'ed NUL-terminated string, or NULL when out of memory. */
char *part_string(const Part *p);
/* 0 when a (text) part is valid UTF-8, else -1 with a one-line reason naming it. */
int part_check_utf8(const Part *p, ParseError *error);
/* The offset of the first byte of s[0, n) that is not well-formed UTF-8, or n. */
size_t utf8_invalid_at(const unsigned char *s, size_t n);
/* Whether a Content-Type is multipart/form-data. */
int is_multipart(const char *content_type);

/* Whether a string of the JSON text body[0, size) holds U+0000, escaped (\u0000) or raw: cJSON
 * ends its strings at the first NUL. */
int json_string_has_nul(const unsigned char *body, size_t size);

/* Decodes standard base64 (optionally after a "data:...;base64," prefix; line breaks ignored).
 * Returns a malloc'ed buffer and its size, or NULL when the text is not base64 or out of memory. */
unsigned char *base64_decode(const char *text, size_t len, size_t *out_size);
/* Writes standard base64 of n bytes to f. */
void base64_write(FILE *f, const void *data, size_t n);

/* ---- metrics (serve_metrics.c) ---- */

typedef enum Endpoint {
    EP_EMBEDDINGS = 0,
    EP_CLASSIFY,
    EP_MODELS,                     /* GET /v1/models */
    EP_HEALTH,
    EP_METRICS,
    EP_SEARCH,
    EP_PREDICT,                    /* --immich: Immich's machine-learning API (serve_immich.c) */
    EP_PING,
    EP_ROOT,
    EP_MODEL,                      /* GET /v1/models/{id}: OpenAI's models.retrieve */
    EP_OTHER,
    EP_COUNT
} Endpoint;

/* The endpoints that take a POST body and run on the device. */
static inline int endpoint_is_work(Endpoint ep)
{
    return ep == EP_EMBEDDINGS || ep == EP_CLASSIFY || ep == EP_SEARCH || ep == EP_PREDICT;
}

/* The endpoints of Immich's machine-learning API (serve_immich.c), served with --immich only. */
static inline int endpoint_is_immich(Endpoint ep)
{
    return ep == EP_PREDICT || ep == EP_PING || ep == EP_ROOT;
}

/* The endpoint whose path is url (Immich's only when immich is set), or EP_OTHER. */
Endpoint endpoint_find(const char *url, int immich);

typedef struct Metrics Metrics;

Metrics *metrics_create(void);
void metrics_free(Metrics **m);
/* Records one answered request. */
void metrics_request(Metrics *m, Endpoint ep, int status, double seconds);
/* Writes the Prometheus text exposition into f. */
void metrics_write(Metrics *m, FILE *f, const BatcherStats *b, int in_flight);

/* ---- the photo index of --index (serve_search.c) ----
 * The index's embeddings are loaded once at start into a top-k engine (tools/topk.h); searches
 * from the connection threads take turns on it (the device engine's context is used by one
 * thread at a time). */

typedef struct SearchIndex SearchIndex;

typedef struct SearchIndexConfig {
    const char *path;              /* the SQLite index made by `siglip index` */
    const char *model_dir;         /* the served model: the index must be of the same model */
    const SiglipModelInfo *info;
    int engine;                    /* TopkEngineKind: auto, host or device */
    const struct CliCommon *common; /* device options, threads of the host engine */
} SearchIndexConfig;

/* Loads the index; on failure prints one error line and returns CLI_ERROR. */
int search_index_open(SearchIndex **out, const SearchIndexConfig *cfg);
void search_index_free(SearchIndex **idx);
/* Rows searched, and the engine's name ("host", "device"). */
size_t search_index_rows(const SearchIndex *idx);
const char *search_index_engine(const SearchIndex *idx);
/* Writes the JSON answer [{"path", "score", "cosine"}] of the top k (at most the index's rows)
 * for one query embedding [dim] into f. 0, or -1 with the reason in error. Thread-safe. */
int search_index_answer(SearchIndex *idx, const float *query, int k, FILE *f, char *error,
                        size_t esize);

/* ---- the API (serve_api.c): requests to answers, independent of HTTP ---- */

struct ServiceLimits {
    int max_items;                 /* inputs, images or labels per request */
    double timeout_s;              /* per-request deadline, from its headers */
};

typedef struct Service {
    SiglipModel *model;            /* the worker's: only its info and label names are read here */
    SiglipModelInfo info;
    char **class_names;            /* [num_labels] of an image-classification model, else NULL */
    const char *model_name;
    Batcher *batcher;
    KitPool *kits;
    int queue_capacity;            /* items (--queue) */
    ServiceLimits lim;
    SearchIndex *index;            /* --index, else NULL (then /v1/search is 404) */
    const struct Immich *immich;   /* --immich: the models of /predict, else NULL */
} Service;

/* An answer: status and a malloc'ed body. */
typedef struct Reply {
    int status;
    char *body;
    size_t len;
    const char *type;              /* Content-Type */
} Reply;

/* Fills *out with an OpenAI-shaped error {"error": {"message", "type", "param", "code"}}: param
 * null, code "invalid_api_key" for 401, else null. */
void reply_error(Reply *out, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with the request field at fault (param, NULL or "" for null) and OpenAI's error code
 * (NULL for null). */
void reply_error_at(Reply *out, int status, const char *param, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* GET /v1/models: the served model as OpenAI's model list. */
void api_models(const Service *svc, Reply *out);
/* GET /v1/models/{id}: the model object when id is the served model's name, else a 404. */
void api_model(const Service *svc, const char *id, Reply *out);
/* POST /v1/embeddings and /v1/classify; t0 = when the request's headers arrived (cli_now()). */
void api_embeddings(const Service *svc, const char *content_type, const unsigned char *body,
                    size_t size, double t0, Reply *out);
void api_classify(const Service *svc, const char *content_type, const unsigned char *body,
                  size_t size, double t0, Reply *out);
void api_search(const Service *svc, const char *content_type, const unsigned char *body,
                size_t size, double t0, Reply *out);

/* Embeds one text or one image (text NULL) through the batcher as /v1/embeddings does: admitted,
 * prepared with a kit, run on the device. emb receives the normalized embedding
 * (projection_size floats for a text, vision_hidden_size for an image), dims the image's decoded
 * width and height. 0, or -1 with out holding the error reply. */
int api_embed_one(const Service *svc, const char *text, const Bytes *image, double deadline,
                  float *emb, int dims[2], Reply *out);

/* ---- Immich's machine-learning API (serve_immich.c) ---- */

/* The models answered under Immich's names: one entry with name NULL answers any name. */
typedef struct ImmichModel {
    char *name;                    /* Immich's modelName, as the table gives it (owned) */
    char *dir;                     /* model directory (owned) */
    int canonicalize;              /* clean_text's canonicalize: 1 unless the table says "none" */
    const Service *svc;            /* the model's service (borrowed) */
} ImmichModel;

typedef struct Immich {
    ImmichModel *models;
    int n;
} Immich;

/* Reads the name table (a JSON object: Immich name → {"model": DIR, "clean": "canonicalize" |
 * "none"}; a relative DIR is taken from the table's directory) into *out, services unset. On
 * failure prints one error line and returns CLI_ERROR. */
int immich_table_load(const char *path, Immich *out);
void immich_free(Immich *im);
/* GET /ping, GET /, POST /predict (multipart: entries, image or text); t0 as api_embeddings. */
void immich_answer(const Immich *im, Endpoint ep, const char *content_type,
                   const unsigned char *body, size_t size, double t0, Reply *out);

/* ---- the HTTP service (serve_http.c) ---- */

typedef struct ServeConfig {
    const char *model_dir;
    const char *model_name;        /* echoed in responses */
    const char *host;
    int port;                      /* 0 = any free port */
    int max_batch;
    int max_wait_ms;
    int queue_items;
    size_t max_body;
    size_t max_body_total;         /* request body bytes held at once, all connections */
    int timeout_ms;
    int max_connections;
    int max_items;
    int idle_timeout_s;
    int header_timeout_s;          /* a request head must arrive within this of the connection's
                                    * opening or its previous answer */
    const char *api_key;           /* NULL = no authentication */
} ServeConfig;

typedef struct Server Server;

/* Starts listening; on failure writes one line into error. *port receives the bound port.
 * svc and metrics stay the caller's and must outlive the server. */
int server_start(Server **out, const ServeConfig *cfg, const Service *svc, Metrics *metrics,
                 int *port, char *error, size_t esize);
/* Stops accepting, answers new requests on open connections with 503, waits (at most
 * grace_s seconds) for the requests in flight, then closes every connection and frees. */
void server_drain_and_stop(Server **s, double grace_s);

#endif /* SIGLIP_SERVE_H */
