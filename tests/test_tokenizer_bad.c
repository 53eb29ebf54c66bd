// test_tokenizer_bad.c — broken tokenizer files and bad ids: clear errors, never a crash.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer.h"
#include "test.h"

// A folder in the test directory holding `files` (name, content, length; length -1 = strlen).
typedef struct file_spec {
    const char *name;
    const char *data;
    long len;
} file_spec;

static const char *make_folder(const char *name, const file_spec *files, int n)
{
    static char dir[1200];
    char cmd[2600], path[2600];
    snprintf(dir, sizeof dir, "%s/%s", kevo_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        return NULL;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        size_t len = files[i].len < 0 ? strlen(files[i].data) : (size_t)files[i].len;
        if (!kevo_test_write(path, files[i].data, len))
            return NULL;
    }
    return dir;
}

// Loads `dir` expecting failure with `status` and a message containing `needle`; if loading
// succeeds unexpectedly, encodes a little text so that a broken table would show.
static void expect_load_error(const char *label, const char *dir, kevo_status status,
                              const char *needle)
{
    kevo_error err = {0};
    kevo_tokenizer *t = NULL;
    if (!CHECK(dir, "%s: could not write the folder", label))
        return;
    kevo_status st = kevo_tokenizer_load(dir, &t, &err);
    CHECK(st == status && !t, "%s: status %d (%s)", label, st, err.msg);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
    kevo_tokenizer_free(t);
}

// ---------------------------------------------------------------------------------------------
// tokenizer.model

typedef struct pbuf {
    char b[4096];
    size_t n;
} pbuf;

static void pb_varint(pbuf *p, unsigned long long v)
{
    while (v >= 0x80) {
        p->b[p->n++] = (char)(v | 0x80);
        v >>= 7;
    }
    p->b[p->n++] = (char)v;
}

static void pb_bytes(pbuf *p, int field, const char *s, size_t n)
{
    pb_varint(p, (unsigned)field << 3 | 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, s, n);
    p->n += n;
}

static void pb_uint(pbuf *p, int field, unsigned long long v)
{
    pb_varint(p, (unsigned)field << 3);
    pb_varint(p, v);
}

static void pb_piece_n(pbuf *p, const char *piece, size_t len, float score, int type)
{
    pbuf sub = {.n = 0};
    pb_bytes(&sub, 1, piece, len);
    pb_varint(&sub, 2 << 3 | 5);
    memcpy(sub.b + sub.n, &score, 4);
    sub.n += 4;
    pb_uint(&sub, 3, (unsigned)type);
    pb_bytes(p, 1, sub.b, sub.n);
}

static void pb_piece(pbuf *p, const char *piece, float score, int type)
{
    pb_piece_n(p, piece, strlen(piece), score, type);
}

// A small valid BPE model: <unk>, <s>, </s>, "▁", "a", "b", "▁a", "ab"; then `extra` raw bytes.
// model_type and byte_fallback as given; the identity normaliser of LLaMA.
static size_t tiny_model(char *out, int model_type, int byte_fallback, const char *extra_piece,
                         int extra_type)
{
    pbuf p = {.n = 0};
    pb_piece(&p, "<unk>", 0, 2);
    pb_piece(&p, "<s>", 0, 3);
    pb_piece(&p, "</s>", 0, 3);
    pb_piece(&p, "\xE2\x96\x81", -1, 1);
    pb_piece(&p, "a", -2, 1);
    pb_piece(&p, "b", -3, 1);
    pb_piece(&p, "\xE2\x96\x81" "a", -4, 1);
    pb_piece(&p, "ab", -5, 1);
    if (extra_piece)   // "a\\0b" stands for a piece with a NUL byte inside
        pb_piece_n(&p, strcmp(extra_piece, "a\\0b") ? extra_piece : "a\0b",
                   strcmp(extra_piece, "a\\0b") ? strlen(extra_piece) : 3, -6, extra_type);
    pbuf trainer = {.n = 0}, norm = {.n = 0};
    pb_uint(&trainer, 3, (unsigned)model_type);
    pb_uint(&trainer, 35, (unsigned)byte_fallback);
    pb_bytes(&p, 2, trainer.b, trainer.n);
    pb_bytes(&norm, 1, "identity", 8);
    pb_uint(&norm, 3, 1);
    pb_uint(&norm, 4, 0);
    pb_bytes(&p, 3, norm.b, norm.n);
    memcpy(out, p.b, p.n);
    return p.n;
}

