/*
 * test_index.c - the multi-index must return exactly the brute-force answer.
 *
 * Random codes come from a seeded splitmix64, so failures reproduce.  Near
 * neighbours are planted by flipping exactly k distinct bits, which pins
 * their distance and lets us say which radii must find them.  The brute
 * scan is itself checked against an independent count, so agreement between
 * the two paths is not agreement between two wrong answers.
 */
#include "dedup/index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const unsigned radii[] = {0, 1, 15, 16, 17, 31, 32, 47, 63, 64, 100, 256};
#define NRADII (sizeof(radii) / sizeof(radii[0]))

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static dedup_pdq_hash random_code(uint64_t *rng)
{
    dedup_pdq_hash h;
    for (int i = 0; i < DEDUP_PDQ_WORDS; i++)
        h.w[i] = splitmix64(rng);
    return h;
}

/* Own popcount so the test links without features.c. */
static unsigned dist(const dedup_pdq_hash *a, const dedup_pdq_hash *b)
{
    unsigned d = 0;
    for (int i = 0; i < DEDUP_PDQ_WORDS; i++)
        d += (unsigned)__builtin_popcountll(a->w[i] ^ b->w[i]);
    return d;
}

/* Flip exactly k distinct bits (partial Fisher-Yates over bit positions). */
static dedup_pdq_hash flip_bits(dedup_pdq_hash h, unsigned k, uint64_t *rng)
{
    unsigned pos[256];
    for (unsigned i = 0; i < 256; i++)
        pos[i] = i;
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + (unsigned)(splitmix64(rng) % (256 - i));
        unsigned t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
        h.w[pos[i] / 64] ^= 1ull << (pos[i] % 64);
    }
    return h;
}

/*
 * Flip exactly k distinct bits dealt round-robin over the sixteen 16-bit
 * slices: the worst case for multi-index hashing, since every slice then
 * differs by about k/16 bits and only an exact per-slice radius finds it.
 */
static dedup_pdq_hash flip_spread(dedup_pdq_hash h, unsigned k, uint64_t *rng)
{
    unsigned pos[16][16];
    for (unsigned s = 0; s < 16; s++) {
        for (unsigned i = 0; i < 16; i++)
            pos[s][i] = i;
        for (unsigned i = 15; i > 0; i--) {
            unsigned j = (unsigned)(splitmix64(rng) % (i + 1));
            unsigned t = pos[s][i];
            pos[s][i] = pos[s][j];
            pos[s][j] = t;
        }
    }
    unsigned first = (unsigned)(splitmix64(rng) % 16);
    for (unsigned j = 0; j < k; j++) {
        unsigned s = (first + j) % 16, bit = 16 * s + pos[s][j / 16];
        h.w[bit / 64] ^= 1ull << (bit % 64);
    }
    return h;
}

/*
 * Query both paths and compare them hit for hit; also check the brute answer
 * against the codes directly (right distances, strictly sorted, nothing
 * missing).  Returns the brute list's count, or -1 on an API error.
 */
static long check_query(const dedup_index *idx, const dedup_pdq_hash *codes, size_t count,
                        const dedup_pdq_hash *q, unsigned r, dedup_index_hits *mih,
                        dedup_index_hits *brute)
{
    dedup_error err;
    dedup_error_clear(&err);
    int rc1 = dedup_index_query(idx, q, r, mih, &err);
    CHECK_EQ_INT(rc1, 0);
    int rc2 = dedup_index_query_brute(idx, q, r, brute, &err);
    CHECK_EQ_INT(rc2, 0);
    if (rc1 || rc2)
        return -1;

    size_t expect = 0;
    for (size_t i = 0; i < count; i++)
        expect += dist(&codes[i], q) <= r;
    CHECK_EQ_INT(brute->count, expect);

    for (size_t i = 0; i < brute->count; i++) {
        const dedup_index_hit *h = &brute->items[i];
        CHECK(h->id < count);
        if (h->id >= count)
            break;
        CHECK_EQ_INT(h->distance, dist(&codes[h->id], q));
        CHECK(h->distance <= r);
        if (i > 0) {
            const dedup_index_hit *p = &brute->items[i - 1];
            CHECK(p->distance < h->distance || (p->distance == h->distance && p->id < h->id));
        }
    }

    CHECK_EQ_INT(mih->count, brute->count);
    if (mih->count == brute->count) {
        for (size_t i = 0; i < mih->count; i++) {
            if (mih->items[i].id != brute->items[i].id ||
                mih->items[i].distance != brute->items[i].distance) {
                dedup_test_fail(__FILE__, __LINE__,
                                "radius %u: hit %zu is (id %u, d %u), brute has (id %u, d %u)", r,
                                i, mih->items[i].id, mih->items[i].distance, brute->items[i].id,
                                brute->items[i].distance);
                break;
            }
        }
    }
    return (long)brute->count;
}

