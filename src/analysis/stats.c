// stats.c — `kevo stats`' collection (kevo/stats.h, stats.h): the run folders of every input,
// read one at a time and added to their group's counts, so that memory holds a few numbers and
// one divergence profile per item, never a dataset's tokens; then the profiles' quartiles.
// Runs meet in one group only when they share the model and the settings the stages depend on
// (or what is not grouped by): pooling a 7B's layers with a 13B's, or the raw lens's stages with
// the norm lens's, would mix numbers that mean different things.
#include "analysis/stats.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"

#define WARNINGS_MAX 20

kevo_stats_params kevo_stats_default_params(void)
{
    return (kevo_stats_params){.figure = {KEVO_FIGURE_PNG, 150}};
}

kevo_status kevo_stats_group_parse(const char *arg, int *out, kevo_error *err)
{
    static const struct { const char *name; int mask; } names[] = {
        {"model", KEVO_STATS_BY_MODEL}, {"settings", KEVO_STATS_BY_SETTINGS},
        {"model,settings", KEVO_STATS_BY_MODEL | KEVO_STATS_BY_SETTINGS},
        {"settings,model", KEVO_STATS_BY_MODEL | KEVO_STATS_BY_SETTINGS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(arg, names[i].name)) {
            *out = names[i].mask;
            return KEVO_OK;
        }
    return kevo_fail(err, KEVO_ERR_ARG, "--group-by %s: expected model, settings or "
                     "model,settings", arg);
}

static void group_free(stats_group *g)
{
    free(g->name);
    stats_run_free(&g->first);
    free(g->crit_item);
    free(g->crit_tok);
    free(g->mut_item);
    free(g->mut_tok);
    free(g->profiles);
    free(g->q1);
    free(g->median);
    free(g->q3);
    for (int i = 0; i < g->n_items; i++) {
        free(g->items[i].id);
        free(g->items[i].run);
    }
    free(g->items);
}

static void free_strings(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void kevo_stats_free(kevo_stats *s)
{
    if (!s)
        return;
    for (int g = 0; g < s->n_groups; g++)
        group_free(&s->groups[g]);
    free(s->groups);
    free_strings(s->inputs, s->n_inputs);
    free_strings(s->skipped, s->n_skipped);
    free_strings(s->skip_reason, s->n_skipped);
    free_strings(s->warnings, s->n_warnings);
    free(s);
}

static kevo_status nomem(kevo_error *err)
{
    return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the statistics");
}

// Appends a copy of s to *v (n entries).
static kevo_status push_string(char ***v, int *n, const char *s, kevo_error *err)
{
    char **grown = realloc(*v, (size_t)(*n + 1) * sizeof *grown);
    if (!grown)
        return nomem(err);
    *v = grown;
    if (!(grown[*n] = strdup(s)))
        return nomem(err);
    (*n)++;
    return KEVO_OK;
}

// ---------------------------------------------------------------------------------------------
// Which runs belong together

// The first key in which run b differs from run a among the kinds in mask (KEVO_STATS_BY_*),
// with both values; 0 when none does, else the kind.
static int first_difference(const stats_run *a, const stats_run *b, int mask, const char **key,
                            char *va, char *vb, size_t size)
{
#define DIFF_INT(k, f) if (a->f != b->f) { *key = k; snprintf(va, size, "%d", a->f); \
        snprintf(vb, size, "%d", b->f); return kind; }
#define DIFF_NUM(k, f) if (a->f != b->f) { *key = k; snprintf(va, size, "%.17g", a->f); \
        snprintf(vb, size, "%.17g", b->f); return kind; }
#define DIFF_STR(k, f) if (strcmp(a->f, b->f)) { *key = k; snprintf(va, size, "\"%s\"", a->f); \
        snprintf(vb, size, "\"%s\"", b->f); return kind; }
    int kind = KEVO_STATS_BY_MODEL;
    if (mask & kind) {
        DIFF_INT("model.text_layers", layers)
        DIFF_INT("model.vocab_rows", vocab)
        DIFF_STR("model.config_fnv1a64", config)
        DIFF_STR("model.weights_sha256", weights)
        DIFF_STR("model.files_sha256", files)
    }
    kind = KEVO_STATS_BY_SETTINGS;
    if (mask & kind) {
        DIFF_STR("options.lens", lens)
        DIFF_STR("options.divergence", divergence)
        DIFF_STR("options.compute", compute)
        DIFF_NUM("options.theta", theta)
        DIFF_NUM("options.min_drop_decades", min_drop)
        DIFF_NUM("options.kappa", kappa)
        DIFF_NUM("options.min_mutated", min_mutated)
        DIFF_INT("options.stage_window", stage_window)
        DIFF_INT("critical_layer (given by --critical; -1: detected)", critical_given)
        DIFF_INT("mutation_layer (given by --mutation; -1: detected)", mutation_given)
    }
    return 0;
