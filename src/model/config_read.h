// config_read.h — typed reads of one section of a JSON configuration, with transformers' class
// defaults and messages that name the file and the dotted key; shared by the readers of the
// common sections (config.c) and each family's own keys (config_llava.c, ...).
#ifndef KEVO_MODEL_CONFIG_READ_H
#define KEVO_MODEL_CONFIG_READ_H

#include "io/json.h"
#include "kevo.h"

#define KEVO_CFG_DIM_MAX (1 << 20) // any single dimension beyond this is not a real model

typedef struct kevo_cfg_reader {
    const cJSON *obj;
    char where[KEVO_ERROR_MAX]; // "path:" or "path: section", the prefix of messages
    kevo_error *err;
    char key[KEVO_ERROR_MAX]; // scratch for the dotted key of a message
} kevo_cfg_reader;

// "path: section.key" for messages about `key` in r's section.
const char *kevo_cfg_key(kevo_cfg_reader *r, const char *key);

// An integer key in [lo, hi]; `def` applies when has_default and the key is absent.
kevo_status kevo_cfg_int(kevo_cfg_reader *r, const char *key, int has_default, long long def,
                         long long lo, long long hi, int *out);

// Whether v stays finite as a 32-bit float. Tested on the double: converting a double beyond
// FLT_MAX to float is undefined (C11 6.3.1.5), and GCC folds isfinite((float)v) to isfinite(v).
int kevo_cfg_fits_float(double v);

kevo_status kevo_cfg_pos_float(kevo_cfg_reader *r, const char *key, double def, float *out);

// A boolean feature kevo does not implement must be false.
kevo_status kevo_cfg_false(kevo_cfg_reader *r, const char *key, const char *what);

kevo_status kevo_cfg_str_is(kevo_cfg_reader *r, const char *key, const char *def, const char *want1,
                            const char *want2);

// A vision MLP's hidden_act (default "quick_gelu"), CLIP's and Qwen2-VL's: quick_gelu, or
// "gelu" (*gelu_exact 1).
kevo_status kevo_cfg_vision_act(kevo_cfg_reader *r, int *gelu_exact);

void kevo_cfg_sub(kevo_cfg_reader *sub, const kevo_cfg_reader *parent, const cJSON *obj,
                  const char *key);

// image_grid_pinpoints-like lists: at most KEVO_PINPOINTS_MAX [height, width] pairs, each value
// a positive multiple of `tile` (named tile_name in messages: kevo cuts whole tiles, although
// transformers accepts any size); absent or null gives *n 0.
kevo_status kevo_cfg_pinpoints(kevo_cfg_reader *r, const char *key, int tile,
                               const char *tile_name, int (*out)[2], int *n);

#endif
