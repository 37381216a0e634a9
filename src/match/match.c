/*
 * match.c - from a list of items to a list of leaks.
 *
 * Memory per image is kept to its exact keys and perceptual codes: training
 * images contribute their own hash, held-out images all eight dihedral
 * variants, so "held-out after transform t is near training" is one lookup
 * per variant in an exact Hamming index, in both directions.
 */
#include "dedup/match.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/decode.h"
#include "dedup/index.h"
#include "dedup/source.h"
#include "match_internal.h"

/* Commit the cache every so many new rows so an interrupted run keeps most work. */
#define STORE_BATCH 64

typedef struct {
    dedup_hash128 byte_hash;
    dedup_hash128 pixel_hash;
    unsigned char has_pixel_hash;
    unsigned char loaded;
    unsigned char perceptual; /* quality high enough for the perceptual hash */
    unsigned char soft;       /* ... but only just: matched within DEDUP_PDQ_SOFT_DISTANCE */
} item_keys;

typedef struct {
    dedup_hash128 hash;
    size_t item;
} key_entry;

typedef struct {
    dedup_pdq_hash *codes;
    size_t *item;         /* owner of each code */
    unsigned char *xform; /* which variant each code is */
    size_t count, cap;
} code_list;

typedef struct {
    dedup_repo *repo;
    dedup_store *store;
    dedup_source *source;
    dedup_decoder *decoder;
    dedup_decode_options decode_opts;
    const dedup_match_options *opts;
    dedup_item_list *items; /* grows: an archive's members join it as it is read */
    dedup_result *result;
    /* Per-item state, with room for `cap` items. */
    size_t cap;
    item_keys *keys;
    dedup_leak *best;             /* per item; kind == -1 when none */
    dedup_local_features **local; /* local features when comparable, else NULL */
    code_list train_codes, held_codes;
    int pending_puts;
    int store_broken;
    int pairs; /* opts->check_held_out_pairs */
} check_ctx;

/*
 * Whether item lo can be the partner of item hi in a leak: a training image
 * and a held-out one, or (with pairs) two held-out images of different
 * splits.  Ranks order the splits: 0 training, then dedup.heldOutSplits.
 */
static int pair_allowed(const check_ctx *c, size_t lo, size_t hi)
{
    const dedup_item *a = &c->items->items[lo], *b = &c->items->items[hi];
    if (a->role == DEDUP_ROLE_NONE || b->role != DEDUP_ROLE_HELD_OUT || a->rank >= b->rank)
        return 0;
    return a->role == DEDUP_ROLE_TRAIN || c->pairs;
}

const char *dedup_match_kind_name(dedup_match_kind kind)
{
    switch (kind) {
    case DEDUP_MATCH_SYMLINK:
        return "symlink";
    case DEDUP_MATCH_EXACT_BYTES:
        return "exact_bytes";
    case DEDUP_MATCH_SAME_PIXELS:
        return "same_pixels";
    case DEDUP_MATCH_OVERLAP:
        return "overlap";
    default:
        return "near_duplicate";
    }
}

const char *dedup_match_kind_label(dedup_match_kind kind)
{
    switch (kind) {
    case DEDUP_MATCH_SYMLINK:
        return "symbolic link";
    case DEDUP_MATCH_EXACT_BYTES:
        return "exact bytes";
    case DEDUP_MATCH_SAME_PIXELS:
        return "same pixels";
    case DEDUP_MATCH_OVERLAP:
        return "overlap";
    default:
        return "near duplicate";
    }
}

void dedup_match_options_init(dedup_match_options *opts)
{
    opts->threshold = 31;
    dedup_decode_options d;
    dedup_decode_options_init(&d);
    opts->max_pixels = d.max_pixels;
    opts->check_held_out_pairs = 0;
    opts->overlap = 1;
    opts->min_overlap = 0.20;
    dedup_overlap_options o;
    dedup_overlap_options_init(&o);
    opts->max_rotation = o.max_rotation;
    dedup_source_options_init(&opts->source);
}

