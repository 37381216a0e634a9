/*
 * fuzz_decode_webp.c - libFuzzer target: WebP through dedup_decode_image
 * (libwebpdemux container, first animation frame on its canvas, scaling,
 * alpha, the EXIF chunk and orientation).
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return fuzz_decode_one(data, size, NULL, 0, 0);
    /* "RIFF" at 0 and "WEBP" at 8; the RIFF size in between is fuzzed. */
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    memcpy(copy, "RIFF", 4);
    memcpy(copy + 8, "WEBP", 4);
    fuzz_decode_one(copy, size, NULL, 0, 0);
    free(copy);
    return 0;
}
