/* cmd_serve.c — `siglip serve`: options, start-up (model, host kits, device batcher, HTTP), and
 * shutdown on SIGTERM / SIGINT after the requests in flight are answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../cli.h"
#include "../topk.h"
#include "serve.h"

static const char usage[] =
    "Usage: siglip serve -m MODEL_DIR [--host ADDR] [--port N] [--max-batch N]\n"
    "                    [--max-wait-ms MS] [--queue N] [--api-key-file FILE]\n"
    "                    [--index INDEX.sqlite] ...\n\n"
    "An HTTP service of the model, with concurrent requests coalesced into device batches:\n"
    "  POST /v1/embeddings  {\"input\": [\"text\", {\"image\": BASE64}, ...]} (or multipart/form-data\n"
    "                       with \"input\" text parts and \"image\" file parts) → OpenAI's shape:\n"
    "                       {\"object\": \"list\", \"data\": [{\"embedding\": [...], \"index\": i}]}\n"
    "                       (normalized image_embeds / text_embeds)\n"
    "  POST /v1/classify    {\"image\": BASE64 | [BASE64, ...], \"candidate_labels\": [...],\n"
    "                       \"hypothesis_template\": T, \"top_k\": K} → [{\"score\", \"label\"}] sorted,\n"
    "                       as pipeline(\"zero-shot-image-classification\"); an image-\n"
    "                       classification model without candidate_labels uses its own classes\n"
    "  POST /v1/search      with --index: {\"query\": TEXT | {\"image\": BASE64}, \"top_k\": K}\n"
    "                       → [{\"path\", \"score\", \"cosine\"}] best first, as `siglip search`\n"
    "  GET  /v1/models      the model, as OpenAI's model list: {\"data\": [{\"id\": NAME, ...}]}\n"
    "  GET  /v1/models/NAME the model object (404 for another name)\n"
    "  GET  /health         {\"status\": \"ok\"} (503 while shutting down; never needs the key)\n"
    "  GET  /metrics        Prometheus text: requests, latency, batch sizes, queue depth\n"
    "Errors: 400 bad request, 401 bad token, 413 body or request too large, 503 queue full or\n"
    "bodies past --max-body-total (with Retry-After), 504 deadline passed; each as OpenAI's\n"
    "{\"error\": {\"message\", \"type\", \"param\", \"code\"}}.\n"
    "SIGTERM or SIGINT: stop accepting, answer what is in flight, exit 0.\n\n"
    "  -m, --model DIR        model directory\n"
    "  --host ADDR            address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N               TCP port (default 8080; 0 = any free port, printed on stderr)\n"
    "  --max-batch N          items per device call (default 32; --batch is the same)\n"
    "  --max-wait-ms MS       how long a request waits for others to join its batch (default 5)\n"
    "  --queue N              items admitted at once; more get 503 (default 256)\n"
    "  --max-items N          inputs, images or labels per request (default 64)\n"
    "  --max-body BYTES       largest request body (default 33554432); more gets 413\n"
    "  --max-body-total BYTES request bodies held at once, all connections together (default\n"
    "                         8 × --max-body); a body that would pass it gets 503\n"
    "  --timeout-ms MS        per-request deadline from its headers; the body must have\n"
    "                         arrived by then (default 30000)\n"
    "  --header-timeout S     close a connection that has not sent a whole request head S\n"
    "                         seconds after opening or after its last answer (default 10)\n"
    "  --max-connections N    open connections at once, a thread each (default 1024)\n"
    "  --idle-timeout S       close a connection silent this long (default 30)\n"
    "  --max-image-pixels N   largest decoded image, width × height (default 25000000)\n"
    "  --api-key-file FILE    require \"Authorization: Bearer KEY\", KEY the file's first line\n"
    "  --model-name NAME      name echoed in answers (default: the directory's last component)\n"
    "  --index FILE           an index made by `siglip index` with this model: POST /v1/search\n"
    "                         ranks its images (embeddings loaded once, at start)\n"
    "  --engine E             top-k engine of /v1/search: auto (default), host or device (see\n"
    "                         `siglip search --help`)\n"
    "  --threads N            host threads decoding images and tokenizing (default: all CPUs)\n"
    "  --immich               also answer Immich's machine-learning API (GET /ping, GET /,\n"
    "                         POST /predict) with this model under any modelName, preprocessed\n"
    "                         as Immich does on every endpoint (docs/immich.md)\n"
    "  --immich-models FILE   --immich with a JSON table of Immich model names → directories\n";

enum {
    OPT_HOST = OPT_FIRST_COMMAND_OPTION,
    OPT_PORT,
    OPT_MAX_BATCH,
    OPT_MAX_WAIT,
    OPT_QUEUE,
    OPT_MAX_ITEMS,
    OPT_MAX_BODY,
    OPT_MAX_BODY_TOTAL,
    OPT_TIMEOUT,
    OPT_MAX_CONN,
    OPT_IDLE,
    OPT_HEADER_TIMEOUT,
    OPT_MAX_PIXELS,
    OPT_API_KEY_FILE,
    OPT_MODEL_NAME,
    OPT_INDEX,
    OPT_ENGINE,
    OPT_IMMICH,
    OPT_IMMICH_MODELS,
};

typedef struct ServeOptions {
    CliCommon common;
    ServeConfig cfg;
    const char *key_file;
    long long max_pixels;      /* --max-image-pixels */
    const char *index_path;    /* --index */
    int engine;                /* --engine: TopkEngineKind */
    int immich;                /* --immich */
    const char *immich_table;  /* --immich-models */
} ServeOptions;

