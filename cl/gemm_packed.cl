/* gemm_packed.cl — Linear layers for devices that run work-items as CPU threads: each work-item
 * computes an MR × NR block of y = act(x·wᵀ + b) (or y = act(y + x·wᵀ + b)) in vector
 * registers, reading weights packed at load time into NR-column panels so every k step is NR
 * contiguous floats.
 *
 * Layouts (elements):
 *   x:  [M, K] with row stride ldx, starting at x_off
 *   wp: [ceil(N/NR), K, NR] panels of wᵀ; columns past N are zero; element type by -DSG_WEIGHT
 *       (cl/weight_load.h: f32, bf16, f16, or int8 followed by its scales)
 *   b:  [N] (or has_bias = 0)
 *   y:  [M, N] with row stride ldy, starting at y_off
 * Work: global size (ceil(M/(MR·MB)), ceil(N/NR)), local size (1, 1). Weights are packed on the host
 * when they are uploaded (sg_weight_upload in src/ocl/gemm.c) with the same NR.
 * One launch sums inputs k0 .. k1−1 (k0 a multiple of 32) of the K the panels hold: the host
 * splits K over several launches (the first stores, the others accumulate, the last applies
 * the activation) where the device cuts long loops short (a loop budget, src/ocl/probe.c).
 * Walk order: a CPU device hands out work-items in order of their linear id (dimension 0
 * fastest), so by default consecutive work-items share a weight panel and stream all of x; when x
 * outgrows the cache (batch 32: 77 MB of MLP activations) each panel streams it from memory
 * again. With mc > 0 (an argument: the host decides from the size of x) the linear ids are
 * renumbered: mc row blocks × every panel, chunk after chunk, so a chunk's rows of x stay in
 * cache while the weights stream past them.
 *
 * Tunables (-D, chosen per device by src/ocl/tuning.c or `siglip tune`): a block keeps
 * MR·NR/8 float8 accumulators, NR/8 weight vectors and one broadcast live, which must fit the
 * vector registers (16 ymm on AVX2: 4×24, 6×16; 32 zmm-halves on AVX-512: 8×32).
 *
 * q8 weights (SG_WEIGHT 3) have two forms, SG_Q8_NP choosing (issue 28):
 *  - 0, widening: the int8 weights widened to f32 and FMAed with f32 x, each block of 32 inputs'
 *    sums scaled once (AVX2: vpmovsxbd/vcvtdq2ps + vfmadd231ps; as slow as f32 or slower);
 *  - NP > 0, integer (only where the compiler builds x86 AVX2's int8 multiply-adds: src/ocl/
 *    probe.c): x comes rounded to 7 bits, [−63, 63], with one scale per row and block of 32
 *    ("q8 rows", cl/q8_rows.h, which says why 7), from the op that produced it or from
 *    q8_quantize_rows (below); a work-item runs a chunk of SG_Q8_KC inputs of its MB·MR rows
 *    against NP panels one after another. Quads of inputs × 8 columns are multiplied and
 *    summed in int32 (sg_dot4: AVX2's vpmaddubsw + vpmaddwd, or with SG_Q8_DOT where the CPU
 *    has VNNI, SG_X86_VNNI, one vpdpbusd), converted and scaled once per block of 32. Its
 *    epilogue may write y as q8 rows in turn (accumulate = SG_CL_Y_Q8_ROWS: fc1's output for
 *    fc2, sg_store_q8_rows).
 * q8 panels store inputs in quads: element (k, j) of a panel at (k & ~3)·NR + 4j + (k & 3),
 * except the 1–3 inputs of a K that ends in a part quad, stored as plain rows at k·NR + j
 * (sg_weight_pack); the widening form reads the same layout. */

