/*
 * jpeg.c - JPEG to RGB8 through libjpeg-turbo's libjpeg API.
 *
 * We use the libjpeg API rather than TurboJPEG because only it exposes what
 * correct pixels need: the Adobe APP14 marker (which says whether CMYK is
 * stored inverted, as Photoshop writes it), the saved APP1 markers (EXIF
 * orientation), the sample precision (so a 12-bit file is refused by name),
 * and hooks for warnings and progress (so a corrupt or hostile file is
 * stopped at once).  Decoding options are TurboJPEG's defaults (ISLOW IDCT,
 * fancy upsampling, the same DCT scaling factors), so an ordinary JPEG
 * decodes to exactly the pixels it did through TurboJPEG.
 *
 * Errors: libjpeg reports fatal errors through error_exit, which must not
 * return; ours longjmps back to the call that started the work.  Locals of
 * that call are not trusted after the jump: what must be freed lives in a
 * struct reached through an unchanged pointer.
 *
 * Warnings that mean pixels were lost (the data ended early, a segment was
 * cut, a code was bad) are fatal too: libjpeg would fill the rest with grey
 * and we would hash a picture that is not the file's.  Harmless warnings
 * (extraneous bytes between markers, an unknown Adobe transform) are not.
 *
 * Memory and time: the header's dimensions are checked against the pixel
 * cap before libjpeg allocates anything image-sized.  A sequential JPEG
 * then needs a few rows; a progressive or multi-scan one needs libjpeg's
 * whole-image coefficient buffer (2 bytes per sample of the stored image),
 * which the cap bounds.  The number of scans is limited (as TurboJPEG's
 * TJFLAG_LIMITSCANS does) and more tightly for large images, since each
 * scan may revisit every block.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "decode/internal.h"

/* TurboJPEG's limit; real encoders write at most a few dozen scans. */
#define MAX_SCANS 500u
/* For large images, scans x stored pixels stays under this (a 179 MP image
 * may have 96 scans, a 12 MP photo all 500). */
#define SCAN_WORK_BUDGET (1ull << 34)
/* ... but never fewer than this, which covers every encoder's script. */
#define MIN_SCAN_LIMIT 32u
/* Rows handed to jpeg_read_scanlines at once. */
#define ROW_BATCH 16

struct dedup_jpeg_state {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    int reading_header; /* chooses the message prefix */
    unsigned scan_limit;
    int status; /* what a longjmp reports */
    char message[JMSG_LENGTH_MAX + 128];
};

/* What one decode allocated, so the error path can free it. */
typedef struct {
    uint8_t *pixels;
    uint8_t *row;
} jpeg_buffers;

static void fail_jump(dedup_jpeg_state *st, int status, const char *what)
{
    const char *prefix =
        st->reading_header ? "unreadable JPEG header" : "corrupt or truncated JPEG";
    st->status = status;
    if (status == DEDUP_EDECODE)
        snprintf(st->message, sizeof(st->message), "%s: %s", prefix, what);
    else
        snprintf(st->message, sizeof(st->message), "%s", what);
    longjmp(st->jump, 1);
}

static void on_error(j_common_ptr cinfo)
{
    dedup_jpeg_state *st = cinfo->client_data;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    char why[sizeof(text) + 96];
    int status = DEDUP_EDECODE;
    switch (cinfo->err->msg_code) {
    case JERR_BAD_PRECISION:
        /* Debian's libjpeg-turbo is built for 8-bit samples only. */
        status = DEDUP_EUNSUPPORTED;
        snprintf(why, sizeof(why), "%d-bit JPEG images are not supported (only 8-bit)",
                 cinfo->err->msg_parm.i[0]);
        break;
    case JERR_SOF_UNSUPPORTED:
        status = DEDUP_EUNSUPPORTED;
        snprintf(why, sizeof(why),
                 "lossless or hierarchical JPEG images (SOF marker 0x%02x) are not supported",
                 cinfo->err->msg_parm.i[0]);
        break;
    case JERR_CONVERSION_NOTIMPL:
        status = DEDUP_EUNSUPPORTED;
        snprintf(why, sizeof(why), "JPEG images with %d colour components are not supported",
                 ((j_decompress_ptr)cinfo)->num_components);
        break;
    case JERR_IMAGE_TOO_BIG:
    case JERR_WIDTH_OVERFLOW:
        status = DEDUP_ETOOBIG;
        snprintf(why, sizeof(why), "JPEG is too large: %s", text);
        break;
    case JERR_OUT_OF_MEMORY:
        status = DEDUP_ENOMEM;
        snprintf(why, sizeof(why), "out of memory decoding a JPEG: %s", text);
        break;
    default:
        snprintf(why, sizeof(why), "%s", text);
        break;
    }
    fail_jump(st, status, why);
}