#undef DIFF_INT
#undef DIFF_NUM
#undef DIFF_STR
}

// "all", or the grouped-by fields: the model's folder name and the first 8 digits of its
// weights digest (its config digest when the run predates it), the settings in order.
static char *group_name(const stats_run *r, int by)
{
    char buf[512] = "all", model[160], settings[256];
    const char *digest = r->weights[0] ? r->weights : r->config;
    snprintf(model, sizeof model, "%.100s-%.8s", kevo_path_base(r->model_path), digest);
    int n = snprintf(settings, sizeof settings, "%s-%s-%s-t%g-d%g-k%g-m%g-w%d", r->lens,
                     r->divergence, r->compute, r->theta, r->min_drop, r->kappa,
                     r->min_mutated, r->stage_window);
    if (r->critical_given >= 0 && n > 0 && (size_t)n < sizeof settings)
        n += snprintf(settings + n, sizeof settings - (size_t)n, "-C%d", r->critical_given);
    if (r->mutation_given >= 0 && n > 0 && (size_t)n < sizeof settings)
        snprintf(settings + n, sizeof settings - (size_t)n, "-M%d", r->mutation_given);
    if (by == KEVO_STATS_BY_MODEL)
        snprintf(buf, sizeof buf, "%s", model);
    else if (by == KEVO_STATS_BY_SETTINGS)
        snprintf(buf, sizeof buf, "%s", settings);
    else if (by)
        snprintf(buf, sizeof buf, "%s_%s", model, settings);
    return strdup(buf);
}

static kevo_status group_create(stats_group *g, const stats_run *r, int by, kevo_error *err)
{
    memset(g, 0, sizeof *g);
    size_t bins = (size_t)r->layers + 2;
    g->first = *r;   // the identity's fields only: no tokens, profile, references
    g->first.tokens = NULL, g->first.n_tokens = 0, g->first.profile = NULL;
    g->first.refs = NULL, g->first.n_refs = 0;
    g->first.dir = strdup(r->dir);
    g->first.model_path = strdup(r->model_path);
    g->first.id = NULL;
    g->name = group_name(r, by);
    if (!g->first.dir || !g->first.model_path || !g->name ||
        !(g->crit_item = calloc(bins, sizeof(long long))) ||
        !(g->crit_tok = calloc(bins, sizeof(long long))) ||
        !(g->mut_item = calloc(bins, sizeof(long long))) ||
        !(g->mut_tok = calloc(bins, sizeof(long long))))
        return nomem(err);
    return KEVO_OK;
}

// The group run r joins (made when it is the first of its kind), or a refusal naming both runs.
static kevo_status find_group(kevo_stats *s, const stats_run *r, stats_group **out,
                              kevo_error *err)
{
    int by = s->group_by, all = KEVO_STATS_BY_MODEL | KEVO_STATS_BY_SETTINGS;
    const char *key;
    char va[128], vb[128];
    for (int g = 0; g < s->n_groups; g++) {
        const stats_run *f = &s->groups[g].first;
        if (by && first_difference(f, r, by, &key, va, vb, sizeof va))
            continue;
        int kind = first_difference(f, r, all & ~by, &key, va, vb, sizeof va);
        if (kind) {
            const char *file = kind == KEVO_STATS_BY_MODEL ? "run.json" : "analysis/stages.json";
            return kevo_fail(err, KEVO_ERR_MODEL, "runs of different %s: %s/%s has %s %s but "
                             "%s/%s has %s; kevo stats pools only runs of one model and one "
                             "analysis setting (give --group-by %s for statistics per group)",
                             kind == KEVO_STATS_BY_MODEL ? "models" : "analysis settings",
                             f->dir, file, key, va, r->dir, file, vb,
                             kind == KEVO_STATS_BY_MODEL ? "model" : "settings");
        }
        *out = &s->groups[g];
        return KEVO_OK;
    }
    stats_group *grown = realloc(s->groups, (size_t)(s->n_groups + 1) * sizeof *grown);
    if (!grown)
        return nomem(err);
    s->groups = grown;
    *out = &s->groups[s->n_groups++];
    return group_create(*out, r, by, err);
}

// ---------------------------------------------------------------------------------------------
// Counting one run

