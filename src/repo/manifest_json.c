/*
 * manifest_json.c - JSON manifests, read with yajl's streaming parser: JSON
 * lines (one object per line) and COCO annotation files (images[].file_name).
 *
 * We stream rather than build a document tree because COCO annotation files
 * of real datasets are hundreds of megabytes (instances_train2017.json is
 * about 450 MB) and a tree of them would take gigabytes; only the file names
 * are kept.  Positions come from the parser's byte offset, turned into line
 * numbers for the error messages.
 */
#include "manifest_internal.h"

#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

/* Line of byte `offset`, counting from a known (line, offset) pair forward. */
typedef struct {
    const char *buf;
    size_t len;
    size_t counted; /* bytes scanned so far */
    size_t line;    /* line of buf[counted] */
} line_counter;

static size_t line_at(line_counter *lc, size_t offset)
{
    if (offset > lc->len)
        offset = lc->len;
    for (; lc->counted < offset; lc->counted++)
        if (lc->buf[lc->counted] == '\n')
            lc->line++;
    return lc->line;
}

/* The parser's own complaint, without its multi-line context. */
static int parse_error(yajl_handle h, const char *name, size_t line, const char *what,
                       dedup_error *err)
{
    unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
    char text[256];
    snprintf(text, sizeof(text), "%s", msg ? (const char *)msg : "syntax error");
    if (msg)
        yajl_free_error(h, msg);
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: %s: %s", name, line, what, text);
}

/* --- JSON lines -------------------------------------------------------------- */

typedef struct {
    const dedup_manifest_columns *cols;
    const char *name;
    size_t line;
    int depth;
    int top_is_map;
    int want; /* which member the next value belongs to: 0 none, 1 path, 2 split, 3 label */
    char *path, *split, *label;
    dedup_error *err;
    int failed;
} jsonl_ctx;

static int jl_fail(jsonl_ctx *c, const char *fmt, const char *arg)
{
    char buf[256];
    snprintf(buf, sizeof(buf), fmt, arg);
    dedup_error_set(c->err, DEDUP_EINVAL, "%s:%zu: %s", c->name, c->line, buf);
    c->failed = 1;
    return 0;
}

static const char *jl_member(const jsonl_ctx *c)
{
    return c->want == 1   ? c->cols->path_column
           : c->want == 2 ? c->cols->split_column
                          : c->cols->label_column;
}

static int jl_scalar(jsonl_ctx *c, const char *s, size_t n, int is_string)
{
    if (c->depth == 0)
        return jl_fail(c, "%s", "each line must be a JSON object");
    if (c->depth != 1 || c->want == 0)
        return 1;
    if (!is_string && c->want != 3)
        return jl_fail(c, "'%s' must be a string", jl_member(c));
    char **slot = c->want == 1 ? &c->path : c->want == 2 ? &c->split : &c->label;
    free(*slot);
    *slot = dedup_manifest_strndup(s, n);
    c->want = 0;
    if (!*slot) {
        dedup_error_set(c->err, DEDUP_ENOMEM, "%s: out of memory", c->name);
        c->failed = 1;
        return 0;
    }
    return 1;
}

static int jl_null(void *ctx)
{
    jsonl_ctx *c = ctx;
    if (c->depth == 1 && c->want == 3) { /* "label": null is no label */
        c->want = 0;
        return 1;
    }
    return jl_scalar(c, "", 0, 0);
}

static int jl_bool(void *ctx, int v)
{
    (void)v;
    return jl_scalar(ctx, "", 0, 0);
}

static int jl_number(void *ctx, const char *s, size_t n)
{
    return jl_scalar(ctx, s, n, 0);
}

static int jl_string(void *ctx, const unsigned char *s, size_t n)
{
    return jl_scalar(ctx, (const char *)s, n, 1);
}

static int jl_start(void *ctx, int is_map)
{
    jsonl_ctx *c = ctx;
    if (c->depth == 0 && !is_map)
        return jl_fail(c, "%s", "each line must be a JSON object");
    if (c->depth == 1 && c->want != 0 && c->want != 3)
        return jl_fail(c, "'%s' must be a string", jl_member(c));
    if (c->depth == 1 && c->want == 3)
        return jl_fail(c, "'%s' must be a string or a number", jl_member(c));
    if (c->depth == 0)
        c->top_is_map = 1;
    c->depth++;
    return 1;
}

static int jl_start_map(void *ctx)
{
    return jl_start(ctx, 1);
}

static int jl_start_array(void *ctx)
{
    return jl_start(ctx, 0);
}

