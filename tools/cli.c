/* cli.c — helpers shared by the siglip subcommands: common options, error lines, lists, progress. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char cli_common_help[] =
    "Common options:\n"
    "  --device SPEC     OpenCL device: auto (default), gpu, cpu, a vendor (nvidia, amd, intel,\n"
    "                    pocl), P:D indices from 'siglip devices', or part of the device name.\n"
    "                    The SIGLIP_DEVICE environment variable sets it too; the option wins.\n"
    "  --batch N         items per device call (default 32)\n"
    "  --no-text-mask    ignore the text attention mask (big_vision / open_clip semantics)\n"
    "  --threads N       host threads for image decoding (default: all CPUs)\n"
    "  --cache-dir DIR   cache of compiled OpenCL programs (default: $XDG_CACHE_HOME/siglip,\n"
    "                    else ~/.cache/siglip)\n"
    "  --no-cache        compile the OpenCL programs without a cache\n"
    "  --allow-truncated decode truncated image files as far as they go (default: refuse them,\n"
    "                    as transformers/Pillow do)\n"
    "  --precision P     Linear weights and token embedding on the device as f32 (default),\n"
    "                    bf16, f16 or q8 (int8 with a scale per 32 weights); see\n"
    "                    docs/precision.md\n"
    "  --version         print the version and exit\n"
    "  --help            print this help and exit\n";

void cli_common_init(CliCommon *c, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->cmd = cmd;
    const char *env = getenv("SIGLIP_DEVICE");
    c->device = env && *env ? env : NULL;
    c->batch = CLI_DEFAULT_BATCH;
    c->text_mask = SIGLIP_TEXT_MASK_HF;
}

const char *cli_precision_name(SiglipPrecision p)
{
    const char *name = siglip_precision_name(p);
    return name ? name : "?";
}

int cli_precision_parse(const char *name, SiglipPrecision *out)
{
    for (int i = 0; siglip_precision_name((SiglipPrecision)i); i++)
        if (!strcmp(name, siglip_precision_name((SiglipPrecision)i))) {
            *out = (SiglipPrecision)i;
            return 1;
        }
    return 0;
}

static int parse_precision(CliCommon *c, const char *arg)
{
    c->precision_given = 1;
    if (cli_precision_parse(arg, &c->precision))
        return 1;
    char names[128] = ""; /* "f32, bf16, f16 or q8" */
    for (int i = 0; siglip_precision_name((SiglipPrecision)i); i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 i == 0 ? "" : siglip_precision_name((SiglipPrecision)(i + 1)) ? ", " : " or ",
                 siglip_precision_name((SiglipPrecision)i));
    return cli_usage_error(c->cmd, "--precision %s: choose %s", arg, names);
}

