/*
 * pdq.c - the 256-bit DCT perceptual hash (in the style of Facebook's PDQ),
 * its eight dihedral variants and its quality score.
 *
 * Assumes RGB8 input of any size >= 1x1 with stride >= width * 3.  All
 * arithmetic is in double and every table lives on the caller's stack, so
 * the function is reentrant and gives the same bits wherever IEEE doubles
 * without FMA contraction are used (the project builds with -std=c11, which
 * turns contraction off in GCC).
 *
 * Layout: coefficient (a, b) has vertical frequency a + 1 and horizontal
 * frequency b + 1 (the DC row and column are dropped); it is hash bit
 * a * 16 + b.
 */
#include "dedup/features.h"

#include <math.h>
#include <string.h>

#define GRID 64 /* side of the downscaled luma image */
#define FREQ 16 /* frequencies kept per direction */
#define NCOEF (FREQ * FREQ)

/* M_PI is not in strict C11. */
#define PDQ_PI 3.14159265358979323846

/*
 * Quality: sum of |difference| between horizontally and vertically
 * neighbouring cells of the 64x64 luma (grey levels, 8064 pairs).
 * Differences below QUALITY_DEADZONE grey levels are ignored so that sensor
 * noise and JPEG ringing on a blank frame do not look like content (the PDQ
 * reference gets a similar dead zone from truncating to integer percent).
 *
 * Measured sums with this dead zone: 20k-97k for the photographs in
 * /usr/share/backgrounds/mate (8.8k-17.6k for most of its graphic
 * wallpapers), 4.6k for a 64x64 grey frame with +-4 noise, 0 for solid
 * colours, smooth gradients and larger noisy frames (the box average
 * cancels the noise).
 * Dividing by 150 puts every photo at the 100 cap with room to spare and
 * makes DEDUP_PDQ_MIN_QUALITY = 50 a sum of 7.5k, between the two groups.
 * (PDQ's reference divides by about 230 in these units, but it downsamples
 * with a different filter, so its numbers do not carry over directly.)
 */
#define QUALITY_DEADZONE 2.0
#define QUALITY_DIVISOR 150.0

/*
 * Coefficients below this are taken to be exactly zero.  A cosine pattern
 * of amplitude A grey levels gives a coefficient of about 1024 A, so this
 * is an amplitude of 1e-9 grey levels, while double rounding in the sums
 * stays near 1e-10.
 */
#define COEF_ZERO 1e-6

typedef struct {
    double luma[GRID][GRID];
    double dct_t[GRID][FREQ]; /* dct_t[j][k] = cos(pi * (k + 1) * (2j + 1) / 128) */
    double tmp[GRID][FREQ];   /* luma * dct_t */
    double coef[FREQ][FREQ];
} pdq_work;

/*
 * cos(pi * m / 128) for any m >= 0, built from one quadrant so that the
 * symmetries the variants rely on (sign flips under mirroring) hold exactly
 * in floating point, not just to a few ulps.
 */
static double quarter_cos(const double *quadrant, unsigned m)
{
    m %= 256;
    if (m > 128)
        m = 256 - m;
    if (m > 64)
        return -quadrant[128 - m];
    return quadrant[m];
}

static void build_dct(pdq_work *w)
{
    double quadrant[65];
    for (int m = 0; m < 64; m++)
        quadrant[m] = cos(PDQ_PI * m / 128.0);
    quadrant[64] = 0.0;
    for (int j = 0; j < GRID; j++)
        for (int k = 0; k < FREQ; k++)
            w->dct_t[j][k] = quarter_cos(quadrant, (unsigned)((k + 1) * (2 * j + 1)));
}

static inline double luma_of(const uint8_t *px)
{
    return 0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2];
}

/*
 * Exact area averaging onto a 64x64 grid.  On an axis of n pixels, pixel p
 * covers [64p, 64p + 64) and cell c covers [cn, cn + n) in units of 1/(64n)
 * of the side, so the overlap of any pixel with any cell is an integer.  A
 * cell smaller than a pixel (n < 64) still takes its share of that pixel,
 * and the boxes are mirror-symmetric, so the grid of a flipped or rotated
 * image is exactly the flipped or rotated grid.
 */
