// stages.c — critical and mutation layers (see stages.h and docs/stages.md). The per-token
// mutation test is the scale-free form of SHIFT's rule (a JSD peak after the critical layer that
// stands out from its neighbours) proposed in ../shared/spec/paper.md §6.
#include "analysis/stages.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

// Divergences are compared in decades; exact zeros (identical distributions) sit at this floor.
#define LOG_FLOOR (-30.0)

kevo_stage_params kevo_stage_default_params(void)
{
    return (kevo_stage_params){.theta = 0.5, .min_drop = 1.0, .kappa = 10.0, .min_mutated = 0.1};
}

void kevo_stages_free(kevo_stages *s)
{
    if (!s)
        return;
    free(s->mutation_hist);
    free(s->profile);
    free(s->tokens);
    free(s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The median of n values (mean of the middle two for even n); sorts v.
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double log_divergence(double j)
{
    return j > 0 ? fmax(log10(j), LOG_FLOOR) : LOG_FLOOR;
}

// profile[i] = median over every token of every run of log10 J at transition i.
static void typical_profile(kevo_stages *s, const kevo_stage_input *runs, int n_runs,
                            double *scratch)
{
    int L = s->n_layers;
    for (int i = 0; i < L; i++) {
        int n = 0;
        for (int r = 0; r < n_runs; r++)
            for (int t = 0; t < runs[r].n_steps; t++)
                scratch[n++] = log_divergence(runs[r].div[(size_t)t * L + i]);
        s->profile[i] = median(scratch, n);
    }
}

static double mean_range(const double *v, int from, int to)
{
    double sum = 0;
    for (int i = from; i <= to; i++)
        sum += v[i];
    return sum / (to - from + 1);
}

// The split i (stabilisation starting at state i; rapid evolution keeps states 0..i-1) with the
// largest fall of the profile from the w transitions before i to the w from i. Splits run from 1
// to L-2, so that stabilisation holds at least two transitions and the last one (which under
// the raw lens mixes in the final norm) never stands alone; a 2-layer model can only split at 1.
static void find_critical(kevo_stages *s, const kevo_stage_params *p)
{
    int L = s->n_layers, w = s->window, last = L == 2 ? 1 : L - 2;
    s->best_split = -1;
    for (int i = 1; i <= last; i++) {
        int b0 = i - w < 0 ? 0 : i - w, a1 = i + w - 1 > L - 1 ? L - 1 : i + w - 1;
        double drop = mean_range(s->profile, b0, i - 1) - mean_range(s->profile, i, a1);
        if (s->best_split < 0 || drop > s->critical_drop) {
            s->best_split = i;
            s->critical_drop = drop;
        }
    }
    if (s->best_split < 0) {
        snprintf(s->note, sizeof s->note, "no clear critical layer: a model needs at least 2 "
                 "layers for rapid evolution and stabilisation to be told apart (this one has "
                 "%d)", L);
    } else if (s->critical_drop >= p->min_drop) {
        s->critical = s->best_split;
    } else {
        snprintf(s->note, sizeof s->note, "no clear critical layer: the typical divergence "
                 "between consecutive layers falls by at most %.2f decades (x%.3g, at layer %d); "
                 "a critical layer needs %.2f", s->critical_drop, pow(10, s->critical_drop),
                 s->best_split, p->min_drop);
    }
}

// Per token: c_t from the top-1 probabilities, m_t from the divergences after C.
static void token_layers(kevo_token_stage *ts, const kevo_stage_input *in, int t, int C,
                         const kevo_stage_params *p, double *scratch)
{
    int L = in->n_layers, S = L + 1;
    const double *J = in->div + (size_t)t * L;
    const int *top = in->top_id + (size_t)t * S;
    *ts = (kevo_token_stage){.critical = -1, .mutation = -1, .from_id = -1, .to_id = -1};
    for (int l = 1; l <= L && ts->critical < 0; l++)
        if (in->top_p[(size_t)t * S + l] >= p->theta)
            ts->critical = l;
    if (C < 0 || C + 1 > L - 1)
        return;
    int peak = C + 1;
    for (int i = C + 2; i <= L - 1; i++)
        if (J[i] > J[peak])
            peak = i;
    for (int i = C; i <= L - 1; i++)
        scratch[i - C] = J[i];
    double med = median(scratch, L - C);
    if (!(J[peak] > 0))
        return;
    ts->ratio = med > 0 ? J[peak] / med : INFINITY;
    ts->from_id = top[peak];
    ts->to_id = top[peak + 1];
    if (ts->ratio >= p->kappa && top[peak] != top[peak + 1])
        ts->mutation = peak + 1;
}

static kevo_status check_overrides(const kevo_stage_params *p, int L, kevo_error *err)
{
    if (p->critical > 0 && p->critical > L)
        return kevo_fail(err, KEVO_ERR_ARG, "--critical %d: needs 1 <= C <= %d (this model has "
                         "%d layers)", p->critical, L, L);
    if (p->mutation > 0 && p->critical > 0 && (p->mutation <= p->critical || p->mutation > L))
        return kevo_fail(err, KEVO_ERR_ARG, "--mutation %d: needs --critical %d < M <= %d",
                         p->mutation, p->critical, L);
    return KEVO_OK;
}

kevo_status kevo_stages_detect(const kevo_stage_input *runs, int n_runs,
                               const kevo_stage_params *p, kevo_stages **out, kevo_error *err)
{
    *out = NULL;
    if (n_runs < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "stage detection needs at least one run");
    int L = runs[0].n_layers, N = 0;
    for (int r = 0; r < n_runs; r++) {
        if (runs[r].n_layers != L)
            return kevo_fail(err, KEVO_ERR_ARG, "run %d has %d layers but run 0 has %d: stages "
                             "can only be pooled over runs of one model", r, runs[r].n_layers, L);
        N += runs[r].n_steps;
    }
    if (L < 1 || N < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "stage detection needs at least one layer and one "
                         "step");
    kevo_status st = check_overrides(p, L, err);
    if (st != KEVO_OK)
        return st;

    kevo_stages *s = calloc(1, sizeof *s);
    double *scratch = malloc((size_t)(N > L ? N : L) * sizeof *scratch);
    if (!s || !scratch || !(s->mutation_hist = calloc((size_t)L + 1, sizeof *s->mutation_hist)) ||
        !(s->profile = malloc((size_t)L * sizeof *s->profile)) ||
        !(s->tokens = malloc((size_t)N * sizeof *s->tokens))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for stage detection");
        goto done;
    }
    s->n_layers = L;
    s->n_tokens = N;
    s->n_runs = n_runs;
    // round(3L/32): the spec's 3 for 32 layers; at least 2, so one transition makes no stage
    s->window = p->window > 0 ? p->window : (3 * L + 16) / 32 > 2 ? (3 * L + 16) / 32 : 2;
    s->critical = s->mutation = -1;
    typical_profile(s, runs, n_runs, scratch);
    find_critical(s, p);
    if (p->critical > 0) {
        s->critical = p->critical;
        s->critical_given = 1;
        s->note[0] = '\0';
        int b0 = s->critical - s->window < 0 ? 0 : s->critical - s->window;
        int a1 = s->critical + s->window - 1 > L - 1 ? L - 1 : s->critical + s->window - 1;
        s->critical_drop = s->critical < L ? mean_range(s->profile, b0, s->critical - 1) -
                                                 mean_range(s->profile, s->critical, a1) : 0;
    }
    if (p->mutation > 0 && s->critical < 0) {
        st = kevo_fail(err, KEVO_ERR_ARG, "--mutation %d needs a critical layer, and none was "
                       "found (%s); give --critical too", p->mutation, s->note);
        goto done;
    }
    if (p->mutation > 0 && (p->mutation <= s->critical || p->mutation > L)) {
        st = kevo_fail(err, KEVO_ERR_ARG, "--mutation %d: needs critical layer %d < M <= %d",
                       p->mutation, s->critical, L);
        goto done;
    }

    // Tokens: c_t, m_t and the histogram of m_t.
    int k = 0, n_c = 0;
    for (int r = 0; r < n_runs; r++)
        for (int t = 0; t < runs[r].n_steps; t++, k++) {
            token_layers(&s->tokens[k], &runs[r], t, s->critical, p, scratch);
            if (s->tokens[k].mutation > 0) {
                s->mutation_hist[s->tokens[k].mutation]++;
                s->n_mutated++;
            }
        }
    for (k = 0; k < N; k++)
        if (s->tokens[k].critical > 0)
            scratch[n_c++] = s->tokens[k].critical;
    s->n_critical_level1 = n_c;
    if (n_c) {
        qsort(scratch, (size_t)n_c, sizeof *scratch, cmp_double);
        s->critical_level1 = (int)scratch[(n_c - 1) / 2];   // the lower median: a real layer
    } else {
        s->critical_level1 = -1;
    }

    // The run's mutation layer: the most frequent m_t, when enough tokens mutate.
    if (p->mutation > 0) {
        s->mutation = p->mutation;
        s->mutation_given = 1;
    } else if (s->critical >= 0) {
        int needed = (int)ceil(p->min_mutated * N);
        needed = needed < 1 ? 1 : needed;
        int best = -1;
        for (int l = 0; l <= L; l++)
            if (s->mutation_hist[l] && (best < 0 || s->mutation_hist[l] > s->mutation_hist[best]))
                best = l;
        if (s->n_mutated >= needed)
            s->mutation = best;
        else if (!s->note[0])
            snprintf(s->note, sizeof s->note, "no mutation layer: %d of %d tokens mutate after "
                     "the critical layer (a peak %g times their median divergence with a new top "
                     "token); a mutation layer needs %d", s->n_mutated, N, p->kappa, needed);
    }
    *out = s;
    s = NULL;
done:
    kevo_stages_free(s);
    free(scratch);
    return st;
}

int kevo_stages_ranges(const kevo_stages *s, kevo_stage_range out[3])
{
    int L = s->n_layers;
    if (s->critical < 0) {
        out[0] = (kevo_stage_range){"undivided", 0, L};
        return 1;
    }
    int end = s->mutation > 0 ? s->mutation - 1 : L;
    out[0] = (kevo_stage_range){"rapid evolution", 0, s->critical - 1};
    out[1] = (kevo_stage_range){"stabilisation", s->critical, end};
    if (s->mutation < 0)
        return 2;
    out[2] = (kevo_stage_range){"mutation", s->mutation, L};
    return 3;
}

int kevo_stages_of_state(const kevo_stages *s, int l)
{
    kevo_stage_range r[3];
    int n = kevo_stages_ranges(s, r);
    for (int i = 0; i < n; i++)
        if (l <= r[i].to)
            return i;
    return n - 1;
}

const char *kevo_stage_label(const kevo_stage_range *r, char *buf, size_t size)
{
    if (!strcmp(r->name, "undivided"))
        snprintf(buf, size, "no clear stages (layers %d-%d)", r->from, r->to);
    else if (r->from == r->to)
        snprintf(buf, size, "%s (layer %d)", r->name, r->from);
    else
        snprintf(buf, size, "%s (layers %d-%d)", r->name, r->from, r->to);
    return buf;
}
