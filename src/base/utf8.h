// utf8.h — UTF-8 read, written, cleaned and cut: the one decoder of kevo.
//
// Well-formed means RFC 3629 / Unicode §3.9 table 3-7: shortest form, no surrogates, nothing
// above U+10FFFF. The tokenizers read text as sentencepiece does (kevo_utf8_next); the figures
// and report.html clean their labels first (kevo_utf8_clean), because cairo refuses invalid
// UTF-8 by putting the whole drawing into an error state.
#ifndef KEVO_BASE_UTF8_H
#define KEVO_BASE_UTF8_H

#include <stddef.h>
#include <stdint.h>

// Decodes the code point at s (which holds `avail` bytes, avail >= 1). Returns the length of a
// well-formed sequence (1..4: no overlong forms, no surrogates, nothing above U+10FFFF) and
// stores the code point, or returns 0 for an ill-formed byte.
int kevo_utf8_decode(const unsigned char *s, size_t avail, unsigned *cp);

// The character at s (avail >= 1 bytes) as sentencepiece's DecodeUTF8 (src/util.cc) reads it: a
// well-formed sequence as above, else U+FFFD one byte long. *used receives the length.
uint32_t kevo_utf8_next(const unsigned char *s, size_t avail, size_t *used);

// Writes code point cp (at most U+10FFFF, not a surrogate) as 1..4 bytes; returns how many.
size_t kevo_utf8_encode(uint32_t cp, char *out);

// Copies `s` (NULL reads as "") into buf (size >= 8) as valid UTF-8: each ill-formed byte becomes
// U+FFFD, control characters (C0, DEL, C1) become spaces. The copy stops at a code point boundary
// when buf is full. Returns 1 when all of s fit, 0 when it was cut.
int kevo_utf8_clean(const char *s, char *buf, size_t size);

// The byte length of the longest prefix of the valid UTF-8 string s that is shorter than `len`
// bytes and ends on a code point boundary (for cutting a label one character at a time).
size_t kevo_utf8_shorter(const char *s, size_t len);

#endif