static void downscale(pdq_work *w, const dedup_image *img)
{
    const int64_t width = img->width, height = img->height;
    double row_bins[GRID];
    int vcell = 0;
    memset(w->luma, 0, sizeof(w->luma));
    for (int64_t y = 0; y < height; y++) {
        const uint8_t *row = img->pixels + (size_t)y * img->stride;
        memset(row_bins, 0, sizeof(row_bins));
        int hcell = 0;
        for (int64_t x = 0; x < width; x++) {
            const double v = luma_of(row + 3 * x);
            int64_t lo = GRID * x;
            const int64_t hi = lo + GRID;
            for (;;) {
                const int64_t cell_end = (hcell + 1) * width;
                if (cell_end >= hi) {
                    row_bins[hcell] += v * (double)(hi - lo);
                    if (cell_end == hi && hcell < GRID - 1)
                        hcell++;
                    break;
                }
                row_bins[hcell] += v * (double)(cell_end - lo);
                lo = cell_end;
                hcell++;
            }
        }
        int64_t lo = GRID * y;
        const int64_t hi = lo + GRID;
        for (;;) {
            const int64_t cell_end = (vcell + 1) * height;
            const int64_t end = cell_end < hi ? cell_end : hi;
            const double weight = (double)(end - lo);
            for (int c = 0; c < GRID; c++)
                w->luma[vcell][c] += weight * row_bins[c];
            if (cell_end > hi)
                break;
            if (vcell < GRID - 1)
                vcell++;
            lo = cell_end;
            if (lo == hi)
                break;
        }
    }
    /* Every cell's weights sum to width * height, which restores grey levels. */
    const double norm = 1.0 / ((double)width * (double)height);
    for (int r = 0; r < GRID; r++)
        for (int c = 0; c < GRID; c++)
            w->luma[r][c] *= norm;
}

/* coef = D * luma * D^T, loops ordered so the inner one runs along rows. */
static void dct16(pdq_work *w)
{
    memset(w->tmp, 0, sizeof(w->tmp));
    for (int y = 0; y < GRID; y++)
        for (int x = 0; x < GRID; x++) {
            const double v = w->luma[y][x];
            for (int k = 0; k < FREQ; k++)
                w->tmp[y][k] += v * w->dct_t[x][k];
        }
    memset(w->coef, 0, sizeof(w->coef));
    for (int a = 0; a < FREQ; a++)
        for (int y = 0; y < GRID; y++) {
            const double d = w->dct_t[y][a];
            for (int b = 0; b < FREQ; b++)
                w->coef[a][b] += d * w->tmp[y][b];
        }
    /* Symmetric or one-dimensional content makes some coefficients zero in
     * exact arithmetic; left as rounding residue, their signs would turn
     * into bits that differ between an image and its mirror image. */
    for (int a = 0; a < FREQ; a++)
        for (int b = 0; b < FREQ; b++)
            if (fabs(w->coef[a][b]) < COEF_ZERO)
                w->coef[a][b] = 0.0;
}

/* Bits that come from zero coefficients say nothing about the image (a
 * 1-pixel strip, pure stripes, a 2x2 image): when they are half or more of
 * the hash, the hash would match any other such image, so it gets quality 0. */
static int mostly_zero(const pdq_work *w)
{
    int zeros = 0;
    for (int a = 0; a < FREQ; a++)
        for (int b = 0; b < FREQ; b++)
            zeros += w->coef[a][b] == 0.0;
    return zeros >= NCOEF / 2;
}

static int quality_of(const pdq_work *w)
{
    if (mostly_zero(w))
        return 0;
    double sum = 0.0;
    for (int r = 0; r < GRID; r++)
        for (int c = 0; c < GRID; c++) {
            if (c + 1 < GRID) {
                const double d = fabs(w->luma[r][c + 1] - w->luma[r][c]) - QUALITY_DEADZONE;
                if (d > 0)
                    sum += d;
            }
            if (r + 1 < GRID) {
                const double d = fabs(w->luma[r + 1][c] - w->luma[r][c]) - QUALITY_DEADZONE;
                if (d > 0)
                    sum += d;
            }
        }
    const double q = sum / QUALITY_DIVISOR;
    return q >= 100.0 ? 100 : (int)q;
}

