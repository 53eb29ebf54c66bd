// test_fuzz_regressions.c — inputs that the fuzzers in fuzz/ (docs/fuzzing.md) found crashing,
// leaking or allocating without bound, each a test that failed before its fix. They run in the
// plain `make test` (no clang needed): each checks what a plain build can see (the status and
// message), and `make asan` adds the sanitizers that saw the original fault.
//
// The inputs the fuzzer wrote are also kept as files in tests/data/fuzz-regressions/, named
// <target>-<what> after the harness that found them (fuzz/fuzz_<target>.c);
// fuzz_regressions_replay feeds each through the same loader as its harness.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/image.h"
#include "io/npy.h"
#include "io/runfolder.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "test.h"

#define REGRESSIONS "tests/data/fuzz-regressions"

static const char *write_input(const char *name, const void *data, size_t len)
{
    const char *path = kevo_test_tmp(name);
    return kevo_test_write(path, data, len) ? path : NULL;
}

// A safetensors file from its JSON header (padded to 8 bytes) and no data.
static const char *safetensors_from_header(const char *name, const char *header)
{
    size_t n = strlen(header), padded = (n + 7) / 8 * 8;
    unsigned char buf[1024] = {0};
    if (8 + padded > sizeof buf)
        return NULL;
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(buf + 8, header, n);
    memset(buf + 8 + n, ' ', padded - n);
    return write_input(name, buf, 8 + padded);
}

// fuzz_safetensors: a header with two "__metadata__" objects. The second was parsed into a new
// table sized for itself while the count went on from the first: a heap overflow (and a leak).
KEVO_TEST(fuzz_regressions_safetensors_duplicate_metadata)
{
    kevo_error err = {0};
    kevo_safetensors *f = NULL;
    const char *path = safetensors_from_header(
        "dup.safetensors", "{\"__metadata__\":{\"a\":\"b\"},\"__metadata__\":{\"c\":\"d\"}}");
    if (!CHECK(path, "cannot write the input"))
        return;
    kevo_status st = kevo_safetensors_open(path, &f, &err);
    CHECK(st == KEVO_ERR_FORMAT && !f, "status %d (%s)", st, err.msg);
    CHECK(kevo_test_contains(err.msg, "\"__metadata__\" appears twice"), "message: %s", err.msg);
    kevo_safetensors_free(f);
}

// ---------------------------------------------------------------------------------------------
// Every stored input through its harness's loader: it must load or fail with a message.

static kevo_status replay_safetensors(const char *path, kevo_error *err)
{
    kevo_safetensors *f;
    kevo_status st = kevo_safetensors_open(path, &f, err);
    kevo_safetensors_free(st == KEVO_OK ? f : NULL);
    return st;
}

static kevo_status replay_npy(const char *path, kevo_error *err)
{
    kevo_npy *f;
    kevo_status st = kevo_npy_open(path, &f, err);
    kevo_npy_free(st == KEVO_OK ? f : NULL);
    return st;
}

static kevo_status replay_image(const char *path, kevo_error *err)
{
    kevo_image *img;
    kevo_status st = kevo_image_load(path, &img, err);
    kevo_image_free(st == KEVO_OK ? img : NULL);
    return st;
}

// A fresh folder named `name` in the test directory holding copies of `fixed` files from
// tests/fixtures/tiny-f32, then the files of a container input (fuzz/fuzz_common.h: sections
// "@@file NAME\n" + bytes, each running to the next "\n@@file " or the end).
static const char *folder(const char *name, const char *const *fixed, int n_fixed,
                          const char *container)
{
    static char dir[2048];
    char cmd[4400];
    snprintf(dir, sizeof dir, "%s/%s", kevo_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    for (int i = 0; i < n_fixed; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd),
                 " && cp tests/fixtures/tiny-f32/%s '%s'/", fixed[i], dir);
    if (system(cmd) != 0)
        return NULL;
    size_t len = 0;
    char *data = container ? kevo_test_slurp(container, &len) : NULL;
    const char *p = data, *end = data + len;
    while (data && p && (size_t)(end - p) > 7 && memcmp(p, "@@file ", 7) == 0) {
        const char *nl = memchr(p + 7, '\n', (size_t)(end - p - 7)), *next = NULL;
        if (!nl)
            break;
        for (const char *q = nl + 1; q + 8 <= end && !next; q++)
            if (memcmp(q, "\n@@file ", 8) == 0)
                next = q;
        char fname[80], path[2200];
        size_t n = (size_t)(nl - p - 7);
        int ok = n > 0 && n < sizeof fname && p[7] != '.';
        for (size_t i = 0; ok && i < n; i++)
            ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                        p[7 + i]) != NULL;
        if (ok) {
            memcpy(fname, p + 7, n);
            fname[n] = 0;
            snprintf(path, sizeof path, "%s/%s", dir, fname);
            kevo_test_write(path, nl + 1, (size_t)((next ? next : end) - (nl + 1)));
        }
        p = next ? next + 1 : NULL;
    }
    free(data);
    return dir;
}

static const char *const tok_side[] = {"tokenizer_config.json", "added_tokens.json",
                                       "special_tokens_map.json", "tokenizer.json"};

static kevo_status replay_checkpoint(const char *path, kevo_error *err)
{
    kevo_checkpoint *c;
    kevo_status st = kevo_checkpoint_open(folder("ckpt", NULL, 0, path), &c, err);
    kevo_checkpoint_free(st == KEVO_OK ? c : NULL);
    return st;
}

