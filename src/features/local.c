/*
 * local.c - local features for finding overlapping crops (issue 6): corners
 * found by a FAST segment test at several scales, ranked by a Harris score
 * and spread over the image by a grid, each with an intensity-centroid
 * orientation and a 256-bit steered intensity-comparison descriptor.
 *
 * Assumes RGB8 input of any size >= 1x1 with stride >= width * 3.  The
 * arithmetic is integer from the pixels to the descriptor bits (luma,
 * resampling, scores, angles, sample rotation), so the same pixels give the
 * same bits with any compiler or libm: cached features from one machine stay
 * comparable with fresh ones from another.  Everything lives in buffers this
 * call allocates, so it is reentrant.
 *
 * Coordinates: pixel (i, j) covers [i, i + 1) x [j, j + 1), so its centre is
 * (i + 0.5, j + 0.5).  Keypoints are stored in quarter pixels of the working
 * image (level 0 of the pyramid) in that continuous frame.
 */
#include "dedup/features.h"

#include <stdlib.h>
#include <string.h>

/*
 * The working image's shorter side is scaled down to at most WORK_SIDE (and
 * its longer side to at most WORK_LONG, for extreme aspect ratios); smaller
 * images are used as they are, never enlarged.  Chosen from bench_overlap:
 * 384, 448 and 512 find the same overlaps (recall 0.71-0.72 for overlaps of
 * 25% and more), 384 at two thirds of the cost of 512; and with
 * DEDUP_LOCAL_DECODE_SIDE 384 a 768-pixel crop decodes at exactly half
 * size, TurboJPEG's fast path.
 */
#define WORK_SIDE 384
#define WORK_LONG 2048

/* Pyramid: level 0, 2/3, 1/2, 1/3, 1/4 (Q16 factors). */
static const uint32_t level_scale_q16[DEDUP_LOCAL_LEVELS] = {65536, 43691, 32768, 21845, 16384};

/*
 * Keypoints keep this far from the border of their level: the descriptor's
 * samples lie within radius 13 (14 after rounding a rotation) and each is a
 * 5x5 box, the orientation disc has radius 15, and Harris needs 4.
 */
#define BORDER 18
#define ORIENT_RADIUS 15
#define HARRIS_HALF 3

/*
 * FAST thresholds in grey levels.  A level is first searched for strong
 * corners only (contrast >= DEDUP_LOCAL_STRONG_CONTRAST): in a busy picture
 * they fill its budget, at a fraction of the cost of a low threshold (where
 * most pixels of foliage pass the pre-test).  Otherwise it is searched again
 * down to FAST_THRESHOLD, so that the soft texture of photographs (bokeh,
 * haze, water) still yields keypoints; strong corners are still chosen
 * first, so noise on a flat area only fills what texture leaves of the
 * budget.  (Searching first at a higher threshold is faster still, but
 * bench_overlap loses 2-3 points of recall with it.)  FAST_THRESHOLD 3
 * rather than 5 finds 3 more points of overlaps (soft, dim crops) with no
 * false positive over three seeds; 2 adds almost nothing.
 */
#define FAST_THRESHOLD 3
#define STRONG_THRESHOLD (DEDUP_LOCAL_STRONG_CONTRAST - 1)

/* Selection keeps the best PER_CELL corners of each grid cell and tier. */
#define PER_CELL 12

/* About this many keypoints per grid cell in the first round of selection. */
#define POINTS_PER_CELL 2

/*
 * The sampling pattern: 256 pairs of points (x1, y1, x2, y2) around the
 * keypoint.  Generated once with splitmix64 seeded with 0x6769742d64656475
 * ("git-dedu"), Box-Muller normals with sigma 6.2 (a 31-pixel patch / 5, as
 * for BRIEF's isotropic Gaussian sampling), rounded to integers, points
 * outside radius 13 redrawn, pairs closer than 2 pixels or repeated (in
 * either order) redrawn.  Written out because a libm difference must never
 * change the pattern: it is part of the stored format.
 */