void dedup_result_free(dedup_result *r)
{
    for (size_t i = 0; i < r->unreadable_count; i++)
        free(r->unreadable[i].reason);
    for (size_t i = 0; i < r->note_count; i++)
        free(r->notes[i]);
    free(r->unreadable);
    free(r->notes);
    free(r->leaks);
    free(r->flat);
    memset(r, 0, sizeof(*r));
}

static int add_note(dedup_result *r, dedup_error *err, const char *fmt, ...)
{
    char buf[DEDUP_ERROR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char **grown = realloc(r->notes, (r->note_count + 1) * sizeof(*grown));
    char *copy = strdup(buf);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            r->notes = grown;
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    r->notes = grown;
    r->notes[r->note_count++] = copy;
    return 0;
}

static int add_unreadable(dedup_result *r, size_t item, const char *reason, dedup_error *err)
{
    dedup_unreadable *grown = realloc(r->unreadable, (r->unreadable_count + 1) * sizeof(*grown));
    char *copy = strdup(reason);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            r->unreadable = grown;
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    r->unreadable = grown;
    r->unreadable[r->unreadable_count].item = item;
    r->unreadable[r->unreadable_count].reason = copy;
    r->unreadable_count++;
    return 0;
}

/* Name an image some search cannot use, so the report can say which. */
static int add_flat(dedup_result *r, size_t item, int exact_only, int not_comparable,
                    dedup_error *err)
{
    if (r->flat_count == r->flat_cap) {
        const size_t cap = r->flat_cap ? 2 * r->flat_cap : 16;
        dedup_flat *grown = realloc(r->flat, cap * sizeof(*grown));
        if (!grown)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        r->flat = grown;
        r->flat_cap = cap;
    }
    r->flat[r->flat_count].item = item;
    r->flat[r->flat_count].exact_only = exact_only;
    r->flat[r->flat_count].not_comparable = not_comparable;
    r->flat_count++;
    return 0;
}

/* A cache that fails is a slower run, not a failed check. */
static int store_trouble(check_ctx *c, const dedup_error *why, dedup_error *err)
{
    if (c->store_broken)
        return 0;
    c->store_broken = 1;
    return add_note(c->result, err, "feature cache disabled for this run: %s", why->msg);
}

/*
 * Item i's bytes could not be had (why->code says how).  Bytes stored
 * elsewhere and not fetched here are a note when dedup.lfsMissing or
 * dedup.dvcMissing is warn; anything else makes the item unreadable.
 */
static int not_readable(check_ctx *c, size_t i, dedup_storage storage, const dedup_error *why,
                        dedup_error *err)
{
    const dedup_source_options *so = &c->opts->source;
    if (why->code == DEDUP_ENOMEM)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: %s", c->items->items[i].path, why->msg);
    if (why->code == DEDUP_EMISSING &&
        (storage == DEDUP_STORAGE_LFS ? so->lfs_missing_warn : so->dvc_missing_warn))
        return add_note(c->result, err, "%s: not checked: %s", c->items->items[i].path, why->msg);
    return add_unreadable(c->result, i, why->msg, err);
}

/* Decode item i's bytes and compute its features, then cache them under content_id. */
static int compute_features(check_ctx *c, size_t i, const uint8_t *data, size_t len,
                            const char *content_id, dedup_features *f, int *readable,
                            dedup_error *err)
{
    dedup_error why;
    dedup_error_clear(&why);
    dedup_image img;
    int rc = dedup_decode_image(c->decoder, &img, data, len, &c->decode_opts, &why);
    if (rc == 0) {
        rc = dedup_features_compute(f, data, len, &img, &why);
        dedup_image_free(&img);
    }
    if (rc) {
        *readable = 0;
        /* Bytes we cannot decode can still be a copy of other bytes: keep
         * the byte hash so an exact copy is a leak, not just two warnings. */
        c->keys[i].byte_hash = dedup_byte_hash(data, len);
        c->keys[i].loaded = 1;
        return not_readable(c, i, DEDUP_STORAGE_BLOB, &why, err);
    }
    *readable = 1;
    c->result->decoded++;
    if (c->store && !c->store_broken) {
        if (c->pending_puts == 0 && dedup_store_begin(c->store, &why) != 0)
            return store_trouble(c, &why, err);
        if (dedup_store_put(c->store, content_id, f, &why) != 0)
            return store_trouble(c, &why, err);
        if (++c->pending_puts >= STORE_BATCH) {
            c->pending_puts = 0;
            if (dedup_store_commit(c->store, &why) != 0)
                return store_trouble(c, &why, err);
        }
    }
    return 0;
}

static int code_list_push(code_list *l, const dedup_pdq_hash *code, size_t item, int xform)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        dedup_pdq_hash *codes = realloc(l->codes, cap * sizeof(*codes));
        if (!codes)
            return DEDUP_ENOMEM;
        l->codes = codes;
        size_t *owners = realloc(l->item, cap * sizeof(*owners));
        if (!owners)
            return DEDUP_ENOMEM;
        l->item = owners;
        unsigned char *xf = realloc(l->xform, cap);
        if (!xf)
            return DEDUP_ENOMEM;
        l->xform = xf;
        l->cap = cap;
    }
    l->codes[l->count] = *code;
    l->item[l->count] = item;
    l->xform[l->count] = (unsigned char)xform;
    l->count++;
    return 0;
}

