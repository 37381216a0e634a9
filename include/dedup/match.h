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

#include "dedup/error.h"
#include "dedup/features.h"
#include "dedup/repo.h"
#include "dedup/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ordered from strongest to weakest evidence. */
typedef enum {
    DEDUP_MATCH_EXACT_BYTES = 0,
    DEDUP_MATCH_SAME_PIXELS,
    DEDUP_MATCH_NEAR_DUPLICATE
} dedup_match_kind;

/* "exact_bytes", "same_pixels", "near_duplicate" (JSON). */
const char *dedup_match_kind_name(dedup_match_kind kind);
/* "exact bytes", "same pixels", "near duplicate" (text). */
const char *dedup_match_kind_label(dedup_match_kind kind);

typedef struct {
    size_t held_out;           /* index into the item list */
    size_t train;              /* index into the item list */
    dedup_match_kind kind;
    dedup_transform transform; /* the held-out image is the training image after this */
    unsigned distance;         /* Hamming distance of the perceptual hashes (0 for exact) */
} dedup_leak;

typedef struct {
    size_t item;
    char *reason;
} dedup_unreadable;

typedef struct {
    unsigned threshold; /* near duplicate when distance <= threshold (default 31) */
} dedup_match_options;

typedef struct {
    dedup_leak *leaks; /* sorted by held-out path */
    size_t leak_count;
    dedup_unreadable *unreadable;
    size_t unreadable_count;
    char **notes; /* warnings that did not stop the check (e.g. cache trouble) */
    size_t note_count;
    size_t checked;     /* images whose features took part */
    size_t decoded;     /* of those, decoded in this run (not in the cache) */
    size_t low_quality; /* of those, too flat for the perceptual hash: exact keys only */
} dedup_result;

void dedup_match_options_init(dedup_match_options *opts);

/*
 * Check `items` (from dedup_repo_collect).  `store` may be NULL (no cache).
 * Unreadable images are listed in the result, not returned as errors; an
 * error return means the check itself could not run (e.g. out of memory).
 */
int dedup_match_check(dedup_repo *repo, dedup_store *store, const dedup_item_list *items,
                      const dedup_match_options *opts, dedup_result *out, dedup_error *err);

void dedup_result_free(dedup_result *result);

#ifdef __cplusplus
}
#endif
#endif
