/*
 * decode.c - image bytes to RGB8 pixels (JPEG through TurboJPEG, PNG through
 * libspng).  Pure: the caller hands us bytes and gets pixels or a reason.
 *
 * Every decoder checks the header's dimensions against max_pixels before it
 * allocates, so a small file that declares a huge image cannot exhaust memory.
 */
#include "dedup/decode.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <spng.h>
#include <turbojpeg.h>

struct dedup_decoder {
    tjhandle jpeg;
};

/* Alpha is composited onto white: any fixed colour works, white is what
 * image viewers show behind most transparent images. */
#define BACKGROUND 255

const char *dedup_format_name(dedup_format format)
{
    switch (format) {
    case DEDUP_FORMAT_JPEG:
        return "jpeg";
    case DEDUP_FORMAT_PNG:
        return "png";
    case DEDUP_FORMAT_GIF:
        return "gif";
    case DEDUP_FORMAT_WEBP:
        return "webp";
    case DEDUP_FORMAT_BMP:
        return "bmp";
    case DEDUP_FORMAT_TIFF:
        return "tiff";
    default:
        return "unknown";
    }
}

dedup_format dedup_decode_sniff(const uint8_t *b, size_t len)
{
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        return DEDUP_FORMAT_JPEG;
    if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return DEDUP_FORMAT_PNG;
    if (len >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return DEDUP_FORMAT_GIF;
    if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        return DEDUP_FORMAT_WEBP;
    if (len >= 2 && b[0] == 'B' && b[1] == 'M')
        return DEDUP_FORMAT_BMP;
    if (len >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0))
        return DEDUP_FORMAT_TIFF;
    return DEDUP_FORMAT_UNKNOWN;
}

void dedup_decode_options_init(dedup_decode_options *opts)
{
    opts->min_side = 64;
    opts->max_pixels = 178956970; /* ~179 MP: beyond any camera, far below a bomb */
}

int dedup_decoder_new(dedup_decoder **out, dedup_error *err)
{
    *out = NULL;
    dedup_decoder *dec = calloc(1, sizeof(*dec));
    if (!dec)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory creating a decoder");
    dec->jpeg = tjInitDecompress();
    if (!dec->jpeg) {
        free(dec);
        return dedup_error_set(err, DEDUP_ENOMEM, "cannot initialise TurboJPEG: %s",
                               tjGetErrorStr2(NULL));
    }
    *out = dec;
    return 0;
}

void dedup_decoder_free(dedup_decoder *dec)
{
    if (!dec)
        return;
    if (dec->jpeg)
        tjDestroy(dec->jpeg);
    free(dec);
}

void dedup_image_free(dedup_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    memset(img, 0, sizeof(*img));
}

static int refuse_format(dedup_format f, dedup_error *err)
{
    if (f == DEDUP_FORMAT_UNKNOWN)
        return dedup_error_set(err, DEDUP_EDECODE, "not a recognised image format");
    return dedup_error_set(err, DEDUP_EUNSUPPORTED, "%s images are not supported",
                           dedup_format_name(f));
}

static int check_pixels(int w, int h, uint64_t max_pixels, dedup_error *err)
{
    if (w <= 0 || h <= 0)
        return dedup_error_set(err, DEDUP_EDECODE, "image header declares %dx%d pixels", w, h);
    uint64_t n = (uint64_t)w * (uint64_t)h;
    if (max_pixels && n > max_pixels)
        return dedup_error_set(err, DEDUP_ETOOBIG,
                               "image is %dx%d (%llu pixels), over the limit of %llu pixels", w,
                               h, (unsigned long long)n, (unsigned long long)max_pixels);
    return 0;
}

/* --- JPEG ------------------------------------------------------------- */

