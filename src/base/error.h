// error.h — filling a kevo_error: the one way the library reports failure.
//
//     if (n > size) return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header length %llu ...", path, n);
//
// Callers that add context (the file being loaded, the tensor being bound) prepend it with
// kevo_error_prefix() and pass the status on unchanged.
#ifndef KEVO_BASE_ERROR_H
#define KEVO_BASE_ERROR_H

#include <stddef.h>

#include "kevo.h"

// Sets err (when not NULL) to `status` and the printf-formatted message; returns `status`.
kevo_status kevo_fail(kevo_error *err, kevo_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Prepends the printf-formatted text to err->msg (when err is not NULL); returns err->status.
kevo_status kevo_error_prefix(kevo_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Formats the head of messages to come ("path: added_tokens[3]") into buf, cut to size - 1
// bytes: sized KEVO_ERROR_MAX it holds all that a message can show, so the cut loses nothing.
void kevo_error_head(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Clears err to KEVO_OK with an empty message.
void kevo_error_clear(kevo_error *err);

#endif
