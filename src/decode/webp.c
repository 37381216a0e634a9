/*
 * webp.c - WebP to RGB8 through libwebp (lossy, lossless, alpha, and the
 * first frame of an animation) with libwebpdemux for the container.
 *
 * The demuxer gives the canvas size, the first frame and the EXIF chunk
 * without copying; it refuses a file whose chunks are cut short, so a
 * truncated WebP fails here rather than decoding to part of a picture.
 *
 * A still image whose shorter side is well above min_side is decoded with
 * libwebp's own scaler, by an integer factor of at most 8, the way JPEGs
 * use DCT scaling: the perceptual hash needs no more, and the output (and,
 * for lossy files, all of the decoder's memory) shrinks accordingly.
 * Lossless files keep a full-size ARGB buffer inside libwebp whatever the
 * output size; the pixel cap, checked before decoding, bounds it.
 *
 * The first frame of an animation is drawn as a browser shows it before
 * playback: at its offset on the canvas, over the fixed background, with
 * its alpha composited (no scaling there: animations are small).
 *
 * EXIF orientation from the EXIF chunk is applied as for JPEG: cwebp keeps
 * a photo's EXIF (with -metadata) but not its rotation, so the tag is what
 * makes a converted photo look as the original does.
 */
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "decode/internal.h"

/* Same bound as JPEG's 1/8 DCT scaling. */
#define MAX_SCALE_DIVISOR 8

typedef struct {
    WebPDemuxer *demux;
    WebPIterator frame;
    int have_frame;
    uint32_t canvas_w, canvas_h;
} webp_file;

static void webp_close(webp_file *f)
{
    if (f->have_frame)
        WebPDemuxReleaseIterator(&f->frame);
    WebPDemuxDelete(f->demux);
    memset(f, 0, sizeof(*f));
}

static int webp_open(webp_file *f, const uint8_t *bytes, size_t len, dedup_error *err)
{
    memset(f, 0, sizeof(*f));
    WebPData data = {bytes, len};
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    /* The partial form only to tell a cut file from a malformed one. */
    f->demux = WebPDemuxPartial(&data, &state);
    if (!f->demux || state != WEBP_DEMUX_DONE) {
        webp_close(f);
        return dedup_error_set(err, DEDUP_EDECODE, "%s WebP",
                               state == WEBP_DEMUX_PARSE_ERROR ? "corrupt" : "truncated");
    }
    f->canvas_w = WebPDemuxGetI(f->demux, WEBP_FF_CANVAS_WIDTH);
    f->canvas_h = WebPDemuxGetI(f->demux, WEBP_FF_CANVAS_HEIGHT);
    if (!WebPDemuxGetFrame(f->demux, 1, &f->frame)) {
        webp_close(f);
        return dedup_error_set(err, DEDUP_EDECODE, "WebP contains no image");
    }
    f->have_frame = 1;
    return 0;
}

static int webp_orientation(const webp_file *f)
{
    if (!(WebPDemuxGetI(f->demux, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG))
        return 1;
    WebPChunkIterator chunk;
    int orientation = 1;
    if (WebPDemuxGetChunk(f->demux, "EXIF", 1, &chunk)) {
        orientation = dedup_decode_exif_orientation(chunk.chunk.bytes, chunk.chunk.size);
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    return orientation;
}

int dedup_decode_webp_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                             dedup_error *err)
{
    webp_file f;
    int rc = webp_open(&f, bytes, len, err);
    if (rc)
        return rc;
    /* WebP sides are at most 2^24, so they fit an int. */
    out->width = (int)f.canvas_w;
    out->height = (int)f.canvas_h;
    out->orientation = webp_orientation(&f);
    webp_close(&f);
    return 0;
}

static int status_error(VP8StatusCode s, dedup_error *err)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory decoding a WebP");
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return dedup_error_set(err, DEDUP_EUNSUPPORTED, "WebP uses a feature libwebp lacks");
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return dedup_error_set(err, DEDUP_EDECODE, "truncated WebP");
    default:
        return dedup_error_set(err, DEDUP_EDECODE, "corrupt WebP (libwebp status %d)", (int)s);
    }
}

/* The largest divisor <= 8 that keeps the shorter side >= min_side. */
static int pick_divisor(int w, int h, int min_side)
{
    if (min_side <= 0)
        return 1;
    int best = 1;
    for (int k = 2; k <= MAX_SCALE_DIVISOR; k++) {
        int sw = (w + k - 1) / k, sh = (h + k - 1) / k;
        if ((sw < sh ? sw : sh) >= min_side)
            best = k;
    }
    return best;
}

/* RGBA to RGB over the background, in place (each write lands at or before
 * the read it depends on). */
static void flatten_in_place(uint8_t *px, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        uint8_t r = px[4 * i], g = px[4 * i + 1], b = px[4 * i + 2], a = px[4 * i + 3];
        px[3 * i] = dedup_decode_blend8(r, a);
        px[3 * i + 1] = dedup_decode_blend8(g, a);
        px[3 * i + 2] = dedup_decode_blend8(b, a);
    }
}