static int jpeg_header(dedup_decoder *dec, const uint8_t *bytes, size_t len, int *w, int *h,
                       int *colorspace, dedup_error *err)
{
    int subsamp = 0;
    if (len > ULONG_MAX)
        return dedup_error_set(err, DEDUP_ETOOBIG, "JPEG of %zu bytes is too large", len);
    if (tjDecompressHeader3(dec->jpeg, bytes, (unsigned long)len, w, h, &subsamp, colorspace) !=
        0)
        return dedup_error_set(err, DEDUP_EDECODE, "unreadable JPEG header: %s",
                               tjGetErrorStr2(dec->jpeg));
    return 0;
}

/* The smallest DCT scale that keeps the shorter side >= min_side; never enlarge. */
static tjscalingfactor pick_scale(int w, int h, int min_side)
{
    tjscalingfactor best = {1, 1};
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    if (!sf || min_side <= 0)
        return best;
    long best_area = (long)w * h;
    for (int i = 0; i < n; i++) {
        if (sf[i].num > sf[i].denom)
            continue;
        int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
        int shorter = sw < sh ? sw : sh;
        if (shorter < min_side)
            continue;
        if ((long)sw * sh < best_area) {
            best_area = (long)sw * sh;
            best = sf[i];
        }
    }
    return best;
}

static int decode_jpeg(dedup_decoder *dec, dedup_image *out, const uint8_t *bytes, size_t len,
                       const dedup_decode_options *opts, dedup_error *err)
{
    int w, h, cs;
    int rc = jpeg_header(dec, bytes, len, &w, &h, &cs, err);
    if (rc)
        return rc;
    if ((rc = check_pixels(w, h, opts->max_pixels, err)))
        return rc;
    if (cs == TJCS_CMYK || cs == TJCS_YCCK)
        return dedup_error_set(err, DEDUP_EUNSUPPORTED, "CMYK JPEG images are not supported yet");
    tjscalingfactor sf = pick_scale(w, h, opts->min_side);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    size_t stride = (size_t)sw * 3;
    uint8_t *pixels = malloc(stride * (size_t)sh);
    if (!pixels)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %dx%d image", sw, sh);
    if (tjDecompress2(dec->jpeg, bytes, (unsigned long)len, pixels, sw, (int)stride, sh, TJPF_RGB,
                      0) != 0) {
        /* A warning still yields pixels, but truncation fills the rest with
         * grey: hashing that would be hashing a different picture. */
        int fatal = tjGetErrorCode(dec->jpeg) == TJERR_FATAL ||
                    strstr(tjGetErrorStr2(dec->jpeg), "Premature end") != NULL;
        if (fatal) {
            rc = dedup_error_set(err, DEDUP_EDECODE, "corrupt or truncated JPEG: %s",
                                 tjGetErrorStr2(dec->jpeg));
            free(pixels);
            return rc;
        }
    }
    out->width = sw;
    out->height = sh;
    out->stride = stride;
    out->pixels = pixels;
    out->full_resolution = (sw == w && sh == h);
    out->source_width = w;
    out->source_height = h;
    return 0;
}

/* --- PNG -------------------------------------------------------------- */

static int png_fail(spng_ctx *ctx, int code, const char *what, int sret, dedup_error *err)
{
    spng_ctx_free(ctx);
    return dedup_error_set(err, code, "%s: %s", what, spng_strerror(sret));
}

static void composite_row(uint8_t *rgb, const uint8_t *rgba, int width)
{
    for (int x = 0; x < width; x++) {
        unsigned a = rgba[4 * x + 3];
        for (int c = 0; c < 3; c++) {
            unsigned v = rgba[4 * x + c];
            rgb[3 * x + c] = (uint8_t)((v * a + BACKGROUND * (255 - a) + 127) / 255);
        }
    }
}

static int png_open(spng_ctx **out, struct spng_ihdr *ihdr, const uint8_t *bytes, size_t len,
                    dedup_error *err)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory creating a PNG decoder");
    /* Bound ancillary chunks so a file cannot make us buffer megabytes of text. */
    spng_set_chunk_limits(ctx, 1u << 24, 1u << 24);
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

