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

#endif
