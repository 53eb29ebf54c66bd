// checkpoint.c — the safetensors files of a model folder seen as one set of named tensors.
//
// A folder holds either `model.safetensors` or shards listed by `model.safetensors.index.json`
// ({"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}), the layout
// transformers' save_pretrained writes. Every shard is opened once; the index must agree with
// what the shards hold, and no tensor may appear in two shards.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/safetensors.h"

#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"
#define INDEX_MAX (64u << 20)

struct kevo_checkpoint {
    kevo_safetensors **files;
    int n_files;
    const kevo_tensor **all;   // every tensor of every file, sorted by name
    size_t n;
    uint64_t file_bytes;
    kevo_tensor *views;        // kevo_checkpoint_from_views: the tensors, and their owner
    void (*release)(void *);
    void *owner;
    const char *format;        // NULL: safetensors
};

static int by_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const kevo_tensor *const *)a)->name, (*(const kevo_tensor *const *)b)->name);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static kevo_status open_file(kevo_checkpoint *c, const char *dir, const char *name,
                             kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, name, err);
    if (st != KEVO_OK)
        return st;
    kevo_safetensors **grown = realloc(c->files, (size_t)(c->n_files + 1) * sizeof *grown);
    if (!grown)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    c->files = grown;
    if ((st = kevo_safetensors_open(path, &c->files[c->n_files], err)) != KEVO_OK)
        return st;
    c->file_bytes += kevo_safetensors_file_size(c->files[c->n_files++]);
    return KEVO_OK;
}

// Opens every shard the index names, then checks that each indexed tensor is where it says.
static kevo_status open_sharded(kevo_checkpoint *c, const char *dir, const char *index_path,
                                kevo_error *err)
{
    char *text = NULL;
    kevo_status st = kevo_read_file(index_path, INDEX_MAX, &text, NULL, err);
    if (st != KEVO_OK)
        return st;
    cJSON *root = cJSON_Parse(text);
    const char **shards = NULL;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: not valid JSON (near byte %ld)", index_path,
                       at ? (long)(at - text) : 0L);
        goto done;
    }
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: no \"weight_map\" object", index_path);
        goto done;
    }
    int n_entries = cJSON_GetArraySize(map), n_shards = 0;
    shards = malloc((size_t)(n_entries + 1) * sizeof *shards);
    if (!shards) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", index_path);
        goto done;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, map) {
        if (!cJSON_IsString(e) || !e->valuestring[0] || strchr(e->valuestring, '/') ||
            strcmp(e->valuestring, "..") == 0) {
            st = kevo_fail(err, KEVO_ERR_FORMAT,
                           "%s: weight_map entry '%s' must name a shard file in the same folder",
                           index_path, e->string);
            goto done;
        }
        shards[n_shards++] = e->valuestring;
    }
    qsort(shards, (size_t)n_shards, sizeof *shards, by_string);
    for (int i = 0; i < n_shards; i++) {
        if (i > 0 && strcmp(shards[i], shards[i - 1]) == 0)
            continue;
        if ((st = open_file(c, dir, shards[i], err)) != KEVO_OK) {
            kevo_error_prefix(err, "%s lists shard %s, which fails: ", INDEX_NAME, shards[i]);
            goto done;
        }
    }
    cJSON_ArrayForEach(e, map) {
        const kevo_tensor *t = NULL;
        for (int i = 0; i < c->n_files && !t; i++) {
            const kevo_tensor *cand = kevo_safetensors_find(c->files[i], e->string);
            if (cand && strcmp(kevo_path_base(cand->path), e->valuestring) == 0)
                t = cand;
        }
        if (!t) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s' is indexed in shard %s, which "
                           "does not hold it", index_path, e->string, e->valuestring);
            goto done;
        }
    }
done:
    free(shards);
    cJSON_Delete(root);
    free(text);
    return st;
}

