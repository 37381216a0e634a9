/*
 * fuzz_decode_png.c - libFuzzer target: PNG through dedup_decode_image
 * (libspng row by row, Adam7 pass compositing, 16-bit scaling, tRNS, the
 * eXIf chunk walk and EXIF orientation).
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_one(data, size, "\x89PNG\r\n\x1a\n", 8, 0);
}
