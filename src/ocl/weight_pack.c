/* weight_pack.c — rounding Linear weights to bf16 / f16 / q8 and packing them into the panel
 * layout of cl/gemm_packed.cl (cl/weight_load.h reads them back). */
#include "ocl/weight_pack.h"

#include "common/parallel.h"

#include <math.h>
#include <string.h>

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Both roundings are branch-free selects (no lrintf, no per-case branches) so that packing a
 * weight, which rounds every element, runs at memory speed. */
uint16_t sg_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    uint32_t rounded = (u + 0x7fff + (u >> 16 & 1)) >> 16; /* to nearest, ties to even */
    uint32_t quiet_nan = u >> 16 | 0x40;                   /* a NaN stays a (quiet) NaN */
    return (uint16_t)((u & 0x7fffffff) > 0x7f800000 ? quiet_nan : rounded);
}

float sg_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t sg_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f), a = u & 0x7fffffff, sign = u >> 16 & 0x8000;
    /* |f| ≥ 2^-14: the exponent rebiased (127 → 15) and the 13 dropped mantissa bits rounded to
     * nearest even; a carry steps the exponent, up to infinity from 65520 on. */
    uint32_t normal = (a - (112u << 23) + 0xfff + (a >> 13 & 1)) >> 13;
    /* |f| < 2^-14: a subnormal half counts units of 2^-24, the ulp of 0.5f: adding 0.5f rounds
     * |f| to a whole number of them (to nearest even), left in the low mantissa bits. */
    uint32_t subnormal = f32_bits(bits_f32(a) + 0.5f) - 0x3f000000;
    uint32_t h = a < (113u << 23)  ? subnormal
                 : a < 0x47800000 ? normal                      /* below 2^16 */
                 : a > 0x7f800000 ? 0x7e00                      /* NaN */
                                  : 0x7c00;                     /* ±inf */
    return (uint16_t)(sign | h);
}

float sg_f16_to_f32(uint16_t h)
{
    uint32_t e = h >> 10 & 0x1f, m = h & 0x3ff;
    float v = e == 0    ? ldexpf((float)m, -24)
              : e == 31 ? (m ? NAN : INFINITY)
                        : ldexpf((float)(m | 0x400), (int)e - 25);
    return h & 0x8000 ? -v : v;
}

