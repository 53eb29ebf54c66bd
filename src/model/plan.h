// plan.h — every buffer a run uses: the activations (a struct of typed pointers with their shapes,
// as llama2.c's RunState), sized and placed once from the config and the run's limits.
//
// The engine carves all activations, the key/value cache and the recorder out of one allocation
// laid out by this plan (nothing is allocated per token), and `kevo info` prints the same
// figures, so the estimate and the real footprint cannot drift apart.
//
// Letters: S vision sequence of one tile (patches + class token), Dv/Fv vision width/MLP, R tiles,
// P features per tile (S - 1, or S with the class token kept), Df = Dv * feature layers,
// N image positions,
// T prompt positions, C context (T + new tokens), D/F text width/MLP, H/K heads/key-value heads,
// E head dim, V vocabulary rows, L decoder layers.
#ifndef KEVO_MODEL_PLAN_H
#define KEVO_MODEL_PLAN_H

#include <stddef.h>

#include "kevo.h"

// The vision tower's and the projector's buffers: the tower runs one tile at a time. For
// Qwen2-VL, S is the image's patches (pixel_values are already patch rows: no `patches`),
// `mlp` holds the stacked q, k, v (S, 3 Dv) and the MLP's halves, `features` the tower's output
// (S, Dv), `proj` the merger's hidden layer (N, Dv * merge^2).
typedef struct kevo_vision_acts {
    float *patches;    // (S-1, C*P*P) the image cut into patches
    float *x;          // (S, Dv) residual stream
    float *xn;         // (S, Dv) normed stream, then each sublayer's output
    float *q, *k, *v;  // (S, Dv) queries, keys, values
    float *att;        // (S, Dv) attention output, before out_proj
    float *mlp;        // (S, Fv) fc1's output, activated
    float *scores;     // attention scratch: kevo_attention_scratch(S, S, threads)
    float *features;   // (R * P, Df) every tile's selected features
    float *proj;       // (R * P, D) the projector's hidden layer
    float *tile_emb;   // (R * P, D) the projector's output when the family packs it (R > 1)
    float *emb;        // (N, D) image embeddings handed to the language model
    float *rot_cos, *rot_sin;   // Qwen2-VL: (S, Ev/2) the patches' 2-D rotary tables
    int *window_order;          // Qwen2.5-VL: (N) merged positions in window order
    int *window_bounds;         // (N + 1) the windows' first rows, then S (cu_window_seqlens)
} kevo_vision_acts;

// The language model's buffers.
typedef struct kevo_text_acts {
    float *x;          // (T, D) residual stream
    float *xn;         // (T, D) normed stream, then each sublayer's output
    float *q;          // (T, H*E) queries
    float *att;        // (T, H*E) attention output, before o_proj
    float *k, *v;      // (T, K*E) the new positions' keys and values, before the cache
    float *gate, *up;  // (T, F) the MLP's two halves
    float *scores;     // attention scratch, for T queries or for one
    float *logits;     // (V) the last position's
    float *cos, *sin;  // (C, E/2) rotary tables
    float *kv;         // (L, 2, K, C, E) key/value cache: per layer the keys, then the values
} kevo_text_acts;

typedef struct kevo_activations {
    kevo_vision_acts vision;
    kevo_text_acts text;
    void *scratch;     // packed operands of the matrix products: kevo_linear_scratch bytes
    float *record;     // (new tokens, L+1, D) the recorder
    float *image_record;   // (N, K, D) the image recorder: K kept indices per image position
} kevo_activations;

// What a plan is sized for.
typedef struct kevo_plan_limits {
    int n_prompt;          // T, the image's positions included
    int max_new;
    int n_tiles;           // R
    int n_image_tokens;    // N
    int n_patches;         // S of a Qwen2-VL image (N * merge^2); 0 for CLIP towers
    int n_image_states;    // K
    int n_threads;         // 0: kevo_threads_resolve(0), base/threads.h
} kevo_plan_limits;

typedef struct kevo_plan {
    int n_prompt;      // T
    int max_new;
    int n_ctx;         // C
    int n_threads;     // the scratch's threads
    int n_tiles;           // R
    int n_image_tokens;    // N
    int n_patches;         // S of a Qwen2-VL image
    int n_image_states;    // K
    size_t total;      // bytes of the arena: every buffer at a 64-byte boundary
    // Summaries for `kevo info`
    size_t vision_bytes, text_bytes, kv_bytes, scratch_bytes, record_bytes, image_record_bytes;
} kevo_plan;

// Fills p for the limits.
void kevo_plan_compute(const kevo_config *c, const kevo_plan_limits *limits, kevo_plan *p);

// Points every buffer of `a` into `arena` (p->total bytes, 64-byte aligned) where p places it.
void kevo_plan_carve(const kevo_config *c, const kevo_plan *p, void *arena, kevo_activations *a);

#endif
