// tables.c — the analysis's numbers as files (see analysis.h; docs/analyses.md lists every
// column): CSV in RFC 4180 form (text fields always quoted, numbers with 17 significant digits so
// that they read back exactly) and stages.json.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "model/model.h"

void kevo_csv_text(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

// step,token_id,piece of step t
static void csv_step(FILE *f, const kevo_analysis *a, int t)
{
    fprintf(f, "%d,%d,", t, a->run->generated_ids[t]);
    kevo_csv_text(f, a->run->pieces[t]);
}

static kevo_status open_table(const char *dir, const char *name, kevo_outfile **out,
                              kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, name, err);
    return st ? st : kevo_outfile_open(path, out, err);
}

static kevo_status write_lens(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, "lens.csv", &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    const kevo_lens_result *r = a->lens;
    char buf[32];
    fprintf(f, "step,layer,top_id,top_piece,top_p,generated_p,logsumexp\n");
    for (int t = 0; t < r->n_steps; t++)
        for (int l = 0; l < r->n_states; l++) {
            size_t k = (size_t)t * r->n_states + l;
            fprintf(f, "%d,%d,%d,", t, l, r->top_id[k]);
            kevo_csv_text(f, kevo_analysis_piece(a, r->top_id[k], buf, sizeof buf));
            fprintf(f, ",%.17g,%.17g,%.17g\n", r->top_p[k], r->generated_p[k], r->lse[k]);
        }
    return kevo_outfile_commit(o, err);
}

// The lens's KEVO_LENS_TOPK most probable tokens of every (step, state): what the report shows
// on hovering a heatmap cell, here to be read back (index: the hidden-state index, rank from 0).
static kevo_status write_top5(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, "top5.csv", &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    const kevo_lens_result *r = a->lens;
    char buf[32];
    fprintf(f, "step,index,rank,id,piece,p\n");
    for (size_t k = 0; k < (size_t)r->n_steps * r->n_states; k++)
        for (int i = 0; i < KEVO_LENS_TOPK && r->top5_id[k * KEVO_LENS_TOPK + i] >= 0; i++) {
            int id = r->top5_id[k * KEVO_LENS_TOPK + i];
            fprintf(f, "%d,%d,%d,%d,", (int)(k / r->n_states), (int)(k % r->n_states), i, id);
            kevo_csv_text(f, kevo_analysis_piece(a, id, buf, sizeof buf));
            fprintf(f, ",%.17g\n", r->top5_p[k * KEVO_LENS_TOPK + i]);
        }
    return kevo_outfile_commit(o, err);
}

// One row per step: step,token_id,piece, then the (rows, L) matrix m.
static kevo_status write_matrix(const kevo_analysis *a, const char *dir, const char *name,
                                const double *m, int rows, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, name, &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    int L = a->run->n_states - 1;
    fprintf(f, "step,token_id,piece");
    for (int i = 0; i < L; i++)
        fprintf(f, ",%d", i);
    fputc('\n', f);
    for (int t = 0; t < rows; t++) {
        csv_step(f, a, t);
        for (int i = 0; i < L; i++)
            fprintf(f, ",%.17g", m[(size_t)t * L + i]);
        fputc('\n', f);
    }
    return kevo_outfile_commit(o, err);
}

static kevo_status write_candidates(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, "candidates.csv", &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    const kevo_lens_result *r = a->lens;
    int S = r->n_states;
    char buf[32];
    fprintf(f, "step,token_id,piece,candidate_id,candidate_piece");
    for (int l = 0; l < S; l++)
        fprintf(f, ",%d", l);
    fputc('\n', f);
    for (int t = 0; t < r->n_steps; t++)
        for (int c = r->cand_start[t]; c < r->cand_start[t + 1]; c++) {
            csv_step(f, a, t);
            fprintf(f, ",%d,", r->cand_id[c]);
            kevo_csv_text(f, kevo_analysis_piece(a, r->cand_id[c], buf, sizeof buf));
            for (int l = 0; l < S; l++)
                fprintf(f, ",%.17g", r->cand_p[(size_t)c * S + l]);
            fputc('\n', f);
        }
    return kevo_outfile_commit(o, err);
}

