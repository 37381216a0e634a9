/*
 * imagegen.c - writers of small test images (see imagegen.h).  Test code:
 * failures print a reason and return -1; nothing here is used by git-dedup.
 */
#include "imagegen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <webp/encode.h>
#include <zlib.h>

static int oom(void)
{
    fprintf(stderr, "imagegen: out of memory\n");
    return -1;
}

void tg_buf_free(tg_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

int tg_buf_put(tg_buf *b, const void *bytes, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown)
            return oom();
        b->data = grown;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return 0;
}

int tg_buf_put_be32(tg_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return tg_buf_put(b, p, 4);
}

int tg_buf_put_le32(tg_buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return tg_buf_put(b, p, 4);
}

int tg_buf_put_le24(tg_buf *b, uint32_t v)
{
    uint8_t p[3] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16)};
    return tg_buf_put(b, p, 3);
}

int tg_buf_put_le16(tg_buf *b, uint32_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return tg_buf_put(b, p, 2);
}

/* --- pictures ------------------------------------------------------------- */

static dedup_image new_image(int w, int h)
{
    dedup_image img;
    memset(&img, 0, sizeof(img));
    img.pixels = malloc((size_t)w * (size_t)h * 3);
    if (!img.pixels)
        return img;
    img.width = img.source_width = w;
    img.height = img.source_height = h;
    img.stride = (size_t)w * 3;
    img.full_resolution = 1;
    return img;
}

dedup_image tg_picture(int w, int h, unsigned seed)
{
    dedup_image img = new_image(w, h);
    if (!img.pixels)
        return img;
    unsigned s = seed * 2654435761u + 12345u;
    /* Four rectangles placed by the seed, over two gradients. */
    int rx[4], ry[4], rw[4], rh[4];
    uint8_t rc[4][3];
    for (int i = 0; i < 4; i++) {
        s = s * 1664525u + 1013904223u;
        rx[i] = (int)((s >> 8) % (unsigned)w);
        s = s * 1664525u + 1013904223u;
        ry[i] = (int)((s >> 8) % (unsigned)h);
        rw[i] = w / 4 + 1;
        rh[i] = h / 3 + 1;
        for (int c = 0; c < 3; c++) {
            s = s * 1664525u + 1013904223u;
            rc[i][c] = (uint8_t)(s >> 24);
        }
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = img.pixels + (size_t)y * img.stride + 3 * (size_t)x;
            p[0] = (uint8_t)(255 * x / (w > 1 ? w - 1 : 1));
            p[1] = (uint8_t)(255 * y / (h > 1 ? h - 1 : 1));
            p[2] = (uint8_t)(((x / 8) ^ (y / 8)) & 1 ? 200 : 60);
            for (int i = 0; i < 4; i++)
                if (x >= rx[i] && x < rx[i] + rw[i] && y >= ry[i] && y < ry[i] + rh[i])
                    memcpy(p, rc[i], 3);
        }
    }
    return img;
}

dedup_image tg_solid(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    dedup_image img = new_image(w, h);
    for (size_t i = 0; img.pixels && i < (size_t)w * (size_t)h; i++) {
        img.pixels[3 * i] = r;
        img.pixels[3 * i + 1] = g;
        img.pixels[3 * i + 2] = b;
    }
    return img;
}

/*
 * EXIF 2.3, tag 0x0112, in its own words ("row 0 is the visual top, column
 * 0 the visual left" for 1, and so on).  For each stored pixel (sx, sy) in
 * a SW x SH image we say which displayed side stored row 0 and column 0
 * lie on, and derive the displayed position from that.
 */
