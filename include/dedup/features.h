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

/* Bump whenever any stored feature would be computed differently.  2: decoding
 * applies EXIF orientation, reads CMYK, scales 16-bit PNG samples with
 * rounding, and adds WebP and GIF. */
#define DEDUP_FEATURE_VERSION 3

/* From this quality up the perceptual hash is matched at the configured
 * distance. */
#define DEDUP_PDQ_MIN_QUALITY 50
/*
 * Soft images (bokeh, haze, a dim sky: quality DEDUP_PDQ_SOFT_QUALITY up to
 * DEDUP_PDQ_MIN_QUALITY) still have low frequencies that identify them, but
 * fewer reliable bits, so they are matched only within
 * DEDUP_PDQ_SOFT_DISTANCE.  Measured on 970 distinct 256-pixel photo tiles:
 * no two unrelated tiles in any quality band lie within 40 bits, while
 * half-size re-encoded copies of soft tiles lie within 16 about half the
 * time (within 31: 44 of 51).  Below DEDUP_PDQ_SOFT_QUALITY (solid
 * colours, near-blank or noise frames) the hash is noise: exact keys only.
 */
#define DEDUP_PDQ_SOFT_QUALITY 10
#define DEDUP_PDQ_SOFT_DISTANCE 16

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

/* ==== Local features: overlapping crops (issue 6) ======================
 *
 * Keypoints with 256-bit binary descriptors, found so that two crops of the
 * same scene that share part of their area share keypoints there, even after
 * re-encoding and a 0.5x-2x rescale.  Computed from a decode whose shorter
 * side is at least DEDUP_LOCAL_DECODE_SIDE (dedup_decode_options.min_side):
 * the 64-pixel decode of the perceptual hash holds no such detail.  The
 * image is area-scaled so its shorter side is at most 384 pixels (the
 * "working image"), then searched at DEDUP_LOCAL_LEVELS scales (1, 2/3,
 * 1/2, 1/3, 1/4, each made by exact area averaging) with a FAST segment
 * test; corners are ranked by a Harris score,
 * strong ones (real contrast) before weak ones, and spread over the image
 * by a grid; each gets an intensity-centroid orientation and a steered
 * comparison descriptor with our own sampling pattern.  Integer arithmetic
 * throughout: the same pixels give the same bits everywhere.
 *
 * Memory: dedup_local_features is a fixed 9 KiB struct (no pointers, nothing
 * to free); the blob the cache stores is 24 + 38 * count bytes (<= 8080).
 */

/* Bump when dedup_local_compute would give different keypoints or bits
 * (fold it into the cache's feature version). */
#define DEDUP_LOCAL_VERSION 2
/* Recommended dedup_decode_options.min_side for the decode fed to
 * dedup_local_compute. */
#define DEDUP_LOCAL_DECODE_SIDE 384
#define DEDUP_LOCAL_LEVELS 5
/* At most this many keypoints per image: the blob stays under 8 KiB. */
#define DEDUP_LOCAL_MAX_KEYPOINTS 212
/* A keypoint is strong when its corner contrast (how much brighter or darker
 * than the centre its best 9-pixel arc of the FAST ring is, in grey levels)
 * is at least this: real texture rather than soft shading.  The overlap
 * verifier asks strong keypoints in an overlap to be explained by its fit. */
#define DEDUP_LOCAL_STRONG_CONTRAST 8
/* With fewer than DEDUP_LOCAL_MIN_KEYPOINTS keypoints of at least this
 * contrast (flat images: sea, cloud, blank frames, a black border) an image
 * is "not comparable": never matched by overlap.  Soft texture (bokeh, haze,
 * dim scenes) counts: bench_overlap finds those overlaps as reliably, with no
 * more false positives, and the strong-only rule left a fifth of real photo
 * crops not comparable. */
#define DEDUP_LOCAL_COMPARABLE_CONTRAST 4
#define DEDUP_LOCAL_MIN_KEYPOINTS 24
/* Serialized size: a 20-byte header, 38 bytes per keypoint, a 4-byte checksum
 * (8080 bytes at most). */
