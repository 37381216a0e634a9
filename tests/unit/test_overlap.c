/*
 * test_overlap.c - overlapping crops (issue 6) with real photographs cut by
 * the test: a pair that shares about half its area is found with the right
 * share and offset, also after re-encoding and a 0.75x rescale; a pair cut
 * side by side is not, nor a checkerboard pair, nor a flat tile ("not
 * comparable"); verdicts are deterministic; the descriptor index proposes
 * the right partner.
 *
 * Every crop goes the way a file in a repository does: JPEG bytes, decoded
 * at DEDUP_LOCAL_DECODE_SIDE, then dedup_local_compute.  Measured values are
 * printed so the tolerances below can be judged against numbers.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "dedup/index.h"
#include "dedup/match.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#define CROP 768

/* Tolerances: the bench measures mean errors of ~0.001 in share and ~2-3
 * pixels in offset (a 0.5% scale error alone moves the origin of a 768-pixel
 * crop by 4); these leave room without letting a wrong fit pass. */
#define SHARE_TOL 0.03
#define OFFSET_TOL 6.0

static dedup_decoder *decoder;

static dedup_image crop(const dedup_image *src, int x, int y, int w, int h)
{
    dedup_image c = dedup_test_new_image(w, h);
    for (int j = 0; j < h && c.pixels; j++)
        memcpy(c.pixels + (size_t)j * c.stride, src->pixels + (size_t)(y + j) * src->stride + 3 * x,
               (size_t)w * 3);
    return c;
}

/* Area average to w x h (shrinking only), as an image editor would. */
static dedup_image shrink(const dedup_image *s, int w, int h)
{
    dedup_image d = dedup_test_new_image(w, h);
    const double fx = (double)s->width / w, fy = (double)s->height / h;
    for (int y = 0; y < h && d.pixels; y++)
        for (int x = 0; x < w; x++) {
            double acc[3] = {0, 0, 0}, wsum = 0;
            const double x0 = x * fx, x1 = (x + 1) * fx, y0 = y * fy, y1 = (y + 1) * fy;
            for (int j = (int)y0; j < (int)ceil(y1) && j < s->height; j++) {
                const double wy = fmin(j + 1, y1) - fmax(j, y0);
                for (int i = (int)x0; i < (int)ceil(x1) && i < s->width; i++) {
                    const double wgt = wy * (fmin(i + 1, x1) - fmax(i, x0));
                    const uint8_t *p = s->pixels + (size_t)j * s->stride + 3 * i;
                    for (int c = 0; c < 3; c++)
                        acc[c] += wgt * p[c];
                    wsum += wgt;
                }
            }
            for (int c = 0; c < 3; c++)
                d.pixels[(size_t)y * d.stride + 3 * x + c] = (uint8_t)(acc[c] / wsum + 0.5);
        }
    return d;
}

/* Bilinear enlargement (pixel centres at half-integers), as an image editor
 * would scale a picture up. */
static dedup_image enlarge(const dedup_image *s, int w, int h)
{
    dedup_image d = dedup_test_new_image(w, h);
    const double fx = (double)s->width / w, fy = (double)s->height / h;
    for (int y = 0; y < h && d.pixels; y++)
        for (int x = 0; x < w; x++) {
            const double sx = fmax((x + 0.5) * fx - 0.5, 0), sy = fmax((y + 0.5) * fy - 0.5, 0);
            const int i = (int)sx, j = (int)sy;
            const int i1 = i + 1 < s->width ? i + 1 : i, j1 = j + 1 < s->height ? j + 1 : j;
            const double ax = sx - i, ay = sy - j;
            for (int c = 0; c < 3; c++) {
                const double p00 = s->pixels[(size_t)j * s->stride + 3 * i + c];
                const double p01 = s->pixels[(size_t)j * s->stride + 3 * i1 + c];
                const double p10 = s->pixels[(size_t)j1 * s->stride + 3 * i + c];
                const double p11 = s->pixels[(size_t)j1 * s->stride + 3 * i1 + c];
                const double v =
                    (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
                d.pixels[(size_t)y * d.stride + 3 * x + c] = (uint8_t)(v + 0.5);
            }
        }
    return d;
}

static int encode(const dedup_image *img, int quality, unsigned char **jpeg, unsigned long *len)
{
    tjhandle tj = tjInitCompress();
    *jpeg = NULL;
    *len = 0;
    int rc = tj ? tjCompress2(tj, img->pixels, img->width, (int)img->stride, img->height, TJPF_RGB,
                              jpeg, len, TJSAMP_420, quality, TJFLAG_ACCURATEDCT)
                : -1;
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "tjCompress2 failed");
    if (tj)
        tjDestroy(tj);
    return rc;
}