static int has_id(const dedup_index_hits *hits, uint32_t id)
{
    for (size_t i = 0; i < hits->count; i++)
        if (hits->items[i].id == id)
            return 1;
    return 0;
}

static dedup_index *build(const dedup_pdq_hash *codes, size_t count)
{
    dedup_index *idx = NULL;
    dedup_error err;
    dedup_error_clear(&err);
    int rc = dedup_index_new(&idx, codes, count, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        fprintf(stderr, "dedup_index_new: %s\n", err.msg);
    else
        CHECK_EQ_INT(dedup_index_count(idx), count);
    return rc ? NULL : idx;
}

#define PLANT_QUERIES 6
#define PLANT_MAX 40

/*
 * Random codes of the given size, with (when there is room) neighbours of
 * PLANT_QUERIES outside queries planted at distances 0..PLANT_MAX.
 */
static void test_random(size_t count, uint64_t seed, dedup_index_hits *mih, dedup_index_hits *brute)
{
    uint64_t rng = seed;
    dedup_pdq_hash *codes = malloc((count ? count : 1) * sizeof(*codes));
    CHECK(codes != NULL);
    if (!codes)
        return;
    for (size_t i = 0; i < count; i++)
        codes[i] = random_code(&rng);

    dedup_pdq_hash pq[PLANT_QUERIES];
    size_t planted[PLANT_QUERIES][PLANT_MAX + 1];
    int plant = count >= 4 * PLANT_QUERIES * (PLANT_MAX + 1);
    if (plant) {
        /* Each plant gets its own group of four slots, so none overwrites another. */
        size_t slot = 0;
        for (int qi = 0; qi < PLANT_QUERIES; qi++) {
            pq[qi] = random_code(&rng);
            for (unsigned k = 0; k <= PLANT_MAX; k++) {
                size_t at = (slot++ * 4 + (size_t)(splitmix64(&rng) % 4)) % count;
                planted[qi][k] = at;
                codes[at] = qi % 2 ? flip_spread(pq[qi], k, &rng) : flip_bits(pq[qi], k, &rng);
            }
        }
    }

    dedup_index *idx = build(count ? codes : NULL, count);
    if (!idx) {
        free(codes);
        return;
    }
    /* The index copies its codes: scribbling on ours must not matter. */
    dedup_pdq_hash *mine = malloc((count ? count : 1) * sizeof(*mine));
    CHECK(mine != NULL);
    if (!mine) {
        dedup_index_free(idx);
        free(codes);
        return;
    }
    if (count)
        memcpy(mine, codes, count * sizeof(*mine));
    memset(codes, 0xA5, count * sizeof(*codes));

    for (unsigned ri = 0; ri < NRADII; ri++) {
        unsigned r = radii[ri];
        uint64_t qrng = seed ^ 0x1234567ull;
        for (int t = 0; t < 8; t++) {
            dedup_pdq_hash q = random_code(&qrng);
            check_query(idx, mine, count, &q, r, mih, brute);
        }
        /* Indexed codes and light perturbations of them. */
        for (int t = 0; count && t < 8; t++) {
            dedup_pdq_hash q = mine[splitmix64(&qrng) % count];
            q = flip_bits(q, (unsigned)(t * 3), &qrng);
            long n = check_query(idx, mine, count, &q, r, mih, brute);
            if (t == 0)
                CHECK(n >= 1);
        }
        for (int qi = 0; plant && qi < PLANT_QUERIES; qi++) {
            uint32_t before = mih->stamp;
            check_query(idx, mine, count, &pq[qi], r, mih, brute);
            /*
             * White-box: a visited-stamp bump means the slice tables were
             * probed.  Small radii on these sizes must take that path, or
             * the equality above would test only the scan against itself.
             */
            if (r <= 15)
                CHECK(mih->stamp != before);
            for (unsigned k = 0; k <= PLANT_MAX; k++) {
                uint32_t id = (uint32_t)planted[qi][k];
                CHECK_EQ_INT(dist(&mine[id], &pq[qi]), k);
                int found = has_id(mih, id);
                if (found != (k <= r))
                    dedup_test_fail(__FILE__, __LINE__,
                                    "count %zu radius %u: neighbour at distance %u %s", count, r, k,
                                    found ? "found beyond radius" : "missed");
            }
        }
    }
    dedup_index_free(idx);
    free(mine);
    free(codes);
}

/* Many identical codes stress one bucket per slice and the dedup of candidates. */
static void test_duplicates(dedup_index_hits *mih, dedup_index_hits *brute)
{
    uint64_t rng = 42;
    size_t count = 3000;
    dedup_pdq_hash *codes = malloc(count * sizeof(*codes));
    CHECK(codes != NULL);
    if (!codes)
        return;
    dedup_pdq_hash a = random_code(&rng);
    dedup_pdq_hash b = flip_bits(a, 3, &rng);
    for (size_t i = 0; i < count; i++)
        codes[i] = i % 3 == 0 ? a : i % 3 == 1 ? b : random_code(&rng);
    dedup_index *idx = build(codes, count);
    if (idx) {
        for (unsigned ri = 0; ri < NRADII; ri++) {
            unsigned r = radii[ri];
            long n = check_query(idx, codes, count, &a, r, mih, brute);
            if (r < 3) {
                CHECK_EQ_INT(n, 1000);
            } else if (r < 64) {
                CHECK_EQ_INT(n, 2000);
                /* All exact copies first, in id order, then the d=3 copies. */
                CHECK_EQ_INT(mih->items[0].id, 0);
                CHECK_EQ_INT(mih->items[999].id, 2997);
                CHECK_EQ_INT(mih->items[1000].id, 1);
                CHECK_EQ_INT(mih->items[1000].distance, 3);
            }
            check_query(idx, codes, count, &b, r, mih, brute);
        }
        dedup_index_free(idx);
    }
    free(codes);
}

/* Extremes: every slice value 0x0000 or 0xFFFF, distance 256 between them. */
static void test_extremes(dedup_index_hits *mih, dedup_index_hits *brute)
{
    uint64_t rng = 7;
    size_t count = 1200;
    dedup_pdq_hash zero, ones;
    memset(&zero, 0, sizeof(zero));
    memset(&ones, 0xFF, sizeof(ones));
    dedup_pdq_hash *codes = malloc(count * sizeof(*codes));
    CHECK(codes != NULL);
    if (!codes)
        return;
    for (size_t i = 0; i < count; i++) {
        if (i % 4 == 0)
            codes[i] = zero;
        else if (i % 4 == 1)
            codes[i] = ones;
        else if (i % 4 == 2)
            codes[i] = flip_bits(zero, (unsigned)(i % 41), &rng);
        else
            codes[i] = flip_bits(ones, (unsigned)(i % 37), &rng);
    }
    dedup_index *idx = build(codes, count);
    if (idx) {
        for (unsigned ri = 0; ri < NRADII; ri++) {
            unsigned r = radii[ri];
            long nz = check_query(idx, codes, count, &zero, r, mih, brute);
            long no = check_query(idx, codes, count, &ones, r, mih, brute);
            if (r == 0) {
                CHECK(nz >= 300);
                CHECK(no >= 300);
            }
            if (r == 256) {
                CHECK_EQ_INT(nz, count);
                CHECK_EQ_INT(no, count);
                CHECK_EQ_INT(mih->items[count - 1].distance, 256);
            }
        }
        CHECK_EQ_INT(dist(&zero, &ones), 256);
        /* Only the all-one copies sit at 256, just outside radius 255. */
        long n255 = check_query(idx, codes, count, &zero, 255, mih, brute);
        CHECK(n255 > 0 && n255 <= (long)count - 300);
        for (size_t i = 0; i < mih->count; i++)
            CHECK(mih->items[i].distance < 256);
        check_query(idx, codes, count, &zero, 1000, mih, brute);
        CHECK_EQ_INT(brute->count, count);
        dedup_index_free(idx);
    }
    free(codes);
}

static void test_errors(dedup_index_hits *hits)
{
    dedup_error err;
    dedup_index *idx = NULL;
    dedup_pdq_hash code;
    memset(&code, 0, sizeof(code));

    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_index_new(NULL, &code, 1, &err), DEDUP_EINVAL);
    CHECK_EQ_INT(err.code, DEDUP_EINVAL);
    CHECK(err.msg[0] != '\0');

    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_index_new(&idx, NULL, 5, &err), DEDUP_EINVAL);
    CHECK(idx == NULL);
    CHECK(err.msg[0] != '\0');

