/*
 * internal.h - what the files of the decode layer share and nothing outside
 * it may use: one decoder per format, the EXIF orientation parser, the
 * orientation transform, and the small helpers every decoder needs (the
 * pixel cap, compositing onto the fixed background).
 *
 * Every format decoder has the same contract as dedup_decode_image (out is
 * zeroed on entry and holds no pixels on failure), except that it leaves
 * EXIF orientation to its caller: it reports the orientation it found in
 * *orientation (1 when none) and returns the pixels as stored.  Applying it
 * in one place keeps the eight cases written, and tested, once.
 */
#ifndef DEDUP_DECODE_INTERNAL_H
#define DEDUP_DECODE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/decode.h"

/* Alpha is composited onto this grey level (white): any fixed colour keeps
 * hidden colour out of the hashes, and white is what viewers show behind
 * most transparent images. */
#define DEDUP_DECODE_BACKGROUND 255

/* Per-format state kept in the decoder handle (jpeg.c). */
typedef struct dedup_jpeg_state dedup_jpeg_state;

int dedup_decode_jpeg_new(dedup_jpeg_state **out, dedup_error *err);
void dedup_decode_jpeg_free(dedup_jpeg_state *st);

int dedup_decode_jpeg_header(dedup_jpeg_state *st, dedup_image_info *out, const uint8_t *bytes,
                             size_t len, dedup_error *err);
int dedup_decode_jpeg(dedup_jpeg_state *st, dedup_image *out, int *orientation,
                      const uint8_t *bytes, size_t len, const dedup_decode_options *opts,
                      dedup_error *err);

int dedup_decode_png_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                            dedup_error *err);
int dedup_decode_png(dedup_image *out, int *orientation, const uint8_t *bytes, size_t len,
                     const dedup_decode_options *opts, dedup_error *err);

int dedup_decode_gif_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                            dedup_error *err);
int dedup_decode_gif(dedup_image *out, const uint8_t *bytes, size_t len,
                     const dedup_decode_options *opts, dedup_error *err);

int dedup_decode_webp_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                             dedup_error *err);
int dedup_decode_webp(dedup_image *out, int *orientation, const uint8_t *bytes, size_t len,
                      const dedup_decode_options *opts, dedup_error *err);

/*
 * The orientation (1..8) stated by an EXIF block: a TIFF header and IFD0,
 * optionally preceded by "Exif\0\0".  Anything missing, out of range or out
 * of bounds yields 1 (as stored): a damaged EXIF block never fails a decode.
 */
int dedup_decode_exif_orientation(const uint8_t *exif, size_t len);

/*
 * Turn an image as stored into the image as displayed for EXIF orientation
 * 1..8 (other values: unchanged).  Swaps width and height for 5..8.  May
 * replace img->pixels; on DEDUP_ENOMEM the image is left as it was.
 */
int dedup_decode_orient(dedup_image *img, int orientation, dedup_error *err);

/* 0, or DEDUP_EDECODE for a non-positive size, or DEDUP_ETOOBIG over the cap. */
int dedup_decode_check_pixels(const char *format, uint64_t width, uint64_t height,
                              uint64_t max_pixels, dedup_error *err);

/* malloc of w * h * channels bytes, NULL on overflow or exhaustion. */
uint8_t *dedup_decode_alloc(size_t width, size_t height, size_t channels);

/* Composite one value v with alpha a (both 0..max) onto the background, to 0..255. */
static inline uint8_t dedup_decode_blend8(unsigned v, unsigned a)
{
    return (uint8_t)((v * a + DEDUP_DECODE_BACKGROUND * (255u - a) + 127u) / 255u);
}

static inline uint8_t dedup_decode_blend16(uint32_t v, uint32_t a)
{
    /* v, a in 0..65535: blend in 16-bit precision, then scale (not clip)
     * to 8 bits with rounding, so 16-bit samples lose only their low bits. */
    uint64_t mixed = (uint64_t)v * a + (uint64_t)DEDUP_DECODE_BACKGROUND * 257u * (65535u - a);
    uint64_t v16 = (mixed + 32767u) / 65535u; /* 0..65535 */
    return (uint8_t)((v16 * 255u + 32767u) / 65535u);
}

/* The first "name" of a format, for messages ("JPEG", "PNG", ...). */
const char *dedup_decode_label(dedup_format format);

#endif
