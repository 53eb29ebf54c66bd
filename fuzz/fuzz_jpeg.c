// fuzz_jpeg.c — JPEG files through kevo_image_load (src/io/image.c, src/io/image_jpeg.c, decoded
// by libjpeg-turbo). Inputs without the JPEG signature are skipped so that this target stays on
// its decoder (kevo_image_load picks the decoder by signature). Every pixel is read.
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char sig[] = "\xff\xd8\xff";
    if (size < 3 || memcmp(data, sig, 3) != 0)
        return 0;
    fuzz_reset();
    if (fuzz_write("image", data, size) != 0)
        return 0;
    kevo_image *img;
    kevo_error err;
    if (kevo_image_load(fuzz_path("image"), &img, &err) != KEVO_OK)
        return 0;
    unsigned sum = 0;
    for (size_t k = 0; k < 3 * (size_t)img->width * (size_t)img->height; k++)
        sum += img->rgb[k];
    fuzz_sink((double)sum);
    kevo_image_free(img);
    return 0;
}