#if SIZE_MAX > UINT32_MAX
    /* Refused before the codes are touched, so one real code suffices. */
    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_index_new(&idx, &code, (size_t)UINT32_MAX + 1, &err), DEDUP_EINVAL);
    CHECK(idx == NULL);
    CHECK(strstr(err.msg, "32-bit") != NULL);
#endif

    dedup_error_clear(&err);
    CHECK_EQ_INT(dedup_index_new(&idx, &code, 1, &err), 0);
    if (idx) {
        CHECK_EQ_INT(dedup_index_query(idx, NULL, 3, hits, &err), DEDUP_EINVAL);
        CHECK_EQ_INT(dedup_index_query(idx, &code, 3, NULL, &err), DEDUP_EINVAL);
        CHECK_EQ_INT(dedup_index_query_brute(NULL, &code, 3, hits, &err), DEDUP_EINVAL);
        CHECK(err.msg[0] != '\0');
        /* A NULL error object is allowed. */
        CHECK_EQ_INT(dedup_index_query(NULL, &code, 3, hits, NULL), DEDUP_EINVAL);
        dedup_index_free(idx);
    }
    CHECK_EQ_INT(dedup_index_count(NULL), 0);
    dedup_index_free(NULL);
    dedup_index_hits_free(NULL);
}