static void code_list_free(code_list *l)
{
    free(l->codes);
    free(l->item);
    free(l->xform);
    memset(l, 0, sizeof(*l));
}

/* Keep the strongest evidence per held-out image; ties go to the first training path. */
static void offer(check_ctx *c, size_t held_out, size_t train, dedup_match_kind kind,
                  dedup_transform xform, unsigned distance)
{
    dedup_leak *b = &c->best[held_out];
    if ((int)b->kind != -1) {
        if (b->kind < kind)
            return;
        unsigned br = c->items->items[b->train].rank, r = c->items->items[train].rank;
        if (b->kind == kind &&
            (b->distance < distance ||
             (b->distance == distance && (br < r || (br == r && b->train <= train)))))
            return;
    }
    b->held_out = held_out;
    b->train = train;
    b->kind = kind;
    b->transform = xform;
    b->distance = distance;
}

static int pair_allowed_cb(void *ctx, size_t lo, size_t hi)
{
    return pair_allowed(ctx, lo, hi);
}

/* Overlaps rank below every whole-image match; among them the larger share
 * of the held-out image wins. */
static void offer_overlap(void *ctx, size_t held_out, size_t train, const dedup_overlap *ov)
{
    check_ctx *c = ctx;
    dedup_leak *b = &c->best[held_out];
    if ((int)b->kind != -1 &&
        (b->kind < DEDUP_MATCH_OVERLAP || b->share_held_out >= ov->share_held_out))
        return;
    memset(b, 0, sizeof(*b));
    b->held_out = held_out;
    b->train = train;
    b->kind = DEDUP_MATCH_OVERLAP;
    b->transform = DEDUP_XFORM_IDENTITY;
    b->share_held_out = ov->share_held_out;
    b->share_train = ov->share_train;
    /* Reported the way round a reviewer looks for it: where the held-out
     * image's top-left corner lies in the training image (the inverse of
     * held-out = scale * R(rotation) * train + (dx, dy)). */
    double th = ov->rotation * 3.14159265358979323846 / 180.0, cs = cos(th), sn = sin(th);
    double sc = ov->scale > 0 ? ov->scale : 1.0;
    b->dx = (-cs * ov->dx - sn * ov->dy) / sc;
    b->dy = (sn * ov->dx - cs * ov->dy) / sc;
    b->scale = ov->scale;
    b->rotation = ov->rotation;
    b->inliers = ov->inliers;
}

/* Held-out images that already have a whole-image match need no overlap search. */
static int match_overlaps(check_ctx *c, const dedup_local_features *const *local,
                          const dedup_match_options *opts, dedup_error *err)
{
    unsigned char *skip = calloc(c->items->count + 1, 1);
    if (!skip)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->items->count; i++)
        skip[i] = (int)c->best[i].kind != -1;
    int rc =
        dedup_match_overlaps(c->items, local, skip, opts, pair_allowed_cb, offer_overlap, c, err);
    free(skip);
    return rc;
}

