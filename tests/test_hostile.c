// test_hostile.c — small hostile inputs cost small resources (issue 14, deliverable 5): time and
// memory in proportion to the file, no hang on a FIFO, and no NaN or Inf that passes silently.
// Every hostile file is made here, in the test's directory.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "image/image.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"
#include "test.h"

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// A fresh folder in the test directory.
static const char *fresh_dir(const char *name)
{
    static char dir[4][1200];
    static int k;
    char *d = dir[k++ & 3], cmd[2600];
    snprintf(d, sizeof dir[0], "%s/%s", kevo_test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", d, d);
    return system(cmd) == 0 ? d : NULL;
}

static int put_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[2600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return kevo_test_write(path, data, len);
}

// ---------------------------------------------------------------------------------------------
// A growable protobuf writer for tokenizer.model files

typedef struct pbuf {
    char *b;
    size_t n, cap;
} pbuf;

static void pb_raw(pbuf *p, const void *s, size_t n)
{
    if (p->n + n > p->cap) {
        p->cap = (p->n + n) * 2 + 64;
        p->b = realloc(p->b, p->cap);
    }
    memcpy(p->b + p->n, s, n);
    p->n += n;
}

static void pb_varint(pbuf *p, unsigned long long v)
{
    char c;
    while (v >= 0x80) {
        c = (char)(v | 0x80);
        pb_raw(p, &c, 1);
        v >>= 7;
    }
    c = (char)v;
    pb_raw(p, &c, 1);
}

static void pb_bytes(pbuf *p, int field, const void *s, size_t n)
{
    pb_varint(p, (unsigned)field << 3 | 2);
    pb_varint(p, n);
    pb_raw(p, s, n);
}

static void pb_uint(pbuf *p, int field, unsigned long long v)
{
    pb_varint(p, (unsigned)field << 3);
    pb_varint(p, v);
}

static void pb_piece(pbuf *p, const char *piece, size_t len, float score, int type)
{
    pbuf sub = {0};
    pb_bytes(&sub, 1, piece, len);
    pb_varint(&sub, 2 << 3 | 5);
    pb_raw(&sub, &score, 4);
    pb_uint(&sub, 3, (unsigned)type);
    pb_bytes(p, 1, sub.b, sub.n);
    free(sub.b);
}

// A BPE model: <unk>, <s>, </s>, "▁", "a", "b", then `extra` (if any) as a NORMAL piece.
static pbuf spm_model(const char *extra, size_t extra_len)
{
    pbuf p = {0}, trainer = {0}, norm = {0};
    pb_piece(&p, "<unk>", 5, 0, 2);
    pb_piece(&p, "<s>", 3, 0, 3);
    pb_piece(&p, "</s>", 4, 0, 3);
    pb_piece(&p, "\xE2\x96\x81", 3, -1, 1);
    pb_piece(&p, "a", 1, -2, 1);
    pb_piece(&p, "b", 1, -3, 1);
    if (extra)
        pb_piece(&p, extra, extra_len, -4, 1);
    pb_uint(&trainer, 3, 2);
    pb_bytes(&p, 2, trainer.b, trainer.n);
    pb_bytes(&norm, 1, "identity", 8);
    pb_uint(&norm, 3, 1);
    pb_uint(&norm, 4, 0);
    pb_bytes(&p, 3, norm.b, norm.n);
    free(trainer.b);
    free(norm.b);
    return p;
}

// Loads a tokenizer folder and encodes `text`, returning the seconds both took (-1 on failure).
static double load_and_encode(const char *dir, const char *text, size_t len, int *n_ids)
{
    kevo_error err = {0};
    kevo_tokenizer *t = NULL;
    int *ids = NULL;
    double t0 = seconds();
    int ok = CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err) &&
             CHECK_OK(kevo_tokenizer_encode(t, text, len, 0, &ids, n_ids, &err), &err);
    double dt = seconds() - t0;
    free(ids);
    kevo_tokenizer_free(t);
    return ok ? dt : -1;
}

