/*
 * source.c - an item's bytes from git blobs, Git LFS objects and DVC's
 * cache.  A staged blob is read from the object database, never from the
 * working-tree file, so a partially staged image is checked as it will be
 * committed; LFS and DVC objects are files outside git, mapped read-only.
 *
 * We assume LFS and DVC objects are immutable once in place (both tools
 * write them to a temporary name and rename), so a mapping cannot shrink
 * under us; their size is still checked against the pointer's or .dvc
 * file's, so that an incomplete object is reported, never hashed and cached
 * under the id of the complete one.  Blobs are sized with
 * git_odb_read_header before they are read, so an oversized blob is refused
 * without loading it and a large image is never read twice to find out
 * whether it is an LFS pointer.
 */
#include "dedup/source.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source_internal.h"

#define MIB (1024ull * 1024ull)

struct dedup_source {
    dedup_repo *repo;
    dedup_source_options opts;
    char *lfs_objects; /* <lfs storage>/objects, with no trailing slash */
};

void dedup_source_options_init(dedup_source_options *o)
{
    o->max_blob_bytes = 256 * MIB;
    o->archive_max_members = 100000;
    o->archive_max_bytes = 8192 * MIB;
    o->archive_max_member_bytes = 256 * MIB;
    o->lfs_missing_warn = 0;
    o->dvc_missing_warn = 0;
}

static int read_missing(dedup_repo *repo, const char *key, int fails, int *warn, dedup_error *err)
{
    char *mode = NULL;
    int rc = dedup_repo_config_string(repo, key, &mode, err);
    if (rc)
        return rc;
    *warn = !fails;
    if (mode && strcmp(mode, "warn") == 0)
        *warn = 1;
    else if (mode && strcmp(mode, "fail") == 0)
        *warn = 0;
    else if (mode)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: '%s' is not a valid value (use fail or warn)",
                             key, mode);
    free(mode);
    return rc;
}

int dedup_source_config(dedup_repo *repo, int missing_fails, dedup_source_options *o,
                        dedup_error *err)
{
    dedup_source_options_init(o);
    static const struct {
        const char *key;
        size_t offset;
    } caps[] = {
        {"dedup.maxBlobBytes", offsetof(dedup_source_options, max_blob_bytes)},
        {"dedup.archiveMaxMembers", offsetof(dedup_source_options, archive_max_members)},
        {"dedup.archiveMaxBytes", offsetof(dedup_source_options, archive_max_bytes)},
        {"dedup.archiveMaxMemberBytes", offsetof(dedup_source_options, archive_max_member_bytes)},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        uint64_t *field = (uint64_t *)((char *)o + caps[i].offset);
        int64_t v;
        int rc = dedup_repo_config_int64(repo, caps[i].key, 1, INT64_MAX, (int64_t)*field, &v, err);
        if (rc)
            return rc;
        *field = (uint64_t)v;
    }
    int rc = read_missing(repo, "dedup.lfsMissing", missing_fails, &o->lfs_missing_warn, err);
    if (rc == 0)
        rc = read_missing(repo, "dedup.dvcMissing", missing_fails, &o->dvc_missing_warn, err);
    return rc;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, a[0] && a[strlen(a) - 1] != '/' ? "/" : "", b);
    return p;
}

