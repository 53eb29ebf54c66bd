// test_geometry.c — image/geometry: the map from pixel_values back to the user's image. Checked
// two ways: by hand on the sizes of LLaVA-1.5 (transformers' resize and centre crop, LLaVA's
// expand2square), and against the real preprocessing (kevo_preprocess, itself checked against
// Pillow in test_image.c): a bright square drawn on a photo-sized image is found in the
// preprocessed image and mapped back onto where it was drawn.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/geometry.h"
#include "image/preprocess.h"
#include "test.h"

// CLIPImageProcessor as llava-1.5-7b-hf's preprocessor_config.json sets it.
static kevo_image_config clip_config(void)
{
    return (kevo_image_config){.do_convert_rgb = 1, .do_resize = 1, .shortest_edge = 336,
                               .resample = 3, .do_center_crop = 1, .crop_w = 336, .crop_h = 336,
                               .do_rescale = 1, .rescale_factor = 1 / 255.0, .do_normalize = 1,
                               .mean = {0.48145466, 0.4578275, 0.40821073},
                               .std = {0.26862954, 0.26130258, 0.27577711}};
}

KEVO_TEST(geometry_llava_sizes_by_hand)
{
    kevo_image_config cfg = clip_config();
    kevo_image_geometry g;
    kevo_error err;
    // crop: 640 x 480 -> short side 336, long int(336 * 640 / 480) = 448; crop from (448-336)/2.
    if (CHECK_OK(kevo_image_geometry_compute(&cfg, KEVO_IMAGE_MODE_CROP, 640, 480, &g, &err),
                 &err)) {
        CHECK(g.resized_w == 448 && g.resized_h == 336 && g.crop_x.from == 56 &&
              g.crop_y.from == 0 && g.square_side == 0, "crop sizes: %dx%d from %d,%d",
              g.resized_w, g.resized_h, g.crop_x.from, g.crop_y.from);
        kevo_rect first = kevo_image_geometry_map(&g, (kevo_rect){0, 0, 14, 14});
        kevo_rect all = kevo_image_geometry_map(&g, (kevo_rect){0, 0, 336, 336});
        CHECK(fabs(first.x0 - 80) < 1e-9 && fabs(first.x1 - 100) < 1e-9 && first.y0 == 0 &&
              fabs(first.y1 - 20) < 1e-9, "crop: patch (0,0) maps to %g,%g-%g,%g", first.x0,
              first.y0, first.x1, first.y1);
        CHECK(fabs(all.x0 - 80) < 1e-9 && fabs(all.x1 - 560) < 1e-9 && all.y1 == 480,
              "crop: the whole input maps to %g,%g-%g,%g", all.x0, all.y0, all.x1, all.y1);
    }
    // pad: a 640 square with the image at y 80; resized to 336, nothing cropped.
    if (CHECK_OK(kevo_image_geometry_compute(&cfg, KEVO_IMAGE_MODE_PAD, 640, 480, &g, &err),
                 &err)) {
        CHECK(g.square_side == 640 && g.square_x == 0 && g.square_y == 80 &&
              g.resized_w == 336 && g.crop_x.from == 0, "pad sizes: square %d at %d,%d",
              g.square_side, g.square_x, g.square_y);
        kevo_rect band = kevo_image_geometry_map(&g, (kevo_rect){0, 0, 14, 14});
        kevo_rect edge = kevo_image_geometry_map(&g, (kevo_rect){0, 28, 14, 56});
        CHECK(band.y0 == 0 && band.y1 == 0, "pad: a patch in the band is not empty (%g-%g)",
              band.y0, band.y1);
        CHECK(edge.y0 == 0 && fabs(edge.y1 - (56 * 640.0 / 336 - 80)) < 1e-9,
              "pad: the first row of image patches ends at %g", edge.y1);
    }
    // A small image is zero-padded by the crop: its corner is at ceil((336 - 300) / 2) = 18.
    if (CHECK_OK(kevo_image_geometry_compute(&(kevo_image_config){.do_convert_rgb = 1,
                                                 .do_center_crop = 1, .crop_w = 336,
                                                 .crop_h = 336, .resample = 3},
                                             KEVO_IMAGE_MODE_CROP, 300, 301, &g, &err), &err)) {
        kevo_rect r = kevo_image_geometry_map(&g, (kevo_rect){0, 0, 28, 28});
        CHECK(g.crop_x.to == 18 && g.crop_y.to == 18 && r.x0 == 0 && fabs(r.x1 - 10) < 1e-9,
              "no resize: offset %d,%d, first patches %g-%g", g.crop_x.to, g.crop_y.to, r.x0,
              r.x1);
    }
}

