/* reduce.cl — reductions over tokens (mean pooling for the image-classification head). */

/* out[b, d] = mean of x[b, n, d] over the tokens n kept by keep[b, n] != 0 (all N tokens when
 * has_keep is 0: keep is then never read), compensated (Kahan) so long sequences stay accurate.
 * The masked mean is Siglip2ForImageClassification's pooling over an image's own patches, the
 * padding rows left out. x: [B, N, D], keep: [B, N], out: [B, D]. Global size (D, B). */
__kernel void mean_tokens(__global const float *x, __global const int *keep, uint has_keep,
                          __global float *out, uint N, uint D, uint B)
{
    const uint d = get_global_id(0), b = get_global_id(1);
    if (d >= D || b >= B)
        return;
    __global const float *p = x + b * N * D + d;
    __global const int *k = keep + b * N;
    float sum = 0.0f, lost = 0.0f;
    uint kept = 0;
    for (uint n = 0; n < N; n++) {
        if (has_keep && k[n] == 0)
            continue;
        const float y = p[n * D] - lost;
        const float t = sum + y;
        lost = (t - sum) - y;
        sum = t;
        kept++;
    }
    out[b * D + d] = sum / (float)kept;
}
