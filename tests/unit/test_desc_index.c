/*
 * test_desc_index.c - the descriptor index's probing and the overlap
 * stage's roles, on synthetic keypoints (random descriptors, so no bucket is
 * a hub and every distance is known):
 *  - a keypoint copied exactly is found by the exact-key probes;
 *  - one whose every table key differs by one bit (distance 16) is found by
 *    the one-bit probes, which must still run when the exact keys find
 *    nothing near;
 *  - one 40 bits away (beyond the exact keys' reach) is found too;
 *  - the overlap stage verifies a training and a held-out item that crop one
 *    synthetic scene, once, though both are new and each finds the other;
 *    items the pair rule never pairs (two training images) are not verified.
 */
#include "dedup/features.h"
#include "dedup/index.h"
#include "dedup/match.h"
#include "match/match_internal.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAGES 40
#define POINTS 200

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random keypoints spread over a 1024 x 768 working image. */
static void random_features(dedup_local_features *f, uint64_t *rng)
{
    memset(f, 0, sizeof(*f));
    f->source_width = f->work_width = 1024;
    f->source_height = f->work_height = 768;
    f->count = POINTS;
    for (unsigned i = 0; i < POINTS; i++) {
        dedup_local_keypoint *p = &f->points[i];
        for (int w = 0; w < 4; w++)
            p->desc[w] = next(rng);
        p->x = (uint16_t)(4 * 8 + next(rng) % (4 * 1008));
        p->y = (uint16_t)(4 * 8 + next(rng) % (4 * 752));
        p->angle = (uint8_t)next(rng);
        p->contrast = 120;
    }
}

static void flip_bit(uint64_t *desc, unsigned bit)
{
    desc[bit / 64] ^= 1ull << (bit % 64);
}

/* Query with image `target`'s keypoints, each changed by `change`; the
 * target must come first. */
static void expect_first(const dedup_desc_index *idx, const dedup_local_features *images,
                         unsigned target, int change, const char *what)
{
    static dedup_local_features q;
    q = images[target];
    uint64_t rng = 99;
    for (unsigned i = 0; i < q.count; i++) {
        uint64_t *d = q.points[i].desc;
        if (change == 1) {
            /* one bit in each 16-bit substring: every table key differs by one bit */
            for (unsigned t = 0; t < 16; t++)
                flip_bit(d, 16 * t + (unsigned)(next(&rng) % 8));
        } else if (change == 2) {
            /* 40 distinct bits */
            unsigned done = 0;
            uint64_t seen[4] = {0, 0, 0, 0};
            while (done < 40) {
                unsigned b = (unsigned)(next(&rng) % 256);
                if (seen[b / 64] >> (b % 64) & 1)
                    continue;
                seen[b / 64] |= 1ull << (b % 64);
                flip_bit(d, b);
                done++;
            }
        }
    }
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_desc_index_query(idx, &q, NULL, &cand, &err), 0);
    printf("  %s: %zu candidates, first %u with %u votes\n", what, cand.len,
           cand.len ? cand.items[0].image : 0, cand.len ? cand.items[0].votes : 0);
    CHECK(cand.len >= 1);
    if (cand.len >= 1) {
        CHECK_EQ_INT(cand.items[0].image, target);
        CHECK(cand.items[0].votes >= POINTS * 9 / 10);
    }
    dedup_desc_candidates_free(&cand);
}

static void test_probes(void)
{
    dedup_local_features *images = calloc(IMAGES, sizeof(*images));
    const dedup_local_features **ptrs = calloc(IMAGES, sizeof(*ptrs));
    CHECK(images && ptrs);
    if (!images || !ptrs) {
        free(images);
        free((void *)ptrs);
        return;
    }
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < IMAGES; i++) {
        random_features(&images[i], &rng);
        ptrs[i] = &images[i];
    }
    dedup_desc_index *idx;
    dedup_error err;
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_desc_index_new(&idx, ptrs, IMAGES, &err), 0);
    CHECK(dedup_desc_index_count(idx) >= 4096); /* hash tables, not a scan */
    expect_first(idx, images, 7, 0, "exact copies");
    expect_first(idx, images, 23, 1, "every key one bit off (distance 16)");
    expect_first(idx, images, 31, 2, "40 bits off");
    dedup_desc_index_free(idx);
    free(images);
    free((void *)ptrs);
}

/* ---- the overlap stage ------------------------------------------------- */