static cJSON *layer_or_null(int l)
{
    return l >= 0 ? cJSON_CreateNumber(l) : cJSON_CreateNull();
}

static cJSON *options_json(const kevo_analysis *a)
{
    const kevo_analysis_options *o = &a->opt;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "lens", kevo_lens_mode_name(o->lens));
    cJSON_AddStringToObject(j, "compute", o->compute == KEVO_COMPUTE_BF16 ? "bf16" : "f32");
    cJSON_AddStringToObject(j, "divergence", kevo_divergence_name(o->divergence));
    cJSON_AddStringToObject(j, "scale", kevo_scale_name(o->scale));
    cJSON_AddNumberToObject(j, "rows", o->rows);
    cJSON_AddNumberToObject(j, "steps", o->steps);
    int w[2] = {a->window.lo, a->window.hi};
    cJSON_AddItemToObject(j, "window", cJSON_CreateIntArray(w, 2));
    cJSON_AddNumberToObject(j, "theta", o->stage.theta);
    cJSON_AddNumberToObject(j, "min_drop_decades", o->stage.min_drop);
    cJSON_AddNumberToObject(j, "kappa", o->stage.kappa);
    cJSON_AddNumberToObject(j, "min_mutated", o->stage.min_mutated);
    cJSON_AddNumberToObject(j, "stage_window", a->stages->window);
    return j;
}

static cJSON *tokens_json(const kevo_analysis *a)
{
    const kevo_stages *s = a->stages;
    cJSON *arr = cJSON_CreateArray();
    char buf[32];
    for (int t = 0; t < s->n_tokens; t++) {
        const kevo_token_stage *k = &s->tokens[t];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "step", t);
        cJSON_AddNumberToObject(j, "token_id", a->run->generated_ids[t]);
        cJSON_AddStringToObject(j, "piece", a->run->pieces[t]);
        cJSON_AddItemToObject(j, "critical", layer_or_null(k->critical));
        cJSON_AddItemToObject(j, "mutation", layer_or_null(k->mutation));
        if (k->from_id >= 0) {
            // an infinite ratio (a post-critical median of 0) is written as null
            cJSON_AddItemToObject(j, "peak_ratio", isfinite(k->ratio)
                                                       ? cJSON_CreateNumber(k->ratio)
                                                       : cJSON_CreateNull());
            cJSON_AddNumberToObject(j, "peak_from_id", k->from_id);
            cJSON_AddStringToObject(j, "peak_from_piece",
                                    kevo_analysis_piece(a, k->from_id, buf, sizeof buf));
            cJSON_AddNumberToObject(j, "peak_to_id", k->to_id);
            cJSON_AddStringToObject(j, "peak_to_piece",
                                    kevo_analysis_piece(a, k->to_id, buf, sizeof buf));
        }
        cJSON_AddItemToArray(arr, j);
    }
    return arr;
}

// The fields of stages.json that describe the stages themselves, for one run or pooled runs.
static void add_stage_fields(cJSON *root, const kevo_stages *s)
{
    cJSON_AddNumberToObject(root, "layers", s->n_layers);
    cJSON_AddNumberToObject(root, "steps", s->n_tokens);
    cJSON_AddItemToObject(root, "critical_layer", layer_or_null(s->critical));
    cJSON_AddStringToObject(root, "critical_source", s->critical_given ? "given"
                                                     : s->critical >= 0 ? "detected" : "none");
    cJSON_AddItemToObject(root, "critical_drop_decades", s->best_split >= 0 || s->critical_given
                                                             ? cJSON_CreateNumber(s->critical_drop)
                                                             : cJSON_CreateNull());
    cJSON_AddItemToObject(root, "best_split", layer_or_null(s->best_split));
    cJSON_AddItemToObject(root, "token_critical_median", layer_or_null(s->critical_level1));
    cJSON_AddNumberToObject(root, "tokens_with_critical", s->n_critical_level1);
    cJSON_AddItemToObject(root, "mutation_layer", layer_or_null(s->mutation));
    cJSON_AddStringToObject(root, "mutation_source", s->mutation_given ? "given"
                                                     : s->mutation >= 0 ? "detected" : "none");
    cJSON_AddNumberToObject(root, "tokens_mutated", s->n_mutated);
    cJSON_AddItemToObject(root, "mutation_histogram",
                          cJSON_CreateIntArray(s->mutation_hist, s->n_layers + 1));
    cJSON_AddStringToObject(root, "note", s->note);
    kevo_stage_range r[3];
    int n = kevo_stages_ranges(s, r);
    cJSON *ranges = cJSON_AddArrayToObject(root, "stages");
    for (int i = 0; i < n; i++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", r[i].name);
        cJSON_AddNumberToObject(j, "from", r[i].from);
        cJSON_AddNumberToObject(j, "to", r[i].to);
        cJSON_AddItemToArray(ranges, j);
    }
    cJSON_AddItemToObject(root, "divergence_profile_log10",
                          cJSON_CreateDoubleArray(s->profile, s->n_layers));
}

