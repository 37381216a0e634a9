/*
 * test_pdq.c - the perceptual hash against real photographs: it must stay
 * put under the edits a leaked copy typically goes through (resizing,
 * re-encoding, brightness and gamma, rotations and flips) and must separate
 * unrelated photos.  Also the exact keys, tiny and extreme image shapes,
 * and the transform names.
 *
 * The measured distances are printed so that threshold changes can be
 * judged against numbers, not guesses.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

/* Bounds chosen from measurement (see the printed statistics) with margin,
 * and well clear of the matcher's threshold of 31. */
#define NEAR_BOUND 20
#define FAR_BOUND 80
#define XFORM_BOUND 2

static const char *const photos[] = {"Aqua.jpg",        "Blinds.jpg",    "Dune.jpg",
                                     "FreshFlower.jpg", "Garden.jpg",    "GreenMeadow.jpg",
                                     "LadyBird.jpg",    "RainDrops.jpg", "Storm.jpg",
                                     "TwoWings.jpg",    "Wood.jpg",      "YellowFlower.jpg"};
#define NPHOTOS (int)(sizeof(photos) / sizeof(photos[0]))

typedef struct {
    const char *what;
    unsigned max, min;
    int n;
} stat;

static void stat_add(stat *s, unsigned d)
{
    if (s->n == 0 || d > s->max)
        s->max = d;
    if (s->n == 0 || d < s->min)
        s->min = d;
    s->n++;
}

static void stat_print(const stat *s)
{
    printf("  %-34s n=%3d  min=%3u  max=%3u\n", s->what, s->n, s->min, s->max);
}

/* --- image helpers ---------------------------------------------------- */

static uint8_t *px(const dedup_image *img, int x, int y)
{
    return img->pixels + (size_t)y * img->stride + (size_t)x * 3;
}

/* The eight transforms written out on pixels, independently of features.c. */
static dedup_image transform_image(const dedup_image *src, dedup_transform t)
{
    const int w = src->width, h = src->height;
    const int swap = t == DEDUP_XFORM_ROT90 || t == DEDUP_XFORM_ROT270 ||
                     t == DEDUP_XFORM_TRANSPOSE || t == DEDUP_XFORM_TRANSVERSE;
    dedup_image dst = dedup_test_new_image(swap ? h : w, swap ? w : h);
    for (int y = 0; y < dst.height; y++)
        for (int x = 0; x < dst.width; x++) {
            int sx = x, sy = y;
            switch (t) {
            case DEDUP_XFORM_ROT90: /* clockwise: the bottom-left corner goes to the top-left */
                sx = y;
                sy = h - 1 - x;
                break;
            case DEDUP_XFORM_ROT180:
                sx = w - 1 - x;
                sy = h - 1 - y;
                break;
            case DEDUP_XFORM_ROT270:
                sx = w - 1 - y;
                sy = x;
                break;
            case DEDUP_XFORM_FLIP_H:
                sx = w - 1 - x;
                break;
            case DEDUP_XFORM_FLIP_V:
                sy = h - 1 - y;
                break;
            case DEDUP_XFORM_TRANSPOSE:
                sx = y;
                sy = x;
                break;
            case DEDUP_XFORM_TRANSVERSE:
                sx = w - 1 - y;
                sy = h - 1 - x;
                break;
            default:
                break;
            }
            memcpy(px(&dst, x, y), px(src, sx, sy), 3);
        }
    return dst;
}

/* Plain integer-box resize: each output pixel averages the source block
 * [floor(i*W/w), floor((i+1)*W/w)), at least one pixel wide. */
