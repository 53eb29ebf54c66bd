// outputs.c — which existing folders are kevo's own outputs (see outputs.h), the demo's folder
// among them.
#include "io/outputs.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "base/outdir.h"
#include "io/json.h"

#define MARKER_MAX (64u << 20)

// dir/file is a regular file (no symbolic link) of JSON whose "format" is `format`.
static int has_marker(const char *dir, const char *file, const char *format)
{
    char path[KEVO_PATH_MAX];
    if (kevo_path_join(path, sizeof path, dir, file, NULL) != KEVO_OK ||
        kevo_entry_kind(dir, file) != 'f')
        return 0;
    cJSON *root = NULL;
    kevo_error ignored;
    if (kevo_json_load(path, MARKER_MAX, &root, &ignored) != KEVO_OK)
        return 0;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(root, "format");
    int ok = cJSON_IsString(f) && strcmp(f->valuestring, format) == 0;
    cJSON_Delete(root);
    return ok;
}

// kevo's hidden temporaries are kevo's too: folders (kevo/files.h) and files (".NAME.tmp.PID"
// of kevo_outfile_open, which earlier versions also left inside analysis/ when killed).
static int is_temporary(const char *name)
{
    if (!strncmp(name, ".kevo-tmp-", 10) || !strncmp(name, ".kevo-old-", 10))
        return 1;
    const char *t = name[0] == '.' ? strstr(name + 1, ".tmp.") : NULL;
    if (!t)
        return 0;
    for (t += 5; *t >= '0' && *t <= '9'; t++)
        ;
    return *t == '\0' && t[-1] != '.';
}

static int has_suffix(const char *name, const char *stem, int figure)
{
    size_t n = strlen(stem);
    if (strncmp(name, stem, n) != 0)
        return 0;
    if (!figure)
        return name[n] == '\0';
    return !strcmp(name + n, ".png") || !strcmp(name + n, ".svg") || !strcmp(name + n, ".pdf");
}

// An area chart's name: step_NNN.png|svg|pdf.
static int is_area_chart(const char *s)
{
    if (strncmp(s, "step_", 5) || s[5] < '0' || s[5] > '9')
        return 0;
    size_t k = 5;
    while (s[k] >= '0' && s[k] <= '9')
        k++;
    return has_suffix(s + k, "", 1);
}

// A patch-lens figure's name: word_<word, bytes outside [A-Za-z0-9_-] as %XX> or top_tokens,
// .png|svg|pdf (report/patch_figures.h).
static int is_patch_figure(const char *s)
{
    if (has_suffix(s, "top_tokens", 1))
        return 1;
    if (strncmp(s, "word_", 5))
        return 0;
    size_t k = 5 + strspn(s + 5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_-%");
    return k > 5 && has_suffix(s + k, "", 1);
}

// dir/folder holds only regular files that is_kevos accepts; else "folder/NAME" of the first
// other entry into bad.
static int figures_are_kevos(const char *dir, const char *folder, int (*is_kevos)(const char *),
                             char *bad, size_t size)
{
    char path[KEVO_PATH_MAX];   // too long a path: the folder is reported as not kevo's
    DIR *d = kevo_path_join(path, sizeof path, dir, folder, NULL) == KEVO_OK ? opendir(path)
                                                                            : NULL;
    int ok = d != NULL;
    for (struct dirent *e; ok && (e = readdir(d));) {
        const char *s = e->d_name;
        if (!strcmp(s, ".") || !strcmp(s, ".."))
            continue;
        ok = is_kevos(s) && kevo_entry_kind(path, s) == 'f';
        if (!ok)
            snprintf(bad, size, "%s/%.200s", folder, s);
    }
    if (d)
        closedir(d);
    else
        snprintf(bad, size, "%s/ (unreadable)", folder);
    return ok;
}

// A kind of output folder kevo writes: the marker file that says so, the files it holds by
// name (tables, exact) and by stem (figures, any format), and its subfolders' check.
typedef struct folder_kind {
    const char *marker, *format;
    const char *const *tables;
    size_t n_tables;
    const char *const *figures;
    size_t n_figures;
    // 1 when entry s of dir is a subfolder of kevo's (bad names what is not, if anything)
    int (*subfolder_ok)(const char *dir, const char *s, char *bad, size_t size);
} folder_kind;

// What in the folder dir of kind k is not kevo's, into bad ("" when nothing); 0 when dir has no
// marker at all.
static int folder_foreign(const char *dir, const folder_kind *k, char *bad, size_t size)
{
    bad[0] = '\0';
    if (!has_marker(dir, k->marker, k->format))
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(bad, size, "an unreadable folder");
        return 1;
    }
    for (struct dirent *e; !bad[0] && (e = readdir(d));) {
        const char *s = e->d_name;
        int ok = !strcmp(s, ".") || !strcmp(s, "..") || is_temporary(s);
        for (size_t i = 0; !ok && i < k->n_tables; i++)
            ok = has_suffix(s, k->tables[i], 0) && kevo_entry_kind(dir, s) == 'f';
        for (size_t i = 0; !ok && i < k->n_figures; i++)
            ok = has_suffix(s, k->figures[i], 1) && kevo_entry_kind(dir, s) == 'f';
        if (!ok && k->subfolder_ok && kevo_entry_kind(dir, s) == 'd')
            ok = k->subfolder_ok(dir, s, bad, size);
        if (!ok && !bad[0])
            snprintf(bad, size, "%.200s", s);
    }
    closedir(d);
    return 1;
}

