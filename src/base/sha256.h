// sha256.h — SHA-256 (FIPS 180-4), for identities: the bytes of an image, a model's files.
#ifndef KEVO_BASE_SHA256_H
#define KEVO_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "kevo.h"

typedef struct kevo_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;          // message length so far
    unsigned char block[64];   // the partial block (n_bytes % 64 bytes of it)
} kevo_sha256;

void kevo_sha256_init(kevo_sha256 *s);
void kevo_sha256_update(kevo_sha256 *s, const void *data, size_t len);
// Finishes the digest and writes it as 64 lower-case hex digits + NUL; s is then spent.
void kevo_sha256_hex(kevo_sha256 *s, char out[65]);

// SHA-256 of a whole file, read in pieces (any size).
kevo_status kevo_file_sha256(const char *path, char out[65], kevo_error *err);

#endif
