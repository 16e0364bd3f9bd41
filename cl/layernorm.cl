/* layernorm.cl — LayerNorm over rows: one work-group per row, two passes (mean, then variance of
 * the centred values) so that large means don't cost precision; and on CPU devices, LayerNorm
 * straight into q8 rows for q8's integer GEMM form (layernorm_q8). */

#include "fma.h"
#include "q8_rows.h"
#include "sum8.h"

/* Most work-items per row; the host launches a power of two no larger. */
#ifndef SG_LN_WG
#define SG_LN_WG 256
#endif

/* The sum of v over the work-group (its size a power of two), returned to every work-item. */
float group_sum(__local float *scratch, float v)
{
    const uint lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = get_local_size(0) / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */
    return total;
}

/* One row by one work-item, 8 columns at a time (a CPU device vectorizes nothing across a
 * work-group of one, and a scalar loop's float sums are not reordered for it): the row's mean
 * and 1 / sqrt(var + eps), then its values. */
inline float2 layernorm_row_stats(__global const float *xr, uint cols, float eps)
{
    const uint c8 = cols / 8 * 8;
    float8 acc = (float8)(0.0f);
    float tail = 0.0f;
    for (uint c = 0; c < c8; c += 8)
        acc += vload8(0, xr + c);
    for (uint c = c8; c < cols; c++)
        tail += xr[c];
    const float mean = (sg_sum8(acc) + tail) / (float)cols;
    acc = (float8)(0.0f);
    tail = 0.0f;
    for (uint c = 0; c < c8; c += 8) {
        const float8 d = vload8(0, xr + c) - mean;
        acc = sg_fma(d, d, acc);
    }
    for (uint c = c8; c < cols; c++) {
        const float d = xr[c] - mean;
        tail += d * d;
    }
    const float rstd = 1.0f / sqrt((sg_sum8(acc) + tail) / (float)cols + eps);
    return (float2)(mean, rstd);
}

void layernorm_row(__global const float *xr, __global float *yr, __global const float *gamma,
                   __global const float *beta, uint cols, float eps)
{
    const uint c8 = cols / 8 * 8;
    const float2 stats = layernorm_row_stats(xr, cols, eps);
    const float mean = stats.x, rstd = stats.y;
    for (uint c = 0; c < c8; c += 8)
        vstore8((vload8(0, xr + c) - mean) * rstd * vload8(0, gamma + c) + vload8(0, beta + c), 0,
                yr + c);
    for (uint c = c8; c < cols; c++)
        yr[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
}

/* y[r] = (x[r] − mean) / sqrt(var + eps) · gamma + beta, biased variance. x, y: [rows, cols],
 * possibly the same buffer (each element is read and written by the same work-item).
 * Global size (rows · local, 1) with local size (≤ SG_LN_WG, power of two). */
__kernel void layernorm(__global const float *x, __global float *y, __global const float *gamma,
                        __global const float *beta, uint cols, float eps)
{
    __local float scratch[SG_LN_WG];
    const uint row = get_group_id(0), lid = get_local_id(0), lsize = get_local_size(0);
    __global const float *xr = x + row * cols;
    __global float *yr = y + row * cols;
    if (lsize == 1) { /* a CPU device: one work-item per row */
        layernorm_row(xr, yr, gamma, beta, cols, eps);
        return;
    }

    float part = 0.0f;
    for (uint c = lid; c < cols; c += lsize)
        part += xr[c];
    const float mean = group_sum(scratch, part) / (float)cols;

    part = 0.0f;
    for (uint c = lid; c < cols; c += lsize) {
        const float d = xr[c] - mean;
        part += d * d;
    }
    const float rstd = 1.0f / sqrt(group_sum(scratch, part) / (float)cols + eps);

    for (uint c = lid; c < cols; c += lsize)
        yr[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
}

/* LayerNorm of x [rows, cols] as layernorm computes it on a CPU device (layernorm_row), rounded
 * straight into q8 rows at yq (row stride ldq bytes, cl/q8_rows.h), block of 32 columns by block:
 * the input of q8's integer GEMM form written by the op that produces it, not by a pass of its
 * own. Global size rows, one row per work-item. */
__kernel void layernorm_q8(__global const float *x, __global uchar *yq, uint ldq,
                           __global const float *gamma, __global const float *beta, uint cols,
                           float eps)
{
    const uint row = get_global_id(0), k32 = (cols + 31) / 32 * 32;
    __global const float *xr = x + (size_t)row * cols;
    __global uchar *yr = yq + (size_t)row * ldq;
    const float2 stats = layernorm_row_stats(xr, cols, eps);
    const float mean = stats.x, rstd = stats.y;
    for (uint c0 = 0; c0 < k32; c0 += 32) {
        float8 v[4];
        if (c0 + 32 <= cols) {
#pragma unroll
            for (uint u = 0; u < 4; u++) {
                const uint c = c0 + 8 * u;
                v[u] = (vload8(0, xr + c) - mean) * rstd * vload8(0, gamma + c) +
                       vload8(0, beta + c);
            }
        } else {
            float t[32];
            for (uint u = 0; u < 32; u++) {
                const uint c = c0 + u;
                t[u] = c < cols ? (xr[c] - mean) * rstd * gamma[c] + beta[c] : 0.0f;
            }
#pragma unroll
            for (uint u = 0; u < 4; u++)
                v[u] = vload8(u, t);
        }
        sg_q8_store_block(v, yr, (int)k32, (int)(c0 / 32));
    }
}
