/*
 * fuzz_local.c - libFuzzer target: local features as the cache gives them
 * back, and everything downstream of them.  The first input byte picks:
 *  - 0: the rest is a cache blob, with its checksum made right so that
 *    dedup_local_parse's own checks are reached (a damaged cache can hold
 *    any bytes that happen to checksum);
 *  - 1 and 2: the rest fills two feature sets that dedup_local_parse would
 *    accept, the second (with 2) a shifted, thinned copy of the first, so
 *    that fits are found and every check after RANSAC is reached.
 * Each set that is valid must survive a serialize / parse round trip, and
 * dedup_overlap_verify and the descriptor index must answer without error
 * and with values in range.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "dedup/features.h"
#include "dedup/index.h"
#include "dedup/match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t n;
} reader;

static unsigned take(reader *r, unsigned bytes)
{
    unsigned v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | (r->n ? *r->p : 0);
        if (r->n) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

/* A feature set dedup_local_parse accepts, from the reader's bytes. */
static void fill(dedup_local_features *f, reader *r)
{
    memset(f, 0, sizeof(*f));
    f->work_width = 1 + (int)(take(r, 2) % 2048);
    f->work_height = 1 + (int)(take(r, 2) % 2048);
    f->source_width = f->work_width * (1 + (int)(take(r, 1) % 8));
    f->source_height = f->work_height * (1 + (int)(take(r, 1) % 8));
    f->count = take(r, 1) % (DEDUP_LOCAL_MAX_KEYPOINTS + 1);
    for (uint32_t i = 0; i < f->count; i++) {
        dedup_local_keypoint *kp = &f->points[i];
        kp->x = (uint16_t)(take(r, 2) % (4u * (unsigned)f->work_width));
        kp->y = (uint16_t)(take(r, 2) % (4u * (unsigned)f->work_height));
        const unsigned lc = take(r, 1);
        kp->level = (uint8_t)(lc % DEDUP_LOCAL_LEVELS);
        kp->contrast = (uint8_t)((lc >> 3) * 4);
        kp->angle = (uint8_t)take(r, 1);
        for (int w = 0; w < 4; w++)
            kp->desc[w] = (uint64_t)take(r, 4) << 32 | take(r, 4);
    }
}

/* g: f shifted by (dx, dy) quarter pixels, keeping the points that stay
 * inside and that `keep` (a bit per point, cycled) lets through. */
static void shifted(dedup_local_features *g, const dedup_local_features *f, int dx, int dy,
                    unsigned keep)
{
    *g = *f;
    g->count = 0;
    for (uint32_t i = 0; i < f->count; i++) {
        const int x = f->points[i].x + dx, y = f->points[i].y + dy;
        if (!(keep >> (i % 16) & 1) || x < 0 || y < 0 || x >= 4 * f->work_width ||
            y >= 4 * f->work_height)
            continue;
        g->points[g->count] = f->points[i];
        g->points[g->count].x = (uint16_t)x;
        g->points[g->count].y = (uint16_t)y;
        g->count++;
    }
}

static void round_trip(const dedup_local_features *f)
{
    static uint8_t blob[DEDUP_LOCAL_BLOB_MAX];
    static dedup_local_features back;
    size_t n = 0;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_local_serialize(blob, sizeof(blob), &n, f, &err) != 0)
        abort(); /* fill() makes only valid sets */
    if (n != dedup_local_blob_size(f) || dedup_local_parse(&back, blob, n, &err) != 0)
        abort();
    if (back.count != f->count || back.work_width != f->work_width ||
        back.source_height != f->source_height ||
        memcmp(back.points, f->points, f->count * sizeof(*f->points)) != 0)
        abort();
}

static void verify(const dedup_local_features *h, const dedup_local_features *t)
{
    dedup_overlap ov;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_overlap_verify(&ov, h, t, NULL, &err) != 0 || !ov.reason)
        abort();
    if (ov.share_held_out < 0 || ov.share_held_out > 1 || ov.share_train < 0 ||
        ov.share_train > 1 || ov.inliers > ov.matches || ov.matches > h->count ||
        ov.distinct_inliers > ov.inliers || (ov.is_overlap && !ov.consistent))
        abort();
}

static void search(const dedup_local_features *a, const dedup_local_features *b)
{
    const dedup_local_features *images[3] = {a, NULL, b};
    dedup_desc_index *idx;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_desc_index_new(&idx, images, 3, &err) != 0)
        abort();
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);
    if (dedup_desc_index_query(idx, a, NULL, &cand, &err) != 0)
        abort();
    for (size_t i = 0; i < cand.len; i++)
        if (cand.items[i].image != 0 && cand.items[i].image != 2)
            abort();
    dedup_desc_candidates_free(&cand);
    dedup_desc_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static dedup_local_features a, b;
    dedup_error err;
    dedup_error_clear(&err);
    const int mode = data[0] % 3;
    if (mode == 0) {
        /* an exact-size copy with its checksum made right */
        const size_t len = size - 1 + 4;
        uint8_t *blob = malloc(len);
        if (!blob)
            return 0;
        memcpy(blob, data + 1, size - 1);
        const uint32_t sum = XXH32(blob, len - 4, 0);
        for (int i = 0; i < 4; i++)
            blob[len - 4 + (size_t)i] = (uint8_t)(sum >> (8 * i));
        const int rc = dedup_local_parse(&a, blob, len, &err);
        free(blob);
        if (rc == 0) {
            round_trip(&a);
            verify(&a, &a);
        } else if (!err.msg[0]) {
            abort(); /* every refusal says why */
        }
        return 0;
    }
    reader r = {data + 1, size - 1};
    fill(&a, &r);
    if (mode == 2) {
        const int dx = (int)(take(&r, 2) % 801) - 400, dy = (int)(take(&r, 2) % 801) - 400;
        shifted(&b, &a, dx, dy, take(&r, 2));
    } else {
        fill(&b, &r);
    }
    round_trip(&a);
    round_trip(&b);
    verify(&a, &b);
    verify(&b, &a);
    search(&a, &b);
    return 0;
}
