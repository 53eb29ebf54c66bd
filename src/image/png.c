// png.c — PNG to RGB through libpng, with the conversions of Pillow 9.4; and a PNG writer.
//
// Pillow decodes PNG itself (src/PIL/PngImagePlugin.py _MODES, src/libImaging/Unpack.c), then
// convert("RGB") (src/libImaging/Convert.c) gives, per colour type and bit depth:
//   grey 1/2/4/8     "1"/"L;2"/"L;4"/"L": bit replication (x 0x55, x 0x11), then replicated
//   grey 16          "I" from "I;16B", and I -> RGB clips to [0, 255] (i2rgb): not the high byte
//   RGB 8/16         "RGB"/"RGB;16B": the high byte of each 16-bit sample
//   palette 1..8     "P": a lookup in a 256-entry palette that starts as a grey ramp (i, i, i)
//                    and is overwritten by the PLTE entries, so indices past PLTE are grey
//   grey+alpha 8/16  "LA" / "LA;16B" (high byte): alpha dropped, no compositing
//   RGBA 8/16        "RGBA" / "RGBA;16B" (high byte): alpha dropped, no compositing
// tRNS, gAMA, sBIT and colour profiles are ignored, as Pillow's convert("RGB") ignores them.
//
// libpng's transforms shrink every pixel to at most 3 bytes (strip_16 keeps the high byte,
// strip_alpha drops alpha, grey is expanded to 8 bits, palette indices are unpacked to bytes), so
// rows are decoded straight into the RGB buffer and widened in place: no second full-size copy,
// interlaced files included. Bad CRCs in ancillary chunks are errors, as they are in Pillow.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/fs.h"
#include "image/decode.h"

typedef enum row_kind { ROW_RGB, ROW_GREY8, ROW_GREY16, ROW_PALETTE } row_kind;

typedef struct png_job {
    jmp_buf jump;
    char msg[256];
    png_structp png;
    png_infop info;
    kevo_image *img;
    unsigned char palette[256][3];
} png_job;

static void on_error(png_structp png, png_const_charp msg)
{
    png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg);
    longjmp(job->jump, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg;   // Pillow reads what libpng merely warns about
}

// Widens one decoded row (its raw pixels at the start of the row) to RGB, from the right so that
// no source byte is overwritten before it is read.
static void widen_row(unsigned char *row, int width, row_kind kind,
                      const unsigned char (*palette)[3])
{
    for (int x = width - 1; x >= 0 && kind != ROW_RGB; x--) {
        unsigned char *p = row + 3 * x;
        if (kind == ROW_GREY8) {
            p[0] = p[1] = p[2] = row[x];
        } else if (kind == ROW_GREY16) {
            int v = row[2 * x] << 8 | row[2 * x + 1];
            p[0] = p[1] = p[2] = (unsigned char)(v > 255 ? 255 : v);
        } else {
            const unsigned char *c = palette[row[x]];
            p[0] = c[0], p[1] = c[1], p[2] = c[2];
        }
    }
}

// libpng's own reader says only "Read Error" when the file ends early.
static void read_bytes(png_structp png, png_bytep data, size_t n)
{
    FILE *f = png_get_io_ptr(png);
    if (fread(data, 1, n, f) != n)
        png_error(png, ferror(f) ? "cannot read the file"
                                 : "truncated: the file ends before the image data does");
}

