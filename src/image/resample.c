// resample.c — Pillow's bicubic resize of RGB8, bit for bit (Pillow 9.4 libImaging/Resample.c:
// precompute_coeffs, normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc / Vertical_8bpc,
// ImagingResampleInner; the Python side is Image.resize, which hands the box (0, 0, W, H) to C
// as float32).
//
// Per axis: scale = in / out, the kernel (a = -0.5, support 2) is widened by max(scale, 1), taps
// are normalised to sum 1 in double and rounded half away from zero to 22-bit fixed point. The
// horizontal pass runs first, over only the source rows the vertical pass will read, and rounds
// and clamps to uint8; the vertical pass reads those bytes. A pass whose axis keeps its size is
// skipped. Sums are exact int32 arithmetic, so their order (and the thread count) cannot change a
// result.
#include "image/resample.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/threads.h"

#define PRECISION_BITS (32 - 8 - 2)
#define PARALLEL_WORK 2e7   // multiply-adds below which a pass runs on one thread

// Coefficients of a run of consecutive output indices along one axis.
typedef struct axis_coeffs {
    int n, ksize;
    int *first;      // (n) first source index read
    int *taps;       // (n) number of source indices read
    int32_t *k;      // (n, ksize) fixed-point weights
} axis_coeffs;

static void axis_coeffs_free(axis_coeffs *a)
{
    free(a->first);
    free(a->taps);
    free(a->k);
}

static double bicubic(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// precompute_coeffs + normalize_coeffs_8bpc for output indices [from, from + n) of an
// in_size -> out_size resize. The arithmetic, casts included, is Pillow's.
static kevo_status axis_coeffs_build(axis_coeffs *a, int in_size, int out_size, int from, int n,
                                     kevo_error *err)
{
    float in0 = 0.0f, in1 = (float)in_size;   // the box, float32 in Pillow
    double scale = (double)(in1 - in0) / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    double ceil_support = ceil(support);
    memset(a, 0, sizeof *a);
    if (ceil_support > (double)(1 << 28))
        return kevo_fail(err, KEVO_ERR_ARG, "resize %d -> %d: filter too wide", in_size,
                         out_size);
    a->n = n;
    a->ksize = (int)ceil_support * 2 + 1;
    a->first = malloc((size_t)n * sizeof *a->first);
    a->taps = malloc((size_t)n * sizeof *a->taps);
    a->k = malloc((size_t)n * (size_t)a->ksize * sizeof *a->k);
    double *w = malloc((size_t)a->ksize * sizeof *w);
    if (!a->first || !a->taps || !a->k || !w) {
        free(w);
        axis_coeffs_free(a);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for resize coefficients (%d taps)",
                         a->ksize);
    }
    for (int i = 0; i < n; i++) {
        int xx = from + i;
        double center = in0 + (xx + 0.5) * scale;
        double ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);   // truncation toward zero, as in C Pillow
        if (xmin < 0)
            xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size)
            xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = bicubic((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = a->k + (size_t)i * a->ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                         : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        for (int x = xmax; x < a->ksize; x++)
            k[x] = 0;
        a->first[i] = xmin;
        a->taps[i] = xmax;
    }
    free(w);
    return KEVO_OK;
}

// Pillow's clip8: the sum carries 2^21 for rounding, so >> 22 (an arithmetic shift, i.e. floor)
// rounds half up; then clamp.
static unsigned char clip8(int32_t v)
{
    int32_t q = v >> PRECISION_BITS;
    return (unsigned char)(q < 0 ? 0 : q > 255 ? 255 : q);
}

// One source row through the horizontal coefficients: out has 3 * h->n bytes.
static void filter_row(unsigned char *out, const unsigned char *in, const axis_coeffs *h)
{
    for (int i = 0; i < h->n; i++) {
        const int32_t *k = h->k + (size_t)i * h->ksize;
        const unsigned char *p = in + 3 * (size_t)h->first[i];
        int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
        for (int t = 0; t < h->taps[i]; t++, p += 3) {
            s0 += p[0] * k[t];
            s1 += p[1] * k[t];
            s2 += p[2] * k[t];
        }
        out[3 * i] = clip8(s0);
        out[3 * i + 1] = clip8(s1);
        out[3 * i + 2] = clip8(s2);
    }
}

