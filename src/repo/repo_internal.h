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

/* A committed .gitdedup, parsed: the lowest layer of config. */
typedef struct {
    git_config *cfg; /* snapshot; NULL when there is no .gitdedup */
    char *origin;    /* ".gitdedup (staged)", ".gitdedup at <commit>": for messages */
} dedup_shared_config;

struct dedup_repo {
    git_repository *git;
    git_config *config; /* snapshot: one consistent view for the whole run */
    /* The .gitdedup of the side being checked, loaded by dedup_repo_collect. */
    dedup_shared_config shared;
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

/* Config lookups with an explicit .gitdedup layer (the side before a change
 * has its own); the public dedup_repo_config_* use repo->shared. */
int dedup_cfg_int(dedup_repo *repo, const dedup_shared_config *shared, const char *key, int min,
                  int max, int def, int *out, dedup_error *err);
int dedup_cfg_int64(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                    int64_t min, int64_t max, int64_t def, int64_t *out, dedup_error *err);
int dedup_cfg_bool(dedup_repo *repo, const dedup_shared_config *shared, const char *key, int def,
                   int *out, dedup_error *err);
int dedup_cfg_string(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                     char **out, dedup_error *err);
int dedup_cfg_multi(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                    char ***out, size_t *count, dedup_error *err);

/* Parse a committed .gitdedup blob; `where` names it in messages. */
int dedup_shared_config_load(dedup_repo *repo, const git_oid *blob_id, const char *where,
                             dedup_shared_config *out, dedup_error *err);
void dedup_shared_config_free(dedup_shared_config *shared);

/*
 * Run `git <args>` with our environment and capture its stdout (NUL- or
 * newline-separated, as the caller asked git for).  *out is malloc'd and
 * NUL-terminated; *len excludes that terminator.
 */
int dedup_repo_run_git(const char *const *args, char **out, size_t *len, dedup_error *err);
/* The same with one variable set in git's environment (env_name may be NULL). */
int dedup_repo_run_git_env(const char *const *args, const char *env_name, const char *env_value,
                           char **out, size_t *len, dedup_error *err);

/* One side of a change: the dataset as an index (the real one, or a
 * commit's tree loaded into memory). */
typedef struct {
    git_repository *git; /* a handle whose index is `index`: attributes are read through it */
    git_index *index;
    const dedup_shared_config *shared; /* that side's .gitdedup */
    const char *label;                 /* "the index", "HEAD", "commit 1a2b3c4": for messages */
} dedup_side;

/* Every image in a split on that side, in path order (dataset.c). */
int dedup_side_collect(dedup_repo *repo, const dedup_side *side, dedup_item_list *out,
                       dedup_error *err);

/* For the fast path: which paths are manifests (dedup.manifest and the list
 * files a YOLO data.yaml names), and whether one image path is in a split. */
typedef struct {
    char **paths; /* normalised */
    size_t count;
    void *ctx;
} dedup_side_watchlist;
int dedup_side_watch(dedup_repo *repo, const dedup_side *side, dedup_side_watchlist *out,
                     dedup_error *err);
int dedup_side_watch_image(dedup_side_watchlist *w, const char *path, int *in_split,
                           dedup_error *err);
void dedup_side_watch_free(dedup_side_watchlist *w);

/* Whether the path is a .dvc file or a dvc.lock (*is_lock), through which
 * git knows DVC-tracked data (dataset.c). */
int dedup_path_is_dvc(const char *path, int *is_lock);

/* Append a note ("%s ... %s" with a and b) to the list. */
int dedup_item_list_note(dedup_item_list *l, const char *fmt, const char *a, const char *b,
                         dedup_error *err);

#endif
