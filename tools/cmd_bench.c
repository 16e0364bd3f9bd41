/* cmd_bench.c — `siglip bench`: throughput of the image and text towers per device, model and
 * batch size, with load, kernel build, device memory and host memory figures. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_shapes.h"
#include "cli.h"
#include "json_out.h"

static const char usage[] =
    "Usage: siglip bench [--model NAME ...] [-m MODEL_DIR ...] [--tower image|text]\n"
    "                    [--batch N ...] [--tokens N ...] [--device SPEC] [--warmup N]\n"
    "                    [--iters N] [--precision P ...] [--json]\n\n"
    "Measures the towers on every OpenCL device (or the one --device / SIGLIP_DEVICE names) with\n"
    "random weights of published SigLIP shapes (default: base-patch16-224, large-patch16-384,\n"
    "so400m-patch14-384) at batch sizes 1, 8, 32, or a real checkpoint with -m.\n"
    "GFLOP/s counts 2*M*N*K for every matrix product of the forward. Kernel build time is\n"
    "measured cold (no program cache) and from the program cache (--cache-dir). Device memory is\n"
    "what the library allocated, peak per run; host RSS is the process's peak (VmHWM) per run.\n"
    "PoCL keeps its own kernel cache too: run with POCL_KERNEL_CACHE=0 for a truly cold build.\n\n"
    "  --model NAME      a built-in shape (repeat for more); --list-models shows them\n"
    "  -m, --model-dir DIR  a model directory to measure (repeat for more)\n"
    "  --tower T         image or text (default: both)\n"
    "  --batch N         a batch size (repeat for more; default 1, 8, 32)\n"
    "  --tokens N        text tower: N real tokens per text, the rest padding masked out as\n"
    "                    the tokenizer does (repeat for more; default: all positions, no mask)\n"
    "  --warmup N        untimed runs before timing (default 1)\n"
    "  --iters N         timed runs per measurement; the median is reported (default 3)\n"
    "  --seed N          seed of the random weights and inputs (default 1)\n"
    "  --precision P     f32, bf16, f16 or q8 (the prec column; default f32); repeat to measure\n"
    "                    up to 4 side by side: each loaded in a context of its own, then run\n"
    "                    in rounds, every precision once per round, round r starting at the\n"
    "                    r-th, so that drifting machine speed slows all alike; 'vs first'\n"
    "                    (JSON vs_first) is the median over rounds of the first precision's\n"
    "                    time over this one's (> 1: faster than the first)\n"
    "  --json            print a JSON array of records instead of the table\n"
    "  --list-models     print the built-in shapes and exit\n";

enum {
    OPT_MODEL_NAME = OPT_FIRST_COMMAND_OPTION,
    OPT_TOWER,
    OPT_WARMUP,
    OPT_ITERS,
    OPT_SEED,
    OPT_JSON,
    OPT_LIST_MODELS,
    OPT_TOKENS,
};

enum { TOWER_IMAGE = 1, TOWER_TEXT = 2 };
#define BENCH_MAX_BATCHES 32
#define MIB (1024.0 * 1024.0)

typedef struct BenchOptions {
    CliCommon common;
    CliList shape_names;       /* --model */
    CliList model_dirs;        /* -m */
    int towers;                /* TOWER_* bits */
    int batches[BENCH_MAX_BATCHES];
    int n_batches;
    int tokens[BENCH_MAX_BATCHES]; /* --tokens; none: one run of full-length texts */
    int n_tokens;
    int warmup, iters;
    unsigned long long seed;
    int json;
    SiglipPrecision precisions[4]; /* --precision, repeatable: measured one after another */
    int n_precisions;
} BenchOptions;

/* What one device's kernel builds cost. */
typedef struct BuildTimes {
    double cold_s;             /* siglip_context_open_device() without a program cache */
    double cached_s;           /* the same from a populated cache; -1 when there is no cache */
} BuildTimes;