KEVO_TEST(hostile_tokenizer_model_long_piece)
{
    // One NORMAL piece of 2^17 'a's: every split of it into two halves is a merge candidate.
    // Looking each half up by hashing it was quadratic in the piece (about 17 s here); the
    // halves are now hashed incrementally (prefixes forward, suffixes backward).
    alarm(30);
    enum { L = 1 << 17 };
    char *piece = malloc(L);
    memset(piece, 'a', L);
    pbuf m = spm_model(piece, L);
    const char *dir = fresh_dir("long-piece");
    if (!CHECK(dir && put_file(dir, "tokenizer.model", m.b, m.n), "cannot write the model"))
        return;
    int n_ids = 0;
    // The text is the piece itself: no merge leads to it (no piece a^k for 1 < k < L), so it
    // encodes as "▁" and L times "a", as sentencepiece does.
    double dt = load_and_encode(dir, piece, L, &n_ids);
    printf("    load + encode of a %d-byte piece: %.3f s\n", L, dt);
    CHECK(dt >= 0 && dt < 1.0, "a %d-byte piece took %.2f s to load and encode (limit 1 s)", L, dt);
    CHECK(n_ids == L + 1, "%d ids for the long piece", n_ids);
    free(piece);
    free(m.b);
}

KEVO_TEST(hostile_tokenizer_many_prefix_pieces)
{
    // Pieces a, aa, ..., a^K: every split of every piece is a merge (K^2 / 2 of them, which is
    // what the file asks for), but recording which characters join once per piece, not once
    // per merge, keeps the loader near the size of the file (it took 5 s, now 0.2 s).
    alarm(30);
    enum { K = 1000 };
    pbuf p = {0}, trainer = {0}, norm = {0};
    char *s = malloc(K + 1);
    memset(s, 'a', K);
    pb_piece(&p, "<unk>", 5, 0, 2);
    pb_piece(&p, "<s>", 3, 0, 3);
    pb_piece(&p, "</s>", 4, 0, 3);
    for (int k = 1; k <= K; k++)
        pb_piece(&p, s, (size_t)k, -(float)k, 1);
    pb_uint(&trainer, 3, 2);
    pb_bytes(&p, 2, trainer.b, trainer.n);
    pb_bytes(&norm, 1, "identity", 8);
    pb_uint(&norm, 3, 0);
    pb_uint(&norm, 4, 0);
    pb_bytes(&p, 3, norm.b, norm.n);
    const char *dir = fresh_dir("prefixes");
    if (!CHECK(dir && put_file(dir, "tokenizer.model", p.b, p.n), "cannot write the model"))
        return;
    int n_ids = 0;
    double dt = load_and_encode(dir, s, K, &n_ids);
    printf("    %d prefix pieces (%zu bytes): %.3f s\n", K, p.n, dt);
    CHECK(dt >= 0 && dt < 1.5, "%d prefix pieces took %.2f s (limit 1.5 s)", K, dt);
    CHECK(n_ids == 1, "%d ids for a^%d", n_ids, K);
    free(s);
    free(p.b);
    free(trainer.b);
    free(norm.b);
}

// ---------------------------------------------------------------------------------------------
// Sparse added-token ids

static const char small_json[] =
    "{\"added_tokens\": [{\"id\": 0, \"content\": \"<unk>\", \"special\": true, "
    "\"normalized\": false}%s],"
    " \"normalizer\": null, \"pre_tokenizer\": null, \"decoder\": null,"
    " \"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"fuse_unk\": true, "
    "\"byte_fallback\": false, \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, "
    "\"a\": 3, \"b\": %s, \"ab\": 5}, \"merges\": [\"a b\"]}}";

static void expect_sparse_refused(const char *label, const char *dir, const char *needle)
{
    kevo_error err = {0};
    kevo_tokenizer *t = NULL;
    long rss0 = peak_rss_kb();
    kevo_status st = kevo_tokenizer_load(dir, &t, &err);
    long grown = peak_rss_kb() - rss0;
    CHECK(st == KEVO_ERR_FORMAT && !t, "%s: status %d (%s)", label, st, err.msg);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
    CHECK(grown < 64 * 1024, "%s: loading grew the peak memory by %ld MB", label, grown / 1024);
    kevo_tokenizer_free(t);
}

