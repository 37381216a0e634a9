/*
 * test_archive.c - streaming tar and zip shards (src/source/archive.c) over
 * archives written here with libarchive, including ones no honest tool
 * writes: traversal and absolute names, links, nested archives, members
 * over the caps, too many members, truncation, and a zip member compressed
 * with a method libarchive does not know.  A member is only ever handed
 * over whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "dedup/source.h"
#include "testutil.h"

#define CAP (4 * 1024 * 1024)

typedef struct {
    char names[64][128];
    char problems[64][256];
    size_t lens[64];
    uint8_t first[64];
    int count;
} seen;

static int collect(void *ctx, const dedup_member *m, dedup_error *err)
{
    (void)err;
    seen *s = ctx;
    if (s->count == 64)
        return 0;
    snprintf(s->names[s->count], sizeof(s->names[0]), "%s", m->name);
    snprintf(s->problems[s->count], sizeof(s->problems[0]), "%s", m->problem ? m->problem : "");
    s->lens[s->count] = m->len;
    s->first[s->count] = m->data && m->len ? m->data[0] : 0;
    if (m->data)
        for (size_t i = 0; i < m->len; i++)
            if (m->data[i] != (uint8_t)(m->data[0] + i)) {
                dedup_test_fail(__FILE__, __LINE__, "member %s: wrong byte at %zu", m->name, i);
                break;
            }
    s->count++;
    return 0;
}

typedef struct {
    const char *name;
    int type; /* AE_IFREG, AE_IFLNK, AE_IFDIR, or 0 for a hard link */
    size_t len;
    uint8_t first; /* data: first, first+1, ... */
    const char *target;
} entry;

/* Write entries to a fresh buffer; format "pax" or "zip", filter NULL or "gzip"/"zstd". */
static uint8_t *write_archive(const entry *e, size_t n, const char *format, const char *filter,
                              size_t *len)
{
    uint8_t *buf = malloc(CAP);
    struct archive *a = archive_write_new();
    if (strcmp(format, "zip") == 0)
        archive_write_set_format_zip(a);
    else
        archive_write_set_format_pax_restricted(a);
    if (filter && strcmp(filter, "gzip") == 0)
        archive_write_add_filter_gzip(a);
    else if (filter && strcmp(filter, "zstd") == 0)
        archive_write_add_filter_zstd(a);
    size_t used = 0;
    CHECK(archive_write_open_memory(a, buf, CAP, &used) == ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].name);
        archive_entry_set_perm(ae, 0644);
        if (e[i].type == 0) {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_hardlink(ae, e[i].target);
            archive_entry_set_size(ae, 0);
        } else {
            archive_entry_set_filetype(ae, (unsigned)e[i].type);
            if (e[i].type == AE_IFLNK)
                archive_entry_set_symlink(ae, e[i].target);
            archive_entry_set_size(ae, e[i].type == AE_IFREG ? (la_int64_t)e[i].len : 0);
        }
        CHECK(archive_write_header(a, ae) == ARCHIVE_OK);
        if (e[i].type == AE_IFREG && e[i].len) {
            uint8_t *data = malloc(e[i].len);
            for (size_t j = 0; j < e[i].len; j++)
                data[j] = (uint8_t)(e[i].first + j);
            CHECK(archive_write_data(a, data, e[i].len) == (la_ssize_t)e[i].len);
            free(data);
        }
        archive_entry_free(ae);
    }
    CHECK(archive_write_close(a) == ARCHIVE_OK);
    archive_write_free(a);
    *len = used;
    return buf;
}

static dedup_source *source(uint64_t max_members, uint64_t max_bytes, uint64_t max_member)
{
    dedup_source_options o;
    dedup_source_options_init(&o);
    if (max_members)
        o.archive_max_members = max_members;
    if (max_bytes)
        o.archive_max_bytes = max_bytes;
    if (max_member)
        o.archive_max_member_bytes = max_member;
    dedup_source *s = NULL;
    dedup_error err;
    CHECK(dedup_source_new(&s, NULL, &o, &err) == 0);
    return s;
}

