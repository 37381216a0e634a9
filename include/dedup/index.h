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
int dedup_index_new(dedup_index **out, const dedup_pdq_hash *codes, size_t count, dedup_error *err);
void dedup_index_free(dedup_index *idx);
size_t dedup_index_count(const dedup_index *idx);

/*
 * Replace hits' contents with every code within `radius` (inclusive) of the
 * query, sorted by (distance, id).  Exactly the brute-force answer.
 */
int dedup_index_query(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                      dedup_index_hits *hits, dedup_error *err);

/* The same answer by scanning every code: the reference for tests and bench. */
int dedup_index_query_brute(const dedup_index *idx, const dedup_pdq_hash *query, unsigned radius,
                            dedup_index_hits *hits, dedup_error *err);

/* ==== Descriptor search: overlapping crops (issue 6) ====================
 *
 * Which training images share local features with a held-out image?  An
 * approximate search, unlike the exact one above: a true overlap yields
 * dozens of matching keypoints, so losing a few loses nothing, while the
 * candidates it proposes are each verified geometrically
 * (dedup_overlap_verify).  Sixteen hash tables, each keyed on bits of its
 * own 16-bit substring of the descriptors; a query keypoint probes every
 * table at its key, and at the keys one bit away only when those found
 * nothing near, and checks every keypoint found by its full distance.  Below 4096 keypoints the
 * index just scans.  Each query keypoint votes for the images holding a keypoint within
 * max_distance of it, and only those within a few bits of the best of
 * them; its one vote is split among them, so featureless patches, which
 * look alike in every image, cannot outvote a true partner.  Build once
 * over all training images (about 100 bytes a keypoint: 20 KB an image),
 * then query once per held-out image.
 */

typedef struct dedup_desc_index dedup_desc_index;

typedef struct {
    uint32_t image; /* position in the array given to dedup_desc_index_new */
    uint32_t votes; /* query keypoints that voted for the image */
    double score;   /* votes weighted by distinctiveness: a keypoint close to
                     * keypoints of k images gives each 1/k */
} dedup_desc_candidate;

typedef struct {
    dedup_desc_candidate *items; /* sorted by score (descending), votes, then image */
    size_t len;
    size_t cap;
    /* scratch owned by the list, so queries on a const index need no globals */
    uint32_t *votes, *seen, *best, *hit, *count;
    size_t scratch_cap;
} dedup_desc_candidates;

typedef struct {
    unsigned max_distance; /* a keypoint within this Hamming distance votes (default 56) */
    unsigned min_votes;    /* candidates need at least this many votes (default 5) */
    size_t max_candidates; /* keep at most this many, best first (default 16; 0: all) */
    /* Keypoints of this image take no part (default UINT32_MAX: none).  An
     * image queried against an index that holds it would otherwise match
     * itself at distance 0, and every vote for a real partner would lose
     * to the self-match. */
    uint32_t exclude_image;
} dedup_desc_query_options;

void dedup_desc_query_options_init(dedup_desc_query_options *opts);
void dedup_desc_candidates_init(dedup_desc_candidates *c);
void dedup_desc_candidates_free(dedup_desc_candidates *c);

/*
 * Build an index over the keypoints of `count` images (copied).  images[i]
 * may be NULL (an image without local features: unreadable, or held out),
 * which contributes nothing; candidate ids are positions in this array.
 */
int dedup_desc_index_new(dedup_desc_index **out, const dedup_local_features *const *images,
                         size_t count, dedup_error *err);
void dedup_desc_index_free(dedup_desc_index *idx);
/* Number of keypoints held. */
size_t dedup_desc_index_count(const dedup_desc_index *idx);

/* Replace out's contents with the candidate images for `query`.  opts may be NULL. */
int dedup_desc_index_query(const dedup_desc_index *idx, const dedup_local_features *query,
                           const dedup_desc_query_options *opts, dedup_desc_candidates *out,
                           dedup_error *err);

/* out[j] = Hamming distance (0..256) between q's descriptor and pts[j]'s,
 * for j < n; with the CPU's popcount instruction where it has one. */
void dedup_desc_distances(const dedup_local_keypoint *q, const dedup_local_keypoint *pts, size_t n,
                          uint16_t *out);

/* ==== end of descriptor search ========================================= */

#ifdef __cplusplus
}
#endif
#endif
