// fuzz_npy.c — one .npy file through kevo_npy_open (src/io/npy.c); the array it accepts is read
// end to end.
#include <stdint.h>

#include "fuzz_common.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_write("a.npy", data, size) != 0)
        return 0;
    kevo_npy *f;
    kevo_error err;
    if (kevo_npy_open(fuzz_path("a.npy"), &f, &err) != KEVO_OK)
        return 0;
    const kevo_tensor *t = kevo_npy_tensor(f);
    const unsigned char *b = t->data;
    unsigned sum = 0;
    for (uint64_t k = 0; k < t->n_bytes; k++)
        sum += b[k];
    fuzz_sink((double)sum);
    kevo_npy_free(f);
    return 0;
}