/* The image as a repository would hold it (JPEG at `quality`, re-encoded
 * at `reencode` when non-zero), decoded and reduced to local features. */
static int features_of(const dedup_image *img, int quality, int reencode, dedup_local_features *out)
{
    unsigned char *jpeg;
    unsigned long len;
    if (encode(img, quality, &jpeg, &len))
        return -1;
    dedup_error err;
    dedup_error_clear(&err);
    dedup_decode_options opts;
    dedup_decode_options_init(&opts);
    int rc;
    if (reencode) {
        dedup_image full;
        opts.min_side = 0;
        rc = dedup_decode_image(decoder, &full, jpeg, len, &opts, &err);
        tjFree(jpeg);
        if (rc) {
            dedup_test_fail(__FILE__, __LINE__, "decode: %s", err.msg);
            return rc;
        }
        rc = encode(&full, reencode, &jpeg, &len);
        dedup_image_free(&full);
        if (rc)
            return rc;
    }
    dedup_image dec;
    opts.min_side = DEDUP_LOCAL_DECODE_SIDE;
    rc = dedup_decode_image(decoder, &dec, jpeg, len, &opts, &err);
    tjFree(jpeg);
    if (!rc) {
        rc = dedup_local_compute(out, &dec, &err);
        dedup_image_free(&dec);
    }
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "features: %s", err.msg);
    return rc;
}

static int load_photo_at(const char *path, dedup_image *img);

static int load_photo(const char *name, dedup_image *img)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dedup_test_photo_dir(), name);
    return load_photo_at(path, img);
}

static int load_photo_at(const char *path, dedup_image *img)
{
    const char *name = path;
    size_t len;
    uint8_t *bytes = dedup_test_read_file(path, &len);
    if (!bytes)
        return -1;
    dedup_error err;
    dedup_error_clear(&err);
    dedup_decode_options opts;
    dedup_decode_options_init(&opts);
    opts.min_side = 0;
    int rc = dedup_decode_image(decoder, img, bytes, len, &opts, &err);
    free(bytes);
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", name, err.msg);
    return rc;
}

static dedup_overlap verify(const dedup_local_features *held_out, const dedup_local_features *train)
{
    dedup_overlap ov;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_overlap_verify(&ov, held_out, train, NULL, &err))
        dedup_test_fail(__FILE__, __LINE__, "verify: %s", err.msg);
    return ov;
}

static void print_overlap(const char *what, const dedup_overlap *ov)
{
    printf("  %-34s overlap %d share %.3f/%.3f offset (%.1f, %.1f) scale %.3f rot %.1f "
           "inliers %u/%u: %s\n",
           what, ov->is_overlap, ov->share_held_out, ov->share_train, ov->dx, ov->dy, ov->scale,
           ov->rotation, ov->inliers, ov->matches, ov->reason);
}

static void expect_overlap_within(const char *what, const dedup_overlap *ov, double share,
                                  double dx, double dy, double scale, double offset_tol)
{
    print_overlap(what, ov);
    if (!ov->is_overlap) {
        dedup_test_fail(__FILE__, __LINE__, "%s: overlap not found (%s)", what, ov->reason);
        return;
    }
    if (fabs(ov->share_held_out - share) > SHARE_TOL)
        dedup_test_fail(__FILE__, __LINE__, "%s: share %.3f, want %.3f", what, ov->share_held_out,
                        share);
    if (fabs(ov->dx - dx) > offset_tol || fabs(ov->dy - dy) > offset_tol)
        dedup_test_fail(__FILE__, __LINE__, "%s: offset (%.1f, %.1f), want (%.1f, %.1f)", what,
                        ov->dx, ov->dy, dx, dy);
    if (fabs(ov->scale - scale) > 0.02 * scale)
        dedup_test_fail(__FILE__, __LINE__, "%s: scale %.3f, want %.3f", what, ov->scale, scale);
    if (fabs(ov->rotation) > 1.0)
        dedup_test_fail(__FILE__, __LINE__, "%s: rotation %.2f degrees", what, ov->rotation);
    CHECK(ov->held_out_comparable && ov->train_comparable && ov->consistent);
}

