/*
 * overlap.c - do two images show overlapping parts of one scene?  The
 * geometric verification behind the "overlap" match kind (issue 6).
 *
 * Pure: two sets of local features in, a verdict out; no git, files or
 * cache.  Assumes features made by dedup_local_compute or accepted by
 * dedup_local_parse (positions inside their working image, levels in
 * range).  All geometry is in full-size source pixels, so scale and offset
 * mean the same whatever size each image was decoded at.
 *
 * The danger here is not missing an overlap but inventing one: with ~200
 * keypoints a side, a RANSAC that only counts inliers will find a dozen
 * "agreeing" matches between unrelated pictures often enough, typically all
 * in one spot (a shared logo), on a line (an edge), or on a repetitive
 * texture.  Every accepted fit must therefore also spread its inliers over
 * the overlap it claims, in both images, and explain a fair share of the
 * keypoints that lie there.
 */
#include "dedup/match.h"

#include "dedup/index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* A match agrees with a transform when it lands within POS_TOL level pixels
 * of its partner, its keypoints' scales agree within SCALE_TOL_LOG2 octaves
 * and their orientations within ANGLE_TOL degrees. */
#define POS_TOL 3.0
#define SCALE_TOL_LOG2 0.8
#define ANGLE_TOL 30.0

/* Two keypoints of one image closer than this many keypoint sizes are taken
 * as the same place (a corner found at two pyramid levels), so neither can
 * be the other's "second nearest" in the ratio test. */
#define SAME_PLACE 4.0

/* RANSAC: at most this many 2-point draws, at least MIN_ITER, stopping
 * early once a better fit is unlikely at CONFIDENCE. */
#define MAX_ITER 1500
#define MIN_ITER 100
#define CONFIDENCE 0.999
#define REFINE_ROUNDS 4

/* Spread: each eigenvalue of the inliers' covariance must reach this share
 * of the same eigenvalue of the overlap region's covariance (0.0025: a
 * twentieth of its extent along that axis).  Lenient on purpose: texture
 * often fills only part of a photo's overlap; this catches lines and spots,
 * and the coverage and density checks catch the rest. */
#define MIN_SPREAD 0.0025

/* Whatever the keypoints, the inliers' hull must cover this share of the
 * claimed overlap's area (a logo on an otherwise featureless picture). */
#define MIN_AREA_COVERAGE 0.01
/*
 * A fit is refused when a second fit explains at least RIVAL_SHARE of its
 * inlier count, and at least RIVAL_FLOOR matches, among the matches it left
 * out: the mark of a repeating pattern.  The facade fits that passed the
 * other checks in bench_overlap had rivals of 6 of 8, 19 of 25, 10 of 24
 * and 8 of 29; a chance fit among the leftovers of a true overlap explains
 * 4 or 5 (a floor of 6 lost no true overlap, 5 keeps a margin below the
 * facades).  A share of a quarter rather than a third costs 0.2% of the
 * overlaps found over 20 seeds and stopped the last facade (8 of 29).
 */
#define RIVAL_SHARE 0.25
#define RIVAL_FLOOR 5

typedef struct {
    double x, y, size, angle; /* source pixels, source pixels per level pixel, radians */
} point;

typedef struct {
    int h, t;
    unsigned dist;
    int distinct; /* passed the ratio test */
} pairing;

typedef struct {
    double a, b, tx, ty; /* h = [a -b; b a] t + (tx, ty) */
} similarity;

typedef struct {
    point *hp, *tp; /* keypoints of the held-out and training image */
    size_t nh, nt;
    pairing *m; /* one-to-one matches */
    size_t nm;
    size_t *sel; /* indices of the distinct matches: RANSAC draws from these */
    size_t nsel;
    unsigned char *in, *best_in;
    unsigned char *h_inside, *t_inside; /* keypoints inside the claimed overlap */
    unsigned char *h_strong, *t_strong;
} verify_ctx;

