/*
 * index.c - exact Hamming search over 256-bit codes by multi-index hashing.
 *
 * Pure: no files, no globals; per-query scratch lives in the caller's
 * dedup_index_hits.  Assumes bit i of a code is bit (i % 64) of w[i / 64],
 * so slice s (bits 16s..16s+15) is one aligned 16-bit field of w[s / 4].
 * Ids are uint32_t, so an index holds at most UINT32_MAX codes.  Whichever
 * path a query takes (slice probing or full scan), the answer is the
 * brute-force answer, sorted by (distance, id).
 */
#include "dedup/index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLICES 16
#define SLICE_BITS 16
#define SLICE_VALUES (1u << SLICE_BITS)
#define CODE_BITS 256u

/*
 * Below this many codes a scan of the packed codes beats sixteen random
 * probes into multi-megabyte tables, so we skip building them: a tiny index
 * should not cost 4 MiB.
 */
#define MIN_TABLE_COUNT 512u

struct dedup_index {
    size_t count;
    dedup_pdq_hash *codes;
    /* NULL when count < MIN_TABLE_COUNT; then every query scans. */
    uint32_t *offsets; /* SLICES * (SLICE_VALUES + 1) CSR row starts */
    uint32_t *ids;     /* SLICES * count ids, ascending within each bucket */
};

/* Own helper rather than dedup_pdq_distance so the index links without features.c. */
static inline unsigned ham256(const dedup_pdq_hash *a, const dedup_pdq_hash *b)
{
    return (unsigned)(__builtin_popcountll(a->w[0] ^ b->w[0]) +
                      __builtin_popcountll(a->w[1] ^ b->w[1]) +
                      __builtin_popcountll(a->w[2] ^ b->w[2]) +
                      __builtin_popcountll(a->w[3] ^ b->w[3]));
}

static inline uint32_t slice_of(const dedup_pdq_hash *h, unsigned s)
{
    return (uint32_t)((h->w[s / 4] >> (SLICE_BITS * (s % 4))) & 0xFFFFu);
}

void dedup_index_hits_init(dedup_index_hits *hits)
{
    if (hits)
        memset(hits, 0, sizeof(*hits));
}

void dedup_index_hits_free(dedup_index_hits *hits)
{
    if (!hits)
        return;
    free(hits->items);
    free(hits->scratch);
    memset(hits, 0, sizeof(*hits));
}

void dedup_index_free(dedup_index *idx)
{
    if (!idx)
        return;
    free(idx->codes);
    free(idx->offsets);
    free(idx->ids);
    free(idx);
}

size_t dedup_index_count(const dedup_index *idx)
{
    return idx ? idx->count : 0;
}

/*
 * One counting sort per slice.  Placing ids with offsets[v]++ leaves each
 * entry holding the start of the next bucket, so shifting the array by one
 * restores the starts without a second cursor array; ids stay ascending
 * within a bucket because they are placed in order.
 */
static void build_slice(uint32_t *off, uint32_t *ids, const dedup_pdq_hash *codes, size_t count,
                        unsigned s)
{
    memset(off, 0, (SLICE_VALUES + 1) * sizeof(*off));
    for (size_t i = 0; i < count; i++)
        off[slice_of(&codes[i], s) + 1]++;
    for (uint32_t v = 0; v < SLICE_VALUES; v++)
        off[v + 1] += off[v];
    for (size_t i = 0; i < count; i++)
        ids[off[slice_of(&codes[i], s)]++] = (uint32_t)i;
    for (uint32_t v = SLICE_VALUES; v > 0; v--)
        off[v] = off[v - 1];
    off[0] = 0;
}

int dedup_index_new(dedup_index **out, const dedup_pdq_hash *codes, size_t count, dedup_error *err)
{
    if (!out)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_index_new: out is NULL");
    *out = NULL;
    if (!codes && count > 0)
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_index_new: codes is NULL but count is %zu",
                               count);
#if SIZE_MAX > UINT32_MAX
    if (count > UINT32_MAX)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "dedup_index_new: %zu codes exceed the 32-bit id limit of %lu",
                               count, (unsigned long)UINT32_MAX);