/* Quickselect: afterwards v[k] holds the k-th smallest, smaller ones before it. */
static void select_kth(double *v, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        const double pivot = v[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                const double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
}

/* Midpoint of the two middle values, so that distinct coefficients always
 * give exactly 128 set bits. */
static double median256(const double *values)
{
    double v[NCOEF];
    memcpy(v, values, sizeof(v));
    select_kth(v, NCOEF, NCOEF / 2 - 1);
    double upper = v[NCOEF / 2];
    for (int i = NCOEF / 2 + 1; i < NCOEF; i++)
        if (v[i] < upper)
            upper = v[i];
    return 0.5 * (v[NCOEF / 2 - 1] + upper);
}

/*
 * How each transform acts on the coefficients.  Mirroring left-right maps
 * column x to 63 - x, and cos(pi*f*(2(63-x)+1)/128) = (-1)^f cos(pi*f*(2x+1)/128),
 * so coefficients with odd horizontal frequency f = b + 1 (even b) change
 * sign; top-bottom likewise for rows.  Transposing the image transposes the
 * coefficients.  The rotations are compositions: rot90 (clockwise) is a
 * transpose followed by a left-right mirror.  Signs below are applied in
 * the output's own indexing, after any swap.
 */
static const struct {
    unsigned char swap, flip_rows, flip_cols;
} xform_rules[DEDUP_XFORM_COUNT] = {
    [DEDUP_XFORM_IDENTITY] = {0, 0, 0},  [DEDUP_XFORM_ROT90] = {1, 0, 1},
    [DEDUP_XFORM_ROT180] = {0, 1, 1},    [DEDUP_XFORM_ROT270] = {1, 1, 0},
    [DEDUP_XFORM_FLIP_H] = {0, 0, 1},    [DEDUP_XFORM_FLIP_V] = {0, 1, 0},
    [DEDUP_XFORM_TRANSPOSE] = {1, 0, 0}, [DEDUP_XFORM_TRANSVERSE] = {1, 1, 1},
};

static void hash_variant(dedup_pdq_hash *out, const double coef[FREQ][FREQ], dedup_transform t)
{
    double v[NCOEF];
    for (int a = 0; a < FREQ; a++)
        for (int b = 0; b < FREQ; b++) {
            double c = xform_rules[t].swap ? coef[b][a] : coef[a][b];
            /* frequency a + 1 is odd exactly when a is even */
            if (xform_rules[t].flip_rows && (a & 1) == 0)
                c = -c;
            if (xform_rules[t].flip_cols && (b & 1) == 0)
                c = -c;
            v[a * FREQ + b] = c;
        }
    const double median = median256(v);
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < NCOEF; i++)
        if (v[i] > median)
            out->w[i / 64] |= (uint64_t)1 << (i % 64);
}

int dedup_pdq_compute(dedup_pdq *out, const dedup_image *img, dedup_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!img || !img->pixels || img->width < 1 || img->height < 1)
        return dedup_error_set(err, DEDUP_EINVAL, "perceptual hash of an empty image");
    if (img->stride / 3 < (size_t)img->width)
        return dedup_error_set(err, DEDUP_EINVAL, "image stride %zu is too small for width %d",
                               img->stride, img->width);
    pdq_work w;
    build_dct(&w);
    downscale(&w, img);
    dct16(&w);
    out->quality = quality_of(&w);
    for (int t = 0; t < DEDUP_XFORM_COUNT; t++)
        hash_variant(&out->variants[t], w.coef, (dedup_transform)t);
    return 0;
}

static unsigned popcount64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_popcountll(x);
#else
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (unsigned)((x * 0x0101010101010101ULL) >> 56);
#endif
}

unsigned dedup_pdq_distance(const dedup_pdq_hash *a, const dedup_pdq_hash *b)
{
    unsigned d = 0;
    for (int i = 0; i < DEDUP_PDQ_WORDS; i++)
        d += popcount64(a->w[i] ^ b->w[i]);
    return d;
}

const char *dedup_transform_name(dedup_transform t)
{
    switch (t) {
    case DEDUP_XFORM_IDENTITY:
        return "identity";
    case DEDUP_XFORM_ROT90:
        return "rot90";
    case DEDUP_XFORM_ROT180:
        return "rot180";
    case DEDUP_XFORM_ROT270:
        return "rot270";
    case DEDUP_XFORM_FLIP_H:
        return "flip_h";
    case DEDUP_XFORM_FLIP_V:
        return "flip_v";
    case DEDUP_XFORM_TRANSPOSE:
        return "transpose";
    case DEDUP_XFORM_TRANSVERSE:
        return "transverse";
    default:
        return "unknown";
    }
}

dedup_transform dedup_transform_inverse(dedup_transform t)
{
    if (t == DEDUP_XFORM_ROT90)
        return DEDUP_XFORM_ROT270;
    if (t == DEDUP_XFORM_ROT270)
        return DEDUP_XFORM_ROT90;
    return t;
}