/* One output row. */
typedef struct BenchRecord {
    const SiglipDeviceInfo *device;
    const char *model;
    const char *tower;
    int batch;
    int tokens;                /* text: real tokens per text (0: all positions, no mask) */
    double ms_median, ms_min, ms_max;
    double cpu_ms_median;      /* the process's CPU time per batch (every thread: a CPU device's
                                * workers run in it), median: on a shared machine it moves less
                                * with other jobs' load than wall time does */
    double gflop_per_batch;
    double load_s;
    BuildTimes build;
    double dev_weights_mib, dev_peak_mib; /* -1 when unknown */
    double host_rss_peak_mib;             /* -1 when unknown */
    const char *tuning;                   /* which configuration ran: source, rule, blocks */
    const char *precision;                /* the Linear weights' storage ("f32", "q8", ...) */
    double vs_first;                      /* with several --precision: the median over rounds of
                                           * the first precision's time over this one's (> 1:
                                           * faster than the first); 0 otherwise */
    const char *error;                    /* NULL on success */
} BenchRecord;

/* ---- host memory (Linux /proc) ---- */

/* Peak resident set size of this process in MiB (VmHWM), or -1. */
static double host_rss_peak_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    double kib = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            kib = strtod(line + 6, NULL);
    fclose(f);
    return kib < 0 ? -1 : kib / 1024.0;
}

/* Resets VmHWM to the current RSS, so the next reading is the peak of the next run only. */
static void host_rss_reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* ---- output ---- */

static const char *type_name(SiglipDeviceType t)
{
    return t == SIGLIP_DEVICE_CPU ? "cpu" : t == SIGLIP_DEVICE_GPU ? "gpu"
         : t == SIGLIP_DEVICE_ACCELERATOR ? "accelerator" : "other";
}

static void print_json_field(const char *key, double v, int digits)
{
    printf(", \"%s\": ", key);
    json_number(stdout, v, digits);
}

static void print_record_json(const BenchRecord *r, int first)
{
    double s = r->ms_median / 1000.0;
    int ok = !r->error;
    printf(first ? "\n  {\"device\": " : ",\n  {\"device\": ");
    json_string(stdout, r->device->name);
    printf(", \"device_spec\": \"%d:%d\", \"device_type\": \"%s\", \"platform\": ",
           r->device->platform_index, r->device->device_index, type_name(r->device->type));
    json_string(stdout, r->device->platform_name);
    printf(", \"driver_version\": ");
    json_string(stdout, r->device->driver_version);
    printf(", \"model\": ");
    json_string(stdout, r->model);
    printf(", \"tower\": \"%s\", \"precision\": \"%s\", \"batch\": %d", r->tower,
           r->precision, r->batch);
    if (r->tokens)
        printf(", \"tokens\": %d", r->tokens);
    print_json_field("items_per_s", ok ? r->batch / s : NAN, 6);
    print_json_field("ms_per_batch", ok ? r->ms_median : NAN, 6);
    print_json_field("ms_min", ok ? r->ms_min : NAN, 6);
    print_json_field("ms_max", ok ? r->ms_max : NAN, 6);
    print_json_field("cpu_ms_per_batch", ok ? r->cpu_ms_median : NAN, 6);
    if (r->vs_first > 0)
        print_json_field("vs_first", r->vs_first, 6);
    print_json_field("gflops", ok ? r->gflop_per_batch / s : NAN, 6);
    print_json_field("gflop_per_batch", r->gflop_per_batch, 6);
    print_json_field("load_s", r->load_s, 4);
    print_json_field("build_cold_s", r->build.cold_s, 4);
    print_json_field("build_cached_s", r->build.cached_s >= 0 ? r->build.cached_s : NAN, 4);
    print_json_field("device_weights_mib", r->dev_weights_mib >= 0 ? r->dev_weights_mib : NAN, 6);
    print_json_field("device_peak_mib", r->dev_peak_mib >= 0 ? r->dev_peak_mib : NAN, 6);
    print_json_field("host_rss_peak_mib", r->host_rss_peak_mib >= 0 ? r->host_rss_peak_mib : NAN, 6);
    if (r->tuning) {
        printf(", \"tuning\": ");
        json_string(stdout, r->tuning);
    }
    if (r->error) {
        printf(", \"error\": ");
        json_string(stdout, r->error);
    }
    printf("}");
    fflush(stdout);
}

/* The tokens column: "-" for images and full-length texts. */
static const char *tokens_label(const BenchRecord *r)
{
    static char buf[16];
    if (!r->tokens)
        return "-";
    snprintf(buf, sizeof buf, "%d", r->tokens);
    return buf;
}