dedup_image tg_stored_for(const dedup_image *shown, int o)
{
    int dw = shown->width, dh = shown->height;
    int swap = o >= 5;
    int sw = swap ? dh : dw, sh = swap ? dw : dh;
    dedup_image img = new_image(sw, sh);
    if (!img.pixels)
        return img;
    for (int sy = 0; sy < sh; sy++) {
        for (int sx = 0; sx < sw; sx++) {
            int dx, dy;
            switch (o) {
            case 2: /* row 0 top, column 0 right */
                dx = dw - 1 - sx, dy = sy;
                break;
            case 3: /* row 0 bottom, column 0 right */
                dx = dw - 1 - sx, dy = dh - 1 - sy;
                break;
            case 4: /* row 0 bottom, column 0 left */
                dx = sx, dy = dh - 1 - sy;
                break;
            case 5: /* row 0 left, column 0 top */
                dx = sy, dy = sx;
                break;
            case 6: /* row 0 right, column 0 top */
                dx = dw - 1 - sy, dy = sx;
                break;
            case 7: /* row 0 right, column 0 bottom */
                dx = dw - 1 - sy, dy = dh - 1 - sx;
                break;
            case 8: /* row 0 left, column 0 bottom */
                dx = sy, dy = dh - 1 - sx;
                break;
            default: /* row 0 top, column 0 left */
                dx = sx, dy = sy;
                break;
            }
            memcpy(img.pixels + (size_t)sy * img.stride + 3 * (size_t)sx,
                   shown->pixels + (size_t)dy * shown->stride + 3 * (size_t)dx, 3);
        }
    }
    return img;
}

double tg_mean_diff(const dedup_image *a, const dedup_image *b)
{
    if (!a->pixels || !b->pixels || a->width != b->width || a->height != b->height)
        return -1;
    double sum = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * 3; x++) {
            int d = a->pixels[(size_t)y * a->stride + x] - b->pixels[(size_t)y * b->stride + x];
            sum += d < 0 ? -d : d;
        }
    return sum / ((double)a->width * a->height * 3);
}

int tg_max_diff(const dedup_image *a, const dedup_image *b)
{
    if (!a->pixels || !b->pixels || a->width != b->width || a->height != b->height)
        return -1;
    int worst = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width * 3; x++) {
            int d = a->pixels[(size_t)y * a->stride + x] - b->pixels[(size_t)y * b->stride + x];
            if (d < 0)
                d = -d;
            if (d > worst)
                worst = d;
        }
    return worst;
}

/* --- EXIF ----------------------------------------------------------------- */

static int put16(tg_buf *b, unsigned v, int be)
{
    uint8_t p[2];
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
    return tg_buf_put(b, p, 2);
}

static int put32(tg_buf *b, uint32_t v, int be)
{
    return be ? tg_buf_put_be32(b, v) : tg_buf_put_le32(b, v);
}

int tg_exif(tg_buf *out, int orientation, int be, int type, int with_prefix)
{
    int rc = 0;
    if (with_prefix)
        rc |= tg_buf_put(out, "Exif\0\0", 6);
    rc |= tg_buf_put(out, be ? "MM" : "II", 2);
    rc |= put16(out, 42, be);
    rc |= put32(out, 8, be); /* IFD0 right after the header */
    rc |= put16(out, 2, be); /* two entries: a harmless one, then orientation */
    /* ImageDescription-free filler: XResolution-like SHORT tag 0x0100 (width). */
    rc |= put16(out, 0x0100, be);
    rc |= put16(out, 3, be);
    rc |= put32(out, 1, be);
    rc |= put16(out, 640, be);
    rc |= put16(out, 0, be);
    rc |= put16(out, 0x0112, be);
    rc |= put16(out, (unsigned)type, be);
    rc |= put32(out, 1, be);
    if (type == 4) {
        rc |= put32(out, (uint32_t)orientation, be);
    } else {
        rc |= put16(out, (unsigned)orientation, be);
        rc |= put16(out, 0, be);
    }
    rc |= put32(out, 0, be); /* no IFD1 */
    return rc ? -1 : 0;
}

