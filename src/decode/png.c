/*
 * png.c - PNG to RGB8 through libspng, row by row.
 *
 * Every colour type, bit depth and interlace comes out of libspng as RGBA
 * (8-bit, or 16-bit for 16-bit files) with tRNS applied; we composite each
 * row onto the fixed background straight into the RGB result, so only that
 * result and one row are ever held.  16-bit samples are blended at 16 bits
 * and then scaled (rounded) to 8, not clipped or truncated.  Gamma (gAMA),
 * colour profiles and bKGD are ignored: they would make the same stored
 * samples hash differently depending on metadata.
 *
 * EXIF orientation comes from an eXIf chunk before the first IDAT (where the
 * PNG specification requires it), found by walking the chunk list ourselves
 * so that a damaged block is ignored rather than failing the decode.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <spng.h>
#include <zlib.h>

#include "decode/internal.h"

#define PNG_SIGNATURE_BYTES 8
/* Bound ancillary chunks so a file cannot make libspng buffer megabytes of text. */
#define CHUNK_LIMIT (1u << 24)

static int png_fail(spng_ctx *ctx, int code, const char *what, int sret, dedup_error *err)
{
    spng_ctx_free(ctx);
    return dedup_error_set(err, code, "%s: %s", what, spng_strerror(sret));
}

static int png_open(spng_ctx **out, struct spng_ihdr *ihdr, const uint8_t *bytes, size_t len,
                    dedup_error *err)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory creating a PNG decoder");
    spng_set_chunk_limits(ctx, CHUNK_LIMIT, CHUNK_LIMIT);
    /* A bad CRC in image data is corruption; in an ancillary chunk it only
     * costs that chunk. */
    spng_set_crc_action(ctx, SPNG_CRC_ERROR, SPNG_CRC_DISCARD);
    int s = spng_set_png_buffer(ctx, bytes, len);
    if (s)
        return png_fail(ctx, DEDUP_EDECODE, "unreadable PNG", s, err);
    s = spng_get_ihdr(ctx, ihdr);
    if (s)
        return png_fail(ctx, DEDUP_EDECODE, "unreadable PNG header", s, err);
    *out = ctx;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The orientation in the first intact eXIf chunk before IDAT, else 1. */
static int png_orientation(const uint8_t *bytes, size_t len)
{
    size_t pos = PNG_SIGNATURE_BYTES;
    while (pos <= len && len - pos >= 12) {
        size_t n = be32(bytes + pos);
        const uint8_t *type = bytes + pos + 4;
        if (n > len - pos - 12 || memcmp(type, "IDAT", 4) == 0 || memcmp(type, "IEND", 4) == 0)
            return 1;
        if (memcmp(type, "eXIf", 4) == 0) {
            /* PNG chunks are < 2^31 bytes, which also keeps zlib's uInt
             * length from wrapping. */
            if (n > 0x7FFFFFFFu)
                return 1;
            uLong crc = crc32(0L, type, (uInt)(n + 4));
            if (crc != be32(bytes + pos + 8 + n))
                return 1;
            return dedup_decode_exif_orientation(bytes + pos + 8, n);
        }
        pos += 12 + n;
    }
    return 1;
}

int dedup_decode_png_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                            dedup_error *err)
{
    spng_ctx *ctx = NULL;
    struct spng_ihdr ihdr;
    int rc = png_open(&ctx, &ihdr, bytes, len, err);
    if (rc)
        return rc;
    spng_ctx_free(ctx);
    if (ihdr.width > INT_MAX || ihdr.height > INT_MAX)
        return dedup_error_set(err, DEDUP_ETOOBIG, "PNG declares %ux%u pixels", ihdr.width,
                               ihdr.height);
    out->width = (int)ihdr.width;
    out->height = (int)ihdr.height;
    out->orientation = png_orientation(bytes, len);
    return 0;
}

/* Adam7: the first column of each pass and the step between its columns. */
static const uint8_t ADAM7_X0[7] = {0, 4, 0, 2, 0, 1, 0};
static const uint8_t ADAM7_DX[7] = {8, 8, 4, 4, 2, 2, 1};

/*
 * Composite the pixels one decode_row call delivered.  For an interlaced
 * image that is one pass's pixels, written at their final columns; the
 * other columns of the row buffer still hold an earlier row's values, so
 * only the pass's own columns may be copied.
 */
static void composite_pass(uint8_t *rgb, const uint8_t *row, size_t width, int deep, int x0, int dx)
{
    for (size_t x = (size_t)x0; x < width; x += (size_t)dx) {
        if (deep) {
            uint16_t px[4];
            memcpy(px, row + 8 * x, sizeof(px)); /* host order, possibly unaligned */
            for (int c = 0; c < 3; c++)
                rgb[3 * x + c] = dedup_decode_blend16(px[c], px[3]);
        } else {
            const uint8_t *px = row + 4 * x;
            for (int c = 0; c < 3; c++)
                rgb[3 * x + c] = dedup_decode_blend8(px[c], px[3]);
        }
    }
}

int dedup_decode_png(dedup_image *out, int *orientation, const uint8_t *bytes, size_t len,
                     const dedup_decode_options *opts, dedup_error *err)
{
    *orientation = 1;
    spng_ctx *ctx = NULL;
    struct spng_ihdr ihdr;
    int rc = png_open(&ctx, &ihdr, bytes, len, err);
    if (rc)
        return rc;
    if ((rc = dedup_decode_check_pixels("PNG", ihdr.width, ihdr.height, opts->max_pixels, err))) {
        spng_ctx_free(ctx);
        return rc;
    }
    size_t w = ihdr.width, h = ihdr.height;
    int deep = ihdr.bit_depth == 16;
    size_t row_bytes = w * (deep ? 8 : 4);
    uint8_t *pixels = dedup_decode_alloc(w, h, 3);
    uint8_t *row = dedup_decode_alloc(w, 1, deep ? 8 : 4);
    if (!pixels || !row) {
        free(pixels);
        free(row);
        spng_ctx_free(ctx);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %zux%zu PNG", w, h);
    }
    int s = spng_decode_image(ctx, NULL, 0, deep ? SPNG_FMT_RGBA16 : SPNG_FMT_RGBA8,
                              SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
    if (!s) {
        struct spng_row_info info;
        do {
            s = spng_get_row_info(ctx, &info);
            if (s)
                break;
            s = spng_decode_row(ctx, row, row_bytes);
            if (s && s != SPNG_EOI)
                break;
            int pass = ihdr.interlace_method && info.pass >= 0 && info.pass < 7 ? info.pass : -1;
            if (info.row_num < h)
                composite_pass(pixels + (size_t)info.row_num * w * 3, row, w, deep,
                               pass < 0 ? 0 : ADAM7_X0[pass], pass < 0 ? 1 : ADAM7_DX[pass]);
        } while (s != SPNG_EOI);
        if (s == SPNG_EOI)
            s = 0;
    }
    free(row);
    if (s) {
        free(pixels);
        return png_fail(ctx, DEDUP_EDECODE, "corrupt or truncated PNG", s, err);
    }
    spng_ctx_free(ctx);
    *orientation = png_orientation(bytes, len);
    out->width = (int)w;
    out->height = (int)h;
    out->stride = w * 3;
    out->pixels = pixels;
    out->full_resolution = 1;
    out->source_width = (int)w;
    out->source_height = (int)h;
    return 0;
}
