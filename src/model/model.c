// model.c — loading a llava-hf model folder: configuration (and with it the family),
// tokenizer, checkpoint, weight binding.
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "model/config.h"

// The tokenizer must fit the embedding rows, and its <image> must be the config's image token.
static kevo_status check_tokenizer(const kevo_model *m, kevo_error *err)
{
    const kevo_config *c = &m->config;
    int n = kevo_tokenizer_n_tokens(m->tokenizer);
    if (n > c->text_vocab) {
        const char *last = kevo_tokenizer_piece(m->tokenizer, n - 1);
        return kevo_fail(err, KEVO_ERR_MODEL, "%s: tokenizer and model vocabularies that "
                         "disagree: %s has %d tokens but embed_tokens has %d rows (config.json "
                         "vocab_size); the last token, id %d, is '%s'", m->dir,
                         kevo_path_base(kevo_tokenizer_path(m->tokenizer)), n, c->text_vocab,
                         n - 1, last ? last : "?");
    }
    int image = kevo_tokenizer_added_id(m->tokenizer, "<image>");
    if (image >= 0 && image != c->image_token_id)
        return kevo_fail(err, KEVO_ERR_MODEL, "%s: the tokenizer's <image> is token %d but "
                         "config.json's image_token_index is %d", m->dir, image,
                         c->image_token_id);
    return KEVO_OK;
}

kevo_status kevo_model_load(const char *dir, kevo_model **out, kevo_error *err)
{
    *out = NULL;
    if (!kevo_dir_exists(dir))
        return kevo_fail(err, KEVO_ERR_IO, "%s: not a directory", dir);
    kevo_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
    }
    kevo_status st = kevo_config_load(dir, &m->config, err);
    if (st == KEVO_OK)
        m->family = kevo_family_find(m->config.model_type);   // config_load found it
    if (st == KEVO_OK)
        st = kevo_image_config_load(dir, &m->image, err);
    if (st == KEVO_OK && (st = kevo_tokenizer_load(dir, &m->tokenizer, err)) == KEVO_OK)
        st = check_tokenizer(m, err);
    if (st == KEVO_OK)
        st = kevo_checkpoint_open(dir, &m->ckpt, err);
    if (st == KEVO_OK && (st = kevo_weights_bind(&m->config, m->ckpt, &m->weights, err)))
        kevo_error_prefix(err, "%s: ", dir);
    if (st != KEVO_OK) {
        kevo_model_free(m);
        return st;
    }
    *out = m;
    return KEVO_OK;
}

void kevo_model_free(kevo_model *m)
{
    if (!m)
        return;
    kevo_weights_free(m->weights);
    kevo_tokenizer_free(m->tokenizer);
    kevo_checkpoint_free(m->ckpt);
    free(m->dir);
    free(m);
}

const kevo_config *kevo_model_config(const kevo_model *m)
{
    return &m->config;
}

const kevo_image_config *kevo_model_image_config(const kevo_model *m)
{
    return &m->image;
}

const char *kevo_model_dir(const kevo_model *m)
{
    return m->dir;
}

kevo_status kevo_model_image_tokens(const kevo_model *m, int width, int height, int *n_tiles,
                                    int *n_tokens, kevo_error *err)
{
    return m->family->image_tokens(&m->config, width, height, n_tiles, n_tokens, err);
}
