/*
 * source.h - the stored bytes of an item, wherever the dataset keeps them:
 * a git blob, a Git LFS object behind a pointer blob, a file in DVC's
 * cache, or a member of a tar or zip shard.
 *
 * Two steps, so that a cached image costs no read of its bytes:
 *  1. dedup_source_identify: what the item's bytes are and the content id
 *     that keys the feature cache.  For a blob it reads only the object's
 *     header (its size), and the blob itself only when it is small enough
 *     to be an LFS pointer (< 1024 bytes, per the pointer spec): a pointer
 *     names its object by sha256, which becomes the content id
 *     ("lfs:<sha256>"), so a known object is never read again.  Plain blobs
 *     are "git:<sha1>", DVC files "dvc:<md5>".
 *  2. dedup_source_read: the bytes.  Blobs are borrowed from libgit2
 *     without a copy; LFS and DVC objects are mapped read-only from disk.
 *
 * Archives are streamed, never extracted: dedup_source_each_member reads a
 * shard once and hands each image member's whole bytes to a callback.
 * Members have no id of their own before they are read, so their content
 * id is the XXH3-128 of their bytes, computed by the caller; see match.c.
 *
 * Every error names the object and the reason.  DEDUP_EMISSING means the
 * bytes are stored elsewhere and not fetched here (an LFS object not in
 * lfs/objects, a file not in the DVC cache): the caller decides whether
 * that fails the check (dedup.lfsMissing, dedup.dvcMissing).
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

/* "lfs:" + 64 hex digits is the longest content id, + NUL. */
#define DEDUP_CONTENT_ID_MAX 96

typedef struct {
    const uint8_t *data;
    size_t len;
    void *owner; /* private: what keeps data alive */
    int kind;    /* private: how to release it */
} dedup_bytes;

void dedup_bytes_release(dedup_bytes *bytes);

/* ==== Limits and policies (git config keys) ============================= */

typedef struct {
    uint64_t max_blob_bytes;           /* dedup.maxBlobBytes: a larger plain git blob is refused
                                          (libgit2 reads blobs whole); default 256 MiB */
    uint64_t archive_max_members;      /* dedup.archiveMaxMembers: entries of any kind in one
                                          archive; default 100000 */
    uint64_t archive_max_bytes;        /* dedup.archiveMaxBytes: bytes one archive may unpack
                                          to; default 8 GiB */
    uint64_t archive_max_member_bytes; /* dedup.archiveMaxMemberBytes: one member;
                                          default 256 MiB */
    int lfs_missing_warn;              /* dedup.lfsMissing=warn: a missing LFS object is a note */
    int dvc_missing_warn;              /* dedup.dvcMissing=warn: likewise for DVC */
} dedup_source_options;

/* The defaults above, with missing objects failing the check. */
void dedup_source_options_init(dedup_source_options *opts);

/*
 * Read the keys above from config.  missing_fails is the default of
 * dedup.lfsMissing and dedup.dvcMissing (1: fail, 0: warn).  Invalid values
 * are DEDUP_ECONFIG errors naming the key.
 */
int dedup_source_config(dedup_repo *repo, int missing_fails, dedup_source_options *opts,
                        dedup_error *err);

/* ==== Reading ============================================================= */

typedef struct dedup_source dedup_source;

/*
 * A reader over the repository.  The LFS object store is lfs.storage (git
 * config; relative to git's common directory) or <common dir>/lfs.  `repo`
 * may be NULL (tests, benchmarks): then only DVC items and archives in
 * memory can be read.
 */
int dedup_source_new(dedup_source **out, dedup_repo *repo, const dedup_source_options *opts,
                     dedup_error *err);
void dedup_source_free(dedup_source *src);

/* What an item's bytes are, as dedup_source_identify found them. */
typedef struct {
    dedup_storage storage; /* BLOB, LFS (the blob was a pointer) or DVC */
    char content_id[DEDUP_CONTENT_ID_MAX];
    git_oid blob;     /* BLOB: the blob */
    char lfs_oid[65]; /* LFS: the object's sha256 (64 lower-case hex digits) */
    uint64_t size;    /* BLOB: its size; LFS: the pointer's size; DVC: as stated, or 0 */
    const char *file; /* DVC: the cache file (the item's) */
    const char *path; /* the item's path, for messages */
} dedup_source_ref;