static const int8_t pattern[256][4] = {
    {3, 4, 5, 6},     {10, -8, 3, -8},   {-8, 6, 7, 2},     {-1, -11, -5, -3}, {-4, -6, -6, 9},
    {7, 5, 4, -6},    {2, -1, 2, 8},     {3, -7, -2, 6},    {4, 0, -3, 1},     {5, -2, -1, 1},
    {2, 7, 2, 2},     {-1, 2, 1, 7},     {2, 10, -8, -2},   {-3, 1, -1, 8},    {-3, -1, -1, 1},
    {-4, -1, -6, -1}, {-3, -5, -11, 2},  {-2, -5, -8, -4},  {9, 7, -7, 6},     {-1, 1, -7, -6},
    {8, -1, -4, -8},  {4, 5, 2, 2},      {7, -9, -4, 4},    {1, -2, -5, 11},   {7, 5, 6, -4},
    {-2, 11, 8, -4},  {3, -4, 8, 5},     {-12, -3, -9, -2}, {-1, -5, -9, 4},   {9, 2, 5, -4},
    {-7, -3, -3, -3}, {7, -7, -8, -1},   {4, 3, -11, -4},   {-4, -6, -4, 5},   {-2, 2, 2, -6},
    {2, 7, 0, 5},     {-8, -1, 1, -5},   {2, 0, -6, -1},    {-5, 0, -1, 0},    {8, -1, 11, -1},
    {-7, -3, -11, 5}, {12, 4, 1, -3},    {-5, -1, 8, -8},   {-6, -6, -6, 1},   {1, 6, -7, 2},
    {-4, 1, -1, -10}, {-8, -1, 11, 6},   {3, 8, 1, 3},      {0, -1, 6, -10},   {-3, -3, 3, -2},
    {-1, 6, 3, 4},    {1, -2, 0, 6},     {-7, -5, -3, -3},  {-8, -6, 5, 5},    {2, -4, 9, 2},
    {-10, 7, -3, 5},  {-6, 0, 0, 3},     {3, 3, -3, -3},    {4, -7, -7, 2},    {0, -5, -1, -3},
    {-4, 3, 3, -11},  {-3, -1, 4, 10},   {7, -1, 10, 3},    {3, 2, -5, -9},    {0, -3, 5, -5},
    {-4, -1, -1, 6},  {-4, -4, 7, 0},    {8, 2, -4, -5},    {-4, -5, 1, 8},    {-1, 0, -10, -4},
    {1, -2, -3, 9},   {-4, 0, 1, 8},     {-3, 3, 6, 1},     {-2, 0, 6, 0},     {1, -1, -2, 1},
    {5, 0, -8, 4},    {1, 4, 0, -12},    {0, -7, -4, 4},    {-5, 6, 2, 8},     {-11, -1, 2, 8},
    {-2, -3, 2, 7},   {-2, 10, -7, 9},   {7, 4, 10, 1},     {12, -2, -2, 5},   {1, -12, -3, 1},
    {-5, 6, 10, 5},   {7, 3, -10, -5},   {4, -6, -1, -3},   {3, 3, 6, 6},      {7, 2, -9, 3},
    {5, 2, 3, 2},     {12, 0, 4, -6},    {-7, 5, -1, 0},    {-6, 3, 10, -3},   {7, 10, 8, 2},
    {4, 1, 1, 8},     {2, -5, 4, 1},     {1, -10, -3, 3},   {6, 2, -3, 8},     {7, -3, 1, 4},
    {2, -4, -6, -5},  {-6, 8, 7, -9},    {-2, 8, 7, 5},     {4, 7, 0, -2},     {6, 9, -2, 1},
    {1, -1, 0, 2},    {-10, -4, 7, 2},   {-8, 5, -1, 2},    {3, -3, 0, 8},     {-1, 6, -2, -6},
    {-2, 1, -9, -5},  {-4, -4, 8, -7},   {-7, 5, 9, 3},     {2, 2, 0, 6},      {1, -8, -11, 2},
    {-2, -12, 0, 7},  {3, 4, 3, -2},     {-2, -7, 9, 8},    {-8, 4, 6, -2},    {-5, -5, 1, 8},
    {-6, 0, -1, 5},   {2, -2, -6, -2},   {-3, 6, -3, 2},    {11, -2, 8, 8},    {-6, 2, 1, 6},
    {-2, 0, 1, -10},  {2, -9, 9, 2},     {-7, -5, 6, 1},    {0, -6, -6, 8},    {6, -2, 4, 9},
    {-5, -9, 4, -6},  {-11, -2, -5, -2}, {1, -8, -4, -6},   {2, 6, 4, -11},    {-8, -2, 6, -5},
    {3, -7, 2, -11},  {-3, 6, 10, 2},    {7, -6, 1, 6},     {-2, -12, -4, 10}, {6, -5, -7, -3},
    {5, -1, -1, 4},   {-3, 12, -1, -2},  {7, 0, 10, 1},     {7, -2, 2, 2},     {-2, -8, -1, 7},
    {4, 5, -3, -3},   {0, -4, 1, 4},     {-5, -2, -3, 3},   {5, -3, -3, -3},   {-3, 7, 7, -7},
    {3, -2, 9, 5},    {-3, 9, 6, 3},     {-4, 6, 4, 4},     {-3, -8, -9, -4},  {-5, 0, 0, -3},
    {-6, 6, 6, 4},    {-1, 2, -1, -12},  {9, -1, -2, 8},    {-4, -6, -9, -3},  {8, -3, 4, -2},
    {4, 9, 3, 0},     {6, 4, -10, -3},   {1, -3, 7, 3},     {4, 2, -10, -1},   {6, -4, 4, -11},
    {-3, 8, -1, -5},  {-1, 4, -4, 8},    {-3, 7, 5, 0},     {1, -9, -10, 4},   {5, 6, 0, -4},
    {4, 0, 2, -4},    {-1, -2, 1, 6},    {-7, -1, -4, -3},  {9, -8, 2, -7},    {6, -4, 3, -12},
    {-4, 3, 10, -1},  {2, -4, -8, 0},    {3, 0, 0, 8},      {-2, 8, -4, -1},   {8, -6, 5, -8},
    {1, -2, 2, -4},   {0, 3, 8, -7},     {1, 1, 6, -5},     {4, -8, -9, 0},    {5, -4, -1, 0},
    {5, -7, -7, 2},   {-4, 0, 0, -6},    {-3, -7, 7, 3},    {1, -4, -3, -4},   {-1, 7, 4, 6},
    {11, 2, -11, -2}, {2, 1, 8, 1},      {-4, -5, -3, 4},   {-6, 1, 0, -8},    {-4, 1, -1, -4},
    {6, 4, 8, -6},    {7, -10, 0, -2},   {-3, 6, -10, -4},  {-1, -7, 5, -1},   {-7, 8, 5, 5},
    {6, 8, -1, -9},   {3, 5, -5, -4},    {4, -1, -4, 12},   {-5, 0, 8, -5},    {9, -2, 8, -7},
    {-6, -1, 2, -3},  {-2, -1, -5, 4},   {12, -2, 6, -7},   {9, -2, 8, -8},    {2, 1, 10, -6},
    {-8, 5, -3, 2},   {2, -8, 6, -7},    {-4, -10, -8, -1}, {-4, -2, 8, -5},   {4, -6, 5, -4},
    {4, -9, 0, 0},    {5, 8, 9, -1},     {-5, 4, 0, 7},     {4, 2, -4, 5},     {8, 8, -3, 7},
    {-7, 7, -7, 0},   {5, -2, -6, 0},    {-10, -1, 3, 2},   {-2, -3, 1, -5},   {-3, -1, 0, 5},
    {5, -1, 5, 5},    {2, 4, -7, 0},     {4, -4, -5, 4},    {2, 1, -5, 3},     {5, -8, -7, -3},
    {2, 2, -9, 8},    {-1, -10, 9, -2},  {6, 3, 1, -1},     {9, -6, -12, 4},   {-5, -3, -4, -6},
    {-7, -2, -6, 9},  {3, 4, 8, -1},     {-2, -5, 5, -5},   {10, -3, -5, -3},  {-4, -6, 8, 4},
    {4, 7, -1, 3},    {-3, -1, -10, 3},  {-5, 2, 3, -12},   {2, -4, 9, 7},     {0, -4, -4, 1},
    {6, -2, 2, 2},    {0, -1, -3, -2},   {2, -5, 8, -7},    {-5, -8, -3, -11}, {1, -1, -11, -3},
    {5, -1, -7, -3},  {4, -5, -1, -4},   {1, -2, 2, 12},    {1, -8, 9, 2},     {6, 0, -3, 12},
    {0, 6, -6, -1},
};

