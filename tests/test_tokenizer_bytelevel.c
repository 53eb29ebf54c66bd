// test_tokenizer_bytelevel.c — kevo's byte-level BPE (src/tokenizer/bytelevel.c) against Qwen3's
// real tokenizer.json run by @lenml/tokenizers, a JS port of transformers.js's tokenizers
// (tools/oracles/oracle_bytelevel.py): a multilingual corpus, added tokens inside text, decoding
// of invalid UTF-8; then small hand-written files for ignore_merges and the refusals.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kevo.h"
#include "tokenizer/tokenizer.h"
#include "test.h"

#define ORACLE "oracle/bytelevel"

// Splits a line into at most 3 tab-separated fields.
static int fields(char *line, char **f, size_t *len)
{
    int n = 0;
    for (char *p = line; n < 3;) {
        char *tab = strchr(p, '\t');
        f[n] = p;
        len[n++] = tab ? (size_t)(tab - p) : strlen(p);
        if (!tab)
            break;
        p = tab + 1;
    }
    return n;
}

static kevo_tokenizer *load_qwen3(void)
{
    kevo_error err = {0};
    kevo_tokenizer *t = NULL;
    CHECK_OK(kevo_tokenizer_load(kevo_test_data(ORACLE "/qwen3"), &t, &err), &err);
    return t;
}

KEVO_TEST(bytelevel_qwen3_loads)
{
    kevo_tokenizer *t = load_qwen3();
    if (!t)
        return;
    CHECK(kevo_tokenizer_n_tokens(t) == 151669, "n_tokens %d", kevo_tokenizer_n_tokens(t));
    CHECK(kevo_tokenizer_added_id(t, "<|vision_start|>") == 151652, "vision_start");
    CHECK(kevo_tokenizer_added_id(t, "<|image_pad|>") == 151655, "image_pad");
    CHECK(!kevo_tokenizer_adds_bos(t), "a Qwen folder adds no BOS");
    CHECK(kevo_tokenizer_bos(t) == -1, "bos %d", kevo_tokenizer_bos(t));
    // tokenizer_config.json's eos_token
    CHECK(kevo_tokenizer_eos(t) == 151645, "eos %d", kevo_tokenizer_eos(t));
    const char *p = kevo_tokenizer_piece(t, 21927);   // "ĠHello": the space as U+0120
    CHECK(p && strcmp(p, "\xC4\xA0Hello") == 0, "piece 21927 is '%s'", p ? p : "(null)");
    kevo_tokenizer_free(t);
}

// Figure labels show the text a piece stands for, with the SentencePiece labels' rules (the
// leading space dropped, spaces alone as "␣", controls escaped): each text below is one token
// of the real Qwen vocabulary, checked first.
KEVO_TEST(bytelevel_piece_display_shows_text)
{
    kevo_tokenizer *t = load_qwen3();
    if (!t)
        return;
    static const struct {
        const char *text, *label;
    } cases[] = {
        {" Hello", "Hello"}, {"Hello", "Hello"}, {"\n", "\\n"}, {"  ", "\xE2\x90\xA3\xE2\x90\xA3"},
        {"\xE4\xB8\xAD", "\xE4\xB8\xAD"}, {" \xE4\xB8\xAD", "\xE4\xB8\xAD"},
        {"\t", "\\t"}, {"<|im_start|>", "<|im_start|>"},
    };
    kevo_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int *ids = NULL, n = 0;
        if (!CHECK_OK(kevo_tokenizer_encode(t, cases[i].text, strlen(cases[i].text), 0, &ids, &n,
                                            &err), &err))
            continue;
        char buf[64];
        if (CHECK(n == 1, "'%s' is %d tokens", cases[i].text, n))
            CHECK(strcmp(kevo_tokenizer_piece_display(t, ids[0], buf, sizeof buf),
                         cases[i].label) == 0, "'%s' shows as '%s', expected '%s'",
                  cases[i].text, buf, cases[i].label);
        free(ids);
    }
    // A piece that is part of a character: the lone byte 0xE4 (the first of "中"), whose piece
    // is U+00E4, the byte table's image of 0xE4.
    int id = -1;
    for (int k = 0; k < kevo_tokenizer_n_tokens(t) && id < 0; k++) {
        const char *p = kevo_tokenizer_piece(t, k);
        if (p && strcmp(p, "\xC3\xA4") == 0)
            id = k;
    }
    char buf[64];
    if (CHECK(id >= 0, "no piece for the byte 0xE4"))
        CHECK(strcmp(kevo_tokenizer_piece_display(t, id, buf, sizeof buf), "\\xE4") == 0,
              "the lone byte 0xE4 shows as '%s'", buf);
    kevo_tokenizer_free(t);
}

