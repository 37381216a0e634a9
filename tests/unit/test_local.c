/*
 * test_local.c - local features (issue 6) on their own: what a real photo
 * yields, flat and degenerate images, determinism, and the cache blob (its
 * round trip, and a parser that refuses every damaged or lying blob).
 * Overlap detection between images is test_overlap.c.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* A fixed-seed generator, so the noisy images are the same every run. */
static uint32_t next_rand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int decode_photo(const char *name, int min_side, dedup_image *img)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dedup_test_photo_dir(), name);
    size_t len;
    uint8_t *bytes = dedup_test_read_file(path, &len);
    if (!bytes)
        return -1;
    dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    int rc = dedup_decoder_new(&dec, &err);
    if (!rc) {
        dedup_decode_options opts;
        dedup_decode_options_init(&opts);
        opts.min_side = min_side;
        rc = dedup_decode_image(dec, img, bytes, len, &opts, &err);
        dedup_decoder_free(dec);
    }
    free(bytes);
    if (rc)
        dedup_test_fail(__FILE__, __LINE__, "%s: %s", name, err.msg);
    return rc;
}

static int same_features(const dedup_local_features *a, const dedup_local_features *b)
{
    if (a->count != b->count || a->work_width != b->work_width ||
        a->work_height != b->work_height || a->source_width != b->source_width ||
        a->source_height != b->source_height)
        return 0;
    for (uint32_t i = 0; i < a->count; i++) {
        const dedup_local_keypoint *p = &a->points[i], *q = &b->points[i];
        if (memcmp(p->desc, q->desc, sizeof(p->desc)) != 0 || p->x != q->x || p->y != q->y ||
            p->level != q->level || p->angle != q->angle || p->contrast != q->contrast)
            return 0;
    }
    return 1;
}

/* --- a real photograph ------------------------------------------------ */

static dedup_local_features photo_features;

static void test_photo(void)
{
    dedup_image img;
    if (decode_photo("Dune.jpg", DEDUP_LOCAL_DECODE_SIDE, &img))
        return;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_local_compute(&photo_features, &img, &err), 0);
    const dedup_local_features *f = &photo_features;
    printf("  Dune.jpg decoded %dx%d (source %dx%d): working %dx%d, %u keypoints\n", img.width,
           img.height, img.source_width, img.source_height, f->work_width, f->work_height,
           f->count);
    CHECK_EQ_INT(f->count, DEDUP_LOCAL_MAX_KEYPOINTS);
    CHECK(dedup_local_comparable(f));
    CHECK_EQ_INT(f->source_width, img.source_width);
    CHECK_EQ_INT(f->source_height, img.source_height);
    /* The working image: shorter side scaled to at most 384, aspect kept. */
    CHECK(f->work_height <= 384 && f->work_height >= 380);
    CHECK(abs(f->work_width * img.height - f->work_height * img.width) <= img.height);

    /* Every keypoint inside its image, on a real level, spread over the frame. */
    int levels[DEDUP_LOCAL_LEVELS] = {0}, quadrant[4] = {0}, strong = 0;
    for (uint32_t i = 0; i < f->count; i++) {
        const dedup_local_keypoint *kp = &f->points[i];
        CHECK(kp->x < 4 * f->work_width && kp->y < 4 * f->work_height);
        CHECK(kp->level < DEDUP_LOCAL_LEVELS);
        CHECK(kp->contrast % 4 == 0 && kp->contrast <= 124);
        if (kp->level < DEDUP_LOCAL_LEVELS)
            levels[kp->level]++;
        strong += kp->contrast >= DEDUP_LOCAL_STRONG_CONTRAST;
        double x, y, size, angle;
        dedup_local_point(f, i, &x, &y, &size, &angle);
        CHECK(x >= 0 && x < f->source_width && y >= 0 && y < f->source_height);
        CHECK(size > 0 && angle >= 0 && angle < 360);
        quadrant[(x >= f->source_width / 2.0) + 2 * (y >= f->source_height / 2.0)]++;
    }
    printf("  keypoints per level: %d %d %d %d %d; per quadrant: %d %d %d %d; strong: %d\n",
           levels[0], levels[1], levels[2], levels[3], levels[4], quadrant[0], quadrant[1],
           quadrant[2], quadrant[3], strong);
    for (int l = 0; l < DEDUP_LOCAL_LEVELS; l++)
        CHECK(levels[l] > 0);
    /* The grid keeps every quarter of a textured photo represented. */
    for (int q = 0; q < 4; q++)
        CHECK(quadrant[q] >= (int)f->count / 8);

    /* Deterministic: the same pixels give the same bits. */
    static dedup_local_features again;
    CHECK_EQ_INT(dedup_local_compute(&again, &img, &err), 0);
    CHECK(same_features(f, &again));
    dedup_image_free(&img);
}