static void print_table_header(int vs_first)
{
    printf("%-20s %-5s %-4s %5s %6s %10s %10s %10s %9s %7s %9s %9s%s\n", "model", "tower", "prec",
           "batch", "tokens", "ms/batch", "CPU ms", "items/s", "GFLOP/s", "load s", "dev MiB",
           "host MiB", vs_first ? "  vs first" : "");
}

static void print_record_human(const BenchRecord *r)
{
    if (r->error) {
        /* Only the headline: a kernel build log would drown the table. */
        int len = (int)strcspn(r->error, "\n");
        printf("%-20s %-5s %-4s %5d %6s  failed: %.*s\n", r->model, r->tower, r->precision,
               r->batch, tokens_label(r), len, r->error);
    } else {
        double s = r->ms_median / 1000.0;
        printf("%-20s %-5s %-4s %5d %6s %10.2f %10.2f %10.2f %9.1f %7.2f %9.0f %9.0f",
               r->model, r->tower, r->precision, r->batch, tokens_label(r), r->ms_median,
               r->cpu_ms_median, r->batch / s, r->gflop_per_batch / s, r->load_s,
               r->dev_peak_mib, r->host_rss_peak_mib);
        if (r->vs_first > 0)
            printf("  %8.3fx", r->vs_first);
        printf("\n");
    }
    fflush(stdout);
}

typedef struct BenchOutput {
    int json;
    int n_records;
    int n_failed;
} BenchOutput;

static void emit(BenchOutput *out, const BenchRecord *r)
{
    if (out->json)
        print_record_json(r, out->n_records == 0);
    else
        print_record_human(r);
    out->n_records++;
    out->n_failed += r->error != NULL;
}

/* ---- measuring ---- */

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Inputs and outputs of one tower at one batch size. */
typedef struct TowerRun {
    SiglipModel *model;
    int tower;
    int batch;
    int with_head;      /* image tower: pooler output exists (SiglipModel) */
    float *input_f;     /* [batch, 3, H, W] pixels */
    int tokens;         /* text: real tokens per text, 0 for all positions without a mask */
    int32_t *input_ids; /* [batch, T] */
    int32_t *mask;      /* [batch, T]: `tokens` ones then zeros, or NULL */
    float *out_a;       /* [batch, D] pooler output, or [batch, N, D] hidden states */
    float *out_b;       /* [batch, D] embeds */
} TowerRun;

static void tower_run_free(TowerRun *t)
{
    free(t->input_f);
    free(t->input_ids);
    free(t->mask);
    free(t->out_a);
    free(t->out_b);
}

/* Allocates and fills the inputs with seeded random data (pixels in [-1, 1], ids in the vocab). */
static int tower_run_alloc(TowerRun *t, const SiglipModelInfo *m, uint64_t seed)
{
    size_t b = (size_t)t->batch;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull | 1;
    if (t->tower == TOWER_IMAGE) {
        size_t n = b * (size_t)m->num_channels * (size_t)m->image_size * (size_t)m->image_size;
        size_t out = t->with_head ? b * (size_t)m->vision_hidden_size
                                  : b * (size_t)m->num_patches * (size_t)m->vision_hidden_size;
        t->input_f = malloc(n * sizeof(float));
        t->out_a = malloc(out * sizeof(float));
        t->out_b = malloc(b * (size_t)m->vision_hidden_size * sizeof(float));
        if (!t->input_f || !t->out_a || !t->out_b)
            return -1;
        for (size_t i = 0; i < n; i++)
            t->input_f[i] = (float)((xorshift(&s) >> 40) * (2.0 / 16777216.0) - 1.0);
        return 0;
    }
    size_t n = b * (size_t)m->text_max_positions;
    t->input_ids = malloc(n * sizeof(int32_t));
    t->out_a = malloc(b * (size_t)m->projection_size * sizeof(float));
    t->out_b = malloc(b * (size_t)m->projection_size * sizeof(float));
    if (!t->input_ids || !t->out_a || !t->out_b)
        return -1;
    for (size_t i = 0; i < n; i++)
        t->input_ids[i] = (int32_t)(xorshift(&s) % (uint64_t)m->vocab_size);
    if (t->tokens) {
        if (!(t->mask = malloc(n * sizeof(int32_t))))
            return -1;
        for (size_t i = 0; i < n; i++)
            t->mask[i] = (int)(i % (size_t)m->text_max_positions) < t->tokens;
    }
    return 0;
}

