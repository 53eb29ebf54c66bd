// divergence.c — divergences between consecutive lens distributions and the heatmap's scaling
// (see divergence.h). The paper formula follows the authors' heatmap.py (DoLa's JS code):
// torch.nn.functional.kl_div(input, target, reduction='none') = xlogy(target, target) -
// target * input, then .mean(-1). The scaling is scikit-learn 1.2's MaxAbsScaler on float64
// (analysis/scaling.h).
#include "analysis/divergence.h"

#include <math.h>
#include <string.h>

#include "analysis/lens_simd.h"
#include "analysis/scaling.h"
#include "base/error.h"

static const char *const divergence_names[] = {"paper", "jsd"};
static const char *const scale_names[] = {"column", "global", "none"};

kevo_status kevo_divergence_parse(const char *name, kevo_divergence_kind *out, kevo_error *err)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(name, divergence_names[i])) {
            *out = (kevo_divergence_kind)i;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "--divergence expects paper or jsd, not '%s'", name);
}

const char *kevo_divergence_name(kevo_divergence_kind kind)
{
    return divergence_names[kind];
}

// f(t) = (1 - t) log(1 - t) + (1 + t) log(1 + t) for small t, from its series
// sum_k t^2k / (k (2k - 1)): eight terms reach double precision for |t| < 0.1.
static double jsd_series(double t2)
{
    return t2 * (1 + t2 * (1.0 / 6 + t2 * (1.0 / 15 + t2 * (1.0 / 28 + t2 * (1.0 / 45 +
           t2 * (1.0 / 66 + t2 * (1.0 / 91 + t2 / 120)))))));
}

// For one entry with log q - log p = r: g = 2 log cosh(r / 2) (the paper's term over m) and
// f = the JSD's term over m (see divergence.h), both even in r and computed without cancellation.
static void entry_terms(double r, double *g, double *f)
{
    double a = fabs(r);
    if (a < 1) {
        double em = expm1(-a);            // e^-a - 1, exact for small a
        double t = -em / (2 + em);        // tanh(a / 2)
        *g = -log1p(-t * t);              // cosh = 1 / sqrt(1 - tanh^2)
        *f = t < 0.1 ? jsd_series(t * t) : (1 - t) * log1p(-t) + (1 + t) * log1p(t);
    } else {
        double e = exp(-a), l1 = log1p(e);
        *g = a - 2 * M_LN2 + 2 * l1;      // 2 log((e^(a/2) + e^(-a/2)) / 2)
        // 1 - t = 2e / (1 + e), 1 + t = 2 / (1 + e), with their logarithms written out
        double u = 2 * e / (1 + e), w = 2 / (1 + e);
        *f = (u > 0 ? u * (M_LN2 - a - l1) : 0) + w * (M_LN2 - l1);
    }
}

void kevo_divergence_pair(const kevo_lens_row *a, const kevo_lens_row *b, int n, double *paper,
                          double *jsd)
{
    double sum_paper = 0, sum_jsd = 0, dl = b->logsum - a->logsum;
    const kevo_lens_simd *simd = kevo_lens_simd_get();
    if (simd)
        simd->pair_sums(a, b, n, &sum_paper, &sum_jsd);
    else
        for (int v = 0; v < n; v++) {
            double m = 0.5 * (a->p[v] + b->p[v]);
            if (m == 0)
                continue;   // xlogy: both probabilities underflow, nothing to add
            // log q - log p from the logits' offsets to their maxima (exact in double) and the
            // difference of the two logsums (exact when both rows are peaked)
            double r = ((double)b->z[v] - b->max) - ((double)a->z[v] - a->max) - dl, g, f;
            entry_terms(r, &g, &f);
            sum_paper += m * g;
            sum_jsd += m * f;
        }
    *paper = sum_paper / (2.0 * n);   // (KL(M||P) + KL(M||Q)) / 2, each .mean(-1) over n entries
    *jsd = 0.5 * sum_jsd / M_LN2;     // in bits
}

kevo_status kevo_scale_parse(const char *name, kevo_scale_mode *out, kevo_error *err)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(name, scale_names[i])) {
            *out = (kevo_scale_mode)i;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "--scale expects column, global or none, not '%s'", name);
}

const char *kevo_scale_name(kevo_scale_mode mode)
{
    return scale_names[mode];
}

void kevo_scale_matrix(double *m, int rows, int cols, kevo_scale_mode mode)
{
    if (mode == KEVO_SCALE_COLUMN)
        kevo_maxabs_scale_columns_f64(m, rows, cols);
    else if (mode == KEVO_SCALE_GLOBAL)
        kevo_maxabs_scale_global_f64(m, rows, cols);
}
