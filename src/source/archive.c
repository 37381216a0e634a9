/*
 * archive.c - tar and zip shards (WebDataset style) read as a stream with
 * libarchive: each image member's bytes are handed to a callback, and
 * nothing is ever extracted to disk.
 *
 * Shards come from whoever commits them, so we assume they may be hostile:
 *  - member names are never used as paths, but an absolute name or one with
 *    a ".." component is refused anyway: it only appears in a crafted file;
 *  - links are refused (a link's "bytes" would be another member's or a
 *    file outside), and so are archives inside archives (one level is read:
 *    a nested archive would multiply every cap below);
 *  - caps bound the work: entries per archive, bytes per member (checked
 *    against the declared size before reading, and again while reading,
 *    since a header can lie) and bytes unpacked per archive (the
 *    decompressed stream, so a zip or gzip bomb stops at the cap).
 * Only in-process decompressors are enabled (gzip, bzip2, xz, zstd, lz4):
 * libarchive would otherwise run external programs for some formats.
 *
 * A member is handed over only when all of its bytes were read without an
 * error; a truncated or corrupt one is never passed on, so no features of a
 * partial read can reach the cache.
 */
#include "dedup/source.h"

#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "source_internal.h"

typedef int (*support_fn)(struct archive *);

static const struct {
    support_fn fn;
} filters[] = {
    {archive_read_support_filter_gzip}, {archive_read_support_filter_bzip2},
    {archive_read_support_filter_xz},   {archive_read_support_filter_zstd},
    {archive_read_support_filter_lz4},
};

/* A reader for tar and zip with in-process filters only.  A filter that
 * libarchive could only provide through an external program (it says so
 * with ARCHIVE_WARN) is left out: we build the reader again without it. */
static struct archive *new_reader(void)
{
    unsigned skip = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct archive *a = archive_read_new();
        if (!a)
            return NULL;
        int warned = 0;
        archive_read_support_format_tar(a);
        archive_read_support_format_zip(a);
        for (unsigned i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
            if (skip & (1u << i))
                continue;
            if (filters[i].fn(a) != ARCHIVE_OK) {
                skip |= 1u << i;
                warned = 1;
            }
        }
        if (!warned)
            return a;
        archive_read_free(a);
    }
    return NULL;
}

/* Name checks.  Backslashes count as separators too: zip files made on
 * Windows use them, and an extractor there would honour them. */
static int is_sep(char c)
{
    return c == '/' || c == '\\';
}

