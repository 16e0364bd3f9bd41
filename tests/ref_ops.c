/* ref_ops.c — straightforward double-accumulating references of the device ops (ref_ops.h). */
#include "ref_ops.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

double ref_activation(double x, int act)
{
    if (act == 1)
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    if (act == 2)
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    return x;
}

void ref_linear(const float *x, size_t ldx, const float *w, const float *b, float *y, size_t ldy,
                size_t M, size_t N, size_t K, int act, int accumulate)
{
    for (size_t m = 0; m < M; m++) {
        for (size_t n = 0; n < N; n++) {
            double s = b ? b[n] : 0.0;
            for (size_t k = 0; k < K; k++)
                s += (double)x[m * ldx + k] * w[n * K + k];
            float *out = &y[m * ldy + n];
            *out = accumulate ? (float)(*out + s) : (float)ref_activation(s, act);
        }
    }
}

void ref_quantize_rows(float *x, size_t ldx, size_t M, size_t K)
{
    for (size_t m = 0; m < M; m++)
        for (size_t k0 = 0; k0 < K; k0 += 32) {
            float *v = x + m * ldx + k0, amax = 0.0f;
            size_t n = K - k0 < 32 ? K - k0 : 32;
            for (size_t k = 0; k < n; k++)
                amax = fabsf(v[k]) > amax ? fabsf(v[k]) : amax;
            float inv = amax > 0.0f ? 63.0f / amax : 0.0f, scale = amax / 63.0f;
            for (size_t k = 0; k < n; k++) {
                float q = nearbyintf(v[k] * inv); /* the default rounding: to nearest even */
                v[k] = (q < -63.0f ? -63.0f : q > 63.0f ? 63.0f : q) * scale;
            }
        }
}

void ref_layernorm(const float *x, float *y, const float *gamma, const float *beta, size_t rows,
                   size_t cols, float eps)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double mean = 0, var = 0;
        for (size_t c = 0; c < cols; c++)
            mean += xr[c];
        mean /= (double)cols;
        for (size_t c = 0; c < cols; c++)
            var += (xr[c] - mean) * (xr[c] - mean);
        var /= (double)cols;
        double rstd = 1.0 / sqrt(var + eps);
        for (size_t c = 0; c < cols; c++)
            y[r * cols + c] = (float)((xr[c] - mean) * rstd * gamma[c] + beta[c]);
    }
}

/* One query row of one head: softmax over keys of q·k·scale + bias, then the weighted values. */
static void attend_row(const float *qr, const float *k, const float *v, size_t ldkv,
                       const int32_t *mask, double *scores, float *out, size_t Tk, size_t dh,
                       float scale)
{
    double max = -INFINITY;
    for (size_t j = 0; j < Tk; j++) {
        double s = 0;
        for (size_t c = 0; c < dh; c++)
            s += (double)qr[c] * k[j * ldkv + c];
        s *= scale;
        if (mask && !mask[j])
            s += -FLT_MAX; /* HF: torch.finfo(float32).min added to masked keys */
        scores[j] = s;
        if (s > max)
            max = s;
    }
    double sum = 0;
    for (size_t j = 0; j < Tk; j++) {
        scores[j] = exp(scores[j] - max);
        sum += scores[j];
    }
    for (size_t c = 0; c < dh; c++) {
        double acc = 0;
        for (size_t j = 0; j < Tk; j++)
            acc += scores[j] * v[j * ldkv + c];
        out[c] = (float)(acc / sum);
    }
}

void ref_attention(const float *q, size_t ldq, size_t q_batch_stride, const float *k,
                   const float *v, size_t ldkv, const int32_t *mask, float *out, size_t ldo,
                   size_t B, size_t Tq, size_t Tk, size_t H, size_t dh, float scale)
{
    double *scores = malloc(Tk * sizeof *scores);
    if (!scores)
        abort();
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < Tq; t++)
            for (size_t h = 0; h < H; h++)
                attend_row(q + b * q_batch_stride + t * ldq + h * dh,
                           k + b * Tk * ldkv + h * dh, v + b * Tk * ldkv + h * dh,
                           ldkv, mask ? mask + b * Tk : NULL, scores,
                           out + (b * Tq + t) * ldo + h * dh, Tk, dh, scale);
    free(scores);
}

void ref_embed_tokens(const int32_t *ids, const float *tok, const float *pos, float *out,
                      size_t B, size_t T, size_t D)
{
    for (size_t b = 0; b < B; b++)
        for (size_t t = 0; t < T; t++)
            for (size_t d = 0; d < D; d++)
                out[(b * T + t) * D + d] =
                    (float)((double)tok[(size_t)ids[b * T + t] * D + d] + pos[t * D + d]);
}

void ref_embed_tokens_at(const int32_t *ids, const int32_t *positions, const float *tok,
                         const float *pos, float *out, size_t R, size_t D)
{
    for (size_t r = 0; r < R; r++)
        for (size_t d = 0; d < D; d++)
            out[r * D + d] = (float)((double)tok[(size_t)ids[r] * D + d] +
                                     pos[(size_t)positions[r] * D + d]);
}

void ref_im2col(const float *pixels, float *patches, size_t B, size_t C, size_t H, size_t W,
                size_t p)
{
    size_t gh = H / p, gw = W / p, cols = C * p * p;
    for (size_t b = 0; b < B; b++)
        for (size_t py = 0; py < gh; py++)
            for (size_t px = 0; px < gw; px++) {
                float *row = patches + ((b * gh + py) * gw + px) * cols;
                for (size_t c = 0; c < C; c++)
                    for (size_t ky = 0; ky < p; ky++)
                        for (size_t kx = 0; kx < p; kx++)
                            *row++ = pixels[((b * C + c) * H + py * p + ky) * W + px * p + kx];
            }
}

void ref_add_broadcast(float *x, const float *v, size_t B, size_t N, size_t D)
{
    for (size_t b = 0; b < B; b++)
        for (size_t i = 0; i < N * D; i++)
            x[b * N * D + i] = (float)((double)x[b * N * D + i] + v[i]);
}

void ref_mean_tokens(const float *x, const int32_t *keep, float *out, size_t B, size_t N,
                     size_t D)
{
    for (size_t b = 0; b < B; b++)
        for (size_t d = 0; d < D; d++) {
            double s = 0;
            size_t kept = 0;
            for (size_t n = 0; n < N; n++) {
                if (keep && !keep[b * N + n])
                    continue;
                s += x[(b * N + n) * D + d];
                kept++;
            }
            out[b * D + d] = (float)(s / (double)kept);
        }
}

void ref_copy_rows(const float *src, size_t ld_src, float *dst, size_t ld_dst, size_t rows,
                   size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            dst[r * ld_dst + c] = src[r * ld_src + c];
}
