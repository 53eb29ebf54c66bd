// bytelevel.c — byte-level BPE tokenizers from tokenizer.json (the layout of Qwen2, Qwen2-VL and
// Qwen3; GPT-2's byte-level scheme with a Split regex in front).
//
// Accepted, with the semantics of HF tokenizers (read in huggingface/tokenizers, tokenizers/src):
// - model BPE (models/bpe/model.rs): vocab, merges in rank order, `ignore_merges` (a word that
//   is itself a piece is that one token, before any merge), no unk_token (none is needed: every
//   byte has a piece, checked at load), no dropout, no subword prefix or suffix, no byte fallback;
// - added_tokens (added_vocabulary.rs) matched in the raw text before anything else, special or
//   not, as tok_add_token allows (normalized false, no lstrip / rstrip / single_word);
// - normalizer NFC or null (normalizers/unicode.rs: NFC of each segment between added tokens);
// - pre_tokenizer a Sequence of Split (pre_tokenizers/split.rs: a Regex pattern, behavior
//   Isolated, invert false: every match and every gap between matches is a word) and ByteLevel
//   (pre_tokenizers/byte_level.rs with add_prefix_space false and use_regex false: each word's
//   UTF-8 bytes become the characters of GPT-2's bytes_to_unicode table; trim_offsets only
//   moves offsets, which kevo does not report);
// - post_processor null or ByteLevel (adds no token); decoder ByteLevel (decoders/byte_level.rs:
//   each piece's characters back to bytes, the bytes read as String::from_utf8_lossy does).
// Anything else is refused with the key that holds it. The regex is PCRE2's in UTF + UCP mode
// (\p{L}, \p{N}, \s as Unicode properties, as oniguruma reads them in HF tokenizers).
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/error.h"
#include "tokenizer/bytelevel.h"

// The bytes_to_unicode table covers code points below 256 + 68.
#define BL_MAX_CP 324

struct tok_bytelevel {
    pcre2_code *re;
    int nfc;
    int ignore_merges;
    int32_t byte_sym[256];        // id of the one-character piece of byte b
    int16_t cp_byte[BL_MAX_CP];   // inverse table: code point -> byte, -1 elsewhere
    uint16_t byte_cp[256];
};

static const cJSON *get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static const char *type_of(const cJSON *obj)
{
    const cJSON *type = get(obj, "type");
    return cJSON_IsString(type) ? type->valuestring : "?";
}

int tok_is_bytelevel(const cJSON *root)
{
    return strcmp(type_of(get(root, "pre_tokenizer")), "Sequence") == 0 ||
           strcmp(type_of(get(root, "decoder")), "ByteLevel") == 0;
}

// GPT-2's bytes_to_unicode (openai/gpt-2 src/encoder.py, byte_level.rs bytes_char): printable
// Latin-1 bytes stand for themselves, the other 68 take U+0100.. in byte order.
static void byte_table(tok_bytelevel *b)
{
    int n = 0;
    for (int i = 0; i < BL_MAX_CP; i++)
        b->cp_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        int self = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE;
        b->byte_cp[c] = (uint16_t)(self ? c : 256 + n++);
        b->cp_byte[b->byte_cp[c]] = (int16_t)c;
    }
}

// The ByteLevel parts must have the options kevo implements (byte_level.rs): a prefix space or
// the GPT-2 regex would change the words.
static kevo_status check_bytelevel(const cJSON *p, const char *path, const char *where,
                                   int pre, kevo_error *err)
{
    if (cJSON_IsTrue(get(p, "add_prefix_space")))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.add_prefix_space true is not supported",
                         path, where);
    const cJSON *use_regex = get(p, "use_regex");
    if (pre && (!use_regex || !cJSON_IsFalse(use_regex)))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.use_regex must be false (kevo splits "
                         "with the Split pre-tokenizer only)", path, where);
    return KEVO_OK;
}