static size_t div_up(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

size_t sg_weight_bytes(SgGemmPath layout, SgElemType t, size_t N, size_t K, size_t nr)
{
    size_t n = layout == SG_GEMM_PANELS ? div_up(N, nr) * nr : N;
    switch (t) {
    case SG_ELEM_BF16:
    case SG_ELEM_F16:
        return n * K * 2;
    case SG_ELEM_I8:
        return n * K + n * div_up(K, SG_Q8_BLOCK) * sizeof(float);
    default:
        return n * K * sizeof(float);
    }
}

/* The largest magnitude of w[0 .. len). */
static float q8_amax(const float *w, size_t len)
{
    float amax = 0.0f; /* comparisons, not fmaxf (a libm call per weight); NaNs are skipped */
    for (size_t i = 0; i < len; i++)
        amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
    return amax;
}

/* Scale of row w[0 .. len): the largest magnitude maps to ±127. */
static float q8_scale(const float *w, size_t len)
{
    return q8_amax(w, len) / 127.0f;
}

static int8_t q8_round(float w, float scale)
{
    float x = scale > 0.0f ? w / scale : 0.0f;
    x = x >= -127.0f ? x : -127.0f; /* NaN too */
    x = x <= 127.0f ? x : 127.0f;
    /* 1.5·2^23 has an ulp of 1: adding it rounds x to nearest even, as lrintf would. */
    return (int8_t)(int)((x + 12582912.0f) - 12582912.0f);
}

/* q8 scales of blocks of 32 starting at run[0] (input k0, a multiple of 32) of one row: s[b·step]
 * for block b of the run. */
static void q8_run_scales(const float *run, size_t len, float *s, size_t step)
{
    for (size_t b = 0; b * SG_Q8_BLOCK < len; b++) {
        size_t n = len - b * SG_Q8_BLOCK < SG_Q8_BLOCK ? len - b * SG_Q8_BLOCK : SG_Q8_BLOCK;
        s[b * step] = q8_scale(run + b * SG_Q8_BLOCK, n);
    }
}

#define TILE_K 64 /* inputs per transposed tile: TILE_K × nr floats (≤ 16 KiB) stay in L1 */

/* Stores tile [kn, nr] (f32, k-major, starting at input k0) into dst from element `at` as type t;
 * s: the q8 scales, s[(k / 32)·nr + j] for input k and column j. */
static void store_tile(SgElemType t, const float *tile, size_t kn, size_t k0, size_t nr,
                       const float *s, void *dst, size_t at)
{
    size_t n = kn * nr;
    uint16_t *d16 = (uint16_t *)dst + at;
    switch (t) {
    case SG_ELEM_BF16:
        /* Panels of a multiple of 16 columns are stored in column pairs, which the GEMM widens
         * with one integer op per 8 weights (cl/weight_load.h, SG_W8_PAIRED): in each group of
         * 16, column c < 8 at 2c and column c + 8 at 2c + 1. Other widths and tables (nr 1):
         * plain rows. */
        for (size_t e = 0; e < n; e++) {
            size_t j = e % nr;
            size_t slot = nr % 16 ? j : (j & ~(size_t)15) | (j & 7) << 1 | (j >> 3 & 1);
            d16[e - j + slot] = sg_f32_to_bf16(tile[e]);
        }
        break;
    case SG_ELEM_F16:
        for (size_t e = 0; e < n; e++)
            d16[e] = sg_f32_to_f16(tile[e]);
        break;
    case SG_ELEM_I8:
        /* Inputs in quads (cl/gemm_packed.cl: its integer form reads 4 inputs × 8 columns per
         * 32-byte load): (k, j) at (k & ~3)·nr + 4j + (k & 3). Tiles start at multiples of 4
         * inputs and only the last one of a K can end in a part quad: those 1–3 inputs stay plain
         * rows. With nr = 1 (a gather table) both are the plain layout. */
        for (size_t k = 0; k < kn; k++) {
            const float *sk = s + (k0 + k) / SG_Q8_BLOCK * nr;
            int quad = (k | 3) < kn;
            int8_t *d8 = (int8_t *)dst + at + (quad ? (k & ~(size_t)3) * nr + (k & 3) : k * nr);
            for (size_t j = 0; j < nr; j++)
                d8[quad ? 4 * j : j] = q8_round(tile[k * nr + j], sk[j]);
        }
        break;
    default:
        memcpy((float *)dst + at, tile, n * sizeof *tile);
    }
}

static void read_host(const SgRows *rows, size_t row, size_t k0, size_t len, float *out)
{
    memcpy(out, (const float *)rows->src + row * rows->k + k0, len * sizeof *out);
}

SgRows sg_rows_host(const float *w, size_t n, size_t k)
{
    return (SgRows){read_host, w, n, k, 1};
}

/* What one thread of a packing needs. */
typedef struct PackJob {
    SgElemType t;
    const SgRows *w;
    size_t nr;
    void *dst;
} PackJob;

#define ROWS_FLOATS 16384 /* a panel's rows over a stretch of inputs: 64 KiB, in L2 */

/* Panels p0 .. p1 − 1. A panel's nr rows are consecutive in the source, so they are read a
 * stretch of inputs at a time (long sequential runs the prefetcher follows), their q8 scales
 * taken there, then transposed a tile of TILE_K inputs at a time (f32: straight into dst). */
static void pack_panels(void *arg, size_t p0, size_t p1)
{
    const PackJob *job = arg;
    const SgRows *w = job->w;
    size_t N = w->n, K = w->k, nr = job->nr, blocks = div_up(K, SG_Q8_BLOCK);
    size_t stretch = ROWS_FLOATS / nr / TILE_K * TILE_K; /* ≥ 256 inputs: nr ≤ 64 */
    float *scales = (float *)((int8_t *)job->dst + div_up(N, nr) * nr * K);
    float rows[ROWS_FLOATS], tile[TILE_K * SG_PANEL_MAX];
    for (size_t p = p0; p < p1; p++) {
        float *s = scales + p * blocks * nr;
        for (size_t kc = 0; kc < K; kc += stretch) {
            size_t kcn = K - kc < stretch ? K - kc : stretch;
            for (size_t j = 0; j < nr; j++) {
                float *row = rows + j * stretch; /* inputs kc .. kc + kcn − 1 of column j */
                if (p * nr + j < N)
                    w->read(w, p * nr + j, kc, kcn, row);
                else
                    memset(row, 0, kcn * sizeof *row);
                if (job->t == SG_ELEM_I8)
                    q8_run_scales(row, kcn, s + kc / SG_Q8_BLOCK * nr + j, nr);
            }
            for (size_t k0 = kc; k0 < kc + kcn; k0 += TILE_K) {
                size_t kn = kc + kcn - k0 < TILE_K ? kc + kcn - k0 : TILE_K;
                size_t at = (p * K + k0) * nr;
                float *out = job->t == SG_ELEM_F32 ? (float *)job->dst + at : tile;
                for (size_t j = 0; j < nr; j++) {
                    const float *row = rows + j * stretch + (k0 - kc);
                    for (size_t k = 0; k < kn; k++)
                        out[k * nr + j] = row[k];
                }
                if (job->t != SG_ELEM_F32)
                    store_tile(job->t, tile, kn, k0, nr, s, job->dst, at);
            }
        }
    }
}

void sg_weight_pack(SgElemType t, const SgRows *w, size_t nr, void *dst)
{
    PackJob job = {t, w, nr, dst};
    sg_parallel_for(w->threads, div_up(w->n, nr), pack_panels, &job);
}

static void copy_rows(void *arg, size_t r0, size_t r1)
{
    const PackJob *job = arg;
    for (size_t r = r0; r < r1; r++)
        job->w->read(job->w, r, 0, job->w->k, (float *)job->dst + r * job->w->k);
}

void sg_weight_copy_rows(const SgRows *w, float *dst)
{
    PackJob job = {SG_ELEM_F32, w, 1, dst};
    sg_parallel_for(w->threads, w->n, copy_rows, &job);
}

size_t sg_table_scales_offset(size_t rows, size_t cols)
{
    return div_up(rows * cols, sizeof(float)) * sizeof(float);
}

size_t sg_table_bytes(SgElemType t, size_t rows, size_t cols)
{
    switch (t) {
    case SG_ELEM_BF16:
    case SG_ELEM_F16:
        return rows * cols * 2;
    case SG_ELEM_I8:
        return sg_table_scales_offset(rows, cols) + rows * div_up(cols, SG_Q8_BLOCK) * sizeof(float);
    default:
        return rows * cols * sizeof(float);
    }
}

/* Rows r0 .. r1 − 1 of a table, a run of TILE_K elements at a time (f32: read straight into
 * dst). */
static void pack_table_rows(void *arg, size_t r0, size_t r1)
{
    const PackJob *job = arg;
    const SgRows *src = job->w;
    size_t cols = src->k, blocks = div_up(cols, SG_Q8_BLOCK);
    float *scales = (float *)((unsigned char *)job->dst + sg_table_scales_offset(src->n, cols));
    float run[TILE_K];
    for (size_t r = r0; r < r1; r++)
        for (size_t k0 = 0; k0 < cols; k0 += TILE_K) {
            size_t kn = cols - k0 < TILE_K ? cols - k0 : TILE_K, at = r * cols + k0;
            float *out = job->t == SG_ELEM_F32 ? (float *)job->dst + at : run;
            src->read(src, r, k0, kn, out);
            if (job->t == SG_ELEM_I8)
                q8_run_scales(run, kn, scales + r * blocks + k0 / SG_Q8_BLOCK, 1);
            if (job->t != SG_ELEM_F32)
                store_tile(job->t, run, kn, k0, 1, scales + r * blocks, job->dst, at);
        }
}

void sg_table_pack(SgElemType t, const SgRows *src, void *dst)
{
    PackJob job = {t, src, 1, dst};
    sg_parallel_for(src->threads, src->n, pack_table_rows, &job);
}

void sg_q8_round_rows(float *x, size_t ld, size_t M, size_t K)
{
    for (size_t m = 0; m < M; m++)
        for (size_t k0 = 0; k0 < K; k0 += SG_Q8_BLOCK) {
            float *v = x + m * ld + k0;
            size_t len = K - k0 < SG_Q8_BLOCK ? K - k0 : SG_Q8_BLOCK;
            /* 7 bits, as cl/q8_rows.h: ±63 (q8_round clamps to ±127, which v·inv never
             * passes but for NaN, which the kernel's clamp maps to −63 as well). */
            float amax = q8_amax(v, len), inv = amax > 0.0f ? 63.0f / amax : 0.0f;
            for (size_t k = 0; k < len; k++) {
                float q = (float)q8_round(v[k] * inv, 1.0f);
                v[k] = (q < -63.0f ? -63.0f : q > 63.0f ? 63.0f : q) * (amax / 63.0f);
            }
        }
}

void sg_weight_dequantize(SgElemType t, const float *w, size_t N, size_t K, float *out)
{
    for (size_t n = 0; n < N; n++) {
        const float *src = w + n * K;
        float *o = out + n * K;
        for (size_t k0 = 0; k0 < K; k0 += SG_Q8_BLOCK) {
            size_t len = K - k0 < SG_Q8_BLOCK ? K - k0 : SG_Q8_BLOCK;
            float scale = t == SG_ELEM_I8 ? q8_scale(src + k0, len) : 0.0f;
            for (size_t k = k0; k < k0 + len; k++)
                o[k] = t == SG_ELEM_BF16  ? sg_bf16_to_f32(sg_f32_to_bf16(src[k]))
                       : t == SG_ELEM_F16 ? sg_f16_to_f32(sg_f32_to_f16(src[k]))
                       : t == SG_ELEM_I8  ? (float)q8_round(src[k], scale) * scale
                                          : src[k];
        }
    }
}
