/*
 * test_decode_png.c - PNG decoding gives the picture a person sees: every
 * colour type and bit depth (1/2/4/8/16; grey, grey+alpha, RGB, RGBA,
 * palette with and without tRNS), interlaced exactly as non-interlaced,
 * 16-bit samples scaled not clipped, transparency composited so hidden
 * colour cannot change the hash, and the eXIf orientation applied, so a
 * picture and its rotated-by-tag twin have the same pixels.  Files are made
 * by hand here (imagegen.c), independently of libspng.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "imagegen.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 13 /* odd sizes: partial bytes at low bit depths, short Adam7 passes */
#define H 11

static dedup_decoder *dec;

static int decode(dedup_image *out, const tg_buf *file, dedup_error *err)
{
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = 0;
    dedup_error_clear(err);
    return dedup_decode_image(dec, out, file->data, file->len, &o, err);
}

static dedup_image decode_ok(const tg_buf *file, const char *what)
{
    dedup_image img;
    dedup_error err;
    if (decode(&img, file, &err))
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", what, err.msg);
    return img;
}

/* The 8-bit value of a sample at depth d, scaled with rounding. */
static double scale(unsigned v, int d)
{
    return (double)v * 255.0 / (double)((1u << d) - 1);
}

/* Composite over white, all in [0, 255]. */
static double over_white(double v, double a)
{
    return (v * a + 255.0 * (255.0 - a)) / 255.0;
}

static unsigned sample_value(unsigned x, unsigned y, unsigned c, int depth)
{
    unsigned max = (1u << depth) - 1;
    return (x * 7 + y * 13 + c * 29 + x * y) % (max + 1);
}

/* Decode one colour type / depth, interlaced and not, and compare with the
 * expected composite within one grey level (two for 16-bit alpha). */
