// family.c — the model families kevo runs, by config.json's model_type (family.h).
#include "model/family.h"

#include <string.h>

static const kevo_family *const families[] = {&kevo_family_llava, &kevo_family_llava_next,
                                              &kevo_family_qwen2vl, &kevo_family_qwen25vl};

const kevo_family *kevo_family_find(const char *model_type)
{
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i]->model_type, model_type) == 0)
            return families[i];
    return NULL;
}

const char *kevo_family_list(void)
{
    return "\"llava\" (LLaVA-1.5) and \"llava_next\" (LLaVA-NeXT) in the llava-hf layout, "
           "\"qwen2_vl\" (Qwen2-VL) and \"qwen2_5_vl\" (Qwen2.5-VL) in the Qwen layout";
}