KEVO_TEST(tokenizer_model_small_valid)
{
    // The hand-made model is sane, so the refusals below are about what each one changes.
    char m[4096];
    size_t n = tiny_model(m, 2, 0, NULL, 0);
    const char *dir = make_folder("valid", (file_spec[]){{"tokenizer.model", m, (long)n}}, 1);
    kevo_error err;
    kevo_tokenizer *t = NULL;
    int *ids = NULL, n_ids;
    if (CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err) &&
        CHECK_OK(kevo_tokenizer_encode(t, "ab a xz", 7, 0, &ids, &n_ids, &err), &err))
        // "▁ab▁a▁xz": ▁a merges first (score -4 beats ab's -5); x and z are unknown, and
        // sentencepiece fuses a run of unknowns into one <unk>.
        CHECK(n_ids == 5 && ids[0] == 6 && ids[1] == 5 && ids[2] == 6 && ids[3] == 3 &&
                  ids[4] == 0,
              "ids %d: %d %d %d %d", n_ids, n_ids > 0 ? ids[0] : -1, n_ids > 1 ? ids[1] : -1,
              n_ids > 2 ? ids[2] : -1, n_ids > 3 ? ids[3] : -1);
    free(ids);
    kevo_tokenizer_free(t);
}

KEVO_TEST(tokenizer_model_refusals)
{
    char m[4096];
    size_t n;
#define MODEL_CASE(label, type, fallback, piece, ptype, needle)                                  \
    do {                                                                                        \
        n = tiny_model(m, type, fallback, piece, ptype);                                        \
        expect_load_error(label,                                                                \
                          make_folder(label, (file_spec[]){{"tokenizer.model", m, (long)n}}, 1), \
                          KEVO_ERR_FORMAT, needle);                                             \
    } while (0)
    MODEL_CASE("unigram", 1, 0, NULL, 0, "model type unigram; kevo reads BPE models only");
    MODEL_CASE("byte-without-fallback", 2, 0, "<0x41>", 6, "found although byte_fallback is false");
    MODEL_CASE("fallback-without-bytes", 2, 1, NULL, 0, "byte piece <0x00> is missing");
    MODEL_CASE("bad-byte-piece", 2, 1, "<0xZZ>", 6, "is not of the form <0xXX>");
    MODEL_CASE("two-unknowns", 2, 0, "<unk2>", 2, "are both the unknown piece");
    MODEL_CASE("user-defined", 2, 0, "<user>", 4, "user-defined");
    MODEL_CASE("unknown-type", 2, 0, "zz", 9, "has unknown type 9");
    MODEL_CASE("duplicate", 2, 0, "ab", 1, "'ab' is defined twice");
    MODEL_CASE("nul", 2, 0, "a\\0b", 1, "contains a NUL byte");
    MODEL_CASE("empty-piece", 2, 0, "", 1, "is empty");
#undef MODEL_CASE
    expect_load_error("empty-file", make_folder("empty", (file_spec[]){{"tokenizer.model", "", 0}},
                                                1),
                      KEVO_ERR_FORMAT, "no pieces");
    expect_load_error("no-files", make_folder("none", NULL, 0), KEVO_ERR_IO,
                      "no tokenizer.json or tokenizer.model");
    expect_load_error("not-a-dir", "/nonexistent/kevo", KEVO_ERR_IO, "not a directory");
}

