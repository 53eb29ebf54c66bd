// fuzz_image.h — the body of the image harnesses (fuzz_png.c, fuzz_jpeg.c): an input with the
// decoder's signature through kevo_image_load (src/image/image.c), every pixel read. Inputs without
// the signature are skipped so that each target stays on its decoder (kevo_image_load picks the
// decoder by signature).
#ifndef KEVO_FUZZ_IMAGE_H
#define KEVO_FUZZ_IMAGE_H

#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "image/image.h"

static int fuzz_image(const uint8_t *data, size_t size, const char *sig, size_t sig_len)
{
    if (size < sig_len || memcmp(data, sig, sig_len) != 0)
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

#endif
