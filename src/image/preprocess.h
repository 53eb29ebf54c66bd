// preprocess.h — an RGB image to the vision tower's pixel_values, exactly as the references do
// (kevo_image_mode and an image file's pixel_values are public: kevo.h, kevo/image.h).
//
//   crop  llava-hf: transformers' CLIPImageProcessor (slow, Pillow) on the image: resize the
//         shortest edge to size.shortest_edge (Pillow bicubic), centre crop to crop_size,
//         rescale, normalise.
//   pad   the original LLaVA (llava/mm_utils.py process_images, image_aspect_ratio "pad"):
//         expand2square with the background tuple(int(x * 255) for x in image_mean), then the
//         same CLIPImageProcessor.
//
//     float *pixels = malloc(3 * cfg->crop_h * cfg->crop_w * sizeof *pixels);
//     kevo_preprocess(img, cfg, KEVO_IMAGE_MODE_PAD, pixels, NULL, &err);
//
// Owned by the image module (src/image/).
#ifndef KEVO_IMAGE_PREPROCESS_H
#define KEVO_IMAGE_PREPROCESS_H

#include "image/image.h"
#include "kevo.h"

// Checks that kevo implements what `cfg` asks for (bicubic resampling, resize and centre crop
// enabled, RGB conversion); KEVO_ERR_CONFIG names the offending preprocessor_config.json key.
kevo_status kevo_image_config_check(const kevo_image_config *cfg, kevo_error *err);

// pixel_values for the vision tower: (3, crop_h, crop_w) floats, channel-major, written into
// `pixels` (the caller provides 3 * crop_h * crop_w floats). When `shown` is not NULL it receives
// the uint8 image that was rescaled and normalised (crop_w x crop_h; the caller frees it with
// kevo_image_free).
kevo_status kevo_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                            kevo_image_mode mode, float *pixels, kevo_image **shown,
                            kevo_error *err);

#endif
