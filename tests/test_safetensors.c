// test_safetensors.c — the safetensors reader and writer, sharded checkpoints, hostile headers.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/safetensors.h"
#include "test.h"

// Writes a safetensors file from a header JSON and a data section, exactly as given.
static const char *raw_file(const char *name, const char *header, size_t hlen, const void *data,
                            size_t dlen)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/%s", kevo_test_tmpdir(), name);
    size_t n = 8 + hlen + dlen;
    unsigned char *buf = malloc(n);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    if (dlen)
        memcpy(buf + 8 + hlen, data, dlen);
    kevo_test_write(path, buf, n);
    free(buf);
    return path;
}

// Opens `path` expecting failure with `status` and a message containing `needle`.
static void expect_bad(const char *label, const char *path, kevo_status status, const char *needle)
{
    kevo_error err = {0};
    kevo_safetensors *f = NULL;
    kevo_status st = kevo_safetensors_open(path, &f, &err);
    CHECK(st == status, "%s: status %d (%s), want %d; message: %s", label, st,
          kevo_status_str(st), status, err.msg);
    CHECK(f == NULL, "%s: a failed open returned an object", label);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
    CHECK(kevo_test_contains(err.msg, path), "%s: message '%s' does not name the file", label,
          err.msg);
    kevo_safetensors_free(f);
}

KEVO_TEST(safetensors_roundtrip)
{
    float a[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
    uint16_t h[3] = {0x3c00, 0xc000, 0x7bff};
    int64_t ids[2] = {-7, 1LL << 40};
    kevo_tensor_out out[] = {
        {"b.weights", KEVO_DTYPE_F32, 2, {2, 3}, a},
        {"a.half", KEVO_DTYPE_F16, 1, {3}, h},
        {"c.ids", KEVO_DTYPE_I64, 1, {2}, ids},
        {"d.scalar", KEVO_DTYPE_F32, 0, {0}, a},
        {"e.empty", KEVO_DTYPE_BF16, 2, {0, 5}, NULL},
    };
    const char *meta[] = {"format", "pt", "kevo", "test"};
    char path[2048];
    snprintf(path, sizeof path, "%s/rt.safetensors", kevo_test_tmpdir());
    kevo_error err;
    CHECK_OK(kevo_safetensors_write(path, out, 5, meta, 2, &err), &err);

    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
        return;
    CHECK(kevo_safetensors_count(f) == 5, "count %zu", kevo_safetensors_count(f));
    CHECK(strcmp(kevo_safetensors_at(f, 0)->name, "a.half") == 0, "sorted by name");
    const kevo_tensor *t = kevo_safetensors_find(f, "b.weights");
    if (CHECK(t != NULL, "b.weights not found")) {
        CHECK(t->dtype == KEVO_DTYPE_F32 && t->n_dims == 2 && t->shape[0] == 2 &&
              t->shape[1] == 3 && t->n_elems == 6 && t->n_bytes == 24, "b.weights header");
        CHECK(memcmp(t->data, a, sizeof a) == 0, "b.weights bytes differ");
        CHECK((uintptr_t)t->data % 4 == 0, "F32 data not aligned");
    }
    t = kevo_safetensors_find(f, "c.ids");
    CHECK(t && t->dtype == KEVO_DTYPE_I64 && memcmp(t->data, ids, sizeof ids) == 0, "c.ids");
    t = kevo_safetensors_find(f, "d.scalar");
    CHECK(t && t->n_dims == 0 && t->n_elems == 1 && *(const float *)t->data == 1.5f, "scalar");
    t = kevo_safetensors_find(f, "e.empty");
    CHECK(t && t->n_elems == 0 && t->n_bytes == 0, "empty tensor");
    CHECK(kevo_safetensors_find(f, "zzz") == NULL, "found a tensor that does not exist");
    const char *v = kevo_safetensors_metadata(f, "kevo");
    CHECK(v && strcmp(v, "test") == 0, "metadata kevo=%s", v ? v : "(null)");
    kevo_safetensors_free(f);

    // The header is padded with spaces to a multiple of 8, as the reference writer does.
    size_t len;
    unsigned char *bytes = (unsigned char *)kevo_test_slurp(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    CHECK(hlen % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
    free(bytes);
}

KEVO_TEST(safetensors_reads_python_shards)
{
    // Written by tools/fixtures/make_fixture.py (numpy), so independent of kevo's writer.
    kevo_error err;
    kevo_checkpoint *c = NULL;
    if (!CHECK_OK(kevo_checkpoint_open(kevo_test_data("fixtures/tiny-f32"), &c, &err), &err))
        return;
    CHECK(kevo_checkpoint_n_files(c) == 2, "%d files", kevo_checkpoint_n_files(c));
    const kevo_tensor *t = kevo_checkpoint_find(c, "language_model.model.norm.weight");
    CHECK(t && t->n_dims == 1 && t->shape[0] == 64 && t->dtype == KEVO_DTYPE_F32, "norm.weight");
    t = kevo_checkpoint_find(c, "vision_tower.vision_model.embeddings.patch_embedding.weight");
    CHECK(t && t->n_dims == 4 && t->shape[0] == 32 && t->shape[1] == 3 && t->shape[2] == 14,
          "patch_embedding");
    CHECK(t && kevo_test_contains(t->path, "model-00001-of-00002"), "patch_embedding shard");
    for (size_t i = 1; i < kevo_checkpoint_count(c); i++)
        CHECK(strcmp(kevo_checkpoint_at(c, i - 1)->name, kevo_checkpoint_at(c, i)->name) < 0,
              "checkpoint not sorted at %zu", i);
    kevo_checkpoint_free(c);
}

KEVO_TEST(safetensors_misaligned_data_is_copied)
{
    // A 5-byte-long header (not padded) puts the F32 data at byte 13.
    float v[2] = {0.1f, -42.0f};
    const char *h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const char *path = raw_file("mis.safetensors", h, strlen(h), v, sizeof v);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
        return;
    const kevo_tensor *t = kevo_safetensors_find(f, "x");
    CHECK(t && (uintptr_t)t->data % 4 == 0 && memcmp(t->data, v, sizeof v) == 0,
          "misaligned tensor not copied correctly");
    CHECK(t && t->file_offset == 8 + strlen(h), "file_offset %llu",
          t ? (unsigned long long)t->file_offset : 0ULL);
    kevo_safetensors_free(f);
}

KEVO_TEST(safetensors_bad_headers)
{
    unsigned char data[64] = {0};
    struct {
        const char *label, *header, *needle;
        size_t dlen;
    } cases[] = {
        {"not JSON", "{\"x\": [", "not valid JSON", 8},
        {"not an object", "[1, 2]", "not an object", 8},
        {"unknown dtype", "{\"x\":{\"dtype\":\"F7\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         "unknown dtype \"F7\"", 8},
        {"offsets out of range",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
         "exceed the data section of 8 bytes", 8},
        {"span mismatch", "{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
         "needs 12 bytes but data_offsets [0, 8] span 8", 16},
        {"overlap",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         "overlap", 16},
        {"shape overflow",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,8]}}",
         "overflows", 8},
        {"negative dim", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
         "shape[0] is not a non-negative integer", 8},
        {"fractional offset", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8]}}",
         "data_offsets must be", 8},
        {"reversed offsets", "{\"x\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}",
         "data_offsets must be", 8},
        {"missing field", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", "data_offsets", 8},
        {"duplicate name",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         "appears twice", 8},
        {"bad metadata", "{\"__metadata__\":{\"a\":1}}", "not a string", 0},
        {"trailing bytes", "{}  x", "unexpected bytes after the header", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "bad%zu.safetensors", i);
        const char *path = raw_file(name, cases[i].header, strlen(cases[i].header), data,
                                    cases[i].dlen);
        expect_bad(cases[i].label, path, KEVO_ERR_FORMAT, cases[i].needle);
    }
}

