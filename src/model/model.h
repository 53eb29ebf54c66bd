// model.h — the loaded model's parts, shared by the modules that compute with it.
//
// A kevo_model is immutable after kevo_model_load(): the engine reads it from many runs (and
// threads) at once; everything mutable lives in a run.
#ifndef KEVO_MODEL_MODEL_H
#define KEVO_MODEL_MODEL_H

#include "io/safetensors.h"
#include "kevo.h"
#include "tokenizer/tokenizer.h"
#include "model/family.h"
#include "model/weights.h"

struct kevo_model {
    char *dir;                    // the source's path
    char *mmproj;                 // its vision file named apart, or NULL
    const kevo_family *family;    // config.model_type's
    kevo_template template_kind;  // the prompt template its files imply (kevo_model_template)
    kevo_config config;
    kevo_image_config image;
    kevo_tokenizer *tokenizer;
    kevo_checkpoint *ckpt;     // owns the mapped files the weights point into
    kevo_weights *weights;
};

#endif
