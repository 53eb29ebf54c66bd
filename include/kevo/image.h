// kevo/image.h — part of kevo.h (include kevo.h): image files to the vision tower's
// pixel_values, exactly as the references do.
//
// Decoding: JPEG and PNG as Pillow 9.4's Image.open(f).convert("RGB") (EXIF orientation is not
// applied: neither Pillow's open() nor transformers' processors apply it). Preprocessing, with
// the settings of a model folder's preprocessor_config.json (kevo_image_config):
//   crop  llava-hf: transformers' CLIPImageProcessor (slow, Pillow) on the image: resize the
//         shortest edge to size.shortest_edge (Pillow bicubic), centre crop to crop_size,
//         rescale, normalise.
//   pad   the original LLaVA (llava/mm_utils.py process_images, image_aspect_ratio "pad"):
//         expand2square with the background tuple(int(x * 255) for x in image_mean), then the
//         same CLIPImageProcessor.
#ifndef KEVO_IMAGE_H
#define KEVO_IMAGE_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/image.h"
#endif

typedef enum kevo_image_mode { KEVO_IMAGE_MODE_PAD, KEVO_IMAGE_MODE_CROP } kevo_image_mode;

// "pad" or "crop"; anything else is a KEVO_ERR_ARG naming the accepted values.
kevo_status kevo_image_mode_parse(const char *name, kevo_image_mode *out, kevo_error *err);
const char *kevo_image_mode_name(kevo_image_mode mode);
// What a model with config c does with an image in `mode`: the mode's name, or "anyres" for a
// family that tiles every image whatever the mode (LLaVA-NeXT). run.json records it.
const char *kevo_image_mode_for(const kevo_config *c, kevo_image_mode mode);

// One image's pixel_values and the 8-bit image they were computed from.
typedef struct kevo_pixels kevo_pixels;

// Decodes image_path and preprocesses it in `mode` with MODEL_DIR/preprocessor_config.json (any
// folder holding that file will do; settings kevo does not implement are refused, naming the
// key). A folder whose config.json is LLaVA-NeXT's tiles the image as its processor does (the
// mode does not apply). On failure *out is NULL.
kevo_status kevo_pixels_load(const char *model_dir, const char *image_path, kevo_image_mode mode,
                             kevo_pixels **out, kevo_error *err);
void kevo_pixels_free(kevo_pixels *p);   // accepts NULL

// (3, height, width) floats, channel-major: the vision tower's input; (n_tiles, 3, height,
// width) for a tiled image.
const float *kevo_pixels_values(const kevo_pixels *p);
int kevo_pixels_width(const kevo_pixels *p);          // the crop's
int kevo_pixels_height(const kevo_pixels *p);
int kevo_pixels_n_tiles(const kevo_pixels *p);       // 0, or LLaVA-NeXT's tiles (base first)
// Qwen2-VL: the rows of pixel_values (n_patches, 3 * T * P * P), the patches in merge-window
// order (width and height are then the resized image's); 0 for the other families.
int kevo_pixels_n_patches(const kevo_pixels *p);
int kevo_pixels_image_width(const kevo_pixels *p);    // the decoded file's
int kevo_pixels_image_height(const kevo_pixels *p);

// Writes pixel_values, F32 [1, 3, height, width] ([1, n_tiles, 3, height, width] tiled, as
// transformers' LLaVA-NeXT processor returns them; Qwen2-VL's [n_patches, 3 * T * P * P] and
// image_grid_thw I64 [1, 3]), atomically as safetensors with the image, its
// size and the mode in "__metadata__" (format "kevo-pixels").
kevo_status kevo_pixels_save(const kevo_pixels *p, const char *path, kevo_error *err);
// Writes the resized and cropped 8-bit image (what was rescaled and normalised) as a PNG.
kevo_status kevo_pixels_save_png(const kevo_pixels *p, const char *path, kevo_error *err);

#endif
