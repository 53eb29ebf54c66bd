// geometry.h — where each pixel of pixel_values comes from in the user's image, so that a map
// over the vision tower's patches can be drawn on the original photo.
//
// Preprocessing (preprocess.h) is, geometrically, an axis-aligned affine map: the pad mode's
// square canvas (expand2square) shifts the image, the resize scales it, the centre crop (or the
// zero padding of an image smaller than the crop) shifts it again. The geometry is that map, from
// the preprocessed image's continuous coordinates (pixel edges at integers, (0, 0) its top-left
// corner) to the original image's: x_original = x0 + scale_x * x_preprocessed.
#ifndef KEVO_IMAGE_GEOMETRY_H
#define KEVO_IMAGE_GEOMETRY_H

#include "image/preprocess.h"
#include "kevo.h"

// center_crop along one axis: resized indices [from, from + n) land at output index `to`
// (to > 0 when the resized image is smaller than the crop and is zero-padded).
typedef struct kevo_crop_span {
    int from, n, to;
} kevo_crop_span;

typedef struct kevo_image_geometry {
    int width, height;          // the original image
    int square_side, square_x, square_y;   // pad mode's square canvas and the image's place on
                                           // it; side 0 when the image is resized as it is
    int source_w, source_h;     // what is resized: the square or the original
    int resized_w, resized_h;   // the resize's output
    kevo_crop_span crop_x, crop_y;
    int out_w, out_h;           // the preprocessed image (crop_w x crop_h)
    double scale_x, scale_y;    // original pixels per preprocessed pixel
    double x0, y0;              // original coordinates of the preprocessed image's corner
} kevo_image_geometry;

// An axis-aligned rectangle [x0, x1) x [y0, y1) in continuous pixel coordinates.
typedef struct kevo_rect {
    double x0, y0, x1, y1;
} kevo_rect;

// The geometry of preprocessing a w x h image with cfg in mode (the same sizes and offsets
// kevo_preprocess uses). Fails as kevo_preprocess does on configs and sizes it refuses.
kevo_status kevo_image_geometry_compute(const kevo_image_config *cfg, kevo_image_mode mode, int w,
                                        int h, kevo_image_geometry *g, kevo_error *err);

// Rectangle r of the preprocessed image in original coordinates, clipped to the original image;
// a rectangle wholly in padding (the pad mode's bands, a small image's zero border) comes back
// empty (x0 == x1 or y0 == y1) at the nearest edge.
kevo_rect kevo_image_geometry_map(const kevo_image_geometry *g, kevo_rect r);

#endif
