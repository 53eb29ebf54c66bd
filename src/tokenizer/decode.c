// decode.c — ids back to text, and pieces as strings for people and figures.
//
// Decoding follows sentencepiece's SentencePieceProcessor::Decode (src/sentencepiece_processor.cc
// of 0.1.97, the oracle): runs of byte pieces are reassembled and each byte that does not begin
// a well-formed UTF-8 character becomes U+FFFD; control pieces vanish; <unk> is the model's
// unk_surface (" ⁇ "); "▁" is a space, and the first piece's leading "▁" is dropped while the
// text is still empty (the dummy prefix). Added tokens: special ones vanish like control pieces
// (HF skip_special_tokens), others are their content. Only one leading "▁" is dropped: the
// first piece that may drop it is the first non-byte piece after which nothing was written.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/bytelevel.h"
#include "tokenizer/internal.h"

typedef struct text_buf {
    char *s;
    size_t n, cap;
} text_buf;

static int put(text_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p)
            return 0;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return 1;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// The byte of a "<0xXX>" piece.
static unsigned char piece_byte(const kevo_tokenizer *t, int id)
{
    const char *p = t->arena + t->off[id];
    return (unsigned char)(hex_digit(p[3]) << 4 | hex_digit(p[4]));
}

// Appends pending bytes as UTF-8, one U+FFFD per byte that starts no well-formed character.
static int flush_bytes(text_buf *b, const unsigned char *bytes, size_t n)
{
    size_t used;
    for (size_t i = 0; i < n; i += used) {
        uint32_t cp = kevo_utf8_next(bytes + i, n - i, &used);
        int ok = cp == 0xFFFD && used == 1 ? put(b, "\xEF\xBF\xBD", 3)
                                           : put(b, (const char *)bytes + i, used);
        if (!ok)
            return 0;
    }
    return 1;
}

// A piece with "▁" as spaces, its leading "▁" dropped when `*strip` (which is then left set
// only if a "▁" was dropped).
static int put_piece(text_buf *b, const char *p, size_t n, int *strip)
{
    size_t i = 0;
    *strip = *strip && n >= 3 && memcmp(p, "\xE2\x96\x81", 3) == 0;
    if (*strip)
        i = 3;
    while (i < n) {
        const char *hit = NULL;
        for (size_t j = i; j + 3 <= n; j++)
            if (memcmp(p + j, "\xE2\x96\x81", 3) == 0) {
                hit = p + j;
                break;
            }
        size_t stop = hit ? (size_t)(hit - p) : n;
        if (!put(b, p + i, stop - i) || (hit && !put(b, " ", 1)))
            return 0;
        i = hit ? stop + 3 : n;
    }
    return 1;
}

kevo_status kevo_tokenizer_decode(const kevo_tokenizer *t, const int *ids, int n_ids,
                                  char **text, kevo_error *err)
{
    *text = NULL;
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= t->n_tokens || t->kind[ids[i]] == TOK_HOLE)
            return kevo_fail(err, KEVO_ERR_ARG, "cannot decode id %d (position %d): the "
                             "vocabulary has ids 0..%d%s", ids[i], i, t->n_tokens - 1,
                             ids[i] >= 0 && ids[i] < t->n_tokens ? " and this one is undefined"
                                                                 : "");
    if (t->bl) {
        *text = tok_bytelevel_decode(t, ids, n_ids);
        return *text ? KEVO_OK : kevo_fail(err, KEVO_ERR_NOMEM, "out of memory decoding %d ids",
                                           n_ids);
    }
    text_buf b = {0};
    unsigned char *bytes = malloc((size_t)n_ids + 1);
    size_t n_bytes = 0;
    int ok = bytes && put(&b, "", 0);
    int bos_ws = t->strip_first_space, dropped = 0;   // sentencepiece's is_bos_ws, bos_ws_seen
    for (int i = 0; ok && i < n_ids; i++) {
        int id = ids[i];
        int kind = t->kind[id];
        if (kind == TOK_BYTE) {
            bytes[n_bytes++] = piece_byte(t, id);
            continue;
        }
        ok = flush_bytes(&b, bytes, n_bytes);
        n_bytes = 0;
        if (dropped || b.n > 0)
            bos_ws = 0;
        dropped = 0;
        const char *p = t->arena + t->off[id];
        if (!ok || kind == TOK_CONTROL)
            continue;
        if (kind == TOK_UNKNOWN)
            ok = put(&b, t->unk_surface, strlen(t->unk_surface));
        else if (kind == TOK_ADDED)
            ok = put(&b, p, t->len[id]);
        else {
            dropped = bos_ws;
            ok = put_piece(&b, p, t->len[id], &dropped);
        }
    }
    ok = ok && flush_bytes(&b, bytes, n_bytes);
    free(bytes);
    if (!ok) {
        free(b.s);
        return kevo_fail(err, KEVO_ERR_NOMEM, "out of memory decoding %d ids", n_ids);
    }
    *text = b.s;
    return KEVO_OK;
}

