/*
 * error.c - the dedup_error object.  Messages longer than the buffer are
 * marked with a trailing "..." rather than silently cut.
 */
#include "dedup/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dedup_error_clear(dedup_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

static void mark_truncated(char *buf, size_t cap, int needed)
{
    if (needed >= (int)cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

int dedup_error_set(dedup_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        err->msg[0] = '\0';
    mark_truncated(err->msg, sizeof(err->msg), n);
    err->code = code;
    return code;
}

int dedup_error_prefix(dedup_error *err, const char *fmt, ...)
{
    if (!err)
        return DEDUP_EINVAL;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        prefix[0] = '\0';
    mark_truncated(prefix, sizeof(prefix), n);
    char old[DEDUP_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof(old));
    n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    mark_truncated(err->msg, sizeof(err->msg), n);
    return err->code;
}