/* --- JPEG ----------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
} tg_jpeg_err;

static void tg_jpeg_error(j_common_ptr cinfo)
{
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    fprintf(stderr, "imagegen: libjpeg: %s\n", msg);
    longjmp(((tg_jpeg_err *)cinfo->err)->jump, 1);
}

/* Naive RGB -> CMYK (ink amounts 0..255), the inverse of the decoder's. */
static void rgb_to_cmyk(const uint8_t *rgb, uint8_t *cmyk, int inverted)
{
    int r = rgb[0], g = rgb[1], b = rgb[2];
    int maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int k = 255 - maxc;
    int v[4];
    if (maxc == 0) {
        v[0] = v[1] = v[2] = 0;
    } else {
        v[0] = (maxc - r) * 255 / maxc;
        v[1] = (maxc - g) * 255 / maxc;
        v[2] = (maxc - b) * 255 / maxc;
    }
    v[3] = k;
    for (int i = 0; i < 4; i++)
        cmyk[i] = (uint8_t)(inverted ? 255 - v[i] : v[i]);
}

typedef struct {
    struct jpeg_compress_struct c;
    tg_jpeg_err err;
    unsigned char *mem;
    unsigned long mem_len;
    uint8_t *row;
} tg_jpeg_job;

static int jpeg_run(tg_jpeg_job *job, const dedup_image *rgb, const tg_jpeg_opts *o)
{
    struct jpeg_compress_struct *c = &job->c;
    if (setjmp(job->err.jump))
        return -1;
    jpeg_create_compress(c);
    jpeg_mem_dest(c, &job->mem, &job->mem_len);
    c->image_width = (JDIMENSION)rgb->width;
    c->image_height = (JDIMENSION)rgb->height;
    int four = o->color == TG_JPEG_CMYK || o->color == TG_JPEG_YCCK;
    c->input_components = four ? 4 : 3;
    c->in_color_space = four ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(c);
    switch (o->color) {
    case TG_JPEG_RGB:
        jpeg_set_colorspace(c, JCS_RGB); /* writes Adobe transform 0 */
        break;
    case TG_JPEG_YCC_ADOBE:
        c->write_Adobe_marker = TRUE;
        c->write_JFIF_header = FALSE;
        break;
    case TG_JPEG_GRAY:
        jpeg_set_colorspace(c, JCS_GRAYSCALE);
        break;
    case TG_JPEG_CMYK:
        jpeg_set_colorspace(c, JCS_CMYK);
        if (o->no_adobe)
            c->write_Adobe_marker = FALSE;
        break;
    case TG_JPEG_YCCK:
        jpeg_set_colorspace(c, JCS_YCCK);
        break;
    default:
        break;
    }
    jpeg_set_quality(c, o->quality ? o->quality : 90, TRUE);
    if (!o->subsample && o->color != TG_JPEG_GRAY)
        for (int i = 0; i < c->num_components; i++)
            c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
    if (o->progressive)
        jpeg_simple_progression(c);
    if (o->arithmetic)
        c->arith_code = TRUE;
    if (o->restart_rows)
        c->restart_in_rows = o->restart_rows;
    jpeg_start_compress(c, TRUE);
    if (o->app1)
        jpeg_write_marker(c, JPEG_APP0 + 1, o->app1, (unsigned)o->app1_len);
    job->row = malloc((size_t)rgb->width * 4);
    if (!job->row)
        return oom();
    while (c->next_scanline < c->image_height) {
        const uint8_t *src = rgb->pixels + (size_t)c->next_scanline * rgb->stride;
        if (four)
            for (int x = 0; x < rgb->width; x++)
                rgb_to_cmyk(src + 3 * x, job->row + 4 * x, o->inverted);
        else
            memcpy(job->row, src, (size_t)rgb->width * 3);
        JSAMPROW rows[1] = {job->row};
        jpeg_write_scanlines(c, rows, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

int tg_jpeg(tg_buf *out, const dedup_image *rgb, const tg_jpeg_opts *opts)
{
    tg_jpeg_opts defaults;
    memset(&defaults, 0, sizeof(defaults));
    const tg_jpeg_opts *o = opts ? opts : &defaults;
    tg_jpeg_job *job = calloc(1, sizeof(*job));
    if (!job)
        return oom();
    job->c.err = jpeg_std_error(&job->err.pub);
    job->err.pub.error_exit = tg_jpeg_error;
    int rc = jpeg_run(job, rgb, o);
    jpeg_destroy_compress(&job->c);
    if (rc == 0)
        rc = tg_buf_put(out, job->mem, job->mem_len);
    free(job->mem);
    free(job->row);
    free(job);
    return rc;
}

/* --- PNG ------------------------------------------------------------------ */

int tg_png_chunk(tg_buf *out, const char type[4], const uint8_t *data, size_t len)
{
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, (uInt)len);
    if (tg_buf_put_be32(out, (uint32_t)len) || tg_buf_put(out, type, 4) ||
        tg_buf_put(out, data, len) || tg_buf_put_be32(out, (uint32_t)crc))
        return -1;
    return 0;
}

static int channels_of(int color_type)
{
    switch (color_type) {
    case 2:
        return 3;
    case 4:
        return 2;
    case 6:
        return 4;
    default:
        return 1;
    }
}

/* Append one filtered (filter 0) scanline of the given pixels to raw. */
static int png_row(tg_buf *raw, const uint16_t *samples, int w, int y, int x0, int dx, int ch,
                   int depth)
{
    uint8_t zero = 0;
    if (tg_buf_put(raw, &zero, 1))
        return -1;
    unsigned acc = 0;
    int bits = 0;
    for (int x = x0; x < w; x += dx) {
        for (int c = 0; c < ch; c++) {
            unsigned v = samples[((size_t)y * w + x) * ch + c];
            if (depth == 16) {
                uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};
                if (tg_buf_put(raw, p, 2))
                    return -1;
            } else if (depth == 8) {
                uint8_t p = (uint8_t)v;
                if (tg_buf_put(raw, &p, 1))
                    return -1;
            } else {
                acc = acc << depth | (v & ((1u << depth) - 1));
                bits += depth;
                if (bits == 8) {
                    uint8_t p = (uint8_t)acc;
                    if (tg_buf_put(raw, &p, 1))
                        return -1;
                    acc = 0;
                    bits = 0;
                }
            }
        }
    }
    if (bits) {
        uint8_t p = (uint8_t)(acc << (8 - bits));
        if (tg_buf_put(raw, &p, 1))
            return -1;
    }
    return 0;
}

int tg_png(tg_buf *out, int w, int h, const tg_png_opts *o)
{
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, dx[7] = {8, 8, 4, 4, 2, 2, 1};
    static const int y0[7] = {0, 0, 4, 0, 2, 0, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    int ch = channels_of(o->color_type);
    tg_buf raw = {0};
    int rc = 0;
    if (o->interlace) {
        for (int p = 0; p < 7 && !rc; p++) {
            if (x0[p] >= w)
                continue;
            for (int y = y0[p]; y < h && !rc; y += dy[p])
                rc = png_row(&raw, o->samples, w, y, x0[p], dx[p], ch, o->bit_depth);
        }
    } else {
        for (int y = 0; y < h && !rc; y++)
            rc = png_row(&raw, o->samples, w, y, 0, 1, ch, o->bit_depth);
    }
    uLongf zlen = compressBound(raw.len);
    uint8_t *z = malloc(zlen);
    if (rc || !z || compress2(z, &zlen, raw.data, raw.len, 9) != Z_OK) {
        free(z);
        tg_buf_free(&raw);
        return -1;
    }
    tg_buf_free(&raw);
    uint8_t ihdr[13];
    tg_buf hb = {ihdr, 0, sizeof(ihdr)};
    tg_buf_put_be32(&hb, (uint32_t)w);
    tg_buf_put_be32(&hb, (uint32_t)h);
    ihdr[8] = (uint8_t)o->bit_depth;
    ihdr[9] = (uint8_t)o->color_type;
    ihdr[10] = ihdr[11] = 0;
    ihdr[12] = (uint8_t)(o->interlace ? 1 : 0);
    rc |= tg_buf_put(out, "\x89PNG\r\n\x1a\n", 8);
    rc |= tg_png_chunk(out, "IHDR", ihdr, 13);
    if (o->exif) {
        size_t at = out->len;
        rc |= tg_png_chunk(out, "eXIf", o->exif, o->exif_len);
        if (!rc && o->exif_bad_crc)
            out->data[at + 8 + o->exif_len] ^= 0x55;
    }
    if (o->palette)
        rc |= tg_png_chunk(out, "PLTE", o->palette, (size_t)o->palette_len * 3);
    if (o->trns)
        rc |= tg_png_chunk(out, "tRNS", o->trns, o->trns_len);
    rc |= tg_png_chunk(out, "IDAT", z, zlen);
    rc |= tg_png_chunk(out, "IEND", NULL, 0);
    free(z);
    return rc ? -1 : 0;
}

int tg_png_rgb(tg_buf *out, const dedup_image *img)
{
    size_t n = (size_t)img->width * (size_t)img->height * 3;
    uint16_t *s = malloc(n * sizeof(*s));
    if (!s)
        return oom();
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width * 3; x++)
            s[(size_t)y * img->width * 3 + x] = img->pixels[(size_t)y * img->stride + x];
    tg_png_opts o;
    memset(&o, 0, sizeof(o));
    o.color_type = 2;
    o.bit_depth = 8;
    o.samples = s;
    int rc = tg_png(out, img->width, img->height, &o);
    free(s);
    return rc;
}

/* --- WebP ----------------------------------------------------------------- */

int tg_webp(tg_buf *out, const dedup_image *rgb, const uint8_t *alpha, int q)
{
    uint8_t *enc = NULL;
    size_t n;
    if (alpha) {
        size_t count = (size_t)rgb->width * (size_t)rgb->height;
        uint8_t *rgba = malloc(count * 4);
        if (!rgba)
            return oom();
        for (size_t i = 0; i < count; i++) {
            memcpy(rgba + 4 * i, rgb->pixels + 3 * i, 3);
            rgba[4 * i + 3] = alpha[i];
        }
        n = q < 0 ? WebPEncodeLosslessRGBA(rgba, rgb->width, rgb->height, rgb->width * 4, &enc)
                  : WebPEncodeRGBA(rgba, rgb->width, rgb->height, rgb->width * 4, (float)q, &enc);
        free(rgba);
    } else {
        n = q < 0 ? WebPEncodeLosslessRGB(rgb->pixels, rgb->width, rgb->height, (int)rgb->stride,
                                          &enc)
                  : WebPEncodeRGB(rgb->pixels, rgb->width, rgb->height, (int)rgb->stride, (float)q,
                                  &enc);
    }
    if (!n) {
        fprintf(stderr, "imagegen: WebP encoding failed\n");
        return -1;
    }
    int rc = tg_buf_put(out, enc, n);
    WebPFree(enc);
    return rc;
}

/* The image chunks of a simple or extended WebP (ALPH, VP8, VP8L), in order. */
static int image_chunks(tg_buf *out, const tg_buf *webp)
{
    size_t pos = 12;
    while (pos + 8 <= webp->len) {
        const uint8_t *p = webp->data + pos;
        uint32_t n =
            (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        size_t whole = 8 + (size_t)n + (n & 1);
        if (pos + whole > webp->len)
            return -1;
        if (memcmp(p, "ALPH", 4) == 0 || memcmp(p, "VP8 ", 4) == 0 || memcmp(p, "VP8L", 4) == 0)
            if (tg_buf_put(out, p, whole))
                return -1;
        pos += whole;
    }
    return 0;
}

static int riff_wrap(tg_buf *out, const tg_buf *body)
{
    if (tg_buf_put(out, "RIFF", 4) || tg_buf_put_le32(out, (uint32_t)(body->len + 4)) ||
        tg_buf_put(out, "WEBP", 4) || tg_buf_put(out, body->data, body->len))
        return -1;
    return 0;
}

static int vp8x(tg_buf *b, uint8_t flags, int w, int h)
{
    uint8_t f[4] = {flags, 0, 0, 0};
    if (tg_buf_put(b, "VP8X", 4) || tg_buf_put_le32(b, 10) || tg_buf_put(b, f, 4) ||
        tg_buf_put_le24(b, (uint32_t)(w - 1)) || tg_buf_put_le24(b, (uint32_t)(h - 1)))
        return -1;
    return 0;
}

int tg_webp_with_exif(tg_buf *out, const tg_buf *simple, int w, int h, const uint8_t *exif,
                      size_t exif_len)
{
    tg_buf body = {0};
    int has_alpha = 0;
    for (size_t i = 12; i + 4 <= simple->len; i++)
        if (memcmp(simple->data + i, "ALPH", 4) == 0 || memcmp(simple->data + i, "VP8L", 4) == 0)
            has_alpha = 1; /* conservative: the flag only permits alpha */
    int rc = vp8x(&body, (uint8_t)(0x08 | (has_alpha ? 0x10 : 0)), w, h);
    rc |= image_chunks(&body, simple);
    rc |= tg_buf_put(&body, "EXIF", 4);
    rc |= tg_buf_put_le32(&body, (uint32_t)exif_len);
    rc |= tg_buf_put(&body, exif, exif_len);
    if (exif_len & 1)
        rc |= tg_buf_put(&body, "\0", 1);
    if (!rc)
        rc = riff_wrap(out, &body);
    tg_buf_free(&body);
    return rc ? -1 : 0;
}

static int anmf(tg_buf *body, const tg_buf *frame, int w, int h, int x, int y)
{
    tg_buf payload = {0};
    int rc = tg_buf_put_le24(&payload, (uint32_t)(x / 2));
    rc |= tg_buf_put_le24(&payload, (uint32_t)(y / 2));
    rc |= tg_buf_put_le24(&payload, (uint32_t)(w - 1));
    rc |= tg_buf_put_le24(&payload, (uint32_t)(h - 1));
    rc |= tg_buf_put_le24(&payload, 100); /* duration, ms */
    uint8_t flags = 0x02;                 /* do not blend: the frame replaces the canvas */
    rc |= tg_buf_put(&payload, &flags, 1);
    rc |= image_chunks(&payload, frame);
    rc |= tg_buf_put(body, "ANMF", 4);
    rc |= tg_buf_put_le32(body, (uint32_t)payload.len);
    rc |= tg_buf_put(body, payload.data, payload.len);
    tg_buf_free(&payload);
    return rc ? -1 : 0;
}

int tg_webp_anim(tg_buf *out, int cw, int ch, const tg_buf *frame1, int f1w, int f1h, int x1,
                 int y1, const tg_buf *frame2)
{
    tg_buf body = {0};
    int rc = vp8x(&body, 0x02 | 0x10, cw, ch); /* animation, alpha */
    rc |= tg_buf_put(&body, "ANIM", 4);
    rc |= tg_buf_put_le32(&body, 6);
    rc |= tg_buf_put_le32(&body, 0xff000000u); /* background: opaque black, which we ignore */
    rc |= tg_buf_put_le16(&body, 0);
    rc |= anmf(&body, frame1, f1w, f1h, x1, y1);
    rc |= anmf(&body, frame2, cw, ch, 0, 0);
    if (!rc)
        rc = riff_wrap(out, &body);
    tg_buf_free(&body);
    return rc ? -1 : 0;
}

/* --- GIF ------------------------------------------------------------------ */

static int gif_write(GifFileType *gif, const GifByteType *bytes, int n)
{
    return tg_buf_put(gif->UserData, bytes, (size_t)n) ? 0 : n;
}

static int put_frame(GifFileType *gif, int left, int top, int w, int h, int interlace,
                     const uint8_t *indices, ColorMapObject *local)
{
    if (EGifPutImageDesc(gif, left, top, w, h, interlace ? true : false, local) == GIF_ERROR)
        return -1;
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int p = 0; p < (interlace ? 4 : 1); p++) {
        int y0 = interlace ? start[p] : 0, dy = interlace ? step[p] : 1;
        for (int y = y0; y < h; y += dy)
            if (EGifPutLine(gif, (GifPixelType *)(indices + (size_t)y * w), w) == GIF_ERROR)
                return -1;
    }
    return 0;
}

int tg_gif(tg_buf *out, const tg_gif_opts *o)
{
    int error = 0;
    GifFileType *gif = EGifOpen(out, gif_write, &error);
    if (!gif) {
        fprintf(stderr, "imagegen: EGifOpen: %s\n", GifErrorString(error));
        return -1;
    }
    EGifSetGifVersion(gif, true);
    GifColorType colours[256];
    for (int i = 0; i < o->colours; i++) {
        colours[i].Red = o->palette[3 * i];
        colours[i].Green = o->palette[3 * i + 1];
        colours[i].Blue = o->palette[3 * i + 2];
    }
    ColorMapObject *map = GifMakeMapObject(o->colours, colours);
    int rc = map ? 0 : -1;
    if (!rc && EGifPutScreenDesc(gif, o->screen_w, o->screen_h, 8, 0, o->local_map ? NULL : map) ==
                   GIF_ERROR)
        rc = -1;
    if (!rc && o->transparent >= 0) {
        GraphicsControlBlock gcb = {0, false, 0, o->transparent};
        GifByteType ext[4];
        EGifGCBToExtension(&gcb, ext);
        if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, ext) == GIF_ERROR)
            rc = -1;
    }
    if (!rc)
        rc = put_frame(gif, o->left, o->top, o->width, o->height, o->interlace, o->indices,
                       o->local_map ? map : NULL);
    if (!rc && o->second_frame) {
        size_t n = (size_t)o->screen_w * (size_t)o->screen_h;
        uint8_t *other = malloc(n);
        if (!other)
            rc = -1;
        for (size_t i = 0; other && i < n; i++)
            other[i] = (uint8_t)((i * 7) % (size_t)o->colours);
        if (!rc)
            rc = put_frame(gif, 0, 0, o->screen_w, o->screen_h, 0, other, map);
        free(other);
    }
    if (EGifCloseFile(gif, &error) == GIF_ERROR) {
        fprintf(stderr, "imagegen: EGifCloseFile: %s\n", GifErrorString(error));
        rc = -1;
    }
    GifFreeMapObject(map);
    return rc;
}

