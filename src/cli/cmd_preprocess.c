// cmd_preprocess.c — `kevo preprocess MODEL_DIR IMAGE -o PIXELS.safetensors`: the vision tower's
// input, as a file to compare with transformers or to look at.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "cli/cli.h"
#include "image/image.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "image/preprocess.h"

static const char usage[] =
    "usage: kevo preprocess MODEL_DIR IMAGE -o PIXELS.safetensors [--image-mode pad|crop]\n"
    "                       [--png FILE]\n"
    "\n"
    "Decodes IMAGE (JPEG or PNG) as Pillow does and turns it into the vision tower's input with\n"
    "the settings of MODEL_DIR/preprocessor_config.json (any folder holding that file will do).\n"
    "Writes pixel_values, F32 [1, 3, H, W]. EXIF orientation is not applied (transformers does\n"
    "not apply it either).\n"
    "\n"
    "  -o, --output FILE    the safetensors file to write\n"
    "  --image-mode MODE    pad: the original LLaVA (pad to a square with the mean colour, then\n"
    "                       resize); crop: llava-hf (resize the short side, centre crop).\n"
    "                       Default pad\n"
    "  --png FILE           also write the resized and cropped 8-bit image as a PNG\n";

static kevo_status run(const char *model_dir, const char *image_path, const char *out_path,
                       kevo_image_mode mode, const char *png_path, kevo_error *err)
{
    kevo_image_config cfg;
    kevo_image *img = NULL, *shown = NULL;
    float *pixels = NULL;
    kevo_status st = kevo_image_config_load(model_dir, &cfg, err);
    if (st == KEVO_OK && (st = kevo_image_config_check(&cfg, err)) != KEVO_OK)
        kevo_error_prefix(err, "%s/", model_dir);
    if (st == KEVO_OK)
        st = kevo_image_load(image_path, &img, err);
    if (st == KEVO_OK && !(pixels = malloc((size_t)3 * cfg.crop_w * cfg.crop_h * sizeof *pixels)))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for pixel_values");
    if (st == KEVO_OK && (st = kevo_preprocess(img, &cfg, mode, pixels, &shown, err)) != KEVO_OK)
        kevo_error_prefix(err, "%s: ", image_path);
    if (st == KEVO_OK) {
        char width[16], height[16];
        snprintf(width, sizeof width, "%d", img->width);
        snprintf(height, sizeof height, "%d", img->height);
        const char *meta[] = {"format", "kevo-pixels", "kevo_version", KEVO_VERSION,
                              "image", image_path, "image_width", width, "image_height", height,
                              "mode", kevo_image_mode_name(mode)};
        kevo_tensor_out t = {"pixel_values", KEVO_DTYPE_F32, 4, {1, 3, cfg.crop_h, cfg.crop_w},
                             pixels};
        st = kevo_safetensors_write(out_path, &t, 1, meta, 6, err);
    }
    if (st == KEVO_OK && png_path)
        st = kevo_image_save_png(shown, png_path, err);
    if (st == KEVO_OK)
        printf("%s: %d x %d -> pixel_values [1, 3, %d, %d] (%s) -> %s\n", image_path, img->width,
               img->height, cfg.crop_h, cfg.crop_w, kevo_image_mode_name(mode), out_path);
    free(pixels);
    kevo_image_free(img);
    kevo_image_free(shown);
    return st;
}

int cmd_preprocess(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},
        {"image-mode", required_argument, 0, 'm'},
        {"png", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out_path = NULL, *png_path = NULL;
    kevo_image_mode mode = KEVO_IMAGE_MODE_PAD;
    kevo_error err;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out_path = optarg;
            break;
        case 'm':
            if (kevo_image_mode_parse(optarg, &mode, &err) != KEVO_OK)
                return cli_usage_error("preprocess", "--image-mode: %s", err.msg);
            break;
        case 'p':
            png_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("preprocess", "unknown option");
        }
    }
    if (optind != argc - 2)
        return cli_usage_error("preprocess", "expects MODEL_DIR and IMAGE");
    if (!out_path)
        return cli_usage_error("preprocess", "needs -o PIXELS.safetensors");
    if (run(argv[optind], argv[optind + 1], out_path, mode, png_path, &err) != KEVO_OK)
        return cli_report(&err);
    return EXIT_OK;
}
