/*
 * overlap_check.c - the overlap stage of a check: which pairs of images to
 * verify, in which roles.  The search is approximate (a true overlap shares
 * dozens of keypoints, so a few lost votes change nothing) while each
 * candidate is verified geometrically by dedup_overlap_verify.
 *
 * One descriptor index holds every item with comparable local features, of
 * any split; each new item queries it once.  The roles of a candidate pair
 * are decided by the caller's pair rule, tried both ways round.
 */
#include "match_internal.h"

#include <stdint.h>
#include <stdlib.h>

#include "dedup/index.h"

static int verify_pair(const dedup_local_features *const *local, const unsigned char *skip,
                       const dedup_overlap_options *vo, size_t held, size_t train,
                       dedup_overlap_offer_fn offer, void *ctx, dedup_error *err)
{
    if (skip[held])
        return 0;
    dedup_overlap ov;
    int rc = dedup_overlap_verify(&ov, local[held], local[train], vo, err);
    if (rc == 0 && ov.is_overlap)
        offer(ctx, held, train, &ov);
    return rc;
}

int dedup_match_overlaps(const dedup_item_list *items, const dedup_local_features *const *local,
                         const unsigned char *skip, const dedup_match_options *opts,
                         dedup_pair_allowed_fn allowed, dedup_overlap_offer_fn offer, void *ctx,
                         dedup_error *err)
{
    int any_new = 0;
    for (size_t i = 0; i < items->count && !any_new; i++)
        any_new = items->items[i].is_new && local[i];
    if (!any_new)
        return 0;
    dedup_desc_index *idx = NULL;
    int rc = dedup_desc_index_new(&idx, local, items->count, err);
    if (rc)
        return rc;
    dedup_overlap_options vo;
    dedup_overlap_options_init(&vo);
    vo.min_overlap = opts->min_overlap;
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);
    dedup_desc_query_options qo;
    dedup_desc_query_options_init(&qo);
    for (size_t i = 0; i < items->count && rc == 0; i++) {
        if (!items->items[i].is_new || !local[i])
            continue;
        qo.exclude_image = (uint32_t)i;
        rc = dedup_desc_index_query(idx, local[i], &qo, &cand, err);
        for (size_t k = 0; rc == 0 && k < cand.len; k++) {
            size_t j = cand.items[k].image;
            /* Two new items may be verified from both ends: the search is
             * not symmetric, and the caller keeps the best offer anyway. */
            if (j == i)
                continue;
            if (allowed(ctx, j, i))
                rc = verify_pair(local, skip, &vo, i, j, offer, ctx, err);
            else if (allowed(ctx, i, j))
                rc = verify_pair(local, skip, &vo, j, i, offer, ctx, err);
        }
    }
    dedup_desc_candidates_free(&cand);
    dedup_desc_index_free(idx);
    return rc;
}
