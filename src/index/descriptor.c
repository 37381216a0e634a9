/*
 * descriptor.c - approximate search of local-feature descriptors, voting for
 * the training images a held-out image may overlap (issue 6).
 *
 * Pure: no files, no globals; per-query scratch lives in the caller's
 * dedup_desc_candidates.  Assumes descriptors laid out as in features.h
 * (bit i is bit i % 64 of desc[i / 64]), so table t keys on the low
 * key_bits bits of the aligned 16-bit substring t: sixteen tables, every
 * bit used by at most one.  key_bits grows with the index (8 to 16) so that
 * a bucket holds about 8 keypoints.
 *
 * Why one-bit probes: a true match differs in ~15% of its bits, so a given
 * 13-bit key is identical only ~11% of the time, but within one bit ~37%;
 * over sixteen tables a true match is then found >99% of the time at
 * distance 40 and ~90% at distance 60.
 *
 * Why exact keys first: the one-bit probes are fourteen of every fifteen
 * buckets read, and a query keypoint rarely needs them.  Two descriptors
 * within 15 bits agree exactly on some table's key (pigeonhole: sixteen
 * disjoint keys), and a keypoint with a true partner usually lies that
 * close (measured: mean nearest distance 16-25).  So every table is probed
 * at its key first, and the one-bit probes run only for a keypoint whose
 * nearest so far is farther than EXACT_ENOUGH.  On bench_overlap this
 * reads 2.2 times fewer keypoints, with the partner among the candidates
 * as often as before (seeds 1, 2, 3, 6); the keypoints that still probe
 * are mostly those without a partner (the part of a crop outside the
 * overlap).
 *
 * Why not every bucket: steered comparison descriptors are not uniform.
 * Patches that are a smooth gradient or a straight edge, once turned to
 * their orientation, all give nearly the same bits, so a few buckets hold
 * thousands of keypoints (measured: one 14-bit bucket held 7% of them).
 * Those are skipped (HUB_FACTOR), and votes are split among the images a
 * query keypoint reaches (VOTE_SLACK), so such patches cannot outvote the
 * partner of a true overlap.  bench_overlap measures the result: the
 * partner is among the 16 candidates for 99% of the overlaps it finds.
 */
#include "dedup/index.h"

#include <stdlib.h>
#include <string.h>

#define TABLES 16
#define MAX_KEY_BITS 16
#define MIN_KEY_BITS 8

/* A query keypoint whose exact-key probes found a keypoint this near skips
 * the one-bit probes.  31 keeps bench_overlap's candidate recall; 40
 * already loses partners of rescaled, re-encoded crops. */
#define EXACT_ENOUGH 31

/* Below this many keypoints a scan beats the probes. */
#define MIN_TABLE_COUNT 4096u

/*
 * A query keypoint votes only for the images whose nearest keypoint is
 * within VOTE_SLACK bits of its nearest keypoint overall, and splits one
 * vote (VOTE_UNIT) among them.  Descriptors of near-featureless patches (a
 * soft gradient, JPEG blocking) look alike in every image and would
 * otherwise vote for all of them, drowning the partner of a true overlap.
 */
#define VOTE_SLACK 8
#define VOTE_UNIT 1024u

/*
 * Buckets holding more than HUB_FACTOR times the mean are skipped.  They
 * hold the keypoints of smooth gradients and straight edges: steered to
 * their orientation such patches all give nearly the same descriptor, so
 * thousands share a key.  They cannot tell images apart, and scanning them
 * would cost more than every other probe together.
 */
#define HUB_FACTOR 8
#define HUB_MIN 64

struct dedup_desc_index {
    size_t count;      /* keypoints */
    size_t images;     /* length of the array the index was built from */
    unsigned key_bits; /* the low key_bits bits of each 16-bit substring */
    uint64_t (*desc)[4];
    uint32_t *owner;   /* image of each keypoint */
    uint32_t *offsets; /* TABLES * (2^key_bits + 1) bucket starts, or NULL when scanning */
    uint32_t hub;      /* buckets larger than this are skipped */
    uint32_t *ids;     /* TABLES * count keypoint ids, ascending within a bucket */
};

