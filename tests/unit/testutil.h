/*
 * testutil.h - the small assertion kit the unit tests share.  A failed check
 * prints file:line and the values, and the test exits non-zero at the end.
 */
#ifndef DEDUP_TESTUTIL_H
#define DEDUP_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/decode.h"

extern int dedup_test_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            dedup_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                               \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_)                                                                            \
            dedup_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, va_, vb_);      \
    } while (0)

void dedup_test_fail(const char *file, int line, const char *fmt, ...);

/* Print a summary line and return the process exit status. */
int dedup_test_finish(const char *name);

/* Read a whole file; returns NULL on failure (and records a test failure). */
uint8_t *dedup_test_read_file(const char *path, size_t *len);

/* A black w x h RGB8 image at full resolution (a failed allocation is a
 * test failure and gives an image without pixels). */
dedup_image dedup_test_new_image(int w, int h);

/* Directory with real photographs (DEDUP_PHOTO_DIR), or the Debian default. */
const char *dedup_test_photo_dir(void);

#endif