/* Force the 32-bit stamp to wrap mid-run: stale marks must not hide hits. */
static void test_stamp_wrap(dedup_index_hits *mih, dedup_index_hits *brute)
{
    uint64_t rng = 99;
    size_t count = 2000;
    dedup_pdq_hash *codes = malloc(count * sizeof(*codes));
    CHECK(codes != NULL);
    if (!codes)
        return;
    for (size_t i = 0; i < count; i++)
        codes[i] = random_code(&rng);
    dedup_index *idx = build(codes, count);
    if (idx) {
        for (int t = 0; t < 6; t++) {
            if (t == 0)
                mih->stamp = UINT32_MAX - 2;
            dedup_pdq_hash q = flip_bits(codes[t], 5, &rng);
            check_query(idx, codes, count, &q, 15, mih, brute);
            CHECK(has_id(mih, (uint32_t)t));
            CHECK(mih->stamp != 0);
        }
        dedup_index_free(idx);
    }
    free(codes);
}

int main(void)
{
    dedup_index_hits mih, brute;
    dedup_index_hits_init(&mih);
    dedup_index_hits_init(&brute);

    test_errors(&mih);
    /* Hit lists are reused across indexes of different sizes on purpose. */
    test_random(0, 1, &mih, &brute);
    test_random(1, 2, &mih, &brute);
    test_random(1000, 3, &mih, &brute);
    test_random(20000, 4, &mih, &brute);
    test_random(1000, 5, &mih, &brute);
    test_duplicates(&mih, &brute);
    test_extremes(&mih, &brute);
    test_stamp_wrap(&mih, &brute);

    dedup_index_hits_free(&mih);
    dedup_index_hits_free(&brute);
    CHECK(mih.items == NULL && mih.scratch == NULL && mih.count == 0);
    return dedup_test_finish("test_index");
}
