// weights.h — every tensor a LLaVA config implies, bound to the checkpoint by name and shape.
//
// Dimension letters: Dv vision width, Fv vision MLP width, C channels, P patch size, N patches,
// D text width, F text MLP width, H heads, K key/value heads, E head dim, V vocabulary rows.
// Linear weights are PyTorch's [out, in], row-major. Views point into the mapped files: F16 and
// BF16 weights are never converted whole.
#ifndef KEVO_MODEL_WEIGHTS_H
#define KEVO_MODEL_WEIGHTS_H

#include "io/safetensors.h"
#include "kevo.h"

typedef struct kevo_clip_layer_weights {
    const kevo_tensor *ln1_w, *ln1_b;       // (Dv)
    const kevo_tensor *q_w, *k_w, *v_w;     // (Dv, Dv)
    const kevo_tensor *q_b, *k_b, *v_b;     // (Dv)
    const kevo_tensor *o_w, *o_b;           // (Dv, Dv), (Dv)
    const kevo_tensor *ln2_w, *ln2_b;       // (Dv)
    const kevo_tensor *fc1_w, *fc1_b;       // (Fv, Dv), (Fv)
    const kevo_tensor *fc2_w, *fc2_b;       // (Dv, Fv), (Dv)
} kevo_clip_layer_weights;

typedef struct kevo_llama_layer_weights {
    const kevo_tensor *attn_norm;           // (D)
    const kevo_tensor *q;                   // (H*E, D)
    const kevo_tensor *k, *v;               // (K*E, D)
    const kevo_tensor *o;                   // (D, H*E)
    const kevo_tensor *ffn_norm;            // (D)
    const kevo_tensor *gate, *up;           // (F, D)
    const kevo_tensor *down;                // (D, F)
} kevo_llama_layer_weights;

typedef struct kevo_weights {
    // Vision tower: only the layers below the feature layer are bound for computing.
    const kevo_tensor *class_emb;           // (Dv)
    const kevo_tensor *patch_w;             // (Dv, C, P, P)
    const kevo_tensor *pos_emb;             // (N + 1, Dv)
    const kevo_tensor *pre_ln_w, *pre_ln_b; // (Dv)
    kevo_clip_layer_weights *vision;        // (feature_layer) entries
    int n_vision;
    // Projector
    const kevo_tensor *proj1_w, *proj1_b;   // (D, Dv), (D); biases NULL without projector_bias
    const kevo_tensor *proj2_w, *proj2_b;   // (D, D), (D)
    // Language model
    const kevo_tensor *embed;               // (V, D)
    kevo_llama_layer_weights *text;         // (L) entries
    const kevo_tensor *final_norm;          // (D)
    const kevo_tensor *lm_head;             // (V, D); == embed when tied
    // Accounting over every tensor in the checkpoint
    uint64_t n_params, vision_params, projector_params, text_params;
    uint64_t bytes_used;                    // bytes of the tensors kevo reads
    int dtype_counts[KEVO_DTYPE_COUNT];
} kevo_weights;

// Binds the checkpoint to the config. Every missing, unexpected, wrong-shaped or wrongly typed
// tensor is listed in one message. Free with kevo_weights_free().
kevo_status kevo_weights_bind(const kevo_config *cfg, const kevo_checkpoint *ckpt,
                              kevo_weights **out, kevo_error *err);
void kevo_weights_free(kevo_weights *w);

// The canonical (llava-hf hub) name of a stored tensor name, written into buf. Newer
// transformers re-save "model.language_model.*", "model.vision_tower.*",
// "model.multi_modal_projector.*" and "lm_head.*"; the hub files use the legacy names.
const char *kevo_weights_canonical_name(const char *name, char *buf, size_t size);

#endif
