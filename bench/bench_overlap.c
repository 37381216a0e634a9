/*
 * bench_overlap.c - how well local features find overlapping crops (the
 * Airbus leak, issue 6), how big they are and what they cost.  Not a test:
 * it prints numbers.
 *
 * From large real photographs (Debian's mate-backgrounds, and the photos of
 * plasma-workspace-wallpapers when installed) it cuts, with a fixed-seed
 * generator:
 *  - positives: two crops of one photo of the same size, shifted by a random
 *    offset (any pixel, not a stride) so that they share 10-90% of their
 *    area; the held-out side is optionally re-encoded (JPEG quality 75) and
 *    rescaled by 0.5x-2x;
 *  - negatives: adjacent crops of one photo (touching, or a small gap) with
 *    the same variations; crops of different photos; non-overlapping crops of
 *    repetitive synthetic textures (checkerboard, brick, stripes, weave);
 *    unrelated crops that carry the same small logo in a corner;
 *  - flat tiles (sea, cloud, black border), which must be "not comparable".
 * Every crop is stored as a JPEG file (quality 92) and goes through the real
 * path: dedup_decode_image at min_side DEDUP_LOCAL_DECODE_SIDE, then
 * dedup_local_compute, dedup_local_serialize/parse, dedup_overlap_verify and
 * the descriptor index.  Recall and false positives are measured per pair,
 * and end to end: each held-out crop of an overlapping or adjacent pair is
 * looked up in the index of every training crop and verified against each
 * candidate, as a check does; where every crop came from in its photo says
 * whether a claimed overlap is real (another crop sharing pixels) or false.
 *
 * Assumes the photos are where Debian puts them; missing ones are skipped.
 * Usage: bench_overlap [-s SEED] [-n PAIRS] [-r TIMING_REPEATS] [-m MIN_OVERLAP] [-f FLAT_TEXTURE]
 * [-I MIN_INLIERS] [-D MIN_INLIER_DENSITY] [-C MIN_COVERAGE] [-K MAX_CANDIDATES] [-v] [-R]
 * -r 0 skips the timing; -I, -D and -C override dedup_overlap_options for tuning, -K the
 * candidates the index returns (dedup_desc_query_options.max_candidates);
 * -v prints every missed overlap and every negative with a fit, with the crops'
 * geometry; -R prints where the evidence of the overlaps is lost (see evidence()).
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "dedup/index.h"
#include "dedup/match.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <turbojpeg.h>

#define STORE_QUALITY 92
#define REENCODE_QUALITY 75
#define MIN_CROP 448
#define MAX_CROP 960
#define SPARES_PER_PHOTO 2
/* A crop whose texture_of is below this is flat by any eye (open sea, sky,
 * cloud, a blurred background); -f changes it.  Measured at seed 6: the
 * bench's synthetic flat tiles score 0-0.44, crops of the Storm photo
 * (cloud) 0.5-1.0, and the median crop 1.7. */
#define FLAT_TEXTURE 0.5

static const char *const photo_paths[] = {
    "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg",
    "/usr/share/backgrounds/mate/abstract/Elephants_3840x2160.jpg",
    "/usr/share/backgrounds/mate/nature/Aqua.jpg",
    "/usr/share/backgrounds/mate/nature/Blinds.jpg",
    "/usr/share/backgrounds/mate/nature/Dune.jpg",
    "/usr/share/backgrounds/mate/nature/FreshFlower.jpg",
    "/usr/share/backgrounds/mate/nature/Garden.jpg",
    "/usr/share/backgrounds/mate/nature/GreenMeadow.jpg",
    "/usr/share/backgrounds/mate/nature/LadyBird.jpg",
    "/usr/share/backgrounds/mate/nature/RainDrops.jpg",
    "/usr/share/backgrounds/mate/nature/Storm.jpg",
    "/usr/share/backgrounds/mate/nature/TwoWings.jpg",
    "/usr/share/backgrounds/mate/nature/Wood.jpg",
    "/usr/share/backgrounds/mate/nature/YellowFlower.jpg",
    /* plasma-workspace-wallpapers: the photographs, not the graphics */
    "/usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
    "/usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
};
#define NPHOTOS (int)(sizeof(photo_paths) / sizeof(photo_paths[0]))

/* --- small utilities -------------------------------------------------- */