static int cmp_hash(const dedup_hash128 *a, const dedup_hash128 *b)
{
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

static int cmp_key_entry(const void *a, const void *b)
{
    const key_entry *x = a, *y = b;
    int c = cmp_hash(&x->hash, &y->hash);
    if (c)
        return c;
    return x->item < y->item ? -1 : x->item > y->item;
}

/* First entry with hash >= h. */
static size_t lower_bound(const key_entry *e, size_t n, const dedup_hash128 *h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_hash(&e[mid].hash, h) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Exact keys (bytes, then pixels) across the boundary, pairs with a new side. */
static int match_exact(check_ctx *c, int pixels, dedup_error *err)
{
    const dedup_item_list *items = c->items;
    dedup_match_kind kind = pixels ? DEDUP_MATCH_SAME_PIXELS : DEDUP_MATCH_EXACT_BYTES;
    key_entry *keyed = malloc((items->count + 1) * sizeof(*keyed));
    if (!keyed)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    size_t nk = 0;
    for (size_t i = 0; i < items->count; i++) {
        const item_keys *k = &c->keys[i];
        if (!k->loaded || items->items[i].role == DEDUP_ROLE_NONE)
            continue;
        if (pixels && !k->has_pixel_hash)
            continue;
        keyed[nk].hash = pixels ? k->pixel_hash : k->byte_hash;
        keyed[nk].item = i;
        nk++;
    }
    qsort(keyed, nk, sizeof(*keyed), cmp_key_entry);
    for (size_t i = 0; i < items->count; i++) {
        const item_keys *k = &c->keys[i];
        if (!k->loaded || items->items[i].role != DEDUP_ROLE_HELD_OUT)
            continue;
        if (pixels && !k->has_pixel_hash)
            continue;
        const dedup_hash128 *h = pixels ? &k->pixel_hash : &k->byte_hash;
        int held_new = items->items[i].is_new;
        for (size_t j = lower_bound(keyed, nk, h); j < nk && cmp_hash(&keyed[j].hash, h) == 0;
             j++) {
            size_t partner = keyed[j].item;
            if (pair_allowed(c, partner, i) && (held_new || items->items[partner].is_new))
                offer(c, i, partner, kind, DEDUP_XFORM_IDENTITY, 0);
        }
    }
    free(keyed);
    return 0;
}

/* A symbolic link across the boundary is the very file: no bytes needed. */
static void match_links(check_ctx *c)
{
    const dedup_item_list *items = c->items;
    for (size_t i = 0; i < items->count; i++) {
        const dedup_item *s = &items->items[i];
        if (!s->is_symlink || s->link == DEDUP_ITEM_NO_LINK)
            continue;
        size_t t = s->link;
        if (!s->is_new && !items->items[t].is_new)
            continue;
        if (pair_allowed(c, t, i))
            offer(c, i, t, DEDUP_MATCH_SYMLINK, DEDUP_XFORM_IDENTITY, 0);
        else if (pair_allowed(c, i, t))
            offer(c, t, i, DEDUP_MATCH_SYMLINK, DEDUP_XFORM_IDENTITY, 0);
    }
}

/* For every code in `queries` owned by a new item, search `targets`. */
static int match_near(check_ctx *c, const code_list *targets, const code_list *queries,
                      int queries_are_held_out, unsigned threshold, dedup_error *err)
{
    int any = 0;
    for (size_t q = 0; q < queries->count && !any; q++)
        any = c->items->items[queries->item[q]].is_new;
    if (!any || targets->count == 0)
        return 0;
    dedup_index *idx = NULL;
    int rc = dedup_index_new(&idx, targets->codes, targets->count, err);
    if (rc)
        return rc;
    dedup_index_hits hits;
    dedup_index_hits_init(&hits);
    for (size_t q = 0; q < queries->count && rc == 0; q++) {
        if (!c->items->items[queries->item[q]].is_new)
            continue;
        rc = dedup_index_query(idx, &queries->codes[q], threshold, &hits, err);
        for (size_t h = 0; rc == 0 && h < hits.count; h++) {
            size_t t = hits.items[h].id;
            size_t held = queries_are_held_out ? queries->item[q] : targets->item[t];
            size_t partner = queries_are_held_out ? targets->item[t] : queries->item[q];
            if (!pair_allowed(c, partner, held))
                continue;
            if ((c->keys[held].soft || c->keys[partner].soft) &&
                hits.items[h].distance > DEDUP_PDQ_SOFT_DISTANCE)
                continue;
            /* A match of variant x of the held-out image with the training
             * image means held-out = inverse(x) applied to training. */
            if (queries_are_held_out)
                offer(c, queries->item[q], targets->item[t], DEDUP_MATCH_NEAR_DUPLICATE,
                      dedup_transform_inverse((dedup_transform)queries->xform[q]),
                      hits.items[h].distance);
            else
                offer(c, targets->item[t], queries->item[q], DEDUP_MATCH_NEAR_DUPLICATE,
                      dedup_transform_inverse((dedup_transform)targets->xform[t]),
                      hits.items[h].distance);
        }
    }
    dedup_index_hits_free(&hits);
    dedup_index_free(idx);
    return rc;
}

static int cmp_leak_path(const void *a, const void *b, const dedup_item_list *items)
{
    return strcmp(items->items[((const dedup_leak *)a)->held_out].path,
                  items->items[((const dedup_leak *)b)->held_out].path);
}

/* Items arrive in path order from the index, so leaks already are; assert-free sort
 * is kept cheap by an insertion pass that does nothing on sorted input. */
static void sort_leaks(dedup_leak *l, size_t n, const dedup_item_list *items)
{
    for (size_t i = 1; i < n; i++) {
        dedup_leak v = l[i];
        size_t j = i;
        while (j > 0 && cmp_leak_path(&l[j - 1], &v, items) > 0) {
            l[j] = l[j - 1];
            j--;
        }
        l[j] = v;
    }
}

/* Room for per-item state of n items. */
static int reserve(check_ctx *c, size_t n, dedup_error *err)
{
    if (n <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 16;
    while (cap < n)
        cap *= 2;
    item_keys *keys = realloc(c->keys, cap * sizeof(*keys));
    if (keys)
        c->keys = keys;
    dedup_leak *best = realloc(c->best, cap * sizeof(*best));
    if (best)
        c->best = best;
    dedup_local_features **local = realloc(c->local, cap * sizeof(*local));
    if (local)
        c->local = local;
    if (!keys || !best || !local)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for %zu images", n);
    memset(keys + c->cap, 0, (cap - c->cap) * sizeof(*keys));
    memset(local + c->cap, 0, (cap - c->cap) * sizeof(*local));
    for (size_t i = c->cap; i < cap; i++)
        best[i].kind = (dedup_match_kind)-1;
    c->cap = cap;
    return 0;
}

/* Item i's features take part: its exact keys, local features and perceptual codes. */
static int use_features(check_ctx *c, size_t i, const dedup_features *f, dedup_error *err)
{
    int is_train = c->items->items[i].role == DEDUP_ROLE_TRAIN;
    item_keys *k = &c->keys[i];
    k->byte_hash = f->byte_hash;
    k->pixel_hash = f->pixel_hash;
    k->has_pixel_hash = (unsigned char)f->has_pixel_hash;
    k->loaded = 1;
    k->perceptual = f->pdq.quality >= DEDUP_PDQ_SOFT_QUALITY;
    k->soft = f->pdq.quality < DEDUP_PDQ_MIN_QUALITY;
    c->result->checked++;
    int not_comparable = 0;
    if (c->opts->overlap && dedup_local_comparable(&f->local)) {
        c->local[i] = malloc(sizeof(*c->local[i]));
        if (!c->local[i])
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        *c->local[i] = f->local;
    } else if (c->opts->overlap) {
        c->result->not_comparable++;
        not_comparable = 1;
    }
    if ((!k->perceptual || not_comparable) &&
        add_flat(c->result, i, !k->perceptual, not_comparable, err))
        return DEDUP_ENOMEM;
    if (!k->perceptual) {
        c->result->low_quality++;
        return 0;
    }
    /* Partners give their own hash; held-out images all eight variants.
     * With pairs, a held-out image is both. */
    if ((is_train || c->pairs) &&
        code_list_push(&c->train_codes, &f->pdq.variants[DEDUP_XFORM_IDENTITY], i,
                       DEDUP_XFORM_IDENTITY))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (int t = 0; !is_train && t < DEDUP_XFORM_COUNT; t++)
        if (code_list_push(&c->held_codes, &f->pdq.variants[t], i, t))
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    return 0;
}

/* Features for content_id from the cache; *found is 0 on a miss. */
static int cached(check_ctx *c, const char *content_id, dedup_features *f, int *found,
                  dedup_error *err)
{
    *found = 0;
    if (!c->store || c->store_broken)
        return 0;
    dedup_error why;
    dedup_error_clear(&why);
    if (dedup_store_get(c->store, content_id, f, found, &why) == 0)
        return 0;
    *found = 0;
    return store_trouble(c, &why, err);
}

/* One item stored whole: a blob, an LFS object or a DVC file.  Only a cache
 * miss reads its bytes. */
static int gather(check_ctx *c, size_t i, dedup_error *err)
{
    dedup_error why;
    dedup_error_clear(&why);
    dedup_source_ref ref;
    if (dedup_source_identify(c->source, &c->items->items[i], &ref, &why) != 0)
        return not_readable(c, i, ref.storage, &why, err);
    dedup_features *f = malloc(sizeof(*f));
    if (!f)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    int found, readable = 1;
    int rc = cached(c, ref.content_id, f, &found, err);
    if (rc == 0 && !found) {
        dedup_bytes bytes;
        if (dedup_source_read(c->source, &ref, &bytes, &why) != 0) {
            readable = 0;
            rc = not_readable(c, i, ref.storage, &why, err);
        } else {
            rc = compute_features(c, i, bytes.data, bytes.len, ref.content_id, f, &readable, err);
            dedup_bytes_release(&bytes);
        }
    }
    if (rc == 0 && readable)
        rc = use_features(c, i, f, err);
    free(f);
    return rc;
}

typedef struct {
    check_ctx *c;
    size_t archive;
    dedup_features *f;
} archive_walk;

/*
 * One member of an archive joins the item list.  Its content id is the
 * XXH3-128 of its bytes: a member has no id before it is read, and one made
 * of the archive's id and the member's name would miss the cache whenever a
 * shard is repacked.  A key that is the hash of the very bytes decoded can
 * never hold features of other bytes, so no partial read can poison it.
 */
static int take_member(void *ctx, const dedup_member *m, dedup_error *err)
{
    archive_walk *w = ctx;
    check_ctx *c = w->c;
    size_t i;
    int rc = dedup_item_list_add_member(c->items, w->archive, m->name, m->problem, &i, err);
    if (rc == 0)
        rc = reserve(c, c->items->count + 1, err);
    if (rc)
        return rc;
    if (m->problem)
        return add_unreadable(c->result, i, m->problem, err);
    dedup_hash128 h = dedup_byte_hash(m->data, m->len);
    char hex[33], content_id[DEDUP_CONTENT_ID_MAX];
    dedup_hash128_hex(&h, hex);
    snprintf(content_id, sizeof(content_id), "xxh3:%s", hex);
    int found, readable = 1;
    rc = cached(c, content_id, w->f, &found, err);
    if (rc == 0 && !found)
        rc = compute_features(c, i, m->data, m->len, content_id, w->f, &readable, err);
    if (rc == 0 && readable)
        rc = use_features(c, i, w->f, err);
    return rc;
}

/* A tar or zip shard: read once, each image member handed to take_member.
 * If the archive fails part way, the members read before stay checked and
 * the archive itself is reported. */
static int gather_archive(check_ctx *c, size_t i, dedup_error *err)
{
    dedup_error why;
    dedup_error_clear(&why);
    dedup_source_ref ref;
    if (dedup_source_identify(c->source, &c->items->items[i], &ref, &why) != 0)
        return not_readable(c, i, ref.storage, &why, err);
    archive_walk w = {c, i, malloc(sizeof(dedup_features))};
    if (!w.f)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    int rc = dedup_source_each_member(c->source, &ref, take_member, &w, &why);
    free(w.f);
    if (rc == 0)
        return 0;
    /* take_member's own failures (out of memory) stop the check. */
    if (rc == DEDUP_ENOMEM)
        return dedup_error_set(err, rc, "%s", why.msg);
    return not_readable(c, i, ref.storage, &why, err);
}

int dedup_match_check(dedup_repo *repo, dedup_store *store, dedup_item_list *items,
                      const dedup_match_options *opts, dedup_result *out, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    dedup_match_options defaults;
    if (!opts) {
        dedup_match_options_init(&defaults);
        opts = &defaults;
    }
    check_ctx c = {0};
    c.repo = repo;
    c.store = store;
    c.items = items;
    c.opts = opts;
    c.result = out;
    c.pairs = opts->check_held_out_pairs;
    dedup_decode_options_init(&c.decode_opts);
    c.decode_opts.max_pixels = opts->max_pixels;
    /* One decode serves both the perceptual hash and the local features:
     * cheaper than two (bench/bench_overlap.c). */
    c.decode_opts.min_side = DEDUP_LOCAL_DECODE_SIDE;

    /* Only what can pair with something new is needed. */
    int new_train = 0, new_held = 0;
    for (size_t i = 0; i < items->count; i++) {
        if (!items->items[i].is_new)
            continue;
        if (items->items[i].role == DEDUP_ROLE_TRAIN)
            new_train = 1;
        else if (items->items[i].role == DEDUP_ROLE_HELD_OUT)
            new_held = 1;
    }

    int rc = dedup_decoder_new(&c.decoder, err);
    if (rc == 0)
        rc = dedup_source_new(&c.source, repo, &opts->source, err);
    if (rc == 0)
        rc = reserve(&c, items->count + 1, err);
    if (rc)
        goto done;

    /* Members appended while archives are read are handled as they come:
     * the loop ends at the items the repository listed. */
    size_t listed = items->count;
    for (size_t i = 0; i < listed && rc == 0; i++) {
        const dedup_item *item = &items->items[i];
        if (item->role == DEDUP_ROLE_NONE && !item->problem)
            continue;
        int is_train = item->role == DEDUP_ROLE_TRAIN;
        int needed = item->is_new || (is_train ? new_held : new_train || (c.pairs && new_held));
        if (item->role == DEDUP_ROLE_NONE) /* a DVC folder of unknown split: any change */
            needed = new_train || new_held;
        if (!needed)
            continue;
        if (item->problem) { /* e.g. a symbolic link out of the repository */
            dedup_error why;
            dedup_error_set(&why, item->missing ? DEDUP_EMISSING : DEDUP_EIO, "%s", item->problem);
            rc = not_readable(&c, i, item->storage, &why, err);
            continue;
        }
        rc = item->is_archive ? gather_archive(&c, i, err) : gather(&c, i, err);
    }
    if (rc == 0 && c.pending_puts && store && !c.store_broken) {
        dedup_error why;
        dedup_error_clear(&why);
        if (dedup_store_commit(store, &why) != 0)
            rc = store_trouble(&c, &why, err);
    }
    if (rc == 0)
        match_links(&c);
    if (rc == 0)
        rc = match_exact(&c, 0, err);
    if (rc == 0)
        rc = match_exact(&c, 1, err);
    if (rc == 0)
        rc = match_near(&c, &c.train_codes, &c.held_codes, 1, opts->threshold, err);
    if (rc == 0)
        rc = match_near(&c, &c.held_codes, &c.train_codes, 0, opts->threshold, err);
    if (rc == 0 && opts->overlap)
        rc = match_overlaps(&c, (const dedup_local_features *const *)c.local, opts, err);
    if (rc)
        goto done;

    size_t n = 0;
    for (size_t i = 0; i < items->count; i++)
        if ((int)c.best[i].kind != -1)
            c.best[n++] = c.best[i];
    sort_leaks(c.best, n, items);
    out->leaks = c.best;
    out->leak_count = n;
    c.best = NULL;

done:
    code_list_free(&c.train_codes);
    code_list_free(&c.held_codes);
    for (size_t i = 0; c.local && i < items->count; i++)
        free(c.local[i]);
    free(c.local);
    dedup_source_free(c.source);
    free(c.keys);
    free(c.best);
    dedup_decoder_free(c.decoder);
    if (rc)
        dedup_result_free(out);
    return rc;
}
