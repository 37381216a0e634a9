/*
 * report.h - what a check found, for people (text) and machines (JSON).
 *
 * Text: one line per leak naming both paths (quoted the way git quotes
 * paths), the kind of match, the transform and the distance; one line per
 * unreadable image with its reason; then a one-line summary and what to do.
 *
 * JSON (version 1; later versions only add fields):
 *   {"version":1,"mode":"staged"|"all"|"range"|"rev","threshold":31,
 *    "leaks":[{"kind":"symlink"|"exact_bytes"|"same_pixels"|"near_duplicate",
 *              "held_out":{"path":"...","split":"test"},
 *              "train":{"path":"...","split":"train"},
 *              "transform":"identity"|"rot90"|...,"distance":12}],
 * A side carries "label" when a manifest gave one; a leak between two
 * held-out splits (dedup.checkHeldOutPairs) carries "held_out_pair":true,
 * with the partner in "train".  "notes" holds the item list's notes (a
 * submodule skipped, ...) then the check's.
 *    "unreadable":[{"path":"...","split":"test","reason":"..."}],
 *    "notes":["..."],
 *    "summary":{"leaks":1,"unreadable":0,"images":40,"new":3,"checked":40,
 *               "decoded":3,"exact_only":0,"exit_code":1}}
 */
#ifndef DEDUP_REPORT_H
#define DEDUP_REPORT_H

#include <stdio.h>

#include "dedup/match.h"
#include "dedup/repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { DEDUP_REPORT_TEXT = 0, DEDUP_REPORT_JSON } dedup_report_style;

typedef struct {
    dedup_report_style style;
    int quote_paths;     /* git's core.quotePath: octal-escape bytes >= 0x80 in text */
    int unreadable_warn; /* dedup.unreadable = warn */
    const char *mode;    /* "staged", "all", "range" or "rev" */
    unsigned threshold;
    int exit_code; /* what the command will exit with, for JSON */
} dedup_report_options;

/* Write the report.  Fails only when `out` cannot be written. */
int dedup_report_write(FILE *out, const dedup_item_list *items, const dedup_result *result,
                       const dedup_report_options *opts, dedup_error *err);

/* Write s as a JSON string (quoted, escaped, invalid UTF-8 as U+FFFD). */
void dedup_report_json_string(FILE *out, const char *s);

/* Append `path` to `out` quoted as git quotes it (only when it needs quoting). */
void dedup_report_quote_path(FILE *out, const char *path, int quote_non_ascii);

#ifdef __cplusplus
}
#endif
#endif
