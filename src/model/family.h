// family.h — the seam between the engine and a model family.
//
// A family is chosen from config.json's model_type and supplies everything that differs between
// architectures: its config keys, its image processor, its vision path (pixels to the embeddings
// of the image positions), the place of every image position in the user's picture, and its
// default prompt template. Everything else — the decoder's loop, the recorder, the run folder,
// every analysis and figure — reads only kevo_config and the run's image positions, and stays
// family-blind. Each family is one file (llava15.c's LLaVA-1.5, llava_next.c's LLaVA-NeXT,
// qwen2vl.c's Qwen2-VL and Qwen2.5-VL) that defines its kevo_family; family.c lists them.
#ifndef KEVO_MODEL_FAMILY_H
#define KEVO_MODEL_FAMILY_H

#include "image/image.h"
#include "io/runfolder.h"
#include "kevo.h"
#include "model/config_read.h"
#include "model/weights.h"

// A stored name's prefix under newer transformers, and the hub layout's it maps back to.
typedef struct kevo_rename {
    const char *from, *to;
} kevo_rename;

// Where a family's tensors live in its hub layout (weights.c binds them).
typedef struct kevo_weight_layout {
    const kevo_rename *renames;   // applied first: newer transformers' names -> the hub's
    int n_renames;
    const char *text_prefix;      // of embed_tokens, layers.N, norm: "language_model.model."
    const char *lm_head;          // the untied head's name
    const char *vision_prefix;    // counted as vision parameters (`kevo info`) ...
    const char *projector_prefixes[2];   // ... unless these match first: the projector's
    // The vision tower's and the projector's slots (and their layer arrays, kevo_bind_alloc).
    void (*add_vision)(kevo_binder *b, const kevo_config *c, kevo_weights *w);
} kevo_weight_layout;

extern const kevo_weight_layout kevo_llava_weight_layout, kevo_qwen_weight_layout;

typedef struct kevo_family {
    const char *model_type;       // config.json's model_type
    const char *name;             // for people: "LLaVA-1.5"
    const char *image_processor;  // transformers' class it follows
    const char *vision_path;      // one phrase: how pixels become image positions
    const char *image_token;      // the image's added token in the text: "<image>"
    const char *image_token_key;  // config.json's key of its id: "image_token_index"
    kevo_template default_template;
    const kevo_weight_layout *weights;
    // Set when the family's published config.json keeps the decoder's keys at its top level
    // (no text_config): the text config class they are read as ("qwen2_vl_text").
    const char *text_at_top;
    // vision_config (absent: the section is missing), with the tower's class defaults.
    kevo_status (*read_vision)(kevo_cfg_reader *vision, int absent, kevo_config *c);
    // The family's top-level keys of config.json, after text_config and vision_config are read.
    kevo_status (*read_config)(kevo_cfg_reader *top, kevo_config *c);
    // Reconciles the image processor's config with the model's: fills what the processor class
    // defaults to where preprocessor_config.json is silent, and checks that the two agree
    // (NULL: nothing beyond CLIPImageProcessor's). `c` may be adjusted (image_tokens).
    kevo_status (*image_config)(const char *dir, kevo_config *c, kevo_image_config *ic,
                                kevo_error *err);
    // The tiles and image positions of a width x height image.
    kevo_status (*image_tokens)(const kevo_model *m, int width, int height, int *n_tiles,
                                int *n_tokens, kevo_error *err);
    // The image processor: pixel_values of img (malloc'ed, n_tiles tiles; the caller frees).
    kevo_status (*preprocess)(const kevo_model *m, const kevo_image *img, kevo_image_mode mode,
                              float **pixels, int *n_tiles, kevo_error *err);
    // The vision path: the run's image embeddings (act.vision.emb, N rows) from the image.
    kevo_status (*encode)(kevo_run *r, const kevo_image_input *image, kevo_error *err);
    // Every image position's origin (n_tokens entries, malloc'ed; the caller frees).
    kevo_status (*positions)(const kevo_model *m, kevo_image_mode mode, int width, int height,
                             kevo_image_position **out, int *n, kevo_error *err);
    // M-RoPE families (config n_mrope 3): each image position's temporal, row and column ids
    // relative to the image's first position id, as get_rope_index places them, into ids
    // (n rows of 3); NULL for 1-D positions.
    kevo_status (*rope_ids)(const kevo_model *m, int width, int height, int (*ids)[3], int n,
                            kevo_error *err);
    // `kevo info`'s lines for the tower, the image and the projector, into info.
    void (*describe)(const kevo_model *m, kevo_family_info *info);
} kevo_family;

extern const kevo_family kevo_family_llava, kevo_family_llava_next, kevo_family_qwen2vl,
    kevo_family_qwen25vl;

// The family of a model_type, NULL when kevo has none.
const kevo_family *kevo_family_find(const char *model_type);
// The supported model types, for messages.
const char *kevo_family_list(void);

#endif
