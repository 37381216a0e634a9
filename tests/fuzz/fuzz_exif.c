/*
 * fuzz_exif.c - libFuzzer target: the hand-written EXIF orientation parser
 * (src/decode/exif.c), the one parser in the decode layer that is ours
 * rather than a library's.  Any input must give 1..8 without reading
 * outside it; the input is copied to a buffer of exactly its size so ASan
 * sees the first byte past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    int o = dedup_decode_exif_orientation(copy, size);
    free(copy);
    if (o < 1 || o > 8)
        abort();
    return 0;
}
