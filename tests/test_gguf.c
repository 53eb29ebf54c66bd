// test_gguf.c — the GGUF reader against tools/oracles/oracle_gguf.py's files (read alike by Hugging
// Face's parser), and against truncated and hostile files.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "io/gguf.h"
#include "test.h"

static cJSON *truth(void)
{
    char *text = kevo_test_slurp(kevo_test_data("oracle/gguf/truth.json"), NULL);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    CHECK(j != NULL, "cannot read oracle/gguf/truth.json");
    free(text);
    return j;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    CHECK(cJSON_IsNumber(v), "truth.json lacks %s", key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int same_bytes_as_hex(const void *p, const char *hex)
{
    const unsigned char *b = p;
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || b[i] != v)
            return 0;
    }
    return 1;
}

static int str_eq(kevo_gguf_str s, const char *z)
{
    return s.len == strlen(z) && memcmp(s.s, z, s.len) == 0;
}

// Every key, value and tensor as written, for each reference file.
KEVO_TEST(gguf_reads_the_reference_files)
{
    cJSON *t = truth(), *file;
    cJSON_ArrayForEach(file, t) {
        const char *name = file->string;
        kevo_gguf *g = NULL;
        kevo_error err;
        char rel[256];
        snprintf(rel, sizeof rel, "oracle/gguf/%s", name);
        if (!CHECK_OK(kevo_gguf_open(kevo_test_data(rel), &g, &err), &err))
            continue;
        CHECK(kevo_gguf_version(g) == (uint32_t)num(file, "version") &&
                  kevo_gguf_alignment(g) == (uint64_t)num(file, "alignment") &&
                  kevo_gguf_data_offset(g) == (uint64_t)num(file, "data_offset"),
              "%s: version %u, alignment %llu, data at %llu", name, kevo_gguf_version(g),
              (unsigned long long)kevo_gguf_alignment(g),
              (unsigned long long)kevo_gguf_data_offset(g));
        const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(file, "kv"), *want;
        CHECK(kevo_gguf_n_kv(g) == (size_t)cJSON_GetArraySize(kvs), "%s: %zu keys", name,
              kevo_gguf_n_kv(g));
        size_t i = 0;
        cJSON_ArrayForEach(want, kvs) {
            const kevo_gguf_kv *kv = kevo_gguf_kv_at(g, i++);
            if (!CHECK(kv && str_eq(kv->key, str(want, "key")), "%s: key %zu", name, i - 1))
                continue;
            CHECK(kv->type == (kevo_gguf_type)num(want, "type") &&
                      kv->elem_type == (kevo_gguf_type)num(want, "elem_type") &&
                      kv->n == (uint64_t)num(want, "n"),
                  "%s: %s: type %d of %d x %llu", name, str(want, "key"), kv->type,
                  kv->elem_type, (unsigned long long)kv->n);
            CHECK(same_bytes_as_hex(kv->value, str(want, "value_hex")), "%s: %s: value bytes",
                  name, str(want, "key"));
            CHECK(kevo_gguf_find(g, str(want, "key")) == kv, "%s: find(%s)", name,
                  str(want, "key"));
            const cJSON *strings = cJSON_GetObjectItemCaseSensitive(want, "strings"), *s;
            uint64_t k = 0;
            cJSON_ArrayForEach(s, strings) {
                CHECK(kv->strings && str_eq(kv->strings[k], s->valuestring),
                      "%s: %s[%llu]", name, str(want, "key"), (unsigned long long)k);
                k++;
            }
        }
        const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(file, "tensors");
        CHECK(kevo_gguf_n_tensors(g) == (size_t)cJSON_GetArraySize(tensors), "%s: %zu tensors",
              name, kevo_gguf_n_tensors(g));
        i = 0;
        cJSON_ArrayForEach(want, tensors) {
            const kevo_gguf_tensor *ti = kevo_gguf_tensor_at(g, i++);
            if (!CHECK(ti && str_eq(ti->name, str(want, "name")), "%s: tensor %zu", name, i - 1))
                continue;
            const cJSON *ne = cJSON_GetObjectItemCaseSensitive(want, "ne");
            int dims_ok = ti->n_dims == cJSON_GetArraySize(ne);
            for (int d = 0; d < 4; d++)
                dims_ok &= ti->ne[d] == (d < cJSON_GetArraySize(ne)
                                             ? (uint64_t)cJSON_GetArrayItem(ne, d)->valuedouble
                                             : 1);
            char digest[65];
            kevo_sha256 h;
            kevo_sha256_init(&h);
            kevo_sha256_update(&h, ti->data, (size_t)ti->n_bytes);
            kevo_sha256_hex(&h, digest);
            CHECK(dims_ok && ti->ggml_type == (uint32_t)num(want, "ggml_type") &&
                      ti->file_offset == (uint64_t)num(want, "file_offset") &&
                      ti->n_bytes == (uint64_t)num(want, "n_bytes") &&
                      !strcmp(digest, str(want, "sha256")),
                  "%s: tensor %s: %d dims, type %u, at %llu, %llu bytes, sha256 %s", name,
                  str(want, "name"), ti->n_dims, ti->ggml_type,
                  (unsigned long long)ti->file_offset, (unsigned long long)ti->n_bytes, digest);
            CHECK(kevo_gguf_find_tensor(g, str(want, "name")) == ti, "%s: find_tensor", name);
        }
        kevo_gguf_free(g);
    }
    cJSON_Delete(t);
}