static void expect_overlap(const char *what, const dedup_overlap *ov, double share, double dx,
                           double dy, double scale)
{
    expect_overlap_within(what, ov, share, dx, dy, scale, OFFSET_TOL);
}

static void expect_no_overlap(const char *what, const dedup_overlap *ov)
{
    print_overlap(what, ov);
    if (ov->is_overlap)
        dedup_test_fail(__FILE__, __LINE__, "%s: claimed an overlap of %.3f", what,
                        ov->share_held_out);
}

/* Shared features: the training crop of each photo, and an unrelated one. */
static dedup_local_features train_crop[2], held[2], unrelated;

/*
 * One photo: the training crop at (x, y), the held-out crop shifted by
 * (384, 17), so they share (768 - 384) * (768 - 17) / 768^2 = 48.9% of
 * their area and the training crop's origin lies at (-384, -17) in the
 * held-out one.
 */
static void test_photo_pair(int k, const char *name, int x, int y)
{
    dedup_image photo;
    if (load_photo(name, &photo))
        return;
    const int ox = 384, oy = 17;
    const double share = (double)(CROP - ox) * (CROP - oy) / ((double)CROP * CROP);
    dedup_image a = crop(&photo, x, y, CROP, CROP);
    dedup_image b = crop(&photo, x + ox, y + oy, CROP, CROP);
    char what[128];
    if (features_of(&a, 92, 0, &train_crop[k]) || features_of(&b, 92, 0, &held[k]))
        goto out;
    printf("  %s: %u and %u keypoints\n", name, train_crop[k].count, held[k].count);

    snprintf(what, sizeof(what), "%s as stored", name);
    dedup_overlap ov = verify(&held[k], &train_crop[k]);
    expect_overlap(what, &ov, share, -ox, -oy, 1.0);
    CHECK(fabs(ov.share_train - share) <= SHARE_TOL);

    /* The other way round: the offset changes sign, the share does not. */
    snprintf(what, sizeof(what), "%s, roles swapped", name);
    ov = verify(&train_crop[k], &held[k]);
    expect_overlap(what, &ov, share, ox, oy, 1.0);

    /* Deterministic. */
    dedup_overlap again = verify(&held[k], &train_crop[k]);
    ov = verify(&held[k], &train_crop[k]);
    CHECK(again.is_overlap == ov.is_overlap && again.inliers == ov.inliers &&
          again.matches == ov.matches && again.dx == ov.dx && again.dy == ov.dy &&
          again.scale == ov.scale && again.share_held_out == ov.share_held_out);

    /* Re-encoded at quality 75 by whoever copied it. */
    static dedup_local_features f;
    snprintf(what, sizeof(what), "%s re-encoded q75", name);
    if (!features_of(&b, 92, 75, &f)) {
        ov = verify(&f, &train_crop[k]);
        expect_overlap(what, &ov, share, -ox, -oy, 1.0);
    }

    /* Shrunk to 0.75x (576 pixels), and shrunk and re-encoded. */
    dedup_image small = shrink(&b, CROP * 3 / 4, CROP * 3 / 4);
    snprintf(what, sizeof(what), "%s at 0.75x", name);
    if (!features_of(&small, 92, 0, &f)) {
        ov = verify(&f, &train_crop[k]);
        expect_overlap(what, &ov, share, -ox * 0.75, -oy * 0.75, 0.75);
    }
    snprintf(what, sizeof(what), "%s at 0.75x, re-encoded q75", name);
    if (!features_of(&small, 92, 75, &f)) {
        ov = verify(&f, &train_crop[k]);
        expect_overlap(what, &ov, share, -ox * 0.75, -oy * 0.75, 0.75);
    }
    dedup_image_free(&small);

    /* Side by side: touching, and with an 8-pixel gap, shifted along the
     * seam.  They share no pixel. */
    dedup_image right = crop(&photo, x + CROP, y + 40, CROP, CROP);
    snprintf(what, sizeof(what), "%s adjacent, touching", name);
    if (!features_of(&right, 92, 0, &f)) {
        ov = verify(&f, &train_crop[k]);
        expect_no_overlap(what, &ov);
    }
    dedup_image_free(&right);
    right = crop(&photo, x + CROP + 8, y - 30, CROP, CROP);
    snprintf(what, sizeof(what), "%s adjacent, 8-pixel gap", name);
    if (!features_of(&right, 75, 0, &f)) {
        ov = verify(&f, &train_crop[k]);
        expect_no_overlap(what, &ov);
    }
    dedup_image_free(&right);
out:
    dedup_image_free(&a);
    dedup_image_free(&b);
    dedup_image_free(&photo);
}

