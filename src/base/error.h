// error.h — the library's own error helpers (kevo_fail and kevo_error_prefix, the one way the
// library reports failure, are public: kevo.h).
//
//     if (n > size) return kevo_fail(err, KEVO_ERR_FORMAT, "%s: header length %llu ...", path, n);
//
// Callers that add context (the file being loaded, the tensor being bound) prepend it with
// kevo_error_prefix() and pass the status on unchanged.
#ifndef KEVO_BASE_ERROR_H
#define KEVO_BASE_ERROR_H

#include "kevo.h"

// Clears err to KEVO_OK with an empty message.
void kevo_error_clear(kevo_error *err);

#endif
