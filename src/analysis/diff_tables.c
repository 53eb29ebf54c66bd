// diff_tables.c — a comparison's numbers as files (see diff.h; docs/diff.md lists every column):
// diff.csv (every common step and index), layers.csv (every index) and diff.json (the summary).
// CSV as tables.c: text fields quoted, numbers with 17 significant digits; a value that was not
// computed is an empty field.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/diff.h"
#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"
#include "model/model.h"

static kevo_status open_table(const char *dir, const char *name, kevo_outfile **out,
                              kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st = kevo_path_join(path, sizeof path, dir, name, err);
    return st ? st : kevo_outfile_open(path, out, err);
}

// ",x" with 17 digits, or "," when x was not computed.
static void csv_num(FILE *f, const double *x, size_t k)
{
    if (x && !isnan(x[k]))
        fprintf(f, ",%.17g", x[k]);
    else
        fputc(',', f);
}

static kevo_status write_steps(const kevo_diff *d, const char *dir, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, "diff.csv", &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    char buf[32];
    fprintf(f, "step,layer,rel_err,cosine,jsd,top_a,top_a_piece,top_a_p,top_b,top_b_piece,"
               "top_b_p,agree\n");
    for (int t = 0; t < d->T; t++)
        for (int l = 0; l < d->S; l++) {
            size_t k = (size_t)t * d->S + l;
            fprintf(f, "%d,%d", t, l);
            csv_num(f, d->rel_err, k);
            csv_num(f, d->cosine, k);
            fprintf(f, ",%.17g,%d,", d->jsd[k], d->top_a[k]);
            kevo_csv_text(f, kevo_diff_piece(d, 0, d->top_a[k], buf, sizeof buf));
            fprintf(f, ",%.17g,%d,", d->top_pa[k], d->top_b[k]);
            kevo_csv_text(f, kevo_diff_piece(d, 1, d->top_b[k], buf, sizeof buf));
            fprintf(f, ",%.17g,%d\n", d->top_pb[k], d->top_a[k] == d->top_b[k]);
        }
    return kevo_outfile_commit(o, err);
}

static kevo_status write_layers(const kevo_diff *d, const char *dir, kevo_error *err)
{
    kevo_outfile *o;
    kevo_status st = open_table(dir, "layers.csv", &o, err);
    if (st)
        return st;
    FILE *f = kevo_outfile_stream(o);
    fprintf(f, "layer,mean_rel_err,max_rel_err,mean_cosine,min_cosine,median_jsd,max_jsd,"
               "top_agree\n");
    for (int l = 0; l < d->S; l++) {
        fprintf(f, "%d", l);
        csv_num(f, d->mean_rel, (size_t)l);
        csv_num(f, d->max_rel, (size_t)l);
        csv_num(f, d->mean_cos, (size_t)l);
        csv_num(f, d->min_cos, (size_t)l);
        fprintf(f, ",%.17g,%.17g,%.17g\n", d->median_jsd[l], d->max_jsd[l], d->agree[l]);
    }
    return kevo_outfile_commit(o, err);
}

static cJSON *int_or_null(int v)
{
    return v >= 0 ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *run_json(const kevo_diff *d, int which)
{
    const kevo_runfolder *r = which ? d->b : d->a;
    const kevo_model *m = which ? d->mb : d->ma;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "run", r->dir);
    cJSON_AddStringToObject(j, "model", m->dir);
    cJSON_AddBoolToObject(j, "model_config_matches_run", which ? d->digest_b : d->digest_a);
    cJSON_AddStringToObject(j, "lens", kevo_lens_mode_name(which ? d->p.lens_b : d->p.lens_a));
    // run.json's own description of its model: path, digests, dimensions, weights' dtype
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(r->json, "model");
    cJSON_AddItemToObject(j, "recorded_model", rm ? cJSON_Duplicate(rm, 1) : cJSON_CreateNull());
    cJSON_AddStringToObject(j, "question", r->question);
    cJSON_AddStringToObject(j, "image", r->image_path ? r->image_path : "");
    cJSON_AddStringToObject(j, "text", r->text);
    cJSON_AddNumberToObject(j, "steps", r->n_steps);
    cJSON_AddNumberToObject(j, "states", r->n_states);
    cJSON_AddNumberToObject(j, "width", r->dim);
    cJSON_AddNumberToObject(j, "tokens_not_top", which ? d->mismatched_b : d->mismatched_a);
    return j;
}

