/* attention.cl — multi-head scaled dot-product attention with a streaming (online) softmax: keys
 * and values pass through local memory in tiles, and scores never leave private memory, so the
 * [Tq, Tk] score matrix is never written. */

#include "fma.h"
#include "q8_rows.h"
#include "sum8.h"

/* Keys per tile held in local memory (the host picks it from the device's local memory size). */
#ifndef SG_ATTN_TILE_K
#define SG_ATTN_TILE_K 32
#endif
/* Largest head dimension: the length of each work-item's query and accumulator arrays. */
#ifndef SG_ATTN_MAX_DH
#define SG_ATTN_MAX_DH 128
#endif

/* The rows of batch item b: where its queries, keys and outputs start and how many of each.
 * Without segments every item has Tq queries (at b·q_bstride) and Tk keys; with them (packed
 * texts of different lengths) seg[3b .. 3b+2] = (first row, query rows, key rows), queries,
 * keys and outputs all counted from that first row. */
typedef struct Item {
    uint q_base, o_row0, kv_row0, Tq, Tk;
} Item;

Item item_rows(uint b, __global const int *seg, int has_seg, uint q_bstride, uint ldq, uint Tq,
               uint Tk)
{
    Item it = {b * q_bstride, b * Tq, b * Tk, Tq, Tk};
    if (has_seg) {
        const uint row0 = (uint)seg[3 * b];
        it = (Item){row0 * ldq, row0, row0, (uint)seg[3 * b + 1], (uint)seg[3 * b + 2]};
    }
    return it;
}

/* Loads keys [j0, j0 + n) of head h, batch row range kv_row0.. into the tiles ([n, dh] each) and
 * whether each may be attended to into key_ok. */
void load_tile(__global const float *k, uint k_off, __global const float *v, uint v_off,
               uint ldkv, uint kv_row0, uint j0, uint n, uint hd0, uint dh,
               __global const int *mask, int use_mask, __local float *k_tile,
               __local float *v_tile, __local int *key_ok)
{
    const uint lid = get_local_id(0), lsize = get_local_size(0);
    for (uint i = lid; i < n * dh; i += lsize) {
        const uint r = i / dh, c = i - r * dh;
        const uint at = (kv_row0 + j0 + r) * ldkv + hd0 + c;
        k_tile[i] = k[k_off + at];
        v_tile[i] = v[v_off + at];
    }
    for (uint r = lid; r < n; r += lsize)
        key_ok[r] = !use_mask || mask[kv_row0 + j0 + r] != 0;
}

/* One work-group per (block of queries, head h, batch item b); one work-item per query.
 *   q: query t of item b, head h at q[q_off + b·q_bstride + t·ldq + h·dh ..]
 *   k, v: key j at k[k_off + (b·Tk + j)·ldkv + h·dh ..] (v likewise with v_off)
 *   mask: [B, Tk], 0 = masked (read only when has_mask)
 *   out: out[o_off + (b·Tq + t)·ldo + h·dh ..]
 *   seg: [B, 3] (read only when has_seg): item b's rows as item_rows says; Tq, Tk are then the
 *   largest counts, and the mask is not used
 *   k_tile, v_tile: local [SG_ATTN_TILE_K, dh] each
 *   j_begin, j_end: the keys this launch takes; state: [B, H, Tq, 2] running (max, sum)
 * One launch takes all keys (j_begin = 0, j_end ≥ Tk) unless the device cuts long loops short
 * (a loop budget, src/ocl/probe.c): then launches over runs of keys carry the online softmax
 * from one to the next, the running max and sum in state and the unnormalized sum in out, and
 * the launch reaching Tk divides.
 * Global size (ceil(Tq / local) · local, H, B). */
