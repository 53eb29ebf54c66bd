// lens_simd_body.h — the body of lens_simd_avx2.c and lens_simd_avx512.c: the forms of
// lens_simd.h written once over GCC's generic vectors of LANES doubles, compiled once per ISA.
// Before including it a file defines LANES (4 or 8), VEXP, VEXPM1, VLOG1P (libmvec's functions of
// that width, named by the x86-64 vector function ABI: _ZGVdN4v_exp is exp on 4 doubles for
// AVX2, _ZGVeN8v_exp on 8 for AVX-512) and TABLE (the kevo_lens_simd it defines).
#include <math.h>
#include <string.h>

#include "analysis/lens_simd.h"

typedef double vd __attribute__((vector_size(LANES * sizeof(double))));
typedef long long vmask __attribute__((vector_size(LANES * sizeof(double))));
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));

vd VEXP(vd x);
vd VEXPM1(vd x);
vd VLOG1P(vd x);

// Lane-wise m ? a : b for a comparison's mask m (all ones or all zeros per lane).
static inline vd pick(vmask m, vd a, vd b)
{
    return (vd)((m & (vmask)a) | (~m & (vmask)b));
}

static inline vd splat(double x)
{
    return (vd){0} + x;
}

// The first k (1..LANES) entries from p, the rest 0: every row is read in whole vectors.
static inline vd load_d(const double *p, int k)
{
    vd x = {0};
    memcpy(&x, p, (size_t)k * sizeof *p);
    return x;
}

static inline vd load_f(const float *p, int k)
{
    vf x = {0};
    memcpy(&x, p, (size_t)k * sizeof *p);
    return __builtin_convertvector(x, vd);
}

// Lanes [0, k) set.
static inline vmask first_lanes(int k)
{
    vmask m;
    for (int i = 0; i < LANES; i++)
        m[i] = i < k ? -1 : 0;
    return m;
}

// Lane 0 + lane 1 + ... in index order.
static inline double fold(vd s)
{
    double sum = 0;
    for (int i = 0; i < LANES; i++)
        sum += s[i];
    return sum;
}

static double exp_sum(const float *z, int n, double max, double *p)
{
    vd s = {0};
    int v = 0;
    for (; v + LANES <= n; v += LANES) {
        vd x = VEXP(load_f(z + v, LANES) - max);
        memcpy(p + v, &x, sizeof x);
        s += x;
    }
    if (v < n) {
        vd x = pick(first_lanes(n - v), VEXP(load_f(z + v, n - v) - max), splat(0));
        memcpy(p + v, &x, (size_t)(n - v) * sizeof *p);
        s += x;
    }
    return fold(s);
}

static double exp_moment(const float *z, int n, double max, double *moment)
{
    vd s = {0}, m = {0};
    int v = 0;
    for (; v + LANES <= n; v += LANES) {
        vd d = load_f(z + v, LANES) - max, x = VEXP(d);
        s += x;
        m += x * d;
    }
    if (v < n) {
        vd d = load_f(z + v, n - v) - max;
        vd x = pick(first_lanes(n - v), VEXP(d), splat(0));
        s += x;
        m += pick(first_lanes(n - v), x * d, splat(0));
    }
    *moment = fold(m);
    return fold(s);
}

static double exp1(double x)
{
    return VEXP(splat(x))[0];
}

static void scale(double *p, int n, double s)
{
    for (int v = 0; v < n; v++)
        p[v] *= s;
}

// divergence.c's entry_terms() for LANES entries at once, both branches computed and picked
// per lane: g = 2 log cosh(r / 2) and f = (1 - t) log(1 - t) + (1 + t) log(1 + t) with
// t = tanh(a / 2), a = |r|. Below a = 1, f is taken as a t - g: f = log(1 - t^2) + 2 t atanh(t),
// log(1 - t^2) = -g and atanh(t) = a / 2, so no series is needed; the two terms are a^2 / 2 and
// a^2 / 4 there, so their difference keeps all but two bits (the scalar form's series keeps
// all: tests/test_lens_simd.c holds both to 1e-14).
static inline void entry_terms(vd r, vd *g, vd *f)
{
    vd a = pick(r < 0, -r, r);
    vd e = VEXP(-a), em = VEXPM1(-a);
    vd t = -em / (2.0 + em);
    vmask small = a < 1.0;
    vd l = VLOG1P(pick(small, -t * t, e));
    *g = pick(small, -l, a - 2 * M_LN2 + 2.0 * l);
    vd u = 2.0 * e / (1.0 + e), w = 2.0 / (1.0 + e);
    vd large = pick(u > 0.0, u * (M_LN2 - a - l), splat(0)) + w * (M_LN2 - l);
    *f = pick(small, a * t - *g, large);
}

// Adds the terms of entries [v, v + k) to the sums; the padding of a partial vector has m = 0.
static inline void pair_step(const kevo_lens_row *a, const kevo_lens_row *b, int v, int k,
                             double dl, vd *sp, vd *sj)
{
    vd m = 0.5 * (load_d(a->p + v, k) + load_d(b->p + v, k));
    vd r = (load_f(b->z + v, k) - b->max) - (load_f(a->z + v, k) - a->max) - dl, g, f;
    entry_terms(r, &g, &f);
    vmask live = m != 0.0;   // xlogy: an entry where both probabilities underflow adds 0
    *sp += pick(live, m * g, splat(0));
    *sj += pick(live, m * f, splat(0));
}

static void pair_sums(const kevo_lens_row *a, const kevo_lens_row *b, int n, double *paper,
                      double *jsd)
{
    const double dl = b->logsum - a->logsum;
    vd sp = {0}, sj = {0};
    int v = 0;
    for (; v + LANES <= n; v += LANES)
        pair_step(a, b, v, LANES, dl, &sp, &sj);
    if (v < n)
        pair_step(a, b, v, n - v, dl, &sp, &sj);
    *paper = fold(sp);
    *jsd = fold(sj);
}

const kevo_lens_simd TABLE = {exp_sum, exp_moment, exp1, scale, pair_sums};
