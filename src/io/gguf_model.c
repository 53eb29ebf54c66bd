// gguf_model.c — which files make a GGUF model: llama.cpp ships a vision-language model as a text
// model and an "mmproj" file (the vision tower and projector), e.g. ggml_llava-v1.5-7b's
// ggml-model-q4_k.gguf and mmproj-model-f16.gguf, usually side by side in one folder.
#include "io/gguf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_mmproj(const char *name)
{
    return strncmp(kevo_path_base(name), "mmproj", 6) == 0;
}

int kevo_gguf_model_is(const kevo_model_source *src)
{
    const char *path = src->path;
    if (src->mmproj || ends_with(path, ".gguf"))
        return 1;
    char config[KEVO_PATH_MAX];
    if (!kevo_dir_exists(path) ||
        kevo_path_join(config, sizeof config, path, "config.json", NULL) != KEVO_OK ||
        kevo_file_exists(config))
        return 0;
    DIR *d = opendir(path);
    int found = 0;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        found = e->d_name[0] != '.' && ends_with(e->d_name, ".gguf");
    if (d)
        closedir(d);
    return found;
}

// The folder's one mmproj*.gguf into mmproj and, when text is not NULL, its one other .gguf.
static kevo_status scan(const char *dir, char *text, char *mmproj, kevo_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    int n_text = 0, n_mmproj = 0;
    kevo_status st = KEVO_OK;
    for (struct dirent *e; st == KEVO_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".gguf"))
            continue;
        int mm = is_mmproj(e->d_name);
        int *count = mm ? &n_mmproj : &n_text;
        if (!mm && !text)
            continue;
        if ((*count)++ == 0)   // a second of a kind is reported below
            st = kevo_path_join(mm ? mmproj : text, KEVO_PATH_MAX, dir, e->d_name, err);
    }
    closedir(d);
    if (st == KEVO_OK && (n_mmproj != 1 || (text && n_text != 1)))
        st = kevo_fail(err, KEVO_ERR_ARG, "%s: a GGUF model folder holds one text model (*.gguf) "
                       "and one vision file (mmproj*.gguf); this one has %d and %d", dir,
                       text ? n_text : 1, n_mmproj);
    return st;
}

// The pair named apart: any two file names (llama.cpp does not ask for .gguf either); a folder
// as the text model is a usage error, a hub folder's vision tower being in its own files.
static kevo_status given_pair(const kevo_model_source *src, char *text, char *mmproj,
                              kevo_error *err)
{
    char config[KEVO_PATH_MAX];
    if (kevo_dir_exists(src->path))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: a %s; a vision file named apart (%s) goes with "
                         "a GGUF text model's file", src->path,
                         kevo_path_join(config, sizeof config, src->path, "config.json",
                                        NULL) == KEVO_OK && kevo_file_exists(config)
                             ? "hub model folder, whose vision tower is in its own files"
                             : "folder (its mmproj*.gguf is found in it)", src->mmproj);
    if (snprintf(text, KEVO_PATH_MAX, "%s", src->path) >= KEVO_PATH_MAX ||
        snprintf(mmproj, KEVO_PATH_MAX, "%s", src->mmproj) >= KEVO_PATH_MAX)
        return kevo_fail(err, KEVO_ERR_ARG, "%.200s...: path too long",
                         strlen(src->path) >= KEVO_PATH_MAX ? src->path : src->mmproj);
    return KEVO_OK;
}

kevo_status kevo_gguf_model_files(const kevo_model_source *src, char text[KEVO_PATH_MAX],
                                  char mmproj[KEVO_PATH_MAX], kevo_error *err)
{
    const char *path = src->path;
    if (src->mmproj)
        return given_pair(src, text, mmproj, err);
    if (!ends_with(path, ".gguf"))
        return scan(path, text, mmproj, err);
    if (is_mmproj(path))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: the vision file of a GGUF model; give the text "
                         "model (its mmproj file is found beside it)", path);
    if (snprintf(text, KEVO_PATH_MAX, "%s", path) >= KEVO_PATH_MAX)
        return kevo_fail(err, KEVO_ERR_ARG, "%.200s...: path too long", path);
    char dir[KEVO_PATH_MAX];
    const char *base = kevo_path_base(path);
    int len = base > path ? (int)(base - path - 1) : 0;   // the folder, without its '/'
    snprintf(dir, sizeof dir, "%.*s", len ? len : 1, len ? path : base > path ? "/" : ".");
    return scan(dir, NULL, mmproj, err);
}