static kevo_status read_split(tok_bytelevel *b, const cJSON *p, const char *path,
                              const char *where, kevo_error *err)
{
    const cJSON *regex = get(get(p, "pattern"), "Regex"), *behavior = get(p, "behavior");
    if (!cJSON_IsString(regex))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.pattern must be {\"Regex\": ...}", path,
                         where);
    if (!cJSON_IsString(behavior) || strcmp(behavior->valuestring, "Isolated") != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.behavior must be \"Isolated\"", path,
                         where);
    if (cJSON_IsTrue(get(p, "invert")))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.invert true is not supported", path,
                         where);
    if (b->re)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s: only one Split is supported", path,
                         where);
    int code;
    PCRE2_SIZE at;
    b->re = pcre2_compile((PCRE2_SPTR)regex->valuestring, PCRE2_ZERO_TERMINATED,
                          PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
    if (!b->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s.pattern: %s at offset %zu", path, where,
                         (const char *)msg, (size_t)at);
    }
    pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE);   // the interpreter serves when JIT is absent
    return KEVO_OK;
}

static kevo_status read_pre_tokenizer(tok_bytelevel *b, const cJSON *p, const char *path,
                                      kevo_error *err)
{
    const cJSON *list = get(p, "pretokenizers"), *item;
    if (strcmp(type_of(p), "Sequence") != 0 || !cJSON_IsArray(list))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: pre_tokenizer must be a Sequence of Split and "
                         "ByteLevel (found \"%s\")", path, type_of(p));
    int i = 0, n_byte = 0;
    cJSON_ArrayForEach(item, list) {
        char where[64];
        snprintf(where, sizeof where, "pre_tokenizer.pretokenizers[%d]", i++);
        const char *type = type_of(item);
        kevo_status st;
        if (strcmp(type, "Split") == 0 && !n_byte)
            st = read_split(b, item, path, where, err);
        else if (strcmp(type, "ByteLevel") == 0 && !n_byte++)
            st = check_bytelevel(item, path, where, 1, err);
        else
            st = kevo_fail(err, KEVO_ERR_FORMAT, "%s: %s: \"%s\" is not supported here (a Split "
                           "then one ByteLevel)", path, where, type);
        if (st)
            return st;
    }
    if (!b->re || !n_byte)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: pre_tokenizer needs a Split and a ByteLevel",
                         path);
    return KEVO_OK;
}

static kevo_status read_model(kevo_tokenizer *t, tok_bytelevel *b, const cJSON *model,
                              const char *path, kevo_error *err)
{
    const cJSON *merges = get(model, "merges"), *m;
    if (!cJSON_IsObject(model) || strcmp(type_of(model), "BPE") != 0 || !cJSON_IsArray(merges))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model must be a BPE model with \"vocab\" and "
                         "\"merges\" (found type \"%s\")", path, type_of(model));
    const cJSON *dropout = get(model, "dropout"), *prefix = get(model, "continuing_subword_prefix"),
                *suffix = get(model, "end_of_word_suffix");
    if ((dropout && !(cJSON_IsNumber(dropout) && dropout->valuedouble == 0)) ||
        (cJSON_IsString(prefix) && *prefix->valuestring) ||
        (cJSON_IsString(suffix) && *suffix->valuestring) || cJSON_IsTrue(get(model, "fuse_unk")) ||
        cJSON_IsTrue(get(model, "byte_fallback")) || get(model, "unk_token"))
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model uses dropout, a subword prefix or "
                         "suffix, fuse_unk, byte_fallback or an unk_token, which kevo's "
                         "byte-level BPE does not support", path);
    b->ignore_merges = cJSON_IsTrue(get(model, "ignore_merges"));
    kevo_status st = tok_hf_read_vocab(t, get(model, "vocab"), path, err);
    if (st || (st = tok_index(t, err)))
        return st;
    for (int c = 0; c < 256; c++) {
        char s[4];
        size_t n = kevo_utf8_encode(b->byte_cp[c], s);
        b->byte_sym[c] = tok_find(t, s, n);
        if (b->byte_sym[c] < 0)
            return kevo_fail(err, KEVO_ERR_FORMAT, "%s: model.vocab has no piece '%.*s' for byte "
                             "0x%02X", path, (int)n, s, c);
    }
    uint32_t rank = 0;
    cJSON_ArrayForEach(m, merges) {
        int left, right, merged;
        if ((st = tok_hf_merge_ids(t, m, rank, path, &left, &right, &merged, err)))
            return st;
        // A pair listed twice keeps its last rank, as the HashMap of model.rs that reads them.
        if ((st = tok_put_merge(t, left, right, merged, rank++, err)))
            return kevo_error_prefix(err, "%s: ", path);
    }
    return KEVO_OK;
}

