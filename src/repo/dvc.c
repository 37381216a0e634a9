/*
 * dvc.c - the files through which git knows about DVC-tracked data: .dvc
 * files and dvc.lock (YAML, read with libyaml), a tracked directory's
 * listing <md5>.dir (JSON, read with yajl), and the cache.dir of
 * .dvc/config (INI).  Pure functions over buffers, so they can be fuzzed.
 *
 * We assume DVC's own formats as DVC 2 and 3 write them: an output is a
 * mapping with "path" and "md5" (DVC 3 adds "hash: md5"), and a listing is
 * an array of {"md5", "relpath"} objects.  An md5 is checked to be exactly
 * 32 lower-case hex digits here, because the caller makes a cache path of
 * it: nothing else may ever reach the file system.
 */
#include "manifest_internal.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>
#include <yaml.h>

void dedup_dvc_file_free(dedup_dvc_file *f)
{
    for (size_t i = 0; i < f->count; i++)
        free(f->outs[i].path);
    free(f->outs);
    memset(f, 0, sizeof(*f));
}

void dedup_dvc_dir_free(dedup_dvc_dir *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->entries[i].relpath);
    free(d->entries);
    memset(d, 0, sizeof(*d));
}

/* 32 lower-case hex digits, optionally followed by ".dir" when allowed. */
static int parse_md5(const char *s, size_t n, char out[33], int *is_dir)
{
    *is_dir = 0;
    if (n == 36 && memcmp(s + 32, ".dir", 4) == 0) {
        *is_dir = 1;
        n = 32;
    }
    if (n != 32)
        return -1;
    for (size_t i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    memcpy(out, s, 32);
    out[32] = '\0';
    return 0;
}

/* --- .dvc and dvc.lock --------------------------------------------------------- */

static int scalar_is(const yaml_node_t *n, const char *s)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (scalar_is(yaml_document_get_node(doc, p->key), key))
            return yaml_document_get_node(doc, p->value);
    return NULL;
}

static size_t line_of(const yaml_node_t *n)
{
    return n->start_mark.line + 1;
}

static int add_out(dedup_dvc_file *f, yaml_document_t *doc, yaml_node_t *o, const char *name,
                   dedup_error *err)
{
    if (o->type != YAML_MAPPING_NODE)
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: an output must be a mapping", name,
                               line_of(o));
    yaml_node_t *path = map_get(doc, o, "path");
    yaml_node_t *md5 = map_get(doc, o, "md5");
    yaml_node_t *size = map_get(doc, o, "size");
    if (!md5)
        return 0; /* not cached (cache: false): DVC does not hold its bytes */
    if (md5->type != YAML_SCALAR_NODE)
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: md5 must be a string", name,
                               line_of(md5));
    if (!path || path->type != YAML_SCALAR_NODE || path->data.scalar.length == 0)
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: an output with an md5 needs a path",
                               name, line_of(o));
    dedup_dvc_out out = {0};
    if (parse_md5((const char *)md5->data.scalar.value, md5->data.scalar.length, out.md5,
                  &out.is_dir) != 0)
        return dedup_error_set(
            err, DEDUP_EINVAL,
            "%s:%zu: md5 '%.*s' is not 32 lower-case hexadecimal digits (with '.dir' "
            "for a directory)",
            name, line_of(md5), (int)(md5->data.scalar.length > 80 ? 80 : md5->data.scalar.length),
            (const char *)md5->data.scalar.value);
    if (size && size->type == YAML_SCALAR_NODE) {
        uint64_t v = 0;
        size_t n = size->data.scalar.length;
        const unsigned char *s = size->data.scalar.value;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
                return dedup_error_set(err, DEDUP_EINVAL,
                                       "%s:%zu: size is not a whole number of bytes", name,
                                       line_of(size));
            v = v * 10 + (uint64_t)(s[i] - '0');
        }
        out.size = v;
    }
    if (memchr(path->data.scalar.value, '\0', path->data.scalar.length))
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: path holds a NUL byte", name,
                               line_of(path));
    out.path =
        dedup_manifest_strndup((const char *)path->data.scalar.value, path->data.scalar.length);
    out.line = line_of(o);
    if (!out.path)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        dedup_dvc_out *grown = realloc(f->outs, cap * sizeof(*grown));
        if (!grown) {
            free(out.path);
            return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
        }
        f->outs = grown;
        f->cap = cap;
    }
    f->outs[f->count++] = out;
    return 0;
}