int dedup_source_new(dedup_source **out, dedup_repo *repo, const dedup_source_options *opts,
                     dedup_error *err)
{
    *out = NULL;
    dedup_source *s = calloc(1, sizeof(*s));
    if (!s)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    s->repo = repo;
    if (opts)
        s->opts = *opts;
    else
        dedup_source_options_init(&s->opts);
    int rc = 0;
    if (repo) {
        /* git-lfs: lfs.storage replaces <git dir>/lfs, relative to the git dir. */
        char *storage = NULL;
        rc = dedup_repo_config_path(repo, "lfs.storage", &storage, err);
        char *base = NULL;
        if (rc == 0)
            base = !storage            ? join(dedup_repo_common_dir(repo), "lfs")
                   : storage[0] == '/' ? strdup(storage)
                                       : join(dedup_repo_common_dir(repo), storage);
        free(storage);
        if (rc == 0 && !(base && (s->lfs_objects = join(base, "objects"))))
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        free(base);
    }
    if (rc) {
        dedup_source_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dedup_source_free(dedup_source *s)
{
    if (!s)
        return;
    free(s->lfs_objects);
    free(s);
}

const dedup_source_options *dedup_source_opts(const dedup_source *s)
{
    return &s->opts;
}

/* --- identify ---------------------------------------------------------------------- */

static int blob_error(dedup_error *err, int code, const char *what, const git_oid *id)
{
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), id);
    const git_error *e = git_error_last();
    return dedup_error_set(err, code, "cannot read %s %s: %s", what, hex,
                           e && e->message ? e->message : "object missing");
}

int dedup_source_identify(dedup_source *s, const dedup_item *item, dedup_source_ref *out,
                          dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->path = item->path;
    if (item->storage == DEDUP_STORAGE_DVC) {
        out->storage = DEDUP_STORAGE_DVC;
        out->file = item->file;
        out->size = item->size;
        snprintf(out->content_id, sizeof(out->content_id), "dvc:%s", item->object);
        return 0;
    }
    if (item->storage != DEDUP_STORAGE_BLOB || !s->repo)
        return dedup_error_set(err, DEDUP_EINVAL, "%s: not an item that can be read by itself",
                               item->path);
    out->storage = DEDUP_STORAGE_BLOB;
    git_oid_cpy(&out->blob, &item->oid);
    git_odb *odb = NULL;
    if (git_repository_odb(&odb, dedup_repo_git(s->repo)) < 0)
        return blob_error(err, DEDUP_EIO, "the object database for blob", &item->oid);
    size_t size = 0;
    git_object_t type;
    int grc = git_odb_read_header(&size, &type, odb, &item->oid);
    git_odb_free(odb);
    if (grc < 0)
        return blob_error(err, DEDUP_EIO, "blob", &item->oid);
    out->size = size;
    if ((uint64_t)size > s->opts.max_blob_bytes)
        return dedup_error_set(err, DEDUP_ETOOBIG,
                               "a plain git blob of %zu bytes, over dedup.maxBlobBytes (%llu): "
                               "git reads blobs whole into memory; store files this large with "
                               "Git LFS ('git lfs track'), or raise dedup.maxBlobBytes",
                               size, (unsigned long long)s->opts.max_blob_bytes);
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof(hex), &item->oid);
    snprintf(out->content_id, sizeof(out->content_id), "git:%s", hex);
    if (size >= DEDUP_LFS_POINTER_MAX)
        return 0;
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, dedup_repo_git(s->repo), &item->oid) < 0)
        return blob_error(err, DEDUP_EIO, "blob", &item->oid);
    dedup_lfs_pointer ptr;
    int prc = dedup_lfs_pointer_parse(&ptr, git_blob_rawcontent(blob),
                                      (size_t)git_blob_rawsize(blob), err);
    git_blob_free(blob);
    if (prc == 0)
        return 0;
    out->storage = DEDUP_STORAGE_LFS;
    if (prc < 0)
        return prc;
    memcpy(out->lfs_oid, ptr.oid, sizeof(ptr.oid));
    out->size = ptr.size;
    snprintf(out->content_id, sizeof(out->content_id), "lfs:%s", ptr.oid);
    return 0;
}

/* --- read ---------------------------------------------------------------------------- */

enum { BYTES_NONE = 0, BYTES_BLOB, BYTES_MAP };

void dedup_bytes_release(dedup_bytes *b)
{
    if (b->kind == BYTES_BLOB && b->owner)
        git_blob_free(b->owner);
    else if (b->kind == BYTES_MAP && b->len > 0)
        munmap((void *)b->data, b->len);
    memset(b, 0, sizeof(*b));
}

