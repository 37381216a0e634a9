/*
 * dataset.c - the images in a split on one side of a change (the index, or
 * a commit's tree loaded into an in-memory index), and which split each is
 * in.  The split comes from, strongest first:
 *
 *   1. .gitattributes (dedup-split=<name>; -dedup excludes), read through
 *      libgit2 from the side's own index, so nested files, negations and
 *      macros mean what they mean to git;
 *   2. manifests named by dedup.manifest, read from the side's blobs;
 *   3. the path convention (dedup_split_from_path).
 *
 * Everything is read from git, never from the working tree, and any error
 * (a bad manifest line, two manifests that disagree, a split name that is
 * neither training nor held out) stops the whole collection: a check that
 * half-applied a manifest would pass or refuse for the wrong reasons.
 */
#include "repo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest_internal.h"

/* How many symbolic links we follow inside the tree before giving up. */
#define MAX_LINK_HOPS 16

typedef struct {
    char *path;        /* normalised, repository-relative */
    const char *split; /* canonical name (in the side's config lists) */
    dedup_role role;
    unsigned rank;
    char *label;
    const char *manifest; /* which manifest said so, and where */
    size_t line;
} rule;

typedef struct {
    rule *v;
    size_t count, cap;
} rule_list;

typedef struct {
    dedup_repo *repo;
    const dedup_side *side;
    char **train;
    size_t ntrain;
    char **held;
    size_t nheld;
    char *train_raw, *held_raw; /* for messages */
    int path_convention;
    int attributes; /* some attributes file exists: ask libgit2 for each path (-1: not known yet) */
    char **manifests;
    size_t nmanifests;
    rule_list files; /* sorted by path */
    rule_list dirs;
    int dvc_cache_known; /* dvc_cache below has been worked out */
    char *dvc_cache;     /* DVC's cache folder; NULL when there is none (bare repository) */
} side_ctx;

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int equal_ci_n(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return 0;
    return 1;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void rules_free(rule_list *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free(l->v[i].path);
        free(l->v[i].label);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void ctx_free(side_ctx *c)
{
    free_strings(c->train, c->ntrain);
    free_strings(c->held, c->nheld);
    free(c->train_raw);
    free(c->held_raw);
    free_strings(c->manifests, c->nmanifests);
    rules_free(&c->files);
    rules_free(&c->dirs);
    free(c->dvc_cache);
}

/* "a, b ,c" -> {"a","b","c"}; empty items are dropped. */
static int split_list(const char *s, char ***out, size_t *n, dedup_error *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap, sizeof(*v));
    if (!v)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    const char *p = s;
    while (*p) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b > a && !(v[*n] = dedup_manifest_strndup(a, (size_t)(b - a)))) {
            free_strings(v, *n);
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        }
        if (b > a)
            (*n)++;
        p = *end ? end + 1 : end;
    }
    *out = v;
    return 0;
}

static int read_names(side_ctx *c, const char *key, const char *def, char ***out, size_t *n,
                      char **raw, dedup_error *err)
{
    int rc = dedup_cfg_string(c->repo, c->side->shared, key, raw, err);
    if (rc)
        return rc;
    if (!*raw && !(*raw = strdup(def)))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    if ((rc = split_list(*raw, out, n, err)))
        return rc;
    if (*n == 0)
        return dedup_error_set(err, DEDUP_ECONFIG, "%s: no split names given", key);
    return 0;
}

static int read_config(side_ctx *c, dedup_error *err)
{
    int rc = read_names(c, "dedup.trainSplits", "train", &c->train, &c->ntrain, &c->train_raw, err);
    if (rc == 0)
        rc = read_names(c, "dedup.heldOutSplits", "test,val", &c->held, &c->nheld, &c->held_raw,
                        err);
    for (size_t i = 0; rc == 0 && i < c->ntrain; i++)
        for (size_t j = 0; rc == 0 && j < c->nheld; j++)
            if (equal_ci_n(c->train[i], strlen(c->train[i]), c->held[j]))
                rc = dedup_error_set(err, DEDUP_ECONFIG,
                                     "split '%s' is in both dedup.trainSplits and "
                                     "dedup.heldOutSplits",
                                     c->train[i]);
    if (rc == 0)
        rc = dedup_cfg_bool(c->repo, c->side->shared, "dedup.pathConvention", 1,
                            &c->path_convention, err);
    if (rc == 0)
        rc = dedup_cfg_multi(c->repo, c->side->shared, "dedup.manifest", &c->manifests,
                             &c->nmanifests, err);
    c->attributes = -1;
    return rc;
}

static const char *base_name(const char *path);

static int file_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

/*
 * Whether any attributes file can apply: a .gitattributes in the side's
 * tree, $GIT_DIR/info/attributes, core.attributesFile (or git's default
 * under $XDG_CONFIG_HOME), or the system's.  Without one no path can have
 * dedup-split, and we skip libgit2's lookup, which stats several files per
 * path (most of the cost of listing a large dataset).
 */
static int find_attributes(side_ctx *c, dedup_error *err)
{
    c->attributes = 0;
    size_t n = git_index_entrycount(c->side->index);
    for (size_t i = 0; i < n && !c->attributes; i++) {
        const git_index_entry *e = git_index_get_byindex(c->side->index, i);
        c->attributes = e && strcmp(base_name(e->path), ".gitattributes") == 0;
    }
    if (c->attributes)
        return 0;
    git_buf info = {0};
    if (git_repository_item_path(&info, c->side->git, GIT_REPOSITORY_ITEM_INFO) == 0) {
        size_t len = strlen(info.ptr) + sizeof("/attributes");
        char *path = malloc(len);
        if (path)
            snprintf(path, len, "%s/attributes", info.ptr);
        c->attributes = !path || file_exists(path);
        free(path);
    }
    git_buf_dispose(&info);
    char *configured = NULL;
    int rc = dedup_repo_config_path(c->repo, "core.attributesFile", &configured, err);
    if (rc)
        return rc;
    if (configured) {
        c->attributes = c->attributes || file_exists(configured);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        char path[4096];
        if (xdg && *xdg)
            snprintf(path, sizeof(path), "%s/git/attributes", xdg);
        else
            snprintf(path, sizeof(path), "%s/.config/git/attributes", home ? home : "");
        c->attributes = c->attributes || file_exists(path);
    }
    free(configured);
    c->attributes = c->attributes || file_exists("/etc/gitattributes");
    return 0;
}

