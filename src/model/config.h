// config.h — reading a model folder's JSON configuration into kevo_config / kevo_image_config.
#ifndef KEVO_MODEL_CONFIG_H
#define KEVO_MODEL_CONFIG_H

#include "kevo.h"

// kevo_config_load (config.json + generation_config.json of `dir`) is public: kevo.h.

// preprocessor_config.json of `dir`.
kevo_status kevo_image_config_load(const char *dir, kevo_image_config *ic, kevo_error *err);

#endif
