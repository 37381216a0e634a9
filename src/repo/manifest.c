/*
 * manifest.c - the text manifests: CSV and TSV (RFC 4180 quoting), plain
 * list files, and the path normalisation every manifest kind shares.
 *
 * These are pure functions over a buffer (no git, no files) so that they can
 * be unit-tested and fuzzed on their own.  Errors name the manifest and the
 * line, because the person reading them has to go and fix that line.
 */
#include "manifest_internal.h"

#include <stdlib.h>
#include <string.h>

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m)
        return 0;
    for (size_t i = 0; i < m; i++)
        if (ascii_lower(s[n - m + i]) != suffix[i])
            return 0;
    return 1;
}

dedup_manifest_kind dedup_manifest_kind_of(const char *path)
{
    if (ends_with_ci(path, ".csv"))
        return DEDUP_MANIFEST_CSV;
    if (ends_with_ci(path, ".tsv"))
        return DEDUP_MANIFEST_TSV;
    if (ends_with_ci(path, ".jsonl") || ends_with_ci(path, ".ndjson"))
        return DEDUP_MANIFEST_JSONL;
    if (ends_with_ci(path, ".json"))
        return DEDUP_MANIFEST_COCO;
    if (ends_with_ci(path, ".yaml") || ends_with_ci(path, ".yml"))
        return DEDUP_MANIFEST_YOLO;
    return DEDUP_MANIFEST_LIST;
}

void dedup_manifest_free(dedup_manifest *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->rows[i].path);
        free(m->rows[i].split);
        free(m->rows[i].label);
    }
    free(m->rows);
    free(m->root);
    dedup_manifest_kind kind = m->kind;
    memset(m, 0, sizeof(*m));
    m->kind = kind;
}

char *dedup_manifest_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Takes ownership of path, split and label (even on failure). */
int dedup_manifest_push(dedup_manifest *m, char *path, char *split, char *label, size_t line,
                        const char *name, dedup_error *err)
{
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        dedup_manifest_row *grown = realloc(m->rows, cap * sizeof(*grown));
        if (!grown) {
            free(path);
            free(split);
            free(label);
            return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
        }
        m->rows = grown;
        m->cap = cap;
    }
    dedup_manifest_row *r = &m->rows[m->count++];
    r->path = path;
    r->split = split;
    r->label = label;
    r->line = line;
    return 0;
}

/* --- CSV / TSV ----------------------------------------------------------- */

typedef struct {
    char **fields;
    size_t count, cap;
    size_t line; /* where the record starts */
} csv_record;

static void record_clear(csv_record *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->fields[i]);
    r->count = 0;
}

static int record_add(csv_record *r, const char *s, size_t n)
{
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        char **grown = realloc(r->fields, cap * sizeof(*grown));
        if (!grown)
            return -1;
        r->fields = grown;
        r->cap = cap;
    }
    char *f = dedup_manifest_strndup(s, n);
    if (!f)
        return -1;
    r->fields[r->count++] = f;
    return 0;
}

typedef struct {
    const char *buf;
    size_t len, pos;
    size_t line; /* physical line of buf[pos] */
    char delim;
    const char *name;
    char *scratch; /* one field being unquoted */
    size_t scratch_cap;
} csv_reader;

/*
 * Read the next record into r.  Returns 1 when a record was read, 0 at the
 * end of the buffer, negative on a syntax error.
 */
