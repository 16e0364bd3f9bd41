/* cli.h — what the siglip subcommands share: exit codes, common options, lists, error lines. */
#ifndef SIGLIP_CLI_H
#define SIGLIP_CLI_H

#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "siglip.h"

/* Exit statuses of every subcommand. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Long-only option codes shared by every subcommand (short options use their letter). */
enum {
    OPT_DEVICE = 256,
    OPT_BATCH,
    OPT_NO_TEXT_MASK,
    OPT_THREADS,
    OPT_CACHE_DIR,
    OPT_NO_CACHE,
    OPT_ALLOW_TRUNCATED,
    OPT_PRECISION,
    OPT_VERSION,
    OPT_HELP,
    OPT_IMAGE_SIZE,  /* CliParser.shape */
    OPT_MAX_PATCHES, /* CliParser.shape */
    OPT_FIRST_COMMAND_OPTION, /* subcommands number their own long-only options from here */
};

/* Entries of every subcommand's getopt_long table. */
#define CLI_COMMON_LONG_OPTIONS                                                                  \
    {"device", required_argument, NULL, OPT_DEVICE},                                             \
    {"batch", required_argument, NULL, OPT_BATCH},                                               \
    {"no-text-mask", no_argument, NULL, OPT_NO_TEXT_MASK},                                       \
    {"threads", required_argument, NULL, OPT_THREADS},                                           \
    {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},                                       \
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},                                               \
    {"allow-truncated", no_argument, NULL, OPT_ALLOW_TRUNCATED},                                 \
    {"precision", required_argument, NULL, OPT_PRECISION},                                       \
    {"version", no_argument, NULL, OPT_VERSION},                                                 \
    {"help", no_argument, NULL, OPT_HELP}

/* Help text of the common options, appended to each subcommand's --help. */
extern const char cli_common_help[];

#define CLI_DEFAULT_BATCH 32

/* Settings every subcommand accepts. */
typedef struct CliCommon {
    const char *cmd;        /* subcommand name, for messages */
    const char *device;     /* --device, else $SIGLIP_DEVICE, else NULL (= "auto") */
    const char *cache_dir;  /* --cache-dir, else the default (see cli_cache_dir()); NULL = none */
    int no_cache;           /* --no-cache */
    int allow_truncated;    /* --allow-truncated: SiglipSettings.allow_truncated_images */
    SiglipPrecision precision; /* --precision f32|bf16|f16|q8: SiglipSettings.precision */
    int precision_given;    /* --precision appeared (search then does not take the index's) */
    int batch;              /* --batch N, items per device call */
    int batch_given;        /* --batch appeared (bench treats it as a list) */
    SiglipTextMask text_mask;
    int threads;            /* --threads N; 0 = all CPUs */
    int help;               /* --help seen: print usage and exit 0 */
    int version;            /* --version seen */
} CliCommon;

void cli_common_init(CliCommon *c, const char *cmd);

/* "f32", "bf16", "f16" or "q8": the --precision spelling of p. */
const char *cli_precision_name(SiglipPrecision p);
/* The precision spelled `name`; 0 when there is none of that name. */
int cli_precision_parse(const char *name, SiglipPrecision *out);

/* Handles one common option. Returns 1 when it was one, 0 when it was not, CLI_USAGE (after
 * printing the error) when its argument is bad. */
int cli_common_option(CliCommon *c, int opt, const char *arg);

/* After option parsing: prints the help (usage + common options) or the version when asked and
 * returns CLI_OK; returns -1 when the subcommand should go on. */
int cli_help_or_version(const CliCommon *c, const char *usage);

/* Prints the error line of a getopt_long failure ('?' or ':') and returns CLI_USAGE. */
int cli_getopt_error(const char *cmd, int opt, char *const argv[]);

/* Prints "siglip: <cmd>: <message>; see 'siglip <cmd> --help'" and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "siglip: <what>: <library message>" (the status text when the context has none) and
 * returns CLI_ERROR. ctx may be NULL. */
