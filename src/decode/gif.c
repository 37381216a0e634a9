/*
 * gif.c - the first frame of a GIF to RGB8 through giflib.
 *
 * Datasets hold GIFs mostly as stills; for an animation the first frame is
 * what a thumbnail, a viewer before playback and most dataset loaders show.
 *
 * The frame is composited onto its canvas as a browser draws it: the
 * canvas is the logical screen, enlarged to hold the frame when the frame
 * sticks out of it (browsers do the same for a first frame); the frame sits
 * at its offset; canvas outside the frame and transparent pixels are the
 * fixed background (the GIF's own background colour is ignored, as browsers
 * do).  A palette index past the end of the colour table is black.
 *
 * We read record by record with DGifGetLine instead of DGifSlurp, which
 * would decode and keep every frame: memory is the RGB canvas plus one line,
 * and the canvas size is checked against the pixel cap before either is
 * allocated.  Nothing after the first frame is read, so a damaged later
 * frame does not matter, but a damaged first frame is an error, not a
 * partial picture.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

#include "decode/internal.h"

typedef struct {
    const uint8_t *bytes;
    size_t len, pos;
} gif_source;

static int gif_read(GifFileType *gif, GifByteType *buf, int n)
{
    gif_source *src = gif->UserData;
    if (n <= 0)
        return 0;
    size_t k = src->len - src->pos;
    if ((size_t)n < k)
        k = (size_t)n;
    memcpy(buf, src->bytes + src->pos, k);
    src->pos += k;
    return (int)k;
}

static int gif_fail(GifFileType *gif, const char *what, int code, dedup_error *err)
{
    int gif_err = gif ? gif->Error : code;
    const char *why = GifErrorString(gif_err);
    if (gif)
        DGifCloseFile(gif, NULL);
    return dedup_error_set(err, DEDUP_EDECODE, "%s: %s", what, why ? why : "unknown error");
}

typedef struct {
    GifFileType *gif;
    int transparent; /* palette index, -1 for none */
    size_t canvas_w, canvas_h;
} gif_frame;

/*
 * Open the GIF and read up to the first image's descriptor, remembering the
 * transparency of the last Graphic Control Extension before it.  On success
 * the caller owns frame->gif.
 */
static int open_first_frame(gif_frame *frame, gif_source *src, dedup_error *err)
{
    int code = 0;
    frame->transparent = -1;
    GifFileType *gif = DGifOpen(src, gif_read, &code);
    if (!gif)
        return gif_fail(NULL, "unreadable GIF header", code, err);
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR)
            return gif_fail(gif, "corrupt or truncated GIF", 0, err);
        if (type == IMAGE_DESC_RECORD_TYPE)
            break;
        if (type == TERMINATE_RECORD_TYPE) {
            DGifCloseFile(gif, NULL);
            return dedup_error_set(err, DEDUP_EDECODE, "GIF contains no image");
        }
        if (type != EXTENSION_RECORD_TYPE)
            continue;
        int ext_code;
        GifByteType *ext;
        if (DGifGetExtension(gif, &ext_code, &ext) == GIF_ERROR)
            return gif_fail(gif, "corrupt or truncated GIF", 0, err);
        if (ext_code == GRAPHICS_EXT_FUNC_CODE && ext) {
            GraphicsControlBlock gcb;
            if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
                frame->transparent = gcb.TransparentColor;
        }
        while (ext) {
            if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR)
                return gif_fail(gif, "corrupt or truncated GIF", 0, err);
        }
    }
    /* The header only, not DGifGetImageDesc: that also starts giflib's list
     * of saved images, which we do not use. */
    if (DGifGetImageHeader(gif) == GIF_ERROR)
        return gif_fail(gif, "corrupt or truncated GIF", 0, err);
    const GifImageDesc *d = &gif->Image;
    if (d->Left < 0 || d->Top < 0 || d->Width < 0 || d->Height < 0) {
        DGifCloseFile(gif, NULL);
        return dedup_error_set(err, DEDUP_EDECODE, "GIF frame has a negative size or offset");
    }
    size_t right = (size_t)d->Left + (size_t)d->Width;
    size_t bottom = (size_t)d->Top + (size_t)d->Height;
    frame->canvas_w = gif->SWidth > 0 && (size_t)gif->SWidth > right ? (size_t)gif->SWidth : right;
    frame->canvas_h =
        gif->SHeight > 0 && (size_t)gif->SHeight > bottom ? (size_t)gif->SHeight : bottom;
    frame->gif = gif;
    return 0;
}

