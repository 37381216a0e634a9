/*
 * fuzz_decode_header.c - libFuzzer target: format sniffing and
 * dedup_decode_header for every format, on the raw input.  The header read
 * must never allocate pixels or fail without a reason, and must agree with
 * the full decode about the format.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    if (!dec && dedup_decoder_new(&dec, &err))
        abort();
    dedup_image_info info;
    int rc = dedup_decode_header(dec, &info, data, size, &err);
    if (rc == 0) {
        if (info.width <= 0 || info.height <= 0 || info.orientation < 1 || info.orientation > 8)
            abort();
    } else if ((rc != DEDUP_EDECODE && rc != DEDUP_EUNSUPPORTED && rc != DEDUP_ETOOBIG) ||
               !err.msg[0]) {
        abort();
    }
    if (info.format != dedup_decode_sniff(data, size))
        abort();
    (void)dedup_format_name(info.format);
    return 0;
}
