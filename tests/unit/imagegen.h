/*
 * imagegen.h - writers of small test images, for the decoder tests and the
 * fuzz seed corpus.  Every file is made at test time from synthetic pixels
 * (or a Debian photo) with the encoders' own libraries (libjpeg, libwebp,
 * giflib) or, for PNG and the WebP container, by hand, so a test can make
 * exactly the variant it names: a colour type, a missing marker, a damaged
 * EXIF block, a header that lies.
 *
 * Functions return 0 on success and -1 on failure (after printing why);
 * buffers are owned by the caller (tg_buf_free).
 */
#ifndef DEDUP_TEST_IMAGEGEN_H
#define DEDUP_TEST_IMAGEGEN_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/decode.h"

typedef struct {
    uint8_t *data;
    size_t len, cap;
} tg_buf;

void tg_buf_free(tg_buf *b);
int tg_buf_put(tg_buf *b, const void *bytes, size_t len);
int tg_buf_put_be32(tg_buf *b, uint32_t v);
int tg_buf_put_le32(tg_buf *b, uint32_t v);
int tg_buf_put_le24(tg_buf *b, uint32_t v);
int tg_buf_put_le16(tg_buf *b, uint32_t v);

/* A w x h RGB picture with content at every scale (gradients, blocks and a
 * few shapes, varied by seed), full resolution, stride w * 3. */
dedup_image tg_picture(int w, int h, unsigned seed);

/* A w x h image of one colour. */
dedup_image tg_solid(int w, int h, uint8_t r, uint8_t g, uint8_t b);

/* The pixels a camera stores so that EXIF orientation o displays `shown`:
 * built from the EXIF wording (row 0 / column 0 are which displayed side),
 * independently of the decoder's code. */
dedup_image tg_stored_for(const dedup_image *shown, int orientation);

/* Mean absolute difference per sample of two same-sized images, or -1. */
double tg_mean_diff(const dedup_image *a, const dedup_image *b);
/* Largest absolute sample difference, or -1 if the sizes differ. */
int tg_max_diff(const dedup_image *a, const dedup_image *b);

/* An EXIF block (TIFF header and IFD0 with an orientation tag of the given
 * TIFF type: 3 SHORT, 4 LONG), optionally starting with "Exif\0\0". */
int tg_exif(tg_buf *out, int orientation, int big_endian, int type, int with_prefix);

/* --- JPEG ---------------------------------------------------------------- */

typedef enum {
    TG_JPEG_YCC = 0,   /* JFIF YCbCr (the common case) */
    TG_JPEG_RGB,       /* 3 components stored as RGB, Adobe transform 0 */
    TG_JPEG_YCC_ADOBE, /* YCbCr with an Adobe marker, transform 1 */
    TG_JPEG_GRAY,
    TG_JPEG_CMYK, /* 4 components, Adobe transform 0 (or no marker) */
    TG_JPEG_YCCK  /* 4 components, Adobe transform 2 */
} tg_jpeg_color;

typedef struct {
    int quality; /* 0: 90 */
    tg_jpeg_color color;
    int no_adobe; /* CMYK: leave out the Adobe marker */
    int inverted; /* CMYK/YCCK: store samples inverted, as Photoshop does */
    int progressive;
    int arithmetic;
    int restart_rows;    /* restart interval in MCU rows (0: none) */
    int subsample;       /* 1: 4:2:0 chroma, 0: 4:4:4 */
    const uint8_t *app1; /* raw APP1 payload to write (e.g. from tg_exif) */
    size_t app1_len;
} tg_jpeg_opts;

int tg_jpeg(tg_buf *out, const dedup_image *rgb, const tg_jpeg_opts *opts);

/* --- PNG ----------------------------------------------------------------- */

typedef struct {
    int color_type; /* 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA */
    int bit_depth;
    int interlace;
    /* w * h * channels sample values, each < 2^bit_depth (palette: indices) */
    const uint16_t *samples;
    const uint8_t *palette; /* palette_len RGB triples */
    int palette_len;
    const uint8_t *trns; /* raw tRNS payload */
    size_t trns_len;
    const uint8_t *exif; /* raw eXIf payload, written before IDAT */
    size_t exif_len;
    int exif_bad_crc;
} tg_png_opts;

int tg_png(tg_buf *out, int w, int h, const tg_png_opts *opts);
/* One chunk with its length and CRC. */
int tg_png_chunk(tg_buf *out, const char type[4], const uint8_t *data, size_t len);
/* An 8-bit RGB PNG of img. */
int tg_png_rgb(tg_buf *out, const dedup_image *img);

/* --- WebP ---------------------------------------------------------------- */

/* A simple-format WebP: lossy at quality q (q < 0: lossless).  With alpha
 * (may be NULL) the image is RGBA. */
int tg_webp(tg_buf *out, const dedup_image *rgb, const uint8_t *alpha, int q);

/* Re-wrap a WebP from tg_webp in an extended (VP8X) container with an
 * EXIF chunk holding exif (exif_len bytes). */
int tg_webp_with_exif(tg_buf *out, const tg_buf *simple, int w, int h, const uint8_t *exif,
                      size_t exif_len);

/* An animation of two frames from tg_webp: frame 1 (f1w x f1h at x1,y1) and
 * frame 2 covering the canvas. */
int tg_webp_anim(tg_buf *out, int cw, int ch, const tg_buf *frame1, int f1w, int f1h, int x1,
                 int y1, const tg_buf *frame2);

/* --- GIF ----------------------------------------------------------------- */

typedef struct {
    int screen_w, screen_h;
    int left, top, width, height; /* the first frame */
    int interlace;
    const uint8_t *indices; /* width * height palette indices */
    const uint8_t *palette; /* colours RGB triples (a power of two, 2..256) */
    int colours;
    int local_map;    /* palette as the frame's own table, not global */
    int transparent;  /* index, or -1 */
    int second_frame; /* append a second, different frame */
} tg_gif_opts;

int tg_gif(tg_buf *out, const tg_gif_opts *opts);
/* img quantised to a 6x6x6 colour cube, as a one-frame GIF. */
int tg_gif_rgb(tg_buf *out, const dedup_image *img);

#endif
