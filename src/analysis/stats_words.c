// stats_words.c — the kinds of generated token and their judgement against an item's references
// (stats.h; docs/stats.md states the rules). Words are formed as the answer word's rule forms
// them (analysis/answer.c): pieces joined from one word-start mark to the next, compared in lower
// case with everything but letters, digits and non-ASCII bytes dropped, and its function-word
// list decides function words. Punctuation pieces (nothing left once compared) and control or
// byte pieces end a word.
#include "analysis/stats.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const char *const kevo_stats_kind_names[STATS_N_KINDS] = {"content", "function", "punctuation",
                                                           "special"};
const char *const kevo_stats_judge_names[STATS_N_JUDGED] = {"correct", "hallucinated",
                                                             "function", "other"};

enum { PIECE_SPECIAL, PIECE_PUNCT, PIECE_WORD };

static int piece_class(const char *piece)
{
    if (kevo_piece_is_special(piece))
        return PIECE_SPECIAL;
    char w[KEVO_WORD_MAX];
    int n = 0;
    kevo_word_append(w, &n, piece);
    return n ? PIECE_WORD : PIECE_PUNCT;
}

// The same word up to a plural "s" or "es" on either side ("cats" matches "cat", "boxes" "box").
static int plural_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na < nb) {
        const char *t = a;
        a = b, b = t;
        size_t k = na;
        na = nb, nb = k;
    }
    if (na == nb)
        return !strcmp(a, b);
    if (strncmp(a, b, nb))
        return 0;
    return !strcmp(a + nb, "s") || !strcmp(a + nb, "es");
}

static int in_references(const stats_run *r, const char *w)
{
    for (int i = 0; i < r->n_refs; i++)
        if (plural_equal(w, r->refs[i]))
            return 1;
    return 0;
}

static int judge_word(const stats_run *r, const char *w)
{
    return kevo_word_is_function(w) ? STATS_J_FUNCTION
                                    : in_references(r, w) ? STATS_CORRECT : STATS_HALLUCINATED;
}

void stats_token_kinds(const stats_run *r, int *kind, int *judge)
{
    int n = r->n_tokens;
    for (int t = 0; t < n;) {
        int c = piece_class(r->tokens[t].piece);
        if (c != PIECE_WORD) {
            kind[t] = c == PIECE_SPECIAL ? STATS_SPECIAL : STATS_PUNCT;
            judge[t++] = STATS_J_OTHER;
            continue;
        }
        // a word: this piece and the unmarked word pieces after it
        int e = t + 1;
        while (e < n && !kevo_word_mark(r->tokens[e].piece) &&
               piece_class(r->tokens[e].piece) == PIECE_WORD)
            e++;
        char w[KEVO_WORD_MAX] = "";
        int len = 0;
        for (int k = t; k < e; k++)
            kevo_word_append(w, &len, r->tokens[k].piece);
        int j = judge_word(r, w);
        for (; t < e; t++) {
            kind[t] = j == STATS_J_FUNCTION ? STATS_FUNCTION : STATS_CONTENT;
            judge[t] = j;
        }
    }
}

int stats_judge_piece(const stats_run *r, const char *piece)
{
    if (piece_class(piece) != PIECE_WORD)
        return STATS_J_OTHER;
    char w[KEVO_WORD_MAX];
    int n = 0;
    kevo_word_append(w, &n, piece);
    return judge_word(r, w);
}

static kevo_status add_word(stats_run *r, const char *w, kevo_error *err)
{
    for (int i = 0; i < r->n_refs; i++)
        if (!strcmp(r->refs[i], w))
            return KEVO_OK;
    char **grown = realloc(r->refs, (size_t)(r->n_refs + 1) * sizeof *grown);
    if (!grown)
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the references");
    r->refs = grown;
    if (!(r->refs[r->n_refs] = strdup(w)))
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory for the references");
    r->n_refs++;
    return KEVO_OK;
}

kevo_status stats_add_reference(stats_run *r, const char *text, kevo_error *err)
{
    const char *s = text;
    while (*s) {
        size_t k = 0;
        for (;; k++) {
            unsigned char c = (unsigned char)s[k];
            int part = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c >= 0x80 || c == '\'';
            if (!part)
                break;
        }
        if (k) {
            char seg[256], w[KEVO_WORD_MAX];
            int n = 0;
            // a longer segment is compared by its first 255 bytes (a word keeps 63 anyway)
            size_t m = k < sizeof seg ? k : sizeof seg - 1;
            memcpy(seg, s, m);
            seg[m] = '\0';
            kevo_word_append(w, &n, seg);
            if (n) {
                kevo_status st = add_word(r, w, err);
                if (st != KEVO_OK)
                    return st;
            }
        }
        s += k;
        if (*s)
            s++;
    }
    return KEVO_OK;
}
