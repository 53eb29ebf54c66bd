// utf8.h — labels made safe for cairo and HTML: valid UTF-8, no control characters, bounded.
//
// cairo refuses invalid UTF-8 by putting the whole drawing into an error state, so every string
// a caller hands to the figures passes through kevo_utf8_clean first.
#ifndef KEVO_BASE_UTF8_H
#define KEVO_BASE_UTF8_H

#include <stddef.h>

// Decodes the code point at s (which holds `avail` bytes, avail >= 1). Returns the length of a
// well-formed sequence (1..4: no overlong forms, no surrogates, nothing above U+10FFFF) and
// stores the code point, or returns 0 for an ill-formed byte.
int kevo_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp);

// Copies `s` (NULL reads as "") into buf (size >= 8) as valid UTF-8: each ill-formed byte becomes
// U+FFFD, control characters (C0, DEL, C1) become spaces. The copy stops at a code point boundary
// when buf is full. Returns 1 when all of s fit, 0 when it was cut.
int kevo_utf8_clean(const char *s, char *buf, size_t size);

// The byte length of the longest prefix of the valid UTF-8 string s that is shorter than `len`
// bytes and ends on a code point boundary (for cutting a label one character at a time).
size_t kevo_utf8_shorter(const char *s, size_t len);

#endif