__kernel void attention(__global const float *q, uint q_off, uint ldq, uint q_bstride,
                        __global const float *k, uint k_off, __global const float *v, uint v_off,
                        uint ldkv, __global const int *mask, int has_mask,
                        __global const int *seg, int has_seg, __global float *out, uint o_off,
                        uint ldo, uint Tq, uint Tk, uint dh, float scale, uint j_begin,
                        uint j_end, __global float *state, __local float *k_tile,
                        __local float *v_tile)
{
    __local int key_ok[SG_ATTN_TILE_K];
    __local int any_key;
    const uint lid = get_local_id(0), lsize = get_local_size(0);
    const uint t = get_group_id(0) * lsize + lid;
    const uint h = get_group_id(1), b = get_group_id(2);
    const Item it = item_rows(b, seg, has_seg, q_bstride, ldq, Tq, Tk);
    const uint hd0 = h * dh, kv_row0 = it.kv_row0;
    const int active = t < it.Tq;
    Tk = it.Tk;
    if (j_begin > 0 && j_begin >= Tk)
        return; /* this item (fewer keys than the longest) was finished by an earlier launch */
    const uint j_stop = min(j_end, Tk);

    float qr[SG_ATTN_MAX_DH], acc[SG_ATTN_MAX_DH];
    float m = -INFINITY, l = 0.0f; /* running max and sum of exp(score − m) */
    __global const float *qp = q + q_off + it.q_base + t * ldq + hd0;
    __global float *op = out + o_off + (it.o_row0 + t) * ldo + hd0;
    __global float *st = state + ((size_t)(b * get_num_groups(1) + h) * Tq + t) * 2;
    for (uint c = 0; c < dh; c++) {
        qr[c] = active ? qp[c] : 0.0f;
        acc[c] = active && j_begin > 0 ? op[c] : 0.0f;
    }
    if (active && j_begin > 0)
        m = st[0], l = st[1];

    if (lid == 0)
        any_key = !has_mask;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (has_mask)
        for (uint j = lid; j < Tk; j += lsize)
            if (mask[kv_row0 + j] != 0)
                any_key = 1;
    barrier(CLK_LOCAL_MEM_FENCE);
    /* With every key masked, HF adds the same huge negative bias to every score, which makes the
     * softmax uniform: attend to all keys with equal weight. */
    const int use_mask = has_mask && any_key;
    const int uniform = has_mask && !any_key;

    for (uint j0 = j_begin; j0 < j_stop; j0 += SG_ATTN_TILE_K) {
        const uint n = min((uint)SG_ATTN_TILE_K, j_stop - j0);
        barrier(CLK_LOCAL_MEM_FENCE); /* everyone is done with the previous tile */
        load_tile(k, k_off, v, v_off, ldkv, kv_row0, j0, n, hd0, dh, mask, use_mask, k_tile,
                  v_tile, key_ok);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (active) {
            float s[SG_ATTN_TILE_K];
            float tile_max = -INFINITY;
            for (uint r = 0; r < n; r++) {
                float dot = 0.0f;
                for (uint c = 0; c < dh; c++)
                    dot += qr[c] * k_tile[r * dh + c];
                s[r] = !key_ok[r] ? -INFINITY : uniform ? 0.0f : dot * scale;
                tile_max = fmax(tile_max, s[r]);
            }
            if (tile_max > -INFINITY) {
                const float m_new = fmax(m, tile_max);
                const float correction = exp(m - m_new);
                l *= correction;
                for (uint c = 0; c < dh; c++)
                    acc[c] *= correction;
                for (uint r = 0; r < n; r++) {
                    const float p = exp(s[r] - m_new);
                    l += p;
                    for (uint c = 0; c < dh; c++)
                        acc[c] += p * v_tile[r * dh + c];
                }
                m = m_new;
            }
        }
    }
    if (active && j_stop < Tk) { /* more keys follow in the next launch */
        for (uint c = 0; c < dh; c++)
            op[c] = acc[c];
        st[0] = m, st[1] = l;
    } else if (active) {
        for (uint c = 0; c < dh; c++)
            op[c] = acc[c] / l;
    }
}

/* ---- attention_rows: the same op for devices that run each work-item as a CPU thread ----
 * Two kernels. attention_pack_k writes each head's keys transposed, kt [B, H, dh, Tkp] with
 * Tkp = Tk rounded up to 16 (zeros past Tk), so that scores for 16 keys are two float8 FMAs per
 * query and head-dimension element, the access pattern of gemm_packed.cl. attention_rows then
 * runs one work-item per (block of SG_ATTN_QB queries, head, batch item), work-group size 1:
 * scores of its queries against all keys stay in private memory (SG_ATTN_QB × SG_ATTN_MAX_TK
 * floats of stack on a CPU), and P·V runs over 16-wide slices of the values. dh must be a
 * multiple of 8 and Tk ≤ SG_ATTN_MAX_TK (the host falls back to `attention` otherwise). Masked
 * keys get score −FLT_MAX, as HF's additive mask gives: a fully masked row becomes the uniform
 * average. */