static int hostile_name(const char *name)
{
    if (is_sep(name[0]) || (name[0] && name[1] == ':'))
        return 1;
    for (const char *p = name; *p;) {
        const char *q = p;
        while (*q && !is_sep(*q))
            q++;
        if (q - p == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p = *q ? q + 1 : q;
    }
    return 0;
}

typedef struct {
    dedup_source *src;
    const char *name; /* the archive, for messages */
    dedup_member_fn fn;
    void *ctx;
    uint8_t *buf;
    size_t cap;
    uint64_t unpacked; /* member bytes read so far */
} walk;

static int refuse(walk *w, const char *member, const char *why, dedup_error *err)
{
    dedup_member m = {member, NULL, 0, why};
    return w->fn(w->ctx, &m, err);
}

static uint64_t unpacked_total(struct archive *a, const walk *w)
{
    /* Filter 0 is the decompressed stream (for tar); zip members are
     * decompressed one by one and counted by us. */
    la_int64_t stream = archive_filter_bytes(a, 0);
    uint64_t s = stream > 0 ? (uint64_t)stream : 0;
    return s > w->unpacked ? s : w->unpacked;
}

static int too_many_bytes(const walk *w, dedup_error *err)
{
    return dedup_error_set(err, DEDUP_ETOOBIG,
                           "%s: unpacks to more than dedup.archiveMaxBytes (%llu bytes): "
                           "refused as a possible archive bomb",
                           w->name,
                           (unsigned long long)dedup_source_opts(w->src)->archive_max_bytes);
}

/*
 * Read one member's data whole.  Returns 0 with *ok set when all bytes were
 * read, 0 with *ok clear and `why` filled when the member alone is bad, or
 * an archive-level error.
 */
static int read_member(walk *w, struct archive *a, struct archive_entry *e, size_t *len, int *ok,
                       char *why, size_t why_cap, dedup_error *err)
{
    const dedup_source_options *o = dedup_source_opts(w->src);
    *ok = 0;
    *len = 0;
    size_t want = 64 * 1024;
    if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
        (uint64_t)archive_entry_size(e) < o->archive_max_member_bytes)
        want = (size_t)archive_entry_size(e) + 1;
    for (;;) {
        if (*len == w->cap || w->cap < want) {
            size_t cap = w->cap ? w->cap : 64 * 1024;
            while (cap < want || cap <= *len)
                cap *= 2;
            uint8_t *grown = realloc(w->buf, cap);
            if (!grown)
                return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", w->name);
            w->buf = grown;
            w->cap = cap;
        }
        la_ssize_t got = archive_read_data(a, w->buf + *len, w->cap - *len);
        if (got == 0)
            break;
        if (got == ARCHIVE_RETRY)
            continue;
        if (got < 0) {
            const char *msg = archive_error_string(a);
            if (got == ARCHIVE_FATAL)
                return dedup_error_set(err, DEDUP_EDECODE, "%s: truncated or corrupt: %s", w->name,
                                       msg ? msg : "read error");
            /* ARCHIVE_FAILED / ARCHIVE_WARN: this member's data is bad (an
             * unsupported compression method, encryption, a bad CRC). */
            snprintf(why, why_cap, "cannot be read: %s", msg ? msg : "read error");
            return 0;
        }
        *len += (size_t)got;
        w->unpacked += (uint64_t)got;
        if ((uint64_t)*len > o->archive_max_member_bytes) {
            snprintf(why, why_cap, "larger than dedup.archiveMaxMemberBytes (%llu bytes): refused",
                     (unsigned long long)o->archive_max_member_bytes);
            return 0;
        }
        if (unpacked_total(a, w) > o->archive_max_bytes)
            return too_many_bytes(w, err);
    }
    if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) != (uint64_t)*len) {
        snprintf(why, why_cap, "holds %zu bytes, but its header says %lld: corrupt", *len,
                 (long long)archive_entry_size(e));
        return 0;
    }
    *ok = 1;
    return 0;
}

