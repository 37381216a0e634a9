/*
 * fuzz_decode_gif.c - libFuzzer target: GIF through dedup_decode_image
 * (giflib record by record, the first frame on its canvas, interlace,
 * transparency, colour tables).
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Keep GIF87a inputs as they are; anything else becomes GIF89a. */
    if (size >= 6 && memcmp(data, "GIF87a", 6) == 0)
        return fuzz_decode_one(data, size, NULL, 0, 0);
    return fuzz_decode_one(data, size, "GIF89a", 6, 0);
}