static int csv_next(csv_reader *c, csv_record *r, dedup_error *err)
{
    record_clear(r);
    if (c->pos >= c->len)
        return 0;
    r->line = c->line;
    for (;;) {
        size_t n = 0;
        if (c->pos < c->len && c->buf[c->pos] == '"') {
            size_t opened = c->line;
            c->pos++;
            for (;;) {
                if (c->pos >= c->len)
                    return dedup_error_set(err, DEDUP_EINVAL,
                                           "%s:%zu: bad quote: the quoted field opened on line "
                                           "%zu never closes",
                                           c->name, opened, opened);
                char ch = c->buf[c->pos];
                if (ch == '"') {
                    if (c->pos + 1 < c->len && c->buf[c->pos + 1] == '"') {
                        c->pos += 2;
                    } else {
                        c->pos++;
                        break;
                    }
                } else {
                    if (ch == '\n')
                        c->line++;
                    c->pos++;
                }
                if (n + 1 >= c->scratch_cap) {
                    size_t cap = c->scratch_cap ? c->scratch_cap * 2 : 256;
                    char *grown = realloc(c->scratch, cap);
                    if (!grown)
                        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", c->name);
                    c->scratch = grown;
                    c->scratch_cap = cap;
                }
                c->scratch[n++] = ch;
            }
            /* After the closing quote only a delimiter or a line end may follow. */
            if (c->pos < c->len && c->buf[c->pos] != c->delim && c->buf[c->pos] != '\n' &&
                !(c->buf[c->pos] == '\r' && c->pos + 1 < c->len && c->buf[c->pos + 1] == '\n') &&
                !(c->buf[c->pos] == '\r' && c->pos + 1 == c->len))
                return dedup_error_set(err, DEDUP_EINVAL,
                                       "%s:%zu: bad quote: text after the closing quote of a "
                                       "field",
                                       c->name, c->line);
            if (record_add(r, c->scratch ? c->scratch : "", n) != 0)
                return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", c->name);
        } else {
            size_t start = c->pos;
            while (c->pos < c->len && c->buf[c->pos] != c->delim && c->buf[c->pos] != '\n') {
                if (c->buf[c->pos] == '"')
                    return dedup_error_set(err, DEDUP_EINVAL,
                                           "%s:%zu: bad quote: a quote inside an unquoted field "
                                           "(quote the whole field and double the quote)",
                                           c->name, c->line);
                c->pos++;
            }
            size_t end = c->pos;
            if (end > start && c->buf[end - 1] == '\r' && (end == c->len || c->buf[end] == '\n'))
                end--;
            if (record_add(r, c->buf + start, end - start) != 0)
                return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", c->name);
        }
        if (c->pos < c->len && c->buf[c->pos] == '\r')
            c->pos++;
        if (c->pos >= c->len)
            return 1;
        if (c->buf[c->pos] == '\n') {
            c->pos++;
            c->line++;
            return 1;
        }
        c->pos++; /* the delimiter: another field follows */
    }
}

static int is_blank_record(const csv_record *r)
{
    return r->count == 1 && r->fields[0][0] == '\0';
}

