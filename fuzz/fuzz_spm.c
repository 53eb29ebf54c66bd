// fuzz_spm.c — a SentencePiece tokenizer.model (src/tokenizer/spm.c) through
// kevo_tokenizer_load, in a folder without tokenizer.json whose side files (tokenizer_config.json
// with legacy=false, added_tokens.json, special_tokens_map.json) are tests/fixtures/tiny-f32's.
// A tokenizer that loads is then used (fuzz_tokenizer.h).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "fuzz_tokenizer.h"

static const char *const side[] = {"tokenizer_config.json", "added_tokens.json",
                                   "special_tokens_map.json"};
static void *side_data[3];
static size_t side_len[3];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!side_data[0])
        for (int i = 0; i < 3; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, "tests/fixtures/tiny-f32/%s", side[i]);
            side_data[i] = fuzz_read_fixture(rel, &side_len[i]);
        }
    fuzz_reset();
    for (int i = 0; i < 3; i++)
        fuzz_write(side[i], side_data[i], side_len[i]);
    if (fuzz_write("tokenizer.model", data, size) != 0)
        return 0;
    fuzz_load_and_use_tokenizer();
    return 0;
}
