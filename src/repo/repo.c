/*
 * repo.c - open the repository git would use, read its config, and list the
 * images in a split as the dataset will be after the commit.
 *
 * We rely on libgit2's GIT_REPOSITORY_OPEN_FROM_ENV so that GIT_DIR,
 * GIT_INDEX_FILE (set by `git commit -a` / `git commit <paths>`),
 * GIT_OBJECT_DIRECTORY and friends mean exactly what they mean to git.
 */
#include "repo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

static int git_fail(dedup_error *err, int code, const char *what)
{
    const git_error *e = git_error_last();
    return dedup_error_set(err, code, "%s: %s", what, e && e->message ? e->message : "unknown error");
}

/* libgit2 1.5 refuses indexes with extensions it does not know ("link" for a
 * split index, "sdir" for a sparse index). */
static int index_extension_error(char *name, size_t cap)
{
    const git_error *e = git_error_last();
    const char *m = e && e->message ? strstr(e->message, "unsupported mandatory extension") : NULL;
    if (!m)
        return 0;
    const char *q = strchr(m, '\'');
    snprintf(name, cap, "%.4s", q ? q + 1 : "?");
    return 1;
}

static int open_git(dedup_repo *r, dedup_error *err)
{
    int rc = git_repository_open_ext(&r->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
    char ext[8];
    const char *index_file = getenv("GIT_INDEX_FILE");
    if (rc < 0 && index_file && index_extension_error(ext, sizeof(ext)) &&
        strcmp(ext, "link") == 0) {
        /* libgit2 reads GIT_INDEX_FILE eagerly and fails on a split index.
         * Open without it (the process is single-threaded here, and the
         * variable is restored at once); the entries then come from git. */
        char *saved = strdup(index_file);
        if (!saved)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        unsetenv("GIT_INDEX_FILE");
        rc = git_repository_open_ext(&r->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
        setenv("GIT_INDEX_FILE", saved, 1);
        free(saved);
        r->index_via_git = 1;
    }
    if (rc == GIT_ENOTFOUND)
        return git_fail(err, DEDUP_EREPO, "not a git repository (or any parent)");
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, "cannot open the repository");
    return 0;
}

int dedup_repo_open(dedup_repo **out, dedup_error *err)
{
    *out = NULL;
    dedup_repo *r = calloc(1, sizeof(*r));
    if (!r)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    int rc = open_git(r, err);
    if (rc == 0 && git_repository_config_snapshot(&r->config, r->git) < 0)
        rc = git_fail(err, DEDUP_EREPO, "cannot read git config");
    if (rc == 0)
        rc = dedup_repo_load_overrides(r, err);
    if (rc == 0) {
        const char *common = git_repository_commondir(r->git);
        size_t n = strlen(common);
        r->common_dir = malloc(n + 2);
        if (!r->common_dir) {
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        } else {
            memcpy(r->common_dir, common, n + 1);
            if (n == 0 || common[n - 1] != '/')
                strcat(r->common_dir, "/");
        }
    }
    if (rc) {
        dedup_repo_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int dedup_repo_run_git(const char *const *args, char **out, size_t *len, dedup_error *err)
{
    *out = NULL;
    *len = 0;
    int fds[2];
    if (pipe(fds) != 0)
        return dedup_error_set(err, DEDUP_EIO, "cannot run git %s: %s", args[0], strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return dedup_error_set(err, DEDUP_EIO, "cannot run git %s: %s", args[0], strerror(errno));
    }
    if (pid == 0) {
        const char *argv[16];
        size_t n = 0;
        argv[n++] = "git";
        for (size_t i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("git", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (;;) {
        if (rc == 0 && n + 1 >= cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory reading git's output");
            else
                buf = grown, cap *= 2;
        }
        char sink[4096];
        ssize_t got = rc == 0 ? read(fds[0], buf + n, cap - n - 1) : read(fds[0], sink, 4096);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (rc == 0)
            n += (size_t)got;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = dedup_error_set(err, DEDUP_EREPO, "'git %s' failed (exit status %d)", args[0],
                             WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

void dedup_repo_free(dedup_repo *repo)
{
    if (!repo)
        return;
    git_config_free(repo->config);
    git_repository_free(repo->git);
    dedup_repo_free_overrides(repo);
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
    char *configured = NULL;
    int rc = dedup_repo_config_path(repo, "core.hooksPath", &configured, err);
    if (rc)
        return rc;
    if (!configured) {
        *out = join_path(repo->common_dir, "hooks");
    } else if (configured[0] == '/') {
        *out = configured;
        configured = NULL;
    } else {
        /* git runs hooks from the top of the work tree (GIT_DIR when bare),
         * so a relative core.hooksPath is relative to that. */
        const char *base = git_repository_workdir(repo->git);
        *out = join_path(base ? base : git_repository_path(repo->git), configured);
    }
    free(configured);
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

static int path_set_add(path_set *s, char *path, dedup_error *err)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **grown = realloc(s->paths, cap * sizeof(*grown));
        if (!grown)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        s->paths = grown;
        s->cap = cap;
    }
    s->paths[s->count++] = path;
    return 0;
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
        int rc = path_set_add(changed, (char *)d->new_file.path, err);
        if (rc)
            return rc;
    }
    qsort(changed->paths, changed->count, sizeof(char *), cmp_str);
    return 0;
}

/* One index entry: kept when it is a committed file that is an image in a split. */
static int consider_entry(const char *path, uint32_t mode, const git_oid *id,
                          const path_set *changed, int all_new, dedup_item_list *out,
                          dedup_error *err)
{
    if (!is_blob_mode(mode))
        return 0;
    dedup_split split = split_of_image(path);
    if (split == DEDUP_SPLIT_NONE)
        return 0;
    int is_new = all_new;
    if (!is_new && changed->count)
        is_new = bsearch(&path, changed->paths, changed->count, sizeof(char *), cmp_str) != NULL;
    return list_push(out, path, split, id, is_new, err);
}

static int collect_index(git_index *index, const path_set *changed, int all_new,
                         dedup_item_list *out, dedup_error *err)
{
    size_t n = git_index_entrycount(index);
    for (size_t i = 0; i < n; i++) {
        const git_index_entry *e = git_index_get_byindex(index, i);
        /* Conflict stages and intent-to-add entries are never committed. */
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 ||
            (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD))
            continue;
        int rc = consider_entry(e->path, e->mode, &e->id, changed, all_new, out, err);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * The same as staged_changes + collect_index, with git reading an index
 * libgit2 cannot (a split index).  git diff --cached leaves out
 * intent-to-add entries, as a commit does.
 */
static int collect_via_git(dedup_scope scope, dedup_item_list *out, int *relevant,
                           dedup_error *err)
{
    static const char *const diff_args[] = {"diff",       "--cached", "--name-only",
                                            "--no-renames", "--diff-filter=d",
                                            "--ignore-submodules", "-z", NULL};
    static const char *const ls_args[] = {"ls-files", "--stage", "-z", NULL};
    char *diff_out = NULL, *ls_out = NULL;
    size_t diff_len = 0, ls_len = 0;
    path_set changed = {0};
    int rc = 0;
    if (scope == DEDUP_SCOPE_STAGED) {
        rc = dedup_repo_run_git(diff_args, &diff_out, &diff_len, err);
        for (size_t i = 0; rc == 0 && i < diff_len; i += strlen(diff_out + i) + 1)
            if (split_of_image(diff_out + i) != DEDUP_SPLIT_NONE)
                rc = path_set_add(&changed, diff_out + i, err);
        qsort(changed.paths, changed.count, sizeof(char *), cmp_str);
        if (rc || changed.count == 0)
            goto done;
    }
    *relevant = 1;
    if ((rc = dedup_repo_run_git(ls_args, &ls_out, &ls_len, err)))
        goto done;
    /* Records are "<mode> <object id> <stage>\t<path>\0". */
    for (size_t i = 0; rc == 0 && i < ls_len; i += strlen(ls_out + i) + 1) {
        char *rec = ls_out + i, *tab = strchr(rec, '\t'), *end;
        unsigned long mode = strtoul(rec, &end, 8);
        git_oid id;
        if (!tab || *end != ' ' || tab - end < GIT_OID_HEXSZ + 3 ||
            git_oid_fromstrn(&id, end + 1, GIT_OID_HEXSZ) < 0) {
            rc = dedup_error_set(err, DEDUP_EREPO, "cannot parse 'git ls-files --stage': %.80s",
                                 rec);
            break;
        }
        if (tab[-1] != '0')
            continue; /* a conflict stage */
        rc = consider_entry(tab + 1, (uint32_t)mode, &id, &changed, scope == DEDUP_SCOPE_ALL,
                            out, err);
    }
    if (scope == DEDUP_SCOPE_ALL)
        *relevant = out->count > 0;
done:
    path_set_free(&changed);
    free(diff_out);
    free(ls_out);
    return rc;
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
    char ext[8];
    if (!repo->index_via_git && git_repository_index(&index, repo->git) < 0) {
        if (!index_extension_error(ext, sizeof(ext)))
            return git_fail(err, DEDUP_EREPO, "cannot read the index");
        if (strcmp(ext, "link") != 0)
            return git_fail(err, DEDUP_EREPO, "cannot read the index");
        repo->index_via_git = 1;
    }
    if (repo->index_via_git) {
        int rc = collect_via_git(scope, out, relevant, err);
        if (rc)
            dedup_item_list_free(out);
        return rc;
    }
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