void dedup_desc_query_options_init(dedup_desc_query_options *o)
{
    o->max_distance = 56;
    o->min_votes = 5;
    o->max_candidates = 16;
    o->exclude_image = UINT32_MAX;
}

void dedup_desc_candidates_init(dedup_desc_candidates *c)
{
    if (c)
        memset(c, 0, sizeof(*c));
}

void dedup_desc_candidates_free(dedup_desc_candidates *c)
{
    if (!c)
        return;
    free(c->items);
    free(c->votes);
    free(c->seen);
    free(c->best);
    free(c->hit);
    free(c->count);
    memset(c, 0, sizeof(*c));
}

void dedup_desc_index_free(dedup_desc_index *idx)
{
    if (!idx)
        return;
    free(idx->desc);
    free(idx->owner);
    free(idx->offsets);
    free(idx->ids);
    free(idx);
}

size_t dedup_desc_index_count(const dedup_desc_index *idx)
{
    return idx ? idx->count : 0;
}

static inline uint32_t key_of(const uint64_t *d, unsigned t, unsigned bits)
{
    return (uint32_t)((d[t / 4] >> (16 * (t % 4))) & ((1u << bits) - 1));
}

/* Bits set in x.  Written out because without -mpopcnt (Debian builds for
 * baseline x86-64) __builtin_popcountll is a library call, several times
 * slower than these few instructions in the innermost loop. */
static inline unsigned popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/*
 * The distance is most of a query's cost, and the popcnt instruction makes
 * it about twice as fast as popcount64.  Baseline x86-64 lacks it, so the
 * search loop is compiled twice and the query picks the variant the CPU
 * runs (the builtin is fast wherever the compiler may emit it anyway).
 */
#if defined(__POPCNT__) || defined(__aarch64__)
#define HW_POPCOUNT_ALWAYS 1
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define HW_POPCOUNT_DISPATCH 1
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define ALWAYS_INLINE inline
#define PREFETCH(p) ((void)(p))
#endif

static ALWAYS_INLINE unsigned ham(const uint64_t *a, const uint64_t *b, int hw)
{
#if defined(HW_POPCOUNT_ALWAYS) || defined(HW_POPCOUNT_DISPATCH)
    if (hw)
        return (unsigned)(__builtin_popcountll(a[0] ^ b[0]) + __builtin_popcountll(a[1] ^ b[1]) +
                          __builtin_popcountll(a[2] ^ b[2]) + __builtin_popcountll(a[3] ^ b[3]));
#else
    (void)hw;
#endif
    return popcount64(a[0] ^ b[0]) + popcount64(a[1] ^ b[1]) + popcount64(a[2] ^ b[2]) +
           popcount64(a[3] ^ b[3]);
}

/* Counting sort of the keypoint ids by one table's key (as in index.c). */
static void build_table(uint32_t *off, uint32_t *ids, uint64_t (*desc)[4], size_t count, unsigned t,
                        unsigned bits)
{
    const uint32_t values = 1u << bits;
    memset(off, 0, (values + 1) * sizeof(*off));
    for (size_t i = 0; i < count; i++)
        off[key_of(desc[i], t, bits) + 1]++;
    for (uint32_t v = 0; v < values; v++)
        off[v + 1] += off[v];
    for (size_t i = 0; i < count; i++)
        ids[off[key_of(desc[i], t, bits)]++] = (uint32_t)i;
    for (uint32_t v = values; v > 0; v--)
        off[v] = off[v - 1];
    off[0] = 0;
}

int dedup_desc_index_new(dedup_desc_index **out, const dedup_local_features *const *images,
                         size_t count, dedup_error *err)
{
    if (!out)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_desc_index_new: out is NULL");
    *out = NULL;
    if (!images && count > 0)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_desc_index_new: images is NULL");
#if SIZE_MAX > UINT32_MAX
    if (count > UINT32_MAX)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "dedup_desc_index_new: %zu images exceed the 32-bit id limit",
                               count);