/*
 * A split name as configured: the configured spelling, its role and rank.
 * A name in neither list is read by the path convention ("validation" ->
 * "val") and looked up again.  Returns 0 when the name is unknown.
 */
static int resolve_split(const side_ctx *c, const char *name, size_t len, const char **canon,
                         dedup_role *role, unsigned *rank)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->ntrain; i++)
            if (equal_ci_n(name, len, c->train[i])) {
                *canon = c->train[i];
                *role = DEDUP_ROLE_TRAIN;
                *rank = 0;
                return 1;
            }
        for (size_t i = 0; i < c->nheld; i++)
            if (equal_ci_n(name, len, c->held[i])) {
                *canon = c->held[i];
                *role = DEDUP_ROLE_HELD_OUT;
                *rank = (unsigned)i + 1;
                return 1;
            }
        dedup_split s = dedup_split_from_name(name, len);
        if (pass == 1 || s == DEDUP_SPLIT_NONE)
            break;
        name = dedup_split_name(s);
        len = strlen(name);
    }
    return 0;
}

static int unknown_split(const side_ctx *c, const char *name, const char *source, dedup_error *err)
{
    return dedup_error_set(err, DEDUP_ECONFIG,
                           "%s: split '%s' is neither a training split (dedup.trainSplits = "
                           "%s) nor a held-out one (dedup.heldOutSplits = %s); add it to one "
                           "of those keys",
                           source, name, c->train_raw, c->held_raw);
}

/* --- reading blobs of the side --------------------------------------------- */

static const git_index_entry *entry_at(const side_ctx *c, const char *path)
{
    return git_index_get_bypath(c->side->index, path, 0);
}

/* Whether some entry lies under dir/ ("" is the root). */
static int is_dir(const side_ctx *c, const char *dir)
{
    if (!dir[0])
        return git_index_entrycount(c->side->index) > 0;
    size_t n = strlen(dir);
    char *prefix = malloc(n + 2);
    if (!prefix)
        return 0;
    memcpy(prefix, dir, n);
    memcpy(prefix + n, "/", 2);
    size_t pos;
    int found = git_index_find_prefix(&pos, c->side->index, prefix) == 0;
    free(prefix);
    return found;
}

static int read_blob(const side_ctx *c, const git_oid *id, const char *what, git_blob **out,
                     dedup_error *err)
{
    if (git_blob_lookup(out, c->repo->git, id) < 0) {
        const git_error *e = git_error_last();
        return dedup_error_set(err, DEDUP_EREPO, "%s: cannot read it from %s: %s", what,
                               c->side->label, e && e->message ? e->message : "object missing");
    }
    return 0;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return dedup_manifest_strndup(path, slash ? (size_t)(slash - path) : 0);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* --- manifests ------------------------------------------------------------------- */

static int rule_add(rule_list *l, char *path, const char *split, dedup_role role, unsigned rank,
                    const char *label, const char *manifest, size_t line, dedup_error *err)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        rule *grown = realloc(l->v, cap * sizeof(*grown));
        if (!grown) {
            free(path);
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        }
        l->v = grown;
        l->cap = cap;
    }
    rule *r = &l->v[l->count];
    r->path = path;
    r->split = split;
    r->role = role;
    r->rank = rank;
    r->label = label ? strdup(label) : NULL;
    r->manifest = manifest;
    r->line = line;
    if (label && !r->label) {
        free(path);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    l->count++;
    return 0;
}

/* Per-manifest config: dedup.<manifest>.<name>. */
static int manifest_key(side_ctx *c, const char *manifest, const char *name, char **out,
                        dedup_error *err)
{
    size_t n = strlen(manifest) + strlen(name) + sizeof("dedup..");
    char *key = malloc(n);
    if (!key)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    snprintf(key, n, "dedup.%s.%s", manifest, name);
    int rc = dedup_cfg_string(c->repo, c->side->shared, key, out, err);
    free(key);
    return rc;
}

/*
 * The split a list or COCO file stands for: dedup.<file>.split, else its
 * base name without the extension ("test.txt"), else, for COCO, the first
 * "_"-separated token of it that names a split ("instances_val2017.json").
 */
static int manifest_split(side_ctx *c, const char *manifest, dedup_manifest_kind kind,
                          const char **canon, dedup_role *role, unsigned *rank, char **coco_token,
                          dedup_error *err)
{
    char *configured = NULL;
    int rc = manifest_key(c, manifest, "split", &configured, err);
    if (rc)
        return rc;
    const char *base = base_name(manifest);
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (configured) {
        if (!resolve_split(c, configured, strlen(configured), canon, role, rank)) {
            char where[512];
            snprintf(where, sizeof(where), "dedup.%s.split", manifest);
            rc = unknown_split(c, configured, where, err);
        }
        free(configured);
        return rc;
    }
    if (resolve_split(c, base, stem, canon, role, rank))
        return 0;
    if (kind == DEDUP_MANIFEST_COCO) {
        /* Right to left: "instances_val2017" -> "val2017". */
        size_t end = stem;
        while (end > 0) {
            size_t start = end;
            while (start > 0 && base[start - 1] != '_')
                start--;
            if (resolve_split(c, base + start, end - start, canon, role, rank)) {
                *coco_token = dedup_manifest_strndup(base + start, end - start);
                return *coco_token ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
            }
            end = start ? start - 1 : 0;
        }
    }
    return dedup_error_set(err, DEDUP_ECONFIG,
                           "%s: cannot tell which split this %s file is from its name; set "
                           "dedup.%s.split (e.g. git config dedup.%s.split test)",
                           manifest, kind == DEDUP_MANIFEST_COCO ? "COCO" : "list", manifest,
                           manifest);
}

