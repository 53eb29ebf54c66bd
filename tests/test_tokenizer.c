// test_tokenizer.c — kevo's tokenizer against sentencepiece (tools/oracles/oracle_tokenizer.py):
// the corpus, added tokens, decoding, the templates, `kevo tokenize`, and files that are broken.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "kevo.h"
#include "tokenizer/tokenizer.h"
#include "test.h"

static const char *const folders[] = {"llama2-model",          "llama2-model-nonlegacy",
                                      "llama2-json",           "llama2-json-metaspace",
                                      "tiny-model",            "tiny-json"};
#define N_FOLDERS (int)(sizeof folders / sizeof folders[0])

// ---------------------------------------------------------------------------------------------
// Oracle files: tab-separated lines of hex strings ("-" = empty) and space-separated ids.

typedef struct lines {
    char *text;
    char **line;
    int n;
} lines;

static int read_lines(const char *rel, lines *out)
{
    memset(out, 0, sizeof *out);
    out->text = kevo_test_slurp(kevo_test_data(rel), NULL);
    if (!CHECK(out->text, "missing oracle file %s (run make oracles)", rel))
        return 0;
    int cap = 16;
    out->line = malloc(cap * sizeof *out->line);
    for (char *p = out->text; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (out->n == cap)
            out->line = realloc(out->line, (cap *= 2) * sizeof *out->line);
        out->line[out->n++] = p;
        if (!nl)
            break;
        p = nl + 1;
    }
    return 1;
}

static void free_lines(lines *l)
{
    free(l->text);
    free(l->line);
}

// The i-th tab-separated field of a line (0-based) and its length; "" when the line is shorter.
static const char *field(const char *line, int i, size_t *len)
{
    *len = 0;
    for (; i > 0; i--) {
        line = strchr(line, '\t');
        if (!line)
            return "";
        line++;
    }
    const char *end = strchr(line, '\t');
    *len = end ? (size_t)(end - line) : strlen(line);
    return line;
}

// Compares id arrays; on a difference prints where and returns 0.
static int same_ids(const char *what, const int *got, int n_got, const int *want, int n_want)
{
    int i = 0;
    while (i < n_got && i < n_want && got[i] == want[i])
        i++;
    if (i == n_got && i == n_want)
        return 1;
    printf("  %s: %d ids, expected %d; first difference at %d: got %d, expected %d\n", what,
           n_got, n_want, i, i < n_got ? got[i] : -1, i < n_want ? want[i] : -1);
    return 0;
}

static kevo_tokenizer *load_folder(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "oracle/tokenizer/%s", name);
    kevo_error err;
    kevo_tokenizer *t = NULL;
    CHECK_OK(kevo_tokenizer_load(kevo_test_data(rel), &t, &err), &err);
    return t;
}

// ---------------------------------------------------------------------------------------------
// Against sentencepiece

KEVO_TEST(tokenizer_corpus_matches_sentencepiece)
{
    lines corpus;
    if (!read_lines("oracle/tokenizer/corpus.tsv", &corpus))
        return;
    size_t total_bytes = 0;
    for (int f = 0; f < N_FOLDERS; f++) {
        kevo_tokenizer *t = load_folder(folders[f]);
        char rel[128];
        snprintf(rel, sizeof rel, "oracle/tokenizer/%s/encode.tsv", folders[f]);
        lines expect;
        if (!t || !read_lines(rel, &expect)) {
            kevo_tokenizer_free(t);
            continue;
        }
        CHECK(expect.n == corpus.n, "%s: %d expectations for %d texts", folders[f], expect.n,
              corpus.n);
        int mismatches = 0;
        for (int i = 0; i < corpus.n && i < expect.n; i++) {
            size_t hl, len;
            const char *h = field(corpus.line[i], 0, &hl);
            char *text = kevo_test_unhex(h, hl, &len);
            int n_want, n_got, *got = NULL;
            int *want = kevo_test_parse_ids(expect.line[i], strlen(expect.line[i]), &n_want);
            kevo_error err;
            char what[160];
            snprintf(what, sizeof what, "%s, text %d (%zu bytes)", folders[f], i, len);
            if (CHECK_OK(kevo_tokenizer_encode(t, text, len, 0, &got, &n_got, &err), &err) &&
                !same_ids(what, got, n_got, want, n_want))
                mismatches++;
            if (f == 0)
                total_bytes += len;
            free(text);
            free(got);
            free(want);
        }
        CHECK(mismatches == 0, "%s: %d of %d texts differ from sentencepiece", folders[f],
              mismatches, corpus.n);
        printf("  %s: %d texts, %d mismatches\n", folders[f], corpus.n, mismatches);
        free_lines(&expect);
        kevo_tokenizer_free(t);
    }
    printf("  corpus: %d texts, %zu bytes\n", corpus.n, total_bytes);
    free_lines(&corpus);
}

