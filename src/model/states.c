// states.c — which hidden-state indices the image recorder keeps: the SPEC of
// `kevo run --image-states` (kevo.h, kevo_image_states_parse).
#include "kevo.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

// One index of a list: digits, or "L" for the last index. *end is past it.
static int read_index(const char *s, int n_layers, const char **end)
{
    if (*s == 'L') {
        *end = s + 1;
        return n_layers;
    }
    if (!isdigit((unsigned char)*s)) {
        *end = s;
        return -1;
    }
    errno = 0;
    char *e;
    long v = strtol(s, &e, 10);
    *end = e;
    return errno || v > n_layers ? -2 : (int)v;
}

static kevo_status bad(const char *spec, int n_layers, const char *why, kevo_error *err)
{
    return kevo_fail(err, KEVO_ERR_ARG, "--image-states '%s': %s (the hidden-state indices are "
                     "0..%d; use a list such as '0,8,16:L', 'every=4' or 'all')", spec, why,
                     n_layers);
}

// Marks the indices of a comma-separated list of indices and ranges in keep[0..n_layers].
static kevo_status mark_list(const char *spec, int n_layers, unsigned char *keep,
                             kevo_error *err)
{
    const char *s = spec;
    for (;;) {
        const char *e;
        int a = read_index(s, n_layers, &e), b = a;
        if (a == -1)
            return bad(spec, n_layers, "expected an index or 'L'", err);
        if (a == -2)
            return bad(spec, n_layers, "an index is past the last one", err);
        if (*e == ':') {
            b = read_index(e + 1, n_layers, &e);
            if (b == -1)
                return bad(spec, n_layers, "a range needs an end", err);
            if (b == -2)
                return bad(spec, n_layers, "an index is past the last one", err);
            if (b < a)
                return bad(spec, n_layers, "a range ends before it starts", err);
        }
        for (int i = a; i <= b; i++)
            keep[i] = 1;
        if (*e == '\0')
            return KEVO_OK;
        if (*e != ',')
            return bad(spec, n_layers, "expected ',' between items", err);
        s = e + 1;
    }
}

kevo_status kevo_image_states_parse(const char *spec, int n_layers, int **out, int *n,
                                    kevo_error *err)
{
    *out = NULL;
    *n = 0;
    if (n_layers < 1 || n_layers > 4096)
        return kevo_fail(err, KEVO_ERR_ARG, "a model of %d layers has no image states to keep",
                         n_layers);
    unsigned char *keep = calloc((size_t)n_layers + 1, 1);
    if (!keep)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    kevo_status st = KEVO_OK;
    if (!spec || !*spec || strcmp(spec, "all") == 0) {
        memset(keep, 1, (size_t)n_layers + 1);
    } else if (strncmp(spec, "every=", 6) == 0) {
        const char *digits = spec + 6;
        char *e;
        errno = 0;
        long step = isdigit((unsigned char)*digits) ? strtol(digits, &e, 10) : 0;
        if (errno || step < 1 || step > n_layers || *e)
            st = bad(spec, n_layers, "every=N needs a step N from 1 to the last index", err);
        else {
            for (int i = 0; i <= n_layers; i += (int)step)
                keep[i] = 1;
            keep[n_layers] = 1;   // the final-normed state, whatever the step
        }
    } else {
        st = mark_list(spec, n_layers, keep, err);
    }
    int count = 0;
    for (int i = 0; st == KEVO_OK && i <= n_layers; i++)
        count += keep[i];
    if (st == KEVO_OK && !(*out = malloc((size_t)count * sizeof **out)))
        st = kevo_fail(err, KEVO_ERR_NOMEM, "out of memory");
    for (int i = 0; st == KEVO_OK && i <= n_layers; i++)
        if (keep[i])
            (*out)[(*n)++] = i;
    free(keep);
    return st;
}
