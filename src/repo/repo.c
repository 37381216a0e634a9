/*
 * repo.c - open the repository git would use, read its config, and list the
 * images in a split as the dataset will be after the commit.
 *
 * We rely on libgit2's GIT_REPOSITORY_OPEN_FROM_ENV so that GIT_DIR,
 * GIT_INDEX_FILE (set by `git commit -a` / `git commit <paths>`),
 * GIT_OBJECT_DIRECTORY and friends mean exactly what they mean to git.
 */
#include "repo_internal.h"

#include <git2/sys/repository.h>

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

static int git_fail(dedup_error *err, int code, const char *what)
{
    const git_error *e = git_error_last();
    return dedup_error_set(err, code, "%s: %s", what,
                           e && e->message ? e->message : "unknown error");
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

/* Debian's libgit2 1.5 cannot read a sparse index; git can turn it off. */
static int sparse_index_error(dedup_error *err)
{
    int major, minor, rev;
    git_libgit2_version(&major, &minor, &rev);
    return dedup_error_set(err, DEDUP_EREPO,
                           "the index is a sparse index (extension 'sdir'), which libgit2 %d.%d "
                           "cannot read; turn it off with 'git sparse-checkout init "
                           "--no-sparse-index' (the sparse checkout itself stays as it is) and "
                           "check again",
                           major, minor);
}

static int open_git_from_env(git_repository **out, int *via_git, dedup_error *err)
{
    int rc = git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
    char ext[8];
    const char *index_file = getenv("GIT_INDEX_FILE");
    if (rc < 0 && index_file && index_extension_error(ext, sizeof(ext)) && strcmp(ext, "sdir") == 0)
        return sparse_index_error(err);
    if (rc < 0 && index_file && index_extension_error(ext, sizeof(ext)) &&
        strcmp(ext, "link") == 0) {
        /* libgit2 reads GIT_INDEX_FILE eagerly and fails on a split index.
         * Open without it (the process is single-threaded here, and the
         * variable is restored at once); the entries then come from git. */
        char *saved = strdup(index_file);
        if (!saved)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        unsetenv("GIT_INDEX_FILE");
        rc = git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
        setenv("GIT_INDEX_FILE", saved, 1);
        free(saved);
        *via_git = 1;
    }
    if (rc == GIT_ENOTFOUND)
        return git_fail(err, DEDUP_EREPO, "not a git repository (or any parent)");
    if (rc == GIT_EOWNER)
        return dedup_error_set(err, DEDUP_EREPO,
                               "the repository is owned by another user, which git does not trust "
                               "by default; if you trust it, run: git config --global --add "
                               "safe.directory <path of the repository>");
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, "cannot open the repository");
    return 0;
}

/* Whether directories a and b are the same (b may be relative to the
 * current directory, as git's "GIT_WORK_TREE=." for hooks is). */
static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * libgit2 1.5 refuses GIT_WORK_TREE ("unimplemented"), which git sets for
 * hooks whenever a command ran with --work-tree.  Open without it (the
 * process is single-threaded here; the variable is restored at once) and
 * give the repository that work tree, which is what the variable means.
 */
static int open_git(git_repository **out, int *via_git, dedup_error *err)
{
    const char *env = getenv("GIT_WORK_TREE");
    char *work_tree = env && *env ? strdup(env) : NULL;
    if (env && *env && !work_tree)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    if (work_tree)
        unsetenv("GIT_WORK_TREE");
    int rc = open_git_from_env(out, via_git, err);
    if (work_tree) {
        setenv("GIT_WORK_TREE", work_tree, 1);
        /* libgit2 1.5 leaks a little in set_workdir: skip it when the work
         * tree it found is already the one named (the usual case). */
        if (rc == 0 && !same_dir(git_repository_workdir(*out), work_tree) &&
            git_repository_set_workdir(*out, work_tree, 0) < 0) {
            rc = git_fail(err, DEDUP_EREPO, "cannot use GIT_WORK_TREE");
            git_repository_free(*out);
            *out = NULL;
        }
        free(work_tree);
    }
    return rc;
}

