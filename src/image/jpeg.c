// jpeg.c — JPEG to RGB through libjpeg-turbo, with Pillow 9.4's settings and conversions.
//
// Pillow (src/PIL/JpegImagePlugin.py, src/libImaging/JpegDecode.c) picks the mode from the
// number of components: 1 -> "L" (out_color_space JCS_GRAYSCALE), 3 -> "RGB" (JCS_RGB; libjpeg
// itself decides between YCbCr and RGB input from the JFIF/Adobe markers), 4 -> "CMYK" read with
// rawmode "CMYK;I" (JCS_CMYK output, every byte inverted: Adobe's polarity; libjpeg turns YCCK
// into CMYK), anything else is refused. It keeps libjpeg's defaults (JDCT_ISLOW, fancy
// upsampling) unless draft() was called, which transformers never does. convert("RGB") then
// replicates L and maps CMYK with cmyk2rgb (src/libImaging/Convert.c).
//
// Warnings (corrupt entropy data) do not stop Pillow; running out of data does ("image file is
// truncated"), so JWRN_JPEG_EOF is an error here and other warnings are ignored as Pillow does.
// Scanlines are decoded straight into the RGB buffer (grey is widened in place); only CMYK needs
// one scratch row.
#include <math.h>
#include <setjmp.h>
#include <stdio.h>   // before jpeglib.h, which needs FILE and size_t
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <jerror.h>   // JWRN_JPEG_EOF

#include "base/error.h"
#include "image/decode.h"

// Everything the error handler and the decoder share; it lives at a fixed address, so its fields
// keep their values across longjmp.
typedef struct jpeg_job {
    struct jpeg_error_mgr mgr;   // first: libjpeg hands back a pointer to it
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX + 64];
    struct jpeg_decompress_struct cinfo;
    kevo_image *img;
    unsigned char *scratch;      // one CMYK row, 4 * width bytes
    struct jpeg_progress_mgr progress;
} jpeg_job;

// Every scan of a multi-scan file is a pass over all its blocks, and a scan can take 12 bytes:
// a 600 KB file of 50000 scans would cost 50000 passes. libjpeg-turbo suggests a limit through
// the progress monitor (libjpeg.txt, "tjbench -maxscans"); real progressive files have about
// ten scans.
#define JPEG_MAX_SCANS 1000

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr ci = (j_decompress_ptr)cinfo;
    if (ci->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_job *job = (jpeg_job *)cinfo->err;
        snprintf(job->msg, sizeof job->msg, "more than %d scans (a real progressive JPEG has "
                 "about ten)", JPEG_MAX_SCANS);
        longjmp(job->jump, 1);
    }
}

