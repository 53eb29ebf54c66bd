// fuzz_checkpoint.c — a checkpoint folder (model.safetensors, or model.safetensors.index.json
// and its shards) through kevo_checkpoint_open (src/io/checkpoint.c). The input is a container
// of files (fuzz_common.h). Every tensor accepted is read end to end.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_unpack(data, size) == 0)
        return 0;
    kevo_checkpoint *c;
    kevo_error err;
    if (kevo_checkpoint_open(fuzz_dir(), &c, &err) != KEVO_OK)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < kevo_checkpoint_count(c); i++) {
        const kevo_tensor *t = kevo_checkpoint_at(c, i);
        const unsigned char *b = t->data;
        for (uint64_t k = 0; k < t->n_bytes; k++)
            sum += b[k];
        if (kevo_checkpoint_find(c, t->name) != t)
            abort();
    }
    (void)kevo_checkpoint_n_files(c);
    (void)kevo_checkpoint_file_bytes(c);
    fuzz_sink((double)sum);
    kevo_checkpoint_free(c);
    return 0;
}
