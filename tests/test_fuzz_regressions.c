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

#include "io/safetensors.h"
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

static const struct {
    const char *prefix;
    kevo_status (*replay)(const char *path, kevo_error *err);
} replayers[] = {
    {"safetensors-", replay_safetensors},
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