static int is_data_loss(int code)
{
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
        return 1;
    default:
        return 0;
    }
}

/* level < 0 is a warning; >= 0 is trace output, which we never want. */
static void on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0 || !is_data_loss(cinfo->err->msg_code))
        return;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    fail_jump(cinfo->client_data, DEDUP_EDECODE, text);
}

/* libjpeg would print to stderr; a library must not. */
static void on_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    dedup_jpeg_state *st = cinfo->client_data;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > 0 && (unsigned)d->input_scan_number > st->scan_limit) {
        char why[128];
        snprintf(why, sizeof(why), "more than %u scans for a %ux%u image", st->scan_limit,
                 d->image_width, d->image_height);
        fail_jump(st, DEDUP_EDECODE, why);
    }
}

int dedup_decode_jpeg_new(dedup_jpeg_state **out, dedup_error *err)
{
    *out = NULL;
    dedup_jpeg_state *st = calloc(1, sizeof(*st));
    if (!st)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory creating a JPEG decoder");
    st->cinfo.err = jpeg_std_error(&st->jerr);
    st->jerr.error_exit = on_error;
    st->jerr.emit_message = on_message;
    st->jerr.output_message = on_output;
    st->cinfo.client_data = st;
    st->progress.progress_monitor = on_progress;
    /* jpeg_create_decompress allocates, and reports failure via error_exit. */
    if (setjmp(st->jump)) {
        int rc =
            dedup_error_set(err, DEDUP_ENOMEM, "cannot create a JPEG decoder: %s", st->message);
        jpeg_destroy_decompress(&st->cinfo);
        free(st);
        return rc;
    }
    jpeg_create_decompress(&st->cinfo);
    st->cinfo.progress = &st->progress;
    *out = st;
    return 0;
}

void dedup_decode_jpeg_free(dedup_jpeg_state *st)
{
    if (!st)
        return;
    jpeg_destroy_decompress(&st->cinfo);
    free(st);
}

/* The orientation from the first APP1 marker that holds EXIF. */
static int find_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return dedup_decode_exif_orientation(m->data, m->data_length);
    return 1;
}

/* Starts a decode: source, saved markers, header.  Must run under setjmp. */
static void read_header(dedup_jpeg_state *st, const uint8_t *bytes, size_t len)
{
    st->reading_header = 1;
    st->scan_limit = MAX_SCANS;
    jpeg_mem_src(&st->cinfo, bytes, (unsigned long)len);
    jpeg_save_markers(&st->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&st->cinfo, TRUE);
    st->reading_header = 0;
}

int dedup_decode_jpeg_header(dedup_jpeg_state *st, dedup_image_info *out, const uint8_t *bytes,
                             size_t len, dedup_error *err)
{
    if (len > ULONG_MAX)
        return dedup_error_set(err, DEDUP_ETOOBIG, "JPEG of %zu bytes is too large", len);
    if (setjmp(st->jump)) {
        jpeg_abort_decompress(&st->cinfo);
        return dedup_error_set(err, st->status, "%s", st->message);
    }
    read_header(st, bytes, len);
    out->width = (int)st->cinfo.image_width; /* libjpeg caps sides at 65500 */
    out->height = (int)st->cinfo.image_height;
    out->orientation = find_orientation(&st->cinfo);
    jpeg_abort_decompress(&st->cinfo);
    return 0;
}

/* The smallest DCT scale M/8 that keeps the shorter side >= min_side; never enlarge. */
static void pick_scale(j_decompress_ptr cinfo, int min_side)
{
    cinfo->scale_num = 8;
    cinfo->scale_denom = 8;
    if (min_side <= 0)
        return;
    for (unsigned m = 1; m < 8; m++) {
        unsigned long w = ((unsigned long)cinfo->image_width * m + 7) / 8;
        unsigned long h = ((unsigned long)cinfo->image_height * m + 7) / 8;
        if ((w < h ? w : h) >= (unsigned long)min_side) {
            cinfo->scale_num = m;
            return;
        }
    }
}

/*
 * Naive CMYK to RGB (no ICC profile, as browsers do without one).
 * Photoshop stores CMYK inverted (255 = no ink) and marks its files with an
 * Adobe APP14 marker; files without the marker store plain CMYK (0 = no
 * ink).  libjpeg has already turned YCCK back into CMYK of the same kind.
 */
