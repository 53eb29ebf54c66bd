// ops.h — the element-wise and row-wise operations of CLIP and LLaMA, in F32, with reductions in
// double where PyTorch's F32 reduction would otherwise be the less exact of the two.
// Row operations take (rows, n) row-major arrays and run rows in parallel; each row is computed
// by one thread in a fixed order, so results do not depend on the thread count. n_threads: the
// team of the parallel loops (0: kevo_threads_resolve(0), base/threads.h).
#ifndef KEVO_KERNELS_OPS_H
#define KEVO_KERNELS_OPS_H

#include <stddef.h>

// y = (x - mean) / sqrt(var + eps) * w + b per row (torch.nn.LayerNorm, biased variance).
void kevo_layernorm(float *y, const float *x, int rows, int n, const float *w, const float *b,
                    float eps, int n_threads);

// y = w * (x * rsqrt(mean(x^2) + eps)) per row (LlamaRMSNorm in F32).
void kevo_rmsnorm(float *y, const float *x, int rows, int n, const float *w, float eps,
                  int n_threads);

// In-place softmax over n values (max subtracted first, as torch.softmax).
void kevo_softmax(float *x, int n);

// In place over n values: 0.5 x (1 + erf(x / sqrt 2)), nn.GELU(); x * sigmoid(1.702 x), CLIP's
// activation.
void kevo_gelu_erf(float *x, size_t n, int n_threads);
void kevo_quick_gelu(float *x, size_t n, int n_threads);
// gate = silu(gate) * up, LLaMA's SwiGLU (silu(x) = x * sigmoid(x)).
void kevo_swiglu(float *gate, const float *up, size_t n, int n_threads);

// x += y over n values.
void kevo_add(float *x, const float *y, size_t n, int n_threads);

// Rotary embedding tables for positions [0, n_pos): cos/sin of p * inv_freq[i], i < dim/2,
// computed in F32 exactly as transformers' LlamaRotaryEmbedding (inv_freq = 1 / theta^(2i/dim)).
// cos, sin: (n_pos, dim/2).
void kevo_rope_tables(float *cos, float *sin, int n_pos, int dim, float theta);

// One row of M-RoPE tables (modeling_qwen2_vl.py Qwen2VLRotaryEmbedding and
// apply_multimodal_rotary_pos_emb): pair i < dim/2 turns by pos[s] * inv_freq[i], where s is
// the stream (temporal, row, column) whose section of `section` holds i; the same F32 steps as
// kevo_rope_tables. cos, sin: dim/2 values.
void kevo_mrope_row(float *cos, float *sin, int dim, float theta, const int pos[3],
                    const int section[3]);

// Puts `heads` vectors of `dim` values (dim even, at most KEVO_DEINTERLEAVE_MAX) from the
// interleaved order of llama.cpp's converter (LlamaModel.permute: element 2i + j of a head is
// transformers' element j * dim/2 + i) back into transformers' order, in place.
#define KEVO_DEINTERLEAVE_MAX 1024
void kevo_deinterleave_heads(float *x, int heads, int dim);

// Rotates `heads` vectors of `dim` values (stride `dim` apart) at position `pos` in place, the
// rotate_half way: pairs (i, i + dim/2).
void kevo_rope_apply(float *x, int heads, int dim, const float *cos, const float *sin, int pos);

#endif