/* The key file's first line, without its line end; NULL (after an error line) when unusable. */
static char *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("serve: --api-key-file %s: %s", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n <= 0) {
        free(line);
        cli_error("serve: --api-key-file %s: the first line is empty", path);
        return NULL;
    }
    return line;
}

static const char *base_name(const char *dir)
{
    static char name[256];
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    snprintf(name, sizeof name, "%.*s", (int)(n - start), dir + start);
    return name;
}

/* The class names of an image-classification model, copied so host threads never touch it. */
static char **copy_class_names(const SiglipModel *model, int n)
{
    char **names = calloc((size_t)n + 1, sizeof *names);
    for (int i = 0; names && i < n; i++) {
        const char *s = siglip_model_label(model, i);
        if (!(names[i] = strdup(s ? s : "?"))) {
            for (int k = 0; k < i; k++)
                free(names[k]);
            free(names);
            return NULL;
        }
    }
    return names;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static int wait_for_signal(const sigset_t *set)
{
    int sig = 0;
    while (sigwait(set, &sig))
        ;
    return sig;
}

/* One served model: its device context, the model, the host kits and the device batcher. */
typedef struct Served {
    SiglipContext *ctx;
    SiglipModel *model;
    Service svc;
} Served;

/* Loads the model of dir with its kits and batcher into sv, Immich's preprocessing when immich;
 * name (NULL: --model-name, else the directory's last component) must outlive sv. */
static int served_open(ServeOptions *o, const char *dir, const char *name, int immich,
                       Served *sv)
{
    Service *svc = &sv->svc;
    char err[512] = "";
    int rc = cli_open_context(&o->common, &sv->ctx);
    if (rc == CLI_OK)
        rc = cli_load_model(sv->ctx, dir, &sv->model);
    if (rc != CLI_OK)
        return rc;
    svc->model = sv->model;
    siglip_model_info(sv->model, &svc->info);
    svc->model_name = name ? name : o->cfg.model_name ? o->cfg.model_name : base_name(dir);
    svc->queue_capacity = o->cfg.queue_items;
    svc->lim = (ServiceLimits){o->cfg.max_items, o->cfg.timeout_ms / 1000.0};
    if (svc->info.architecture == SIGLIP_ARCH_IMAGE_CLASSIFICATION &&
        !(svc->class_names = copy_class_names(sv->model, svc->info.num_labels)))
        return cli_error("serve: out of memory");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int n_kits = o->common.threads ? o->common.threads : (int)(cpus > 1 ? cpus : 1);
    KitPoolConfig kc = {dir,
                        n_kits,
                        (uint64_t)o->max_pixels,
                        svc->info.image_size,
                        svc->info.max_patches,
                        svc->info.patch_size,
                        immich};
    if (kit_pool_create(&svc->kits, &kc, err, sizeof err))
        return cli_error("serve: %s", err);
    BatcherConfig bc = {sv->ctx, sv->model, o->cfg.max_batch, o->cfg.max_wait_ms / 1000.0,
                        o->cfg.queue_items};
    if (batcher_start(&svc->batcher, &bc))
        return cli_error("serve: starting the device worker: out of memory");
    return CLI_OK;
}

static void served_close(Served *sv)
{
    batcher_stop(&sv->svc.batcher); /* before the model: the worker uses it */
    kit_pool_free(&sv->svc.kits);
    free_names(sv->svc.class_names, sv->svc.info.num_labels);
    siglip_model_free(&sv->model);
    siglip_context_close(&sv->ctx);
}

/* --immich: the models /predict answers for — the -m model under any name, or those of the
 * --immich-models table (a directory equal to -m's shares its service). extra [im->n] receives
 * the models loaded here. */
static int immich_open(ServeOptions *o, const char *model_dir, Served *main_sv, Immich *im,
                       Served **extra)
{
    if (!o->immich_table) {
        if (!(im->models = calloc(1, sizeof *im->models)))
            return cli_error("serve: out of memory");
        im->n = 1;
        im->models[0].canonicalize = 1; /* open_clip's SigLIP text_cfg: clean "canonicalize" */
        im->models[0].svc = &main_sv->svc;
        return CLI_OK;
    }
    int rc = immich_table_load(o->immich_table, im);
    if (rc == CLI_OK && !(*extra = calloc((size_t)im->n, sizeof **extra)))
        rc = cli_error("serve: out of memory");
    for (int i = 0; rc == CLI_OK && i < im->n; i++) {
        ImmichModel *m = &im->models[i];
        for (int k = 0; k < i && !m->svc; k++)
            if (!strcmp(im->models[k].dir, m->dir))
                m->svc = im->models[k].svc;
        if (!m->svc && !strcmp(m->dir, model_dir))
            m->svc = &main_sv->svc;
        if (!m->svc && (rc = served_open(o, m->dir, m->name, 1, &(*extra)[i])) == CLI_OK)
            m->svc = &(*extra)[i].svc;
    }
    return rc;
}

/* Each connection holds a descriptor: raises the soft limit on open files (toward the hard one)
 * so that --max-connections can be reached, with room for the model, kits and index files. */
static void raise_fd_limit(int max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 128;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)
        fprintf(stderr, "siglip serve: warning: at most %llu open files: fewer than "
                "--max-connections %d connections can be open\n",
                (unsigned long long)rl.rlim_cur, max_connections);
}

