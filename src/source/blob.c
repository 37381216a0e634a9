/*
 * blob.c - item bytes from git blobs.  The staged blob is read from the
 * object database, never the working-tree file, so a partially staged image
 * is checked as it will be committed.
 */
#include "dedup/source.h"

#include <stdio.h>
#include <string.h>

void dedup_source_content_id(const dedup_item *item, char out[DEDUP_CONTENT_ID_MAX])
{
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), &item->oid);
    snprintf(out, DEDUP_CONTENT_ID_MAX, "git:%s", hex);
}

int dedup_source_read(dedup_repo *repo, const dedup_item *item, dedup_bytes *out,
                      dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, dedup_repo_git(repo), &item->oid) < 0) {
        char hex[GIT_OID_HEXSZ + 1];
        git_oid_tostr(hex, sizeof(hex), &item->oid);
        const git_error *e = git_error_last();
        return dedup_error_set(err, DEDUP_EIO, "cannot read blob %s: %s", hex,
                               e && e->message ? e->message : "object missing");
    }
    out->data = git_blob_rawcontent(blob);
    out->len = (size_t)git_blob_rawsize(blob);
    out->owner = blob;
    return 0;
}

void dedup_bytes_release(dedup_bytes *bytes)
{
    if (bytes->owner)
        git_blob_free(bytes->owner);
    memset(bytes, 0, sizeof(*bytes));
}
