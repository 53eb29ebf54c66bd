// sha256.h — SHA-256 for identities: the bytes of an image, a model's files. Nettle's (Debian's
// nettle-dev) does the hashing; this adds hex digests and whole files.
#ifndef KEVO_BASE_SHA256_H
#define KEVO_BASE_SHA256_H

#include <nettle/sha2.h>
#include <stddef.h>

#include "kevo.h"

typedef struct kevo_sha256 {
    struct sha256_ctx ctx;
} kevo_sha256;

void kevo_sha256_init(kevo_sha256 *s);
void kevo_sha256_update(kevo_sha256 *s, const void *data, size_t len);
// Finishes the digest and writes it as 64 lower-case hex digits + NUL; s is then spent.
void kevo_sha256_hex(kevo_sha256 *s, char out[65]);

// SHA-256 of a whole regular file, read in pieces (any size; a FIFO or device is refused).
kevo_status kevo_file_sha256(const char *path, char out[65], kevo_error *err);

#endif