static int add_outs(dedup_dvc_file *f, yaml_document_t *doc, yaml_node_t *outs, const char *name,
                    dedup_error *err)
{
    if (!outs)
        return 0;
    if (outs->type != YAML_SEQUENCE_NODE)
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: outs must be a list", name,
                               line_of(outs));
    int rc = 0;
    for (yaml_node_item_t *i = outs->data.sequence.items.start;
         rc == 0 && i < outs->data.sequence.items.top; i++) {
        yaml_node_t *o = yaml_document_get_node(doc, *i);
        if (o)
            rc = add_out(f, doc, o, name, err);
    }
    return rc;
}

/* Every stage of a mapping name -> {cmd, deps, outs}. */
static int add_stages(dedup_dvc_file *f, yaml_document_t *doc, yaml_node_t *stages,
                      const char *name, dedup_error *err)
{
    if (stages->type != YAML_MAPPING_NODE)
        return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: stages must be a mapping", name,
                               line_of(stages));
    int rc = 0;
    for (yaml_node_pair_t *p = stages->data.mapping.pairs.start;
         rc == 0 && p < stages->data.mapping.pairs.top; p++) {
        yaml_node_t *stage = yaml_document_get_node(doc, p->value);
        if (stage && stage->type == YAML_MAPPING_NODE)
            rc = add_outs(f, doc, map_get(doc, stage, "outs"), name, err);
    }
    return rc;
}

int dedup_dvc_parse(dedup_dvc_file *out, const char *buf, size_t len, int is_lock, const char *name,
                    dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    yaml_document_t doc;
    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: not valid YAML: %s", name,
                             parser.problem_mark.line + 1,
                             parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = 0; /* an empty file tracks nothing */
    } else if (root->type != YAML_MAPPING_NODE) {
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: the top level must be a mapping", name,
                             line_of(root));
    } else if (!is_lock) {
        rc = add_outs(out, &doc, map_get(&doc, root, "outs"), name, err);
    } else {
        yaml_node_t *stages = map_get(&doc, root, "stages");
        rc = stages ? add_stages(out, &doc, stages, name, err)
                    : add_stages(out, &doc, root, name, err); /* dvc.lock 1.0 */
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc)
        dedup_dvc_file_free(out);
    return rc;
}

/* --- <md5>.dir listings --------------------------------------------------------- */

typedef struct {
    dedup_dvc_dir *out;
    const char *name;
    dedup_error *err;
    int depth;
    int want; /* 1: the next value is md5, 2: relpath */
    int in_entry;
    char *relpath;
    char md5[33];
    int have_md5;
    int failed;
} dir_ctx;

static int dir_fail(dir_ctx *c, int code, const char *why)
{
    dedup_error_set(c->err, code, "%s: %s", c->name, why);
    c->failed = 1;
    return 0;
}

static int dir_scalar(dir_ctx *c)
{
    if (c->depth < 2)
        return dir_fail(c, DEDUP_EINVAL, "not a DVC directory listing (an array of objects)");
    c->want = 0;
    return 1;
}

static int dir_null(void *ctx)
{
    return dir_scalar(ctx);
}

static int dir_bool(void *ctx, int b)
{
    (void)b;
    return dir_scalar(ctx);
}

static int dir_number(void *ctx, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return dir_scalar(ctx);
}

static int dir_string(void *ctx, const unsigned char *s, size_t n)
{
    dir_ctx *c = ctx;
    if (c->depth != 2)
        return dir_scalar(c);
    if (c->want == 1) {
        int is_dir;
        if (parse_md5((const char *)s, n, c->md5, &is_dir) != 0 || is_dir)
            return dir_fail(c, DEDUP_EINVAL, "an md5 is not 32 lower-case hexadecimal digits");
        c->have_md5 = 1;
    } else if (c->want == 2) {
        if (memchr(s, '\0', n))
            return dir_fail(c, DEDUP_EINVAL, "a relpath holds a NUL byte");
        free(c->relpath);
        if (!(c->relpath = dedup_manifest_strndup((const char *)s, n)))
            return dir_fail(c, DEDUP_ENOMEM, "out of memory");
    }
    c->want = 0;
    return 1;
}

static int dir_start_map(void *ctx)
{
    dir_ctx *c = ctx;
    if (c->depth != 1)
        return dir_fail(c, DEDUP_EINVAL, "not a DVC directory listing (an array of objects)");
    c->depth++;
    c->in_entry = 1;
    c->have_md5 = 0;
    c->want = 0;
    free(c->relpath);
    c->relpath = NULL;
    return 1;
}