void dedup_overlap_options_init(dedup_overlap_options *o)
{
    o->min_overlap = 0.20;
    /* The checks after the count (spread, coverage, density, rival) are
     * what stop unrelated pictures: no negative in bench_overlap reaches
     * them with a consistent fit.  5 rather than 8 finds 51 more overlaps
     * of 25% and more over 20 seeds (0.941 rather than 0.933 where both
     * sides are comparable), with no false positive in 53,440; 6 finds 37. */
    o->min_inliers = 5;
    o->max_distance = 64;
    o->max_ratio = 0.9;
    o->max_scale = 4.0;
    /* Overlaps found in bench_overlap are within 5.2 degrees of a multiple
     * of 90 (the fit's own error; no crop there is turned); the fits that
     * bands of a woven facade give between crops that share no pixel are
     * turned 9-18 degrees, along the bands' curve. */
    o->max_rotation = 7.0;
    /* 0.10 rather than 0.15 finds 0.6% more overlaps (a true overlap whose
     * inliers gather on its best texture) with no false positive over 13
     * seeds; no negative there reaches this check with a consistent fit. */
    o->min_coverage = 0.10;
    /* With the rival check (RIVAL_SHARE) stopping repeating patterns,
     * 0.12 rather than 0.18 finds 1.7% more overlaps in bench_overlap with
     * no false positive over 13 seeds; below 0.12 adds almost nothing. */
    o->min_inlier_density = 0.12;
}

static void load_points(point *p, const dedup_local_features *f)
{
    for (uint32_t i = 0; i < f->count; i++) {
        double deg;
        dedup_local_point(f, i, &p[i].x, &p[i].y, &p[i].size, &deg);
        p[i].angle = deg * (PI / 180.0);
    }
}

static double wrap_angle(double a)
{
    while (a > PI)
        a -= 2 * PI;
    while (a < -PI)
        a += 2 * PI;
    return a;
}

/* --- descriptor matching ---------------------------------------------- */