int dedup_decode_webp(dedup_image *out, int *orientation, const uint8_t *bytes, size_t len,
                      const dedup_decode_options *opts, dedup_error *err)
{
    *orientation = 1;
    webp_file f;
    int rc = webp_open(&f, bytes, len, err);
    if (rc)
        return rc;
    const WebPIterator *it = &f.frame;
    if ((rc = dedup_decode_check_pixels("WebP", f.canvas_w, f.canvas_h, opts->max_pixels, err)) ||
        (rc = dedup_decode_check_pixels("WebP", (uint32_t)it->width, (uint32_t)it->height,
                                        opts->max_pixels, err))) {
        webp_close(&f);
        return rc;
    }
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        webp_close(&f);
        return dedup_error_set(err, DEDUP_EINVAL, "libwebp does not match its headers");
    }
    VP8StatusCode s = WebPGetFeatures(it->fragment.bytes, it->fragment.size, &config.input);
    if (s != VP8_STATUS_OK || config.input.width != it->width ||
        config.input.height != it->height) {
        webp_close(&f);
        return s != VP8_STATUS_OK
                   ? status_error(s, err)
                   : dedup_error_set(err, DEDUP_EDECODE, "corrupt WebP: frame size disagrees");
    }
    int fw = it->width, fh = it->height;
    const size_t canvas_w = f.canvas_w, canvas_h = f.canvas_h;
    /* libwebpdemux checks this too; the copy below must not rely on it. */
    if (it->x_offset < 0 || it->y_offset < 0 || (size_t)it->x_offset + (size_t)fw > canvas_w ||
        (size_t)it->y_offset + (size_t)fh > canvas_h) {
        webp_close(&f);
        return dedup_error_set(err, DEDUP_EDECODE, "corrupt WebP: frame outside its canvas");
    }
    int whole = it->x_offset == 0 && it->y_offset == 0 && (uint32_t)fw == f.canvas_w &&
                (uint32_t)fh == f.canvas_h;
    int alpha = config.input.has_alpha;
    int ow = fw, oh = fh;
    if (whole && it->num_frames == 1) {
        int k = pick_divisor(fw, fh, opts->min_side);
        if (k > 1) {
            ow = (fw + k - 1) / k;
            oh = (fh + k - 1) / k;
            config.options.use_scaling = 1;
            config.options.scaled_width = ow;
            config.options.scaled_height = oh;
        }
    }
    size_t bpp = alpha ? 4 : 3;
    uint8_t *frame_px = dedup_decode_alloc((size_t)ow, (size_t)oh, bpp);
    if (!frame_px) {
        webp_close(&f);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %dx%d WebP", ow, oh);
    }
    config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = frame_px;
    config.output.u.RGBA.stride = (int)((size_t)ow * bpp);
    config.output.u.RGBA.size = (size_t)ow * (size_t)oh * bpp;
    s = WebPDecode(it->fragment.bytes, it->fragment.size, &config);
    WebPFreeDecBuffer(&config.output); /* a no-op for external memory, but the API's pairing */
    if (s != VP8_STATUS_OK) {
        free(frame_px);
        webp_close(&f);
        return status_error(s, err);
    }
    uint8_t *pixels = frame_px;
    size_t cw = ow, ch = oh;
    if (whole) {
        if (alpha) {
            flatten_in_place(frame_px, (size_t)ow * (size_t)oh);
            uint8_t *smaller = realloc(frame_px, (size_t)ow * (size_t)oh * 3);
            pixels = smaller ? smaller : frame_px;
        }
    } else {
        cw = canvas_w;
        ch = canvas_h;
        pixels = dedup_decode_alloc(cw, ch, 3);
        if (!pixels) {
            free(frame_px);
            webp_close(&f);
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %zux%zu WebP", cw, ch);
        }
        memset(pixels, DEDUP_DECODE_BACKGROUND, cw * ch * 3);
        for (size_t y = 0; y < (size_t)fh; y++) {
            uint8_t *dst = pixels + ((y + (size_t)it->y_offset) * cw + (size_t)it->x_offset) * 3;
            const uint8_t *src = frame_px + y * (size_t)fw * bpp;
            for (size_t x = 0; x < (size_t)fw; x++, dst += 3, src += bpp)
                for (int c = 0; c < 3; c++)
                    dst[c] = alpha ? dedup_decode_blend8(src[c], src[3]) : src[c];
        }
        free(frame_px);
    }
    *orientation = webp_orientation(&f);
    webp_close(&f);
    out->width = (int)cw;
    out->height = (int)ch;
    out->stride = cw * 3;
    out->pixels = pixels;
    out->source_width = (int)canvas_w;
    out->source_height = (int)canvas_h;
    out->full_resolution = cw == canvas_w && ch == canvas_h;
    return 0;
}