static void on_error(j_common_ptr cinfo)
{
    jpeg_job *job = (jpeg_job *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    snprintf(job->msg, sizeof job->msg, "%s", text);
    longjmp(job->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return;   // trace messages
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_job *job = (jpeg_job *)cinfo->err;
        snprintf(job->msg, sizeof job->msg, "truncated: the file ends before the image data does");
        longjmp(job->jump, 1);
    }
    cinfo->err->num_warnings++;
}

// Pillow's MULDIV255 (src/libImaging/ImagingUtils.h): a * b / 255 rounded, in integers.
static int muldiv255(int a, int b)
{
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static unsigned char clip8(int v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

// "CMYK;I" unpacking (inverts) followed by Convert.c cmyk2rgb.
static void cmyk_to_rgb(unsigned char *rgb, const unsigned char *cmyk, int width)
{
    for (int x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        int k_inv = 255 - cmyk[3], nk = 255 - k_inv;   // Pillow's K after "CMYK;I", then 255 - K
        for (int c = 0; c < 3; c++)
            rgb[c] = clip8(nk - muldiv255(255 - cmyk[c], nk));
    }
}

// L -> RGB in place: the row holds `width` grey bytes at its start; widen from the right.
static void grey_to_rgb_inplace(unsigned char *row, int width)
{
    for (int x = width - 1; x >= 0; x--)
        row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = row[x];
}

static kevo_status decode(jpeg_job *job, FILE *f, kevo_error *err)
{
    struct jpeg_decompress_struct *ci = &job->cinfo;
    jpeg_stdio_src(ci, f);
    jpeg_read_header(ci, TRUE);   // a file of tables only fails inside (JERR_NO_IMAGE)
    int n = ci->num_components;
    if (n != 1 && n != 3 && n != 4)
        return kevo_fail(err, KEVO_ERR_FORMAT, "JPEG with %d components (Pillow reads 1, 3 or 4)",
                         n);
    ci->out_color_space = n == 1 ? JCS_GRAYSCALE : n == 3 ? JCS_RGB : JCS_CMYK;
    // Before any allocation: the bytes decoding holds (RGB, and a progressive file's coefficients
    // of every block: 128 bytes each), and pixels a file of this length could encode.
    double fw = ci->image_width, h = ci->image_height, pixels = fw * h, hold = 3 * pixels;
    int max_h = 1, max_v = 1;
    for (int c = 0; c < n; c++) {
        max_h = ci->comp_info[c].h_samp_factor > max_h ? ci->comp_info[c].h_samp_factor : max_h;
        max_v = ci->comp_info[c].v_samp_factor > max_v ? ci->comp_info[c].v_samp_factor : max_v;
    }
    if (ci->progressive_mode)
        for (int c = 0; c < n; c++) {
            const jpeg_component_info *k = &ci->comp_info[c];
            double bw = ceil(fw * k->h_samp_factor / (8.0 * max_h));
            double bh = ceil(h * k->v_samp_factor / (8.0 * max_v));
            hold += 128 * (bw + 1) * (bh + 1);
        }
    int counted = pixels <= (double)KEVO_IMAGE_MAX_PIXELS;   // else kevo_image_create refuses
    if (counted && hold > (double)KEVO_IMAGE_MAX_BYTES)
        return kevo_fail(err, KEVO_ERR_FORMAT, "JPEG header claims %.0f x %.0f pixels%s: decoding "
                         "would hold %.0f bytes, over kevo's limit of %lld", fw, h,
                         ci->progressive_mode ? " (progressive)" : "", hold,
                         (long long)KEVO_IMAGE_MAX_BYTES);
    struct stat sb;
    // A Huffman code is at least one bit, so a file that codes each 8 x 8 block once gives at
    // most 512 pixels a byte; allow 8 times that (and 16 times more for arithmetic coding, which
    // can spend less than a bit on a block) before calling the header a lie.
    double per_byte = ci->arith_code ? 65536.0 : 4096.0;
    if (counted && fstat(fileno(f), &sb) == 0 && pixels > per_byte * (double)sb.st_size + 65536)
        return kevo_fail(err, KEVO_ERR_FORMAT, "JPEG header claims %.0f x %.0f pixels but the "
                         "file has %lld bytes (kevo allows %.0f pixels a byte of %s-coded "
                         "JPEG)", fw, h, (long long)sb.st_size, per_byte,
                         ci->arith_code ? "arithmetic" : "Huffman");
    kevo_status st = kevo_image_create((int)ci->image_width, (int)ci->image_height, &job->img, err);
    if (st != KEVO_OK)
        return st;
    if (n == 4 && !(job->scratch = malloc((size_t)4 * ci->image_width)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a JPEG row");
    jpeg_start_decompress(ci);
    int w = job->img->width;
    if ((int)ci->output_width != w || (int)ci->output_height != job->img->height ||
        ci->output_components != n)
        return kevo_fail(err, KEVO_ERR_FORMAT, "libjpeg output %u x %u x %d differs from the "
                         "header", ci->output_width, ci->output_height, ci->output_components);
    while (ci->output_scanline < ci->output_height) {
        unsigned char *row = job->img->rgb + (size_t)3 * w * ci->output_scanline;
        JSAMPROW dst = n == 4 ? job->scratch : row;
        if (jpeg_read_scanlines(ci, &dst, 1) != 1)
            return kevo_fail(err, KEVO_ERR_FORMAT, "truncated at row %u", ci->output_scanline);
        if (n == 1)
            grey_to_rgb_inplace(row, w);
        else if (n == 4)
            cmyk_to_rgb(row, job->scratch, w);
    }
    // Like Pillow, stop once every row is out: what follows the last scan is not needed.
    return KEVO_OK;
}

kevo_status kevo_jpeg_decode(FILE *f, kevo_image **out, kevo_error *err)
{
    jpeg_job *job = calloc(1, sizeof *job);
    if (!job)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a JPEG decoder");
    job->cinfo.err = jpeg_std_error(&job->mgr);
    job->mgr.error_exit = on_error;
    job->mgr.emit_message = on_message;
    kevo_status st;
    if (setjmp(job->jump)) {
        st = kevo_fail(err, KEVO_ERR_FORMAT, "bad JPEG: %s", job->msg);
    } else {
        jpeg_create_decompress(&job->cinfo);
        job->progress.progress_monitor = on_progress;
        job->cinfo.progress = &job->progress;
        st = decode(job, f, err);
    }
    jpeg_destroy_decompress(&job->cinfo);
    free(job->scratch);
    if (st == KEVO_OK)
        *out = job->img;
    else
        kevo_image_free(job->img);
    free(job);
    return st;
}
