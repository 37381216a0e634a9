/*
 * manifest_internal.h - helpers the manifest parsers share (manifest.c,
 * manifest_json.c, manifest_yaml.c) and nobody else.
 */
#ifndef DEDUP_MANIFEST_INTERNAL_H
#define DEDUP_MANIFEST_INTERNAL_H

#include <stdio.h>

#include "dedup/repo.h"

char *dedup_manifest_strndup(const char *s, size_t n);

/* Append a row; takes ownership of path, split and label, even on failure. */
int dedup_manifest_push(dedup_manifest *m, char *path, char *split, char *label, size_t line,
                        const char *name, dedup_error *err);

#endif