/* --- flat and degenerate images --------------------------------------- */

static void check_flat(const char *what, dedup_image *img)
{
    static dedup_local_features f;
    dedup_error err;
    dedup_error_clear(&err);
    int rc = dedup_local_compute(&f, img, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s: %s\n", what, err.msg);
    printf("  %-32s %dx%d: %u keypoints, comparable %d\n", what, img->width, img->height, f.count,
           dedup_local_comparable(&f));
    CHECK(!dedup_local_comparable(&f));
    CHECK(f.count <= DEDUP_LOCAL_MAX_KEYPOINTS);
    dedup_image_free(img);
}

static void test_flat(void)
{
    dedup_image img = dedup_test_new_image(768, 768);
    memset(img.pixels, 128, (size_t)768 * 768 * 3);
    check_flat("solid grey", &img);

    /* Open sea: blue with +-3 levels of noise. */
    img = dedup_test_new_image(768, 768);
    uint32_t seed = 1;
    for (size_t i = 0; i < (size_t)768 * 768; i++) {
        int n = (int)(next_rand(&seed) % 7) - 3;
        img.pixels[3 * i] = (uint8_t)(20 + n);
        img.pixels[3 * i + 1] = (uint8_t)(60 + n);
        img.pixels[3 * i + 2] = (uint8_t)(110 + n);
    }
    check_flat("sea (blue, +-3 noise)", &img);

    /* Cloud: a smooth diagonal gradient. */
    img = dedup_test_new_image(900, 600);
    for (int y = 0; y < 600; y++)
        for (int x = 0; x < 900; x++)
            memset(img.pixels + ((size_t)y * 900 + x) * 3, 120 + (x + y) / 15, 3);
    check_flat("smooth gradient", &img);

    /* Black border around a black frame: all zero. */
    img = dedup_test_new_image(640, 480);
    check_flat("black", &img);

    /* Tiny and extreme shapes: no crash, nothing to compare. */
    img = dedup_test_new_image(1, 1);
    img.pixels[0] = 255;
    check_flat("1x1", &img);
    img = dedup_test_new_image(3, 2);
    check_flat("3x2", &img);
    img = dedup_test_new_image(5000, 3);
    for (size_t i = 0; i < (size_t)5000 * 3 * 3; i++)
        img.pixels[i] = (uint8_t)((i / 3 % 7) * 40);
    check_flat("5000x3 stripes", &img);
    img = dedup_test_new_image(40, 3000);
    for (size_t i = 0; i < (size_t)40 * 3000 * 3; i++)
        img.pixels[i] = (uint8_t)(next_rand(&seed) & 255);
    check_flat("40x3000 noise", &img);
}

static void test_bad_arguments(void)
{
    static dedup_local_features f;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_local_compute(&f, NULL, &err), DEDUP_EINVAL);
    dedup_image img;
    memset(&img, 0, sizeof(img));
    CHECK_EQ_INT(dedup_local_compute(&f, &img, &err), DEDUP_EINVAL);
    CHECK_EQ_INT(dedup_local_compute(NULL, &img, &err), DEDUP_EINVAL);
    CHECK(!dedup_local_comparable(NULL));
}

/* --- the blob --------------------------------------------------------- */

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-seal a blob after editing it, so that a check other than the
 * checksum must catch the edit. */
static void reseal(uint8_t *blob, size_t len)
{
    put32(blob + len - 4, XXH32(blob, len - 4, 0));
}

static int parse_code(const uint8_t *blob, size_t len)
{
    static dedup_local_features f;
    dedup_error err;
    dedup_error_clear(&err);
    memset(&f, 0xAB, sizeof(f));
    int rc = dedup_local_parse(&f, blob, len, &err);
    if (rc) {
        /* A refused blob leaves nothing half-read behind. */
        CHECK_EQ_INT(f.count, 0);
        CHECK(err.msg[0] != '\0');
    }
    return rc;
}

