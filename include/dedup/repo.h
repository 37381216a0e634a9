/*
 * repo.h - what a change does to the dataset and which split each image
 * belongs to, read through libgit2.
 *
 * The repository is found the way git finds it (GIT_DIR, GIT_WORK_TREE,
 * GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES,
 * ... are honoured), so a hook that git runs during `git commit -a` or
 * `git commit <paths>` sees the temporary index git prepared, not
 * .git/index, and a pre-receive hook sees the pushed objects in git's
 * quarantine.
 *
 * A change has two sides (HEAD and the index; a merge base and a commit),
 * each read whole from git with its own .gitattributes, manifests and
 * committed .gitdedup: splits come from .gitattributes, then manifests,
 * then the path convention.  Config is `git -c` over git's config files
 * over the .gitdedup of the side being checked.  Manifest parsers are pure
 * functions over buffers (the last section) so they can be fuzzed alone.
 */
#ifndef DEDUP_REPO_H
#define DEDUP_REPO_H

#include <stddef.h>
#include <stdint.h>

#include <git2.h>

#include "dedup/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Splits have names ("train", "test", "val", or whatever a dataset's
 * .gitattributes or manifests call them) and a role.  The role comes from
 * config: dedup.trainSplits (default "train") names the training splits,
 * dedup.heldOutSplits (default "test,val") the held-out ones.  Names are
 * compared ignoring case; a name in neither list is read by the path
 * convention below ("validation", "val2017" -> val), and one that is still
 * in neither list is a configuration error.
 */
typedef enum {
    DEDUP_ROLE_NONE = 0, /* not in any split: ignored */
    DEDUP_ROLE_TRAIN,
    DEDUP_ROLE_HELD_OUT
} dedup_role;

/* The canonical splits of the path convention. */
typedef enum {
    DEDUP_SPLIT_NONE = 0, /* not in any split: ignored */
    DEDUP_SPLIT_TRAIN,
    DEDUP_SPLIT_TEST,
    DEDUP_SPLIT_VAL
} dedup_split;

/* "train", "test", "val", or "none". */
const char *dedup_split_name(dedup_split split);

/* Test and validation images are held out by default. */
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

/* The same rule applied to one name (a component, a list file's base name,
 * a token of a COCO file name): "val2017" -> DEDUP_SPLIT_VAL. */
dedup_split dedup_split_from_name(const char *name, size_t len);

/* Whether the path names an image by its extension (jpg, jpeg, jpe, jfif,
 * png, gif, webp, bmp, tif, tiff; any case).  The decoder later checks the
 * bytes: an extension only decides what we look at. */
int dedup_path_is_image(const char *path);

/* Whether the path names a tar or zip shard by its extension (.tar, .tar.gz,
 * .tgz, .tar.zst, .tar.zstd, .tzst, .tar.xz, .txz, .tar.bz2, .tbz2,
 * .tar.lz4, .zip; any case).  An archive in a split is a dataset of its own:
 * its image members are images of that split (the source layer reads them). */
int dedup_path_is_archive(const char *path);

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
/* The same for 64-bit values (byte counts), with git's k/m/g suffixes. */
int dedup_repo_config_int64(dedup_repo *repo, const char *key, int64_t min, int64_t max,
                            int64_t def, int64_t *out, dedup_error *err);
/* Returns a malloc'd copy of the value, or NULL in *out when unset. */
int dedup_repo_config_string(dedup_repo *repo, const char *key, char **out, dedup_error *err);
int dedup_repo_config_bool(dedup_repo *repo, const char *key, int def, int *out, dedup_error *err);
/* A path value with "~/" expanded as git does; NULL in *out when unset. */
int dedup_repo_config_path(dedup_repo *repo, const char *key, char **out, dedup_error *err);

/* The hooks directory git uses: core.hooksPath if set, else <common dir>/hooks. */
int dedup_repo_hooks_dir(dedup_repo *repo, char **out, dedup_error *err);

/*
 * Read every value of a multi-valued key (e.g. dedup.manifest), from the
 * lowest-priority source to the highest: the committed .gitdedup, then
 * system, global and repository config, then `git -c`.  An empty value
 * clears the values before it.  *out is a malloc'd array of malloc'd
 * strings (free each and the array); *count may be 0.
 */
int dedup_repo_config_multi(dedup_repo *repo, const char *key, char ***out, size_t *count,
                            dedup_error *err);

/* A symlink's target path cannot be resolved to an image in the tree. */
#define DEDUP_ITEM_NO_LINK ((size_t)-1)

/*
 * Where an item's bytes are kept.  The repo layer lists blobs (which the
 * source layer may find to be Git LFS pointers: that can only be known by
 * reading them) and DVC-tracked files; archive members are added by the
 * check as it streams their archive (dedup_item_list_add_member).
 */
