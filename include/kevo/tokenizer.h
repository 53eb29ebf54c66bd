// kevo/tokenizer.h — part of kevo.h (include kevo.h): the LLaMA / Vicuna SentencePiece BPE
// tokenizer of LLaVA-1.5 and the prompt templates.
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
#ifndef KEVO_TOKENIZER_H
#define KEVO_TOKENIZER_H

#ifndef KEVO_H
#error "include kevo.h, not kevo/tokenizer.h"
#endif

typedef struct kevo_tokenizer kevo_tokenizer;

// Loads from a folder holding tokenizer.model and/or tokenizer.json (+ tokenizer_config.json,
// added_tokens.json, special_tokens_map.json when present). On failure *out is NULL and err
// names the file, the key or byte offset, and what is wrong.
kevo_status kevo_tokenizer_load(const char *dir, kevo_tokenizer **out, kevo_error *err);
void kevo_tokenizer_free(kevo_tokenizer *t);   // accepts NULL

// A model's tokenizer (borrowed, lives as long as the model).
const kevo_tokenizer *kevo_model_tokenizer(const kevo_model *model);

int kevo_tokenizer_n_tokens(const kevo_tokenizer *t);   // highest id + 1, added tokens included
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

// ---------------------------------------------------------------------------------------------
// Prompt templates of the LLaVA checkpoints, and their token ids with the image slot marked
//
// llava_v1  the original LLaVA (haotian-liu/LLaVA llava/conversation.py conv_llava_v1,
//           SeparatorStyle.TWO): system prompt + " USER: <image>\n" + question + " ASSISTANT:",
//           tokenised by llava/mm_utils.py tokenizer_image_token: each chunk around <image>
//           with BOS, the first chunk's BOS kept, the others' dropped, the chunks joined by
//           KEVO_IMAGE_SLOT (LLaVA's IMAGE_TOKEN_INDEX).
// llava-hf  the chat template of llava-hf/llava-1.5-*-hf and llava-v1.6-vicuna-*-hf:
//           "USER: <image>\n" + question + " ASSISTANT:" (no system prompt), tokenised whole
//           with BOS and <image> as an added token (id 32000), which the processor repeats once
//           per image feature; kevo keeps a single KEVO_IMAGE_SLOT in its place and the engine
//           expands it.
// mistral-instruct  llava-hf/llava-v1.6-mistral-7b-hf's chat template: "[INST] <image>\n" +
//           question + " [/INST]", tokenised as llava-hf.
// chatml    LLaVA-NeXT-34B's conversation (conv_chatml_direct, its model card's prompt):
//           "<|im_start|>system\nAnswer the questions.<|im_end|><|im_start|>user\n<image>\n" +
//           question + "<|im_end|><|im_start|>assistant\n", tokenised as llava-hf.
// qwen2-vl  the chat template of Qwen2-VL-*-Instruct and Qwen2.5-VL-*-Instruct for one user
//           turn holding the image, then the question: "<|im_start|>system\nYou are a helpful
//           assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"
//           + question + "<|im_end|>\n<|im_start|>assistant\n", tokenised whole without BOS;
//           kevo keeps one KEVO_IMAGE_SLOT for <|image_pad|>, which the processor repeats once
//           per merged patch.
// auto      the model's own: kevo_model_template.

typedef enum kevo_template {
    KEVO_TEMPLATE_AUTO = -1,
    KEVO_TEMPLATE_LLAVA_V1,
    KEVO_TEMPLATE_LLAVA_HF,
    KEVO_TEMPLATE_MISTRAL,
    KEVO_TEMPLATE_CHATML,
    KEVO_TEMPLATE_QWEN2VL,
} kevo_template;

// "auto" | "llava_v1" | "llava-hf" | "mistral-instruct" | "chatml" | "qwen2-vl"; anything else
// is KEVO_ERR_ARG.
kevo_status kevo_template_parse(const char *name, kevo_template *out, kevo_error *err);
const char *kevo_template_name(kevo_template tpl);
// The template a Jinja chat_template string renders, recognised by its markers
// (<|vision_start|>, [INST], <|im_start|>, USER); 0 when none is recognised.
int kevo_template_from_chat(const char *chat_template, kevo_template *out);
// A model's template: LLaVA-1.5 always llava_v1 (the paper's); other families the one their
// chat_template (chat_template.json or tokenizer_config.json) renders, else their backbone's
// (mistral-instruct for a Mistral decoder, llava-hf otherwise).
kevo_template kevo_model_template(const kevo_model *model);
// The same from a model folder and its config, without loading the weights (kevo batch).
kevo_status kevo_template_for(const char *model_dir, const kevo_config *cfg, kevo_template *out,
                              kevo_error *err);

// The full prompt text (caller frees) and its ids (caller frees) with exactly one
// KEVO_IMAGE_SLOT, BOS included as the reference does; *image_pos = index of the slot. A
// question that itself contains the template's image marker ("<image>", "<|image_pad|>") is
// refused (KEVO_ERR_ARG).
kevo_status kevo_template_prompt(const kevo_tokenizer *t, kevo_template tpl,
                                 const char *question, char **prompt_text, int **ids, int *n_ids,
                                 int *image_pos, kevo_error *err);

#endif