KEVO_TEST(tokenizer_added_tokens_split_like_transformers)
{
    for (int f = 0; f < N_FOLDERS; f++) {
        kevo_tokenizer *t = load_folder(folders[f]);
        char rel[128];
        snprintf(rel, sizeof rel, "oracle/tokenizer/%s/special.tsv", folders[f]);
        lines l;
        if (!t || !read_lines(rel, &l)) {
            kevo_tokenizer_free(t);
            continue;
        }
        for (int i = 0; i < l.n; i++) {
            size_t hl, il, len;
            const char *h = field(l.line[i], 0, &hl), *w = field(l.line[i], 1, &il);
            char *text = kevo_test_unhex(h, hl, &len);
            int n_want, n_got, *got = NULL, *want = kevo_test_parse_ids(w, il, &n_want);
            kevo_error err;
            char what[200];
            snprintf(what, sizeof what, "%s, '%s'", folders[f], text);
            if (CHECK_OK(kevo_tokenizer_encode(t, text, len, 0, &got, &n_got, &err), &err))
                CHECK(same_ids(what, got, n_got, want, n_want), "%s differs", what);
            free(text);
            free(got);
            free(want);
        }
        free_lines(&l);
        kevo_tokenizer_free(t);
    }
}

KEVO_TEST(tokenizer_decode_matches_sentencepiece)
{
    lines corpus;
    if (!read_lines("oracle/tokenizer/corpus.tsv", &corpus))
        return;
    for (int f = 0; f < N_FOLDERS; f++) {
        kevo_tokenizer *t = load_folder(folders[f]);
        char rel[128];
        snprintf(rel, sizeof rel, "oracle/tokenizer/%s/decode.tsv", folders[f]);
        lines l;
        if (!t || !read_lines(rel, &l)) {
            kevo_tokenizer_free(t);
            continue;
        }
        int bad = 0;
        for (int i = 0; i < l.n; i++) {
            size_t il, hl, len;
            const char *w = field(l.line[i], 0, &il), *h = field(l.line[i], 1, &hl);
            int n;
            int *ids = kevo_test_parse_ids(w, il, &n);
            char *want = kevo_test_unhex(h, hl, &len), *got = NULL;
            kevo_error err;
            // The decoded C string ends at a NUL byte the text holds (the corpus has some).
            (void)len;
            if (CHECK_OK(kevo_tokenizer_decode(t, ids, n, &got, &err), &err) &&
                strcmp(got, want) != 0) {
                if (bad++ < 3)
                    printf("  %s, decode case %d: got '%s', expected '%s'\n", folders[f], i, got,
                           want);
            }
            free(ids);
            free(want);
            free(got);
        }
        CHECK(bad == 0, "%s: %d of %d decodes differ from sentencepiece", folders[f], bad, l.n);
        free_lines(&l);
        kevo_tokenizer_free(t);
    }
    // decode(encode(x)) == x wherever sentencepiece round-trips x (the corpus marks where).
    kevo_tokenizer *t = load_folder("llama2-model");
    int round_trips = 0;
    for (int i = 0; t && i < corpus.n; i++) {
        size_t hl, fl, len;
        const char *h = field(corpus.line[i], 0, &hl), *flag = field(corpus.line[i], 1, &fl);
        if (flag[0] != '1')
            continue;
        char *text = kevo_test_unhex(h, hl, &len), *back = NULL;
        int *ids = NULL, n;
        kevo_error err;
        if (CHECK_OK(kevo_tokenizer_encode(t, text, len, 0, &ids, &n, &err), &err) &&
            CHECK_OK(kevo_tokenizer_decode(t, ids, n, &back, &err), &err))
            round_trips += CHECK(strcmp(back, text) == 0, "text %d does not round-trip", i);
        free(text);
        free(ids);
        free(back);
    }
    CHECK(round_trips > 100, "only %d round trips checked", round_trips);
    kevo_tokenizer_free(t);
    free_lines(&corpus);
}

