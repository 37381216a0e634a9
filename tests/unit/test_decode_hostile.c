/*
 * test_decode_hostile.c - broken and hostile files are harmless: empty,
 * non-image and unsupported files are refused by name; truncation at any
 * offset never yields a partial picture; random and mutated bytes never
 * crash; decompression bombs are refused from the header, before any
 * allocation (checked under an address-space limit); tiny and extreme-aspect
 * images decode and hash; a decoder stays usable after any failure.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "imagegen.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static dedup_decoder *dec;

static int decode_with(dedup_image *out, const uint8_t *b, size_t n, uint64_t max_pixels,
                       dedup_error *err)
{
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    if (max_pixels)
        o.max_pixels = max_pixels;
    dedup_error_clear(err);
    return dedup_decode_image(dec, out, b, n, &o, err);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* One sample file per decoder path. */
typedef struct {
    const char *name;
    tg_buf file;
} sample;

#define NSAMPLES 9
static sample samples[NSAMPLES];

static void make_samples(void)
{
    dedup_image pic = tg_picture(48, 40, 31);
    tg_jpeg_opts prog = {80, TG_JPEG_YCC, 0, 0, 1, 0, 0, 1, NULL, 0};
    tg_jpeg_opts arith = {80, TG_JPEG_YCCK, 0, 1, 0, 1, 1, 0, NULL, 0};
    samples[0].name = "baseline JPEG";
    CHECK(tg_jpeg(&samples[0].file, &pic, NULL) == 0);
    samples[1].name = "progressive JPEG";
    CHECK(tg_jpeg(&samples[1].file, &pic, &prog) == 0);
    samples[2].name = "arithmetic YCCK JPEG with restarts";
    CHECK(tg_jpeg(&samples[2].file, &pic, &arith) == 0);
    samples[3].name = "PNG";
    CHECK(tg_png_rgb(&samples[3].file, &pic) == 0);
    uint16_t *s = malloc(48 * 40 * 2 * sizeof(*s));
    for (int i = 0; i < 48 * 40 * 2; i++)
        s[i] = (uint16_t)(i * 977 % 65536);
    tg_png_opts o;
    memset(&o, 0, sizeof(o));
    o.color_type = 4;
    o.bit_depth = 16;
    o.interlace = 1;
    o.samples = s;
    samples[4].name = "interlaced 16-bit grey+alpha PNG";
    CHECK(tg_png(&samples[4].file, 48, 40, &o) == 0);
    free(s);
    samples[5].name = "GIF";
    CHECK(tg_gif_rgb(&samples[5].file, &pic) == 0);
    samples[6].name = "lossy WebP";
    CHECK(tg_webp(&samples[6].file, &pic, NULL, 80) == 0);
    samples[7].name = "lossless WebP";
    CHECK(tg_webp(&samples[7].file, &pic, NULL, -1) == 0);
    tg_buf b1 = {0}, b2 = {0};
    dedup_image small = tg_picture(16, 8, 32);
    CHECK(tg_webp(&b1, &small, NULL, -1) == 0);
    CHECK(tg_webp(&b2, &pic, NULL, 50) == 0);
    samples[8].name = "animated WebP";
    CHECK(tg_webp_anim(&samples[8].file, 48, 40, &b1, 16, 8, 2, 4, &b2) == 0);
    tg_buf_free(&b1);
    tg_buf_free(&b2);
    dedup_image_free(&small);
    dedup_image_free(&pic);
}

/* --- refused by name ------------------------------------------------------ */

static void expect(const uint8_t *b, size_t n, int code, const char *needle, const char *what)
{
    dedup_image img;
    dedup_error err;
    int rc = decode_with(&img, b, n, 0, &err);
    if (rc != code || !strstr(err.msg, needle))
        dedup_test_fail(__FILE__, __LINE__, "%s: decode gave %d '%s', wanted %d '%s'", what, rc,
                        err.msg, code, needle);
    CHECK(img.pixels == NULL);
    dedup_image_info info;
    dedup_error_clear(&err);
    rc = dedup_decode_header(dec, &info, b, n, &err);
    if (rc != code || !strstr(err.msg, needle))
        dedup_test_fail(__FILE__, __LINE__, "%s: header gave %d '%s', wanted %d '%s'", what, rc,
                        err.msg, code, needle);
}