KEVO_TEST(tokenizer_model_truncated_and_corrupt)
{
    size_t size;
    char *model = kevo_test_slurp("tests/data/llama2-tokenizer/tokenizer.model", &size);
    if (!CHECK(model && size > 400000, "the LLaMA-2 tokenizer.model is missing"))
        return;
    // Every cut fails with a message naming the file; cuts inside a field name the byte offset.
    size_t cuts[] = {1, 2, 7, 100, 1001, size / 3, size / 2, size - 200, size - 40, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "cut at %zu", cuts[i]);
        expect_load_error(label,
                          make_folder("cut", (file_spec[]){{"tokenizer.model", model,
                                                            (long)cuts[i]}}, 1),
                          KEVO_ERR_FORMAT, "tokenizer.model");
    }
    // Random corruption: whatever each load answers, it never crashes (ASan checks the reads),
    // and a model that still loads encodes text.
    unsigned seed = 12345;
    int refused = 0;
    for (int round = 0; round < 24; round++) {
        char *bad = malloc(size);
        memcpy(bad, model, size);
        for (int k = 0; k < 8; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % size;
            seed = seed * 1103515245u + 12345u;
            bad[at] = (char)(seed >> 16);
        }
        const char *dir = make_folder("corrupt", (file_spec[]){{"tokenizer.model", bad,
                                                               (long)size}}, 1);
        kevo_error err;
        kevo_tokenizer *t = NULL;
        if (kevo_tokenizer_load(dir, &t, &err) == KEVO_OK) {
            int *ids = NULL, n;
            CHECK_OK(kevo_tokenizer_encode(t, "Hello world, <s> caf\xc3\xa9", 20, 1, &ids, &n, &err),
                     &err);
            char *text = NULL;
            kevo_tokenizer_decode(t, ids, n, &text, &err);
            free(text);
            free(ids);
        } else {
            refused++;
            CHECK(err.msg[0] != '\0', "round %d: refused without a message", round);
        }
        kevo_tokenizer_free(t);
        free(bad);
    }
    printf("  %d of 24 corrupted models refused\n", refused);
    free(model);
}

// ---------------------------------------------------------------------------------------------
// tokenizer.json

static const char json_ok[] =
    "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true, "
    "\"normalized\": false}],"
    " \"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", "
    "\"prepend\": \"\xE2\x96\x81\"}, {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, "
    "\"content\": \"\xE2\x96\x81\"}]},"
    " \"pre_tokenizer\": null, \"decoder\": null,"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
    "\"byte_fallback\": false, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, "
    "\"\xE2\x96\x81\": 3, \"a\": 4, \"b\": 5, \"\xE2\x96\x81" "a\": 6, \"ab\": 7}, "
    "\"merges\": [\"\xE2\x96\x81 a\", \"a b\"]}}";

// json_ok with the first occurrence of `from` replaced by `to`.
static char *json_with(const char *from, const char *to)
{
    const char *at = strstr(json_ok, from);
    if (!at)
        return NULL;
    size_t n = strlen(json_ok) - strlen(from) + strlen(to);
    char *s = malloc(n + 1);
    size_t pre = (size_t)(at - json_ok);
    memcpy(s, json_ok, pre);
    strcpy(s + pre, to);
    strcat(s, at + strlen(from));
    return s;
}

KEVO_TEST(tokenizer_json_small_valid)
{
    const char *dir = make_folder("json-ok", (file_spec[]){{"tokenizer.json", json_ok, -1}}, 1);
    kevo_error err;
    kevo_tokenizer *t = NULL;
    int *ids = NULL, n;
    if (CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err) &&
        CHECK_OK(kevo_tokenizer_encode(t, "ab a xz", 7, 0, &ids, &n, &err), &err))
        // By rank: "▁ a" (rank 0) before "a b"; x and z are unknown and fuse into one <unk>.
        CHECK(n == 5 && ids[0] == 6 && ids[1] == 5 && ids[2] == 6 && ids[3] == 3 && ids[4] == 0,
              "%d ids", n);
    free(ids);
    kevo_tokenizer_free(t);
}

