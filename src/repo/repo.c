/*
 * repo.c - open the repository git would use, read its config, and list the
 * images in a split as the dataset will be after the commit.
 *
 * We rely on libgit2's GIT_REPOSITORY_OPEN_FROM_ENV so that GIT_DIR,
 * GIT_INDEX_FILE (set by `git commit -a` / `git commit <paths>`),
 * GIT_OBJECT_DIRECTORY and friends mean exactly what they mean to git.
 */
#include "dedup/repo.h"

#include <stdlib.h>
#include <string.h>

struct dedup_repo {
    git_repository *git;
    git_config *config; /* snapshot: one consistent view for the whole run */
    char *common_dir;
};

static int git_fail(dedup_error *err, int code, const char *what)
{
    const git_error *e = git_error_last();
    return dedup_error_set(err, code, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

int dedup_repo_open(dedup_repo **out, dedup_error *err)
{
    *out = NULL;
    dedup_repo *r = calloc(1, sizeof(*r));
    if (!r)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    if (git_repository_open_ext(&r->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
        free(r);
        return git_fail(err, DEDUP_EREPO, "not a git repository (or any parent)");
    }
    if (git_repository_config_snapshot(&r->config, r->git) < 0) {
        git_repository_free(r->git);
        free(r);
        return git_fail(err, DEDUP_EREPO, "cannot read git config");
    }
    const char *common = git_repository_commondir(r->git);
    size_t n = strlen(common);
    r->common_dir = malloc(n + 2);
    if (!r->common_dir) {
        dedup_repo_free(r);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    memcpy(r->common_dir, common, n + 1);
    if (n == 0 || common[n - 1] != '/')
        strcat(r->common_dir, "/");
    *out = r;
    return 0;
}

void dedup_repo_free(dedup_repo *repo)
{
    if (!repo)
        return;
    git_config_free(repo->config);
    git_repository_free(repo->git);
    free(repo->common_dir);
    free(repo);
}

git_repository *dedup_repo_git(dedup_repo *repo)
{
    return repo->git;
}

const char *dedup_repo_common_dir(dedup_repo *repo)
{
    return repo->common_dir;
}

int dedup_repo_config_int(dedup_repo *repo, const char *key, int min, int max, int def, int *out,
                          dedup_error *err)
{
    int32_t v;
    int rc = git_config_get_int32(&v, repo->config, key);
    if (rc == GIT_ENOTFOUND) {
        *out = def;
        return 0;
    }
    if (rc < 0)
        return git_fail(err, DEDUP_ECONFIG, key);
    if (v < min || v > max)
        return dedup_error_set(err, DEDUP_ECONFIG, "%s: %d is out of range (%d to %d)", key,
                               (int)v, min, max);
    *out = v;
    return 0;
}

int dedup_repo_config_bool(dedup_repo *repo, const char *key, int def, int *out, dedup_error *err)
{
    int v;
    int rc = git_config_get_bool(&v, repo->config, key);
    if (rc == GIT_ENOTFOUND) {
        *out = def;
        return 0;
    }
    if (rc < 0)
        return git_fail(err, DEDUP_ECONFIG, key);
    *out = v;
    return 0;
}

int dedup_repo_config_string(dedup_repo *repo, const char *key, char **out, dedup_error *err)
{
    *out = NULL;
    git_buf buf = {0};
    int rc = git_config_get_string_buf(&buf, repo->config, key);
    if (rc == GIT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return git_fail(err, DEDUP_ECONFIG, key);
    *out = strdup(buf.ptr);
    git_buf_dispose(&buf);
    return *out ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + (size_t)slash + b + 1);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    if (slash)
        p[a] = '/';
    memcpy(p + a + (size_t)slash, name, b + 1);
    return p;
}

int dedup_repo_hooks_dir(dedup_repo *repo, char **out, dedup_error *err)
{
    *out = NULL;
    git_buf buf = {0};
    int rc = git_config_get_path(&buf, repo->config, "core.hooksPath");
    if (rc == GIT_ENOTFOUND) {
        *out = join_path(repo->common_dir, "hooks");
    } else if (rc < 0) {
        return git_fail(err, DEDUP_ECONFIG, "core.hooksPath");
    } else if (buf.ptr[0] == '/') {
        *out = strdup(buf.ptr);
    } else {
        /* git runs hooks from the top of the work tree (GIT_DIR when bare),
         * so a relative core.hooksPath is relative to that. */
        const char *base = git_repository_workdir(repo->git);
        *out = join_path(base ? base : git_repository_path(repo->git), buf.ptr);
    }
    git_buf_dispose(&buf);
    return *out ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

/* --- collecting items ------------------------------------------------- */

void dedup_item_list_free(dedup_item_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].path);
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static int list_push(dedup_item_list *list, const char *path, dedup_split split,
                     const git_oid *oid, int is_new, dedup_error *err)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 256;
        dedup_item *grown = realloc(list->items, cap * sizeof(*grown));
        if (!grown)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory listing %zu images",
                                   list->count);
        list->items = grown;
        list->cap = cap;
    }
    dedup_item *it = &list->items[list->count];
    it->path = strdup(path);
    if (!it->path)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    it->split = split;
    git_oid_cpy(&it->oid, oid);
    it->is_new = is_new;
    list->count++;
    if (is_new)
        list->new_count++;
    return 0;
}

static int is_blob_mode(uint32_t mode)
{
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

static dedup_split split_of_image(const char *path)
{
    return dedup_path_is_image(path) ? dedup_split_from_path(path) : DEDUP_SPLIT_NONE;
}

typedef struct {
    char **paths;
    size_t count, cap;
} path_set;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void path_set_free(path_set *s)
{
    free(s->paths); /* the strings belong to the diff */
    memset(s, 0, sizeof(*s));
}

/* Paths of staged additions and modifications that are images in a split. */
static int staged_changes(dedup_repo *repo, git_index *index, path_set *changed,
                          git_diff **diff_out, dedup_error *err)
{
    git_object *tree_obj = NULL;
    git_tree *tree = NULL;
    int rc = git_revparse_single(&tree_obj, repo->git, "HEAD^{tree}");
    if (rc == 0) {
        tree = (git_tree *)tree_obj;
    } else if (rc != GIT_ENOTFOUND && !git_repository_head_unborn(repo->git)) {
        return git_fail(err, DEDUP_EREPO, "cannot read HEAD");
    }
    git_diff_options opts;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.flags = GIT_DIFF_IGNORE_SUBMODULES;
    rc = git_diff_tree_to_index(diff_out, repo->git, tree, index, &opts);
    git_tree_free(tree);
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, "cannot compare the index with HEAD");
    size_t n = git_diff_num_deltas(*diff_out);
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(*diff_out, i);
        if (d->status == GIT_DELTA_DELETED || !is_blob_mode(d->new_file.mode))
            continue;
        if (split_of_image(d->new_file.path) == DEDUP_SPLIT_NONE)
            continue;
        if (changed->count == changed->cap) {
            size_t cap = changed->cap ? changed->cap * 2 : 64;
            char **grown = realloc(changed->paths, cap * sizeof(*grown));
            if (!grown)
                return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
            changed->paths = grown;
            changed->cap = cap;
        }
        changed->paths[changed->count++] = (char *)d->new_file.path;
    }
    qsort(changed->paths, changed->count, sizeof(char *), cmp_str);
    return 0;
}

