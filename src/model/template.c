// template.c — the prompt strings of LLaVA-1.5 and their ids around the image slot.
//
// Strings: haotian-liu/LLaVA llava/conversation.py (conv_llava_v1: system, roles USER /
// ASSISTANT, sep " ", the query prefixed "<image>\n" because mm_use_im_start_end is false) and
// the llava-hf chat template ("USER: " + "<image>\n" + text + " " then "ASSISTANT:").
// Ids: llava/mm_utils.py tokenizer_image_token for llava_v1; the processor's single call of the
// tokenizer (with add_special_tokens) for llava-hf.
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/tokenizer.h"

static const char system_v1[] =
    "A chat between a curious human and an artificial intelligence assistant. The assistant "
    "gives helpful, detailed, and polite answers to the human's questions.";

kevo_status kevo_template_parse(const char *name, kevo_template *out, kevo_error *err)
{
    if (strcmp(name, "llava_v1") == 0)
        *out = KEVO_TEMPLATE_LLAVA_V1;
    else if (strcmp(name, "llava-hf") == 0)
        *out = KEVO_TEMPLATE_LLAVA_HF;
    else
        return kevo_fail(err, KEVO_ERR_ARG, "unknown template '%s' (llava_v1 or llava-hf)", name);
    return KEVO_OK;
}

const char *kevo_template_name(kevo_template tpl)
{
    return tpl == KEVO_TEMPLATE_LLAVA_HF ? "llava-hf" : "llava_v1";
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
    if (strstr(question, "<image>"))
        return kevo_fail(err, KEVO_ERR_ARG, "the question contains \"<image>\"; the template "
                         "places the one image itself");
    if (kevo_tokenizer_adds_eos(t))
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: add_eos_token is true; the LLaVA templates "
                         "expect a tokenizer that adds no EOS", kevo_tokenizer_path(t));
    const char *user = tpl == KEVO_TEMPLATE_LLAVA_V1 ? " USER: " : "USER: ";
    const char *sys = tpl == KEVO_TEMPLATE_LLAVA_V1 ? system_v1 : "";
    char *text = concat((const char *const[]){sys, user, "<image>\n", question, " ASSISTANT:",
                                              NULL});
    char *before = concat((const char *const[]){sys, user, NULL});
    char *after = concat((const char *const[]){"\n", question, " ASSISTANT:", NULL});
    kevo_status st = KEVO_OK;
    if (!text || !before || !after)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the prompt");
    else if (tpl == KEVO_TEMPLATE_LLAVA_V1)
        st = image_token_ids(t, before, after, ids, n_ids, image_pos, err);
    else
        st = kevo_tokenizer_encode_slot(t, text, strlen(text), kevo_tokenizer_adds_bos(t),
                                        "<image>", KEVO_IMAGE_SLOT, ids, n_ids, err);
    if (!st && tpl == KEVO_TEMPLATE_LLAVA_HF)
        for (int i = 0; i < *n_ids; i++)
            if ((*ids)[i] == KEVO_IMAGE_SLOT)
                *image_pos = i;
    free(before);
    free(after);
    if (st) {
        free(text);
        return st;
    }
    *prompt_text = text;
    return KEVO_OK;
}