#ifndef MR
#define MR 8 /* rows of y per work-item */
#endif
#ifndef NR
#define NR 32 /* columns of y per work-item = panel width; a multiple of 8 */
#endif
#ifndef KU
#define KU 1 /* k steps unrolled */
#endif
#ifndef MB
#define MB 1 /* blocks of MR rows per work-item */
#endif
#ifndef SG_Q8_NP
#define SG_Q8_NP 0 /* q8 only: 0 = widening form, else integer form over NP panels per item */
#endif
#ifndef SG_Q8_DOT
#define SG_Q8_DOT 0 /* integer form: 0 = vpmaddubsw + vpmaddwd, 1 = vpdpbusd where SG_X86_VNNI */
#endif
#ifndef SG_X86_VNNI
#define SG_X86_VNNI 0 /* device feature: 1 = AVX-512 VNNI (with VL), 2 = AVX-VNNI, 0 = neither */
#endif
#define NV (NR / 8) /* float8 vectors per panel row */
#ifndef SG_Q8_KC
#define SG_Q8_KC 256 /* inputs the integer form runs against a panel at a time (a multiple of 32) */
#endif

/* vpdpbusd (SG_Q8_VNNI): the CPU has it (SG_X86_VNNI, read off the device by src/ocl/probe.c),
 * but the compiler may not target it: Debian's PoCL compiles for its kernel library's CPU
 * (haswell, skylake-avx512), whatever VNNI the CPU has. So every function of the program is
 * compiled with the feature, the headers' too: a function inlines only callees whose target
 * attributes match its own (LLVM 15 left sg_activate_float8 a call otherwise). 3 is q8's
 * SG_WEIGHT (SG_CL_WEIGHT_Q8, checked below), which is only defined by the headers. */
#define SG_Q8_VNNI (SG_WEIGHT == 3 && SG_Q8_NP > 0 && SG_Q8_DOT && SG_X86_VNNI)
#if SG_Q8_VNNI && defined(__AVX2__) && SG_X86_VNNI == 1
#pragma clang attribute push(__attribute__((target("avx512vl,avx512vnni"))), apply_to = function)
#elif SG_Q8_VNNI && defined(__AVX2__)
#pragma clang attribute push(__attribute__((target("avxvnni"))), apply_to = function)
#endif

#include "activation.h"
#include "fma.h"
SG_DEFINE_ACTIVATE(float8)
#include "weight_load.h"
#if SG_WEIGHT == SG_CL_WEIGHT_Q8
#include "q8_rows.h"
#endif
#if SG_CL_WEIGHT_Q8 != 3
#error "SG_Q8_VNNI above takes q8's SG_WEIGHT for 3"
#endif

/* q8's integer form (SG_Q8_INT): SG_NP panels per work-item; every other form one. */
#define SG_Q8_INT (SG_WEIGHT == SG_CL_WEIGHT_Q8 && SG_Q8_NP > 0)
#if SG_Q8_INT
#define SG_NP SG_Q8_NP
#else
#define SG_NP 1
#endif

/* One k step of the block: acc[i][·] += x[row i][k] · (panel row k). The panel is read as
 * float8s (sg_load_w8, widened from its storage type): vectors wider than 256 bits make PoCL's
 * builtins warn about the AVX ABI. */
inline void sg_fma_row(float8 acc[MR][NV], __global const float *row[MR], const float8 wv[NV],
                       int k)
{
#pragma unroll
    for (int i = 0; i < MR; i++) {
        const float8 a = (float8)(row[i][k]);
#pragma unroll
        for (int q = 0; q < NV; q++)
            acc[i][q] = sg_fma(a, wv[q], acc[i][q]);
    }
}

inline void sg_fma_step(float8 acc[MR][NV], __global const float *row[MR],
                        __global const sg_welem *w, __global const float *ws, int k)
{
    float8 wv[NV];
#pragma unroll
    for (int q = 0; q < NV; q++)
        wv[q] = sg_load_w8(w, ws, k, q);
    sg_fma_row(acc, row, wv, k);
}

#if SG_WEIGHT == SG_CL_WEIGHT_Q8
/* q8, widening form: the inputs kb·32 .. k_end−1 of a block summed into part, four inputs per
 * two loads of the quad layout (columns 8q .. 8q+7: bytes 4j + r of the two char16s are input k+r
 * of column j), then the 1–3 inputs of a K that ends in a part quad as plain rows. */
