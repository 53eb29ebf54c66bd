// fuzz_tokenizer_json.c — tokenizer.json (src/tokenizer/hf.c) and its side files
// tokenizer_config.json, added_tokens.json, special_tokens_map.json (src/tokenizer/load.c)
// through kevo_tokenizer_load. The input is a container of files (fuzz_common.h); a tokenizer
// that loads is then used (fuzz_tokenizer.h).
#include <stdint.h>

#include "fuzz_common.h"
#include "fuzz_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_unpack(data, size) == 0)
        return 0;
    fuzz_load_and_use_tokenizer();
    return 0;
}
