/*
 * error.h - status codes and the error object every fallible function fills.
 *
 * Functions that can fail return 0 on success or a negative dedup_status, and
 * write a human-readable message (naming the file and the reason) into the
 * caller's dedup_error.  The error lives with the caller, never in a global,
 * so concurrent callers cannot clobber each other's messages.
 */
#ifndef DEDUP_ERROR_H
#define DEDUP_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DEDUP_OK = 0,
    DEDUP_EINVAL = -1,       /* bad argument or malformed input the caller gave */
    DEDUP_ENOMEM = -2,       /* allocation failed */
    DEDUP_EIO = -3,          /* a file or object could not be read or written */
    DEDUP_EDECODE = -4,      /* bytes are not a decodable image (truncated, corrupt) */
    DEDUP_EUNSUPPORTED = -5, /* a valid file of a kind we do not handle */
    DEDUP_ETOOBIG = -6,      /* input exceeds a configured cap (pixels, bytes) */
    DEDUP_EREPO = -7,        /* repository could not be opened or read */
    DEDUP_ECONFIG = -8,      /* configuration value is invalid */
    DEDUP_ECORRUPT = -9,     /* a cache or index file is damaged */
    DEDUP_EMISSING = -10     /* stored elsewhere and not here: an LFS or DVC object not fetched */
} dedup_status;

#define DEDUP_ERROR_MSG_MAX 1024

typedef struct {
    int code;                      /* last dedup_status set, 0 if none */
    char msg[DEDUP_ERROR_MSG_MAX]; /* NUL-terminated; truncated with "..." if too long */
} dedup_error;

/* Clear an error object before reuse. */
void dedup_error_clear(dedup_error *err);

/*
 * Record `code` and a printf-style message in `err` (which may be NULL) and
 * return `code`, so callers can write `return dedup_error_set(err, ...)`.
 */
int dedup_error_set(dedup_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefix the existing message with "context: " (e.g. a path) keeping the code. */
int dedup_error_prefix(dedup_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
