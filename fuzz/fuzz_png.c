// fuzz_png.c — PNG files through kevo_image_load (src/image/png.c, decoded by libpng).
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image(data, size, "\x89PNG\r\n\x1a\n", 8);
}