static void test_unrelated(void)
{
    dedup_image photo;
    if (load_photo("Wood.jpg", &photo))
        return;
    dedup_image c = crop(&photo, 900, 500, CROP, CROP);
    if (!features_of(&c, 92, 0, &unrelated)) {
        dedup_overlap ov = verify(&unrelated, &train_crop[0]);
        expect_no_overlap("unrelated photos", &ov);
        ov = verify(&held[1], &train_crop[0]);
        expect_no_overlap("two different photos", &ov);
    }
    dedup_image_free(&c);
    dedup_image_free(&photo);
}

/* Two crops of one large checkerboard (with a little noise), overlapping
 * or not: every corner looks like every other, so no fit may be claimed. */
static void test_checkerboard(void)
{
    dedup_image board = dedup_test_new_image(2048, 1536);
    uint32_t seed = 7;
    for (int y = 0; y < board.height && board.pixels; y++)
        for (int x = 0; x < board.width; x++) {
            seed = seed * 1664525u + 1013904223u;
            const int v = (((x / 32) + (y / 32)) & 1 ? 210 : 40) + (int)(seed >> 29) - 4;
            memset(board.pixels + (size_t)y * board.stride + 3 * x, v, 3);
        }
    static dedup_local_features fa, fb;
    dedup_image a = crop(&board, 10, 10, CROP, CROP);
    dedup_image b = crop(&board, 1100, 700, CROP, CROP);
    dedup_image c = crop(&board, 300, 150, CROP, CROP);
    if (!features_of(&a, 92, 0, &fa) && !features_of(&b, 92, 0, &fb)) {
        dedup_overlap ov = verify(&fb, &fa);
        expect_no_overlap("checkerboard, apart", &ov);
        if (!features_of(&c, 92, 0, &fb)) {
            ov = verify(&fb, &fa);
            expect_no_overlap("checkerboard, overlapping", &ov);
        }
    }
    dedup_image_free(&a);
    dedup_image_free(&b);
    dedup_image_free(&c);
    dedup_image_free(&board);
}

static void test_flat(void)
{
    /* Open sea with a little noise: too few keypoints to compare. */
    dedup_image sea = dedup_test_new_image(CROP, CROP);
    uint32_t seed = 3;
    for (size_t i = 0; sea.pixels && i < (size_t)CROP * CROP; i++) {
        seed = seed * 1664525u + 1013904223u;
        const int n = (int)(seed >> 30) - 2;
        sea.pixels[3 * i] = (uint8_t)(25 + n);
        sea.pixels[3 * i + 1] = (uint8_t)(70 + n);
        sea.pixels[3 * i + 2] = (uint8_t)(120 + n);
    }
    static dedup_local_features f;
    if (!features_of(&sea, 75, 0, &f)) {
        CHECK(!dedup_local_comparable(&f));
        dedup_overlap ov = verify(&f, &train_crop[0]);
        print_overlap("flat sea vs photo", &ov);
        CHECK(!ov.held_out_comparable && ov.train_comparable);
        CHECK(!ov.is_overlap && !ov.consistent);
        ov = verify(&f, &f);
        CHECK(!ov.held_out_comparable && !ov.train_comparable && !ov.is_overlap);
    }
    dedup_image_free(&sea);
}

/*
 * Soft texture: a photo crop with its contrast cut to a twelfth (haze, a dim
 * scene) has few corners of contrast 8 or more, which the first rule for
 * "comparable" demanded, so such overlaps were never searched.  Its corners
 * of lower contrast still match: the overlap must be found.
 */