static kevo_status decode(png_job *job, FILE *f, kevo_error *err)
{
    png_structp png = job->png;
    png_infop info = job->info;
    png_set_read_fn(png, f, read_bytes);
    png_set_crc_action(png, PNG_CRC_DEFAULT, PNG_CRC_ERROR_QUIT);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);   // kevo's own pixel limit applies below
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w > 0x7fffffff || h > 0x7fffffff)
        return kevo_fail(err, KEVO_ERR_FORMAT, "PNG of %u x %u pixels", w, h);
    // Before any allocation: what libpng and kevo would hold (the RGB image, libpng's current and
    // previous rows), and whether the file is long enough to inflate into the raw rows at all.
    double raw_row = (double)png_get_rowbytes(png, info) + 1, rgb_row = 3.0 * w;
    double hold = rgb_row * h + 2 * (raw_row > rgb_row ? raw_row : rgb_row) + 96;
    int counted = (double)w * h <= (double)KEVO_IMAGE_MAX_PIXELS;   // else refused below
    if (counted && hold > (double)KEVO_IMAGE_MAX_BYTES)
        return kevo_fail(err, KEVO_ERR_FORMAT, "PNG header claims %u x %u pixels of %d bits "
                         "(colour type %d): decoding would hold %.0f bytes, over kevo's limit of "
                         "%lld", w, h, depth, color, hold, (long long)KEVO_IMAGE_MAX_BYTES);
    struct stat sb;
    if (counted && fstat(fileno(f), &sb) == 0 && raw_row * h > 1032.0 * (double)sb.st_size + 4096)
        return kevo_fail(err, KEVO_ERR_FORMAT, "PNG header claims %u x %u pixels (%.0f bytes of "
                         "rows) but the file has %lld bytes: deflate cannot expand them that "
                         "far (at most 1032-fold)", w, h, raw_row * h, (long long)sb.st_size);
    kevo_status st = kevo_image_create((int)w, (int)h, &job->img, err);
    if (st != KEVO_OK)
        return st;

    row_kind kind = ROW_RGB;
    if (color == PNG_COLOR_TYPE_PALETTE) {
        kind = ROW_PALETTE;
        png_set_packing(png);
        for (int i = 0; i < 256; i++)
            memset(job->palette[i], i, 3);
        png_colorp plte;
        int n_plte = 0;
        if (png_get_PLTE(png, info, &plte, &n_plte) & PNG_INFO_PLTE)
            for (int i = 0; i < n_plte && i < 256; i++) {
                job->palette[i][0] = plte[i].red;
                job->palette[i][1] = plte[i].green;
                job->palette[i][2] = plte[i].blue;
            }
    } else if (color == PNG_COLOR_TYPE_GRAY && depth == 16) {
        kind = ROW_GREY16;
    } else {
        if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
            kind = ROW_GREY8;
        if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
            png_set_expand_gray_1_2_4_to_8(png);
        if (depth == 16)
            png_set_strip_16(png);
        if (color & PNG_COLOR_MASK_ALPHA)
            png_set_strip_alpha(png);
    }
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes > (size_t)3 * w)
        return kevo_fail(err, KEVO_ERR_FORMAT, "PNG rows of %zu bytes for %u pixels", row_bytes,
                         w);
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < h; y++)
            png_read_row(png, job->img->rgb + (size_t)3 * w * y, NULL);
    for (png_uint_32 y = 0; y < h; y++)
        widen_row(job->img->rgb + (size_t)3 * w * y, (int)w, kind,
                  (const unsigned char (*)[3])job->palette);
    return KEVO_OK;
}

kevo_status kevo_png_decode(FILE *f, kevo_image **out, kevo_error *err)
{
    png_job *job = calloc(1, sizeof *job);
    if (!job)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a PNG decoder");
    job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
    job->info = job->png ? png_create_info_struct(job->png) : NULL;
    kevo_status st;
    if (!job->info)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a PNG decoder");
    else if (setjmp(job->jump))
        st = kevo_fail(err, KEVO_ERR_FORMAT, "bad PNG: %s", job->msg);
    else
        st = decode(job, f, err);
    png_destroy_read_struct(&job->png, &job->info, NULL);
    if (st == KEVO_OK)
        *out = job->img;
    else
        kevo_image_free(job->img);
    free(job);
    return st;
}

// ---------------------------------------------------------------------------------------------
// Writing

typedef struct png_writer {
    jmp_buf jump;
    char msg[256];
    png_structp png;
    png_infop info;
} png_writer;

static void on_write_error(png_structp png, png_const_charp msg)
{
    png_writer *wr = png_get_error_ptr(png);
    snprintf(wr->msg, sizeof wr->msg, "%s", msg);
    longjmp(wr->jump, 1);
}

static void encode(png_writer *wr, const kevo_image *img, FILE *stream)
{
    png_init_io(wr->png, stream);
    png_set_IHDR(wr->png, wr->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(wr->png, wr->info);
    for (int y = 0; y < img->height; y++)
        png_write_row(wr->png, img->rgb + (size_t)3 * img->width * y);
    png_write_end(wr->png, NULL);
}

kevo_status kevo_image_save_png(const kevo_image *img, const char *path, kevo_error *err)
{
    kevo_outfile *out;
    kevo_status st = kevo_outfile_open(path, &out, err);
    if (st != KEVO_OK)
        return st;
    png_writer *wr = calloc(1, sizeof *wr);
    if (wr)
        wr->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, wr, on_write_error, on_warning);
    if (wr && wr->png)
        wr->info = png_create_info_struct(wr->png);
    if (!wr || !wr->info)
        st = kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory for a PNG encoder", path);
    else if (setjmp(wr->jump))
        st = kevo_fail(err, KEVO_ERR_IO, "%s: cannot write PNG: %s", path, wr->msg);
    else
        encode(wr, img, kevo_outfile_stream(out));
    if (wr)
        png_destroy_write_struct(&wr->png, &wr->info);
    free(wr);
    if (st == KEVO_OK)
        return kevo_outfile_commit(out, err);
    kevo_outfile_abort(out);
    return st;
}
