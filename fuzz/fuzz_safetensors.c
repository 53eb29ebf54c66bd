// fuzz_safetensors.c — one safetensors file through kevo_safetensors_open (src/io/safetensors.c).
// Every tensor the reader accepts is read end to end: its bytes must lie inside the mapping.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_write("model.safetensors", data, size) != 0)
        return 0;
    kevo_safetensors *f;
    kevo_error err;
    if (kevo_safetensors_open(fuzz_path("model.safetensors"), &f, &err) != KEVO_OK)
        return 0;
    unsigned sum = 0;
    for (size_t i = 0; i < kevo_safetensors_count(f); i++) {
        const kevo_tensor *t = kevo_safetensors_at(f, i);
        const unsigned char *b = t->data;
        for (uint64_t k = 0; k < t->n_bytes; k++)
            sum += b[k];
        if (kevo_safetensors_find(f, t->name) != t)
            abort();   // the index must find what it lists
    }
    (void)kevo_safetensors_metadata(f, "format");
    fuzz_sink((double)sum);
    kevo_safetensors_free(f);
    return 0;
}
