// test_scaling.c — MaxAbs scaling against scikit-learn's MaxAbsScaler
// (tools/oracles/oracle_tsne.py).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/scaling.h"
#include "test.h"

// oracle/tsne/NAME, a 2-D F32 matrix.
static float *load_f32(const char *name, int *rows, int *cols)
{
    char rel[256];
    snprintf(rel, sizeof rel, "oracle/tsne/%s", name);
    return kevo_test_read_matrix(kevo_test_data(rel), rows, cols);
}

// Equal bit for bit (both divide in float32), NaN where sklearn has NaN.
static void check_same(const char *what, const float *got, const float *want, int n)
{
    int bad = 0, first = -1;
    for (int i = 0; i < n; i++) {
        int same = isnan(want[i]) ? isnan(got[i]) : got[i] == want[i];
        if (!same && first < 0)
            first = i;
        bad += !same;
    }
    CHECK(bad == 0, "%s: %d values differ from sklearn's (first [%d]: %.9g vs %.9g)", what, bad,
          first, first >= 0 ? got[first] : 0.0, first >= 0 ? want[first] : 0.0);
}

KEVO_TEST(scaling_maxabs_columns_matches_sklearn)
{
    int n, d, r, c;
    float *X = load_f32("scale_x.npy", &n, &d), *want = load_f32("maxabs.npy", &r, &c);
    if (!X || !want)
        return;
    float *scale = malloc(sizeof *scale * (size_t)d);
    kevo_maxabs_column_scales(X, n, d, scale);
    CHECK(scale[3] == 1.0f && scale[4] == 1.0f, "zero and near-zero columns get scales %g, %g "
          "(sklearn: 1)", scale[3], scale[4]);
    kevo_maxabs_scale_columns(X, n, d);
    check_same("per-column MaxAbs", X, want, n * d);
    free(X), free(want), free(scale);
}

KEVO_TEST(scaling_maxabs_global)
{
    int n, d, r, c;
    float *X = load_f32("scale_x.npy", &n, &d), *want = load_f32("maxabs_global.npy", &r, &c);
    if (!X || !want)
        return;
    kevo_maxabs_scale_global(X, n, d);
    check_same("global MaxAbs", X, want, n * d);
    float zeros[6] = {0};
    kevo_maxabs_scale_global(zeros, 2, 3);
    CHECK(zeros[0] == 0 && zeros[5] == 0, "an all-zero matrix changed");
    free(X), free(want);
}