KEVO_TEST(template_ids_match_llava)
{
    for (int f = 0; f < N_FOLDERS; f++) {
        kevo_tokenizer *t = load_folder(folders[f]);
        char rel[128];
        snprintf(rel, sizeof rel, "oracle/tokenizer/%s/templates.tsv", folders[f]);
        lines l;
        if (!t || !read_lines(rel, &l)) {
            kevo_tokenizer_free(t);
            continue;
        }
        for (int i = 0; i < l.n; i++) {
            size_t nl, ql, pl, il, qlen, plen;
            const char *name = field(l.line[i], 0, &nl), *qh = field(l.line[i], 1, &ql);
            const char *ph = field(l.line[i], 2, &pl), *w = field(l.line[i], 3, &il);
            char tpl_name[32];
            snprintf(tpl_name, sizeof tpl_name, "%.*s", (int)nl, name);
            char *q = kevo_test_unhex(qh, ql, &qlen);
            char *want_prompt = kevo_test_unhex(ph, pl, &plen);
            int n_want, *want = kevo_test_parse_ids(w, il, &n_want), *ids = NULL, n, pos;
            char *prompt = NULL;
            kevo_template tpl;
            kevo_error err;
            char what[200];
            snprintf(what, sizeof what, "%s, %s, question '%s'", folders[f], tpl_name, q);
            if (CHECK_OK(kevo_template_parse(tpl_name, &tpl, &err), &err) &&
                CHECK_OK(kevo_template_prompt(t, tpl, q, &prompt, &ids, &n, &pos, &err), &err)) {
                CHECK(strcmp(prompt, want_prompt) == 0, "%s: prompt '%s'", what, prompt);
                CHECK(same_ids(what, ids, n, want, n_want), "%s: ids differ", what);
                int slots = 0;
                for (int k = 0; k < n; k++)
                    slots += ids[k] == KEVO_IMAGE_SLOT;
                CHECK(slots == 1 && pos >= 0 && pos < n && ids[pos] == KEVO_IMAGE_SLOT,
                      "%s: %d slots, position %d", what, slots, pos);
            }
            free(q);
            free(want_prompt);
            free(want);
            free(ids);
            free(prompt);
        }
        free_lines(&l);
        kevo_tokenizer_free(t);
    }
}

KEVO_TEST(template_refusals)
{
    kevo_tokenizer *t = load_folder("llama2-json");
    if (!t)
        return;
    kevo_template tpl;
    kevo_error err;
    CHECK(kevo_template_parse("vicuna", &tpl, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "llava_v1, llava-hf, mistral-instruct, chatml or qwen2-vl"),
          "unknown template: %s", err.msg);
    CHECK(strcmp(kevo_template_name(KEVO_TEMPLATE_LLAVA_HF), "llava-hf") == 0 &&
              strcmp(kevo_template_name(KEVO_TEMPLATE_LLAVA_V1), "llava_v1") == 0,
          "template names");
    char *prompt;
    int *ids, n, pos;
    CHECK(kevo_template_prompt(t, KEVO_TEMPLATE_LLAVA_HF, "two <image> here", &prompt, &ids, &n,
                               &pos, &err) == KEVO_ERR_ARG &&
              kevo_test_contains(err.msg, "contains \"<image>\"") && !prompt && !ids,
          "a question with <image>: %s", err.msg);
    kevo_tokenizer_free(t);
}

// ---------------------------------------------------------------------------------------------
// Pieces and labels