// Typed reads convert what fits and name the key of what does not.
KEVO_TEST(gguf_typed_reads)
{
    kevo_gguf *g = NULL;
    kevo_error err;
    if (!CHECK_OK(kevo_gguf_open(kevo_test_data("oracle/gguf/v3.gguf"), &g, &err), &err))
        return;
    uint64_t u = 0;
    double d = 0;
    kevo_gguf_str s = {0};
    CHECK(kevo_gguf_get_u64(g, "test.u64", &u, &err) == KEVO_OK && u == (1ull << 63) + 12345,
          "test.u64 = %llu", (unsigned long long)u);
    CHECK(kevo_gguf_get_u64(g, "llama.context_length", &u, &err) == KEVO_OK && u == 4096,
          "context_length = %llu", (unsigned long long)u);
    CHECK(kevo_gguf_get_f64(g, "test.f32", &d, &err) == KEVO_OK && d == (double)1e-5f,
          "test.f32 = %.9g", d);
    CHECK(kevo_gguf_get_str(g, "general.architecture", &s, &err) == KEVO_OK &&
              str_eq(s, "llama"), "architecture");
    const kevo_gguf_kv *scores = kevo_gguf_find(g, "tokenizer.ggml.scores");
    CHECK(scores && kevo_gguf_array_f64(scores, 3) == -1000.0, "scores[3]");
    const kevo_gguf_kv *i64s = kevo_gguf_find(g, "test.i64s");
    CHECK(i64s && kevo_gguf_array_f64(i64s, 0) == -1.0, "i64s[0]");
    struct { const char *key; int is_float, is_str; const char *says; } bad[] = {
        {"test.i8", 0, 0, "negative"},          {"test.f32", 0, 0, "not an integer"},
        {"test.u32", 1, 0, "not a float"},       {"test.u8", 0, 1, "not a string"},
        {"tokenizer.ggml.tokens", 0, 1, "array"}, {"no.such.key", 0, 0, "missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kevo_status st = bad[i].is_str     ? kevo_gguf_get_str(g, bad[i].key, &s, &err)
                         : bad[i].is_float ? kevo_gguf_get_f64(g, bad[i].key, &d, &err)
                                           : kevo_gguf_get_u64(g, bad[i].key, &u, &err);
        CHECK(st == KEVO_ERR_FORMAT && kevo_test_contains(err.msg, bad[i].key) &&
                  kevo_test_contains(err.msg, bad[i].says),
              "%s: status %d, '%s'", bad[i].key, st, err.msg);
    }
    kevo_gguf_free(g);
}

// Every prefix that cuts into the last tensor's data or anything before it is refused.
KEVO_TEST(gguf_every_truncation_fails_cleanly)
{
    size_t len;
    char *bytes = kevo_test_slurp(kevo_test_data("oracle/gguf/v3.gguf"), &len);
    kevo_gguf *g = NULL;
    kevo_error err;
    if (!CHECK(bytes, "no v3.gguf") ||
        !CHECK_OK(kevo_gguf_open(kevo_test_data("oracle/gguf/v3.gguf"), &g, &err), &err)) {
        free(bytes);
        return;
    }
    uint64_t needed = 0;
    for (size_t i = 0; i < kevo_gguf_n_tensors(g); i++) {
        const kevo_gguf_tensor *t = kevo_gguf_tensor_at(g, i);
        needed = t->file_offset + t->n_bytes > needed ? t->file_offset + t->n_bytes : needed;
    }
    uint64_t data_at = kevo_gguf_data_offset(g);
    kevo_gguf_free(g);
    const char *cut = kevo_test_tmp("cut.gguf");
    int wrong = 0;
    // Every cut through the header, keys and tensor infos; in the data only the boundary and a
    // sample matter.
    for (size_t n = 0; n <= len; n += n < data_at || n + 1 >= needed ? 1 : 61) {
        kevo_test_write(cut, bytes, n);
        kevo_status st = kevo_gguf_open(cut, &g, &err);
        wrong += (st == KEVO_OK) != (n >= needed);
        kevo_gguf_free(g);
    }
    CHECK(wrong == 0, "%d prefixes judged wrongly (needed %llu of %zu bytes)", wrong,
          (unsigned long long)needed, len);
    free(bytes);
}

// A hand-made file: the header, then `body`.
static const char *write_gguf(uint32_t version, uint64_t n_tensors, uint64_t n_kv,
                              const void *body, size_t n)
{
    unsigned char buf[4096];
    memcpy(buf, "GGUF", 4);
    memcpy(buf + 4, &version, 4);
    memcpy(buf + 8, &n_tensors, 8);
    memcpy(buf + 16, &n_kv, 8);
    memcpy(buf + 24, body, n);
    const char *path = kevo_test_tmp("bad.gguf");
    kevo_test_write(path, buf, 24 + n);
    return path;
}

// Appends a GGUF string.
static size_t put_str(unsigned char *p, const char *s)
{
    uint64_t n = strlen(s);
    memcpy(p, &n, 8);
    memcpy(p + 8, s, n);
    return 8 + n;
}

static size_t put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); return 4; }
static size_t put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); return 8; }