static void check_type(int color_type, int depth)
{
    int ch = color_type == 2 ? 3 : color_type == 4 ? 2 : color_type == 6 ? 4 : 1;
    uint16_t *s = malloc(sizeof(*s) * W * H * (size_t)ch);
    uint8_t palette[256 * 3];
    int palette_len = color_type == 3 ? 1 << depth : 0;
    for (int i = 0; i < palette_len; i++) {
        palette[3 * i] = (uint8_t)(i * 37);
        palette[3 * i + 1] = (uint8_t)(255 - i * 11);
        palette[3 * i + 2] = (uint8_t)(i * 5 + 3);
    }
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            for (unsigned c = 0; c < (unsigned)ch; c++)
                s[(y * W + x) * ch + c] = (uint16_t)sample_value(x, y, c, depth);
    dedup_image want = tg_solid(W, H, 0, 0, 0);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++) {
            const uint16_t *p = s + (y * W + x) * ch;
            double rgb[3], a = 255;
            switch (color_type) {
            case 0:
            case 4:
                rgb[0] = rgb[1] = rgb[2] = scale(p[0], depth);
                if (color_type == 4)
                    a = scale(p[1], depth);
                break;
            case 3:
                for (int c = 0; c < 3; c++)
                    rgb[c] = palette[3 * p[0] + c];
                break;
            default:
                for (int c = 0; c < 3; c++)
                    rgb[c] = scale(p[c], depth);
                if (color_type == 6)
                    a = scale(p[3], depth);
                break;
            }
            for (int c = 0; c < 3; c++) {
                double v = over_white(rgb[c], a) + 0.5;
                want.pixels[(y * W + x) * 3 + c] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    dedup_image got[2];
    for (int interlace = 0; interlace < 2; interlace++) {
        tg_png_opts o;
        memset(&o, 0, sizeof(o));
        o.color_type = color_type;
        o.bit_depth = depth;
        o.interlace = interlace;
        o.samples = s;
        o.palette = palette_len ? palette : NULL;
        o.palette_len = palette_len;
        tg_buf f = {0};
        CHECK(tg_png(&f, W, H, &o) == 0);
        char what[64];
        snprintf(what, sizeof(what), "colour type %d, %d-bit%s", color_type, depth,
                 interlace ? ", interlaced" : "");
        got[interlace] = decode_ok(&f, what);
        int d = tg_max_diff(&got[interlace], &want);
        if (d < 0 || d > 1)
            dedup_test_fail(__FILE__, __LINE__, "%s: max difference %d from expected", what, d);
        tg_buf_free(&f);
    }
    CHECK_EQ_INT(tg_max_diff(&got[0], &got[1]), 0);
    dedup_image_free(&got[0]);
    dedup_image_free(&got[1]);
    dedup_image_free(&want);
    free(s);
}

static void test_color_types(void)
{
    static const int grey[] = {1, 2, 4, 8, 16}, pal[] = {1, 2, 4, 8}, deep[] = {8, 16};
    for (size_t i = 0; i < 5; i++)
        check_type(0, grey[i]);
    for (size_t i = 0; i < 4; i++)
        check_type(3, pal[i]);
    for (size_t i = 0; i < 2; i++) {
        check_type(2, deep[i]);
        check_type(4, deep[i]);
        check_type(6, deep[i]);
    }
}

/* 16-bit samples are scaled: 0x00FF is 1 (truncation gives 0, clipping 255),
 * 0x8000 is 128, 0xFF00 is 254 (truncation gives 255, the low byte 0). */
static void test_16bit_scaling(void)
{
    static const uint16_t values[] = {0x0000, 0x00FF, 0x0080, 0x8000, 0xFF00, 0xFFFF};
    static const uint8_t want[] = {0, 1, 0, 128, 254, 255};
    uint16_t s[6];
    memcpy(s, values, sizeof(s));
    tg_png_opts o;
    memset(&o, 0, sizeof(o));
    o.color_type = 0;
    o.bit_depth = 16;
    o.samples = s;
    tg_buf f = {0};
    CHECK(tg_png(&f, 6, 1, &o) == 0);
    dedup_image img = decode_ok(&f, "16-bit grey");
    for (int i = 0; img.pixels && i < 6; i++)
        if (img.pixels[3 * i] != want[i])
            dedup_test_fail(__FILE__, __LINE__, "16-bit 0x%04x gave %d, wanted %d", values[i],
                            img.pixels[3 * i], want[i]);
    dedup_image_free(&img);
    tg_buf_free(&f);
}

/* Colour under full transparency: two files that differ only there decode
 * to the same pixels (and pixel hash); partial alpha still blends. */
static void test_hidden_colour(void)
{
    /* RGBA 8-bit: pixel 0 transparent red vs transparent blue, pixel 1 half
     * transparent black. */
    uint16_t a[8] = {255, 0, 0, 0, 0, 0, 0, 128};
    uint16_t b[8] = {0, 0, 255, 0, 0, 0, 0, 128};
    dedup_image img[2];
    for (int i = 0; i < 2; i++) {
        tg_png_opts o;
        memset(&o, 0, sizeof(o));
        o.color_type = 6;
        o.bit_depth = 8;
        o.samples = i ? b : a;
        tg_buf f = {0};
        CHECK(tg_png(&f, 2, 1, &o) == 0);
        img[i] = decode_ok(&f, "RGBA hidden colour");
        tg_buf_free(&f);
    }
    if (img[0].pixels && img[1].pixels) {
        CHECK(memcmp(img[0].pixels, "\xff\xff\xff", 3) == 0);
        CHECK_EQ_INT(img[0].pixels[3], 127); /* 255 * 127 / 255 */
        dedup_hash128 h0 = dedup_pixel_hash(&img[0]), h1 = dedup_pixel_hash(&img[1]);
        CHECK(h0.lo == h1.lo && h0.hi == h1.hi);
    }
    dedup_image_free(&img[0]);
    dedup_image_free(&img[1]);

    /* Palette with tRNS: entry 1 fully transparent (its colour differs
     * between the two files), entry 2 half, entries past tRNS opaque. */
    uint16_t idx[4] = {0, 1, 2, 3};
    uint8_t trns[3] = {255, 0, 128};
    for (int i = 0; i < 2; i++) {
        uint8_t pal[12] = {10, 20, 30, 0, 0, 0, 0, 0, 0, 200, 100, 50};
        pal[3] = (uint8_t)(i ? 250 : 5); /* hidden colour of entry 1 */
        tg_png_opts o;
        memset(&o, 0, sizeof(o));
        o.color_type = 3;
        o.bit_depth = 2;
        o.samples = idx;
        o.palette = pal;
        o.palette_len = 4;
        o.trns = trns;
        o.trns_len = 3;
        tg_buf f = {0};
        CHECK(tg_png(&f, 4, 1, &o) == 0);
        img[i] = decode_ok(&f, "palette with tRNS");
        tg_buf_free(&f);
    }
    if (img[0].pixels && img[1].pixels) {
        CHECK(memcmp(img[0].pixels, "\x0a\x14\x1e\xff\xff\xff\x7f\x7f\x7f\xc8\x64\x32", 12) == 0);
        CHECK(memcmp(img[0].pixels, img[1].pixels, 12) == 0);
    }
    dedup_image_free(&img[0]);
    dedup_image_free(&img[1]);

    /* Grey and RGB tRNS name one transparent colour. */
    uint16_t g[2] = {7, 9};
    uint8_t gt[2] = {0, 7};
    tg_png_opts o;
    memset(&o, 0, sizeof(o));
    o.color_type = 0;
    o.bit_depth = 4;
    o.samples = g;
    o.trns = gt;
    o.trns_len = 2;
    tg_buf f = {0};
    CHECK(tg_png(&f, 2, 1, &o) == 0);
    dedup_image gi = decode_ok(&f, "grey with tRNS");
    if (gi.pixels)
        CHECK(memcmp(gi.pixels, "\xff\xff\xff\x99\x99\x99", 6) == 0);
    dedup_image_free(&gi);
    tg_buf_free(&f);
    uint16_t rgb[6] = {1, 2, 3, 1, 2, 4};
    uint8_t rt[6] = {0, 1, 0, 2, 0, 3};
    o.color_type = 2;
    o.bit_depth = 8;
    o.samples = rgb;
    o.trns = rt;
    o.trns_len = 6;
    CHECK(tg_png(&f, 2, 1, &o) == 0);
    gi = decode_ok(&f, "RGB with tRNS");
    if (gi.pixels)
        CHECK(memcmp(gi.pixels, "\xff\xff\xff\x01\x02\x04", 6) == 0);
    dedup_image_free(&gi);
    tg_buf_free(&f);
}

/* eXIf orientation: a picture and its rotated-by-tag twin have exactly the
 * same pixels, so the same pixel hash and perceptual hash. */
static void test_orientation(void)
{
    dedup_image shown = tg_picture(40, 24, 11);
    tg_buf plain = {0};
    CHECK(tg_png_rgb(&plain, &shown) == 0);
    dedup_image ref = decode_ok(&plain, "untagged");
    dedup_hash128 want = dedup_pixel_hash(&ref);
    for (int o = 1; o <= 8; o++) {
        dedup_image stored = tg_stored_for(&shown, o);
        size_t n = (size_t)stored.width * stored.height * 3;
        uint16_t *s = malloc(n * sizeof(*s));
        for (size_t i = 0; i < n; i++)
            s[i] = stored.pixels[i];
        tg_buf exif = {0};
        CHECK(tg_exif(&exif, o, o & 1, 3, 0) == 0);
        tg_png_opts po;
        memset(&po, 0, sizeof(po));
        po.color_type = 2;
        po.bit_depth = 8;
        po.samples = s;
        po.exif = exif.data;
        po.exif_len = exif.len;
        tg_buf f = {0};
        CHECK(tg_png(&f, stored.width, stored.height, &po) == 0);
        dedup_image_info info;
        dedup_error err;
        CHECK(dedup_decode_header(dec, &info, f.data, f.len, &err) == 0);
        CHECK_EQ_INT(info.orientation, o);
        CHECK_EQ_INT(info.width, stored.width);
        dedup_image img = decode_ok(&f, "tagged");
        CHECK_EQ_INT(tg_max_diff(&img, &ref), 0);
        dedup_hash128 got = dedup_pixel_hash(&img);
        CHECK(got.lo == want.lo && got.hi == want.hi);
        CHECK_EQ_INT(img.source_width, 40);
        CHECK_EQ_INT(img.source_height, 24);
        dedup_image_free(&img);

        /* The same block with a bad CRC, or garbage in place of EXIF, is
         * ignored: the pixels are as stored. */
        tg_buf g = {0};
        po.exif_bad_crc = 1;
        CHECK(tg_png(&g, stored.width, stored.height, &po) == 0);
        img = decode_ok(&g, "eXIf with a bad CRC");
        CHECK_EQ_INT(tg_max_diff(&img, &stored), 0);
        dedup_image_free(&img);
        tg_buf_free(&g);
        po.exif_bad_crc = 0;
        static const char *const garbage[] = {"MM\0*garbage", "hello world", "II"};
        static const size_t garbage_len[] = {11, 11, 2};
        for (int k = 0; k < 3; k++) {
            po.exif = (const uint8_t *)garbage[k];
            po.exif_len = garbage_len[k];
            CHECK(tg_png(&g, stored.width, stored.height, &po) == 0);
            img = decode_ok(&g, garbage[k]);
            CHECK_EQ_INT(tg_max_diff(&img, &stored), 0);
            dedup_image_free(&img);
            tg_buf_free(&g);
        }

        tg_buf_free(&f);
        tg_buf_free(&exif);
        free(s);
        dedup_image_free(&stored);
    }
    dedup_image_free(&ref);
    tg_buf_free(&plain);
    dedup_image_free(&shown);
}

int main(void)
{
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    test_color_types();
    test_16bit_scaling();
    test_hidden_colour();
    test_orientation();
    dedup_decoder_free(dec);
    return dedup_test_finish("test_decode_png");
}