#endif
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (!images[i])
            continue;
        if (images[i]->count > DEDUP_LOCAL_MAX_KEYPOINTS)
            return dedup_error_set(err, DEDUP_EINVAL,
                                   "dedup_desc_index_new: image %zu has %u keypoints", i,
                                   images[i]->count);
        total += images[i]->count;
    }
    /* Table entries are uint32_t keypoint ids. */
    if (total > UINT32_MAX / 2 || total > SIZE_MAX / (TABLES * sizeof(uint32_t) + 40))
        return dedup_error_set(err, DEDUP_EINVAL,
                               "dedup_desc_index_new: %zu keypoints are too many", total);
    dedup_desc_index *idx = calloc(1, sizeof(*idx));
    if (!idx)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for the descriptor index");
    idx->count = total;
    idx->images = count;
    idx->desc = malloc((total ? total : 1) * sizeof(*idx->desc));
    idx->owner = malloc((total ? total : 1) * sizeof(*idx->owner));
    if (!idx->desc || !idx->owner)
        goto nomem;
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        if (!images[i])
            continue;
        for (uint32_t j = 0; j < images[i]->count; j++, k++) {
            memcpy(idx->desc[k], images[i]->points[j].desc, sizeof(idx->desc[k]));
            idx->owner[k] = (uint32_t)i;
        }
    }
    if (total >= MIN_TABLE_COUNT) {
        /* About 8 keypoints a bucket: shorter keys find more true matches
         * (fewer bits to differ in) but check more candidates; 8 balances
         * the two, and keeps small tables in cache. */
        unsigned bits = MIN_KEY_BITS;
        while (bits < MAX_KEY_BITS && ((size_t)8 << bits) < total)
            bits++;
        idx->key_bits = bits;
        const size_t mean = total >> bits;
        idx->hub = (uint32_t)(HUB_FACTOR * mean > HUB_MIN ? HUB_FACTOR * mean : HUB_MIN);
        const size_t stride = ((size_t)1 << bits) + 1;
        idx->offsets = malloc((size_t)TABLES * stride * sizeof(*idx->offsets));
        idx->ids = malloc((size_t)TABLES * total * sizeof(*idx->ids));
        if (!idx->offsets || !idx->ids)
            goto nomem;
        for (unsigned t = 0; t < TABLES; t++)
            build_table(idx->offsets + (size_t)t * stride, idx->ids + (size_t)t * total, idx->desc,
                        total, t, bits);
    }
    *out = idx;
    return 0;
nomem:
    dedup_desc_index_free(idx);
    return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for the descriptor index");
}

static int grow(dedup_desc_candidates *c, size_t images)
{
    if (c->scratch_cap < images) {
        uint32_t *v = realloc(c->votes, images * sizeof(*v));
        if (!v)
            return -1;
        c->votes = v;
        uint32_t *s = realloc(c->seen, images * sizeof(*s));
        if (!s)
            return -1;
        c->seen = s;
        uint32_t *b = realloc(c->best, images * sizeof(*b));
        if (!b)
            return -1;
        c->best = b;
        uint32_t *h = realloc(c->hit, images * sizeof(*h));
        if (!h)
            return -1;
        c->hit = h;
        uint32_t *n = realloc(c->count, images * sizeof(*n));
        if (!n)
            return -1;
        c->count = n;
        c->scratch_cap = images;
    }
    return 0;
}

/* Note that query keypoint q is within reach of a keypoint of `image` at distance d. */
static inline void reach(dedup_desc_candidates *c, uint32_t image, uint32_t q, unsigned d,
                         size_t *nhit)
{
    if (c->seen[image] != q + 1) {
        c->seen[image] = q + 1;
        c->best[image] = d;
        c->hit[(*nhit)++] = image;
    } else if (d < c->best[image]) {
        c->best[image] = d;
    }
}

/*
 * Every keypoint of the index the probes reach that lies within
 * max_distance of d: for each image, its nearest one (best) and the list of
 * images reached (hit).  Returns the length of that list.
 */