KEVO_TEST(safetensors_header_length_past_eof)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/past.safetensors", kevo_test_tmpdir());
    unsigned char bytes[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    kevo_test_write(path, bytes, sizeof bytes);
    expect_bad("header past end", path, KEVO_ERR_FORMAT, "header length 65535 (bytes 0-7) runs past");
    snprintf(path, sizeof path, "%s/short.safetensors", kevo_test_tmpdir());
    kevo_test_write(path, bytes, 5);
    expect_bad("5-byte file", path, KEVO_ERR_FORMAT, "too short for the 8-byte header length");
    snprintf(path, sizeof path, "%s/absent.safetensors", kevo_test_tmpdir());
    expect_bad("absent file", path, KEVO_ERR_IO, "cannot open");
}

KEVO_TEST(safetensors_every_truncation_fails_cleanly)
{
    // Every proper prefix of a valid file must be refused (never read past the end).
    float a[16];
    for (int i = 0; i < 16; i++)
        a[i] = (float)i;
    kevo_tensor_out out[] = {{"w", KEVO_DTYPE_F32, 2, {4, 4}, a}, {"b", KEVO_DTYPE_F32, 1, {4}, a}};
    char path[2048], cut[2100];
    snprintf(path, sizeof path, "%s/full.safetensors", kevo_test_tmpdir());
    snprintf(cut, sizeof cut, "%s/cut.safetensors", kevo_test_tmpdir());
    kevo_error err;
    CHECK_OK(kevo_safetensors_write(path, out, 2, NULL, 0, &err), &err);
    size_t len;
    char *bytes = kevo_test_slurp(path, &len);
    int accepted = 0;
    for (size_t n = 0; n < len; n++) {
        kevo_test_write(cut, bytes, n);
        kevo_safetensors *f = NULL;
        if (kevo_safetensors_open(cut, &f, &err) == KEVO_OK)
            accepted++;
        kevo_safetensors_free(f);
    }
    CHECK(accepted == 0, "%d truncated prefixes of %zu were accepted", accepted, len);
    free(bytes);
}