static int cmp_pairing(const void *pa, const void *pb)
{
    const pairing *a = pa, *b = pb;
    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

/*
 * Nearest training descriptor for each held-out one, kept when it is close
 * enough; then one-to-one, best distance first, so that one training point
 * cannot support a fit many times over.  A match is "distinct" when its
 * partner is clearly nearer than the nearest descriptor elsewhere in the
 * training image (a repetitive texture offers many equally good partners
 * and fails this): fits are drawn from distinct matches only, but every
 * match may then agree with a fit.  A true match that misses the ratio
 * test (about one in ten) still counts as evidence, and the later checks
 * (spread, density, coverage) still stop a texture's chance agreement:
 * bench_overlap finds 1-4 more overlaps per seed, with no new false
 * positive over nine seeds.
 */
static void match_descriptors(verify_ctx *c, const dedup_local_features *h,
                              const dedup_local_features *t, const dedup_overlap_options *o)
{
    c->nm = 0;
    uint16_t dist[DEDUP_LOCAL_MAX_KEYPOINTS];
    for (size_t i = 0; i < c->nh; i++) {
        dedup_desc_distances(&h->points[i], t->points, c->nt, dist);
        unsigned d1 = 257;
        int j1 = -1;
        for (size_t j = 0; j < c->nt; j++)
            if (dist[j] < d1) {
                d1 = dist[j];
                j1 = (int)j;
            }
        if (j1 < 0 || d1 > o->max_distance)
            continue;
        const point *b = &c->tp[j1];
        const double sep = SAME_PLACE * b->size;
        unsigned d2 = 257;
        for (size_t j = 0; j < c->nt; j++) {
            const double dx = c->tp[j].x - b->x, dy = c->tp[j].y - b->y;
            if (dist[j] < d2 && dx * dx + dy * dy > sep * sep)
                d2 = dist[j];
        }
        c->m[c->nm].distinct = !(d2 <= 256 && (double)d1 >= o->max_ratio * d2);
        c->m[c->nm].h = (int)i;
        c->m[c->nm].t = j1;
        c->m[c->nm].dist = d1;
        c->nm++;
    }
    if (c->nm > 1)
        qsort(c->m, c->nm, sizeof(*c->m), cmp_pairing);
    unsigned char *used = c->in; /* borrowed: free until RANSAC */
    memset(used, 0, c->nt);
    size_t kept = 0;
    for (size_t k = 0; k < c->nm; k++) {
        if (used[c->m[k].t])
            continue;
        used[c->m[k].t] = 1;
        c->m[kept++] = c->m[k];
    }
    c->nm = kept;
    c->nsel = 0;
    for (size_t k = 0; k < c->nm; k++)
        if (c->m[k].distinct)
            c->sel[c->nsel++] = k;
}

/* --- fitting ---------------------------------------------------------- */

static int agrees(const verify_ctx *c, const pairing *m, const similarity *s, double log2s,
                  double theta)
{
    const point *h = &c->hp[m->h], *t = &c->tp[m->t];
    const double px = s->a * t->x - s->b * t->y + s->tx;
    const double py = s->b * t->x + s->a * t->y + s->ty;
    const double tol = POS_TOL * h->size;
    if ((px - h->x) * (px - h->x) + (py - h->y) * (py - h->y) > tol * tol)
        return 0;
    if (fabs(log2(h->size / t->size) - log2s) > SCALE_TOL_LOG2)
        return 0;
    return fabs(wrap_angle(h->angle - t->angle - theta)) <= ANGLE_TOL * (PI / 180.0);
}

static size_t mark_inliers(const verify_ctx *c, const similarity *s, unsigned char *in)
{
    const double scale = sqrt(s->a * s->a + s->b * s->b);
    if (!(scale > 0))
        return 0;
    const double log2s = log2(scale), theta = atan2(s->b, s->a);
    size_t n = 0;
    for (size_t k = 0; k < c->nm; k++) {
        in[k] = (unsigned char)agrees(c, &c->m[k], s, log2s, theta);
        n += in[k];
    }
    return n;
}

/* Least-squares similarity on the marked matches (2-D Procrustes). */
static int fit_lsq(const verify_ctx *c, const unsigned char *in, similarity *s)
{
    double n = 0, mtx = 0, mty = 0, mhx = 0, mhy = 0;
    for (size_t k = 0; k < c->nm; k++)
        if (in[k]) {
            const point *h = &c->hp[c->m[k].h], *t = &c->tp[c->m[k].t];
            n++;
            mtx += t->x;
            mty += t->y;
            mhx += h->x;
            mhy += h->y;
        }
    if (n < 2)
        return -1;
    mtx /= n;
    mty /= n;
    mhx /= n;
    mhy /= n;
    double stt = 0, sa = 0, sb = 0;
    for (size_t k = 0; k < c->nm; k++)
        if (in[k]) {
            const point *h = &c->hp[c->m[k].h], *t = &c->tp[c->m[k].t];
            const double ux = t->x - mtx, uy = t->y - mty, vx = h->x - mhx, vy = h->y - mhy;
            stt += ux * ux + uy * uy;
            sa += ux * vx + uy * vy;
            sb += ux * vy - uy * vx;
        }
    if (!(stt > 0))
        return -1;
    s->a = sa / stt;
    s->b = sb / stt;
    s->tx = mhx - (s->a * mtx - s->b * mty);
    s->ty = mhy - (s->b * mtx + s->a * mty);
    return 0;
}

/* splitmix64: a fixed seed makes every verdict reproducible. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Degrees from deg to the nearest multiple of 90 degrees. */
static double off_axis(double deg)
{
    return fabs(deg - 90.0 * round(deg / 90.0));
}

/* The similarity through two matches, or -1 when they are too close to
 * fix a scale and rotation, or disagree with their own keypoints. */
static int from_two(const verify_ctx *c, const pairing *m1, const pairing *m2,
                    const dedup_overlap_options *o, similarity *s)
{
    const point *h1 = &c->hp[m1->h], *h2 = &c->hp[m2->h];
    const point *t1 = &c->tp[m1->t], *t2 = &c->tp[m2->t];
    const double ux = t2->x - t1->x, uy = t2->y - t1->y;
    const double vx = h2->x - h1->x, vy = h2->y - h1->y;
    const double tt = ux * ux + uy * uy, hh = vx * vx + vy * vy;
    const double tmin = 4.0 * (t1->size > t2->size ? t1->size : t2->size);
    const double hmin = 4.0 * (h1->size > h2->size ? h1->size : h2->size);
    if (tt < tmin * tmin || hh < hmin * hmin)
        return -1;
    s->a = (ux * vx + uy * vy) / tt;
    s->b = (ux * vy - uy * vx) / tt;
    s->tx = h1->x - (s->a * t1->x - s->b * t1->y);
    s->ty = h1->y - (s->b * t1->x + s->a * t1->y);
    const double scale = sqrt(hh / tt);
    if (scale > o->max_scale || scale * o->max_scale < 1.0)
        return -1;
    const double log2s = log2(scale), theta = atan2(s->b, s->a);
    /* Twice the tolerance: two matches fix a rotation less exactly than
     * the fit refined on all its inliers, which judge() holds to it. */
    if (off_axis(theta * (180.0 / PI)) > 2.0 * o->max_rotation)
        return -1;
    if (!agrees(c, m1, s, log2s, theta) || !agrees(c, m2, s, log2s, theta))
        return -1;
    return 0;
}

/*
 * The pairs of n matches a RANSAC tries: every pair when there are at most
 * MAX_ITER of them, else MAX_ITER random draws from a fixed seed.
 */
typedef struct {
    size_t n, limit, p1, p2;
    int exhaustive;
    uint64_t state;
} pair_draws;

static void pair_draws_init(pair_draws *d, size_t n, uint64_t seed)
{
    const size_t pairs = n * (n - 1) / 2;
    d->n = n;
    d->exhaustive = pairs <= MAX_ITER;
    d->limit = d->exhaustive ? pairs : MAX_ITER;
    d->p1 = 0;
    d->p2 = 1;
    d->state = seed;
}

static void pair_draws_next(pair_draws *d, size_t *i, size_t *j)
{
    if (d->exhaustive) {
        *i = d->p1;
        *j = d->p2;
        if (++d->p2 == d->n) {
            d->p1++;
            d->p2 = d->p1 + 1;
        }
    } else {
        *i = (size_t)(next_random(&d->state) % d->n);
        *j = (size_t)(next_random(&d->state) % (d->n - 1));
        if (*j >= *i)
            (*j)++;
    }
}

static size_t ransac(verify_ctx *c, const dedup_overlap_options *o, similarity *best)
{
    size_t best_n = 0;
    const size_t ns = c->nsel;
    if (ns < 2)
        return 0;
    pair_draws d;
    pair_draws_init(&d, ns, 0x6f7665726c617021ull); /* "overlap!" */
    for (size_t it = 0; it < d.limit; it++) {
        size_t i, j;
        pair_draws_next(&d, &i, &j);
        similarity s;
        if (from_two(c, &c->m[c->sel[i]], &c->m[c->sel[j]], o, &s))
            continue;
        size_t n = mark_inliers(c, &s, c->in);
        if (n > best_n) {
            best_n = n;
            *best = s;
            memcpy(c->best_in, c->in, c->nm);
            if (!d.exhaustive) {
                /* Draws needed to see an all-inlier pair at CONFIDENCE. */
                size_t drawn = 0;
                for (size_t k = 0; k < ns; k++)
                    drawn += c->in[c->sel[k]];
                const double w = (double)drawn / ns;
                const double miss = 1.0 - w * w;
                if (miss <= 0) {
                    d.limit = it + 1 > MIN_ITER ? it + 1 : MIN_ITER;
                } else {
                    double need = log(1.0 - CONFIDENCE) / log(miss);
                    if (need < MIN_ITER)
                        need = MIN_ITER;
                    if (need < (double)d.limit)
                        d.limit = (size_t)need;
                }
            }
        }
    }
    if (best_n < 2)
        return best_n;
    /* Refine on the inliers, then re-collect them, until they settle. */
    for (int r = 0; r < REFINE_ROUNDS; r++) {
        similarity s;
        if (fit_lsq(c, c->best_in, &s))
            break;
        size_t n = mark_inliers(c, &s, c->in);
        if (n < best_n)
            break;
        const int same = n == best_n && memcmp(c->in, c->best_in, c->nm) == 0;
        best_n = n;
        *best = s;
        memcpy(c->best_in, c->in, c->nm);
        if (same)
            break;
    }
    return best_n;
}

/*
 * The most matches a second, different fit explains among the matches the
 * best fit left out.  A repeating pattern (a facade, a fence) offers a fit
 * per period of the pattern, and the matches split between them; a true
 * overlap explains most of its matches with one fit and leaves noise.
 */
static size_t rival_support(verify_ctx *c, const dedup_overlap_options *o)
{
    size_t *rest = c->sel + c->nsel; /* the distinct matches left out */
    size_t nr = 0;
    for (size_t k = 0; k < c->nsel; k++)
        if (!c->best_in[c->sel[k]])
            rest[nr++] = c->sel[k];
    size_t best = 0;
    if (nr < 2)
        return 0;
    pair_draws d;
    pair_draws_init(&d, nr, 0x726976616c212121ull); /* "rival!!!" */
    for (size_t it = 0; it < d.limit; it++) {
        size_t i, j;
        pair_draws_next(&d, &i, &j);
        similarity s;
        if (from_two(c, &c->m[rest[i]], &c->m[rest[j]], o, &s))
            continue;
        mark_inliers(c, &s, c->in);
        size_t fresh = 0;
        for (size_t k = 0; k < c->nm; k++)
            fresh += c->in[k] && !c->best_in[k];
        if (fresh > best)
            best = fresh;
    }
    return best;
}

/* --- the overlap region ----------------------------------------------- */

#define MAX_POLY 12

typedef struct {
    double x[MAX_POLY], y[MAX_POLY];
    int n;
} polygon;

/* Keep the part of p on the side of an axis-aligned line: axis 0 clips x,
 * 1 clips y; keep values >= bound when lower, else <= bound. */
static void clip(polygon *p, int axis, double bound, int lower)
{
    polygon out;
    out.n = 0;
    for (int i = 0; i < p->n; i++) {
        const int j = (i + 1) % p->n;
        const double ci = axis ? p->y[i] : p->x[i], cj = axis ? p->y[j] : p->x[j];
        const int in_i = lower ? ci >= bound : ci <= bound;
        const int in_j = lower ? cj >= bound : cj <= bound;
        if (in_i) {
            out.x[out.n] = p->x[i];
            out.y[out.n] = p->y[i];
            out.n++;
        }
        if (in_i != in_j) {
            const double f = (bound - ci) / (cj - ci);
            out.x[out.n] = p->x[i] + f * (p->x[j] - p->x[i]);
            out.y[out.n] = p->y[i] + f * (p->y[j] - p->y[i]);
            out.n++;
        }
    }
    *p = out;
}

/* Area, centroid and covariance of a (uniform) simple polygon. */
static double poly_moments(const polygon *p, double cov[3])
{
    double a = 0, cx = 0, cy = 0, ixx = 0, iyy = 0, ixy = 0;
    for (int i = 0; i < p->n; i++) {
        const int j = (i + 1) % p->n;
        const double xi = p->x[i], yi = p->y[i], xj = p->x[j], yj = p->y[j];
        const double cr = xi * yj - xj * yi;
        a += cr;
        cx += (xi + xj) * cr;
        cy += (yi + yj) * cr;
        ixx += cr * (xi * xi + xi * xj + xj * xj);
        iyy += cr * (yi * yi + yi * yj + yj * yj);
        ixy += cr * (xi * yj + 2 * xi * yi + 2 * xj * yj + xj * yi);
    }
    a *= 0.5;
    if (fabs(a) < 1e-9) {
        cov[0] = cov[1] = cov[2] = 0;
        return 0;
    }
    cx /= 6 * a;
    cy /= 6 * a;
    cov[0] = ixx / (12 * a) - cx * cx;
    cov[1] = ixy / (24 * a) - cx * cy;
    cov[2] = iyy / (12 * a) - cy * cy;
    return fabs(a);
}

static void eigen2(const double cov[3], double *lo, double *hi)
{
    const double m = 0.5 * (cov[0] + cov[2]);
    const double d = sqrt(0.25 * (cov[0] - cov[2]) * (cov[0] - cov[2]) + cov[1] * cov[1]);
    *lo = m - d;
    *hi = m + d;
}

static int inside(const polygon *p, double x, double y)
{
    /* Convex (a rectangle clipped by a rectangle): same side of every edge. */
    int pos = 0, neg = 0;
    for (int i = 0; i < p->n; i++) {
        const int j = (i + 1) % p->n;
        const double cr = (p->x[j] - p->x[i]) * (y - p->y[i]) - (p->y[j] - p->y[i]) * (x - p->x[i]);
        pos |= cr > 0;
        neg |= cr < 0;
    }
    return !(pos && neg);
}

/* Covariance of n points given as xy pairs. */
static void points_cov(double (*pts)[2], size_t n, double cov[3])
{
    double mx = 0, my = 0;
    cov[0] = cov[1] = cov[2] = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        mx += pts[i][0];
        my += pts[i][1];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        cov[0] += (pts[i][0] - mx) * (pts[i][0] - mx);
        cov[1] += (pts[i][0] - mx) * (pts[i][1] - my);
        cov[2] += (pts[i][1] - my) * (pts[i][1] - my);
    }
    cov[0] /= (double)n;
    cov[1] /= (double)n;
    cov[2] /= (double)n;
}