static cJSON *disagreement_json(const kevo_diff *d, int t, int l)
{
    if (t < 0)
        return cJSON_CreateNull();
    char buf[32];
    size_t k = (size_t)t * d->S + l;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "step", t);
    cJSON_AddNumberToObject(j, "layer", l);
    cJSON_AddNumberToObject(j, "top_a", d->top_a[k]);
    cJSON_AddStringToObject(j, "top_a_piece", kevo_diff_piece(d, 0, d->top_a[k], buf, sizeof buf));
    cJSON_AddNumberToObject(j, "top_b", d->top_b[k]);
    cJSON_AddStringToObject(j, "top_b_piece", kevo_diff_piece(d, 1, d->top_b[k], buf, sizeof buf));
    return j;
}

static cJSON *parting_json(const kevo_diff *d)
{
    if (d->parting < 0)
        return cJSON_CreateNull();
    int t = d->parting;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "step", t);
    const kevo_runfolder *r[2] = {d->a, d->b};
    const char *names[2][2] = {{"id_a", "piece_a"}, {"id_b", "piece_b"}};
    for (int i = 0; i < 2; i++) {   // null past a run's end
        cJSON_AddItemToObject(j, names[i][0], t < r[i]->n_steps
                                                  ? cJSON_CreateNumber(r[i]->generated_ids[t])
                                                  : cJSON_CreateNull());
        cJSON_AddItemToObject(j, names[i][1], t < r[i]->n_steps
                                                  ? cJSON_CreateString(r[i]->pieces[t])
                                                  : cJSON_CreateNull());
    }
    cJSON_AddStringToObject(j, "before", d->shared_text);
    cJSON_AddStringToObject(j, "text_a", d->part_a);
    cJSON_AddStringToObject(j, "text_b", d->part_b);
    return j;
}

static cJSON *diff_json(const kevo_diff *d)
{
    kevo_diff_summary s = kevo_diff_summarize(d);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "kevo-diff");
    cJSON_AddStringToObject(root, "kevo_version", KEVO_VERSION);
    cJSON_AddItemToObject(root, "a", run_json(d, 0));
    cJSON_AddItemToObject(root, "b", run_json(d, 1));
    cJSON_AddStringToObject(root, "images_compared_by", d->image_check);
    cJSON_AddStringToObject(root, "inputs_differ", d->differs);
    cJSON_AddBoolToObject(root, "forced", d->p.force);
    cJSON_AddNumberToObject(root, "steps_compared", d->T);
    cJSON_AddNumberToObject(root, "layers_compared", d->S);
    cJSON_AddBoolToObject(root, "states_compared", d->compared_states);
    cJSON_AddNumberToObject(root, "max_rel_err", s.max_rel_err);   // null when not compared
    cJSON_AddNumberToObject(root, "min_cosine", s.min_cosine);
    cJSON_AddNumberToObject(root, "max_jsd", s.max_jsd);
    cJSON_AddItemToObject(root, "first_disagreement",
                          disagreement_json(d, s.first_step, s.first_index));
    cJSON_AddItemToObject(root, "shallowest_disagreement",
                          disagreement_json(d, s.shallowest_step, s.shallowest_index));
    cJSON *per = cJSON_AddArrayToObject(root, "first_disagreement_per_step");
    for (int t = 0; t < d->T; t++)
        cJSON_AddItemToArray(per, int_or_null(d->first_index[t]));
    cJSON_AddNumberToObject(root, "final_layer_agree_steps", s.final_agree);
    cJSON_AddItemToObject(root, "parting", parting_json(d));
    cJSON_AddStringToObject(root, "note", d->note);
    cJSON_AddStringToObject(root, "warning", d->warning);
    return root;
}

kevo_status kevo_diff_write_tables(const kevo_diff *d, const char *dir, kevo_error *err)
{
    char path[KEVO_PATH_MAX];
    kevo_status st;
    if ((st = kevo_mkdirs(dir, err)) || (st = write_steps(d, dir, err)) ||
        (st = write_layers(d, dir, err)) ||
        (st = kevo_path_join(path, sizeof path, dir, "diff.json", err)))
        return st;
    return kevo_json_save(diff_json(d), path, err);
}
