/*
 * features.h - pixels in, keys and hashes out.  Pure: no git, no files, no cache.
 *
 * Per image we keep:
 *  - byte_hash:  XXH3-128 of the stored bytes, one hash for every way an image
 *                can be stored (blob, LFS object, archive member), so all of
 *                them compare with each other;
 *  - pixel_hash: XXH3-128 of the decoded RGB pixels and dimensions, only when
 *                the image was decoded at full resolution anyway (we never pay
 *                a full JPEG decode just for this key);
 *  - pdq:        a 256-bit DCT perceptual hash in the style of PDQ, with its
 *                eight dihedral variants, and a quality score.
 */
#ifndef DEDUP_FEATURES_H
#define DEDUP_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/decode.h"
#include "dedup/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bump whenever any stored feature would be computed differently. */
#define DEDUP_FEATURE_VERSION 1

/* Below this quality the perceptual hash is noise (flat or near-blank images):
 * such images are matched by exact keys only. */
#define DEDUP_PDQ_MIN_QUALITY 50

#define DEDUP_PDQ_WORDS 4

typedef struct {
    uint64_t w[DEDUP_PDQ_WORDS]; /* bit i of the hash is bit (i % 64) of w[i / 64] */
} dedup_pdq_hash;

typedef struct {
    uint64_t lo, hi;
} dedup_hash128;

/* The eight rotations/flips.  "rot90" is a clockwise quarter turn;
 * transpose mirrors over the main diagonal, transverse over the other. */
typedef enum {
    DEDUP_XFORM_IDENTITY = 0,
    DEDUP_XFORM_ROT90,
    DEDUP_XFORM_ROT180,
    DEDUP_XFORM_ROT270,
    DEDUP_XFORM_FLIP_H, /* mirror left-right */
    DEDUP_XFORM_FLIP_V, /* mirror top-bottom */
    DEDUP_XFORM_TRANSPOSE,
    DEDUP_XFORM_TRANSVERSE,
    DEDUP_XFORM_COUNT
} dedup_transform;

/* "identity", "rot90", ..., as used in reports and JSON. */
const char *dedup_transform_name(dedup_transform t);
/* The transform that undoes t (rot90 <-> rot270, the others are their own inverse). */
dedup_transform dedup_transform_inverse(dedup_transform t);

typedef struct {
    /* variants[t] is the hash of the image after applying transform t;
     * variants[DEDUP_XFORM_IDENTITY] is the image's own hash. */
    dedup_pdq_hash variants[DEDUP_XFORM_COUNT];
    int quality; /* 0..100 */
} dedup_pdq;

/*
 * Compute the perceptual hash of an RGB8 image (any size >= 1x1): luma,
 * box-filter downscale to 64x64, 16x16 low-frequency DCT without the DC
 * terms, threshold at the median.  The eight variants come from the DCT
 * coefficients (sign changes and transposition), not from re-hashing.
 */
int dedup_pdq_compute(dedup_pdq *out, const dedup_image *img, dedup_error *err);

/* Number of differing bits, 0..256. */
unsigned dedup_pdq_distance(const dedup_pdq_hash *a, const dedup_pdq_hash *b);

/* XXH3-128 of a byte buffer. */
dedup_hash128 dedup_byte_hash(const void *bytes, size_t len);

/* XXH3-128 of width, height and RGB rows (stride-independent). */
dedup_hash128 dedup_pixel_hash(const dedup_image *img);

/* Lower-case hex of a 128-bit hash; out must hold 33 bytes. */
void dedup_hash128_hex(const dedup_hash128 *h, char out[33]);

typedef struct {
    dedup_hash128 byte_hash;
    int has_pixel_hash;
    dedup_hash128 pixel_hash;
    int width, height; /* of the image as stored */
    dedup_pdq pdq;
} dedup_features;

/* Everything above for one image: bytes are the stored file, img its decode. */
int dedup_features_compute(dedup_features *out, const uint8_t *bytes, size_t len,
                           const dedup_image *img, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