KEVO_TEST(hostile_sparse_added_token_ids)
{
    // Ids up to 2^29 were accepted and every table was sized to the highest one: 60 bytes of
    // added_tokens.json allocated gigabytes. An added id now stays near the vocabulary.
    const char *big = "{\"<x>\": 500000000}";
    pbuf m = spm_model(NULL, 0);
    const char *dir = fresh_dir("sparse-model");
    CHECK(dir && put_file(dir, "tokenizer.model", m.b, m.n) &&
              put_file(dir, "added_tokens.json", big, strlen(big)),
          "cannot write the folder");
    expect_sparse_refused("added_tokens.json", dir, "added_tokens.json: \"<x>\"");
    expect_sparse_refused("added_tokens.json id", dir, "500000000");

    char json[2048];
    snprintf(json, sizeof json, small_json,
             ", {\"id\": 400000000, \"content\": \"<y>\", \"special\": true, "
             "\"normalized\": false}", "4");
    dir = fresh_dir("sparse-json");
    CHECK(dir && put_file(dir, "tokenizer.json", json, strlen(json)), "cannot write the folder");
    expect_sparse_refused("tokenizer.json", dir, "added_tokens[1]");

    snprintf(json, sizeof json, small_json, "", "300000000");
    dir = fresh_dir("sparse-vocab");
    CHECK(dir && put_file(dir, "tokenizer.json", json, strlen(json)), "cannot write the folder");
    expect_sparse_refused("tokenizer.json vocab", dir, "model.vocab[\"b\"]");

    // The ids that follow the vocabulary, as LLaVA's <image> and <pad> do, stay accepted.
    const char *near = "{\"<image>\": 6, \"<pad>\": 7}";
    dir = fresh_dir("near");
    CHECK(dir && put_file(dir, "tokenizer.model", m.b, m.n) &&
              put_file(dir, "added_tokens.json", near, strlen(near)),
          "cannot write the folder");
    kevo_error err;
    kevo_tokenizer *t = NULL;
    if (CHECK_OK(kevo_tokenizer_load(dir, &t, &err), &err))
        CHECK(kevo_tokenizer_n_tokens(t) == 8, "%d tokens", kevo_tokenizer_n_tokens(t));
    kevo_tokenizer_free(t);
    free(m.b);
}

// ---------------------------------------------------------------------------------------------
// Images whose header claims more than the file can hold

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static size_t png_chunk(unsigned char *out, const char *type, const unsigned char *data,
                        uint32_t n)
{
    unsigned char *p = out;
    *p++ = (unsigned char)(n >> 24), *p++ = (unsigned char)(n >> 16);
    *p++ = (unsigned char)(n >> 8), *p++ = (unsigned char)n;
    memcpy(p, type, 4);
    if (n)
        memcpy(p + 4, data, n);
    uint32_t c = crc32_of(p, 4 + n);
    p += 4 + n;
    *p++ = (unsigned char)(c >> 24), *p++ = (unsigned char)(c >> 16);
    *p++ = (unsigned char)(c >> 8), *p++ = (unsigned char)c;
    return (size_t)(p - out);
}

// A PNG with only a header (and an empty IDAT) claiming w x h at `depth` bits, colour `color`.
static size_t tiny_png(unsigned char *out, uint32_t w, uint32_t h, int depth, int color)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8), (unsigned char)w,
                              (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                              (unsigned char)(h >> 8), (unsigned char)h,
                              (unsigned char)depth, (unsigned char)color, 0, 0, 0};
    static const unsigned char idat[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    size_t n = 8;
    memcpy(out, sig, 8);
    n += png_chunk(out + n, "IHDR", ihdr, 13);
    n += png_chunk(out + n, "IDAT", idat, sizeof idat);
    n += png_chunk(out + n, "IEND", NULL, 0);
    return n;
}

static void expect_image_refused(const char *label, const char *path, const char *needle)
{
    kevo_error err = {0};
    kevo_image *img = NULL;
    long rss0 = peak_rss_kb();
    double t0 = seconds();
    kevo_status st = kevo_image_load(path, &img, &err);
    double dt = seconds() - t0;
    long grown = peak_rss_kb() - rss0;
    CHECK(st == KEVO_ERR_FORMAT && !img, "%s: status %d (%s)", label, st, err.msg);
    CHECK(kevo_test_contains(err.msg, needle), "%s: message '%s' lacks '%s'", label, err.msg,
          needle);
    CHECK(grown < 32 * 1024 && dt < 0.5, "%s: refusing took %.2f s and %ld MB", label, dt,
          grown / 1024);
    kevo_image_free(img);
}

