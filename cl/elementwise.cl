/* elementwise.cl — bias + activation after a GEMM, broadcast adds and strided row copies. */

#include "activation.h"

/* y[r, c] = act(y[r, c] + bias[c]) over y: [M, N] at y_off with row stride ldy.
 * Global size (N, M). */
__kernel void bias_act(__global float *y, uint y_off, uint ldy, __global const float *bias,
                       int has_bias, uint N, uint M, int act)
{
    const uint c = get_global_id(0), r = get_global_id(1);
    if (c >= N || r >= M)
        return;
    __global float *p = y + y_off + r * ldy + c;
    float v = *p;
    if (has_bias)
        v += bias[c];
    *p = sg_activate_float(v, act);
}

/* x[b, i] += v[i] for x: [B, n], v: [n]. Global size (n, B). */
__kernel void add_broadcast(__global float *x, __global const float *v, uint n, uint B)
{
    const uint i = get_global_id(0), b = get_global_id(1);
    if (i >= n || b >= B)
        return;
    x[b * n + i] += v[i];
}

/* dst[dst_off + r·ld_dst + c] = src[src_off + r·ld_src + c]. Global size (cols, rows). */
__kernel void copy_rows(__global const float *src, uint src_off, uint ld_src, __global float *dst,
                        uint dst_off, uint ld_dst, uint cols, uint rows)
{
    const uint c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    dst[dst_off + r * ld_dst + c] = src[src_off + r * ld_src + c];
}

/* out[b, c] = x[first_b + rows_b − 1, c]: the last row of each segment, seg [B, 3] = (first row,
 * rows, keys) as the attention kernels read it. x: [*, cols], out: [B, cols].
 * Global size (cols, B). */
__kernel void segment_last_rows(__global const float *x, __global const int *seg,
                                __global float *out, uint cols, uint B)
{
    const uint c = get_global_id(0), b = get_global_id(1);
    if (c >= cols || b >= B)
        return;
    const uint row = (uint)(seg[3 * b] + seg[3 * b + 1] - 1);
    out[b * cols + c] = x[row * cols + c];
}
