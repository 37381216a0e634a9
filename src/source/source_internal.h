/*
 * source_internal.h - what the source layer's files share (source.c,
 * archive.c) and nobody else.
 */
#ifndef DEDUP_SOURCE_INTERNAL_H
#define DEDUP_SOURCE_INTERNAL_H

#include "dedup/source.h"

/* The options the reader was made with. */
const dedup_source_options *dedup_source_opts(const dedup_source *src);

/* Map an LFS or DVC object read-only, checking its size against the ref's
 * (DEDUP_EMISSING when it is not there). */
int dedup_source_map_object(dedup_source *src, const dedup_source_ref *ref, dedup_bytes *out,
                            dedup_error *err);

#endif