KEVO_TEST(hostile_image_headers_refused_before_allocating)
{
    // A 70-byte PNG claiming 2^28 x 1 pixels of 16-bit grey passed the pixel limit, and
    // 768 MB of RGB plus libpng's two 512 MB rows were reserved before the data ran out.
    unsigned char png[128];
    struct {
        const char *label;
        uint32_t w, h;
        int depth, color;
    } cases[] = {
        {"2^28 x 1 grey16", 1u << 28, 1, 16, 0},
        {"2^27 x 2 rgba16", 1u << 27, 2, 16, 6},
        {"16384 x 16384 rgb8", 16384, 16384, 8, 2},
        {"1 x 2^28 grey8", 1, 1u << 28, 8, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = tiny_png(png, cases[i].w, cases[i].h, cases[i].depth, cases[i].color);
        const char *path = kevo_test_tmp("claim.png");
        if (!CHECK(kevo_test_write(path, png, n), "cannot write"))
            return;
        expect_image_refused(cases[i].label, path, "bytes");
    }
    // A JPEG header (SOI, DQT, SOF0 of 16384 x 16384 grey, DHT, SOS) and one byte of data.
    unsigned char jpeg_head[256];
    size_t n = 0;
    static const unsigned char soi_dqt[] = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
    memcpy(jpeg_head, soi_dqt, sizeof soi_dqt);
    n = sizeof soi_dqt;
    memset(jpeg_head + n, 1, 64);
    n += 64;
    static const unsigned char rest[] = {
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x40, 0x00, 0x40, 0x00, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xC4, 0x00, 0x14, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
        0xFF, 0xC4, 0x00, 0x14, 0x10, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,
        0x00, 0xFF, 0xD9,
    };
    memcpy(jpeg_head + n, rest, sizeof rest);
    n += sizeof rest;
    const char *path = kevo_test_tmp("claim.jpg");
    if (CHECK(kevo_test_write(path, jpeg_head, n), "cannot write"))
        expect_image_refused("16384 x 16384 JPEG of 170 bytes", path, "bytes");
}

// ---------------------------------------------------------------------------------------------
// FIFOs, devices and directories where a file is expected

KEVO_TEST(hostile_non_regular_files_refused)
{
    // open() of a FIFO blocks until a writer comes: kevo waited forever. Now every file kevo
    // reads is opened without blocking and refused unless it is a regular file.
    alarm(20);
    const char *fifo = kevo_test_tmp("fifo");
    if (!CHECK(mkfifo(fifo, 0600) == 0, "mkfifo failed"))
        return;
    const char *paths[] = {fifo, "/dev/null", kevo_test_tmpdir()};
    for (size_t i = 0; i < 3; i++) {
        kevo_error err = {0};
        kevo_image *img = NULL;
        CHECK(kevo_image_load(paths[i], &img, &err) == KEVO_ERR_IO &&
                  kevo_test_contains(err.msg, "not a regular file"),
              "image %s: %s", paths[i], err.msg);
        kevo_safetensors *f = NULL;
        CHECK(kevo_safetensors_open(paths[i], &f, &err) == KEVO_ERR_IO &&
                  kevo_test_contains(err.msg, "not a regular file"),
              "safetensors %s: %s", paths[i], err.msg);
        char *text = NULL;
        CHECK(kevo_read_file(paths[i], 1 << 20, &text, NULL, &err) == KEVO_ERR_IO &&
                  kevo_test_contains(err.msg, "not a regular file"),
              "read %s: %s", paths[i], err.msg);
        kevo_mapping map;
        CHECK(kevo_map_file(paths[i], &map, &err) == KEVO_ERR_IO, "map %s", paths[i]);
    }
    // In a model folder: config.json, tokenizer.model and a weight file as FIFOs.
    const char *names[] = {"config.json", "tokenizer.model", "tokenizer.json",
                           "model.safetensors"};
    for (size_t i = 0; i < 4; i++) {
        const char *dir = fresh_dir("fifo-folder");
        char path[2600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (!CHECK(mkfifo(path, 0600) == 0, "mkfifo %s", path))
            continue;
        kevo_error err = {0};
        kevo_status st;
        if (i == 0) {
            kevo_config c;
            st = kevo_config_load(dir, &c, &err);
        } else if (i < 3) {
            kevo_tokenizer *t = NULL;
            st = kevo_tokenizer_load(dir, &t, &err);
            kevo_tokenizer_free(t);
        } else {
            kevo_checkpoint *c = NULL;
            st = kevo_checkpoint_open(dir, &c, &err);
            kevo_checkpoint_free(c);
        }
        CHECK(st != KEVO_OK && kevo_test_contains(err.msg, names[i]), "%s: status %d: %s",
              names[i], st, err.msg);
    }
    // Optional files as FIFOs are refused too, not skipped: generation_config.json beside a
    // valid config.json, added_tokens.json beside a valid tokenizer.model, and a FIFO
    // tokenizer.json does not make kevo fall back to tokenizer.model.
    {
        const char *dir = fresh_dir("fifo-optional");
        static const char cfg[] = "{\"model_type\": \"llava\"}";
        char path[2600];
        snprintf(path, sizeof path, "%s/generation_config.json", dir);
        CHECK(put_file(dir, "config.json", cfg, strlen(cfg)) && mkfifo(path, 0600) == 0,
              "cannot make the folder");
        kevo_config c;
        kevo_error err = {0};
        kevo_status st = kevo_config_load(dir, &c, &err);
        CHECK(st == KEVO_ERR_IO && kevo_test_contains(err.msg, "generation_config.json: not a "
                                                      "regular file (a FIFO)"),
              "generation_config.json FIFO: status %d: %s", st, err.msg);
        pbuf m = spm_model(NULL, 0);
        const char *names2[] = {"added_tokens.json", "tokenizer.json"};
        for (int i = 0; i < 2; i++) {
            dir = fresh_dir("fifo-tok");
            snprintf(path, sizeof path, "%s/%s", dir, names2[i]);
            CHECK(put_file(dir, "tokenizer.model", m.b, m.n) && mkfifo(path, 0600) == 0,
                  "cannot make the folder");
            kevo_tokenizer *t = NULL;
            st = kevo_tokenizer_load(dir, &t, &err);
            CHECK(st == KEVO_ERR_IO && !t && kevo_test_contains(err.msg, names2[i]) &&
                      kevo_test_contains(err.msg, "(a FIFO)"),
                  "%s FIFO: status %d: %s", names2[i], st, err.msg);
            kevo_tokenizer_free(t);
        }
        free(m.b);
    }
    // The CLI: a data error, exit 1, and a message naming the file.
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "preprocess '%s' '%s' -o '%s'",
                             kevo_test_data("fixtures/tiny-f32"), fifo, kevo_test_tmp("pp.safetensors"));
    CHECK(code == 1 && kevo_test_contains(errs, "not a regular file"), "preprocess of a FIFO: "
          "exit %d: %s", code, errs ? errs : "");
    free(errs);
}

// ---------------------------------------------------------------------------------------------
// Numbers that do not survive narrowing; ids outside the vocabulary

KEVO_TEST(hostile_config_non_finite_and_eos)
{
    struct {
        const char *label, *config, *generation, *needle;
    } cases[] = {
        {"eps 1e39", "{\"model_type\":\"llava\",\"text_config\":{\"rms_norm_eps\":1e39}}", NULL,
         "text_config.rms_norm_eps"},
        {"eps 1e400", "{\"model_type\":\"llava\",\"text_config\":{\"rms_norm_eps\":1e400}}",
         NULL, "text_config.rms_norm_eps"},
        {"theta 1e39", "{\"model_type\":\"llava\",\"text_config\":{\"rope_theta\":1e39}}", NULL,
         "text_config.rope_theta"},
        {"vision eps", "{\"model_type\":\"llava\",\"vision_config\":{\"layer_norm_eps\":-1e39}}",
         NULL, "vision_config.layer_norm_eps"},
        {"vision eps 1e39", "{\"model_type\":\"llava\",\"vision_config\":{\"layer_norm_eps\":"
         "1e39}}", NULL, "vision_config.layer_norm_eps"},
        {"eos", "{\"model_type\":\"llava\",\"text_config\":{\"vocab_size\":100,"
         "\"eos_token_id\":100}}", NULL, "text_config.eos_token_id"},
        {"generation eos", "{\"model_type\":\"llava\",\"text_config\":{\"vocab_size\":100}}",
         "{\"eos_token_id\": 5000}", "generation_config.json: eos_token_id"},
        {"generation eos list", "{\"model_type\":\"llava\",\"text_config\":{\"vocab_size\":100}}",
         "{\"eos_token_id\": [2, 99, 100]}", "eos_token_id[2]"},
        {"bos", "{\"model_type\":\"llava\",\"text_config\":{\"vocab_size\":100,"
         "\"bos_token_id\":300}}", NULL, "text_config.bos_token_id"},
    };
    struct {
        const char *label, *json, *needle;
    } pre[] = {
        {"std 1e400", "{\"image_std\": [1e400, 1, 1]}", "image_std[0]"},
        {"mean 1e39", "{\"image_mean\": [0, 0, -1e39]}", "image_mean[2]"},
        {"rescale 1e300", "{\"rescale_factor\": 1e300}", "rescale_factor"},
    };
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++) {
        const char *dir = fresh_dir("preprocessor");
        CHECK(put_file(dir, "preprocessor_config.json", pre[i].json, strlen(pre[i].json)),
              "cannot write");
        kevo_image_config ic;
        kevo_error err = {0};
        kevo_status st = kevo_image_config_load(dir, &ic, &err);
        CHECK(st == KEVO_ERR_CONFIG && kevo_test_contains(err.msg, pre[i].needle),
              "%s: status %d (%s)", pre[i].label, st, err.msg);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir = fresh_dir("config");
        CHECK(put_file(dir, "config.json", cases[i].config, strlen(cases[i].config)) &&
                  (!cases[i].generation ||
                   put_file(dir, "generation_config.json", cases[i].generation,
                            strlen(cases[i].generation))),
              "cannot write");
        kevo_config c;
        kevo_error err = {0};
        kevo_status st = kevo_config_load(dir, &c, &err);
        CHECK(st == KEVO_ERR_CONFIG, "%s: status %d (%s)", cases[i].label, st, err.msg);
        CHECK(kevo_test_contains(err.msg, cases[i].needle), "%s: message '%s' lacks '%s'",
              cases[i].label, err.msg, cases[i].needle);
    }
}