static void test_blob(void)
{
    const dedup_local_features *f = &photo_features;
    if (f->count == 0)
        return;
    static uint8_t blob[DEDUP_LOCAL_BLOB_MAX + 16];
    size_t len = 0;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_local_serialize(blob, sizeof(blob), &len, f, &err), 0);
    CHECK_EQ_INT(len, dedup_local_blob_size(f));
    CHECK_EQ_INT(len, DEDUP_LOCAL_BLOB_SIZE(f->count));
    CHECK(len <= 8192);
    printf("  blob: %zu bytes for %u keypoints (at most %u)\n", len, f->count,
           (unsigned)DEDUP_LOCAL_BLOB_MAX);

    /* Round trip, exactly. */
    static dedup_local_features back;
    CHECK_EQ_INT(dedup_local_parse(&back, blob, len, &err), 0);
    CHECK(same_features(f, &back));
    static uint8_t again[DEDUP_LOCAL_BLOB_MAX];
    size_t len2 = 0;
    CHECK_EQ_INT(dedup_local_serialize(again, sizeof(again), &len2, &back, &err), 0);
    CHECK(len2 == len && memcmp(again, blob, len) == 0);

    /* A buffer one byte short is refused, and nothing is claimed written. */
    size_t w = 99;
    CHECK_EQ_INT(dedup_local_serialize(again, len - 1, &w, f, &err), DEDUP_EINVAL);
    CHECK_EQ_INT(w, 0);

    /* Every truncation. */
    int refused = 0;
    for (size_t n = 0; n < len; n++)
        refused += parse_code(blob, n) == DEDUP_ECORRUPT;
    CHECK_EQ_INT(refused, len);
    /* Trailing garbage. */
    blob[len] = 0;
    CHECK_EQ_INT(parse_code(blob, len + 1), DEDUP_ECORRUPT);
    CHECK_EQ_INT(parse_code(NULL, 0), DEDUP_ECORRUPT);

    /* Every single-bit flip, anywhere, is caught. */
    refused = 0;
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit++) {
            blob[i] ^= (uint8_t)(1u << bit);
            refused += parse_code(blob, len) != 0;
            blob[i] ^= (uint8_t)(1u << bit);
        }
    CHECK_EQ_INT(refused, 8 * len);
    CHECK_EQ_INT(parse_code(blob, len), 0);

    /* Lies behind a valid checksum: each field out of range. */
    static uint8_t bad[DEDUP_LOCAL_BLOB_MAX];
    struct {
        const char *what;
        size_t at, bytes;
        uint32_t value;
        int code;
    } lies[] = {
        {"magic", 0, 1, 'X', DEDUP_ECORRUPT},
        {"version", 4, 1, 2, DEDUP_EUNSUPPORTED},
        {"flags", 5, 1, 1, DEDUP_ECORRUPT},
        {"count", 6, 2, f->count - 1, DEDUP_ECORRUPT},
        {"work width 0", 8, 2, 0, DEDUP_ECORRUPT},
        {"work width over the source's", 8, 2, 16383, DEDUP_ECORRUPT},
        {"work height 0", 10, 2, 0, DEDUP_ECORRUPT},
        {"source height 2^31", 16, 4, 0x80000000u, DEDUP_ECORRUPT},
        {"x outside", 20, 2, 0xff00, DEDUP_ECORRUPT},
        {"y outside", 22, 2, 0xfffe, DEDUP_ECORRUPT},
        {"level 7", 24, 1, 7, DEDUP_ECORRUPT},
    };
    for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
        memcpy(bad, blob, len);
        for (size_t b = 0; b < lies[k].bytes; b++)
            bad[lies[k].at + b] = (uint8_t)(lies[k].value >> (8 * b));
        reseal(bad, len);
        int rc = parse_code(bad, len);
        if (rc != lies[k].code)
            dedup_test_fail(__FILE__, __LINE__, "lie \"%s\": got %d, want %d", lies[k].what, rc,
                            lies[k].code);
    }
    /* A checksum that is right for other bytes. */
    memcpy(bad, blob, len);
    put32(bad + len - 4, get32(bad + len - 4) + 1);
    CHECK_EQ_INT(parse_code(bad, len), DEDUP_ECORRUPT);

    /* No keypoints at all is a valid blob (a flat image). */
    static dedup_local_features empty;
    memset(&empty, 0, sizeof(empty));
    empty.work_width = empty.work_height = 64;
    empty.source_width = empty.source_height = 64;
    CHECK_EQ_INT(dedup_local_serialize(bad, sizeof(bad), &len2, &empty, &err), 0);
    CHECK_EQ_INT(len2, 24);
    CHECK_EQ_INT(dedup_local_parse(&back, bad, len2, &err), 0);
    CHECK_EQ_INT(back.count, 0);
    CHECK(!dedup_local_comparable(&back));

    /* Features that could never be stored are refused on the way in, too. */
    memcpy(&back, f, sizeof(back));
    back.points[3].level = DEDUP_LOCAL_LEVELS;
    CHECK_EQ_INT(dedup_local_serialize(bad, sizeof(bad), &len2, &back, &err), DEDUP_EINVAL);
    memcpy(&back, f, sizeof(back));
    back.count = DEDUP_LOCAL_MAX_KEYPOINTS + 1;
    CHECK_EQ_INT(dedup_local_serialize(bad, sizeof(bad), &len2, &back, &err), DEDUP_EINVAL);
}

int main(void)
{
    test_photo();
    test_flat();
    test_bad_arguments();
    test_blob();
    return dedup_test_finish("test_local");
}