static void test_soft_texture(void)
{
    dedup_image photo;
    if (load_photo("Garden.jpg", &photo))
        return;
    for (size_t i = 0; i < (size_t)photo.height * photo.stride; i++)
        photo.pixels[i] = (uint8_t)(128 + (photo.pixels[i] - 128) / 12);
    const int ox = 384, oy = 17;
    const double share = (double)(CROP - ox) * (CROP - oy) / ((double)CROP * CROP);
    dedup_image a = crop(&photo, 1000, 300, CROP, CROP);
    dedup_image b = crop(&photo, 1000 + ox, 300 + oy, CROP, CROP);
    static dedup_local_features fa, fb;
    if (!features_of(&a, 92, 0, &fa) && !features_of(&b, 92, 0, &fb)) {
        unsigned strong = 0;
        for (uint32_t i = 0; i < fb.count; i++)
            strong += fb.points[i].contrast >= DEDUP_LOCAL_STRONG_CONTRAST;
        printf("  soft texture: %u keypoints, %u of contrast >= %d\n", fb.count, strong,
               DEDUP_LOCAL_STRONG_CONTRAST);
        CHECK(strong < DEDUP_LOCAL_MIN_KEYPOINTS);
        CHECK(dedup_local_comparable(&fa) && dedup_local_comparable(&fb));
        dedup_overlap ov = verify(&fb, &fa);
        expect_overlap("soft texture, shifted", &ov, share, -ox, -oy, 1.0);
        /* and side by side, sharing no pixel, it must still pass */
        dedup_image c = crop(&photo, 1000 + CROP, 340, CROP, CROP);
        if (!features_of(&c, 92, 0, &fb)) {
            ov = verify(&fb, &fa);
            expect_no_overlap("soft texture, adjacent", &ov);
        }
        dedup_image_free(&c);
    }
    dedup_image_free(&a);
    dedup_image_free(&b);
    dedup_image_free(&photo);
}

/* One of plasma-workspace-wallpapers' photographs by its theme name; -1
 * (with a line saying why) when it is not installed. */
static int load_wallpaper(const char *name, dedup_image *photo)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/wallpapers/%s/contents/images/2560x1600.jpg", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("  skipped: %s is not installed (plasma-workspace-wallpapers)\n", path);
        return -1;
    }
    fclose(f);
    return load_photo_at(path, photo);
}

/*
 * A shifted pair of crops of one photograph, which must be found as an
 * overlap, and a twin of the training crop beside it (no shared pixel),
 * which must not.
 */
typedef struct {
    const char *photo; /* plasma-workspace-wallpapers theme */
    const char *what, *twin_what;
    int ax, ay, bx, by, w, h; /* training crop at a, held-out at b */
    int reencode;             /* quality the held-out crop is re-encoded at, or 0 */
    int cx, cy;               /* the twin */
    double offset_tol;
    int lax_twin; /* the twin must also fail with only 3 inliers asked */
} shifted_pair;

static void check_shifted_pair(const shifted_pair *p)
{
    dedup_image photo;
    if (load_wallpaper(p->photo, &photo))
        return;
    const int ix = p->w - abs(p->bx - p->ax), iy = p->h - abs(p->by - p->ay);
    const double share = (double)ix * iy / ((double)p->w * p->h);
    dedup_image a = crop(&photo, p->ax, p->ay, p->w, p->h);
    dedup_image b = crop(&photo, p->bx, p->by, p->w, p->h);
    dedup_image c = crop(&photo, p->cx, p->cy, p->w, p->h);
    static dedup_local_features fa, fb, fc;
    if (!features_of(&a, 92, 0, &fa) && !features_of(&b, 92, p->reencode, &fb) &&
        !features_of(&c, 92, 0, &fc)) {
        dedup_overlap ov = verify(&fb, &fa);
        expect_overlap_within(p->what, &ov, share, p->ax - p->bx, p->ay - p->by, 1.0,
                              p->offset_tol);
        ov = verify(&fc, &fa);
        expect_no_overlap(p->twin_what, &ov);
        if (p->lax_twin) {
            dedup_overlap_options lax;
            dedup_overlap_options_init(&lax);
            lax.min_inliers = 3;
            dedup_error err;
            dedup_error_clear(&err);
            CHECK_EQ_INT(dedup_overlap_verify(&ov, &fc, &fa, &lax, &err), 0);
            expect_no_overlap(p->twin_what, &ov);
        }
    }
    dedup_image_free(&a);
    dedup_image_free(&b);
    dedup_image_free(&c);
    dedup_image_free(&photo);
}