static int parse_manifest(side_ctx *c, const char *name, dedup_manifest_kind kind, const char *buf,
                          size_t len, dedup_manifest *m, dedup_error *err)
{
    dedup_manifest_columns cols = {"path", "split", "label", 0};
    char *pc = NULL, *sc = NULL, *lc = NULL;
    int rc = 0;
    if (kind == DEDUP_MANIFEST_CSV || kind == DEDUP_MANIFEST_TSV || kind == DEDUP_MANIFEST_JSONL) {
        rc = dedup_cfg_string(c->repo, c->side->shared, "dedup.pathColumn", &pc, err);
        if (rc == 0)
            rc = dedup_cfg_string(c->repo, c->side->shared, "dedup.splitColumn", &sc, err);
        if (rc == 0)
            rc = dedup_cfg_string(c->repo, c->side->shared, "dedup.labelColumn", &lc, err);
        if (pc)
            cols.path_column = pc;
        if (sc)
            cols.split_column = sc;
        if (lc) {
            cols.label_column = lc[0] ? lc : NULL;
            cols.label_required = lc[0] != '\0';
        }
    }
    if (rc == 0) {
        switch (kind) {
        case DEDUP_MANIFEST_CSV:
            rc = dedup_manifest_parse_csv(m, buf, len, ',', &cols, name, err);
            break;
        case DEDUP_MANIFEST_TSV:
            rc = dedup_manifest_parse_csv(m, buf, len, '\t', &cols, name, err);
            break;
        case DEDUP_MANIFEST_JSONL:
            rc = dedup_manifest_parse_jsonl(m, buf, len, &cols, name, err);
            break;
        case DEDUP_MANIFEST_COCO:
            rc = dedup_manifest_parse_coco(m, buf, len, name, err);
            break;
        case DEDUP_MANIFEST_YOLO:
            rc = dedup_manifest_parse_yolo(m, buf, len, name, err);
            break;
        default:
            rc = dedup_manifest_parse_list(m, buf, len, name, err);
        }
    }
    free(pc);
    free(sc);
    free(lc);
    return rc;
}

/* Record that `path` (normalised) is in a split, as a file or a folder. */
static int add_target(side_ctx *c, char *path, const char *split, dedup_role role, unsigned rank,
                      const char *label, const char *manifest, size_t line, int allow_dir,
                      dedup_error *err)
{
    const git_index_entry *e = path[0] ? entry_at(c, path) : NULL;
    if (e)
        return rule_add(&c->files, path, split, role, rank, label, manifest, line, err);
    if (allow_dir && is_dir(c, path))
        return rule_add(&c->dirs, path, split, role, rank, label, manifest, line, err);
    int rc = dedup_error_set(err, DEDUP_ECONFIG,
                             "%s:%zu: names '%s', which is not in %s (a missing file, or a path "
                             "relative to the wrong folder: see dedup.manifestBase)",
                             manifest, line, path[0] ? path : ".", c->side->label);
    free(path);
    return rc;
}

static int leaves_repo(const char *manifest, size_t line, const char *path, dedup_error *err)
{
    return dedup_error_set(err, DEDUP_ECONFIG,
                           "%s:%zu: '%s' is absolute or leaves the repository; manifest paths "
                           "are relative to the manifest's folder or the repository root "
                           "(dedup.manifestBase)",
                           manifest, line, path);
}

/* A list file named by a YOLO data.yaml: its lines are relative to its folder. */
static int load_yolo_list(side_ctx *c, const char *list_path, const git_index_entry *e,
                          const char *split, dedup_role role, unsigned rank,
                          const char *manifest_name, dedup_error *err)
{
    git_blob *blob = NULL;
    int rc = read_blob(c, &e->id, list_path, &blob, err);
    if (rc)
        return rc;
    dedup_manifest list = {0};
    /* The list file's name must outlive this function: rules point at it. */
    rc = dedup_manifest_parse_list(&list, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
                                   manifest_name, err);
    git_blob_free(blob);
    char *dir = rc == 0 ? dir_of(list_path) : NULL;
    if (rc == 0 && !dir)
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < list.count; i++) {
        char *p = dedup_manifest_normalise(dir, list.rows[i].path);
        if (!p)
            rc = leaves_repo(manifest_name, list.rows[i].line, list.rows[i].path, err);
        else
            rc =
                add_target(c, p, split, role, rank, NULL, manifest_name, list.rows[i].line, 1, err);
    }
    free(dir);
    dedup_manifest_free(&list);
    return rc;
}

/*
 * The names rules point at (manifest paths, YOLO list files) must live as
 * long as the rules: they are kept in c->manifests, which we grow here.
 */
static const char *keep_name(side_ctx *c, const char *name, dedup_error *err)
{
    char **grown = realloc(c->manifests, (c->nmanifests + 1) * sizeof(*grown));
    if (!grown) {
        dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        return NULL;
    }
    c->manifests = grown;
    if (!(grown[c->nmanifests] = strdup(name))) {
        dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        return NULL;
    }
    return grown[c->nmanifests++];
}

static int load_yolo(side_ctx *c, const char *name, const dedup_manifest *m, dedup_error *err)
{
    char *dir = dir_of(name);
    char *root_cfg = NULL;
    int rc = dir ? manifest_key(c, name, "root", &root_cfg, err)
                 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    char *root = NULL;
    if (rc == 0) {
        root = root_cfg ? dedup_manifest_normalise("", root_cfg)
                        : dedup_manifest_normalise(dir, m->root ? m->root : ".");
        if (!root)
            rc = dedup_error_set(err, DEDUP_ECONFIG,
                                 "%s: path '%s' is absolute or leaves the repository; set "
                                 "dedup.%s.root to the dataset's folder in the repository",
                                 name, root_cfg ? root_cfg : m->root, name);
    }
    for (size_t i = 0; rc == 0 && i < m->count; i++) {
        const dedup_manifest_row *r = &m->rows[i];
        const char *canon;
        dedup_role role;
        unsigned rank;
        char where[512];
        snprintf(where, sizeof(where), "%s:%zu", name, r->line);
        if (!resolve_split(c, r->split, strlen(r->split), &canon, &role, &rank)) {
            rc = unknown_split(c, r->split, where, err);
            break;
        }
        char *p = dedup_manifest_normalise(root, r->path);
        if (!p) {
            rc = leaves_repo(name, r->line, r->path, err);
            break;
        }
        const git_index_entry *e = p[0] ? entry_at(c, p) : NULL;
        if (e && dedup_path_is_image(p)) {
            rc = rule_add(&c->files, p, canon, role, rank, NULL, name, r->line, err);
        } else if (e) {
            const char *kept = keep_name(c, p, err);
            rc = kept ? load_yolo_list(c, p, e, canon, role, rank, kept, err) : DEDUP_ENOMEM;
            free(p);
        } else {
            rc = add_target(c, p, canon, role, rank, NULL, name, r->line, 1, err);
        }
    }
    free(root);
    free(root_cfg);
    free(dir);
    return rc;
}

/* Where a COCO file's file_names live when dedup.<file>.root is not set:
 * next to it, or in the standard layouts <dataset>/<split token>/ and
 * <dataset>/images/<split token>/ beside <dataset>/annotations/. */
