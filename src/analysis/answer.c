// answer.c — the step of the answer word (see answer.h).
#include "analysis/answer.h"

#include <stdlib.h>
#include <string.h>

#define WORD_MAX KEVO_WORD_MAX
#define SPACE_MARK "\xe2\x96\x81"   // U+2581, SentencePiece's word-start mark
// Byte-level BPE (Qwen's tokenizer.json) spells a leading space and a newline as the GPT-2
// byte-to-unicode characters U+0120 'Ġ' and U+010A 'Ċ'.
#define BYTE_SPACE "\xc4\xa0"
#define BYTE_NEWLINE "\xc4\x8a"

int kevo_word_mark(const char *s)
{
    return !strncmp(s, SPACE_MARK, 3) ? 3 : !strncmp(s, BYTE_SPACE, 2) ||
                                                    !strncmp(s, BYTE_NEWLINE, 2) ? 2 : 0;
}

// Words that frame an answer without being it, in their compared form (no apostrophes).
static const char *const function_words[] = {
    "a", "an", "the", "this", "that", "these", "those", "there", "here", "it", "its", "they",
    "them", "their", "he", "she", "his", "her", "we", "our", "you", "your", "i", "me", "my",
    "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "has", "have",
    "had", "can", "could", "will", "would", "may", "might", "should", "must", "of", "in", "on",
    "at", "to", "for", "with", "by", "from", "as", "into", "onto", "about", "over", "under",
    "near", "behind", "above", "below", "between", "and", "or", "but", "so", "nor", "also",
    "too", "very", "quite", "rather", "mostly", "mainly", "primarily", "predominantly",
    "likely", "probably", "possibly", "appears", "appear", "seems", "seem", "looks", "look",
    "shows", "show", "shown", "depicts", "depicted", "features", "image", "picture", "photo",
    "photograph", "not",
};

void kevo_word_append(char *w, int *n, const char *s)
{
    for (; *s; s++) {
        if (kevo_word_mark(s)) {
            s += kevo_word_mark(s) - 1;
            continue;
        }
        unsigned char c = (unsigned char)*s;
        int keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a'), keep = 1;
        if (keep && *n < WORD_MAX - 1)
            w[(*n)++] = (char)c;
    }
    w[*n] = '\0';
}

int kevo_word_is_function(const char *w)
{
    for (size_t i = 0; i < sizeof function_words / sizeof function_words[0]; i++)
        if (!strcmp(w, function_words[i]))
            return 1;
    return 0;
}

// Whether w is one of the question's words (split at anything but letters, digits, non-ASCII).
static int in_question(const char *question, const char *w)
{
    const char *s = question;
    while (*s) {
        char q[WORD_MAX] = "";
        int n = 0;
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            int part = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c >= 0x80 || c == '\'';
            if (!part)
                break;
            char one[2] = {(char)c, 0};
            kevo_word_append(q, &n, one);
        }
        if (n && !strcmp(q, w))
            return 1;
        if (*s)
            s++;
    }
    return 0;
}

int kevo_piece_is_special(const char *piece)
{
    size_t n = strlen(piece);
    int newlines = n > 0 && n % 2 == 0;
    for (size_t i = 0; newlines && i < n; i += 2)
        newlines = !strncmp(piece + i, BYTE_NEWLINE, 2);
    return newlines || (n >= 3 && piece[0] == '<' && piece[n - 1] == '>');
}

// Whether a word (compared form w, n bytes) can be the answer.
static int answer_word(const char *question, const char *w, int n)
{
    return n > 0 && !kevo_word_is_function(w) && !in_question(question, w);
}

int kevo_answer_step(const char *question, const char *const *pieces, int n, char *word,
                     int word_size)
{
    char w[WORD_MAX] = "";
    int len = 0, start = -1;
    for (int t = 0; t <= n; t++) {
        int boundary = t == n || kevo_piece_is_special(pieces[t]) || kevo_word_mark(pieces[t]);
        if (boundary && start >= 0) {
            if (answer_word(question, w, len)) {
                if (word && word_size > 0) {
                    strncpy(word, w, (size_t)word_size - 1);
                    word[word_size - 1] = '\0';
                }
                return start;
            }
            start = -1;
            len = 0;
            w[0] = '\0';
        }
        if (t == n || kevo_piece_is_special(pieces[t]))
            continue;
        if (start < 0)
            start = t;
        kevo_word_append(w, &len, pieces[t]);
    }
    return -1;
}
