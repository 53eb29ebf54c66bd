// fuzz_states.c — hostile --image-states SPECs through kevo_image_states_parse
// (src/model/states.c): the input's first byte picks the layer count (1..256), the rest is the
// spec. Whatever it accepts must be ascending, unique and within 0..L.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "kevo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    int layers = data[0] + 1;
    char *spec = malloc(size);
    memcpy(spec, data + 1, size - 1);
    spec[size - 1] = '\0';
    int *idx = NULL, n = 0;
    kevo_error err;
    if (kevo_image_states_parse(spec, layers, &idx, &n, &err) == KEVO_OK) {
        if (n < 1 || n > layers + 1)
            abort();
        for (int i = 0; i < n; i++)
            if (idx[i] < 0 || idx[i] > layers || (i && idx[i] <= idx[i - 1]))
                abort();
    }
    free(idx);
    free(spec);
    return 0;
}
