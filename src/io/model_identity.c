// model_identity.c — what identifies a model folder for a run folder (docs/run-folder.md,
// "Resuming"): its config digest and the digests of its weights and other files, for hub
// folders of safetensors and for GGUF models alike.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "io/gguf.h"
#include "io/runfolder.h"

// A GGUF model's config digest: FNV-1a 64 over both files' metadata and tensor infos (the bytes
// before each data section), the text model's first.
static kevo_status gguf_config_digest(const kevo_model_source *src, char out[17],
                                      kevo_error *err)
{
    char paths[2][KEVO_PATH_MAX];
    kevo_status st = kevo_gguf_model_files(src, paths[0], paths[1], err);
    uint64_t h = 0xcbf29ce484222325ull;
    for (int f = 0; st == KEVO_OK && f < 2; f++) {
        kevo_gguf *g;
        if ((st = kevo_gguf_open(paths[f], &g, err)) != KEVO_OK)
            break;
        const unsigned char *p = kevo_gguf_header(g);
        for (uint64_t i = 0; i < kevo_gguf_data_offset(g) && i < kevo_gguf_file_size(g); i++)
            h = (h ^ p[i]) * 0x100000001b3ull;
        kevo_gguf_free(g);
    }
    if (st == KEVO_OK)
        snprintf(out, 17, "%016llx", (unsigned long long)h);
    return st;
}

kevo_status kevo_config_digest(const kevo_model_source *src, char out[17], kevo_error *err)
{
    if (kevo_gguf_model_is(src))
        return gguf_config_digest(src, out, err);
    char path[KEVO_PATH_MAX], *text;
    size_t len;
    kevo_status st = kevo_path_join(path, sizeof path, src->path, "config.json", err);
    if (st == KEVO_OK)
        st = kevo_read_file(path, 4u << 20, &text, &len, err);
    if (st != KEVO_OK)
        return st;
    uint64_t h = 0xcbf29ce484222325ull;   // FNV-1a 64 offset basis and prime (IETF draft FNV)
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    free(text);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    return KEVO_OK;
}

// ---------------------------------------------------------------------------------------------
// The run's identity (docs/run-folder.md, "Resuming")

// Files besides config.json and the weights that change what kevo computes: the tokenizer's
// (tokenizer/load.c), the preprocessing and generation settings (config.c) and the shards' index
// (checkpoint.c). A missing one is hashed as missing.
static const char *const model_files[] = {
    "added_tokens.json",     "generation_config.json", "model.safetensors.index.json",
    "preprocessor_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer.model",
    "tokenizer_config.json",
};

#define SAMPLE_BLOCKS 64
#define SAMPLE_BYTES 4096

static void hash_u64(kevo_sha256 *s, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    kevo_sha256_update(s, b, 8);
}

// Feeds bytes [off, off + len) of the open file fd into s.
static kevo_status hash_range(kevo_sha256 *s, int fd, uint64_t off, uint64_t len,
                              const char *path, kevo_error *err)
{
    unsigned char buf[1 << 16];
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t got = pread(fd, buf, want, (off_t)off);
        if (got <= 0)
            return kevo_fail(err, KEVO_ERR_IO, "%s: cannot read byte %llu: %s", path,
                             (unsigned long long)off, got < 0 ? strerror(errno) : "end of file");
        kevo_sha256_update(s, buf, (size_t)got);
        off += (uint64_t)got;
        len -= (uint64_t)got;
    }
    return KEVO_OK;
}

// A safetensors file's name, size and header whole, and SAMPLE_BLOCKS blocks spread evenly over
// its tensor bytes (all of them when they are fewer): a retrained or converted checkpoint
// differs in every block, and the cost does not grow with the file.
// A weights file's name, size, header [0, header_end) whole and the sampled blocks after it.
static kevo_status hash_sampled(kevo_sha256 *s, int fd, const char *path, const char *name,
                                uint64_t size, uint64_t header_end, kevo_error *err)
{
    kevo_sha256_update(s, name, strlen(name) + 1);
    hash_u64(s, size);
    kevo_status st = hash_range(s, fd, 0, header_end, path, err);
    uint64_t data = size - header_end;
    if (st == KEVO_OK && data <= (uint64_t)SAMPLE_BLOCKS * SAMPLE_BYTES)
        st = hash_range(s, fd, header_end, data, path, err);
    for (int k = 0; st == KEVO_OK && data > (uint64_t)SAMPLE_BLOCKS * SAMPLE_BYTES &&
                    k < SAMPLE_BLOCKS; k++)
        st = hash_range(s, fd, header_end + k * ((data - SAMPLE_BYTES) / (SAMPLE_BLOCKS - 1)),
                        SAMPLE_BYTES, path, err);
    return st;
}