/* sin(2 pi k / 256) in Q14 for k = 0..64, the quarter wave every angle is built from. */
static const int16_t quarter_sin_q14[65] = {
    0,     402,   804,   1205,  1606,  2006,  2404,  2801,  3196,  3590,  3981,  4370,  4756,
    5139,  5520,  5897,  6270,  6639,  7005,  7366,  7723,  8076,  8423,  8765,  9102,  9434,
    9760,  10080, 10394, 10702, 11003, 11297, 11585, 11866, 12140, 12406, 12665, 12916, 13160,
    13395, 13623, 13842, 14053, 14256, 14449, 14635, 14811, 14978, 15137, 15286, 15426, 15557,
    15679, 15791, 15893, 15986, 16069, 16143, 16207, 16261, 16305, 16340, 16364, 16379, 16384};

static int32_t sin_q14(unsigned a)
{
    a &= 255;
    if (a <= 64)
        return quarter_sin_q14[a];
    if (a <= 128)
        return quarter_sin_q14[128 - a];
    if (a <= 192)
        return -quarter_sin_q14[a - 128];
    return -quarter_sin_q14[256 - a];
}

static int32_t cos_q14(unsigned a)
{
    return sin_q14(a + 64);
}

typedef struct {
    int w, h;
    uint8_t *px;   /* w * h grey levels */
    uint32_t *sum; /* (w + 1) * (h + 1) integral image for the descriptor's boxes */
    /* Level-0 pixels per pixel of this level, as exact fractions. */
    int64_t sx_num, sx_den, sy_num, sy_den;
} level_img;

typedef struct {
    int x, y; /* in the level */
    int level;
    int cell;
    int rank;   /* position within its cell and tier, best first */
    int strong; /* passes the segment test at STRONG_THRESHOLD too */
    int64_t score;
} corner;

typedef struct {
    corner *v;
    size_t n, cap;
} corner_list;

typedef struct {
    level_img levels[DEDUP_LOCAL_LEVELS];
    int nlevels;
    uint32_t *row;     /* one source row of luma */
    uint16_t *hrow;    /* one horizontally resampled row, 8.8 fixed point */
    uint64_t *acc[2];  /* vertical accumulators for two output rows */
    int32_t *owner;    /* per level-0 pixel: 1 + index of the corner there, or 0 */
    uint8_t *flag;     /* one row of segment pre-test results */
    corner *best;      /* per grid cell and tier, its PER_CELL best corners */
    int *fill;         /* how many of those each holds */
    corner_list found; /* corners of the level being scanned */
    corner_list kept;  /* after non-maximum suppression, all levels */
} work_ctx;

static void work_free(work_ctx *w)
{
    for (int l = 0; l < DEDUP_LOCAL_LEVELS; l++) {
        free(w->levels[l].px);
        free(w->levels[l].sum);
    }
    free(w->row);
    free(w->hrow);
    free(w->acc[0]);
    free(w->acc[1]);
    free(w->owner);
    free(w->flag);
    free(w->best);
    free(w->fill);
    free(w->found.v);
    free(w->kept.v);
}

static int corner_push(corner_list *l, const corner *c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        corner *grown = realloc(l->v, cap * sizeof(*grown));
        if (!grown)
            return -1;
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n++] = *c;
    return 0;
}

/* --- resampling ------------------------------------------------------- */

/*
 * Exact area averaging from sw x sh to dw x dh (dw <= sw, dh <= sh), as in
 * the perceptual hash: on an axis of n source pixels scaled to m, source
 * pixel i covers [i m, (i + 1) m) and output pixel o covers [o n, (o + 1) n)
 * in units of 1/(n m), so every overlap is an integer weight and the
 * weights of one output pixel sum to n.  Rows are fetched one at a time so a
 * large RGB decode never needs a full-size grey copy.
 */
typedef void (*row_fetch)(uint32_t *dst, const void *src, int y, int w, size_t stride);

static void fetch_rgb(uint32_t *dst, const void *src, int y, int w, size_t stride)
{
    const uint8_t *p = (const uint8_t *)src + (size_t)y * stride;
    /* BT.601 luma in Q8, as 8-bit JPEG luma is defined. */
    for (int x = 0; x < w; x++, p += 3)
        dst[x] = (77u * p[0] + 150u * p[1] + 29u * p[2] + 128u) >> 8;
}

/*
 * The horizontal taps of one resampling: output pixel o averages source
 * pixels first[o] .. first[o] + count[o] - 1 with integer weights that sum
 * to sw.  Computed once per level rather than per row.
 */
typedef struct {
    int *first, *count;
    uint32_t *weight;
    uint64_t inv; /* 2^40 / sw: division by a fixed sw as a multiply and shift */
} taps;

static int taps_build(taps *t, int sw, int dw)
{
    const int64_t n = sw, m = dw;
    t->first = malloc((size_t)dw * sizeof(*t->first));
    t->count = malloc((size_t)dw * sizeof(*t->count));
    /* Each output takes at most ceil(n / m) + 1 taps. */
    const size_t per = (size_t)((n + m - 1) / m + 1);
    t->weight = malloc((size_t)dw * per * sizeof(*t->weight));
    if (!t->first || !t->count || !t->weight)
        return -1;
    t->inv = ((uint64_t)1 << 40) / (uint64_t)n;
    size_t k = 0;
    for (int64_t o = 0; o < m; o++) {
        const int64_t lo = o * n, hi = lo + n;
        const int64_t i0 = lo / m, i1 = (hi - 1) / m;
        t->first[o] = (int)i0;
        t->count[o] = (int)(i1 - i0 + 1);
        for (int64_t i = i0; i <= i1; i++) {
            const int64_t a = i * m > lo ? i * m : lo;
            const int64_t b = (i + 1) * m < hi ? (i + 1) * m : hi;
            t->weight[k++] = (uint32_t)(b - a);
        }
    }
    return 0;
}

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->weight);
}

