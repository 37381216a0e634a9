/*
 * store.h - the feature cache in <git common dir>/dedup/cache.sqlite.
 *
 * One row per (content id, version).  A content id names stored bytes
 * ("git:<blob sha1>", later "lfs:<sha256>", "dvc:<md5>"), so an image is
 * decoded once in its life whatever path or split it moves to.  The version
 * names everything the features depend on: DEDUP_FEATURE_VERSION and the
 * version of every image decoder (dedup_decode_version), so upgrading
 * libjpeg-turbo, libspng, libwebp or giflib, or changing how features are
 * computed, makes old rows invisible instead of mixing their hashes with new
 * ones (they stay in the file until .git/dedup is deleted).  Rows are
 * checksummed; a damaged database or row is detected and rebuilt, never
 * trusted.  Concurrent runs are safe (WAL, busy timeout, transactions).
 */
#ifndef DEDUP_STORE_H
#define DEDUP_STORE_H

#include "dedup/error.h"
#include "dedup/features.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dedup_store dedup_store;

/*
 * Open (creating as needed) the cache in directory `dir` (created if missing).
 * A file that is not a valid cache is moved aside to cache.sqlite.corrupt-<n>
 * and a fresh one created; dedup_store_notice() then says so.
 */
int dedup_store_open(dedup_store **out, const char *dir, dedup_error *err);

/*
 * The same with an explicit version text in place of the default
 * ("features <DEDUP_FEATURE_VERSION>; <dedup_decode_version()>"): rows are
 * found only by a store opened with the same text.  For tests and tools.
 */
int dedup_store_open_versioned(dedup_store **out, const char *dir, const char *version,
                               dedup_error *err);
void dedup_store_close(dedup_store *store);

/* The version text rows are keyed by. */
const char *dedup_store_version(const dedup_store *store);

/* A warning from open (e.g. "cache was damaged and has been rebuilt"), or NULL. */
const char *dedup_store_notice(const dedup_store *store);

/*
 * Look up features for content_id at the store's version.  *found is 1 on a
 * hit, 0 on a miss (including a row that failed its checksum).
 */
int dedup_store_get(dedup_store *store, const char *content_id, dedup_features *out, int *found,
                    dedup_error *err);

/* Insert or replace.  Inside begin/commit the batch is atomic. */
int dedup_store_put(dedup_store *store, const char *content_id, const dedup_features *features,
                    dedup_error *err);
int dedup_store_begin(dedup_store *store, dedup_error *err);
int dedup_store_commit(dedup_store *store, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