#ifndef SG_ATTN_QB
#define SG_ATTN_QB 8
#endif
#ifndef SG_ATTN_MAX_TK
#define SG_ATTN_MAX_TK 1024
#endif

/* kt[((b·H + h)·dh + c)·Tkp + j] = k[k_off + (kv_row0 + j)·ldkv + h·dh + c], 0 for j ≥ the
 * item's key count (item_rows; seg read only when has_seg). Global size (Tkp, dh, B·H). */
__kernel void attention_pack_k(__global const float *k, uint k_off, uint ldkv, uint Tk, uint Tkp,
                               uint H, uint dh, __global const int *seg, int has_seg,
                               __global float *kt)
{
    const uint j = get_global_id(0), c = get_global_id(1), bh = get_global_id(2);
    const uint b = bh / H, h = bh - b * H;
    const Item it = item_rows(b, seg, has_seg, 0, 0, 0, Tk);
    kt[((size_t)bh * dh + c) * Tkp + j] =
        j < it.Tk ? k[k_off + (it.kv_row0 + j) * ldkv + h * dh + c] : 0.0f;
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void attention_rows(__global const float *q, uint q_off, uint ldq, uint q_bstride,
                    __global const float *kt, uint Tkp, __global const float *v, uint v_off,
                    uint ldkv, __global const int *mask, int has_mask, __global const int *seg,
                    int has_seg, __global float *out, uint o_off, uint ldo, uint Tq, uint Tk,
                    uint H, uint dh, float scale, int out_q8)
{
    const uint t0 = get_global_id(0) * SG_ATTN_QB;
    const uint h = get_global_id(1), b = get_global_id(2);
    const uint hd0 = h * dh;
    const Item it = item_rows(b, seg, has_seg, q_bstride, ldq, Tq, Tk);
    if (t0 >= it.Tq)
        return; /* a shorter segment than the longest */
    Tq = it.Tq;
    Tk = it.Tk;
    const uint nq = min((uint)SG_ATTN_QB, Tq - t0);

    __global const float *qrow[SG_ATTN_QB];
#pragma unroll
    for (uint i = 0; i < SG_ATTN_QB; i++)
        qrow[i] = q + q_off + it.q_base + min(t0 + i, Tq - 1) * ldq + hd0;
    __global const float *ktb = kt + (size_t)(b * H + h) * dh * Tkp;
    __global const float *vbase = v + v_off + it.kv_row0 * ldkv + hd0;
    __global const int *mrow = mask + b * Tk;

    /* Scores, scaled, into s: keys past Tk (up to Tkp) get −INFINITY so that the softmax passes
     * below run over whole float8s and give them probability 0; masked keys get −FLT_MAX. */
    float s[SG_ATTN_QB][SG_ATTN_MAX_TK];
    const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7);
    for (uint j0 = 0; j0 < Tk; j0 += 16) {
        float8 acc_lo[SG_ATTN_QB], acc_hi[SG_ATTN_QB];
#pragma unroll
        for (uint i = 0; i < SG_ATTN_QB; i++)
            acc_lo[i] = acc_hi[i] = (float8)(0.0f);
        for (uint c = 0; c < dh; c++) {
            const float8 k_lo = vload8(0, ktb + c * Tkp + j0), k_hi = vload8(1, ktb + c * Tkp + j0);
#pragma unroll
            for (uint i = 0; i < SG_ATTN_QB; i++) {
                const float8 qc = (float8)(qrow[i][c]);
                acc_lo[i] = sg_fma(qc, k_lo, acc_lo[i]);
                acc_hi[i] = sg_fma(qc, k_hi, acc_hi[i]);
            }
        }
        /* keep_*: −1 in the lanes of keys that exist and are not masked out. */
        const int8 in_lo = (int8)(j0) + lane < (int8)(Tk), in_hi = (int8)(j0 + 8) + lane < (int8)(Tk);
        int8 keep_lo = in_lo, keep_hi = in_hi;
        if (has_mask) {
            int m[16];
            for (uint r = 0; r < 16; r++)
                m[r] = j0 + r < Tk ? mrow[j0 + r] : 0;
            keep_lo = vload8(0, m) != (int8)(0);
            keep_hi = vload8(1, m) != (int8)(0);
        }
#pragma unroll
        for (uint i = 0; i < SG_ATTN_QB; i++) {
            float8 lo = select((float8)(-FLT_MAX), acc_lo[i] * scale, keep_lo);
            float8 hi = select((float8)(-FLT_MAX), acc_hi[i] * scale, keep_hi);
            vstore8(select((float8)(-INFINITY), lo, in_lo), 0, s[i] + j0);
            vstore8(select((float8)(-INFINITY), hi, in_hi), 1, s[i] + j0);
        }
    }
    /* Softmax over each query's scores as written above (Tk rounded up to 16: an item of packed
     * texts may have fewer keys than Tkp), 8 at a time: max, then exponentials and their sum. */
    const uint Tk16 = (Tk + 15u) & ~15u;
    float inv_sum[SG_ATTN_QB];
    for (uint i = 0; i < SG_ATTN_QB; i++) {
        float8 m8 = (float8)(-INFINITY);
        for (uint j = 0; j < Tk16; j += 8)
            m8 = fmax(m8, vload8(0, s[i] + j));
        const float4 m4 = fmax(m8.lo, m8.hi);
        const float smax = fmax(fmax(m4.x, m4.y), fmax(m4.z, m4.w));
        float8 sum8 = (float8)(0.0f);
        for (uint j = 0; j < Tk16; j += 8) {
            const float8 p = exp(vload8(0, s[i] + j) - smax);
            vstore8(p, 0, s[i] + j);
            sum8 += p;
        }
        inv_sum[i] = 1.0f / sg_sum8(sum8);
    }
    /* out = P·V over 16-wide slices of the head, then an 8-wide tail when dh % 16 == 8. With
     * out_q8 (dh a multiple of 32; the host checks) out is q8 rows (cl/q8_rows.h; ldo in bytes,
     * o_off not used) of the H·dh columns: the output projection's input for q8's integer GEMM
     * form, rounded here, where it is produced (ob: the block of 32 being filled). */
    float ob[SG_ATTN_QB][32];
    uint c0 = 0;
    for (; c0 + 16 <= dh; c0 += 16) {
        float8 acc_lo[SG_ATTN_QB], acc_hi[SG_ATTN_QB];
#pragma unroll
        for (uint i = 0; i < SG_ATTN_QB; i++)
            acc_lo[i] = acc_hi[i] = (float8)(0.0f);
        for (uint j = 0; j < Tk; j++) {
            __global const float *vrow = vbase + j * ldkv + c0;
            const float8 v_lo = vload8(0, vrow), v_hi = vload8(1, vrow);
#pragma unroll
            for (uint i = 0; i < SG_ATTN_QB; i++) {
                const float8 p = (float8)(s[i][j]);
                acc_lo[i] = sg_fma(p, v_lo, acc_lo[i]);
                acc_hi[i] = sg_fma(p, v_hi, acc_hi[i]);
            }
        }
        for (uint i = 0; i < nq; i++) {
            if (out_q8) { /* a block of 32 is rounded when its second 16-wide slice is done */
                vstore8(acc_lo[i] * inv_sum[i], 0, ob[i] + c0 % 32);
                vstore8(acc_hi[i] * inv_sum[i], 1, ob[i] + c0 % 32);
                if (c0 % 32 == 16) {
                    float8 blk[4] = {vload8(0, ob[i]), vload8(1, ob[i]), vload8(2, ob[i]),
                                     vload8(3, ob[i])};
                    sg_q8_store_block(blk, (__global uchar *)out + (it.o_row0 + t0 + i) * ldo,
                                      (int)(H * dh), (int)(hd0 + c0) / 32);
                }
                continue;
            }
            __global float *orow = out + o_off + (it.o_row0 + t0 + i) * ldo + hd0 + c0;
            vstore8(acc_lo[i] * inv_sum[i], 0, orow);
            vstore8(acc_hi[i] * inv_sum[i], 1, orow);
        }
    }
    if (c0 < dh) {
        float8 acc[SG_ATTN_QB];
#pragma unroll
        for (uint i = 0; i < SG_ATTN_QB; i++)
            acc[i] = (float8)(0.0f);
        for (uint j = 0; j < Tk; j++) {
            const float8 vv = vload8(0, vbase + j * ldkv + c0);
#pragma unroll
            for (uint i = 0; i < SG_ATTN_QB; i++)
                acc[i] = sg_fma((float8)(s[i][j]), vv, acc[i]);
        }
        for (uint i = 0; i < nq; i++)
            vstore8(acc[i] * inv_sum[i], 0, out + o_off + (it.o_row0 + t0 + i) * ldo + hd0 + c0);
    }
}
