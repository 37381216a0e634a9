/*
 * fuzz_decode_jpeg.c - libFuzzer target: JPEG through dedup_decode_image
 * (libjpeg API, Adobe marker and CMYK, EXIF orientation, scaling, the scan
 * limit and the fatal-warning policy).
 */
#include "fuzz_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_decode_one(data, size, "\xFF\xD8\xFF", 3, 0);
}