static void cmyk_row(uint8_t *rgb, const uint8_t *cmyk, unsigned width, int inverted)
{
    for (unsigned x = 0; x < width; x++) {
        unsigned k = cmyk[4 * x + 3];
        if (!inverted)
            k = 255 - k;
        for (int c = 0; c < 3; c++) {
            unsigned v = cmyk[4 * x + c];
            if (!inverted)
                v = 255 - v;
            rgb[3 * x + c] = (uint8_t)((v * k + 127) / 255);
        }
    }
}

static int decode_run(dedup_jpeg_state *st, dedup_image *out, int *orientation,
                      const uint8_t *bytes, size_t len, const dedup_decode_options *opts,
                      jpeg_buffers *buf, dedup_error *err)
{
    j_decompress_ptr cinfo = &st->cinfo;
    if (setjmp(st->jump)) {
        free(buf->pixels);
        free(buf->row);
        buf->pixels = buf->row = NULL;
        jpeg_abort_decompress(cinfo);
        return dedup_error_set(err, st->status, "%s", st->message);
    }
    read_header(st, bytes, len);
    int rc = dedup_decode_check_pixels("JPEG", cinfo->image_width, cinfo->image_height,
                                       opts->max_pixels, err);
    if (rc) {
        jpeg_abort_decompress(cinfo);
        return rc;
    }
    uint64_t stored = (uint64_t)cinfo->image_width * cinfo->image_height;
    if (SCAN_WORK_BUDGET / stored < MAX_SCANS)
        st->scan_limit = SCAN_WORK_BUDGET / stored > MIN_SCAN_LIMIT
                             ? (unsigned)(SCAN_WORK_BUDGET / stored)
                             : MIN_SCAN_LIMIT;
    *orientation = find_orientation(cinfo);

    int cmyk = 0;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        jpeg_abort_decompress(cinfo);
        return dedup_error_set(err, DEDUP_EUNSUPPORTED,
                               "JPEG images with %d colour components are not supported",
                               cinfo->num_components);
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    pick_scale(cinfo, opts->min_side);
    jpeg_start_decompress(cinfo);

    unsigned w = cinfo->output_width, h = cinfo->output_height;
    size_t stride = (size_t)w * 3;
    buf->pixels = dedup_decode_alloc(w, h, 3);
    if (cmyk)
        buf->row = dedup_decode_alloc(w, 1, 4);
    if (!buf->pixels || (cmyk && !buf->row)) {
        free(buf->pixels);
        free(buf->row);
        buf->pixels = buf->row = NULL;
        jpeg_abort_decompress(cinfo);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %ux%u image", w, h);
    }
    while (cinfo->output_scanline < h) {
        JSAMPROW rows[ROW_BATCH];
        JDIMENSION want = 1, got;
        if (cmyk) {
            rows[0] = buf->row;
        } else {
            want = h - cinfo->output_scanline;
            if (want > ROW_BATCH)
                want = ROW_BATCH;
            for (JDIMENSION i = 0; i < want; i++)
                rows[i] = buf->pixels + (size_t)(cinfo->output_scanline + i) * stride;
        }
        JDIMENSION y = cinfo->output_scanline;
        got = jpeg_read_scanlines(cinfo, rows, want);
        if (got == 0) /* cannot happen with a memory source, but never spin */
            fail_jump(st, DEDUP_EDECODE, "decoder made no progress");
        if (cmyk)
            cmyk_row(buf->pixels + (size_t)y * stride, buf->row, w, cinfo->saw_Adobe_marker);
    }
    /* Reads to EOI, so a file cut after its last row still fails. */
    jpeg_finish_decompress(cinfo);
    free(buf->row);
    buf->row = NULL;
    out->width = (int)w;
    out->height = (int)h;
    out->stride = stride;
    out->pixels = buf->pixels;
    buf->pixels = NULL;
    out->source_width = (int)cinfo->image_width;
    out->source_height = (int)cinfo->image_height;
    out->full_resolution = (w == cinfo->image_width && h == cinfo->image_height);
    return 0;
}

int dedup_decode_jpeg(dedup_jpeg_state *st, dedup_image *out, int *orientation,
                      const uint8_t *bytes, size_t len, const dedup_decode_options *opts,
                      dedup_error *err)
{
    *orientation = 1;
    if (len > ULONG_MAX)
        return dedup_error_set(err, DEDUP_ETOOBIG, "JPEG of %zu bytes is too large", len);
    jpeg_buffers buf = {NULL, NULL};
    return decode_run(st, out, orientation, bytes, len, opts, &buf, err);
}