KEVO_TEST(tokenizer_json_refusals)
{
    static const struct {
        const char *label, *from, *to, *needle;
    } cases[] = {
        {"truncated", "\"merges\"", "\"merges", "invalid JSON at line 1"},
        {"unigram", "\"type\": \"BPE\"", "\"type\": \"Unigram\"", "must be a BPE model"},
        {"merge-unknown", "\"a b\"", "\"a c\"", "model.merges[1]: 'c' is not in the vocab"},
        {"merge-shape", "\"a b\"", "\"ab\"", "model.merges[1] is not a pair of pieces"},
        {"vocab-id", "\"b\": 5", "\"b\": -5", "model.vocab[\"b\"] is not a token id"},
        {"vocab-dup", "\"b\": 5", "\"b\": 4", "token id 4 is defined twice"},
        {"normalized", "\"normalized\": false", "\"normalized\": true", "is normalized"},
        {"lstrip", "\"special\": true,", "\"special\": true, \"lstrip\": true,",
         "uses lstrip, rstrip or single_word"},
        {"nfkc", "\"type\": \"Prepend\", \"prepend\": \"\xE2\x96\x81\"", "\"type\": \"NFKC\"",
         "normalizer type \"NFKC\" is not supported"},
        {"regex", "{\"String\": \" \"}", "{\"Regex\": \" +\"}", "one-character String pattern"},
        {"bytelevel", "\"pre_tokenizer\": null", "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}",
         "pre_tokenizer type \"ByteLevel\" is not supported"},
        {"dropout", "\"fuse_unk\": true", "\"fuse_unk\": true, \"dropout\": 0.1", "dropout"},
        {"no-unk", "\"unk_token\": \"<unk>\"", "\"unk_token\": null", "unk_token is missing"},
        {"added-clash", "\"content\": \"<unk>\"", "\"content\": \"<x>\"",
         "which is the piece '<unk>': the tokenizer files disagree"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = json_with(cases[i].from, cases[i].to);
        if (!CHECK(json, "%s: '%s' not found", cases[i].label, cases[i].from))
            continue;
        expect_load_error(cases[i].label,
                          make_folder(cases[i].label,
                                      (file_spec[]){{"tokenizer.json", json, -1}}, 1),
                          KEVO_ERR_FORMAT, cases[i].needle);
        free(json);
    }
    // Every prefix of a valid file is refused with a message, and none crashes.
    size_t n = strlen(json_ok);
    for (size_t cut = 0; cut < n; cut += 37)
        expect_load_error("json prefix",
                          make_folder("prefix", (file_spec[]){{"tokenizer.json", json_ok,
                                                              (long)cut}}, 1),
                          KEVO_ERR_FORMAT, "tokenizer.json");
}

KEVO_TEST(tokenizer_config_refusals)
{
    static const struct {
        const char *label, *file, *content, *needle;
        kevo_status status;
    } cases[] = {
        {"legacy-type", "tokenizer_config.json", "{\"legacy\": \"yes\"}",
         "legacy must be true or false", KEVO_ERR_CONFIG},
        {"config-syntax", "tokenizer_config.json", "{\"legacy\": tru", "invalid JSON",
         KEVO_ERR_FORMAT},
        {"added-clash", "added_tokens.json", "{\"<x>\": 1}", "which is the piece '<s>'",
         KEVO_ERR_FORMAT},
        {"added-id", "added_tokens.json", "{\"<x>\": \"9\"}", "the id must be a number",
         KEVO_ERR_FORMAT},
        {"bos-missing", "special_tokens_map.json", "{\"bos_token\": \"<bos>\"}",
         "'<bos>' is neither a piece nor an added token", KEVO_ERR_FORMAT},
        {"decoder-key", "tokenizer_config.json",
         "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<y>\"}}}",
         "needs a numeric key", KEVO_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_load_error(cases[i].label,
                          make_folder(cases[i].label,
                                      (file_spec[]){{"tokenizer.json", json_ok, -1},
                                                    {cases[i].file, cases[i].content, -1}},
                                      2),
                          cases[i].status, cases[i].needle);
}

KEVO_TEST(tokenizer_decode_refuses_bad_ids)
{
    const char *dir = make_folder("json-ok", (file_spec[]){{"tokenizer.json", json_ok, -1},
                                                           {"added_tokens.json",
                                                            "{\"<image>\": 10}", -1}},
                                  2);
    kevo_error err;
    kevo_tokenizer *t = NULL;
    if (!CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err))
        return;
    CHECK(kevo_tokenizer_n_tokens(t) == 11, "n_tokens %d", kevo_tokenizer_n_tokens(t));
    char *text = (char *)1;
    int bad[][2] = {{4, 11}, {4, -1}, {9, 4}, {2147483647, 4}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(kevo_tokenizer_decode(t, bad[i], 2, &text, &err) == KEVO_ERR_ARG && !text &&
                  kevo_test_contains(err.msg, "cannot decode id"),
              "ids %d %d: %s", bad[i][0], bad[i][1], err.msg);
    }
    CHECK(kevo_tokenizer_decode(t, (int[]){9}, 1, &text, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "undefined"),
          "a hole between the vocabulary and an added token: %s", err.msg);
    CHECK(!kevo_tokenizer_piece(t, 9), "a hole has no piece");
    kevo_tokenizer_free(t);
}