kevo_status kevo_checkpoint_open(const char *dir, kevo_checkpoint **out, kevo_error *err)
{
    *out = NULL;
    kevo_checkpoint *c = calloc(1, sizeof *c);
    if (!c)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
    char index_path[KEVO_PATH_MAX], single_path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(index_path, sizeof index_path, dir, INDEX_NAME, err);
    if (st == KEVO_OK)
        st = kevo_path_join(single_path, sizeof single_path, dir, SINGLE_NAME, err);
    if (st != KEVO_OK)
        goto fail;
    if (kevo_file_exists(index_path))
        st = open_sharded(c, dir, index_path, err);
    else if (kevo_file_exists(single_path))
        st = open_file(c, dir, SINGLE_NAME, err);
    else
        st = kevo_fail(err, KEVO_ERR_IO, "%s: no %s or %s (kevo reads safetensors checkpoints "
                       "in the Hugging Face layout)", dir, SINGLE_NAME, INDEX_NAME);
    if (st != KEVO_OK)
        goto fail;

    for (int i = 0; i < c->n_files; i++)
        c->n += kevo_safetensors_count(c->files[i]);
    if (!(c->all = malloc((c->n + 1) * sizeof *c->all))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
        goto fail;
    }
    size_t k = 0;
    for (int i = 0; i < c->n_files; i++)
        for (size_t j = 0; j < kevo_safetensors_count(c->files[i]); j++)
            c->all[k++] = kevo_safetensors_at(c->files[i], j);
    qsort(c->all, c->n, sizeof *c->all, by_tensor_name);
    for (size_t i = 1; i < c->n; i++)
        if (strcmp(c->all[i - 1]->name, c->all[i]->name) == 0) {
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: tensor '%s' is stored twice (%s and %s)",
                           dir, c->all[i]->name, kevo_path_base(c->all[i - 1]->path),
                           kevo_path_base(c->all[i]->path));
            goto fail;
        }
    *out = c;
    return KEVO_OK;
fail:
    kevo_checkpoint_free(c);
    return st;
}

kevo_status kevo_checkpoint_from_views(kevo_tensor *views, size_t n, const char *format,
                                       int n_files, uint64_t file_bytes,
                                       void (*release)(void *), void *owner,
                                       kevo_checkpoint **out, kevo_error *err)
{
    *out = NULL;
    kevo_checkpoint *c = calloc(1, sizeof *c);
    if (!c || !(c->all = malloc((n + 1) * sizeof *c->all))) {
        free(c);
        free(views);
        if (release)
            release(owner);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for %zu tensors", n);
    }
    c->views = views;
    c->format = format;
    c->release = release;
    c->owner = owner;
    c->n = n;
    c->n_files = n_files;
    c->file_bytes = file_bytes;
    for (size_t i = 0; i < n; i++)
        c->all[i] = &views[i];
    qsort(c->all, n, sizeof *c->all, by_tensor_name);
    *out = c;
    return KEVO_OK;
}

void kevo_checkpoint_free(kevo_checkpoint *c)
{
    if (!c)
        return;
    free(c->views);
    if (c->release)
        c->release(c->owner);
    for (int i = 0; c->files && i < c->n_files; i++)   // none for views
        kevo_safetensors_free(c->files[i]);
    free(c->files);
    free(c->all);
    free(c);
}

size_t kevo_checkpoint_count(const kevo_checkpoint *c)
{
    return c->n;
}

const kevo_tensor *kevo_checkpoint_at(const kevo_checkpoint *c, size_t i)
{
    return i < c->n ? c->all[i] : NULL;
}

const kevo_tensor *kevo_checkpoint_find(const kevo_checkpoint *c, const char *name)
{
    kevo_tensor key = {.name = name};
    const kevo_tensor *pk = &key;
    const kevo_tensor **hit = bsearch(&pk, c->all, c->n, sizeof *c->all, by_tensor_name);
    return hit ? *hit : NULL;
}

const char *kevo_checkpoint_format(const kevo_checkpoint *c)
{
    return c->format ? c->format : "safetensors";
}

int kevo_checkpoint_n_files(const kevo_checkpoint *c)
{
    return c->n_files;
}

uint64_t kevo_checkpoint_file_bytes(const kevo_checkpoint *c)
{
    return c->file_bytes;
}