// Broken sharded checkpoints, built by hand in the test's directory.
KEVO_TEST(checkpoint_missing_shard)
{
    const char *dir = kevo_test_tmpdir();
    char path[2048];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    const char *index = "{\"metadata\":{},\"weight_map\":{\"a\":\"model-00001-of-00002.safetensors\","
                        "\"b\":\"model-00002-of-00002.safetensors\"}}";
    kevo_test_write(path, index, strlen(index));
    float v = 1;
    kevo_tensor_out t = {"a", KEVO_DTYPE_F32, 1, {1}, &v};
    snprintf(path, sizeof path, "%s/model-00001-of-00002.safetensors", dir);
    kevo_error err;
    CHECK_OK(kevo_safetensors_write(path, &t, 1, NULL, 0, &err), &err);

    kevo_checkpoint *c = NULL;
    kevo_status st = kevo_checkpoint_open(dir, &c, &err);
    CHECK(st == KEVO_ERR_IO && c == NULL, "status %d", st);
    CHECK(kevo_test_contains(err.msg, "model-00002-of-00002.safetensors") &&
          kevo_test_contains(err.msg, "cannot open"), "message: %s", err.msg);

    // A tensor the index places in a shard that does not hold it.
    snprintf(path, sizeof path, "%s/model-00002-of-00002.safetensors", dir);
    kevo_tensor_out t2 = {"c", KEVO_DTYPE_F32, 1, {1}, &v};
    CHECK_OK(kevo_safetensors_write(path, &t2, 1, NULL, 0, &err), &err);
    st = kevo_checkpoint_open(dir, &c, &err);
    CHECK(st == KEVO_ERR_FORMAT && kevo_test_contains(err.msg, "tensor 'b' is indexed in shard "
          "model-00002-of-00002.safetensors, which does not hold it"), "message: %s", err.msg);

    // The same tensor stored in two shards.
    kevo_tensor_out t3[] = {{"a", KEVO_DTYPE_F32, 1, {1}, &v}, {"b", KEVO_DTYPE_F32, 1, {1}, &v}};
    CHECK_OK(kevo_safetensors_write(path, t3, 2, NULL, 0, &err), &err);
    st = kevo_checkpoint_open(dir, &c, &err);
    CHECK(st == KEVO_ERR_FORMAT && kevo_test_contains(err.msg, "tensor 'a' is stored twice"),
          "message: %s", err.msg);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);

    // Shard names must stay inside the folder.
    index = "{\"weight_map\":{\"a\":\"../model.safetensors\"}}";
    kevo_test_write(path, index, strlen(index));
    st = kevo_checkpoint_open(dir, &c, &err);
    CHECK(st == KEVO_ERR_FORMAT && kevo_test_contains(err.msg, "same folder"), "message: %s",
          err.msg);

    // No checkpoint at all.
    st = kevo_checkpoint_open(kevo_test_data("."), &c, &err);
    CHECK(st == KEVO_ERR_IO && kevo_test_contains(err.msg, "no model.safetensors"), "message: %s",
          err.msg);
}

// A write that the system refuses (here: past a file-size limit) says why, at the real path.
KEVO_TEST(safetensors_write_failure_names_the_system_error)
{
    static float big[1 << 18];   // 1 MiB
    kevo_tensor_out t = {"w", KEVO_DTYPE_F32, 1, {1 << 18}, big};
    struct rlimit lim = {64 * 1024, 64 * 1024};
    signal(SIGXFSZ, SIG_IGN);   // fail the write with EFBIG instead of killing the process
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit");
    const char *path = kevo_test_tmp("big.safetensors");
    kevo_error err;
    kevo_status st = kevo_safetensors_write(path, &t, 1, NULL, 0, &err);
    CHECK(st == KEVO_ERR_IO && kevo_test_contains(err.msg, path) &&
              kevo_test_contains(err.msg, strerror(EFBIG)),
          "status %d: %s", st, err.msg);
    CHECK(!kevo_file_exists(path), "a partial %s was left", path);
}