static int cmp_xy(const void *pa, const void *pb)
{
    const double *a = pa, *b = pb;
    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    return (a[1] > b[1]) - (a[1] < b[1]);
}

static double cross3(const double *o, const double *a, const double *b)
{
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/* Area of the convex hull of n points (xy pairs, reordered), monotone chain. */
static double hull_area(double (*pts)[2], size_t n, double (*hull)[2])
{
    if (n < 3)
        return 0;
    qsort(pts, n, sizeof(*pts), cmp_xy);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k >= 2 && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0)
            k--;
        hull[k][0] = pts[i][0];
        hull[k][1] = pts[i][1];
        k++;
    }
    for (size_t i = n - 1, lower = k + 1; i-- > 0;) {
        while (k >= lower && cross3(hull[k - 2], hull[k - 1], pts[i]) <= 0)
            k--;
        hull[k][0] = pts[i][0];
        hull[k][1] = pts[i][1];
        k++;
    }
    double a = 0;
    for (size_t i = 0; i + 1 < k; i++)
        a += hull[i][0] * hull[i + 1][1] - hull[i + 1][0] * hull[i][1];
    return fabs(a) * 0.5;
}

/* --- the verdict ------------------------------------------------------ */

/* Strong flags of one image's keypoints (side 0: held-out), in c's buffers. */
static const unsigned char *strong_flags(verify_ctx *c, int side, const dedup_local_features *f)
{
    unsigned char *flags = side ? c->t_strong : c->h_strong;
    for (uint32_t i = 0; i < f->count; i++)
        flags[i] = f->points[i].contrast >= DEDUP_LOCAL_STRONG_CONTRAST;
    return flags;
}