int dedup_repo_open(dedup_repo **out, dedup_error *err)
{
    *out = NULL;
    dedup_repo *r = calloc(1, sizeof(*r));
    if (!r)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    int rc = open_git(&r->git, &r->index_via_git, err);
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
    return dedup_repo_run_git_env(args, NULL, NULL, out, len, err);
}

int dedup_repo_run_git_env(const char *const *args, const char *env_name, const char *env_value,
                           char **out, size_t *len, dedup_error *err)
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
        const char *argv[24];
        size_t n = 0;
        argv[n++] = "git";
        for (size_t i = 0; args[i] && n < 23; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        dup2(fds[1], 1);
        if (env_name)
            setenv(env_name, env_value, 1);
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
    dedup_shared_config_free(&repo->shared);
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

/* --- the index ---------------------------------------------------------------- */

static int copy_file(const char *from, int to_fd, dedup_error *err)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return dedup_error_set(err, DEDUP_EREPO, "cannot read the index %s: %s", from,
                               strerror(errno));
    char buf[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        for (size_t done = 0; rc == 0 && done < n;) {
            ssize_t w = write(to_fd, buf + done, n - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                rc = dedup_error_set(err, DEDUP_EIO, "cannot copy the index: %s", strerror(errno));
            else
                done += (size_t)w;
        }
    if (rc == 0 && ferror(in))
        rc = dedup_error_set(err, DEDUP_EREPO, "cannot read the index %s", from);
    fclose(in);
    return rc;
}

/*
 * A split index (extension "link") is one libgit2 1.5 cannot read.  git
 * can: it rewrites a private copy as one whole index, which libgit2 then
 * reads with every flag intact (intent-to-add, skip-worktree).  The shared
 * part is looked up in the git directory, so the copy may live anywhere;
 * sharedIndexExpire=never keeps git from pruning shared files while at it.
 */
static int index_via_git(dedup_repo *repo, git_index **out, dedup_error *err)
{
    const char *src = getenv("GIT_INDEX_FILE");
    char *def = NULL;
    if (!src || !*src) {
        def = join_path(git_repository_path(repo->git), "index");
        if (!def)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        src = def;
    }
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/git-dedup-index-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(tmp);
    int rc = 0;
    if (fd < 0) {
        rc = dedup_error_set(err, DEDUP_EIO, "cannot make a temporary copy of the index in %s: %s",
                             tmp, strerror(errno));
        free(def);
        return rc;
    }
    rc = copy_file(src, fd, err);
    close(fd);
    free(def);
    static const char *const args[] = {"-c",
                                       "splitIndex.sharedIndexExpire=never",
                                       "-c",
                                       "core.splitIndex=false",
                                       "update-index",
                                       "--no-split-index",
                                       NULL};
    char *ignored = NULL;
    size_t ignored_len;
    if (rc == 0)
        rc = dedup_repo_run_git_env(args, "GIT_INDEX_FILE", tmp, &ignored, &ignored_len, err);
    free(ignored);
    if (rc == 0 && git_index_open(out, tmp) < 0)
        rc = git_fail(err, DEDUP_EREPO, "cannot read the index git wrote without its split");
    unlink(tmp);
    return rc;
}

static int open_index(dedup_repo *repo, git_index **out, dedup_error *err)
{
    *out = NULL;
    char ext[8];
    if (!repo->index_via_git) {
        if (git_repository_index(out, repo->git) == 0)
            return 0;
        if (!index_extension_error(ext, sizeof(ext)))
            return git_fail(err, DEDUP_EREPO, "cannot read the index");
        if (strcmp(ext, "sdir") == 0)
            return sparse_index_error(err);
        if (strcmp(ext, "link") != 0)
            return git_fail(err, DEDUP_EREPO, "cannot read the index");
        repo->index_via_git = 1;
    }
    int rc = index_via_git(repo, out, err);
    if (rc == 0 && git_repository_set_index(repo->git, *out) < 0)
        rc = git_fail(err, DEDUP_EREPO, "cannot use the index");
    return rc;
}

/* --- the two sides of a change ------------------------------------------------- */

typedef struct {
    dedup_side side;
    git_repository *own_git; /* a second handle, for the side before the change */
    git_index *index;
    dedup_shared_config own_shared;
    char label[96];
} side_holder;

static void side_release(side_holder *h)
{
    git_index_free(h->index);
    git_repository_free(h->own_git);
    dedup_shared_config_free(&h->own_shared);
    memset(h, 0, sizeof(*h));
}

/* The side's .gitdedup, if it has one, into *shared. */
static int load_shared(dedup_repo *repo, git_index *index, const char *where,
                       dedup_shared_config *shared, dedup_error *err)
{
    dedup_shared_config_free(shared);
    const git_index_entry *e = git_index_get_bypath(index, ".gitdedup", 0);
    if (!e || (e->mode != GIT_FILEMODE_BLOB && e->mode != GIT_FILEMODE_BLOB_EXECUTABLE))
        return 0;
    char full[160];
    snprintf(full, sizeof(full), ".gitdedup %s", where);
    return dedup_shared_config_load(repo, &e->id, full, shared, err);
}

/*
 * A side read from a tree (NULL: empty).  The side after the change uses
 * the main handle and loads its .gitdedup into repo->shared, so that every
 * later config lookup sees it; the side before gets a handle of its own,
 * because libgit2 caches .gitattributes per handle and index.
 */
static int side_from_tree(dedup_repo *repo, git_tree *tree, int before, const char *label,
                          side_holder *h, dedup_error *err)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->label, sizeof(h->label), "%s", label);
    if (git_index_new(&h->index) < 0 || (tree && git_index_read_tree(h->index, tree) < 0))
        return git_fail(err, DEDUP_EREPO, label);
    git_repository *git = repo->git;
    if (before) {
        int via_git = 0;
        int rc = open_git(&h->own_git, &via_git, err);
        if (rc)
            return rc;
        git = h->own_git;
    }
    if (git_repository_set_index(git, h->index) < 0)
        return git_fail(err, DEDUP_EREPO, label);
    char where[128];
    snprintf(where, sizeof(where), "at %s", label);
    dedup_shared_config *shared = before ? &h->own_shared : &repo->shared;
    int rc = load_shared(repo, h->index, where, shared, err);
    h->side.git = git;
    h->side.index = h->index;
    h->side.shared = shared;
    h->side.label = h->label;
    return rc;
}

