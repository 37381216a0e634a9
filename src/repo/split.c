/*
 * split.c - which split a path belongs to by the path convention, and which
 * paths are images or archives.  Pure string work: the rule is documented in repo.h and
 * the README and must stay identical to both.
 */
#include "dedup/repo.h"

#include <string.h>

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int equals_ci(const char *s, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s[i]) != lit[i])
            return 0;
    return 1;
}

static int all_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The suffixes real datasets put after a split name: "2017", "_v2", "-dev". */
static int suffix_ok(const char *s, size_t n)
{
    if (n == 0 || all_digits(s, n))
        return 1;
    if (s[0] != '_' && s[0] != '-')
        return 0;
    s++;
    n--;
    if (all_digits(s, n))
        return 1;
    if (n >= 2 && ascii_lower(s[0]) == 'v' && all_digits(s + 1, n - 1))
        return 1;
    return equals_ci(s, n, "dev");
}

static dedup_split split_of_component(const char *s, size_t n)
{
    static const struct {
        const char *name;
        dedup_split split;
    } names[] = {
        {"training", DEDUP_SPLIT_TRAIN}, {"train", DEDUP_SPLIT_TRAIN},
        {"testing", DEDUP_SPLIT_TEST},   {"test", DEDUP_SPLIT_TEST},
        {"validation", DEDUP_SPLIT_VAL}, {"valid", DEDUP_SPLIT_VAL},
        {"val", DEDUP_SPLIT_VAL},        {"dev", DEDUP_SPLIT_VAL},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t m = strlen(names[i].name);
        if (n >= m && equals_ci(s, m, names[i].name) && suffix_ok(s + m, n - m))
            return names[i].split;
    }
    return DEDUP_SPLIT_NONE;
}

dedup_split dedup_split_from_path(const char *path)
{
    const char *end = strrchr(path, '/');
    if (!end)
        return DEDUP_SPLIT_NONE; /* a file at the root is in no split */
    /* Walk directory components from the nearest one outwards. */
    while (end > path) {
        const char *start = end;
        while (start > path && start[-1] != '/')
            start--;
        dedup_split s = split_of_component(start, (size_t)(end - start));
        if (s != DEDUP_SPLIT_NONE)
            return s;
        if (start == path)
            break;
        end = start - 1;
    }
    return DEDUP_SPLIT_NONE;
}

dedup_split dedup_split_from_name(const char *name, size_t len)
{
    return split_of_component(name, len);
}

const char *dedup_split_name(dedup_split split)
{
    switch (split) {
    case DEDUP_SPLIT_TRAIN:
        return "train";
    case DEDUP_SPLIT_TEST:
        return "test";
    case DEDUP_SPLIT_VAL:
        return "val";
    default:
        return "none";
    }
}

int dedup_split_is_held_out(dedup_split split)
{
    return split == DEDUP_SPLIT_TEST || split == DEDUP_SPLIT_VAL;
}

int dedup_path_is_image(const char *path)
{
    static const char *const exts[] = {"jpg", "jpeg", "jpe", "jfif", "png",
                                       "gif", "webp", "bmp", "tif",  "tiff"};
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
        if (equals_ci(dot + 1, strlen(dot + 1), exts[i]))
            return 1;
    return 0;
}

/* Suffixes compared ignoring case; the longest that matches decides nothing
 * more than "is an archive": libarchive detects the format from the bytes. */
int dedup_path_is_archive(const char *path)
{
    static const char *const exts[] = {".tar",      ".tar.gz", ".tgz",     ".tar.zst",
                                       ".tar.zstd", ".tzst",   ".tar.xz",  ".txz",
                                       ".tar.bz2",  ".tbz2",   ".tar.lz4", ".zip"};
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t e = strlen(exts[i]);
        if (n > e && equals_ci(name + n - e, e, exts[i]))
            return 1;
    }
    return 0;
}
