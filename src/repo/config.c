/*
 * config.c - configuration as git sees it: `git -c` settings (passed to us
 * in GIT_CONFIG_PARAMETERS and GIT_CONFIG_COUNT/KEY_n/VALUE_n, which libgit2
 * 1.5 ignores) override the repository's, global and system config that
 * libgit2 reads, which override the team's committed .gitdedup (like git
 * LFS's .lfsconfig: shared defaults that any machine can override).  Values are parsed with
 * libgit2's own parsers, so "1k", "yes" and friends mean what they mean to git.
 */
#include "repo_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* section.name and name are case-insensitive, a subsection is not. */
static char *normalise_key(const char *key, size_t len)
{
    char *k = malloc(len + 1);
    if (!k)
        return NULL;
    memcpy(k, key, len);
    k[len] = '\0';
    char *first = strchr(k, '.');
    char *last = strrchr(k, '.');
    for (char *p = k; *p; p++)
        if (!first || p < first || p > last)
            *p = ascii_lower(*p);
    return k;
}

static int add_override(dedup_repo *repo, const char *key, size_t key_len, const char *value,
                        size_t value_len, int has_value, dedup_error *err)
{
    config_override *grown = realloc(repo->overrides, (repo->override_count + 1) * sizeof(*grown));
    if (!grown)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    repo->overrides = grown;
    config_override *o = &repo->overrides[repo->override_count];
    o->key = normalise_key(key, key_len);
    o->value = NULL;
    if (has_value) {
        o->value = malloc(value_len + 1);
        if (o->value) {
            memcpy(o->value, value, value_len);
            o->value[value_len] = '\0';
        }
    }
    if (!o->key || (has_value && !o->value)) {
        free(o->key);
        free(o->value);
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    repo->override_count++;
    return 0;
}

/* One shell single-quoted word ('...' with '\'' for a quote) at *p. */
static int sq_dequote(const char **p, char *out, size_t *out_len)
{
    const char *s = *p;
    size_t n = 0;
    if (*s != '\'')
        return -1;
    s++;
    for (;;) {
        if (*s == '\0')
            return -1;
        if (*s == '\'') {
            if (s[1] == '\\' && s[2] == '\'' && s[3] == '\'') {
                out[n++] = '\'';
                s += 4;
                continue;
            }
            s++;
            break;
        }
        out[n++] = *s++;
    }
    *p = s;
    *out_len = n;
    return 0;
}

/*
 * GIT_CONFIG_PARAMETERS holds space-separated entries, each either
 * 'key'='value', 'key' (no value) or the older 'key=value'.
 */
static int parse_parameters(dedup_repo *repo, const char *env, dedup_error *err)
{
    size_t cap = strlen(env) + 1;
    char *key = malloc(cap), *value = malloc(cap);
    int rc = 0;
    if (!key || !value) {
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        goto done;
    }
    const char *p = env;
    while (rc == 0) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t key_len, value_len = 0;
        if (sq_dequote(&p, key, &key_len) != 0) {
            rc = dedup_error_set(err, DEDUP_ECONFIG, "GIT_CONFIG_PARAMETERS is malformed: %s", env);
            break;
        }
        if (*p == '=') {
            p++;
            if (*p == '\'') {
                if (sq_dequote(&p, value, &value_len) != 0) {
                    rc = dedup_error_set(err, DEDUP_ECONFIG,
                                         "GIT_CONFIG_PARAMETERS is malformed: %s", env);
                    break;
                }
            }
            rc = add_override(repo, key, key_len, value, value_len, 1, err);
        } else {
            char *eq = memchr(key, '=', key_len);
            if (eq)
                rc = add_override(repo, key, (size_t)(eq - key), eq + 1,
                                  key_len - (size_t)(eq - key) - 1, 1, err);
            else
                rc = add_override(repo, key, key_len, NULL, 0, 0, err);
        }
    }
done:
    free(key);
    free(value);
    return rc;
}

int dedup_repo_load_overrides(dedup_repo *repo, dedup_error *err)
{
    const char *count_env = getenv("GIT_CONFIG_COUNT");
    if (count_env && *count_env) {
        char *end;
        long count = strtol(count_env, &end, 10);
        if (*end != '\0' || count < 0 || count > 100000)
            return dedup_error_set(err, DEDUP_ECONFIG, "GIT_CONFIG_COUNT is not a count: %s",
                                   count_env);
        for (long i = 0; i < count; i++) {
            char name[48];
            snprintf(name, sizeof(name), "GIT_CONFIG_KEY_%ld", i);
            const char *key = getenv(name);
            snprintf(name, sizeof(name), "GIT_CONFIG_VALUE_%ld", i);
            const char *value = getenv(name);
            if (!key || !*key || !value)
                return dedup_error_set(err, DEDUP_ECONFIG,
                                       "GIT_CONFIG_COUNT is %ld but %s is missing", count,
                                       !key || !*key ? "a GIT_CONFIG_KEY" : name);
            int rc = add_override(repo, key, strlen(key), value, strlen(value), 1, err);
            if (rc)
                return rc;
        }
    }
    const char *params = getenv("GIT_CONFIG_PARAMETERS");
    return params && *params ? parse_parameters(repo, params, err) : 0;
}