/*
 * One row, horizontally, to 8.8 fixed point.  The multiply-and-shift gives
 * a deterministic integer (what the stored bits need) several times cheaper
 * than a 64-bit divide: sums are at most 255 sw, so no overflow.
 */
static void resample_row(uint16_t *out, const uint32_t *in, const taps *t, int dw)
{
    const uint32_t *wt = t->weight;
    for (int o = 0; o < dw; o++) {
        const uint32_t *p = in + t->first[o];
        uint64_t acc = 0;
        for (int j = 0; j < t->count[o]; j++)
            acc += (uint64_t)p[j] * wt[j];
        wt += t->count[o];
        out[o] = (uint16_t)((acc * 256 * t->inv + (1ull << 39)) >> 40);
    }
}

/* Vertical sums are at most 65280 sh, so acc * inv < 255 * 2^40 as well. */
static void emit_row(uint8_t *out, const uint64_t *acc, int dw, uint64_t sh)
{
    const uint64_t inv = ((uint64_t)1 << 40) / (sh * 256);
    for (int x = 0; x < dw; x++) {
        const uint64_t v = (acc[x] * inv + (1ull << 39)) >> 40;
        out[x] = (uint8_t)(v > 255 ? 255 : v);
    }
}

static int area_resample(work_ctx *w, uint8_t *dst, int dw, int dh, row_fetch fetch,
                         const void *src, int sw, int sh, size_t stride)
{
    taps tp;
    if (taps_build(&tp, sw, dw)) {
        taps_free(&tp);
        return -1;
    }
    const int64_t n = sh, m = dh;
    uint64_t *cur = w->acc[0], *next = w->acc[1];
    memset(cur, 0, (size_t)dw * sizeof(*cur));
    int o = 0;
    for (int64_t i = 0; i < n; i++) {
        fetch(w->row, src, (int)i, sw, stride);
        resample_row(w->hrow, w->row, &tp, dw);
        const int64_t lo = i * m, hi = lo + m, end = (o + 1) * n;
        if (hi <= end) {
            for (int x = 0; x < dw; x++)
                cur[x] += (uint64_t)w->hrow[x] * (uint64_t)(hi - lo);
            if (hi == end) {
                emit_row(dst + (size_t)o * dw, cur, dw, (uint64_t)n);
                memset(cur, 0, (size_t)dw * sizeof(*cur));
                o++;
            }
        } else {
            /* The row straddles two output rows; m <= n, so never three. */
            for (int x = 0; x < dw; x++) {
                cur[x] += (uint64_t)w->hrow[x] * (uint64_t)(end - lo);
                next[x] = (uint64_t)w->hrow[x] * (uint64_t)(hi - end);
            }
            emit_row(dst + (size_t)o * dw, cur, dw, (uint64_t)n);
            uint64_t *t = cur;
            cur = next;
            next = t;
            o++;
        }
    }
    taps_free(&tp);
    return 0;
}

static void build_integral(level_img *lv)
{
    const size_t sw = (size_t)lv->w + 1;
    memset(lv->sum, 0, sw * sizeof(*lv->sum));
    for (int y = 0; y < lv->h; y++) {
        uint32_t run = 0;
        uint32_t *row = lv->sum + (size_t)(y + 1) * sw;
        const uint32_t *above = row - sw;
        row[0] = 0;
        for (int x = 0; x < lv->w; x++) {
            run += lv->px[(size_t)y * lv->w + x];
            row[x + 1] = above[x + 1] + run;
        }
    }
}

