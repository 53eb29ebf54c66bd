// utf8.c — decoding, encoding, cleaning and cutting UTF-8 (RFC 3629, Unicode §3.9 table 3-7).
#include "base/utf8.h"

#include <string.h>

int kevo_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80, c &= 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800, c &= 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000, c &= 0x07;
    else
        return 0;   // a continuation byte, C0/C1 (overlong) or F5..FF
    if ((size_t)n > avail)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

uint32_t kevo_utf8_next(const unsigned char *s, size_t avail, size_t *used)
{
    unsigned cp;
    int n = kevo_utf8_decode(s, avail, &cp);
    *used = n ? (size_t)n : 1;
    return n ? cp : 0xFFFD;
}

size_t kevo_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int kevo_utf8_clean(const char *s, char *buf, size_t size)
{
    static const char replacement[] = "\xEF\xBF\xBD";   // U+FFFD
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strlen((const char *)p), o = 0;
    while (left) {
        unsigned cp;
        int n = kevo_utf8_decode(p, left, &cp);
        const char *out = (const char *)p;
        size_t out_n = (size_t)n;
        if (n == 0)
            out = replacement, out_n = 3, n = 1;
        else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            out = " ", out_n = 1;
        if (o + out_n + 1 > size) {
            buf[o] = '\0';
            return 0;
        }
        memcpy(buf + o, out, out_n);
        o += out_n;
        p += n;
        left -= (size_t)n;
    }
    buf[o] = '\0';
    return 1;
}

size_t kevo_utf8_shorter(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    size_t i = len - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}