// An analysis folder's area/ and patches/ figures.
static int analysis_subfolder_ok(const char *dir, const char *s, char *bad, size_t size)
{
    if (!strcmp(s, "area"))
        return figures_are_kevos(dir, s, is_area_chart, bad, size);
    if (!strcmp(s, "patches"))
        return figures_are_kevos(dir, s, is_patch_figure, bad, size);
    return 0;
}

static const char *const analysis_tables[] = {"stages.json", "report.html", "lens.csv",
                                              "divergence.csv", "heatmap.csv",
                                              "candidates.csv", "top5.csv", "tsne.csv",
                                              "patch_lens.csv", "patch_lens.json"};
static const char *const analysis_figures[] = {"heatmap", "tsne"};
static const folder_kind analysis_kind = {
    "stages.json", "kevo-stages", analysis_tables,
    sizeof analysis_tables / sizeof analysis_tables[0], analysis_figures,
    sizeof analysis_figures / sizeof analysis_figures[0], analysis_subfolder_ok};

static const char *const diff_tables[] = {"diff.json", "diff.csv", "layers.csv", "report.html"};
static const char *const diff_figures[] = {"heatmap", "layers_error", "layers_jsd"};
static const folder_kind diff_kind = {"diff.json", "kevo-diff", diff_tables,
                                      sizeof diff_tables / sizeof diff_tables[0], diff_figures,
                                      sizeof diff_figures / sizeof diff_figures[0], NULL};

static const char *const stats_tables[] = {"stats.json", "items.csv", "layers.csv",
                                           "token_kinds.csv", "profile.csv", "shift.csv",
                                           "hallucination.csv", "report.html"};
static const char *const stats_figures[] = {"critical", "mutation", "profile", "token_kinds"};
static const folder_kind stats_kind = {"stats.json", "kevo-stats", stats_tables,
                                       sizeof stats_tables / sizeof stats_tables[0],
                                       stats_figures,
                                       sizeof stats_figures / sizeof stats_figures[0], NULL};

kevo_status kevo_stats_folder_owned(const char *dir, kevo_error *err)
{
    char bad[300];
    if (!folder_foreign(dir, &stats_kind, bad, sizeof bad))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo stats folder (no "
                         "stats.json with \"format\": \"kevo-stats\"); refusing to replace it",
                         dir);
    if (bad[0])
        return kevo_fail(err, KEVO_ERR_ARG, "%s: a kevo stats folder, but %s in it is not one of "
                         "kevo's files; refusing to replace it (move it out of the folder, or "
                         "choose another output folder)", dir, bad);
    return KEVO_OK;
}

kevo_status kevo_stats_check_dest(const char *dir, kevo_error *err)
{
    return kevo_outdir_check(dir, kevo_stats_folder_owned, err);
}

kevo_status kevo_analysis_folder_owned(const char *dir, kevo_error *err)
{
    char bad[300];
    if (!folder_foreign(dir, &analysis_kind, bad, sizeof bad))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo analysis folder (no "
                         "stages.json with \"format\": \"kevo-stages\"); refusing to replace it",
                         dir);
    if (bad[0])
        return kevo_fail(err, KEVO_ERR_ARG, "%s: a kevo analysis folder, but %s in it is not one "
                         "of kevo's files; refusing to replace it (move it out of the folder, or "
                         "choose another output folder)", dir, bad);
    return KEVO_OK;
}

kevo_status kevo_diff_folder_owned(const char *dir, kevo_error *err)
{
    char bad[300];
    if (!folder_foreign(dir, &diff_kind, bad, sizeof bad))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo diff folder (no "
                         "diff.json with \"format\": \"kevo-diff\"); refusing to replace it", dir);
    if (bad[0])
        return kevo_fail(err, KEVO_ERR_ARG, "%s: a kevo diff folder, but %s in it is not one of "
                         "kevo's files; refusing to replace it (move it out of the folder, or "
                         "choose another output folder)", dir, bad);
    return KEVO_OK;
}

kevo_status kevo_diff_check_dest(const char *dir, kevo_error *err)
{
    return kevo_outdir_check(dir, kevo_diff_folder_owned, err);
}

