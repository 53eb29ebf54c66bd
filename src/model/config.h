// config.h — reading a model folder's JSON configuration into kevo_config / kevo_image_config.
#ifndef KEVO_MODEL_CONFIG_H
#define KEVO_MODEL_CONFIG_H

#include "kevo.h"
#include "model/config_read.h"

// kevo_config_load (config.json + generation_config.json of `dir`) is public: kevo.h.

// The LLaVA families' top-level keys of config.json (config_llava.c), after text_config and
// vision_config; their kevo_family.read_config.
kevo_status kevo_llava_read_config(kevo_cfg_reader *top, kevo_config *c);
kevo_status kevo_llava_next_read_config(kevo_cfg_reader *top, kevo_config *c);
// LlavaNextConfig's (and LlavaNextImageProcessor's) default image_grid_pinpoints, (height,
// width): the five grids of 336-pixel tiles of the published checkpoints.
extern const int kevo_llava_next_pinpoints[5][2];

// vision_config: CLIPVisionConfig defaults, or LLaVA's CLIP-L/336 when the section is absent;
// the LLaVA families' kevo_family.read_vision.
kevo_status kevo_clip_read_vision(kevo_cfg_reader *r, int absent, kevo_config *c);
// `kevo info`'s lines of the LLaVA families (their kevo_family.describe).
void kevo_llava_describe(const kevo_model *m, kevo_family_info *info);
// preprocessor_config.json of `dir`.
kevo_status kevo_image_config_load(const char *dir, kevo_image_config *ic, kevo_error *err);

// The same from parsed objects (a config.json or preprocessor_config.json another format was
// translated into, model/gguf_llava.c); path names the source in messages. The config's BOS and
// EOS stay as config.json gives them (generation_config.json is the caller's).
kevo_status kevo_config_parse(const cJSON *root, const char *path, kevo_config *c,
                              kevo_error *err);
kevo_status kevo_image_config_parse(const cJSON *root, const char *path, kevo_image_config *ic,
                                    kevo_error *err);

#endif