KEVO_TEST(bytelevel_corpus_matches_transformers_js)
{
    kevo_tokenizer *t = load_qwen3();
    char *text = kevo_test_slurp(kevo_test_data(ORACLE "/encode.tsv"), NULL);
    if (!CHECK(text, "missing " ORACLE "/encode.tsv (run make oracles)") || !t) {
        free(text);
        kevo_tokenizer_free(t);
        return;
    }
    int n_lines = 0, n_bad = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *f[3];
        size_t len[3], n_in, n_dec;
        if (!CHECK(fields(line, f, len) == 3, "line %d has not 3 fields", n_lines))
            break;
        char *in = kevo_test_unhex(f[0], len[0], &n_in), *want_text = kevo_test_unhex(f[2], len[2], &n_dec);
        int n_want, n_got = 0, *got = NULL, *want = kevo_test_parse_ids(f[1], len[1], &n_want);
        kevo_error err = {0};
        if (CHECK_OK(kevo_tokenizer_encode(t, in, n_in, 0, &got, &n_got, &err), &err)) {
            int i = 0;
            while (i < n_got && i < n_want && got[i] == want[i])
                i++;
            if (!CHECK(i == n_got && i == n_want, "line %d '%.40s': %d ids, expected %d; first "
                       "difference at %d: %d vs %d", n_lines, in, n_got, n_want, i,
                       i < n_got ? got[i] : -1, i < n_want ? want[i] : -1))
                n_bad++;
            char *dec = NULL;
            if (CHECK_OK(kevo_tokenizer_decode(t, want, n_want, &dec, &err), &err))
                // kevo's decode is NUL-terminated: a text with U+0000 compares up to it.
                CHECK((strlen(dec) == n_dec || strlen(want_text) < n_dec) &&
                          strcmp(dec, want_text) == 0,
                      "line %d: decode '%s', expected '%s'", n_lines, dec, want_text);
            free(dec);
        }
        free(got);
        free(want);
        free(in);
        free(want_text);
        n_lines++;
    }
    CHECK(n_lines >= 100, "only %d oracle lines", n_lines);
    CHECK(n_bad == 0, "%d of %d lines differ", n_bad, n_lines);
    free(text);
    kevo_tokenizer_free(t);
}

KEVO_TEST(bytelevel_decode_invalid_utf8_as_transformers_js)
{
    kevo_tokenizer *t = load_qwen3();
    char *text = kevo_test_slurp(kevo_test_data(ORACLE "/decode.tsv"), NULL);
    if (!CHECK(text, "missing " ORACLE "/decode.tsv (run make oracles)") || !t) {
        free(text);
        kevo_tokenizer_free(t);
        return;
    }
    int n_lines = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *f[3];
        size_t len[3], n_want;
        if (!CHECK(fields(line, f, len) == 2, "decode line %d has not 2 fields", n_lines))
            break;
        int n_ids, *ids = kevo_test_parse_ids(f[0], len[0], &n_ids);
        char *want = kevo_test_unhex(f[1], len[1], &n_want), *got = NULL;
        kevo_error err = {0};
        if (CHECK_OK(kevo_tokenizer_decode(t, ids, n_ids, &got, &err), &err))
            CHECK(strlen(got) == n_want && memcmp(got, want, n_want) == 0,
                  "decode line %d: '%s', expected '%s'", n_lines, got, want);
        free(got);
        free(want);
        free(ids);
        n_lines++;
    }
    CHECK(n_lines >= 10, "only %d decode lines", n_lines);
    free(text);
    kevo_tokenizer_free(t);
}

// ---------------------------------------------------------------------------------------------
// Small files: every byte's piece (GPT-2's bytes_to_unicode), "ab", "abc", one merge "a b".

static const char *tmp_folder(const char *name, const char *json)
{
    static char dir[1200];
    char cmd[2600], path[2600];
    snprintf(dir, sizeof dir, "%s/bytelevel-%s", kevo_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0)
        return NULL;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    return kevo_test_write(path, json, strlen(json)) ? dir : NULL;
}

// The small tokenizer.json; `model_extra` goes into the model object, `replace` swaps one
// substring for another (NULL: none).
static char *small_json(const char *model_extra, const char *from, const char *to)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 259,"
                          " \"content\": \"<|x|>\", \"single_word\": false, \"lstrip\": false, "
                          "\"rstrip\": false, \"normalized\": false, \"special\": true}], "
                          "\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": "
                          "\"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": "
                          "{\"Regex\": \"\\\\p{L}+| ?[^\\\\s\\\\p{L}]+|\\\\s+\"}, \"behavior\": "
                          "\"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
                          "\"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": "
                          "false}]}, \"post_processor\": null, \"decoder\": {\"type\": "
                          "\"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, "
                          "\"use_regex\": false}, \"model\": {\"type\": \"BPE\", \"dropout\": "
                          "null, \"unk_token\": null, %s\"vocab\": {", model_extra);
    int n_extra = 0;
    for (int c = 0; c < 256; c++) {
        int self = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
        unsigned cp = self ? (unsigned)c : 256u + (unsigned)n_extra++;
        char u[8];
        if (cp == '"' || cp == '\\')
            snprintf(u, sizeof u, "\\%c", (char)cp);
        else if (cp < 0x80)
            snprintf(u, sizeof u, "%c", (char)cp);
        else
            snprintf(u, sizeof u, "%c%c", (char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 63)));
        n += (size_t)snprintf(s + n, cap - n, "\"%s\": %d, ", u, c);
    }
    n += (size_t)snprintf(s + n, cap - n, "\"ab\": 256, \"abc\": 257, \"bc\": 258}, \"merges\": "
                          "[[\"a\", \"b\"]]}}");
    if (from) {
        char *at = strstr(s, from);
        if (!at) {
            free(s);
            return NULL;
        }
        size_t nf = strlen(from), nt = strlen(to);
        memmove(at + nt, at + nf, strlen(at + nf) + 1);
        memcpy(at, to, nt);
    }
    return s;
}

