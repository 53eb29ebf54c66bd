// weights.h — every tensor a config implies, bound to the checkpoint by name
// and shape.
//
// Dimension letters: Dv vision width, Fv vision MLP width, C channels, P patch size, N patches,
// D text width, F text MLP width, H heads, K key/value heads, E head dim, V vocabulary rows.
// Linear weights are PyTorch's [out, in], row-major. Matrices stay in the mapped files (F16 and
// BF16 are never converted whole); vectors (norm weights, biases, class and position embeddings)
// also get an F32 view, converted once at load when stored as F16/BF16 — they are small.
#ifndef KEVO_MODEL_WEIGHTS_H
#define KEVO_MODEL_WEIGHTS_H

#include "io/safetensors.h"
#include "kevo.h"

typedef struct kevo_weight {
    const kevo_tensor *t;   // the stored tensor; NULL when absent (e.g. no projector bias)
    const float *f32;       // vectors only: the data as F32 (the mapping itself when F32)
} kevo_weight;

typedef struct kevo_clip_layer_weights {
    kevo_weight ln1_w, ln1_b;         // (Dv)
    kevo_weight q_w, k_w, v_w;        // (Dv, Dv)
    kevo_weight q_b, k_b, v_b;        // (Dv)
    kevo_weight o_w, o_b;             // (Dv, Dv), (Dv)
    kevo_weight ln2_w, ln2_b;         // (Dv)
    kevo_weight fc1_w, fc1_b;         // (Fv, Dv), (Fv)
    kevo_weight fc2_w, fc2_b;         // (Dv, Fv), (Dv)
} kevo_clip_layer_weights;

typedef struct kevo_llama_layer_weights {
    kevo_weight attn_norm;            // (D)
    kevo_weight q;                    // (H*E, D)
    kevo_weight k, v;                 // (K*E, D)
    kevo_weight q_b, k_b, v_b;        // (H*E), (K*E): with attention_bias (Qwen2), else NULL
    kevo_weight o;                    // (D, H*E)
    kevo_weight ffn_norm;             // (D)
    kevo_weight gate, up;             // (F, D)
    kevo_weight down;                 // (D, F)
} kevo_llama_layer_weights;

// Qwen2-VL's Qwen2VLVisionBlock (modeling_qwen2_vl.py) and Qwen2.5-VL's Qwen2_5_VLVisionBlock
// (modeling_qwen2_5_vl.py): norm*_b are NULL under Qwen2.5-VL's RMSNorm; the MLP is fc1 / fc2
// (Qwen2-VL) or the biased gate / up / down (Qwen2.5-VL).
typedef struct kevo_qwen_vision_layer_weights {
    kevo_weight norm1_w, norm1_b;     // (Dv)
    kevo_weight qkv_w, qkv_b;         // (3 Dv, Dv), (3 Dv): q, k, v stacked
    kevo_weight proj_w, proj_b;       // (Dv, Dv), (Dv)
    kevo_weight norm2_w, norm2_b;     // (Dv)
    kevo_weight fc1_w, fc1_b;         // (Fv, Dv), (Fv)
    kevo_weight fc2_w, fc2_b;         // (Dv, Fv), (Dv)
    kevo_weight gate_w, gate_b;       // (Fv, Dv), (Fv)
    kevo_weight up_w, up_b;           // (Fv, Dv), (Fv)
    kevo_weight down_w, down_b;       // (Dv, Fv), (Dv)
} kevo_qwen_vision_layer_weights;

typedef struct kevo_weights {
    // Vision tower: only the layers below the feature layer are bound for computing.
    kevo_weight class_emb;            // (Dv)
    kevo_weight patch_w;              // (Dv, C, P, P)
    kevo_weight pos_emb;              // (N + 1, Dv)
    kevo_weight pre_ln_w, pre_ln_b;   // (Dv)
    kevo_clip_layer_weights *vision;  // (feature_layer) entries
    int n_vision;
    // Projector; the biases' .t is NULL without multimodal_projector_bias
    kevo_weight proj1_w, proj1_b;     // (D, Dv * feature layers), (D)
    kevo_weight proj2_w, proj2_b;     // (D, D), (D)
    kevo_weight image_newline;        // (D) LLaVA-NeXT only
    // Qwen2-VL / Qwen2.5-VL vision tower and PatchMerger (Dm = Dv * merge^2)
    kevo_weight qwen_patch_w;         // (Dv, C, T, P, P): Conv3d without bias
    kevo_qwen_vision_layer_weights *qwen_vision;   // (depth) entries
    int n_qwen_vision;
    kevo_weight merger_ln_w, merger_ln_b;   // (Dv); _b NULL under RMSNorm (Qwen2.5-VL)
    kevo_weight merger1_w, merger1_b;       // (Dm, Dm), (Dm)
    kevo_weight merger2_w, merger2_b;       // (D, Dm), (D)
    // Language model
    kevo_weight embed;                // (V, D)
    kevo_llama_layer_weights *text;   // (L) entries
    kevo_weight final_norm;           // (D)
    kevo_weight lm_head;              // (V, D); the same tensor as embed when tied
    // Accounting over every tensor in the checkpoint
    uint64_t n_params, vision_params, projector_params, text_params;
    uint64_t bytes_used;              // bytes of the tensors kevo reads
    int dtype_counts[KEVO_DTYPE_COUNT];
    float **copies;                   // owned F32 copies behind .f32 views of F16/BF16 vectors
    int n_copies;
    void **owned;                     // the families' layer arrays (kevo_bind_alloc)
    int n_owned;
} kevo_weights;

// Filling the slots of a family's tensors (its kevo_family.add_weights).
typedef struct kevo_binder kevo_binder;
#define KEVO_SHAPE_MAX 5
// A tensor the config implies, by name (printf format) and shape; dst NULL validates one that
// is present without binding it. Vectors get an F32 view.
void kevo_bind_add(kevo_binder *b, kevo_weight *dst, int required, int n_dims,
                   const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
// The last slot added also gets an F32 view (a table added to many rows).
void kevo_bind_want_f32(kevo_binder *b);
// An array of n zeroed entries of `size` bytes the weights own (freed with them); NULL after
// an allocation failure, which the binding then reports.
void *kevo_bind_alloc(kevo_binder *b, size_t n, size_t size);
#define KEVO_SHAPE(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                        (int64_t[]){__VA_ARGS__}

// Binds the checkpoint to the config. Every missing, unexpected, wrong-shaped or wrongly typed
// tensor is listed in one message. Free with kevo_weights_free().
kevo_status kevo_weights_bind(const kevo_config *cfg, const kevo_checkpoint *ckpt,
                              kevo_weights **out, kevo_error *err);
void kevo_weights_free(kevo_weights *w);

#endif