static void test_refusals(void)
{
    static const uint8_t nothing[1] = {0};
    expect(nothing, 0, DEDUP_EDECODE, "empty file", "zero bytes");
    static const char text[] = "This is a README, saved as photo.jpg by mistake.\n";
    expect((const uint8_t *)text, sizeof(text) - 1, DEDUP_EDECODE, "not a recognised image format",
           "text");
    uint8_t bmp[64] = {'B', 'M'};
    expect(bmp, sizeof(bmp), DEDUP_EUNSUPPORTED, "BMP images are not supported", "BMP");
    uint8_t tiff[64] = {'I', 'I', 42, 0, 8};
    expect(tiff, sizeof(tiff), DEDUP_EUNSUPPORTED, "TIFF images are not supported", "TIFF");
    uint8_t heic[32] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
    expect(heic, sizeof(heic), DEDUP_EUNSUPPORTED, "HEIF/AVIF images are not supported", "HEIC");
    uint8_t avif[32] = {0, 0, 0, 28, 'f', 't', 'y', 'p', 'a', 'v', 'i', 'f'};
    expect(avif, sizeof(avif), DEDUP_EUNSUPPORTED, "HEIF/AVIF images are not supported", "AVIF");
    uint8_t mp4[32] = {0, 0, 0, 28, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm'};
    expect(mp4, sizeof(mp4), DEDUP_EDECODE, "not a recognised image format", "MP4 video");
    uint8_t jxl[16] = {0xFF, 0x0A, 0xFA};
    expect(jxl, sizeof(jxl), DEDUP_EUNSUPPORTED, "JPEG XL images are not supported", "JPEG XL");
    uint8_t jp2[32] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', 13, 10, 0x87, 10};
    expect(jp2, sizeof(jp2), DEDUP_EUNSUPPORTED, "JPEG 2000 images are not supported", "JP2");
    /* The file name plays no part: a PNG's bytes are a PNG whatever it is
     * called, so there is no name to pass at all. */
}

/* --- truncation, random and mutated bytes --------------------------------- */

static int allowed_failure(int rc)
{
    return rc == DEDUP_EDECODE || rc == DEDUP_EUNSUPPORTED || rc == DEDUP_ETOOBIG;
}

/* Every prefix either fails with a reason or decodes to the whole picture
 * (a file cut only in bytes after its image, like a GIF trailer). */
static void test_truncation(void)
{
    for (int i = 0; i < NSAMPLES; i++) {
        const tg_buf *f = &samples[i].file;
        dedup_image full, img;
        dedup_error err;
        if (decode_with(&full, f->data, f->len, 0, &err)) {
            dedup_test_fail(__FILE__, __LINE__, "%s: %s", samples[i].name, err.msg);
            continue;
        }
        int whole = 0, failed = 0;
        for (size_t n = 0; n < f->len; n++) {
            uint8_t *cut = malloc(n ? n : 1);
            memcpy(cut, f->data, n);
            int rc = decode_with(&img, cut, n, 0, &err);
            if (rc == 0) {
                whole++;
                if (img.width != full.width || img.height != full.height ||
                    memcmp(img.pixels, full.pixels, (size_t)full.width * full.height * 3) != 0)
                    dedup_test_fail(__FILE__, __LINE__,
                                    "%s cut to %zu of %zu bytes decoded to a partial picture",
                                    samples[i].name, n, f->len);
                dedup_image_free(&img);
            } else {
                failed++;
                CHECK(img.pixels == NULL);
                if (!allowed_failure(rc) || !err.msg[0])
                    dedup_test_fail(__FILE__, __LINE__, "%s cut to %zu: code %d '%s'",
                                    samples[i].name, n, rc, err.msg);
            }
            free(cut);
        }
        printf("  %-36s %5zu bytes: %d prefixes refused, %d decoded whole\n", samples[i].name,
               f->len, failed, whole);
        CHECK(failed >= (int)f->len - 16);
        dedup_image_free(&full);
    }
}

static void test_random_and_mutated(void)
{
    static const struct {
        const char *magic;
        size_t len;
    } magics[] = {{"\xFF\xD8\xFF", 3},
                  {"\x89PNG\r\n\x1a\n", 8},
                  {"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16},
                  {"GIF87a", 6},
                  {"GIF89a", 6},
                  {"RIFF\x40\0\0\0WEBPVP8 ", 16},
                  {"RIFF\x40\0\0\0WEBPVP8L", 16},
                  {"RIFF\x40\0\0\0WEBPVP8X", 16}};
    uint32_t seed = 0x12345678;
    int decoded = 0, runs = 0;
    for (size_t m = 0; m < sizeof(magics) / sizeof(magics[0]); m++)
        for (int r = 0; r < 150; r++) {
            size_t n = magics[m].len + next_rand(&seed) % 600;
            uint8_t *b = malloc(n);
            memcpy(b, magics[m].magic, magics[m].len);
            for (size_t i = magics[m].len; i < n; i++)
                b[i] = (uint8_t)next_rand(&seed);
            dedup_image img;
            dedup_error err;
            int rc = decode_with(&img, b, n, 1u << 22, &err);
            runs++;
            if (rc == 0) {
                decoded++;
                CHECK(img.pixels && img.width > 0 && img.height > 0);
                dedup_image_free(&img);
            } else {
                CHECK(allowed_failure(rc));
            }
            dedup_image_info info;
            rc = dedup_decode_header(dec, &info, b, n, &err);
            CHECK(rc == 0 || allowed_failure(rc));
            free(b);
        }
    /* Mutations of valid files reach deeper than random bytes. */
    for (int i = 0; i < NSAMPLES; i++) {
        const tg_buf *f = &samples[i].file;
        for (int r = 0; r < 150; r++) {
            uint8_t *b = malloc(f->len);
            memcpy(b, f->data, f->len);
            int flips = 1 + (int)(next_rand(&seed) % 8);
            for (int k = 0; k < flips; k++)
                b[next_rand(&seed) % f->len] = (uint8_t)next_rand(&seed);
            dedup_image img;
            dedup_error err;
            int rc = decode_with(&img, b, f->len, 1u << 22, &err);
            runs++;
            if (rc == 0) {
                decoded++;
                CHECK(img.pixels && img.width > 0 && img.height > 0);
                dedup_image_free(&img);
            } else if (!allowed_failure(rc)) {
                dedup_test_fail(__FILE__, __LINE__, "%s mutated: code %d '%s'", samples[i].name, rc,
                                err.msg);
            }
            free(b);
        }
    }
    printf("  %d random or mutated files: %d decoded, the rest refused with a reason\n", runs,
           decoded);
}

/* --- bombs ------------------------------------------------------------------ */

#define NBOMBS 6
typedef struct {
    const char *name;
    tg_buf file;
    int width, height; /* as the header claims */
} bomb;

static void make_bombs(bomb b[NBOMBS])
{
    memset(b, 0, sizeof(bomb) * NBOMBS);
    /* PNG: IHDR 100000 x 100000 RGB, a small IDAT. */
    b[0].name = "PNG 100000x100000";
    b[0].width = b[0].height = 100000;
    uint8_t ihdr[13] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0};
    uint8_t idat[64];
    uLongf zl = sizeof(idat);
    uint8_t zeros[32] = {0};
    CHECK(compress2(idat, &zl, zeros, sizeof(zeros), 9) == Z_OK);
    CHECK(tg_buf_put(&b[0].file, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(tg_png_chunk(&b[0].file, "IHDR", ihdr, 13) == 0);
    CHECK(tg_png_chunk(&b[0].file, "IDAT", idat, zl) == 0);
    CHECK(tg_png_chunk(&b[0].file, "IEND", NULL, 0) == 0);

    /* JPEG: a 16x16 baseline file whose SOF claims 65500 x 65500. */
    dedup_image small = tg_picture(16, 16, 33);
    b[1].name = "JPEG 65500x65500";
    b[1].width = b[1].height = 65500;
    CHECK(tg_jpeg(&b[1].file, &small, NULL) == 0);
    for (size_t i = 2; i + 9 < b[1].file.len; i++)
        if (b[1].file.data[i] == 0xFF && b[1].file.data[i + 1] == 0xC0) {
            uint8_t *p = b[1].file.data + i + 5;
            p[0] = p[2] = 0xFF;
            p[1] = p[3] = 0xDC;
            break;
        }
    /* The same with progressive coding, whose whole-image coefficient
     * buffer would be the allocation. */
    tg_jpeg_opts prog = {90, TG_JPEG_YCC, 0, 0, 1, 0, 0, 0, NULL, 0};
    b[2].name = "progressive JPEG 65500x65500";
    b[2].width = b[2].height = 65500;
    CHECK(tg_jpeg(&b[2].file, &small, &prog) == 0);
    for (size_t i = 2; i + 9 < b[2].file.len; i++)
        if (b[2].file.data[i] == 0xFF && b[2].file.data[i + 1] == 0xC2) {
            uint8_t *p = b[2].file.data + i + 5;
            p[0] = p[2] = 0xFF;
            p[1] = p[3] = 0xDC;
            break;
        }
    /* GIF: a 65535 x 65535 screen around a 2x2 frame. */
    uint8_t idx[4] = {0, 1, 1, 0};
    static const uint8_t pal[6] = {0, 0, 0, 255, 255, 255};
    tg_gif_opts g;
    memset(&g, 0, sizeof(g));
    g.screen_w = g.screen_h = 65535;
    g.width = g.height = 2;
    g.indices = idx;
    g.palette = pal;
    g.colours = 2;
    g.transparent = -1;
    b[3].name = "GIF screen 65535x65535";
    b[3].width = b[3].height = 65535;
    CHECK(tg_gif(&b[3].file, &g) == 0);
    /* WebP lossless: a 16x16 file whose VP8L header claims 16384 x 16384. */
    b[4].name = "WebP 16384x16384";
    b[4].width = b[4].height = 16384;
    CHECK(tg_webp(&b[4].file, &small, NULL, -1) == 0);
    if (b[4].file.len > 25 && b[4].file.data[20] == 0x2F) {
        uint8_t *p = b[4].file.data + 21;
        p[0] = p[1] = p[2] = 0xFF;
        p[3] |= 0x0F;
    } else {
        dedup_test_fail(__FILE__, __LINE__, "no VP8L header where expected");
    }
    /* WebP animation: a 16383 x 16383 canvas around a small frame. */
    tg_buf frame = {0};
    CHECK(tg_webp(&frame, &small, NULL, -1) == 0);
    b[5].name = "animated WebP canvas 16383x16383";
    b[5].width = b[5].height = 16383;
    CHECK(tg_webp_anim(&b[5].file, 16383, 16383, &frame, 16, 16, 0, 0, &frame) == 0);
    tg_buf_free(&frame);
    dedup_image_free(&small);
}

/* In a child: refuse every bomb, with the reason, without the memory to
 * have allocated any of them.  Returns the number of failures. */
static int bombs_in_child(bomb b[NBOMBS], int limit_memory)
{
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (limit_memory) {
            /* 1 GiB of address space: any bomb's buffer (>= 12 GB) fails. */
            struct rlimit lim = {1ul << 30, 1ul << 30};
            setrlimit(RLIMIT_AS, &lim);
        }
        int bad = 0;
        for (int i = 0; i < NBOMBS; i++) {
            dedup_image img;
            dedup_error err;
            double t0 = now();
            int rc = decode_with(&img, b[i].file.data, b[i].file.len, 0, &err);
            double t = now() - t0;
            char dims[32];
            snprintf(dims, sizeof(dims), "%dx%d", b[i].width, b[i].height);
            if (rc != DEDUP_ETOOBIG || !strstr(err.msg, dims) || t > 0.5) {
                fprintf(stderr, "%s: code %d '%s' after %.3fs\n", b[i].name, rc, err.msg, t);
                bad++;
            }
            dedup_image_free(&img);
        }
        _exit(bad);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return 1;
    return WEXITSTATUS(status);
}

static void test_bombs(void)
{
    bomb b[NBOMBS];
    make_bombs(b);
    for (int i = 0; i < NBOMBS; i++) {
        /* The header still tells the claimed size: refusing is the
         * caller's decision, made with dedup_decode_image's cap. */
        dedup_image_info info;
        dedup_error err;
        int rc = dedup_decode_header(dec, &info, b[i].file.data, b[i].file.len, &err);
        if (rc)
            dedup_test_fail(__FILE__, __LINE__, "%s header: %s", b[i].name, err.msg);
        CHECK_EQ_INT(info.width, b[i].width);
        CHECK_EQ_INT(info.height, b[i].height);
    }
#ifdef UNDER_ASAN
    /* ASan reserves terabytes of address space: no RLIMIT_AS here. */
    int limit = 0;
#else
    int limit = 1;
#endif
    int bad = bombs_in_child(b, limit);
    if (bad)
        dedup_test_fail(__FILE__, __LINE__, "%d bomb(s) not refused cleanly", bad);
    for (int i = 0; i < NBOMBS; i++)
        tg_buf_free(&b[i].file);
}

/* A configured cap applies to every format, at exactly the limit. */
static void test_cap(void)
{
    dedup_image at = tg_picture(40, 25, 34), over = tg_picture(41, 25, 35);
    for (int fmt = 0; fmt < 4; fmt++) {
        tg_buf fa = {0}, fo = {0};
        const char *name = fmt == 0 ? "JPEG" : fmt == 1 ? "PNG" : fmt == 2 ? "GIF" : "WebP";
        switch (fmt) {
        case 0:
            CHECK(tg_jpeg(&fa, &at, NULL) == 0 && tg_jpeg(&fo, &over, NULL) == 0);
            break;
        case 1:
            CHECK(tg_png_rgb(&fa, &at) == 0 && tg_png_rgb(&fo, &over) == 0);
            break;
        case 2:
            CHECK(tg_gif_rgb(&fa, &at) == 0 && tg_gif_rgb(&fo, &over) == 0);
            break;
        default:
            CHECK(tg_webp(&fa, &at, NULL, 80) == 0 && tg_webp(&fo, &over, NULL, 80) == 0);
            break;
        }
        dedup_image img;
        dedup_error err;
        if (decode_with(&img, fa.data, fa.len, 1000, &err))
            dedup_test_fail(__FILE__, __LINE__, "%s at the cap: %s", name, err.msg);
        dedup_image_free(&img);
        int rc = decode_with(&img, fo.data, fo.len, 1000, &err);
        if (rc != DEDUP_ETOOBIG || !strstr(err.msg, "1025 pixels"))
            dedup_test_fail(__FILE__, __LINE__, "%s over the cap: %d '%s'", name, rc, err.msg);
        tg_buf_free(&fa);
        tg_buf_free(&fo);
    }
    dedup_image_free(&at);
    dedup_image_free(&over);
}

/* --- tiny and extreme shapes ---------------------------------------------- */

static int encode(tg_buf *f, int fmt, const dedup_image *img)
{
    switch (fmt) {
    case 0:
        return tg_jpeg(f, img, NULL);
    case 1:
        return tg_png_rgb(f, img);
    case 2:
        return tg_gif_rgb(f, img);
    default:
        return tg_webp(f, img, NULL, -1);
    }
}

static void test_shapes(void)
{
    static const char *const names[] = {"JPEG", "PNG", "GIF", "WebP lossless"};
    static const int shapes[][2] = {{1, 1}, {1, 10000}, {10000, 1}, {3, 2000}};
    for (int fmt = 0; fmt < 4; fmt++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            int w = shapes[s][0], h = shapes[s][1];
            dedup_image pic = tg_picture(w, h, 36);
            tg_buf f = {0};
            CHECK(encode(&f, fmt, &pic) == 0);
            dedup_image img;
            dedup_error err;
            if (decode_with(&img, f.data, f.len, 0, &err)) {
                dedup_test_fail(__FILE__, __LINE__, "%s %dx%d: %s", names[fmt], w, h, err.msg);
            } else {
                CHECK_EQ_INT(img.width, w);
                CHECK_EQ_INT(img.height, h);
                dedup_features feat;
                if (dedup_features_compute(&feat, f.data, f.len, &img, &err))
                    dedup_test_fail(__FILE__, __LINE__, "%s %dx%d features: %s", names[fmt], w, h,
                                    err.msg);
                else if (w == 1 && h == 1)
                    CHECK(feat.pdq.quality < DEDUP_PDQ_MIN_QUALITY);
                else if (fmt == 1)
                    printf("  %dx%d: perceptual quality %d\n", w, h, feat.pdq.quality);
                CHECK_EQ_INT(feat.width, w);
                CHECK(feat.has_pixel_hash);
                dedup_image_free(&img);
            }
            tg_buf_free(&f);
            dedup_image_free(&pic);
        }
    /* 1x1 of the same colour in PNG, GIF and lossless WebP: the same pixel
     * hash, so the exact key matches across formats where the perceptual
     * hash means nothing. */
    dedup_image dot = tg_solid(1, 1, 51, 102, 153); /* on the GIF colour cube */
    dedup_hash128 first = {0, 0};
    for (int fmt = 1; fmt < 4; fmt++) {
        tg_buf f = {0};
        CHECK(encode(&f, fmt, &dot) == 0);
        dedup_image img;
        dedup_error err;
        if (decode_with(&img, f.data, f.len, 0, &err) == 0) {
            dedup_hash128 h = dedup_pixel_hash(&img);
            if (fmt == 1)
                first = h;
            else if (h.lo != first.lo || h.hi != first.hi)
                dedup_test_fail(__FILE__, __LINE__, "1x1 %s pixel hash differs from PNG's",
                                names[fmt]);
            dedup_image_free(&img);
        } else {
            dedup_test_fail(__FILE__, __LINE__, "1x1 %s: %s", names[fmt], err.msg);
        }
        tg_buf_free(&f);
    }
    dedup_image_free(&dot);
}

/* After every kind of failure the same decoder still decodes exactly. */
static void test_reuse(void)
{
    const tg_buf *good = &samples[1].file;
    dedup_image want, got;
    dedup_error err;
    CHECK(decode_with(&want, good->data, good->len, 0, &err) == 0);
    for (int i = 0; i < NSAMPLES; i++) {
        const tg_buf *f = &samples[i].file;
        CHECK(decode_with(&got, f->data, f->len / 2, 0, &err) != 0);
        CHECK(decode_with(&got, good->data, good->len, 0, &err) == 0);
        CHECK_EQ_INT(tg_max_diff(&got, &want), 0);
        dedup_image_free(&got);
    }
    dedup_image_free(&want);
}

static void test_version(void)
{
    char v[DEDUP_DECODE_VERSION_MAX], tiny[8];
    dedup_error err;
    CHECK(dedup_decode_version(v, sizeof(v), &err) == 0);
    printf("  decoders: %s\n", v);
    CHECK(strstr(v, "libjpeg-turbo ") && strstr(v, "libspng ") && strstr(v, "libwebp ") &&
          strstr(v, "giflib "));
    CHECK_EQ_INT(dedup_decode_version(tiny, sizeof(tiny), &err), DEDUP_ETOOBIG);
}

int main(void)
{
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    make_samples();
    test_refusals();
    test_truncation();
    test_random_and_mutated();
    test_bombs();
    test_cap();
    test_shapes();
    test_reuse();
    test_version();
    for (int i = 0; i < NSAMPLES; i++)
        tg_buf_free(&samples[i].file);
    dedup_decoder_free(dec);
    return dedup_test_finish("test_decode_hostile");
}