static int tower_forward(const TowerRun *t)
{
    if (t->tower == TOWER_TEXT) {
        SiglipTextOutput o = {t->out_a, t->out_b, NULL};
        return siglip_encode_text(t->model, t->input_ids, t->mask, t->batch, &o);
    }
    SiglipImageOutput o = {NULL, NULL, NULL};
    if (t->with_head) {
        o.pooler_output = t->out_a;
        o.embeds = t->out_b;
    } else {
        o.last_hidden_state = t->out_a;
    }
    return siglip_encode_image(t->model, t->input_f, t->batch, &o);
}

/* v[0 .. n−1] sorted in place; their median. */
static double sorted_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The measurement of one (model, tower, batch, tokens) on every precision of a device: P
 * contexts, each with its model loaded and its inputs made (the same for all), timed in rounds. */
typedef struct Side {
    SiglipContext *ctx;
    TowerRun run;
    BenchRecord rec;
    int status;                   /* the failed forward's status (SIGLIP_OK: none) */
    int skip;                     /* nothing to measure here: its model did not load */
    double times[1024], cpu[1024];
} Side;

/* Warmup + timed forwards of every side. With several sides (--precision repeated) each round
 * runs every side once, round r starting at side r mod P, so that a machine whose speed drifts
 * within the invocation (a shared VM) slows every precision alike; each side's ratio to the
 * first is the median of the per-round ratios. Fills the timing and memory fields of the
 * records; a side whose forward fails gets its error and drops out. */
static void time_sides(Side *sides, int P, const BenchOptions *o)
{
    int iters = o->iters < 1024 ? o->iters : 1024, alive = 0;
    for (int p = 0; p < P; p++) {
        siglip_context_reset_peak_memory(sides[p].ctx);
        sides[p].status = SIGLIP_OK;
        alive += !sides[p].rec.error;
    }
    host_rss_reset_peak();
    for (int i = 0; i < o->warmup + iters && alive; i++) {
        for (int j = 0; j < P; j++) {
            Side *s = &sides[(i + j) % P];
            if (s->rec.error)
                continue;
            double t0 = cli_now(), c0 = cli_cpu_now();
            int st = tower_forward(&s->run);
            if (st) {
                s->rec.error = *siglip_context_error(s->ctx) ? siglip_context_error(s->ctx)
                                                             : siglip_strerror(st);
                s->status = st;
                alive--;
                continue;
            }
            if (i >= o->warmup) {
                s->times[i - o->warmup] = (cli_now() - t0) * 1000.0;
                s->cpu[i - o->warmup] = (cli_cpu_now() - c0) * 1000.0;
            }
        }
    }
    double host_peak = host_rss_peak_mib();
    /* The ratios first: the medians below sort the times. */
    for (int p = 0; p < P && P > 1 && !sides[0].rec.error; p++) {
        Side *s = &sides[p];
        double ratio[1024];
        if (s->rec.error)
            continue;
        for (int i = 0; i < iters; i++)
            ratio[i] = sides[0].times[i] / s->times[i];
        s->rec.vs_first = sorted_median(ratio, iters);
    }
    for (int p = 0; p < P; p++) {
        Side *s = &sides[p];
        if (s->rec.error)
            continue;
        s->rec.ms_median = sorted_median(s->times, iters); /* sorts times */
        s->rec.ms_min = s->times[0];
        s->rec.ms_max = s->times[iters - 1];
        s->rec.cpu_ms_median = sorted_median(s->cpu, iters);
        uint64_t peak = 0;
        s->rec.dev_peak_mib = siglip_context_memory(s->ctx, NULL, &peak) ? -1 : (double)peak / MIB;
        s->rec.host_rss_peak_mib = host_peak; /* the process's: every side's together */
    }
}

/* Measures one tower of the loaded models (one per side) at every batch size (and, for texts,
 * every --tokens); larger batches are skipped on a side after one ran out of memory there. */
