/*
 * match.h - decide which held-out images leak: gather every needed image's
 * features (from the cache, or source -> decode -> features, then cached),
 * compare exact keys and perceptual hashes across the train/held-out
 * boundary, and keep for each leaking held-out image its closest training
 * partner.
 *
 * Only pairs with at least one side new are reported in a staged check: a
 * leak that was already committed is not this commit's fault (`check --all`
 * marks every image new and so reports them all).
 */
#ifndef DEDUP_MATCH_H
#define DEDUP_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/error.h"
#include "dedup/features.h"
#include "dedup/repo.h"
#include "dedup/source.h"
#include "dedup/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered from strongest to weakest evidence. */
typedef enum {
    DEDUP_MATCH_SYMLINK = 0, /* a symbolic link in one split to the image in the other */
    DEDUP_MATCH_EXACT_BYTES,
    DEDUP_MATCH_SAME_PIXELS,
    DEDUP_MATCH_NEAR_DUPLICATE,
    DEDUP_MATCH_OVERLAP /* crops that share part of one scene (local features) */
} dedup_match_kind;

/* "symlink", "exact_bytes", "same_pixels", "near_duplicate", "overlap" (JSON). */
const char *dedup_match_kind_name(dedup_match_kind kind);
/* "symbolic link", "exact bytes", "same pixels", "near duplicate", "overlap" (text). */
const char *dedup_match_kind_label(dedup_match_kind kind);

/*
 * A leak pairs an image in a held-out split with its partner in a training
 * split.  With check_held_out_pairs, images of two different held-out
 * splits are compared too: then `held_out` is the image of the split listed
 * later in dedup.heldOutSplits and `train` its partner in the split listed
 * earlier (item rank: the higher rank is the one reported).
 */
typedef struct {
    size_t held_out; /* index into the item list */
    size_t train;    /* index into the item list: the partner */
    dedup_match_kind kind;
    dedup_transform transform; /* the held-out image is the training image after this */
    unsigned distance;         /* Hamming distance of the perceptual hashes (0 for exact) */
    /* DEDUP_MATCH_OVERLAP only: the share of each image the other covers
     * (0..1); (dx, dy) is where the held-out image's top-left corner lies in
     * the training image, in its full-size pixels; held-out = scale *
     * rotate(rotation degrees, clockwise) * train + offset. */
    double share_held_out, share_train;
    double dx, dy, scale, rotation;
    unsigned inliers;
} dedup_leak;

typedef struct {
    size_t item;
    char *reason;
} dedup_unreadable;

/* An image that some search cannot use: too flat to mean anything to it. */
typedef struct {
    size_t item;
    int exact_only;     /* too flat for the perceptual hash: exact keys only */
    int not_comparable; /* too flat for local features: never matched by overlap */
} dedup_flat;

typedef struct {
    unsigned threshold; /* near duplicate when distance <= threshold (default 31) */
    /* Images whose header declares more pixels are unreadable (0: no cap;
     * default: that of dedup_decode_options_init). */
    uint64_t max_pixels;
    int check_held_out_pairs; /* also compare held-out splits with each other (default 0) */
    int overlap;              /* look for overlapping crops with local features (default 1) */
    double min_overlap;       /* an overlap counts from this share of the held-out image (0.20) */
    double max_rotation;      /* degrees an overlap's fit may be turned from a multiple of 90
                                 (default 7; 45: any), dedup_overlap_options.max_rotation */
    /* Where bytes come from: size caps, archive caps, and whether an LFS or
     * DVC object that is not here fails the check (default: it does). */
    dedup_source_options source;
} dedup_match_options;

typedef struct {
    dedup_leak *leaks; /* sorted by held-out path */
    size_t leak_count;
    dedup_unreadable *unreadable;
    size_t unreadable_count;
    char **notes; /* warnings that did not stop the check (e.g. cache trouble) */
    size_t note_count;
    size_t checked;        /* images whose features took part */
    size_t decoded;        /* of those, decoded in this run (not in the cache) */
    size_t low_quality;    /* of those, too flat for the perceptual hash: exact keys only */
    size_t not_comparable; /* of those, too flat for local features: never matched by overlap */
    dedup_flat *flat;      /* the images counted in low_quality or not_comparable, */
    size_t flat_count;     /* in the order they were checked */
    size_t flat_cap;
} dedup_result;

void dedup_match_options_init(dedup_match_options *opts);

/*
 * Check `items` (from dedup_repo_collect).  `store` may be NULL (no cache).
 * Unreadable images are listed in the result, not returned as errors; an
 * error return means the check itself could not run (e.g. out of memory).
 * Archives (tar and zip shards) are read once each, and their image
 * members are appended to `items` as they are read, so that leaks and
 * unreadable entries can name them ("shard.tar:a/b.jpg").  A missing LFS
 * or DVC object with opts->source.*_missing_warn is a note, not unreadable.
 */