typedef struct {
    const dedup_item_list *items;
    unsigned offers;
    size_t held, train;
} offers;

static int allowed(void *ctx, size_t lo, size_t hi)
{
    const offers *o = ctx;
    const dedup_item *a = &o->items->items[lo], *b = &o->items->items[hi];
    return a->role == DEDUP_ROLE_TRAIN && b->role == DEDUP_ROLE_HELD_OUT;
}

static void offer(void *ctx, size_t held, size_t train, const dedup_overlap *ov)
{
    offers *o = ctx;
    o->offers++;
    o->held = held;
    o->train = train;
    printf("  overlap: held-out %zu ~ train %zu, share %.2f, %u inliers\n", held, train,
           ov->share_held_out, ov->inliers);
}

/* The keypoints of `scene` inside [x0, x0 + w) x [y0, y0 + h), moved to the origin. */
static void cut(dedup_local_features *out, const dedup_local_features *scene, int x0, int y0, int w,
                int h)
{
    memset(out, 0, sizeof(*out));
    out->source_width = out->work_width = w;
    out->source_height = out->work_height = h;
    for (unsigned i = 0; i < scene->count; i++) {
        const dedup_local_keypoint *p = &scene->points[i];
        const int x = p->x - 4 * x0, y = p->y - 4 * y0;
        if (x < 4 * 8 || y < 4 * 8 || x >= 4 * (w - 8) || y >= 4 * (h - 8))
            continue;
        out->points[out->count] = *p;
        out->points[out->count].x = (uint16_t)x;
        out->points[out->count].y = (uint16_t)y;
        out->count++;
    }
}

static void test_stage(void)
{
    static dedup_local_features scene, a, b, c, other;
    uint64_t rng = 12345;
    random_features(&scene, &rng);
    random_features(&other, &rng);
    cut(&a, &scene, 0, 0, 700, 600);     /* train */
    cut(&b, &scene, 300, 150, 700, 600); /* held out: overlaps a */
    cut(&c, &scene, 250, 100, 700, 600); /* train: overlaps a, the rule never pairs them */
    dedup_item it[4];
    memset(it, 0, sizeof(it));
    const dedup_role roles[4] = {DEDUP_ROLE_TRAIN, DEDUP_ROLE_HELD_OUT, DEDUP_ROLE_TRAIN,
                                 DEDUP_ROLE_TRAIN};
    for (int i = 0; i < 4; i++) {
        it[i].role = roles[i];
        it[i].rank = roles[i] == DEDUP_ROLE_HELD_OUT;
        it[i].is_new = 1;
    }
    dedup_item_list items;
    memset(&items, 0, sizeof(items));
    items.items = it;
    items.count = 4;
    const dedup_local_features *local[4] = {&a, &b, &other, &c};
    unsigned char skip[4] = {0, 0, 0, 0};
    dedup_match_options mo;
    dedup_match_options_init(&mo);
    dedup_error err;
    dedup_error_clear(&err);

    /* Both ends are new and find each other: one verification, one offer. */
    offers o = {.items = &items};
    local[3] = NULL; /* first without c */
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 1);
    CHECK_EQ_INT(o.held, 1);
    CHECK_EQ_INT(o.train, 0);

    /* c overlaps both a (never paired: both training) and b. */
    local[3] = &c;
    o.offers = 0;
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 2);

    /* Only one end new: its own query finds the other (the held-out index
     * new training images search holds only old held-out items). */
    local[3] = NULL;
    it[1].is_new = 0;
    o.offers = 0;
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 1);
    CHECK_EQ_INT(o.held, 1);
    it[1].is_new = 1;
    it[0].is_new = 0;
    it[2].is_new = 0;
    o.offers = 0;
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 1);
    CHECK_EQ_INT(o.train, 0);
    it[0].is_new = it[2].is_new = 1;
    local[3] = &c;

    /* A held-out item that already has a stronger match is not verified. */
    skip[1] = 1;
    o.offers = 0;
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 0);

    /* Only training images: nothing to pair, nothing verified. */
    skip[1] = 0;
    it[1].role = DEDUP_ROLE_TRAIN;
    it[1].rank = 0;
    CHECK_EQ_INT(dedup_match_overlaps(&items, local, skip, &mo, allowed, offer, &o, &err), 0);
    CHECK_EQ_INT(o.offers, 0);
}

int main(void)
{
    test_probes();
    test_stage();
    return dedup_test_finish("test_desc_index");
}