// ---------------------------------------------------------------------------------------------
// Non-finite weights: the run stops with the layer, the step and the tensor

// Copies fixture `name` into the test directory and overwrites element `elem` of `tensor` with
// the bytes of `value` (a float, narrowed for F16/BF16 fixtures by the caller's choice of bits).
static const char *corrupt_copy(const char *name, const char *tensor, uint64_t elem,
                                uint32_t f32_bits)
{
    static char dst[1200];
    char cmd[4000];
    snprintf(dst, sizeof dst, "%s/%s", kevo_test_tmpdir(), name);
    char src[1200];
    snprintf(src, sizeof src, "%s", kevo_test_data("fixtures/"));
    strcat(src, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dst, src, dst);
    if (system(cmd) != 0)
        return NULL;
    kevo_error err;
    kevo_checkpoint *c = NULL;
    if (!CHECK_OK(kevo_checkpoint_open(dst, &c, &err), &err))
        return NULL;
    const kevo_tensor *t = kevo_checkpoint_find(c, tensor);
    if (!CHECK(t && elem < t->n_elems, "%s: no tensor %s", name, tensor)) {
        kevo_checkpoint_free(c);
        return NULL;
    }
    size_t size = kevo_dtype_size(t->dtype);
    int bf16 = t->dtype == KEVO_DTYPE_BF16;
    uint64_t at = t->file_offset + elem * size;
    char path[1200];
    snprintf(path, sizeof path, "%s", t->path);
    kevo_checkpoint_free(c);
    unsigned char bytes[4];
    if (size == 4)
        memcpy(bytes, &f32_bits, 4);
    else if (bf16)   // the high half of the F32 bits
        bytes[0] = (unsigned char)(f32_bits >> 16), bytes[1] = (unsigned char)(f32_bits >> 24);
    else   // F16: the same class of value (NaN 7E00, Inf 7C00)
        bytes[0] = 0, bytes[1] = (f32_bits & 0x7fffffff) == 0x7f800000 ? 0x7C : 0x7E;
    FILE *f = fopen(path, "r+b");
    int ok = f && fseek(f, (long)at, SEEK_SET) == 0 && fwrite(bytes, 1, size, f) == size;
    if (f)
        fclose(f);
    return CHECK(ok, "cannot write %s", path) ? dst : NULL;
}