static dedup_image box_resize(const dedup_image *src, double factor)
{
    int w = (int)(src->width * factor + 0.5), h = (int)(src->height * factor + 0.5);
    w = w < 1 ? 1 : w;
    h = h < 1 ? 1 : h;
    dedup_image dst = dedup_test_new_image(w, h);
    for (int y = 0; y < h; y++) {
        int y0 = (int)((long)y * src->height / h), y1 = (int)((long)(y + 1) * src->height / h);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int x = 0; x < w; x++) {
            int x0 = (int)((long)x * src->width / w), x1 = (int)((long)(x + 1) * src->width / w);
            if (x1 <= x0)
                x1 = x0 + 1;
            for (int c = 0; c < 3; c++) {
                long sum = 0;
                for (int sy = y0; sy < y1; sy++)
                    for (int sx = x0; sx < x1; sx++)
                        sum += px(src, sx, sy)[c];
                long n = (long)(x1 - x0) * (y1 - y0);
                px(&dst, x, y)[c] = (uint8_t)((sum + n / 2) / n);
            }
        }
    }
    return dst;
}

static dedup_image map_levels(const dedup_image *src, const uint8_t lut[256])
{
    dedup_image dst = dedup_test_new_image(src->width, src->height);
    for (int y = 0; y < src->height; y++)
        for (int x = 0; x < src->width * 3; x++)
            dst.pixels[(size_t)y * dst.stride + x] = lut[src->pixels[(size_t)y * src->stride + x]];
    return dst;
}

static dedup_image brighten(const dedup_image *src, int delta)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)(v + delta > 255 ? 255 : v + delta < 0 ? 0 : v + delta);
    return map_levels(src, lut);
}

static dedup_image gamma_adjust(const dedup_image *src, double gamma)
{
    uint8_t lut[256];
    for (int v = 0; v < 256; v++)
        lut[v] = (uint8_t)(255.0 * pow(v / 255.0, gamma) + 0.5);
    return map_levels(src, lut);
}

/* Encode with TurboJPEG at `quality` and decode again with the defaults,
 * the path a re-saved copy takes through git-dedup. */
static int jpeg_roundtrip(dedup_decoder *dec, const dedup_image *src, int quality, dedup_image *out)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpeg = NULL;
    unsigned long size = 0;
    int rc = -1;
    if (tj && tjCompress2(tj, src->pixels, src->width, (int)src->stride, src->height, TJPF_RGB,
                          &jpeg, &size, TJSAMP_420, quality, 0) == 0) {
        dedup_error err;
        dedup_error_clear(&err);
        rc = dedup_decode_image(dec, out, jpeg, size, NULL, &err);
        if (rc)
            dedup_test_fail(__FILE__, __LINE__, "re-decode failed: %s", err.msg);
    } else {
        dedup_test_fail(__FILE__, __LINE__, "tjCompress2 failed: %s", tjGetErrorStr2(tj));
    }
    tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    return rc;
}

static dedup_pdq pdq_of(const dedup_image *img)
{
    dedup_pdq p;
    dedup_error err;
    dedup_error_clear(&err);
    int rc = dedup_pdq_compute(&p, img, &err);
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "dedup_pdq_compute(%dx%d) failed: %s", img->width,
                        img->height, err.msg);
    return p;
}

static unsigned dist(const dedup_pdq *a, const dedup_pdq *b)
{
    return dedup_pdq_distance(&a->variants[DEDUP_XFORM_IDENTITY],
                              &b->variants[DEDUP_XFORM_IDENTITY]);
}

/* --- tests ------------------------------------------------------------ */

static void test_transform_pixels_match_header(void)
{
    /* 2x3 image, pixel value = index; check corners against the header's
     * definitions before trusting transform_image for anything else. */
    dedup_image img = dedup_test_new_image(2, 3);
    for (int i = 0; i < 6; i++)
        img.pixels[3 * i] = (uint8_t)i; /* row-major: 0 1 / 2 3 / 4 5 */
    dedup_image r = transform_image(&img, DEDUP_XFORM_ROT90);
    /* clockwise: first row becomes 4 2 0 */
    CHECK_EQ_INT(r.width, 3);
    CHECK_EQ_INT(px(&r, 0, 0)[0], 4);
    CHECK_EQ_INT(px(&r, 1, 0)[0], 2);
    CHECK_EQ_INT(px(&r, 2, 0)[0], 0);
    dedup_image_free(&r);
    r = transform_image(&img, DEDUP_XFORM_TRANSVERSE);
    CHECK_EQ_INT(px(&r, 0, 0)[0], 5);
    CHECK_EQ_INT(px(&r, 2, 1)[0], 0);
    dedup_image_free(&r);
    for (int t = 0; t < DEDUP_XFORM_COUNT; t++) {
        dedup_image a = transform_image(&img, (dedup_transform)t);
        dedup_image b = transform_image(&a, dedup_transform_inverse((dedup_transform)t));
        CHECK(b.width == img.width && b.height == img.height &&
              memcmp(b.pixels, img.pixels, 18) == 0);
        dedup_image_free(&a);
        dedup_image_free(&b);
    }
    dedup_image_free(&img);
}

