// sha256.c — hex SHA-256 digests of buffers and files, with Nettle's sha256 (nettle/sha2.h).
// Checked against coreutils' sha256sum in tests/test_batch_resume.c.
#include "base/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fs.h"

void kevo_sha256_init(kevo_sha256 *s)
{
    sha256_init(&s->ctx);
}

void kevo_sha256_update(kevo_sha256 *s, const void *data, size_t len)
{
    sha256_update(&s->ctx, len, data);
}

void kevo_sha256_hex(kevo_sha256 *s, char out[65])
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&s->ctx, sizeof digest, digest);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

kevo_status kevo_file_sha256(const char *path, char out[65], kevo_error *err)
{
    int fd;
    struct stat st;
    kevo_status status = kevo_open_regular(path, &fd, &st, err);
    if (status != KEVO_OK)
        return status;
    kevo_sha256 s;
    kevo_sha256_init(&s);
    unsigned char buf[1 << 16];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0 || (got < 0 && errno == EINTR))
        if (got > 0)
            kevo_sha256_update(&s, buf, (size_t)got);
    int bad = got < 0 ? errno : 0;
    close(fd);
    if (bad)
        return kevo_fail(err, KEVO_ERR_IO, "%s: read error: %s", path, strerror(bad));
    kevo_sha256_hex(&s, out);
    return KEVO_OK;
}
