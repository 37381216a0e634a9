/*
 * lfs.c - Git LFS pointer files, parsed strictly per the pointer spec
 * (docs/spec.md in git-lfs): a pure function over the blob's bytes.
 *
 * What a pointer says becomes a path under lfs/objects, so the oid is
 * checked to be exactly 64 lower-case hex digits before anyone sees it:
 * nothing a committer writes can name another file.  We assume pointers as
 * git-lfs writes them ("version", then keys in sorted order, each line
 * ending in LF); a blob that claims to be a pointer but breaks the rules is
 * reported as corrupt rather than decoded as an image, so that a broken
 * pointer is never mistaken for a broken picture.
 */
#include "dedup/source.h"

#include <string.h>

static const char *const version_urls[] = {
    "https://git-lfs.github.com/spec/",
    "https://hawser.github.com/spec/", /* the pre-release name, still accepted by git-lfs */
};

static int is_key_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int bad(dedup_error *err, const char *why)
{
    return dedup_error_set(err, DEDUP_EDECODE, "corrupt Git LFS pointer: %s", why);
}

int dedup_lfs_pointer_parse(dedup_lfs_pointer *out, const uint8_t *buf, size_t len,
                            dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len >= DEDUP_LFS_POINTER_MAX || len < 8 || memcmp(buf, "version ", 8) != 0)
        return 0;
    const char *url = NULL;
    for (size_t i = 0; i < sizeof(version_urls) / sizeof(version_urls[0]); i++) {
        size_t n = strlen(version_urls[i]);
        if (len >= 8 + n && memcmp(buf + 8, version_urls[i], n) == 0)
            url = version_urls[i];
    }
    if (!url)
        return 0; /* some other file that happens to start with "version " */
    const uint8_t *p = buf, *end = buf + len;
    int have_oid = 0, have_size = 0, line_no = 0;
    const uint8_t *prev_key = NULL;
    size_t prev_len = 0;
    while (p < end) {
        const uint8_t *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return bad(err, "the last line does not end in a line feed");
        const uint8_t *sp = memchr(p, ' ', (size_t)(eol - p));
        if (!sp || sp == p)
            return bad(err, "a line is not \"key value\"");
        size_t klen = (size_t)(sp - p);
        const uint8_t *v = sp + 1;
        size_t vlen = (size_t)(eol - v);
        for (size_t i = 0; i < klen; i++)
            if (!is_key_char(p[i]))
                return bad(err, "a key holds characters other than a-z, 0-9, '.' and '-'");
        for (size_t i = 0; i < vlen; i++)
            if (v[i] == '\r' || v[i] == '\0')
                return bad(err, "a value holds a carriage return or NUL byte");
        if (line_no == 0) {
            size_t n = strlen(url);
            if (vlen != n + 2 || memcmp(v + n, "v1", 2) != 0)
                return dedup_error_set(err, DEDUP_EUNSUPPORTED,
                                       "Git LFS pointer of an unknown spec version '%.*s'",
                                       (int)(vlen > 64 ? 64 : vlen), (const char *)v);
        } else {
            /* Keys after "version" are sorted and unique. */
            if (klen == 7 && memcmp(p, "version", 7) == 0)
                return bad(err, "\"version\" is not on the first line alone");
            if (prev_key) {
                size_t m = prev_len < klen ? prev_len : klen;
                int c = memcmp(prev_key, p, m);
                if (c > 0 || (c == 0 && prev_len >= klen))
                    return bad(err, "keys are not in sorted order, or repeated");
            }
            prev_key = p;
            prev_len = klen;
            if (klen == 3 && memcmp(p, "oid", 3) == 0) {
                if (vlen < 7 || memcmp(v, "sha256:", 7) != 0)
                    return dedup_error_set(err, DEDUP_EUNSUPPORTED,
                                           "Git LFS pointer with an oid that is not sha256");
                if (vlen != 7 + 64)
                    return bad(err, "the oid is not 64 hexadecimal digits");
                for (size_t i = 7; i < vlen; i++)
                    if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
                        return bad(err, "the oid is not 64 lower-case hexadecimal digits");
                memcpy(out->oid, v + 7, 64);
                out->oid[64] = '\0';
                have_oid = 1;
            } else if (klen == 4 && memcmp(p, "size", 4) == 0) {
                if (vlen == 0 || vlen > 19)
                    return bad(err, "the size is not a number of bytes");
                uint64_t s = 0;
                for (size_t i = 0; i < vlen; i++) {
                    if (v[i] < '0' || v[i] > '9')
                        return bad(err, "the size is not a number of bytes");
                    s = s * 10 + (uint64_t)(v[i] - '0');
                }
                if (s > (uint64_t)INT64_MAX)
                    return bad(err, "the size is too large");
                out->size = s;
                have_size = 1;
            } else if (klen > 4 && memcmp(p, "ext-", 4) == 0) {
                return dedup_error_set(err, DEDUP_EUNSUPPORTED,
                                       "Git LFS pointer uses an LFS extension (%.*s): its "
                                       "object is not the file's bytes",
                                       (int)(klen > 64 ? 64 : klen), (const char *)p);
            }
            /* Other keys may be added by later versions of the spec: ignored. */
        }
        line_no++;
        p = eol + 1;
    }
    if (!have_oid)
        return bad(err, "no oid line");
    if (!have_size)
        return bad(err, "no size line");
    return 1;
}