static ALWAYS_INLINE size_t search_impl(const dedup_desc_index *idx, const uint64_t *d, uint32_t q,
                                        const dedup_desc_query_options *opts,
                                        dedup_desc_candidates *out, int hw)
{
    size_t nhit = 0;
    const unsigned maxd = opts->max_distance;
    const uint32_t self = opts->exclude_image;
    if (!idx->offsets) {
        for (size_t i = 0; i < idx->count; i++) {
            const unsigned dist = ham(d, idx->desc[i], hw);
            if (dist <= maxd && idx->owner[i] != self)
                reach(out, idx->owner[i], q, dist, &nhit);
        }
        return nhit;
    }
    const unsigned bits = idx->key_bits;
    const size_t stride = ((size_t)1 << bits) + 1;
    unsigned d1 = 257; /* nearest found so far (none yet) */
    for (int flip = -1; flip < (int)bits; flip++) {
        if (flip == 0 && d1 <= EXACT_ENOUGH)
            break;
        /* Find the round's sixteen buckets and ask for their descriptors
         * before reading any: the reads are scattered over the whole index,
         * and issued together their cache misses overlap. */
        uint32_t lo[TABLES], hi[TABLES], probe[TABLES];
        for (unsigned t = 0; t < TABLES; t++) {
            const uint32_t key = key_of(d, t, bits);
            probe[t] = flip < 0 ? key : key ^ (1u << flip);
            PREFETCH(idx->offsets + (size_t)t * stride + probe[t]);
        }
        for (unsigned t = 0; t < TABLES; t++) {
            const uint32_t *off = idx->offsets + (size_t)t * stride;
            lo[t] = off[probe[t]];
            hi[t] = off[probe[t] + 1];
            if (hi[t] - lo[t] > idx->hub)
                hi[t] = lo[t];
            PREFETCH(idx->ids + (size_t)t * idx->count + lo[t]);
        }
        for (unsigned t = 0; t < TABLES; t++) {
            const uint32_t *ids = idx->ids + (size_t)t * idx->count;
            for (uint32_t e = lo[t]; e < hi[t]; e++)
                PREFETCH(idx->desc[ids[e]]);
        }
        for (unsigned t = 0; t < TABLES; t++) {
            const uint32_t *ids = idx->ids + (size_t)t * idx->count;
            for (uint32_t e = lo[t]; e < hi[t]; e++) {
                const uint32_t i = ids[e];
                const unsigned dist = ham(d, idx->desc[i], hw);
                if (dist <= maxd && idx->owner[i] != self) {
                    reach(out, idx->owner[i], q, dist, &nhit);
                    if (dist < d1)
                        d1 = dist;
                }
            }
        }
    }
    return nhit;
}

typedef size_t (*search_fn)(const dedup_desc_index *idx, const uint64_t *d, uint32_t q,
                            const dedup_desc_query_options *opts, dedup_desc_candidates *out);

#if defined(HW_POPCOUNT_DISPATCH) || defined(HW_POPCOUNT_ALWAYS)
#ifdef HW_POPCOUNT_DISPATCH
__attribute__((target("popcnt")))
#endif
static size_t
search_popcnt(const dedup_desc_index *idx, const uint64_t *d, uint32_t q,
              const dedup_desc_query_options *opts, dedup_desc_candidates *out)
{
    return search_impl(idx, d, q, opts, out, 1);
}
#endif

#ifndef HW_POPCOUNT_ALWAYS
static size_t search_portable(const dedup_desc_index *idx, const uint64_t *d, uint32_t q,
                              const dedup_desc_query_options *opts, dedup_desc_candidates *out)
{
    return search_impl(idx, d, q, opts, out, 0);
}
#endif

/* Distances from one descriptor to n keypoints, in both forms. */
static ALWAYS_INLINE void distances_impl(const uint64_t *q, const dedup_local_keypoint *pts,
                                         size_t n, uint16_t *out, int hw)
{
    for (size_t j = 0; j < n; j++)
        out[j] = (uint16_t)ham(q, pts[j].desc, hw);
}

typedef void (*distances_fn)(const uint64_t *q, const dedup_local_keypoint *pts, size_t n,
                             uint16_t *out);

#if defined(HW_POPCOUNT_DISPATCH) || defined(HW_POPCOUNT_ALWAYS)
#ifdef HW_POPCOUNT_DISPATCH
__attribute__((target("popcnt")))
#endif
static void
distances_popcnt(const uint64_t *q, const dedup_local_keypoint *pts, size_t n, uint16_t *out)
{
    distances_impl(q, pts, n, out, 1);
}
#endif

