/*
 * repo.h - what a commit changes and which split each image belongs to,
 * read through libgit2.
 *
 * The repository is found the way git finds it (GIT_DIR, GIT_WORK_TREE,
 * GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, ... are honoured), so a hook that git
 * runs during `git commit -a` or `git commit <paths>` sees the temporary
 * index git prepared, not .git/index.
 */
#ifndef DEDUP_REPO_H
#define DEDUP_REPO_H

#include <stddef.h>

#include <git2.h>

#include "dedup/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DEDUP_SPLIT_NONE = 0, /* not in any split: ignored */
    DEDUP_SPLIT_TRAIN,
    DEDUP_SPLIT_TEST,
    DEDUP_SPLIT_VAL
} dedup_split;

/* "train", "test", "val", or "none". */
const char *dedup_split_name(dedup_split split);

/* Test and validation images are held out: they must not be near a training image. */
int dedup_split_is_held_out(dedup_split split);

/*
 * The split by path convention.  Directory components are examined from the
 * one nearest the file towards the root; the first that names a split wins.
 * A component names a split when, lower-cased, it is one of
 *   train, training                    -> train
 *   test, testing                      -> test
 *   val, valid, validation, dev        -> val
 * optionally followed by a suffix: digits ("train2017"), or "_"/"-" followed
 * by digits, "v" and digits, or "dev" ("train_v2", "test-dev", "val_2").
 * The file name itself is never examined.
 */
dedup_split dedup_split_from_path(const char *path);

/* Whether the path names an image by its extension (jpg, jpeg, jpe, jfif,
 * png, gif, webp, bmp, tif, tiff; any case).  The decoder later checks the
 * bytes: an extension only decides what we look at. */
int dedup_path_is_image(const char *path);

typedef struct dedup_repo dedup_repo;

/* Open the repository that git would use from the current directory and environment. */
int dedup_repo_open(dedup_repo **out, dedup_error *err);
void dedup_repo_free(dedup_repo *repo);

git_repository *dedup_repo_git(dedup_repo *repo);

/* git's common directory (shared by all worktrees), with a trailing slash. */
const char *dedup_repo_common_dir(dedup_repo *repo);

/*
 * Read a config value as git would: `git -c` settings (GIT_CONFIG_PARAMETERS,
 * GIT_CONFIG_COUNT) over the repository's, over global and system config.
 * If the key is not set, *out is the default.  Invalid values are
 * DEDUP_ECONFIG errors naming the key.
 */
int dedup_repo_config_int(dedup_repo *repo, const char *key, int min, int max, int def, int *out,
                          dedup_error *err);
/* Returns a malloc'd copy of the value, or NULL in *out when unset. */
int dedup_repo_config_string(dedup_repo *repo, const char *key, char **out, dedup_error *err);
int dedup_repo_config_bool(dedup_repo *repo, const char *key, int def, int *out,
                           dedup_error *err);
/* A path value with "~/" expanded as git does; NULL in *out when unset. */
int dedup_repo_config_path(dedup_repo *repo, const char *key, char **out, dedup_error *err);

/* The hooks directory git uses: core.hooksPath if set, else <common dir>/hooks. */
int dedup_repo_hooks_dir(dedup_repo *repo, char **out, dedup_error *err);

typedef struct {
    char *path;        /* repository-relative, '/'-separated, as git stores it */
    dedup_split split;
    git_oid oid;       /* the blob */
    int is_new;        /* added or changed by what is being checked */
} dedup_item;

typedef struct {
    dedup_item *items;
    size_t count;
    size_t cap;
    size_t new_count;
} dedup_item_list;

void dedup_item_list_free(dedup_item_list *list);

typedef enum {
    DEDUP_SCOPE_STAGED, /* the index against HEAD (unborn HEAD = empty tree) */
    DEDUP_SCOPE_ALL     /* every image in the index (in a bare repository: at HEAD) */
} dedup_scope;

/*
 * Collect the images in a split as the dataset will be after the commit.
 * With DEDUP_SCOPE_STAGED, if nothing staged is an image in a split,
 * *relevant is 0 and the list is left empty without reading the whole index
 * into items (the fast path for ordinary commits).
 */
int dedup_repo_collect(dedup_repo *repo, dedup_scope scope, dedup_item_list *out, int *relevant,
                       dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
