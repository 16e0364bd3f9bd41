/* elementwise.cl — bias + activation after a GEMM, broadcast adds and strided row copies. */

/* Values of SgActivation (src/ocl/ops.h). */
#define SG_ACT_NONE 0
#define SG_ACT_GELU_TANH 1
#define SG_ACT_GELU_ERF 2

float activate(float x, int act)
{
    if (act == SG_ACT_GELU_TANH) {
        const float sqrt_2_over_pi = 0.7978845608028654f;
        return 0.5f * x * (1.0f + tanh(sqrt_2_over_pi * (x + 0.044715f * x * x * x)));
    }
    if (act == SG_ACT_GELU_ERF)
        return 0.5f * x * (1.0f + erf(x * 0.7071067811865476f));
    return x;
}

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
    *p = activate(v, act);
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