#endif
    if (count > SIZE_MAX / sizeof(dedup_pdq_hash))
        return dedup_error_set(err, DEDUP_EINVAL, "dedup_index_new: %zu codes overflow size_t",
                               count);

    dedup_index *idx = calloc(1, sizeof(*idx));
    if (!idx)
        return dedup_error_set(err, DEDUP_ENOMEM, "dedup_index_new: cannot allocate %zu bytes",
                               sizeof(*idx));
    idx->count = count;
    if (count == 0) {
        *out = idx;
        return 0;
    }

    size_t code_bytes = count * sizeof(dedup_pdq_hash);
    idx->codes = malloc(code_bytes);
    if (!idx->codes) {
        dedup_index_free(idx);
        return dedup_error_set(err, DEDUP_ENOMEM,
                               "dedup_index_new: cannot allocate %zu bytes for %zu codes",
                               code_bytes, count);
    }
    memcpy(idx->codes, codes, code_bytes);

    if (count >= MIN_TABLE_COUNT) {
        size_t off_bytes = (size_t)SLICES * (SLICE_VALUES + 1) * sizeof(uint32_t);
        if (count > SIZE_MAX / SLICES / sizeof(uint32_t)) {
            dedup_index_free(idx);
            return dedup_error_set(err, DEDUP_EINVAL,
                                   "dedup_index_new: slice tables for %zu codes overflow size_t",
                                   count);
        }
        size_t id_bytes = count * SLICES * sizeof(uint32_t);
        idx->offsets = malloc(off_bytes);
        idx->ids = malloc(id_bytes);
        if (!idx->offsets || !idx->ids) {
            dedup_index_free(idx);
            return dedup_error_set(
                err, DEDUP_ENOMEM,
                "dedup_index_new: cannot allocate %zu + %zu bytes of slice tables for %zu codes",
                off_bytes, id_bytes, count);
        }
        for (unsigned s = 0; s < SLICES; s++)
            build_slice(idx->offsets + (size_t)s * (SLICE_VALUES + 1), idx->ids + (size_t)s * count,
                        idx->codes, count, s);
    }
    *out = idx;
    return 0;
}

static int check_query_args(const char *fn, const dedup_index *idx, const dedup_pdq_hash *query,
                            dedup_index_hits *hits, dedup_error *err)
{
    if (!idx || !query || !hits)
        return dedup_error_set(err, DEDUP_EINVAL, "%s: %s is NULL", fn,
                               !idx     ? "index"
                               : !query ? "query"
                                        : "hits");
    hits->count = 0;
    return 0;
}

static int push_hit(dedup_index_hits *hits, uint32_t id, unsigned distance, dedup_error *err)
{
    if (hits->count == hits->cap) {
        size_t cap = hits->cap ? hits->cap : 16;
        if (hits->cap) {
            if (cap > SIZE_MAX / 2 / sizeof(dedup_index_hit))
                return dedup_error_set(err, DEDUP_ENOMEM, "dedup_index: hit list of %zu overflows",
                                       hits->cap);
            cap *= 2;
        }
        dedup_index_hit *grown = realloc(hits->items, cap * sizeof(*grown));
        if (!grown)
            return dedup_error_set(err, DEDUP_ENOMEM,
                                   "dedup_index: cannot grow hit list to %zu bytes",
                                   cap * sizeof(*grown));
        hits->items = grown;
        hits->cap = cap;
    }
    hits->items[hits->count].id = id;
    hits->items[hits->count].distance = distance;
    hits->count++;
    return 0;
}