static void expect_run_fails(const char *fixture, const char *tensor, uint64_t elem,
                             uint32_t bits, const char *needle1, const char *needle2)
{
    const char *model = corrupt_copy(fixture, tensor, elem, bits);
    if (!model)
        return;
    char image[1200], *out = NULL, *errs = NULL;
    snprintf(image, sizeof image, "%s/%s/color.png", kevo_test_data("oracle/engine"), fixture);
    const char *run = kevo_test_tmp("nan.run");
    int code = kevo_test_cli(&out, &errs, "run -m '%s' -i '%s' -p 'What is it?' -n 3 -o '%s' "
                             "--threads 2", model, image, run);
    CHECK(code == 1, "%s %s: exit %d (stdout %s)", fixture, tensor, code, out ? out : "");
    CHECK(kevo_test_contains(errs, needle1) && kevo_test_contains(errs, needle2) &&
              kevo_test_contains(errs, tensor),
          "%s: message '%s' lacks '%s', '%s' or the tensor %s", fixture, errs ? errs : "", needle1,
          needle2, tensor);
    struct stat st;
    CHECK(stat(run, &st) != 0, "%s: a run folder was written", fixture);
    free(out);
    free(errs);
}

KEVO_TEST(hostile_non_finite_weights_named)
{
    const uint32_t nan_bits = 0x7fc00000u, inf_bits = 0x7f800000u;
    expect_run_fails("tiny-f32", "language_model.model.layers.1.mlp.down_proj.weight", 5, nan_bits,
                     "layer 1", "step 0");
    expect_run_fails("tiny-f32", "language_model.model.layers.0.self_attn.q_proj.weight", 5,
                     inf_bits, "layer 0", "step 0");
    expect_run_fails("tiny-bf16", "language_model.model.layers.1.post_attention_layernorm.weight", 5,
                     nan_bits, "layer 1", "step 0");
    expect_run_fails("tiny-f16", "language_model.lm_head.weight", 5, nan_bits, "logit", "step 0");
    expect_run_fails("tiny-f32", "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", 5,
                     nan_bits, "vision", "layer 0");
    expect_run_fails("tiny-f32", "multi_modal_projector.linear_2.weight", 5, inf_bits, "projector",
                     "image");
    // Row 1 (BOS, the first prompt token) of the embeddings: D = 64 in the fixtures.
    expect_run_fails("tiny-f32", "language_model.model.embed_tokens.weight", 64 + 5, nan_bits,
                     "row 1", "step 0");
}

