// template.c — the prompt strings of the LLaVA and Qwen2-VL checkpoints and their ids around the
// image slot.
//
// Strings: haotian-liu/LLaVA llava/conversation.py (conv_llava_v1: system, roles USER /
// ASSISTANT, sep " ", the query prefixed "<image>\n" because mm_use_im_start_end is false;
// conv_chatml_direct for LLaVA-NeXT-34B) and the llava-hf chat templates ("USER: " + "<image>\n"
// + text + " " then "ASSISTANT:"; Mistral's "[INST] " + "<image>\n" + text + " [/INST]").
// Ids: llava/mm_utils.py tokenizer_image_token for llava_v1; the processor's single call of the
// tokenizer (with add_special_tokens) for llava-hf.
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tokenizer.h"

#define SYSTEM_V1                                                                              \
    "A chat between a curious human and an artificial intelligence assistant. The assistant "   \
    "gives helpful, detailed, and polite answers to the human's questions."

#define LLAVA_IMAGE "<image>\n", "<image>"

// Every template is `before` + `image` + question + `after`; `slot` is the image's token in
// the text, which becomes KEVO_IMAGE_SLOT.
static const struct template_def {
    const char *name;
    const char *before, *image, *slot, *after;
    int chunked;   // tokenizer_image_token's chunks (the original LLaVA), else one call
} templates[] = {
    [KEVO_TEMPLATE_LLAVA_V1] = {"llava_v1", SYSTEM_V1 " USER: ", LLAVA_IMAGE, " ASSISTANT:", 1},
    [KEVO_TEMPLATE_LLAVA_HF] = {"llava-hf", "USER: ", LLAVA_IMAGE, " ASSISTANT:", 0},
    // llava-hf/llava-v1.6-mistral-7b-hf's chat template: "[INST] " + images + text + " [/INST]"
    [KEVO_TEMPLATE_MISTRAL] = {"mistral-instruct", "[INST] ", LLAVA_IMAGE, " [/INST]", 0},
    // LLaVA-NeXT-34B's conversation (llava/conversation.py conv_chatml_direct, the model card's
    // prompt): SeparatorStyle.MPT with the system message and <|im_end|> separators.
    [KEVO_TEMPLATE_CHATML] = {"chatml",
                              "<|im_start|>system\nAnswer the questions.<|im_end|>"
                              "<|im_start|>user\n",
                              LLAVA_IMAGE, "<|im_end|><|im_start|>assistant\n", 0},
    // Qwen2-VL's chat_template (chat_template.json of Qwen/Qwen2-VL-7B-Instruct, the same in
    // Qwen2.5-VL): the default system turn when the first message is not one, then the user
    // turn's image as <|vision_start|><|image_pad|><|vision_end|> and its text, then
    // add_generation_prompt's "<|im_start|>assistant\n".
    [KEVO_TEMPLATE_QWEN2VL] = {"qwen2-vl",
                               "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                               "<|im_start|>user\n",
                               "<|vision_start|><|image_pad|><|vision_end|>", "<|image_pad|>",
                               "<|im_end|>\n<|im_start|>assistant\n", 0},
};
#define N_TEMPLATES (int)(sizeof templates / sizeof templates[0])

kevo_status kevo_template_parse(const char *name, kevo_template *out, kevo_error *err)
{
    if (strcmp(name, "auto") == 0) {
        *out = KEVO_TEMPLATE_AUTO;
        return KEVO_OK;
    }
    for (int i = 0; i < N_TEMPLATES; i++)
        if (strcmp(name, templates[i].name) == 0) {
            *out = (kevo_template)i;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "unknown template '%s' (auto, llava_v1, llava-hf, "
                     "mistral-instruct, chatml or qwen2-vl)", name);
}

const char *kevo_template_name(kevo_template tpl)
{
    return tpl >= 0 && (int)tpl < N_TEMPLATES ? templates[tpl].name : "auto";
}