/* dst = src at half size, each pixel the rounded mean of a 2x2 block. */
static void halve(level_img *dst, const level_img *src)
{
    for (int y = 0; y < dst->h; y++) {
        const uint8_t *a = src->px + (size_t)(2 * y) * src->w;
        const uint8_t *b = a + src->w;
        uint8_t *out = dst->px + (size_t)y * dst->w;
        for (int x = 0; x < dst->w; x++)
            out[x] = (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
    }
}

/*
 * dst = src at two thirds of its size by exact area averaging: on each axis
 * source pixels a, b, c give (2a + b) / 3 and (b + 2c) / 3, so a 3x3 block
 * gives a 2x2 one with weights 4, 2, 2, 1 (out of 9).  A last one or two
 * rows or columns that make no whole block are dropped, and the level's
 * scale says so.
 */
static void two_thirds(level_img *dst, const level_img *src)
{
    const int sw = src->w;
    for (int by = 0; by < dst->h / 2; by++) {
        const uint8_t *r0 = src->px + (size_t)(3 * by) * sw;
        const uint8_t *r1 = r0 + sw, *r2 = r1 + sw;
        uint8_t *o0 = dst->px + (size_t)(2 * by) * dst->w, *o1 = o0 + dst->w;
        for (int bx = 0; bx < dst->w / 2; bx++) {
            const int x = 3 * bx;
            /* columns first: each row's a, b, c to two values (x3) */
            const int a0 = 2 * r0[x] + r0[x + 1], b0 = r0[x + 1] + 2 * r0[x + 2];
            const int a1 = 2 * r1[x] + r1[x + 1], b1 = r1[x + 1] + 2 * r1[x + 2];
            const int a2 = 2 * r2[x] + r2[x + 1], b2 = r2[x + 1] + 2 * r2[x + 2];
            o0[2 * bx] = (uint8_t)((2 * a0 + a1 + 4) / 9);
            o0[2 * bx + 1] = (uint8_t)((2 * b0 + b1 + 4) / 9);
            o1[2 * bx] = (uint8_t)((a1 + 2 * a2 + 4) / 9);
            o1[2 * bx + 1] = (uint8_t)((b1 + 2 * b2 + 4) / 9);
        }
    }
}

static int build_pyramid(work_ctx *w, const dedup_image *img, dedup_error *err)
{
    const int sw = img->width, sh = img->height;
    const int shorter = sw < sh ? sw : sh, longer = sw < sh ? sh : sw;
    /* Working size: the largest that fits both caps, in exact integers. */
    int64_t num = 1, den = 1;
    if (shorter > WORK_SIDE) {
        num = WORK_SIDE;
        den = shorter;
    }
    if ((int64_t)longer * num > (int64_t)WORK_LONG * den) {
        num = WORK_LONG;
        den = longer;
    }
    int w0 = (int)(((int64_t)sw * num + den / 2) / den);
    int h0 = (int)(((int64_t)sh * num + den / 2) / den);
    if (w0 < 1)
        w0 = 1;
    if (h0 < 1)
        h0 = 1;

    w->row = malloc((size_t)sw * sizeof(*w->row));
    w->hrow = malloc((size_t)sw * sizeof(*w->hrow));
    w->acc[0] = malloc((size_t)w0 * sizeof(uint64_t));
    w->acc[1] = malloc((size_t)w0 * sizeof(uint64_t));
    w->owner = calloc((size_t)w0 * h0, sizeof(*w->owner));
    w->flag = malloc((size_t)w0);
    /* A level's quota is at most the whole budget, so it has at most
     * max_cells cells; rounding the grid up (gx <= cells, gy = ceil(cells /
     * gx)) at most doubles that, and there are two tiers. */
    const size_t max_cells = DEDUP_LOCAL_MAX_KEYPOINTS / POINTS_PER_CELL + 1;
    const size_t max_buckets = 4 * max_cells;
    w->best = malloc(max_buckets * PER_CELL * sizeof(*w->best));
    w->fill = malloc(max_buckets * sizeof(*w->fill));
    if (!w->row || !w->hrow || !w->acc[0] || !w->acc[1] || !w->owner || !w->flag || !w->best ||
        !w->fill)
        return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for local features");

    w->nlevels = 0;
    for (int l = 0; l < DEDUP_LOCAL_LEVELS; l++) {
        level_img *lv = &w->levels[l];
        /* Level 1 is level 0 at two thirds; every other level halves
         * the one two below it with a 2x2 mean, which is exact and several
         * times cheaper than a general resampling (an odd last row or
         * column is dropped, and the level's scale says so). */
        if (l == 0) {
            lv->w = w0;
            lv->h = h0;
            lv->sx_num = lv->sx_den = lv->sy_num = lv->sy_den = 1;
        } else if (l == 1) {
            lv->w = w0 / 3 * 2;
            lv->h = h0 / 3 * 2;
            lv->sx_num = lv->sy_num = 3;
            lv->sx_den = lv->sy_den = 2;
        } else {
            const level_img *base = &w->levels[l - 2];
            lv->w = base->w / 2;
            lv->h = base->h / 2;
            lv->sx_num = 2 * base->sx_num;
            lv->sx_den = base->sx_den;
            lv->sy_num = 2 * base->sy_num;
            lv->sy_den = base->sy_den;
        }
        /* A level with no room inside the border cannot hold a keypoint. */
        if (l > 0 && (lv->w <= 2 * BORDER || lv->h <= 2 * BORDER))
            break;
        lv->px = malloc((size_t)lv->w * lv->h);
        lv->sum = malloc((size_t)(lv->w + 1) * (lv->h + 1) * sizeof(*lv->sum));
        if (!lv->px || !lv->sum)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for local features");
        int rc = 0;
        if (l == 0 && w0 == sw && h0 == sh) {
            /* The decode is already the working size (a 768-pixel tile
             * decoded at half size): luma only. */
            for (int y = 0; y < h0; y++) {
                const uint8_t *p = img->pixels + (size_t)y * img->stride;
                uint8_t *out = lv->px + (size_t)y * w0;
                for (int x = 0; x < w0; x++)
                    out[x] = (uint8_t)((77u * p[3 * x] + 150u * p[3 * x + 1] + 29u * p[3 * x + 2] +
                                        128u) >>
                                       8);
            }
        } else if (l == 0) {
            rc =
                area_resample(w, lv->px, lv->w, lv->h, fetch_rgb, img->pixels, sw, sh, img->stride);
        } else if (l == 1) {
            two_thirds(lv, &w->levels[0]);
        } else {
            halve(lv, &w->levels[l - 2]);
        }
        if (rc)
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for local features");
        build_integral(lv);
        w->nlevels = l + 1;
    }
    return 0;
}

/* --- detection -------------------------------------------------------- */

/* The 16 pixels of a Bresenham circle of radius 3, clockwise from the top. */
static const int8_t circle[16][2] = {{0, -3}, {1, -3},  {2, -2},  {3, -1}, {3, 0},  {3, 1},
                                     {2, 2},  {1, 3},   {0, 3},   {-1, 3}, {-2, 2}, {-3, 1},
                                     {-3, 0}, {-3, -1}, {-2, -2}, {-1, -3}};

/* True when the 16-bit ring mask has 9 contiguous set bits (circularly). */
static int has_arc9(unsigned mask)
{
    uint32_t m = mask | (mask << 16);
    m &= m >> 1;                     /* runs of 2 */
    m &= m >> 2;                     /* runs of 4 */
    m &= m >> 4;                     /* runs of 8 */
    m &= (mask | (mask << 16)) >> 8; /* runs of 9 */
    return m != 0;
}

/*
 * The segment test at threshold t.  Returns 0 when p is not a corner, else
 * 1 + its ring score: the summed excess over t of the ring pixels brighter
 * (or darker, whichever is larger) than the centre, a cheap measure of
 * corner strength used for non-maximum suppression.  *strong is set when
 * the corner passes at t_strong too.
 */
static int fast_test(const uint8_t *p, const int *offs, int t, int t_strong, int *strong)
{
    const int v = p[0];
    int ring[16];
    unsigned bm = 0, dm = 0;
    for (int k = 0; k < 16; k++) {
        ring[k] = p[offs[k]] - v;
        bm |= (unsigned)(ring[k] > t) << k;
        dm |= (unsigned)(ring[k] < -t) << k;
    }
    const int bright = has_arc9(bm), dark = has_arc9(dm);
    if (!bright && !dark)
        return 0;
    unsigned bs = 0, ds = 0;
    int sb = 0, sd = 0;
    for (int k = 0; k < 16; k++) {
        bs |= (unsigned)(ring[k] > t_strong) << k;
        ds |= (unsigned)(ring[k] < -t_strong) << k;
        if (ring[k] > t)
            sb += ring[k] - t;
        else if (ring[k] < -t)
            sd += -ring[k] - t;
    }
    *strong = has_arc9(bs) || has_arc9(ds);
    return 1 + (sb > sd ? sb : sd);
}

/*
 * The corner's contrast: over every 9-pixel arc of the ring and both
 * polarities, the largest of the smallest differences from the centre on
 * the arc.  A corner passes the segment test at threshold t exactly when
 * its contrast exceeds t, so "strong" (found at STRONG_THRESHOLD) and
 * "contrast >= DEDUP_LOCAL_STRONG_CONTRAST" are the same thing.
 */
static int fast_contrast(const uint8_t *p, const int *offs)
{
    int d[16], best = 0;
    for (int sign = -1; sign <= 1; sign += 2) {
        for (int k = 0; k < 16; k++)
            d[k] = sign * (p[offs[k]] - p[0]);
        for (int s = 0; s < 16; s++) {
            int m = d[s];
            for (int k = 1; k < 9 && m > best; k++) {
                const int e = d[(s + k) & 15];
                if (e < m)
                    m = e;
            }
            if (m > best)
                best = m;
        }
    }
    return best;
}

/* Harris response with k = 1/25 over a 7x7 block of central differences. */
static int64_t harris(const level_img *lv, int x, int y)
{
    int32_t sxx = 0, syy = 0, sxy = 0; /* 49 * 255^2 fits */
    const int w = lv->w;
    for (int dy = -HARRIS_HALF; dy <= HARRIS_HALF; dy++) {
        const uint8_t *p = lv->px + (size_t)(y + dy) * w + x;
        for (int dx = -HARRIS_HALF; dx <= HARRIS_HALF; dx++) {
            const int32_t gx = (int32_t)p[dx + 1] - p[dx - 1];
            const int32_t gy = (int32_t)p[dx + w] - p[dx - w];
            sxx += gx * gx;
            syy += gy * gy;
            sxy += gx * gy;
        }
    }
    const int64_t tr = (int64_t)sxx + syy;
    return (int64_t)sxx * syy - (int64_t)sxy * sxy - tr * tr / 25;
}

static int better(const corner *a, const corner *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->y != b->y)
        return a->y < b->y;
    return a->x < b->x;
}

