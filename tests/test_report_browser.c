// test_report_browser.c — report.html in a real browser: headless Chromium loads the report of
// `kevo analyze` with #kevo-test-hover=ROW,COL;..., whose script dispatches a mousemove at each
// cell's centre on screen (the handler a mouse reaches, src/report/explore_script.c) and copies
// each hover box into the DOM; --dump-dom hands the DOM back and every number shown must be the
// CSVs' double to the bit: the divergence (divergence.csv), the value drawn (heatmap.csv) and
// the top 5 pieces and probabilities of both states (top5.csv).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

KEVO_TEST(report_hover_shows_the_csv_numbers_in_chromium)
{
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        printf("    SKIP: chromium is not installed (tools/deps.sh test installs it)\n");
        return;
    }
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
    FILE *pp = popen(cmd, "r");
    size_t cap = 1 << 20, len = 0;
    char *dom = malloc(cap);
    for (size_t got; pp && dom && (got = fread(dom + len, 1, cap - len - 1, pp)) > 0;) {
        len += got;
        if (cap - len < 2)
            dom = realloc(dom, cap *= 2);
    }
    if (pp)
        pclose(pp);
    if (!CHECK(dom, "out of memory"))
        return;
    dom[len] = '\0';
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
