/*
 * decode.h - bytes in, pixels out.  Pure: no git, no files, no cache.
 *
 * Shaped like TurboJPEG: a reusable decoder handle, a cheap header read that
 * lets the caller decide (refuse a bomb, pick a scale) before any pixel is
 * decoded, then the decode itself.  The format is detected from the bytes,
 * never from a file name.
 *
 * Formats: JPEG (libjpeg-turbo: baseline, progressive, arithmetic, grey,
 * RGB, CMYK and YCCK), PNG (libspng: every colour type, bit depth and
 * interlace), WebP (libwebp: lossy, lossless, alpha; the first frame of an
 * animation) and GIF (giflib: the first frame).  Other formats, and 12-bit,
 * lossless or hierarchical JPEG, are refused with DEDUP_EUNSUPPORTED naming
 * the format.
 *
 * Output is the picture a person sees, as 8-bit RGB, tightly packed:
 *  - EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF) is applied, so a
 *    photo and its rotated-by-tag twin decode to the same pixels;
 *  - alpha is composited onto a fixed white background, so colour hidden
 *    under full transparency cannot change any hash;
 *  - 16-bit samples are scaled to 8 bits (rounded), never clipped;
 *  - CMYK is converted naively (no ICC profile); with an Adobe APP14 marker
 *    the samples are taken as inverted, as Photoshop writes them.
 * JPEGs are decoded with DCT scaling, and large WebPs with libwebp's
 * scaler, to the smallest size whose shorter side is still
 * >= options.min_side, so a 4000x3000 photo costs little more than its
 * entropy decoding.
 *
 * Hostile input: the header's dimensions are checked against
 * options.max_pixels before any pixel buffer is allocated; peak memory is
 * a small multiple of the output (plus, for progressive JPEG and lossless
 * WebP, whose formats need it, of the capped stored size).  A truncated or
 * corrupt file fails with the reason; it never yields partial pixels.
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
    DEDUP_FORMAT_TIFF,
    DEDUP_FORMAT_HEIF, /* HEIC/HEIF and AVIF (ISO BMFF "ftyp" image brands) */
    DEDUP_FORMAT_JXL,
    DEDUP_FORMAT_JP2
} dedup_format;

/* Lower-case name of a format ("jpeg", "png", ...; "unknown"). */
const char *dedup_format_name(dedup_format format);

/* Detect the format from the leading bytes. */
dedup_format dedup_decode_sniff(const uint8_t *bytes, size_t len);

typedef struct {
    dedup_format format;
    int width;       /* full-resolution dimensions as stored in the header (before */
    int height;      /* orientation; for GIF the canvas that holds the first frame) */
    int orientation; /* EXIF orientation 1..8; 1 when there is none or it is damaged */
} dedup_image_info;

typedef struct {
    int width; /* decoded (possibly scaled) dimensions, as displayed */
    int height;
    size_t stride;       /* bytes per row, == width * 3 */
    uint8_t *pixels;     /* RGB8, owned; release with dedup_image_free() */
    int full_resolution; /* 1 when width/height equal source_width/height */
    int source_width;    /* full-resolution dimensions as displayed: the stored */
    int source_height;   /* ones, swapped when the EXIF orientation turns 90 degrees */
} dedup_image;

typedef struct {
    int min_side;        /* JPEG/WebP scaling keeps the shorter side >= this (0: full size) */
    uint64_t max_pixels; /* refuse images whose header declares more pixels (0: no cap) */
} dedup_decode_options;

/* Defaults: min_side 64 (enough for the perceptual hash), max_pixels 178956970. */
void dedup_decode_options_init(dedup_decode_options *opts);

typedef struct dedup_decoder dedup_decoder;

int dedup_decoder_new(dedup_decoder **out, dedup_error *err);
void dedup_decoder_free(dedup_decoder *dec);

/*
 * Read dimensions, orientation and format without decoding pixels (and
 * without checking the pixel cap: that is the caller's decision).
 * Returns DEDUP_EUNSUPPORTED for a recognised but unhandled format and
 * DEDUP_EDECODE for bytes that are not a readable image.
 */
int dedup_decode_header(dedup_decoder *dec, dedup_image_info *out, const uint8_t *bytes, size_t len,
                        dedup_error *err);

/*
 * Decode to RGB8.  On failure `out` holds no pixels and the error says why
 * (the caller adds the path).  Images over opts->max_pixels are refused with
 * DEDUP_ETOOBIG before any pixel buffer is allocated.
 */
int dedup_decode_image(dedup_decoder *dec, dedup_image *out, const uint8_t *bytes, size_t len,
                       const dedup_decode_options *opts, dedup_error *err);

void dedup_image_free(dedup_image *img);

/* Room for dedup_decode_version()'s text, NUL included. */
#define DEDUP_DECODE_VERSION_MAX 256

/*
 * The versions of the decoding libraries in use, e.g. "libjpeg-turbo 2.1.5;
 * libspng 0.7.3; libwebp 1.2.4; giflib 5.2.1", read at run time where the
 * library can say.  Cached features are keyed by it, so upgrading a decoder
 * invalidates them instead of mixing hashes of different pixels.  Fails
 * with DEDUP_ETOOBIG (and writes nothing useful) if cap is too small.
 */
int dedup_decode_version(char *out, size_t cap, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