static kevo_status add_item(stats_group *g, const stats_run *r, int n_mutated, int n_halluc,
                            kevo_error *err)
{
    if (g->n_items == g->cap_items) {
        int cap = g->cap_items ? 2 * g->cap_items : 64;
        stats_item *grown = realloc(g->items, (size_t)cap * sizeof *grown);
        if (!grown)
            return nomem(err);
        g->items = grown, g->cap_items = cap;
    }
    size_t L = (size_t)r->layers;
    if ((size_t)g->n_items == g->cap_profiles) {
        size_t cap = g->cap_profiles ? 2 * g->cap_profiles : 64;
        double *grown = realloc(g->profiles, cap * L * sizeof *grown);
        if (!grown)
            return nomem(err);
        g->profiles = grown, g->cap_profiles = cap;
    }
    memcpy(g->profiles + (size_t)g->n_items * L, r->profile, L * sizeof *r->profile);
    stats_item *it = &g->items[g->n_items];
    *it = (stats_item){strdup(r->id), strdup(r->dir), r->n_tokens, r->critical, r->mutation,
                       n_mutated, r->has_refs, n_halluc};
    g->n_items++;   // counted before the check, so that group_free frees both strings
    return it->id && it->run ? KEVO_OK : nomem(err);
}

static kevo_status add_run(stats_group *g, const stats_run *r, kevo_error *err)
{
    int L = r->layers, T = r->n_tokens, none = L + 1;
    int *kind = malloc(2 * (size_t)T * sizeof *kind);
    if (!kind)
        return nomem(err);
    int *judge = kind + T;
    stats_token_kinds(r, kind, judge);
    g->n_tokens += T;
    g->crit_item[r->critical >= 0 ? r->critical : none]++;
    g->mut_item[r->mutation >= 0 ? r->mutation : none]++;
    int eligible = r->critical >= 0, judged = eligible && r->has_refs;
    int has_kind[STATS_N_KINDS] = {0}, n_mutated = 0, n_halluc = 0;
    g->n_eligible_items += eligible;
    g->n_ref_items += r->has_refs;
    g->n_judged_items += judged;
    if (r->has_refs)
        g->n_ref_tokens += T;
    for (int t = 0; t < T; t++) {
        const stats_token *k = &r->tokens[t];
        int mutated = k->mutation >= 0;
        n_mutated += mutated;
        g->crit_tok[k->critical >= 0 ? k->critical : none]++;
        g->mut_tok[mutated ? k->mutation : none]++;
        if (eligible) {
            g->kind_tokens[kind[t]]++;
            g->kind_mut[kind[t]] += mutated;
            has_kind[kind[t]] = 1;
        }
        if (r->has_refs && judge[t] == STATS_HALLUCINATED)
            n_halluc++;
        if (judged && judge[t] <= STATS_HALLUCINATED) {
            g->judge_tokens[judge[t]]++;
            g->judge_mut[judge[t]] += mutated;
        }
        if (r->has_refs && mutated) {
            g->n_ref_mutated++;
            g->shift[stats_judge_piece(r, k->from)][stats_judge_piece(r, k->to)]++;
        }
    }
    for (int i = 0; i < STATS_N_KINDS; i++)
        g->kind_items[i] += has_kind[i];
    free(kind);
    return add_item(g, r, n_mutated, n_halluc, err);
}

// ---------------------------------------------------------------------------------------------
// Finding the runs

typedef struct run_path {
    char *path, *real;   // as the user will read it, and resolved (to find one run given twice)
} run_path;

typedef struct run_list {
    run_path *v;
    int n, cap;
} run_list;

static kevo_status push_run(run_list *l, const char *path, kevo_error *err)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        run_path *grown = realloc(l->v, (size_t)cap * sizeof *grown);
        if (!grown)
            return nomem(err);
        l->v = grown, l->cap = cap;
    }
    char *real = realpath(path, NULL);
    l->v[l->n] = (run_path){strdup(path), real ? real : strdup(path)};
    l->n++;
    return l->v[l->n - 1].path && l->v[l->n - 1].real ? KEVO_OK : nomem(err);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int by_real(const void *a, const void *b)
{
    return strcmp(((const run_path *)a)->real, ((const run_path *)b)->real);
}

static int has_run_json(const char *dir)
{
    return kevo_entry_kind(dir, "run.json") == 'f';
}

