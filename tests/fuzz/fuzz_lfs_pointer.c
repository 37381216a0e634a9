/*
 * fuzz_lfs_pointer.c - libFuzzer target: the Git LFS pointer parser
 * (src/source/lfs.c).  A pointer comes from whoever can push, and its oid
 * becomes a path under lfs/objects: whatever the input, a pointer that is
 * accepted must carry exactly 64 lower-case hex digits, and a refusal must
 * say why.  The input is copied to a buffer of exactly its size so ASan
 * sees the first byte past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    dedup_lfs_pointer p;
    dedup_error err;
    dedup_error_clear(&err);
    int rc = dedup_lfs_pointer_parse(&p, copy, size, &err);
    free(copy);
    if (rc == 1) {
        if (strlen(p.oid) != 64 || size >= DEDUP_LFS_POINTER_MAX)
            abort();
        for (int i = 0; i < 64; i++)
            if (!((p.oid[i] >= '0' && p.oid[i] <= '9') || (p.oid[i] >= 'a' && p.oid[i] <= 'f')))
                abort();
    } else if (rc < 0 && (err.code != rc || !err.msg[0])) {
        abort();
    } else if (rc != 0 && rc != 1 && rc >= 0) {
        abort();
    }
    return 0;
}