int kevo_template_from_chat(const char *chat_template, kevo_template *out)
{
    // Recognised by the markers each published chat template writes.
    if (strstr(chat_template, "<|vision_start|>"))
        *out = KEVO_TEMPLATE_QWEN2VL;
    else if (strstr(chat_template, "[INST]"))
        *out = KEVO_TEMPLATE_MISTRAL;
    else if (strstr(chat_template, "<|im_start|>"))
        *out = KEVO_TEMPLATE_CHATML;
    else if (strstr(chat_template, "USER") || strstr(chat_template, "upper()"))
        *out = KEVO_TEMPLATE_LLAVA_HF;
    else
        return 0;
    return 1;
}

// A heap string of the concatenation of parts (NULL-terminated list).
static char *concat(const char *const *parts)
{
    size_t n = 1;
    for (int i = 0; parts[i]; i++)
        n += strlen(parts[i]);
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; parts[i]; i++)
        strcat(s, parts[i]);
    return s;
}

// tokenizer_image_token: [BOS] + chunk0 + [SLOT] + chunk1, each chunk tokenised with its own
// BOS, which is dropped from every chunk when the first one starts with it.
static kevo_status image_token_ids(const kevo_tokenizer *t, const char *before, const char *after,
                                   int **ids, int *n_ids, int *image_pos, kevo_error *err)
{
    int *a = NULL, *b = NULL, na = 0, nb = 0;
    int bos = kevo_tokenizer_adds_bos(t);
    kevo_status st = kevo_tokenizer_encode(t, before, strlen(before), bos, &a, &na, err);
    if (!st)
        st = kevo_tokenizer_encode(t, after, strlen(after), bos, &b, &nb, err);
    int offset = na > 0 && a[0] == kevo_tokenizer_bos(t);
    int *out = st ? NULL : malloc((size_t)(na + nb + 1) * sizeof *out);
    if (!st && !out)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the prompt ids");
    if (!st) {
        int n = 0;
        for (int i = 0; i < na; i++)
            out[n++] = a[i];
        *image_pos = n;
        out[n++] = KEVO_IMAGE_SLOT;
        for (int i = nb > 0 ? offset : 0; i < nb; i++)
            out[n++] = b[i];
        *ids = out;
        *n_ids = n;
    }
    free(a);
    free(b);
    return st;
}

kevo_status kevo_template_prompt(const kevo_tokenizer *t, kevo_template tpl,
                                 const char *question, char **prompt_text, int **ids, int *n_ids,
                                 int *image_pos, kevo_error *err)
{
    *prompt_text = NULL;
    *ids = NULL;
    *n_ids = 0;
    *image_pos = -1;
    if (tpl < 0 || (int)tpl >= N_TEMPLATES)
        return kevo_fail(err, KEVO_ERR_ARG, "the template is not chosen yet (\"auto\" is "
                         "resolved from the model: kevo_model_template)");
    const struct template_def *d = &templates[tpl];
    if (strstr(question, d->slot))
        return kevo_fail(err, KEVO_ERR_ARG, "the question contains \"%s\"; the template "
                         "places the one image itself", d->slot);
    if (kevo_tokenizer_adds_eos(t))
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: add_eos_token is true; the templates "
                         "expect a tokenizer that adds no EOS", kevo_tokenizer_path(t));
    char *text = concat((const char *const[]){d->before, d->image, question, d->after, NULL});
    char *after = concat((const char *const[]){"\n", question, d->after, NULL});
    kevo_status st = KEVO_OK;
    if (!text || !after)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the prompt");
    else if (d->chunked)
        st = image_token_ids(t, d->before, after, ids, n_ids, image_pos, err);
    else
        st = kevo_tokenizer_encode_slot(t, text, strlen(text), kevo_tokenizer_adds_bos(t),
                                        d->slot, KEVO_IMAGE_SLOT, ids, n_ids, err);
    if (!st && !d->chunked)
        for (int i = 0; i < *n_ids; i++)
            if ((*ids)[i] == KEVO_IMAGE_SLOT)
                *image_pos = i;
    free(after);
    if (st) {
        free(text);
        return st;
    }
    *prompt_text = text;
    return KEVO_OK;
}