/*
 * A misty lake at dusk (plasma's "DarkestHour"): the only texture is the
 * tree line on the horizon, so every keypoint, and every inlier of a true
 * overlap, lies on one band.  bench_overlap seed 6 refused this pair (63
 * inliers, a 68% overlap, the held-out crop re-encoded at quality 75) as
 * "inliers bunched or on a line", measuring their spread against the whole
 * overlap rather than against the keypoints in it.  Side by side, the same
 * band must still not match itself.
 */
static void test_tree_line(void)
{
    static const shifted_pair lake = {"DarkestHour",
                                      "tree line, shifted, re-encoded",
                                      "tree line, adjacent",
                                      162,
                                      446,
                                      221,
                                      584,
                                      513,
                                      586,
                                      75,
                                      162 + 513 + 8,
                                      446 + 40,
                                      OFFSET_TOL,
                                      0};
    check_shifted_pair(&lake);
}

/*
 * Small overlaps found by few inliers.  Each pair below agreed on one shift
 * with 5 to 7 inliers (bench_overlap seeds 12 and 14) while 8 were asked,
 * though the checks after the count (spread, coverage, density, rival) are
 * what keep unrelated pictures out: none of the bench's 53,440 negatives
 * reaches them with a consistent fit.  With 5 asked they are found; their
 * adjacent twins (right of the training crop), which share no pixel, still
 * are not, even with 3 inliers asked.  A fit from so few points, some of
 * them found at a quarter of the working size, places the overlap less
 * exactly: within 12 pixels here.
 */
static void test_few_inliers(void)
{
    static const shifted_pair pairs[] = {
        {"BytheWater", "lakeside, 45% shared", "lakeside, 45% shared", 116, 62, 233, 427, 717, 792,
         0, 116 + 717 + 8, 62, 12.0, 1},
        {"Grey", "woven facade, 67% shared, re-encoded", "woven facade, 67% shared, re-encoded",
         378, 735, 392, 471, 455, 865, 75, 378 + 455 + 8, 735, 12.0, 1},
    };
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
        check_shifted_pair(&pairs[k]);
}

/* img turned 90 degrees clockwise. */
static dedup_image turn_clockwise(const dedup_image *img)
{
    dedup_image t = dedup_test_new_image(img->height, img->width);
    for (int y = 0; y < img->height && t.pixels; y++)
        for (int x = 0; x < img->width; x++)
            memcpy(t.pixels + (size_t)x * t.stride + 3 * (size_t)(img->height - 1 - y),
                   img->pixels + (size_t)y * img->stride + 3 * (size_t)x, 3);
    return t;
}

/*
 * Crops of the woven facade that share no pixel, far apart on it, which the
 * bands' curve makes look alike once one is turned 14-16 degrees: each was
 * claimed as an overlap (33 and 19 inliers, 49% and 58% of the held-out
 * crop) when bench_overlap verified every candidate the index proposed
 * (seed 11).  Crops and copies are not turned by such angles, so the fit's
 * rotation must be within max_rotation of a multiple of 90 degrees; a crop
 * turned a quarter is still found.
 */
static void test_turned_fits(void)
{
    dedup_image photo;
    if (load_wallpaper("Grey", &photo))
        return;
    static const struct {
        const char *what;
        int ax, ay, aw, ah, bx, by, bw, bh; /* training crop at a, held-out at b */
    } pairs[] = {
        {"woven facade, far apart", 253, 354, 680, 625, 956, 690, 683, 740},
        {"woven facade, far apart, wide", 253, 354, 680, 625, 1023, 967, 890, 533},
    };
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        dedup_image a = crop(&photo, pairs[k].ax, pairs[k].ay, pairs[k].aw, pairs[k].ah);
        dedup_image b = crop(&photo, pairs[k].bx, pairs[k].by, pairs[k].bw, pairs[k].bh);
        static dedup_local_features fa, fb;
        if (!features_of(&a, 92, 0, &fa) && !features_of(&b, 92, 0, &fb)) {
            dedup_overlap ov = verify(&fb, &fa);
            expect_no_overlap(pairs[k].what, &ov);
        }
        dedup_image_free(&a);
        dedup_image_free(&b);
    }
    dedup_image_free(&photo);

    /* A quarter turn is a copy's, not a pattern's: still found. */
    if (load_wallpaper("BytheWater", &photo))
        return;
    dedup_image a = crop(&photo, 300, 200, 700, 700);
    dedup_image b = crop(&photo, 500, 300, 700, 700);
    dedup_image turned = turn_clockwise(&b);
    static dedup_local_features fa, ft;
    if (!features_of(&a, 92, 0, &fa) && !features_of(&turned, 92, 0, &ft)) {
        dedup_overlap ov = verify(&ft, &fa);
        print_overlap("lakeside, held-out turned 90", &ov);
        CHECK(ov.is_overlap);
        CHECK(fabs(ov.share_held_out - 500.0 * 600.0 / (700.0 * 700.0)) <= SHARE_TOL);
        CHECK(fabs(fabs(ov.rotation) - 90.0) <= 1.0);
        CHECK(fabs(ov.scale - 1.0) <= 0.02);
    }
    dedup_image_free(&a);
    dedup_image_free(&b);
    dedup_image_free(&turned);
    dedup_image_free(&photo);
}