// A run folder itself, or a batch output's run folders in name order.
static kevo_status list_input(const char *path, run_list *l, kevo_error *err)
{
    if (!kevo_dir_exists(path))
        return kevo_fail(err, KEVO_ERR_IO, "%s: no such folder", path);
    if (has_run_json(path))
        return push_run(l, path, err);
    DIR *d = opendir(path);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list the folder", path);
    char **names = NULL;
    int n = 0;
    kevo_status st = KEVO_OK;
    for (struct dirent *e; st == KEVO_OK && (e = readdir(d));)
        if (e->d_name[0] != '.' && kevo_entry_kind(path, e->d_name) == 'd')
            st = push_string(&names, &n, e->d_name, err);
    closedir(d);
    if (st == KEVO_OK)
        qsort(names, (size_t)n, sizeof *names, by_name);
    int found = 0;
    for (int i = 0; i < n && st == KEVO_OK; i++) {
        char sub[KEVO_PATH_MAX];
        st = kevo_path_join(sub, sizeof sub, path, names[i], err);
        if (st == KEVO_OK && has_run_json(sub))
            st = push_run(l, sub, err), found++;
    }
    free_strings(names, n);
    if (st == KEVO_OK && !found)
        st = kevo_fail(err, KEVO_ERR_IO, "%s: neither a run folder (no run.json) nor a batch "
                       "output folder (no subfolder holds a run.json)", path);
    return st;
}

// ---------------------------------------------------------------------------------------------
// The whole collection

static int by_item(const void *a, const void *b)
{
    const stats_item *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->run, y->run);
}