KEVO_TEST(tokenizer_pieces_and_labels)
{
    kevo_tokenizer *t = load_folder("llama2-json");
    if (!t)
        return;
    CHECK(kevo_tokenizer_n_tokens(t) == 32002 && kevo_tokenizer_bos(t) == 1 &&
              kevo_tokenizer_eos(t) == 2 && kevo_tokenizer_added_id(t, "<image>") == 32000 &&
              kevo_tokenizer_added_id(t, "<pad>") == 32001,
          "llava-hf vocabulary: %d tokens, bos %d, eos %d", kevo_tokenizer_n_tokens(t),
          kevo_tokenizer_bos(t), kevo_tokenizer_eos(t));
    int *ids, n;
    kevo_error err;
    // The piece table is the model's: "small" with a space is one piece.
    if (CHECK_OK(kevo_tokenizer_encode(t, "a small", 7, 0, &ids, &n, &err), &err) &&
        CHECK(n == 2, "'a small' gave %d ids", n)) {
        CHECK(strcmp(kevo_tokenizer_piece(t, ids[1]), "\xE2\x96\x81small") == 0, "raw '%s'",
              kevo_tokenizer_piece(t, ids[1]));
        char buf[64];
        CHECK(strcmp(kevo_tokenizer_piece_display(t, ids[1], buf, sizeof buf), "small") == 0,
              "display '%s'", buf);
    }
    free(ids);
    struct {
        int id;
        const char *raw, *shown;
    } cases[] = {
        {13, "<0x0A>", "\\n"},       {12, "<0x09>", "\\t"},         {35, "<0x20>", "\xE2\x90\xA3"},
        {68, "<0x41>", "A"},         {230, "<0xE3>", "\\xE3"},      {29871, "\xE2\x96\x81", "\xE2\x90\xA3"},
        {259, "\xE2\x96\x81\xE2\x96\x81", "\xE2\x90\xA3\xE2\x90\xA3"},
        {1, "<s>", "<s>"},           {0, "<unk>", "<unk>"},         {32000, "<image>", "<image>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        const char *raw = kevo_tokenizer_piece(t, cases[i].id);
        kevo_tokenizer_piece_display(t, cases[i].id, buf, sizeof buf);
        CHECK(raw && strcmp(raw, cases[i].raw) == 0 && strcmp(buf, cases[i].shown) == 0,
              "id %d: raw '%s' shown '%s'", cases[i].id, raw ? raw : "(null)", buf);
    }
    char buf[8];
    CHECK(!kevo_tokenizer_piece(t, -1) && !kevo_tokenizer_piece(t, 32002) &&
              strcmp(kevo_tokenizer_piece_display(t, 40000, buf, sizeof buf), "?") == 0,
          "out of range ids have no piece");
    // A label cut to the buffer never splits a character: "▁Москва" into 6 bytes.
    if (CHECK_OK(kevo_tokenizer_encode(t, "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0", 12,
                                       0, &ids, &n, &err), &err)) {
        kevo_tokenizer_piece_display(t, ids[0], buf, 6);
        CHECK(strlen(buf) % 2 == 0 && strlen(buf) <= 5, "cut label '%s' (%zu bytes)", buf,
              strlen(buf));
    }
    free(ids);
    kevo_tokenizer_free(t);
}

KEVO_TEST(tokenizer_bos_and_empty)
{
    kevo_tokenizer *t = load_folder("llama2-model");
    if (!t)
        return;
    int *ids = (int *)1, n = -1;
    kevo_error err;
    CHECK(kevo_tokenizer_encode(t, "", 0, 0, &ids, &n, &err) == KEVO_OK && n == 0 && !ids,
          "empty text gives no ids");
    CHECK(kevo_tokenizer_encode(t, "", 0, 1, &ids, &n, &err) == KEVO_OK && n == 1 && ids[0] == 1,
          "empty text with BOS gives [1]");
    free(ids);
    char *text;
    CHECK(kevo_tokenizer_decode(t, NULL, 0, &text, &err) == KEVO_OK && text && !*text,
          "no ids decode to the empty string");
    free(text);
    kevo_tokenizer_free(t);
}

// ---------------------------------------------------------------------------------------------
// The command line

KEVO_TEST(tokenize_cli)
{
    const char *dir = kevo_test_data("oracle/tokenizer/llama2-json");
    char *out = NULL, *errs = NULL;
    int code = kevo_test_cli(&out, &errs, "tokenize '%s' 'Hello world'", dir);
    CHECK(code == 0 && kevo_test_contains(out, "15043\t\xE2\x96\x81Hello\n3186\t\xE2\x96\x81world\n"),
          "pieces: exit %d, out '%s', err '%s'", code, out, errs);
    free(out);
    free(errs);
    code = kevo_test_cli(&out, &errs, "tokenize --ids --bos '%s' 'Hello world'", dir);
    CHECK(code == 0 && out && strcmp(out, "1 15043 3186\n") == 0, "--ids --bos: '%s'", out);
    free(out);
    free(errs);
    code = kevo_test_cli(&out, &errs, "tokenize --decode '%s' '1 15043,3186 13'", dir);
    CHECK(code == 0 && out && strcmp(out, "Hello world\n\n") == 0, "--decode: '%s'", out);
    free(out);
    free(errs);
    code = kevo_test_cli(&out, &errs, "tokenize --template llava-hf --ids '%s' 'Hi?'", dir);
    CHECK(code == 0 && kevo_test_contains(out, "1 3148 1001 29901 29871 -200 29871 13"),
          "--template: '%s'", out);
    free(out);
    free(errs);
    code = kevo_test_cli(&out, &errs, "tokenize --template llava-hf '%s' 'Hi?'", dir);
    CHECK(code == 0 && kevo_test_contains(out, "-200\t<image slot>\n"), "template pieces: '%s'",
          out);
    free(out);
    free(errs);
    code = kevo_test_cli(&out, &errs, "tokenize --ids '%s' - < /dev/null", dir);
    CHECK(code == 0 && out && strcmp(out, "\n") == 0, "empty standard input: '%s'", out);
    free(out);
    free(errs);
}

KEVO_TEST(tokenize_cli_refusals)
{
    const char *dir = kevo_test_data("oracle/tokenizer/llama2-json");
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "tokenize --decode '%s' '1 32002'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "cannot decode id 32002"),
          "id out of range: %d %s", code, errs);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize --decode '%s' '1 -5'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "cannot decode id -5"), "negative id: %d %s",
          code, errs);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize --decode '%s' '1 two'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "--decode expects ids"), "not an id: %d %s",
          code, errs);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize --decode '%s' '99999999999'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "--decode expects ids"), "huge id: %d %s", code,
          errs);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize --template vicuna '%s' 'x'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "unknown template"), "template: %d %s", code,
          errs);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize '%s'", dir);
    CHECK(code == 2 && kevo_test_contains(errs, "expects MODEL_DIR and TEXT"), "args: %d", code);
    free(errs);
    code = kevo_test_cli(NULL, &errs, "tokenize '%s' x", kevo_test_tmpdir());
    CHECK(code == 1 && kevo_test_contains(errs, "no tokenizer.json or tokenizer.model"),
          "empty folder: %d %s", code, errs);
    free(errs);
}

