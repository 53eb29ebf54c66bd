// ops.c — CLIP and LLaMA element-wise and row-wise operations (see ops.h).
// Semantics follow transformers: LayerNorm (torch.nn.functional.layer_norm), LlamaRMSNorm,
// LlamaRotaryEmbedding + apply_rotary_pos_emb (modeling_llama.py), QuickGELUActivation and
// GELUActivation (activations.py).
#include "kernels/ops.h"

#include <math.h>
#include <string.h>

#include "base/threads.h"
#include "kernels/parallel.h"

void kevo_layernorm(float *y, const float *x, int rows, int n, const float *w, const float *b,
                    float eps, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if ((size_t)rows * n >= KEVO_PARALLEL_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += xr[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= n;
        float rstd = (float)(1.0 / sqrt(var + eps));
        float m = (float)mean;
        for (int i = 0; i < n; i++)
            yr[i] = (xr[i] - m) * rstd * w[i] + b[i];
    }
}

void kevo_rmsnorm(float *y, const float *x, int rows, int n, const float *w, float eps,
                  int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if ((size_t)rows * n >= KEVO_PARALLEL_MIN_WORK)
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double ss = 0;
        for (int i = 0; i < n; i++)
            ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / n + eps));
        for (int i = 0; i < n; i++)
            yr[i] = w[i] * (xr[i] * rs);
    }
}

void kevo_softmax(float *x, int n)
{
    float max = x[0];
    for (int i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float s = (float)sum;
    for (int i = 0; i < n; i++)
        x[i] /= s;
}

void kevo_gelu_erf(float *x, size_t n, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if (n >= KEVO_PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] * 0.70710678118654752440)));
}

void kevo_quick_gelu(float *x, size_t n, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if (n >= KEVO_PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] * (1.0f / (1.0f + expf(-1.702f * x[i])));
}

void kevo_swiglu(float *gate, const float *up, size_t n, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if (n >= KEVO_PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void kevo_add(float *x, const float *y, size_t n, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(kevo_threads_resolve(n_threads)) \
    if (n >= KEVO_PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++)
        x[i] += y[i];
}

void kevo_rope_tables(float *cos, float *sin, int n_pos, int dim, float theta)
{
    int half = dim / 2;
    for (int i = 0; i < half; i++) {
        // Each step in F32, as torch: arange(0, dim, 2).float() / dim, theta ** that, 1 / that.
        float exponent = (float)(2 * i) / (float)dim;
        float inv_freq = 1.0f / powf(theta, exponent);
        for (int p = 0; p < n_pos; p++) {
            float angle = (float)p * inv_freq;
            cos[(size_t)p * half + i] = cosf(angle);
            sin[(size_t)p * half + i] = sinf(angle);
        }
    }
}

void kevo_mrope_row(float *cos, float *sin, int dim, float theta, const int pos[3],
                    const int section[3])
{
    int half = dim / 2;
    for (int i = 0, stream = 0, end = section[0]; i < half; i++) {
        while (i >= end && stream < 2)
            end += section[++stream];
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)dim);
        float angle = (float)pos[stream] * inv_freq;
        cos[i] = cosf(angle);
        sin[i] = sinf(angle);
    }
}

void kevo_deinterleave_heads(float *x, int heads, int dim)
{
    float tmp[KEVO_DEINTERLEAVE_MAX];
    int half = dim / 2;
    for (int h = 0; h < heads; h++) {
        float *v = x + (size_t)h * dim;
        for (int i = 0; i < half; i++) {
            tmp[i] = v[2 * i];
            tmp[half + i] = v[2 * i + 1];
        }
        memcpy(v, tmp, (size_t)dim * sizeof *v);
    }
}

void kevo_rope_apply(float *x, int heads, int dim, const float *cos, const float *sin, int pos)
{
    int half = dim / 2;
    const float *c = cos + (size_t)pos * half, *s = sin + (size_t)pos * half;
    for (int h = 0; h < heads; h++) {
        float *v = x + (size_t)h * dim;
        for (int i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = b * c[i] + a * s[i];
        }
    }
}
