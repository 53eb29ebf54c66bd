// gguf_model.c — the parts of a kevo_model from a GGUF model (io/gguf_model.c finds its two
// files, or takes them named apart): the config and image config from their metadata
// (gguf_config.c), the tokenizer from tokenizer.ggml.*, the family's template, and the tensors
// as a checkpoint (gguf_llava.c). The weights are bound by the same code as a hub folder's
// (model.c).
//
// GGUF does not record transformers' `legacy` flag of the Llama tokenizer, which decides
// whether text after a special token (the prompt's <image>) starts a new word. kevo tokenizes
// as legacy = true: what transformers' fast tokenizer does with llava-hf's tokenizer.json (kevo's
// hub path, which reads tokenizer.json first), and what llama.cpp does.
#include <stdio.h>

#include "base/error.h"
#include "model/gguf.h"
#include "model/model.h"
#include "tokenizer/gguf.h"

// Both files of src opened into *t and *v (NULL on failure), their paths into text and mmproj.
static kevo_status open_pair(const kevo_model_source *src, char *text, char *mmproj,
                             kevo_gguf **t, kevo_gguf **v, kevo_error *err)
{
    *t = *v = NULL;
    kevo_status st = kevo_gguf_model_files(src, text, mmproj, err);
    if (st == KEVO_OK)
        st = kevo_gguf_open(text, t, err);
    if (st == KEVO_OK)
        st = kevo_gguf_open(mmproj, v, err);
    return st;
}

kevo_status kevo_gguf_model_config(const kevo_model_source *src, kevo_config *c,
                                   kevo_error *err)
{
    char text[KEVO_PATH_MAX], mmproj[KEVO_PATH_MAX];
    kevo_gguf *t, *v;
    kevo_image_config ic;
    kevo_status st = open_pair(src, text, mmproj, &t, &v, err);
    if (st == KEVO_OK)
        st = kevo_gguf_llava_config(t, v, c, &ic, err);
    kevo_gguf_free(t);
    kevo_gguf_free(v);
    return st;
}

kevo_status kevo_gguf_model_parts(kevo_model *m, const kevo_model_source *src, kevo_error *err)
{
    char text[KEVO_PATH_MAX], mmproj[KEVO_PATH_MAX];
    kevo_gguf *t, *v;
    kevo_status st = open_pair(src, text, mmproj, &t, &v, err);
    if (st == KEVO_OK)
        st = kevo_gguf_llava_config(t, v, &m->config, &m->image, err);
    if (st == KEVO_OK)
        m->family = kevo_family_find(m->config.model_type);
    if (st == KEVO_OK)
        st = kevo_tokenizer_from_gguf(t, text, 1, &m->tokenizer, err);
    if (st != KEVO_OK) {
        kevo_gguf_free(t);
        kevo_gguf_free(v);
        return st;
    }
    m->template_kind = m->family->default_template;
    return kevo_gguf_llava_checkpoint(t, text, v, mmproj, &m->ckpt, err);   // takes t and v
}
