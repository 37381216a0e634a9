/*
 * fuzz_dvc.c - libFuzzer target: the DVC parsers (src/repo/dvc.c).  The
 * first input byte picks one: a .dvc file, a dvc.lock, a directory listing
 * <md5>.dir, or .dvc/config's cache dir; the rest is the file.  Each md5 it
 * accepts becomes a path in DVC's cache, so every one must be exactly 32
 * lower-case hex digits; every refusal must say why.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_md5(const char *m)
{
    if (strlen(m) != 32)
        abort();
    for (int i = 0; i < 32; i++)
        if (!((m[i] >= '0' && m[i] <= '9') || (m[i] >= 'a' && m[i] <= 'f')))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 4;
    size_t len = size - 1;
    /* an exact-size copy so ASan sees any read past the end */
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    dedup_error err;
    dedup_error_clear(&err);
    int rc;
    if (which < 2) {
        dedup_dvc_file f;
        rc = dedup_dvc_parse(&f, buf, len, which, "fuzz.dvc", &err);
        for (size_t i = 0; rc == 0 && i < f.count; i++) {
            check_md5(f.outs[i].md5);
            if (!f.outs[i].path || !f.outs[i].path[0])
                abort();
        }
        if (rc && f.count)
            abort();
        dedup_dvc_file_free(&f);
    } else if (which == 2) {
        dedup_dvc_dir d;
        rc = dedup_dvc_parse_dir(&d, buf, len, "fuzz.dir", &err);
        for (size_t i = 0; rc == 0 && i < d.count; i++) {
            check_md5(d.entries[i].md5);
            if (!d.entries[i].relpath || !d.entries[i].relpath[0])
                abort();
        }
        if (rc && d.count)
            abort();
        dedup_dvc_dir_free(&d);
    } else {
        char *dir = NULL;
        rc = dedup_dvc_config_cache_dir(&dir, buf, len, &err);
        if (rc && dir)
            abort();
        free(dir);
    }
    if (rc && !err.msg[0])
        abort();
    free(buf);
    return 0;
}
