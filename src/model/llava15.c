// llava15.c — the LLaVA-1.5 family (model_type "llava"): one 336 x 336 image through CLIP, the
// projector, its features in the prompt in the tower's order (transformers modeling_llava.py).
#include <stdlib.h>

#include "base/error.h"
#include "image/geometry.h"
#include "image/preprocess.h"
#include "model/config.h"
#include "model/run.h"

static kevo_status image_tokens(const kevo_model *m, int width, int height, int *n_tiles,
                                int *n_tokens, kevo_error *err)
{
    (void)width, (void)height, (void)err;   // every image becomes the same square
    *n_tiles = 1;
    *n_tokens = m->config.image_tokens;
    return KEVO_OK;
}

// CLIPImageProcessor (crop) or the original LLaVA's expand2square first (pad): preprocess.h.
static kevo_status preprocess(const kevo_model *m, const kevo_image *img, kevo_image_mode mode,
                              float **pixels, int *n_tiles, kevo_error *err)
{
    const kevo_config *c = &m->config;
    const kevo_image_config *ic = &m->image;
    *pixels = NULL;
    *n_tiles = 1;
    kevo_status st = kevo_image_config_check(ic, err);
    if (st != KEVO_OK)
        return st;
    if (ic->crop_w != c->image_size || ic->crop_h != c->image_size)
        return kevo_fail(err, KEVO_ERR_CONFIG, "%s: preprocessor_config.json crops to %d x %d "
                         "but the vision tower takes %d x %d images", m->dir, ic->crop_w,
                         ic->crop_h, c->image_size, c->image_size);
    *pixels = malloc((size_t)c->num_channels * c->image_size * c->image_size * sizeof **pixels);
    if (!*pixels)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for pixel values");
    if ((st = kevo_preprocess(img, ic, mode, *pixels, NULL, err)) != KEVO_OK) {
        free(*pixels);
        *pixels = NULL;
    }
    return st;
}

// LlavaForConditionalGeneration.get_image_features: the tower, the feature selection, the
// projector; the features are the image positions in order.
static kevo_status encode(kevo_run *r, const kevo_image_input *image, kevo_error *err)
{
    kevo_status st = kevo_clip_encode(r, image->pixels, r->act.vision.features, err);
    return st == KEVO_OK ? kevo_projector_forward(r, r->n_image_tokens, r->act.vision.emb, err)
                         : st;
}

// The class token (when kept) first, then every patch of the tower's grid, row-major, with its
// rectangle in pixel_values and, through the preprocessing's geometry, in the original image.
static kevo_status positions(const kevo_model *m, kevo_image_mode mode, int width, int height,
                             kevo_image_position **out, int *n_out, kevo_error *err)
{
    const kevo_config *c = &m->config;
    kevo_image_geometry g;
    kevo_status st = kevo_image_geometry_compute(&m->image, mode, width, height, &g, err);
    if (st != KEVO_OK)
        return st;
    int side = c->image_size / c->patch_size, cls = c->feature_keep_cls, n = side * side + cls;
    kevo_image_position *p = calloc((size_t)n, sizeof *p);
    if (!p)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    if (cls)
        p[0].kind = KEVO_POSITION_CLASS;
    for (int i = 0; i < side * side; i++) {
        double ps = c->patch_size, x = (i % side) * ps, y = (i / side) * ps;
        kevo_rect pre = {x, y, x + ps, y + ps}, o = kevo_image_geometry_map(&g, pre);
        p[cls + i] = (kevo_image_position){
            .kind = KEVO_POSITION_PATCH, .tile = 0, .row = i / side, .col = i % side,
            .pre = {pre.x0, pre.y0, pre.x1, pre.y1}, .orig = {o.x0, o.y0, o.x1, o.y1}};
    }
    *out = p;
    *n_out = n;
    return KEVO_OK;
}

const kevo_family kevo_family_llava = {
    .model_type = "llava",
    .name = "LLaVA-1.5",
    .image_processor = "CLIPImageProcessor (crop) or LLaVA's expand2square (pad)",
    .vision_path = "CLIP tower, feature layers, projector; one tile",
    .image_token = "<image>",
    .image_token_key = "image_token_index",
    .weights = &kevo_llava_weight_layout,
    .default_template = KEVO_TEMPLATE_LLAVA_V1,
    .read_vision = kevo_clip_read_vision,
    .read_config = kevo_llava_read_config,
    .image_tokens = image_tokens,
    .preprocess = preprocess,
    .encode = encode,
    .positions = positions,
    .describe = kevo_llava_describe,
};