/*
 * Every FAST corner of a level (at threshold t) that beats its 8 neighbours
 * on the ring score (ties to the first in raster order) and has a positive
 * Harris score, appended to w->kept.
 */
static int detect_level(work_ctx *w, int l, int t)
{
    const level_img *lv = &w->levels[l];
    const int W = lv->w;
    int offs[16];
    for (int k = 0; k < 16; k++)
        offs[k] = circle[k][1] * W + circle[k][0];
    uint8_t *flag = w->flag;
    const uint8_t tt = (uint8_t)t;
    w->found.n = 0;
    for (int y = BORDER; y < lv->h - BORDER; y++) {
        const uint8_t *row = lv->px + (size_t)y * W;
        /* Pre-test over the whole row in 8-bit lanes, which the compiler
         * vectorises.  A 9-pixel arc of the 16-pixel ring holds 4
         * consecutive pixels (circularly) of the 8 at even positions and 4
         * of the 8 at odd ones, so a corner needs both runs all brighter,
         * or all darker, than the centre by more than t.  Few pixels pass
         * that are not corners, so the full test below runs rarely. */
        const uint8_t *r[16];
        for (int k = 0; k < 16; k++)
            r[k] = row + offs[k];
        for (int x = BORDER; x < W - BORDER; x++) {
            const uint8_t v = row[x];
            const uint8_t hi = (uint8_t)(v > 255 - tt ? 255 : v + tt);
            const uint8_t lo = (uint8_t)(v < tt ? 0 : v - tt);
            uint8_t b[16], d[16];
            for (int k = 0; k < 16; k++) {
                b[k] = r[k][x] > hi;
                d[k] = r[k][x] < lo;
            }
            /* runs of 2 two apart, then runs of 4 */
            uint8_t b2[16], d2[16], be = 0, bo = 0, de = 0, dO = 0;
            for (int k = 0; k < 16; k++) {
                b2[k] = b[k] & b[(k + 2) & 15];
                d2[k] = d[k] & d[(k + 2) & 15];
            }
            for (int k = 0; k < 16; k += 2) {
                be |= b2[k] & b2[(k + 4) & 15];
                bo |= b2[k + 1] & b2[(k + 5) & 15];
                de |= d2[k] & d2[(k + 4) & 15];
                dO |= d2[k + 1] & d2[(k + 5) & 15];
            }
            flag[x] = (uint8_t)((be & bo) | (de & dO));
        }
        for (int x = BORDER; x < W - BORDER; x++) {
            /* Most pixels fail the pre-test: skip eight at a time. */
            uint64_t eight;
            if (x + 8 <= W - BORDER) {
                memcpy(&eight, flag + x, sizeof(eight));
                if (!eight) {
                    x += 7;
                    continue;
                }
            }
            if (!flag[x])
                continue;
            int strong = 0;
            const int ring_score = fast_test(row + x, offs, t, STRONG_THRESHOLD, &strong);
            if (!ring_score)
                continue;
            corner c = {x, y, l, 0, 0, strong, ring_score};
            if (corner_push(&w->found, &c))
                return -1;
            w->owner[(size_t)y * W + x] = (int32_t)w->found.n;
        }
    }
    /* Suppression on the cheap ring score, then the Harris score (which
     * ranks corners against edges better) only for the survivors. */
    for (size_t i = 0; i < w->found.n; i++) {
        const corner *c = &w->found.v[i];
        int keep = 1;
        for (int dy = -1; dy <= 1 && keep; dy++)
            for (int dx = -1; dx <= 1 && keep; dx++) {
                int32_t o = w->owner[(size_t)(c->y + dy) * W + c->x + dx];
                if (o > 0 && (size_t)(o - 1) != i && better(&w->found.v[o - 1], c))
                    keep = 0;
            }
        if (!keep)
            continue;
        corner k = *c;
        k.score = harris(lv, c->x, c->y);
        if (k.score > 0 && corner_push(&w->kept, &k))
            return -1;
    }
    for (size_t i = 0; i < w->found.n; i++)
        w->owner[(size_t)w->found.v[i].y * W + w->found.v[i].x] = 0;
    return 0;
}

