/* test_tokenizer_memory.c — the memory a 64 MiB text costs siglip_tokenize_n (issue 32, item 3):
 * for every tokenizer kind and text shape (spaced, one letter, a two-letter pattern, random CJK,
 * a random mixture without spaces, "a.a.…", "ΣΑΣΑ…", only "!", only spaces), the peak RSS of the
 * call, measured in a fresh child process from the kernel's VmHWM, may exceed the RSS before it by
 * at most 64 MiB, and the RSS after the call must be back within 16 MiB of the RSS before it.
 * Texts without a place to cut that the tokenizer would have to hold whole (docs/serve-limits.md
 * says which) must be refused with SIGLIP_ENOTSUP, inside the same bounds; the same shape at
 * SG_TOKENIZER_WHOLE_MAX bytes is still tokenized, to the whole text's row, with its peak held to
 * the per-byte cost of encoding whole (56 bytes per text byte, 52.5 measured for Gemma's BPE). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "siglip.h"
#include "tokenizer/tokenizer.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan's shadow memory and quarantine change what RSS means: the calls still run (on smaller
 * texts, it is slow), the RSS bounds are not asserted. */
#define RSS_ASSERTED 0
#define TEXT_BYTES (4u << 20)
#else
#define RSS_ASSERTED 1
#define TEXT_BYTES SG_TOKENIZER_MAX_TEXT_BYTES /* the longest text accepted: 64 MiB */
#endif
#define GROWTH_MAX_KIB (64u << 10) /* the bound: 64 MiB beyond the text itself */
/* what may stay after the call: the tokenizer keeps scratch buffers of up to 1 MiB each for the
 * next call (trim_scratch frees larger ones), and malloc keeps some freed small blocks */
#define RETURN_MAX_KIB (16u << 10)
#define WHOLE_PER_BYTE 56 /* bytes of peak per text byte encoded whole (52.5 measured at 1 MiB) */

