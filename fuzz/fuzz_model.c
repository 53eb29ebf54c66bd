// fuzz_model.c — a whole model folder through kevo_model_load (src/model/model.c): configs,
// tokenizer, checkpoint and the binding of its tensors to the slots the config implies
// (src/model/weights.c). The input is a container of files (fuzz_common.h), written over the
// tokenizer files of tests/fixtures/tiny-f32 (tokenizer.json and its side files), so a seed
// need only carry the configs and the checkpoint (fuzz/make_corpora.py makes a micro model).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "model/model.h"

static const char *const tok_files[] = {"tokenizer.json", "tokenizer_config.json",
                                        "added_tokens.json", "special_tokens_map.json"};
enum { N_TOK = sizeof tok_files / sizeof tok_files[0] };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void *tok_data[N_TOK];
    static size_t tok_len[N_TOK];
    if (!tok_data[0])
        for (int i = 0; i < N_TOK; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, "tests/fixtures/tiny-f32/%s", tok_files[i]);
            tok_data[i] = fuzz_read_fixture(rel, &tok_len[i]);
        }
    fuzz_reset();
    for (int i = 0; i < N_TOK; i++)
        fuzz_write(tok_files[i], tok_data[i], tok_len[i]);
    if (fuzz_unpack(data, size) == 0)
        return 0;
    kevo_model *m;
    kevo_error err;
    if (kevo_model_load(fuzz_dir(), &m, &err) == KEVO_OK)
        kevo_model_free(m);
    return 0;
}
