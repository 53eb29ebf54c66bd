// stats_tables.c — `kevo stats`' tables (stats.h; docs/stats.md lists every column): CSV with
// quoted text and 17 significant digits, as the analyses' tables, and stats.json holding the
// same numbers per group. Every row names the items and tokens its numbers rest on.
#include "analysis/stats.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

#include "base/error.h"
#include "io/json.h"

static const char *const hist_names[4] = {"critical_item", "critical_token", "mutation_item",
                                          "mutation_token"};

static const long long *hist_of(const stats_group *g, int h)
{
    return h == 0 ? g->crit_item : h == 1 ? g->crit_tok : h == 2 ? g->mut_item : g->mut_tok;
}

static double share(long long k, long long n)
{
    return n > 0 ? (double)k / (double)n : NAN;
}

// A number of a CSV: empty when undefined (a share of nothing).
static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, ",%.17g", v);
    else
        fputc(',', f);
}

typedef void (*table_fn)(FILE *f, const stats_group *g);

// Writes dir/name: the header, then fn's rows for every group.
static kevo_status write_table(const kevo_stats *s, const char *dir, const char *name,
                               const char *header, table_fn fn, kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_outfile *o;
    kevo_status st = kevo_path_join(path, sizeof path, dir, name, err);
    if (st == KEVO_OK)
        st = kevo_outfile_open(path, &o, err);
    if (st != KEVO_OK)
        return st;
    FILE *f = kevo_outfile_stream(o);
    fprintf(f, "%s\n", header);
    for (int g = 0; g < s->n_groups; g++)
        fn(f, &s->groups[g]);
    return kevo_outfile_commit(o, err);
}

static void items_rows(FILE *f, const stats_group *g)
{
    for (int i = 0; i < g->n_items; i++) {
        const stats_item *it = &g->items[i];
        kevo_csv_text(f, g->name);
        fputc(',', f);
        kevo_csv_text(f, it->id);
        fputc(',', f);
        kevo_csv_text(f, it->run);
        fprintf(f, ",%d,", it->n_tokens);
        if (it->critical >= 0)
            fprintf(f, "%d", it->critical);
        fputc(',', f);
        if (it->mutation >= 0)
            fprintf(f, "%d", it->mutation);
        fprintf(f, ",%d,%d,", it->n_mutated, it->has_refs);
        if (it->has_refs)
            fprintf(f, "%d", it->n_hallucinated);
        fputc('\n', f);
    }
}

// Per histogram, layers 0..L then "none": items (share of the group's items) or tokens.
static void layers_rows(FILE *f, const stats_group *g)
{
    int L = g->first.layers;
    for (int h = 0; h < 4; h++) {
        const long long *c = hist_of(g, h);
        long long n = h % 2 ? g->n_tokens : g->n_items;
        for (int l = 0; l <= L + 1; l++) {
            kevo_csv_text(f, g->name);
            fprintf(f, ",%s,", hist_names[h]);
            if (l <= L)
                fprintf(f, "%d", l);
            else
                fprintf(f, "none");
            fprintf(f, ",%lld", c[l]);
            csv_num(f, share(c[l], n));
            fprintf(f, ",%d,%lld\n", g->n_items, g->n_tokens);
        }
    }
}

static void kinds_rows(FILE *f, const stats_group *g)
{
    long long all = 0, mut = 0;
    for (int k = 0; k <= STATS_N_KINDS; k++) {
        long long n = k < STATS_N_KINDS ? g->kind_tokens[k] : all;
        long long m = k < STATS_N_KINDS ? g->kind_mut[k] : mut;
        int items = k < STATS_N_KINDS ? g->kind_items[k] : g->n_eligible_items;
        all += k < STATS_N_KINDS ? n : 0;
        mut += k < STATS_N_KINDS ? m : 0;
        kevo_csv_text(f, g->name);
        fprintf(f, ",%s,%lld,%lld", k < STATS_N_KINDS ? kevo_stats_kind_names[k] : "all", n, m);
        csv_num(f, share(m, n));
        fprintf(f, ",%d\n", items);
    }
}

static void profile_rows(FILE *f, const stats_group *g)
{
    for (int i = 0; i < g->first.layers; i++) {
        kevo_csv_text(f, g->name);
        fprintf(f, ",%d,%d,%lld", i, g->n_items, g->n_tokens);
        csv_num(f, g->q1[i]);
        csv_num(f, g->median[i]);
        csv_num(f, g->q3[i]);
        fputc('\n', f);
    }
}

static void shift_rows(FILE *f, const stats_group *g)
{
    for (int a = 0; a < STATS_N_JUDGED; a++)
        for (int b = 0; b < STATS_N_JUDGED; b++) {
            kevo_csv_text(f, g->name);
            fprintf(f, ",%s,%s,%lld", kevo_stats_judge_names[a], kevo_stats_judge_names[b],
                    g->shift[a][b]);
            csv_num(f, share(g->shift[a][b], g->n_ref_mutated));
            fprintf(f, ",%d,%lld,%lld\n", g->n_ref_items, g->n_ref_tokens, g->n_ref_mutated);
        }
}