// A GGUF file (path) sampled the same way, its metadata and tensor infos as the header; tag
// names its role ("text", "mmproj") instead of its file name, which may be anything.
static kevo_status hash_gguf_file(kevo_sha256 *s, const char *path, const char *tag,
                                  kevo_error *err)
{
    kevo_gguf *g;
    kevo_status st = kevo_gguf_open(path, &g, err);
    if (st != KEVO_OK)
        return st;
    uint64_t size = kevo_gguf_file_size(g), header_end = kevo_gguf_data_offset(g);
    kevo_gguf_free(g);
    int fd;
    struct stat sb;
    if ((st = kevo_open_regular(path, &fd, &sb, err)) != KEVO_OK)
        return st;
    st = (uint64_t)sb.st_size == size
             ? hash_sampled(s, fd, path, tag, size, header_end > size ? size : header_end, err)
             : kevo_fail(err, KEVO_ERR_IO, "%s: changed while being read", path);
    close(fd);
    return st;
}

static kevo_status hash_weights_file(kevo_sha256 *s, const char *dir, const char *name,
                                     kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, name, err);
    if (st != KEVO_OK)
        return st;
    int fd;
    struct stat sb;
    if ((st = kevo_open_regular(path, &fd, &sb, err)) != KEVO_OK)   // a FIFO would hang here
        return st;
    uint64_t size = (uint64_t)sb.st_size, header_end = size, n = 0;
    unsigned char b[8];
    if (size >= 8 && pread(fd, b, 8, 0) == 8) {
        for (int i = 7; i >= 0; i--)
            n = n << 8 | b[i];
        header_end = n <= size - 8 ? 8 + n : size;
    }
    st = hash_sampled(s, fd, path, name, size, header_end, err);
    close(fd);
    return st;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Every *.safetensors file of the folder, in name order.
static kevo_status hash_weights(const char *dir, char out[65], kevo_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0, suffix = strlen(".safetensors");
    kevo_status st = KEVO_OK;
    for (struct dirent *e; st == KEVO_OK && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= suffix ||
            strcmp(e->d_name + len - suffix, ".safetensors") != 0)
            continue;
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? 2 * cap : 8) * sizeof *names);
            if (!grown) {
                st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    kevo_sha256 s;
    kevo_sha256_init(&s);
    hash_u64(&s, n);
    for (size_t i = 0; st == KEVO_OK && i < n; i++)
        st = hash_weights_file(&s, dir, names[i], err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (st == KEVO_OK)
        kevo_sha256_hex(&s, out);
    return st;
}

static kevo_status hash_model_files(const char *dir, char out[65], kevo_error *err)
{
    kevo_sha256 s;
    kevo_sha256_init(&s);
    for (size_t i = 0; i < sizeof model_files / sizeof model_files[0]; i++) {
        char path[KEVO_PATH_MAX], digest[65];
        kevo_status st = kevo_path_join(path, sizeof path, dir, model_files[i], err);
        if (st != KEVO_OK)
            return st;
        kevo_sha256_update(&s, model_files[i], strlen(model_files[i]) + 1);
        if (!kevo_file_exists(path)) {
            kevo_sha256_update(&s, "-", 1);
            continue;
        }
        if ((st = kevo_file_sha256(path, digest, err)) != KEVO_OK)
            return st;
        kevo_sha256_update(&s, digest, 64);
    }
    kevo_sha256_hex(&s, out);
    return KEVO_OK;
}

// A GGUF model's identity: the config digest over both files' metadata, the weights digest
// over both files sampled as safetensors files are, the other files of the text model's folder
// as for a hub folder (a tokenizer_config.json beside the files changes the tokenizer,
// model/gguf_model.c). Neither digest holds a path, so the pair named apart from two folders
// has the identity of the same pair in one.
static kevo_status gguf_identity(const kevo_model_source *src, kevo_model_identity *id,
                                 kevo_error *err)
{
    char paths[2][KEVO_PATH_MAX];
    kevo_status st = kevo_gguf_model_files(src, paths[0], paths[1], err);
    if (st == KEVO_OK)
        st = gguf_config_digest(src, id->config_fnv1a64, err);
    kevo_sha256 s;
    kevo_sha256_init(&s);
    for (int f = 0; st == KEVO_OK && f < 2; f++)
        st = hash_gguf_file(&s, paths[f], f ? "mmproj" : "text", err);
    if (st != KEVO_OK)
        return st;
    kevo_sha256_hex(&s, id->weights_sha256);
    char dir[KEVO_PATH_MAX];
    const char *base = kevo_path_base(paths[0]);
    snprintf(dir, sizeof dir, "%.*s", (int)(base - paths[0]), paths[0]);
    return hash_model_files(dir[0] ? dir : ".", id->files_sha256, err);
}

kevo_status kevo_model_identity_read_source(const kevo_model_source *src,
                                            kevo_model_identity *id, kevo_error *err)
{
    memset(id, 0, sizeof *id);
    if (kevo_gguf_model_is(src))
        return gguf_identity(src, id, err);
    kevo_status st = kevo_config_digest(src, id->config_fnv1a64, err);
    if (st == KEVO_OK)
        st = hash_weights(src->path, id->weights_sha256, err);
    if (st == KEVO_OK)
        st = hash_model_files(src->path, id->files_sha256, err);
    return st;
}

kevo_status kevo_model_identity_read(const char *model_dir, kevo_model_identity *id,
                                     kevo_error *err)
{
    return kevo_model_identity_read_source(&(kevo_model_source){.path = model_dir}, id, err);
}