void dedup_repo_free_overrides(dedup_repo *repo)
{
    for (size_t i = 0; i < repo->override_count; i++) {
        free(repo->overrides[i].key);
        free(repo->overrides[i].value);
    }
    free(repo->overrides);
    repo->overrides = NULL;
    repo->override_count = 0;
}

/* The last override for key, or NULL. */
static const config_override *find_override(dedup_repo *repo, const char *key)
{
    char *norm = normalise_key(key, strlen(key));
    const config_override *found = NULL;
    for (size_t i = repo->override_count; norm && i-- > 0;)
        if (strcmp(repo->overrides[i].key, norm) == 0) {
            found = &repo->overrides[i];
            break;
        }
    free(norm);
    return found;
}

static int git_fail(dedup_error *err, int code, const char *what)
{
    const git_error *e = git_error_last();
    return dedup_error_set(err, code, "%s: %s", what,
                           e && e->message ? e->message : "unknown error");
}

/*
 * The value of key as a string: from an override, else from libgit2's
 * snapshot, else from the committed .gitdedup (`shared`, may be NULL).
 * *set is 0 when the key is not configured.  *raw is NULL for a key given
 * without a value (which git reads as boolean true).  *where names the
 * committed file when the value came from it, for error messages.
 */
static int lookup(dedup_repo *repo, const dedup_shared_config *shared, const char *key, int *set,
                  char **raw, const char **where, dedup_error *err)
{
    *set = 0;
    *raw = NULL;
    *where = NULL;
    const config_override *o = find_override(repo, key);
    if (o) {
        *set = 1;
        if (o->value && !(*raw = strdup(o->value)))
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        return 0;
    }
    git_config *layers[2] = {repo->config, shared ? shared->cfg : NULL};
    for (int i = 0; i < 2; i++) {
        if (!layers[i])
            continue;
        git_config_entry *entry = NULL;
        int rc = git_config_get_entry(&entry, layers[i], key);
        if (rc == GIT_ENOTFOUND)
            continue;
        if (rc < 0)
            return git_fail(err, DEDUP_ECONFIG, key);
        *set = 1;
        *where = i == 1 ? shared->origin : NULL;
        if (entry->value && !(*raw = strdup(entry->value))) {
            git_config_entry_free(entry);
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        }
        git_config_entry_free(entry);
        return 0;
    }
    return 0;
}

/* "key" or "key (in .gitdedup at HEAD)" for messages. */
static const char *key_where(char *buf, size_t cap, const char *key, const char *where)
{
    if (!where)
        return key;
    snprintf(buf, cap, "%s (in %s)", key, where);
    return buf;
}

int dedup_cfg_int64(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                    int64_t min, int64_t max, int64_t def, int64_t *out, dedup_error *err)
{
    int set;
    char *raw;
    const char *where;
    char kb[320];
    int rc = lookup(repo, shared, key, &set, &raw, &where, err);
    if (rc)
        return rc;
    *out = def;
    if (!set)
        return 0;
    int64_t v;
    if (!raw || git_config_parse_int64(&v, raw) < 0)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: '%s' is not a whole number",
                             key_where(kb, sizeof(kb), key, where), raw ? raw : "");
    else if (v < min || v > max)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: %lld is out of range (%lld to %lld)",
                             key_where(kb, sizeof(kb), key, where), (long long)v, (long long)min,
                             (long long)max);
    else
        *out = v;
    free(raw);
    return rc;
}

/* A narrowing of dedup_cfg_int64, so a value too large for an int ("2g")
 * is reported as out of range rather than as not a number. */
int dedup_cfg_int(dedup_repo *repo, const dedup_shared_config *shared, const char *key, int min,
                  int max, int def, int *out, dedup_error *err)
{
    int64_t v;
    int rc = dedup_cfg_int64(repo, shared, key, min, max, def, &v, err);
    *out = rc ? def : (int)v;
    return rc;
}