/* Mark the strong points (every point when strong is NULL) inside poly,
 * after mapping them by s when not NULL; when fewer than 3 are, mark every
 * point inside instead. */
static size_t mark_inside(unsigned char *mark, const point *p, const unsigned char *strong,
                          size_t n, const polygon *poly, const similarity *s)
{
    size_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        count = 0;
        for (size_t i = 0; i < n; i++) {
            double x = p[i].x, y = p[i].y;
            if (s) {
                x = s->a * p[i].x - s->b * p[i].y + s->tx;
                y = s->b * p[i].x + s->a * p[i].y + s->ty;
            }
            mark[i] = (unsigned char)((pass || !strong || strong[i]) && inside(poly, x, y));
            count += mark[i];
        }
        if (count >= 3)
            break;
    }
    return count;
}

/* Fill the inlier positions of one image (held-out: side 0) into pts. */
static size_t inlier_points(const verify_ctx *c, int side, double (*pts)[2])
{
    size_t k = 0;
    for (size_t m = 0; m < c->nm; m++)
        if (c->best_in[m]) {
            const point *p = side ? &c->tp[c->m[m].t] : &c->hp[c->m[m].h];
            pts[k][0] = p->x;
            pts[k][1] = p->y;
            k++;
        }
    return k;
}

/* Fill the positions (in their own image) of one image's keypoints (side
 * 0: held-out) that lie inside the overlap poly into pts, only the strong
 * ones when strong is not NULL (as mark_inside chooses); returns how many. */