int cli_lib_error(const SiglipContext *ctx, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cli_lib_error with the library message msg (e.g. siglip_tokenizer_error(),
 * siglip_image_processor_error(): a tokenizer and a processor keep their own). msg may be NULL. */
int cli_msg_error(const char *msg, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints "siglip: <message>" and returns CLI_ERROR. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --image-size H[xW]: parses "384" or "512x384" (height x width) into *height, *width; prints a
 * usage error and returns -1 when malformed. */
int cli_parse_image_size(const char *cmd, const char *arg, int *height, int *width);

/* Runs the model at height × width (siglip_model_set_image_size: transformers'
 * interpolate_pos_encoding, the processor follows); nothing when height <= 0. CLI_OK or
 * CLI_ERROR after printing the library's message. */
int cli_apply_image_size(SiglipContext *ctx, SiglipModel *model, int height, int width);

/* CLI_OK when proc produces the pixel_values model expects (H × W of siglip_model_info), else
 * CLI_ERROR after saying so: siglip_encode_image reads H × W per image whatever the caller
 * allocated, so a processor config whose size differs from the model's must stop the command
 * (transformers' forward refuses it too, unless the model is resized: --image-size). A NaFlex
 * processor (patch lists) always fits. */
int cli_check_processor(const char *cmd, SiglipModel *model, SiglipImageProcessor *proc);

/* --max-patches N: a SigLIP 2 NaFlex processor's patch budget (a model's:
 * siglip_model_image_processor); nothing when n <= 0. A fixed-size processor is an error. */
int cli_set_max_patches(SiglipImageProcessor *proc, int n);

/* The vision inputs of a batch of up to `capacity` images for a model: fixed-size pixel_values
 * [capacity, 3, H, W], or a NaFlex model's patch lists (patches.max_patches > 0; pixels is then
 * patches.pixel_values [capacity, N, C·P·P]). */
typedef struct CliImages {
    SiglipPatches patches;
    float *pixels;
    size_t per_image; /* floats of one image in pixels */
} CliImages;

/* Allocates x for the model's current processor; -1 when out of memory (x freed). */
int cli_images_alloc(SiglipModel *model, int capacity, CliImages *x);
void cli_images_free(CliImages *x);

/* Preprocesses n files into x: stops at the first bad file when st is NULL, else records each
 * file's outcome in st [n]. A library status. */
int cli_images_preprocess(CliImages *x, SiglipImageProcessor *proc, const char *const *paths,
                          int n, SiglipItemStatus *st);

/* Moves image `from` of x to slot `to` (compacting the readable images of a batch). */
void cli_images_move(CliImages *x, int from, int to);

/* Runs the vision tower on the first n images of x. A library status. */
int cli_images_encode(const CliImages *x, SiglipModel *model, int n, const SiglipImageOutput *o);

/* Runs the model's classifier on the first n images of x: logits [n, num_labels]. A library
 * status. */
int cli_images_classify(const CliImages *x, SiglipModel *model, int n, float *logits);

/* Parses a decimal integer in [lo, hi]; prints a usage error naming `option` on failure. */
int cli_parse_int(const char *cmd, const char *option, const char *arg, int lo, int hi, int *out);

/* Prints "siglip <version> (libsiglip <version>)" on stdout. */
void cli_print_version(void);

/* The program binary cache directory: --cache-dir, else $XDG_CACHE_HOME/siglip, else
 * $HOME/.cache/siglip, created when missing. NULL (no cache) with --no-cache, or when it can't be
 * created. Returns a malloc'ed path the caller frees. */
char *cli_cache_dir(const CliCommon *c);

/* Creates a context from the common options. Prints the error itself and returns CLI_ERROR on
 * failure. */
int cli_open_context(const CliCommon *c, SiglipContext **ctx);

/* Loads a model directory, printing "siglip: loading model DIR: ..." on failure. */
int cli_load_model(SiglipContext *ctx, const char *dir, SiglipModel **model);

/* A growable list of borrowed or owned strings (repeatable options, lines of a file). */
typedef struct CliList {
    char **items;
    int n;
    int cap;
    int owns;  /* 1 when the strings are malloc'ed and freed with the list */
} CliList;

int cli_list_push(CliList *l, char *s);        /* 0, or -1 when out of memory */
void cli_list_free(CliList *l);
/* Appends every non-empty line of `path` ("-" = stdin) as an owned string. */
int cli_list_read_lines(CliList *l, const char *path);
/* Appends the n labels formatted with the template (siglip_format_label) as owned strings; 0, or
 * -1 when out of memory (l then holds those made before: cli_list_free frees them). */
int cli_list_format_labels(CliList *l, const char *template_, char *const *labels, int n);

/* A one-line progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct CliProgress {
    int enabled;
    long total;
    double start;
    const char *unit;
} CliProgress;

void cli_progress_start(CliProgress *p, long total, const char *unit);
void cli_progress_update(CliProgress *p, long done);
void cli_progress_end(CliProgress *p);

/* Monotonic wall clock in seconds. */
double cli_now(void);
/* The process's CPU time in seconds, all threads together (CLOCK_PROCESS_CPUTIME_ID). */
double cli_cpu_now(void);

/* One call fn(ctx, item) run on a thread of its own while the caller goes on (decoding the next
 * batch while the device runs this one), or right in cli_ahead_start when serial is set or no
 * thread can be made. cli_ahead_wait returns once the call is done; a must stay in place until
 * then. */
typedef struct CliAhead {
    pthread_t thread;
    int running;
    void (*fn)(void *ctx, void *item);
    void *ctx, *item;
} CliAhead;

void cli_ahead_start(CliAhead *a, int serial, void (*fn)(void *ctx, void *item), void *ctx,
                     void *item);
void cli_ahead_wait(CliAhead *a);

/* Writes s for a line-oriented text output: control characters as C escapes (\n, \t, \x1b...)
 * and a backslash doubled, so that a file name with a newline can't forge or split a line. */
void cli_print_escaped(FILE *f, const char *s);

/* Number of elements of a float array for [a, b] that fits size_t, or 0 on overflow. */
size_t cli_array_size(size_t a, size_t b);

/* How a command runs the vision tower: --image-size (image_h <= 0: the model's) and, for SigLIP 2
 * NaFlex models, --max-patches (<= 0: the processor's). */
typedef struct CliModelShape {
    int image_h, image_w;
    int max_patches;
} CliModelShape;

/* A command's option parsing: getopt_long over shortopts and the long options (the common ones,
 * -m/--model and the command's own), the common options into CliCommon, -m into model_dir, the
 * rest to option(arg, c, opt, value), which returns CLI_OK when it took the option, CLI_NOT_MINE
 * when it is none of its own (a usage error then), or an exit status after printing. */
enum { CLI_NOT_MINE = -1 };
typedef struct CliParser {
    const char *shortopts;
    const struct option *own; /* [n_own] the command's own long options, no terminator; an
                               * on/off option is a getopt flag ({"json", no_argument, &x, 1}) */
    size_t n_own;
    const char *usage;        /* the command's help text */
    int (*option)(void *arg, const CliCommon *c, int opt, char *value);
    void *arg;
    const char *model_dir; /* out: -m MODEL_DIR */
    int model_optional;    /* 1: -m may be left out */
    CliModelShape *shape;  /* not NULL: --image-size H[xW] and --max-patches N fill it */
} CliParser;

/* cli_common_init(c, cmd), the parse, then --help / --version, then requires -m (unless
 * model_optional). Returns -1 when the command should go on (its operands start at optind), else
 * its exit status. */
int cli_parse_options(CliCommon *c, const char *cmd, int argc, char **argv, CliParser *p);

/* Loads dir's tokenizer (tok not NULL) and image processor (proc not NULL) through a host-only
 * context of the common options, closed again: both own their settings and messages. CLI_OK, or
 * CLI_ERROR after printing the library's message. */
int cli_load_host(const CliCommon *c, const char *dir, SiglipTokenizer **tok,
                  SiglipImageProcessor **proc);

/* A context of the common options with dir's model loaded and shaped (cli_apply_image_size,
 * cli_set_max_patches). CLI_OK, or CLI_ERROR after printing; the caller frees *model and
 * closes *ctx either way. */
int cli_open_model(const CliCommon *c, const char *dir, CliModelShape shape, SiglipContext **ctx,
                   SiglipModel **model);

/* The subcommands: each takes argc/argv with argv[0] = the subcommand name. */
int cmd_devices(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_preprocess(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_serve(int argc, char **argv); /* tools/serve/ */

#endif /* SIGLIP_CLI_H */