static int jl_end(void *ctx)
{
    ((jsonl_ctx *)ctx)->depth--;
    return 1;
}

static int jl_key(void *ctx, const unsigned char *k, size_t n)
{
    jsonl_ctx *c = ctx;
    if (c->depth != 1)
        return 1;
    c->want = 0;
    if (strlen(c->cols->path_column) == n && memcmp(k, c->cols->path_column, n) == 0)
        c->want = 1;
    else if (strlen(c->cols->split_column) == n && memcmp(k, c->cols->split_column, n) == 0)
        c->want = 2;
    else if (c->cols->label_column && strlen(c->cols->label_column) == n &&
             memcmp(k, c->cols->label_column, n) == 0)
        c->want = 3;
    return 1;
}

static const yajl_callbacks jsonl_callbacks = {
    jl_null,      jl_bool, NULL,   NULL,           jl_number, jl_string,
    jl_start_map, jl_key,  jl_end, jl_start_array, jl_end,
};

static int jsonl_line(dedup_manifest *out, const char *s, size_t n, size_t line,
                      const dedup_manifest_columns *cols, const char *name, dedup_error *err)
{
    jsonl_ctx c = {0};
    c.cols = cols;
    c.name = name;
    c.line = line;
    c.err = err;
    yajl_handle h = yajl_alloc(&jsonl_callbacks, NULL, &c);
    if (!h)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    yajl_status st = yajl_parse(h, (const unsigned char *)s, n);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    int rc = 0;
    if (c.failed)
        rc = err->code ? err->code : DEDUP_EINVAL;
    else if (st != yajl_status_ok)
        rc = parse_error(h, name, line, "not valid JSON", err);
    else if (!c.path || !c.split)
        rc = dedup_error_set(err, DEDUP_EINVAL,
                             "%s:%zu: no \"%s\" member; name the right one with %s", name, line,
                             !c.path ? cols->path_column : cols->split_column,
                             !c.path ? "dedup.pathColumn" : "dedup.splitColumn");
    else if (!c.path[0] || !c.split[0])
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: the \"%s\" member is empty", name, line,
                             !c.path[0] ? cols->path_column : cols->split_column);
    yajl_free(h);
    if (rc == 0) {
        rc = dedup_manifest_push(out, c.path, c.split, c.label, line, name, err);
        c.path = c.split = c.label = NULL;
    }
    free(c.path);
    free(c.split);
    free(c.label);
    return rc;
}

int dedup_manifest_parse_jsonl(dedup_manifest *out, const char *buf, size_t len,
                               const dedup_manifest_columns *cols, const char *name,
                               dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = DEDUP_MANIFEST_JSONL;
    size_t pos = 0, line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t a = pos;
        while (a < end && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r'))
            a++;
        if (a < end) {
            int rc = jsonl_line(out, buf + a, end - a, line, cols, name, err);
            if (rc) {
                dedup_manifest_free(out);
                return rc;
            }
        }
        pos = end + 1;
        line++;
    }
    return 0;
}

/* --- COCO ---------------------------------------------------------------------- */

typedef struct {
    dedup_manifest *out;
    const char *name;
    yajl_handle h;
    line_counter lines;
    int depth;
    int key1_images; /* the current top-level key is "images" */
    int in_images;   /* inside the images array (depth 2) */
    int seen_images;
    int key3_file; /* the current key of an image object is "file_name" */
    size_t image_line;
    char *file_name;
    size_t images; /* image objects seen */
    dedup_error *err;
    int failed;
} coco_ctx;

static size_t coco_line(coco_ctx *c)
{
    return line_at(&c->lines, yajl_get_bytes_consumed(c->h));
}

static int coco_fail(coco_ctx *c, const char *what)
{
    dedup_error_set(c->err, DEDUP_EINVAL, "%s:%zu: %s", c->name, coco_line(c), what);
    c->failed = 1;
    return 0;
}

static int coco_value(coco_ctx *c, const char *s, size_t n, int is_string)
{
    if (c->depth == 0)
        return coco_fail(c, "not a COCO annotation file: the top level must be an object");
    if (c->in_images && c->depth == 2)
        return coco_fail(c, "images[] must hold objects");
    if (c->in_images && c->depth == 3 && c->key3_file) {
        c->key3_file = 0;
        if (!is_string || n == 0)
            return coco_fail(c, "file_name must be a non-empty string");
        free(c->file_name);
        c->file_name = dedup_manifest_strndup(s, n);
        c->image_line = coco_line(c);
        if (!c->file_name) {
            dedup_error_set(c->err, DEDUP_ENOMEM, "%s: out of memory", c->name);
            c->failed = 1;
            return 0;
        }
    }
    if (c->depth == 1 && c->key1_images)
        return coco_fail(c, "images must be an array");
    return 1;
}

