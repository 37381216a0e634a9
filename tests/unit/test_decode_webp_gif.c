/*
 * test_decode_webp_gif.c - WebP (lossy, lossless, alpha, scaled, EXIF
 * orientation, the first frame of an animation) and GIF (palette,
 * transparency, interlace, frames offset on or sticking out of the logical
 * screen, local colour tables, only the first frame) decode to the picture
 * a person sees; a WebP or GIF copy of a photo is a near duplicate of the
 * JPEG, and of nothing else.  Files are made here with libwebp and giflib
 * (imagegen.c).
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "imagegen.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dedup_decoder *dec;

static int decode(dedup_image *out, const tg_buf *file, int min_side, dedup_error *err)
{
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = min_side;
    dedup_error_clear(err);
    return dedup_decode_image(dec, out, file->data, file->len, &o, err);
}

static dedup_image decode_ok(const tg_buf *file, int min_side, const char *what)
{
    dedup_image img;
    dedup_error err;
    if (decode(&img, file, min_side, &err))
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", what, err.msg);
    return img;
}

static void check_mean(const dedup_image *got, const dedup_image *want, double bound,
                       const char *what)
{
    double d = tg_mean_diff(got, want);
    if (d < 0 || d > bound)
        dedup_test_fail(__FILE__, __LINE__, "%s: mean difference %.2f (bound %.2f)", what, d,
                        bound);
}

static const uint8_t *px(const dedup_image *img, int x, int y)
{
    return img->pixels + (size_t)y * img->stride + 3 * (size_t)x;
}

/* --- WebP ------------------------------------------------------------------ */

static void test_webp_basic(void)
{
    dedup_image pic = tg_picture(96, 64, 21);
    tg_buf lossy = {0}, lossless = {0};
    CHECK(tg_webp(&lossy, &pic, NULL, 95) == 0);
    CHECK(tg_webp(&lossless, &pic, NULL, -1) == 0);
    dedup_image a = decode_ok(&lossy, 0, "lossy WebP");
    dedup_image b = decode_ok(&lossless, 0, "lossless WebP");
    check_mean(&a, &pic, 9.0, "lossy WebP");
    CHECK_EQ_INT(tg_max_diff(&b, &pic), 0);
    CHECK_EQ_INT(a.full_resolution, 1);
    dedup_image_info info;
    dedup_error err;
    CHECK(dedup_decode_header(dec, &info, lossy.data, lossy.len, &err) == 0);
    CHECK_EQ_INT(info.format, DEDUP_FORMAT_WEBP);
    CHECK_EQ_INT(info.width, 96);
    CHECK_EQ_INT(info.height, 64);
    dedup_image_free(&a);
    dedup_image_free(&b);
    tg_buf_free(&lossy);
    tg_buf_free(&lossless);

    /* Alpha: left half opaque, right half fully transparent (any colour
     * there comes out white), one column half transparent. */
    uint8_t *alpha = malloc(96 * 64);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 96; x++)
            alpha[y * 96 + x] = x < 48 ? 255 : x == 48 ? 128 : 0;
    dedup_image want = tg_solid(96, 64, 255, 255, 255);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x <= 48; x++)
            for (int c = 0; c < 3; c++) {
                unsigned v = px(&pic, x, y)[c], al = alpha[y * 96 + x];
                want.pixels[(size_t)y * want.stride + 3 * x + c] =
                    (uint8_t)((v * al + 255 * (255 - al) + 127) / 255);
            }
    tg_buf f = {0};
    CHECK(tg_webp(&f, &pic, alpha, -1) == 0);
    a = decode_ok(&f, 0, "lossless WebP with alpha");
    CHECK(tg_max_diff(&a, &want) <= 1);
    dedup_image_free(&a);
    tg_buf_free(&f);
    CHECK(tg_webp(&f, &pic, alpha, 95) == 0);
    a = decode_ok(&f, 0, "lossy WebP with alpha");
    check_mean(&a, &want, 9.0, "lossy WebP with alpha");
    dedup_image_free(&a);
    tg_buf_free(&f);
    free(alpha);
    dedup_image_free(&want);
    dedup_image_free(&pic);
}

