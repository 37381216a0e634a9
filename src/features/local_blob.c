/*
 * local_blob.c - local features to and from the bytes the cache stores.
 *
 * Layout, little-endian, no padding:
 *   0  "GDLF"            magic
 *   4  u8  version       BLOB_VERSION
 *   5  u8  flags         0 (reserved)
 *   6  u16 count         keypoints, <= DEDUP_LOCAL_MAX_KEYPOINTS
 *   8  u16 work_width    working image, 1..16383 (quarter pixels fit u16)
 *  10  u16 work_height
 *  12  u32 source_width  1..2^30, >= work_width
 *  16  u32 source_height
 *  20  count x 38 bytes: u16 x, u16 y (quarter pixels), u8 level (bits 0-2)
 *      and contrast / 4 (bits 3-7), u8 angle, 32 descriptor bytes (bit i of the
 *      descriptor is bit i % 8 of byte i / 8)
 *  end u32 XXH32 (seed 0) of every byte before it
 *
 * Assumes nothing about the bytes handed to the parser: a damaged cache row
 * can hold anything, so every field is checked before it is used, and a
 * blob that parses is one dedup_local_serialize could have written.
 */
#include "dedup/features.h"

#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define BLOB_VERSION 1
#define HEADER 20
#define POINT_BYTES 38
#define MAX_WORK 16383
#define MAX_SOURCE (1 << 30)

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Why a features struct may not be stored (or was not stored), or NULL. */
static const char *invalid(const dedup_local_features *f)
{
    if (f->count > DEDUP_LOCAL_MAX_KEYPOINTS)
        return "too many keypoints";
    if (f->work_width < 1 || f->work_width > MAX_WORK || f->work_height < 1 ||
        f->work_height > MAX_WORK)
        return "working size out of range";
    if (f->source_width < f->work_width || f->source_width > MAX_SOURCE ||
        f->source_height < f->work_height || f->source_height > MAX_SOURCE)
        return "source size out of range";
    for (uint32_t i = 0; i < f->count; i++) {
        const dedup_local_keypoint *kp = &f->points[i];
        if (kp->x >= 4 * f->work_width || kp->y >= 4 * f->work_height)
            return "keypoint outside the image";
        if (kp->level >= DEDUP_LOCAL_LEVELS)
            return "keypoint level out of range";
        if (kp->contrast % 4 != 0 || kp->contrast > 124)
            return "keypoint contrast out of range";
    }
    return NULL;
}

size_t dedup_local_blob_size(const dedup_local_features *f)
{
    return f ? DEDUP_LOCAL_BLOB_SIZE(f->count) : 0;
}

int dedup_local_serialize(uint8_t *out, size_t cap, size_t *written, const dedup_local_features *f,
                          dedup_error *err)
{
    if (written)
        *written = 0;
    if (!out || !f)
        return dedup_error_set(err, DEDUP_EINVAL, "local features: nothing to serialize");
    const char *why = invalid(f);
    if (why)
        return dedup_error_set(err, DEDUP_EINVAL, "local features not serializable: %s", why);
    const size_t need = DEDUP_LOCAL_BLOB_SIZE(f->count);
    if (cap < need)
        return dedup_error_set(err, DEDUP_EINVAL,
                               "local features need %zu bytes, the buffer holds %zu", need, cap);
    memcpy(out, "GDLF", 4);
    out[4] = BLOB_VERSION;
    out[5] = 0;
    put16(out + 6, f->count);
    put16(out + 8, (uint32_t)f->work_width);
    put16(out + 10, (uint32_t)f->work_height);
    put32(out + 12, (uint32_t)f->source_width);
    put32(out + 16, (uint32_t)f->source_height);
    uint8_t *p = out + HEADER;
    for (uint32_t i = 0; i < f->count; i++, p += POINT_BYTES) {
        const dedup_local_keypoint *kp = &f->points[i];
        put16(p, kp->x);
        put16(p + 2, kp->y);
        p[4] = (uint8_t)(kp->level | (kp->contrast / 4) << 3);
        p[5] = kp->angle;
        for (int b = 0; b < 32; b++)
            p[6 + b] = (uint8_t)(kp->desc[b / 8] >> (8 * (b % 8)));
    }
    put32(p, XXH32(out, (size_t)(p - out), 0));
    if (written)
        *written = need;
    return 0;
}

static int corrupt(dedup_local_features *out, dedup_error *err, int code, const char *what)
{
    memset(out, 0, sizeof(*out));
    return dedup_error_set(err, code, "damaged local features: %s", what);
}

int dedup_local_parse(dedup_local_features *out, const uint8_t *blob, size_t len, dedup_error *err)
{
    if (!out)
        return dedup_error_set(err, DEDUP_EINVAL, "local features: out is NULL");
    if (!blob || len < HEADER + 4)
        return corrupt(out, err, DEDUP_ECORRUPT, "shorter than its header");
    if (memcmp(blob, "GDLF", 4) != 0)
        return corrupt(out, err, DEDUP_ECORRUPT, "bad magic");
    if (blob[4] != BLOB_VERSION) {
        memset(out, 0, sizeof(*out));
        return dedup_error_set(err, DEDUP_EUNSUPPORTED, "local features format %u, expected %u",
                               blob[4], BLOB_VERSION);
    }
    const uint32_t count = get16(blob + 6);
    if (count > DEDUP_LOCAL_MAX_KEYPOINTS)
        return corrupt(out, err, DEDUP_ECORRUPT, "keypoint count out of range");
    if (len != DEDUP_LOCAL_BLOB_SIZE(count))
        return corrupt(out, err, DEDUP_ECORRUPT, "length does not match the keypoint count");
    /* The checksum first: then every later check is about a blob that was
     * written this way, and the messages below mean a writer bug. */
    if (get32(blob + len - 4) != XXH32(blob, len - 4, 0))
        return corrupt(out, err, DEDUP_ECORRUPT, "checksum mismatch");
    if (blob[5] != 0)
        return corrupt(out, err, DEDUP_ECORRUPT, "unknown flags");
    memset(out, 0, sizeof(*out));
    out->count = count;
    out->work_width = (int)get16(blob + 8);
    out->work_height = (int)get16(blob + 10);
    const uint32_t sw = get32(blob + 12), sh = get32(blob + 16);
    if (sw > MAX_SOURCE || sh > MAX_SOURCE)
        return corrupt(out, err, DEDUP_ECORRUPT, "source size out of range");
    out->source_width = (int)sw;
    out->source_height = (int)sh;
    const uint8_t *p = blob + HEADER;
    for (uint32_t i = 0; i < count; i++, p += POINT_BYTES) {
        dedup_local_keypoint *kp = &out->points[i];
        kp->x = (uint16_t)get16(p);
        kp->y = (uint16_t)get16(p + 2);
        kp->level = p[4] & 7;
        kp->contrast = (uint8_t)((p[4] >> 3) * 4);
        kp->angle = p[5];
        for (int b = 0; b < 32; b++)
            kp->desc[b / 8] |= (uint64_t)p[6 + b] << (8 * (b % 8));
    }
    const char *why = invalid(out);
    if (why)
        return corrupt(out, err, DEDUP_ECORRUPT, why);
    return 0;
}