static void bench_tower(Side *sides, SiglipModel **models, int P, int tower,
                        const BenchOptions *o, const BenchRecord *base, BenchOutput *out)
{
    SiglipModelInfo m;
    siglip_model_info(models[0], &m);
    int with_head = m.architecture == SIGLIP_ARCH_MODEL;
    int T = m.text_max_positions;
    int n_tokens = tower == TOWER_TEXT && o->n_tokens ? o->n_tokens : 1;
    for (int k = 0; k < n_tokens; k++) {
        int tokens = tower == TOWER_TEXT && o->n_tokens ? o->tokens[k] : 0;
        /* The short path computes the real tokens and the last position. */
        int positions = tokens && tokens < T ? tokens + 1 : T;
        int out_of_memory[4] = {0, 0, 0, 0};
        for (int i = 0; i < o->n_batches; i++) {
            for (int p = 0; p < P; p++) {
                Side *s = &sides[p];
                BenchRecord rec = base[p];
                rec.tower = tower == TOWER_IMAGE ? "image" : "text";
                rec.batch = o->batches[i];
                rec.tokens = tokens;
                rec.gflop_per_batch =
                    1e-9 * (tower == TOWER_IMAGE ? bench_image_flops(&m, rec.batch, with_head)
                                                 : bench_text_flops(&m, rec.batch, positions));
                s->rec = rec;
                s->run = (TowerRun){models[p], tower, rec.batch, with_head, NULL, tokens,
                                    NULL, NULL, NULL, NULL};
                s->skip = base[p].error != NULL; /* reported once, by bench_model */
                if (s->skip)
                    continue;
                if (tokens > T)
                    s->rec.error = "--tokens exceeds the model's text positions";
                else if (out_of_memory[p])
                    s->rec.error = "skipped: a smaller batch ran out of memory";
                else if (tower_run_alloc(&s->run, &m, o->seed + (uint64_t)rec.batch))
                    s->rec.error = "out of host memory for the inputs";
            }
            time_sides(sides, P, o);
            for (int p = 0; p < P; p++) {
                Side *s = &sides[p];
                if (s->skip)
                    continue;
                out_of_memory[p] |= s->status == SIGLIP_ENOMEM;
                emit(out, &s->rec);
                tower_run_free(&s->run);
            }
        }
    }
}

/* Loads (or creates) one model on every side, then measures each tower asked for. */
static void bench_model(Side *sides, int P, const char *name, const BenchShape *shape,
                        const char *dir, const BenchOptions *o, const BenchRecord *device_base,
                        BenchOutput *out)
{
    BenchRecord base[4];
    SiglipModel *models[4] = {NULL, NULL, NULL, NULL};
    int loaded = -1; /* a side whose model loaded: the towers come from its info */
    for (int p = 0; p < P; p++) {
        SiglipContext *ctx = sides[p].ctx;
        char config[2048];
        base[p] = device_base[p];
        base[p].model = name;
        host_rss_reset_peak();
        double t0 = cli_now();
        int st = shape ? siglip_model_create_random(ctx, bench_shape_config(shape, config,
                                                                            sizeof config),
                                                    o->seed, &models[p])
                       : siglip_model_load(ctx, dir, &models[p]);
        base[p].load_s = cli_now() - t0;
        uint64_t weights = 0;
        base[p].dev_weights_mib =
            siglip_context_memory(ctx, &weights, NULL) ? -1 : (double)weights / MIB;
        if (st) {
            base[p].error = siglip_context_error(ctx);
            base[p].tower = "-";
            emit(out, &base[p]);
        } else if (loaded < 0) {
            loaded = p;
        }
    }
    if (loaded >= 0) {
        SiglipModelInfo m;
        siglip_model_info(models[loaded], &m);
        for (int p = 0; p < P; p++)
            if (!models[p])
                models[p] = models[loaded]; /* never run: its side carries the load error */
        if ((o->towers & TOWER_IMAGE) && m.vision_layers > 0)
            bench_tower(sides, models, P, TOWER_IMAGE, o, base, out);
        if ((o->towers & TOWER_TEXT) && m.text_layers > 0)
            bench_tower(sides, models, P, TOWER_TEXT, o, base, out);
    }
    for (int p = 0; p < P; p++)
        if (!base[p].error)
            siglip_model_free(&models[p]);
}