static cJSON *stages_json(const kevo_analysis *a)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "kevo-stages");
    cJSON_AddStringToObject(root, "kevo_version", KEVO_VERSION);
    cJSON_AddStringToObject(root, "run", a->run->dir);
    cJSON_AddStringToObject(root, "model", a->model->dir);
    cJSON_AddBoolToObject(root, "model_config_matches_run", a->digest_matches);
    cJSON_AddItemToObject(root, "options", options_json(a));
    add_stage_fields(root, a->stages);
    cJSON_AddStringToObject(root, "warning", a->warning);
    cJSON_AddItemToObject(root, "tokens", tokens_json(a));
    return root;
}

kevo_status kevo_stages_write_json(const kevo_stages *s, const kevo_runfolder *const *runs,
                                   int n_runs, const int *steps, const kevo_analysis_options *o,
                                   const char *path, kevo_error *err)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "runs");
    cJSON_AddStringToObject(root, "format", "kevo-stages");
    cJSON_AddStringToObject(root, "kevo_version", KEVO_VERSION);
    for (int r = 0; r < n_runs; r++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "run", runs[r]->dir);
        cJSON_AddStringToObject(j, "text", runs[r]->text);
        cJSON_AddNumberToObject(j, "steps", runs[r]->n_steps);
        if (steps) {
            cJSON_AddNumberToObject(j, "map_step", steps[r]);
            cJSON_AddStringToObject(j, "map_piece", runs[r]->pieces[steps[r]]);
        }
        cJSON_AddItemToArray(list, j);
    }
    cJSON *opt = cJSON_AddObjectToObject(root, "options");
    cJSON_AddStringToObject(opt, "lens", kevo_lens_mode_name(o->lens));
    cJSON_AddStringToObject(opt, "divergence", kevo_divergence_name(o->divergence));
    cJSON_AddNumberToObject(opt, "theta", o->stage.theta);
    cJSON_AddNumberToObject(opt, "min_drop_decades", o->stage.min_drop);
    cJSON_AddNumberToObject(opt, "kappa", o->stage.kappa);
    cJSON_AddNumberToObject(opt, "min_mutated", o->stage.min_mutated);
    cJSON_AddNumberToObject(opt, "stage_window", s->window);
    add_stage_fields(root, s);
    return kevo_json_save(root, path, err);
}

static kevo_status write_stages(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, "stages.json", err);
    return st ? st : kevo_json_save(stages_json(a), path, err);
}

kevo_status kevo_analysis_write_tables(const kevo_analysis *a, const char *dir, kevo_error *err)
{
    kevo_status st;
    if ((st = kevo_mkdirs(dir, err)) || (st = write_lens(a, dir, err)) ||
        (st = write_matrix(a, dir, "divergence.csv", a->div, a->run->n_steps, err)) ||
        (st = write_matrix(a, dir, "heatmap.csv", a->heat, a->heat_rows, err)) ||
        (st = write_candidates(a, dir, err)) || (st = write_top5(a, dir, err)) ||
        (st = kevo_patch_analysis_write(a, dir, err)))
        return st;
    return write_stages(a, dir, err);
}
