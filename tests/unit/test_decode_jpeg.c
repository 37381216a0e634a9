/*
 * test_decode_jpeg.c - JPEG decoding gives the picture a person sees: every
 * coding (baseline, progressive, arithmetic, restart markers), every colour
 * space (grey, YCbCr, RGB, CMYK and YCCK with and without the Adobe marker,
 * inverted as Photoshop writes it), all eight EXIF orientations (and damaged
 * EXIF ignored), unsupported precisions refused by name, and ordinary photos
 * decoded to exactly the pixels TurboJPEG gives.  Files are generated here
 * with libjpeg (imagegen.c).
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "decode/internal.h"
#include "imagegen.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

/* Mean per-sample error allowed for a q95 4:4:4 round trip of our synthetic
 * picture, and for the lossy colour conversions (CMYK adds rounding). */
#define RT_MEAN 2.5
#define CMYK_MEAN 4.0

static dedup_decoder *dec;

static int decode(dedup_image *out, const tg_buf *file, int min_side, dedup_error *err)
{
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = min_side;
    dedup_error_clear(err);
    return dedup_decode_image(dec, out, file->data, file->len, &o, err);
}

/* Decode at full size, expecting success. */
static dedup_image decode_ok(const tg_buf *file, const char *what)
{
    dedup_image img;
    dedup_error err;
    if (decode(&img, file, 0, &err))
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", what, err.msg);
    return img;
}

static dedup_pdq pdq_of(const dedup_image *img)
{
    dedup_pdq p;
    dedup_error err;
    memset(&p, 0, sizeof(p));
    if (dedup_pdq_compute(&p, img, &err))
        dedup_test_fail(__FILE__, __LINE__, "pdq: %s", err.msg);
    return p;
}

static unsigned identity_distance(const dedup_image *a, const dedup_image *b)
{
    dedup_pdq pa = pdq_of(a), pb = pdq_of(b);
    return dedup_pdq_distance(&pa.variants[DEDUP_XFORM_IDENTITY],
                              &pb.variants[DEDUP_XFORM_IDENTITY]);
}

static void check_close(const dedup_image *got, const dedup_image *want, double bound,
                        const char *what)
{
    double d = tg_mean_diff(got, want);
    if (d < 0 || d > bound)
        dedup_test_fail(__FILE__, __LINE__, "%s: mean difference %.2f (bound %.2f, %dx%d vs %dx%d)",
                        what, d, bound, got->width, got->height, want->width, want->height);
}

/* Offset of the first marker FF <code> (a marker segment, not entropy data). */
static long find_marker(const tg_buf *f, uint8_t code)
{
    for (size_t i = 2; i + 1 < f->len; i++)
        if (f->data[i] == 0xFF && f->data[i + 1] == code)
            return (long)i;
    return -1;
}

/* --- colour spaces and codings -------------------------------------------- */