kevo_status tok_load_bytelevel(kevo_tokenizer *t, const cJSON *root, const char *path,
                               kevo_error *err)
{
    tok_bytelevel *b = calloc(1, sizeof *b);
    if (!b)
        return kevo_fail(err, KEVO_ERR_NOMEM, "%s: out of memory", path);
    t->bl = b;
    byte_table(b);
    const cJSON *norm = get(root, "normalizer"), *post = get(root, "post_processor"),
                *dec = get(root, "decoder");
    if (norm && strcmp(type_of(norm), "NFC") != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: normalizer type \"%s\" is not supported with "
                         "a byte-level model (NFC or null)", path, type_of(norm));
    b->nfc = norm != NULL;
    if (post && strcmp(type_of(post), "ByteLevel") != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: post_processor type \"%s\" is not supported "
                         "with a byte-level model (ByteLevel or null)", path, type_of(post));
    if (!dec || strcmp(type_of(dec), "ByteLevel") != 0)
        return kevo_fail(err, KEVO_ERR_FORMAT, "%s: decoder type \"%s\" is not supported with a "
                         "byte-level model (ByteLevel)", path, dec ? type_of(dec) : "null");
    kevo_status st = check_bytelevel(dec, path, "decoder", 0, err);
    if (!st && post)
        st = check_bytelevel(post, path, "post_processor", 0, err);
    if (!st)
        st = read_pre_tokenizer(b, get(root, "pre_tokenizer"), path, err);
    if (!st)
        st = read_model(t, b, get(root, "model"), path, err);
    if (!st)
        st = tok_hf_read_added(t, get(root, "added_tokens"), path, err);
    // Qwen's post-processor adds no BOS: tokenizer_config.json may still ask for one.
    t->add_bos = 0;
    return st;
}

void tok_bytelevel_free(tok_bytelevel *b)
{
    if (b)
        pcre2_code_free(b->re);
    free(b);
}

size_t tok_utf8_lossy(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        // The maximal subpart of an ill-formed sequence (Unicode 3.9, table 3-7) becomes one
        // U+FFFD: the rule of Rust's String::from_utf8_lossy and of WHATWG's TextDecoder.
        size_t need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
                                   : c >= 0xF0 && c <= 0xF4 ? 3 : (size_t)-1;
        if (need == 0) {
            out[o++] = (char)c;
            i++;
            continue;
        }
        size_t k = 1;
        if (need != (size_t)-1) {
            for (; k <= need && i + k < n; k++) {
                unsigned d = s[i + k];
                unsigned lo = 0x80, hi = 0xBF;
                if (k == 1) {
                    lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
                    hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
                }
                if (d < lo || d > hi)
                    break;
            }
            if (k == need + 1) {
                memcpy(out + o, s + i, k);
                o += k;
                i += k;
                continue;
            }
        }
        memcpy(out + o, "\xEF\xBF\xBD", 3);
        o += 3;
        i += k;
    }
    return o;
}

// One word: its bytes as byte-level symbols, merged by rank (or the word's own piece when
// ignore_merges finds it, model.rs merge_word's first check).
static int encode_word(const kevo_tokenizer *t, const tok_bytelevel *b, const unsigned char *w,
                       size_t n, tok_bpe_work *work, int32_t *syms, char *mapped,
                       int (*emit)(void *, int), void *ctx)
{
    if (b->ignore_merges) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            m += kevo_utf8_encode(b->byte_cp[w[i]], mapped + m);
        int id = tok_find(t, mapped, m);
        if (id >= 0 && id < t->n_vocab)
            return emit(ctx, id);
    }
    for (size_t i = 0; i < n; i++)
        syms[i] = b->byte_sym[w[i]];
    int k = tok_bpe_merge(&t->merges, work, syms, (int)n);
    if (k < 0)
        return 0;
    for (int i = 0; i < k; i++)
        if (!emit(ctx, syms[i]))
            return 0;
    return 1;
}