typedef enum {
    DEDUP_STORAGE_BLOB = 0, /* a git blob, `oid` (a plain file or an LFS pointer) */
    DEDUP_STORAGE_LFS,      /* a Git LFS object (only as the source layer resolves a blob) */
    DEDUP_STORAGE_DVC,      /* a file in DVC's cache: `object` is its md5, `file` its path */
    DEDUP_STORAGE_MEMBER    /* a member of the archive item `parent`, named `member` */
} dedup_storage;

/* "blob", "lfs", "dvc", "member" (JSON). */
const char *dedup_storage_name(dedup_storage storage);

typedef struct {
    char *path;        /* repository-relative, '/'-separated, as git stores it; for an
                          archive member "<archive path>:<member name>" */
    const char *split; /* the split's name as configured (owned by the list) */
    dedup_role role;
    unsigned rank; /* 0 for training splits; 1 + position in dedup.heldOutSplits */
    git_oid oid;   /* the blob holding the image (a symlink's: its target's); zero for
                      DVC items and members */
    int is_new;    /* added or changed by what is being checked */
    char *label;   /* a manifest's label column, NULL if none */
    /* A symbolic link (never followed on disk: its target is looked up in
     * the same tree).  link is the index of the item the target resolves
     * to, DEDUP_ITEM_NO_LINK when the target is not an item of the list. */
    int is_symlink;
    size_t link;
    char *problem; /* non-NULL: the item cannot be checked, and this says why */
    /* The problem is an object that is stored elsewhere and not fetched
     * here (a DVC directory listing not in the cache): dedup.dvcMissing
     * decides whether it fails the check. */
    int missing;
    dedup_storage storage;
    int is_archive; /* a tar/zip shard (by name): its image members are the images */
    char *object;   /* DVC: the md5 (32 lower-case hex digits, validated) */
    char *file;     /* DVC: the cache file that holds (or would hold) the bytes */
    uint64_t size;  /* DVC: the size the .dvc file states, 0 when it does not */
    size_t parent;  /* member: index of its archive item */
    char *member;   /* member: its name in the archive */
} dedup_item;

typedef struct {
    dedup_item *items; /* sorted by path */
    size_t count;
    size_t cap;
    size_t new_count;
    char **splits; /* the interned split names the items point at */
    size_t split_count;
    char **notes; /* things that did not stop the check (a submodule skipped, ...) */
    size_t note_count;
} dedup_item_list;

void dedup_item_list_free(dedup_item_list *list);

/*
 * Append a member of archive item `archive` (which must not be a member
 * itself): path "<archive path>:<member>", the archive's split, role, rank,
 * label and newness.  `problem` (may be NULL) says why it cannot be
 * checked.  The list's items may move: indexes stay valid, pointers do not.
 * *index is the new item's index.
 */
int dedup_item_list_add_member(dedup_item_list *list, size_t archive, const char *member,
                               const char *problem, size_t *index, dedup_error *err);

typedef enum {
    DEDUP_SCOPE_STAGED, /* the index against HEAD (unborn HEAD = empty tree) */
    DEDUP_SCOPE_ALL,    /* every image in the index (in a bare repository: at HEAD) */
    DEDUP_SCOPE_RANGE,  /* "<base>..<head>": what head changes since the merge base */
    DEDUP_SCOPE_REV     /* every image at one commit */
} dedup_scope;

/*
 * Collect the images in a split as the dataset will be after the change,
 * each marked new when its (path, blob, split) is not in the dataset before
 * it.  "Before" is HEAD for a staged check, the merge base for a range,
 * nothing for ALL and REV.  Each side is read whole from git: its own
 * .gitattributes (through libgit2), manifests (dedup.manifest) and
 * .gitdedup, never from the working tree.  `arg` is the range
 * ("A..B" or "A...B", both meaning: since the merge base of A and B) or the
 * commit; NULL otherwise.
 *
 * Before collecting, the .gitdedup of the checked side is loaded, so that
 * dedup_repo_config_* calls made afterwards see it.
 *
 * *relevant is 0 when nothing to check changed: then the list is empty.  A
 * staged check whose diff touches no image in a split, .gitattributes,
 * manifest or .gitdedup decides that without reading the dataset.
 */
int dedup_repo_collect(dedup_repo *repo, dedup_scope scope, const char *arg, dedup_item_list *out,
                       int *relevant, dedup_error *err);

/* ==== Manifests: pure parsers over a buffer =============================
 *
 * Each takes the whole file's bytes (not NUL-terminated), and `name` for
 * error messages, which read "<name>:<line>: <reason>".  Rows keep paths as
 * written; resolving them against the tree is the caller's job.  A failed
 * parse leaves *out empty.
 */

typedef enum {
    DEDUP_MANIFEST_CSV,
    DEDUP_MANIFEST_TSV,
    DEDUP_MANIFEST_JSONL,
    DEDUP_MANIFEST_LIST,
    DEDUP_MANIFEST_COCO,
    DEDUP_MANIFEST_YOLO
} dedup_manifest_kind;

/* The kind by file name: .csv, .tsv, .jsonl/.ndjson, .json (COCO),
 * .yaml/.yml (YOLO data.yaml), anything else a list file. */
