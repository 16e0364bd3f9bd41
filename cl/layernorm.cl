/* layernorm.cl — LayerNorm over rows: one work-group per row, two passes (mean, then variance of
 * the centred values) so that large means don't cost precision. */

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