inline void sg_q8_widen_block(float8 part[MR][NV], __global const float *row[MR],
                              __global const sg_welem *w, __global const float *ws, int kb,
                              int k_end)
{
    int k = kb * 32;
    for (; k + 3 < k_end; k += 4) {
        int8 c[NV];
#pragma unroll
        for (int q = 0; q < NV; q++)
            c[q] = (int8)(as_int4(vload16(0, w + (size_t)k * NR + q * 32)),
                          as_int4(vload16(1, w + (size_t)k * NR + q * 32)));
#pragma unroll
        for (int r = 0; r < 4; r++) {
            /* Input k+r of column j: byte r of int j, sign-extended by two shifts (on a
             * little-endian device; byte shuffles cost 1.5× the time on PoCL). */
            float8 wv[NV];
#pragma unroll
            for (int q = 0; q < NV; q++)
#if defined(__ENDIAN_LITTLE__)
                wv[q] = convert_float8((c[q] << (24 - 8 * r)) >> 24);
#else
                wv[q] = convert_float8((c[q] << (8 * r)) >> 24);
#endif
            sg_fma_row(part, row, wv, k + r);
        }
    }
    for (; k < k_end; k++)
        sg_fma_step(part, row, w, ws, k);
}
#endif

#if SG_Q8_INT
/* 32 bytes: a quad row of 8 columns (input k+r of column j at byte 4j + r), or a broadcast. */
typedef char sg_char32 __attribute__((ext_vector_type(32)));

/* acc + Σ over r < 4 of x[r]·(w[4j + r] + 128) for the 8 columns j, in int32; x a quad of rounded
 * inputs (7-bit: |x| ≤ 63, cl/q8_rows.h), wu the quad row's 32 bytes of weights offset to
 * unsigned (w + 128, w ^ 0x80: sg_q8_int_panel does it once per quad row for all MR rows); the
 * caller subtracts 128·Σx per block. Where the compiler targets AVX2 (PoCL passes the host CPU,
 * defining __AVX2__): unsigned weights times signed inputs summed in pairs to int16
 * (vpmaddubsw: 32 products per instruction, a pair at most 2·255·63 = 32130, so it never
 * saturates), pairs summed to int32 by a multiply with ones (vpmaddwd), added (vpaddd): 3
 * instructions per 32 multiply-adds (objdump of PoCL's haswell build; clang-15 -S for
 * skylake-avx512, AVX-512 without VNNI: the same ymm code). With SG_Q8_VNNI (the device's CPU
 * has AVX-512 VNNI or AVX-VNNI, and the tuning asks for it: gemm_q8_dot) the four products of
 * each lane go into acc in one vpdpbusd (EVEX- or VEX-encoded: objdump of PoCL's build,
 * tests/test_ops.c test_q8_vnni_code). Elsewhere the portable form, which computes the same but
 * which no GEMM the tuner offers uses (sg_tuning_fit: the integer form needs has_int8_dot, a
 * compile probe of the AVX2 builtins; LLVM builds the portable form into scalar code, and
 * llvmpipe took over 10 minutes to compile an 8×32 block of it). */
inline int8 sg_dot4(int8 acc, char4 x, sg_char32 wu)
{
#if defined(__AVX2__)
    const sg_char32 xb = __builtin_astype((int8)(as_int(x)), sg_char32);
#if SG_Q8_VNNI
    return __builtin_ia32_vpdpbusd256(acc, __builtin_astype(wu, int8), __builtin_astype(xb, int8));
#else
    const short16 p = __builtin_ia32_pmaddubsw256(wu, xb);
    return acc + __builtin_ia32_pmaddwd256(p, (short16)(1));
#endif
#else
    const uchar16 w0 = as_uchar16(wu.lo), w1 = as_uchar16(wu.hi);
    return acc + convert_int8((uchar8)(w0.s048c, w1.s048c)) * x.x +
           convert_int8((uchar8)(w0.s159d, w1.s159d)) * x.y +
           convert_int8((uchar8)(w0.s26ae, w1.s26ae)) * x.z +
           convert_int8((uchar8)(w0.s37bf, w1.s37bf)) * x.w;
#endif
}