kevo_status kevo_runfolder_owned(const char *dir, kevo_error *err)
{
    if (!has_marker(dir, "run.json", "kevo-run"))
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo run folder (no run.json "
                         "with \"format\": \"kevo-run\"); refusing to replace it", dir);
    DIR *d = opendir(dir);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list the folder", dir);
    char bad[300] = "";
    kevo_status st = KEVO_OK;
    for (struct dirent *e; st == KEVO_OK && !bad[0] && (e = readdir(d));) {
        const char *s = e->d_name;
        if (!strcmp(s, ".") || !strcmp(s, "..") || is_temporary(s) ||
            ((!strcmp(s, "run.json") || !strcmp(s, "hidden.safetensors") ||
              !strcmp(s, "item.json")) &&   // kevo batch --manifest's record of the item
             kevo_entry_kind(dir, s) == 'f'))
            continue;
        if (!strcmp(s, "analysis") && kevo_entry_kind(dir, s) == 'd') {
            char sub[KEVO_PATH_MAX];
            if ((st = kevo_path_join(sub, sizeof sub, dir, "analysis", err)) != KEVO_OK)
                break;
            DIR *a = opendir(sub);
            int entries = 0;
            for (struct dirent *x; a && (x = readdir(a));)
                entries += strcmp(x->d_name, ".") && strcmp(x->d_name, "..");
            if (a)
                closedir(a);
            if (entries && !folder_foreign(sub, &analysis_kind, bad, sizeof bad))
                snprintf(bad, sizeof bad, "analysis/ (no stages.json of kevo's)");
            else if (bad[0]) {
                char inner[300];
                snprintf(inner, sizeof inner, "%.200s", bad);
                snprintf(bad, sizeof bad, "analysis/%.280s", inner);
            }
            continue;
        }
        if (!strncmp(s, "diff-", 5) && kevo_entry_kind(dir, s) == 'd') {   // kevo diff's default
            char sub[KEVO_PATH_MAX], inner[300];
            if ((st = kevo_path_join(sub, sizeof sub, dir, s, err)) != KEVO_OK)
                break;
            if (!folder_foreign(sub, &diff_kind, inner, sizeof inner))
                snprintf(bad, sizeof bad, "%.200s/ (no diff.json of kevo's)", s);
            else if (inner[0])
                snprintf(bad, sizeof bad, "%.100s/%.180s", s, inner);
            continue;
        }
        snprintf(bad, sizeof bad, "%.200s", s);
    }
    closedir(d);
    if (st == KEVO_OK && bad[0])
        st = kevo_fail(err, KEVO_ERR_ARG, "%s: a kevo run folder, but %s in it is not one of "
                       "kevo's files; refusing to replace it (move it out of the folder, or "
                       "choose another output folder)", dir, bad);
    return st;
}

kevo_status kevo_runfolder_check_dest(const char *dir, kevo_error *err)
{
    return kevo_outdir_check(dir, kevo_runfolder_owned, err);
}

kevo_status kevo_analysis_check_dest(const char *dir, kevo_error *err)
{
    return kevo_outdir_check(dir, kevo_analysis_folder_owned, err);
}

int kevo_runfolder_marked(const char *dir)
{
    return has_marker(dir, "run.json", "kevo-run");
}

kevo_status kevo_demo_folder_owned(const char *dir, kevo_error *err)
{
    char bad[600] = "", sub[4400], path[4700];
    int runs = 0;
    kevo_error inner = {0};
    DIR *d = opendir(dir);
    if (!d)
        return kevo_fail(err, KEVO_ERR_IO, "%s: cannot list the folder", dir);
    for (struct dirent *e; !bad[0] && !inner.status && (e = readdir(d));) {
        const char *s = e->d_name;
        int set = 0;
        for (int k = 0; k < KEVO_DEMO_N_SETS; k++)
            set |= !strcmp(s, kevo_demo_sets[k]);
        if (!strcmp(s, ".") || !strcmp(s, "..") || is_temporary(s) ||
            (!strcmp(s, "report.html") && kevo_entry_kind(dir, s) == 'f'))
            continue;
        if (!set || kevo_entry_kind(dir, s) != 'd') {
            snprintf(bad, sizeof bad, "%.200s", s);
            break;
        }
        snprintf(sub, sizeof sub, "%s/%s", dir, s);
        DIR *sd = opendir(sub);
        if (!sd) {
            snprintf(bad, sizeof bad, "%.200s/ (unreadable)", s);
            break;
        }
        for (struct dirent *x; !bad[0] && !inner.status && (x = readdir(sd));) {
            const char *t = x->d_name;
            if (!strcmp(t, ".") || !strcmp(t, "..") || is_temporary(t))
                continue;
            snprintf(path, sizeof path, "%s/%s", sub, t);
            if (kevo_entry_kind(sub, t) != 'd')
                snprintf(bad, sizeof bad, "%.200s/%.200s", s, t);
            else if (!strcmp(t, "map"))
                kevo_analysis_folder_owned(path, &inner);
            else if (kevo_runfolder_owned(path, &inner) == KEVO_OK)
                runs++;
        }
        closedir(sd);
    }
    closedir(d);
    if (bad[0])
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo demo folder (%s in it "
                         "is not one of kevo's files); refusing to replace it (move it out of the "
                         "folder, or choose another -o)", dir, bad);
    if (inner.status) {
        *err = inner;
        return err->status;
    }
    if (!runs)
        return kevo_fail(err, KEVO_ERR_ARG, "%s: exists and is not a kevo demo folder (no run "
                         "folder of kevo's in it); refusing to replace it", dir);
    return KEVO_OK;
}