static int side_from_index(dedup_repo *repo, side_holder *h, dedup_error *err)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->label, sizeof(h->label), "the index");
    int rc = open_index(repo, &h->index, err);
    if (rc == 0)
        rc = load_shared(repo, h->index, "(staged)", &repo->shared, err);
    h->side.git = repo->git;
    h->side.index = h->index;
    h->side.shared = &repo->shared;
    h->side.label = h->label;
    return rc;
}

/* A commit by name ("HEAD", "main~2", an object id), peeled to its tree. */
static int resolve_tree(dedup_repo *repo, const char *spec, const char *what, git_tree **tree,
                        git_oid *commit_id, dedup_error *err)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s^{commit}", spec);
    git_object *obj = NULL;
    if (git_revparse_single(&obj, repo->git, buf) < 0) {
        const git_error *e = git_error_last();
        return dedup_error_set(err, DEDUP_EREPO, "%s: cannot find commit '%s': %s", what, spec,
                               e && e->message ? e->message : "unknown revision");
    }
    if (commit_id)
        git_oid_cpy(commit_id, git_object_id(obj));
    int rc = git_commit_tree(tree, (git_commit *)obj);
    git_object_free(obj);
    if (rc < 0)
        return git_fail(err, DEDUP_EREPO, spec);
    return 0;
}