static void die(const char *what)
{
    fprintf(stderr, "bench_overlap: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

static int rng_int(rng *r, int lo, int hi) /* inclusive */
{
    return lo + (int)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = xmalloc(cap);
    for (;;) {
        if (n == cap)
            buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* --- pixels ----------------------------------------------------------- */

typedef struct {
    int w, h;
    uint8_t *px; /* RGB, stride w * 3 */
} rgb;

static rgb rgb_new(int w, int h)
{
    rgb r = {w, h, xmalloc((size_t)w * h * 3)};
    return r;
}

static rgb crop(const dedup_image *src, int x, int y, int w, int h)
{
    rgb r = rgb_new(w, h);
    for (int j = 0; j < h; j++)
        memcpy(r.px + (size_t)j * w * 3,
               src->pixels + (size_t)(y + j) * src->stride + (size_t)x * 3, (size_t)w * 3);
    return r;
}

/* Bilinear for enlarging, box average over the source footprint for
 * shrinking: close enough to what image editors do. */
static rgb resize(const rgb *s, int w, int h)
{
    rgb d = rgb_new(w, h);
    const double fx = (double)s->w / w, fy = (double)s->h / h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                double v;
                if (fx > 1 || fy > 1) {
                    int x0 = (int)(x * fx), x1 = (int)((x + 1) * fx), y0 = (int)(y * fy),
                        y1 = (int)((y + 1) * fy);
                    if (x1 <= x0)
                        x1 = x0 + 1;
                    if (y1 <= y0)
                        y1 = y0 + 1;
                    if (x1 > s->w)
                        x1 = s->w;
                    if (y1 > s->h)
                        y1 = s->h;
                    double sum = 0;
                    for (int j = y0; j < y1; j++)
                        for (int i = x0; i < x1; i++)
                            sum += s->px[((size_t)j * s->w + i) * 3 + c];
                    v = sum / ((double)(x1 - x0) * (y1 - y0));
                } else {
                    double sx = (x + 0.5) * fx - 0.5, sy = (y + 0.5) * fy - 0.5;
                    if (sx < 0)
                        sx = 0;
                    if (sy < 0)
                        sy = 0;
                    int i = (int)sx, j = (int)sy;
                    int i1 = i + 1 < s->w ? i + 1 : i, j1 = j + 1 < s->h ? j + 1 : j;
                    double ax = sx - i, ay = sy - j;
                    double p00 = s->px[((size_t)j * s->w + i) * 3 + c];
                    double p01 = s->px[((size_t)j * s->w + i1) * 3 + c];
                    double p10 = s->px[((size_t)j1 * s->w + i) * 3 + c];
                    double p11 = s->px[((size_t)j1 * s->w + i1) * 3 + c];
                    v = (1 - ay) * ((1 - ax) * p00 + ax * p01) + ay * ((1 - ax) * p10 + ax * p11);
                }
                d.px[((size_t)y * w + x) * 3 + c] = (uint8_t)(v + 0.5);
            }
    return d;
}

typedef struct {
    tjhandle enc, dec;
} codec;

static uint8_t *jpeg_encode(codec *cd, const rgb *img, int quality, size_t *len)
{
    unsigned char *buf = NULL;
    unsigned long n = 0;
    if (tjCompress2(cd->enc, img->px, img->w, img->w * 3, img->h, TJPF_RGB, &buf, &n, TJSAMP_420,
                    quality, TJFLAG_ACCURATEDCT) != 0)
        die(tjGetErrorStr2(cd->enc));
    uint8_t *out = xmalloc(n);
    memcpy(out, buf, n);
    tjFree(buf);
    *len = n;
    return out;
}

static rgb jpeg_decode_full(codec *cd, const uint8_t *bytes, size_t len)
{
    int w, h, ss, cs;
    if (tjDecompressHeader3(cd->dec, bytes, (unsigned long)len, &w, &h, &ss, &cs) != 0)
        die(tjGetErrorStr2(cd->dec));
    rgb r = rgb_new(w, h);
    if (tjDecompress2(cd->dec, bytes, (unsigned long)len, r.px, w, w * 3, h, TJPF_RGB, 0) != 0)
        die(tjGetErrorStr2(cd->dec));
    return r;
}

/* --- the data set ----------------------------------------------------- */

/* Where a crop of a photo came from, in the scene's pixels (both Elephants
 * files are one scene, in the larger one's pixels); scene -1 when it is not
 * a crop of a photo. */
typedef struct {
    int scene;
    double x0, y0, x1, y1;
} crop_origin;

typedef struct {
    uint8_t *jpeg;
    size_t len;
    int width, height;
    dedup_local_features feat;
    size_t blob;
    double texture; /* mean grey-level step between neighbouring 2x2 blocks */
    crop_origin at;
} bench_image;

enum { POSITIVE, ADJACENT, UNRELATED, TEXTURE, LOGO, NKINDS };
static const char *const kind_names[NKINDS] = {"overlapping", "adjacent", "unrelated photos",
                                               "repetitive textures", "shared logo"};

typedef struct {
    int kind;
    int train, held_out; /* image indices */
    int variant;         /* bit 0: re-encoded, bit 1: rescaled */
    double share;        /* true share of the held-out image covered */
    double dx, dy, scale;
    int photo;
    int ax, ay, bx, by, w, h; /* crops of the photo: training at a, held-out at b */
} bench_pair;

typedef struct {
    bench_image *img;
    size_t nimg, capimg;
    bench_pair *pair;
    size_t npair, cappair;
    int *spare; /* image indices of spare crops */
    int *spare_photo;
    size_t nspare;
    int *flat;
    size_t nflat;
    codec cd;
    rng r;
} bench;

static int add_image(bench *b, const rgb *img, int quality)
{
    if (b->nimg == b->capimg) {
        b->capimg = b->capimg ? 2 * b->capimg : 256;
        b->img = xrealloc(b->img, b->capimg * sizeof(*b->img));
    }
    bench_image *im = &b->img[b->nimg];
    memset(im, 0, sizeof(*im));
    im->at.scene = -1;
    im->jpeg = jpeg_encode(&b->cd, img, quality, &im->len);
    im->width = img->w;
    im->height = img->h;
    return (int)b->nimg++;
}

/* Image idx is the w x h crop at (x, y) of photo pi. */
static void set_origin(bench *b, int idx, int pi, int x, int y, int w, int h)
{
    /* Photo 1 is photo 0 at 3840 pixels wide instead of 5640. */
    const double f = pi == 1 ? 5640.0 / 3840.0 : 1.0;
    crop_origin *at = &b->img[idx].at;
    at->scene = pi == 1 ? 0 : pi;
    at->x0 = x * f;
    at->y0 = y * f;
    at->x1 = (x + w) * f;
    at->y1 = (y + h) * f;
}

/* Share of held-out image h's scene area that training image t also shows. */
static double true_share(const crop_origin *h, const crop_origin *t)
{
    if (h->scene < 0 || h->scene != t->scene)
        return 0;
    const double w = fmin(h->x1, t->x1) - fmax(h->x0, t->x0);
    const double hh = fmin(h->y1, t->y1) - fmax(h->y0, t->y0);
    if (w <= 0 || hh <= 0)
        return 0;
    return w * hh / ((h->x1 - h->x0) * (h->y1 - h->y0));
}

/* The held-out side as a dataset would get it: stored at the usual quality,
 * then possibly rescaled and re-encoded by whoever copied it. */
static int add_variant(bench *b, const rgb *img, int variant, double scale)
{
    rgb cur = *img, tmp = {0, 0, NULL};
    if (variant & 2) {
        int w = (int)lround(img->w * scale), h = (int)lround(img->h * scale);
        tmp = resize(img, w, h);
        cur = tmp;
    }
    int idx;
    if (variant & 1) {
        size_t len;
        uint8_t *first = jpeg_encode(&b->cd, &cur, STORE_QUALITY, &len);
        rgb dec = jpeg_decode_full(&b->cd, first, len);
        free(first);
        idx = add_image(b, &dec, REENCODE_QUALITY);
        free(dec.px);
    } else {
        idx = add_image(b, &cur, STORE_QUALITY);
    }
    free(tmp.px);
    return idx;
}

static bench_pair *add_pair(bench *b, int kind, int train, int held_out)
{
    if (b->npair == b->cappair) {
        b->cappair = b->cappair ? 2 * b->cappair : 256;
        b->pair = xrealloc(b->pair, b->cappair * sizeof(*b->pair));
    }
    bench_pair *p = &b->pair[b->npair++];
    memset(p, 0, sizeof(*p));
    p->kind = kind;
    p->train = train;
    p->held_out = held_out;
    p->scale = 1;
    p->photo = -1;
    return p;
}

static double draw_scale(rng *r)
{
    return exp(log(0.5) + rng_unit(r) * (log(2.0) - log(0.5)));
}

/* Two same-size crops sharing about `target` of their area, at random
 * offsets; returns 0 when the photo is too small for the draw. */
static int cut_overlap(bench *b, const dedup_image *photo, int pi, int variant)
{
    rng *r = &b->r;
    const int maxw = photo->width * 5 / 8 < MAX_CROP ? photo->width * 5 / 8 : MAX_CROP;
    const int maxh = photo->height * 5 / 8 < MAX_CROP ? photo->height * 5 / 8 : MAX_CROP;
    if (maxw < MIN_CROP || maxh < MIN_CROP)
        return 0;
    const int w = rng_int(r, MIN_CROP, maxw), h = rng_int(r, MIN_CROP, maxh);
    const double target = 0.10 + 0.80 * rng_unit(r);
    const double fx = target + (1 - target) * rng_unit(r);
    const double fy = target / fx;
    int ox = (int)lround(w * (1 - fx)), oy = (int)lround(h * (1 - fy));
    if (w + ox > photo->width || h + oy > photo->height)
        return 0;
    if (rng_next(r) & 1)
        ox = -ox;
    if (rng_next(r) & 1)
        oy = -oy;
    const int ax = rng_int(r, ox < 0 ? -ox : 0, photo->width - w - (ox > 0 ? ox : 0));
    const int ay = rng_int(r, oy < 0 ? -oy : 0, photo->height - h - (oy > 0 ? oy : 0));
    const int bx = ax + ox, by = ay + oy;
    const double scale = (variant & 2) ? draw_scale(r) : 1.0;
    rgb a = crop(photo, ax, ay, w, h), c = crop(photo, bx, by, w, h);
    int ia = add_image(b, &a, STORE_QUALITY);
    int ib = add_variant(b, &c, variant, scale);
    bench_pair *p = add_pair(b, POSITIVE, ia, ib);
    set_origin(b, ia, pi, ax, ay, w, h);
    set_origin(b, ib, pi, bx, by, w, h);
    p->variant = variant;
    const double sx = (double)b->img[ib].width / w, sy = (double)b->img[ib].height / h;
    p->scale = 0.5 * (sx + sy);
    p->share = (double)(w - abs(ox)) * (h - abs(oy)) / ((double)w * h);
    /* The training crop's origin in held-out pixels. */
    p->dx = (ax - bx) * sx;
    p->dy = (ay - by) * sy;
    p->photo = pi;
    p->ax = ax;
    p->ay = ay;
    p->bx = bx;
    p->by = by;
    p->w = w;
    p->h = h;
    free(a.px);
    free(c.px);
    return 1;
}

/* Two crops side by side (or one above the other) that share no pixel:
 * touching, or with a gap of up to 24 pixels, and shifted along the seam. */
static int cut_adjacent(bench *b, const dedup_image *photo, int pi, int variant)
{
    rng *r = &b->r;
    const int vertical = (int)(rng_next(r) & 1);
    const int maxw = photo->width * 7 / 16, maxh = photo->height * 7 / 16;
    const int w = rng_int(r, MIN_CROP * 3 / 4, maxw < MAX_CROP ? maxw : MAX_CROP);
    const int h = rng_int(r, MIN_CROP * 3 / 4, maxh < MAX_CROP ? maxh : MAX_CROP);
    if (w > maxw || h > maxh)
        return 0;
    const int gap = (rng_next(r) & 1) ? 0 : rng_int(r, 1, 24);
    int ox, oy;
    if (vertical) {
        ox = rng_int(r, -w / 2, w / 2);
        oy = h + gap;
    } else {
        ox = w + gap;
        oy = rng_int(r, -h / 2, h / 2);
    }
    if (w + abs(ox) > photo->width || h + abs(oy) > photo->height)
        return 0;
    const int ax = rng_int(r, ox < 0 ? -ox : 0, photo->width - w - (ox > 0 ? ox : 0));
    const int ay = rng_int(r, oy < 0 ? -oy : 0, photo->height - h - (oy > 0 ? oy : 0));
    const double scale = (variant & 2) ? draw_scale(r) : 1.0;
    rgb a = crop(photo, ax, ay, w, h), c = crop(photo, ax + ox, ay + oy, w, h);
    int ia = add_image(b, &a, STORE_QUALITY);
    int ib = add_variant(b, &c, variant, scale);
    bench_pair *p = add_pair(b, ADJACENT, ia, ib);
    set_origin(b, ia, pi, ax, ay, w, h);
    set_origin(b, ib, pi, ax + ox, ay + oy, w, h);
    p->variant = variant;
    p->photo = pi;
    p->ax = ax;
    p->ay = ay;
    p->bx = ax + ox;
    p->by = ay + oy;
    p->w = w;
    p->h = h;
    free(a.px);
    free(c.px);
    return 1;
}

static void cut_spares(bench *b, const dedup_image *photo, int pi)
{
    for (int k = 0; k < SPARES_PER_PHOTO; k++) {
        const int w = rng_int(&b->r, MIN_CROP, photo->width < MAX_CROP ? photo->width : MAX_CROP);
        const int h = rng_int(&b->r, MIN_CROP, photo->height < MAX_CROP ? photo->height : MAX_CROP);
        const int x = rng_int(&b->r, 0, photo->width - w), y = rng_int(&b->r, 0, photo->height - h);
        rgb c = crop(photo, x, y, w, h);
        b->spare = xrealloc(b->spare, (b->nspare + 1) * sizeof(*b->spare));
        b->spare_photo = xrealloc(b->spare_photo, (b->nspare + 1) * sizeof(*b->spare_photo));
        b->spare[b->nspare] = add_image(b, &c, STORE_QUALITY);
        set_origin(b, b->spare[b->nspare], pi, x, y, w, h);
        b->spare_photo[b->nspare++] = pi;
        free(c.px);
    }
}

/* --- synthetic images ------------------------------------------------- */

static uint8_t clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* Repetitive textures, kind 0..3, as a large canvas with a little noise so
 * the JPEG coder and the detector see something like a photo of one. */
static rgb texture(int kind, int w, int h, rng *r)
{
    rgb t = rgb_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v;
            switch (kind) {
            case 0: /* checkerboard, 28-pixel squares */
                v = (((x / 28) + (y / 28)) & 1) ? 220 : 35;
                break;
            case 1: { /* brick: 72x28 bricks, 4-pixel mortar, rows offset by half */
                int row = y / 28, yy = y % 28;
                int xx = (x + (row & 1) * 36) % 72;
                v = (yy < 4 || xx < 4) ? 200 : 110;
                break;
            }
            case 2: /* field rows: stripes 18 pixels apart with a soft profile */
                v = 120 + 70 * sin(2 * 3.14159265358979 * (x + 0.3 * y) / 18.0);
                break;
            default: /* weave: two crossed sine gratings */
                v = 128 +
                    50 * sin(2 * 3.14159265358979 * x / 12.0) *
                        sin(2 * 3.14159265358979 * y / 12.0) +
                    30 * (((x / 12) + (y / 12)) & 1);
                break;
            }
            v += (rng_unit(r) - 0.5) * 12;
            uint8_t *p = t.px + ((size_t)y * w + x) * 3;
            p[0] = clamp8(v);
            p[1] = clamp8(v * 0.9);
            p[2] = clamp8(v * 0.8);
        }
    return t;
}

/* Flat tiles: open sea (gentle noise around blue), cloud (a soft gradient),
 * and a black border frame with a little sensor noise. */
static rgb flat_tile(int kind, int w, int h, rng *r)
{
    rgb t = rgb_new(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double n = (rng_unit(r) - 0.5) * 6, rr, g, bb;
            if (kind == 0) {
                rr = 20 + n;
                g = 60 + n + 4 * sin(x / 40.0 + y / 90.0);
                bb = 110 + n;
            } else if (kind == 1) {
                double v = 200 + 40 * sin(x / 300.0) * cos(y / 260.0) + n;
                rr = g = bb = v;
            } else {
                rr = g = bb = 4 + n * 0.5;
            }
            uint8_t *p = t.px + ((size_t)y * w + x) * 3;
            p[0] = clamp8(rr);
            p[1] = clamp8(g);
            p[2] = clamp8(bb);
        }
    return t;
}

/* A 132x52 logo: a dark plate with white strokes and a coloured mark,
 * generated from a fixed seed so every run pastes the same one. */
static rgb make_logo(void)
{
    rng r = {0x6c6f676f};
    rgb l = rgb_new(132, 52);
    for (size_t i = 0; i < (size_t)132 * 52; i++) {
        l.px[3 * i] = 30;
        l.px[3 * i + 1] = 30;
        l.px[3 * i + 2] = 40;
    }
    for (int s = 0; s < 14; s++) {
        int x0 = rng_int(&r, 4, 120), y0 = rng_int(&r, 4, 40);
        int w = rng_int(&r, 3, 14), h = rng_int(&r, 3, 12);
        uint8_t c = s % 5 == 0 ? 200 : 250;
        for (int y = y0; y < y0 + h && y < 48; y++)
            for (int x = x0; x < x0 + w && x < 128; x++) {
                uint8_t *p = l.px + ((size_t)y * 132 + x) * 3;
                p[0] = c;
                p[1] = s % 5 == 0 ? 60 : c;
                p[2] = s % 5 == 0 ? 40 : c;
            }
    }
    return l;
}

static void paste(rgb *dst, const rgb *src, int x0, int y0)
{
    for (int y = 0; y < src->h; y++)
        memcpy(dst->px + ((size_t)(y0 + y) * dst->w + x0) * 3, src->px + (size_t)y * src->w * 3,
               (size_t)src->w * 3);
}

/* --- evaluation ------------------------------------------------------- */

/*
 * How much texture an image has, independently of the detector: the mean
 * absolute difference between neighbouring 2x2-block means of its grey
 * levels (blocks, so that JPEG noise counts for little), over the decode the
 * check uses.  Open sea, cloud or a blurred background score near 1; busy
 * photographs 5 to 20.
 */
static double texture_of(const dedup_image *img)
{
    const int bw = img->width / 2, bh = img->height / 2;
    if (bw < 2 || bh < 2)
        return 0;
    double *g = xmalloc((size_t)bw * bh * sizeof(*g));
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++) {
            double v = 0;
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    const uint8_t *p =
                        img->pixels + (size_t)(2 * y + dy) * img->stride + 3 * (size_t)(2 * x + dx);
                    v += 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                }
            g[(size_t)y * bw + x] = v / 4;
        }
    double sum = 0;
    size_t n = 0;
    for (int y = 1; y + 1 < bh; y++)
        for (int x = 1; x + 1 < bw; x++) {
            const double *c = g + (size_t)y * bw + x;
            sum += fabs(4 * c[0] - c[-1] - c[1] - c[-bw] - c[bw]) / 4;
            n++;
        }
    free(g);
    return sum / (double)n;
}