int tok_bytelevel_segment(const kevo_tokenizer *t, const char *s, size_t n,
                          int (*emit)(void *, int), void *ctx)
{
    const tok_bytelevel *b = t->bl;
    // Text arrives as bytes: ill-formed UTF-8 is read as Python's bytes.decode(errors="replace")
    // would (one U+FFFD per maximal subpart), so the regex and NFC see valid text.
    char *clean = malloc(3 * n + 1);
    if (!clean)
        return 0;
    size_t len = tok_utf8_lossy((const unsigned char *)s, n, clean);
    unsigned char *text = (unsigned char *)clean, *nfc = NULL;
    int ascii = 1;
    for (size_t i = 0; i < len && ascii; i++)
        ascii = text[i] < 0x80;
    if (b->nfc && !ascii) {   // ASCII is its own NFC
        utf8proc_ssize_t m = utf8proc_map(text, (utf8proc_ssize_t)len, &nfc,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (m < 0) {
            free(clean);
            return 0;
        }
        text = nfc;
        len = (size_t)m;
    }
    int32_t *syms = malloc((len + 1) * sizeof *syms);
    char *mapped = malloc(2 * len + 1);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(b->re, NULL);
    tok_bpe_work work = {0};
    int ok = syms && mapped && md;
    // Split, Isolated (split.rs): each match and each gap before it is a word; empty ones go.
    size_t p = 0, gap = 0;
    while (ok && p < len) {
        int rc = pcre2_match(b->re, text, len, p, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            ok = 0;
            break;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t start = ov[0], end = ov[1];
        if (end == start) {   // an empty match: step over one character
            p = start + 1;
            while (p < len && (text[p] & 0xC0) == 0x80)
                p++;
            continue;
        }
        if (start > gap)
            ok = encode_word(t, b, text + gap, start - gap, &work, syms, mapped, emit, ctx);
        ok = ok && encode_word(t, b, text + start, end - start, &work, syms, mapped, emit, ctx);
        p = gap = end;
    }
    if (ok && gap < len)
        ok = encode_word(t, b, text + gap, len - gap, &work, syms, mapped, emit, ctx);
    tok_bpe_work_free(&work);
    pcre2_match_data_free(md);
    free(mapped);
    free(syms);
    free(nfc);
    free(clean);
    return ok;
}

size_t tok_bytelevel_piece_bytes(const kevo_tokenizer *t, int id, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)t->arena + t->off[id];
    size_t len = t->len[id], n = 0, used;
    for (size_t k = 0; k < len; k += used) {
        uint32_t cp = kevo_utf8_next(p + k, len - k, &used);
        if (cp >= BL_MAX_CP || t->bl->cp_byte[cp] < 0)
            return 0;
        out[n++] = (unsigned char)t->bl->cp_byte[cp];
    }
    return n;
}

char *tok_bytelevel_decode(const kevo_tokenizer *t, const int *ids, int n_ids)
{
    const tok_bytelevel *b = t->bl;
    size_t total = 0;
    for (int i = 0; i < n_ids; i++)
        total += t->len[ids[i]];
    unsigned char *bytes = malloc(total + 1);
    char *out = malloc(3 * total + 1);
    if (!bytes || !out) {
        free(bytes);
        free(out);
        return NULL;
    }
    size_t n = 0;
    for (int i = 0; i < n_ids; i++) {
        int id = ids[i], kind = t->kind[id];
        const unsigned char *p = (const unsigned char *)t->arena + t->off[id];
        size_t len = t->len[id], m = n, used;
        if (kind == TOK_CONTROL)   // special added tokens: skip_special_tokens
            continue;
        // Every token kept, added ones too (tokenizer/mod.rs decode hands them all to the
        // decoder), goes back through the inverse table; one with a character outside the table
        // stays as its own bytes (byte_level.rs decode_chain). transformers.js keeps added tokens
        // as written, which differs only for one of characters like "é" (none in Qwen's).
        int mapped = 1;
        for (size_t k = 0; mapped && k < len; k += used) {
            uint32_t cp = kevo_utf8_next(p + k, len - k, &used);
            if (cp < BL_MAX_CP && b->cp_byte[cp] >= 0)
                bytes[m++] = (unsigned char)b->cp_byte[cp];
            else
                mapped = 0;
        }
        if (!mapped) {
            memcpy(bytes + n, p, len);
            m = n + len;
        }
        n = m;
    }
    out[tok_utf8_lossy(bytes, n, out)] = '\0';
    free(bytes);
    return out;
}