/* Integer form: acc += the inputs kc .. kc+kn−1 of MR rows of q8 rows (cl/q8_rows.h: the rounded
 * values xq[i], 128 · their block sums xsum[i] and the scales xs[i] of row i) times the panel at
 * w (its scales at ws). */
inline void sg_q8_int_panel(float8 acc[MR][NV], __global const char *xq[MR],
                            __global const int *xsum[MR], __global const float *xs[MR],
                            __global const sg_welem *w, __global const float *ws, int2 chunk)
{
    const int kc = chunk.x, kn = chunk.y;
    float8 a[MR][NV];
#pragma unroll
    for (int i = 0; i < MR; i++)
#pragma unroll
        for (int q = 0; q < NV; q++)
            a[i][q] = acc[i][q];
    for (int kb = kc; kb < kc + kn; kb += 32) {
        /* Σ x·(w + 128) − 128·Σ x = Σ x·w: the offset's share starts the sums. */
        int8 ia[MR][NV];
#pragma unroll
        for (int i = 0; i < MR; i++)
#pragma unroll
            for (int q = 0; q < NV; q++)
                ia[i][q] = (int8)(-xsum[i][kb / 32]);
        const int ke = min(kb + 32, kc + kn);
        int k = kb;
        for (; k + 3 < ke; k += 4) {
            sg_char32 wu[NV];
#pragma unroll
            for (int q = 0; q < NV; q++) {
                const char16 w0 = vload16(0, w + (size_t)k * NR + q * 32);
                const char16 w1 = vload16(1, w + (size_t)k * NR + q * 32);
                wu[q] = __builtin_shufflevector(w0, w1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
                                                25, 26, 27, 28, 29, 30, 31) ^ (sg_char32)(-128);
            }
#pragma unroll
            for (int i = 0; i < MR; i++) {
                const char4 x = vload4(0, xq[i] + k);
#pragma unroll
                for (int q = 0; q < NV; q++)
                    ia[i][q] = sg_dot4(ia[i][q], x, wu[q]);
            }
        }
        for (; k < ke; k++) { /* the 1–3 inputs of a K that ends in a part quad: plain rows */
#pragma unroll
            for (int q = 0; q < NV; q++) {
                const int8 wv = convert_int8(vload8(0, w + (size_t)k * NR + q * 8)) + 128;
#pragma unroll
                for (int i = 0; i < MR; i++)
                    ia[i][q] += (int)xq[i][k] * wv;
            }
        }
        /* |Σ| ≤ 32·127·63 < 2²⁴: exact in f32. */
#pragma unroll
        for (int q = 0; q < NV; q++) {
            const float8 sc = sg_load_scale8(ws, kb / 32, q);
#pragma unroll
            for (int i = 0; i < MR; i++)
                a[i][q] = sg_fma(convert_float8(ia[i][q]), sc * xs[i][kb / 32], a[i][q]);
        }
    }
#pragma unroll
    for (int i = 0; i < MR; i++)
#pragma unroll
        for (int q = 0; q < NV; q++)
            acc[i][q] = a[i][q];
}
#endif

#if SG_WEIGHT == SG_CL_WEIGHT_Q8
/* x [M, K] (row stride ldx floats, from x_off) rounded into q8 rows at xq (row stride ldq bytes,
 * cl/q8_rows.h): the input of q8's integer form, where the op that produces x does not write q8
 * rows itself. Work: global size M, one row per work-item. */
