// template.h — the LLaVA-1.5 prompt templates and their token ids with the image slot marked.
//
// llava_v1  the original LLaVA (haotian-liu/LLaVA llava/conversation.py conv_llava_v1,
//           SeparatorStyle.TWO): system prompt + " USER: <image>\n" + question + " ASSISTANT:",
//           tokenised by llava/mm_utils.py tokenizer_image_token: each chunk around <image>
//           with BOS, the first chunk's BOS kept, the others' dropped, the chunks joined by
//           KEVO_IMAGE_SLOT (LLaVA's IMAGE_TOKEN_INDEX).
// llava-hf  the chat template of llava-hf/llava-1.5-*-hf: "USER: <image>\n" + question +
//           " ASSISTANT:" (no system prompt), tokenised whole with BOS and <image> as an added
//           token (id 32000), which the processor repeats once per image feature; kevo keeps a
//           single KEVO_IMAGE_SLOT in its place and the engine expands it.
#ifndef KEVO_MODEL_TEMPLATE_H
#define KEVO_MODEL_TEMPLATE_H

#include "kevo.h"
#include "tokenizer/tokenizer.h"



typedef enum kevo_template { KEVO_TEMPLATE_LLAVA_V1, KEVO_TEMPLATE_LLAVA_HF } kevo_template;

// "llava_v1" | "llava-hf"; anything else is KEVO_ERR_ARG.
kevo_status kevo_template_parse(const char *name, kevo_template *out, kevo_error *err);
const char *kevo_template_name(kevo_template tpl);

// The full prompt text (caller frees) and its ids (caller frees) with exactly one
// KEVO_IMAGE_SLOT, BOS included as the reference does; *image_pos = index of the slot. A
// question that itself contains "<image>" is refused (KEVO_ERR_ARG).
kevo_status kevo_template_prompt(const kevo_tokenizer *t, kevo_template tpl,
                                 const char *question, char **prompt_text, int **ids, int *n_ids,
                                 int *image_pos, kevo_error *err);

#endif
