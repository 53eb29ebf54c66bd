// run.h — the mutable state of a generation, shared by the modules that compute it
// (clip.c, projector.c, llama.c) and owned by run.c.
#ifndef KEVO_MODEL_RUN_H
#define KEVO_MODEL_RUN_H

#include "kernels/linear.h"
#include "kevo.h"
#include "model/model.h"
#include "model/plan.h"

struct kevo_run {
    const kevo_model *model;      // borrowed
    kevo_run_params params;
    int n_threads;                // params.n_threads resolved: the team of every parallel loop
    kevo_plan plan;               // layout of `arena` for the current prompt length
    unsigned char *arena;         // one allocation: every buffer of the plan
    size_t arena_size;
    kevo_activations act;         // the plan's buffers, pointers into the arena
    kevo_linear_ctx lin;          // scratch, precision and threads of the matrix products
    int n_generated;
    int *generated;               // (max_new_tokens)
    int *image_states;            // (params.n_image_states) the image recorder's indices, owned
    int *image_slot;              // (L+1) index -> its place in image_states, -1 when not kept
    int image_at;                 // the image's first position in the prompt
    int n_tiles;                  // the image's tiles (plan.n_tiles)
    int n_image_tokens;           // its positions in the prompt (plan.n_image_tokens)
    int n_patches;                // the patches through a Qwen2-VL tower (plan.n_patches)
    int rope_delta;               // M-RoPE: a generated token's position minus its index
    kevo_stop stop;
    kevo_timings timings;
};

// Fails with KEVO_ERR_INTERRUPTED when the caller asked to stop.
kevo_status kevo_run_check_interrupt(const kevo_run *r, kevo_error *err);

// The recorder: copies `row` (D floats) as hidden state `index` of step `step`, in the indexing
// of transformers' generate(output_hidden_states): 0 the input embeddings, 1..L-1 the raw outputs
// of layers 0..L-2, L the final-normed output of layer L-1. Does nothing with no_record.
void kevo_run_record_state(kevo_run *r, int step, int index, const float *row);

// The image recorder, at prefill: copies the image rows of `rows` (the prompt's T rows of D)
// as hidden state `index` of every image position, when that index is kept (for index L the
// caller passes the final-normed rows, which it computes only when kevo_run_image_keeps).
void kevo_run_record_image(kevo_run *r, int index, const float *rows);
int kevo_run_image_keeps(const kevo_run *r, int index);

// rope.c: act.text.cos / sin for every index of the context (plan.n_ctx), from the prompt's
// ids and its image (1-D RoPE or M-RoPE, by the config); sets rope_delta.
kevo_status kevo_run_rope_tables(kevo_run *r, const kevo_image_input *image, const int *ids,
                                 kevo_error *err);
// clip.c: one tile's pixels (channels, image_size, image_size) through the tower; its selected
// features (the feature layers' states, class token dropped unless kept) into `features`
// (P rows of Dv * feature layers).
kevo_status kevo_clip_encode(kevo_run *r, const float *pixels, float *features, kevo_error *err);
// qwen2vl_vision.c: the image's n_patches pixel rows (a grid of h x w patches in the
// processor's merge-window order) through the native-resolution tower into act.vision.features
// (S, Dv) and its PatchMerger into act.vision.emb (N, D), both in the processor's order.
kevo_status kevo_qwen_vision_encode(kevo_run *r, const float *pixels, int h, int w,
                                    kevo_error *err);
// projector.c: the first n rows of act.vision.features -> out (n, D); fails on NaN / Inf.
kevo_status kevo_projector_forward(kevo_run *r, int n, float *out, kevo_error *err);

// llama.c, the decoder over n rows of act.text.x at positions [pos0, pos0 + n) for recorder step
// `step` (which also names the step in error messages). The last row predicts the next token.
// One embedding row, widened to F32.
void kevo_llama_embed(const kevo_run *r, int id, float *dst);
// Every layer in turn, the key/value cache filled at the n positions; records the last row's
// state entering each layer (indices 0..L-1).
kevo_status kevo_llama_layers(kevo_run *r, int n, int pos0, int step, kevo_error *err);
// The final RMSNorm of the last row, into the last row of act.text.xn; records it (index L).
kevo_status kevo_llama_final_norm(kevo_run *r, int n, int step, kevo_error *err);
// The LM head over every vocabulary row on that normed row: act.text.logits.
kevo_status kevo_llama_head(kevo_run *r, int n, int step, kevo_error *err);

#endif