/* Opens a context on the device `spec` with the given cache and times the device opening. */
static int open_timed(const BenchOptions *o, const char *spec, const char *cache_dir,
                      SiglipContext **ctx, double *seconds)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    s.device = spec;
    s.program_cache_dir = cache_dir;
    s.text_mask = o->common.text_mask;
    s.n_threads = o->common.threads;
    s.tuning_file = getenv("SIGLIP_TUNING_FILE");
    s.precision = o->common.precision;
    int st = siglip_context_create(ctx, &s);
    if (st)
        return st;
    double t0 = cli_now();
    st = siglip_context_open_device(*ctx);
    *seconds = cli_now() - t0;
    return st;
}

/* Times the kernel builds (cold, then from the cache, populating it first if needed) and returns
 * the context to measure with, or NULL after reporting the failure in *error. */
static SiglipContext *open_device(const BenchOptions *o, const char *spec, BuildTimes *b,
                                  char *error, size_t error_size)
{
    char *cache = cli_cache_dir(&o->common);
    SiglipContext *ctx = NULL;
    double populate = 0;
    int st = open_timed(o, spec, NULL, &ctx, &b->cold_s);
    b->cached_s = -1;
    if (st == SIGLIP_OK && cache) {
        siglip_context_close(&ctx);
        st = open_timed(o, spec, cache, &ctx, &populate);
        siglip_context_close(&ctx);
        if (st == SIGLIP_OK)
            st = open_timed(o, spec, cache, &ctx, &b->cached_s);
    }
    if (st) {
        snprintf(error, error_size, "%s", ctx && *siglip_context_error(ctx)
                                              ? siglip_context_error(ctx) : siglip_strerror(st));
        siglip_context_close(&ctx);
    }
    free(cache);
    return ctx;
}

static const char *dir_basename(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    const char *slash = NULL;
    for (size_t i = 0; i < n; i++)
        if (dir[i] == '/' && i + 1 < n)
            slash = dir + i;
    return slash ? slash + 1 : dir;
}

/* Measures one device: a context per precision (--precision, in the order given; f32 alone
 * without it), opened one after another, then every model and tower on all of them side by
 * side (time_sides). A context that cannot be opened is reported and left out. */
static void bench_device(const BenchOptions *o, const SiglipDeviceInfo *dev, const char *spec,
                         BenchOutput *out)
{
    int n = o->n_precisions ? o->n_precisions : 1, P = 0;
    Side *sides = calloc((size_t)n, sizeof *sides);
    BenchRecord base[4];
    char error[4][1024], tuning[4][sizeof(SiglipTuningInfo)];
    if (!sides) {
        BenchRecord r = {.device = dev, .model = "-", .tower = "-", .error = "out of host memory",
                         .precision = cli_precision_name(o->common.precision)};
        emit(out, &r);
        return;
    }
    for (int i = 0; i < n; i++) {
        BenchOptions one = *o;
        if (o->n_precisions)
            one.common.precision = o->precisions[i];
        BenchRecord b = {.device = dev, .tower = "-", .dev_weights_mib = -1,
                         .dev_peak_mib = -1, .host_rss_peak_mib = -1,
                         .precision = cli_precision_name(one.common.precision)};
        SiglipContext *ctx = open_device(&one, spec, &b.build, error[i], sizeof error[i]);
        SiglipTuningInfo ti;
        if (ctx && siglip_context_tuning_info(ctx, &ti) == SIGLIP_OK) {
            snprintf(tuning[i], sizeof tuning[i], "%s (table rule %s): %s%s%s", ti.source,
                     ti.rule, ti.config, ti.note[0] ? "; stored result " : "", ti.note);
            b.tuning = tuning[i];
        }
        if (!o->json) {
            /* The implementation next to the device: PoCL and rusticl list the same processor. */
            printf("\n%d:%d %s (%s; %s, driver %s), %s: ", dev->platform_index,
                   dev->device_index, dev->name, type_name(dev->type), dev->platform_name,
                   dev->driver_version, b.precision);
            if (!ctx)
                printf("could not be opened\n");
            else if (b.build.cached_s >= 0)
                printf("kernel build %.2f s cold, %.2f s from the cache\n", b.build.cold_s,
                       b.build.cached_s);
            else
                printf("kernel build %.2f s cold (no cache)\n", b.build.cold_s);
            if (b.tuning)
                printf("tuning: %s\n", b.tuning);
        }
        if (!ctx) {
            b.model = "-";
            b.error = error[i];
            emit(out, &b);
            continue;
        }
        sides[P].ctx = ctx;
        base[P++] = b;
    }
    if (P > 0) {
        if (!o->json)
            print_table_header(P > 1);
        for (int i = 0; i < o->shape_names.n; i++)
            bench_model(sides, P, o->shape_names.items[i],
                        bench_shape_find(o->shape_names.items[i]), NULL, o, base, out);
        for (int i = 0; i < o->model_dirs.n; i++)
            bench_model(sides, P, dir_basename(o->model_dirs.items[i]), NULL,
                        o->model_dirs.items[i], o, base, out);
    }
    for (int p = 0; p < P; p++)
        siglip_context_close(&sides[p].ctx);
    free(sides);
}