static void expect_ids(const char *label, const char *json, const char *text, const int *want,
                       int n_want)
{
    const char *dir = tmp_folder(label, json);
    kevo_error err = {0};
    kevo_tokenizer *t = NULL;
    if (!CHECK(dir, "%s: folder", label) ||
        !CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err))
        return;
    int *ids = NULL, n = 0;
    if (CHECK_OK(kevo_tokenizer_encode(t, text, strlen(text), 0, &ids, &n, &err), &err)) {
        int same = n == n_want;
        for (int i = 0; same && i < n; i++)
            same = ids[i] == want[i];
        CHECK(same, "%s: '%s' gave %d ids (first %d)", label, text, n, n ? ids[0] : -1);
    }
    free(ids);
    kevo_tokenizer_free(t);
}

KEVO_TEST(bytelevel_ignore_merges)
{
    char *plain = small_json("", NULL, NULL);
    char *ignore = small_json("\"ignore_merges\": true, ", NULL, NULL);
    // Without ignore_merges "abc" merges a+b only (model.rs merge_word); with it the word is
    // its own piece. "<|x|>" is split out before the regex sees the text.
    expect_ids("merges", plain, "abc", (int[]){256, 'c'}, 2);
    expect_ids("ignore", ignore, "abc", (int[]){257}, 1);
    expect_ids("ignore-added", ignore, "abc<|x|>ab", (int[]){257, 259, 256}, 3);
    free(plain);
    free(ignore);
}

KEVO_TEST(bytelevel_refusals)
{
    static const struct {
        const char *label, *from, *to, *needle;
    } cases[] = {
        {"nfkc", "{\"type\": \"NFC\"}", "{\"type\": \"NFKC\"}", "normalizer type \"NFKC\""},
        {"removed", "\"Isolated\"", "\"Removed\"", "behavior must be \"Isolated\""},
        {"invert", "\"invert\": false", "\"invert\": true", "invert true"},
        {"prefix-space", "\"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": "
                         "false}]", "\"add_prefix_space\": true, \"trim_offsets\": false, "
                         "\"use_regex\": false}]", "add_prefix_space true"},
        {"use-regex", "\"use_regex\": false}]", "\"use_regex\": true}]", "use_regex must be"},
        {"bad-regex", "\\\\p{L}+|", "\\\\p{L}+|(", "pattern:"},
        {"string-pattern", "{\"Regex\":", "{\"String\":", "must be {\"Regex\""},
        {"decoder", "\"decoder\": {\"type\": \"ByteLevel\"", "\"decoder\": {\"type\": \"Fuse\"",
         "decoder type \"Fuse\""},
        {"post", "\"post_processor\": null", "\"post_processor\": {\"type\": \"Bert\"}",
         "post_processor type \"Bert\""},
        {"unk", "\"unk_token\": null", "\"unk_token\": \"a\"", "unk_token"},
        {"byte-missing", "\"!\": 33, ", "", "no piece '!' for byte 0x21"},
        {"merge", "[[\"a\", \"b\"]]", "[[\"a\", \"q\"]]", "model.merges[0]: 'aq'"},
        {"lstrip", "\"lstrip\": false", "\"lstrip\": true", "uses lstrip"},
        {"metaspace", "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\":"
                      " false, \"use_regex\": false}]", "{\"type\": \"Metaspace\"}]",
         "\"Metaspace\" is not supported here"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *json = small_json("", cases[i].from, cases[i].to);
        if (!CHECK(json, "%s: '%s' not found", cases[i].label, cases[i].from))
            continue;
        const char *dir = tmp_folder(cases[i].label, json);
        kevo_error err = {0};
        kevo_tokenizer *t = NULL;
        kevo_status st = dir ? kevo_tokenizer_load(dir, &t, &err) : KEVO_OK;
        CHECK(st == KEVO_ERR_FORMAT && !t, "%s: status %d (%s)", cases[i].label, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle), "%s: message '%s' lacks '%s'",
              cases[i].label, err.msg, cases[i].needle);
        kevo_tokenizer_free(t);
        free(json);
    }
}