// One output row of the vertical pass: rows of `in` (stride bytes apart, `len` bytes used) are
// weighted by the coefficients of output row i; acc is len int32 of scratch.
static void filter_column(unsigned char *out, const unsigned char *in, size_t stride, size_t len,
                          const axis_coeffs *v, int i, int32_t *acc)
{
    const int32_t *k = v->k + (size_t)i * v->ksize;
    for (size_t c = 0; c < len; c++)
        acc[c] = 1 << (PRECISION_BITS - 1);
    for (int t = 0; t < v->taps[i]; t++) {
        const unsigned char *row = in + (size_t)(v->first[i] + t) * stride;
        for (size_t c = 0; c < len; c++)
            acc[c] += row[c] * k[t];
    }
    for (size_t c = 0; c < len; c++)
        out[c] = clip8(acc[c]);
}

kevo_status kevo_resample_bicubic(const kevo_rgb_source *src, int out_w, int out_h,
                                  const kevo_resample_window *win, kevo_error *err)
{
    if (win->w < 1 || win->h < 1 || win->x0 < 0 || win->y0 < 0 || win->x0 > out_w - win->w ||
        win->y0 > out_h - win->h)
        return kevo_fail(err, KEVO_ERR_ARG, "resize window %d x %d at (%d, %d) outside the %d x "
                         "%d output", win->w, win->h, win->x0, win->y0, out_w, out_h);
    int need_h = out_w != src->width, need_v = out_h != src->height;
    axis_coeffs hc = {0}, vc = {0};
    kevo_status st = KEVO_OK;
    if ((need_h && (st = axis_coeffs_build(&hc, src->width, out_w, win->x0, win->w, err))) ||
        (need_v && (st = axis_coeffs_build(&vc, src->height, out_h, win->y0, win->h, err)))) {
        axis_coeffs_free(&hc);
        return st;
    }
    // Source rows [y_first, y_last) feed the vertical pass (or are the output when it is skipped).
    int y_first = win->y0, y_last = win->y0 + win->h;
    if (need_v) {
        y_first = vc.first[0];
        y_last = vc.first[vc.n - 1] + vc.taps[vc.n - 1];
        for (int i = 0; i < vc.n; i++)
            vc.first[i] -= y_first;
    }
    size_t len = (size_t)3 * win->w, src_len = (size_t)3 * src->width;
    int n_threads = kevo_threads_resolve(0);
    unsigned char *mid = NULL, *scratch = malloc((size_t)n_threads * src_len);
    int32_t *acc = need_v ? malloc((size_t)n_threads * len * sizeof *acc) : NULL;
    if (need_v)
        mid = malloc((size_t)(y_last - y_first) * len);
    if (!scratch || (need_v && (!acc || !mid))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a %d x %d resize buffer", win->w,
                       y_last - y_first);
        goto done;
    }
    // First stage: the horizontal pass (or a plain copy of the window's columns). Threads only
    // pay off for large passes: waking them costs more than a small image's whole resize.
    unsigned char *stage = need_v ? mid : win->dst;
    size_t stage_stride = need_v ? len : win->dst_stride;
    double h_work = (double)(y_last - y_first) * (double)len * (need_h ? hc.ksize : 1);
    double v_work = need_v ? (double)win->h * (double)len * vc.ksize : 0;
    #pragma omp parallel for schedule(static) num_threads(n_threads) if (h_work > PARALLEL_WORK)
    for (int y = y_first; y < y_last; y++) {
        unsigned char *mine = scratch + (size_t)omp_get_thread_num() * src_len;
        const unsigned char *row = src->row(src->ctx, y, mine);
        unsigned char *out = stage + (size_t)(y - y_first) * stage_stride;
        if (need_h)
            filter_row(out, row, &hc);
        else
            memcpy(out, row + (size_t)3 * win->x0, len);
    }
    if (need_v) {
        #pragma omp parallel for schedule(static) num_threads(n_threads) if (v_work > PARALLEL_WORK)
        for (int i = 0; i < win->h; i++)
            filter_column(win->dst + (size_t)i * win->dst_stride, mid, len, len, &vc, i,
                          acc + (size_t)omp_get_thread_num() * len);
    }
done:
    free(scratch);
    free(acc);
    free(mid);
    axis_coeffs_free(&hc);
    axis_coeffs_free(&vc);
    return st;
}
