/*
 * manifest_yaml.c - a YOLO data.yaml read with libyaml: the train, val and
 * test keys (each a folder or a list file, or a list of them) relative to
 * the path key.  Other keys (names, nc, download) are not ours and ignored.
 *
 * data.yaml files are small, so libyaml's document API is enough; its node
 * marks give the line of every entry for the error messages.
 */
#include "manifest_internal.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

static int scalar_is(const yaml_node_t *n, const char *s)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* YAML's null: "~", "null", or nothing at all. */
static int scalar_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
           scalar_is(n, "Null") || scalar_is(n, "NULL");
}

static int add_entry(dedup_manifest *out, const yaml_node_t *n, const char *split, const char *name,
                     dedup_error *err)
{
    size_t line = n->start_mark.line + 1;
    if (n->type != YAML_SCALAR_NODE)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "%s:%zu: %s must be a folder or list file, or a list of them", name,
                               line, split);
    if (scalar_is_null(n))
        return 0;
    char *path = dedup_manifest_strndup((const char *)n->data.scalar.value, n->data.scalar.length);
    char *s = strdup(split);
    if (!path || !s) {
        free(path);
        free(s);
        return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
    }
    return dedup_manifest_push(out, path, s, NULL, line, name, err);
}

static int read_document(dedup_manifest *out, yaml_document_t *doc, const char *name,
                         dedup_error *err)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "%s:%zu: not a YOLO data.yaml: the top level must be a mapping",
                               name, root ? root->start_mark.line + 1 : (size_t)1);
    int any = 0;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (!k || !v)
            continue;
        if (scalar_is(k, "path")) {
            if (v->type != YAML_SCALAR_NODE)
                return dedup_error_set(err, DEDUP_EINVAL, "%s:%zu: path must be a folder", name,
                                       v->start_mark.line + 1);
            if (scalar_is_null(v))
                continue;
            free(out->root);
            out->root =
                dedup_manifest_strndup((const char *)v->data.scalar.value, v->data.scalar.length);
            if (!out->root)
                return dedup_error_set(err, DEDUP_ENOMEM, "%s: out of memory", name);
            continue;
        }
        const char *split = scalar_is(k, "train")  ? "train"
                            : scalar_is(k, "val")  ? "val"
                            : scalar_is(k, "test") ? "test"
                                                   : NULL;
        if (!split)
            continue;
        any = 1;
        int rc = 0;
        if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *i = v->data.sequence.items.start;
                 rc == 0 && i < v->data.sequence.items.top; i++) {
                yaml_node_t *e = yaml_document_get_node(doc, *i);
                if (e)
                    rc = add_entry(out, e, split, name, err);
            }
        } else {
            rc = add_entry(out, v, split, name, err);
        }
        if (rc)
            return rc;
    }
    if (!any)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "%s:1: not a YOLO data.yaml: no train, val or test key", name);
    return 0;
}

int dedup_manifest_parse_yolo(dedup_manifest *out, const char *buf, size_t len, const char *name,
                              dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    out->kind = DEDUP_MANIFEST_YOLO;
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
    } else {
        rc = read_document(out, &doc, name, err);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (rc)
        dedup_manifest_free(out);
    return rc;
}