int tg_gif_rgb(tg_buf *out, const dedup_image *img)
{
    uint8_t palette[256 * 3] = {0};
    for (int i = 0; i < 216; i++) {
        palette[3 * i] = (uint8_t)(i / 36 * 51);
        palette[3 * i + 1] = (uint8_t)(i / 6 % 6 * 51);
        palette[3 * i + 2] = (uint8_t)(i % 6 * 51);
    }
    size_t n = (size_t)img->width * (size_t)img->height;
    uint8_t *idx = malloc(n);
    if (!idx)
        return oom();
    /* 4x4 ordered dithering keeps local averages, as real GIF converters'
     * dithering does, so the copy looks like the photo from afar. */
    static const int bayer[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            const uint8_t *p = img->pixels + (size_t)y * img->stride + 3 * (size_t)x;
            int q[3];
            for (int c = 0; c < 3; c++) {
                int v = p[c] * 5 * 16 + (bayer[y & 3][x & 3] * 2 + 1) * 255 / 2;
                q[c] = v / (255 * 16);
                if (q[c] > 5)
                    q[c] = 5;
            }
            idx[(size_t)y * img->width + x] = (uint8_t)(q[0] * 36 + q[1] * 6 + q[2]);
        }
    tg_gif_opts o;
    memset(&o, 0, sizeof(o));
    o.screen_w = o.width = img->width;
    o.screen_h = o.height = img->height;
    o.indices = idx;
    o.palette = palette;
    o.colours = 256;
    o.transparent = -1;
    int rc = tg_gif(out, &o);
    free(idx);
    return rc;
}
