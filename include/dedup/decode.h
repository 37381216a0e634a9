/*
 * decode.h - bytes in, pixels out.  Pure: no git, no files, no cache.
 *
 * Shaped like TurboJPEG: a reusable decoder handle, a cheap header read that
 * lets the caller decide (refuse a bomb, pick a scale) before any pixel is
 * decoded, then the decode itself.  The format is detected from the bytes,
 * never from a file name.
 *
 * Output is always 8-bit RGB, tightly packed.  Alpha is composited onto a
 * fixed white background so that colour hidden under full transparency
 * cannot change any hash.  JPEGs are decoded with DCT scaling to the
 * smallest size whose shorter side is still >= options.min_side, so a
 * 4000x3000 photo costs little more than its entropy decoding.
 */
#ifndef DEDUP_DECODE_H
#define DEDUP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DEDUP_FORMAT_UNKNOWN = 0,
    DEDUP_FORMAT_JPEG,
    DEDUP_FORMAT_PNG,
    DEDUP_FORMAT_GIF,
    DEDUP_FORMAT_WEBP,
    DEDUP_FORMAT_BMP,
    DEDUP_FORMAT_TIFF
} dedup_format;

/* Lower-case name of a format ("jpeg", "png", ...; "unknown"). */
const char *dedup_format_name(dedup_format format);

/* Detect the format from the leading bytes. */
dedup_format dedup_decode_sniff(const uint8_t *bytes, size_t len);

typedef struct {
    dedup_format format;
    int width;  /* full-resolution dimensions from the header */
    int height;
} dedup_image_info;

typedef struct {
    int width;           /* decoded (possibly scaled) dimensions */
    int height;
    size_t stride;       /* bytes per row, == width * 3 */
    uint8_t *pixels;     /* RGB8, owned; release with dedup_image_free() */
    int full_resolution; /* 1 when width/height equal the source's */
    int source_width;    /* dimensions of the image as stored */
    int source_height;
} dedup_image;

typedef struct {
    int min_side;        /* JPEG scaling keeps the shorter side >= this (0: full size) */
    uint64_t max_pixels; /* refuse images whose header declares more pixels (0: no cap) */
} dedup_decode_options;

/* Defaults: min_side 64 (enough for the perceptual hash), max_pixels 178956970. */
void dedup_decode_options_init(dedup_decode_options *opts);

typedef struct dedup_decoder dedup_decoder;

int dedup_decoder_new(dedup_decoder **out, dedup_error *err);
void dedup_decoder_free(dedup_decoder *dec);

/*
 * Read dimensions and format without decoding pixels.
 * Returns DEDUP_EUNSUPPORTED for a recognised but unhandled format and
 * DEDUP_EDECODE for bytes that are not a readable image.
 */
int dedup_decode_header(dedup_decoder *dec, dedup_image_info *out, const uint8_t *bytes,
                        size_t len, dedup_error *err);

/*
 * Decode to RGB8.  On failure `out` holds no pixels and the error says why
 * (the caller adds the path).  Images over opts->max_pixels are refused with
 * DEDUP_ETOOBIG before any pixel buffer is allocated.
 */
int dedup_decode_image(dedup_decoder *dec, dedup_image *out, const uint8_t *bytes, size_t len,
                       const dedup_decode_options *opts, dedup_error *err);

void dedup_image_free(dedup_image *img);

#ifdef __cplusplus
}
#endif
#endif