KEVO_TEST(hostile_added_id_past_vocab_size)
{
    // An added id the tokenizer accepts but config.json's vocab_size has no row for: a data
    // error (exit 1) naming the token, its id and vocab_size.
    char cmd[4000];
    const char *dst = kevo_test_tmp("model");
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && printf '{\"<image>\": 512, \"<pad>\": 513, "
             "\"<far>\": 600}' > '%s/added_tokens.json'", kevo_test_data("fixtures/tiny-f32"),
             dst, dst);
    if (!CHECK(system(cmd) == 0, "cannot copy the fixture"))
        return;
    char *errs = NULL;
    int code = kevo_test_cli(NULL, &errs, "info '%s'", dst);
    CHECK(code == 1 && kevo_test_contains(errs, "<far>") && kevo_test_contains(errs, "600") &&
              kevo_test_contains(errs, "vocab_size"),
          "exit %d: %s", code, errs ? errs : "");
    free(errs);
}

KEVO_TEST(hostile_analyze_refuses_non_finite_hidden_states)
{
    // A run folder whose hidden.safetensors holds a NaN: kevo analyze fails (exit 1) naming the
    // hidden states, instead of writing tables and figures of NaN.
    const char *run = kevo_test_copy_run("tiny-f32", "color", "nan.run");
    char path[1200];
    snprintf(path, sizeof path, "%s/hidden.safetensors", run);
    kevo_error err;
    kevo_safetensors *f = NULL;
    if (!CHECK_OK(kevo_safetensors_open(path, &f, &err), &err))
        return;
    const kevo_tensor *t = kevo_safetensors_find(f, "hidden");
    uint64_t at = t ? t->file_offset + 4 * (t->n_elems / 2) : 0;
    kevo_safetensors_free(f);
    if (!CHECK(t, "no hidden tensor"))
        return;
    const uint32_t nan_bits = 0x7fc00000u;
    FILE *w = fopen(path, "r+b");
    int ok = w && fseek(w, (long)at, SEEK_SET) == 0 && fwrite(&nan_bits, 4, 1, w) == 1;
    if (w)
        fclose(w);
    if (!CHECK(ok, "cannot write %s", path))
        return;
    char *out = NULL, *errs = NULL;
    const char *dest = kevo_test_tmp("analysis");
    int code = kevo_test_cli(&out, &errs, "analyze '%s' -m '%s' -o '%s'", run,
                             kevo_test_data("fixtures/tiny-f32"), dest);
    CHECK(code == 1 && kevo_test_contains(errs, "hidden") &&
              kevo_test_contains(errs, "not finite"),
          "exit %d: %s", code, errs ? errs : "");
    struct stat st;
    CHECK(stat(dest, &st) != 0 || !kevo_test_contains(out, "wrote"), "an analysis was written");
    free(out);
    free(errs);
}