static void hallucination_rows(FILE *f, const stats_group *g)
{
    for (int j = 0; j < 2; j++) {
        kevo_csv_text(f, g->name);
        fprintf(f, ",%s,%lld,%lld", kevo_stats_judge_names[j], g->judge_tokens[j],
                g->judge_mut[j]);
        csv_num(f, share(g->judge_mut[j], g->judge_tokens[j]));
        fprintf(f, ",%d\n", g->n_judged_items);
    }
}

// ---------------------------------------------------------------------------------------------
// stats.json

static cJSON *layer_stat(const stats_group *g, int h)
{
    int L = g->first.layers;
    const long long *c = hist_of(g, h);
    cJSON *j = cJSON_CreateObject();
    cJSON *hist = cJSON_AddArrayToObject(j, "histogram");
    for (int l = 0; l <= L; l++)
        cJSON_AddItemToArray(hist, cJSON_CreateNumber((double)c[l]));
    cJSON_AddNumberToObject(j, "none", (double)c[L + 1]);
    cJSON_AddNumberToObject(j, "n_items", g->n_items);
    cJSON_AddNumberToObject(j, "n_tokens", (double)g->n_tokens);
    long long n = (h % 2 ? g->n_tokens : g->n_items) - c[L + 1];
    cJSON_AddNumberToObject(j, h % 2 ? "n_tokens_with_layer" : "n_items_with_layer", (double)n);
    cJSON_AddNumberToObject(j, "q1", kevo_stats_hist_percentile(c, L + 1, 25));
    cJSON_AddNumberToObject(j, "median", kevo_stats_hist_percentile(c, L + 1, 50));
    cJSON_AddNumberToObject(j, "q3", kevo_stats_hist_percentile(c, L + 1, 75));
    return j;
}

static cJSON *count_share(long long n, long long k, const char *kn, const char *kk)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, kn, (double)n);
    cJSON_AddNumberToObject(j, kk, (double)k);
    cJSON_AddNumberToObject(j, "share", share(k, n));
    return j;
}

static cJSON *group_json(const stats_group *g)
{
    const stats_run *r = &g->first;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", g->name);
    cJSON *m = cJSON_AddObjectToObject(j, "model");
    cJSON_AddStringToObject(m, "path", r->model_path);
    cJSON_AddStringToObject(m, "config_fnv1a64", r->config);
    cJSON_AddStringToObject(m, "weights_sha256", r->weights);
    cJSON_AddStringToObject(m, "files_sha256", r->files);
    cJSON_AddNumberToObject(m, "layers", r->layers);
    cJSON_AddNumberToObject(m, "vocab_rows", r->vocab);
    cJSON *o = cJSON_AddObjectToObject(j, "settings");
    cJSON_AddStringToObject(o, "lens", r->lens);
    cJSON_AddStringToObject(o, "divergence", r->divergence);
    cJSON_AddStringToObject(o, "compute", r->compute);
    cJSON_AddNumberToObject(o, "theta", r->theta);
    cJSON_AddNumberToObject(o, "min_drop_decades", r->min_drop);
    cJSON_AddNumberToObject(o, "kappa", r->kappa);
    cJSON_AddNumberToObject(o, "min_mutated", r->min_mutated);
    cJSON_AddNumberToObject(o, "stage_window", r->stage_window);
    cJSON_AddNumberToObject(o, "critical_given", r->critical_given);
    cJSON_AddNumberToObject(o, "mutation_given", r->mutation_given);
    cJSON_AddNumberToObject(j, "n_items", g->n_items);
    cJSON_AddNumberToObject(j, "n_tokens", (double)g->n_tokens);
    for (int h = 0; h < 4; h++)
        cJSON_AddItemToObject(j, hist_names[h], layer_stat(g, h));
    cJSON *kinds = cJSON_AddObjectToObject(j, "token_kinds");
    long long all = 0, mut = 0;
    for (int k = 0; k < STATS_N_KINDS; k++) {
        cJSON *e = count_share(g->kind_tokens[k], g->kind_mut[k], "n_tokens", "n_mutated");
        cJSON_AddNumberToObject(e, "n_items", g->kind_items[k]);
        cJSON_AddItemToObject(kinds, kevo_stats_kind_names[k], e);
        all += g->kind_tokens[k], mut += g->kind_mut[k];
    }
    cJSON *e = count_share(all, mut, "n_tokens", "n_mutated");
    cJSON_AddNumberToObject(e, "n_items", g->n_eligible_items);
    cJSON_AddItemToObject(kinds, "all", e);
    cJSON *p = cJSON_AddObjectToObject(j, "profile_log10");
    cJSON_AddNumberToObject(p, "n_items", g->n_items);
    cJSON_AddNumberToObject(p, "n_tokens", (double)g->n_tokens);
    cJSON_AddItemToObject(p, "q1", cJSON_CreateDoubleArray(g->q1, r->layers));
    cJSON_AddItemToObject(p, "median", cJSON_CreateDoubleArray(g->median, r->layers));
    cJSON_AddItemToObject(p, "q3", cJSON_CreateDoubleArray(g->q3, r->layers));
    cJSON *sh = cJSON_AddObjectToObject(j, "shift");
    cJSON_AddNumberToObject(sh, "n_items", g->n_ref_items);
    cJSON_AddNumberToObject(sh, "n_tokens", (double)g->n_ref_tokens);
    cJSON_AddNumberToObject(sh, "n_mutated", (double)g->n_ref_mutated);
    cJSON *counts = cJSON_AddObjectToObject(sh, "counts");
    for (int a = 0; a < STATS_N_JUDGED; a++)
        for (int b = 0; b < STATS_N_JUDGED; b++) {
            char key[64];
            snprintf(key, sizeof key, "%s->%s", kevo_stats_judge_names[a],
                     kevo_stats_judge_names[b]);
            cJSON_AddNumberToObject(counts, key, (double)g->shift[a][b]);
        }
    cJSON *h = cJSON_AddObjectToObject(j, "hallucination");
    cJSON_AddNumberToObject(h, "n_items", g->n_judged_items);
    for (int k = 0; k < 2; k++)
        cJSON_AddItemToObject(h, kevo_stats_judge_names[k],
                              count_share(g->judge_tokens[k], g->judge_mut[k], "n_tokens",
                                          "n_mutated"));
    return j;
}