// ---------------------------------------------------------------------------------------------
// The model's own checks

// A copy of the tiny-f32 fixture with config.json's `from` replaced by `to` everywhere.
static const char *fixture_with(const char *from, const char *to)
{
    static char dir[1200];
    char cmd[4096];
    snprintf(dir, sizeof dir, "%s/model", kevo_test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s' && sed -i 's/%s/%s/g' '%s/config.json'",
             dir, kevo_test_data("fixtures/tiny-f32"), dir, from, to, dir);
    return system(cmd) == 0 ? dir : NULL;
}

KEVO_TEST(model_checks_its_tokenizer)
{
    kevo_error err;
    kevo_model *m = NULL;
    if (CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-f32"), &m, &err), &err))
        CHECK(kevo_tokenizer_n_tokens(m->tokenizer) == 514 &&
                  kevo_test_contains(kevo_tokenizer_path(m->tokenizer), "tokenizer.json"),
              "the fixture's tokenizer: %d tokens", kevo_tokenizer_n_tokens(m->tokenizer));
    kevo_model_free(m);

    const char *dir = fixture_with("\"vocab_size\": 576", "\"vocab_size\": 500");
    m = NULL;
    CHECK(dir && kevo_model_load(dir, &m, &err) == KEVO_ERR_MODEL && !m &&
              kevo_test_contains(err.msg, "tokenizer and model vocabularies that disagree: "
                                          "tokenizer.json has 514 tokens but embed_tokens has "
                                          "500 rows"),
          "small vocab: %s", err.msg);
    dir = fixture_with("\"image_token_index\": 512", "\"image_token_index\": 513");
    CHECK(dir && kevo_model_load(dir, &m, &err) == KEVO_ERR_MODEL && !m &&
              kevo_test_contains(err.msg, "the tokenizer's <image> is token 512 but config.json's "
                                          "image_token_index is 513"),
          "image token: %s", err.msg);
    char *out = NULL;
    int code = kevo_test_cli(&out, NULL, "info '%s'", kevo_test_data("fixtures/tiny-f32"));
    CHECK(code == 0 && kevo_test_contains(out, "514 tokens + 62 padding rows = 576 rows"),
          "info: %s", out);
    free(out);
}