/*
 * Adjacent crops of a facade of woven metal bands (plasma-workspace-
 * wallpapers' "Grey") share no pixel, but the bands repeat, smaller with
 * distance, so one crop looks like the other shifted and scaled.  Each pair
 * below was once reported as an overlap by bench_overlap:
 *  - seed 12, pair 500: 25 inliers with nearly equal descriptors (mean
 *    distance 11 bits), a 57% overlap at 0.85x.  First stopped by asking
 *    18% of the keypoints in the claimed overlap to agree (it had 17%); now
 *    by the rival check (a second fit explains 19 more of its matches),
 *    with a density of 12% asked;
 *  - seed 20: the held-out crop enlarged 1.53x, 24 inliers, 22% of the
 *    keypoints in the 55% it claimed; a second, different fit explains 10
 *    more of the matches: the matches of a repeating pattern split between
 *    one fit per period, where a true overlap leaves the rest to noise;
 *  - seed 12: wide strips, the right one re-encoded at quality 75: 8
 *    inliers with a rival of 6 passed once min_inlier_density was 0.15,
 *    while the rival check still asked a rival of min_inliers (8); now it
 *    asks RIVAL_FLOOR (5) when that is a quarter of the fit;
 *  - seed 26: 20 pixels apart, the right one enlarged 1.075x: 29 inliers
 *    whose rival explains 8 more (28%), which a rival share of a third let
 *    through as a 61% overlap.
 */
static void test_repeating_facade(void)
{
    static const struct {
        const char *what;
        int ax, ay, bx, by, w, h; /* training crop at a, held-out at b */
        int big_w, big_h;         /* the held-out crop enlarged to this, or 0 */
        int reencode;             /* quality the held-out crop is re-encoded at, or 0 */
        int by_rival;             /* the rival check must be what stops it */
    } pairs[] = {
        {"woven facade, adjacent", 837, 710, 1658, 909, 817, 651, 0, 0, 0, 0},
        {"woven facade, adjacent, enlarged", 222, 375, 1026, 628, 804, 551, 1227, 841, 0, 1},
        {"woven facade, adjacent strips", 218, 981, 1058, 1132, 823, 414, 0, 0, 75, 0},
        {"woven facade, adjacent, enlarged a little", 528, 513, 1256, 814, 708, 684, 761, 735, 0,
         0},
    };
    dedup_image photo;
    if (load_wallpaper("Grey", &photo))
        return;
    static dedup_local_features fa, fb;
    for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
        dedup_image a = crop(&photo, pairs[k].ax, pairs[k].ay, pairs[k].w, pairs[k].h);
        dedup_image b = crop(&photo, pairs[k].bx, pairs[k].by, pairs[k].w, pairs[k].h);
        if (pairs[k].big_w) {
            dedup_image big = enlarge(&b, pairs[k].big_w, pairs[k].big_h);
            dedup_image_free(&b);
            b = big;
        }
        if (!features_of(&a, 92, 0, &fa) && !features_of(&b, 92, pairs[k].reencode, &fb)) {
            dedup_overlap ov = verify(&fb, &fa);
            expect_no_overlap(pairs[k].what, &ov);
            if (pairs[k].by_rival)
                CHECK(strstr(ov.reason, "repeating pattern") != NULL);
        }
        dedup_image_free(&a);
        dedup_image_free(&b);
    }
    dedup_image_free(&photo);
}