static void short_id(char *out, const git_oid *id)
{
    git_oid_tostr(out, 13, id);
}

/* --- the fast path ---------------------------------------------------------------- */

static int is_blob_mode(uint32_t mode)
{
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

static int watched(const dedup_side_watchlist *w, const char *path)
{
    int is_lock;
    if (strcmp(path, ".gitdedup") == 0 || strcmp(path, ".dvc/config") == 0 ||
        dedup_path_is_dvc(path, &is_lock))
        return 1; /* a change to a .dvc file is a change to its images */
    const char *slash = strrchr(path, '/');
    if (strcmp(slash ? slash + 1 : path, ".gitattributes") == 0)
        return 1;
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->paths[i], path) == 0)
            return 1;
    return 0;
}

/*
 * Whether a diff can change what is checked: an image or archive that is
 * (or may be) in a split added or modified, or a .gitattributes, manifest,
 * .gitdedup, .dvc file, dvc.lock or .dvc/config touched in any way (DVC's
 * images change with the file that names them).  Deleting an image can
 * never create a leak.
 */
static int diff_relevant(dedup_repo *repo, const dedup_side *after, git_diff *diff, int *relevant,
                         dedup_error *err)
{
    *relevant = 0;
    size_t n = git_diff_num_deltas(diff);
    if (n == 0)
        return 0;
    dedup_side_watchlist w;
    int rc = dedup_side_watch(repo, after, &w, err);
    for (size_t i = 0; rc == 0 && i < n && !*relevant; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        if (watched(&w, d->old_file.path) || watched(&w, d->new_file.path)) {
            *relevant = 1;
            break;
        }
        if (d->status == GIT_DELTA_DELETED)
            continue;
        uint32_t mode = d->new_file.mode;
        if ((is_blob_mode(mode) || mode == GIT_FILEMODE_LINK) &&
            (dedup_path_is_image(d->new_file.path) || dedup_path_is_archive(d->new_file.path)))
            rc = dedup_side_watch_image(&w, d->new_file.path, relevant, err);
    }
    dedup_side_watch_free(&w);
    return rc;
}

/* --- collecting ------------------------------------------------------------------- */

static int cmp_item_path(const void *key, const void *item)
{
    return strcmp(key, ((const dedup_item *)item)->path);
}

/* New: (path, blob or DVC object, split, role) is not in the dataset before the change. */
static void mark_new(dedup_item_list *after, const dedup_item_list *before)
{
    after->new_count = 0;
    for (size_t i = 0; i < after->count; i++) {
        dedup_item *it = &after->items[i];
        const dedup_item *old =
            before && before->count
                ? bsearch(it->path, before->items, before->count, sizeof(dedup_item), cmp_item_path)
                : NULL;
        it->is_new = !old || !git_oid_equal(&old->oid, &it->oid) || old->storage != it->storage ||
                     (it->object && (!old->object || strcmp(old->object, it->object) != 0)) ||
                     strcmp(old->split, it->split) != 0 || old->role != it->role ||
                     old->is_symlink != it->is_symlink ||
                     (old->problem != NULL) != (it->problem != NULL);
        after->new_count += (size_t)it->is_new;
    }
}

/* Keep the notes; drop the items (nothing new to check). */
static void drop_items(dedup_item_list *l)
{
    dedup_item_list keep = {0};
    keep.notes = l->notes;
    keep.note_count = l->note_count;
    l->notes = NULL;
    l->note_count = 0;
    dedup_item_list_free(l);
    *l = keep;
}

/*
 * The merge base of a range, as a pull request shows it.  libgit2 1.5 does
 * not know shallow clones, so git answers there and when libgit2 cannot; with no
 * merge base at all (a shallow clone cut above it, unrelated histories) the
 * base itself stands in and a note says so: more counts as new, never less.
 */
