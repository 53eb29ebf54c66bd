// decode.h — the per-format decoders behind kevo_image_load (internal to src/io/).
#ifndef KEVO_IMAGE_DECODE_H
#define KEVO_IMAGE_DECODE_H

#include <stdio.h>

#include "image/image.h"

// Each reads the open file `f` from its start. Messages do not name the file: kevo_image_load
// prefixes them with the path.
kevo_status kevo_jpeg_decode(FILE *f, kevo_image **out, kevo_error *err);
kevo_status kevo_png_decode(FILE *f, kevo_image **out, kevo_error *err);

#endif