int dedup_cfg_bool(dedup_repo *repo, const dedup_shared_config *shared, const char *key, int def,
                   int *out, dedup_error *err)
{
    int set;
    char *raw;
    const char *where;
    char kb[320];
    int rc = lookup(repo, shared, key, &set, &raw, &where, err);
    if (rc)
        return rc;
    *out = def;
    if (!set)
        return 0;
    int v = 1; /* a key without a value is true, as in git */
    if (raw && git_config_parse_bool(&v, raw) < 0)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: '%s' is not a boolean",
                             key_where(kb, sizeof(kb), key, where), raw);
    else
        *out = v;
    free(raw);
    return rc;
}

int dedup_cfg_string(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                     char **out, dedup_error *err)
{
    int set;
    const char *where;
    char kb[320];
    int rc = lookup(repo, shared, key, &set, out, &where, err);
    if (rc == 0 && set && !*out)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: a value is required",
                             key_where(kb, sizeof(kb), key, where));
    return rc;
}

int dedup_repo_config_int(dedup_repo *repo, const char *key, int min, int max, int def, int *out,
                          dedup_error *err)
{
    return dedup_cfg_int(repo, &repo->shared, key, min, max, def, out, err);
}

int dedup_repo_config_int64(dedup_repo *repo, const char *key, int64_t min, int64_t max,
                            int64_t def, int64_t *out, dedup_error *err)
{
    return dedup_cfg_int64(repo, &repo->shared, key, min, max, def, out, err);
}

int dedup_repo_config_bool(dedup_repo *repo, const char *key, int def, int *out, dedup_error *err)
{
    return dedup_cfg_bool(repo, &repo->shared, key, def, out, err);
}

int dedup_repo_config_string(dedup_repo *repo, const char *key, char **out, dedup_error *err)
{
    return dedup_cfg_string(repo, &repo->shared, key, out, err);
}

int dedup_repo_config_path(dedup_repo *repo, const char *key, char **out, dedup_error *err)
{
    char *raw = NULL;
    int rc = dedup_repo_config_string(repo, key, &raw, err);
    *out = NULL;
    if (rc || !raw)
        return rc;
    git_buf buf = {0};
    if (git_config_parse_path(&buf, raw) < 0) {
        rc = git_fail(err, DEDUP_ECONFIG, key);
    } else {
        *out = strdup(buf.ptr);
        if (!*out)
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    git_buf_dispose(&buf);
    free(raw);
    return rc;
}

/* --- multi-valued keys ---------------------------------------------------- */

typedef struct {
    char **values;
    int *levels;
    size_t count;
    int failed;
} multi_acc;

static int multi_add(multi_acc *a, const char *value, int level)
{
    char **v = realloc(a->values, (a->count + 1) * sizeof(*v));
    if (v)
        a->values = v;
    int *l = realloc(a->levels, (a->count + 1) * sizeof(*l));
    if (l)
        a->levels = l;
    char *copy = strdup(value ? value : "");
    if (!v || !l || !copy) {
        free(copy);
        a->failed = 1;
        return -1;
    }
    a->values[a->count] = copy;
    a->levels[a->count] = level;
    a->count++;
    return 0;
}

static int multi_cb(const git_config_entry *entry, void *payload)
{
    return multi_add(payload, entry->value, (int)entry->level);
}

static void multi_free(multi_acc *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->values[i]);
    free(a->values);
    free(a->levels);
    memset(a, 0, sizeof(*a));
}

int dedup_cfg_multi(dedup_repo *repo, const dedup_shared_config *shared, const char *key,
                    char ***out, size_t *count, dedup_error *err)
{
    *out = NULL;
    *count = 0;
    multi_acc all = {0}, layer = {0};
    int rc = 0;
    git_config *layers[2] = {shared ? shared->cfg : NULL, repo->config};
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!layers[i])
            continue;
        int grc = git_config_get_multivar_foreach(layers[i], key, NULL, multi_cb, &layer);
        if (layer.failed)
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        else if (grc < 0 && grc != GIT_ENOTFOUND)
            rc = git_fail(err, DEDUP_ECONFIG, key);
        /* Lowest level first (system, global, repository), each in file order. */
        for (size_t a = 1; rc == 0 && a < layer.count; a++)
            for (size_t b = a; b > 0 && layer.levels[b - 1] > layer.levels[b]; b--) {
                char *tv = layer.values[b];
                int tl = layer.levels[b];
                layer.values[b] = layer.values[b - 1];
                layer.levels[b] = layer.levels[b - 1];
                layer.values[b - 1] = tv;
                layer.levels[b - 1] = tl;
            }
        for (size_t a = 0; rc == 0 && a < layer.count; a++)
            if (multi_add(&all, layer.values[a], 0) != 0)
                rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        multi_free(&layer);
    }
    char *norm = normalise_key(key, strlen(key));
    if (!norm && rc == 0)
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < repo->override_count; i++)
        if (strcmp(repo->overrides[i].key, norm) == 0 &&
            multi_add(&all, repo->overrides[i].value, 0) != 0)
            rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    free(norm);
    if (rc) {
        multi_free(&all);
        return rc;
    }
    /* An empty value clears the list so far, as for git's own multi-valued keys. */
    size_t first = 0;
    for (size_t i = 0; i < all.count; i++)
        if (all.values[i][0] == '\0')
            first = i + 1;
    size_t n = 0;
    for (size_t i = 0; i < all.count; i++) {
        if (i >= first && all.values[i][0] != '\0')
            all.values[n++] = all.values[i];
        else
            free(all.values[i]);
    }
    free(all.levels);
    if (n == 0) {
        free(all.values);
        return 0;
    }
    *out = all.values;
    *count = n;
    return 0;
}

