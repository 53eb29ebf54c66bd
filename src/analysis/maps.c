// maps.c — t-SNE maps of the hidden states (see maps.h; the authors' tsne.py and
// combined_tsne.py: hidden_states[t][1:], MaxAbsScaler, TSNE, scatter by layer group).
#include "analysis/maps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/scaling.h"
#include "base/error.h"
#include "base/fs.h"

void kevo_map_free(kevo_map *m)
{
    if (!m)
        return;
    free(m->run);
    free(m->step);
    free(m->layer);
    free(m->xy);
    free(m);
}

static kevo_status check_runs(const kevo_runfolder *const *runs, int n_runs, const int *steps,
                              kevo_error *err)
{
    if (n_runs < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "a t-SNE map needs at least one run");
    for (int r = 0; r < n_runs; r++) {
        if (runs[r]->n_states != runs[0]->n_states || runs[r]->dim != runs[0]->dim)
            return kevo_fail(err, KEVO_ERR_ARG, "%s has %d hidden states of width %d but %s has "
                             "%d of width %d: one map needs runs of one model", runs[r]->dir,
                             runs[r]->n_states, runs[r]->dim, runs[0]->dir, runs[0]->n_states,
                             runs[0]->dim);
        if (steps && (steps[r] < 0 || steps[r] >= runs[r]->n_steps))
            return kevo_fail(err, KEVO_ERR_ARG, "step %d is not in %s (%d steps)", steps[r],
                             runs[r]->dir, runs[r]->n_steps);
    }
    return KEVO_OK;
}

kevo_status kevo_map_compute(const kevo_runfolder *const *runs, int n_runs, const int *steps,
                             const kevo_tsne_params *p, kevo_map **out, kevo_error *err)
{
    *out = NULL;
    kevo_status st = check_runs(runs, n_runs, steps, err);
    if (st != KEVO_OK)
        return st;
    int L = runs[0]->n_states - 1, D = runs[0]->dim, n = 0;
    for (int r = 0; r < n_runs; r++)
        n += (steps ? 1 : runs[r]->n_steps) * L;
    kevo_map *m = calloc(1, sizeof *m);
    float *X = NULL;
    if (!m || !(m->run = malloc((size_t)n * sizeof *m->run)) ||
        !(m->step = malloc((size_t)n * sizeof *m->step)) ||
        !(m->layer = malloc((size_t)n * sizeof *m->layer))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a map of %d points", n);
        goto fail;
    }
    m->n = n;
    m->n_runs = n_runs;
    int k = 0;
    for (int r = 0; r < n_runs; r++)
        for (int t = steps ? steps[r] : 0; t < (steps ? steps[r] + 1 : runs[r]->n_steps); t++)
            for (int l = 1; l <= L; l++, k++) {
                m->run[k] = r;
                m->step[k] = t;
                m->layer[k] = l;
            }
    if (n < KEVO_MAP_MIN_POINTS) {
        snprintf(m->note, sizeof m->note, "no t-SNE map: %d points (a map needs at least %d)", n,
                 KEVO_MAP_MIN_POINTS);
        *out = m;
        return KEVO_OK;
    }
    if (!(X = malloc((size_t)n * D * sizeof *X)) ||
        !(m->xy = malloc((size_t)n * 2 * sizeof *m->xy))) {
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for a map of %d points of width %d",
                       n, D);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        const kevo_runfolder *rf = runs[m->run[i]];
        size_t state = (size_t)m->step[i] * rf->n_states + (size_t)m->layer[i];
        memcpy(X + (size_t)i * D, rf->hidden + state * D, (size_t)D * sizeof *X);
    }
    kevo_maxabs_scale_columns(X, n, D);
    kevo_tsne_params q = *p;
    q.n_components = 2;
    if ((st = kevo_tsne_run(X, n, D, &q, m->xy, &m->tsne, err)))
        goto fail;
    free(X);
    *out = m;
    return KEVO_OK;
fail:
    free(X);
    kevo_map_free(m);
    return st;
}

kevo_status kevo_map_write_csv(const kevo_map *m, const kevo_runfolder *const *runs,
                               const kevo_stages *s, const char *path, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = kevo_outfile_open(path, &o, err);
    if (st != KEVO_OK)
        return st;
    FILE *f = kevo_outfile_stream(o);
    kevo_stage_range r[3];
    kevo_stages_ranges(s, r);
    fprintf(f, "run,step,token_id,piece,layer,stage,x,y\n");
    for (int i = 0; m->xy && i < m->n; i++) {
        const kevo_runfolder *rf = runs[m->run[i]];
        fprintf(f, "%d,%d,%d,", m->run[i], m->step[i], rf->generated_ids[m->step[i]]);
        kevo_csv_text(f, rf->pieces[m->step[i]]);
        fprintf(f, ",%d,", m->layer[i]);
        kevo_csv_text(f, r[kevo_stages_of_state(s, m->layer[i])].name);
        fprintf(f, ",%.9g,%.9g\n", (double)m->xy[2 * i], (double)m->xy[2 * i + 1]);
    }
    return kevo_outfile_commit(o, err);
}