#define DEDUP_LOCAL_BLOB_SIZE(n) (24u + 38u * (unsigned)(n))
#define DEDUP_LOCAL_BLOB_MAX DEDUP_LOCAL_BLOB_SIZE(DEDUP_LOCAL_MAX_KEYPOINTS)

typedef struct {
    uint64_t desc[4]; /* bit i is bit (i % 64) of desc[i / 64] */
    uint16_t x, y;    /* centre, in quarter pixels of the working image */
    uint8_t level;    /* pyramid level, 0 .. DEDUP_LOCAL_LEVELS - 1 */
    uint8_t angle;    /* orientation, 256 steps per turn, clockwise on screen from +x */
    uint8_t contrast; /* corner contrast in grey levels: a multiple of 4, at most 124 */
} dedup_local_keypoint;

typedef struct {
    int source_width, source_height; /* the image as displayed at full size */
    int work_width, work_height;     /* the working image the keypoints lie in */
    uint32_t count;                  /* 0 .. DEDUP_LOCAL_MAX_KEYPOINTS */
    dedup_local_keypoint points[DEDUP_LOCAL_MAX_KEYPOINTS];
} dedup_local_features;

/*
 * Keypoints and descriptors of an RGB8 image (any size >= 1x1; a scaled
 * decode is fine, its source_width/height give the full-size frame).  An
 * image with too little texture gets few or no keypoints; that is not an
 * error (see dedup_local_comparable).  Deterministic.
 */
int dedup_local_compute(dedup_local_features *out, const dedup_image *img, dedup_error *err);

/* 1 when f has at least DEDUP_LOCAL_MIN_KEYPOINTS keypoints of contrast >=
 * DEDUP_LOCAL_COMPARABLE_CONTRAST, else 0. */
int dedup_local_comparable(const dedup_local_features *f);

/* Keypoint i in full-size source pixels (continuous: pixel (i, j) covers
 * [i, i+1) x [j, j+1)), its scale (source pixels per level pixel) and its
 * orientation in degrees.  Any output may be NULL. */
void dedup_local_point(const dedup_local_features *f, size_t i, double *x, double *y, double *size,
                       double *angle);

/* Bytes dedup_local_serialize writes for f: DEDUP_LOCAL_BLOB_SIZE(f->count). */
size_t dedup_local_blob_size(const dedup_local_features *f);

/*
 * Write f as a self-checking little-endian blob for the cache: "GDLF",
 * format version, keypoint count, working and source sizes, the keypoints,
 * and an XXH32 of everything before it.  Fails with DEDUP_EINVAL when cap
 * is too small or f is not valid.
 */
int dedup_local_serialize(uint8_t *out, size_t cap, size_t *written, const dedup_local_features *f,
                          dedup_error *err);

/*
 * Read a blob back.  Everything is checked (length, magic, version,
 * checksum, sizes, every keypoint's position, level and contrast), since the blob may
 * come from a damaged cache: on any failure out is zeroed and the result is
 * DEDUP_ECORRUPT (DEDUP_EUNSUPPORTED for another format version).
 */
int dedup_local_parse(dedup_local_features *out, const uint8_t *blob, size_t len, dedup_error *err);

/* ==== end of local features ============================================ */

/* All the features the cache keeps for one image. */
typedef struct {
    dedup_hash128 byte_hash;
    int has_pixel_hash;
    dedup_hash128 pixel_hash;
    int width, height; /* of the image as stored */
    dedup_pdq pdq;
    /* keypoints for overlap detection, from the same decode */
    dedup_local_features local;
} dedup_features;

/* Everything above (and the local features below) for one image: bytes are the stored file, img its
 * decode. */
int dedup_features_compute(dedup_features *out, const uint8_t *bytes, size_t len,
                           const dedup_image *img, dedup_error *err);

#ifdef __cplusplus
}
#endif
#endif
