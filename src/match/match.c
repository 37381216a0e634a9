/*
 * match.c - from a list of items to a list of leaks.
 *
 * Memory per image is kept to its exact keys and perceptual codes: training
 * images contribute their own hash, held-out images all eight dihedral
 * variants, so "held-out after transform t is near training" is one lookup
 * per variant in an exact Hamming index, in both directions.
 */
#include "dedup/match.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/decode.h"
#include "dedup/index.h"
#include "dedup/source.h"

/* Commit the cache every so many new rows so an interrupted run keeps most work. */
#define STORE_BATCH 64

typedef struct {
    dedup_hash128 byte_hash;
    dedup_hash128 pixel_hash;
    unsigned char has_pixel_hash;
    unsigned char loaded;
    unsigned char perceptual; /* quality high enough for the perceptual hash */
} item_keys;

typedef struct {
    dedup_hash128 hash;
    size_t item;
} key_entry;

typedef struct {
    dedup_pdq_hash *codes;
    size_t *item;           /* owner of each code */
    unsigned char *xform;   /* which variant each code is */
    size_t count, cap;
} code_list;

typedef struct {
    dedup_repo *repo;
    dedup_store *store;
    dedup_decoder *decoder;
    dedup_decode_options decode_opts;
    const dedup_item_list *items;
    dedup_result *result;
    item_keys *keys;
    dedup_leak *best; /* per item; kind == -1 when none */
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
    dedup_unreadable *grown =
        realloc(r->unreadable, (r->unreadable_count + 1) * sizeof(*grown));
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

/* A cache that fails is a slower run, not a failed check. */
static int store_trouble(check_ctx *c, const dedup_error *why, dedup_error *err)
{
    if (c->store_broken)
        return 0;
    c->store_broken = 1;
    return add_note(c->result, err, "feature cache disabled for this run: %s", why->msg);
}

static int compute_features(check_ctx *c, const dedup_item *item, const char *content_id,
                            dedup_features *f, int *readable, dedup_error *err)
{
    dedup_error why;
    dedup_error_clear(&why);
    dedup_bytes bytes;
    dedup_image img;
    int rc = dedup_source_read(c->repo, item, &bytes, &why);
    if (rc == 0) {
        rc = dedup_decode_image(c->decoder, &img, bytes.data, bytes.len, &c->decode_opts, &why);
        if (rc == 0) {
            rc = dedup_features_compute(f, bytes.data, bytes.len, &img, &why);
            dedup_image_free(&img);
        }
        dedup_bytes_release(&bytes);
    }
    if (rc == DEDUP_ENOMEM)
        return dedup_error_set(err, rc, "%s: %s", item->path, why.msg);
    if (rc) {
        *readable = 0;
        return add_unreadable(c->result, (size_t)(item - c->items->items), why.msg, err);
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

int dedup_match_check(dedup_repo *repo, dedup_store *store, const dedup_item_list *items,
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
    c.result = out;
    c.pairs = opts->check_held_out_pairs;
    dedup_decode_options_init(&c.decode_opts);
    c.decode_opts.max_pixels = opts->max_pixels;

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
    if (rc)
        return rc;
    c.keys = calloc(items->count + 1, sizeof(*c.keys));
    c.best = malloc((items->count + 1) * sizeof(*c.best));
    code_list train_codes = {0}, held_codes = {0};
    if (!c.keys || !c.best) {
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory for %zu images", items->count);
        goto done;
    }
    for (size_t i = 0; i < items->count; i++)
        c.best[i].kind = (dedup_match_kind)-1;

    for (size_t i = 0; i < items->count && rc == 0; i++) {
        const dedup_item *item = &items->items[i];
        if (item->role == DEDUP_ROLE_NONE)
            continue;
        int is_train = item->role == DEDUP_ROLE_TRAIN;
        int needed = item->is_new || (is_train ? new_held : new_train || (c.pairs && new_held));
        if (!needed)
            continue;
        if (item->problem) { /* e.g. a symbolic link out of the repository */
            rc = add_unreadable(out, i, item->problem, err);
            continue;
        }
        char content_id[DEDUP_CONTENT_ID_MAX];
        dedup_source_content_id(item, content_id);
        dedup_features f;
        int found = 0, readable = 1;
        if (store && !c.store_broken) {
            dedup_error why;
            dedup_error_clear(&why);
            if (dedup_store_get(store, content_id, &f, &found, &why) != 0) {
                found = 0;
                rc = store_trouble(&c, &why, err);
            }
        }
        if (rc == 0 && !found)
            rc = compute_features(&c, item, content_id, &f, &readable, err);
        if (rc || !readable)
            continue;
        item_keys *k = &c.keys[i];
        k->byte_hash = f.byte_hash;
        k->pixel_hash = f.pixel_hash;
        k->has_pixel_hash = (unsigned char)f.has_pixel_hash;
        k->loaded = 1;
        k->perceptual = f.pdq.quality >= DEDUP_PDQ_MIN_QUALITY;
        out->checked++;
        if (!k->perceptual) {
            out->low_quality++;
            continue;
        }
        /* Partners give their own hash; held-out images all eight variants.
         * With pairs, a held-out image is both. */
        if (is_train || c.pairs) {
            if (code_list_push(&train_codes, &f.pdq.variants[DEDUP_XFORM_IDENTITY], i,
                               DEDUP_XFORM_IDENTITY))
                rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        }
        if (!is_train) {
            for (int t = 0; t < DEDUP_XFORM_COUNT && rc == 0; t++)
                if (code_list_push(&held_codes, &f.pdq.variants[t], i, t))
                    rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        }
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
        rc = match_near(&c, &train_codes, &held_codes, 1, opts->threshold, err);
    if (rc == 0)
        rc = match_near(&c, &held_codes, &train_codes, 0, opts->threshold, err);
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
    code_list_free(&train_codes);
    code_list_free(&held_codes);
    free(c.keys);
    free(c.best);
    dedup_decoder_free(c.decoder);
    if (rc)
        dedup_result_free(out);
    return rc;
}