int dedup_repo_config_multi(dedup_repo *repo, const char *key, char ***out, size_t *count,
                            dedup_error *err)
{
    return dedup_cfg_multi(repo, &repo->shared, key, out, count, err);
}

/* --- the committed .gitdedup ---------------------------------------------- */

void dedup_shared_config_free(dedup_shared_config *shared)
{
    git_config_free(shared->cfg);
    free(shared->origin);
    memset(shared, 0, sizeof(*shared));
}

/* Replace every occurrence of the temporary file's name in msg by `where`. */
static void rename_in_message(char *msg, size_t cap, const char *tmp, const char *where)
{
    char out[DEDUP_ERROR_MSG_MAX];
    size_t n = 0, tl = strlen(tmp), wl = strlen(where);
    for (const char *p = msg; *p && n + 1 < sizeof(out);) {
        if (strncmp(p, tmp, tl) == 0 && n + wl + 1 < sizeof(out)) {
            memcpy(out + n, where, wl);
            n += wl;
            p += tl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    snprintf(msg, cap, "%s", out);
}

/*
 * libgit2 1.5 parses git-config syntax only from files, so the committed
 * blob is written to a private temporary file (mkstemp, mode 0600, under
 * $TMPDIR: the repository may be read-only, and a commit that changes
 * nothing we check must not create files in it), parsed, copied into an
 * in-memory snapshot and deleted at once.
 */
int dedup_shared_config_load(dedup_repo *repo, const git_oid *blob_id, const char *where,
                             dedup_shared_config *out, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->origin = strdup(where);
    if (!out->origin)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    git_blob *blob = NULL;
    if (git_blob_lookup(&blob, repo->git, blob_id) < 0) {
        int rc = git_fail(err, DEDUP_EREPO, where);
        dedup_shared_config_free(out);
        return rc;
    }
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s/git-dedup-gitdedup-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(tmp);
    int rc = 0;
    if (fd < 0) {
        rc = dedup_error_set(err, DEDUP_EIO,
                             "%s: cannot make a temporary file to parse it in %s: %s", where, tmp,
                             strerror(errno));
        git_blob_free(blob);
        dedup_shared_config_free(out);
        return rc;
    }
    const char *data = git_blob_rawcontent(blob);
    size_t len = (size_t)git_blob_rawsize(blob), done = 0;
    while (rc == 0 && done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = dedup_error_set(err, DEDUP_EIO, "%s: cannot write %s: %s", where, tmp,
                                 strerror(errno));
        else
            done += (size_t)w;
    }
    close(fd);
    git_blob_free(blob);
    git_config *file = NULL;
    if (rc == 0 && git_config_open_ondisk(&file, tmp) < 0) {
        rc = git_fail(err, DEDUP_ECONFIG, where);
        rename_in_message(err->msg, sizeof(err->msg), tmp, where);
    }
    if (rc == 0 && git_config_snapshot(&out->cfg, file) < 0)
        rc = git_fail(err, DEDUP_ECONFIG, where);
    git_config_free(file);
    unlink(tmp);
    /* A committed file must not pull in files from whoever checks it out.
     * (Names are compared by hand: libgit2 1.5's regex matcher leaks its
     * match data on every entry that does not match.) */
    git_config_iterator *it = NULL;
    git_config_entry *entry;
    if (rc == 0 && git_config_iterator_new(&it, out->cfg) == 0) {
        while (rc == 0 && git_config_next(&entry, it) == 0)
            if (strncmp(entry->name, "include.", 8) == 0 ||
                strncmp(entry->name, "includeif.", 10) == 0)
                rc = dedup_error_set(err, DEDUP_ECONFIG,
                                     "%s: %s: includes are not allowed in the committed config",
                                     where, entry->name);
        git_config_iterator_free(it);
    }
    if (rc)
        dedup_shared_config_free(out);
    return rc;
}
