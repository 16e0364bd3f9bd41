/* reduce.cl — reductions over tokens (mean pooling for the image-classification head). */

/* out[b, d] = mean over n of x[b, n, d], compensated (Kahan) so long sequences stay accurate.
 * x: [B, N, D], out: [B, D]. Global size (D, B). */
__kernel void mean_tokens(__global const float *x, __global float *out, uint N, uint D, uint B)
{
    const uint d = get_global_id(0), b = get_global_id(1);
    if (d >= D || b >= B)
        return;
    __global const float *p = x + b * N * D + d;
    float sum = 0.0f, lost = 0.0f;
    for (uint n = 0; n < N; n++) {
        const float y = p[n * D] - lost;
        const float t = sum + y;
        lost = (t - sum) - y;
        sum = t;
    }
    out[b * D + d] = sum / (float)N;
}