static void compute_features(bench *b, dedup_decoder *dec)
{
    dedup_decode_options opts;
    dedup_decode_options_init(&opts);
    opts.min_side = DEDUP_LOCAL_DECODE_SIDE;
    static uint8_t blob[DEDUP_LOCAL_BLOB_MAX];
    for (size_t i = 0; i < b->nimg; i++) {
        bench_image *im = &b->img[i];
        dedup_error err;
        dedup_error_clear(&err);
        dedup_image img;
        dedup_local_features f;
        size_t n;
        if (dedup_decode_image(dec, &img, im->jpeg, im->len, &opts, &err) ||
            dedup_local_compute(&f, &img, &err) ||
            dedup_local_serialize(blob, sizeof(blob), &n, &f, &err) ||
            dedup_local_parse(&im->feat, blob, n, &err))
            die(err.msg);
        im->blob = n;
        im->texture = texture_of(&img);
        dedup_image_free(&img);
    }
}

typedef struct {
    int n, found, consistent, not_comparable;
    int flat, found_textured; /* pairs with a flat side (texture_of), hits among the rest */
    double share_err_sum, share_err_max, off_err_sum, off_err_max;
    int measured;
} band_stat;

static double seconds_min(double a, double b)
{
    return a < 0 || b < a ? b : a;
}