/* --- selection -------------------------------------------------------- */

static int cmp_by_rank(const void *pa, const void *pb)
{
    const corner *a = pa, *b = pb;
    if (a->strong != b->strong)
        return a->strong > b->strong ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return better(a, b) ? -1 : better(b, a) ? 1 : 0;
}

/*
 * Order one level's corners for selection and return how many are kept.
 * Strong corners (real contrast) come before weak ones (soft texture, or
 * noise on a flat area), so weak ones only fill a budget that strong ones
 * leave.  Within each tier: the best of every grid cell first (strongest
 * cells first), then every cell's second best, and so on.  The grid keeps
 * one busy region (foliage, text) from taking the whole budget, so that
 * every part of the picture can be found in an overlap.  Only the best
 * PER_CELL of each cell and tier are kept: a busy level has tens of
 * thousands of corners, and sorting them all would cost more than finding
 * them.
 */
static size_t order_level(work_ctx *w, corner *c, size_t n, const level_img *lv, int quota)
{
    int cells = quota / POINTS_PER_CELL;
    if (cells < 1)
        cells = 1;
    /* gx / gy follows the aspect ratio, computed in integers. */
    int gx = 1;
    while (gx < cells && (int64_t)(gx + 1) * (gx + 1) * lv->h <= (int64_t)cells * lv->w)
        gx++;
    const int gy = (cells + gx - 1) / gx;
    const size_t buckets = 2 * (size_t)gx * gy;
    corner *best = w->best;
    int *fill = w->fill;
    for (size_t b = 0; b < buckets; b++)
        fill[b] = 0;
    for (size_t i = 0; i < n; i++) {
        const int cx = (int)((int64_t)c[i].x * gx / lv->w);
        const int cy = (int)((int64_t)c[i].y * gy / lv->h);
        c[i].cell = cy * gx + cx;
        const size_t b = (size_t)(c[i].strong ? 0 : gx * gy) + (size_t)c[i].cell;
        /* Insertion into the bucket's short list, best first. */
        corner *list = best + b * PER_CELL;
        int k = fill[b];
        if (k == PER_CELL) {
            if (!better(&c[i], &list[PER_CELL - 1]))
                continue;
            k--;
        } else {
            fill[b]++;
        }
        while (k > 0 && better(&c[i], &list[k - 1])) {
            list[k] = list[k - 1];
            k--;
        }
        list[k] = c[i];
    }
    size_t m = 0;
    for (size_t b = 0; b < buckets; b++)
        for (int k = 0; k < fill[b]; k++) {
            c[m] = best[b * PER_CELL + (size_t)k];
            c[m++].rank = k;
        }
    if (m > 1)
        qsort(c, m, sizeof(*c), cmp_by_rank);
    return m;
}

/* --- description ------------------------------------------------------ */

/* Half-widths of the orientation disc's rows: floor(sqrt(15^2 - dy^2)). */
static const int8_t disc_half[ORIENT_RADIUS + 1] = {15, 14, 14, 14, 14, 14, 13, 13,
                                                    12, 12, 11, 10, 9,  7,  5,  0};

/* Orientation of the intensity centroid in a disc, as one of 256 steps:
 * the step whose direction has the largest dot product with the centroid
 * (searched in the centroid's own quadrant only). */
static unsigned orientation(const level_img *lv, int x, int y)
{
    int32_t m10 = 0, m01 = 0; /* at most 961 * 15 * 255 */
    for (int dy = -ORIENT_RADIUS; dy <= ORIENT_RADIUS; dy++) {
        const int half = disc_half[dy < 0 ? -dy : dy];
        const uint8_t *row = lv->px + (size_t)(y + dy) * lv->w + x;
        int32_t sum = 0, moment = 0;
        for (int dx = -half; dx <= half; dx++) {
            sum += row[dx];
            moment += dx * row[dx];
        }
        m10 += moment;
        m01 += dy * sum;
    }
    const unsigned first = m01 >= 0 ? (m10 >= 0 ? 0 : 64) : (m10 < 0 ? 128 : 192);
    unsigned best = first;
    int64_t best_dot = INT64_MIN;
    for (unsigned a = first; a <= first + 64; a++) {
        const int64_t dot = (int64_t)m10 * cos_q14(a) + (int64_t)m01 * sin_q14(a);
        if (dot > best_dot) {
            best_dot = dot;
            best = a & 255;
        }
    }
    return best;
}

/* v / 2^14 rounded (halves up) for |v| < 2^20, by shifting a positive value. */
static int round_q14(int32_t v)
{
    return ((v + 8192 + (64 << 14)) >> 14) - 64;
}

/*
 * The descriptor: bit i compares the sums of the 5x5 boxes around the two
 * points of pattern pair i, turned by the keypoint's angle.  The points are
 * turned first into offsets in the integral image, in a loop the compiler
 * vectorises, then each box costs four reads.
 */
static void describe(dedup_local_keypoint *kp, const level_img *lv, int x, int y, unsigned angle)
{
    const int32_t c = cos_q14(angle), s = sin_q14(angle);
    const int32_t sw = lv->w + 1;
    int32_t off_a[256], off_b[256];
    for (int i = 0; i < 256; i++) {
        const int32_t p0 = pattern[i][0], p1 = pattern[i][1];
        const int32_t p2 = pattern[i][2], p3 = pattern[i][3];
        off_a[i] = round_q14(s * p0 + c * p1) * sw + round_q14(c * p0 - s * p1);
        off_b[i] = round_q14(s * p2 + c * p3) * sw + round_q14(c * p2 - s * p3);
    }
    /* The box around (x, y) spans rows y-2 .. y+2: integral rows y-2 and y+3. */
    const uint32_t *top = lv->sum + (size_t)(y - 2) * sw + x - 2;
    const uint32_t *bot = top + 5 * (size_t)sw;
    for (int word = 0; word < 4; word++) {
        uint64_t bits = 0;
        for (int i = 0; i < 64; i++) {
            const int32_t a = off_a[word * 64 + i], b = off_b[word * 64 + i];
            const uint32_t sa = bot[a + 5] - bot[a] - top[a + 5] + top[a];
            const uint32_t sb = bot[b + 5] - bot[b] - top[b + 5] + top[b];
            bits |= (uint64_t)(sa < sb) << i;
        }
        kp->desc[word] = bits;
    }
}

