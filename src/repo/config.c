/*
 * config.c - configuration as git sees it: `git -c` settings (passed to us
 * in GIT_CONFIG_PARAMETERS and GIT_CONFIG_COUNT/KEY_n/VALUE_n, which libgit2
 * 1.5 ignores) override the repository's, global and system config that
 * libgit2 reads.  Values are parsed with libgit2's own parsers, so "1k",
 * "yes" and friends mean what they mean to git.
 */
#include "repo_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    config_override *grown =
        realloc(repo->overrides, (repo->override_count + 1) * sizeof(*grown));
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
            rc = dedup_error_set(err, DEDUP_ECONFIG, "GIT_CONFIG_PARAMETERS is malformed: %s",
                                 env);
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
 * The value of key as a string: from an override, else from libgit2.
 * *set is 0 when the key is not configured.  *raw is NULL for a key given
 * without a value (which git reads as boolean true).
 */
static int lookup(dedup_repo *repo, const char *key, int *set, char **raw, dedup_error *err)
{
    *set = 0;
    *raw = NULL;
    const config_override *o = find_override(repo, key);
    if (o) {
        *set = 1;
        if (o->value && !(*raw = strdup(o->value)))
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
        return 0;
    }
    git_buf buf = {0};
    int rc = git_config_get_string_buf(&buf, repo->config, key);
    if (rc == GIT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return git_fail(err, DEDUP_ECONFIG, key);
    *set = 1;
    *raw = strdup(buf.ptr);
    git_buf_dispose(&buf);
    return *raw ? 0 : dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
}

int dedup_repo_config_int(dedup_repo *repo, const char *key, int min, int max, int def, int *out,
                          dedup_error *err)
{
    int set;
    char *raw;
    int rc = lookup(repo, key, &set, &raw, err);
    if (rc)
        return rc;
    *out = def;
    if (!set)
        return 0;
    int32_t v;
    if (!raw || git_config_parse_int32(&v, raw) < 0)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: '%s' is not a whole number", key,
                             raw ? raw : "");
    else if (v < min || v > max)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: %d is out of range (%d to %d)", key,
                             (int)v, min, max);
    else
        *out = v;
    free(raw);
    return rc;
}

int dedup_repo_config_bool(dedup_repo *repo, const char *key, int def, int *out, dedup_error *err)
{
    int set;
    char *raw;
    int rc = lookup(repo, key, &set, &raw, err);
    if (rc)
        return rc;
    *out = def;
    if (!set)
        return 0;
    int v = 1; /* a key without a value is true, as in git */
    if (raw && git_config_parse_bool(&v, raw) < 0)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: '%s' is not a boolean", key, raw);
    else
        *out = v;
    free(raw);
    return rc;
}

int dedup_repo_config_string(dedup_repo *repo, const char *key, char **out, dedup_error *err)
{
    int set;
    int rc = lookup(repo, key, &set, out, err);
    if (rc == 0 && set && !*out)
        rc = dedup_error_set(err, DEDUP_ECONFIG, "%s: a value is required", key);
    return rc;
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