static int dir_key(void *ctx, const unsigned char *s, size_t n)
{
    dir_ctx *c = ctx;
    c->want = (n == 3 && memcmp(s, "md5", 3) == 0)       ? 1
              : (n == 7 && memcmp(s, "relpath", 7) == 0) ? 2
                                                         : 0;
    return 1;
}

static int dir_end_map(void *ctx)
{
    dir_ctx *c = ctx;
    c->depth--;
    if (!c->have_md5 || !c->relpath || !c->relpath[0])
        return dir_fail(c, DEDUP_EINVAL, "an entry lacks its md5 or relpath");
    dedup_dvc_dir *d = c->out;
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        dedup_dvc_entry *grown = realloc(d->entries, cap * sizeof(*grown));
        if (!grown)
            return dir_fail(c, DEDUP_ENOMEM, "out of memory");
        d->entries = grown;
        d->cap = cap;
    }
    d->entries[d->count].relpath = c->relpath;
    memcpy(d->entries[d->count].md5, c->md5, sizeof(c->md5));
    d->count++;
    c->relpath = NULL;
    return 1;
}

static int dir_start_array(void *ctx)
{
    dir_ctx *c = ctx;
    if (c->depth != 0)
        return dir_fail(c, DEDUP_EINVAL, "not a DVC directory listing (an array of objects)");
    c->depth++;
    return 1;
}

static int dir_end_array(void *ctx)
{
    ((dir_ctx *)ctx)->depth--;
    return 1;
}

int dedup_dvc_parse_dir(dedup_dvc_dir *out, const char *buf, size_t len, const char *name,
                        dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    static const yajl_callbacks cb = {dir_null,    dir_bool,        NULL,          NULL,
                                      dir_number,  dir_string,      dir_start_map, dir_key,
                                      dir_end_map, dir_start_array, dir_end_array};
    dir_ctx c = {0};
    c.out = out;
    c.name = name;
    c.err = err;
    yajl_handle h = yajl_alloc(&cb, NULL, &c);
    if (!h)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    yajl_status st = yajl_parse(h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    int rc = 0;
    if (c.failed) {
        rc = err ? err->code : DEDUP_EINVAL;
    } else if (st != yajl_status_ok) {
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s: not a valid JSON directory listing", name);
    } else if (c.depth != 0) {
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s: not a DVC directory listing", name);
    }
    yajl_free(h);
    free(c.relpath);
    if (rc)
        dedup_dvc_dir_free(out);
    return rc;
}

/* --- .dvc/config --------------------------------------------------------------- */

static void trim(const char **a, const char **b)
{
    while (*a < *b && (**a == ' ' || **a == '\t'))
        (*a)++;
    while (*b > *a && ((*b)[-1] == ' ' || (*b)[-1] == '\t' || (*b)[-1] == '\r'))
        (*b)--;
}

int dedup_dvc_config_cache_dir(char **out, const char *buf, size_t len, dedup_error *err)
{
    *out = NULL;
    int in_cache = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = eol ? eol : end;
        p = eol ? eol + 1 : end;
        trim(&a, &b);
        if (a == b || *a == '#' || *a == ';')
            continue;
        if (*a == '[') {
            /* configobj section names may be quoted: [cache], ['cache'] */
            const char *s = a + 1, *e = b;
            if (e > s && e[-1] == ']')
                e--;
            trim(&s, &e);
            if (e - s >= 2 && (*s == '\'' || *s == '"') && e[-1] == *s)
                s++, e--;
            in_cache = e - s == 5 && memcmp(s, "cache", 5) == 0;
            continue;
        }
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (!in_cache || !eq)
            continue;
        const char *ka = a, *kb = eq, *va = eq + 1, *vb = b;
        trim(&ka, &kb);
        trim(&va, &vb);
        if (kb - ka != 3 || memcmp(ka, "dir", 3) != 0)
            continue;
        if (vb - va >= 2 && (*va == '\'' || *va == '"') && vb[-1] == *va)
            va++, vb--;
        free(*out);
        *out = NULL;
        if (memchr(va, '\0', (size_t)(vb - va)))
            return dedup_error_set(err, DEDUP_EINVAL, "DVC config: cache dir holds a NUL byte");
        if (!(*out = dedup_manifest_strndup(va, (size_t)(vb - va))))
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory");
    }
    if (*out && !(*out)[0]) {
        free(*out);
        *out = NULL;
    }
    return 0;
}