/* Everything after option parsing. Signals are blocked in every thread: main waits for them. */
static int serve(ServeOptions *o, const char *model_dir, const sigset_t *signals)
{
    Served main_sv = {0}, *extra = NULL;
    Service *svc = &main_sv.svc;
    Immich im = {0};
    Metrics *metrics = NULL;
    Server *server = NULL;
    char err[512] = "";
    int immich = o->immich || o->immich_table;
    if (immich) /* open_clip's text tower, which Immich exports, has no attention mask */
        o->common.text_mask = SIGLIP_TEXT_MASK_NONE;
    int rc = served_open(o, model_dir, NULL, immich, &main_sv);
    if (rc != CLI_OK)
        goto done;
    SearchIndexConfig sc = {o->index_path, model_dir, &svc->info, o->engine, &o->common};
    if (o->index_path && search_index_open(&svc->index, &sc) != CLI_OK) {
        rc = CLI_ERROR;
        goto done;
    }
    if (immich && (rc = immich_open(o, model_dir, &main_sv, &im, &extra)) != CLI_OK)
        goto done;
    svc->immich = immich ? &im : NULL;
    if (!(metrics = metrics_create())) {
        rc = cli_error("serve: out of memory");
        goto done;
    }
    int port = 0;
    raise_fd_limit(o->cfg.max_connections);
    if (server_start(&server, &o->cfg, svc, metrics, &port, err, sizeof err)) {
        rc = cli_error("serve: %s", err);
        goto done;
    }
    SiglipDeviceInfo dev;
    int have_dev = siglip_context_device(main_sv.ctx, &dev) == SIGLIP_OK;
    fprintf(stderr, "siglip serve: listening on http://%s%s%s:%d (model %s on %s, max batch %d, "
            "max wait %d ms, queue %d)\n", strchr(o->cfg.host, ':') ? "[" : "", o->cfg.host,
            strchr(o->cfg.host, ':') ? "]" : "", port, svc->model_name,
            have_dev ? dev.name : "?", o->cfg.max_batch, o->cfg.max_wait_ms, o->cfg.queue_items);
    if (svc->index)
        fprintf(stderr, "siglip serve: /v1/search over %zu images of %s (%s engine)\n",
                search_index_rows(svc->index), o->index_path, search_index_engine(svc->index));
    if (immich)
        fprintf(stderr, "siglip serve: Immich's machine-learning API on /predict, /ping\n");
    for (int i = 0; immich && i < im.n; i++)
        fprintf(stderr, "siglip serve: Immich model %s: %s\n",
                im.models[i].name ? im.models[i].name : "(any name)",
                im.models[i].dir ? im.models[i].dir : model_dir);
    fflush(stderr);
    int sig = wait_for_signal(signals);
    fprintf(stderr, "siglip serve: %s: finishing the requests in flight\n", strsignal(sig));
    batcher_flush(svc->batcher);
    for (int i = 0; extra && i < im.n; i++)
        if (extra[i].svc.batcher)
            batcher_flush(extra[i].svc.batcher);
    server_drain_and_stop(&server, svc->lim.timeout_s + 5);
    fprintf(stderr, "siglip serve: stopped\n");
done:
    server_drain_and_stop(&server, 0);
    for (int i = 0; extra && i < im.n; i++)
        served_close(&extra[i]);
    free(extra);
    immich_free(&im);
    served_close(&main_sv);
    metrics_free(&metrics);
    search_index_free(&svc->index);
    return rc;
}