KEVO_TEST(hostile_many_added_tokens)
{
    // 65000 added tokens (a 1.2 MB added_tokens.json): each was looked for in the list of those
    // before it, 2e9 comparisons (1.7 to 3.8 s here); an id map makes loading linear (0.15 s).
    alarm(30);
    enum { N = 65000 };   // about the most the id limit allows past 6 pieces
    size_t cap = (size_t)N * 24 + 16, n = 0;
    char *json = malloc(cap);
    n += (size_t)snprintf(json + n, cap - n, "{");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(json + n, cap - n, "%s\"<t%d>\": %d", i ? ", " : "", i, 6 + i);
    n += (size_t)snprintf(json + n, cap - n, "}");
    pbuf m = spm_model(NULL, 0);
    const char *dir = fresh_dir("many-added");
    if (!CHECK(dir && put_file(dir, "tokenizer.model", m.b, m.n) &&
                   put_file(dir, "added_tokens.json", json, n),
               "cannot write the folder"))
        return;
    int n_ids = 0;
    double dt = load_and_encode(dir, "a<t64999>b", 10, &n_ids);
    printf("    %d added tokens: %.3f s\n", N, dt);
    CHECK(dt >= 0 && dt < 0.75, "%d added tokens took %.2f s to load (limit 0.75 s)", N, dt);
    CHECK(n_ids >= 3, "%d ids for \"a<t64999>b\"", n_ids);
    free(json);
    free(m.b);
}

KEVO_TEST(hostile_jpeg_many_scans)
{
    // A progressive 1024 x 1024 JPEG: one DC scan, then 50000 AC scans of 12 bytes each whose
    // one EOB run covers every block. Each scan is a pass over the 16384 blocks: the 600 KB
    // file took seconds to decode; more than 1000 scans are now refused.
    alarm(60);
    enum { SCANS = 50000, DC_BYTES = 16384 / 8 };
    size_t cap = 200 + DC_BYTES + (size_t)SCANS * 12, n = 0;
    unsigned char *j = calloc(1, cap);
    static const unsigned char head[] = {
        0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
    memcpy(j, head, sizeof head);
    n = sizeof head;
    memset(j + n, 1, 64);
    n += 64;
    static const unsigned char frame[] = {
        0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x04, 0x00, 0x04, 0x00, 0x01, 0x01, 0x11, 0x00,
        // DC table 0: one code of length 1 for category 0
        0xFF, 0xC4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
        // AC table 0: one code of length 1 for EOBRUN 2^14 (symbol 0xE0)
        0xFF, 0xC4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xE0,
        // the DC scan
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
    };
    memcpy(j + n, frame, sizeof frame);
    n += sizeof frame + DC_BYTES;   // 16384 one-bit zero differences
    static const unsigned char ac[] = {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x3F, 0x00,
                                       0x00, 0x00};
    for (int s = 0; s < SCANS; s++, n += sizeof ac)
        memcpy(j + n, ac, sizeof ac);
    j[n++] = 0xFF, j[n++] = 0xD9;
    const char *path = kevo_test_tmp("scans.jpg");
    if (!CHECK(kevo_test_write(path, j, n), "cannot write"))
        return;
    kevo_error err = {0};
    kevo_image *img = NULL;
    double t0 = seconds();
    kevo_status st = kevo_image_load(path, &img, &err);
    double dt = seconds() - t0;
    printf("    %d scans, %zu bytes: status %d in %.3f s\n", SCANS, n, st, dt);
    CHECK(st == KEVO_ERR_FORMAT && !img && kevo_test_contains(err.msg, "more than 1000 scans"),
          "status %d: %s", st, err.msg);
    CHECK(dt < 1.0, "refusing took %.2f s", dt);
    kevo_image_free(img);
    free(j);
}
