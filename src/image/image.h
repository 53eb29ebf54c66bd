// image.h — image files to 8-bit RGB, exactly as Pillow 9.4's Image.open(f).convert("RGB").
//
//     kevo_image *img;
//     if (kevo_image_load("cat.jpg", &img, &err) != KEVO_OK) ...
//     ... img->rgb[3 * (y * img->width + x) + c] ...
//     kevo_image_free(img);
//
// JPEG is decoded by libjpeg-turbo with the settings Pillow uses (islow IDCT, fancy upsampling);
// PNG by libpng, with Pillow's own conversions (16-bit samples keep their high byte, 16-bit grey
// is clipped to 255, alpha is dropped without compositing, palette indices beyond PLTE are grey).
// EXIF orientation is not applied: neither Pillow's open() nor transformers' processors apply it.
// Dimensions are checked from the header before any pixel buffer is allocated.
//
// Owned by the image module (src/image/).
#ifndef KEVO_IMAGE_IMAGE_H
#define KEVO_IMAGE_IMAGE_H

#include "kevo.h"

// Images larger than this many pixels are refused before allocation (768 MiB of RGB).
#define KEVO_IMAGE_MAX_PIXELS (1L << 28)
// So are images whose decoding would hold more than this many bytes at once (the RGB buffer,
// libpng's rows, libjpeg's coefficients of a progressive file): 2^28 x 1 pixels of 16-bit grey
// are within the pixel limit but need 1.8 GB.
#define KEVO_IMAGE_MAX_BYTES (3LL << 29)
// And images whose header claims more pixel data than the file could encode: PNG's deflate
// expands at most 1032-fold; a Huffman-coded JPEG spends at least a bit on each 8 x 8 block it
// codes (512 pixels a byte; kevo allows 4096, and 65536 for arithmetic coding).

// An RGB8 image, row-major: rgb[3 * (y * width + x) + c]. Owned by whoever created it.
typedef struct kevo_image {
    int width, height;
    unsigned char *rgb;
} kevo_image;

// Decodes a JPEG or PNG file (recognised by its signature, not its name) and converts it to RGB
// as Pillow's convert("RGB") does. On failure *out is NULL and err names the file and the fault.
// The caller frees *out with kevo_image_free.
kevo_status kevo_image_load(const char *path, kevo_image **out, kevo_error *err);

// A new image with uninitialised pixels; refuses empty or over-limit sizes. Caller frees.
kevo_status kevo_image_create(int width, int height, kevo_image **out, kevo_error *err);

// Accepts NULL.
void kevo_image_free(kevo_image *img);

// Writes an 8-bit RGB PNG atomically (for looking at what the model sees).
kevo_status kevo_image_save_png(const kevo_image *img, const char *path, kevo_error *err);

#endif
