/*
 * source.h - the stored bytes of an item, wherever the dataset keeps them.
 * For now: git blobs.  The bytes are borrowed from libgit2's object cache
 * without a copy and stay valid until dedup_bytes_release().
 */
#ifndef DEDUP_SOURCE_H
#define DEDUP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/error.h"
#include "dedup/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "git:" + 40 hex digits, or longer ids of later storage kinds, + NUL. */
#define DEDUP_CONTENT_ID_MAX 96

typedef struct {
    const uint8_t *data;
    size_t len;
    void *owner; /* private: what keeps data alive */
} dedup_bytes;

/* The cache key of an item's stored content, e.g. "git:<blob sha1>". */
void dedup_source_content_id(const dedup_item *item, char out[DEDUP_CONTENT_ID_MAX]);

/* Read the item's bytes.  Errors name the path and the object. */
int dedup_source_read(dedup_repo *repo, const dedup_item *item, dedup_bytes *out,
                      dedup_error *err);
void dedup_bytes_release(dedup_bytes *bytes);

#ifdef __cplusplus
}
#endif
#endif