static int range_base(dedup_repo *repo, const git_oid *a, const git_oid *b, const char *a_spec,
                      const char *b_spec, git_oid *out, dedup_item_list *notes, dedup_error *err)
{
    /* (In a shallow clone libgit2 1.5 walks into missing parents, and leaks
     * as it fails: do not ask it there.) */
    if (git_repository_is_shallow(repo->git) != 1 && git_merge_base(out, repo->git, a, b) == 0)
        return 0;
    char ha[GIT_OID_HEXSZ + 1], hb[GIT_OID_HEXSZ + 1];
    git_oid_tostr(ha, sizeof(ha), a);
    git_oid_tostr(hb, sizeof(hb), b);
    const char *args[] = {"merge-base", ha, hb, NULL};
    char *text = NULL;
    size_t len = 0;
    dedup_error ignored;
    dedup_error_clear(&ignored);
    if (dedup_repo_run_git(args, &text, &len, &ignored) == 0 && len >= GIT_OID_HEXSZ &&
        git_oid_fromstrn(out, text, GIT_OID_HEXSZ) == 0) {
        free(text);
        return 0;
    }
    free(text);
    git_oid_cpy(out, a);
    char range[600];
    snprintf(range, sizeof(range), "%s and %s", a_spec, b_spec);
    return dedup_item_list_note(notes,
                                "no merge base of %s found (a shallow clone without enough "
                                "history, or unrelated histories): comparing with %s itself",
                                range, a_spec, err);
}

