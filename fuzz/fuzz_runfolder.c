// fuzz_runfolder.c — a whole run folder (run.json + hidden.safetensors, docs/run-folder.md)
// through kevo_runfolder_load (src/io/runfolder.c). The input is a container of files
// (fuzz_common.h). The hidden states of a folder that loads are read end to end.
#include <stdint.h>

#include "fuzz_common.h"
#include "io/runfolder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_unpack(data, size) == 0)
        return 0;
    kevo_runfolder *rf;
    kevo_error err;
    if (kevo_runfolder_load(fuzz_dir(), &rf, &err) != KEVO_OK)
        return 0;
    float sum = 0;
    for (size_t i = 0; i < (size_t)rf->n_steps * rf->n_states * rf->dim; i++)
        sum += rf->hidden[i];
    for (int i = 0; i < rf->n_steps; i++)
        sum += (float)rf->generated_ids[i] + (float)rf->pieces[i][0];
    fuzz_sink((double)sum);
    kevo_runfolder_free(rf);
    return 0;
}
