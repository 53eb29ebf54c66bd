// geometry.c — the sizes and offsets of preprocessing (see geometry.h), computed once for both
// kevo_preprocess and the patch maps: transformers' image_transforms.py
// get_resize_output_image_size (default_to_square=False) and center_crop, LLaVA's expand2square
// (llava/mm_utils.py).
#include "image/geometry.h"

#include <stdint.h>

#include "base/error.h"
#include "image/image.h"

// get_resize_output_image_size; refuses a long side that could not be represented.
static kevo_status resize_size(const kevo_image_config *cfg, int w, int h, int *ow, int *oh,
                               kevo_error *err)
{
    if (!cfg->do_resize) {
        *ow = w, *oh = h;
    } else if (cfg->shortest_edge > 0) {
        int s = cfg->shortest_edge, lo = w <= h ? w : h, hi = w <= h ? h : w;
        // Python's int(s * long / short): an exact product, a correctly rounded division.
        double new_long = (double)((int64_t)s * hi) / lo;
        if (new_long >= (double)KEVO_IMAGE_MAX_PIXELS)
            return kevo_fail(err, KEVO_ERR_FORMAT, "a %d x %d image resized to a short side of %d "
                             "would have a long side of %.0f pixels (over 2^28)", w, h, s,
                             new_long);
        *ow = w <= h ? s : (int)new_long;
        *oh = w <= h ? (int)new_long : s;
    } else {
        *ow = cfg->resize_w, *oh = cfg->resize_h;
    }
    return KEVO_OK;
}

// center_crop's offsets ((H - h) // 2); an image smaller than the crop is zero-padded with
// ceil((h - H) / 2) before it.
static kevo_crop_span crop_axis(int resized, int crop)
{
    if (resized >= crop)
        return (kevo_crop_span){(resized - crop) / 2, crop, 0};
    return (kevo_crop_span){0, resized, (crop - resized + 1) / 2};
}

kevo_status kevo_image_geometry_compute(const kevo_image_config *cfg, kevo_image_mode mode, int w,
                                        int h, kevo_image_geometry *g, kevo_error *err)
{
    kevo_status st = kevo_image_config_check(cfg, err);
    if (st != KEVO_OK)
        return st;
    *g = (kevo_image_geometry){.width = w, .height = h, .source_w = w, .source_h = h,
                               .out_w = cfg->crop_w, .out_h = cfg->crop_h};
    if (mode == KEVO_IMAGE_MODE_PAD && w != h) {
        g->square_side = w > h ? w : h;
        g->square_x = (g->square_side - w) / 2;
        g->square_y = (g->square_side - h) / 2;
        g->source_w = g->source_h = g->square_side;
    }
    if ((st = resize_size(cfg, g->source_w, g->source_h, &g->resized_w, &g->resized_h, err)))
        return st;
    g->crop_x = crop_axis(g->resized_w, cfg->crop_w);
    g->crop_y = crop_axis(g->resized_h, cfg->crop_h);
    // Pillow's resize maps output pixel edges linearly onto the input's (support centred on
    // (x + 0.5) * in / out): the scale is in / out exactly.
    g->scale_x = (double)g->source_w / g->resized_w;
    g->scale_y = (double)g->source_h / g->resized_h;
    g->x0 = (g->crop_x.from - g->crop_x.to) * g->scale_x - g->square_x;
    g->y0 = (g->crop_y.from - g->crop_y.to) * g->scale_y - g->square_y;
    return KEVO_OK;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

kevo_rect kevo_image_geometry_map(const kevo_image_geometry *g, kevo_rect r)
{
    return (kevo_rect){clamp(g->x0 + g->scale_x * r.x0, 0, g->width),
                       clamp(g->y0 + g->scale_y * r.y0, 0, g->height),
                       clamp(g->x0 + g->scale_x * r.x1, 0, g->width),
                       clamp(g->y0 + g->scale_y * r.y1, 0, g->height)};
}
