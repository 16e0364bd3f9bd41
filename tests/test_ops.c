/* test_ops.c — every device op of src/ocl/ops.h against its plain-C reference (ref_ops.c) on
 * random inputs at awkward sizes. Every buffer sits between guard regions filled with a sentinel
 * (and strided outputs have sentinel gaps) that must come back untouched. */
#include <CL/cl.h>
#include <stdint.h>

#include "harness.h"
#include "ocl/device.h"
#include "ocl/kernels.h"
#include "ocl/cl_sources.h"
#include "ocl/ops.h"
#include "ocl/program.h"
#include "ocl/weight_pack.h"
#include "ref_ops.h"

#define SENTINEL 0xDEADBEEFu

static SgDevice *dev;
static SgError err;
static SgRng rng = {0x5eed5eed1234ull};

/* ---- buffers with guard regions ---- */

/* A device buffer of n 4-byte elements (view, a sub-buffer) inside a larger one (parent) whose
 * `guard` elements before and after hold SENTINEL. */
typedef struct GBuf {
    cl_mem parent, view;
    size_t n, guard;
} GBuf;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    return p;
}

/* Elements a strided block [rows, cols] with row stride ld starting at off reaches. */
static size_t span(size_t off, size_t rows, size_t ld, size_t cols)
{
    return sg_view_span((SgView){NULL, off, 1, rows, cols, ld, 0});
}

static void fill_sentinel(void *p, size_t n)
{
    uint32_t *u = p;
    for (size_t i = 0; i < n; i++)
        u[i] = SENTINEL;
}

/* init: n elements to put inside, or NULL for all sentinel. */
static GBuf gbuf(const void *init, size_t n)
{
    GBuf g = {.n = n, .guard = dev->mem_base_align / 4 > 64 ? dev->mem_base_align / 4 : 64};
    size_t total = n + 2 * g.guard;
    uint32_t *host = xmalloc(total * 4);
    fill_sentinel(host, total);
    if (init)
        memcpy(host + g.guard, init, n * 4);
    cl_int st;
    g.parent = clCreateBuffer(dev->context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, total * 4,
                              host, &st);
    free(host);
    if (st != CL_SUCCESS) {
        fprintf(stderr, "clCreateBuffer: %s\n", sg_cl_strerror(st));
        exit(1);
    }
    cl_buffer_region region = {g.guard * 4, n * 4};
    g.view = clCreateSubBuffer(g.parent, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region,
                               &st);
    if (st != CL_SUCCESS) {
        fprintf(stderr, "clCreateSubBuffer: %s\n", sg_cl_strerror(st));
        exit(1);
    }
    return g;
}

/* Reads the inside into host and checks that both guards still hold the sentinel. */
static void gbuf_read(const GBuf *g, void *host, const char *what)
{
    size_t total = g->n + 2 * g->guard;
    uint32_t *all = xmalloc(total * 4);
    cl_int st = clEnqueueReadBuffer(dev->queue, g->parent, CL_TRUE, 0, total * 4, all, 0, NULL,
                                    NULL);
    CHECK(st == CL_SUCCESS, "%s: read failed: %s", what, sg_cl_strerror(st));
    size_t touched = 0;
    for (size_t i = 0; i < g->guard; i++)
        touched += (all[i] != SENTINEL) + (all[g->guard + g->n + i] != SENTINEL);
    CHECK(touched == 0, "%s: %zu guard elements overwritten", what, touched);
    if (host)
        memcpy(host, all + g->guard, g->n * 4);
    free(all);
}

static void gbuf_free(GBuf *g)
{
    clReleaseMemObject(g->view);
    clReleaseMemObject(g->parent);
}

/* ---- comparing and reporting ---- */

/* Where the meaningful elements of an output are: rows × cols at off with row stride ld; every
 * other element must equal the reference bit for bit (sentinel gaps, untouched). */
typedef struct Layout {
    size_t off, rows, ld, cols;
} Layout;

static Layout dense(size_t n)
{
    return (Layout){0, 1, n, n};
}

static int in_layout(Layout L, size_t i)
{
    if (i < L.off)
        return 0;
    size_t r = (i - L.off) / L.ld, c = (i - L.off) % L.ld;
    return r < L.rows && c < L.cols;
}

typedef struct OpStats {
    const char *op;
    int cases, failed;
    double max_abs, max_nmse;
} OpStats;

static OpStats stats[16];
static size_t n_stats;

static OpStats *op_stats(const char *op)
{
    for (size_t i = 0; i < n_stats; i++)
        if (strcmp(stats[i].op, op) == 0)
            return &stats[i];
    stats[n_stats] = (OpStats){.op = op};
    return &stats[n_stats++];
}

/* Compares n elements: those in L within atol + rtol·|ref| and NMSE ≤ nmse_max, the rest
 * bitwise. Prints one line and records the op's worst errors. */
static void compare(const char *op, const char *label, const float *got, const float *ref,
                    size_t n, Layout L, double atol, double rtol, double nmse_max)
{
    double max_abs = 0, err2 = 0, ref2 = 0;
    size_t bad = 0, gaps_changed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_layout(L, i)) {
            gaps_changed += memcmp(&got[i], &ref[i], 4) != 0;
            continue;
        }
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= atol + rtol * fabs((double)ref[i]))) {
            if (bad < 3)
                fprintf(stderr, "  %s %s [%zu]: got %.9g, expected %.9g\n", op, label, i, got[i],
                        ref[i]);
            bad++;
        }
        max_abs = d > max_abs || d != d ? d : max_abs;
        err2 += d * d;
        ref2 += (double)ref[i] * ref[i];
    }
    double nmse = ref2 > 0 ? err2 / ref2 : err2;
    int ok = bad == 0 && gaps_changed == 0 && nmse <= nmse_max;
    printf("%-13s %-46s max_abs %.2e  nmse %.2e  %s\n", op, label, max_abs, nmse,
           ok ? "pass" : "FAIL");
    CHECK(bad == 0, "%s %s: %zu elements outside tolerance", op, label, bad);
    CHECK(gaps_changed == 0, "%s %s: %zu elements outside the output changed", op, label,
          gaps_changed);
    CHECK(nmse <= nmse_max, "%s %s: nmse %.3g > %.3g", op, label, nmse, nmse_max);
    OpStats *s = op_stats(op);
    s->cases++;
    s->failed += !ok;
    s->max_abs = max_abs > s->max_abs ? max_abs : s->max_abs;
    s->max_nmse = nmse > s->max_nmse ? nmse : s->max_nmse;
}

static float *random_floats(size_t n, float lo, float hi)
{
    float *x = xmalloc(n * sizeof *x);
    sg_rng_fill(&rng, x, n, lo, hi);
    return x;
}