static char *coco_base(side_ctx *c, const char *dir, const char *token, const dedup_manifest *m)
{
    char *parent = dir_of(dir);
    char *candidates[3] = {NULL, NULL, NULL};
    candidates[0] = strdup(dir);
    if (parent && token) {
        size_t n = strlen(parent) + strlen(token) + 16;
        candidates[1] = malloc(n);
        candidates[2] = malloc(n);
        if (candidates[1])
            snprintf(candidates[1], n, "%s%s%s", parent, parent[0] ? "/" : "", token);
        if (candidates[2])
            snprintf(candidates[2], n, "%s%simages/%s", parent, parent[0] ? "/" : "", token);
    }
    free(parent);
    char *chosen = NULL;
    for (int i = 0; i < 3 && !chosen && m->count > 0; i++) {
        if (!candidates[i])
            continue;
        char *p = dedup_manifest_normalise(candidates[i], m->rows[0].path);
        if (p && p[0] && entry_at(c, p)) {
            chosen = candidates[i];
            candidates[i] = NULL;
        }
        free(p);
    }
    for (int i = 0; i < 3; i++)
        free(candidates[i]);
    return chosen;
}

static int load_manifest(side_ctx *c, const char *name, dedup_error *err)
{
    const git_index_entry *e = entry_at(c, name);
    if (!e)
        return dedup_error_set(err, DEDUP_ECONFIG, "dedup.manifest names '%s', which is not in %s",
                               name, c->side->label);
    git_blob *blob = NULL;
    int rc = read_blob(c, &e->id, name, &blob, err);
    if (rc)
        return rc;
    dedup_manifest_kind kind = dedup_manifest_kind_of(name);
    dedup_manifest m = {0};
    rc = parse_manifest(c, name, kind, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
                        &m, err);
    git_blob_free(blob);
    if (rc)
        return rc;
    if (kind == DEDUP_MANIFEST_YOLO) {
        rc = load_yolo(c, name, &m, err);
        dedup_manifest_free(&m);
        return rc;
    }
    /* The split of list and COCO files comes from their name. */
    const char *file_split = NULL;
    dedup_role file_role = DEDUP_ROLE_NONE;
    unsigned file_rank = 0;
    char *token = NULL;
    if (kind == DEDUP_MANIFEST_LIST || kind == DEDUP_MANIFEST_COCO)
        rc = manifest_split(c, name, kind, &file_split, &file_role, &file_rank, &token, err);
    char *base_cfg = NULL, *root_cfg = NULL, *base = NULL;
    if (rc == 0)
        rc = dedup_cfg_string(c->repo, c->side->shared, "dedup.manifestBase", &base_cfg, err);
    if (rc == 0)
        rc = manifest_key(c, name, "root", &root_cfg, err);
    if (rc == 0 && base_cfg && strcmp(base_cfg, "manifest") != 0 && strcmp(base_cfg, "root") != 0)
        rc = dedup_error_set(err, DEDUP_ECONFIG,
                             "dedup.manifestBase: '%s' is not a valid value (use manifest or "
                             "root)",
                             base_cfg);
    if (rc == 0) {
        if (root_cfg) {
            base = dedup_manifest_normalise("", root_cfg);
            if (!base)
                rc = dedup_error_set(err, DEDUP_ECONFIG,
                                     "dedup.%s.root: '%s' is absolute or leaves the repository",
                                     name, root_cfg);
        } else if (base_cfg && strcmp(base_cfg, "root") == 0) {
            base = strdup("");
        } else {
            char *dir = dir_of(name);
            base = dir && kind == DEDUP_MANIFEST_COCO ? coco_base(c, dir, token, &m) : NULL;
            if (!base)
                base = dir;
            else
                free(dir);
        }
        if (rc == 0 && !base)
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < m.count; i++) {
        const dedup_manifest_row *r = &m.rows[i];
        const char *canon = file_split;
        dedup_role role = file_role;
        unsigned rank = file_rank;
        if (r->split && !resolve_split(c, r->split, strlen(r->split), &canon, &role, &rank)) {
            char where[512];
            snprintf(where, sizeof(where), "%s:%zu", name, r->line);
            rc = unknown_split(c, r->split, where, err);
            break;
        }
        char *p = dedup_manifest_normalise(base, r->path);
        if (!p)
            rc = leaves_repo(name, r->line, r->path, err);
        else
            rc = add_target(c, p, canon, role, rank, r->label, name, r->line, 1, err);
    }
    free(token);
    free(base);
    free(base_cfg);
    free(root_cfg);
    dedup_manifest_free(&m);
    return rc;
}

static int cmp_rule(const void *a, const void *b)
{
    const rule *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c)
        return c;
    c = strcmp(x->manifest, y->manifest);
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int conflict(const char *path, const rule *a, const rule *b, dedup_error *err)
{
    return dedup_error_set(err, DEDUP_ECONFIG,
                           "manifests disagree on '%s': %s:%zu puts it in %s, %s:%zu in %s; "
                           "fix one of them",
                           path, a->manifest, a->line, a->split, b->manifest, b->line, b->split);
}

static int load_manifests(side_ctx *c, dedup_error *err)
{
    /* Normalise the names first: rules point at c->manifests, which grows. */
    size_t n = c->nmanifests;
    for (size_t i = 0; i < n; i++) {
        char *norm = dedup_manifest_normalise("", c->manifests[i]);
        if (!norm || !norm[0]) {
            int rc = dedup_error_set(err, DEDUP_ECONFIG,
                                     "dedup.manifest: '%s' is not a path inside the repository",
                                     c->manifests[i]);
            free(norm);
            return rc;
        }
        free(c->manifests[i]);
        c->manifests[i] = norm;
    }
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = strcmp(c->manifests[i], c->manifests[j]) == 0;
        if (dup)
            continue;
        int rc = load_manifest(c, c->manifests[i], err);
        if (rc)
            return rc;
    }
    if (c->files.count > 1)
        qsort(c->files.v, c->files.count, sizeof(rule), cmp_rule);
    /* The same image twice: fine if they agree, an error if not. */
    size_t out = 0;
    for (size_t i = 0; i < c->files.count; i++) {
        if (out > 0 && strcmp(c->files.v[out - 1].path, c->files.v[i].path) == 0) {
            if (c->files.v[out - 1].split != c->files.v[i].split)
                return conflict(c->files.v[i].path, &c->files.v[out - 1], &c->files.v[i], err);
            free(c->files.v[i].path);
            free(c->files.v[i].label);
            continue;
        }
        c->files.v[out++] = c->files.v[i];
    }
    c->files.count = out;
    return 0;
}

