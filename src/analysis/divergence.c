// divergence.c — divergences between consecutive lens distributions and the heatmap's scaling
// (see divergence.h). The paper formula follows the authors' heatmap.py (DoLa's JS code):
// torch.nn.functional.kl_div(input, target, reduction='none') = xlogy(target, target) -
// target * input, then .mean(-1). The column scaling follows scikit-learn 1.2's MaxAbsScaler
// (sklearn/preprocessing/_data.py: scale = max |x| per column; _handle_zeros_in_scale sets
// scales below 10 * machine epsilon to 1).
#include "analysis/divergence.h"

#include <float.h>
#include <math.h>
#include <string.h>

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

void kevo_divergence_pair(const float *a, double lse_a, const double *pa, const float *b,
                          double lse_b, const double *pb, int n, double *paper, double *jsd)
{
    double sum_paper = 0, sum_jsd = 0;
    for (int v = 0; v < n; v++) {
        double la = a[v] - lse_a, lb = b[v] - lse_b;   // log-softmax, as the authors' code
        double p = pa[v], q = pb[v], m = 0.5 * (p + q);
        if (m == 0)
            continue;   // xlogy: both probabilities underflow, nothing to add
        double lm = log(m);
        // KL(M||P) + KL(M||Q) terms: M (log M - log P) + M (log M - log Q)
        sum_paper += m * (2 * lm - la - lb);
        // KL(P||M) + KL(Q||M) terms; p = 0 gives 0 * finite = 0, xlogy's value
        sum_jsd += p * (la - lm) + q * (lb - lm);
    }
    *paper = sum_paper / (2.0 * n);
    *jsd = 0.5 * sum_jsd / M_LN2;
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

// MaxAbsScaler's divisor: a scale too close to zero to divide by is replaced by 1.
static double usable_scale(double max_abs)
{
    return max_abs < 10 * DBL_EPSILON ? 1.0 : max_abs;
}

void kevo_scale_matrix(double *m, int rows, int cols, kevo_scale_mode mode)
{
    if (mode == KEVO_SCALE_NONE)
        return;
    if (mode == KEVO_SCALE_GLOBAL) {
        double max_abs = 0;
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            max_abs = fabs(m[i]) > max_abs ? fabs(m[i]) : max_abs;
        double s = usable_scale(max_abs);
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            m[i] /= s;
        return;
    }
    for (int c = 0; c < cols; c++) {
        double max_abs = 0;
        for (int r = 0; r < rows; r++)
            max_abs = fabs(m[(size_t)r * cols + c]) > max_abs ? fabs(m[(size_t)r * cols + c])
                                                              : max_abs;
        double s = usable_scale(max_abs);
        for (int r = 0; r < rows; r++)
            m[(size_t)r * cols + c] /= s;
    }
}
