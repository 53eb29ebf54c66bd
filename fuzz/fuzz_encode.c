// fuzz_encode.c — hostile text through the tokenizer (src/tokenizer/encode.c): the input is the
// text, encoded by tests/fixtures/tiny-f32's tokenizer read both through tokenizer.json (HF) and
// through tokenizer.model (slow LlamaTokenizer semantics), then decoded.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "fuzz_tokenizer.h"

static kevo_tokenizer *load(const char *const *files, int n)
{
    fuzz_reset();
    for (int i = 0; i < n; i++) {
        char rel[128];
        size_t len;
        snprintf(rel, sizeof rel, "tests/fixtures/tiny-f32/%s", files[i]);
        void *d = fuzz_read_fixture(rel, &len);
        fuzz_write(files[i], d, len);
        free(d);
    }
    kevo_tokenizer *t;
    kevo_error err;
    if (kevo_tokenizer_load(fuzz_dir(), &t, &err) != KEVO_OK) {
        fprintf(stderr, "fuzz_encode: the fixture tokenizer does not load: %s\n", err.msg);
        abort();
    }
    fuzz_reset();
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static kevo_tokenizer *hf, *spm;
    if (!hf) {
        static const char *const side[] = {"tokenizer_config.json", "added_tokens.json",
                                           "special_tokens_map.json", "tokenizer.model",
                                           "tokenizer.json"};
        spm = load(side, 4);
        hf = load(side, 5);
    }
    fuzz_use_text(hf, (const char *)data, size);
    fuzz_use_text(spm, (const char *)data, size);
    return 0;
}
