// error.h — the library's own error helpers (kevo_fail and kevo_error_prefix, the one way the
// library reports failure, are public: kevo.h).
//
//     if (n > size) return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header length %llu ...", path, n);
//
// Callers that add context (the file being loaded, the tensor being bound) prepend it with
// kevo_error_prefix() and pass the status on unchanged.
#ifndef KEVO_BASE_ERROR_H
#define KEVO_BASE_ERROR_H

#include <stddef.h>

#include "kevo.h"

// Formats the head of messages to come ("path: added_tokens[3]") into buf, cut to size - 1
// bytes: sized KEVO_ERROR_MAX it holds all that a message can show, so the cut loses nothing.
void kevo_error_head(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Clears err to KEVO_OK with an empty message.
void kevo_error_clear(kevo_error *err);

#endif