int dedup_match_check(dedup_repo *repo, dedup_store *store, dedup_item_list *items,
                      const dedup_match_options *opts, dedup_result *out, dedup_error *err);

void dedup_result_free(dedup_result *result);

/* ==== Overlap verification: overlapping crops (issue 6) ================
 *
 * Pure: two images' local features (dedup_local_compute) in, a verdict out.
 * Descriptors are matched one-to-one (nearest neighbour; a ratio test
 * against the nearest neighbour elsewhere in the image marks the distinct
 * matches, from which fits are drawn, while any match may agree), a similarity
 * (translation, scale, rotation) is fitted by RANSAC on 2-point samples and
 * refined on its inliers, and fits that only look supported are refused:
 *  - absurd scale, or too few inliers;
 *  - a rotation more than max_rotation from a multiple of 90 degrees: crops
 *    are not turned and copies only by quarter turns, while a curved
 *    repeating pattern lines up with another part of itself once turned;
 *  - inliers bunched in a spot or on a line: their spread, in both images,
 *    is compared with the claimed overlap region's own;
 *  - inliers covering almost none of the claimed overlap (a shared logo or
 *    watermark), or too little of the part of it that holds strong
 *    keypoints (real texture), in either image;
 *  - too few of the keypoints inside the claimed overlap explained (a chance
 *    fit between unrelated pictures or across a repetitive texture);
 *  - a second, different fit explaining a quarter as many of the matches
 *    left out (a repeating pattern: one fit per period of it).
 * The overlap is the training rectangle, transformed, clipped to the
 * held-out one (polygon clipping); its area gives both shares.
 *
 * Defaults measured with bench/bench_overlap.c (no negative there gives a
 * consistent fit at all, so min_overlap is a policy, not a noise floor).
 */

typedef struct {
    double min_overlap;        /* is_overlap needs share_held_out >= this (default 0.20) */
    unsigned min_inliers;      /* default 5 */
    unsigned max_distance;     /* descriptor match: Hamming distance <= this (default 64) */
    double max_ratio;          /* a "distinct" match, from which fits are drawn: nearest /
                                  nearest elsewhere < this (default 0.9) */
    double max_scale;          /* scale must lie in [1 / max_scale, max_scale] (default 4) */
    double max_rotation;       /* degrees the rotation may be from a multiple of 90: crops
                                  and copies are not turned by other angles (default 7;
                                  45 or more: any rotation) */
    double min_coverage;       /* inliers' hull / strong keypoints' hull in the overlap,
                                  in each image (default 0.10) */
    double min_inlier_density; /* inliers / keypoints inside the overlap, the smaller
                                  of the two images' counts (default 0.12) */
} dedup_overlap_options;

void dedup_overlap_options_init(dedup_overlap_options *opts);

typedef struct {
    int held_out_comparable; /* dedup_local_comparable() of each side: with */
    int train_comparable;    /* either 0 nothing else is computed */
    int consistent;          /* a non-degenerate similarity passed every check */
    int is_overlap;          /* consistent and share_held_out >= min_overlap */
    double share_held_out;   /* share of the held-out image covered by the training one, 0..1 */
    double share_train;      /* share of the training image covered by the held-out one */
    /* held-out = scale * R(rotation) * train + (dx, dy), in full-size source pixels
     * (continuous coordinates: pixel (i, j) covers [i, i+1) x [j, j+1)); so
     * (dx, dy) is where the training image's top-left corner lies in the
     * held-out image, and rotation is in degrees, clockwise on screen. */
    double dx, dy, scale, rotation;
    unsigned matches; /* one-to-one descriptor matches */
    unsigned inliers; /* matches that agree with the fitted transform */
    double coverage;  /* inliers' convex hull / that of the strong keypoints in the overlap */
    double density;   /* inliers / keypoints inside the overlap (the smaller image's count) */
    unsigned rival;   /* most matches a second, different fit explains */
    unsigned distinct_inliers; /* inliers that passed the ratio test */
    const char *reason;        /* static text: "overlap", or why not ("too few inliers", ...) */
} dedup_overlap;

/*
 * Decide whether held_out and train show overlapping parts of one scene.
 * opts may be NULL (defaults).  Not being comparable or not overlapping is
 * a result, not an error; errors are bad arguments and out of memory.
 * Deterministic: the RANSAC draws come from a fixed-seed generator.
 */
int dedup_overlap_verify(dedup_overlap *out, const dedup_local_features *held_out,
                         const dedup_local_features *train, const dedup_overlap_options *opts,
                         dedup_error *err);

/* ==== end of overlap verification ====================================== */

#ifdef __cplusplus
}
#endif
#endif
