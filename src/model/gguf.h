// gguf.h — models from llama.cpp's GGUF files: their metadata read as the hub's JSON files and
// their tensors under the names the families bind (gguf_config.c, gguf_llava.c).
#ifndef KEVO_MODEL_GGUF_H
#define KEVO_MODEL_GGUF_H

#include "io/gguf.h"
#include "io/safetensors.h"
#include "kevo.h"

// LLaVA-1.5's config and image config from the text model's and the mmproj file's metadata.
kevo_status kevo_gguf_llava_config(const kevo_gguf *text, const kevo_gguf *mmproj,
                                   kevo_config *c, kevo_image_config *ic, kevo_error *err);

// A checkpoint over both files' tensors under llava-hf's names; it takes both files over
// (freed with it, or at once on failure).
kevo_status kevo_gguf_llava_checkpoint(kevo_gguf *text, const char *text_path, kevo_gguf *mmproj,
                                       const char *mmproj_path, kevo_checkpoint **out,
                                       kevo_error *err);

// The parts of m a GGUF model gives (its two files: io/gguf.h): config, family, image config,
// tokenizer, template, checkpoint; the caller binds the weights.
typedef struct kevo_model kevo_model;
kevo_status kevo_gguf_model_parts(kevo_model *m, const kevo_model_source *src, kevo_error *err);
// The config alone, from both files' metadata (kevo_config_load_source).
kevo_status kevo_gguf_model_config(const kevo_model_source *src, kevo_config *c,
                                   kevo_error *err);

#endif
