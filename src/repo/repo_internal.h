/*
 * repo_internal.h - the repository handle's fields, shared by the repo
 * layer's files and nobody else.
 */
#ifndef DEDUP_REPO_INTERNAL_H
#define DEDUP_REPO_INTERNAL_H

#include "dedup/repo.h"

typedef struct {
    char *key;   /* normalised: section and name lower-case, subsection as given */
    char *value; /* NULL: the key was given without "=" (boolean true) */
} config_override;

struct dedup_repo {
    git_repository *git;
    git_config *config; /* snapshot: one consistent view for the whole run */
    char *common_dir;
    /* `git -c` settings, which git hands to subcommands in the environment
     * and libgit2 1.5 does not read; the last one given for a key wins. */
    config_override *overrides;
    size_t override_count;
    /* libgit2 cannot read this index (a split index): ask git for it. */
    int index_via_git;
};

/* Parse GIT_CONFIG_COUNT/KEY_n/VALUE_n, then GIT_CONFIG_PARAMETERS, into repo->overrides. */
int dedup_repo_load_overrides(dedup_repo *repo, dedup_error *err);
void dedup_repo_free_overrides(dedup_repo *repo);

/*
 * Run `git <args>` with our environment and capture its stdout (NUL- or
 * newline-separated, as the caller asked git for).  *out is malloc'd and
 * NUL-terminated; *len excludes that terminator.
 */
int dedup_repo_run_git(const char *const *args, char **out, size_t *len, dedup_error *err);

#endif
