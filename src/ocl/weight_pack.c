/* weight_pack.c — rounding Linear weights to bf16 / f16 / q8 and packing them into the panel
 * layout of cl/gemm_packed.cl (cl/weight_load.h reads them back). */
#include "ocl/weight_pack.h"

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

uint16_t sg_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if (isnan(f))
        return (uint16_t)(u >> 16 | 0x40); /* stays a (quiet) NaN */
    u += 0x7fff + (u >> 16 & 1);       /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

float sg_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t sg_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)(u >> 16 & 0x8000);
    float a = fabsf(f);
    if (isnan(f))
        return sign | 0x7e00;
    if (a >= 65520.0f) /* rounds past the largest half, 65504 */
        return sign | 0x7c00;
    if (a < 6.103515625e-05f) /* below 2^-14: a subnormal half, steps of 2^-24 */
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    uint32_t e = (f32_bits(a) >> 23) - 127 + 15, m = f32_bits(a) & 0x7fffff;
    uint32_t h = e << 10 | m >> 13, rest = m & 0x1fff;
    h += rest > 0x1000 || (rest == 0x1000 && (h & 1)); /* ties to even; a carry bumps the exponent */
    return sign | (uint16_t)h;
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

/* Scale of row w[0 .. len): the largest magnitude maps to ±127. */
static float q8_scale(const float *w, size_t len)
{
    float amax = 0.0f;
    for (size_t i = 0; i < len; i++)
        amax = fmaxf(amax, fabsf(w[i]));
    return amax / 127.0f;
}

static int8_t q8_round(float w, float scale)
{
    return scale > 0.0f ? (int8_t)lrintf(fminf(fmaxf(w / scale, -127.0f), 127.0f)) : 0;
}

/* Scales of one q8 panel of nr columns: s[b][j] for block b and column j, 0 for padding
 * columns. */
static void q8_panel_scales(const float *w, size_t N, size_t K, size_t n0, size_t nr, float *s)
{
    for (size_t b = 0; b * SG_Q8_BLOCK < K; b++)
        for (size_t j = 0; j < nr; j++) {
            size_t k0 = b * SG_Q8_BLOCK, len = K - k0 < SG_Q8_BLOCK ? K - k0 : SG_Q8_BLOCK;
            s[b * nr + j] = n0 + j < N ? q8_scale(w + (n0 + j) * K + k0, len) : 0.0f;
        }
}

#define TILE_K 64 /* inputs per transposed tile: TILE_K × nr floats (≤ 16 KiB) stay in L1 */

/* Stores tile[0 .. n) (f32, k-major, nr per k, starting at input k0) into dst from element i as
 * type t; s: the panel's q8 scales. */
static void store_tile(SgElemType t, const float *tile, size_t n, size_t k0, size_t nr,
                       const float *s, void *dst, size_t i)
{
    switch (t) {
    case SG_ELEM_BF16:
        for (size_t e = 0; e < n; e++)
            ((uint16_t *)dst)[i + e] = sg_f32_to_bf16(tile[e]);
        break;
    case SG_ELEM_F16:
        for (size_t e = 0; e < n; e++)
            ((uint16_t *)dst)[i + e] = sg_f32_to_f16(tile[e]);
        break;
    case SG_ELEM_I8:
        for (size_t e = 0; e < n; e++) {
            size_t k = k0 + e / nr, j = e % nr;
            ((int8_t *)dst)[i + e] = q8_round(tile[e], s[k / SG_Q8_BLOCK * nr + j]);
        }
        break;
    default:
        memcpy((float *)dst + i, tile, n * sizeof *tile);
    }
}

void sg_weight_pack(SgElemType t, const float *w, size_t N, size_t K, size_t nr, void *dst)
{
    size_t panels = div_up(N, nr), blocks = div_up(K, SG_Q8_BLOCK);
    float *scales = (float *)((int8_t *)dst + panels * nr * K);
    float tile[TILE_K * SG_PANEL_MAX];
    /* Transposed a tile at a time: rows are read in runs of TILE_K, the tile written in order. */
    for (size_t p = 0; p < panels; p++) {
        size_t n0 = p * nr;
        float *s = scales + p * blocks * nr;
        if (t == SG_ELEM_I8)
            q8_panel_scales(w, N, K, n0, nr, s);
        for (size_t k0 = 0; k0 < K; k0 += TILE_K) {
            size_t kn = K - k0 < TILE_K ? K - k0 : TILE_K;
            for (size_t j = 0; j < nr; j++) {
                const float *row = n0 + j < N ? w + (n0 + j) * K + k0 : NULL;
                for (size_t k = 0; k < kn; k++)
                    tile[k * nr + j] = row ? row[k] : 0.0f;
            }
            store_tile(t, tile, kn * nr, k0, nr, s, dst, p * K * nr + k0 * nr);
        }
    }
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

void sg_table_pack(SgElemType t, const float *src, size_t rows, size_t cols, void *dst)
{
    size_t blocks = div_up(cols, SG_Q8_BLOCK);
    float *scales = (float *)((unsigned char *)dst + sg_table_scales_offset(rows, cols));
    for (size_t r = 0; r < rows; r++) {
        const float *row = src + r * cols;
        if (t != SG_ELEM_I8) {
            store_tile(t, row, cols, 0, 1, NULL, dst, r * cols);
            continue;
        }
        for (size_t b = 0; b < blocks; b++) {
            size_t k0 = b * SG_Q8_BLOCK, len = cols - k0 < SG_Q8_BLOCK ? cols - k0 : SG_Q8_BLOCK;
            scales[r * blocks + b] = q8_scale(row + k0, len);
        }
        /* store_tile with nr = 1 reads scale k / 32 of the row: s[k / SG_Q8_BLOCK]. */
        store_tile(t, row, cols, 0, 1, scales + r * blocks, dst, r * cols);
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
