/*
 * test_lfs_dvc.c - the pointer and tracking-file parsers over buffers: Git
 * LFS pointers (what is a pointer, what is a corrupt one, and that no oid
 * but 64 hex digits ever gets through), .dvc files and dvc.lock (both
 * layouts), <md5>.dir listings and the cache dir of .dvc/config.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/repo.h"
#include "dedup/source.h"
#include "testutil.h"

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            dedup_test_fail(__FILE__, __LINE__, "%s == %s ('%s' != '%s')", #a, #b,                 \
                            sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                           \
    } while (0)

#define OID "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
#define HEAD "version https://git-lfs.github.com/spec/v1\n"

static int lfs(const char *text, dedup_lfs_pointer *p, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_lfs_pointer_parse(p, (const uint8_t *)text, strlen(text), err);
}

static void expect_lfs_error(const char *text, int code, const char *want, int line)
{
    dedup_lfs_pointer p;
    dedup_error err;
    int rc = lfs(text, &p, &err);
    if (rc != code)
        dedup_test_fail(__FILE__, line, "rc %d, wanted %d (%s)", rc, code, err.msg);
    else if (strcmp(err.msg, want) != 0)
        dedup_test_fail(__FILE__, line, "error\n  got  %s\n  want %s", err.msg, want);
}

static void test_lfs_pointer(void)
{
    dedup_lfs_pointer p;
    dedup_error err;
    /* as git-lfs writes it */
    CHECK_EQ_INT(lfs(HEAD "oid sha256:" OID "\nsize 12345\n", &p, &err), 1);
    CHECK_STR(p.oid, OID);
    CHECK_EQ_INT(p.size, 12345);
    /* the pre-release URL, and keys a later spec may add */
    CHECK_EQ_INT(lfs("version https://hawser.github.com/spec/v1\noid sha256:" OID
                     "\nsize 0\nzzz-later value\n",
                     &p, &err),
                 1);
    CHECK_EQ_INT(p.size, 0);
    /* not pointers at all: the file itself */
    CHECK_EQ_INT(lfs("", &p, &err), 0);
    CHECK_EQ_INT(lfs("\xff\xd8\xff\xe0", &p, &err), 0);
    CHECK_EQ_INT(lfs("version 2.0 of my notes\n", &p, &err), 0);
    /* 1024 bytes or more is never a pointer */
    char big[1100];
    snprintf(big, sizeof(big), HEAD "oid sha256:" OID "\nsize 1\n");
    size_t n = strlen(big);
    memset(big + n, 'x', sizeof(big) - n - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_EQ_INT(lfs(big, &p, &err), 0);

    /* corrupt pointers: never a path from them */
    expect_lfs_error(HEAD "oid sha256:../../../../etc/passwd\nsize 1\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the oid is not 64 hexadecimal digits", __LINE__);
    expect_lfs_error(HEAD "oid sha256:"
                          "4D7A214614AB2935C943F9E0FF69D22EADBB8F32B1258DAAA5E2CA24D17E2393"
                          "\nsize 1\n",
                     DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the oid is not 64 lower-case hexadecimal digits",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "0\nsize 1\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the oid is not 64 hexadecimal digits", __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: no size line", __LINE__);
    expect_lfs_error(HEAD "size 1\n", DEDUP_EDECODE, "corrupt Git LFS pointer: no oid line",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\nsize 1", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the last line does not end in a line feed",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\r\nsize 1\r\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: a value holds a carriage return or NUL byte",
                     __LINE__);
    expect_lfs_error(HEAD "size 1\noid sha256:" OID "\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: keys are not in sorted order, or repeated",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\nsize 1\nsize 2\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: keys are not in sorted order, or repeated",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\nsize -1\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the size is not a number of bytes", __LINE__);
    expect_lfs_error(HEAD "oid sha256:" OID "\nsize 99999999999999999999\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: the size is not a number of bytes", __LINE__);
    expect_lfs_error(HEAD "\noid sha256:" OID "\nsize 1\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: a line is not \"key value\"", __LINE__);
    expect_lfs_error(HEAD "OID sha256:" OID "\nsize 1\n", DEDUP_EDECODE,
                     "corrupt Git LFS pointer: a key holds characters other than a-z, 0-9, '.' "
                     "and '-'",
                     __LINE__);
    /* valid but not for us */
    expect_lfs_error(HEAD "ext-0-foo sha256:" OID "\noid sha256:" OID "\nsize 1\n",
                     DEDUP_EUNSUPPORTED,
                     "Git LFS pointer uses an LFS extension (ext-0-foo): its object is not "
                     "the file's bytes",
                     __LINE__);
    expect_lfs_error(HEAD "oid sha1:0000000000000000000000000000000000000000\nsize 1\n",
                     DEDUP_EUNSUPPORTED, "Git LFS pointer with an oid that is not sha256",
                     __LINE__);
    expect_lfs_error("version https://git-lfs.github.com/spec/v2\noid sha256:" OID "\nsize 1\n",
                     DEDUP_EUNSUPPORTED,
                     "Git LFS pointer of an unknown spec version "
                     "'https://git-lfs.github.com/spec/v2'",
                     __LINE__);
}