/*
 * Identify an item (not an archive member).  Fails with DEDUP_ETOOBIG for a
 * blob over max_blob_bytes (the message suggests Git LFS), DEDUP_EDECODE
 * for a corrupt LFS pointer, DEDUP_EUNSUPPORTED for a pointer with LFS
 * extensions, DEDUP_EIO when the blob cannot be read.  out->storage is set
 * even on failure, as far as it is known.
 */
int dedup_source_identify(dedup_source *src, const dedup_item *item, dedup_source_ref *out,
                          dedup_error *err);

/*
 * Read the bytes of an identified item.  DEDUP_EMISSING when an LFS or DVC
 * object is not present (the message says how to fetch it); DEDUP_EDECODE
 * when the object's size is not the one its pointer or .dvc file states (a
 * partial download): nothing partial is ever returned.
 */
int dedup_source_read(dedup_source *src, const dedup_source_ref *ref, dedup_bytes *out,
                      dedup_error *err);

/* ==== Archives ============================================================ */

typedef struct {
    const char *name;    /* the member's name, "./" prefixes removed */
    const uint8_t *data; /* its whole bytes, valid during the callback; NULL if refused */
    size_t len;
    const char *problem; /* why the member is refused, or NULL */
} dedup_member;

/* Return 0 to go on, a negative dedup_status (with err set) to stop. */
typedef int (*dedup_member_fn)(void *ctx, const dedup_member *member, dedup_error *err);

/*
 * Stream the archive an identified item holds (tar, optionally compressed
 * with gzip, bzip2, xz, zstd or lz4; or zip) and call fn once per member
 * whose name is an image, in archive order.  Non-image members and folders
 * are passed over.  Members are refused (fn gets `problem`, and the rest of
 * the archive is still read) when their name is absolute or has a ".."
 * component, when they are links, when they are themselves archives
 * (nesting: only one level is read), when they are larger than
 * archive_max_member_bytes, or when their data cannot be read (a
 * compression method libarchive does not support, encryption, a bad CRC).
 *
 * Returns 0 when the whole archive was read.  Otherwise the archive itself
 * failed part way (members already handed over were complete):
 * DEDUP_EMISSING (an LFS or DVC shard not fetched), DEDUP_EDECODE (truncated
 * or corrupt), DEDUP_EUNSUPPORTED (not a tar or zip archive we can read),
 * DEDUP_ETOOBIG (more than archive_max_members entries, or more than
 * archive_max_bytes unpacked: a zip bomb), or whatever fn returned.
 */
int dedup_source_each_member(dedup_source *src, const dedup_source_ref *archive, dedup_member_fn fn,
                             void *ctx, dedup_error *err);

/* The same over an archive already in memory (`name` for messages). */
int dedup_source_each_member_in(dedup_source *src, const uint8_t *data, size_t len,
                                const char *name, dedup_member_fn fn, void *ctx, dedup_error *err);

/* ==== Git LFS pointers: a pure parser, for fuzzing ======================== */

/* Pointer files are smaller than this (the spec's limit). */
#define DEDUP_LFS_POINTER_MAX 1024

typedef struct {
    char oid[65];  /* sha256, 64 lower-case hex digits */
    uint64_t size; /* the object's size in bytes */
} dedup_lfs_pointer;

/*
 * Parse a Git LFS pointer (docs/spec.md in git-lfs): "version
 * https://git-lfs.github.com/spec/v1" first, then "key value" lines sorted
 * by key, each ending in LF: "oid sha256:<64 hex>", "size <decimal>",
 * optional "ext-N-name ..." lines.  Returns 1 when buf is a valid pointer,
 * 0 when it does not claim to be one (it does not start with "version
 * https://git-lfs.github.com/spec/" or the older hawser URL, or it is 1024
 * bytes or more: it is the file itself), and DEDUP_EDECODE (or
 * DEDUP_EUNSUPPORTED for extensions, another spec version or a hash other
 * than sha256) with the reason when it claims to be a pointer and is not a
 * valid one.
 */
int dedup_lfs_pointer_parse(dedup_lfs_pointer *out, const uint8_t *buf, size_t len,
                            dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