/* Large stills are scaled like JPEG: shorter side >= min_side, factor <= 8. */
static void test_webp_scaled(void)
{
    dedup_image pic = tg_picture(1200, 800, 22);
    tg_buf f = {0};
    CHECK(tg_webp(&f, &pic, NULL, 90) == 0);
    dedup_image small = decode_ok(&f, 64, "scaled WebP");
    CHECK_EQ_INT(small.width, 150);
    CHECK_EQ_INT(small.height, 100);
    CHECK_EQ_INT(small.full_resolution, 0);
    CHECK_EQ_INT(small.source_width, 1200);
    CHECK_EQ_INT(small.source_height, 800);
    /* Compare with an 8x8 box average of the picture. */
    dedup_image box = tg_solid(150, 100, 0, 0, 0);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 150; x++)
            for (int c = 0; c < 3; c++) {
                unsigned sum = 0;
                for (int j = 0; j < 8; j++)
                    for (int i = 0; i < 8; i++)
                        sum += px(&pic, 8 * x + i, 8 * y + j)[c];
                box.pixels[(size_t)y * box.stride + 3 * x + c] = (uint8_t)((sum + 32) / 64);
            }
    check_mean(&small, &box, 8.0, "scaled WebP vs box average");
    dedup_image_free(&box);
    dedup_image full = decode_ok(&f, 0, "full WebP");
    CHECK_EQ_INT(full.width, 1200);
    CHECK_EQ_INT(full.full_resolution, 1);
    dedup_image_free(&full);
    /* Narrow: 1200x100 keeps its 100 rows (a factor of 2 would give 50). */
    dedup_image narrow = tg_picture(1200, 100, 23);
    tg_buf g = {0};
    CHECK(tg_webp(&g, &narrow, NULL, 90) == 0);
    dedup_image n = decode_ok(&g, 64, "narrow WebP");
    CHECK_EQ_INT(n.width, 1200);
    CHECK_EQ_INT(n.height, 100);
    dedup_image_free(&n);
    tg_buf_free(&g);
    dedup_image_free(&narrow);
    dedup_image_free(&small);
    tg_buf_free(&f);
    dedup_image_free(&pic);
}

static void test_webp_exif(void)
{
    dedup_image shown = tg_picture(40, 24, 24);
    for (int o = 1; o <= 8; o++) {
        dedup_image stored = tg_stored_for(&shown, o);
        tg_buf simple = {0}, exif = {0}, f = {0};
        CHECK(tg_webp(&simple, &stored, NULL, -1) == 0);
        CHECK(tg_exif(&exif, o, o & 1, 3, o & 2) == 0);
        CHECK(tg_webp_with_exif(&f, &simple, stored.width, stored.height, exif.data, exif.len) ==
              0);
        dedup_image_info info;
        dedup_error err;
        if (dedup_decode_header(dec, &info, f.data, f.len, &err))
            dedup_test_fail(__FILE__, __LINE__, "WebP with EXIF header: %s", err.msg);
        CHECK_EQ_INT(info.orientation, o);
        dedup_image img = decode_ok(&f, 0, "WebP with EXIF");
        CHECK_EQ_INT(tg_max_diff(&img, &shown), 0);
        dedup_image_free(&img);
        tg_buf_free(&f);
        /* Damaged EXIF chunk: ignored. */
        exif.data[exif.len / 2] ^= 0xFF;
        exif.data[(o & 2) ? 6 : 0] = 'X';
        CHECK(tg_webp_with_exif(&f, &simple, stored.width, stored.height, exif.data, exif.len) ==
              0);
        img = decode_ok(&f, 0, "WebP with damaged EXIF");
        CHECK_EQ_INT(tg_max_diff(&img, &stored), 0);
        dedup_image_free(&img);
        tg_buf_free(&f);
        tg_buf_free(&exif);
        tg_buf_free(&simple);
        dedup_image_free(&stored);
    }
    dedup_image_free(&shown);
}

/* The first frame of an animation, at its offset over the background. */
static void test_webp_anim(void)
{
    dedup_image f1 = tg_picture(16, 8, 25), f2 = tg_solid(40, 30, 10, 200, 10);
    tg_buf b1 = {0}, b2 = {0}, f = {0};
    CHECK(tg_webp(&b1, &f1, NULL, -1) == 0);
    CHECK(tg_webp(&b2, &f2, NULL, -1) == 0);
    CHECK(tg_webp_anim(&f, 40, 30, &b1, 16, 8, 4, 6, &b2) == 0);
    dedup_image img = decode_ok(&f, 64, "animated WebP");
    CHECK_EQ_INT(img.width, 40);
    CHECK_EQ_INT(img.height, 30);
    if (img.pixels && img.width == 40 && img.height == 30) {
        int bad = 0;
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 40; x++) {
                int inside = x >= 4 && x < 20 && y >= 6 && y < 14;
                const uint8_t *want =
                    inside ? px(&f1, x - 4, y - 6) : (const uint8_t *)"\xff\xff\xff";
                bad += memcmp(px(&img, x, y), want, 3) != 0;
            }
        CHECK_EQ_INT(bad, 0);
    }
    dedup_image_free(&img);
    tg_buf_free(&f);
    tg_buf_free(&b1);
    tg_buf_free(&b2);
    dedup_image_free(&f1);
    dedup_image_free(&f2);
}

