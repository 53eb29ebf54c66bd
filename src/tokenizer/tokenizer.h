// tokenizer.h — the tokenizer's internals shared with the engine and the analyses (loading,
// encoding, decoding and pieces are public: kevo.h, kevo/tokenizer.h, which says which file is
// read and how added tokens and malformed UTF-8 are treated).
#ifndef KEVO_TOKENIZER_TOKENIZER_H
#define KEVO_TOKENIZER_TOKENIZER_H

#include <stddef.h>

#include "kevo.h"

int kevo_tokenizer_bos(const kevo_tokenizer *t);
int kevo_tokenizer_eos(const kevo_tokenizer *t);
// The id of an added token with this exact content (e.g. "<image>"), or -1.
int kevo_tokenizer_added_id(const kevo_tokenizer *t, const char *content);

// The piece for a figure label, written into buf (always NUL-terminated, cut at a character
// boundary) and returned: a leading "▁" dropped and any other "▁" shown as a space, a piece of
// "▁" alone as "␣", byte pieces as the character they are ("\n" as "\\n", "\t" as "\\t", other
// control or non-ASCII bytes as "\\xHH"), special tokens as they are ("<s>"), "?" for an
// undefined id.
const char *kevo_tokenizer_piece_display(const kevo_tokenizer *t, int id, char *buf,
                                         size_t size);

// For templates: encodes text in which `slot` (e.g. "<image>") is matched like a special added
// token and emits `slot_id` instead of a token; the text after it is a later segment. Same
// contract as kevo_tokenizer_encode otherwise.
kevo_status kevo_tokenizer_encode_slot(const kevo_tokenizer *t, const char *text, size_t len,
                                       int add_bos, const char *slot, int slot_id, int **ids,
                                       int *n_ids, kevo_error *err);
// tokenizer_config.json's add_bos_token / add_eos_token (defaults true / false).
int kevo_tokenizer_adds_bos(const kevo_tokenizer *t);
int kevo_tokenizer_adds_eos(const kevo_tokenizer *t);

#endif