/* Level coordinate to level-0 quarter pixels: 4 (v + 0.5) num / den, rounded. */
static uint16_t to_quarter(int v, int64_t num, int64_t den)
{
    return (uint16_t)(((int64_t)(2 * v + 1) * 2 * num + den / 2) / den);
}

/* --- the whole computation -------------------------------------------- */

int dedup_local_compute(dedup_local_features *out, const dedup_image *img, dedup_error *err)
{
    if (!out)
        return dedup_error_set(err, DEDUP_EINVAL, "local features: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!img || !img->pixels || img->width < 1 || img->height < 1 ||
        img->stride < (size_t)img->width * 3)
        return dedup_error_set(err, DEDUP_EINVAL, "local features of a missing or empty image");

    work_ctx w;
    memset(&w, 0, sizeof(w));
    int rc = build_pyramid(&w, img, err);
    if (rc) {
        work_free(&w);
        return rc;
    }
    out->source_width = img->source_width > 0 ? img->source_width : img->width;
    out->source_height = img->source_height > 0 ? img->source_height : img->height;
    out->work_width = w.levels[0].w;
    out->work_height = w.levels[0].h;

    /*
     * Budget per level in proportion to its linear size, so coarse levels
     * (which must hold the keypoints that survive a 2x rescale) are not
     * starved; what a level cannot fill passes to the next.
     */
    int weight[DEDUP_LOCAL_LEVELS], wsum = 0;
    for (int l = 0; l < w.nlevels; l++) {
        weight[l] = (int)(level_scale_q16[l] >> 8);
        wsum += weight[l];
    }
    int carry = 0;
    size_t level_start[DEDUP_LOCAL_LEVELS + 1];
    int taken_per_level[DEDUP_LOCAL_LEVELS];
    for (int l = 0; l < w.nlevels; l++) {
        level_start[l] = w.kept.n;
        int quota = DEDUP_LOCAL_MAX_KEYPOINTS * weight[l] / wsum + carry;
        if (l == w.nlevels - 1)
            quota = DEDUP_LOCAL_MAX_KEYPOINTS - (int)out->count;
        int rc_detect = detect_level(&w, l, STRONG_THRESHOLD);
        if (!rc_detect && w.kept.n - level_start[l] < (size_t)quota) {
            w.kept.n = level_start[l];
            rc_detect = detect_level(&w, l, FAST_THRESHOLD);
        }
        if (rc_detect) {
            work_free(&w);
            return dedup_error_set(err, DEDUP_ENOMEM, "out of memory for local features");
        }
        const size_t n = order_level(&w, w.kept.v + level_start[l], w.kept.n - level_start[l],
                                     &w.levels[l], quota > 0 ? quota : 1);
        w.kept.n = level_start[l] + n;
        int take = (size_t)quota < n ? quota : (int)n;
        if (take < 0)
            take = 0;
        taken_per_level[l] = take;
        carry = quota - take;
        out->count += (uint32_t)take;
    }
    level_start[w.nlevels] = w.kept.n;
    /* What the last level could not use goes back to the finer ones, in
     * their own selection order. */
    for (int l = 0; l < w.nlevels && out->count < DEDUP_LOCAL_MAX_KEYPOINTS; l++) {
        size_t avail = level_start[l + 1] - level_start[l] - (size_t)taken_per_level[l];
        size_t room = DEDUP_LOCAL_MAX_KEYPOINTS - out->count;
        size_t more = avail < room ? avail : room;
        taken_per_level[l] += (int)more;
        out->count += (uint32_t)more;
    }

    size_t k = 0;
    for (int l = 0; l < w.nlevels; l++) {
        const level_img *lv = &w.levels[l];
        for (int i = 0; i < taken_per_level[l]; i++) {
            const corner *c = &w.kept.v[level_start[l] + (size_t)i];
            dedup_local_keypoint *kp = &out->points[k++];
            int offs[16];
            for (int q = 0; q < 16; q++)
                offs[q] = circle[q][1] * lv->w + circle[q][0];
            const int contrast = fast_contrast(lv->px + (size_t)c->y * lv->w + c->x, offs);
            kp->level = (uint8_t)l;
            /* Multiples of 4 up to 124: what the blob keeps, so a round
             * trip through the cache is exact. */
            kp->contrast = (uint8_t)((contrast > 124 ? 124 : contrast) & ~3);
            kp->angle = (uint8_t)orientation(lv, c->x, c->y);
            kp->x = to_quarter(c->x, lv->sx_num, lv->sx_den);
            kp->y = to_quarter(c->y, lv->sy_num, lv->sy_den);
            describe(kp, lv, c->x, c->y, kp->angle);
        }
    }
    work_free(&w);
    return 0;
}

int dedup_local_comparable(const dedup_local_features *f)
{
    if (!f)
        return 0;
    uint32_t strong = 0;
    for (uint32_t i = 0; i < f->count && i < DEDUP_LOCAL_MAX_KEYPOINTS; i++)
        strong += f->points[i].contrast >= DEDUP_LOCAL_COMPARABLE_CONTRAST;
    return strong >= DEDUP_LOCAL_MIN_KEYPOINTS;
}

void dedup_local_point(const dedup_local_features *f, size_t i, double *x, double *y, double *size,
                       double *angle)
{
    const dedup_local_keypoint *kp = &f->points[i];
    const double sx = (double)f->source_width / f->work_width;
    const double sy = (double)f->source_height / f->work_height;
    if (x)
        *x = kp->x * 0.25 * sx;
    if (y)
        *y = kp->y * 0.25 * sy;
    if (size)
        *size = 65536.0 / level_scale_q16[kp->level < DEDUP_LOCAL_LEVELS ? kp->level : 0] *
                (sx + sy) * 0.5;
    if (angle)
        *angle = kp->angle * (360.0 / 256.0);
}