/* --- GIF ------------------------------------------------------------------- */

static const uint8_t PALETTE4[12] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255};

static void fill_indices(uint8_t *idx, int w, int h, int colours)
{
    for (int i = 0; i < w * h; i++)
        idx[i] = (uint8_t)((i * 5 + i / w) % colours);
}

static void check_frame(const dedup_image *img, const tg_gif_opts *o, int cw, int ch,
                        const char *what)
{
    CHECK_EQ_INT(img->width, cw);
    CHECK_EQ_INT(img->height, ch);
    if (!img->pixels || img->width != cw || img->height != ch)
        return;
    int bad = 0;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            const uint8_t *want = (const uint8_t *)"\xff\xff\xff";
            int fx = x - o->left, fy = y - o->top;
            if (fx >= 0 && fy >= 0 && fx < o->width && fy < o->height) {
                int i = o->indices[fy * o->width + fx];
                if (i != o->transparent)
                    want = o->palette + 3 * i;
            }
            bad += memcmp(px(img, x, y), want, 3) != 0;
        }
    if (bad)
        dedup_test_fail(__FILE__, __LINE__, "%s: %d pixels differ", what, bad);
}

static void test_gif(void)
{
    uint8_t idx[17 * 9];
    fill_indices(idx, 17, 9, 4);
    tg_gif_opts o;
    memset(&o, 0, sizeof(o));
    o.screen_w = o.width = 17;
    o.screen_h = o.height = 9;
    o.indices = idx;
    o.palette = PALETTE4;
    o.colours = 4;
    o.transparent = -1;
    static const struct {
        const char *name;
        int interlace, local, transparent, second;
        int screen_w, screen_h, left, top;
        int canvas_w, canvas_h;
    } cases[] = {
        {"plain", 0, 0, -1, 0, 17, 9, 0, 0, 17, 9},
        {"interlaced", 1, 0, -1, 0, 17, 9, 0, 0, 17, 9},
        {"local colour table", 0, 1, -1, 0, 17, 9, 0, 0, 17, 9},
        {"transparent index 2", 0, 0, 2, 0, 17, 9, 0, 0, 17, 9},
        {"second frame ignored", 0, 0, -1, 1, 17, 9, 0, 0, 17, 9},
        {"frame offset on a larger screen", 1, 0, 1, 0, 30, 20, 5, 7, 30, 20},
        {"frame sticking out of the screen", 0, 0, -1, 0, 10, 10, 3, 4, 20, 13},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o.interlace = cases[i].interlace;
        o.local_map = cases[i].local;
        o.transparent = cases[i].transparent;
        o.second_frame = cases[i].second;
        o.screen_w = cases[i].screen_w;
        o.screen_h = cases[i].screen_h;
        o.left = cases[i].left;
        o.top = cases[i].top;
        tg_buf f = {0};
        CHECK(tg_gif(&f, &o) == 0);
        dedup_image img = decode_ok(&f, 64, cases[i].name);
        check_frame(&img, &o, cases[i].canvas_w, cases[i].canvas_h, cases[i].name);
        CHECK_EQ_INT(img.full_resolution, 1);
        dedup_image_info info;
        dedup_error err;
        CHECK(dedup_decode_header(dec, &info, f.data, f.len, &err) == 0);
        CHECK_EQ_INT(info.format, DEDUP_FORMAT_GIF);
        CHECK_EQ_INT(info.width, cases[i].canvas_w);
        CHECK_EQ_INT(info.height, cases[i].canvas_h);
        dedup_image_free(&img);
        tg_buf_free(&f);
    }
}

