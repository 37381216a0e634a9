/*
 * overlap_check.c - the overlap stage of a check: which pairs of images to
 * verify, in which roles.  The search is approximate (a true overlap shares
 * dozens of keypoints, so a few lost votes change nothing) while each
 * candidate is verified geometrically by dedup_overlap_verify.
 *
 * Items are grouped in classes by (role, rank), which is all the pair rule
 * looks at (match_internal.h), and each class gets a descriptor index of its
 * own.  A new item queries only the classes it may pair with: in
 * `check --all` over a dataset that is mostly training images, a training
 * image queries the small held-out index and never the other training
 * images, so the stage no longer grows with the square of the dataset.
 * Searching one class at a time also keeps images the rule never pairs
 * from taking a query's few candidate places.
 *
 * A class queried as the held-out side leaves out its items that already
 * have a stronger match (skip): no overlap with them would be kept; and its
 * new items, whose own queries find their pairs (in_open).  A pair found
 * twice is verified once.
 */
#include "match_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/index.h"

/* One (role, rank) class: its items with local features, by ascending
 * position, and the index over them in each form a query needs. */
typedef struct {
    size_t rep;  /* an item of the class, to ask the pair rule */
    size_t *all; /* every member: the class as the training side */
    size_t nall;
    size_t *open; /* members not skipped: the class as the held-out side */
    size_t nopen;
    int need_all, need_open;
    dedup_desc_index *idx_all, *idx_open; /* idx_open may be idx_all */
} overlap_class;

/* The (held, train) pairs verified so far: open addressing, never full. */
typedef struct {
    size_t (*slot)[2];
    size_t cap, len;
} pair_set;

static size_t pair_hash(size_t held, size_t train)
{
    uint64_t h = (uint64_t)held * 0x9e3779b97f4a7c15ull ^ (uint64_t)train;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(h ^ (h >> 29));
}

/* Add (held, train); *added says whether it was new.  Returns -1 when out of memory. */
static int pair_set_add(pair_set *s, size_t held, size_t train, int *added)
{
    if (2 * (s->len + 1) > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        size_t(*slot)[2] = malloc(cap * sizeof(*slot));
        if (!slot)
            return -1;
        for (size_t k = 0; k < cap; k++)
            slot[k][0] = SIZE_MAX;
        for (size_t k = 0; k < s->cap; k++) {
            if (s->slot[k][0] == SIZE_MAX)
                continue;
            size_t at = pair_hash(s->slot[k][0], s->slot[k][1]) & (cap - 1);
            while (slot[at][0] != SIZE_MAX)
                at = (at + 1) & (cap - 1);
            slot[at][0] = s->slot[k][0];
            slot[at][1] = s->slot[k][1];
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t at = pair_hash(held, train) & (s->cap - 1);
    while (s->slot[at][0] != SIZE_MAX) {
        if (s->slot[at][0] == held && s->slot[at][1] == train) {
            *added = 0;
            return 0;
        }
        at = (at + 1) & (s->cap - 1);
    }
    s->slot[at][0] = held;
    s->slot[at][1] = train;
    s->len++;
    *added = 1;
    return 0;
}

typedef struct {
    const dedup_local_features *const *local;
    const unsigned char *skip;
    dedup_overlap_options vo;
    dedup_overlap_offer_fn offer;
    void *ctx;
    pair_set done;
} verifier;

static int verify_pair(verifier *v, size_t held, size_t train, dedup_error *err)
{
    if (v->skip[held])
        return 0;
    int added;
    if (pair_set_add(&v->done, held, train, &added))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    if (!added)
        return 0;
    dedup_overlap ov;
    int rc = dedup_overlap_verify(&ov, v->local[held], v->local[train], &v->vo, err);
    if (rc == 0 && ov.is_overlap)
        v->offer(v->ctx, held, train, &ov);
    return rc;
}

/*
 * Whether item i belongs in its class's index as the held-out side, the one
 * new training images query.  A skipped item needs no more partners; a new
 * one queries every class it may be held out from itself, which finds each
 * of its pairs, so searching for it again from the training side would only
 * repeat that work (in `check --all`, where every item is new, half of it).
 */
static int in_open(const dedup_item_list *items, const unsigned char *skip, size_t i)
{
    return !skip[i] && !items->items[i].is_new;
}

static int same_class(const dedup_item *a, const dedup_item *b)
{
    return a->role == b->role && a->rank == b->rank;
}

static void free_classes(overlap_class *cls, size_t ncls)
{
    for (size_t c = 0; cls && c < ncls; c++) {
        if (cls[c].idx_open != cls[c].idx_all)
            dedup_desc_index_free(cls[c].idx_open);
        dedup_desc_index_free(cls[c].idx_all);
        free(cls[c].all);
        free(cls[c].open);
    }
    free(cls);
}

/* An index over the given members; ids are positions in `members`. */
static int build_index(dedup_desc_index **out, const dedup_local_features *const *local,
                       const size_t *members, size_t n, dedup_error *err)
{
    const dedup_local_features **feats = malloc((n ? n : 1) * sizeof(*feats));
    if (!feats)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++)
        feats[k] = local[members[k]];
    int rc = dedup_desc_index_new(out, feats, n, err);
    free(feats);
    return rc;
}

/* Position of item in the ascending members, or UINT32_MAX (index ids are 32-bit). */
static uint32_t position(const size_t *members, size_t n, size_t item)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (members[mid] < item)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && members[lo] == item ? (uint32_t)lo : UINT32_MAX;
}