static int by_group(const void *a, const void *b)
{
    return strcmp(((const stats_group *)a)->name, ((const stats_group *)b)->name);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double kevo_stats_percentile(const double *sorted, int n, double p)
{
    if (n < 1)
        return NAN;
    double pos = p / 100 * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

double kevo_stats_hist_percentile(const long long *count, int n_bins, double p)
{
    long long n = 0;
    for (int l = 0; l < n_bins; l++)
        n += count[l];
    if (n < 1)
        return NAN;
    double pos = p / 100 * (double)(n - 1);
    long long lo = (long long)floor(pos), hi = lo + 1 < n ? lo + 1 : n - 1;
    double v[2] = {0, 0};
    long long k[2] = {lo, hi}, seen = 0;
    int got = 0;
    for (int l = 0; l < n_bins && got < 2; l++) {
        seen += count[l];
        while (got < 2 && k[got] < seen)
            v[got++] = l;
    }
    return v[0] + (pos - (double)lo) * (v[1] - v[0]);
}

// Quartiles of each transition over the group's items; items in (id, run) order; a warning
// for an id that appears twice (one item counted twice, or two manifests sharing ids).
static kevo_status finish_group(kevo_stats *s, stats_group *g, kevo_error *err)
{
    int L = g->first.layers, n = g->n_items;
    double *col = malloc((size_t)n * sizeof *col);
    if (!col || !(g->q1 = malloc((size_t)L * sizeof(double))) ||
        !(g->median = malloc((size_t)L * sizeof(double))) ||
        !(g->q3 = malloc((size_t)L * sizeof(double)))) {
        free(col);
        return nomem(err);
    }
    for (int i = 0; i < L; i++) {
        for (int k = 0; k < n; k++)
            col[k] = g->profiles[(size_t)k * L + i];
        qsort(col, (size_t)n, sizeof *col, cmp_double);
        g->q1[i] = kevo_stats_percentile(col, n, 25);
        g->median[i] = kevo_stats_percentile(col, n, 50);
        g->q3[i] = kevo_stats_percentile(col, n, 75);
    }
    free(col);
    qsort(g->items, (size_t)n, sizeof *g->items, by_item);
    kevo_status st = KEVO_OK;
    for (int k = 1; k < n && st == KEVO_OK; k++)
        if (!strcmp(g->items[k].id, g->items[k - 1].id) && s->n_warnings < WARNINGS_MAX) {
            char w[2 * KEVO_PATH_MAX + 300];
            snprintf(w, sizeof w, "group %.200s: item id \"%.200s\" appears in %.2000s and "
                     "%.2000s", g->name, g->items[k].id, g->items[k - 1].run, g->items[k].run);
            st = push_string(&s->warnings, &s->n_warnings, w, err);
        }
    return st;
}

// A path as given, without trailing slashes (so that a folder's name is its last component).
static kevo_status clean_path(const char *in, char out[KEVO_PATH_MAX], kevo_error *err)
{
    size_t n = strlen(in);
    while (n > 1 && in[n - 1] == '/')
        n--;
    if (n >= KEVO_PATH_MAX)
        return kevo_fail(err, KEVO_ERR_ARG, "%.200s...: the path is too long", in);
    memcpy(out, in, n);
    out[n] = '\0';
    return KEVO_OK;
}

static kevo_status collect(kevo_stats *s, const char *const *paths, int n, kevo_error *err)
{
    run_list l = {0};
    kevo_status st = KEVO_OK;
    char path[KEVO_PATH_MAX];
    for (int i = 0; i < n && st == KEVO_OK; i++) {
        st = clean_path(paths[i], path, err);
        if (st == KEVO_OK)
            st = push_string(&s->inputs, &s->n_inputs, path, err);
        if (st == KEVO_OK)
            st = list_input(path, &l, err);
    }
    if (st == KEVO_OK)
        qsort(l.v, (size_t)l.n, sizeof *l.v, by_real);
    for (int i = 1; i < l.n && st == KEVO_OK; i++)
        if (!strcmp(l.v[i].real, l.v[i - 1].real))
            st = kevo_fail(err, KEVO_ERR_ARG, "%s and %s are the same run folder: it would be "
                           "counted twice", l.v[i - 1].path, l.v[i].path);
    for (int i = 0; i < l.n && st == KEVO_OK; i++) {
        const char *dir = l.v[i].path;
        if (kevo_path_join(path, sizeof path, dir, "analysis/stages.json", err) == KEVO_OK &&
            !kevo_file_exists(path)) {
            int n_reasons = s->n_skipped;   // the two lists grow together
            st = push_string(&s->skip_reason, &n_reasons, "no analysis/stages.json (not "
                             "analysed: kevo analyze RUN, or kevo batch --analyze)", err);
            if (st == KEVO_OK)
                st = push_string(&s->skipped, &s->n_skipped, dir, err);
            continue;
        }
        stats_run r;
        stats_group *g = NULL;
        st = stats_run_read(dir, &r, err);
        if (st == KEVO_OK)
            st = find_group(s, &r, &g, err);
        if (st == KEVO_OK)
            st = add_run(g, &r, err);
        if (st == KEVO_OK)
            s->n_runs++, s->n_tokens += r.n_tokens;
        stats_run_free(&r);
    }
    for (int i = 0; i < l.n; i++) {
        free(l.v[i].path);
        free(l.v[i].real);
    }
    free(l.v);
    if (st == KEVO_OK && !s->n_runs)
        st = kevo_fail(err, KEVO_ERR_IO, "no analysed run folder among the %d found (%d "
                       "without analysis/stages.json)", s->n_skipped, s->n_skipped);
    return st;
}

kevo_status kevo_stats_collect(const char *const *paths, int n, const kevo_stats_params *p,
                               kevo_stats **out, kevo_error *err)
{
    *out = NULL;
    if (n < 1)
        return kevo_fail(err, KEVO_ERR_ARG, "kevo stats needs at least one folder");
    kevo_stats *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    s->group_by = p->group_by;
    kevo_status st = collect(s, paths, n, err);
    if (st == KEVO_OK)
        qsort(s->groups, (size_t)s->n_groups, sizeof *s->groups, by_group);
    for (int g = 0; g < s->n_groups && st == KEVO_OK; g++)
        st = finish_group(s, &s->groups[g], err);
    if (st != KEVO_OK) {
        kevo_stats_free(s);
        return st;
    }
    *out = s;
    return KEVO_OK;
}

kevo_stats_summary kevo_stats_summarize(const kevo_stats *s)
{
    return (kevo_stats_summary){s->n_runs, s->n_skipped, s->n_groups, s->n_tokens,
                                s->n_warnings};
}

const char *kevo_stats_skipped(const kevo_stats *s, int i, const char **reason)
{
    if (reason)
        *reason = s->skip_reason[i];
    return s->skipped[i];
}

const char *kevo_stats_warning(const kevo_stats *s, int i)
{
    return s->warnings[i];
}

int kevo_stats_group_text(const kevo_stats *s, int gi, char *buf, size_t size)
{
    const stats_group *g = &s->groups[gi];
    int L = g->first.layers;
    long long with_c = g->n_items - g->crit_item[L + 1], with_m = g->n_items - g->mut_item[L + 1];
    long long elig = 0, mut = 0;
    for (int k = 0; k < STATS_N_KINDS; k++)
        elig += g->kind_tokens[k], mut += g->kind_mut[k];
    char c[64] = "none", m[64] = "none";
    if (with_c)
        snprintf(c, sizeof c, "median %g", kevo_stats_hist_percentile(g->crit_item, L + 1, 50));
    if (with_m)
        snprintf(m, sizeof m, "median %g", kevo_stats_hist_percentile(g->mut_item, L + 1, 50));
    return snprintf(buf, size, "%s: %d items, %lld tokens, %d layers; critical layer %s (%lld "
                    "items have one), mutation layer %s (%lld items); %lld of %lld tokens of "
                    "items with a critical layer mutate", g->name, g->n_items, g->n_tokens, L, c,
                    with_c, m, with_m, mut, elig);
}