static size_t keypoints_inside(verify_ctx *c, int side, const unsigned char *strong,
                               const polygon *poly, const similarity *s, double (*pts)[2])
{
    const point *p = side ? c->tp : c->hp;
    unsigned char *mark = side ? c->t_inside : c->h_inside;
    const size_t n = side ? c->nt : c->nh;
    mark_inside(mark, p, strong, n, poly, side ? s : NULL);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (mark[i]) {
            pts[k][0] = p[i].x;
            pts[k][1] = p[i].y;
            k++;
        }
    return k;
}

/*
 * Every check after the fit; fills the shares and diagnostics in out and
 * returns 1 when the fit is accepted, else 0 with out->reason set.
 */
static int judge(verify_ctx *c, const similarity *s, size_t n_in, const dedup_local_features *h,
                 const dedup_local_features *t, const dedup_overlap_options *o, dedup_overlap *out,
                 double (*scratch)[2])
{
    const double scale = sqrt(s->a * s->a + s->b * s->b);
    out->scale = scale;
    out->rotation = atan2(s->b, s->a) * (180.0 / PI);
    out->dx = s->tx;
    out->dy = s->ty;
    out->inliers = (unsigned)n_in;
    for (size_t k = 0; k < c->nm; k++)
        out->distinct_inliers += c->best_in[k] && c->m[k].distinct;
    if (n_in < o->min_inliers || n_in < 3) {
        out->reason = "too few inliers";
        return 0;
    }
    if (!(scale <= o->max_scale && scale * o->max_scale >= 1.0)) {
        out->reason = "scale out of range";
        return 0;
    }
    if (off_axis(out->rotation) > o->max_rotation) {
        out->reason = "turned by an angle crops and copies are not (a repeating pattern)";
        return 0;
    }

    /* The training rectangle in held-out coordinates, clipped to the held-out one. */
    const double tw = t->source_width, th = t->source_height;
    const double cx[4] = {0, tw, tw, 0}, cy[4] = {0, 0, th, th};
    polygon poly;
    poly.n = 4;
    for (int i = 0; i < 4; i++) {
        poly.x[i] = s->a * cx[i] - s->b * cy[i] + s->tx;
        poly.y[i] = s->b * cx[i] + s->a * cy[i] + s->ty;
    }
    clip(&poly, 0, 0.0, 1);
    clip(&poly, 0, (double)h->source_width, 0);
    clip(&poly, 1, 0.0, 1);
    clip(&poly, 1, (double)h->source_height, 0);
    double pcov[3] = {0, 0, 0};
    const double area = poly.n >= 3 ? poly_moments(&poly, pcov) : 0;
    out->share_held_out = area / ((double)h->source_width * h->source_height);
    out->share_train = area / (scale * scale * tw * th);
    if (out->share_held_out > 1)
        out->share_held_out = 1;
    if (out->share_train > 1)
        out->share_train = 1;
    if (!(area > 0)) {
        out->reason = "the images would not overlap";
        return 0;
    }

    /* Spread, in both images: inliers on a line (an edge) or in one spot
     * have a tiny eigenvalue of their covariance where the overlap region
     * has a large one.  Compared with the region's own shape, so that a
     * thin strip of overlap is not mistaken for a line. */
    double plo, phi;
    eigen2(pcov, &plo, &phi);
    double inlier_hull = 0;
    size_t inside[2]; /* keypoints inside the overlap, for the density below */
    for (int side = 0; side < 2; side++) {
        const double s2 = side ? scale * scale : 1.0;
        /* Measured against the keypoints in the overlap when they are the
         * thinner: where all the texture is a band (a tree line on a misty
         * lake), a true overlap's inliers lie on that band. */
        double klo = plo, khi = phi;
        const size_t nk = keypoints_inside(c, side, NULL, &poly, s, scratch);
        inside[side] = nk;
        if (nk >= 3) {
            double kcov[3], lo, hi;
            points_cov(scratch, nk, kcov);
            eigen2(kcov, &lo, &hi);
            klo = lo * s2 < klo ? lo * s2 : klo;
            khi = hi * s2 < khi ? hi * s2 : khi;
        }
        const size_t k = inlier_points(c, side, scratch);
        double icov[3], ilo, ihi;
        points_cov(scratch, k, icov);
        eigen2(icov, &ilo, &ihi);
        if (ilo * s2 < MIN_SPREAD * klo || ihi * s2 < MIN_SPREAD * khi) {
            out->reason = "inliers bunched or on a line";
            return 0;
        }
        if (side == 0)
            inlier_hull = hull_area(scratch, k, scratch + c->nm);
    }
    if (inlier_hull < MIN_AREA_COVERAGE * area) {
        out->reason = "inliers cover too little of the overlap";
        return 0;
    }

    /* Density: a true overlap explains a fair share of the keypoints that
     * fall inside it; a chance fit explains a handful. */
    const size_t denom = inside[0] < inside[1] ? inside[0] : inside[1];
    out->density = denom ? (double)n_in / (double)denom : 0;
    if (out->density < o->min_inlier_density) {
        out->reason = "too few of the keypoints in the overlap agree";
        return 0;
    }

    /* Coverage of the evidence: where the overlap holds strong keypoints
     * (real texture), the inliers must reach.  A shared logo fails this (its
     * inliers fill a corner, the texture the whole frame); a flower on a
     * blurred background passes (only the flower has strong keypoints).
     * Weak keypoints are left out: they can be noise on a flat area, which
     * no fit is expected to explain. */
    double cover = 1;
    for (int side = 0; side < 2; side++) {
        size_t k = inlier_points(c, side, scratch);
        const double ihull = hull_area(scratch, k, scratch + c->nm);
        const unsigned char *strong = strong_flags(c, side, side ? t : h);
        k = keypoints_inside(c, side, strong, &poly, s, scratch);
        const double khull = hull_area(scratch, k, scratch + (side ? c->nt : c->nh));
        const double ratio = khull > 0 ? ihull / khull : 1;
        if (ratio < cover)
            cover = ratio;
    }
    out->coverage = cover > 1 ? 1 : cover;
    if (out->coverage < o->min_coverage) {
        out->reason = "inliers cover too little of the textured overlap";
        return 0;
    }
    out->rival = (unsigned)rival_support(c, o);
    if (out->rival >= RIVAL_FLOOR && (double)out->rival >= RIVAL_SHARE * (double)n_in) {
        out->reason = "another fit explains almost as many matches (a repeating pattern)";
        return 0;
    }
    return 1;
}

