/*
 * make_corpus.c - writes the fuzz seed corpus, tests/fuzz/corpus/<target>/,
 * from synthetic pictures (no third-party images), one small file per
 * variant the decoders distinguish, so each fuzz run starts from every path
 * rather than rediscovering the formats.  Run by hand after changing the
 * variants: build-fuzz/tests/fuzz/make_corpus tests/fuzz/corpus
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imagegen.h"

static const char *root;
static int failures;

static void save(const char *target, const char *name, const tg_buf *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        failures++;
    }
}

static void check(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "make_corpus: cannot make %s\n", what);
        failures++;
    }
}

static void jpegs(const dedup_image *pic, const dedup_image *tall)
{
    tg_buf exif = {0};
    check(tg_exif(&exif, 6, 1, 3, 1), "EXIF");
    static const struct {
        const char *name;
        tg_jpeg_opts o;
    } cases[] = {
        {"baseline.jpg", {75, TG_JPEG_YCC, 0, 0, 0, 0, 0, 1, NULL, 0}},
        {"progressive.jpg", {75, TG_JPEG_YCC, 0, 0, 1, 0, 0, 1, NULL, 0}},
        {"arithmetic.jpg", {75, TG_JPEG_YCC, 0, 0, 0, 1, 0, 0, NULL, 0}},
        {"restarts.jpg", {75, TG_JPEG_YCC, 0, 0, 0, 0, 1, 0, NULL, 0}},
        {"grey.jpg", {75, TG_JPEG_GRAY, 0, 0, 0, 0, 0, 0, NULL, 0}},
        {"rgb-adobe.jpg", {75, TG_JPEG_RGB, 0, 0, 0, 0, 0, 0, NULL, 0}},
        {"cmyk-adobe-inverted.jpg", {75, TG_JPEG_CMYK, 0, 1, 0, 0, 0, 0, NULL, 0}},
        {"cmyk-plain.jpg", {75, TG_JPEG_CMYK, 1, 0, 0, 0, 0, 0, NULL, 0}},
        {"ycck-progressive.jpg", {75, TG_JPEG_YCCK, 0, 1, 1, 0, 0, 0, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_buf b = {0};
        check(tg_jpeg(&b, pic, &cases[i].o), cases[i].name);
        save("decode_jpeg", cases[i].name, &b);
        if (i < 2)
            save("decode_header", cases[i].name, &b);
        tg_buf_free(&b);
    }
    tg_jpeg_opts tagged = {75, TG_JPEG_YCC, 0, 0, 0, 0, 0, 1, exif.data, exif.len};
    tg_buf b = {0};
    check(tg_jpeg(&b, tall, &tagged), "exif.jpg");
    save("decode_jpeg", "exif-orientation-6.jpg", &b);
    save("decode_header", "exif-orientation-6.jpg", &b);
    tg_buf_free(&b);
    tg_buf_free(&exif);
}

static void pngs(void)
{
    static const struct {
        int type, depth, interlace;
    } kinds[] = {{0, 1, 0}, {0, 2, 1}, {0, 4, 0}, {0, 8, 0}, {0, 16, 1}, {2, 8, 0}, {2, 16, 0},
                 {3, 1, 0}, {3, 4, 1}, {3, 8, 0}, {4, 8, 0}, {4, 16, 0}, {6, 8, 1}, {6, 16, 0}};
    uint16_t s[12 * 9 * 4];
    uint8_t palette[256 * 3], trns[16];
    for (int i = 0; i < 256 * 3; i++)
        palette[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 16; i++)
        trns[i] = (uint8_t)(i * 17);
    tg_buf exif = {0};
    check(tg_exif(&exif, 8, 0, 3, 0), "EXIF");
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        int ch = kinds[k].type == 2 ? 3 : kinds[k].type == 4 ? 2 : kinds[k].type == 6 ? 4 : 1;
        unsigned max = (1u << kinds[k].depth) - 1;
        for (int i = 0; i < 12 * 9 * ch; i++)
            s[i] = (uint16_t)((unsigned)(i * 2654435761u >> 7) & max);
        tg_png_opts o;
        memset(&o, 0, sizeof(o));
        o.color_type = kinds[k].type;
        o.bit_depth = kinds[k].depth;
        o.interlace = kinds[k].interlace;
        o.samples = s;
        if (kinds[k].type == 3) {
            o.palette = palette;
            o.palette_len = 1 << kinds[k].depth;
            o.trns = trns;
            o.trns_len = (size_t)(o.palette_len < 16 ? o.palette_len : 16);
        }
        if (k % 4 == 1) {
            o.exif = exif.data;
            o.exif_len = exif.len;
        }
        tg_buf b = {0};
        char name[64];
        snprintf(name, sizeof(name), "type%d-%dbit%s%s.png", kinds[k].type, kinds[k].depth,
                 kinds[k].interlace ? "-interlaced" : "", o.exif ? "-exif" : "");
        check(tg_png(&b, 12, 9, &o), name);
        save("decode_png", name, &b);
        if (k == 0 || k == 12)
            save("decode_header", name, &b);
        tg_buf_free(&b);
    }
    tg_buf_free(&exif);
}

static void gifs(const dedup_image *pic)
{
    uint8_t idx[16 * 12];
    for (int i = 0; i < 16 * 12; i++)
        idx[i] = (uint8_t)((i * 3 + i / 16) % 4);
    static const uint8_t pal[12] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255};
    static const struct {
        const char *name;
        int interlace, local, transparent, second, sw, sh, left, top;
    } cases[] = {
        {"plain.gif", 0, 0, -1, 0, 16, 12, 0, 0},
        {"interlaced.gif", 1, 0, -1, 0, 16, 12, 0, 0},
        {"local-table-transparent.gif", 0, 1, 1, 0, 16, 12, 0, 0},
        {"two-frames.gif", 0, 0, -1, 1, 16, 12, 0, 0},
        {"offset-frame.gif", 1, 0, 2, 0, 24, 20, 5, 3},
        {"frame-outside-screen.gif", 0, 0, -1, 0, 8, 8, 4, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_gif_opts o;
        memset(&o, 0, sizeof(o));
        o.screen_w = cases[i].sw;
        o.screen_h = cases[i].sh;
        o.left = cases[i].left;
        o.top = cases[i].top;
        o.width = 16;
        o.height = 12;
        o.interlace = cases[i].interlace;
        o.indices = idx;
        o.palette = pal;
        o.colours = 4;
        o.local_map = cases[i].local;
        o.transparent = cases[i].transparent;
        o.second_frame = cases[i].second;
        tg_buf b = {0};
        check(tg_gif(&b, &o), cases[i].name);
        save("decode_gif", cases[i].name, &b);
        if (i == 0)
            save("decode_header", cases[i].name, &b);
        tg_buf_free(&b);
    }
    tg_buf b = {0};
    check(tg_gif_rgb(&b, pic), "picture.gif");
    save("decode_gif", "picture.gif", &b);
    tg_buf_free(&b);
}

static void webps(const dedup_image *pic, const dedup_image *small)
{
    uint8_t alpha[32 * 24];
    for (int i = 0; i < 32 * 24; i++)
        alpha[i] = (uint8_t)(i % 32 < 16 ? 255 : i % 7 * 40);
    tg_buf lossy = {0}, lossless = {0}, b = {0}, exif = {0};
    check(tg_webp(&lossy, pic, NULL, 60), "lossy");
    save("decode_webp", "lossy.webp", &lossy);
    save("decode_header", "lossy.webp", &lossy);
    check(tg_webp(&lossless, pic, NULL, -1), "lossless");
    save("decode_webp", "lossless.webp", &lossless);
    check(tg_webp(&b, pic, alpha, 60), "lossy alpha");
    save("decode_webp", "lossy-alpha.webp", &b);
    tg_buf_free(&b);
    check(tg_webp(&b, pic, alpha, -1), "lossless alpha");
    save("decode_webp", "lossless-alpha.webp", &b);
    tg_buf_free(&b);
    check(tg_exif(&exif, 5, 1, 3, 0), "EXIF");
    check(tg_webp_with_exif(&b, &lossless, pic->width, pic->height, exif.data, exif.len),
          "exif webp");
    save("decode_webp", "exif-orientation-5.webp", &b);
    save("decode_header", "exif-orientation-5.webp", &b);
    tg_buf_free(&b);
    tg_buf frame = {0};
    check(tg_webp(&frame, small, NULL, -1), "frame");
    check(tg_webp_anim(&b, 32, 24, &frame, small->width, small->height, 6, 4, &lossy), "animation");
    save("decode_webp", "animated.webp", &b);
    tg_buf_free(&b);
    tg_buf_free(&frame);
    tg_buf_free(&exif);
    tg_buf_free(&lossy);
    tg_buf_free(&lossless);
}

static void exifs(void)
{
    for (int o = 1; o <= 8; o++) {
        tg_buf b = {0};
        check(tg_exif(&b, o, o & 1, o % 3 == 0 ? 4 : 3, o & 2), "EXIF");
        char name[64];
        snprintf(name, sizeof(name), "orientation-%d-%s-%s%s.tiff", o, o & 1 ? "be" : "le",
                 o % 3 == 0 ? "long" : "short", o & 2 ? "-prefixed" : "");
        save("exif", name, &b);
        tg_buf_free(&b);
    }
}

static void others(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        size_t len;
    } cases[] = {
        {"bmp.bmp", "BM\x3e\0\0\0\0\0\0\0\x3e\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x01\0", 30},
        {"tiff.tif", "II*\0\x08\0\0\0\0\0", 10},
        {"heic.heic",
         "\0\0\0\x18"
         "ftypheic\0\0\0\0mif1heic",
         24},
        {"text.png", "not an image, whatever the name says\n", 37},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tg_buf b = {0};
        check(tg_buf_put(&b, cases[i].bytes, cases[i].len), cases[i].name);
        save("decode_header", cases[i].name, &b);
        tg_buf_free(&b);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR   (DIR/<target>/ receives the seeds)\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", root, strerror(errno));
        return 1;
    }
    dedup_image pic = tg_picture(32, 24, 1), tall = tg_picture(24, 40, 2);
    dedup_image small = tg_picture(10, 8, 3);
    jpegs(&pic, &tall);
    pngs();
    gifs(&pic);
    webps(&pic, &small);
    exifs();
    others();
    dedup_image_free(&pic);
    dedup_image_free(&tall);
    dedup_image_free(&small);
    return failures ? 1 : 0;
}
