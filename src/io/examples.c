// examples.c — the bundled examples of `kevo demo`: every DIR/<set>/questions.jsonl, one
// {"image", "question", "answer"} object per line (kevo.h, kevo/demo.h).
#include "kevo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/fs.h"
#include "io/json.h"

const char *const kevo_demo_sets[KEVO_DEMO_N_SETS] = {"flower", "describe"};

typedef struct example {
    char *image, *question, *expected;
    int set;
} example;

struct kevo_examples {
    example *items;   // (KEVO_DEMO_MAX_EXAMPLES)
    int n;
};

void kevo_examples_free(kevo_examples *ex)
{
    if (!ex)
        return;
    for (int i = 0; ex->items && i < ex->n; i++) {
        free(ex->items[i].image);
        free(ex->items[i].question);
        free(ex->items[i].expected);
    }
    free(ex->items);
    free(ex);
}

// One line's object into the next example.
static kevo_status add_example(kevo_examples *ex, const cJSON *j, const char *dir, int set,
                               const char *path, const char *where, kevo_error *err)
{
    const char *image, *question, *answer;
    if (ex->n == KEVO_DEMO_MAX_EXAMPLES)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: more than %d examples", path,
                         KEVO_DEMO_MAX_EXAMPLES);
    kevo_status st = kevo_json_str(j, "image", 0, NULL, &image, where, err);
    if (st == KEVO_OK)
        st = kevo_json_str(j, "question", 0, NULL, &question, where, err);
    if (st == KEVO_OK)
        st = kevo_json_str(j, "answer", 1, "", &answer, where, err);
    if (st != KEVO_OK)
        return st;
    char full[KEVO_PATH_MAX];
    int len = snprintf(full, sizeof full, "%s/%s/%s", dir, kevo_demo_sets[set], image);
    if (len < 0 || (size_t)len >= sizeof full)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: the path of image \"%.200s\" is too long",
                         where, image);
    example *e = &ex->items[ex->n];
    *e = (example){strdup(full), strdup(question), strdup(answer), set};
    ex->n++;   // counted before the check, so that kevo_examples_free frees what was copied
    if (!e->image || !e->question || !e->expected)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    return KEVO_OK;
}

// The examples of one set, appended.
static kevo_status read_set(kevo_examples *ex, const char *dir, int set, kevo_error *err)
{
    char path[KEVO_PATH_MAX], where[KEVO_PATH_MAX + 32], *text;
    size_t len;
    int n = snprintf(path, sizeof path, "%s/%s/questions.jsonl", dir, kevo_demo_sets[set]);
    if (n < 0 || (size_t)n >= sizeof path)
        return kevo_fail(err, KEVO_ERR_ARG, "%.200s...: the examples' path is too long", dir);
    kevo_status st = kevo_read_file(path, 1 << 20, &text, &len, err);
    if (st != KEVO_OK)
        return st;
    int line = 0;
    for (char *p = text, *next; st == KEVO_OK && *p; p = next) {
        next = strchr(p, '\n');
        next = next ? (*next = '\0', next + 1) : p + strlen(p);
        line++;
        if (!*p)
            continue;
        cJSON *j;
        snprintf(where, sizeof where, "%s line %d", path, line);
        if ((st = kevo_json_parse(p, strlen(p), where, &j, err)) != KEVO_OK)
            break;
        snprintf(where + strlen(where), sizeof where - strlen(where), ":");
        st = add_example(ex, j, dir, set, path, where, err);
        cJSON_Delete(j);
    }
    free(text);
    return st;
}

static int by_image(const void *a, const void *b)
{
    const example *x = a, *y = b;
    int c = x->set - y->set;
    return c ? c : strcmp(x->image, y->image);
}

kevo_status kevo_examples_load(const char *dir, kevo_examples **out, kevo_error *err)
{
    *out = NULL;
    kevo_examples *ex = calloc(1, sizeof *ex);
    if (!ex || !(ex->items = calloc(KEVO_DEMO_MAX_EXAMPLES, sizeof *ex->items))) {
        kevo_examples_free(ex);
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", dir);
    }
    kevo_status st = KEVO_OK;
    for (int s = 0; st == KEVO_OK && s < KEVO_DEMO_N_SETS; s++)
        st = read_set(ex, dir, s, err);
    if (st != KEVO_OK) {
        kevo_examples_free(ex);
        return st;
    }
    qsort(ex->items, (size_t)ex->n, sizeof *ex->items, by_image);
    *out = ex;
    return KEVO_OK;
}

int kevo_examples_count(const kevo_examples *ex)
{
    return ex->n;
}

const char *kevo_examples_image(const kevo_examples *ex, int i)
{
    return ex->items[i].image;
}

const char *kevo_examples_question(const kevo_examples *ex, int i)
{
    return ex->items[i].question;
}

const char *kevo_examples_expected(const kevo_examples *ex, int i)
{
    return ex->items[i].expected;
}

int kevo_examples_set(const kevo_examples *ex, int i)
{
    return ex->items[i].set;
}