static int cmp_hit(const void *pa, const void *pb)
{
    const dedup_index_hit *a = pa, *b = pb;
    if (a->distance != b->distance)
        return a->distance < b->distance ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static void sort_hits(dedup_index_hits *hits)
{
    if (hits->count > 1)
        qsort(hits->items, hits->count, sizeof(*hits->items), cmp_hit);
}

static int scan(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                dedup_index_hits *hits, dedup_error *err)
{
    for (size_t i = 0; i < idx->count; i++) {
        unsigned d = ham256(&idx->codes[i], query);
        if (d <= radius) {
            int rc = push_hit(hits, (uint32_t)i, d, err);
            if (rc) {
                hits->count = 0;
                return rc;
            }
        }
    }
    sort_hits(hits);
    return 0;
}

int dedup_index_query_brute(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                            dedup_index_hits *hits, dedup_error *err)
{
    int rc = check_query_args("dedup_index_query_brute", idx, query, hits, err);
    return rc ? rc : scan(idx, query, radius, hits, err);
}

/* Number of 16-bit values within q bits of a given one: sum of C(16, j), j <= q. */
static size_t ball_size(unsigned q)
{
    size_t total = 0, c = 1;
    for (unsigned j = 0; j <= q && j <= SLICE_BITS; j++) {
        total += c;
        c = c * (SLICE_BITS - j) / (j + 1);
    }
    return total;
}

/*
 * Rough cost model in "one sequential code comparison" units.  A probe is
 * two offset reads that usually miss cache; a candidate is an id read, a
 * stamp check and a random code fetch.  The weights were fitted to
 * bench_index (100k codes: radius 47 probes 4x faster than a scan, radius
 * 48 would be slower).  The expected candidate count assumes uniform codes;
 * skewed data only moves the crossover, never the answer.
 */
static int probing_pays(const dedup_index *idx, unsigned q)
{
    if (!idx->offsets || q >= 4)
        return 0;
    double probes = (double)SLICES * (double)ball_size(q);
    double candidates = probes * (double)idx->count / (double)SLICE_VALUES;
    return 3.0 * probes + 5.0 * candidates < (double)idx->count;
}

/*
 * Visited stamps: scratch[id] == stamp means id was already verified in
 * this query.  Bumping the stamp invalidates all marks in O(1); only a wrap
 * to 0 or a larger index forces a clear.
 */
static int next_stamp(dedup_index_hits *hits, size_t count, dedup_error *err)
{
    if (hits->scratch_cap < count) {
        uint32_t *fresh = calloc(count, sizeof(*fresh));
        if (!fresh)
            return dedup_error_set(err, DEDUP_ENOMEM,
                                   "dedup_index_query: cannot allocate %zu-entry visited array",
                                   count);
        free(hits->scratch);
        hits->scratch = fresh;
        hits->scratch_cap = count;
        hits->stamp = 0;
    }
    if (++hits->stamp == 0) {
        memset(hits->scratch, 0, hits->scratch_cap * sizeof(*hits->scratch));
        hits->stamp = 1;
    }
    return 0;
}

static int visit_bucket(const dedup_index *idx, const uint32_t *off, const uint32_t *ids,
                        uint32_t value, const dedup_pdq_hash *query, unsigned radius,
                        dedup_index_hits *hits, dedup_error *err)
{
    uint32_t *seen = hits->scratch;
    uint32_t stamp = hits->stamp;
    for (uint32_t k = off[value]; k < off[value + 1]; k++) {
        uint32_t id = ids[k];
        if (seen[id] == stamp)
            continue;
        seen[id] = stamp;
        unsigned d = ham256(&idx->codes[id], query);
        if (d <= radius) {
            int rc = push_hit(hits, id, d, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int probe(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius, unsigned q,
                 dedup_index_hits *hits, dedup_error *err)
{
    int rc = next_stamp(hits, idx->count, err);
    if (rc)
        return rc;
    for (unsigned s = 0; s < SLICES; s++) {
        const uint32_t *off = idx->offsets + (size_t)s * (SLICE_VALUES + 1);
        const uint32_t *ids = idx->ids + (size_t)s * idx->count;
        uint32_t base = slice_of(query, s);
        rc = visit_bucket(idx, off, ids, base, query, radius, hits, err);
        /* Masks of weight k in increasing order (Gosper's hack). */
        for (unsigned k = 1; !rc && k <= q; k++) {
            for (uint32_t m = (1u << k) - 1; m < SLICE_VALUES;) {
                rc = visit_bucket(idx, off, ids, base ^ m, query, radius, hits, err);
                if (rc)
                    break;
                uint32_t low = m & (0u - m);
                uint32_t ripple = m + low;
                m = (((ripple ^ m) >> 2) / low) | ripple;
            }
        }
        if (rc) {
            hits->count = 0;
            return rc;
        }
    }
    sort_hits(hits);
    return 0;
}

int dedup_index_query(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                      dedup_index_hits *hits, dedup_error *err)
{
    int rc = check_query_args("dedup_index_query", idx, query, hits, err);
    if (rc)
        return rc;
    /* Pigeonhole: if every slice differed in more than r/16 bits, the total would exceed r. */
    unsigned q = radius >= CODE_BITS ? SLICE_BITS : radius / SLICES;
    if (!probing_pays(idx, q))
        return scan(idx, query, radius, hits, err);
    return probe(idx, query, radius, q, hits, err);
}