/* The manifest rule for an image, or NULL; conflicts between rules are errors. */
static int manifest_rule(const side_ctx *c, const char *path, const rule **out, dedup_error *err)
{
    *out = NULL;
    size_t lo = 0, hi = c->files.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->files.v[mid].path, path);
        if (cmp == 0) {
            *out = &c->files.v[mid];
            break;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < c->dirs.count; i++) {
        const rule *d = &c->dirs.v[i];
        size_t n = strlen(d->path);
        if (n && (strncmp(path, d->path, n) != 0 || path[n] != '/'))
            continue;
        if (!*out)
            *out = d;
        else if ((*out)->split != d->split)
            return conflict(path, *out, d, err);
    }
    return 0;
}

/* --- the split of one path ----------------------------------------------------- */

typedef struct {
    const char *split; /* canonical */
    dedup_role role;
    unsigned rank;
    const char *label;
} placement;

/*
 * Where path belongs: *found is 0 when it is in no split (or excluded).
 * Attribute values are only valid until the next attribute call.
 */
static int place(side_ctx *c, const char *path, placement *out, int *found, dedup_error *err)
{
    *found = 0;
    memset(out, 0, sizeof(*out));
    /* Manifests that contradict each other are an error even where
     * .gitattributes decides: look them up first. */
    const rule *r = NULL;
    int rc = manifest_rule(c, path, &r, err);
    if (rc)
        return rc;
    const char *names[] = {"dedup", "dedup-split"};
    const char *values[2] = {NULL, NULL};
    if (c->attributes < 0 && (rc = find_attributes(c, err)))
        return rc;
    if (c->attributes &&
        git_attr_get_many(values, c->side->git, GIT_ATTR_CHECK_INDEX_ONLY, path, 2, names) < 0) {
        const git_error *e = git_error_last();
        return dedup_error_set(err, DEDUP_EREPO, "%s: cannot read its .gitattributes: %s", path,
                               e && e->message ? e->message : "unknown error");
    }
    if (git_attr_value(values[0]) == GIT_ATTR_VALUE_FALSE ||
        git_attr_value(values[1]) == GIT_ATTR_VALUE_FALSE)
        return 0; /* -dedup or -dedup-split: excluded */
    if (git_attr_value(values[1]) == GIT_ATTR_VALUE_TRUE)
        return dedup_error_set(err, DEDUP_ECONFIG,
                               "%s: .gitattributes sets dedup-split without a value; write "
                               "dedup-split=<name>",
                               path);
    if (git_attr_value(values[1]) == GIT_ATTR_VALUE_STRING) {
        const char *v = values[1];
        if (!resolve_split(c, v, strlen(v), &out->split, &out->role, &out->rank)) {
            char where[512];
            snprintf(where, sizeof(where), "%s (.gitattributes)", path);
            return unknown_split(c, v, where, err);
        }
        *found = 1;
        return 0;
    }
    if (r) {
        out->split = r->split;
        out->role = r->role;
        out->rank = r->rank;
        out->label = r->label;
        *found = 1;
        return 0;
    }
    if (!c->path_convention)
        return 0;
    dedup_split s = dedup_split_from_path(path);
    if (s == DEDUP_SPLIT_NONE)
        return 0;
    const char *name = dedup_split_name(s);
    if (!resolve_split(c, name, strlen(name), &out->split, &out->role, &out->rank)) {
        char where[512];
        snprintf(where, sizeof(where), "%s (path convention)", path);
        return unknown_split(c, name, where, err);
    }
    *found = 1;
    return 0;
}

/* --- the item list ------------------------------------------------------------- */

static const char *intern(dedup_item_list *l, const char *name)
{
    for (size_t i = 0; i < l->split_count; i++)
        if (strcmp(l->splits[i], name) == 0)
            return l->splits[i];
    char **grown = realloc(l->splits, (l->split_count + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    l->splits = grown;
    if (!(grown[l->split_count] = strdup(name)))
        return NULL;
    return grown[l->split_count++];
}

int dedup_item_list_note(dedup_item_list *l, const char *fmt, const char *a, const char *b,
                         dedup_error *err)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), fmt, a, b ? b : "");
    char **grown = realloc(l->notes, (l->note_count + 1) * sizeof(*grown));
    if (!grown)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    l->notes = grown;
    if (!(grown[l->note_count] = strdup(buf)))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    l->note_count++;
    return 0;
}

static int push_item(dedup_item_list *l, const char *path, const placement *p, const git_oid *id,
                     int is_symlink, dedup_error *err)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        dedup_item *grown = realloc(l->items, cap * sizeof(*grown));
        if (!grown)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory listing %zu images", l->count);
        l->items = grown;
        l->cap = cap;
    }
    dedup_item *it = &l->items[l->count];
    memset(it, 0, sizeof(*it));
    it->path = strdup(path);
    it->split = intern(l, p->split);
    it->label = p->label ? strdup(p->label) : NULL;
    if (!it->path || !it->split || (p->label && !it->label)) {
        free(it->path);
        free(it->label);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    it->role = p->role;
    it->rank = p->rank;
    git_oid_cpy(&it->oid, id);
    it->is_symlink = is_symlink;
    it->link = DEDUP_ITEM_NO_LINK;
    it->storage = DEDUP_STORAGE_BLOB;
    it->is_archive = dedup_path_is_archive(path);
    it->parent = DEDUP_ITEM_NO_LINK;
    l->count++;
    return 0;
}

static int is_blob_mode(uint32_t mode)
{
    return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

static size_t find_item(const dedup_item_list *l, const char *path)
{
    size_t lo = 0, hi = l->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(l->items[mid].path, path);
        if (cmp == 0)
            return mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return DEDUP_ITEM_NO_LINK;
}

static int set_problem(dedup_item *it, const char *fmt, const char *a, dedup_error *err)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), fmt, a);
    free(it->problem);
    it->problem = strdup(buf);
    return it->problem ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

/*
 * Follow a symbolic link inside the side's tree (never on disk): its target
 * text is a path relative to the link's folder.  The item takes the bytes
 * of the file it finally names, and `link` points at the first item on the
 * way, which is what the check compares roles with.
 */