int dedup_repo_collect(dedup_repo *repo, dedup_scope scope, const char *arg, dedup_item_list *out,
                       int *relevant, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    *relevant = 0;
    side_holder after = {0}, before = {0};
    git_tree *after_tree = NULL, *before_tree = NULL;
    git_diff *diff = NULL;
    int have_before = 0, rc = 0;
    char label[128];
    git_diff_options opts;
    git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
    opts.flags = GIT_DIFF_IGNORE_SUBMODULES;

    if (scope == DEDUP_SCOPE_STAGED && git_repository_is_bare(repo->git))
        return dedup_error_set(err, DEDUP_EREPO,
                               "%s is a bare repository: it has no staged changes to check; "
                               "use --all, --rev <commit> or --range <base>..<head>",
                               git_repository_path(repo->git));
    if (scope == DEDUP_SCOPE_ALL && git_repository_is_bare(repo->git)) {
        scope = DEDUP_SCOPE_REV;
        arg = "HEAD";
        if (git_repository_head_unborn(repo->git) == 1)
            return 0; /* an empty repository holds no dataset yet */
    }
    switch (scope) {
    case DEDUP_SCOPE_STAGED:
    case DEDUP_SCOPE_ALL:
        if ((rc = side_from_index(repo, &after, err)))
            break;
        if (scope == DEDUP_SCOPE_ALL)
            break;
        rc = resolve_tree(repo, "HEAD", "HEAD", &before_tree, NULL, err);
        if (rc && git_repository_head_unborn(repo->git) == 1) {
            rc = 0; /* unborn HEAD: everything staged is new */
            dedup_error_clear(err);
        }
        if (rc)
            break;
        if (git_diff_tree_to_index(&diff, repo->git, before_tree, after.index, &opts) < 0) {
            rc = git_fail(err, DEDUP_EREPO, "cannot compare the index with HEAD");
            break;
        }
        have_before = 1;
        snprintf(label, sizeof(label), "HEAD");
        break;
    case DEDUP_SCOPE_REV: {
        git_oid id;
        if ((rc = resolve_tree(repo, arg, "--rev", &after_tree, &id, err)))
            break;
        char hex[16];
        short_id(hex, &id);
        snprintf(label, sizeof(label), "commit %s", hex);
        rc = side_from_tree(repo, after_tree, 0, label, &after, err);
        break;
    }
    case DEDUP_SCOPE_RANGE: {
        const char *dots = strstr(arg, "..");
        if (!dots) {
            rc = dedup_error_set(err, DEDUP_EINVAL,
                                 "--range: '%s' is not a range (use <base>..<head>)", arg);
            break;
        }
        size_t alen = (size_t)(dots - arg);
        const char *b_spec = dots[2] == '.' ? dots + 3 : dots + 2;
        char a_spec[256], b_buf[256];
        snprintf(a_spec, sizeof(a_spec), "%.*s", (int)(alen < 255 ? alen : 255), arg);
        snprintf(b_buf, sizeof(b_buf), "%s", *b_spec ? b_spec : "HEAD");
        if (!a_spec[0])
            snprintf(a_spec, sizeof(a_spec), "HEAD");
        git_oid a_id, b_id, base_id;
        git_tree *a_tree = NULL;
        rc = resolve_tree(repo, a_spec, "--range", &a_tree, &a_id, err);
        git_tree_free(a_tree);
        if (rc == 0)
            rc = resolve_tree(repo, b_buf, "--range", &after_tree, &b_id, err);
        if (rc == 0)
            rc = range_base(repo, &a_id, &b_id, a_spec, b_buf, &base_id, out, err);
        if (rc)
            break;
        char hex[16];
        short_id(hex, &b_id);
        char after_label[128];
        snprintf(after_label, sizeof(after_label), "commit %s", hex);
        if ((rc = side_from_tree(repo, after_tree, 0, after_label, &after, err)))
            break;
        git_commit *base_commit = NULL;
        if (git_commit_lookup(&base_commit, repo->git, &base_id) < 0 ||
            git_commit_tree(&before_tree, base_commit) < 0) {
            git_commit_free(base_commit);
            rc = git_fail(err, DEDUP_EREPO, "cannot read the merge base");
            break;
        }
        git_commit_free(base_commit);
        short_id(hex, &base_id);
        snprintf(label, sizeof(label), "commit %s", hex);
        if (git_diff_tree_to_tree(&diff, repo->git, before_tree, after_tree, &opts) < 0) {
            rc = git_fail(err, DEDUP_EREPO, "cannot compare the two commits");
            break;
        }
        have_before = 1;
        break;
    }
    }

    dedup_item_list before_items = {0};
    if (rc == 0 && have_before) {
        int changed = 0;
        rc = diff_relevant(repo, &after.side, diff, &changed, err);
        if (rc || !changed)
            goto done;
    }
    if (rc == 0)
        rc = dedup_side_collect(repo, &after.side, out, err);
    if (rc == 0 && have_before) {
        /* A side before that cannot be read (a manifest committed broken)
         * must not block the fix: everything then counts as new. */
        dedup_error why;
        dedup_error_clear(&why);
        int brc = side_from_tree(repo, before_tree, 1, label, &before, &why);
        if (brc == 0)
            brc = dedup_side_collect(repo, &before.side, &before_items, &why);
        if (brc == DEDUP_ENOMEM) {
            rc = dedup_error_set(err, brc, "%s", why.msg);
        } else if (brc) {
            dedup_item_list_free(&before_items);
            rc = dedup_item_list_note(out,
                                      "the dataset at %s could not be read, so every image "
                                      "counts as new: %s",
                                      label, why.msg, err);
            have_before = 0;
        }
    }
    if (rc == 0) {
        mark_new(out, have_before ? &before_items : NULL);
        *relevant = out->new_count > 0;
        if (!*relevant)
            drop_items(out);
    }
done:
    dedup_item_list_free(&before_items);
    git_diff_free(diff);
    git_tree_free(after_tree);
    git_tree_free(before_tree);
    side_release(&before);
    side_release(&after);
    if (rc)
        dedup_item_list_free(out);
    return rc;
}