dedup_manifest_kind dedup_manifest_kind_of(const char *path);

typedef struct {
    char *path;  /* as written in the manifest */
    char *split; /* NULL: the manifest's own split (list and COCO files) */
    char *label; /* NULL: no label */
    size_t line; /* 1-based line of the record; for COCO the position in images[] */
} dedup_manifest_row;

typedef struct {
    dedup_manifest_kind kind;
    dedup_manifest_row *rows;
    size_t count, cap;
    char *root; /* YOLO: the "path:" key, NULL when absent */
} dedup_manifest;

void dedup_manifest_free(dedup_manifest *m);

typedef struct {
    const char *path_column;  /* default "path" */
    const char *split_column; /* default "split" */
    const char *label_column; /* default "label"; NULL: none */
    int label_required;       /* configured: a CSV/TSV header without it is an error
                                 (a JSON line may always leave the label out) */
} dedup_manifest_columns;

/*
 * CSV (delimiter ',') or TSV ('\t'): a header line naming the columns, then
 * one record per line; quoting per RFC 4180 ("a ""b""", quoted delimiters
 * and line breaks).  CRLF or LF line ends, a UTF-8 byte order mark, and
 * empty lines are accepted.
 */
int dedup_manifest_parse_csv(dedup_manifest *out, const char *buf, size_t len, char delimiter,
                             const dedup_manifest_columns *cols, const char *name,
                             dedup_error *err);
/* JSON lines: one object per non-empty line, with string path and split
 * members (the label may be a string or a number). */
int dedup_manifest_parse_jsonl(dedup_manifest *out, const char *buf, size_t len,
                               const dedup_manifest_columns *cols, const char *name,
                               dedup_error *err);
/* One path per line; blank lines and lines starting with '#' are skipped. */
int dedup_manifest_parse_list(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err);
/* COCO annotation JSON: images[].file_name, streamed (annotation files of
 * large datasets are hundreds of megabytes). */
int dedup_manifest_parse_coco(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err);
/* YOLO data.yaml: train/val/test (a string or a list of strings, each a
 * folder or a list file) relative to path:.  Rows carry the split key. */
int dedup_manifest_parse_yolo(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err);

/*
 * Normalise a manifest path: join it to `base` (a directory, "" for the
 * root), drop "." components and empty ones, resolve "..".  Fails (returns
 * NULL) for an absolute path or one that leaves the repository.
 */
char *dedup_manifest_normalise(const char *base, const char *path);

/* ==== DVC: pure parsers over a buffer ===================================
 *
 * Images tracked by DVC are not in git at all: git holds a .dvc file or a
 * dvc.lock that names each output by path and md5, and the bytes are in
 * DVC's cache.  These parsers read those files (YAML, with libyaml) and a
 * tracked directory's listing (<md5>.dir, JSON, with yajl).  Like the
 * manifest parsers they take the whole file (not NUL-terminated) and `name`
 * for messages "<name>:<line>: <reason>"; a failed parse leaves *out empty.
 * md5 values are validated (32 lower-case hex digits) before anyone can
 * make a path of them.
 */

typedef struct {
    char *path;    /* as written: relative to the .dvc or dvc.lock file's folder */
    char md5[33];  /* 32 lower-case hex digits, NUL-terminated */
    int is_dir;    /* the md5 was "<md5>.dir": a tracked directory */
    uint64_t size; /* as stated ("size:"), 0 when absent */
    size_t line;
} dedup_dvc_out;

typedef struct {
    dedup_dvc_out *outs;
    size_t count, cap;
} dedup_dvc_file;

/*
 * A .dvc file (is_lock 0: a mapping with "outs:") or a dvc.lock (is_lock 1:
 * "stages:" <name>: {"outs": [...]}, or the old layout with the stages at
 * the top).  Outputs without an md5 (cache: false) are not kept; deps are
 * inputs, tracked by whoever made them, and are not read.
 */
int dedup_dvc_parse(dedup_dvc_file *out, const char *buf, size_t len, int is_lock, const char *name,
                    dedup_error *err);
void dedup_dvc_file_free(dedup_dvc_file *f);

typedef struct {
    char *relpath; /* as written, relative to the tracked directory */
    char md5[33];
} dedup_dvc_entry;

typedef struct {
    dedup_dvc_entry *entries;
    size_t count, cap;
} dedup_dvc_dir;

/* A directory listing: a JSON array of {"md5": "...", "relpath": "..."}
 * (other members are ignored). */
int dedup_dvc_parse_dir(dedup_dvc_dir *out, const char *buf, size_t len, const char *name,
                        dedup_error *err);
void dedup_dvc_dir_free(dedup_dvc_dir *d);

/* cache.dir from a DVC config file (INI: "[cache]" then "dir = <path>");
 * *out is malloc'd, NULL when the file does not set it. */
int dedup_dvc_config_cache_dir(char **out, const char *buf, size_t len, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
