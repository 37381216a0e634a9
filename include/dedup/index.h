/*
 * index.h - exact Hamming search over 256-bit perceptual hashes.  Pure.
 *
 * Multi-index hashing: the 256 bits are cut into sixteen 16-bit slices, each
 * with its own table.  Two codes within distance r must agree within
 * floor(r/16) bits on at least one slice (pigeonhole), so probing every slice
 * value within that radius finds every candidate; each candidate is then
 * verified by its full distance.  Results are exactly those of brute force.
 */
#ifndef DEDUP_INDEX_H
#define DEDUP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/error.h"
#include "dedup/features.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dedup_index dedup_index;

typedef struct {
    uint32_t id;       /* position of the code in the array given to dedup_index_new */
    unsigned distance; /* full Hamming distance to the query */
} dedup_index_hit;

typedef struct {
    dedup_index_hit *items;
    size_t count;
    size_t cap;
    /* scratch owned by the hit list so queries on a const index need no globals */
    uint32_t *scratch;
    size_t scratch_cap;
    uint32_t stamp;
} dedup_index_hits;

void dedup_index_hits_init(dedup_index_hits *hits);
void dedup_index_hits_free(dedup_index_hits *hits);

/* Build an index over `count` codes (copied). count may be 0. */
int dedup_index_new(dedup_index **out, const dedup_pdq_hash *codes, size_t count,
                    dedup_error *err);
void dedup_index_free(dedup_index *idx);
size_t dedup_index_count(const dedup_index *idx);

/*
 * Replace hits' contents with every code within `radius` (inclusive) of the
 * query, sorted by (distance, id).  Exactly the brute-force answer.
 */
int dedup_index_query(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                      dedup_index_hits *hits, dedup_error *err);

/* The same answer by scanning every code: the reference for tests and bench. */
int dedup_index_query_brute(const dedup_index *idx, const dedup_pdq_hash *query,
                            unsigned radius, dedup_index_hits *hits, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
