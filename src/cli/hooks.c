/*
 * hooks.c - `git dedup install` / `uninstall`.
 *
 * We own a hook file only when it carries our marker.  Someone else's hook is
 * never overwritten: it is renamed to <name>.before-git-dedup and our hook
 * runs it first (".legacy" is the pre-commit framework's name, so we avoid
 * it).  Files are written to a temporary name and renamed into place, so a
 * crash never leaves half a hook.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook_script.h"

static const char *const hook_names[] = {"pre-commit", "pre-merge-commit"};
static const char marker[] = "(managed by git-dedup";
static const char chain_suffix[] = ".before-git-dedup";

static char *path_join(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

/* 1: ours, 0: someone else's, -1: absent. */
static int hook_owner(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, marker) != NULL;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    return (mkdir(path, 0777) == 0 || errno == EEXIST) ? 0 : -1;
}

static int write_hook(const char *path, dedup_error *err)
{
    size_t tmp_len = strlen(path) + sizeof(".tmp-git-dedup");
    char *tmp = malloc(tmp_len);
    if (!tmp)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    snprintf(tmp, tmp_len, "%s.tmp-git-dedup", path);
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!f) {
        rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot write: %s", tmp, strerror(errno));
    } else {
        size_t len = strlen(dedup_hook_script);
        int bad = fwrite(dedup_hook_script, 1, len, f) != len;
        bad |= fclose(f) != 0;
        if (bad || chmod(tmp, 0755) != 0 || rename(tmp, path) != 0) {
            rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot install hook: %s", path,
                                 strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    return rc;
}

int dedup_cli_install(dedup_repo *repo, int uninstall, dedup_error *err)
{
    char *dir = NULL;
    int rc = dedup_repo_hooks_dir(repo, &dir, err);
    if (rc)
        return rc;
    if (!uninstall && mkdir_p(dir) != 0) {
        rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot create hooks directory: %s", dir,
                             strerror(errno));
        free(dir);
        return rc;
    }
    for (size_t i = 0; i < sizeof(hook_names) / sizeof(hook_names[0]) && rc == 0; i++) {
        char *hook = path_join(dir, hook_names[i], "");
        char *chained = path_join(dir, hook_names[i], chain_suffix);
        if (!hook || !chained) {
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        } else if (!uninstall) {
            int owner = hook_owner(hook);
            if (owner == 0 || (owner == -1 && exists(hook))) {
                if (exists(chained)) {
                    rc = dedup_error_set(err, DEDUP_EIO,
                                         "%s exists and is not git-dedup's, and %s is taken: "
                                         "merge or remove one of them, then install again",
                                         hook, chained);
                } else if (rename(hook, chained) != 0) {
                    rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot keep existing hook: %s", hook,
                                         strerror(errno));
                } else {
                    printf("git-dedup: kept your existing %s hook as %s; it runs first\n",
                           hook_names[i], chained);
                }
            }
            if (rc == 0)
                rc = write_hook(hook, err);
            if (rc == 0)
                printf("git-dedup: %s hook installed at %s\n", hook_names[i], hook);
        } else {
            int owner = hook_owner(hook);
            if (owner == 1) {
                if (unlink(hook) != 0) {
                    rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot remove: %s", hook,
                                         strerror(errno));
                } else if (exists(chained)) {
                    if (rename(chained, hook) != 0)
                        rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot restore: %s", chained,
                                             strerror(errno));
                    else
                        printf("git-dedup: removed the %s hook and restored the one it "
                               "chained\n",
                               hook_names[i]);
                } else {
                    printf("git-dedup: removed the %s hook\n", hook_names[i]);
                }
            } else if (owner == 0) {
                printf("git-dedup: %s is not git-dedup's hook; left it alone\n", hook);
            }
        }
        free(hook);
        free(chained);
    }
    free(dir);
    return rc;
}