/*
 * Per-image cost, minimum over repeats (the least disturbed measurement):
 *  - whole-image hashing alone: what a check would do without local
 *    features, a decode at min_side 64, the perceptual hash and the byte key;
 *  - the check as it is: a decode at DEDUP_LOCAL_DECODE_SIDE and
 *    dedup_features_compute (perceptual hash, keys and local features from
 *    that one decode).
 * The added time is the difference; the target is at most the baseline.
 */
static void timing(dedup_decoder *dec, const uint8_t *const *bytes, const size_t *lens, size_t n,
                   int repeats, const char *label)
{
    double base = 0, big = 0, feat = 0;
    unsigned pdq_max = 0, pdq_sum = 0;
    dedup_decode_options small_opts, big_opts;
    dedup_decode_options_init(&small_opts);
    dedup_decode_options_init(&big_opts);
    big_opts.min_side = DEDUP_LOCAL_DECODE_SIDE;
    static dedup_features f_big;
    for (size_t k = 0; k < n; k++) {
        const uint8_t *jpeg = bytes[k];
        const size_t len = lens[k];
        double t_base = -1, t_big = -1, t_feat = -1;
        dedup_error err;
        dedup_pdq small_pdq;
        for (int r = 0; r < repeats; r++) {
            dedup_image img;
            const double t0 = cpu_now();
            if (dedup_decode_image(dec, &img, jpeg, len, &small_opts, &err) ||
                dedup_pdq_compute(&small_pdq, &img, &err))
                die(err.msg);
            volatile dedup_hash128 key = dedup_byte_hash(jpeg, len);
            (void)key;
            t_base = seconds_min(t_base, cpu_now() - t0);
            dedup_image_free(&img);
        }
        for (int r = 0; r < repeats; r++) {
            dedup_image img;
            const double t0 = cpu_now();
            if (dedup_decode_image(dec, &img, jpeg, len, &big_opts, &err))
                die(err.msg);
            const double t1 = cpu_now();
            if (dedup_features_compute(&f_big, jpeg, len, &img, &err))
                die(err.msg);
            const double t2 = cpu_now();
            t_big = seconds_min(t_big, t1 - t0);
            t_feat = seconds_min(t_feat, t2 - t1);
            dedup_image_free(&img);
        }
        const unsigned d = dedup_pdq_distance(&small_pdq.variants[DEDUP_XFORM_IDENTITY],
                                              &f_big.pdq.variants[DEDUP_XFORM_IDENTITY]);
        pdq_sum += d;
        if (d > pdq_max)
            pdq_max = d;
        base += t_base;
        big += t_big;
        feat += t_feat;
    }
    const double m = 1e3 / (double)n;
    printf("%s (%zu files, min of %d runs, ms per image):\n", label, n, repeats);
    printf("  whole-image hashing alone (decode at min_side 64, hash, key)  %7.2f\n", base * m);
    printf("  the check: decode at min_side %d                             %7.2f\n",
           DEDUP_LOCAL_DECODE_SIDE, big * m);
    printf("             dedup_features_compute (hash, keys, local)         %7.2f\n", feat * m);
    printf("  added by local features: %.2f ms per image = %.2fx the baseline (target <= 1x)\n",
           (big + feat - base) * m, (big + feat - base) / base);
    printf("  perceptual hash from the larger decode vs from the 64-pixel one: %.1f bits apart "
           "on average, %u at most (of 256)\n",
           (double)pdq_sum / (double)n, pdq_max);
}