static void test_names(void)
{
    static const char *const names[] = {"identity", "rot90",  "rot180",    "rot270",
                                        "flip_h",   "flip_v", "transpose", "transverse"};
    for (int t = 0; t < DEDUP_XFORM_COUNT; t++)
        CHECK(strcmp(dedup_transform_name((dedup_transform)t), names[t]) == 0);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_ROT90), DEDUP_XFORM_ROT270);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_ROT270), DEDUP_XFORM_ROT90);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_IDENTITY), DEDUP_XFORM_IDENTITY);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_ROT180), DEDUP_XFORM_ROT180);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_FLIP_H), DEDUP_XFORM_FLIP_H);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_FLIP_V), DEDUP_XFORM_FLIP_V);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_TRANSPOSE), DEDUP_XFORM_TRANSPOSE);
    CHECK_EQ_INT(dedup_transform_inverse(DEDUP_XFORM_TRANSVERSE), DEDUP_XFORM_TRANSVERSE);
}

static void test_distance(void)
{
    dedup_pdq_hash a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0xff, sizeof(b));
    CHECK_EQ_INT(dedup_pdq_distance(&a, &a), 0);
    CHECK_EQ_INT(dedup_pdq_distance(&a, &b), 256);
    a.w[3] = 0x8000000000000001ULL;
    CHECK_EQ_INT(dedup_pdq_distance(&a, &b), 254);
}

static void test_byte_hash(void)
{
    static const char text[] = "git-dedup";
    dedup_hash128 a = dedup_byte_hash(text, 9);
    dedup_hash128 b = dedup_byte_hash(text, 9);
    dedup_hash128 c = dedup_byte_hash("git-dedUp", 9);
    dedup_hash128 d = dedup_byte_hash(text, 8);
    CHECK(a.lo == b.lo && a.hi == b.hi);
    CHECK(a.lo != c.lo || a.hi != c.hi);
    CHECK(a.lo != d.lo || a.hi != d.hi);
    /* XXH3-128 of the empty input, seed 0: 99aa06d3014798d86001c324468d497f. */
    dedup_hash128 e = dedup_byte_hash("", 0);
    char hex[33];
    dedup_hash128_hex(&e, hex);
    CHECK(strcmp(hex, "99aa06d3014798d86001c324468d497f") == 0);
    dedup_hash128 z = dedup_byte_hash(NULL, 0);
    CHECK(z.lo == e.lo && z.hi == e.hi);
    dedup_hash128 h = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
    dedup_hash128_hex(&h, hex);
    CHECK(strcmp(hex, "fedcba98765432100123456789abcdef") == 0);
}