static int resolve_link(side_ctx *c, dedup_item_list *l, size_t idx, dedup_error *err)
{
    char *cur = strdup(l->items[idx].path);
    git_oid id;
    git_oid_cpy(&id, &l->items[idx].oid);
    int rc = cur ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (int hop = 0; rc == 0; hop++) {
        if (hop == MAX_LINK_HOPS) {
            rc = set_problem(&l->items[idx],
                             "symbolic link: more than 16 links to follow (a loop?)", "", err);
            break;
        }
        git_blob *blob = NULL;
        if ((rc = read_blob(c, &id, cur, &blob, err)))
            break;
        size_t n = (size_t)git_blob_rawsize(blob);
        char *target = dedup_manifest_strndup(git_blob_rawcontent(blob), n);
        git_blob_free(blob);
        char *dir = dir_of(cur);
        char *next = target && dir && !memchr(target, '\0', n) && target[0]
                         ? dedup_manifest_normalise(dir, target)
                         : NULL;
        free(dir);
        if (!next || !next[0]) {
            rc = set_problem(&l->items[idx],
                             "symbolic link to '%s', outside the repository: not followed",
                             target ? target : "?", err);
            free(target);
            free(next);
            break;
        }
        free(target);
        free(cur);
        cur = next;
        const git_index_entry *e = entry_at(c, cur);
        size_t item = find_item(l, cur);
        if (item != DEDUP_ITEM_NO_LINK && item != idx && l->items[idx].link == DEDUP_ITEM_NO_LINK)
            l->items[idx].link = item;
        if (!e) {
            rc = set_problem(&l->items[idx],
                             is_dir(c, cur) ? "symbolic link to the folder '%s', not an image"
                                            : "symbolic link to '%s', which is not in the tree",
                             cur, err);
            break;
        }
        if (e->mode == GIT_FILEMODE_LINK) {
            git_oid_cpy(&id, &e->id);
            continue;
        }
        if (!is_blob_mode(e->mode)) {
            rc =
                set_problem(&l->items[idx], "symbolic link to '%s', which is not a file", cur, err);
            break;
        }
        git_oid_cpy(&l->items[idx].oid, &e->id);
        break;
    }
    free(cur);
    return rc;
}

void dedup_item_list_free(dedup_item_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].path);
        free(list->items[i].label);
        free(list->items[i].problem);
        free(list->items[i].object);
        free(list->items[i].file);
        free(list->items[i].member);
    }
    free(list->items);
    for (size_t i = 0; i < list->split_count; i++)
        free(list->splits[i]);
    free(list->splits);
    for (size_t i = 0; i < list->note_count; i++)
        free(list->notes[i]);
    free(list->notes);
    memset(list, 0, sizeof(*list));
}

const char *dedup_storage_name(dedup_storage storage)
{
    switch (storage) {
    case DEDUP_STORAGE_LFS:
        return "lfs";
    case DEDUP_STORAGE_DVC:
        return "dvc";
    case DEDUP_STORAGE_MEMBER:
        return "member";
    default:
        return "blob";
    }
}

int dedup_item_list_add_member(dedup_item_list *l, size_t archive, const char *member,
                               const char *problem, size_t *index, dedup_error *err)
{
    if (archive >= l->count || l->items[archive].storage == DEDUP_STORAGE_MEMBER)
        return dedup_error_set(err, DEDUP_EINVAL, "not an archive item");
    const dedup_item *a = &l->items[archive];
    size_t n = strlen(a->path) + strlen(member) + 2;
    char *path = malloc(n);
    if (!path)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    snprintf(path, n, "%s:%s", a->path, member);
    placement p = {a->split, a->role, a->rank, a->label};
    git_oid zero;
    memset(&zero, 0, sizeof(zero));
    int rc = push_item(l, path, &p, &zero, 0, err);
    free(path);
    if (rc)
        return rc;
    dedup_item *it = &l->items[l->count - 1];
    /* push_item may have moved the array: read the archive again. */
    it->split = l->items[archive].split;
    it->is_new = l->items[archive].is_new;
    it->storage = DEDUP_STORAGE_MEMBER;
    it->is_archive = 0;
    it->parent = archive;
    it->member = strdup(member);
    it->problem = problem ? strdup(problem) : NULL;
    if (!it->member || (problem && !it->problem))
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    l->new_count += (size_t)it->is_new;
    *index = l->count - 1;
    return 0;
}

/* --- DVC ----------------------------------------------------------------------------
 *
 * DVC-tracked images are not in git's index: git holds .dvc files and
 * dvc.lock, which name each output by path and md5, and the bytes are in
 * DVC's cache.  The cache is found as DVC finds it: dedup.dvcCacheDir
 * (ours, relative to the top of the work tree), else cache.dir of
 * .dvc/config.local (on disk: it is never committed) or of the side's
 * .dvc/config (relative to .dvc/), else .dvc/cache.  A bare repository has
 * no cache unless one is configured: its objects are then missing.
 */

static char *join2(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, a[0] && a[strlen(a) - 1] != '/' ? "/" : "", b);
    return p;
}

