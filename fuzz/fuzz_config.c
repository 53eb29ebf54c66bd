// fuzz_config.c — a model folder's config.json + generation_config.json (kevo_config_load) and
// preprocessor_config.json (kevo_image_config_load), src/model/config.c. The input is a
// container of files (fuzz_common.h).
#include <stdint.h>

#include "fuzz_common.h"
#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reset();
    if (fuzz_unpack(data, size) == 0)
        return 0;
    kevo_config cfg;
    kevo_image_config ic;
    kevo_error err;
    (void)kevo_config_load(fuzz_dir(), &cfg, &err);
    (void)kevo_image_config_load(fuzz_dir(), &ic, &err);
    return 0;
}