int cli_common_option(CliCommon *c, int opt, const char *arg)
{
    switch (opt) {
    case OPT_DEVICE:
        c->device = arg;
        return 1;
    case OPT_BATCH:
        c->batch_given = 1;
        return cli_parse_int(c->cmd, "--batch", arg, 1, 1 << 20, &c->batch) ? CLI_USAGE : 1;
    case OPT_NO_TEXT_MASK:
        c->text_mask = SIGLIP_TEXT_MASK_NONE;
        return 1;
    case OPT_THREADS:
        return cli_parse_int(c->cmd, "--threads", arg, 0, 4096, &c->threads) ? CLI_USAGE : 1;
    case OPT_CACHE_DIR:
        c->cache_dir = arg;
        return 1;
    case OPT_NO_CACHE:
        c->no_cache = 1;
        return 1;
    case OPT_ALLOW_TRUNCATED:
        c->allow_truncated = 1;
        return 1;
    case OPT_PRECISION:
        return parse_precision(c, arg);
    case OPT_VERSION:
        c->version = 1;
        return 1;
    case OPT_HELP:
    case 'h':
        c->help = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_help_or_version(const CliCommon *c, const char *usage)
{
    if (c->help) {
        printf("%s\n%s", usage, cli_common_help);
        return CLI_OK;
    }
    if (c->version) {
        cli_print_version();
        return CLI_OK;
    }
    return -1;
}

static void print_line(const char *prefix, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));
static void print_line(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
    /* Built in one buffer and written with one call so parallel writers don't interleave. */
    char line[2048];
    int n = snprintf(line, sizeof line, "siglip: %s", prefix);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s%s\n", line, suffix);
}

int cli_getopt_error(const char *cmd, int opt, char *const argv[])
{
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    char name[64];
    if (optopt > 0 && optopt < 256)
        snprintf(name, sizeof name, "-%c", optopt);
    else
        snprintf(name, sizeof name, "%s", word);
    if (opt == ':')
        return cli_usage_error(cmd, "option '%s' needs an argument", name);
    return cli_usage_error(cmd, "unknown option '%s'", name);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char prefix[64], suffix[96];
    snprintf(prefix, sizeof prefix, "%s: ", cmd);
    snprintf(suffix, sizeof suffix, " (see 'siglip %s --help')", cmd);
    va_list ap;
    va_start(ap, fmt);
    print_line(prefix, fmt, ap, suffix);
    va_end(ap);
    return CLI_USAGE;
}

__attribute__((format(printf, 3, 0)))
static int lib_verror(const char *msg, int status, const char *fmt, va_list ap)
{
    if (!msg || !*msg)
        msg = siglip_strerror(status);
    /* The first line is the error; a kernel build log may follow, and is worth showing. */
    const char *nl = strchr(msg, '\n');
    int first_len = nl ? (int)(nl - msg) : (int)strlen(msg);
    char what[1024];
    vsnprintf(what, sizeof what, fmt, ap);
    fprintf(stderr, "siglip: %s: %.*s\n", what, first_len, msg);
    if (nl && status == SIGLIP_EBUILD)
        fprintf(stderr, "%s\n", nl + 1);
    return CLI_ERROR;
}

int cli_lib_error(const SiglipContext *ctx, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lib_verror(ctx ? siglip_context_error(ctx) : "", status, fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

int cli_msg_error(const char *msg, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lib_verror(msg, status, fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line("", fmt, ap, "");
    va_end(ap);
    return CLI_ERROR;
}

int cli_parse_int(const char *cmd, const char *option, const char *arg, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi) {
        cli_usage_error(cmd, "%s wants an integer in [%d, %d], got '%s'", option, lo, hi, arg);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_parse_image_size(const char *cmd, const char *arg, int *height, int *width)
{
    char *end = NULL;
    errno = 0;
    long h = strtol(arg, &end, 10), w = h;
    if (!errno && end != arg && (*end == 'x' || *end == 'X')) {
        const char *rest = end + 1;
        w = strtol(rest, &end, 10);
        if (end == rest)
            end = (char *)rest - 1; /* "224x": reject below */
    }
    if (errno || end == arg || *end || h < 1 || w < 1 || h > 32768 || w > 32768) {
        cli_usage_error(cmd, "--image-size wants H or HxW in pixels (1..32768), got '%s'", arg);
        return -1;
    }
    *height = (int)h;
    *width = (int)w;
    return 0;
}

int cli_apply_image_size(SiglipContext *ctx, SiglipModel *model, int height, int width)
{
    if (height <= 0)
        return CLI_OK;
    int st = siglip_model_set_image_size(model, height, width);
    if (st)
        return cli_lib_error(ctx, st, "--image-size %dx%d", height, width);
    return CLI_OK;
}

int cli_check_processor(const char *cmd, SiglipModel *model, SiglipImageProcessor *proc)
{
    SiglipModelInfo info;
    int h = 0, w = 0;
    if (siglip_image_processor_max_patches(proc, NULL) > 0)
        return CLI_OK; /* NaFlex: patch lists of any grid, checked by the library */
    siglip_model_info(model, &info);
    siglip_image_processor_size(proc, &h, &w);
    if (h == info.image_size && w == info.image_width)
        return CLI_OK;
    return cli_error("%s: the image processor produces %d×%d images but the model expects %d×%d "
                     "(fix the processor config, or run the model at that size with "
                     "--image-size %dx%d)", cmd, h, w, info.image_size, info.image_width, h, w);
}

int cli_set_max_patches(SiglipImageProcessor *proc, int n)
{
    if (n <= 0)
        return CLI_OK;
    if (!siglip_image_processor_max_patches(proc, NULL))
        return cli_error("--max-patches is for SigLIP 2 NaFlex models (model_type \"siglip2\"); "
                         "use --image-size for this one");
    int st = siglip_image_processor_set_max_patches(proc, n);
    return st ? cli_msg_error(siglip_image_processor_error(proc), st, "--max-patches %d", n)
              : CLI_OK;
}


int cli_images_alloc(SiglipModel *model, int capacity, CliImages *x)
{
    memset(x, 0, sizeof *x);
    SiglipImageProcessor *proc = siglip_model_image_processor(model);
    int patch_floats = 0, N = siglip_image_processor_max_patches(proc, &patch_floats);
    int h = 0, w = 0;
    siglip_image_processor_size(proc, &h, &w);
    x->per_image = N ? (size_t)N * (size_t)patch_floats : (size_t)3 * (size_t)h * (size_t)w;
    size_t count = cli_array_size((size_t)capacity, x->per_image);
    x->pixels = count ? malloc(count * sizeof *x->pixels) : NULL;
    int ok = x->pixels != NULL;
    if (N) {
        x->patches = (SiglipPatches){N, x->pixels,
                                     malloc((size_t)capacity * (size_t)N * sizeof(int32_t)),
                                     malloc((size_t)capacity * 2 * sizeof(int32_t))};
        ok = ok && x->patches.pixel_attention_mask && x->patches.spatial_shapes;
    }
    if (!ok)
        cli_images_free(x);
    return ok ? 0 : -1;
}

void cli_images_free(CliImages *x)
{
    free(x->pixels);
    free(x->patches.pixel_attention_mask);
    free(x->patches.spatial_shapes);
    memset(x, 0, sizeof *x);
}

int cli_images_preprocess(CliImages *x, SiglipImageProcessor *proc, const char *const *paths,
                          int n, SiglipItemStatus *st)
{
    if (x->patches.max_patches)
        return siglip_preprocess_files_patches(proc, paths, n, &x->patches, st);
    return st ? siglip_preprocess_files_each(proc, paths, n, x->pixels, st)
              : siglip_preprocess_files(proc, paths, n, x->pixels);
}

void cli_images_move(CliImages *x, int from, int to)
{
    if (from == to)
        return;
    memcpy(x->pixels + (size_t)to * x->per_image, x->pixels + (size_t)from * x->per_image,
           x->per_image * sizeof *x->pixels);
    size_t N = (size_t)x->patches.max_patches;
    if (N) {
        memcpy(x->patches.pixel_attention_mask + (size_t)to * N,
               x->patches.pixel_attention_mask + (size_t)from * N, N * sizeof(int32_t));
        memcpy(x->patches.spatial_shapes + 2 * (size_t)to,
               x->patches.spatial_shapes + 2 * (size_t)from, 2 * sizeof(int32_t));
    }
}

int cli_images_encode(const CliImages *x, SiglipModel *model, int n, const SiglipImageOutput *o)
{
    if (x->patches.max_patches)
        return siglip_encode_image_patches(model, &x->patches, n, o);
    return siglip_encode_image(model, x->pixels, n, o);
}

int cli_images_classify(const CliImages *x, SiglipModel *model, int n, float *logits)
{
    if (x->patches.max_patches)
        return siglip_classify_logits_patches(model, &x->patches, n, logits);
    return siglip_classify_logits(model, x->pixels, n, logits);
}

void cli_print_version(void)
{
    printf("siglip %d.%d.%d (libsiglip %s)\n", SIGLIP_VERSION_MAJOR, SIGLIP_VERSION_MINOR,
           SIGLIP_VERSION_PATCH, siglip_version_string());
}

/* mkdir -p: creates every missing component of path. 0 on success. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

char *cli_cache_dir(const CliCommon *c)
{
    if (c->no_cache)
        return NULL;
    char path[PATH_MAX];
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (c->cache_dir && *c->cache_dir)
        snprintf(path, sizeof path, "%s", c->cache_dir);
    else if (xdg && *xdg == '/')
        snprintf(path, sizeof path, "%s/siglip", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.cache/siglip", home);
    else
        return NULL;
    /* A cache that can't be created only costs build time: run without one. */
    if (make_dirs(path))
        return NULL;
    return strdup(path);
}

int cli_open_context(const CliCommon *c, SiglipContext **ctx)
{
    SiglipSettings s;
    siglip_default_settings(&s);
    char *cache = cli_cache_dir(c);
    s.device = c->device;
    s.program_cache_dir = cache;
    s.text_mask = c->text_mask;
    s.n_threads = c->threads;
    s.allow_truncated_images = c->allow_truncated;
    s.tuning_file = getenv("SIGLIP_TUNING_FILE"); /* overrides the table and `siglip tune` */
    s.precision = c->precision;
    int st = siglip_context_create(ctx, &s);
    free(cache);
    if (st)
        return cli_lib_error(NULL, st, "%s: creating a context", c->cmd);
    return CLI_OK;
}

int cli_load_model(SiglipContext *ctx, const char *dir, SiglipModel **model)
{
    int st = siglip_model_load(ctx, dir, model);
    if (st)
        return cli_lib_error(ctx, st, "loading model %s", dir);
    return CLI_OK;
}

int cli_list_push(CliList *l, char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **items = realloc(l->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

void cli_list_free(CliList *l)
{
    if (l->owns)
        for (int i = 0; i < l->n; i++)
            free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

int cli_list_format_labels(CliList *l, const char *template_, char *const *labels, int n)
{
    l->owns = 1;
    for (int i = 0; i < n; i++) {
        char *s = siglip_format_label(template_, labels[i]);
        if (!s || cli_list_push(l, s)) {
            free(s);
            return -1;
        }
    }
    return 0;
}

static void strip_line_end(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int cli_list_read_lines(CliList *l, const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        return cli_error("reading %s: %s", path, strerror(errno));
    l->owns = 1;
    char *line = NULL;
    size_t cap = 0;
    int rc = CLI_OK, line_no = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) >= 0) {
        line_no++;
        /* A NUL would end the line early and name another file: refused instead. */
        if (memchr(line, 0, (size_t)got)) {
            rc = cli_error("reading %s: line %d holds a NUL byte", path, line_no);
            break;
        }
        strip_line_end(line);
        if (!*line)
            continue;
        char *copy = strdup(line);
        if (!copy || cli_list_push(l, copy)) {
            free(copy);
            rc = cli_error("reading %s: out of memory", path);
            break;
        }
    }
    if (rc == CLI_OK && ferror(f))
        rc = cli_error("reading %s: %s", path, strerror(errno));
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

static double clock_seconds(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cli_now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

double cli_cpu_now(void)
{
    return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

size_t cli_array_size(size_t a, size_t b)
{
    if (a && b > SIZE_MAX / sizeof(float) / a)
        return 0;
    return a * b;
}

void cli_progress_start(CliProgress *p, long total, const char *unit)
{
    p->enabled = isatty(STDERR_FILENO) && total > 0;
    p->total = total;
    p->start = cli_now();
    p->unit = unit;
    cli_progress_update(p, 0);
}

void cli_progress_update(CliProgress *p, long done)
{
    if (!p->enabled)
        return;
    enum { WIDTH = 30 };
    int filled = (int)(WIDTH * done / p->total);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    double elapsed = cli_now() - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char eta[32] = "--:--";
    if (rate > 0) {
        long left = (long)((double)(p->total - done) / rate + 0.5);
        snprintf(eta, sizeof eta, "%ld:%02ld", left / 60, left % 60);
    }
    fprintf(stderr, "\r[%s] %ld/%ld %s  %.1f %s/s  ETA %s ", bar, done, p->total, p->unit, rate,
            p->unit, eta);
    fflush(stderr);
}

void cli_progress_end(CliProgress *p)
{
    if (p->enabled)
        fputc('\n', stderr);
}

int cli_parse_options(CliCommon *c, const char *cmd, int argc, char **argv, CliParser *p)
{
    static const struct option shared[] = {
        CLI_COMMON_LONG_OPTIONS,
        {"model", required_argument, NULL, 'm'},
        /* last: only with p->shape */
        {"image-size", required_argument, NULL, OPT_IMAGE_SIZE},
        {"max-patches", required_argument, NULL, OPT_MAX_PATCHES},
    };
    size_t n_shared = sizeof shared / sizeof *shared - (p->shape ? 0 : 2);
    cli_common_init(c, cmd);
    struct option *all = calloc(n_shared + p->n_own + 1, sizeof *all); /* + the zero terminator */
    if (!all)
        return cli_error("%s: out of memory", cmd);
    memcpy(all, shared, n_shared * sizeof *all);
    if (p->n_own)
        memcpy(all + n_shared, p->own, p->n_own * sizeof *all);
    int opt, r = -1;
    while (r < 0 && (opt = getopt_long(argc, argv, p->shortopts, all, NULL)) != -1) {
        int common = cli_common_option(c, opt, optarg);
        if (common == CLI_USAGE) {
            r = CLI_USAGE;
        } else if (common) {
            continue;
        } else if (opt == 0) {
            continue; /* a flag option of the command's table: getopt_long set it */
        } else if (opt == 'm') {
            p->model_dir = optarg;
        } else if (p->shape && opt == OPT_IMAGE_SIZE) {
            if (cli_parse_image_size(cmd, optarg, &p->shape->image_h, &p->shape->image_w))
                r = CLI_USAGE;
        } else if (p->shape && opt == OPT_MAX_PATCHES) {
            if (cli_parse_int(cmd, "--max-patches", optarg, 1, 65536, &p->shape->max_patches))
                r = CLI_USAGE;
        } else {
            int own = p->option ? p->option(p->arg, c, opt, optarg) : CLI_NOT_MINE;
            if (own == CLI_NOT_MINE)
                r = cli_getopt_error(c->cmd, opt, argv);
            else if (own != CLI_OK)
                r = own;
        }
    }
    free(all);
    if (r < 0)
        r = cli_help_or_version(c, p->usage);
    if (r < 0 && !p->model_dir && !p->model_optional)
        r = cli_usage_error(c->cmd, "-m MODEL_DIR is required");
    return r;
}

int cli_load_host(const CliCommon *c, const char *dir, SiglipTokenizer **tok,
                  SiglipImageProcessor **proc)
{
    SiglipContext *ctx = NULL;
    int r = cli_open_context(c, &ctx), st = SIGLIP_OK;
    if (r == CLI_OK && tok && (st = siglip_tokenizer_load(ctx, dir, tok)))
        r = cli_lib_error(ctx, st, "loading the tokenizer of %s", dir);
    if (r == CLI_OK && proc && (st = siglip_image_processor_load(ctx, dir, proc)))
        r = cli_lib_error(ctx, st, "loading the image processor of %s", dir);
    /* Both keep their own settings and error message: they outlive the context. */
    siglip_context_close(&ctx);
    return r;
}

int cli_open_model(const CliCommon *c, const char *dir, CliModelShape shape, SiglipContext **ctx,
                   SiglipModel **model)
{
    int r = cli_open_context(c, ctx);
    if (r == CLI_OK)
        r = cli_load_model(*ctx, dir, model);
    if (r == CLI_OK)
        r = cli_apply_image_size(*ctx, *model, shape.image_h, shape.image_w);
    if (r == CLI_OK)
        r = cli_set_max_patches(siglip_model_image_processor(*model), shape.max_patches);
    return r;
}

void cli_print_escaped(FILE *f, const char *s)
{
    static const char named[] = "\a\b\t\n\v\f\r", letters[] = "abtnvfr";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        const char *n = strchr(named, *p);
        if (*p == '\\')
            fputs("\\\\", f);
        else if (n)
            fprintf(f, "\\%c", letters[n - named]);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

static void *ahead_main(void *arg)
{
    CliAhead *a = arg;
    a->fn(a->ctx, a->item);
    return NULL;
}

void cli_ahead_start(CliAhead *a, int serial, void (*fn)(void *ctx, void *item), void *ctx,
                     void *item)
{
    a->fn = fn;
    a->ctx = ctx;
    a->item = item;
    a->running = !serial && !pthread_create(&a->thread, NULL, ahead_main, a);
    if (!a->running)
        fn(ctx, item);
}

void cli_ahead_wait(CliAhead *a)
{
    if (a->running)
        pthread_join(a->thread, NULL);
    a->running = 0;
}