static void list_columns(const csv_record *header, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < header->count && n + 1 < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? ", " : "", header->fields[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int find_column(const csv_record *header, const char *want)
{
    for (size_t i = 0; i < header->count; i++)
        if (strcmp(header->fields[i], want) == 0)
            return (int)i;
    return -1;
}

int dedup_manifest_parse_csv(dedup_manifest *out, const char *buf, size_t len, char delimiter,
                             const dedup_manifest_columns *cols, const char *name, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = delimiter == '\t' ? DEDUP_MANIFEST_TSV : DEDUP_MANIFEST_CSV;
    csv_reader c = {buf, len, 0, 1, delimiter, name, NULL, 0};
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c.pos = 3;
    csv_record header = {0}, rec = {0};
    int rc;
    while ((rc = csv_next(&c, &header, err)) == 1 && is_blank_record(&header))
        ;
    if (rc == 0)
        rc = dedup_error_set(err, DEDUP_EINVAL, "%s:1: no header line (the file is empty)", name);
    if (rc < 0)
        goto done;
    rc = 0;
    int path_col = find_column(&header, cols->path_column);
    int split_col = find_column(&header, cols->split_column);
    int label_col = cols->label_column ? find_column(&header, cols->label_column) : -1;
    char names[512];
    list_columns(&header, names, sizeof(names));
    if (path_col < 0 || split_col < 0 || (label_col < 0 && cols->label_required)) {
        const char *missing = path_col < 0    ? cols->path_column
                              : split_col < 0 ? cols->split_column
                                              : cols->label_column;
        const char *key = path_col < 0    ? "dedup.pathColumn"
                          : split_col < 0 ? "dedup.splitColumn"
                                          : "dedup.labelColumn";
        rc = dedup_error_set(err, DEDUP_EINVAL,
                             "%s:%zu: no column named '%s' in the header (columns: %s); name "
                             "the right one with %s",
                             name, header.line, missing, names, key);
        goto done;
    }
    while ((rc = csv_next(&c, &rec, err)) == 1) {
        if (is_blank_record(&rec))
            continue;
        if (rec.count != header.count) {
            rc = dedup_error_set(err, DEDUP_EINVAL,
                                 "%s:%zu: %zu fields, but the header has %zu (%s)", name, rec.line,
                                 rec.count, header.count, names);
            break;
        }
        if (rec.fields[path_col][0] == '\0' || rec.fields[split_col][0] == '\0') {
            rc = dedup_error_set(
                err, DEDUP_EINVAL, "%s:%zu: the %s column is empty", name, rec.line,
                rec.fields[path_col][0] == '\0' ? cols->path_column : cols->split_column);
            break;
        }
        char *label = NULL;
        if (label_col >= 0 && rec.fields[label_col][0] != '\0') {
            label = rec.fields[label_col];
            rec.fields[label_col] = NULL;
        }
        char *path = rec.fields[path_col], *split = rec.fields[split_col];
        rec.fields[path_col] = rec.fields[split_col] = NULL;
        if ((rc = dedup_manifest_push(out, path, split, label, rec.line, name, err)))
            break;
    }
    if (rc > 0)
        rc = 0;
done:
    record_clear(&header);
    record_clear(&rec);
    free(header.fields);
    free(rec.fields);
    free(c.scratch);
    if (rc)
        dedup_manifest_free(out);
    return rc;
}

/* --- list files ----------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int dedup_manifest_parse_list(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = DEDUP_MANIFEST_LIST;
    size_t pos = 0, line = 1;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t a = pos, b = end;
        while (a < b && is_space(buf[a]))
            a++;
        while (b > a && is_space(buf[b - 1]))
            b--;
        if (b > a && buf[a] != '#') {
            if (memchr(buf + a, '\0', b - a)) {
                dedup_manifest_free(out);
                return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: a NUL byte: not a list of paths",
                                       name, line);
            }
            char *path = dedup_manifest_strndup(buf + a, b - a);
            int rc = path ? dedup_manifest_push(out, path, NULL, NULL, line, name, err)
                          : dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
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

/* --- paths ------------------------------------------------------------------ */

char *dedup_manifest_normalise(const char *base, const char *path)
{
    if (path[0] == '/')
        return NULL;
    size_t bl = strlen(base), pl = strlen(path);
    char *joined = malloc(bl + pl + 2);
    char *out = malloc(bl + pl + 2);
    if (!joined || !out) {
        free(joined);
        free(out);
        return NULL;
    }
    memcpy(joined, base, bl);
    joined[bl] = '/';
    memcpy(joined + bl + 1, path, pl + 1);
    size_t n = 0; /* out holds components joined by '/' */
    char *save = NULL;
    for (char *comp = strtok_r(joined, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        if (strcmp(comp, ".") == 0)
            continue;
        if (strcmp(comp, "..") == 0) {
            if (n == 0) {
                free(joined);
                free(out);
                return NULL; /* leaves the repository */
            }
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the separator */
            continue;
        }
        if (n)
            out[n++] = '/';
        size_t cl = strlen(comp);
        memcpy(out + n, comp, cl);
        n += cl;
    }
    out[n] = '\0';
    free(joined);
    return out;
}