static int walk(dedup_source *s, const uint8_t *buf, size_t len, seen *out, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    dedup_error_clear(err);
    return dedup_source_each_member_in(s, buf, len, "shard", collect, out, err);
}

static int find(const seen *s, const char *name)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    dedup_test_fail(__FILE__, __LINE__, "member %s not handed over", name);
    return 0;
}

static void test_hostile_tar(void)
{
    const entry e[] = {
        {"./a.jpg", AE_IFREG, 3000, 7, NULL},
        {"notes.txt", AE_IFREG, 10, 1, NULL},
        {"dir", AE_IFDIR, 0, 0, NULL},
        {"../up.jpg", AE_IFREG, 10, 1, NULL},
        {"/abs.jpg", AE_IFREG, 10, 1, NULL},
        {"ok/..\\..\\win.jpg", AE_IFREG, 10, 1, NULL},
        {"C:x.jpg", AE_IFREG, 10, 1, NULL},
        {"l.jpg", AE_IFLNK, 0, 0, "a.jpg"},
        {"h.jpg", 0, 0, 0, "a.jpg"},
        {"inner.zip", AE_IFREG, 10, 1, NULL},
        {"big.png", AE_IFREG, 5000, 3, NULL},
        {"fifo.jpg", AE_IFIFO, 0, 0, NULL},
        {"dir/b.webp", AE_IFREG, 100, 9, NULL},
    };
    size_t len;
    uint8_t *buf = write_archive(e, sizeof(e) / sizeof(e[0]), "pax", NULL, &len);
    dedup_source *s = source(0, 0, 4096);
    seen got;
    dedup_error err;
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), 0);
    CHECK_EQ_INT(got.count, 11); /* all but notes.txt and dir */
    int i = find(&got, "a.jpg");
    CHECK_EQ_INT(got.lens[i], 3000);
    CHECK_EQ_INT(got.first[i], 7);
    CHECK(got.problems[i][0] == '\0');
    const char *traversal =
        "an absolute member name or one with a '..' component: refused (path traversal)";
    CHECK(strcmp(got.problems[find(&got, "../up.jpg")], traversal) == 0);
    CHECK(strcmp(got.problems[find(&got, "/abs.jpg")], traversal) == 0);
    CHECK(strcmp(got.problems[find(&got, "ok/..\\..\\win.jpg")], traversal) == 0);
    CHECK(strcmp(got.problems[find(&got, "C:x.jpg")], traversal) == 0);
    CHECK(strcmp(got.problems[find(&got, "l.jpg")],
                 "a link inside an archive: links are not followed") == 0);
    CHECK(strcmp(got.problems[find(&got, "h.jpg")],
                 "a link inside an archive: links are not followed") == 0);
    CHECK(strcmp(got.problems[find(&got, "inner.zip")],
                 "an archive inside an archive: only one level of archives is read") == 0);
    CHECK(strcmp(got.problems[find(&got, "big.png")],
                 "5000 bytes, larger than dedup.archiveMaxMemberBytes (4096 bytes): refused") == 0);
    CHECK(strcmp(got.problems[find(&got, "fifo.jpg")], "not a regular file: refused") == 0);
    i = find(&got, "dir/b.webp");
    CHECK_EQ_INT(got.lens[i], 100);
    CHECK(got.problems[i][0] == '\0');
    dedup_source_free(s);
    free(buf);
}

static void test_caps(void)
{
    entry e[6];
    char names[6][16];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof(names[i]), "%d.jpg", i);
        e[i] = (entry){names[i], AE_IFREG, 20000, (uint8_t)i, NULL};
    }
    size_t len;
    uint8_t *buf = write_archive(e, 6, "pax", "gzip", &len);
    seen got;
    dedup_error err;
    dedup_source *s = source(4, 0, 0);
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), DEDUP_ETOOBIG);
    CHECK_EQ_INT(got.count, 4);
    CHECK(strcmp(err.msg, "shard: more than dedup.archiveMaxMembers (4) members: refused") == 0);
    dedup_source_free(s);
    s = source(0, 50000, 0);
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), DEDUP_ETOOBIG);
    CHECK(got.count <= 2);
    CHECK(strstr(err.msg, "refused as a possible archive bomb") != NULL);
    dedup_source_free(s);
    s = source(0, 0, 0);
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), 0);
    CHECK_EQ_INT(got.count, 6);
    dedup_source_free(s);
    free(buf);
    /* zstd too */
    buf = write_archive(e, 2, "pax", "zstd", &len);
    s = source(0, 0, 0);
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), 0);
    CHECK_EQ_INT(got.count, 2);
    dedup_source_free(s);
    free(buf);
}

