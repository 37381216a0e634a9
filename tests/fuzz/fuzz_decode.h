/*
 * fuzz_decode.h - the body shared by the per-format decoder fuzz targets:
 * decode the input through dedup_decode_image, with the format's magic
 * written over its first bytes so that mutations stay inside the decoder
 * the target is for, and check the decode layer's contract on the outcome
 * (pixels exactly when it succeeds, a known error code and a reason when it
 * does not).  A broken contract aborts, which libFuzzer reports as a crash.
 *
 * The pixel cap is lowered to 1 MP so that a mutation declaring a large but
 * legal image costs milliseconds, not seconds, per run: the cap check
 * itself is covered by the unit tests.
 */
#ifndef DEDUP_FUZZ_DECODE_H
#define DEDUP_FUZZ_DECODE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/decode.h"
#include "dedup/features.h"

#define FUZZ_MAX_PIXELS (1u << 20)

static int fuzz_allowed_failure(int rc)
{
    return rc == DEDUP_EDECODE || rc == DEDUP_EUNSUPPORTED || rc == DEDUP_ETOOBIG;
}

static void fuzz_check_image(int rc, const dedup_image *img, const dedup_error *err)
{
    if (rc == 0) {
        if (!img->pixels || img->width <= 0 || img->height <= 0 ||
            img->stride != (size_t)img->width * 3 || img->source_width < img->width ||
            img->source_height < img->height)
            abort();
        /* Touch every byte: ASan reports a buffer smaller than promised. */
        (void)dedup_pixel_hash(img);
    } else if (!fuzz_allowed_failure(rc) || img->pixels || !err->msg[0]) {
        abort();
    }
}

/*
 * One input: the magic (magic_len bytes) replaces the input's first bytes,
 * at offset magic_at; the input's parity picks full-size or scaled decoding
 * so both paths are fuzzed.  One decoder serves every run, as in git-dedup,
 * so state left behind by a failure would show.
 */
static int fuzz_decode_one(const uint8_t *data, size_t size, const char *magic, size_t magic_len,
                           size_t magic_at)
{
    static dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    if (!dec && dedup_decoder_new(&dec, &err))
        abort();
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (magic && size >= magic_at + magic_len)
        memcpy(copy + magic_at, magic, magic_len);
    dedup_decode_options opts;
    dedup_decode_options_init(&opts);
    opts.max_pixels = FUZZ_MAX_PIXELS;
    opts.min_side = (size & 1) ? 0 : 64;
    dedup_image img;
    int rc = dedup_decode_image(dec, &img, copy, size, &opts, &err);
    fuzz_check_image(rc, &img, &err);
    if (rc == 0) {
        /* The header read agrees with the decode: same stored size, turned
         * by the orientation it reports. */
        dedup_image_info info;
        int turned;
        if (dedup_decode_header(dec, &info, copy, size, &err))
            abort();
        turned = info.orientation >= 5;
        if ((turned ? info.height : info.width) != img.source_width ||
            (turned ? info.width : info.height) != img.source_height)
            abort();
    }
    dedup_image_free(&img);
    free(copy);
    return 0;
}

#endif
