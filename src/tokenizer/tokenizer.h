// tokenizer.h — the LLaMA / Vicuna SentencePiece BPE tokenizer of LLaVA-1.5.
//
//     kevo_tokenizer *tok;
//     if (kevo_tokenizer_load("models/llava", &tok, &err) != KEVO_OK) ...
//     int *ids, n;
//     kevo_tokenizer_encode(tok, text, strlen(text), 0, &ids, &n, &err);   // sp.encode(text)
//     ...
//     free(ids);
//     kevo_tokenizer_free(tok);
//
// Which file is used: a folder holding tokenizer.json is read through it, as the llava-hf
// processor does (AutoTokenizer picks the fast tokenizer, whose tokenizer.json is
// authoritative); a folder with only tokenizer.model is read through it with the semantics of
// transformers' slow LlamaTokenizer (sentencepiece per segment, `legacy` from
// tokenizer_config.json, true when absent), which is what the original LLaVA uses. For text
// without added tokens both give exactly `sentencepiece.encode(text)`.
//
// Added tokens (<unk>, <s>, </s>, and <image>, <pad> in llava-hf folders) are matched in the raw
// text before anything else, leftmost-longest, and map directly to their ids.
//
// Malformed UTF-8: each byte that does not start a well-formed character becomes U+FFFD (one
// per byte), exactly as sentencepiece's normaliser treats the same bytes; decode(encode(x)) then
// gives U+FFFD there, as sentencepiece does.
//
// A tokenizer is immutable after loading and may be used from several threads at once.
#ifndef KEVO_TOKENIZER_TOKENIZER_H
#define KEVO_TOKENIZER_TOKENIZER_H

#include <stddef.h>

#include "kevo.h"

typedef struct kevo_tokenizer kevo_tokenizer;

// Loads from a folder holding tokenizer.model and/or tokenizer.json (+ tokenizer_config.json,
// added_tokens.json, special_tokens_map.json when present). On failure *out is NULL and err
// names the file, the key or byte offset, and what is wrong.
kevo_status kevo_tokenizer_load(const char *dir, kevo_tokenizer **out, kevo_error *err);
void kevo_tokenizer_free(kevo_tokenizer *t);   // accepts NULL

int kevo_tokenizer_n_tokens(const kevo_tokenizer *t);   // highest id + 1, added tokens included
int kevo_tokenizer_bos(const kevo_tokenizer *t);
int kevo_tokenizer_eos(const kevo_tokenizer *t);
// The id of an added token with this exact content (e.g. "<image>"), or -1.
int kevo_tokenizer_added_id(const kevo_tokenizer *t, const char *content);
// The file the vocabulary was read from (borrowed).
const char *kevo_tokenizer_path(const kevo_tokenizer *t);

// Encodes len bytes of text. *ids is a heap array the caller frees with free() (NULL when
// *n_ids is 0); BOS is prepended only when add_bos.
kevo_status kevo_tokenizer_encode(const kevo_tokenizer *t, const char *text, size_t len,
                                  int add_bos, int **ids, int *n_ids, kevo_error *err);
// Decodes ids into NUL-terminated text (caller frees) as sentencepiece's decode does: byte
// pieces reassembled into UTF-8 (U+FFFD for each byte of an invalid run), "▁" as space, the
// leading space of the first piece removed, control and special added tokens dropped, <unk> as
// " ⁇ ". An id out of range or undefined is an error (KEVO_ERR_ARG).
kevo_status kevo_tokenizer_decode(const kevo_tokenizer *t, const int *ids, int n_ids,
                                  char **text, kevo_error *err);

// The raw piece ("▁small", "<0x0A>", "<image>"): borrowed, NULL if id is out of range or
// undefined.
const char *kevo_tokenizer_piece(const kevo_tokenizer *t, int id);
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
