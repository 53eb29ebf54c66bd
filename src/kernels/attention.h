// attention.h — scaled dot-product attention over keys/values laid out with arbitrary strides.
//
// Query row i of head h (out of H) attends to key rows 0 .. n_keys-1 of key/value head h / (H/K)
// (grouped-query attention when K < H; repeat_kv in transformers) — all of them, or with
// `causal`, rows 0 .. first_pos + i (query i sits at position first_pos + i), and with a
// `window` W > 0 only the last W of those (Mistral's sliding window). Scores are scaled,
// soft-maxed in F32 and used to average the value rows. The same routine serves CLIP's
// bidirectional attention (keys in an (S, H*E) matrix) and LLaMA's causal attention over its
// cache (keys in (K, ctx, E) blocks).
#ifndef KEVO_KERNELS_ATTENTION_H
#define KEVO_KERNELS_ATTENTION_H

#include <stddef.h>

typedef struct kevo_attention_shape {
    int n_heads, n_kv_heads, head_dim;
    int n_queries;          // query rows
    int n_keys;             // key rows visible to the last query
    int first_pos;          // position of query row 0 (causal only)
    int causal;
    int window;             // causal only: keys at most window - 1 positions back; 0 = all
    float scale;            // multiplies q.k (1/sqrt(E))
    size_t q_row_stride;    // floats between query rows (heads are head_dim apart within a row)
    size_t out_row_stride;
    size_t kv_head_stride;  // floats between key (value) heads
    size_t kv_row_stride;   // floats between key (value) rows of one head
} kevo_attention_shape;

// out: (n_queries, n_heads * head_dim) rows at out_row_stride, on n_threads threads (0:
// kevo_threads_resolve(0), base/threads.h). scores: scratch of
// kevo_attention_scratch(n_queries, n_keys, n_threads) floats.
void kevo_attention(float *out, const float *q, const float *k, const float *v,
                    const kevo_attention_shape *s, float *scores, int n_threads);

// Scratch floats kevo_attention needs for this shape class: one score row per thread for few
// queries, one (n_queries, n_keys) block for many.
size_t kevo_attention_scratch(int n_queries, int n_keys, int n_threads);

#endif