static kevo_status replay_config(const char *path, kevo_error *err)
{
    const char *dir = folder("config", NULL, 0, path);
    kevo_config cfg;
    kevo_image_config ic;
    kevo_status st = kevo_config_load(dir, &cfg, err);
    return st ? st : kevo_image_config_load(dir, &ic, err);
}

static kevo_status replay_model(const char *path, kevo_error *err)
{
    kevo_model *m;
    kevo_status st = kevo_model_load(folder("model", tok_side, 4, path), &m, err);
    kevo_model_free(st == KEVO_OK ? m : NULL);
    return st;
}

static kevo_status tokenizer_in(const char *dir, kevo_error *err)
{
    kevo_tokenizer *t;
    kevo_status st = kevo_tokenizer_load(dir, &t, err);
    if (st == KEVO_OK) {
        int *ids = NULL, n = 0;
        char *text = NULL;
        static const char sample[] = "<s>USER: <image>\nWhat? caf\xc3\xa9 \xff";
        if ((st = kevo_tokenizer_encode(t, sample, sizeof sample - 1, 1, &ids, &n, err)) ==
            KEVO_OK && (st = kevo_tokenizer_decode(t, ids, n, &text, err)) == KEVO_OK)
            free(text);
        free(ids);
        kevo_tokenizer_free(t);
    }
    return st;
}

// fuzz_spm: the input is tokenizer.model beside tiny-f32's side files (no tokenizer.json).
static kevo_status replay_spm(const char *path, kevo_error *err)
{
    const char *dir = folder("spm", tok_side, 3, NULL);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/tokenizer.model'", path, dir);
    return system(cmd) == 0 ? tokenizer_in(dir, err)
                            : kevo_fail(err, KEVO_ERR_IO, "cannot copy %s", path);
}

static kevo_status replay_tokenizer_json(const char *path, kevo_error *err)
{
    return tokenizer_in(folder("tokjson", NULL, 0, path), err);
}

// fuzz_encode: the input is text for tiny-f32's tokenizer (read through tokenizer.json).
static kevo_status replay_encode(const char *path, kevo_error *err)
{
    kevo_tokenizer *t = NULL;
    kevo_status st = kevo_tokenizer_load(folder("encode", tok_side, 4, NULL), &t, err);
    size_t len = 0;
    char *text = st == KEVO_OK ? kevo_test_slurp(path, &len) : NULL;
    int *ids = NULL, n = 0;
    char *back = NULL;
    if (text && (st = kevo_tokenizer_encode(t, text, len, 1, &ids, &n, err)) == KEVO_OK &&
        (st = kevo_tokenizer_decode(t, ids, n, &back, err)) == KEVO_OK)
        free(back);
    free(ids);
    free(text);
    kevo_tokenizer_free(t);
    return st;
}

static kevo_status replay_runfolder(const char *path, kevo_error *err)
{
    kevo_runfolder *rf;
    kevo_status st = kevo_runfolder_load(folder("run", NULL, 0, path), &rf, err);
    kevo_runfolder_free(st == KEVO_OK ? rf : NULL);
    return st;
}

// fuzz_runjson: the input is run.json beside a valid hidden.safetensors of F32 [1, 2, 2].
static kevo_status replay_runjson(const char *path, kevo_error *err)
{
    static const char head[] = "{\"hidden\":{\"dtype\":\"F32\",\"shape\":[1,2,2],"
                               "\"data_offsets\":[0,16]}}";
    unsigned char st_file[8 + 72 + 16] = {72};
    memcpy(st_file + 8, head, sizeof head - 1);
    memset(st_file + 8 + sizeof head - 1, ' ', 72 - (sizeof head - 1));
    const float v[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    memcpy(st_file + 80, v, sizeof v);
    const char *dir = folder("runjson", NULL, 0, NULL);
    char dst[2200], cmd[4400];
    snprintf(dst, sizeof dst, "%s/hidden.safetensors", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/run.json'", path, dir);
    if (!kevo_test_write(dst, st_file, sizeof st_file) || system(cmd) != 0)
        return kevo_fail(err, KEVO_ERR_IO, "cannot set up %s", dir);
    kevo_runfolder *rf;
    kevo_status st = kevo_runfolder_load(dir, &rf, err);
    kevo_runfolder_free(st == KEVO_OK ? rf : NULL);
    return st;
}

static const struct {
    const char *prefix;
    kevo_status (*replay)(const char *path, kevo_error *err);
} replayers[] = {
    {"safetensors-", replay_safetensors}, {"checkpoint-", replay_checkpoint},
    {"config-", replay_config},           {"model-", replay_model},
    {"spm-", replay_spm},                 {"tokenizer_json-", replay_tokenizer_json},
    {"encode-", replay_encode},           {"png-", replay_image},
    {"jpeg-", replay_image},              {"npy-", replay_npy},
    {"runjson-", replay_runjson},         {"runfolder-", replay_runfolder},
};

KEVO_TEST(fuzz_regressions_replay)
{
    DIR *d = opendir(REGRESSIONS);
    if (!CHECK(d, "cannot open %s", REGRESSIONS))
        return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", REGRESSIONS, e->d_name);
        size_t k = 0;
        while (k < sizeof replayers / sizeof replayers[0] &&
               strncmp(e->d_name, replayers[k].prefix, strlen(replayers[k].prefix)) != 0)
            k++;
        if (!CHECK(k < sizeof replayers / sizeof replayers[0], "%s: no loader for this name",
                   path))
            continue;
        kevo_error err = {0};
        kevo_status st = replayers[k].replay(path, &err);
        CHECK(st == KEVO_OK || err.msg[0], "%s: status %d without a message", path, st);
        n++;
    }
    closedir(d);
    CHECK(n > 0, "no inputs in %s", REGRESSIONS);
}