__kernel void q8_quantize_rows(const int M, const int K, __global const float *x, const int x_off,
                               const int ldx, __global uchar *xq, const int ldq)
{
    const int r = get_global_id(0);
    const int k32 = (K + 31) / 32 * 32;
    if (r >= M)
        return;
    __global const float *src = x + x_off + (size_t)r * ldx;
    __global uchar *row = xq + (size_t)r * ldq;
    for (int b = 0; b * 32 < k32; b++) {
        float8 v[4];
        if (b * 32 + 32 <= K) {
#pragma unroll
            for (int u = 0; u < 4; u++)
                v[u] = vload8(u, src + b * 32);
        } else {
            float tmp[32];
            for (int u = 0; u < 32; u++)
                tmp[u] = b * 32 + u < K ? src[b * 32 + u] : 0.0f;
#pragma unroll
            for (int u = 0; u < 4; u++)
                v[u] = vload8(u, tmp);
        }
        sg_q8_store_block(v, row, k32, b);
    }
}
#endif

/* Where and how a block's results go (gemm_packed's arguments). */
typedef struct SgOut {
    __global const float *b;
    __global float *y;
    int has_bias, y_off, ldy, act, accumulate, M, N;
} SgOut;

/* The epilogue: rows m0 .. m0+MR−1 (those below M), columns n0 .. n0+NR−1 (those below N) of y
 * = act(acc + b), or y += acc (+ b). */
inline void sg_store_block(float8 acc[MR][NV], const SgOut o, int m0, int n0)
{
    /* acc goes to private memory first in a loop with nothing else in it, so that every
     * compiler unrolls it and acc stays in registers through the k loop. The epilogue below
     * indexes rows and vectors at run time; had it read acc itself, a compiler that keeps such
     * loops rolled would keep acc in memory throughout (rusticl's: 10× slower; docs/devices.md). */
    float vals[MR][NR];
#pragma unroll
    for (int i = 0; i < MR; i++)
#pragma unroll
        for (int q = 0; q < NV; q++)
            vstore8(acc[i][q], q, vals[i]);
    const int n_valid = min(NR, o.N - n0);
    for (int i = 0; i < MR && m0 + i < o.M; i++) {
        __global float *out = o.y + o.y_off + (size_t)(m0 + i) * o.ldy + n0;
        if (n_valid == NR) {
            /* Whole panel: the epilogue in vector form. */
            for (int q = 0; q < NV; q++) {
                float8 v = vload8(q, vals[i]);
                v += o.has_bias ? vload8(q, o.b + n0) : (float8)(0.0f);
                v = sg_activate_float8(o.accumulate ? v + vload8(q, out) : v, o.act);
                vstore8(v, q, out);
            }
            continue;
        }
        for (int j = 0; j < n_valid; j++) {
            float v = vals[i][j] + (o.has_bias ? o.b[n0 + j] : 0.0f);
            out[j] = sg_activate_float(o.accumulate ? out[j] + v : v, o.act);
        }
    }
}

/* Whether the integer form's epilogue can write q8 rows: only where a work-item's NP·NR columns
 * are whole blocks of 32 (the host checks the same, sg_linear_writes_q8). */
#if SG_Q8_INT && (SG_NP * NR) % 32 == 0
#define SG_Q8_ROWS_OUT 1
#else
#define SG_Q8_ROWS_OUT 0
#endif

#if SG_Q8_ROWS_OUT
/* The integer form's epilogue with accumulate = SG_CL_Y_Q8_ROWS: rows m0 .. m0+MR−1 (those below
 * M) of act(acc + b) over the work-item's columns n0 .. n0+NP·NR−1 rounded into q8 rows at y
 * (cl/q8_rows.h; y_off and ldy in bytes) instead of stored as f32: the next integer-form GEMM's
 * input, each value rounded once where it is produced (fc1's GELU output for fc2). n0 and NP·NR
 * are multiples of 32 (SG_Q8_ROWS_OUT), so every block of 32 columns lies in one work-item; columns past N are 0
 * up to the row's K32 (the weight panels are zero there, but b is not read past N). */