// One tensor info: name, dims, type, offset.
static size_t put_tensor(unsigned char *p, const char *name, int n_dims, const uint64_t *ne,
                         uint32_t type, uint64_t offset)
{
    size_t at = put_str(p, name);
    at += put_u32(p + at, (uint32_t)n_dims);
    for (int d = 0; d < n_dims; d++)
        at += put_u64(p + at, ne[d]);
    at += put_u32(p + at, type);
    return at + put_u64(p + at, offset);
}

static void refused(const char *path, const char *says, const char *what)
{
    kevo_gguf *g = NULL;
    kevo_error err;
    kevo_status st = kevo_gguf_open(path, &g, &err);
    CHECK(st == KEVO_ERR_FORMAT && g == NULL && kevo_test_contains(err.msg, says),
          "%s: status %d, '%s' (want '%s')", what, st, err.msg, says);
    kevo_gguf_free(g);
}

KEVO_TEST(gguf_hostile_files_refused)
{
    unsigned char b[2048];
    size_t n;
    refused(write_gguf(1, 0, 0, "", 0), "version 1", "version 1");
    refused(write_gguf(0x03000000u, 0, 0, "", 0), "big-endian", "big-endian");
    // Counts far beyond the file: refused before allocating for them.
    refused(write_gguf(3, 0, 1ull << 60, "", 0), "cannot fit", "2^60 keys");
    refused(write_gguf(3, 1ull << 60, 0, "", 0), "cannot fit", "2^60 tensors");
    n = put_str(b, "a");
    n += put_u32(b + n, KEVO_GGUF_ARRAY);
    n += put_u32(b + n, KEVO_GGUF_U32);
    n += put_u64(b + n, 1ull << 61);
    refused(write_gguf(3, 0, 1, b, n), "cannot fit", "an array of 2^61");
    n = put_str(b, "a");
    n += put_u32(b + n, KEVO_GGUF_ARRAY);
    n += put_u32(b + n, KEVO_GGUF_ARRAY);
    n += put_u64(b + n, 1);
    refused(write_gguf(3, 0, 1, b, n), "arrays of arrays", "nested array");
    n = put_str(b, "a");
    n += put_u32(b + n, 13);
    n += put_u64(b + n, 0);
    refused(write_gguf(3, 0, 1, b, n), "unknown value type 13", "value type 13");
    n = put_str(b, "k");
    n += put_u32(b + n, KEVO_GGUF_U8);
    b[n++] = 1;
    n += put_str(b + n, "k");
    n += put_u32(b + n, KEVO_GGUF_U8);
    b[n++] = 2;
    refused(write_gguf(3, 0, 2, b, n), "'k' appears twice", "duplicate key");
    n = put_str(b, "general.alignment");
    n += put_u32(b + n, KEVO_GGUF_U32);
    n += put_u32(b + n, 48);
    refused(write_gguf(3, 0, 1, b, n), "power of two", "alignment 48");
    n = put_str(b, "a");
    n += put_u32(b + n, KEVO_GGUF_STRING);
    n += put_u64(b + n, 1ull << 62);   // a string claiming 2^62 bytes
    refused(write_gguf(3, 0, 1, b, n), "runs past the end", "long string");

    const uint64_t ne5[5] = {1, 1, 1, 1, 1}, ne64[1] = {64}, ne_big[2] = {1ull << 40, 1ull << 40},
                   ne33[1] = {33};
    unsigned char zeros[544] = {0};
    struct { int n_dims; const uint64_t *ne; uint32_t type; uint64_t offset; const char *says; }
        t[] = {{5, ne5, 0, 0, "5 dimensions"},       {1, ne64, 31, 0, "unknown ggml type 31"},
               {1, ne33, 8, 0, "whole Q8_0 blocks"}, {1, ne64, 0, 16, "multiple of the align"},
               {1, ne64, 0, 1024, "past the end"},   {2, ne_big, 0, 0, "overflow"},
               // found by fuzz_gguf: an offset of 2^63 (no pointer may be formed from it)
               {1, ne64, 0, 1ull << 63, "past the end"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        n = put_tensor(b, "w", t[i].n_dims, t[i].ne, t[i].type, t[i].offset);
        size_t pad = (32 - (24 + n) % 32) % 32;
        memcpy(b + n, zeros, pad + 256);   // padding, then 256 bytes of data
        refused(write_gguf(3, 1, 0, b, n + pad + 256), t[i].says, t[i].says);
    }
    n = put_tensor(b, "w", 1, ne64, 0, 0);
    n += put_tensor(b + n, "w", 1, ne64, 0, 256);
    size_t pad = (32 - (24 + n) % 32) % 32;
    memcpy(b + n, zeros, pad + 512);   // padding, then two tensors' data
    refused(write_gguf(3, 2, 0, b, n + pad + 512), "'w' appears twice",
            "duplicate tensor");
    refused(kevo_test_data("oracle/gguf/truth.json"), "not a GGUF file", "a JSON file");
}
