// image.c — kevo_image_load: recognise the format by its signature, decode, and the RGB buffer.
//
// The format is chosen from the first bytes, as Pillow's Image.open does (JpegImagePlugin accepts
// FF D8 FF, PngImagePlugin the 8-byte PNG signature); the decoders are jpeg.c/png.c.
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"
#include "image/decode.h"

kevo_status kevo_image_create(int width, int height, kevo_image **out, kevo_error *err)
{
    *out = NULL;
    if (width < 1 || height < 1)
        return kevo_fail(err, KEVO_ERR_FORMAT, "image has no pixels (%d x %d)", width, height);
    if ((long)width * height > KEVO_IMAGE_MAX_PIXELS)
        return kevo_fail(err, KEVO_ERR_FORMAT,
                         "image is %d x %d = %ld pixels, over kevo's limit of %ld (2^28)", width,
                         height, (long)width * height, KEVO_IMAGE_MAX_PIXELS);
    kevo_image *img = malloc(sizeof *img);
    unsigned char *rgb = malloc((size_t)3 * (size_t)width * (size_t)height);
    if (!img || !rgb) {
        free(img);
        free(rgb);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %d x %d image", width, height);
    }
    *img = (kevo_image){.width = width, .height = height, .rgb = rgb};
    *out = img;
    return KEVO_OK;
}

void kevo_image_free(kevo_image *img)
{
    if (img) {
        free(img->rgb);
        free(img);
    }
}

kevo_status kevo_image_load(const char *path, kevo_image **out, kevo_error *err)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    *out = NULL;
    struct stat sb;
    int fd;
    kevo_status opened = kevo_open_regular(path, &fd, &sb, err);   // a FIFO would block
    if (opened != KEVO_OK)
        return opened;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    unsigned char head[8] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    kevo_status st;
    if (fseek(f, 0, SEEK_SET) != 0)
        st = kevo_fail(err, KEVO_ERR_IO, "cannot seek: %s", strerror(errno));
    else if (got >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff)
        st = kevo_jpeg_decode(f, out, err);
    else if (got == 8 && memcmp(head, png_sig, 8) == 0)
        st = kevo_png_decode(f, out, err);
    else if (ferror(f))
        st = kevo_fail(err, KEVO_ERR_IO, "cannot read: %s", strerror(errno));
    else
        st = kevo_fail(err, KEVO_ERR_FORMAT,
                       "not a JPEG or PNG file (first bytes %02x %02x %02x %02x)", head[0],
                       head[1], head[2], head[3]);
    fclose(f);
    if (st != KEVO_OK) {
        kevo_error_prefix(err, "%s: ", path);
        kevo_image_free(*out);
        *out = NULL;
    }
    return st;
}