/* A field of /proc/self/status in KiB, or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* Resets VmHWM to the current RSS (Linux's clear_refs, "5"): 0 or -1. */
static int reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int rc = fputs("5", f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

enum { SPACED, ONE_LETTER, TWO_LETTERS, CJK, MIXTURE, LETTER_DOT, SIGMA, BANGS, SPACES,
       N_SHAPES };
static const char *const SHAPE_NAMES[] = {"spaced", "aaaa", "abab", "cjk", "mixture",
                                          "a.a.", "sigma", "!!!!", "spaces"};
/* The unit each of the last shapes repeats. */
static const char *const UNITS[] = {[TWO_LETTERS] = "ab", [LETTER_DOT] = "a.",
                                    [SIGMA] = "\xCE\xA3\xCE\x91", [BANGS] = "!", [SPACES] = " "};

/* Whether the shape has no place to cut for the tokenizer kind, so that a long text is refused:
 * for a BPE tokenizer no space after a letter or digit and no pair of characters that no piece
 * holds ("ab" is a piece of both fixtures; '.', '!', ' ', Σ are not plain); for a unigram walk no
 * chunk boundary, which needs plain characters on both sides ('.' is case-ignorable, so no
 * boundary sits before it; Σ is lowercased by context), while a text of only "!" or spaces, which
 * SiglipTokenizer drops, gives no ids and is answered. */
static int refused(int shape, int bpe)
{
    if (shape == LETTER_DOT || shape == SIGMA)
        return 1;
    return bpe && (shape == TWO_LETTERS || shape == BANGS || shape == SPACES);
}

/* Fills t[0..n) with one shape (whole characters; the tail padded with 'x', except for the
 * repeated units, whose lengths divide n). */
static void fill(char *t, size_t n, int shape)
{
    if (shape >= LETTER_DOT || shape == TWO_LETTERS) {
        size_t u = strlen(UNITS[shape]);
        for (size_t i = 0; i + u <= n; i += u)
            memcpy(t + i, UNITS[shape], u);
        return;
    }
    static const char *const pieces[] = {"a", "Photo", "7", "\xD0\xB4", "\xE7\x8C\xAB",
                                         "\xC3\xA9", ".", "</s>", "\xF0\x9F\x90\xB1", "Q"};
    SgRng rng = {77};
    size_t i = 0;
    while (i + 8 < n) {
        switch (shape) {
        case SPACED:
            memcpy(t + i, i % 12 ? "Photo " : "cat on grass", 6);
            i += 6;
            break;
        case ONE_LETTER:
            t[i++] = 'a';
            break;
        case CJK: {
            uint32_t cp = 0x4E00 + (uint32_t)(sg_rng_next(&rng) % 0x5000);
            t[i++] = (char)(0xE0 | cp >> 12);
            t[i++] = (char)(0x80 | (cp >> 6 & 0x3F));
            t[i++] = (char)(0x80 | (cp & 0x3F));
            break;
        }
        default: {
            const char *p = pieces[sg_rng_next(&rng) % (sizeof pieces / sizeof *pieces)];
            memcpy(t + i, p, strlen(p));
            i += strlen(p);
            break;
        }
        }
    }
    memset(t + i, 'x', n - i);
}

/* Whether the row equals the whole text's (the text encoded at once, without cuts, walk or cap:
 * the reference test_tokenizer_head checks every path against). */
static int whole_text_row(SiglipTokenizer *tok, const char *text, size_t n, const int32_t *ids)
{
    int32_t ref[64];
    tok->head_cuts = tok->long_unigram = tok->pair_cuts = 0;
    tok->whole_max = SIZE_MAX;
    int rc = siglip_tokenize_n(tok, &text, &n, 1, 64, ref, NULL);
    return rc == 0 && memcmp(ids, ref, sizeof ref) == 0;
}

/* In a child: loads the tokenizer, makes a text of n bytes, then measures one siglip_tokenize_n
 * call. Prints one line; exits 0 when within the bounds (or they are not asserted), 1 above them,
 * 2 on a failure (a wrong status or row). */
static void child(const char *fixture, int shape, int bpe, size_t n)
{
    /* meson test sets MALLOC_PERTURB_, which fills every allocation and so makes RSS out of
     * capacity that was reserved but never used: measured as the library runs elsewhere */
    mallopt(M_PERTURB, 0);
    SiglipContext *ctx = NULL;
    SiglipTokenizer *tok = NULL;
    char *dir = sg_test_path(fixture);
    if (siglip_context_create(&ctx, NULL) != 0 || siglip_tokenizer_load(ctx, dir, &tok) != 0) {
        fprintf(stderr, "%s: cannot load the tokenizer: %s\n", fixture,
                ctx ? siglip_context_error(ctx) : "no context");
        _exit(2);
    }
    /* past the cap: refused; at it: encoded whole */
    int refuse = refused(shape, bpe) && n > SG_TOKENIZER_WHOLE_MAX;
    int whole = refused(shape, bpe) && !refuse;
    long bound_kib = whole ? (long)(n / 1024 * WHOLE_PER_BYTE) : (long)GROWTH_MAX_KIB;
    char *text = malloc(n);
    if (!text)
        _exit(2);
    fill(text, n, shape);
    int32_t ids[64], mask[64];
    const char *texts[] = {text};
    if (reset_peak() != 0) {
        fprintf(stderr, "cannot reset VmHWM through /proc/self/clear_refs\n");
        _exit(2);
    }
    long before = status_kib("VmRSS");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = siglip_tokenize_n(tok, texts, &n, 1, 64, ids, mask);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long peak = status_kib("VmHWM"), after = status_kib("VmRSS");
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    long growth = peak - before, kept = after - before;
    printf("%-13s %-8s %5.1f MiB: peak +%7.1f MiB (bound %7.1f), after +%5.1f MiB, %6.2f s%s%s\n",
           fixture, SHAPE_NAMES[shape], (double)n / (1 << 20), growth / 1024.0, bound_kib / 1024.0,
           kept / 1024.0, secs, refuse ? ", refused" : "",
           RSS_ASSERTED ? "" : " (RSS not asserted under ASan)");
    fflush(stdout);
    const char *msg = siglip_tokenizer_error(tok);
    int ok = before > 0 && peak > 0 && after > 0 &&
             (refuse ? rc == SIGLIP_ENOTSUP && strstr(msg, "no place where the tokenizer may split")
                     : rc == 0);
    if (!ok)
        fprintf(stderr, "%s %s: siglip_tokenize_n: %d %s (expected %s)\n", fixture,
                SHAPE_NAMES[shape], rc, msg, refuse ? "a refusal" : "success");
    if (ok && whole && !whole_text_row(tok, text, n, ids)) {
        fprintf(stderr, "%s %s: the row differs from the whole text's\n", fixture,
                SHAPE_NAMES[shape]);
        ok = 0;
    }
    siglip_tokenizer_free(&tok);
    siglip_context_close(&ctx);
    free(text);
    free(dir);
    if (!ok)
        _exit(2);
    _exit(RSS_ASSERTED && (growth > bound_kib || kept > (long)RETURN_MAX_KIB) ? 1 : 0);
}

/* Runs child() in a fresh process and checks its exit code. */
static void measure(const char *fixture, int shape, int bpe, size_t n)
{
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0)
        child(fixture, shape, bpe, n);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK(code == 0, "%s, %s text of %zu bytes: %s", fixture, SHAPE_NAMES[shape], n,
          code == 1 ? "the call's peak RSS or what it kept exceeds the bound"
                    : "the child failed");
}

int main(void)
{
    static const char *const fixtures[] = {
        "tiny",         /* spiece.model: unigram, SiglipTokenizer rules */
        "multilingual", /* spiece.model of the multilingual fixture */
        "siglip2",      /* tokenizer.model: BPE, Siglip2Tokenizer (Gemma) rules */
        "siglip2-json", /* tokenizer.json: HF BPE */
    };
    static const int bpe[] = {0, 0, 1, 1};
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        for (int shape = 0; shape < N_SHAPES; shape++) {
            measure(fixtures[f], shape, bpe[f], TEXT_BYTES);
            if (refused(shape, bpe[f])) /* the longest text of that shape still tokenized */
                measure(fixtures[f], shape, bpe[f], SG_TOKENIZER_WHOLE_MAX);
        }
    }
    return sg_test_finish("test_tokenizer_memory");
}