#define MD5A "0123456789abcdef0123456789abcdef"
#define MD5B "fedcba9876543210fedcba9876543210"

static int dvc(const char *text, int is_lock, dedup_dvc_file *f, dedup_error *err)
{
    dedup_error_clear(err);
    return dedup_dvc_parse(f, text, strlen(text), is_lock, "x.dvc", err);
}

static void test_dvc_file(void)
{
    dedup_dvc_file f;
    dedup_error err;
    /* DVC 3 */
    CHECK_EQ_INT(
        dvc("outs:\n- md5: " MD5A "\n  size: 1234\n  hash: md5\n  path: cat.jpg\n", 0, &f, &err),
        0);
    CHECK_EQ_INT(f.count, 1);
    if (f.count == 1) {
        CHECK_STR(f.outs[0].path, "cat.jpg");
        CHECK_STR(f.outs[0].md5, MD5A);
        CHECK_EQ_INT(f.outs[0].is_dir, 0);
        CHECK_EQ_INT(f.outs[0].size, 1234);
        CHECK_EQ_INT(f.outs[0].line, 2);
    }
    dedup_dvc_file_free(&f);
    /* a directory (DVC 2: no hash key), an output without md5 (cache: false), deps ignored */
    CHECK_EQ_INT(dvc("deps:\n- md5: " MD5B "\n  path: in.jpg\nouts:\n- md5: " MD5A
                     ".dir\n  nfiles: 3\n  path: images\n- path: tmp.jpg\n  cache: false\n",
                     0, &f, &err),
                 0);
    CHECK_EQ_INT(f.count, 1);
    if (f.count == 1) {
        CHECK_STR(f.outs[0].path, "images");
        CHECK_EQ_INT(f.outs[0].is_dir, 1);
        CHECK_STR(f.outs[0].md5, MD5A);
    }
    dedup_dvc_file_free(&f);
    /* dvc.lock, schema 2.0 and the old layout */
    const char *lock2 = "schema: '2.0'\nstages:\n  a:\n    cmd: x\n    outs:\n    - path: p/1.jpg\n"
                        "      md5: " MD5A "\n  b:\n    cmd: y\n    outs:\n    - path: p/2.jpg\n"
                        "      md5: " MD5B "\n";
    CHECK_EQ_INT(dvc(lock2, 1, &f, &err), 0);
    CHECK_EQ_INT(f.count, 2);
    if (f.count == 2) {
        CHECK_STR(f.outs[0].path, "p/1.jpg");
        CHECK_STR(f.outs[1].md5, MD5B);
    }
    dedup_dvc_file_free(&f);
    CHECK_EQ_INT(dvc("a:\n  cmd: x\n  outs:\n  - path: q.jpg\n    md5: " MD5A "\n", 1, &f, &err),
                 0);
    CHECK_EQ_INT(f.count, 1);
    dedup_dvc_file_free(&f);
    CHECK_EQ_INT(dvc("", 0, &f, &err), 0);
    CHECK_EQ_INT(f.count, 0);
    /* errors name the file and line */
    CHECK(dvc("outs:\n- md5: nothex\n  path: x.jpg\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK_STR(err.msg,
              "x.dvc:2: md5 'nothex' is not 32 lower-case hexadecimal digits (with '.dir' for a "
              "directory)");
    CHECK(dvc("outs:\n- md5: " MD5A "/../x\n  path: x.jpg\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK(dvc("outs:\n- md5: " MD5A "\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK_STR(err.msg, "x.dvc:2: an output with an md5 needs a path");
    CHECK(dvc("outs: nope\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK_STR(err.msg, "x.dvc:1: outs must be a list");
    CHECK(dvc("outs:\n- md5: " MD5A "\n  size: -3\n  path: a.jpg\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK_STR(err.msg, "x.dvc:3: size is not a whole number of bytes");
    CHECK(dvc("- a\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK(dvc("outs: [\n", 0, &f, &err) == DEDUP_EINVAL);
    CHECK(strstr(err.msg, "not valid YAML") != NULL);
    CHECK_EQ_INT(f.count, 0);
}

static void test_dvc_dir(void)
{
    dedup_dvc_dir d;
    dedup_error err;
    const char *ok = "[{\"md5\": \"" MD5A "\", \"relpath\": \"a/b.jpg\"}, {\"relpath\": \"c.png\", "
                     "\"md5\": \"" MD5B "\", \"size\": 3, \"isexec\": false}]";
    CHECK_EQ_INT(dedup_dvc_parse_dir(&d, ok, strlen(ok), "l.dir", &err), 0);
    CHECK_EQ_INT(d.count, 2);
    if (d.count == 2) {
        CHECK_STR(d.entries[0].relpath, "a/b.jpg");
        CHECK_STR(d.entries[1].md5, MD5B);
    }
    dedup_dvc_dir_free(&d);
    CHECK_EQ_INT(dedup_dvc_parse_dir(&d, "[]", 2, "l.dir", &err), 0);
    CHECK_EQ_INT(d.count, 0);
    static const char *const bad[] = {
        "",
        "{}",
        "[1]",
        "[{\"md5\": \"" MD5A "\"}]",
        "[{\"md5\": \"zz\", \"relpath\": \"a.jpg\"}]",
        "[{\"md5\": \"" MD5A ".dir\", \"relpath\": \"a.jpg\"}]",
        "[{\"md5\": \"" MD5A "\", \"relpath\": \"a.jpg\"}",
        "[{\"md5\": \"" MD5A "\", \"relpath\": {\"x\": 1}}]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dedup_error_clear(&err);
        if (dedup_dvc_parse_dir(&d, bad[i], strlen(bad[i]), "l.dir", &err) == 0)
            dedup_test_fail(__FILE__, __LINE__, "listing accepted: %s", bad[i]);
        CHECK_EQ_INT(d.count, 0);
        CHECK(strncmp(err.msg, "l.dir: ", 7) == 0);
    }
}

static void test_dvc_config(void)
{
    char *dir = NULL;
    dedup_error err;
    const char *c1 = "[core]\n    remote = s\n['remote \"s\"']\n    url = /x\n[cache]\n    dir = "
                     "../../cache dir\n    type = symlink\n";
    CHECK_EQ_INT(dedup_dvc_config_cache_dir(&dir, c1, strlen(c1), &err), 0);
    CHECK_STR(dir, "../../cache dir");
    free(dir);
    const char *c2 = "[core]\n    dir = /not/this\n['cache']\n  dir='/quoted'\r\n";
    CHECK_EQ_INT(dedup_dvc_config_cache_dir(&dir, c2, strlen(c2), &err), 0);
    CHECK_STR(dir, "/quoted");
    free(dir);
    const char *c3 = "[core]\n    remote = s\n";
    CHECK_EQ_INT(dedup_dvc_config_cache_dir(&dir, c3, strlen(c3), &err), 0);
    CHECK(dir == NULL);
}

int main(void)
{
    test_lfs_pointer();
    test_dvc_file();
    test_dvc_dir();
    test_dvc_config();
    return dedup_test_finish("test_lfs_dvc");
}