static kevo_status write_json(const kevo_stats *s, const char *dir, kevo_error *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "kevo-stats");
    cJSON_AddStringToObject(root, "kevo_version", KEVO_VERSION);
    cJSON *in = cJSON_AddArrayToObject(root, "inputs");
    for (int i = 0; i < s->n_inputs; i++)
        cJSON_AddItemToArray(in, cJSON_CreateString(s->inputs[i]));
    const char *by = s->group_by == KEVO_STATS_BY_MODEL ? "model"
                     : s->group_by == KEVO_STATS_BY_SETTINGS ? "settings"
                     : s->group_by ? "model,settings" : "none";
    cJSON_AddStringToObject(root, "group_by", by);
    cJSON_AddNumberToObject(root, "n_runs", s->n_runs);
    cJSON_AddNumberToObject(root, "n_tokens", (double)s->n_tokens);
    cJSON *sk = cJSON_AddArrayToObject(root, "skipped");
    for (int i = 0; i < s->n_skipped; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "run", s->skipped[i]);
        cJSON_AddStringToObject(e, "reason", s->skip_reason[i]);
        cJSON_AddItemToArray(sk, e);
    }
    cJSON *w = cJSON_AddArrayToObject(root, "warnings");
    for (int i = 0; i < s->n_warnings; i++)
        cJSON_AddItemToArray(w, cJSON_CreateString(s->warnings[i]));
    cJSON *groups = cJSON_AddArrayToObject(root, "groups");
    for (int g = 0; g < s->n_groups; g++)
        cJSON_AddItemToArray(groups, group_json(&s->groups[g]));
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, "stats.json", err);
    if (st != KEVO_OK) {
        cJSON_Delete(root);
        return st;
    }
    return kevo_json_save(root, path, err);
}

kevo_status kevo_stats_write_tables(const kevo_stats *s, const char *dir, kevo_error *err)
{
    kevo_status st;
    if ((st = write_table(s, dir, "items.csv", "group,id,run,n_tokens,critical,mutation,"
                          "n_mutated,has_references,n_hallucinated", items_rows, err)) ||
        (st = write_table(s, dir, "layers.csv", "group,statistic,layer,count,share,n_items,"
                          "n_tokens", layers_rows, err)) ||
        (st = write_table(s, dir, "token_kinds.csv", "group,kind,n_tokens,n_mutated,"
                          "share_mutated,n_items", kinds_rows, err)) ||
        (st = write_table(s, dir, "profile.csv", "group,transition,n_items,n_tokens,q1,median,"
                          "q3", profile_rows, err)) ||
        (st = write_table(s, dir, "shift.csv", "group,before,after,n_mutations,share,n_items,"
                          "n_tokens,n_mutated", shift_rows, err)) ||
        (st = write_table(s, dir, "hallucination.csv", "group,judgement,n_tokens,n_mutated,"
                          "share_mutated,n_items", hallucination_rows, err)))
        return st;
    return write_json(s, dir, err);
}
