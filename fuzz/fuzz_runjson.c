// fuzz_runjson.c — run.json (src/io/runfolder.c) through kevo_runfolder_load, beside a fixed
// valid hidden.safetensors holding "hidden" F32 [1, 2, 2] (one step of a 1-layer, width-2
// model), so that a run.json agreeing with it reaches the end of the reader.
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/runfolder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char hidden[8 + 72 + 16];
    static size_t hidden_len;
    if (!hidden_len) {
        static const char head[] = "{\"hidden\":{\"dtype\":\"F32\",\"shape\":[1,2,2],"
                                   "\"data_offsets\":[0,16]}}";
        size_t n = sizeof head - 1, padded = (n + 7) / 8 * 8;   // 72
        memset(hidden, 0, sizeof hidden);
        hidden[0] = (unsigned char)padded;
        memcpy(hidden + 8, head, n);
        memset(hidden + 8 + n, ' ', padded - n);
        const float v[4] = {0.5f, -1.0f, 2.0f, 0.25f};
        memcpy(hidden + 8 + padded, v, sizeof v);
        hidden_len = 8 + padded + sizeof v;
    }
    fuzz_reset();
    fuzz_write("hidden.safetensors", hidden, hidden_len);
    if (fuzz_write("run.json", data, size) != 0)
        return 0;
    kevo_runfolder *rf;
    kevo_error err;
    if (kevo_runfolder_load(fuzz_dir(), &rf, &err) == KEVO_OK)
        kevo_runfolder_free(rf);
    return 0;
}