/* The file an LFS or DVC ref names, in out->owner (malloc'd) for messages. */
static int object_file(dedup_source *s, const dedup_source_ref *ref, char **path, dedup_error *err)
{
    *path = NULL;
    if (ref->storage == DEDUP_STORAGE_DVC) {
        *path = strdup(ref->file ? ref->file : "");
    } else {
        if (!s->lfs_objects)
            return dedup_error_set(err, DEDUP_EINVAL, "%s: no repository to find LFS objects in",
                                   ref->path);
        /* The oid was validated as 64 hex digits: it cannot leave objects/. */
        char rel[80];
        snprintf(rel, sizeof(rel), "%.2s/%.2s/%s", ref->lfs_oid, ref->lfs_oid + 2, ref->lfs_oid);
        *path = join(s->lfs_objects, rel);
    }
    return *path ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

static int missing(const dedup_source_ref *ref, const char *file, dedup_error *err)
{
    if (ref->storage == DEDUP_STORAGE_LFS)
        return dedup_error_set(err, DEDUP_EMISSING,
                               "Git LFS object %s is not here (%s): run 'git lfs fetch' (or 'git "
                               "lfs pull') to check it",
                               ref->lfs_oid, file);
    return dedup_error_set(err, DEDUP_EMISSING,
                           "DVC object %s is not in the DVC cache (%s): run 'dvc pull' (or 'dvc "
                           "fetch') to check it",
                           ref->content_id + 4, file);
}

int dedup_source_map_object(dedup_source *s, const dedup_source_ref *ref, dedup_bytes *out,
                            dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    char *file = NULL;
    int rc = object_file(s, ref, &file, err);
    if (rc)
        return rc;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR
                 ? missing(ref, file, err)
                 : dedup_error_set(err, DEDUP_EIO, "cannot open %s: %s", file, strerror(errno));
        free(file);
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = dedup_error_set(err, DEDUP_EIO, "cannot read %s: not a regular file", file);
    } else if (ref->size && (uint64_t)st.st_size != ref->size) {
        rc = dedup_error_set(err, DEDUP_EDECODE,
                             "%s %s is %lld bytes, but %s says %llu: an incomplete download? "
                             "fetch it again (%s)",
                             ref->storage == DEDUP_STORAGE_LFS ? "Git LFS object" : "DVC object",
                             ref->storage == DEDUP_STORAGE_LFS ? ref->lfs_oid : ref->content_id + 4,
                             (long long)st.st_size,
                             ref->storage == DEDUP_STORAGE_LFS ? "its pointer" : "its .dvc file",
                             (unsigned long long)ref->size,
                             ref->storage == DEDUP_STORAGE_LFS ? "git lfs fetch" : "dvc pull");
    } else if ((uint64_t)st.st_size > SIZE_MAX) {
        rc = dedup_error_set(err, DEDUP_ETOOBIG, "%s is too large to map", file);
    } else if (st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = dedup_error_set(err, DEDUP_EIO, "cannot map %s: %s", file, strerror(errno));
        } else {
            out->data = m;
            out->len = (size_t)st.st_size;
            out->kind = BYTES_MAP;
        }
    }
    close(fd);
    free(file);
    return rc;
}

int dedup_source_read(dedup_source *s, const dedup_source_ref *ref, dedup_bytes *out,
                      dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    if (ref->storage == DEDUP_STORAGE_LFS || ref->storage == DEDUP_STORAGE_DVC)
        return dedup_source_map_object(s, ref, out, err);
    if (ref->storage != DEDUP_STORAGE_BLOB || !s->repo)
        return dedup_error_set(err, DEDUP_EINVAL, "%s: nothing to read", ref->path);
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, dedup_repo_git(s->repo), &ref->blob) < 0)
        return blob_error(err, DEDUP_EIO, "blob", &ref->blob);
    out->data = git_blob_rawcontent(blob);
    out->len = (size_t)git_blob_rawsize(blob);
    out->owner = blob;
    out->kind = BYTES_BLOB;
    return 0;
}
