// pixels.c — an image file's pixel_values with a model folder's preprocessor_config.json (and,
// when the folder has a config.json, its family's image processor: LLaVA-NeXT's tiles,
// Qwen2-VL's patch rows), and the file `kevo preprocess` writes to compare with transformers
// (kevo.h, kevo/image.h).
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/preprocess.h"
#include "image/qwen2vl.h"
#include "io/safetensors.h"
#include "base/error.h"
#include "base/fs.h"
#include "model/config.h"
#include "model/model.h"

struct kevo_pixels {
    char *image_path;
    kevo_image_mode mode;
    int width, height;              // the crop, one tile, or Qwen2-VL's resized image
    int n_tiles;                    // 0: one image; else LLaVA-NeXT's base image + tile grid
    int n_patches, row_floats;      // Qwen2-VL: pixel_values (n_patches, row_floats), else 0
    int64_t grid_thw[3];            //   and image_grid_thw
    int image_width, image_height;  // the decoded file
    float *values;                  // (3, height, width), or (n_tiles, 3, height, width)
    kevo_image *shown;              // the 8-bit image that was rescaled and normalised (one
                                    // image only)
};

const char *kevo_image_mode_for(const kevo_config *c, kevo_image_mode mode)
{
    if (c->spatial_merge_size)
        return "native";   // Qwen2-VL: smart_resize at the image's own aspect ratio
    return c->n_grid_pinpoints ? "anyres" : kevo_image_mode_name(mode);
}

void kevo_pixels_free(kevo_pixels *p)
{
    if (!p)
        return;
    free(p->image_path);
    free(p->values);
    kevo_image_free(p->shown);
    free(p);
}

// A family's pixel_values through its own image processor (LLaVA-NeXT's tiles, Qwen2-VL's
// patch rows): the family reads only the folder, its config and its image config (a model
// without tokenizer or weights).
static kevo_status load_family(kevo_pixels *p, const char *model_dir, const kevo_config *c,
                              const kevo_image_config *ic, const kevo_image *img,
                              kevo_error *err)
{
    kevo_model m = {.dir = (char *)model_dir, .family = kevo_family_find(c->model_type),
                    .config = *c, .image = *ic};
    kevo_status st = KEVO_OK;
    if (m.family->image_config)
        st = m.family->image_config(model_dir, &m.config, &m.image, err);
    if (st == KEVO_OK)
        st = m.family->preprocess(&m, img, p->mode, &p->values, &p->n_tiles, err);
    p->width = p->height = c->image_size;
    kevo_qwen2vl_grid g;
    if (st == KEVO_OK && c->spatial_merge_size &&
        (st = kevo_qwen2vl_grid_compute(&m.image, img->width, img->height, &g, err)) == KEVO_OK) {
        p->width = g.resized_w, p->height = g.resized_h, p->n_tiles = 0;
        p->n_patches = g.n_patches, p->row_floats = g.row_floats;
        p->grid_thw[0] = g.t, p->grid_thw[1] = g.h, p->grid_thw[2] = g.w;
    }
    return st;
}

