/*
 * testutil.c - assertion helpers for the unit tests.
 */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dedup_test_failures;

void dedup_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    dedup_test_failures++;
}

int dedup_test_finish(const char *name)
{
    if (dedup_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, dedup_test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

uint8_t *dedup_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dedup_test_fail(__FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

const char *dedup_test_photo_dir(void)
{
    const char *dir = getenv("DEDUP_PHOTO_DIR");
    return dir && *dir ? dir : "/usr/share/backgrounds/mate/nature";
}

dedup_image dedup_test_new_image(int w, int h)
{
    dedup_image img;
    memset(&img, 0, sizeof(img));
    img.width = w;
    img.height = h;
    img.stride = (size_t)w * 3;
    img.pixels = calloc((size_t)w * (size_t)h, 3);
    img.full_resolution = 1;
    img.source_width = w;
    img.source_height = h;
    if (!img.pixels)
        dedup_test_fail(__FILE__, __LINE__, "out of memory for %dx%d", w, h);
    return img;
}