inline void sg_store_q8_rows(float8 acc[SG_NP][MR][NV], const SgOut o, int m0, int n0)
{
    const int k32 = (o.N + 31) / 32 * 32;
    for (int i = 0; i < MR && m0 + i < o.M; i++) {
        __global uchar *row = (__global uchar *)o.y + o.y_off + (size_t)(m0 + i) * o.ldy;
        for (int c = 0; c < SG_NP * NR && n0 + c < k32; c += 32) {
            float8 v[4];
            for (int u = 0; u < 4; u++) {
                const int col = c + 8 * u, n = n0 + col;
                const float8 a = acc[col / NR][i][(col % NR) / 8];
                if (n + 8 <= o.N) {
                    const float8 bias = o.has_bias ? vload8(0, o.b + n) : (float8)(0.0f);
                    v[u] = sg_activate_float8(a + bias, o.act);
                    continue;
                }
                float t[8];
                vstore8(a, 0, t);
                for (int j = 0; j < 8; j++) {
                    const float bias = o.has_bias && n + j < o.N ? o.b[n + j] : 0.0f;
                    t[j] = n + j < o.N ? sg_activate_float(t[j] + bias, o.act) : 0.0f;
                }
                v[u] = vload8(0, t);
            }
            sg_q8_store_block(v, row, k32, (n0 + c) / 32);
        }
    }
}
#endif

/* Work-items per work-group, along the row blocks: each still computes its own blocks alone
 * (no local memory, no barrier); a device that runs a group's work-items as the lanes of its
 * vectors (llvmpipe, GPUs) needs several to fill them. Work-items past the last row block
 * store nothing. */