static void test_truncated(void)
{
    const entry e[] = {
        {"a.jpg", AE_IFREG, 3000, 1, NULL},
        {"b.jpg", AE_IFREG, 3000, 2, NULL},
    };
    for (int gz = 0; gz < 2; gz++) {
        size_t len;
        uint8_t *buf = write_archive(e, 2, "pax", gz ? "gzip" : NULL, &len);
        dedup_source *s = source(0, 0, 0);
        seen got;
        dedup_error err;
        /* cut inside b.jpg's data (tar: headers are 512 bytes, pax adds its own) */
        size_t cut = gz ? len - 40 : len - 1024 - 1500;
        int rc = walk(s, buf, cut, &got, &err);
        CHECK_EQ_INT(rc, DEDUP_EDECODE);
        CHECK(strncmp(err.msg, "shard: truncated or corrupt: ", 29) == 0);
        /* whatever was handed over was whole */
        for (int i = 0; i < got.count; i++) {
            CHECK(got.problems[i][0] == '\0');
            CHECK_EQ_INT(got.lens[i], 3000);
        }
        CHECK(got.count <= 1 || gz);
        dedup_source_free(s);
        free(buf);
    }
}

/* Method field of the first local header (offset 8) and central entry (10). */
static void set_zip_method(uint8_t *buf, size_t len, unsigned method)
{
    buf[8] = (uint8_t)method;
    buf[9] = (uint8_t)(method >> 8);
    for (size_t i = 0; i + 12 < len; i++)
        if (memcmp(buf + i, "PK\1\2", 4) == 0) {
            buf[i + 10] = (uint8_t)method;
            buf[i + 11] = (uint8_t)(method >> 8);
            break;
        }
}

static void test_zip(void)
{
    const entry e[] = {
        {"x/one.jpg", AE_IFREG, 5000, 4, NULL},
        {"x/two.gif", AE_IFREG, 700, 5, NULL},
    };
    size_t len;
    uint8_t *buf = write_archive(e, 2, "zip", NULL, &len);
    dedup_source *s = source(0, 0, 0);
    seen got;
    dedup_error err;
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), 0);
    CHECK_EQ_INT(got.count, 2);
    CHECK_EQ_INT(got.lens[find(&got, "x/one.jpg")], 5000);
    /* a compression method libarchive does not know: that member is refused, the next read */
    set_zip_method(buf, len, 97);
    CHECK_EQ_INT(walk(s, buf, len, &got, &err), 0);
    CHECK_EQ_INT(got.count, 2);
    int i = find(&got, "x/one.jpg");
    CHECK(strncmp(got.problems[i], "cannot be read: ", 16) == 0);
    i = find(&got, "x/two.gif");
    CHECK(got.problems[i][0] == '\0');
    CHECK_EQ_INT(got.lens[i], 700);
    /* not an archive at all */
    CHECK_EQ_INT(walk(s, (const uint8_t *)"hello, world", 12, &got, &err), DEDUP_EUNSUPPORTED);
    CHECK(strncmp(err.msg, "shard: not an archive git-dedup can read", 40) == 0);
    CHECK_EQ_INT(walk(s, (const uint8_t *)"", 0, &got, &err), DEDUP_EUNSUPPORTED);
    dedup_source_free(s);
    free(buf);
}

int main(void)
{
    test_hostile_tar();
    test_caps();
    test_truncated();
    test_zip();
    return dedup_test_finish("test_archive");
}