/* Query one class's index with item i and verify each candidate, i being
 * the held-out side (as_held) or the training side. */
static int search_class(verifier *v, const dedup_desc_index *idx, const size_t *members, size_t n,
                        size_t i, int as_held, dedup_desc_query_options *qo,
                        dedup_desc_candidates *cand, dedup_error *err)
{
    if (!idx || n == 0)
        return 0;
    /* An item queried against an index that holds it must not match itself. */
    qo->exclude_image = position(members, n, i);
    int rc = dedup_desc_index_query(idx, v->local[i], qo, cand, err);
    for (size_t k = 0; rc == 0 && k < cand->len; k++) {
        size_t j = members[cand->items[k].image];
        if (j == i)
            continue;
        rc = as_held ? verify_pair(v, i, j, err) : verify_pair(v, j, i, err);
    }
    return rc;
}

/* Every new item with local features queries the classes it may pair with. */
static int search_all(verifier *v, const dedup_item_list *items, const overlap_class *cls,
                      size_t ncls, const size_t *of, const unsigned char *can, dedup_error *err)
{
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);
    dedup_desc_query_options qo;
    dedup_desc_query_options_init(&qo);
    int rc = 0;
    for (size_t i = 0; i < items->count && rc == 0; i++) {
        if (!items->items[i].is_new || !v->local[i])
            continue;
        const size_t a = of[i];
        for (size_t b = 0; b < ncls && rc == 0; b++) {
            const overlap_class *k = &cls[b];
            if (!v->skip[i] && can[b * ncls + a])
                rc = search_class(v, k->idx_all, k->all, k->nall, i, 1, &qo, &cand, err);
            if (rc == 0 && can[a * ncls + b])
                rc = search_class(v, k->idx_open, k->open, k->nopen, i, 0, &qo, &cand, err);
        }
    }
    dedup_desc_candidates_free(&cand);
    return rc;
}

int dedup_match_overlaps(const dedup_item_list *items, const dedup_local_features *const *local,
                         const unsigned char *skip, const dedup_match_options *opts,
                         dedup_pair_allowed_fn allowed, dedup_overlap_offer_fn offer, void *ctx,
                         dedup_error *err)
{
    const size_t n = items->count;
    int any_new = 0;
    for (size_t i = 0; i < n && !any_new; i++)
        any_new = items->items[i].is_new && local[i];
    if (!any_new)
        return 0;

    /* Classes, and each item's class (classes are few: one per split rank). */
    overlap_class *cls = NULL;
    size_t ncls = 0;
    size_t *of = malloc(n * sizeof(*of));
    unsigned char *can = NULL; /* can[a * ncls + b]: a may be the training side of b */
    int rc = 0;
    if (!of) {
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (!local[i])
            continue;
        size_t c = 0;
        while (c < ncls && !same_class(&items->items[cls[c].rep], &items->items[i]))
            c++;
        if (c == ncls) {
            overlap_class *grown = realloc(cls, (ncls + 1) * sizeof(*cls));
            if (!grown) {
                rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
                goto done;
            }
            cls = grown;
            memset(&cls[ncls], 0, sizeof(*cls));
            cls[ncls++].rep = i;
        }
        of[i] = c;
        cls[c].nall++;
        cls[c].nopen += in_open(items, skip, i);
    }
    can = malloc(ncls * ncls);
    if (!can) {
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t a = 0; a < ncls; a++)
        for (size_t b = 0; b < ncls; b++)
            can[a * ncls + b] = allowed(ctx, cls[a].rep, cls[b].rep) != 0;
    for (size_t c = 0; c < ncls; c++) {
        cls[c].all = malloc(cls[c].nall * sizeof(*cls[c].all));
        cls[c].open = malloc((cls[c].nopen ? cls[c].nopen : 1) * sizeof(*cls[c].open));
        if (!cls[c].all || !cls[c].open) {
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
            goto done;
        }
        cls[c].nall = cls[c].nopen = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (!local[i])
            continue;
        overlap_class *k = &cls[of[i]];
        k->all[k->nall++] = i;
        if (in_open(items, skip, i))
            k->open[k->nopen++] = i;
        if (!items->items[i].is_new)
            continue;
        /* Which indexes this new item will query. */
        for (size_t b = 0; b < ncls; b++) {
            if (!skip[i] && can[b * ncls + of[i]])
                cls[b].need_all = 1;
            if (can[of[i] * ncls + b])
                cls[b].need_open = 1;
        }
    }
    for (size_t c = 0; c < ncls && rc == 0; c++) {
        if (cls[c].need_all || (cls[c].need_open && cls[c].nopen == cls[c].nall))
            rc = build_index(&cls[c].idx_all, local, cls[c].all, cls[c].nall, err);
        if (rc == 0 && cls[c].need_open) {
            if (cls[c].nopen == cls[c].nall)
                cls[c].idx_open = cls[c].idx_all;
            else
                rc = build_index(&cls[c].idx_open, local, cls[c].open, cls[c].nopen, err);
        }
    }
    if (rc == 0) {
        verifier v = {.local = local, .skip = skip, .offer = offer, .ctx = ctx};
        dedup_overlap_options_init(&v.vo);
        v.vo.min_overlap = opts->min_overlap;
        v.vo.max_rotation = opts->max_rotation;
        rc = search_all(&v, items, cls, ncls, of, can, err);
        free(v.done.slot);
    }
done:
    free_classes(cls, ncls);
    free(can);
    free(of);
    return rc;
}