#ifndef SG_GEMM_WG
#define SG_GEMM_WG 1
#endif
__kernel __attribute__((reqd_work_group_size(SG_GEMM_WG, 1, 1)))
void gemm_packed(const int M, const int N, const int K,
                 __global const float *x, const int x_off, const int ldx,
                 __global const sg_welem *wp,
                 __global const float *b, const int has_bias,
                 __global float *y, const int y_off, const int ldy,
                 const int act, const int accumulate, const int mc, const int k0, const int k1)
{
    /* accumulate: 0 y = ..., 1 y += ..., SG_CL_Y_Q8_ROWS (q8's integer form) y is q8 rows. */
    /* Dimension 1 counts groups of SG_NP panels (1 but for q8's integer form). */
    int row_block = get_global_id(0), panel = get_global_id(1);
    if (mc > 0) {
        const int RB = get_global_size(0), P = get_global_size(1);
        const int l = panel * RB + row_block;
        const int chunk = l / (mc * P), r = l - chunk * mc * P;
        const int rows_here = min(mc, RB - chunk * mc);
        panel = r / rows_here;
        row_block = chunk * mc + (r - panel * rows_here);
    }
    const SgOut o = {b, y, has_bias, y_off, ldy, act, accumulate, M, N};
#if SG_Q8_INT
    /* Integer form: x is q8 rows (cl/q8_rows.h; x_off and ldx in bytes), rounded by the op that
     * produced it or by q8_quantize_rows. A chunk of SG_Q8_KC inputs at a time, each of the
     * SG_NP panels' chunk of weights (SG_Q8_KC·NR bytes, in L1) run against every row block
     * (their chunks of x: MB·MR·SG_Q8_KC bytes, in L1 too) before the next panel;
     * accumulators wait in private memory between chunks. */
    const int group = panel;
    const int k32 = (K + 31) / 32 * 32;
    __global const char *xq[MB][MR];
    __global const int *xsum[MB][MR];
    __global const float *xs[MB][MR];
    float8 accs[MB][SG_NP][MR][NV];
    for (int mb = 0; mb < MB; mb++) {
        const int m0 = (row_block * MB + mb) * MR;
        for (int i = 0; i < MR; i++) {
            /* Rows past M re-read row M−1 (cheap, in cache) and are not stored. */
            __global const uchar *r =
                (__global const uchar *)x + x_off + (size_t)min(m0 + i, M - 1) * ldx;
            xq[mb][i] = SG_Q8_ROW_Q(r);
            xsum[mb][i] = SG_Q8_ROW_SUM(r, k32);
            xs[mb][i] = SG_Q8_ROW_S(r, k32);
        }
        for (int p = 0; p < SG_NP; p++)
            for (int i = 0; i < MR; i++)
                for (int q = 0; q < NV; q++)
                    accs[mb][p][i][q] = (float8)(0.0f);
    }
    for (int kc = k0; kc < k1; kc += SG_Q8_KC) {
        const int kn = min(SG_Q8_KC, k1 - kc);
        for (int p = 0; p < SG_NP && (group * SG_NP + p) * NR < N; p++) {
            const int pn = group * SG_NP + p;
            __global const sg_welem *w = wp + (size_t)pn * K * NR;
            __global const float *ws = sg_weight_scales(wp, N, K, pn);
            for (int mb = 0; mb < MB && (row_block * MB + mb) * MR < M; mb++)
                sg_q8_int_panel(accs[mb][p], xq[mb], xsum[mb], xs[mb], w, ws, (int2)(kc, kn));
        }
    }
    for (int mb = 0; mb < MB && (row_block * MB + mb) * MR < M; mb++) {
#if SG_Q8_ROWS_OUT
        if (accumulate == SG_CL_Y_Q8_ROWS) {
            sg_store_q8_rows(accs[mb], o, (row_block * MB + mb) * MR, group * SG_NP * NR);
            continue;
        }
#endif
        for (int p = 0; p < SG_NP && (group * SG_NP + p) * NR < N; p++)
            sg_store_block(accs[mb][p], o, (row_block * MB + mb) * MR, (group * SG_NP + p) * NR);
    }
#else
    const int n0 = panel * NR;
    /* MB blocks of rows one after another against the same panel, which stays in cache; fewer,
     * longer work-items also spend less of the time in the driver's scheduling. */
    for (int mb = 0; mb < MB; mb++) {
        const int m0 = (row_block * MB + mb) * MR;
        if (m0 >= M)
            break;

        float8 acc[MR][NV];
        __global const float *row[MR];
#pragma unroll
        for (int i = 0; i < MR; i++) {
#pragma unroll
            for (int q = 0; q < NV; q++)
                acc[i][q] = (float8)(0.0f);
            /* Rows past M re-read row M−1 (cheap, in cache) and are not stored. */
            row[i] = x + x_off + (size_t)min(m0 + i, M - 1) * ldx;
        }
        __global const sg_welem *w = wp + (size_t)panel * K * NR;
        __global const float *ws = sg_weight_scales(wp, N, K, panel);
#if SG_WEIGHT == SG_CL_WEIGHT_Q8
        /* q8: each block of 32 inputs summed with the raw int8 weights, then scaled once per
         * block (one multiply per 32 FMAs instead of one per weight). */
        for (int kb = k0 / 32; kb * 32 < k1; kb++) {
            float8 part[MR][NV];
#pragma unroll
            for (int i = 0; i < MR; i++)
#pragma unroll
                for (int q = 0; q < NV; q++)
                    part[i][q] = (float8)(0.0f);
            sg_q8_widen_block(part, row, w, ws, kb, min(kb * 32 + 32, k1));
#pragma unroll
            for (int q = 0; q < NV; q++) {
                const float8 sc = sg_load_scale8(ws, kb, q);
#pragma unroll
                for (int i = 0; i < MR; i++)
                    acc[i][q] = sg_fma(part[i][q], sc, acc[i][q]);
            }
        }
#else
        /* KU k steps per trip (unrolled by hand: K is not known at compile time), then the rest. */
        int k = k0;
        for (; k + KU <= k1; k += KU) {
#pragma unroll
            for (int u = 0; u < KU; u++)
                sg_fma_step(acc, row, w, ws, k + u);
        }
        for (; k < k1; k++)
            sg_fma_step(acc, row, w, ws, k);
#endif
        sg_store_block(acc, o, m0, n0);
    }
#endif
}

#if SG_Q8_VNNI && defined(__AVX2__)
#pragma clang attribute pop
#endif