/* Handles one serve option (CliParser.option): CLI_USAGE after an error line, CLI_NOT_MINE for
 * none of serve's, 0 otherwise. */
static int serve_option(void *arg_o, const CliCommon *common, int opt, char *arg)
{
    ServeOptions *o = arg_o;
    ServeConfig *c = &o->cfg;
    const char *cmd = common->cmd;
    int v = 0;
    switch (opt) {
    case OPT_HOST: c->host = arg; return 0;
    case OPT_API_KEY_FILE: o->key_file = arg; return 0;
    case OPT_MODEL_NAME: c->model_name = arg; return 0;
    case OPT_INDEX: o->index_path = arg; return 0;
    case OPT_IMMICH: o->immich = 1; return 0;
    case OPT_IMMICH_MODELS: o->immich_table = arg; return 0;
    case OPT_ENGINE:
        if ((o->engine = topk_parse_kind(arg)) < 0)
            return cli_usage_error(cmd, "--engine must be auto, host or device");
        return 0;
    case OPT_PORT: return cli_parse_int(cmd, "--port", arg, 0, 65535, &c->port) ? CLI_USAGE : 0;
    case OPT_MAX_BATCH:
        return cli_parse_int(cmd, "--max-batch", arg, 1, 4096, &c->max_batch) ? CLI_USAGE : 0;
    case OPT_MAX_WAIT:
        return cli_parse_int(cmd, "--max-wait-ms", arg, 0, 60000, &c->max_wait_ms) ? CLI_USAGE : 0;
    case OPT_QUEUE:
        return cli_parse_int(cmd, "--queue", arg, 1, 1 << 20, &c->queue_items) ? CLI_USAGE : 0;
    case OPT_MAX_ITEMS:
        return cli_parse_int(cmd, "--max-items", arg, 1, 1 << 16, &c->max_items) ? CLI_USAGE : 0;
    case OPT_MAX_BODY:
        if (cli_parse_int(cmd, "--max-body", arg, 1024, 1 << 30, &v))
            return CLI_USAGE;
        c->max_body = (size_t)v;
        return 0;
    case OPT_MAX_BODY_TOTAL: {
        /* Bytes, past int's range: a server may hold many GiB of bodies. */
        char *end = NULL;
        unsigned long long t = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0;
        if (!end || *end || t < 1024 || t > (1ull << 46))
            return cli_usage_error(cmd, "--max-body-total must be a number of bytes from 1024 "
                                   "to 2^46, not '%s'", arg);
        c->max_body_total = (size_t)t;
        return 0;
    }
    case OPT_TIMEOUT:
        return cli_parse_int(cmd, "--timeout-ms", arg, 1, 3600000, &c->timeout_ms) ? CLI_USAGE : 0;
    case OPT_MAX_CONN:
        return cli_parse_int(cmd, "--max-connections", arg, 1, 4096, &c->max_connections)
                   ? CLI_USAGE : 0;
    case OPT_IDLE:
        return cli_parse_int(cmd, "--idle-timeout", arg, 1, 3600, &c->idle_timeout_s) ? CLI_USAGE
                                                                                     : 0;
    case OPT_HEADER_TIMEOUT:
        return cli_parse_int(cmd, "--header-timeout", arg, 1, 3600, &c->header_timeout_s)
                   ? CLI_USAGE : 0;
    case OPT_MAX_PIXELS:
        if (cli_parse_int(cmd, "--max-image-pixels", arg, 1, 1 << 30, &v))
            return CLI_USAGE;
        o->max_pixels = v;
        return 0;
    default: return CLI_NOT_MINE;
    }
}

