// test_report_browser.c — report.html in a real browser: headless Chromium loads the report of
// `kevo analyze` with #kevo-test-hover=ROW,COL;..., whose script dispatches a mousemove at each
// cell's centre on screen (the handler a mouse reaches, src/report/explore_script.c) and copies
// each hover box into the DOM; --dump-dom hands the DOM back and every number shown must be the
// CSVs' double to the bit: the divergence (divergence.csv), the value drawn (heatmap.csv) and
// the top 5 pieces and probabilities of both states (top5.csv).
#include <cairo.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "io/runfolder.h"
#include "model/model.h"
#include "report/figures.h"
#include "test.h"

// The fields of one CSV line (RFC 4180 quotes), in place; returns the count.
static int csv_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            f[n++] = w;
            for (; *p && !(*p == '"' && p[1] != '"'); p++)
                *w++ = *p == '"' ? *++p : *p;
            int closed = *p == '"';   // w may reach the closing quote: test it first
            *w = '\0';
            p += closed;
        } else {
            f[n++] = p;
            p += strcspn(p, ",\n");
        }
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

// Row `row` (0 = first data row), field `col` of a CSV as a double (NAN when absent).
static double csv_number(const char *path, int row, int col)
{
    FILE *f = fopen(path, "r");
    char line[65536], *fields[512];
    double v = 0.0 / 0.0;
    for (int r = -1; f && fgets(line, sizeof line, f); r++)
        if (r == row) {
            int n = csv_fields(line, fields, 512);
            if (col < n)
                v = strtod(fields[col], NULL);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

// The value of attribute name in the tag [tag, end), unescaped, into buf; NULL when absent.
static const char *attr(const char *tag, const char *end, const char *name, char *buf, size_t n)
{
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *s = strstr(tag, key);
    if (!s || s > end)
        return NULL;
    s += strlen(key);
    size_t k = 0;
    static const char *const ents[][2] = {{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
                                          {"&quot;", "\""}, {"&nbsp;", "\xc2\xa0"}};
    while (*s && *s != '"' && k + 3 < n) {
        int hit = 0;
        for (int e = 0; e < 5 && !hit; e++)
            if (!strncmp(s, ents[e][0], strlen(ents[e][0]))) {
                k += (size_t)snprintf(buf + k, n - k, "%s", ents[e][1]);
                s += strlen(ents[e][0]);
                hit = 1;
            }
        if (!hit)
            buf[k++] = *s++;
    }
    buf[k] = '\0';
    return buf;
}

// The <td> of the box [box, end) for (state, rank) carrying attribute `name`.
static const char *cell_attr(const char *box, const char *end, int state, int rank,
                             const char *name, char *buf, size_t n)
{
    char s[32], r[32];
    for (const char *t = strstr(box, "<td"); t && t < end; t = strstr(t + 3, "<td")) {
        const char *te = strchr(t, '>');
        if (attr(t, te, "data-state", s, sizeof s) && attr(t, te, "data-rank", r, sizeof r) &&
            atoi(s) == state && atoi(r) == rank && attr(t, te, name, buf, n))
            return buf;
    }
    return NULL;
}

// top5.csv's row for (step, index, rank): piece and p.
static int top5_row(const char *path, int step, int index, int rank, char *piece, size_t n,
                    double *p)
{
    FILE *f = fopen(path, "r");
    char line[4096], *fl[8];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        if (csv_fields(line, fl, 8) == 6 && atoi(fl[0]) == step && atoi(fl[1]) == index &&
            atoi(fl[2]) == rank && strcmp(fl[0], "step")) {
            snprintf(piece, n, "%s", fl[4]);
            *p = strtod(fl[5], NULL);
            found = 1;
        }
    if (f)
        fclose(f);
    return found;
}

// The DOM chromium dumps for the command line cmd (heap string, NULL on failure).
static char *dump_dom(const char *cmd, size_t *len_out)
{
    FILE *pp = popen(cmd, "r");
    size_t cap = 1 << 20, len = 0;
    char *dom = malloc(cap);
    for (size_t got; pp && dom && (got = fread(dom + len, 1, cap - len - 1, pp)) > 0;) {
        len += got;
        if (cap - len < 2) {
            char *d = realloc(dom, cap *= 2);
            if (!d)
                free(dom);
            dom = d;
        }
    }
    if (pp)
        pclose(pp);
    if (dom)
        dom[len] = '\0';
    *len_out = len;
    return dom;
}

static int have_chromium(void)
{
    if (system("command -v chromium >/dev/null 2>&1") == 0)
        return 1;
    printf("    SKIP: chromium is not installed (tools/deps.sh test installs it)\n");
    return 0;
}

KEVO_TEST(report_hover_shows_the_csv_numbers_in_chromium)
{
    if (!have_chromium())
        return;
    const char *run = kevo_test_copy_run("tiny-f32", "describe", "browser");
    char *errs = NULL;
    int rc = kevo_test_cli(NULL, &errs, "analyze '%s' --steps 1 --dpi 50 --no-tsne", run);
    CHECK(rc == 0, "analyze: exit %d: %s", rc, errs);
    free(errs);
    char dir[PATH_MAX], csv_div[PATH_MAX + 32], csv_heat[PATH_MAX + 32], csv_top[PATH_MAX + 32];
    if (!CHECK(realpath(run, dir), "realpath %s", run))
        return;
    snprintf(csv_div, sizeof csv_div, "%s/analysis/divergence.csv", dir);
    snprintf(csv_heat, sizeof csv_heat, "%s/analysis/heatmap.csv", dir);
    snprintf(csv_top, sizeof csv_top, "%s/analysis/top5.csv", dir);
    int rows = kevo_test_count_lines(csv_heat) - 1;
    FILE *hf = fopen(csv_heat, "r");
    char head[4096] = "", *fl[512];
    if (hf && !fgets(head, sizeof head, hf))
        head[0] = '\0';
    if (hf)
        fclose(hf);
    int cols = csv_fields(head, fl, 512) - 3;
    if (!CHECK(rows > 1 && cols > 1, "heatmap.csv: %d rows, %d columns", rows, cols))
        return;
    // the corners, the middle, and a cell past the last column (must show nothing)
    int cells[5][2] = {{0, 0}, {rows - 1, cols - 1}, {rows / 2, cols / 2}, {0, cols - 1},
                       {rows - 1, 0}};
    char cmd[2 * PATH_MAX], list[256] = "";
    for (int i = 0; i < 5; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d,%d", i ? ";" : "",
                 cells[i][0], cells[i][1]);
    snprintf(cmd, sizeof cmd, "chromium --headless --disable-gpu --no-sandbox "
             "--no-first-run --virtual-time-budget=5000 --window-size=1000,800 --dump-dom "
             "'file://%s/analysis/report.html#kevo-test-hover=%s' 2>/dev/null", dir, list);
    size_t len = 0;
    char *dom = dump_dom(cmd, &len);
    if (!CHECK(dom, "chromium gave no DOM"))
        return;
    const char *res = strstr(dom, "id=\"kevo-test-results\"");
    if (!CHECK(res && strstr(res, "data-done=\"1\""), "no test results in the dumped DOM "
               "(%zu bytes): the page's script did not run", len)) {
        free(dom);
        return;
    }
    int checked = 0;
    for (int i = 0; i < 5; i++) {
        int r = cells[i][0], c = cells[i][1];
        char key[64], buf[512];
        snprintf(key, sizeof key, "data-asked=\"%d,%d\"", r, c);
        const char *box = strstr(res, key);
        if (!CHECK(box, "no hover box for cell %d,%d", r, c))
            continue;
        while (box > res && strncmp(box, "<div", 4))
            box--;
        const char *te = strchr(box, '>'), *end = strstr(te, "data-asked=\"");
        end = end ? end : dom + len;
        CHECK(attr(box, te, "data-shown", buf, sizeof buf) && !strcmp(buf, "yes"),
              "cell %d,%d: hovering its centre showed no box", r, c);
        CHECK(attr(box, te, "data-step", buf, sizeof buf) && atoi(buf) == r &&
              attr(box, te, "data-transition", key, sizeof key) && atoi(key) == c,
              "cell %d,%d: the box shows another cell (%s)", r, c, buf);
        const char *ids[2] = {"kevo-hover-div", "kevo-hover-heat"};
        const char *csvs[2] = {csv_div, csv_heat};
        for (int k = 0; k < 2; k++) {
            snprintf(key, sizeof key, "id=\"%s\"", ids[k]);
            const char *s = strstr(box, key);
            while (s && s > box && *s != '<')
                s--;
            double want = csv_number(csvs[k], r, 3 + c);
            double got = s && s < end && attr(s, strchr(s, '>'), "data-v", buf, sizeof buf)
                             ? strtod(buf, NULL) : -1;
            CHECK(got == want, "cell %d,%d: %s shows %.17g, the CSV holds %.17g", r, c, ids[k],
                  got, want);
        }
        for (int q = c; q <= c + 1; q++)
            for (int k = 0; k < 5; k++) {
                char piece[256], shown[256];
                double p = 0;
                if (!top5_row(csv_top, r, q, k, piece, sizeof piece, &p))
                    continue;
                const char *sp = cell_attr(box, end, q, k, "data-piece", shown, sizeof shown);
                CHECK(sp && !strcmp(sp, piece), "cell %d,%d state %d rank %d: piece '%s', "
                      "top5.csv '%s'", r, c, q, k, sp ? sp : "(none)", piece);
                const char *sv = cell_attr(box, end, q, k, "data-v", buf, sizeof buf);
                CHECK(sv && strtod(sv, NULL) == p, "cell %d,%d state %d rank %d: p %s, "
                      "top5.csv %.17g", r, c, q, k, sv ? sv : "(none)", p);
                checked++;
            }
    }
    CHECK(checked == 5 * 2 * 5, "%d of 50 top-5 entries compared", checked);
    free(dom);
}

// ---------------------------------------------------------------------------------------------
// The image section, from a patch analysis made by hand (2 x 2 patches, 3 indices, 2 words, an
// 8 x 6 PNG): the JSON blob holds every number as given, and in Chromium the slider and a hover
// at each patch's centre show that patch's top token and probabilities at every index.

// The <tr data-k="k"> of box [box, end): the tds' data-piece and data-v values in order.
static int row_values(const char *box, const char *end, int k, char *piece, size_t n,
                      double *v, int max, int *now)
{
    char key[32], buf[64];
    snprintf(key, sizeof key, " data-k=\"%d\"", k);
    const char *tr = strstr(box, key);
    if (!tr || tr > end)
        return -1;
    while (strncmp(tr, "<tr", 3))
        tr--;
    const char *tr_end = strstr(tr, "</tr>"), *te = strchr(tr, '>');
    *now = attr(tr, te, "class", buf, sizeof buf) && !strcmp(buf, "now");
    int c = 0;
    piece[0] = '\0';
    for (const char *t = strstr(tr, "<td"); t && t < tr_end && c < max; t = strstr(t + 3, "<td")) {
        const char *tde = strchr(t, '>');
        attr(t, tde, "data-piece", piece, n);
        if (attr(t, tde, "data-v", buf, sizeof buf))
            v[c++] = strtod(buf, NULL);
    }
    return c;
}

KEVO_TEST(report_patch_section_shows_a_hand_made_patch_analysis)
{
    kevo_error err;
    kevo_model *m = NULL;
    kevo_runfolder *rf = NULL;
    kevo_analysis *a = NULL;
    if (!CHECK_OK(kevo_model_load(kevo_test_data("fixtures/tiny-f32"), &m, &err), &err) ||
        !CHECK_OK(kevo_runfolder_load(kevo_test_data("oracle/engine/tiny-f32/describe.run"), &rf,
                                      &err), &err))
        goto done;
    kevo_analysis_options o = kevo_analysis_default_options();
    if (!CHECK_OK(kevo_analysis_compute(rf, m, &o, &a, &err), &err))
        goto done;
    char img[PATH_MAX], dir[PATH_MAX];
    snprintf(img, sizeof img, "%s", kevo_test_tmp("image.png"));
    cairo_surface_t *cs = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 8, 6);
    cairo_t *cr = cairo_create(cs);
    cairo_set_source_rgb(cr, 0.2, 0.6, 0.3);
    cairo_paint(cr);
    cairo_destroy(cr);
    CHECK(cairo_surface_write_to_png(cs, img) == CAIRO_STATUS_SUCCESS, "writing %s", img);
    cairo_surface_destroy(cs);

    enum { NP = 4, NK = 3, NW = 2 };
    int V = m->config.text_vocab, L = rf->n_states - 1, indices[NK] = {0, 2, L};
    int top_id[NP * NK];
    double top_p[NP * NK], entropy[NP * NK], word_p[NP * NK * NW];
    for (int j = 0; j < NP * NK; j++) {
        top_id[j] = (j * 37 + 3) % V;
        top_p[j] = 1.0 / (j + 3);
        entropy[j] = 0.1 * j + 1 / 3.0;
        for (int w = 0; w < NW; w++)
            word_p[j * NW + w] = (j + 1) / (10.0 * (w + 2)) + 1e-3 / 7;
    }
    double original[NP * 4] = {0, 0, 4, 3, 4, 0, 8, 3, 0, 3, 4, 6, 4, 3, 8, 6};
    char w0[] = "cat", w1[] = "</script><!--x";
    char *words[NW] = {w0, w1};
    int word_ids[NW] = {5, 6};
    kevo_patch_lens_result lr = {NP, NK, V, NW, top_id, top_p, entropy, word_p, 1, 0, 0};
    int cells[NP] = {0, 1, 2, 3};
    kevo_patch_analysis pa = {.lens = &lr, .n_patches = NP, .n_indices = NK,
                              .indices = indices, .rows = 2, .cols = 2, .class_token = 0,
                              .cell_position = cells,
                              .original = original, .image_path = img, .image_width = 8,
                              .image_height = 6, .n_words = NW, .words = words,
                              .word_ids = word_ids, .figure_index = 1};
    snprintf(dir, sizeof dir, "%s", kevo_test_tmp("analysis"));
    a->patches = &pa;
    kevo_figure_opts fo = {KEVO_FIGURE_PNG, 30};
    kevo_status st = kevo_analysis_figures(a, NULL, dir, &fo, &err);
    a->patches = NULL;   // the analysis does not own this one
    if (!CHECK_OK(st, &err))
        goto done;

    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = kevo_test_slurp(path, NULL);
    const char *open = "<script type=\"application/json\" id=\"kevo-patch-data\">";
    char *blob = html ? strstr(html, open) : NULL, *close = blob ? strstr(blob, "</script>") : 0;
    CHECK(kevo_test_contains(html, "data:image/png;base64,"), "the image is not embedded");
    if (!CHECK(blob && close, "no patch data in the report"))
        goto free_html;
    blob += strlen(open);
    *close = '\0';
    CHECK(!strstr(blob, "</") && !strstr(blob, "<!"), "the blob can close its element");
    cJSON *j = cJSON_Parse(blob);
    cJSON *jp = cJSON_GetObjectItem(j, "patches"), *jw = cJSON_GetObjectItem(j, "words");
    if (!CHECK(j && cJSON_GetArraySize(jp) == NP && cJSON_GetArraySize(jw) == NW,
               "the patch data does not parse as 4 patches and 2 words"))
        goto free_json;
    CHECK(cJSON_GetObjectItem(j, "rows")->valueint == 2 &&
          cJSON_GetObjectItem(j, "cols")->valueint == 2 &&
          cJSON_GetArrayItem(cJSON_GetObjectItem(j, "indices"), 2)->valueint == L &&
          !strcmp(cJSON_GetArrayItem(jw, 1)->valuestring, w1), "grid, indices or words differ");
    char pb[64];
    int n_bad = 0;
    for (int i = 0; i < NP; i++) {
        cJSON *p = cJSON_GetArrayItem(jp, i);
        for (int c = 0; c < 4; c++)
            n_bad += cJSON_GetArrayItem(cJSON_GetObjectItem(p, "rect"), c)->valuedouble !=
                     original[i * 4 + c];
        for (int k = 0; k < NK; k++) {
            cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "top"), k);
            cJSON *wp = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "word_p"), k);
            int jx = i * NK + k;
            n_bad += strcmp(cJSON_GetArrayItem(t, 0)->valuestring,
                            kevo_analysis_piece(a, top_id[jx], pb, sizeof pb)) != 0;
            n_bad += cJSON_GetArrayItem(t, 1)->valuedouble != top_p[jx];
            n_bad += cJSON_GetArrayItem(t, 2)->valuedouble != entropy[jx];
            for (int w = 0; w < NW; w++)
                n_bad += cJSON_GetArrayItem(wp, w)->valuedouble != word_p[jx * NW + w];
        }
    }
    CHECK(n_bad == 0, "%d numbers or pieces of the patch data differ from the analysis", n_bad);

    if (!have_chromium())
        goto free_json;
    char real[PATH_MAX], cmd[2 * PATH_MAX];
    if (!CHECK(realpath(dir, real), "realpath %s", dir))
        goto free_json;
    snprintf(cmd, sizeof cmd, "chromium --headless --disable-gpu --no-sandbox --no-first-run "
             "--virtual-time-budget=5000 --window-size=1000,800 --dump-dom "
             "'file://%s/report.html#kevo-test-patch=2:0;1;2;3' 2>/dev/null", real);
    size_t len = 0;
    char *dom = dump_dom(cmd, &len);
    const char *res = dom ? strstr(dom, "id=\"kevo-test-patch-results\"") : NULL;
    if (!CHECK(res && strstr(res, "data-done=\"1\""), "no patch test results in the DOM"))
        goto free_dom;
    char layer[32];
    snprintf(layer, sizeof layer, "data-layer=\"%d ", L);
    CHECK(strstr(res, layer), "the slider at its last position does not show index %d", L);
    for (int i = 0; i < NP; i++) {
        char key[64], buf[64];
        snprintf(key, sizeof key, "data-asked=\"%d\"", i);
        const char *box = strstr(res, key);
        if (!CHECK(box, "no hover box for patch %d", i))
            continue;
        while (box > res && strncmp(box, "<div", 4))
            box--;
        const char *te = strchr(box, '>'), *end = strstr(te, "data-asked=\"");
        end = end ? end : dom + len;
        CHECK(attr(box, te, "data-shown", buf, sizeof buf) && !strcmp(buf, "yes") &&
              attr(box, te, "data-patch", key, sizeof key) && atoi(key) == i,
              "patch %d: hovering its centre showed %s", i, key);
        for (int k = 0; k < NK; k++) {
            char piece[256];
            double v[8];
            int now = 0, jx = i * NK + k;
            int n = row_values(box, end, k, piece, sizeof piece, v, 8, &now);
            int ok = n == 2 + NW && v[0] == top_p[jx] && v[1] == entropy[jx] &&
                     !strcmp(piece, kevo_analysis_piece(a, top_id[jx], pb, sizeof pb));
            for (int w = 0; ok && w < NW; w++)
                ok = v[2 + w] == word_p[jx * NW + w];
            CHECK(ok && now == (k == 2), "patch %d index %d: the hover row (%d values, piece "
                  "'%s', current %d) is not the analysis's", i, k, n, piece, now);
        }
    }
free_dom:
    free(dom);
free_json:
    cJSON_Delete(j);
free_html:
    free(html);
done:
    kevo_analysis_free(a);
    kevo_runfolder_free(rf);
    kevo_model_free(m);
}
