/*
 * bench_archive.c - images per second from one tar shard (streamed by the
 * source layer, dedup_source_each_member_in) against the same images as
 * separate files (open + read each).  Not a test: it prints numbers.
 *
 * The images are WebDataset-sized JPEGs made here from the real photos:
 * each photo decoded at 1/8 scale and re-encoded (quality 70..89, so every
 * image has its own bytes), cycled until COUNT images.  Both sets are
 * written to a temporary folder and read warm from the page cache, so the
 * figures compare the reading paths, not the disk.  Two measurements each:
 *
 *   bytes  read every image whole and hash it (XXH3-128): the I/O path alone
 *   full   the same, then decode and compute the features, as a check does
 *
 * Usage: bench_archive [COUNT] [PHOTO_DIR]   (defaults: 1000, /usr/share/backgrounds/mate)
 * A bytes figure is the best of 3 runs; a full one (seconds per run) of 1.
 */
#include "dedup/decode.h"
#include "dedup/features.h"
#include "dedup/source.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <turbojpeg.h>

#define DEFAULT_DIR "/usr/share/backgrounds/mate"

static char photos[512][1024];
static int nphotos;

static void find_photos(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && nphotos < 512) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%.700s/%.255s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            find_photos(p);
        else if (n > 4 && strcmp(e->d_name + n - 4, ".jpg") == 0)
            snprintf(photos[nphotos++], sizeof(photos[0]), "%s", p);
    }
    closedir(d);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    int full;
    dedup_decoder *dec;
    dedup_decode_options opts;
    size_t images;
    uint64_t sink;
} work;

static int one_image(work *w, const uint8_t *data, size_t len)
{
    dedup_hash128 h = dedup_byte_hash(data, len);
    w->sink += h.lo;
    w->images++;
    if (!w->full)
        return 0;
    dedup_image img;
    dedup_error err;
    if (dedup_decode_image(w->dec, &img, data, len, &w->opts, &err) != 0) {
        fprintf(stderr, "decode: %s\n", err.msg);
        return -1;
    }
    static dedup_features f;
    int rc = dedup_features_compute(&f, data, len, &img, &err);
    dedup_image_free(&img);
    w->sink += f.pdq.variants[0].w[0];
    return rc;
}

static int member(void *ctx, const dedup_member *m, dedup_error *err)
{
    (void)err;
    return m->data ? one_image(ctx, m->data, m->len) : 0;
}

static double run_files(work *w, const char *dir, int count)
{
    double t0 = now();
    for (int i = 0; i < count; i++) {
        char p[1100];
        snprintf(p, sizeof(p), "%s/%06d.jpg", dir, i);
        size_t len;
        uint8_t *b = read_file(p, &len);
        if (!b || one_image(w, b, len) != 0)
            exit(1);
        free(b);
    }
    return now() - t0;
}

static double run_tar(work *w, dedup_source *src, const char *tar)
{
    double t0 = now();
    int fd = open(tar, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        exit(1);
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    dedup_error err;
    if (m == MAP_FAILED ||
        dedup_source_each_member_in(src, m, (size_t)st.st_size, tar, member, w, &err) != 0) {
        fprintf(stderr, "tar: %s\n", err.msg);
        exit(1);
    }
    munmap(m, (size_t)st.st_size);
    return now() - t0;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1000;
    find_photos(argc > 2 ? argv[2] : DEFAULT_DIR);
    if (count < 1 || nphotos == 0) {
        fprintf(stderr, "usage: bench_archive [COUNT] [PHOTO_DIR] (needs .jpg photos)\n");
        return 2;
    }
    char dir[] = "/tmp/bench-archive-XXXXXX";
    const char *tmp = getenv("TMPDIR");
    char dirbuf[1024];
    snprintf(dirbuf, sizeof(dirbuf), "%s/bench-archive-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    char *base = mkdtemp(dirbuf);
    if (!base)
        base = mkdtemp(dir);
    if (!base)
        return 1;
    char tar[1100];
    snprintf(tar, sizeof(tar), "%s/shard.tar", base);

    /* Make the images and write them both ways. */
    tjhandle dtj = tjInitDecompress(), ctj = tjInitCompress();
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, tar);
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        size_t len;
        uint8_t *jpg = read_file(photos[i % nphotos], &len);
        int w, h, sub, cs;
        if (!jpg || tjDecompressHeader3(dtj, jpg, (unsigned long)len, &w, &h, &sub, &cs) != 0)
            return 1;
        int sw = (w + 7) / 8, sh = (h + 7) / 8;
        uint8_t *rgb = malloc((size_t)sw * (size_t)sh * 3);
        if (!rgb || tjDecompress2(dtj, jpg, (unsigned long)len, rgb, sw, 0, sh, TJPF_RGB, 0) != 0)
            return 1;
        free(jpg);
        unsigned char *out = NULL;
        unsigned long olen = 0;
        if (tjCompress2(ctj, rgb, sw, 0, sh, TJPF_RGB, &out, &olen, TJSAMP_420, 70 + i % 20, 0))
            return 1;
        free(rgb);
        char p[1100], name[32];
        snprintf(name, sizeof(name), "%06d.jpg", i);
        snprintf(p, sizeof(p), "%s/%s", base, name);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(out, 1, olen, f) != olen || fclose(f) != 0)
            return 1;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)olen);
        archive_write_header(a, e);
        archive_write_data(a, out, olen);
        archive_entry_free(e);
        total += olen;
        tjFree(out);
    }
    archive_write_close(a);
    archive_write_free(a);
    tjDestroy(dtj);
    tjDestroy(ctj);

    work w = {0};
    dedup_decode_options_init(&w.opts);
    w.opts.min_side = DEDUP_LOCAL_DECODE_SIDE; /* as a check decodes */
    dedup_error err;
    dedup_source *src = NULL;
    if (dedup_decoder_new(&w.dec, &err) != 0 || dedup_source_new(&src, NULL, NULL, &err) != 0)
        return 1;
    printf("%d images, %.1f KiB each on average (photos from %d files at 1/8 scale)\n", count,
           total / 1024.0 / count, nphotos);
    for (int full = 0; full < 2; full++) {
        double best_files = 1e30, best_tar = 1e30;
        w.full = full;
        for (int r = 0; r < (full ? 1 : 3); r++) {
            double t = run_files(&w, base, count);
            best_files = t < best_files ? t : best_files;
            t = run_tar(&w, src, tar);
            best_tar = t < best_tar ? t : best_tar;
        }
        printf("%-5s files: %8.0f images/s   tar shard: %8.0f images/s   (tar/files %.2fx)\n",
               full ? "full" : "bytes", count / best_files, count / best_tar,
               best_files / best_tar);
    }
    printf("(checksum %llx)\n", (unsigned long long)w.sink);
    dedup_source_free(src);
    dedup_decoder_free(w.dec);
    for (int i = 0; i < count; i++) {
        char p[1100];
        snprintf(p, sizeof(p), "%s/%06d.jpg", base, i);
        unlink(p);
    }
    unlink(tar);
    rmdir(base);
    return 0;
}