static int collect_index(git_index *index, const path_set *changed, int all_new,
                         dedup_item_list *out, dedup_error *err)
{
    size_t n = git_index_entrycount(index);
    for (size_t i = 0; i < n; i++) {
        const git_index_entry *e = git_index_get_byindex(index, i);
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 || !is_blob_mode(e->mode))
            continue;
        dedup_split split = split_of_image(e->path);
        if (split == DEDUP_SPLIT_NONE)
            continue;
        int is_new = all_new;
        if (!is_new && changed->count) {
            const char *key = e->path;
            is_new = bsearch(&key, changed->paths, changed->count, sizeof(char *), cmp_str) != NULL;
        }
        int rc = list_push(out, e->path, split, &e->id, is_new, err);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct {
    dedup_item_list *out;
    dedup_error *err;
    int rc;
} tree_walk_ctx;

static int tree_walk_cb(const char *root, const git_tree_entry *entry, void *payload)
{
    tree_walk_ctx *ctx = payload;
    if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB ||
        !is_blob_mode((uint32_t)git_tree_entry_filemode(entry)))
        return 0;
    const char *name = git_tree_entry_name(entry);
    size_t a = strlen(root), b = strlen(name);
    char *path = malloc(a + b + 1);
    if (!path) {
        ctx->rc = dedup_error_set(ctx->err, DEDUP_ENOMEM, "out of memory");
        return -1;
    }
    memcpy(path, root, a);
    memcpy(path + a, name, b + 1);
    dedup_split split = split_of_image(path);
    if (split != DEDUP_SPLIT_NONE)
        ctx->rc = list_push(ctx->out, path, split, git_tree_entry_id(entry), 1, ctx->err);
    free(path);
    return ctx->rc ? -1 : 0;
}

static int collect_head_tree(dedup_repo *repo, dedup_item_list *out, dedup_error *err)
{
    git_object *obj = NULL;
    int rc = git_revparse_single(&obj, repo->git, "HEAD^{tree}");
    if (rc == GIT_ENOTFOUND || (rc < 0 && git_repository_head_unborn(repo->git)))
        return 0; /* an empty repository holds no dataset yet */
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, "cannot read HEAD");
    tree_walk_ctx ctx = {out, err, 0};
    rc = git_tree_walk((git_tree *)obj, GIT_TREEWALK_PRE, tree_walk_cb, &ctx);
    git_object_free(obj);
    if (ctx.rc)
        return ctx.rc;
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, "cannot read the tree at HEAD");
    return 0;
}

int dedup_repo_collect(dedup_repo *repo, dedup_scope scope, dedup_item_list *out, int *relevant,
                       dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    *relevant = 0;
    if (scope == DEDUP_SCOPE_ALL && git_repository_is_bare(repo->git)) {
        int rc = collect_head_tree(repo, out, err);
        *relevant = out->count > 0;
        return rc;
    }
    git_index *index = NULL;
    if (git_repository_index(&index, repo->git) < 0)
        return git_fail(err, DEDUP_EREPO, "cannot read the index");
    int rc = 0;
    path_set changed = {0};
    git_diff *diff = NULL;
    if (scope == DEDUP_SCOPE_STAGED) {
        rc = staged_changes(repo, index, &changed, &diff, err);
        if (rc == 0 && changed.count > 0) {
            *relevant = 1;
            rc = collect_index(index, &changed, 0, out, err);
        }
    } else {
        rc = collect_index(index, &changed, 1, out, err);
        *relevant = out->count > 0;
    }
    path_set_free(&changed);
    git_diff_free(diff);
    git_index_free(index);
    if (rc)
        dedup_item_list_free(out);
    return rc;
}
