/*
 * match_internal.h - the pieces of the match layer that live in files of
 * their own, and what they need from match.c.
 */
#ifndef DEDUP_MATCH_INTERNAL_H
#define DEDUP_MATCH_INTERNAL_H

#include "dedup/match.h"

/* May lo be the partner ("train" side) of hi ("held_out" side) in a leak?
 * The overlap stage assumes the answer depends only on the two items' role
 * and rank: it asks once per pair of (role, rank) classes. */
typedef int (*dedup_pair_allowed_fn)(void *ctx, size_t lo, size_t hi);
/* An overlap was verified between held_out and train. */
typedef void (*dedup_overlap_offer_fn)(void *ctx, size_t held_out, size_t train,
                                       const dedup_overlap *overlap);

/*
 * Overlapping crops: every new item with local features is searched against
 * the items it may pair with (an approximate descriptor index per class of
 * items proposes candidates, each is verified geometrically), so new
 * held-out images meet old training images and new training images meet old
 * held-out ones.  local[i] is NULL for an
 * item without comparable local features; skip[i] marks held-out items that
 * already have a stronger match, so no verification is spent on them.
 */
int dedup_match_overlaps(const dedup_item_list *items, const dedup_local_features *const *local,
                         const unsigned char *skip, const dedup_match_options *opts,
                         dedup_pair_allowed_fn allowed, dedup_overlap_offer_fn offer, void *ctx,
                         dedup_error *err);

#endif