static void check_op(int rc, const char *what)
{
    if (rc == SIGLIP_OK)
        rc = sg_device_finish(dev, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    (void)what;
}

#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

/* Largest case (multiply-adds) run; SIZE_MAX unless --quick. */
static size_t work_limit = SIZE_MAX;

static int too_big(const char *op, size_t work)
{
    if (work <= work_limit)
        return 0;
    printf("%-13s skipped in --quick mode (%zu multiply-adds)\n", op, work);
    return 1;
}

/* ---- linear ---- */

typedef struct LinearCase {
    size_t M, N, K, x_pad, y_pad, x_off, y_off;
    SgActivation act;
    int bias, accumulate;
} LinearCase;

static const char *const dtype_names[] = {"f32", "bf16", "f16", "q8"};

/* Runs one case with the weight in `layout` stored as dtype: both GEMM paths and every weight type
 * are tested on every device. The reference multiplies by the values the storage type rounds the
 * weight to (sg_weight_dequantize, itself checked against IEEE constants in
 * test_weight_rounding), so the tolerance is the f32 one. q8's integer form (gemm_q8_np > 0)
 * rounds each row of x per block of 32 to int8 before multiplying (cl/gemm_packed.cl), so the
 * reference rounds x by that rule too (ref_quantize_rows, written from the rule, not the kernel)
 * and sums in double: what is left is f32 rounding, under the same tolerance. */
static void test_linear_case(const LinearCase *c, SgGemmPath layout, SgElemType dtype)
{
    if (too_big("linear", c->M * c->N * c->K))
        return;
    size_t ldx = c->K + c->x_pad, ldy = c->N + c->y_pad;
    size_t nx = span(c->x_off, c->M, ldx, c->K), ny = span(c->y_off, c->M, ldy, c->N);
    float *x = random_floats(nx, -1, 1), *w = random_floats(c->N * c->K, -0.5f, 0.5f);
    float *b = random_floats(c->N, -1, 1), *y = xmalloc(ny * 4), *got = xmalloc(ny * 4);
    Layout L = {c->y_off, c->M, ldy, c->N};
    /* Outside the output: sentinel. Inside: prior values to accumulate onto, or NaN, which a
     * GEMM with beta = 0 must not read. */
    fill_sentinel(y, ny);
    for (size_t i = 0; i < ny; i++)
        if (in_layout(L, i))
            y[i] = c->accumulate ? sg_rng_uniform(&rng, -1, 1) : NAN;
    GBuf gx = gbuf(x, nx), gb = gbuf(b, c->N), gy = gbuf(y, ny);
    SgLinear lin = {.b = {c->bias ? gb.view : NULL, c->N * 4}};
    SgRows rows = sg_rows_host(w, c->N, c->K);
    rows.threads = 3; /* panels (or rows) packed by threads of their own, in uneven ranges */
    int rc = sg_weight_upload_rows(dev, &rows, layout, dtype, &lin.w, &err);
    sg_weight_dequantize(dtype, w, c->N, c->K, w);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    SgView vx = {gx.view, c->x_off, 1, c->M, c->K, ldx, 0};
    SgView vy = {gy.view, c->y_off, 1, c->M, c->N, ldy, 0};
    if (rc == SIGLIP_OK)
        rc = sg_op_linear(dev, vx, &lin, vy, c->act, c->accumulate ? SG_ACCUMULATE : SG_STORE,
                          &err);
    check_op(rc, "linear");
    gbuf_read(&gx, NULL, "linear x");
    gbuf_read(&gb, NULL, "linear b");
    gbuf_read(&gy, got, "linear y");
    if (dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0)
        ref_quantize_rows(x + c->x_off, ldx, c->M, c->K);
    ref_linear(x + c->x_off, ldx, w, c->bias ? b : NULL, y + c->y_off, ldy, c->M, c->N, c->K,
               c->act, c->accumulate);
    char label[160];
    snprintf(label, sizeof label, "%s/%s%s %dx%d ku%d mb%d wg%d chunk %dK M=%zu N=%zu K=%zu "
             "act=%d bias=%d acc=%d ld+%zu/%zu", sg_gemm_path_name(layout), dtype_names[dtype],
             dtype != SG_ELEM_I8 ? "" : dev->tuning.gemm_q8_np ? "-int" : "-widen",
             dev->tuning.gemm_mr, dev->tuning.gemm_nr, dev->tuning.gemm_ku, dev->tuning.gemm_mb,
             dev->tuning.gemm_wg, dev->tuning.gemm_chunk_kib,
             c->M, c->N, c->K, (int)c->act, c->bias, c->accumulate,
             c->x_pad, c->y_pad);
    compare("linear", label, got, y, ny, L, 1e-4, 1e-4, 1e-11);
    sg_buffer_release(dev, &lin.w.buf);
    gbuf_free(&gx), gbuf_free(&gb), gbuf_free(&gy);
    free(x), free(w), free(b), free(y), free(got);
}

static const LinearCase linear_cases[] = {
    {1, 1, 1, 0, 0, 0, 0, SG_ACT_NONE, 1, 0},
    {7, 13, 50, 3, 5, 2, 7, SG_ACT_GELU_TANH, 1, 0},
    {50, 197, 13, 0, 1, 0, 3, SG_ACT_GELU_ERF, 1, 0},
    {13, 7, 197, 1, 0, 5, 0, SG_ACT_NONE, 0, 0},
    {197, 100, 768, 0, 0, 0, 0, SG_ACT_GELU_TANH, 1, 0},
    {1, 768, 33, 0, 0, 0, 0, SG_ACT_GELU_ERF, 0, 0},
    {7, 33, 100, 2, 3, 1, 1, SG_ACT_NONE, 1, 1},
    {50, 768, 33, 0, 0, 0, 0, SG_ACT_NONE, 0, 1},
    {3, 1, 7, 4, 2, 0, 9, SG_ACT_NONE, 1, 1},
    {9, 64, 40, 0, 0, 0, 0, SG_ACT_GELU_TANH, 1, 0},  /* whole 32-column panels */
    {17, 96, 31, 1, 2, 3, 4, SG_ACT_NONE, 1, 1},      /* whole panels, accumulate */
    {5, 40, 1100, 0, 0, 0, 0, SG_ACT_NONE, 1, 0},     /* K over several packing stretches */
    {11, 200, 545, 1, 0, 2, 0, SG_ACT_GELU_TANH, 1, 0}, /* odd K past q8's 256-input chunks;
                                                        * 200 columns: a partial group of
                                                        * panels */
};

/* ---- vpdpbusd: q8's integer form where the CPU has VNNI ----
 * A VNNI form runs only on a CPU that has VNNI (anywhere else its first vpdpbusd faults), so on a
 * device without it the forms are built, not run: cl/gemm_packed.cl for q8 with the integer form
 * asking for vpdpbusd (gemm_q8_dot 1) and the device's features but SG_X86_VNNI 1 (AVX-512
 * VNNI) or 2 (AVX-VNNI), on the table's block and 8×32. PoCL compiles every kernel into the
 * binary clGetProgramInfo returns; its machine code must hold vpdpbusd in that encoding, and
 * the build without VNNI none. Where the device has VNNI, test_linear runs the forms. */

/* vpdpbusd ymm in the bytes b (Intel SDM, VPDPBUSD): EVEX (vnni 1) is 62, P0 with map 0F38
 * (bits 3..0 = 0010), P1 with W0, bit 2 set and prefix 66 (bits 7, 2..0 = 0, 101), P2 with
 * L'L = 01 (256 bits), opcode 50; VEX (vnni 2) is C4, map 0F38 (m-mmmm = 00010), W0 L1 pp 01,
 * opcode 50. */
static size_t count_vpdpbusd(const unsigned char *b, size_t n, int vnni)
{
    size_t count = 0;
    for (size_t i = 0; i + 5 <= n; i++)
        if (vnni == 1)
            count += b[i] == 0x62 && (b[i + 1] & 0x0f) == 0x02 && (b[i + 2] & 0x87) == 0x05 &&
                     (b[i + 3] & 0x60) == 0x20 && b[i + 4] == 0x50;
        else
            count += b[i] == 0xc4 && (b[i + 1] & 0x1f) == 0x02 && (b[i + 2] & 0x87) == 0x05 &&
                     b[i + 3] == 0x50;
    return count;
}

/* How many vpdpbusd of each encoding (n[1] EVEX, n[2] VEX) PoCL made of the q8 GEMM program
 * built for tuning t on a device with VNNI `has_vnni`; 0 when it did not build (a failed check). */
static void q8_program_vpdpbusd(const SgTuning *t, int has_vnni, size_t n[3])
{
    n[0] = n[1] = n[2] = 0;
    size_t index = 0;
    const SgClSource *cl = sg_cl_source_find("gemm_packed", &index);
    SiglipDeviceInfo info = dev->info;
    info.has_vnni = has_vnni;
    char options[SG_WEIGHT_OPTIONS_MAX];
    sg_weight_program_options(&info, t, SG_ELEM_I8, options, sizeof options);
    SgProgramSource src = {cl->name, cl->source, cl->length, options, NULL};
    SgProgram prog = {0};
    SgError build_err = {0};
    if (sg_program_build(dev, &src, &prog, &build_err) != SIGLIP_OK) {
        CHECK(0, "q8 program %s: %s", options, build_err.message);
        return;
    }
    CHECK(strstr(prog.log, "warning") == NULL, "q8 program %s builds with warnings:\n%s", options,
          prog.log);
    size_t size = 0;
    unsigned char *bin = NULL;
    if (clGetProgramInfo(prog.program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) ==
            CL_SUCCESS && size > 0 && (bin = xmalloc(size)) != NULL &&
        clGetProgramInfo(prog.program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS)
        for (int e = 1; e <= 2; e++)
            n[e] = count_vpdpbusd(bin, size, e);
    CHECK(bin != NULL, "q8 program %s: no binary", options);
    free(bin);
    sg_program_free(&prog);
}

static void test_q8_vnni_code(void)
{
    if (!dev->info.has_int8_dot || !strstr(dev->info.platform_name, "Portable Computing Language")) {
        printf("vpdpbusd code: skipped (no int8 dot products, or not PoCL's machine code)\n");
        return;
    }
    static const char *const enc[] = {"", "EVEX", "VEX"};
    const SgTuning table = dev->tuning;
    const SgGemmBlock blocks[] = {{table.gemm_mr, table.gemm_nr, table.gemm_ku, table.gemm_mb},
                                  {8, 32, 1, 1}};
    for (size_t b = 0; b < 2; b++) {
        SgTuning t = sg_tuning_with_block(&table, blocks[b]);
        t.gemm_q8_np = 16;
        sg_tuning_fit(&dev->info, &t); /* to private memory; the dot product set after it */
        t.gemm_q8_dot = 1;
        SgTuning not_asked = t;
        not_asked.gemm_q8_dot = 0;
        size_t none[3];
        q8_program_vpdpbusd(&t, 0, none);
        CHECK(none[1] == 0 && none[2] == 0, "%d×%d without VNNI: %zu + %zu vpdpbusd", t.gemm_mr,
              t.gemm_nr, none[1], none[2]);
        for (int vnni = 1; vnni <= 2; vnni++) {
            size_t with[3], without[3];
            q8_program_vpdpbusd(&t, vnni, with);
            q8_program_vpdpbusd(&not_asked, vnni, without);
            printf("vpdpbusd code, %d×%d np %d, %s: %zu (%s: %zu; not asked for: %zu)\n",
                   t.gemm_mr, t.gemm_nr, t.gemm_q8_np, enc[vnni], with[vnni], enc[3 - vnni],
                   with[3 - vnni], without[vnni]);
            /* The inner loop's MR·NR/8 per quad of inputs, at least once. */
            CHECK(with[vnni] >= (size_t)(t.gemm_mr * t.gemm_nr / 8) && with[3 - vnni] == 0,
                  "%d×%d: %zu vpdpbusd %s (want ≥ %d), %zu %s", t.gemm_mr, t.gemm_nr,
                  with[vnni], enc[vnni], t.gemm_mr * t.gemm_nr / 8, with[3 - vnni],
                  enc[3 - vnni]);
            CHECK(without[1] == 0 && without[2] == 0, "%d×%d, gemm_q8_dot 0: %zu + %zu vpdpbusd",
                  t.gemm_mr, t.gemm_nr, without[1], without[2]);
        }
    }
}

static void test_linear(void)
{
    for (size_t i = 0; i < N_CASES(linear_cases); i++)
        for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++) {
#ifdef SG_HAVE_CLBLAST
            test_linear_case(&linear_cases[i], SG_GEMM_CLBLAST, (SgElemType)t);
#endif
            test_linear_case(&linear_cases[i], SG_GEMM_PANELS, (SgElemType)t);
        }
    /* Every register block `siglip tune` may choose (the first: the table's own) and the
     * default rule's 8×32, each rebuilt. */
    SgTuning chosen = dev->tuning, cand[64];
    size_t n = sg_tune_candidates(SG_TUNE_GEMM_BLOCK, &chosen, cand, 63);
    CHECK(n >= 2, "%zu GEMM candidates", n);
    cand[n++] = sg_tuning_with_block(&chosen, (SgGemmBlock){8, 32, 1, 1});
    for (size_t c = 0; c < n; c++) {
        SgTuning with_blk = sg_tuning_with_block(&chosen, (SgGemmBlock){cand[c].gemm_mr,
            cand[c].gemm_nr, cand[c].gemm_ku, cand[c].gemm_mb});
        int rc = sg_device_retune(dev, &with_blk, sg_test_cache_dir(), &err);
        CHECK_STATUS(rc, SIGLIP_OK, err.message);
        /* f32 on every case; the reduced types (the same kernel with another weight load) on
         * the awkward ones: remainders, whole panels, accumulate. */
        for (size_t i = 0; rc == SIGLIP_OK && i < N_CASES(linear_cases); i++)
            for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++)
                if (t == SG_ELEM_F32 || i == 1 || i == 8 || i == 10)
                    test_linear_case(&linear_cases[i], SG_GEMM_PANELS, (SgElemType)t);
    }
    /* The chunked walk of gemm_packed (x larger than gemm_chunk_kib): with 4×16 blocks, 300 or
     * 301 rows of K = 5 (6 KB) under a 5 KiB budget walk 2 row blocks × every panel per chunk
     * (the last chunk 1 block), under 1 KiB one block per chunk; every weight type. */
    static const LinearCase chunked[] = {
        {300, 37, 5, 0, 0, 0, 0, SG_ACT_NONE, 1, 0},
        {301, 50, 5, 2, 3, 1, 4, SG_ACT_NONE, 1, 1},
        {300, 24, 5, 0, 0, 0, 0, SG_ACT_GELU_TANH, 1, 0},
        {97, 100, 33, 0, 0, 0, 0, SG_ACT_NONE, 0, 1},
    };
    const int budgets[] = {5, 1};
    for (size_t b = 0; b < 2; b++) {
        SgTuning ct = sg_tuning_with_block(&chosen, (SgGemmBlock){4, 16, 1, 1});
        ct.gemm_chunk_kib = budgets[b];
        CHECK_STATUS(sg_device_retune(dev, &ct, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
        for (size_t i = 0; i < sizeof chunked / sizeof chunked[0]; i++)
            for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++)
                test_linear_case(&chunked[i], SG_GEMM_PANELS, (SgElemType)t);
    }
    /* Every q8 form `siglip tune` may choose on this device (its SG_TUNE_Q8_FORM candidates as
     * fitted here, the first the table's own: 0, 8, 16 where the compiler builds int8 dot
     * products, else the widening form alone), on every case, with the table's block and with
     * 8×32 (the blocks above ran the table's form). */
    SgTuning forms[8];
    size_t n_forms = sg_tune_candidates_fitted(&dev->info, SG_TUNE_Q8_FORM, &chosen, forms, 8);
    CHECK(n_forms == (dev->info.has_int8_dot ? (dev->info.has_vnni ? 5u : 3u) : 1u),
          "%zu q8 forms (int8 dot products: %d, VNNI %d)", n_forms, dev->info.has_int8_dot,
          dev->info.has_vnni);
    for (size_t f = 0; f < n_forms; f++)
        for (size_t c = 0; c < 2; c++) {
            SgTuning qt = c ? sg_tuning_with_block(&forms[f], (SgGemmBlock){8, 32, 1, 1})
                            : forms[f];
            CHECK_STATUS(sg_device_retune(dev, &qt, sg_test_cache_dir(), &err), SIGLIP_OK,
                         err.message);
            for (size_t i = 0; i < N_CASES(linear_cases); i++)
                test_linear_case(&linear_cases[i], SG_GEMM_PANELS, SG_ELEM_I8);
        }
    /* Several work-items per work-group (gemm_wg: llvmpipe's rule, GPUs' fit): the row blocks
     * rounded up to whole groups, also under the chunked walk's renumbering; 3 leaves a partial
     * group at every M here. */
    const int groups[] = {3, 8};
    for (size_t g = 0; g < 2; g++) {
        SgTuning gt = chosen;
        gt.gemm_wg = groups[g];
        CHECK_STATUS(sg_device_retune(dev, &gt, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
        for (size_t i = 0; i < N_CASES(linear_cases); i++)
            for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++)
                if (t == SG_ELEM_F32 || i == 1 || i == 8 || i == 10)
                    test_linear_case(&linear_cases[i], SG_GEMM_PANELS, (SgElemType)t);
        gt = sg_tuning_with_block(&gt, (SgGemmBlock){4, 16, 1, 1});
        gt.gemm_chunk_kib = 1;
        CHECK_STATUS(sg_device_retune(dev, &gt, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
        for (size_t i = 0; i < sizeof chunked / sizeof chunked[0]; i++)
            test_linear_case(&chunked[i], SG_GEMM_PANELS, SG_ELEM_F32);
    }
    CHECK_STATUS(sg_device_retune(dev, &chosen, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
    /* Out-of-range tuning is refused and leaves the device as it was. */
    SgTuning bad = dev->tuning;
    bad.attn_qb = 17;
    CHECK_STATUS(sg_device_retune(dev, &bad, sg_test_cache_dir(), &err), SIGLIP_EINVAL, err.message);
    bad = sg_tuning_with_block(&dev->tuning, (SgGemmBlock){4, 12, 1, 1});
    CHECK_STATUS(sg_device_retune(dev, &bad, sg_test_cache_dir(), &err), SIGLIP_EINVAL, err.message);
    bad = dev->tuning;
    bad.gemm_q8_np = SG_Q8_NP_MAX + 1;
    CHECK_STATUS(sg_device_retune(dev, &bad, sg_test_cache_dir(), &err), SIGLIP_EINVAL, err.message);
    /* q8's integer form is fitted to SG_Q8_PRIVATE_MAX (128 KiB) of private memory, its
     * accumulators: 8×32 blocks, 64 of them per work-item, are 512 rows × 32 columns of f32 =
     * 64 KiB per panel: 2 panels fit, not the 16 asked; 4×16, 16 blocks: 64 rows, 4 KiB per
     * panel: 16 fit (32 would). */
    SgTuning big = sg_tuning_with_block(&chosen, (SgGemmBlock){8, 32, 1, 64});
    big.gemm_q8_np = 16;
    CHECK_STATUS(sg_device_retune(dev, &big, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
    CHECK(dev->tuning.gemm_q8_np == (dev->info.has_int8_dot ? 2 : 0),
          "q8 form fitted to private memory: %d, want 2 (0 without int8 dot products: %d)",
          dev->tuning.gemm_q8_np, dev->info.has_int8_dot);
    big = sg_tuning_with_block(&chosen, (SgGemmBlock){4, 16, 1, 16});
    big.gemm_q8_np = 16;
    big.gemm_q8_dot = 1;
    CHECK_STATUS(sg_device_retune(dev, &big, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
    /* ... unless the device's compiler lacks int8 dot products (has_int8_dot, probed at open);
     * vpdpbusd only where the CPU has VNNI (has_vnni, read off it at open). */
    CHECK(dev->tuning.gemm_q8_np == (dev->info.has_int8_dot ? 16 : 0),
          "q8 form fitted to private memory: %d, want 16 (0 without int8 dot products: %d)",
          dev->tuning.gemm_q8_np, dev->info.has_int8_dot);
    CHECK(dev->tuning.gemm_q8_dot == (dev->info.has_vnni != 0),
          "gemm_q8_dot fitted to %d (VNNI %d)", dev->tuning.gemm_q8_dot, dev->info.has_vnni);
    CHECK_STATUS(sg_device_retune(dev, &chosen, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
    CHECK(dev->tuning.gemm_nr != 12 && dev->tuning.attn_qb != 17, "device tuning unchanged");
    /* A weight packed for another panel width is refused, not misread. */
    SgGemmBlock other = {chosen.gemm_mr, chosen.gemm_nr == 16 ? 24 : 16, 1, 1};
    float w[48 * 5] = {0};
    SgLinear lin = {0};
    SgTuning other_t = sg_tuning_with_block(&chosen, other);
    CHECK_STATUS(sg_device_retune(dev, &other_t, sg_test_cache_dir(), &err), SIGLIP_OK,
                 err.message);
    CHECK_STATUS(sg_weight_upload(dev, w, 48, 5, SG_GEMM_PANELS, SG_ELEM_F32, &lin.w, &err), SIGLIP_OK,
                 err.message);
    CHECK_STATUS(sg_device_retune(dev, &chosen, sg_test_cache_dir(), &err), SIGLIP_OK,
                 err.message);
    GBuf gx = gbuf(w, 5), gy = gbuf(NULL, 48);
    int rc = sg_op_linear(dev, (SgView){gx.view, 0, 1, 1, 5, 5, 0}, &lin,
                          (SgView){gy.view, 0, 1, 1, 48, 48, 0}, SG_ACT_NONE, SG_STORE, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, "a weight of another panel width is refused");
    sg_buffer_release(dev, &lin.w.buf);
    gbuf_free(&gx), gbuf_free(&gy);
    dev->tuning = chosen;
}

/* The value of half pattern h, from the binary16 definition (independent of sg_f16_to_f32). */
static double half_value(unsigned h)
{
    unsigned e = h >> 10 & 0x1f, m = h & 0x3ff;
    double v = e ? ldexp(1024.0 + m, (int)e - 25) : ldexp(m, -24);
    return h & 0x8000 ? -v : v;
}

static float bf16_value(unsigned b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Rounding f32 → f16 and → bf16 over every finite pattern p of either sign: p's own value gives
 * p, the midpoint to the next pattern (exact in f32) the even one of the two, and one f32 ulp
 * either side of it the nearer one; past the largest finite value lies infinity; NaN stays NaN.
 * Returns the number of mismatches (the first few printed). */
static int test_rounding_every_pattern(void)
{
    int bad = 0;
    for (unsigned sign = 0; sign <= 0x8000; sign += 0x8000)
        for (unsigned p = 0; p <= 0x7f7f; p++) {
            unsigned next = p + 1; /* 0x7c00 / 0x7f80: infinity after the largest finite */
            for (int bf = 0; bf <= 1; bf++) {
                if (!bf && p > 0x7bff)
                    continue;
                /* Past the largest finite value: where the next exponent would start. */
                double lo = bf ? bf16_value(p) : half_value(p);
                double hi = bf ? (next == 0x7f80 ? ldexp(1, 128) : bf16_value(next))
                               : (next == 0x7c00 ? 65536.0 : half_value(next));
                float mid = (float)((lo + hi) / 2), v[4] = {(float)lo, mid,
                                                            nextafterf(mid, 0.0f),
                                                            nextafterf(mid, INFINITY)};
                unsigned want[4] = {p, p & 1 ? next : p, p, next};
                for (int i = 0; i < 4; i++) {
                    float x = sign ? -v[i] : v[i];
                    unsigned got = bf ? sg_f32_to_bf16(x) : sg_f32_to_f16(x);
                    if (got != (want[i] | sign) && bad++ < 5)
                        fprintf(stderr, "  %s(%.9g) = %04x, want %04x\n",
                                bf ? "bf16" : "f16", x, got, want[i] | sign);
                }
            }
        }
    bad += sg_f32_to_f16(NAN) != 0x7e00 || sg_f32_to_f16(-INFINITY) != 0xfc00 ||
           sg_f32_to_f16(1e38f) != 0x7c00 || (sg_f32_to_bf16(NAN) & 0x7fff) <= 0x7f80;
    return bad;
}

/* The host rounding the reduced-precision GEMMs are checked against: IEEE 754 binary16 and
 * bfloat16 bit patterns worked out by hand from the formats' definitions, and q8's bound of half a
 * step (scale = block max / 127). */
static void test_weight_rounding(void)
{
    static const struct { float f; uint16_t h, bf; } cases[] = {
        {1.0f, 0x3c00, 0x3f80},
        {-2.0f, 0xc000, 0xc000},
        {1.0f / 3.0f, 0x3555, 0x3eab},   /* 0.333251953 (f16), 0.333984375 (bf16) */
        {65504.0f, 0x7bff, 0x4780},      /* largest half; bf16 rounds 65504 up to 65536 */
        {1e5f, 0x7c00, 0x47c3},          /* past the half range: +inf */
        {5.9604645e-08f, 0x0001, 0x3380}, /* smallest half subnormal, 2^-24 */
        {1.0009765625f, 0x3c01, 0x3f80}, /* 1 + 2^-10: exact in half, rounds down in bf16 */
        {1.00048828125f, 0x3c00, 0x3f80}, /* 1 + 2^-11: a tie, to even (1.0) */
        {0.0f, 0x0000, 0x0000},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t h = sg_f32_to_f16(cases[i].f), bf = sg_f32_to_bf16(cases[i].f);
        if (h != cases[i].h || bf != cases[i].bf) {
            fprintf(stderr, "  rounding %.9g: f16 %04x (want %04x), bf16 %04x (want %04x)\n",
                    cases[i].f, h, cases[i].h, bf, cases[i].bf);
            bad++;
        }
    }
    bad += sg_f16_to_f32(0x3555) != 0.333251953125f || sg_bf16_to_f32(0x3eab) != 0.333984375f;
    bad += sg_f16_to_f32(0x0001) != 5.9604644775390625e-08f || sg_f16_to_f32(0xfbff) != -65504.0f;
    float w[70], q[70];
    sg_rng_fill(&rng, w, 70, -0.3f, 0.3f);
    w[40] = 5.0f; /* an outlier costs precision in its own block only */
    sg_weight_dequantize(SG_ELEM_I8, w, 1, 70, q);
    for (size_t k = 0; k < 70; k++) {
        size_t k0 = k / 32 * 32, k1 = k0 + 32 < 70 ? k0 + 32 : 70;
        float amax = 0;
        for (size_t j = k0; j < k1; j++)
            amax = fmaxf(amax, fabsf(w[j]));
        bad += !(fabsf(q[k] - w[k]) <= amax / 127.0f * 0.5f * 1.0001f);
    }
    /* q8 rounds to nearest even: a block whose largest magnitude is 127 has scale 1. */
    float t[7] = {127.0f, 2.5f, 3.5f, -2.5f, -126.5f, 0.5f, 126.49999f}, tq[7];
    static const float t_want[7] = {127, 2, 4, -2, -126, 0, 126};
    sg_weight_dequantize(SG_ELEM_I8, t, 1, 7, tq);
    for (size_t k = 0; k < 7; k++)
        bad += tq[k] != t_want[k];
    bad += test_rounding_every_pattern();
    printf("%-13s f16/bf16 bit patterns, every half and bfloat16 and the midpoints between "
           "them, q8 half-step bound and ties  %s\n", "rounding", bad ? "FAIL" : "pass");
    CHECK(bad == 0, "weight rounding: %d mismatches", bad);
}

/* ---- layernorm ---- */

static void test_layernorm_case(size_t rows, size_t cols, int in_place, float eps)
{
    size_t n = rows * cols;
    /* An offset mean checks that the variance doesn't lose precision to it. */
    float *x = random_floats(n, 4, 6), *gamma = random_floats(cols, 0.5f, 1.5f);
    float *beta = random_floats(cols, -0.5f, 0.5f), *ref = xmalloc(n * 4), *got = xmalloc(n * 4);
    GBuf gx = gbuf(x, n), gg = gbuf(gamma, cols), gbt = gbuf(beta, cols);
    GBuf gy = in_place ? gx : gbuf(NULL, n);
    SgLayerNorm ln = {{gg.view, cols * 4}, {gbt.view, cols * 4}, cols, eps};
    int rc = sg_op_layernorm(dev, sg_view(gx.view, 1, rows, cols), sg_view(gy.view, 1, rows, cols),
                             &ln, &err);
    check_op(rc, "layernorm");
    gbuf_read(&gg, NULL, "layernorm gamma");
    gbuf_read(&gbt, NULL, "layernorm beta");
    if (!in_place)
        gbuf_read(&gx, NULL, "layernorm x");
    gbuf_read(&gy, got, "layernorm y");
    ref_layernorm(x, ref, gamma, beta, rows, cols, eps);
    char label[96];
    snprintf(label, sizeof label, "wg %d rows=%zu cols=%zu eps=%g%s", dev->tuning.layernorm_wg,
             rows, cols, eps, in_place ? " in place" : "");
    compare("layernorm", label, got, ref, n, dense(n), 1e-4, 1e-4, 1e-10);
    gbuf_free(&gx), gbuf_free(&gg), gbuf_free(&gbt);
    if (!in_place)
        gbuf_free(&gy);
    free(x), free(gamma), free(beta), free(ref), free(got);
}

static void test_layernorm(void)
{
    /* Both forms of the kernel on every device: one work-item per row (CPU devices' tuning),
     * and work-groups of 16 and of as many as the device allows, reducing through local memory. */
    SgTuning own = dev->tuning;
    const int wgs[] = {1, 16, 0};
    for (size_t w = 0; w < sizeof wgs / sizeof wgs[0]; w++) {
        SgTuning t = own;
        t.layernorm_wg = wgs[w];
        CHECK_STATUS(sg_device_retune(dev, &t, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
        test_layernorm_case(1, 1, 0, 1e-6f);
        test_layernorm_case(7, 33, 0, 1e-6f);
        test_layernorm_case(50, 100, 1, 1e-5f);
        test_layernorm_case(3, 768, 0, 1e-6f);
        test_layernorm_case(197, 768, 1, 1e-6f);
        test_layernorm_case(2, 4097, 1, 1e-6f);
    }
    CHECK_STATUS(sg_device_retune(dev, &own, sg_test_cache_dir(), &err), SIGLIP_OK, err.message);
}

/* ---- LayerNorm into q8 rows (q8's integer GEMM form, issue 28) ---- */

/* Block b's scale and 128 · Σ q of one row of q8 rows of K32 inputs (cl/q8_rows.h). */
static float q8_row_scale(const unsigned char *row, size_t k32, size_t b)
{
    float f;
    memcpy(&f, row + k32 + k32 / 8 + 4 * b, 4);
    return f;
}

static int32_t q8_row_sum(const unsigned char *row, size_t k32, size_t b)
{
    int32_t v;
    memcpy(&v, row + k32 + 4 * b, 4);
    return v;
}

/* q8 rows got (rows × cols inputs, ldq bytes per row) against the rule of cl/q8_rows.h applied
 * to ref ([rows, cols], values of an f64 reference): each block's amax (scale · 63) is the
 * reference's within tol + 1e-4 relative, each value the reference's value / scale rounded to nearest,
 * or one step off where that ratio lies within max(1e-3, tol / scale) of a rounding boundary
 * (tol: how far the op's f32 values may lie from the reference's, its own tolerance; such a
 * "flip" is counted in *flips; so is any value whose q · scale lies within tol of the reference,
 * which only matters in a block whose amax is itself within tol of 0, rounding noise: a GELU of
 * −7 is −1e-11 in f64 and 0 in f32), each block's sum 128 · Σ q of the values stored, zeros past
 * cols. Returns the number of wrong values, scales, sums and paddings. */
static size_t check_q8_rows(const char *op, const unsigned char *got, size_t ldq, const float *ref,
                            size_t rows, size_t cols, double tol, size_t *flips)
{
    size_t bad = 0, k32 = (cols + 31) / 32 * 32;
    for (size_t r = 0; r < rows; r++) {
        const unsigned char *row = got + r * ldq;
        for (size_t b = 0; b < k32 / 32; b++) {
            double amax = 0;
            for (size_t c = b * 32; c < b * 32 + 32 && c < cols; c++)
                amax = fmax(amax, fabs(ref[r * cols + c]));
            double scale = amax / 63, got_scale = q8_row_scale(row, k32, b);
            int32_t sum = 0;
            for (size_t c = b * 32; c < b * 32 + 32; c++)
                sum += (signed char)row[c];
            bad += q8_row_sum(row, k32, b) != 128 * sum;
            if (!(fabs(got_scale - scale) * 63 <= tol + 1e-4 * amax)) {
                if (bad++ < 3)
                    fprintf(stderr, "  %s row %zu block %zu: scale %.9g, expected %.9g\n", op, r,
                            b, got_scale, scale);
                continue;
            }
            double near = scale > 0 ? fmax(1e-3, tol / scale) : 0;
            for (size_t c = b * 32; c < b * 32 + 32; c++) {
                int q = (signed char)row[c];
                if (c >= cols) {
                    bad += q != 0;
                    continue;
                }
                double t = scale > 0 ? ref[r * cols + c] / scale : 0, want = nearbyint(t);
                want = want < -63 ? -63 : want > 63 ? 63 : want;
                if (q == want)
                    continue;
                if ((fabs(q - want) == 1 && fabs(fabs(t - floor(t)) - 0.5) < near) ||
                    fabs(q * got_scale - ref[r * cols + c]) <= tol)
                    (*flips)++;
                else if (bad++ < 3)
                    fprintf(stderr, "  %s row %zu col %zu: %d, expected %.0f (%.6f)\n", op, r, c,
                            q, want, t);
            }
        }
    }
    return bad;
}

/* The values q8 rows (rows × cols, ldq bytes per row) stand for: q · the block's scale. */
static void q8_rows_values(const unsigned char *q, size_t ldq, size_t rows, size_t cols,
                           float *out)
{
    size_t k32 = (cols + 31) / 32 * 32;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            out[r * cols + c] =
                (float)(signed char)q[r * ldq + c] * q8_row_scale(q + r * ldq, k32, c / 32);
}

/* Counts one case of op in the summary table. */
static void count_case(const char *op, size_t bad)
{
    OpStats *st = op_stats(op);
    st->cases++;
    st->failed += bad != 0;
}

/* sg_op_layernorm_q8 against the rule applied to ref_layernorm's values (f64, written from the
 * definition), check_q8_rows (the kernel's f32 LayerNorm and the f64 reference differ in the
 * last bits: 0–1 flips per case); the guards around the buffer untouched. */
static void test_layernorm_q8_case(size_t rows, size_t cols, float eps)
{
    size_t n = rows * cols, ldq = sg_q8_rows_ld(cols);
    float *x = random_floats(n, 4, 6), *gamma = random_floats(cols, 0.5f, 1.5f);
    float *beta = random_floats(cols, -0.5f, 0.5f), *ref = xmalloc(n * 4);
    unsigned char *got = xmalloc(rows * ldq);
    GBuf gx = gbuf(x, n), gg = gbuf(gamma, cols), gbt = gbuf(beta, cols);
    GBuf gq = gbuf(NULL, rows * ldq / 4);
    SgLayerNorm ln = {{gg.view, cols * 4}, {gbt.view, cols * 4}, cols, eps};
    check_op(sg_op_layernorm_q8(dev, sg_view(gx.view, 1, rows, cols), &ln, gq.view, ldq, &err),
             "layernorm_q8");
    gbuf_read(&gx, NULL, "layernorm_q8 x");
    gbuf_read(&gq, got, "layernorm_q8 y");
    ref_layernorm(x, ref, gamma, beta, rows, cols, eps);
    size_t flips = 0, bad = check_q8_rows("layernorm_q8", got, ldq, ref, rows, cols, 0, &flips);
    char label[96];
    snprintf(label, sizeof label, "rows=%zu cols=%zu eps=%g", rows, cols, eps);
    printf("%-13s %-46s %zu flips  %s\n", "layernorm_q8", label, flips, bad ? "FAIL" : "pass");
    CHECK(bad == 0, "layernorm_q8 %s: %zu values, scales or paddings wrong", label, bad);
    count_case("layernorm_q8", bad);
    gbuf_free(&gx), gbuf_free(&gg), gbuf_free(&gbt), gbuf_free(&gq);
    free(x), free(gamma), free(beta), free(ref), free(got);
}

/* The LayerNorm a norm op's first GEMM multiplied, as the device computed it, into h [rows of vx,
 * ln->n]: where the GEMM runs q8's integer form, sg_op_layernorm_q8's rows (checked against
 * the rule by test_layernorm_q8_case) from a second launch into gq, dequantized (q: a host
 * buffer of gq's size); else the f32 LayerNorm the op left in gh. */
static void device_layernorm(SgView vx, const SgLayerNorm *ln, int integer, GBuf *gq, GBuf *gh,
                             unsigned char *q, float *h, const char *op)
{
    size_t M = vx.batch * vx.rows, K = ln->n, ldq = sg_q8_rows_ld(K);
    if (integer) {
        check_op(sg_op_layernorm_q8(dev, vx, ln, gq->view, ldq, &err), "layernorm_q8");
        gbuf_read(gq, q, op);
        q8_rows_values(q, ldq, M, K, h);
    } else {
        gbuf_read(gh, h, op);
    }
}

/* sg_op_norm_linear (y = LN(x)·wᵀ + b, as the towers run QKV and fc1) on every weight type. The
 * reference: LayerNorm by the device's own sg_op_layernorm, or, where the weights run q8's
 * integer form, the device's sg_op_layernorm_q8 (checked against the rule above) read back and
 * dequantized — the values that form multiplies; then ref_linear in f64 with the weights the
 * storage rounds to. Tolerance the f32 GEMM's. */
static void test_norm_linear_case(size_t M, size_t N, size_t K, SgActivation act,
                                  SgElemType dtype)
{
    size_t ldq = sg_q8_rows_ld(K);
    float *x = random_floats(M * K, -2, 3), *gamma = random_floats(K, 0.5f, 1.5f);
    float *beta = random_floats(K, -0.5f, 0.5f), *w = random_floats(N * K, -0.5f, 0.5f);
    float *b = random_floats(N, -1, 1), *h = xmalloc(M * K * 4), *ref = xmalloc(M * N * 4);
    float *got = xmalloc(M * N * 4);
    unsigned char *q = xmalloc(M * ldq);
    GBuf gx = gbuf(x, M * K), gg = gbuf(gamma, K), gbt = gbuf(beta, K), gb = gbuf(b, N);
    GBuf gh = gbuf(NULL, M * K), gy = gbuf(NULL, M * N), gq = gbuf(NULL, M * ldq / 4);
    SgLayerNorm ln = {{gg.view, K * 4}, {gbt.view, K * 4}, K, 1e-6f};
    SgLinear lin = {.b = {gb.view, N * 4}};
    SgRows rows = sg_rows_host(w, N, K);
    int rc = sg_weight_upload_rows(dev, &rows, SG_GEMM_PANELS, dtype, &lin.w, &err);
    sg_weight_dequantize(dtype, w, N, K, w);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    SgView vx = sg_view(gx.view, 1, M, K), vh = sg_view(gh.view, 1, M, K);
    int integer = dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0;
    if (rc == SIGLIP_OK)
        rc = sg_op_norm_linear(dev, vx, &ln, vh, &lin, sg_view(gy.view, 1, M, N), act, SG_STORE,
                               &err);
    check_op(rc, "norm_linear");
    gbuf_read(&gy, got, "norm_linear y");
    device_layernorm(vx, &ln, integer, &gq, &gh, q, h, "norm_linear");
    ref_linear(h, K, w, b, ref, N, M, N, K, act, 0);
    char label[96];
    snprintf(label, sizeof label, "%s%s M=%zu N=%zu K=%zu act=%d", dtype_names[dtype],
             integer ? "-int" : "", M, N, K, (int)act);
    compare("norm_linear", label, got, ref, M * N, dense(M * N), 1e-4, 1e-4, 1e-11);
    sg_buffer_release(dev, &lin.w.buf);
    gbuf_free(&gx), gbuf_free(&gg), gbuf_free(&gbt), gbuf_free(&gb);
    gbuf_free(&gh), gbuf_free(&gy), gbuf_free(&gq);
    free(x), free(gamma), free(beta), free(w), free(b), free(h), free(ref), free(got), free(q);
}

static void test_layernorm_q8(void)
{
    test_layernorm_q8_case(1, 1, 1e-6f);
    test_layernorm_q8_case(7, 33, 1e-6f);
    test_layernorm_q8_case(50, 100, 1e-5f);
    test_layernorm_q8_case(197, 768, 1e-6f);
    test_layernorm_q8_case(2, 4097, 1e-6f);
    static const size_t shapes[][3] = {{1, 1, 1}, {7, 13, 50}, {50, 197, 33}, {197, 100, 768},
                                       {11, 200, 545}};
    for (size_t i = 0; i < N_CASES(shapes); i++)
        for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++)
            if (!too_big("norm_linear", shapes[i][0] * shapes[i][1] * shapes[i][2]))
                test_norm_linear_case(shapes[i][0], shapes[i][1], shapes[i][2],
                                      i % 2 ? SG_ACT_GELU_TANH : SG_ACT_NONE, (SgElemType)t);
}

/* ---- attention ---- */

enum { QKV_PACKED, QKV_SEPARATE, Q_BROADCAST };
enum { MASK_NONE, MASK_RANDOM, MASK_ONE_ROW_EMPTY };

typedef struct AttnCase {
    size_t B, Tq, Tk, H, dh;
    int layout, mask;
    float amplitude; /* inputs in ±amplitude: large values test the max subtraction */
} AttnCase;

/* The q, k, v layout of a case: one buffer each (the same one when packed). */
typedef struct AttnLayout {
    size_t nq, nkv, q_off, k_off, v_off, ldq, ldkv, q_bstride;
} AttnLayout;

static AttnLayout attn_layout(const AttnCase *c)
{
    size_t W = c->H * c->dh;
    AttnLayout a = {0};
    if (c->layout == QKV_PACKED) { /* [B, T, 3W] as a fused QKV projection writes it */
        a.ldq = a.ldkv = 3 * W;
        a.k_off = W;
        a.v_off = 2 * W;
        a.nq = a.nkv = c->B * c->Tk * 3 * W;
        a.q_bstride = c->Tq * a.ldq;
    } else { /* q [B or 1, Tq, W + 3] at offset 2, k and v [B, Tk, W + 5] at offsets 1 and 4 */
        a.ldq = W + 3;
        a.ldkv = W + 5;
        a.q_off = 2;
        a.k_off = 1;
        a.v_off = 4;
        size_t q_items = c->layout == Q_BROADCAST ? 1 : c->B;
        a.q_bstride = c->layout == Q_BROADCAST ? 0 : c->Tq * a.ldq;
        a.nq = a.q_off + q_items * c->Tq * a.ldq;
        a.nkv = a.v_off + c->B * c->Tk * a.ldkv;
    }
    return a;
}

static int32_t *attn_mask(const AttnCase *c)
{
    if (c->mask == MASK_NONE)
        return NULL;
    int32_t *mask = xmalloc(c->B * c->Tk * sizeof *mask);
    for (size_t i = 0; i < c->B * c->Tk; i++)
        mask[i] = sg_rng_uniform(&rng, 0, 1) < 0.7f;
    mask[0] = 1; /* at least one key of item 0 */
    if (c->mask == MASK_ONE_ROW_EMPTY)
        for (size_t j = 0; j < c->Tk; j++)
            mask[(c->B - 1) * c->Tk + j] = 0;
    return mask;
}

static void test_attention_case(const AttnCase *c)
{
    if (too_big("attention", c->B * c->Tq * c->Tk * c->H * c->dh))
        return;
    AttnLayout a = attn_layout(c);
    size_t W = c->H * c->dh, ldo = W + 2, o_off = 1;
    size_t no = o_off + c->B * c->Tq * ldo;
    float amp = c->amplitude;
    int packed = c->layout == QKV_PACKED;
    float *q = random_floats(a.nq, -amp, amp);
    float *kv = packed ? q : random_floats(a.nkv, -amp, amp);
    float *v2 = packed ? q : random_floats(a.nkv, -amp, amp);
    int32_t *mask = attn_mask(c);
    float *ref = xmalloc(no * 4), *got = xmalloc(no * 4);
    fill_sentinel(ref, no);
    GBuf gq = gbuf(q, a.nq), gk = packed ? gq : gbuf(kv, a.nkv), gv = packed ? gq : gbuf(v2, a.nkv);
    GBuf gm = gbuf(mask, mask ? c->B * c->Tk : 1), go = gbuf(NULL, no);
    float scale = 1.0f / sqrtf((float)c->dh);
    SgView vq = {gq.view, a.q_off, c->B, c->Tq, W, a.ldq, a.q_bstride};
    SgView vk = {gk.view, a.k_off, c->B, c->Tk, W, a.ldkv, c->Tk * a.ldkv};
    SgView vv = {gv.view, a.v_off, c->B, c->Tk, W, a.ldkv, c->Tk * a.ldkv};
    SgView vo = {go.view, o_off, c->B, c->Tq, W, ldo, c->Tq * ldo};
    SgMask vm = {mask ? gm.view : NULL, {NULL, 0, 0, 0}};
    int rc = sg_op_attention(dev, vq, vk, vv, vm, vo, (SgHeads){c->H, scale}, &err);
    check_op(rc, "attention");
    gbuf_read(&gq, NULL, "attention q");
    if (!packed) {
        gbuf_read(&gk, NULL, "attention k");
        gbuf_read(&gv, NULL, "attention v");
    }
    gbuf_read(&gm, NULL, "attention mask");
    gbuf_read(&go, got, "attention out");
    ref_attention(q + a.q_off, a.ldq, a.q_bstride, kv + a.k_off, v2 + a.v_off, a.ldkv, mask,
                  ref + o_off, ldo, c->B, c->Tq, c->Tk, c->H, c->dh, scale);
    static const char *layouts[] = {"packed", "separate", "q broadcast"};
    static const char *masks[] = {"", " mask", " mask+empty row"};
    char label[128];
    snprintf(label, sizeof label, "%s qb%d B=%zu Tq=%zu Tk=%zu H=%zu dh=%zu %s%s amp=%g",
             sg_attention_path_name(dev->tuning.attention), dev->tuning.attn_qb, c->B, c->Tq, c->Tk, c->H,
             c->dh, layouts[c->layout], masks[c->mask], (double)amp);
    compare("attention", label, got, ref, no, (Layout){o_off, c->B * c->Tq, ldo, W},
            1e-5 * amp + 1e-7 * amp * amp * amp, 1e-4, 1e-10);
    gbuf_free(&gq), gbuf_free(&gm), gbuf_free(&go);
    if (!packed)
        gbuf_free(&gk), gbuf_free(&gv), free(kv), free(v2);
    free(q), free(mask), free(ref), free(got);
}

/* Sets the device to attention configuration c: every candidate `siglip tune` may choose
 * (sg_tune_candidates: the device's own first, the tiled kernel, attention_rows with every block
 * of queries); past the last one restores the device's own tuning and returns 0. Both kernels
 * run on every device: the tuning only decides which one a model uses. */
static int next_attention_config(int c)
{
    static SgTuning own, cand[16];
    static size_t n;
    if (c == 0) {
        own = dev->tuning;
        n = sg_tune_candidates(SG_TUNE_ATTENTION, &own, cand, 16);
        int tiled = 0, rows = 0;
        for (size_t i = 0; i < n; i++)
            tiled |= cand[i].attention == SG_ATTN_TILED, rows |= cand[i].attention == SG_ATTN_ROWS;
        CHECK(tiled && rows, "attention candidates: both kernels among %zu", n);
    }
    SgTuning t = (size_t)c < n ? cand[c] : own;
    int rc = sg_device_retune(dev, &t, sg_test_cache_dir(), &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    return (size_t)c < n && rc == SIGLIP_OK;
}

static const AttnCase attention_cases[] = {
    {1, 1, 1, 1, 8, QKV_PACKED, MASK_NONE, 1},
    {3, 7, 7, 2, 8, QKV_PACKED, MASK_RANDOM, 1},
    {3, 7, 7, 3, 8, QKV_PACKED, MASK_ONE_ROW_EMPTY, 1},
    {1, 50, 50, 3, 72, QKV_PACKED, MASK_NONE, 2},
    {3, 50, 50, 2, 64, QKV_SEPARATE, MASK_ONE_ROW_EMPTY, 1},
    {1, 196, 196, 2, 64, QKV_PACKED, MASK_NONE, 1},
    {1, 729, 729, 1, 72, QKV_PACKED, MASK_NONE, 1},
    {3, 1, 729, 4, 72, Q_BROADCAST, MASK_NONE, 1},
    {2, 1, 196, 12, 64, Q_BROADCAST, MASK_RANDOM, 1},
    {1, 13, 37, 2, 128, QKV_SEPARATE, MASK_RANDOM, 1},
    {1, 5, 9, 1, 32, QKV_SEPARATE, MASK_NONE, 1},
    {1, 5, 9, 1, 80, QKV_SEPARATE, MASK_NONE, 1},
    {1, 5, 9, 1, 96, QKV_SEPARATE, MASK_NONE, 1},
    {2, 33, 65, 2, 8, QKV_SEPARATE, MASK_RANDOM, 30}, /* scores in the hundreds */
    {1, 64, 1100, 1, 64, QKV_SEPARATE, MASK_RANDOM, 3}, /* rows: more keys than it keeps */
    {2, 10, 1024, 2, 16, QKV_SEPARATE, MASK_ONE_ROW_EMPTY, 1}, /* rows: exactly its limit */
    {2, 6, 6, 3, 12, QKV_PACKED, MASK_RANDOM, 1},      /* dh not a multiple of 8 */
};

static void test_attention(void)
{
    for (int c = 0; next_attention_config(c); c++)
        for (size_t i = 0; i < N_CASES(attention_cases); i++)
            test_attention_case(&attention_cases[i]);
}

/* ---- packed attention: sequences of different lengths one after another (SgSegments) ---- */

enum { MAX_SEGS = 8 };

/* Segment i has queries[i] query rows and keys[i] ≤ queries[i] key rows (its first rows), and
 * starts `gap` rows after the previous one ends: rows in gaps must stay untouched. */
typedef struct SegCase {
    size_t n, queries[MAX_SEGS], keys[MAX_SEGS];
    size_t H, dh, gap;
    int layout; /* QKV_PACKED or QKV_SEPARATE */
    float amplitude;
} SegCase;

static void test_segments_case(const SegCase *c)
{
    size_t W = c->H * c->dh, R = 0, max_q = 0, max_k = 0;
    int32_t seg[3 * MAX_SEGS];
    for (size_t i = 0; i < c->n; i++) {
        R += c->gap;
        seg[3 * i] = (int32_t)R;
        seg[3 * i + 1] = (int32_t)c->queries[i];
        seg[3 * i + 2] = (int32_t)c->keys[i];
        R += c->queries[i];
        max_q = c->queries[i] > max_q ? c->queries[i] : max_q;
        max_k = c->keys[i] > max_k ? c->keys[i] : max_k;
    }
    if (too_big("attention", R * max_k * W))
        return;
    int packed = c->layout == QKV_PACKED;
    /* packed: [R, 3W] rows [q | k | v]; separate: q, k, v with padded rows at offsets 2, 1, 4 */
    size_t ldq = packed ? 3 * W : W + 3, ldkv = packed ? 3 * W : W + 5;
    size_t q_off = packed ? 0 : 2, k_off = packed ? W : 1, v_off = packed ? 2 * W : 4;
    size_t nq = q_off + R * ldq, nkv = packed ? nq : v_off + R * ldkv;
    size_t ldo = W + 2, o_off = 1, no = o_off + R * ldo;
    float amp = c->amplitude;
    float *q = random_floats(nq, -amp, amp);
    float *kv = packed ? q : random_floats(nkv, -amp, amp);
    float *v2 = packed ? q : random_floats(nkv, -amp, amp);
    float *ref = xmalloc(no * 4), *got = xmalloc(no * 4);
    fill_sentinel(ref, no);
    GBuf gq = gbuf(q, nq), gk = packed ? gq : gbuf(kv, nkv), gv = packed ? gq : gbuf(v2, nkv);
    GBuf gs = gbuf(seg, 3 * c->n), go = gbuf(NULL, no);
    float scale = 1.0f / sqrtf((float)c->dh);
    SgView vq = {gq.view, q_off, 1, R, W, ldq, R * ldq};
    SgView vk = {gk.view, k_off, 1, R, W, ldkv, R * ldkv};
    SgView vv = {gv.view, v_off, 1, R, W, ldkv, R * ldkv};
    SgView vo = {go.view, o_off, 1, R, W, ldo, R * ldo};
    SgMask m = {NULL, {gs.view, c->n, max_q, max_k}};
    check_op(sg_op_attention(dev, vq, vk, vv, m, vo, (SgHeads){c->H, scale}, &err), "attention");
    gbuf_read(&gq, NULL, "segments q");
    if (!packed) {
        gbuf_read(&gk, NULL, "segments k");
        gbuf_read(&gv, NULL, "segments v");
    }
    gbuf_read(&gs, NULL, "segments table");
    gbuf_read(&go, got, "segments out");
    /* The reference: each segment as a batch of one, its queries against its own keys. */
    for (size_t i = 0; i < c->n; i++) {
        size_t r0 = (size_t)seg[3 * i];
        ref_attention(q + q_off + r0 * ldq, ldq, 0, kv + k_off + r0 * ldkv, v2 + v_off + r0 * ldkv,
                      ldkv, NULL, ref + o_off + r0 * ldo, ldo, 1, c->queries[i], c->keys[i], c->H,
                      c->dh, scale);
    }
    char label[128];
    snprintf(label, sizeof label, "%s qb%d %zu segments H=%zu dh=%zu gap=%zu %s amp=%g",
             sg_attention_path_name(dev->tuning.attention), dev->tuning.attn_qb, c->n, c->H, c->dh, c->gap,
             packed ? "packed" : "separate", (double)amp);
    compare("attention_seg", label, got, ref, no, (Layout){o_off, R, ldo, W},
            1e-5 * amp + 1e-7 * amp * amp * amp, 1e-4, 1e-10);
    gbuf_free(&gq), gbuf_free(&gs), gbuf_free(&go);
    if (!packed)
        gbuf_free(&gk), gbuf_free(&gv), free(kv), free(v2);
    free(q), free(ref), free(got);
}

static const SegCase segment_cases[] = {
    /* packed texts of lengths 1, 1, 7, 64, 12 (+ the last position when < 64), base heads */
    {5, {2, 2, 8, 64, 13}, {1, 1, 7, 64, 12}, 2, 64, 0, QKV_PACKED, 1},
    {1, {1}, {1}, 1, 8, 0, QKV_PACKED, 1},
    {4, {9, 17, 33, 3}, {8, 16, 32, 3}, 3, 8, 1, QKV_SEPARATE, 30}, /* large scores, gaps */
    {2, {5, 1}, {4, 1}, 2, 12, 2, QKV_SEPARATE, 1}, /* dh not a multiple of 8 */
    {3, {70, 2, 40}, {69, 1, 33}, 1, 72, 3, QKV_SEPARATE, 2}, /* more keys than a tile */
    {8, {1, 2, 3, 64, 63, 8, 1, 5}, {1, 1, 2, 64, 62, 8, 1, 4}, 12, 64, 0, QKV_PACKED, 1},
};

static void test_segments(void)
{
    for (int c = 0; next_attention_config(c); c++)
        for (size_t i = 0; i < N_CASES(segment_cases); i++)
            test_segments_case(&segment_cases[i]);
}

/* ---- the op pairs that hand each other q8 rows (issue 28) ----
 * sg_op_norm_mlp and sg_op_attention_linear run two ops; where the second runs q8's integer form
 * (and the device the first's kernel for it) the first writes its output as q8 rows itself, in
 * the buffer of its f32 output. Each case checks what the first op wrote against an f64
 * reference of it (check_q8_rows where q8 rows, else the op's own f32 tolerance), then the
 * result against ref_linear of exactly what the second op read (those q8 rows' values, or the
 * f32 output as q8's rounding pass rounds it, ref_quantize_rows), f32 tolerance. That the fused
 * form ran where it should is checked too: what the buffer holds says which ran. */

/* A Linear [N, K] of weights in (-0.5, 0.5) stored as dtype and bias in (-1, 1), uploaded; *w
 * (to free) holds the values the storage rounded them to, *b the bias (its device copy in gb). */
static SgLinear random_linear(size_t N, size_t K, SgElemType dtype, float **w, float **b,
                              GBuf *gb)
{
    *w = random_floats(N * K, -0.5f, 0.5f);
    *b = random_floats(N, -1, 1);
    *gb = gbuf(*b, N);
    SgLinear lin = {.b = {gb->view, N * 4}};
    SgRows rows = sg_rows_host(*w, N, K);
    CHECK_STATUS(sg_weight_upload_rows(dev, &rows, SG_GEMM_PANELS, dtype, &lin.w, &err),
                 SIGLIP_OK, err.message);
    sg_weight_dequantize(dtype, *w, N, K, *w);
    return lin;
}

/* A tolerance-checked, counted report line of a q8-rows check. */
static void report_q8_rows(const char *op, const char *label, size_t bad, size_t flips)
{
    printf("%-13s %-46s %zu flips  %s\n", op, label, flips, bad ? "FAIL" : "pass");
    CHECK(bad == 0, "%s %s: %zu q8 values, scales or paddings wrong", op, label, bad);
    count_case(op, bad);
}

/* What a pair's first op left in its output's buffer, got (rows × cols values), checked against
 * its reference ref, and turned into what the second op read, into used: where fused, q8 rows
 * (check_q8_rows within atol) and their values; else f32, compared (atol and 1e-4 relative,
 * nmse), rounded by the pass's rule (ref_quantize_rows) where the second op runs q8's integer
 * form. */
static void first_op_output(const char *op, const char *label, int fused, int integer,
                            const unsigned char *got, const float *ref, size_t rows, size_t cols,
                            double atol, double nmse, float *used)
{
    if (fused) {
        size_t flips = 0, ldq = sg_q8_rows_ld(cols);
        report_q8_rows(op, label, check_q8_rows(op, got, ldq, ref, rows, cols, atol, &flips),
                       flips);
        q8_rows_values(got, ldq, rows, cols, used);
        return;
    }
    memcpy(used, got, rows * cols * 4);
    compare(op, label, used, ref, rows * cols, dense(rows * cols), atol, 1e-4, nmse);
    if (integer)
        ref_quantize_rows(used, cols, rows, cols);
}

/* y = fc2(act(fc1(LN(x)))) (+ y): x [M, D], fc1 [F, D], fc2 [D, F]. fused: whether fc1's
 * epilogue is expected to write q8 rows. */
static void test_norm_mlp_case(size_t M, size_t D, size_t F, SgActivation act, SgElemType dtype,
                               int accumulate)
{
    if (too_big("norm_mlp", M * D * F))
        return;
    int integer = dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0;
    size_t ldx = sg_q8_rows_ld(D), ldh = sg_q8_rows_ld(F);
    float *x = random_floats(M * D, -2, 3), *gamma = random_floats(D, 0.5f, 1.5f);
    float *beta = random_floats(D, -0.5f, 0.5f), *y = random_floats(M * D, -1, 1);
    float *w1, *b1, *w2, *b2, *h = xmalloc(M * D * 4), *hid = xmalloc(M * F * 4);
    float *hid_ref = xmalloc(M * F * 4), *got = xmalloc(M * D * 4);
    unsigned char *q = xmalloc(M * ldx), *hq = xmalloc(M * F * 4);
    if (!accumulate)
        for (size_t i = 0; i < M * D; i++)
            y[i] = NAN; /* a store must not read y */
    GBuf gx = gbuf(x, M * D), gg = gbuf(gamma, D), gbt = gbuf(beta, D), gb1, gb2;
    GBuf gh = gbuf(NULL, M * D), ghid = gbuf(NULL, M * F), gy = gbuf(y, M * D);
    GBuf gq = gbuf(NULL, M * ldx / 4);
    SgLayerNorm ln = {{gg.view, D * 4}, {gbt.view, D * 4}, D, 1e-6f};
    SgLinear fc1 = random_linear(F, D, dtype, &w1, &b1, &gb1);
    SgLinear fc2 = random_linear(D, F, dtype, &w2, &b2, &gb2);
    SgView vx = sg_view(gx.view, 1, M, D);
    /* Fused where fc1's GEMM runs the integer form in one launch (always without a loop
     * budget) over whole blocks of 32 columns per work-item (NP·NR) and hidden's buffer holds
     * the q8 rows (not at F = 8: 40 bytes a row). */
    int one_launch = sg_linear_writes_q8(dev, &fc1.w);
    int whole = dev->tuning.gemm_q8_np * dev->tuning.gemm_nr % 32 == 0;
    CHECK(dev->info.loop_budget > 0 || one_launch == (integer && whole),
          "fc1 writes q8 rows wherever it runs q8's integer form over whole blocks (no loop "
          "budget)");
    int fused = integer && one_launch && ldh <= F * 4;
    check_op(sg_op_norm_mlp(dev, vx, &ln, sg_view(gh.view, 1, M, D), &fc1, act,
                            sg_view(ghid.view, 1, M, F), &fc2, sg_view(gy.view, 1, M, D),
                            accumulate ? SG_ACCUMULATE : SG_STORE, &err),
             "norm_mlp");
    gbuf_read(&gy, got, "norm_mlp y");
    gbuf_read(&ghid, hq, "norm_mlp hidden");
    device_layernorm(vx, &ln, integer, &gq, &gh, q, h, "norm_mlp");
    ref_linear(h, D, w1, b1, hid_ref, F, M, F, D, act, 0);
    char label[96];
    snprintf(label, sizeof label, "%s%s M=%zu D=%zu F=%zu act=%d acc=%d", dtype_names[dtype],
             fused ? "-int-fused" : integer ? "-int" : "", M, D, F, (int)act, accumulate);
    first_op_output("norm_mlp fc1", label, fused, integer, hq, hid_ref, M, F, 1e-4, 1e-11, hid);
    ref_linear(hid, F, w2, b2, y, D, M, D, F, SG_ACT_NONE, accumulate);
    compare("norm_mlp", label, got, y, M * D, dense(M * D), 1e-4, 1e-4, 1e-11);
    sg_buffer_release(dev, &fc1.w.buf), sg_buffer_release(dev, &fc2.w.buf);
    gbuf_free(&gx), gbuf_free(&gg), gbuf_free(&gbt), gbuf_free(&gb1), gbuf_free(&gb2);
    gbuf_free(&gh), gbuf_free(&ghid), gbuf_free(&gy), gbuf_free(&gq);
    free(x), free(gamma), free(beta), free(y), free(w1), free(b1), free(w2), free(b2);
    free(h), free(hid), free(hid_ref), free(got), free(q), free(hq);
}

/* A case of attention then its output projection: B items of T queries and keys (or, packed, B
 * segments of T − i queries and T − i − 1 keys, at least 1, in one [1, R, W] matrix), H heads of
 * dh. */
typedef struct AttnLinCase {
    size_t B, T, H, dh;
    int mask, packed, accumulate;
} AttnLinCase;

static void test_attention_linear_case(const AttnLinCase *c, SgElemType dtype)
{
    size_t W = c->H * c->dh, R = 0, max_q = 0, max_k = 0;
    int32_t seg[3 * 8] = {0};
    for (size_t i = 0; c->packed && i < c->B; i++) {
        size_t nq = c->T - i, nk = c->T - i > 1 ? c->T - i - 1 : 1;
        seg[3 * i] = (int32_t)R, seg[3 * i + 1] = (int32_t)nq, seg[3 * i + 2] = (int32_t)nk;
        R += nq;
        max_q = nq > max_q ? nq : max_q;
        max_k = nk > max_k ? nk : max_k;
    }
    size_t items = c->packed ? 1 : c->B, T = c->packed ? R : c->T, rows = items * T;
    if (too_big("attention", rows * T * W))
        return;
    int integer = dtype == SG_ELEM_I8 && dev->tuning.gemm_q8_np > 0;
    float *qkv = random_floats(rows * 3 * W, -1, 1), *y = random_floats(rows * W, -1, 1);
    float *w, *b, *out_ref = xmalloc(rows * W * 4), *used = xmalloc(rows * W * 4);
    float *got = xmalloc(rows * W * 4);
    unsigned char *oq = xmalloc(rows * W * 4);
    int32_t *mask = c->mask ? attn_mask(&(AttnCase){c->B, T, T, c->H, c->dh, 0, c->mask, 1})
                            : NULL;
    if (!c->accumulate)
        for (size_t i = 0; i < rows * W; i++)
            y[i] = NAN;
    GBuf gqkv = gbuf(qkv, rows * 3 * W), go = gbuf(NULL, rows * W), gy = gbuf(y, rows * W), gb;
    GBuf gm = gbuf(mask, mask ? c->B * T : 1), gs = gbuf(seg, c->packed ? 3 * c->B : 1);
    SgLinear lin = random_linear(W, W, dtype, &w, &b, &gb);
    SgView qv = sg_view(gqkv.view, items, T, 3 * W);
    SgMask m = {mask ? gm.view : NULL, {c->packed ? gs.view : NULL, c->packed ? c->B : 0, max_q,
                                        max_k}};
    float scale = 1.0f / sqrtf((float)c->dh);
    check_op(sg_op_attention_linear(dev, sg_view_cols(qv, 0, W), sg_view_cols(qv, W, W),
                                    sg_view_cols(qv, 2 * W, W), m, (SgHeads){c->H, scale},
                                    sg_view(go.view, items, T, W), &lin,
                                    sg_view(gy.view, items, T, W),
                                    c->accumulate ? SG_ACCUMULATE : SG_STORE, &err),
             "attention_linear");
    /* Fused where attention_rows runs (the tuning's choice; under a loop budget only while
     * its keys fit) heads of a multiple of 32. */
    int writes = sg_attention_writes_q8(dev, sg_view_cols(qv, 0, W), sg_view_cols(qv, W, W), m,
                                        sg_view(go.view, items, T, W), (SgHeads){c->H, scale});
    CHECK(dev->info.loop_budget > 0 ||
              writes == (c->dh % 32 == 0 && dev->tuning.attention == SG_ATTN_ROWS),
          "attention writes q8 rows where attention_rows runs heads of a multiple of 32");
    int fused = integer && writes;
    if (!writes) /* asked for q8 rows anyway: refused with a message */
        CHECK_STATUS(sg_op_attention_q8(dev, sg_view_cols(qv, 0, W), sg_view_cols(qv, W, W),
                                        sg_view_cols(qv, 2 * W, W), m,
                                        sg_view(go.view, items, T, W), (SgHeads){c->H, scale},
                                        &err),
                     SIGLIP_ENOTSUP, "attention_q8 where attention_rows cannot write q8 rows");
    gbuf_read(&gy, got, "attention_linear y");
    gbuf_read(&go, oq, "attention_linear out");
    for (size_t i = 0; i < rows * W; i++)
        out_ref[i] = 0; /* rows no segment covers (none here) stay 0 */
    if (c->packed)
        for (size_t i = 0; i < c->B; i++) {
            const float *base = qkv + (size_t)seg[3 * i] * 3 * W;
            ref_attention(base, 3 * W, 0, base + W, base + 2 * W, 3 * W, NULL,
                          out_ref + (size_t)seg[3 * i] * W, W, 1, (size_t)seg[3 * i + 1],
                          (size_t)seg[3 * i + 2], c->H, c->dh, scale);
        }
    else
        ref_attention(qkv, 3 * W, T * 3 * W, qkv + W, qkv + 2 * W, 3 * W, mask, out_ref, W, c->B,
                      T, T, c->H, c->dh, scale);
    char label[128];
    snprintf(label, sizeof label, "%s%s %s qb%d B=%zu T=%zu H=%zu dh=%zu%s%s acc=%d",
             dtype_names[dtype], fused ? "-int-fused" : integer ? "-int" : "",
             sg_attention_path_name(dev->tuning.attention), dev->tuning.attn_qb, c->B, c->T, c->H,
             c->dh, c->mask ? " mask" : "", c->packed ? " packed" : "", c->accumulate);
    first_op_output("attention out", label, fused, integer, oq, out_ref, rows, W, 1e-5, 1e-10,
                    used);
    ref_linear(used, W, w, b, y, W, rows, W, W, SG_ACT_NONE, c->accumulate);
    compare("attention_lin", label, got, y, rows * W, dense(rows * W), 1e-4, 1e-4, 1e-11);
    sg_buffer_release(dev, &lin.w.buf);
    gbuf_free(&gqkv), gbuf_free(&go), gbuf_free(&gy), gbuf_free(&gb), gbuf_free(&gm);
    gbuf_free(&gs);
    free(qkv), free(y), free(w), free(b), free(out_ref), free(used), free(got), free(oq);
    free(mask);
}

static const AttnLinCase attn_lin_cases[] = {
    {2, 197, 12, 64, MASK_NONE, 0, 1},   /* base vision: 12 heads of 64 */
    {3, 7, 2, 32, MASK_RANDOM, 0, 0},    /* a mask, heads of one q8 block */
    {1, 1, 1, 96, MASK_NONE, 0, 1},      /* the vision head's one query */
    {2, 13, 3, 40, MASK_NONE, 0, 1},     /* heads not a multiple of 32: the rounding pass */
    {2, 9, 2, 8, MASK_NONE, 0, 0},       /* W = 16: too narrow to hold q8 rows */
    {5, 64, 4, 64, MASK_NONE, 1, 1},     /* packed texts */
};

static const size_t mlp_shapes[][3] = {{1, 32, 64}, {7, 64, 200}, {13, 100, 545},
                                       {197, 128, 512}, {3, 16, 8}};

/* Both pairs on every weight type with the device's tuning, q8 also on every q8 form and block
 * `siglip tune` may choose (as test_linear). */
static void test_q8_pairs(void)
{
    for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++) {
        for (size_t i = 0; i < N_CASES(mlp_shapes); i++)
            test_norm_mlp_case(mlp_shapes[i][0], mlp_shapes[i][1], mlp_shapes[i][2],
                               i % 2 ? SG_ACT_GELU_TANH : SG_ACT_GELU_ERF, (SgElemType)t, i % 2);
        for (size_t i = 0; i < N_CASES(attn_lin_cases); i++)
            test_attention_linear_case(&attn_lin_cases[i], (SgElemType)t);
    }
    SgTuning chosen = dev->tuning, forms[8], blocks[64];
    size_t n_forms = sg_tune_candidates_fitted(&dev->info, SG_TUNE_Q8_FORM, &chosen, forms, 8);
    size_t n_blocks = sg_tune_candidates(SG_TUNE_GEMM_BLOCK, &chosen, blocks, 63);
    blocks[n_blocks++] = sg_tuning_with_block(&chosen, (SgGemmBlock){8, 32, 1, 1});
    for (size_t f = 0; f < n_forms; f++)
        for (size_t c = 0; c < n_blocks; c++) {
            SgTuning qt = sg_tuning_with_block(&forms[f], (SgGemmBlock){blocks[c].gemm_mr,
                blocks[c].gemm_nr, blocks[c].gemm_ku, blocks[c].gemm_mb});
            CHECK_STATUS(sg_device_retune(dev, &qt, sg_test_cache_dir(), &err), SIGLIP_OK,
                         err.message);
            test_norm_mlp_case(7, 64, 200, SG_ACT_GELU_TANH, SG_ELEM_I8, 1);
            test_norm_mlp_case(13, 100, 545, SG_ACT_GELU_ERF, SG_ELEM_I8, 0);
            test_attention_linear_case(&attn_lin_cases[1], SG_ELEM_I8);
        }
    /* A tuning file may set any NP: 3 panels of 16 (48 columns, not whole blocks of 32) take
     * the rounding pass. */
    if (dev->info.has_int8_dot) {
        SgTuning odd = sg_tuning_with_block(&chosen, (SgGemmBlock){4, 16, 1, 1});
        odd.gemm_q8_np = 3;
        CHECK_STATUS(sg_device_retune(dev, &odd, sg_test_cache_dir(), &err), SIGLIP_OK,
                     err.message);
        CHECK(dev->tuning.gemm_q8_np == 3, "q8 form 3 kept (%d)", dev->tuning.gemm_q8_np);
        test_norm_mlp_case(7, 64, 200, SG_ACT_GELU_TANH, SG_ELEM_I8, 1);
    }
    CHECK_STATUS(sg_device_retune(dev, &chosen, sg_test_cache_dir(), &err), SIGLIP_OK,
                 err.message);
    /* Every attention configuration the tuner may choose (the tiled kernel: the rounding pass). */
    for (int c = 0; next_attention_config(c); c++)
        for (size_t i = 0; i < N_CASES(attn_lin_cases); i++)
            if (i != 0 || c == 0)
                test_attention_linear_case(&attn_lin_cases[i], SG_ELEM_I8);
}

/* ---- launches split by a loop budget (src/ocl/probe.c) ----
 * The GEMM and attention as a device with a small loop budget runs them, whatever this device's
 * own budget is: with 3000 forced, gemm_packed takes K in runs of 32 (the first launch with the
 * bias, the last with the activation, each accumulating onto the one before) and attention its
 * keys in runs of one tile, the softmax carried between launches; attention_rows gives way to
 * the tiled kernel. Every weight type on the awkward GEMM cases (q8 in the table's form; the
 * odd K = 545 ends on a lone input); masks, an all-masked item and
 * packed segments of different key counts for attention. */
static void test_split_launches(void)
{
    uint32_t own = dev->info.loop_budget;
    dev->info.loop_budget = 3000;
    for (size_t i = 0; i < N_CASES(linear_cases); i++)
        for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++)
            if (linear_cases[i].K > 32 && (t == SG_ELEM_F32 || i == 6 || i == 11 || i == 12))
                test_linear_case(&linear_cases[i], SG_GEMM_PANELS, (SgElemType)t);
    for (size_t i = 0; i < N_CASES(attention_cases); i++)
        if (attention_cases[i].Tk > 32)
            test_attention_case(&attention_cases[i]);
    for (size_t i = 0; i < N_CASES(segment_cases); i++)
        test_segments_case(&segment_cases[i]);
    /* The pairs of q8 ops then run one after another, the rounding pass between them. */
    for (size_t i = 0; i < N_CASES(mlp_shapes); i++)
        test_norm_mlp_case(mlp_shapes[i][0], mlp_shapes[i][1], mlp_shapes[i][2],
                           SG_ACT_GELU_TANH, SG_ELEM_I8, 1);
    for (size_t i = 0; i < N_CASES(attn_lin_cases); i++)
        test_attention_linear_case(&attn_lin_cases[i], SG_ELEM_I8);
    dev->info.loop_budget = own;
}

/* Packed texts' embeddings (ids and positions per row, a gather) and the last row of each
 * segment. */
static void test_packed_text_ops(size_t R, size_t D, size_t V, size_t P)
{
    int32_t *ids = xmalloc(R * sizeof *ids), *pos = xmalloc(R * sizeof *pos);
    for (size_t r = 0; r < R; r++) {
        ids[r] = (int32_t)(sg_rng_next(&rng) % V);
        pos[r] = (int32_t)(sg_rng_next(&rng) % P);
    }
    pos[R - 1] = (int32_t)(P - 1);
    size_t n = R * D;
    float *tok = random_floats(V * D, -1, 1), *pe = random_floats(P * D, -1, 1);
    float *ref = xmalloc(n * 4), *got = xmalloc(n * 4);
    GBuf gi = gbuf(ids, R), gp = gbuf(pos, R), gt = gbuf(tok, V * D), ge = gbuf(pe, P * D);
    GBuf go = gbuf(NULL, n);
    SgTable table = {{gt.view, V * D * 4}, SG_ELEM_F32, V, D};
    check_op(sg_op_embed_tokens(dev, gi.view, gp.view, &table, ge.view, sg_view(go.view, 1, R, D),
                                &err),
             "embed_tokens positions");
    gbuf_read(&gp, NULL, "embed positions");
    gbuf_read(&go, got, "embed out");
    ref_embed_tokens_at(ids, pos, tok, pe, ref, R, D);
    char label[64];
    snprintf(label, sizeof label, "R=%zu D=%zu V=%zu P=%zu positions", R, D, V, P);
    compare("embed_tokens", label, got, ref, n, dense(n), 0, 0, 0);

    /* Segments of lengths 1, 2, 3, ... covering R rows; the last one takes what is left. */
    int32_t seg[3 * 64];
    size_t count = 0;
    for (size_t r0 = 0; r0 < R && count < 64; count++) {
        size_t len = count + 1 < R - r0 && count < 63 ? count + 1 : R - r0;
        seg[3 * count] = (int32_t)r0, seg[3 * count + 1] = (int32_t)len, seg[3 * count + 2] = 1;
        r0 += len;
    }
    GBuf gs = gbuf(seg, 3 * count), gl = gbuf(NULL, count * D);
    SgSegments s = {gs.view, count, R, 1};
    check_op(sg_op_segment_last_rows(dev, sg_view(go.view, 1, R, D), s,
                                     sg_view(gl.view, count, 1, D), &err),
             "segment_last_rows");
    float *last = xmalloc(count * D * 4), *last_ref = xmalloc(count * D * 4);
    gbuf_read(&gl, last, "last rows");
    for (size_t i = 0; i < count; i++)
        ref_copy_rows(got + (size_t)(seg[3 * i] + seg[3 * i + 1] - 1) * D, D, last_ref + i * D,
                      D, 1, D);
    snprintf(label, sizeof label, "%zu segments over %zu rows of %zu", count, R, D);
    compare("segment_last", label, last, last_ref, count * D, dense(count * D), 0, 0, 0);
    gbuf_free(&gi), gbuf_free(&gp), gbuf_free(&gt), gbuf_free(&ge), gbuf_free(&go);
    gbuf_free(&gs), gbuf_free(&gl);
    free(ids), free(pos), free(tok), free(pe), free(ref), free(got), free(last), free(last_ref);
}

/* ---- embeddings, patches, broadcast add, mean, copies ---- */

/* The token table stored as dtype (sg_table_upload) against a plain-C gather of the values that
 * type rounds the table to (sg_weight_dequantize, itself held to IEEE constants by
 * test_weight_rounding). f32, bf16 and f16 values widen exactly, so the sum is the f32 one; q8's
 * q·scale + pos may be contracted into one fma by the OpenCL compiler, hence its ulp-sized
 * tolerance. */
static void test_embed_tokens_case(size_t B, size_t T, size_t D, size_t V, SgElemType dtype)
{
    size_t n = B * T * D, pos_rows = T + 3;
    int32_t *ids = xmalloc(B * T * sizeof *ids);
    for (size_t i = 0; i < B * T; i++)
        ids[i] = (int32_t)(sg_rng_next(&rng) % V);
    ids[B * T - 1] = (int32_t)(V - 1);
    float *tok = random_floats(V * D, -1, 1), *pos = random_floats(pos_rows * D, -1, 1);
    tok[(V - 1) * D + D - 1] = 40.0f; /* an outlier in the last (maybe partial) q8 block */
    float *ref = xmalloc(n * 4), *got = xmalloc(n * 4);
    SgTable table;
    SgRows rows = sg_rows_host(tok, V, D);
    rows.threads = 3; /* rows split over threads, in uneven ranges */
    int rc = sg_table_upload(dev, &rows, dtype, &table, &err);
    CHECK_STATUS(rc, SIGLIP_OK, err.message);
    sg_weight_dequantize(dtype, tok, V, D, tok);
    GBuf gi = gbuf(ids, B * T), gp = gbuf(pos, pos_rows * D), go = gbuf(NULL, n);
    if (rc == SIGLIP_OK)
        rc = sg_op_embed_tokens(dev, gi.view, NULL, &table, gp.view, sg_view(go.view, B, T, D),
                                &err);
    check_op(rc, "embed_tokens");
    gbuf_read(&gi, NULL, "embed ids");
    gbuf_read(&gp, NULL, "embed pos");
    gbuf_read(&go, got, "embed out");
    ref_embed_tokens(ids, tok, pos, ref, B, T, D);
    char label[64];
    snprintf(label, sizeof label, "%s B=%zu T=%zu D=%zu V=%zu", dtype_names[dtype], B, T, D, V);
    double rtol = dtype == SG_ELEM_I8 ? 1e-6 : 0;
    compare("embed_tokens", label, got, ref, n, dense(n), rtol * 4, rtol, 0);
    sg_buffer_release(dev, &table.buf);
    gbuf_free(&gi), gbuf_free(&gp), gbuf_free(&go);
    free(ids), free(tok), free(pos), free(ref), free(got);
}

static void test_im2col_case(size_t B, size_t C, size_t H, size_t W, size_t p)
{
    size_t npix = B * C * H * W, n = B * (H / p) * (W / p) * C * p * p;
    float *pix = random_floats(npix, -1, 1), *ref = xmalloc(n * 4), *got = xmalloc(n * 4);
    GBuf gpix = gbuf(pix, npix), go = gbuf(NULL, n);
    check_op(sg_op_im2col(dev, gpix.view, (SgImages){B, C, H, W}, p, go.view, &err), "im2col");
    gbuf_read(&gpix, NULL, "im2col pixels");
    gbuf_read(&go, got, "im2col patches");
    ref_im2col(pix, ref, B, C, H, W, p);
    char label[64];
    snprintf(label, sizeof label, "B=%zu C=%zu H=%zu W=%zu p=%zu", B, C, H, W, p);
    compare("im2col", label, got, ref, n, dense(n), 0, 0, 0);
    gbuf_free(&gpix), gbuf_free(&go);
    free(pix), free(ref), free(got);
}

static void test_add_broadcast_case(size_t B, size_t N, size_t D)
{
    size_t n = B * N * D;
    float *x = random_floats(n, -1, 1), *v = random_floats(N * D, -1, 1), *got = xmalloc(n * 4);
    GBuf gx = gbuf(x, n), gv = gbuf(v, N * D);
    check_op(sg_op_add_broadcast(dev, sg_view(gx.view, B, N, D), gv.view, &err), "add_broadcast");
    gbuf_read(&gv, NULL, "add_broadcast v");
    gbuf_read(&gx, got, "add_broadcast x");
    ref_add_broadcast(x, v, B, N, D);
    char label[64];
    snprintf(label, sizeof label, "B=%zu N=%zu D=%zu", B, N, D);
    compare("add_broadcast", label, got, x, n, dense(n), 0, 0, 0);
    gbuf_free(&gx), gbuf_free(&gv);
    free(x), free(v), free(got);
}

/* keep: 0 = no key mask; 1 = each item keeps a prefix of its own length (NaFlex padding, item 0
 * all N, the last one token); 2 = a random pattern, at least one token kept per item. */
static void test_mean_tokens_case(size_t B, size_t N, size_t D, int keep)
{
    size_t n = B * N * D;
    float *x = random_floats(n, 2, 4), *ref = xmalloc(B * D * 4), *got = xmalloc(B * D * 4);
    int32_t *mask = keep ? xmalloc(B * N * sizeof *mask) : NULL;
    for (size_t b = 0; mask && b < B; b++) {
        size_t len = b == 0 ? N : b == B - 1 ? 1 : 1 + (b * 7919) % N;
        for (size_t t = 0; t < N; t++)
            mask[b * N + t] = keep == 1 ? t < len : sg_rng_uniform(&rng, 0, 1) < 0.5f;
        mask[b * N + (b * 31) % N] = 1;
    }
    GBuf gx = gbuf(x, n), go = gbuf(NULL, B * D), gm = gbuf(mask, mask ? B * N : 1);
    SgMask vm = {mask ? gm.view : NULL, {NULL, 0, 0, 0}};
    check_op(sg_op_mean_tokens(dev, sg_view(gx.view, B, N, D), vm, sg_view(go.view, B, 1, D),
                               &err),
             "mean_tokens");
    gbuf_read(&gx, NULL, "mean_tokens x");
    gbuf_read(&gm, NULL, "mean_tokens mask");
    gbuf_read(&go, got, "mean_tokens out");
    ref_mean_tokens(x, mask, ref, B, N, D);
    char label[64];
    snprintf(label, sizeof label, "B=%zu N=%zu D=%zu keep %d", B, N, D, keep);
    compare("mean_tokens", label, got, ref, B * D, dense(B * D), 1e-6, 1e-6, 1e-13);
    gbuf_free(&gx), gbuf_free(&go), gbuf_free(&gm);
    free(x), free(ref), free(got), free(mask);
}

static void test_copy_rows_case(size_t rows, size_t cols, size_t src_off, size_t ld_src,
                                size_t dst_off, size_t ld_dst)
{
    size_t ns = span(src_off, rows, ld_src, cols), nd = span(dst_off, rows, ld_dst, cols);
    float *src = random_floats(ns, -1, 1), *ref = xmalloc(nd * 4), *got = xmalloc(nd * 4);
    fill_sentinel(ref, nd);
    GBuf gs = gbuf(src, ns), gd = gbuf(NULL, nd);
    SgView vs = {gs.view, src_off, 1, rows, cols, ld_src, 0};
    SgView vd = {gd.view, dst_off, 1, rows, cols, ld_dst, 0};
    check_op(sg_op_copy_rows(dev, vs, vd, &err), "copy_rows");
    gbuf_read(&gs, NULL, "copy_rows src");
    gbuf_read(&gd, got, "copy_rows dst");
    ref_copy_rows(src + src_off, ld_src, ref + dst_off, ld_dst, rows, cols);
    char label[96];
    snprintf(label, sizeof label, "rows=%zu cols=%zu src %zu+r*%zu dst %zu+r*%zu", rows, cols,
             src_off, ld_src, dst_off, ld_dst);
    compare("copy_rows", label, got, ref, nd, (Layout){dst_off, rows, ld_dst, cols}, 0, 0, 0);
    gbuf_free(&gs), gbuf_free(&gd);
    free(src), free(ref), free(got);
}

static void test_small_ops(void)
{
    for (int t = SG_ELEM_F32; t <= SG_ELEM_I8; t++) {
        test_embed_tokens_case(1, 1, 33, 5, (SgElemType)t); /* V·D = 165: q8 scales padded */
        test_embed_tokens_case(3, 7, 100, 50, (SgElemType)t);
        test_embed_tokens_case(2, 5, 70, 3, (SgElemType)t); /* ids repeat; blocks 32, 32, 6 */
        test_embed_tokens_case(2, 64, 768, 300, (SgElemType)t);
    }
    test_packed_text_ops(1, 33, 5, 1);
    test_packed_text_ops(37, 100, 50, 64);
    test_packed_text_ops(104, 768, 300, 64);
    test_im2col_case(1, 3, 16, 16, 4);
    test_im2col_case(3, 3, 28, 28, 14);
    test_im2col_case(2, 3, 32, 48, 16);
    test_im2col_case(1, 3, 13, 10, 4); /* sizes not multiples of p: the rest is dropped */
    test_im2col_case(1, 3, 224, 224, 16);
    test_add_broadcast_case(1, 1, 33);
    test_add_broadcast_case(3, 7, 100);
    test_add_broadcast_case(3, 196, 768);
    test_mean_tokens_case(1, 1, 33, 0);
    test_mean_tokens_case(3, 7, 100, 0);
    test_mean_tokens_case(2, 729, 768, 0);
    test_mean_tokens_case(1, 1, 33, 1);
    test_mean_tokens_case(5, 23, 37, 1);
    test_mean_tokens_case(3, 257, 100, 2);
    test_mean_tokens_case(4, 729, 768, 1);
    test_copy_rows_case(1, 1, 0, 1, 0, 1);
    test_copy_rows_case(7, 33, 5, 40, 3, 50);
    test_copy_rows_case(50, 100, 100, 300, 0, 100);
}

/* ---- bad arguments: clear statuses, nothing enqueued ---- */

static void test_bad_arguments(void)
{
    GBuf a = gbuf(NULL, 64), b = gbuf(NULL, 64);
    size_t nr = (size_t)dev->tuning.gemm_nr;
    SgLinear l8 = {.w = {.buf = {a.view, 256}, .layout = SG_GEMM_PANELS, .panel = nr, .n_out = 8,
                         .n_in = 8}};
    SgView x8 = {a.view, 0, 1, 2, 8, 4, 0}, y8 = {b.view, 0, 1, 2, 8, 8, 0};
    int rc = sg_op_linear(dev, x8, &l8, y8, SG_ACT_NONE, SG_STORE, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message); /* ldx < K */
    x8.ld = 8;
    rc = sg_op_linear(dev, x8, &l8, y8, SG_ACT_GELU_TANH, SG_ACCUMULATE, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message); /* accumulate with an activation */
    x8.rows = y8.rows = 16;
    rc = sg_op_linear(dev, x8, &l8, y8, SG_ACT_NONE, SG_STORE, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message); /* x holds 64 < 128 elements */
    CHECK(strstr(err.message, "holds 64 elements") != NULL, "message: %s", err.message);
    /* 8×16 bf16 weights in one panel of nr columns need nr·16·2 ≥ 512 bytes; a holds 256. */
    SgLinear l16 = l8;
    l16.w.dtype = SG_ELEM_BF16;
    l16.w.n_in = 16;
    SgView x16 = {a.view, 0, 1, 2, 16, 16, 0};
    y8.rows = 2;
    rc = sg_op_linear(dev, x16, &l16, y8, SG_ACT_NONE, SG_STORE, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    char need[32];
    snprintf(need, sizeof need, "%zu are needed", nr * 16 * 2);
    CHECK(strstr(err.message, need) != NULL, "message: %s", err.message);
    l8.w.dtype = SG_ELEM_BF16;
    x8.rows = 2;
    l8.w.layout = SG_GEMM_CLBLAST;
    rc = sg_op_linear(dev, x8, &l8, y8, SG_ACT_NONE, SG_STORE, &err);
    CHECK_STATUS(rc, SIGLIP_ENOTSUP, err.message); /* reduced precision only as panels */
    SgView wide = sg_view(a.view, 1, 1, SG_ATTN_MAX_DH + 8);
    rc = sg_op_attention(dev, wide, wide, wide, SG_NO_MASK, sg_view(b.view, 1, 1, SG_ATTN_MAX_DH + 8),
                         (SgHeads){1, 1.0f}, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    CHECK(strstr(err.message, "heads of 1..") != NULL, "message: %s", err.message);
    SgView q4 = sg_view(a.view, 2, 2, 4); /* k, v from another item count than out */
    rc = sg_op_attention(dev, q4, sg_view(a.view, 1, 2, 4), sg_view(a.view, 1, 2, 4), SG_NO_MASK,
                         sg_view(b.view, 2, 2, 4), (SgHeads){2, 1.0f}, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    SgMask both = {a.view, {a.view, 1, 2, 2}}; /* a key mask and segments together */
    rc = sg_op_attention(dev, sg_view(a.view, 1, 2, 4), sg_view(a.view, 1, 2, 4),
                         sg_view(a.view, 1, 2, 4), both, sg_view(b.view, 1, 2, 4),
                         (SgHeads){2, 1.0f}, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    SgMask too_long = {NULL, {a.view, 1, 3, 3}}; /* segments longer than the views */
    rc = sg_op_attention(dev, sg_view(a.view, 1, 2, 4), sg_view(a.view, 1, 2, 4),
                         sg_view(a.view, 1, 2, 4), too_long, sg_view(b.view, 1, 2, 4),
                         (SgHeads){2, 1.0f}, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    rc = sg_op_im2col(dev, a.view, (SgImages){1, 1, 4, 4}, 5, b.view, &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    rc = sg_op_copy_rows(dev, (SgView){a.view, 0, 1, 2, 8, 4, 0}, (SgView){b.view, 0, 1, 2, 8, 8, 0},
                         &err);
    CHECK_STATUS(rc, SIGLIP_EINVAL, err.message);
    gbuf_read(&b, NULL, "untouched output");
    gbuf_free(&a), gbuf_free(&b);
}

int main(int argc, char **argv)
{
    /* --quick: only cases of modest size, for simulators (oclgrind) where every work-item is
     * interpreted; the cases left out are listed as skipped. */
    if (argc > 1 && !strcmp(argv[1], "--quick"))
        work_limit = 2000000;
    int rc = sg_test_open_device(&dev, &err, "test_ops");
    if (rc)
        return rc;
    printf("device: %s (%s), kernels %s in %.2f s\n", dev->info.name, dev->info.platform_name,
           dev->kernels->from_cache ? "loaded from cache" : "built", dev->kernels->build_seconds);

    test_weight_rounding();
    test_linear();
    test_q8_vnni_code();
    test_layernorm();
    test_layernorm_q8();
    test_attention();
    test_segments();
    test_q8_pairs();
    test_split_launches();
    test_small_ops();
    test_bad_arguments();

    printf("\n%-14s %6s %7s %10s %10s\n", "op", "cases", "failed", "max_abs", "max_nmse");
    for (size_t i = 0; i < n_stats; i++)
        printf("%-14s %6d %7d %10.2e %10.2e\n", stats[i].op, stats[i].cases, stats[i].failed,
               stats[i].max_abs, stats[i].max_nmse);
    sg_device_close(&dev);
    fflush(stdout);
    return sg_test_finish("test_ops");
}