/* Hand-made GIFs giflib's writer will not produce. */
static void test_gif_by_hand(void)
{
    /* 1x1, no colour table anywhere: refused with the reason. */
    static const uint8_t no_table[] = {'G', 'I', 'F', '8',  '9', 'a',  1,    0, 1,   0,
                                       0,   0,   0,   0x2C, 0,   0,    0,    0, 1,   0,
                                       1,   0,   0,   2,    2,   0x44, 0x01, 0, 0x3B};
    tg_buf f = {0};
    CHECK(tg_buf_put(&f, no_table, sizeof(no_table)) == 0);
    dedup_image img;
    dedup_error err;
    CHECK_EQ_INT(decode(&img, &f, 64, &err), DEDUP_EDECODE);
    CHECK(strstr(err.msg, "colour table") != NULL);
    tg_buf_free(&f);
    /* A 0x0 screen around a 0x0 frame (found by fuzz_decode_header, which
     * got success and a 0x0 size from the header read): refused by both. */
    static const uint8_t empty_canvas[] = {'G',  'I', 'F', '8', '7', 'a', 0, 0, 0, 0, 0, 0, 0,
                                           0x2C, 0,   0,   0,   0,   0,   0, 0, 0, 0, 2, 0, 0x3B};
    CHECK(tg_buf_put(&f, empty_canvas, sizeof(empty_canvas)) == 0);
    CHECK_EQ_INT(decode(&img, &f, 64, &err), DEDUP_EDECODE);
    CHECK(strstr(err.msg, "0x0") != NULL);
    dedup_image_info info;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_decode_header(dec, &info, f.data, f.len, &err), DEDUP_EDECODE);
    CHECK(strstr(err.msg, "GIF header declares 0x0 pixels") != NULL);
    tg_buf_free(&f);
    /* Only a trailer after the screen: no image. */
    static const uint8_t empty[] = {'G', 'I', 'F', '8', '7', 'a', 1, 0, 1, 0, 0, 0, 0, 0x3B};
    CHECK(tg_buf_put(&f, empty, sizeof(empty)) == 0);
    CHECK_EQ_INT(decode(&img, &f, 64, &err), DEDUP_EDECODE);
    CHECK(strstr(err.msg, "no image") != NULL);
    tg_buf_free(&f);
}

/* --- copies of a photo ---------------------------------------------------- */

static int photo(dedup_image *out, const char *name, int min_side)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dedup_test_photo_dir(), name);
    size_t len;
    uint8_t *bytes = dedup_test_read_file(path, &len);
    if (!bytes)
        return -1;
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = min_side;
    dedup_error err;
    int rc = dedup_decode_image(dec, out, bytes, len, &o, &err);
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
    free(bytes);
    return rc;
}

static unsigned distance(const dedup_image *a, const dedup_image *b)
{
    dedup_pdq pa, pb;
    dedup_error err;
    if (dedup_pdq_compute(&pa, a, &err) || dedup_pdq_compute(&pb, b, &err)) {
        dedup_test_fail(__FILE__, __LINE__, "pdq: %s", err.msg);
        return 256;
    }
    return dedup_pdq_distance(&pa.variants[DEDUP_XFORM_IDENTITY],
                              &pb.variants[DEDUP_XFORM_IDENTITY]);
}

static void test_photo_copies(void)
{
    dedup_image dune, storm, dune_small;
    if (photo(&dune, "Dune.jpg", 64) || photo(&storm, "Storm.jpg", 64) ||
        photo(&dune_small, "Dune.jpg", 600))
        return;
    tg_buf webp = {0}, gif = {0};
    CHECK(tg_webp(&webp, &dune_small, NULL, 75) == 0);
    CHECK(tg_gif_rgb(&gif, &dune_small) == 0);
    dedup_image w = decode_ok(&webp, 64, "WebP copy"), g = decode_ok(&gif, 64, "GIF copy");
    unsigned dw = distance(&dune, &w), dg = distance(&dune, &g);
    unsigned fw = distance(&storm, &w), fg = distance(&storm, &g);
    printf("  Dune.jpg vs its WebP copy %u, GIF copy %u; Storm.jpg vs them %u, %u\n", dw, dg, fw,
           fg);
    CHECK(dw <= 20);
    CHECK(dg <= 20);
    CHECK(fw >= 80);
    CHECK(fg >= 80);
    dedup_image_free(&w);
    dedup_image_free(&g);
    tg_buf_free(&webp);
    tg_buf_free(&gif);
    dedup_image_free(&dune);
    dedup_image_free(&storm);
    dedup_image_free(&dune_small);
}

int main(void)
{
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    test_webp_basic();
    test_webp_scaled();
    test_webp_exif();
    test_webp_anim();
    test_gif();
    test_gif_by_hand();
    test_photo_copies();
    dedup_decoder_free(dec);
    return dedup_test_finish("test_decode_webp_gif");
}