kevo_status kevo_pixels_load(const char *model_dir, const char *image_path, kevo_image_mode mode,
                             kevo_pixels **out, kevo_error *err)
{
    *out = NULL;
    kevo_image_config cfg;
    kevo_image *img = NULL;
    kevo_pixels *p = calloc(1, sizeof *p);
    if (!p || !(p->image_path = strdup(image_path))) {
        free(p);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    }
    p->mode = mode;
    kevo_status st = kevo_image_config_load(model_dir, &cfg, err);
    if (st == KEVO_OK && (st = kevo_image_config_check(&cfg, err)) != KEVO_OK)
        kevo_error_prefix(err, "%s/", model_dir);
    if (st == KEVO_OK)
        st = kevo_image_load(image_path, &img, err);
    // A folder with a config.json of a tiling family preprocesses as that family does.
    kevo_config *c = st == KEVO_OK ? malloc(sizeof *c) : NULL;
    char config_path[KEVO_PATH_MAX];
    if (st == KEVO_OK && !c)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    if (st == KEVO_OK && (st = kevo_path_join(config_path, sizeof config_path, model_dir,
                                              "config.json", err)) == KEVO_OK &&
        kevo_file_exists(config_path) && (st = kevo_config_load(model_dir, c, err)) == KEVO_OK &&
        (c->n_grid_pinpoints || c->spatial_merge_size)) {
        p->image_width = img->width, p->image_height = img->height;
        st = load_family(p, model_dir, c, &cfg, img, err);
        free(c);
        kevo_image_free(img);
        if (st != KEVO_OK) {
            kevo_pixels_free(p);
            return st;
        }
        *out = p;
        return KEVO_OK;
    }
    free(c);
    if (st == KEVO_OK) {
        p->width = cfg.crop_w, p->height = cfg.crop_h;
        p->image_width = img->width, p->image_height = img->height;
        if (!(p->values = malloc((size_t)3 * cfg.crop_w * cfg.crop_h * sizeof *p->values)))
            st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for pixel_values");
    }
    if (st == KEVO_OK &&
        (st = kevo_preprocess(img, &cfg, mode, p->values, &p->shown, err)) != KEVO_OK)
        kevo_error_prefix(err, "%s: ", image_path);
    kevo_image_free(img);
    if (st != KEVO_OK) {
        kevo_pixels_free(p);
        return st;
    }
    *out = p;
    return KEVO_OK;
}

const float *kevo_pixels_values(const kevo_pixels *p)
{
    return p->values;
}

int kevo_pixels_width(const kevo_pixels *p)
{
    return p->width;
}

int kevo_pixels_height(const kevo_pixels *p)
{
    return p->height;
}

int kevo_pixels_n_tiles(const kevo_pixels *p)
{
    return p->n_tiles;
}

int kevo_pixels_n_patches(const kevo_pixels *p)
{
    return p->n_patches;
}

int kevo_pixels_image_width(const kevo_pixels *p)
{
    return p->image_width;
}

int kevo_pixels_image_height(const kevo_pixels *p)
{
    return p->image_height;
}

kevo_status kevo_pixels_save(const kevo_pixels *p, const char *path, kevo_error *err)
{
    char width[16], height[16];
    snprintf(width, sizeof width, "%d", p->image_width);
    snprintf(height, sizeof height, "%d", p->image_height);
    const char *meta[] = {"format", "kevo-pixels", "kevo_version", KEVO_VERSION,
                          "image", p->image_path, "image_width", width, "image_height", height,
                          "mode", p->n_patches ? "native" : kevo_image_mode_name(p->mode)};
    if (p->n_patches) {   // Qwen2VLImageProcessor's pixel_values and image_grid_thw
        kevo_tensor_out qt[2] = {
            {"pixel_values", KEVO_DTYPE_F32, 2, {p->n_patches, p->row_floats}, p->values},
            {"image_grid_thw", KEVO_DTYPE_I64, 2, {1, 3}, p->grid_thw}};
        return kevo_safetensors_write(path, qt, 2, meta, 6, err);
    }
    // transformers' shapes: [1, 3, H, W], and LLaVA-NeXT's [1, tiles, 3, H, W]
    kevo_tensor_out t = {"pixel_values", KEVO_DTYPE_F32, 4, {1, 3, p->height, p->width},
                         p->values};
    if (p->n_tiles)
        t = (kevo_tensor_out){"pixel_values", KEVO_DTYPE_F32, 5,
                              {1, p->n_tiles, 3, p->height, p->width}, p->values};
    return kevo_safetensors_write(path, &t, 1, meta, 6, err);
}

kevo_status kevo_pixels_save_png(const kevo_pixels *p, const char *path, kevo_error *err)
{
    if (!p->shown && p->n_patches)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %s becomes %d patch rows; kevo does not write "
                         "their picture", path, p->image_path, p->n_patches);
    if (!p->shown)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: %s is cut into %d tiles; there is no single "
                         "preprocessed picture to write", path, p->image_path, p->n_tiles);
    return kevo_image_save_png(p->shown, path, err);
}