static int coco_null(void *ctx)
{
    return coco_value(ctx, "", 0, 0);
}

static int coco_bool(void *ctx, int v)
{
    (void)v;
    return coco_value(ctx, "", 0, 0);
}

static int coco_number(void *ctx, const char *s, size_t n)
{
    return coco_value(ctx, s, n, 0);
}

static int coco_string(void *ctx, const unsigned char *s, size_t n)
{
    return coco_value(ctx, (const char *)s, n, 1);
}

static int coco_start_map(void *ctx)
{
    coco_ctx *c = ctx;
    if (c->depth == 1 && c->key1_images)
        return coco_fail(c, "images must be an array");
    if (c->in_images && c->depth == 3 && c->key3_file)
        return coco_fail(c, "file_name must be a non-empty string");
    c->depth++;
    if (c->in_images && c->depth == 3) {
        c->images++;
        free(c->file_name);
        c->file_name = NULL;
        c->image_line = coco_line(c);
    }
    return 1;
}

static int coco_start_array(void *ctx)
{
    coco_ctx *c = ctx;
    if (c->depth == 0)
        return coco_fail(c, "not a COCO annotation file: the top level must be an object");
    if (c->in_images && c->depth == 2)
        return coco_fail(c, "images[] must hold objects");
    if (c->in_images && c->depth == 3 && c->key3_file)
        return coco_fail(c, "file_name must be a non-empty string");
    c->depth++;
    if (c->depth == 2 && c->key1_images) {
        c->in_images = 1;
        c->key1_images = 0;
    }
    return 1;
}

static int coco_end_map(void *ctx)
{
    coco_ctx *c = ctx;
    if (c->in_images && c->depth == 3) {
        if (!c->file_name) {
            char what[96];
            snprintf(what, sizeof(what), "images[%zu] has no file_name", c->images - 1);
            return coco_fail(c, what);
        }
        int rc =
            dedup_manifest_push(c->out, c->file_name, NULL, NULL, c->image_line, c->name, c->err);
        c->file_name = NULL;
        if (rc) {
            c->failed = 1;
            return 0;
        }
    }
    c->depth--;
    return 1;
}

static int coco_end_array(void *ctx)
{
    coco_ctx *c = ctx;
    if (c->in_images && c->depth == 2) {
        c->in_images = 0;
        c->seen_images = 1;
    }
    c->depth--;
    return 1;
}

static int coco_key(void *ctx, const unsigned char *k, size_t n)
{
    coco_ctx *c = ctx;
    if (c->depth == 1)
        c->key1_images = n == 6 && memcmp(k, "images", 6) == 0;
    else if (c->in_images && c->depth == 3)
        c->key3_file = n == 9 && memcmp(k, "file_name", 9) == 0;
    return 1;
}

static const yajl_callbacks coco_callbacks = {
    coco_null,    coco_bool,        NULL,           NULL,
    coco_number,  coco_string,      coco_start_map, coco_key,
    coco_end_map, coco_start_array, coco_end_array,
};

int dedup_manifest_parse_coco(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = DEDUP_MANIFEST_COCO;
    coco_ctx c = {0};
    c.out = out;
    c.name = name;
    c.err = err;
    /* Offsets are the parser's, counted from after a byte order mark. */
    size_t skip = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    c.lines.buf = buf + skip;
    c.lines.len = len - skip;
    c.lines.line = 1;
    c.h = yajl_alloc(&coco_callbacks, NULL, &c);
    if (!c.h)
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    yajl_status st = yajl_parse(c.h, (const unsigned char *)buf + skip, len - skip);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(c.h);
    int rc = 0;
    if (c.failed) {
        rc = err->code ? err->code : DEDUP_EINVAL;
    } else if (st != yajl_status_ok) {
        size_t line = line_at(&c.lines, yajl_get_bytes_consumed(c.h));
        rc = parse_error(c.h, name, line, "not valid JSON", err);
    } else if (!c.seen_images) {
        rc = dedup_error_set(err, DEDUP_EINVAL,
                             "%s:1: not a COCO annotation file: no \"images\" array", name);
    }
    free(c.file_name);
    yajl_free(c.h);
    if (rc)
        dedup_manifest_free(out);
    return rc;
}
