// fuzz_jpeg.c — JPEG files through kevo_image_load (src/image/jpeg.c, decoded by
// libjpeg-turbo).
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image(data, size, "\xff\xd8\xff", 3);
}