static void test_pixel_hash(void)
{
    dedup_image a = dedup_test_new_image(5, 4);
    for (size_t i = 0; i < 60; i++)
        a.pixels[i] = (uint8_t)(i * 37);
    /* Same pixels with padding bytes of junk at the end of every row. */
    dedup_image b = a;
    b.stride = 5 * 3 + 7;
    b.pixels = malloc(b.stride * 4);
    memset(b.pixels, 0xaa, b.stride * 4);
    for (int y = 0; y < 4; y++)
        memcpy(b.pixels + y * b.stride, a.pixels + y * a.stride, 15);
    dedup_hash128 ha = dedup_pixel_hash(&a), hb = dedup_pixel_hash(&b);
    CHECK(ha.lo == hb.lo && ha.hi == hb.hi);
    b.pixels[2 * b.stride + 7] ^= 1;
    dedup_hash128 hc = dedup_pixel_hash(&b);
    CHECK(ha.lo != hc.lo || ha.hi != hc.hi);
    /* Same 60 bytes as a 4x5 image is a different image. */
    dedup_image t = a;
    t.width = 4;
    t.height = 5;
    t.stride = 12;
    dedup_hash128 ht = dedup_pixel_hash(&t);
    CHECK(ha.lo != ht.lo || ha.hi != ht.hi);
    free(b.pixels);
    dedup_image_free(&a);
}

static void test_features_bundle(void)
{
    dedup_image img = dedup_test_new_image(70, 65);
    for (size_t i = 0; i < (size_t)70 * 65 * 3; i++)
        img.pixels[i] = (uint8_t)((i * 7) ^ (i >> 5));
    static const uint8_t bytes[] = {1, 2, 3, 4};
    dedup_features f;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_features_compute(&f, bytes, sizeof(bytes), &img, &err), 0);
    CHECK(f.has_pixel_hash);
    dedup_hash128 ph = dedup_pixel_hash(&img), bh = dedup_byte_hash(bytes, sizeof(bytes));
    CHECK(f.pixel_hash.lo == ph.lo && f.pixel_hash.hi == ph.hi);
    CHECK(f.byte_hash.lo == bh.lo && f.byte_hash.hi == bh.hi);
    CHECK_EQ_INT(f.width, 70);
    CHECK_EQ_INT(f.height, 65);
    /* A scaled decode carries the stored size and no pixel hash. */
    img.full_resolution = 0;
    img.source_width = 560;
    img.source_height = 520;
    CHECK_EQ_INT(dedup_features_compute(&f, bytes, sizeof(bytes), &img, &err), 0);
    CHECK(!f.has_pixel_hash);
    CHECK_EQ_INT(f.width, 560);
    CHECK_EQ_INT(f.height, 520);
    dedup_image empty;
    memset(&empty, 0, sizeof(empty));
    CHECK(dedup_features_compute(&f, bytes, sizeof(bytes), &empty, &err) == DEDUP_EINVAL);
    dedup_image_free(&img);
}

static void test_shapes(void)
{
    static const int shapes[][2] = {{1, 1}, {3, 1000}, {1000, 3}, {10000, 1}, {1, 10000},
                                    {2, 2}, {63, 65},  {65, 63},  {64, 64},   {127, 1}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        const int w = shapes[s][0], h = shapes[s][1];
        dedup_image img = dedup_test_new_image(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    px(&img, x, y)[c] = (uint8_t)((x * 255 / w + y * 255 / h + 40 * c) & 0xff);
        dedup_pdq p;
        dedup_error err;
        dedup_error_clear(&err);
        CHECK_EQ_INT(dedup_pdq_compute(&p, &img, &err), 0);
        CHECK(p.quality >= 0 && p.quality <= 100);
        /* Without the DC terms a one-dimensional image has an all-zero hash. */
        if (w == 1 || h == 1)
            CHECK(p.quality < DEDUP_PDQ_MIN_QUALITY);
        /* Exact area averaging keeps the variants exact on odd shapes too. */
        for (int t = 0; t < DEDUP_XFORM_COUNT; t++) {
            dedup_image x = transform_image(&img, (dedup_transform)t);
            dedup_pdq q = pdq_of(&x);
            CHECK(dedup_pdq_distance(&p.variants[t], &q.variants[0]) <= XFORM_BOUND);
            dedup_image_free(&x);
        }
        dedup_image_free(&img);
    }
    /* A 1x1 image is a solid colour. */
    dedup_image one = dedup_test_new_image(1, 1);
    one.pixels[0] = 200;
    dedup_pdq p = pdq_of(&one);
    CHECK(p.quality < DEDUP_PDQ_MIN_QUALITY);
    dedup_image_free(&one);
    /* Invalid input is refused, not read. */
    dedup_image bad = dedup_test_new_image(4, 4);
    bad.stride = 5;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK(dedup_pdq_compute(&p, &bad, &err) == DEDUP_EINVAL);
    dedup_image_free(&bad);
}

/* Deterministic noise, so the test never depends on rand()'s implementation. */
static uint32_t next_rand(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void test_flat_quality(const stat *photo_quality)
{
    static const int sizes[][3] = {/* w, h, noise amplitude */
                                   {64, 64, 0},   {640, 480, 0}, {64, 64, 2},    {64, 64, 4},
                                   {256, 256, 6}, {640, 480, 8}, {1920, 1080, 8}};
    int worst = 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        const int w = sizes[s][0], h = sizes[s][1], amp = sizes[s][2];
        dedup_image img = dedup_test_new_image(w, h);
        uint32_t seed = 12345;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) {
            int v = 90 + (i % 3) * 30;
            if (amp)
                v += (int)(next_rand(&seed) % (2u * amp + 1)) - amp;
            img.pixels[i] = (uint8_t)v;
        }
        dedup_pdq p = pdq_of(&img);
        CHECK(p.quality < DEDUP_PDQ_MIN_QUALITY);
        if (p.quality > worst)
            worst = p.quality;
        dedup_image_free(&img);
    }
    printf("  quality: flat/near-blank max=%d, photos min=%u (threshold %d)\n", worst,
           photo_quality->min, DEDUP_PDQ_MIN_QUALITY);
}