static void test_codings(void)
{
    dedup_image pic = tg_picture(96, 64, 1);
    static const struct {
        const char *name;
        tg_jpeg_opts o;
    } cases[] = {
        {"baseline 4:4:4", {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 0, NULL, 0}},
        {"baseline 4:2:0", {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 1, NULL, 0}},
        {"progressive", {95, TG_JPEG_YCC, 0, 0, 1, 0, 0, 0, NULL, 0}},
        {"arithmetic", {95, TG_JPEG_YCC, 0, 0, 0, 1, 0, 0, NULL, 0}},
        {"progressive arithmetic", {95, TG_JPEG_YCC, 0, 0, 1, 1, 0, 1, NULL, 0}},
        {"restart markers every MCU row", {95, TG_JPEG_YCC, 0, 0, 0, 0, 1, 0, NULL, 0}},
        {"progressive with restarts", {95, TG_JPEG_YCC, 0, 0, 1, 0, 1, 1, NULL, 0}},
        {"RGB, Adobe transform 0", {95, TG_JPEG_RGB, 0, 0, 0, 0, 0, 0, NULL, 0}},
        {"YCbCr, Adobe transform 1", {95, TG_JPEG_YCC_ADOBE, 0, 0, 0, 0, 0, 0, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_buf f = {0};
        CHECK(tg_jpeg(&f, &pic, &cases[i].o) == 0);
        dedup_image img = decode_ok(&f, cases[i].name);
        CHECK_EQ_INT(img.width, 96);
        CHECK_EQ_INT(img.height, 64);
        CHECK_EQ_INT(img.full_resolution, 1);
        check_close(&img, &pic, cases[i].o.subsample ? 3 * RT_MEAN : RT_MEAN, cases[i].name);
        dedup_image_free(&img);
        tg_buf_free(&f);
    }
    /* Grey: every channel equals the picture's luma. */
    tg_jpeg_opts grey = {95, TG_JPEG_GRAY, 0, 0, 0, 0, 0, 0, NULL, 0};
    tg_buf f = {0};
    CHECK(tg_jpeg(&f, &pic, &grey) == 0);
    dedup_image img = decode_ok(&f, "grey");
    dedup_image luma = tg_solid(96, 64, 0, 0, 0);
    for (size_t p = 0; p < 96 * 64; p++) {
        const uint8_t *s = pic.pixels + 3 * p;
        int y = (299 * s[0] + 587 * s[1] + 114 * s[2] + 500) / 1000;
        memset(luma.pixels + 3 * p, y, 3);
        CHECK(img.pixels && img.pixels[3 * p] == img.pixels[3 * p + 1] &&
              img.pixels[3 * p] == img.pixels[3 * p + 2]);
    }
    check_close(&img, &luma, RT_MEAN, "grey");
    dedup_image_free(&img);
    dedup_image_free(&luma);
    tg_buf_free(&f);
    dedup_image_free(&pic);
}

/* Patch the transform byte of the Adobe APP14 marker. */
static int set_adobe_transform(tg_buf *f, uint8_t transform)
{
    for (size_t i = 0; i + 16 < f->len; i++)
        if (f->data[i] == 0xFF && f->data[i + 1] == 0xEE &&
            memcmp(f->data + i + 4, "Adobe", 5) == 0) {
            f->data[i + 15] = transform;
            return 0;
        }
    return -1;
}

static void test_cmyk(void)
{
    dedup_image pic = tg_picture(96, 64, 2);
    static const struct {
        const char *name;
        tg_jpeg_opts o;
    } cases[] = {
        {"CMYK inverted, Adobe marker (Photoshop)", {95, TG_JPEG_CMYK, 0, 1, 0, 0, 0, 0, NULL, 0}},
        {"CMYK plain, no Adobe marker", {95, TG_JPEG_CMYK, 1, 0, 0, 0, 0, 0, NULL, 0}},
        {"YCCK inverted, Adobe transform 2", {95, TG_JPEG_YCCK, 0, 1, 0, 0, 0, 0, NULL, 0}},
        {"YCCK progressive", {95, TG_JPEG_YCCK, 0, 1, 1, 0, 0, 0, NULL, 0}},
        {"CMYK arithmetic", {95, TG_JPEG_CMYK, 0, 1, 0, 1, 0, 0, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_buf f = {0};
        CHECK(tg_jpeg(&f, &pic, &cases[i].o) == 0);
        dedup_image img = decode_ok(&f, cases[i].name);
        check_close(&img, &pic, CMYK_MEAN, cases[i].name);
        dedup_image_free(&img);
        tg_buf_free(&f);
    }

    /* An unknown Adobe transform (1 on four components) is read as YCCK,
     * as libjpeg and Photoshop do. */
    tg_jpeg_opts ycck = {95, TG_JPEG_YCCK, 0, 1, 0, 0, 0, 0, NULL, 0};
    tg_buf f = {0};
    CHECK(tg_jpeg(&f, &pic, &ycck) == 0);
    CHECK(set_adobe_transform(&f, 1) == 0);
    dedup_image img = decode_ok(&f, "YCCK with transform 1");
    check_close(&img, &pic, CMYK_MEAN, "YCCK with transform 1");
    dedup_image_free(&img);
    tg_buf_free(&f);

    /* The marker decides inversion: plain samples under an Adobe marker
     * decode as a colour negative, which must not look like the picture. */
    tg_jpeg_opts wrong = {95, TG_JPEG_CMYK, 0, 0, 0, 0, 0, 0, NULL, 0};
    CHECK(tg_jpeg(&f, &pic, &wrong) == 0);
    img = decode_ok(&f, "plain CMYK under an Adobe marker");
    CHECK(tg_mean_diff(&img, &pic) > 60);
    dedup_image_free(&img);
    tg_buf_free(&f);
    dedup_image_free(&pic);
}

/* A real photo as CMYK (Photoshop style) and as ordinary YCbCr: near. */
static void test_cmyk_photo(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/Garden.jpg", dedup_test_photo_dir());
    size_t len;
    uint8_t *bytes = dedup_test_read_file(path, &len);
    if (!bytes)
        return;
    dedup_image photo;
    dedup_error err;
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = 400; /* a few hundred pixels: quick to re-encode */
    if (dedup_decode_image(dec, &photo, bytes, len, &o, &err)) {
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
        free(bytes);
        return;
    }
    free(bytes);
    tg_jpeg_opts rgb = {85, TG_JPEG_YCC, 0, 0, 0, 0, 0, 1, NULL, 0};
    tg_jpeg_opts cmyk = {85, TG_JPEG_CMYK, 0, 1, 0, 0, 0, 0, NULL, 0};
    tg_buf a = {0}, b = {0};
    CHECK(tg_jpeg(&a, &photo, &rgb) == 0);
    CHECK(tg_jpeg(&b, &photo, &cmyk) == 0);
    dedup_image ia, ib;
    CHECK(decode(&ia, &a, 64, &err) == 0);
    CHECK(decode(&ib, &b, 64, &err) == 0);
    unsigned d = identity_distance(&ia, &ib);
    printf("  CMYK vs YCbCr encode of a photo: distance %u\n", d);
    CHECK(d <= 20);
    dedup_image_free(&ia);
    dedup_image_free(&ib);
    tg_buf_free(&a);
    tg_buf_free(&b);
    dedup_image_free(&photo);
}

/* --- refused by name ------------------------------------------------------ */

static void expect_refusal(const tg_buf *f, int code, const char *needle, const char *what)
{
    dedup_image img;
    dedup_image_info info;
    dedup_error err;
    int rc = decode(&img, f, 64, &err);
    if (rc != code || !strstr(err.msg, needle))
        dedup_test_fail(__FILE__, __LINE__, "%s: decode gave %d '%s', wanted %d '...%s...'", what,
                        rc, err.msg, code, needle);
    CHECK(img.pixels == NULL);
    dedup_error_clear(&err);
    rc = dedup_decode_header(dec, &info, f->data, f->len, &err);
    if (rc != code || !strstr(err.msg, needle))
        dedup_test_fail(__FILE__, __LINE__, "%s: header gave %d '%s', wanted %d '...%s...'", what,
                        rc, err.msg, code, needle);
}

static void test_unsupported_precision(void)
{
    dedup_image pic = tg_picture(32, 16, 3);
    tg_buf f = {0};
    CHECK(tg_jpeg(&f, &pic, NULL) == 0);
    long sof = find_marker(&f, 0xC0);
    CHECK(sof > 0);
    if (sof > 0) {
        /* 12-bit samples: Debian's libjpeg-turbo decodes 8-bit only. */
        f.data[sof + 4] = 12;
        expect_refusal(&f, DEDUP_EUNSUPPORTED, "12-bit JPEG", "12-bit");
        f.data[sof + 4] = 8;
        /* SOF3: lossless JPEG. */
        f.data[sof + 1] = 0xC3;
        expect_refusal(&f, DEDUP_EUNSUPPORTED, "lossless", "lossless");
        f.data[sof + 1] = 0xC0;
    }
    tg_buf_free(&f);
    dedup_image_free(&pic);
}

/* --- EXIF orientation ----------------------------------------------------- */

static tg_buf exif_block(int o, int be, int type)
{
    tg_buf e = {0};
    CHECK(tg_exif(&e, o, be, type, 1) == 0);
    return e;
}

static void test_orientation(void)
{
    /* Not square, so a missed quarter turn shows in the size. */
    dedup_image shown = tg_picture(80, 48, 4);
    for (int o = 1; o <= 8; o++) {
        dedup_image stored = tg_stored_for(&shown, o);
        tg_buf exif = exif_block(o, o % 2, o % 3 == 0 ? 4 : 3);
        tg_jpeg_opts opts = {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 0, exif.data, exif.len};
        tg_buf f = {0};
        CHECK(tg_jpeg(&f, &stored, &opts) == 0);
        dedup_image_info info;
        dedup_error err;
        CHECK(dedup_decode_header(dec, &info, f.data, f.len, &err) == 0);
        CHECK_EQ_INT(info.orientation, o);
        CHECK_EQ_INT(info.width, stored.width);
        CHECK_EQ_INT(info.height, stored.height);
        char what[64];
        snprintf(what, sizeof(what), "orientation %d", o);
        dedup_image img = decode_ok(&f, what);
        CHECK_EQ_INT(img.width, 80);
        CHECK_EQ_INT(img.height, 48);
        CHECK_EQ_INT(img.source_width, 80);
        CHECK_EQ_INT(img.source_height, 48);
        CHECK_EQ_INT(img.full_resolution, 1);
        check_close(&img, &shown, RT_MEAN, what);
        dedup_image_free(&img);

        /* Scaled decode: the scaled pixels are turned too. */
        dedup_image big_shown = tg_picture(1024, 640, 5);
        dedup_image big_stored = tg_stored_for(&big_shown, o);
        tg_buf g = {0}, plain = {0};
        CHECK(tg_jpeg(&g, &big_stored, &opts) == 0);
        tg_jpeg_opts none = {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 0, NULL, 0};
        CHECK(tg_jpeg(&plain, &big_shown, &none) == 0);
        dedup_image small, ref;
        CHECK(decode(&small, &g, 64, &err) == 0);
        CHECK(decode(&ref, &plain, 64, &err) == 0);
        CHECK_EQ_INT(small.width, 128);
        CHECK_EQ_INT(small.height, 80);
        CHECK_EQ_INT(small.source_width, 1024);
        CHECK_EQ_INT(small.source_height, 640);
        CHECK_EQ_INT(small.full_resolution, 0);
        check_close(&small, &ref, RT_MEAN, what);
        dedup_image_free(&small);
        dedup_image_free(&ref);
        dedup_image_free(&big_shown);
        dedup_image_free(&big_stored);
        tg_buf_free(&g);
        tg_buf_free(&plain);
        tg_buf_free(&f);
        tg_buf_free(&exif);
        dedup_image_free(&stored);
    }
    dedup_image_free(&shown);
}

/* A photo and its rotated-by-tag twin hash alike, with the identity transform. */
static void test_orientation_photo(void)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/Dune.jpg", dedup_test_photo_dir());
    size_t len;
    uint8_t *bytes = dedup_test_read_file(path, &len);
    if (!bytes)
        return;
    dedup_image photo;
    dedup_error err;
    dedup_decode_options o;
    dedup_decode_options_init(&o);
    o.min_side = 300;
    if (dedup_decode_image(dec, &photo, bytes, len, &o, &err)) {
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
        free(bytes);
        return;
    }
    free(bytes);
    /* Whole MCUs, so the twin's blocks hold the same pixels turned: what
     * remains is quantisation of turned blocks, not a shifted grid. */
    photo.width &= ~15;
    photo.height &= ~15;
    tg_jpeg_opts plain = {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 0, NULL, 0};
    tg_buf a = {0};
    CHECK(tg_jpeg(&a, &photo, &plain) == 0);
    dedup_image ia;
    CHECK(decode(&ia, &a, 64, &err) == 0);
    unsigned worst = 0;
    for (int orient = 2; orient <= 8; orient++) {
        dedup_image stored = tg_stored_for(&photo, orient);
        tg_buf exif = exif_block(orient, 0, 3);
        tg_jpeg_opts tagged = plain;
        tagged.app1 = exif.data;
        tagged.app1_len = exif.len;
        tg_buf b = {0};
        CHECK(tg_jpeg(&b, &stored, &tagged) == 0);
        dedup_image ib;
        CHECK(decode(&ib, &b, 64, &err) == 0);
        CHECK_EQ_INT(ib.width, ia.width);
        CHECK_EQ_INT(ib.height, ia.height);
        dedup_pdq pa = pdq_of(&ia), pb = pdq_of(&ib);
        unsigned d = dedup_pdq_distance(&pa.variants[DEDUP_XFORM_IDENTITY],
                                        &pb.variants[DEDUP_XFORM_IDENTITY]);
        /* Identity is the closest variant: the tag was applied, not matched
         * as a rotation. */
        for (int t = 1; t < DEDUP_XFORM_COUNT; t++)
            CHECK(dedup_pdq_distance(&pa.variants[DEDUP_XFORM_IDENTITY], &pb.variants[t]) > d);
        if (d > worst)
            worst = d;
        dedup_image_free(&ib);
        tg_buf_free(&b);
        tg_buf_free(&exif);
        dedup_image_free(&stored);
    }
    printf("  photo vs rotated-by-tag twins: worst identity distance %u\n", worst);
    CHECK(worst <= 8);
    dedup_image_free(&ia);
    tg_buf_free(&a);
    dedup_image_free(&photo);
}

/* Damaged EXIF is ignored: the picture is decoded as stored. */
static void test_damaged_exif(void)
{
    dedup_image pic = tg_picture(40, 24, 6);
    tg_buf good = exif_block(6, 0, 3);
    /* Offsets into good: 6 prefix + 8 header; IFD0 count at 14, entries of
     * 12 bytes from 16; orientation is the second entry (28..39). */
    struct {
        const char *name;
        size_t keep; /* bytes kept (0: all) */
        size_t at;   /* byte to overwrite (0: none) */
        uint8_t value;
    } cases[] = {
        {"cut inside the orientation entry", 34, 0, 0},
        {"cut after the TIFF header", 14, 0, 0},
        {"only the Exif prefix", 6, 0, 0},
        {"bad byte order mark", 0, 6, 'X'},
        {"bad TIFF magic", 0, 8, 43},
        {"IFD0 offset past the end", 0, 13, 0x70},
        {"entry count past the end", 0, 15, 0x40},
        {"orientation 0", 0, 36, 0},
        {"orientation 9", 0, 36, 9},
        {"orientation as ASCII", 0, 30, 2},
        {"orientation with two values", 0, 32, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_buf e = {0};
        CHECK(tg_buf_put(&e, good.data, cases[i].keep ? cases[i].keep : good.len) == 0);
        if (cases[i].at)
            e.data[cases[i].at] = cases[i].value;
        CHECK_EQ_INT(dedup_decode_exif_orientation(e.data, e.len), 1);
        tg_jpeg_opts opts = {95, TG_JPEG_YCC, 0, 0, 0, 0, 0, 0, e.data, e.len};
        tg_buf f = {0};
        CHECK(tg_jpeg(&f, &pic, &opts) == 0);
        dedup_image img = decode_ok(&f, cases[i].name);
        CHECK_EQ_INT(img.width, 40);
        check_close(&img, &pic, RT_MEAN, cases[i].name);
        dedup_image_free(&img);
        tg_buf_free(&f);
        tg_buf_free(&e);
    }
    /* Every prefix of a good block parses without reading past it. */
    for (size_t n = 0; n <= good.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, good.data, n);
        int o = dedup_decode_exif_orientation(copy, n);
        CHECK(o == (n >= 40 ? 6 : 1));
        free(copy);
    }
    CHECK_EQ_INT(dedup_decode_exif_orientation(good.data, good.len), 6);
    CHECK_EQ_INT(dedup_decode_exif_orientation(good.data + 6, good.len - 6), 6);
    tg_buf_free(&good);
    for (int be = 0; be < 2; be++)
        for (int type = 3; type <= 4; type++) {
            tg_buf e = exif_block(7, be, type);
            CHECK_EQ_INT(dedup_decode_exif_orientation(e.data, e.len), 7);
            tg_buf_free(&e);
        }
    dedup_image_free(&pic);
}

/* --- tolerated and fatal warnings, scan limit ----------------------------- */

static void test_warnings(void)
{
    dedup_image pic = tg_picture(64, 48, 7);
    tg_buf f = {0};
    CHECK(tg_jpeg(&f, &pic, NULL) == 0);
    dedup_image want = decode_ok(&f, "plain");
    /* Junk between the last scan and EOI: libjpeg warns "extraneous bytes",
     * the picture is intact, so the decode succeeds with the same pixels. */
    tg_buf junk = {0};
    CHECK(tg_buf_put(&junk, f.data, f.len - 2) == 0);
    CHECK(tg_buf_put(&junk, "\x12\x34\x56", 3) == 0);
    CHECK(tg_buf_put(&junk, "\xFF\xD9", 2) == 0);
    dedup_image got = decode_ok(&junk, "extraneous bytes");
    CHECK_EQ_INT(tg_max_diff(&got, &want), 0);
    dedup_image_free(&got);
    tg_buf_free(&junk);

    /* Without its EOI the file is "premature end": refused, not guessed. */
    tg_buf cut = {0};
    CHECK(tg_buf_put(&cut, f.data, f.len - 2) == 0);
    dedup_error err;
    CHECK_EQ_INT(decode(&got, &cut, 0, &err), DEDUP_EDECODE);
    CHECK(strstr(err.msg, "Premature end") != NULL);
    tg_buf_free(&cut);
    dedup_image_free(&want);
    tg_buf_free(&f);

    /* A progressive file whose first (DC) scan repeats 600 times: stopped
     * at the scan limit instead of decoding every repetition. */
    tg_jpeg_opts prog = {90, TG_JPEG_YCC, 0, 0, 1, 0, 0, 0, NULL, 0};
    CHECK(tg_jpeg(&f, &pic, &prog) == 0);
    long first = find_marker(&f, 0xDA), end = -1;
    for (size_t i = first > 0 ? (size_t)first + 2 : f.len; i + 1 < f.len; i++)
        if (f.data[i] == 0xFF && f.data[i + 1] != 0 && (f.data[i + 1] & 0xF8) != 0xD0) {
            end = (long)i;
            break;
        }
    CHECK(first > 0 && end > first);
    if (first > 0 && end > first) {
        tg_buf many = {0};
        CHECK(tg_buf_put(&many, f.data, (size_t)end) == 0);
        for (int r = 0; r < 600; r++)
            CHECK(tg_buf_put(&many, f.data + first, (size_t)(end - first)) == 0);
        CHECK(tg_buf_put(&many, f.data + end, f.len - (size_t)end) == 0);
        int rc = decode(&got, &many, 64, &err);
        CHECK_EQ_INT(rc, DEDUP_EDECODE);
        CHECK(strstr(err.msg, "more than 500 scans") != NULL);
        if (!strstr(err.msg, "scans"))
            fprintf(stderr, "  scan limit: %d %s\n", rc, err.msg);
        tg_buf_free(&many);
        /* 400 repetitions are within the limit: decoded, with a warning only. */
        tg_buf some = {0};
        CHECK(tg_buf_put(&some, f.data, (size_t)end) == 0);
        for (int r = 0; r < 400; r++)
            CHECK(tg_buf_put(&some, f.data + first, (size_t)(end - first)) == 0);
        CHECK(tg_buf_put(&some, f.data + end, f.len - (size_t)end) == 0);
        rc = decode(&got, &some, 64, &err);
        if (rc)
            dedup_test_fail(__FILE__, __LINE__, "400 scans: %s", err.msg);
        dedup_image_free(&got);
        tg_buf_free(&some);
    }
    tg_buf_free(&f);
    dedup_image_free(&pic);
}

/* --- ordinary photos: exactly TurboJPEG's pixels ------------------------- */

static void test_same_as_turbojpeg(void)
{
    static const char *const photos[] = {"Aqua.jpg", "Dune.jpg", "LadyBird.jpg", "Wood.jpg"};
    tjhandle tj = tjInitDecompress();
    CHECK(tj != NULL);
    for (size_t i = 0; tj && i < sizeof(photos) / sizeof(photos[0]); i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dedup_test_photo_dir(), photos[i]);
        size_t len;
        uint8_t *bytes = dedup_test_read_file(path, &len);
        if (!bytes)
            continue;
        for (int min_side = 0; min_side <= 64; min_side += 64) {
            dedup_image img;
            dedup_error err;
            dedup_decode_options o;
            dedup_decode_options_init(&o);
            o.min_side = min_side;
            if (dedup_decode_image(dec, &img, bytes, len, &o, &err)) {
                dedup_test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
                continue;
            }
            int w, h, sub, cs;
            CHECK(tjDecompressHeader3(tj, bytes, len, &w, &h, &sub, &cs) == 0);
            tjscalingfactor sf = {img.width == w ? 1 : 0, 1};
            if (!sf.num) {
                /* Find TurboJPEG's factor that gives our size. */
                int n;
                tjscalingfactor *all = tjGetScalingFactors(&n);
                for (int k = 0; k < n; k++)
                    if (TJSCALED(w, all[k]) == img.width && TJSCALED(h, all[k]) == img.height)
                        sf = all[k];
            }
            CHECK(sf.num != 0);
            uint8_t *ref = malloc((size_t)img.width * img.height * 3);
            if (ref && sf.num &&
                tjDecompress2(tj, bytes, len, ref, img.width, img.width * 3, img.height, TJPF_RGB,
                              0) == 0) {
                if (memcmp(ref, img.pixels, (size_t)img.width * img.height * 3) != 0)
                    dedup_test_fail(__FILE__, __LINE__, "%s at %dx%d differs from TurboJPEG",
                                    photos[i], img.width, img.height);
            } else {
                dedup_test_fail(__FILE__, __LINE__, "%s: TurboJPEG reference failed", photos[i]);
            }
            free(ref);
            dedup_image_free(&img);
        }
        free(bytes);
    }
    if (tj)
        tjDestroy(tj);
}

int main(void)
{
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    test_codings();
    test_cmyk();
    test_cmyk_photo();
    test_unsupported_precision();
    test_orientation();
    test_orientation_photo();
    test_damaged_exif();
    test_warnings();
    test_same_as_turbojpeg();
    dedup_decoder_free(dec);
    return dedup_test_finish("test_decode_jpeg");
}