/* Lists the devices and measures each one the spec allows (all of them without --device). */
static int bench_devices(const BenchOptions *o)
{
    SiglipContext *ctx = NULL;
    if (cli_open_context(&o->common, &ctx))
        return CLI_ERROR;
    SiglipDeviceInfo *list = NULL;
    size_t n = 0;
    int st = siglip_devices_list(ctx, &list, &n);
    if (st) {
        int r = cli_lib_error(ctx, st, "bench: listing OpenCL devices");
        siglip_context_close(&ctx);
        return r;
    }
    siglip_context_close(&ctx);
    BenchOutput out = {o->json, 0, 0};
    int matched = 0;
    if (o->json)
        printf("[");
    for (size_t i = 0; i < n; i++) {
        if (o->common.device && !list[i].is_selected)
            continue;
        char spec[32];
        snprintf(spec, sizeof spec, "%d:%d", list[i].platform_index, list[i].device_index);
        bench_device(o, &list[i], spec, &out);
        matched++;
    }
    if (o->json)
        printf("\n]\n");
    siglip_devices_free(&list);
    if (!matched)
        return cli_error("bench: no OpenCL device matches '%s'", o->common.device);
    return out.n_failed ? CLI_ERROR : CLI_OK;
}

/* ---- options ---- */

static void list_models(void)
{
    size_t n;
    const BenchShape *s = bench_shapes(&n);
    printf("%-30s %6s %4s %-16s %-16s %5s %5s %12s %12s\n", "name", "vocab", "T", "text D/F/L/H",
           "vision D/F/L/H", "image", "patch", "GFLOP/image", "GFLOP/text");
    for (size_t i = 0; i < n; i++) {
        char text[64], vision[64];
        SiglipModelInfo m;
        bench_shape_info(&s[i], &m);
        snprintf(text, sizeof text, "%d/%d/%d/%d", s[i].text_hidden, s[i].text_intermediate,
                 s[i].text_layers, s[i].text_heads);
        snprintf(vision, sizeof vision, "%d/%d/%d/%d", s[i].vision_hidden,
                 s[i].vision_intermediate, s[i].vision_layers, s[i].vision_heads);
        printf("%-30s %6d %4d %-16s %-16s %5d %5d %12.4f %12.4f\n", s[i].name, s[i].vocab_size,
               s[i].text_positions, text, vision, s[i].image_size, s[i].patch_size,
               1e-9 * bench_image_flops(&m, 1, 1), 1e-9 * bench_text_flops(&m, 1, s[i].text_positions));
    }
}

/* Appends one value of a repeatable option (--batch, --tokens) to list [*n]; -1 to go on, else
 * an exit status. */
static int push_value(const char *cmd, const char *option, const char *arg, int *list, int *n)
{
    if (*n == BENCH_MAX_BATCHES)
        return cli_usage_error(cmd, "at most %d %s values", BENCH_MAX_BATCHES, option);
    if (cli_parse_int(cmd, option, arg, 1, 1 << 16, &list[*n]))
        return CLI_USAGE;
    ++*n;
    return -1;
}