#ifndef HW_POPCOUNT_ALWAYS
static void distances_portable(const uint64_t *q, const dedup_local_keypoint *pts, size_t n,
                               uint16_t *out)
{
    distances_impl(q, pts, n, out, 0);
}
#endif

void dedup_desc_distances(const dedup_local_keypoint *q, const dedup_local_keypoint *pts, size_t n,
                          uint16_t *out)
{
#if defined(HW_POPCOUNT_ALWAYS)
    distances_popcnt(q->desc, pts, n, out);
#elif defined(HW_POPCOUNT_DISPATCH)
    const distances_fn f = __builtin_cpu_supports("popcnt") ? distances_popcnt : distances_portable;
    f(q->desc, pts, n, out);
#else
    distances_portable(q->desc, pts, n, out);
#endif
}

static search_fn pick_search(void)
{
#if defined(HW_POPCOUNT_ALWAYS)
    return search_popcnt;
#elif defined(HW_POPCOUNT_DISPATCH)
    return __builtin_cpu_supports("popcnt") ? search_popcnt : search_portable;
#else
    return search_portable;
#endif
}

static int cmp_candidate(const void *pa, const void *pb)
{
    const dedup_desc_candidate *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->votes != b->votes)
        return a->votes > b->votes ? -1 : 1;
    return (a->image > b->image) - (a->image < b->image);
}

int dedup_desc_index_query(const dedup_desc_index *idx, const dedup_local_features *query,
                           const dedup_desc_query_options *opts, dedup_desc_candidates *out,
                           dedup_error *err)
{
    if (!idx || !query || !out)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_desc_index_query: missing argument");
    if (query->count > DEDUP_LOCAL_MAX_KEYPOINTS)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_desc_index_query: %u keypoints",
                               query->count);
    dedup_desc_query_options defaults;
    if (!opts) {
        dedup_desc_query_options_init(&defaults);
        opts = &defaults;
    }
    out->len = 0;
    if (idx->images == 0)
        return 0;
    if (grow(out, idx->images))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for a descriptor query");
    memset(out->votes, 0, idx->images * sizeof(*out->votes));
    memset(out->count, 0, idx->images * sizeof(*out->count));
    memset(out->seen, 0, idx->images * sizeof(*out->seen));

    const search_fn search = pick_search();
    for (uint32_t q = 0; q < query->count; q++) {
        const uint64_t *d = query->points[q].desc;
        size_t nhit = search(idx, d, q, opts, out);
        if (nhit == 0)
            continue;
        unsigned d1 = 257;
        for (size_t h = 0; h < nhit; h++)
            if (out->best[out->hit[h]] < d1)
                d1 = out->best[out->hit[h]];
        size_t near = 0;
        for (size_t h = 0; h < nhit; h++)
            near += out->best[out->hit[h]] <= d1 + VOTE_SLACK;
        const uint32_t share = VOTE_UNIT / (uint32_t)near;
        for (size_t h = 0; h < nhit; h++) {
            const uint32_t image = out->hit[h];
            if (out->best[image] <= d1 + VOTE_SLACK) {
                out->votes[image] += share;
                out->count[image]++;
            }
        }
    }

    size_t n = 0;
    for (size_t i = 0; i < idx->images; i++)
        n += out->count[i] >= opts->min_votes && out->count[i] > 0;
    if (n > out->cap) {
        dedup_desc_candidate *items = realloc(out->items, n * sizeof(*items));
        if (!items)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for descriptor candidates");
        out->items = items;
        out->cap = n;
    }
    for (size_t i = 0; i < idx->images; i++)
        if (out->count[i] >= opts->min_votes && out->count[i] > 0) {
            out->items[out->len].image = (uint32_t)i;
            out->items[out->len].votes = out->count[i];
            out->items[out->len].score = (double)out->votes[i] / VOTE_UNIT;
            out->len++;
        }
    if (out->len > 1)
        qsort(out->items, out->len, sizeof(*out->items), cmp_candidate);
    if (opts->max_candidates && out->len > opts->max_candidates)
        out->len = opts->max_candidates;
    return 0;
}
