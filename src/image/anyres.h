// anyres.h — LLaVA-NeXT's image processor ("anyres" tiling): an RGB image to
// (1 + rows * cols, 3, tile, tile) pixel_values, exactly as transformers'
// models/llava_next/image_processing_llava_next.py LlavaNextImageProcessor (slow path, Pillow).
//
//   1. select_best_resolution picks one of image_grid_pinpoints (height, width) for the image;
//   2. the whole image is resized (Pillow bicubic) to fit it, keeping its aspect ratio
//      (get_patch_output_size), and zero-padded to it, centred (_pad_for_patching);
//   3. divide_to_patches cuts the padded canvas into crop_size tiles, row-major;
//   4. tile 0 is the original image resized straight to (shortest_edge, shortest_edge);
//   5. every tile is rescaled and normalised as CLIPImageProcessor does (its resize and centre
//      crop are identities on a tile of exactly crop_size == shortest_edge).
//
//     kevo_anyres_layout l;
//     if (kevo_anyres_layout_compute(cfg, img->width, img->height, &l, &err)) ...
//     float *px = malloc(kevo_anyres_floats(&l) * sizeof *px);
//     kevo_anyres_preprocess(img, cfg, &l, px, &err);
//
// Owned by the image module (src/image/).
#ifndef KEVO_IMAGE_ANYRES_H
#define KEVO_IMAGE_ANYRES_H

#include <stddef.h>

#include "image/geometry.h"
#include "image/image.h"
#include "kevo.h"

#define KEVO_ANYRES_MAX_TILES 256          // grid tiles (the base image not counted)
#define KEVO_ANYRES_MAX_FLOATS (1L << 26)  // pixel_values of one image (256 MiB)

// transformers' image_processing_utils.py select_best_resolution for an image of
// height x width: pinpoints[i] = {height, width}. The first candidate with the largest effective
// resolution, ties broken by the smallest waste, exactly as Python's loop (n >= 1).
void kevo_select_best_resolution(const int (*pinpoints)[2], int n, int height, int width,
                                 int *best_h, int *best_w);

typedef struct kevo_anyres_layout {
    int width, height;          // the original image
    int best_h, best_w;         // the chosen pinpoint: the padded canvas
    int resized_w, resized_h;   // get_patch_output_size: the image resized on the canvas
    int pad_x, pad_y;           // where it is pasted (divmod(best - resized, 2)[0])
    int tile;                   // crop_size == shortest_edge
    int grid_rows, grid_cols;   // best_h / tile, best_w / tile
    int n_tiles;                // 1 + grid_rows * grid_cols
    int base_side;              // tile 0: the original resized to base_side x base_side
} kevo_anyres_layout;

// The layout of a width x height image under cfg. KEVO_ERR_CONFIG names the key for settings
// kevo does not implement (no image_grid_pinpoints, resample other than bicubic, crop_size not
// square or not equal to size's shortest edge, a pinpoint that is not whole tiles);
// KEVO_ERR_FORMAT for image sizes or tile counts beyond the limits above.
kevo_status kevo_anyres_layout_compute(const kevo_image_config *cfg, int width, int height,
                                       kevo_anyres_layout *l, kevo_error *err);

// Floats of pixel_values for layout l: n_tiles * 3 * tile * tile.
size_t kevo_anyres_floats(const kevo_anyres_layout *l);

// pixel_values (n_tiles, 3, tile, tile), channel-major per tile: tile 0 the base image, then the
// grid row-major. `l` must come from kevo_anyres_layout_compute(cfg, img->width, img->height).
kevo_status kevo_anyres_preprocess(const kevo_image *img, const kevo_image_config *cfg,
                                   const kevo_anyres_layout *l, float *pixels, kevo_error *err);

// Rectangle r of the padded canvas (best_w x best_h, continuous coordinates) in the original
// image's, clipped to it; a rectangle wholly in the zero padding comes back empty (x0 == x1 or
// y0 == y1) at the nearest edge, as kevo_image_geometry_map.
kevo_rect kevo_anyres_map_canvas(const kevo_anyres_layout *l, kevo_rect r);

// Rectangle r of tile t's pixels (0 <= t < n_tiles; tile 0 the base image, a pure per-axis
// scale) in the original image's coordinates, as kevo_anyres_map_canvas.
kevo_rect kevo_anyres_map_tile(const kevo_anyres_layout *l, int t, kevo_rect r);

// CLIPImageProcessor's rescale and normalize (image_transforms.py rescale: float64(u8) * factor,
// then float32; normalize in float32 with mean and std cast to float32), shared by
// kevo_preprocess and the tiles: the w x h RGB8 block at rgb (rows `stride` bytes apart) to
// (3, h, w) floats.
void kevo_rescale_normalize(const kevo_image_config *cfg, const unsigned char *rgb, int w, int h,
                            size_t stride, float *out);

#endif