/* Handles one bench-specific option; returns -1 to go on, else an exit status. */
static int bench_option(BenchOptions *o, int opt, const char *arg, int *list)
{
    const char *cmd = o->common.cmd;
    int v;
    switch (opt) {
    case OPT_BATCH:
        return push_value(cmd, "--batch", arg, o->batches, &o->n_batches);
    case OPT_TOKENS:
        return push_value(cmd, "--tokens", arg, o->tokens, &o->n_tokens);
    case OPT_MODEL_NAME:
        if (!bench_shape_find(arg))
            return cli_usage_error(cmd, "unknown model '%s' (see --list-models)", arg);
        return cli_list_push(&o->shape_names, (char *)arg) ? cli_error("out of memory") : -1;
    case 'm':
        return cli_list_push(&o->model_dirs, (char *)arg) ? cli_error("out of memory") : -1;
    case OPT_TOWER:
        if (strcmp(arg, "image") && strcmp(arg, "text") && strcmp(arg, "both"))
            return cli_usage_error(cmd, "--tower wants image, text or both, got '%s'", arg);
        o->towers = !strcmp(arg, "image") ? TOWER_IMAGE : !strcmp(arg, "text") ? TOWER_TEXT
                                                                              : TOWER_IMAGE | TOWER_TEXT;
        return -1;
    case OPT_WARMUP:
        return cli_parse_int(cmd, "--warmup", arg, 0, 1000, &o->warmup) ? CLI_USAGE : -1;
    case OPT_ITERS:
        return cli_parse_int(cmd, "--iters", arg, 1, 1000, &o->iters) ? CLI_USAGE : -1;
    case OPT_SEED:
        if (cli_parse_int(cmd, "--seed", arg, 0, INT_MAX, &v))
            return CLI_USAGE;
        o->seed = (unsigned long long)v;
        return -1;
    case OPT_JSON:
        o->json = 1;
        return -1;
    case OPT_LIST_MODELS:
        *list = 1;
        return -1;
    case OPT_PRECISION:
        if (o->n_precisions == (int)(sizeof o->precisions / sizeof o->precisions[0]))
            return cli_usage_error(cmd, "at most 4 --precision values");
        if (cli_common_option(&o->common, opt, arg) == CLI_USAGE)
            return CLI_USAGE;
        o->precisions[o->n_precisions++] = o->common.precision;
        return -1;
    default:
        return -2;
    }
}

static int parse_options(BenchOptions *o, int argc, char **argv, int *list)
{
    static const struct option longopts[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, OPT_MODEL_NAME},
        {"model-dir", required_argument, NULL, 'm'},
        {"tower", required_argument, NULL, OPT_TOWER},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"iters", required_argument, NULL, OPT_ITERS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON},
        {"list-models", no_argument, NULL, OPT_LIST_MODELS},
        {"tokens", required_argument, NULL, OPT_TOKENS},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ":hm:", longopts, NULL)) != -1) {
        int r = bench_option(o, opt, optarg, list);
        if (r == -2) {
            r = cli_common_option(&o->common, opt, optarg);
            r = r == CLI_USAGE ? CLI_USAGE : r ? -1 : cli_getopt_error(o->common.cmd, opt, argv);
        }
        if (r >= 0)
            return r;
    }
    if (optind < argc)
        return cli_usage_error(o->common.cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* Defaults for whatever the options left unset. */
static int apply_defaults(BenchOptions *o)
{
    static const int default_batches[] = {1, 8, 32};
    static const char *const default_models[] = {"base-patch16-224", "large-patch16-384",
                                                 "so400m-patch14-384"};
    if (!o->n_batches) {
        o->n_batches = 3;
        memcpy(o->batches, default_batches, sizeof default_batches);
    }
    if (!o->shape_names.n && !o->model_dirs.n)
        for (size_t i = 0; i < 3; i++)
            if (cli_list_push(&o->shape_names, (char *)default_models[i]))
                return cli_error("out of memory");
    return -1;
}

int cmd_bench(int argc, char **argv)
{
    BenchOptions o = {.towers = TOWER_IMAGE | TOWER_TEXT, .warmup = 1, .iters = 3, .seed = 1};
    cli_common_init(&o.common, "bench");
    int list = 0;
    int r = parse_options(&o, argc, argv, &list);
    if (r < 0)
        r = cli_help_or_version(&o.common, usage);
    if (r < 0 && list) {
        list_models();
        r = CLI_OK;
    }
    if (r < 0)
        r = apply_defaults(&o);
    if (r < 0)
        r = bench_devices(&o);
    cli_list_free(&o.shape_names);
    cli_list_free(&o.model_dirs);
    return r;
}