static int decode_png(dedup_image *out, const uint8_t *bytes, size_t len,
                      const dedup_decode_options *opts, dedup_error *err)
{
    spng_ctx *ctx;
    struct spng_ihdr ihdr;
    int rc = png_open(&ctx, &ihdr, bytes, len, err);
    if (rc)
        return rc;
    if (ihdr.width > INT_MAX || ihdr.height > INT_MAX) {
        spng_ctx_free(ctx);
        return dedup_error_set(err, DEDUP_ETOOBIG, "PNG declares %ux%u pixels", ihdr.width,
                               ihdr.height);
    }
    int w = (int)ihdr.width, h = (int)ihdr.height;
    if ((rc = check_pixels(w, h, opts->max_pixels, err))) {
        spng_ctx_free(ctx);
        return rc;
    }
    size_t stride = (size_t)w * 3;
    uint8_t *pixels = malloc(stride * (size_t)h);
    uint8_t *row = malloc((size_t)w * 4);
    if (!pixels || !row) {
        free(pixels);
        free(row);
        spng_ctx_free(ctx);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %dx%d PNG", w, h);
    }
    /* Row by row, so only the RGB result is ever held whole. */
    int s = spng_decode_image(ctx, NULL, 0, SPNG_FMT_RGBA8,
                              SPNG_DECODE_TRNS | SPNG_DECODE_PROGRESSIVE);
    if (!s) {
        struct spng_row_info info;
        do {
            s = spng_get_row_info(ctx, &info);
            if (s)
                break;
            s = spng_decode_row(ctx, row, (size_t)w * 4);
            if (s && s != SPNG_EOI)
                break;
            /* Interlaced passes deliver partial rows; the last pass
             * completes each one, so compositing the whole row each time
             * leaves the final, complete pixels. */
            if (info.row_num < (uint32_t)h)
                composite_row(pixels + (size_t)info.row_num * stride, row, w);
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
    out->width = w;
    out->height = h;
    out->stride = stride;
    out->pixels = pixels;
    out->full_resolution = 1;
    out->source_width = w;
    out->source_height = h;
    return 0;
}

/* --- entry points ----------------------------------------------------- */

int dedup_decode_header(dedup_decoder *dec, dedup_image_info *out, const uint8_t *bytes,
                        size_t len, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->format = dedup_decode_sniff(bytes, len);
    int rc;
    switch (out->format) {
    case DEDUP_FORMAT_JPEG: {
        int cs;
        return jpeg_header(dec, bytes, len, &out->width, &out->height, &cs, err);
    }
    case DEDUP_FORMAT_PNG: {
        spng_ctx *ctx;
        struct spng_ihdr ihdr;
        if ((rc = png_open(&ctx, &ihdr, bytes, len, err)))
            return rc;
        spng_ctx_free(ctx);
        if (ihdr.width > INT_MAX || ihdr.height > INT_MAX)
            return dedup_error_set(err, DEDUP_ETOOBIG, "PNG declares %ux%u pixels", ihdr.width,
                                   ihdr.height);
        out->width = (int)ihdr.width;
        out->height = (int)ihdr.height;
        return 0;
    }
    default:
        return refuse_format(out->format, err);
    }
}

int dedup_decode_image(dedup_decoder *dec, dedup_image *out, const uint8_t *bytes, size_t len,
                       const dedup_decode_options *opts, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    dedup_decode_options defaults;
    if (!opts) {
        dedup_decode_options_init(&defaults);
        opts = &defaults;
    }
    if (len == 0)
        return dedup_error_set(err, DEDUP_EDECODE, "empty file");
    dedup_format f = dedup_decode_sniff(bytes, len);
    switch (f) {
    case DEDUP_FORMAT_JPEG:
        return decode_jpeg(dec, out, bytes, len, opts, err);
    case DEDUP_FORMAT_PNG:
        return decode_png(out, bytes, len, opts, err);
    default:
        return refuse_format(f, err);
    }
}
