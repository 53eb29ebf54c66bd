// model.c — loading a llava-hf model folder: configuration (and with it the family),
// tokenizer, checkpoint, weight binding.
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/gguf.h"
#include "io/json.h"
#include "model/config.h"
#include "model/gguf.h"

// The tokenizer must fit the embedding rows, and its image token (<image>, <|image_pad|>) must
// be the config's.
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
    const char *token = m->family->image_token;
    int image = kevo_tokenizer_added_id(m->tokenizer, token);
    if (image >= 0 && image != c->image_token_id)
        return kevo_fail(err, KEVO_ERR_MODEL, "%s: the tokenizer's %s is token %d but "
                         "config.json's %s is %d", m->dir, token, image,
                         m->family->image_token_key, c->image_token_id);
    return KEVO_OK;
}

// The chat_template string of `file` in dir (chat_template.json: {"chat_template": "..."};
// tokenizer_config.json: a string, or a list of {"name", "template"} whose "default" or first
// entry counts), recognised into *tpl. An absent file or key leaves *tpl.
static kevo_status read_chat_template(const char *dir, const char *file, kevo_template *tpl,
                                      kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, file, err);
    if (st != KEVO_OK || !kevo_file_exists(path))
        return st;
    cJSON *root = NULL;
    if ((st = kevo_json_load(path, 16u << 20, &root, err)) != KEVO_OK)
        return st;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (cJSON_IsArray(v)) {
        const cJSON *pick = cJSON_GetArrayItem(v, 0), *e;
        cJSON_ArrayForEach(e, v) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, "default") == 0)
                pick = e;
        }
        v = pick ? cJSON_GetObjectItemCaseSensitive(pick, "template") : NULL;
    }
    if (cJSON_IsString(v))
        kevo_template_from_chat(v->valuestring, tpl);
    cJSON_Delete(root);
    return KEVO_OK;
}

// The family's default, then the backbone's, then what the checkpoint's chat template renders
// (the processor's chat_template.json over tokenizer_config.json's, as transformers prefers it).
// LLaVA-1.5 keeps the paper's llava_v1.
kevo_status kevo_template_for(const char *dir, const kevo_config *c, kevo_template *out,
                              kevo_error *err)
{
    const kevo_family *family = kevo_family_find(c->model_type);
    *out = family ? family->default_template : KEVO_TEMPLATE_LLAVA_V1;
    if (!family || family == &kevo_family_llava || *out == KEVO_TEMPLATE_QWEN2VL)
        return KEVO_OK;
    if (strcmp(c->text_model_type, "mistral") == 0)
        *out = KEVO_TEMPLATE_MISTRAL;
    kevo_status st = read_chat_template(dir, "tokenizer_config.json", out, err);
    return st == KEVO_OK ? read_chat_template(dir, "chat_template.json", out, err) : st;
}

// A hub folder's parts: config.json (and with it the family), preprocessor_config.json, the
// tokenizer files, the template and the safetensors checkpoint.
static kevo_status hub_parts(kevo_model *m, const char *dir, kevo_error *err)
{
    kevo_status st = kevo_config_load(dir, &m->config, err);
    if (st == KEVO_OK)
        m->family = kevo_family_find(m->config.model_type);   // config_load found it
    if (st == KEVO_OK && (st = kevo_image_config_load(dir, &m->image, err)) == KEVO_OK &&
        m->family->image_config)
        st = m->family->image_config(dir, &m->config, &m->image, err);
    if (st == KEVO_OK)
        st = kevo_tokenizer_load(dir, &m->tokenizer, err);
    if (st == KEVO_OK)
        st = kevo_template_for(dir, &m->config, &m->template_kind, err);
    if (st == KEVO_OK)
        st = kevo_checkpoint_open(dir, &m->ckpt, err);
    return st;
}

kevo_status kevo_model_load_source(const kevo_model_source *src, kevo_model **out,
                                   kevo_error *err)
{
    *out = NULL;
    const char *dir = src->path;
    int gguf = kevo_gguf_model_is(src);
    if (!gguf && !kevo_dir_exists(dir))
        return kevo_fail(err, KEVO_ERR_IO, "%s: not a directory", dir);
    kevo_model *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir)) || (src->mmproj && !(m->mmproj = strdup(src->mmproj)))) {
        kevo_model_free(m);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
    }
    kevo_status st = gguf ? kevo_gguf_model_parts(m, src, err) : hub_parts(m, dir, err);
    if (st == KEVO_OK)
        st = check_tokenizer(m, err);
    if (st == KEVO_OK && (st = kevo_weights_bind(&m->config, m->ckpt, &m->weights, err)))
        kevo_error_prefix(err, "%s: ", dir);
    if (st != KEVO_OK) {
        kevo_model_free(m);
        return st;
    }
    *out = m;
    return KEVO_OK;
}

kevo_status kevo_model_load(const char *dir, kevo_model **out, kevo_error *err)
{
    return kevo_model_load_source(&(kevo_model_source){.path = dir}, out, err);
}

kevo_status kevo_config_load_source(const kevo_model_source *src, kevo_config *cfg,
                                    kevo_error *err)
{
    return kevo_gguf_model_is(src) ? kevo_gguf_model_config(src, cfg, err)
                                   : kevo_config_load(src->path, cfg, err);
}

void kevo_model_free(kevo_model *m)
{
    if (!m)
        return;
    kevo_weights_free(m->weights);
    kevo_tokenizer_free(m->tokenizer);
    kevo_checkpoint_free(m->ckpt);
    free(m->dir);
    free(m->mmproj);
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

const char *kevo_model_mmproj(const kevo_model *m)
{
    return m->mmproj;
}

kevo_family_info kevo_model_family(const kevo_model *m)
{
    const kevo_family *f = m->family;
    const char *t = m->config.text_model_type;
    kevo_family_info info = {.model_type = f->model_type, .name = f->name,
                             .image_processor = f->image_processor,
                             .vision_path = f->vision_path,
                             .decoder = !strcmp(t, "mistral") ? "Mistral"
                                        : !strcmp(t, "qwen2") ? "Qwen2" : "LLaMA"};
    f->describe(m, &info);
    return info;
}

kevo_template kevo_model_template(const kevo_model *m)
{
    return m->template_kind;
}

kevo_status kevo_model_image_tokens(const kevo_model *m, int width, int height, int *n_tiles,
                                    int *n_tokens, kevo_error *err)
{
    return m->family->image_tokens(m, width, height, n_tiles, n_tokens, err);
}
