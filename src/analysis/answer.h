// answer.h — which generated step carries the answer word, for the multi-image t-SNE map.
//
// The authors hard-code `location = 6`: the step that emits the colour word of "The color of the
// flower is yellow." kevo finds it: the answer word is the first word of the generated text that
// is neither a word of the question nor a function word (articles, pronouns, auxiliaries,
// prepositions, conjunctions, hedges such as "appears" or "mostly"); its step is the step of the
// word's first piece. "The color of the flower is yellow." to "What is the color of the flower?"
// gives "yellow" (step 6, as the authors'); "It is pink." gives "pink" ("▁p" of "▁p" "ink").
// Words are the pieces joined from one "▁" to the next, compared in lower case with everything
// but letters, digits and non-ASCII characters removed. docs/analyses.md states the rule.
#ifndef KEVO_ANALYSIS_ANSWER_H
#define KEVO_ANALYSIS_ANSWER_H

// pieces: the n raw SentencePiece pieces of the answer. Returns the answer word's step, or -1
// when every word is a question or function word. word (may be NULL) receives the word as
// compared, truncated to word_size bytes.
int kevo_answer_step(const char *question, const char *const *pieces, int n, char *word,
                     int word_size);

// The pieces of words, as the rule above reads them (also `kevo stats`' kinds of token,
// docs/stats.md).
#define KEVO_WORD_MAX 64   // a compared word's capacity, NUL included: longer words are cut

// The length in bytes of the word-start mark s begins with: SentencePiece's U+2581, or
// byte-level BPE's U+0120 (a space) and U+010A (a newline); 0 when none.
int kevo_word_mark(const char *s);

// Appends the compared form of s to w (length *n, capacity KEVO_WORD_MAX): ASCII letters in
// lower case, digits and non-ASCII bytes kept, the word-start marks and everything else dropped.
void kevo_word_append(char *w, int *n, const char *s);

// Whether a compared word is a function word (articles, pronouns, auxiliaries, prepositions,
// conjunctions, hedges, and framing words such as "image" and "shows").
int kevo_word_is_function(const char *w);

// Control and byte pieces ("</s>", "<unk>", "<0x0A>") and byte-level newlines ("Ċ", "ĊĊ"):
// not part of any word.
int kevo_piece_is_special(const char *piece);

#endif
