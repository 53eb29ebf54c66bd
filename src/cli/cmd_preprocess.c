// cmd_preprocess.c — `kevo preprocess MODEL_DIR IMAGE -o PIXELS.safetensors`: the vision tower's
// input, as a file to compare with transformers or to look at.
#include <stdio.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: kevo preprocess MODEL_DIR IMAGE -o PIXELS.safetensors [--image-mode pad|crop]\n"
    "                       [--png FILE]\n"
    "\n"
    "Decodes IMAGE (JPEG or PNG) as Pillow does and turns it into the vision tower's input with\n"
    "the settings of MODEL_DIR/preprocessor_config.json (any folder holding that file will do).\n"
    "Writes pixel_values, F32 [1, 3, H, W]; a LLaVA-NeXT folder (its config.json) tiles the\n"
    "image as LlavaNextImageProcessor does: [1, TILES, 3, H, W], the base image first; a\n"
    "Qwen2-VL or Qwen2.5-VL folder resizes it as Qwen2VLImageProcessor does and writes its\n"
    "patch rows [PATCHES, 3 * 2 * 14 * 14] with image_grid_thw [1, 3]. EXIF\n"
    "orientation is not applied (transformers does not apply it either).\n"
    "\n"
    "  -o, --output FILE    the safetensors file to write\n"
    "  --image-mode MODE    pad: the original LLaVA (pad to a square with the mean colour, then\n"
    "                       resize); crop: llava-hf (resize the short side, centre crop).\n"
    "                       Default pad\n"
    "  --png FILE           also write the resized and cropped 8-bit image as a PNG (not for\n"
    "                       LLaVA-NeXT, whose image becomes several tiles)\n";

static kevo_status run(const char *model_dir, const char *image_path, const char *out_path,
                       kevo_image_mode mode, const char *png_path, kevo_error *err)
{
    kevo_pixels *p = NULL;
    kevo_status st = kevo_pixels_load(model_dir, image_path, mode, &p, err);
    if (st == KEVO_OK)
        st = kevo_pixels_save(p, out_path, err);
    if (st == KEVO_OK && png_path)
        st = kevo_pixels_save_png(p, png_path, err);
    if (st == KEVO_OK && kevo_pixels_n_patches(p))
        printf("%s: %d x %d -> resized %d x %d -> pixel_values of %d patches (native "
               "resolution) -> %s\n", image_path, kevo_pixels_image_width(p),
               kevo_pixels_image_height(p), kevo_pixels_width(p), kevo_pixels_height(p),
               kevo_pixels_n_patches(p), out_path);
    else if (st == KEVO_OK && kevo_pixels_n_tiles(p))
        printf("%s: %d x %d -> pixel_values [1, %d, 3, %d, %d] (anyres tiles) -> %s\n",
               image_path, kevo_pixels_image_width(p), kevo_pixels_image_height(p),
               kevo_pixels_n_tiles(p), kevo_pixels_height(p), kevo_pixels_width(p), out_path);
    else if (st == KEVO_OK)
        printf("%s: %d x %d -> pixel_values [1, 3, %d, %d] (%s) -> %s\n", image_path,
               kevo_pixels_image_width(p), kevo_pixels_image_height(p), kevo_pixels_height(p),
               kevo_pixels_width(p), kevo_image_mode_name(mode), out_path);
    kevo_pixels_free(p);
    return st;
}

// --image-mode pad|crop into the kevo_image_mode at dest (a CLI_CALL: the message names the
// option).
static int parse_mode(const char *cmd, const char *arg, void *dest)
{
    kevo_error err;
    if (kevo_image_mode_parse(arg, dest, &err) == KEVO_OK)
        return 1;
    cli_usage_error(cmd, "--image-mode: %s", err.msg);
    return 0;
}

int cmd_preprocess(int argc, char **argv)
{
    const char *out_path = NULL, *png_path = NULL;
    kevo_image_mode mode = KEVO_IMAGE_MODE_PAD;
    kevo_error err;
    const cli_option opts[] = {
        CLI_OPT_STRING("output", 'o', &out_path),
        CLI_OPT_CALL("image-mode", 0, &mode, parse_mode),
        CLI_OPT_STRING("png", 0, &png_path),
        CLI_OPT_HELP,
        CLI_OPT_END,
    };
    int rc = cli_parse("preprocess", usage, 0, opts, argc, argv);
    if (rc != CLI_CONTINUE)
        return rc;
    if (optind != argc - 2)
        return cli_usage_error("preprocess", "expects MODEL_DIR and IMAGE");
    if (!out_path)
        return cli_usage_error("preprocess", "needs -o PIXELS.safetensors");
    if (run(argv[optind], argv[optind + 1], out_path, mode, png_path, &err) != KEVO_OK)
        return cli_report(&err);
    return EXIT_OK;
}