static void test_photos(void)
{
    dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        dedup_test_fail(__FILE__, __LINE__, "decoder: %s", err.msg);
        return;
    }
    dedup_decode_options full;
    dedup_decode_options_init(&full);
    full.min_side = 0;

    stat s_scaled = {"scaled decode vs full decode", 0, 0, 0};
    stat s_half = {"box resize 0.5x", 0, 0, 0};
    stat s_03 = {"box resize 0.3x", 0, 0, 0};
    stat s_jpeg = {"JPEG q60 re-encode", 0, 0, 0};
    stat s_bright = {"brightness +15", 0, 0, 0};
    stat s_g08 = {"gamma 0.8", 0, 0, 0};
    stat s_g125 = {"gamma 1.25", 0, 0, 0};
    stat s_xform = {"variant vs transformed pixels", 0, 0, 0};
    stat s_xform03 = {"same, on the 0.3x resize", 0, 0, 0};
    stat s_far = {"unrelated pairs, identity", 0, 0, 0};
    stat s_far8 = {"unrelated pairs, min of 8 variants", 0, 0, 0};
    stat s_quality = {"photo quality", 0, 0, 0};

    dedup_pdq base[NPHOTOS];
    int have[NPHOTOS] = {0};
    for (int i = 0; i < NPHOTOS; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dedup_test_photo_dir(), photos[i]);
        size_t len;
        uint8_t *bytes = dedup_test_read_file(path, &len);
        if (!bytes)
            continue;
        dedup_image small, big;
        if (dedup_decode_image(dec, &small, bytes, len, NULL, &err) ||
            dedup_decode_image(dec, &big, bytes, len, &full, &err)) {
            dedup_test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
            free(bytes);
            continue;
        }
        free(bytes);
        dedup_pdq ps = pdq_of(&small), pb = pdq_of(&big);
        base[i] = ps;
        have[i] = 1;
        stat_add(&s_quality, (unsigned)ps.quality);
        CHECK(ps.quality >= DEDUP_PDQ_MIN_QUALITY);
        CHECK(pb.quality >= DEDUP_PDQ_MIN_QUALITY);

        unsigned d = dist(&ps, &pb);
        stat_add(&s_scaled, d);
        CHECK(d <= NEAR_BOUND);

        dedup_image half = box_resize(&big, 0.5), third = box_resize(&big, 0.3);
        dedup_pdq ph = pdq_of(&half), p3 = pdq_of(&third);
        stat_add(&s_half, d = dist(&pb, &ph));
        CHECK(d <= NEAR_BOUND);
        stat_add(&s_03, d = dist(&pb, &p3));
        CHECK(d <= NEAR_BOUND);

        dedup_image again;
        if (jpeg_roundtrip(dec, &big, 60, &again) == 0) {
            dedup_pdq pj = pdq_of(&again);
            stat_add(&s_jpeg, d = dist(&ps, &pj));
            CHECK(d <= NEAR_BOUND);
            dedup_image_free(&again);
        }

        dedup_image br = brighten(&big, 15), g1 = gamma_adjust(&big, 0.8),
                    g2 = gamma_adjust(&big, 1.25);
        dedup_pdq pbr = pdq_of(&br), pg1 = pdq_of(&g1), pg2 = pdq_of(&g2);
        stat_add(&s_bright, d = dist(&pb, &pbr));
        CHECK(d <= NEAR_BOUND);
        stat_add(&s_g08, d = dist(&pb, &pg1));
        CHECK(d <= NEAR_BOUND);
        stat_add(&s_g125, d = dist(&pb, &pg2));
        CHECK(d <= NEAR_BOUND);

        for (int t = 0; t < DEDUP_XFORM_COUNT; t++) {
            dedup_image x = transform_image(&small, (dedup_transform)t);
            dedup_pdq px_ = pdq_of(&x);
            stat_add(&s_xform, d = dedup_pdq_distance(&ps.variants[t], &px_.variants[0]));
            CHECK(d <= XFORM_BOUND);
            /* Transforming the transformed image back lands on the original. */
            dedup_transform inv = dedup_transform_inverse((dedup_transform)t);
            CHECK(dedup_pdq_distance(&px_.variants[inv], &ps.variants[0]) <= XFORM_BOUND);
            dedup_image_free(&x);
            x = transform_image(&third, (dedup_transform)t);
            px_ = pdq_of(&x);
            stat_add(&s_xform03, d = dedup_pdq_distance(&p3.variants[t], &px_.variants[0]));
            CHECK(d <= XFORM_BOUND);
            dedup_image_free(&x);
        }

        dedup_image_free(&br);
        dedup_image_free(&g1);
        dedup_image_free(&g2);
        dedup_image_free(&half);
        dedup_image_free(&third);
        dedup_image_free(&small);
        dedup_image_free(&big);
    }

    for (int i = 0; i < NPHOTOS; i++)
        for (int j = i + 1; j < NPHOTOS; j++) {
            if (!have[i] || !have[j])
                continue;
            unsigned d = dist(&base[i], &base[j]);
            stat_add(&s_far, d);
            unsigned m = 256;
            for (int t = 0; t < DEDUP_XFORM_COUNT; t++) {
                unsigned dt = dedup_pdq_distance(&base[i].variants[t], &base[j].variants[0]);
                if (dt < m)
                    m = dt;
            }
            stat_add(&s_far8, m);
            if (m < FAR_BOUND)
                dedup_test_fail(__FILE__, __LINE__, "%s vs %s: distance %u < %d", photos[i],
                                photos[j], m, FAR_BOUND);
        }
    CHECK(s_far.n == NPHOTOS * (NPHOTOS - 1) / 2);

    printf("test_pdq: distances over %d photos (near bound %d, far bound %d)\n", NPHOTOS,
           NEAR_BOUND, FAR_BOUND);
    const stat *all[] = {&s_scaled, &s_half,  &s_03,      &s_jpeg, &s_bright, &s_g08,
                         &s_g125,   &s_xform, &s_xform03, &s_far,  &s_far8,   &s_quality};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
        stat_print(all[k]);
    test_flat_quality(&s_quality);
    dedup_decoder_free(dec);
}

int main(void)
{
    test_transform_pixels_match_header();
    test_names();
    test_distance();
    test_byte_hash();
    test_pixel_hash();
    test_features_bundle();
    test_shapes();
    test_photos();
    return dedup_test_finish("test_pdq");
}