/* Square tiles of one size cut from the photographs on a grid, stored as
 * JPEG: the Airbus case (768-pixel tiles) for the timing. */
static size_t cut_tiles(codec *cd, const dedup_image *photo, int side, size_t per_photo,
                        uint8_t **bytes, size_t *lens)
{
    size_t k = 0;
    for (int y = 0; y + side <= photo->height && k < per_photo; y += side)
        for (int x = 0; x + side <= photo->width && k < per_photo; x += side) {
            rgb t = crop(photo, x, y, side, side);
            bytes[k] = jpeg_encode(cd, &t, STORE_QUALITY, &lens[k]);
            free(t.px);
            k++;
        }
    return k;
}

/* The timing section: the bench's crops, 768-pixel tiles cut from the
 * photographs, and the photographs themselves. */
static void time_all(dedup_decoder *dec, bench *b, uint8_t *const *photo_bytes,
                     const size_t *photo_len, int nhave, int repeats)
{
    printf("\n");
    dedup_error err;
    dedup_decode_options full;
    dedup_decode_options_init(&full);
    full.min_side = 0;
    size_t ntime = b->nimg < 120 ? b->nimg : 120;
    uint8_t **tb = xmalloc(ntime * sizeof(*tb));
    size_t *tl = xmalloc(ntime * sizeof(*tl));
    for (size_t i = 0; i < ntime; i++) {
        tb[i] = b->img[i * b->nimg / ntime].jpeg;
        tl[i] = b->img[i * b->nimg / ntime].len;
    }
    timing(dec, (const uint8_t *const *)tb, tl, ntime, repeats, "cost on the bench's crops");
    /* 768-pixel tiles, four per photograph */
    size_t ntiles = 0;
    uint8_t **tiles = xmalloc((size_t)nhave * 4 * sizeof(*tiles));
    size_t *tiles_len = xmalloc((size_t)nhave * 4 * sizeof(*tiles_len));
    for (int k = 0; k < nhave; k++) {
        dedup_image photo;
        if (dedup_decode_image(dec, &photo, photo_bytes[k], photo_len[k], &full, &err))
            die(err.msg);
        ntiles += cut_tiles(&b->cd, &photo, 768, 4, tiles + ntiles, tiles_len + ntiles);
        dedup_image_free(&photo);
    }
    timing(dec, (const uint8_t *const *)tiles, tiles_len, ntiles, repeats,
           "cost on 768-pixel tiles (the Airbus case)");
    timing(dec, (const uint8_t *const *)photo_bytes, photo_len, (size_t)nhave, repeats,
           "cost on the full-size photographs");

    for (size_t i = 0; i < ntiles; i++)
        free(tiles[i]);
    free(tiles);
    free(tiles_len);
    free(tb);
    free(tl);
}

/*
 * Where an overlap's evidence is lost (-R): of the held-out keypoints that
 * fall inside the overlap (20 keypoint sizes from the training crop's edge,
 * as keypoints keep 18 level pixels from their level's), how many have a
 * training keypoint at the same place (within 2 sizes) and scale (within
 * 0.8 octave): the detector repeated; how many of those are within the
 * matcher's distance: the descriptor held; and how many are the nearest
 * training descriptor of all: the matcher would pair them.
 */
typedef struct {
    size_t inside, repeated, close, nearest;
} evidence_stat;

static void evidence(evidence_stat *st, const bench_pair *p, const bench_image *h,
                     const bench_image *t, unsigned max_distance)
{
    const dedup_local_features *hf = &h->feat, *tf = &t->feat;
    uint16_t dist[DEDUP_LOCAL_MAX_KEYPOINTS];
    for (uint32_t i = 0; i < hf->count; i++) {
        double hx, hy, hs;
        dedup_local_point(hf, i, &hx, &hy, &hs, NULL);
        const double tx = (hx - p->dx) / p->scale, ty = (hy - p->dy) / p->scale;
        const double ts = hs / p->scale, margin = 20 * ts;
        if (tx < margin || ty < margin || tx > t->width - margin || ty > t->height - margin)
            continue;
        st->inside++;
        dedup_desc_distances(&hf->points[i], tf->points, tf->count, dist);
        unsigned best_all = UINT_MAX, best_here = UINT_MAX;
        for (uint32_t j = 0; j < tf->count; j++) {
            double x, y, s;
            dedup_local_point(tf, j, &x, &y, &s, NULL);
            if (dist[j] < best_all)
                best_all = dist[j];
            const double tol = 2.0 * (s > ts ? s : ts);
            if (hypot(x - tx, y - ty) <= tol && fabs(log2(ts / s)) <= 0.8 && dist[j] < best_here)
                best_here = dist[j];
        }
        if (best_here == UINT_MAX)
            continue;
        st->repeated++;
        st->close += best_here <= max_distance;
        st->nearest += best_here <= max_distance && best_here == best_all;
    }
}

static void print_evidence(const char *what, const evidence_stat *st)
{
    const double n = st->inside ? (double)st->inside : 1;
    printf("  %-32s %6zu   %5.2f      %5.2f      %5.2f\n", what, st->inside, st->repeated / n,
           st->close / n, st->nearest / n);
}

