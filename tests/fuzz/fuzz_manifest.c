/*
 * fuzz_manifest.c - libFuzzer target: the manifest parsers (CSV, TSV, JSON
 * lines, list files, COCO JSON, YOLO data.yaml) and path normalisation.
 * The first input byte picks the parser; the rest is the manifest.  A
 * manifest comes from whoever can push to the repository, so any input must
 * end in rows or an error message, and no normalised path may leave the
 * repository.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
    if (!p)
        return;
    if (p[0] == '/')
        abort();
    for (const char *c = p; (c = strstr(c, "..")) != NULL; c += 2) {
        int starts = c == p || c[-1] == '/';
        int ends = c[2] == '\0' || c[2] == '/';
        if (starts && ends)
            abort(); /* a ".." component survived */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0] % 6;
    size_t len = size - 1;
    /* an exact-size copy so ASan sees any read past the end */
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, len);
    dedup_manifest m;
    memset(&m, 0, sizeof(m));
    dedup_manifest_columns cols = {"path", "split", "label", which == 1};
    dedup_error err;
    dedup_error_clear(&err);
    int rc;
    switch (which) {
    case 0:
        rc = dedup_manifest_parse_csv(&m, buf, len, ',', &cols, "fuzz.csv", &err);
        break;
    case 1:
        rc = dedup_manifest_parse_csv(&m, buf, len, '\t', &cols, "fuzz.tsv", &err);
        break;
    case 2:
        rc = dedup_manifest_parse_jsonl(&m, buf, len, &cols, "fuzz.jsonl", &err);
        break;
    case 3:
        rc = dedup_manifest_parse_list(&m, buf, len, "fuzz.txt", &err);
        break;
    case 4:
        rc = dedup_manifest_parse_coco(&m, buf, len, "instances_val2017.json", &err);
        break;
    default:
        rc = dedup_manifest_parse_yolo(&m, buf, len, "data.yaml", &err);
        break;
    }
    if (rc != 0 && err.msg[0] == '\0')
        abort(); /* every failure says why */
    for (size_t i = 0; rc == 0 && i < m.count; i++) {
        if (!m.rows[i].path)
            abort();
        char *norm = dedup_manifest_normalise("data/sub", m.rows[i].path);
        check_path(norm);
        free(norm);
    }
    dedup_manifest_free(&m);
    free(buf);
    return 0;
}