static void test_index(void)
{
    if (!train_crop[0].count || !train_crop[1].count || !unrelated.count)
        return;
    /* Ids are positions; NULL entries (no features) are allowed. */
    const dedup_local_features *train[5] = {&unrelated, NULL, &train_crop[1], &train_crop[0],
                                            &held[1]};
    dedup_desc_index *idx;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_desc_index_new(&idx, train, 5, &err), 0);
    CHECK_EQ_INT(dedup_desc_index_count(idx),
                 unrelated.count + train_crop[1].count + train_crop[0].count + held[1].count);
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);
    CHECK_EQ_INT(dedup_desc_index_query(idx, &held[0], NULL, &cand, &err), 0);
    printf("  index: %zu candidates for the held-out crop:", cand.len);
    for (size_t i = 0; i < cand.len; i++)
        printf(" %u (%u votes, score %.1f)", cand.items[i].image, cand.items[i].votes,
               cand.items[i].score);
    printf("\n");
    CHECK(cand.len >= 1);
    if (cand.len >= 1)
        CHECK_EQ_INT(cand.items[0].image, 3);
    for (size_t i = 0; i < cand.len; i++)
        CHECK(cand.items[i].image != 1);
    /* The other photo's pair: its training crop (2) before everything else. */
    CHECK_EQ_INT(dedup_desc_index_query(idx, &held[1], NULL, &cand, &err), 0);
    CHECK(cand.len >= 1);
    if (cand.len >= 1)
        CHECK(cand.items[0].image == 4 || cand.items[0].image == 2);
    dedup_desc_index_free(idx);

    /* Enough images for the hash tables (4096 keypoints and more): the
     * same answer as the scan for a true partner. */
    enum { MANY = 30 };
    const dedup_local_features *many[MANY];
    for (int i = 0; i < MANY; i++)
        many[i] = i == 17 ? &train_crop[0] : i % 2 ? &unrelated : &train_crop[1];
    CHECK_EQ_INT(dedup_desc_index_new(&idx, many, MANY, &err), 0);
    CHECK(dedup_desc_index_count(idx) >= 4096);
    CHECK_EQ_INT(dedup_desc_index_query(idx, &held[0], NULL, &cand, &err), 0);
    CHECK(cand.len >= 1);
    if (cand.len >= 1)
        CHECK_EQ_INT(cand.items[0].image, 17);
    dedup_desc_index_free(idx);

    /* An empty index answers with nothing. */
    CHECK_EQ_INT(dedup_desc_index_new(&idx, NULL, 0, &err), 0);
    CHECK_EQ_INT(dedup_desc_index_query(idx, &held[0], NULL, &cand, &err), 0);
    CHECK_EQ_INT(cand.len, 0);
    dedup_desc_index_free(idx);
    dedup_desc_candidates_free(&cand);
}

static void test_bad_arguments(void)
{
    dedup_overlap ov;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_overlap_verify(NULL, &held[0], &held[0], NULL, &err), DEDUP_EINVAL);
    CHECK_EQ_INT(dedup_overlap_verify(&ov, NULL, &held[0], NULL, &err), DEDUP_EINVAL);
    static dedup_local_features bogus;
    memset(&bogus, 0, sizeof(bogus));
    bogus.count = DEDUP_LOCAL_MAX_KEYPOINTS + 1;
    CHECK_EQ_INT(dedup_overlap_verify(&ov, &bogus, &held[0], NULL, &err), DEDUP_EINVAL);
    dedup_desc_index *idx;
    CHECK_EQ_INT(dedup_desc_index_new(NULL, NULL, 0, &err), DEDUP_EINVAL);
    CHECK_EQ_INT(dedup_desc_index_new(&idx, NULL, 3, &err), DEDUP_EINVAL);
}

int main(void)
{
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&decoder, &err)) {
        fprintf(stderr, "decoder: %s\n", err.msg);
        return 1;
    }
    test_photo_pair(0, "Dune.jpg", 60, 150);
    test_photo_pair(1, "Garden.jpg", 1000, 300);
    test_unrelated();
    test_checkerboard();
    test_flat();
    test_soft_texture();
    test_repeating_facade();
    test_tree_line();
    test_few_inliers();
    test_turned_fits();
    test_index();
    test_bad_arguments();
    dedup_decoder_free(decoder);
    return dedup_test_finish("test_overlap");
}
