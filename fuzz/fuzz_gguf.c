// fuzz_gguf.c — one GGUF file through kevo_gguf_open (src/io/gguf.c); what it accepts is read
// end to end: every key's value and string-array element, every typed read, every tensor's data;
// then its tokenizer.ggml.* keys through kevo_tokenizer_from_gguf (src/tokenizer/gguf.c), both
// legacy settings, and a tokenizer that loads is used (fuzz_tokenizer.h); last its metadata read
// as LLaVA-1.5's config (src/model/gguf_config.c).
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_tokenizer.h"
#include "io/gguf.h"
#include "model/gguf.h"
#include "tokenizer/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_write("a.gguf", data, size) != 0)
        return 0;
    kevo_gguf *g;
    kevo_error err;
    if (kevo_gguf_open(fuzz_path("a.gguf"), &g, &err) != KEVO_OK)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < kevo_gguf_n_kv(g); i++) {
        const kevo_gguf_kv *kv = kevo_gguf_kv_at(g, i);
        char key[256];
        size_t n = kv->key.len < sizeof key - 1 ? kv->key.len : sizeof key - 1;
        memcpy(key, kv->key.s, n);
        key[n] = '\0';
        uint64_t u;
        double d;
        kevo_gguf_str s;
        if (kevo_gguf_get_u64(g, key, &u, &err) == KEVO_OK)
            sum += (double)u;
        if (kevo_gguf_get_f64(g, key, &d, &err) == KEVO_OK)
            sum += d;
        if (kevo_gguf_get_str(g, key, &s, &err) == KEVO_OK && s.len)
            sum += (unsigned char)s.s[s.len - 1];
        for (uint64_t k = 0; kv->type == KEVO_GGUF_ARRAY && k < kv->n; k++)
            sum += kv->strings ? (double)kv->strings[k].len : kevo_gguf_array_f64(kv, k);
    }
    for (size_t i = 0; i < kevo_gguf_n_tensors(g); i++) {
        const kevo_gguf_tensor *t = kevo_gguf_tensor_at(g, i);
        const unsigned char *b = t->data;
        for (uint64_t k = 0; k < t->n_bytes; k += 4096)
            sum += b[k];
        if (t->n_bytes)
            sum += b[t->n_bytes - 1];
    }
    fuzz_sink(sum);
    for (int legacy = 0; legacy < 2; legacy++) {
        kevo_tokenizer *tok;
        if (kevo_tokenizer_from_gguf(g, fuzz_path("a.gguf"), legacy, &tok, &err) == KEVO_OK) {
            fuzz_use_tokenizer(tok);
            kevo_tokenizer_free(tok);
        }
    }
    // the LLaVA translation of its metadata, the file standing for both halves of the pair
    kevo_config c;
    kevo_image_config ic;
    if (kevo_gguf_llava_config(g, g, &c, &ic, &err) == KEVO_OK)
        fuzz_sink((uint64_t)c.text_layers + (uint64_t)c.image_tokens);
    kevo_gguf_free(g);
    return 0;
}