int dedup_decode_gif_header(dedup_image_info *out, const uint8_t *bytes, size_t len,
                            dedup_error *err)
{
    gif_source src = {bytes, len, 0};
    gif_frame frame;
    int rc = open_first_frame(&frame, &src, err);
    if (rc)
        return rc;
    DGifCloseFile(frame.gif, NULL);
    /* Sides are 16-bit in GIF, so the canvas is at most 2 * 65535 wide. */
    out->width = (int)frame.canvas_w;
    out->height = (int)frame.canvas_h;
    return 0;
}

/* Interlaced GIFs store rows in four passes: every 8th from 0, every 8th
 * from 4, every 4th from 2, every 2nd from 1. */
static size_t interlaced_row(size_t i, size_t height)
{
    static const size_t start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int p = 0; p < 4; p++) {
        size_t rows = height > start[p] ? (height - start[p] + step[p] - 1) / step[p] : 0;
        if (i < rows)
            return start[p] + i * step[p];
        i -= rows;
    }
    return height; /* unreachable for i < height */
}

int dedup_decode_gif(dedup_image *out, const uint8_t *bytes, size_t len,
                     const dedup_decode_options *opts, dedup_error *err)
{
    gif_source src = {bytes, len, 0};
    gif_frame frame;
    int rc = open_first_frame(&frame, &src, err);
    if (rc)
        return rc;
    GifFileType *gif = frame.gif;
    if ((rc = dedup_decode_check_pixels("GIF", frame.canvas_w, frame.canvas_h, opts->max_pixels,
                                        err))) {
        DGifCloseFile(gif, NULL);
        return rc;
    }
    const GifImageDesc *d = &gif->Image;
    const ColorMapObject *map = d->ColorMap ? d->ColorMap : gif->SColorMap;
    if (!map || !map->Colors || map->ColorCount <= 0) {
        DGifCloseFile(gif, NULL);
        return dedup_error_set(err, DEDUP_EDECODE, "GIF frame has no colour table");
    }
    size_t cw = frame.canvas_w, ch = frame.canvas_h;
    size_t fw = (size_t)d->Width, fh = (size_t)d->Height;
    uint8_t *pixels = dedup_decode_alloc(cw, ch, 3);
    uint8_t *line = fw ? malloc(fw) : NULL;
    if (!pixels || (fw && !line)) {
        free(pixels);
        free(line);
        DGifCloseFile(gif, NULL);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a %zux%zu GIF", cw, ch);
    }
    memset(pixels, DEDUP_DECODE_BACKGROUND, cw * ch * 3);
    /* giflib wants an int length; frame sides are 16-bit. */
    for (size_t i = 0; i < fh && fw; i++) {
        if (DGifGetLine(gif, line, (int)fw) == GIF_ERROR) {
            free(pixels);
            free(line);
            return gif_fail(gif, "corrupt or truncated GIF", 0, err);
        }
        size_t y = (size_t)d->Top + (d->Interlace ? interlaced_row(i, fh) : i);
        uint8_t *dst = pixels + (y * cw + (size_t)d->Left) * 3;
        for (size_t x = 0; x < fw; x++, dst += 3) {
            int idx = line[x];
            if (idx == frame.transparent)
                continue;
            if (idx >= map->ColorCount) {
                dst[0] = dst[1] = dst[2] = 0;
                continue;
            }
            dst[0] = map->Colors[idx].Red;
            dst[1] = map->Colors[idx].Green;
            dst[2] = map->Colors[idx].Blue;
        }
    }
    free(line);
    DGifCloseFile(gif, NULL);
    out->width = (int)cw;
    out->height = (int)ch;
    out->stride = cw * 3;
    out->pixels = pixels;
    out->full_resolution = 1;
    out->source_width = (int)cw;
    out->source_height = (int)ch;
    return 0;
}