static int read_disk_file(const char *path, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return -2;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int dvc_cache_dir(side_ctx *c, dedup_error *err)
{
    if (c->dvc_cache_known)
        return 0;
    c->dvc_cache_known = 1;
    const char *work = git_repository_workdir(c->side->git);
    char *configured = NULL;
    int rc = dedup_repo_config_path(c->repo, "dedup.dvcCacheDir", &configured, err);
    if (rc)
        return rc;
    if (configured) {
        c->dvc_cache = configured[0] == '/'
                           ? strdup(configured)
                           : join2(work ? work : dedup_repo_common_dir(c->repo), configured);
        free(configured);
        return c->dvc_cache ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    char *dir = NULL;
    if (work) {
        char *local = join2(work, ".dvc/config.local");
        char *buf = NULL;
        size_t len = 0;
        if (local && read_disk_file(local, &buf, &len) == 0)
            rc = dedup_dvc_config_cache_dir(&dir, buf, len, err);
        free(buf);
        free(local);
        if (rc)
            return dedup_error_prefix(err, ".dvc/config.local");
    }
    const git_index_entry *e = dir ? NULL : entry_at(c, ".dvc/config");
    if (e) {
        git_blob *blob = NULL;
        if ((rc = read_blob(c, &e->id, ".dvc/config", &blob, err)))
            return rc;
        rc = dedup_dvc_config_cache_dir(&dir, git_blob_rawcontent(blob),
                                        (size_t)git_blob_rawsize(blob), err);
        git_blob_free(blob);
        if (rc)
            return dedup_error_prefix(err, ".dvc/config");
    }
    if (dir && dir[0] == '/') {
        c->dvc_cache = dir;
        return 0;
    }
    if (work) {
        char *base = join2(work, ".dvc");
        c->dvc_cache = base ? join2(base, dir ? dir : "cache") : NULL;
        free(base);
        if (!c->dvc_cache)
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    free(dir);
    return rc;
}

/* Where DVC keeps md5 (DVC 3: files/md5/xx/..., before: xx/...): the one that
 * exists, else DVC 3's, so that the "missing" message names a real place. */
static char *dvc_object_path(const side_ctx *c, const char *md5, int is_dir)
{
    if (!c->dvc_cache)
        return strdup("no DVC cache in a bare repository; set dedup.dvcCacheDir");
    char rel[96];
    char *first = NULL;
    for (int layout = 0; layout < 2; layout++) {
        snprintf(rel, sizeof(rel), "%s%.2s/%s%s", layout == 0 ? "files/md5/" : "", md5, md5 + 2,
                 is_dir ? ".dir" : "");
        char *p = join2(c->dvc_cache, rel);
        if (!p) {
            free(first);
            return NULL;
        }
        if (file_exists(p)) {
            free(first);
            return p;
        }
        if (!first)
            first = p;
        else
            free(p);
    }
    return first;
}

static int push_dvc(dedup_item_list *l, const char *path, const placement *p, const char *md5,
                    uint64_t size, const char *file, dedup_error *err)
{
    git_oid zero;
    memset(&zero, 0, sizeof(zero));
    int rc = push_item(l, path, p, &zero, 0, err);
    if (rc)
        return rc;
    dedup_item *it = &l->items[l->count - 1];
    it->storage = DEDUP_STORAGE_DVC;
    it->object = strdup(md5);
    it->file = strdup(file);
    it->size = size;
    return it->object && it->file ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

/* A tracked directory whose listing cannot be read stands as one item, so
 * that the check fails closed: in its split when the folder is in one,
 * else in none (its images might be in any). */
static int push_dvc_dir_problem(side_ctx *c, dedup_item_list *l, const char *dir, const char *md5,
                                const char *file, const char *why, int missing, dedup_error *err)
{
    char *probe = join2(dir, "x");
    placement p;
    int found = 0;
    int rc = probe ? place(c, probe, &p, &found, err)
                   : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    free(probe);
    if (rc)
        return rc;
    if (!found) {
        memset(&p, 0, sizeof(p));
        p.split = "(unknown)";
        p.role = DEDUP_ROLE_NONE;
    }
    if ((rc = push_dvc(l, dir, &p, md5, 0, file, err)))
        return rc;
    dedup_item *it = &l->items[l->count - 1];
    it->missing = missing;
    it->is_archive = 0;
    return set_problem(it, "%s", why, err);
}

static int dvc_dir(side_ctx *c, dedup_item_list *l, const char *name, const char *dir,
                   const dedup_dvc_out *o, dedup_error *err)
{
    char *listing = dvc_object_path(c, o->md5, 1);
    if (!listing)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    int got = c->dvc_cache ? read_disk_file(listing, &buf, &len) : -1;
    char why[DEDUP_ERROR_MSG_MAX];
    int rc = 0;
    if (got != 0) {
        snprintf(why, sizeof(why),
                 "the folder is tracked by DVC (%s), but its listing %s.dir is not in the DVC "
                 "cache (%s): run 'dvc pull' (or 'dvc fetch') to check its images",
                 name, o->md5, listing);
        rc = push_dvc_dir_problem(c, l, dir, o->md5, listing, why, 1, err);
        free(listing);
        return rc;
    }
    dedup_dvc_dir d;
    dedup_error perr;
    dedup_error_clear(&perr);
    rc = dedup_dvc_parse_dir(&d, buf, len, listing, &perr);
    free(buf);
    if (rc == DEDUP_ENOMEM) {
        free(listing);
        return dedup_error_set(err, rc, "%s", perr.msg);
    }
    if (rc) {
        snprintf(why, sizeof(why), "DVC directory listing is damaged: %.900s", perr.msg);
        rc = push_dvc_dir_problem(c, l, dir, o->md5, listing, why, 0, err);
        free(listing);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < d.count; i++) {
        char *path = dedup_manifest_normalise(dir, d.entries[i].relpath);
        size_t n = strlen(dir);
        if (!path || strncmp(path, dir, n) != 0 || path[n] != '/') {
            snprintf(why, sizeof(why),
                     "DVC directory listing %s names '%.200s', outside the folder", listing,
                     d.entries[i].relpath);
            free(path);
            rc = push_dvc_dir_problem(c, l, dir, o->md5, listing, why, 0, err);
            break;
        }
        if (dedup_path_is_image(path) || dedup_path_is_archive(path)) {
            placement p;
            int found;
            rc = place(c, path, &p, &found, err);
            char *file = rc == 0 && found ? dvc_object_path(c, d.entries[i].md5, 0) : NULL;
            if (rc == 0 && found)
                rc = file ? push_dvc(l, path, &p, d.entries[i].md5, 0, file, err)
                          : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
            free(file);
        }
        free(path);
    }
    dedup_dvc_dir_free(&d);
    free(listing);
    return rc;
}

static int dvc_file(side_ctx *c, dedup_item_list *l, const git_index_entry *e, int is_lock,
                    dedup_error *err)
{
    git_blob *blob = NULL;
    int rc = read_blob(c, &e->id, e->path, &blob, err);
    if (rc)
        return rc;
    dedup_dvc_file f;
    rc = dedup_dvc_parse(&f, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), is_lock,
                         e->path, err);
    git_blob_free(blob);
    if (rc)
        return rc;
    char *dir = dir_of(e->path);
    if (!dir)
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < f.count; i++) {
        const dedup_dvc_out *o = &f.outs[i];
        char *path = dedup_manifest_normalise(dir, o->path);
        if (!path || !path[0]) {
            rc = dedup_error_set(err, DEDUP_ECONFIG,
                                 "%s:%zu: output '%s' is absolute or leaves the repository",
                                 e->path, o->line, o->path);
        } else if ((rc = dvc_cache_dir(c, err)) == 0) {
            if (o->is_dir) {
                rc = dvc_dir(c, l, e->path, path, o, err);
            } else if (dedup_path_is_image(path) || dedup_path_is_archive(path)) {
                placement p;
                int found;
                rc = place(c, path, &p, &found, err);
                char *file = rc == 0 && found ? dvc_object_path(c, o->md5, 0) : NULL;
                if (rc == 0 && found)
                    rc = file ? push_dvc(l, path, &p, o->md5, o->size, file, err)
                              : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
                free(file);
            }
        }
        free(path);
    }
    free(dir);
    dedup_dvc_file_free(&f);
    return rc;
}

int dedup_path_is_dvc(const char *path, int *is_lock)
{
    const char *base = base_name(path);
    size_t n = strlen(base);
    *is_lock = strcmp(base, "dvc.lock") == 0;
    return *is_lock || (n > 4 && strcmp(base + n - 4, ".dvc") == 0);
}

static int collect_dvc(side_ctx *c, dedup_item_list *out, dedup_error *err)
{
    git_index *index = c->side->index;
    size_t n = git_index_entrycount(index);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const git_index_entry *e = git_index_get_byindex(index, i);
        int is_lock;
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 ||
            (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD) || !is_blob_mode(e->mode) ||
            !dedup_path_is_dvc(e->path, &is_lock))
            continue;
        rc = dvc_file(c, out, e, is_lock, err);
    }
    return rc;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const dedup_item *)a)->path, ((const dedup_item *)b)->path);
}