int dedup_overlap_verify(dedup_overlap *out, const dedup_local_features *held_out,
                         const dedup_local_features *train, const dedup_overlap_options *opts,
                         dedup_error *err)
{
    if (!out)
        return dedup_error_set(err, DEDUP_EINVAL, "overlap: out is NULL");
    memset(out, 0, sizeof(*out));
    if (!held_out || !train)
        return dedup_error_set(err, DEDUP_EINVAL, "overlap: missing features");
    if (held_out->count > DEDUP_LOCAL_MAX_KEYPOINTS || train->count > DEDUP_LOCAL_MAX_KEYPOINTS ||
        held_out->work_width < 1 || held_out->work_height < 1 || train->work_width < 1 ||
        train->work_height < 1 || held_out->source_width < 1 || held_out->source_height < 1 ||
        train->source_width < 1 || train->source_height < 1)
        return dedup_error_set(err, DEDUP_EINVAL, "overlap: features are not valid");
    dedup_overlap_options defaults;
    if (!opts) {
        dedup_overlap_options_init(&defaults);
        opts = &defaults;
    }
    out->held_out_comparable = dedup_local_comparable(held_out);
    out->train_comparable = dedup_local_comparable(train);
    if (!out->held_out_comparable || !out->train_comparable) {
        out->reason = "not comparable: too few keypoints (a flat image)";
        return 0;
    }

    verify_ctx c;
    memset(&c, 0, sizeof(c));
    c.nh = held_out->count;
    c.nt = train->count;
    const size_t most = c.nh > c.nt ? c.nh : c.nt;
    c.hp = malloc(c.nh * sizeof(*c.hp));
    c.tp = malloc(c.nt * sizeof(*c.tp));
    c.m = malloc(c.nh * sizeof(*c.m));
    c.sel = malloc(2 * c.nh * sizeof(*c.sel));
    c.in = malloc(most);
    c.best_in = malloc(most);
    c.h_inside = malloc(c.nh);
    c.t_inside = malloc(c.nt);
    c.h_strong = malloc(c.nh);
    c.t_strong = malloc(c.nt);
    double(*scratch)[2] = malloc(3 * (most + 1) * sizeof(*scratch));
    int rc = 0;
    if (!c.hp || !c.tp || !c.m || !c.sel || !c.in || !c.best_in || !c.h_inside || !c.t_inside ||
        !c.h_strong || !c.t_strong || !scratch) {
        rc = dedup_error_set(err, DEDUP_ENOMEM, "out of memory verifying an overlap");
        goto done;
    }
    load_points(c.hp, held_out);
    load_points(c.tp, train);
    match_descriptors(&c, held_out, train, opts);
    out->matches = (unsigned)c.nm;
    similarity s;
    const size_t n_in = ransac(&c, opts, &s);
    if (n_in >= 2) {
        out->consistent = judge(&c, &s, n_in, held_out, train, opts, out, scratch);
        out->is_overlap = out->consistent && out->share_held_out >= opts->min_overlap;
        if (out->consistent)
            out->reason = out->is_overlap ? "overlap" : "overlap below the minimum";
    } else {
        out->inliers = (unsigned)n_in;
        out->reason = "no consistent matches";
    }
done:
    free(c.hp);
    free(c.tp);
    free(c.m);
    free(c.sel);
    free(c.in);
    free(c.best_in);
    free(c.h_inside);
    free(c.t_inside);
    free(c.h_strong);
    free(c.t_strong);
    free(scratch);
    return rc;
}