int main(int argc, char **argv)
{
    uint64_t seed = 6;
    int npairs = 400, repeats = 3, verbose = 0, trace = 0;
    double min_overlap = -1, flat_texture = FLAT_TEXTURE, min_density = -1, min_coverage = -1;
    int min_inliers = -1, max_candidates = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            npairs = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "-m") == 0 && i + 1 < argc)
            min_overlap = atof(argv[++i]);
        else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
            flat_texture = atof(argv[++i]);
        else if (strcmp(argv[i], "-I") == 0 && i + 1 < argc)
            min_inliers = atoi(argv[++i]);
        else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc)
            min_density = atof(argv[++i]);
        else if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
            min_coverage = atof(argv[++i]);
        else if (strcmp(argv[i], "-K") == 0 && i + 1 < argc)
            max_candidates = atoi(argv[++i]);
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "-R") == 0)
            trace = 1;
        else {
            fprintf(stderr, "usage: bench_overlap [-s SEED] [-n PAIRS] [-r REPEATS] "
                            "[-m MIN_OVERLAP] [-f FLAT_TEXTURE] [-I MIN_INLIERS] "
                            "[-D MIN_INLIER_DENSITY] [-C MIN_COVERAGE] [-K MAX_CANDIDATES] "
                            "[-v] [-R]\n");
            return 2;
        }
    }
    if (npairs < 8)
        npairs = 8;
    if (repeats < 0)
        repeats = 0; /* 0: no timing, as the usage says */

    bench b;
    memset(&b, 0, sizeof(b));
    b.r.s = seed;
    b.cd.enc = tjInitCompress();
    b.cd.dec = tjInitDecompress();
    dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    if (!b.cd.enc || !b.cd.dec || dedup_decoder_new(&dec, &err))
        die("cannot create codecs");

    /* Photos: decoded once at full size, cut, then released. */
    int have[NPHOTOS], nhave = 0;
    uint8_t *photo_bytes[NPHOTOS];
    size_t photo_len[NPHOTOS];
    for (int p = 0; p < NPHOTOS; p++) {
        photo_bytes[nhave] = read_file(photo_paths[p], &photo_len[nhave]);
        if (photo_bytes[nhave])
            have[nhave++] = p;
    }
    if (nhave < 2)
        die("need at least two photographs (Debian: mate-backgrounds)");
    const int adjacent = npairs / 2;
    dedup_decode_options full;
    dedup_decode_options_init(&full);
    full.min_side = 0;
    for (int k = 0; k < nhave; k++) {
        dedup_image photo;
        if (dedup_decode_image(dec, &photo, photo_bytes[k], photo_len[k], &full, &err))
            die(err.msg);
        /* An even share of pairs per photo, variants in turn. */
        const int want = npairs * (k + 1) / nhave - npairs * k / nhave;
        const int want_adj = adjacent * (k + 1) / nhave - adjacent * k / nhave;
        for (int i = 0, tries = 0; i < want && tries < 1000; tries++)
            i += cut_overlap(&b, &photo, have[k], (int)(b.npair % 4));
        for (int i = 0, tries = 0; i < want_adj && tries < 1000; tries++)
            i += cut_adjacent(&b, &photo, have[k], i % 4);
        cut_spares(&b, &photo, have[k]);
        dedup_image_free(&photo);
    }
    /* Unrelated photos: every pair of spares from different photos.  The
     * two Elephants files are one painting at two sizes, so their crops may
     * truly overlap: they are never paired. */
    for (size_t i = 0; i < b.nspare; i++)
        for (size_t j = 0; j < b.nspare; j++)
            if (i != j && b.spare_photo[i] != b.spare_photo[j] &&
                !(b.spare_photo[i] <= 1 && b.spare_photo[j] <= 1))
                add_pair(&b, UNRELATED, b.spare[i], b.spare[j]);
    /* Repetitive textures: crops of one canvas that share no pixel, plus
     * crops of two different textures. */
    int tex_img[4][4];
    for (int t = 0; t < 4; t++) {
        rgb canvas = texture(t, 1600, 1600, &b.r);
        for (int k = 0; k < 4; k++) {
            dedup_image view;
            memset(&view, 0, sizeof(view));
            view.width = canvas.w;
            view.height = canvas.h;
            view.stride = (size_t)canvas.w * 3;
            view.pixels = canvas.px;
            int x = (k & 1) * 800 + rng_int(&b.r, 0, 100),
                y = (k >> 1) * 800 + rng_int(&b.r, 0, 100);
            rgb c = crop(&view, x, y, 640, 640);
            tex_img[t][k] = k == 3 ? add_variant(&b, &c, 3, 0.8) : add_image(&b, &c, STORE_QUALITY);
            free(c.px);
        }
        free(canvas.px);
        for (int k = 1; k < 4; k++)
            add_pair(&b, TEXTURE, tex_img[t][0], tex_img[t][k]);
    }
    for (int t = 0; t < 4; t++)
        for (int u = 0; u < 4; u++)
            if (t != u)
                add_pair(&b, TEXTURE, tex_img[t][1], tex_img[u][2]);
    /* One logo, pasted in the bottom-right corner of unrelated crops. */
    rgb logo = make_logo();
    int logo_img[8];
    for (int k = 0; k < 8 && (size_t)k < b.nspare; k++) {
        const bench_image *src = &b.img[b.spare[(size_t)k * b.nspare / 8]];
        rgb c = jpeg_decode_full(&b.cd, src->jpeg, src->len);
        paste(&c, &logo, c.w - logo.w - 16, c.h - logo.h - 16);
        logo_img[k] = add_image(&b, &c, STORE_QUALITY);
        /* Still that crop of its photo, under the logo (src may have moved
         * with add_image's realloc: index again). */
        b.img[logo_img[k]].at = b.img[b.spare[(size_t)k * b.nspare / 8]].at;
        free(c.px);
    }
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            if (i != j)
                add_pair(&b, LOGO, logo_img[i], logo_img[j]);
    free(logo.px);
    /* Flat tiles. */
    for (int k = 0; k < 6; k++) {
        rgb t = flat_tile(k % 3, 768, 768, &b.r);
        b.flat = xrealloc(b.flat, (b.nflat + 1) * sizeof(*b.flat));
        b.flat[b.nflat++] = add_image(&b, &t, k < 3 ? STORE_QUALITY : REENCODE_QUALITY);
        free(t.px);
    }

    compute_features(&b, dec);

    dedup_overlap_options oo;
    dedup_overlap_options_init(&oo);
    if (min_overlap >= 0)
        oo.min_overlap = min_overlap;
    if (min_inliers >= 0)
        oo.min_inliers = (unsigned)min_inliers;
    if (min_density >= 0)
        oo.min_inlier_density = min_density;
    if (min_coverage >= 0)
        oo.min_coverage = min_coverage;

    /* Index over every training side, queried with every held-out side. */
    const dedup_local_features **train_feats = xmalloc(b.nimg * sizeof(*train_feats));
    for (size_t i = 0; i < b.nimg; i++)
        train_feats[i] = NULL;
    size_t ntrain = 0;
    for (size_t k = 0; k < b.npair; k++)
        if (!train_feats[b.pair[k].train]) {
            train_feats[b.pair[k].train] = &b.img[b.pair[k].train].feat;
            ntrain++;
        }
    dedup_desc_index *idx;
    double t0 = cpu_now();
    if (dedup_desc_index_new(&idx, train_feats, b.nimg, &err))
        die(err.msg);
    const double t_build = cpu_now() - t0;
    dedup_desc_query_options qo;
    dedup_desc_query_options_init(&qo);
    if (max_candidates >= 0)
        qo.max_candidates = (size_t)max_candidates;
    dedup_desc_candidates cand;
    dedup_desc_candidates_init(&cand);

    static const double edges[5] = {0.10, 0.25, 0.50, 0.75, 0.90001};
    band_stat band[4], by_variant[4];
    memset(band, 0, sizeof(band));
    memset(by_variant, 0, sizeof(by_variant));
    int fp[NKINDS] = {0}, fp_consistent[NKINDS] = {0}, negs[NKINDS] = {0};
    int cand_hit = 0, cand_n = 0;
    int e2e_n = 0, e2e_pairwise = 0, e2e_caught = 0, e2e_partner = 0, e2e_checked = 0,
        e2e_wrong = 0;
    evidence_stat ev[2], ev_var[4];
    memset(ev, 0, sizeof(ev));
    memset(ev_var, 0, sizeof(ev_var));
    double max_neg_share = 0, t_verify = 0, t_query = 0, max_rot_found = 0;
    unsigned max_neg_inliers = 0;
    size_t nverify = 0, nquery = 0;
    for (size_t k = 0; k < b.npair; k++) {
        const bench_pair *p = &b.pair[k];
        const bench_image *h = &b.img[p->held_out], *t = &b.img[p->train];
        dedup_overlap ov;
        t0 = cpu_now();
        if (dedup_overlap_verify(&ov, &h->feat, &t->feat, &oo, &err))
            die(err.msg);
        t_verify += cpu_now() - t0;
        nverify++;
        const int comparable = ov.held_out_comparable && ov.train_comparable;
        if (p->kind != POSITIVE) {
            negs[p->kind]++;
            fp[p->kind] += ov.is_overlap;
            fp_consistent[p->kind] += ov.consistent;
            if (ov.consistent && ov.share_held_out > max_neg_share)
                max_neg_share = ov.share_held_out;
            if (ov.inliers > max_neg_inliers)
                max_neg_inliers = ov.inliers;
            if (verbose && ov.inliers >= oo.min_inliers)
                printf("  neg %-18s %s (crops %dx%d at %d,%d and %d,%d, variant %d to %dx%d): "
                       "share %.3f inliers %u (%u distinct) matches %u rival %u cov %.2f dens %.2f "
                       "scale %.2f: %s\n",
                       kind_names[p->kind], p->photo >= 0 ? photo_paths[p->photo] : "-", p->w, p->h,
                       p->ax, p->ay, p->bx, p->by, p->variant, h->width, h->height,
                       ov.share_held_out, ov.inliers, ov.distinct_inliers, ov.matches, ov.rival,
                       ov.coverage, ov.density, ov.scale, ov.reason);
            continue;
        }
        if (ov.is_overlap) {
            const double off = fabs(ov.rotation - 90.0 * round(ov.rotation / 90.0));
            if (off > max_rot_found)
                max_rot_found = off;
        }
        int bi = 0;
        while (bi < 3 && p->share >= edges[bi + 1])
            bi++;
        band_stat *bs[2] = {&band[bi], &by_variant[p->variant]};
        const int flat = (h->texture < t->texture ? h->texture : t->texture) < flat_texture;
        for (int s = 0; s < 2; s++) {
            bs[s]->n++;
            bs[s]->found += ov.is_overlap;
            bs[s]->consistent += ov.consistent;
            bs[s]->not_comparable += !comparable;
            bs[s]->flat += flat;
            bs[s]->found_textured += !flat && ov.is_overlap;
            if (ov.consistent) {
                const double se = fabs(ov.share_held_out - p->share);
                const double oe = hypot(ov.dx - p->dx, ov.dy - p->dy);
                bs[s]->share_err_sum += se;
                bs[s]->off_err_sum += oe;
                if (se > bs[s]->share_err_max)
                    bs[s]->share_err_max = se;
                if (oe > bs[s]->off_err_max)
                    bs[s]->off_err_max = oe;
                bs[s]->measured++;
            }
        }
        if (trace && comparable && p->share >= 0.25) {
            evidence(&ev[ov.is_overlap], p, h, t, oo.max_distance);
            evidence(&ev_var[p->variant], p, h, t, oo.max_distance);
        }
        if (verbose && !ov.is_overlap && p->share >= 0.25)
            printf("  miss %s (crops %dx%d at %d,%d and %d,%d) share %.3f var %d scale %.2f "
                   "tex %.1f/%.1f: kp %u/%u matches %u inliers %u est %.3f cov %.2f dens %.2f: "
                   "%s\n",
                   photo_paths[p->photo], p->w, p->h, p->ax, p->ay, p->bx, p->by, p->share,
                   p->variant, p->scale, h->texture, t->texture, h->feat.count, t->feat.count,
                   ov.matches, ov.inliers, ov.share_held_out, ov.coverage, ov.density, ov.reason);
        /* Would the index have proposed the partner? */
        t0 = cpu_now();
        if (dedup_desc_index_query(idx, &h->feat, &qo, &cand, &err))
            die(err.msg);
        t_query += cpu_now() - t0;
        nquery++;
        if (ov.is_overlap) {
            cand_n++;
            for (size_t c = 0; c < cand.len; c++)
                if (cand.items[c].image == (uint32_t)p->train) {
                    cand_hit++;
                    break;
                }
        }
        /* End to end, as a check runs: verify every candidate the index
         * proposes; the held-out image is caught when one is an overlap. */
        if (p->kind == POSITIVE || p->kind == ADJACENT) {
            int caught = 0, via_partner = 0, wrong = 0;
            for (size_t c = 0; c < cand.len; c++) {
                const bench_image *ct = &b.img[cand.items[c].image];
                dedup_overlap co;
                if (dedup_overlap_verify(&co, &h->feat, &ct->feat, &oo, &err))
                    die(err.msg);
                if (!co.is_overlap)
                    continue;
                if (true_share(&h->at, &ct->at) > 0) {
                    caught = 1;
                    via_partner |= cand.items[c].image == (uint32_t)p->train;
                } else {
                    wrong++;
                    if (verbose)
                        printf("  e2e false overlap: held-out %dx%d of %s (at %.0f,%.0f-%.0f,%.0f) "
                               "claims %.3f of image %u (at %.0f,%.0f-%.0f,%.0f), which it shares "
                               "no pixel with: inliers %u (%u distinct) matches %u rival %u cov "
                               "%.2f dens %.2f scale %.3f rot %.1f\n",
                               h->width, h->height, p->photo >= 0 ? photo_paths[p->photo] : "-",
                               h->at.x0, h->at.y0, h->at.x1, h->at.y1, co.share_held_out,
                               cand.items[c].image, ct->at.x0, ct->at.y0, ct->at.x1, ct->at.y1,
                               co.inliers, co.distinct_inliers, co.matches, co.rival, co.coverage,
                               co.density, co.scale, co.rotation);
                }
            }
            e2e_checked++;
            e2e_wrong += wrong > 0;
            if (p->kind == POSITIVE && p->share >= 0.25) {
                e2e_n++;
                e2e_pairwise += ov.is_overlap;
                e2e_caught += caught;
                e2e_partner += via_partner;
                if (verbose && ov.is_overlap && !caught)
                    printf("  e2e lost: %s (crops %dx%d at %d,%d and %d,%d) share %.3f: found "
                           "pairwise, but no candidate of the index verifies\n",
                           photo_paths[p->photo], p->w, p->h, p->ax, p->ay, p->bx, p->by, p->share);
            }
        }
    }

    printf("bench_overlap: seed %llu, %d photographs, %zu images, %zu pairs, min overlap %.2f\n",
           (unsigned long long)seed, nhave, b.nimg, b.npair, oo.min_overlap);
    printf("\nrecall by overlap band (share of the held-out image):\n");
    printf("  %-9s %5s %7s %8s %8s %6s %9s %8s %9s  %s\n", "band", "pairs", "found", "recall",
           "any fit", "flat", "textured", "not cmp", "recall(t)", "share/offset err");
    static const char *const band_names[4] = {"10-25%", "25-50%", "50-75%", "75-90%"};
    int big_n = 0, big_found = 0, big_nc = 0, big_flat = 0, big_found_t = 0;
    for (int i = 0; i < 4; i++) {
        const band_stat *s = &band[i];
        const int textured = s->n - s->flat;
        printf("  %-9s %5d %7d %8.3f %8d %6d %9d %8d %9.3f  %.3f / %.1fpx (max %.3f / %.1fpx)\n",
               band_names[i], s->n, s->found, s->n ? (double)s->found / s->n : 0, s->consistent,
               s->flat, textured, s->not_comparable,
               textured ? (double)s->found_textured / textured : 0,
               s->measured ? s->share_err_sum / s->measured : 0,
               s->measured ? s->off_err_sum / s->measured : 0, s->share_err_max, s->off_err_max);
        if (i > 0) {
            big_n += s->n;
            big_found += s->found;
            big_nc += s->not_comparable;
            big_flat += s->flat;
            big_found_t += s->found_textured;
        }
    }
    printf("  overlap >= 25%%: recall %.3f (%d of %d); %d pairs have a flat side (texture below "
           "%.2f) and %d a side the detector finds not comparable; recall among the %d textured "
           "pairs %.3f\n",
           big_n ? (double)big_found / big_n : 0, big_found, big_n, big_flat, flat_texture, big_nc,
           big_n - big_flat, big_n > big_flat ? (double)big_found_t / (big_n - big_flat) : 0);
    /* The issue's own carve-out: flat tiles are never matched by overlap
     * and are reported as not comparable; this is recall where matching
     * was possible at all. */
    printf("  overlap >= 25%%, both sides comparable: recall %.3f (%d of %d)\n",
           big_n > big_nc ? (double)big_found / (big_n - big_nc) : 0, big_found, big_n - big_nc);
    static const char *const variant_names[4] = {"as stored", "re-encoded q75", "rescaled",
                                                 "rescaled + re-encoded"};
    if (trace) {
        printf("\nevidence in comparable pairs (overlap >= 25%%), share of the held-out "
               "keypoints in the overlap:\n");
        printf("  pairs                            in overlap  repeated  in distance  nearest\n");
        print_evidence("found", &ev[1]);
        print_evidence("missed", &ev[0]);
        for (int v = 0; v < 4; v++)
            print_evidence(variant_names[v], &ev_var[v]);
    }
    printf("\nrecall by variant of the held-out crop (all bands):\n");
    for (int i = 0; i < 4; i++)
        printf("  %-22s %4d pairs, recall %.3f\n", variant_names[i], by_variant[i].n,
               by_variant[i].n ? (double)by_variant[i].found / by_variant[i].n : 0);
    printf("\nfalse positives (is_overlap on a negative):\n");
    int fp_total = 0, neg_total = 0;
    for (int k = 1; k < NKINDS; k++) {
        printf("  %-20s %5d pairs: %d false positives (%d with any consistent fit)\n",
               kind_names[k], negs[k], fp[k], fp_consistent[k]);
        fp_total += fp[k];
        neg_total += negs[k];
    }
    printf("  total: %d of %d; largest share claimed by a consistent fit on a negative: %.3f; "
           "most inliers on a negative: %u\n",
           fp_total, neg_total, max_neg_share, max_neg_inliers);
    int flat_nc = 0;
    for (size_t i = 0; i < b.nflat; i++)
        flat_nc += !dedup_local_comparable(&b.img[b.flat[i]].feat);
    printf("  flat tiles not comparable: %d of %zu\n", flat_nc, b.nflat);
    if (getenv("TEXDUMP")) {
        for (size_t i = 0; i < b.nflat; i++)
            printf("TEX flat %.2f\n", b.img[b.flat[i]].texture);
        for (size_t i = 0; i < b.nimg; i++)
            printf("TEX %s %.2f %u\n", dedup_local_comparable(&b.img[i].feat) ? "cmp" : "nc",
                   b.img[i].texture, b.img[i].feat.count);
    }

    size_t bytes_sum = 0, bytes_max = 0, kp_sum = 0, nc = 0;
    for (size_t i = 0; i < b.nimg; i++) {
        bytes_sum += b.img[i].blob;
        if (b.img[i].blob > bytes_max)
            bytes_max = b.img[i].blob;
        kp_sum += b.img[i].feat.count;
        nc += !dedup_local_comparable(&b.img[i].feat);
    }
    printf("\nstored local features per image: mean %.0f bytes, max %zu bytes (%.0f keypoints "
           "mean); %zu of %zu images not comparable\n",
           (double)bytes_sum / b.nimg, bytes_max, (double)kp_sum / b.nimg, nc, b.nimg);
    printf("verify %.3f ms per pair; index over %zu images: build %.1f ms for %zu keypoints, "
           "query %.3f ms per image; the partner is among the %zu candidates it returns for %d "
           "of %d found overlaps\n",
           t_verify * 1e3 / nverify, ntrain, t_build * 1e3, dedup_desc_index_count(idx),
           nquery ? t_query * 1e3 / nquery : 0, qo.max_candidates, cand_hit, cand_n);
    printf("end to end (each of the index's candidates verified, as a check does): overlaps of "
           "25%% and more caught %d of %d (%.3f; pairwise %d), %d of them through their own "
           "partner, the rest through another crop that shares pixels with them; %d of %d "
           "held-out crops (overlapping and adjacent) claimed an overlap with a crop they share "
           "no pixel with\n",
           e2e_caught, e2e_n, e2e_n ? (double)e2e_caught / e2e_n : 0, e2e_pairwise, e2e_partner,
           e2e_wrong, e2e_checked);
    printf("overlaps found: rotation at most %.1f degrees from a multiple of 90 (none is "
           "rotated)\n",
           max_rot_found);

    if (repeats > 0)
        time_all(dec, &b, photo_bytes, photo_len, nhave, repeats);

    dedup_desc_candidates_free(&cand);
    dedup_desc_index_free(idx);
    free(train_feats);
    for (int k = 0; k < nhave; k++)
        free(photo_bytes[k]);
    for (size_t i = 0; i < b.nimg; i++)
        free(b.img[i].jpeg);
    free(b.img);
    free(b.pair);
    free(b.spare);
    free(b.spare_photo);
    free(b.flat);
    dedup_decoder_free(dec);
    tjDestroy(b.cd.enc);
    tjDestroy(b.cd.dec);
    return 0;
}
