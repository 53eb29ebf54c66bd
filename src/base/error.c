// error.c — status names and the message buffer of kevo_error.
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
    [0] = "ok",
    [-KEVO_ERR_IO] = "I/O error",
    [-KEVO_ERR_FORMAT] = "malformed file",
    [-KEVO_ERR_MODEL] = "model does not match its config",
    [-KEVO_ERR_CONFIG] = "invalid configuration",
    [-KEVO_ERR_ARG] = "invalid argument",
    [-KEVO_ERR_NOMEM] = "out of memory",
    [-KEVO_ERR_INTERRUPTED] = "interrupted",
};

const char *kevo_status_str(kevo_status status)
{
    int i = -(int)status;
    if (i < 0 || i >= (int)(sizeof status_names / sizeof status_names[0]) || !status_names[i])
        return "unknown status";
    return status_names[i];
}

kevo_status kevo_fail(kevo_error *err, kevo_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void kevo_error_head(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

kevo_status kevo_error_prefix(kevo_error *err, const char *fmt, ...)
{
    if (!err)
        return KEVO_OK;
    char prefix[KEVO_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n > 0) {
        size_t plen = strlen(prefix), mlen = strlen(err->msg);
        if (plen + mlen >= sizeof err->msg)
            mlen = sizeof err->msg - 1 - (plen < sizeof err->msg - 1 ? plen : sizeof err->msg - 1);
        if (plen > sizeof err->msg - 1)
            plen = sizeof err->msg - 1;
        memmove(err->msg + plen, err->msg, mlen);
        memcpy(err->msg, prefix, plen);
        err->msg[plen + mlen] = '\0';
    }
    return err->status;
}

void kevo_error_clear(kevo_error *err)
{
    if (err) {
        err->status = KEVO_OK;
        err->msg[0] = '\0';
    }
}