// The centroid of the pixels brighter than half in the shown (preprocessed) image.
static int bright_centroid(const kevo_image *img, double *cx, double *cy)
{
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++)
            if (img->rgb[3 * ((size_t)y * img->width + x)] > 127)
                sx += x + 0.5, sy += y + 0.5, n++;
    *cx = sx / (n ? n : 1);
    *cy = sy / (n ? n : 1);
    return n > 0;
}

KEVO_TEST(geometry_maps_preprocessed_pixels_back_onto_the_image)
{
    kevo_image_config cfg = clip_config();
    const int sizes[][2] = {{500, 300}, {300, 500}, {337, 336}, {1024, 683}};
    unsigned seed = 7;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int mode = KEVO_IMAGE_MODE_PAD; mode <= KEVO_IMAGE_MODE_CROP; mode++)
            for (int trial = 0; trial < 4; trial++) {
                int w = sizes[s][0], h = sizes[s][1], side = w / 12 + 8;
                kevo_image *img = NULL, *shown = NULL;
                kevo_image_geometry g;
                kevo_error err;
                if (!CHECK_OK(kevo_image_create(w, h, &img, &err), &err))
                    return;
                memset(img->rgb, 0, (size_t)3 * w * h);
                // A square well inside the part of the image the crop keeps (its middle).
                seed = seed * 1103515245u + 12345u;
                int x0 = w / 2 - w / 6 + (int)(seed >> 16) % (w / 3 - side);
                seed = seed * 1103515245u + 12345u;
                int y0 = h / 2 - h / 6 + (int)(seed >> 16) % (h / 3 - side);
                for (int y = y0; y < y0 + side; y++)
                    memset(img->rgb + 3 * ((size_t)y * w + x0), 255, (size_t)3 * side);
                float *pixels = malloc((size_t)3 * 336 * 336 * sizeof *pixels);
                double cx, cy;
                if (CHECK_OK(kevo_preprocess(img, &cfg, (kevo_image_mode)mode, pixels, &shown,
                                             &err), &err) &&
                    CHECK_OK(kevo_image_geometry_compute(&cfg, (kevo_image_mode)mode, w, h, &g,
                                                         &err), &err) &&
                    CHECK(bright_centroid(shown, &cx, &cy), "%dx%d: the square vanished", w, h)) {
                    kevo_rect at = kevo_image_geometry_map(&g, (kevo_rect){cx, cy, cx, cy});
                    double want_x = x0 + side / 2.0, want_y = y0 + side / 2.0;
                    // Thresholding the resampled edge moves the centroid by under a pixel of
                    // the preprocessed image, i.e. scale original pixels.
                    CHECK(fabs(at.x0 - want_x) <= g.scale_x && fabs(at.y0 - want_y) <= g.scale_y,
                          "%dx%d %s: the square's centre %g,%g maps back to %g,%g (scale %g)",
                          w, h, kevo_image_mode_name((kevo_image_mode)mode), want_x, want_y,
                          at.x0, at.y0, g.scale_x);
                }
                free(pixels);
                kevo_image_free(shown);
                kevo_image_free(img);
            }
}