int cmd_serve(int argc, char **argv)
{
    static const struct option own[] = {
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"max-batch", required_argument, NULL, OPT_MAX_BATCH},
        {"max-wait-ms", required_argument, NULL, OPT_MAX_WAIT},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"max-items", required_argument, NULL, OPT_MAX_ITEMS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-body-total", required_argument, NULL, OPT_MAX_BODY_TOTAL},
        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
        {"max-connections", required_argument, NULL, OPT_MAX_CONN},
        {"idle-timeout", required_argument, NULL, OPT_IDLE},
        {"header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT},
        {"max-image-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
        {"model-name", required_argument, NULL, OPT_MODEL_NAME},
        {"index", required_argument, NULL, OPT_INDEX},
        {"engine", required_argument, NULL, OPT_ENGINE},
        {"immich", no_argument, NULL, OPT_IMMICH},
        {"immich-models", required_argument, NULL, OPT_IMMICH_MODELS},
    };
    ServeOptions o = {
        .cfg = {.host = "127.0.0.1", .port = 8080, .max_batch = CLI_DEFAULT_BATCH,
                .max_wait_ms = 5, .queue_items = 256, .max_body = 32u << 20,
                .timeout_ms = 30000, .max_connections = 1024, .max_items = 64,
                .idle_timeout_s = 30, .header_timeout_s = 10},
        .max_pixels = 25000000,
    };
    CliParser p = {.shortopts = ":hm:", .own = own, .n_own = sizeof own / sizeof *own,
                   .usage = usage, .option = serve_option, .arg = &o};
    int r = cli_parse_options(&o.common, "serve", argc, argv, &p);
    const char *model_dir = p.model_dir;
    if (o.common.batch_given)
        o.cfg.max_batch = o.common.batch;
    if (r < 0 && optind < argc)
        r = cli_usage_error(o.common.cmd, "unexpected argument '%s'", argv[optind]);
    struct in6_addr addr;
    if (r < 0 && strcmp(o.cfg.host, "localhost") && inet_pton(AF_INET, o.cfg.host, &addr) != 1 &&
        inet_pton(AF_INET6, o.cfg.host, &addr) != 1)
        r = cli_usage_error(o.common.cmd, "--host %s is not an IPv4 or IPv6 address", o.cfg.host);
    /* By default eight bodies of the largest size: with --max-body 32 MiB, 256 MiB in all,
     * rather than --max-connections × --max-body (32 GiB at 1024 connections). */
    if (!o.cfg.max_body_total)
        o.cfg.max_body_total = 8 * o.cfg.max_body;
    if (r < 0 && o.cfg.max_body_total < o.cfg.max_body)
        r = cli_usage_error(o.common.cmd, "--max-body-total %zu is less than --max-body %zu: a "
                            "body of the largest size could never be taken",
                            o.cfg.max_body_total, o.cfg.max_body);
    if (r < 0 && o.cfg.max_items > o.cfg.queue_items)
        r = cli_usage_error(o.common.cmd, "--max-items %d exceeds --queue %d", o.cfg.max_items,
                            o.cfg.queue_items);
    if (r >= 0)
        return r;
    char *key = NULL;
    if (o.key_file && !(key = read_key(o.key_file)))
        return CLI_ERROR;
    o.cfg.api_key = key;
    /* Blocked before any thread starts, so every thread inherits the mask and only sigwait()
     * in this thread sees them; a closed client socket must not kill the process. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    r = serve(&o, model_dir, &signals);
    free(key);
    return r;
}
