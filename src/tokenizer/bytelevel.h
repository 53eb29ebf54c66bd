// bytelevel.h — byte-level BPE (GPT-2's scheme as Qwen2 / Qwen2-VL / Qwen3 tokenizer.json use
// it): its loader, its per-segment encoder and its decoder (bytelevel.c).
#ifndef KEVO_TOKENIZER_BYTELEVEL_H
#define KEVO_TOKENIZER_BYTELEVEL_H

#include <cjson/cJSON.h>

#include "tokenizer/internal.h"

// Whether a tokenizer.json is of the byte-level layout (a Sequence pre-tokenizer or a ByteLevel
// decoder): tok_load_hf then hands the whole file to tok_load_bytelevel.
int tok_is_bytelevel(const cJSON *root);
// Fills t (pieces, merges, added tokens, t->bl); refuses what it does not implement.
kevo_status tok_load_bytelevel(kevo_tokenizer *t, const cJSON *root, const char *path,
                               kevo_error *err);
void tok_bytelevel_free(tok_bytelevel *b);   // accepts NULL
// Encodes one segment between added tokens (NFC, Split, bytes, BPE), each id through emit;
// returns 0 when memory runs out or emit fails.
int tok_bytelevel_segment(const kevo_tokenizer *t, const char *s, size_t n,
                          int (*emit)(void *, int), void *ctx);
// The text of valid ids, special tokens dropped, as a heap string; NULL when memory runs out.
// The bytes a piece stands for through the inverse byte table, into out (at least the piece's
// length); 0 when a character of the piece is outside the table.
size_t tok_bytelevel_piece_bytes(const kevo_tokenizer *t, int id, unsigned char *out);
char *tok_bytelevel_decode(const kevo_tokenizer *t, const int *ids, int n_ids);
// Writes s as valid UTF-8 (each maximal ill-formed subpart one U+FFFD, as Rust's
// String::from_utf8_lossy) into out (at least 3 * n bytes); returns its length.
size_t tok_utf8_lossy(const unsigned char *s, size_t n, char *out);

#endif