const char *kevo_tokenizer_piece(const kevo_tokenizer *t, int id)
{
    if (id < 0 || id >= t->n_tokens || t->kind[id] == TOK_HOLE)
        return NULL;
    return t->arena + t->off[id];
}

// Appends s to buf without cutting a UTF-8 character; returns 0 once buf is full.
static int put_label(char *buf, size_t size, size_t *pos, const char *s, size_t n)
{
    if (*pos + n + 1 > size) {
        while (n > 0 && *pos + n + 1 > size)
            n--;
        n = kevo_utf8_shorter(s, n + 1);   // back to the start of the character that does not fit
        memcpy(buf + *pos, s, n);
        *pos += n;
        buf[*pos] = '\0';
        return 0;
    }
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
    return 1;
}

// A byte-level piece as the text it stands for ("Ġcat" as "cat", "Ċ" as "\\n"), with the
// SentencePiece rules' spaces: the leading one dropped, a piece of spaces alone as "␣"s; bytes
// that are not whole UTF-8 characters (a piece may end inside one) and controls as "\\xHH".
static int bytelevel_display(const kevo_tokenizer *t, int id, char *buf, size_t size)
{
    unsigned char bytes[256];
    size_t n = t->len[id] <= sizeof bytes ? tok_bytelevel_piece_bytes(t, id, bytes) : 0;
    if (n == 0)
        return 0;
    size_t pos = 0, spaces = 0;
    while (spaces < n && bytes[spaces] == ' ')
        spaces++;
    for (size_t i = spaces == n ? 0 : spaces == 0 ? 0 : 1; i < n;) {
        char tmp[8];
        const char *s = tmp;
        size_t len = 1;
        unsigned cp;
        int used = bytes[i] >= 0x80 ? kevo_utf8_decode(bytes + i, n - i, &cp) : 0;
        if (spaces == n)
            s = "\xE2\x90\xA3", len = 3;
        else if (bytes[i] == '\n' || bytes[i] == '\t' || bytes[i] == '\r')
            len = (size_t)snprintf(tmp, sizeof tmp, "\\%c",
                                   bytes[i] == '\n' ? 'n' : bytes[i] == '\t' ? 't' : 'r');
        else if (bytes[i] < 0x20 || bytes[i] == 0x7F || (bytes[i] >= 0x80 && used <= 0))
            len = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", bytes[i]);
        else if (bytes[i] >= 0x80)
            s = (const char *)bytes + i, len = (size_t)used;
        else
            tmp[0] = (char)bytes[i];
        if (!put_label(buf, size, &pos, s, len))
            break;
        i += bytes[i] >= 0x80 && used > 0 ? (size_t)used : 1;
    }
    return 1;
}

const char *kevo_tokenizer_piece_display(const kevo_tokenizer *t, int id, char *buf,
                                         size_t size)
{
    if (!buf || size == 0)
        return buf;
    size_t pos = 0;
    buf[0] = '\0';
    const char *p = kevo_tokenizer_piece(t, id);
    if (!p) {
        put_label(buf, size, &pos, "?", 1);
        return buf;
    }
    size_t n = t->len[id];
    int kind = t->kind[id];
    if (kind == TOK_BYTE) {
        unsigned char c = piece_byte(t, id);
        char tmp[8];
        if (c == '\n' || c == '\t' || c == '\r')
            snprintf(tmp, sizeof tmp, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        else if (c == ' ')
            snprintf(tmp, sizeof tmp, "\xE2\x90\xA3");   // ␣
        else if (c > 0x20 && c < 0x7F)
            snprintf(tmp, sizeof tmp, "%c", c);
        else
            snprintf(tmp, sizeof tmp, "\\x%02X", c);
        put_label(buf, size, &pos, tmp, strlen(tmp));
        return buf;
    }
    if (kind != TOK_NORMAL && kind != TOK_USER && kind != TOK_UNUSED) {
        put_label(buf, size, &pos, p, n);
        return buf;
    }
    if (t->bl && kind == TOK_NORMAL && bytelevel_display(t, id, buf, size))
        return buf;
    int only_spaces = n % 3 == 0;
    for (size_t i = 0; only_spaces && i < n; i += 3)
        only_spaces = memcmp(p + i, "\xE2\x96\x81", 3) == 0;
    for (size_t i = 0; i < n;) {
        if (i + 3 <= n && memcmp(p + i, "\xE2\x96\x81", 3) == 0) {
            int go = only_spaces ? put_label(buf, size, &pos, "\xE2\x90\xA3", 3)
                     : i == 0    ? 1
                                 : put_label(buf, size, &pos, " ", 1);
            if (!go)
                break;
            i += 3;
            continue;
        }
        size_t j = i + 1;
        while (j < n && !(j + 3 <= n && memcmp(p + j, "\xE2\x96\x81", 3) == 0))
            j++;
        if (!put_label(buf, size, &pos, p + i, j - i))
            break;
        i = j;
    }
    return buf;
}