static int walk_entries(walk *w, struct archive *a, dedup_error *err)
{
    const dedup_source_options *o = dedup_source_opts(w->src);
    uint64_t entries = 0;
    char why[512];
    for (;;) {
        struct archive_entry *e = NULL;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r == ARCHIVE_RETRY)
            continue;
        if (r < ARCHIVE_WARN) {
            const char *msg = archive_error_string(a);
            return dedup_error_set(err, DEDUP_EDECODE, "%s: truncated or corrupt: %s", w->name,
                                   msg ? msg : "cannot read the next member");
        }
        if (++entries > o->archive_max_members)
            return dedup_error_set(err, DEDUP_ETOOBIG,
                                   "%s: more than dedup.archiveMaxMembers (%llu) members: refused",
                                   w->name, (unsigned long long)o->archive_max_members);
        if (unpacked_total(a, w) > o->archive_max_bytes)
            return too_many_bytes(w, err);
        const char *raw = archive_entry_pathname(e);
        if (!raw)
            raw = archive_entry_pathname_utf8(e);
        if (!raw || !raw[0]) {
            int rc = refuse(w, "?", "a member whose name cannot be read: refused", err);
            if (rc)
                return rc;
            continue;
        }
        const char *name = raw;
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        mode_t type = archive_entry_filetype(e);
        int rc = 0;
        if (type == AE_IFDIR)
            continue;
        if (hostile_name(name)) {
            rc = refuse(w, name,
                        "an absolute member name or one with a '..' component: refused (path "
                        "traversal)",
                        err);
        } else if (archive_entry_hardlink(e) || type == AE_IFLNK) {
            rc = refuse(w, name, "a link inside an archive: links are not followed", err);
        } else if (dedup_path_is_archive(name)) {
            rc = refuse(w, name, "an archive inside an archive: only one level of archives is read",
                        err);
        } else if (!dedup_path_is_image(name)) {
            continue;
        } else if (type != AE_IFREG) {
            rc = refuse(w, name, "not a regular file: refused", err);
        } else if (archive_entry_is_encrypted(e)) {
            rc = refuse(w, name, "encrypted: cannot be read", err);
        } else if (archive_entry_size_is_set(e) &&
                   (uint64_t)archive_entry_size(e) > o->archive_max_member_bytes) {
            snprintf(why, sizeof(why),
                     "%lld bytes, larger than dedup.archiveMaxMemberBytes (%llu bytes): refused",
                     (long long)archive_entry_size(e),
                     (unsigned long long)o->archive_max_member_bytes);
            rc = refuse(w, name, why, err);
        } else {
            size_t len;
            int ok;
            why[0] = '\0';
            if ((rc = read_member(w, a, e, &len, &ok, why, sizeof(why), err)))
                return rc;
            if (ok) {
                dedup_member m = {name, w->buf, len, NULL};
                rc = w->fn(w->ctx, &m, err);
            } else {
                rc = refuse(w, name, why, err);
            }
        }
        if (rc)
            return rc;
    }
}

/* Whether the bytes start like something we read (gzip, bzip2, xz, zstd,
 * lz4, zip, tar), so that a failure to open them means damage, not an
 * unsupported kind. */
static int known_magic(const uint8_t *d, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
    } kinds[] = {{"\x1f\x8b", 2},
                 {"BZh", 3},
                 {"\xfd\x37\x7a\x58\x5a\x00", 6},
                 {"\x28\xb5\x2f\xfd", 4},
                 {"\x04\x22\x4d\x18", 4},
                 {"PK\3\4", 4}};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (n >= kinds[i].len && memcmp(d, kinds[i].magic, kinds[i].len) == 0)
            return 1;
    return n >= 262 && memcmp(d + 257, "ustar", 5) == 0;
}

int dedup_source_each_member_in(dedup_source *src, const uint8_t *data, size_t len,
                                const char *name, dedup_member_fn fn, void *ctx, dedup_error *err)
{
    struct archive *a = new_reader();
    if (!a)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    walk w = {src, name, fn, ctx, NULL, 0, 0};
    int rc;
    /* libarchive reads from the buffer and can seek in it, so zip files are
     * read through their central directory. */
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        const char *msg = archive_error_string(a);
        /* A kind we read, whose first member cannot be: truncated. */
        if (known_magic(data, len))
            rc = dedup_error_set(err, DEDUP_EDECODE, "%s: truncated or corrupt: %s", name,
                                 msg ? msg : "cannot read the first member");
        else
            rc = dedup_error_set(err, DEDUP_EUNSUPPORTED,
                                 "%s: not an archive git-dedup can read (tar, optionally gzip, "
                                 "bzip2, xz, zstd or lz4 compressed, or zip): %s",
                                 name, msg ? msg : "unrecognised format");
    } else {
        rc = walk_entries(&w, a, err);
    }
    archive_read_free(a);
    free(w.buf);
    return rc;
}

int dedup_source_each_member(dedup_source *src, const dedup_source_ref *ref, dedup_member_fn fn,
                             void *ctx, dedup_error *err)
{
    dedup_bytes bytes;
    int rc = dedup_source_read(src, ref, &bytes, err);
    if (rc)
        return rc;
    rc = dedup_source_each_member_in(src, bytes.data, bytes.len, ref->path, fn, ctx, err);
    dedup_bytes_release(&bytes);
    return rc;
}
