// candidates.c — the candidate tokens of a step (see candidates.h; the authors'
// plot_token_probabilities_area.py, deduplication by token string, which for SentencePiece's
// unique pieces is deduplication by id).
#include "analysis/candidates.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

kevo_window kevo_window_default(int n_layers)
{
    int states = n_layers + 1;
    int n = (13 * states + 16) / 33;   // round(13/33 of the states): 13 of 33 for L = 32
    if (n < 1)
        n = 1;
    return (kevo_window){states - n, n_layers};
}

// A whole non-negative decimal number ending at *end; -1 when there is none.
static long parse_index(const char *s, const char **end)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *e;
    long v = strtol(s, &e, 10);
    *end = e;
    return errno ? -1 : v;
}

kevo_status kevo_window_parse(const char *text, int n_layers, kevo_window *out, kevo_error *err)
{
    const char *colon = strchr(text, ':'), *end = text;
    long lo = 0, hi = n_layers;
    int ok = colon != NULL;
    if (ok && colon != text)
        ok = (lo = parse_index(text, &end)) >= 0 && end == colon;
    if (ok && colon[1])
        ok = (hi = parse_index(colon + 1, &end)) >= 0 && *end == '\0';
    if (!ok)
        return kevo_fail(err, KEVO_ERR_ARG, "--window expects A:B, A: or :B with hidden-state "
                         "indices, not '%s'", text);
    if (lo > hi || hi > n_layers)
        return kevo_fail(err, KEVO_ERR_ARG, "--window %s: needs 0 <= A <= B <= %d (this model "
                         "has %d layers, so hidden states 0..%d)", text, n_layers, n_layers,
                         n_layers);
    *out = (kevo_window){(int)lo, (int)hi};
    return KEVO_OK;
}

int kevo_candidates_pick(const int *top_id, kevo_window w, int *out)
{
    int n = 0;
    for (int l = w.lo; l <= w.hi; l++) {
        int seen = 0;
        for (int j = 0; j < n && !seen; j++)
            seen = out[j] == top_id[l];
        if (!seen)
            out[n++] = top_id[l];
    }
    return n;
}