/* Back into path order after DVC items joined the git ones.  A path both
 * in git and tracked by DVC keeps git's entry (what git would commit). */
static void sort_items(dedup_item_list *l)
{
    qsort(l->items, l->count, sizeof(dedup_item), cmp_item);
    size_t out = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (out > 0 && strcmp(l->items[out - 1].path, l->items[i].path) == 0) {
            dedup_item *keep = &l->items[out - 1], *drop = &l->items[i];
            if (keep->storage == DEDUP_STORAGE_DVC && drop->storage != DEDUP_STORAGE_DVC) {
                dedup_item t = *keep;
                *keep = *drop;
                *drop = t;
            }
            free(drop->path);
            free(drop->label);
            free(drop->problem);
            free(drop->object);
            free(drop->file);
            free(drop->member);
            continue;
        }
        l->items[out++] = l->items[i];
    }
    l->count = out;
}

static int collect_entries(side_ctx *c, dedup_item_list *out, dedup_error *err)
{
    git_index *index = c->side->index;
    size_t n = git_index_entrycount(index);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const git_index_entry *e = git_index_get_byindex(index, i);
        /* Conflict stages and intent-to-add entries are never committed. */
        if (!e || GIT_INDEX_ENTRY_STAGE(e) != 0 ||
            (e->flags_extended & GIT_INDEX_ENTRY_INTENT_TO_ADD))
            continue;
        int link = e->mode == GIT_FILEMODE_LINK;
        int submodule = e->mode == GIT_FILEMODE_COMMIT;
        if (!link && !submodule && !is_blob_mode(e->mode))
            continue;
        if (!submodule && !dedup_path_is_image(e->path) && !dedup_path_is_archive(e->path))
            continue;
        placement p;
        int found;
        if ((rc = place(c, e->path, &p, &found, err)) || !found)
            continue;
        if (submodule) {
            rc = dedup_item_list_note(out,
                                      "%s: a submodule in split %s: skipped (git-dedup does not "
                                      "look inside submodules)",
                                      e->path, p.split, err);
            continue;
        }
        rc = push_item(out, e->path, &p, &e->id, link, err);
    }
    size_t from_git = out->count;
    if (rc == 0)
        rc = collect_dvc(c, out, err);
    if (rc == 0 && out->count > from_git)
        sort_items(out);
    for (size_t i = 0; i < out->count && rc == 0; i++)
        if (out->items[i].is_symlink)
            rc = resolve_link(c, out, i, err);
    return rc;
}

int dedup_side_collect(dedup_repo *repo, const dedup_side *side, dedup_item_list *out,
                       dedup_error *err)
{
    side_ctx c = {0};
    c.repo = repo;
    c.side = side;
    int rc = read_config(&c, err);
    if (rc == 0)
        rc = load_manifests(&c, err);
    if (rc == 0)
        rc = collect_entries(&c, out, err);
    ctx_free(&c);
    return rc;
}

/* --- for the fast path ------------------------------------------------------------ */

int dedup_side_watch(dedup_repo *repo, const dedup_side *side, dedup_side_watchlist *out,
                     dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    side_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    c->repo = repo;
    c->side = side;
    out->ctx = c;
    int rc = read_config(c, err);
    size_t n = c->nmanifests;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *norm = dedup_manifest_normalise("", c->manifests[i]);
        if (!norm) {
            rc = dedup_error_set(err, DEDUP_ECONFIG,
                                 "dedup.manifest: '%s' is not a path inside the repository",
                                 c->manifests[i]);
            break;
        }
        free(c->manifests[i]);
        c->manifests[i] = norm;
        /* The list files a data.yaml names are manifests too. */
        const git_index_entry *e = entry_at(c, norm);
        if (!e || dedup_manifest_kind_of(norm) != DEDUP_MANIFEST_YOLO)
            continue;
        git_blob *blob = NULL;
        dedup_manifest m = {0};
        dedup_error ignored;
        if (read_blob(c, &e->id, norm, &blob, &ignored) != 0 ||
            dedup_manifest_parse_yolo(&m, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob),
                                      norm, &ignored) != 0) {
            /* A broken data.yaml is reported by the full check. */
            git_blob_free(blob);
            continue;
        }
        git_blob_free(blob);
        char *dir = dir_of(norm);
        char *root = dir ? dedup_manifest_normalise(dir, m.root ? m.root : ".") : NULL;
        for (size_t r = 0; root && rc == 0 && r < m.count; r++) {
            char *p = dedup_manifest_normalise(root, m.rows[r].path);
            if (p && !keep_name(c, p, err))
                rc = DEDUP_ENOMEM;
            free(p);
        }
        free(root);
        free(dir);
        dedup_manifest_free(&m);
    }
    if (rc == 0) {
        out->paths = c->manifests;
        out->count = c->nmanifests;
    }
    return rc;
}

void dedup_side_watch_free(dedup_side_watchlist *w)
{
    side_ctx *c = w->ctx;
    if (c) {
        ctx_free(c);
        free(c);
    }
    memset(w, 0, sizeof(*w));
}

int dedup_side_watch_image(dedup_side_watchlist *w, const char *path, int *in_split,
                           dedup_error *err)
{
    side_ctx *c = w->ctx;
    *in_split = 1;
    if (c->nmanifests > 0)
        return 0; /* a manifest may name any image: look closer on the slow path */
    placement p;
    return place(c, path, &p, in_split, err);
}
