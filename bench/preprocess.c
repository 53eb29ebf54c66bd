// preprocess.c — times kevo's whole image pipeline (file -> pixel_values) per image and mode.
//
// usage: build/bench/preprocess CONFIG_DIR REPEATS IMAGE...
// Prints one line per image and mode: "<seconds> <mode> <path>", the best of REPEATS runs of
// kevo_image_load + kevo_preprocess. bench/preprocess.py runs it beside the same pipeline in
// Pillow + numpy and prints the ratios.
#include <stdio.h>
#include <stdlib.h>

#include "kevo.h"
#include "image/image.h"
#include "model/config.h"
#include "image/preprocess.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CONFIG_DIR REPEATS IMAGE...\n", argv[0]);
        return 2;
    }
    kevo_error err;
    kevo_image_config cfg;
    if (kevo_image_config_load(argv[1], &cfg, &err) != KEVO_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int repeats = atoi(argv[2]);
    float *pixels = malloc((size_t)3 * cfg.crop_w * cfg.crop_h * sizeof *pixels);
    for (int i = 3; i < argc; i++) {
        for (int m = 0; m < 2; m++) {
            kevo_image_mode mode = m ? KEVO_IMAGE_MODE_CROP : KEVO_IMAGE_MODE_PAD;
            double best = 1e30;
            for (int r = 0; r < repeats; r++) {
                double t0 = kevo_now();
                kevo_image *img;
                if (kevo_image_load(argv[i], &img, &err) != KEVO_OK ||
                    kevo_preprocess(img, &cfg, mode, pixels, NULL, &err) != KEVO_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    return 1;
                }
                kevo_image_free(img);
                double t = kevo_now() - t0;
                best = t < best ? t : best;
            }
            printf("%.6f %s %s\n", best, kevo_image_mode_name(mode), argv[i]);
            fflush(stdout);
        }
    }
    free(pixels);
    return 0;
}
