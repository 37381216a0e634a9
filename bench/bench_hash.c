/*
 * bench_hash.c - what the per-image work of git-dedup costs next to the
 * cheapest way to look at a JPEG at all.  Not a test: it prints numbers.
 *
 *   A  dedup_decode_image at the size the check decodes (shorter side >= 384,
 *      DEDUP_LOCAL_DECODE_SIDE) + dedup_features_compute (perceptual hash,
 *      keys and local features), exactly as src/match/match.c does
 *   B  `djpeg -scale 1/8 -outfile /dev/null FILE` as a child process
 *      (user + sys CPU from RUSAGE_CHILDREN, process start-up included)
 *   C  TurboJPEG tjDecompress2 at scale 1/8, in process, nothing else
 *
 * Usage: bench_hash [-n REPEATS] [FILE.jpg ...]
 * Without files, every .jpg under /usr/share/backgrounds/mate (recursively).
 * Each measurement is the minimum CPU time over the repeats, which is the
 * least disturbed by whatever else the machine is doing.
 */
#include "dedup/decode.h"
#include "dedup/features.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <turbojpeg.h>

#define DEFAULT_DIR "/usr/share/backgrounds/mate"
#define DJPEG "djpeg"

typedef struct {
    char **v;
    size_t n, cap;
} path_list;

static void add_path(path_list *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        char **grown = realloc(l->v, l->cap * sizeof(*grown));
        if (!grown) {
            perror("realloc");
            exit(1);
        }
        l->v = grown;
    }
    size_t len = strlen(p) + 1;
    l->v[l->n] = malloc(len);
    if (!l->v[l->n]) {
        perror("malloc");
        exit(1);
    }
    memcpy(l->v[l->n++], p, len);
}

static int has_jpg_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (strcmp(name + n - 4, ".jpg") == 0 || strcmp(name + n - 4, ".JPG") == 0);
}

/* Only POSIX here (the project builds without _DEFAULT_SOURCE): no d_type,
 * no nftw, so stat each entry. */
static void collect(path_list *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_hash: %s: %s\n", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            collect(l, path);
        else if (S_ISREG(st.st_mode) && has_jpg_suffix(e->d_name))
            add_path(l, path);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 20;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* A: the work git-dedup does per image.  Returns seconds, < 0 on error. */
static double time_dedup(dedup_decoder *dec, const uint8_t *bytes, size_t len)
{
    dedup_error err;
    dedup_error_clear(&err);
    double t0 = cpu_now();
    dedup_image img;
    dedup_decode_options opts;
    dedup_decode_options_init(&opts);
    opts.min_side = DEDUP_LOCAL_DECODE_SIDE;
    if (dedup_decode_image(dec, &img, bytes, len, &opts, &err)) {
        fprintf(stderr, "bench_hash: decode: %s\n", err.msg);
        return -1;
    }
    dedup_features f;
    int rc = dedup_features_compute(&f, bytes, len, &img, &err);
    dedup_image_free(&img);
    double t = cpu_now() - t0;
    if (rc) {
        fprintf(stderr, "bench_hash: features: %s\n", err.msg);
        return -1;
    }
    return t;
}

/* B: djpeg in a child.  RUSAGE_CHILDREN only grows when a child is
 * reaped, so the difference around waitpid is exactly this child. */
static double time_djpeg(const char *path)
{
    double before = children_cpu();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp(DJPEG, DJPEG, "-scale", "1/8", "-outfile", "/dev/null", path, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return children_cpu() - before;
}

/* C: the bare 1/8 decode, allocation included as in A. */
static double time_tj(tjhandle tj, const uint8_t *bytes, size_t len)
{
    double t0 = cpu_now();
    int w, h, subsamp, cs;
    if (tjDecompressHeader3(tj, bytes, (unsigned long)len, &w, &h, &subsamp, &cs) != 0)
        return -1;
    tjscalingfactor eighth = {1, 8};
    int sw = TJSCALED(w, eighth), sh = TJSCALED(h, eighth);
    uint8_t *buf = malloc((size_t)sw * sh * 3);
    if (!buf)
        return -1;
    int rc = tjDecompress2(tj, bytes, (unsigned long)len, buf, sw, sw * 3, sh, TJPF_RGB, 0);
    free(buf);
    double t = cpu_now() - t0;
    return rc == 0 || tjGetErrorCode(tj) == TJERR_WARNING ? t : -1;
}

static int have_djpeg(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        /* Silence the usage text: we only want to know it runs. */
        FILE *devnull = freopen("/dev/null", "w", stderr);
        (void)devnull;
        execlp(DJPEG, DJPEG, "-version", (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) != 127;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
    int repeats = 5;
    path_list files = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            repeats = atoi(argv[++i]);
            if (repeats < 1)
                repeats = 1;
        } else {
            add_path(&files, argv[i]);
        }
    }
    if (files.n == 0) {
        collect(&files, DEFAULT_DIR);
        qsort(files.v, files.n, sizeof(*files.v), cmp_str);
    }
    if (files.n == 0) {
        fprintf(stderr, "bench_hash: no JPEG files\n");
        return 1;
    }

    dedup_decoder *dec;
    dedup_error err;
    dedup_error_clear(&err);
    if (dedup_decoder_new(&dec, &err)) {
        fprintf(stderr, "bench_hash: %s\n", err.msg);
        return 1;
    }
    tjhandle tj = tjInitDecompress();
    int djpeg = have_djpeg();
    if (!djpeg)
        printf("djpeg not found (Debian: libjpeg-turbo-progs): skipping baseline B\n");

    printf("%d repeats, minimum CPU time per image\n", repeats);
    printf("%-36s %7s %10s %10s %10s\n", "file", "MP", "A dedup", "B djpeg", "C tj 1/8");
    double total_a = 0, total_b = 0, total_c = 0;
    /* Totals are dominated by the largest files; the geometric mean of the
     * per-file ratios weighs every file alike. */
    double log_ab = 0, log_ac = 0;
    int counted = 0;
    for (size_t i = 0; i < files.n; i++) {
        size_t len;
        uint8_t *bytes = read_file(files.v[i], &len);
        dedup_image_info info;
        if (!bytes || dedup_decode_header(dec, &info, bytes, len, &err) ||
            info.format != DEDUP_FORMAT_JPEG) {
            fprintf(stderr, "bench_hash: %s: not a readable JPEG\n", files.v[i]);
            free(bytes);
            continue;
        }
        /* Each method's repeats run back to back: interleaving them would
         * charge every measurement with the caches the previous one (or the
         * djpeg child) evicted, which is not how git-dedup runs. */
        double a = -1, b = -1, c = -1;
        for (int r = 0; r < repeats; r++) {
            double t = time_dedup(dec, bytes, len);
            if (t >= 0 && (a < 0 || t < a))
                a = t;
        }
        for (int r = 0; r < repeats; r++) {
            double t = time_tj(tj, bytes, len);
            if (t >= 0 && (c < 0 || t < c))
                c = t;
        }
        for (int r = 0; djpeg && r < repeats; r++) {
            double t = time_djpeg(files.v[i]);
            if (t >= 0 && (b < 0 || t < b))
                b = t;
        }
        free(bytes);
        if (a < 0 || c < 0 || (djpeg && b < 0)) {
            fprintf(stderr, "bench_hash: %s: measurement failed\n", files.v[i]);
            continue;
        }
        printf("%-36s %7.2f %8.2fms %8.2fms %8.2fms\n", base_name(files.v[i]),
               (double)info.width * info.height / 1e6, a * 1e3, djpeg ? b * 1e3 : 0.0, c * 1e3);
        total_a += a;
        total_b += b;
        total_c += c;
        if (djpeg)
            log_ab += log(a / b);
        log_ac += log(a / c);
        counted++;
    }
    printf("total over %d files: A %.1fms", counted, total_a * 1e3);
    if (djpeg)
        printf("  B %.1fms", total_b * 1e3);
    printf("  C %.1fms\n", total_c * 1e3);
    if (djpeg && total_b > 0)
        printf("hash vs djpeg -scale 1/8: %.2fx (per-file geometric mean %.2fx)\n",
               total_a / total_b, exp(log_ab / counted));
    if (total_c > 0)
        printf("hash vs in-process 1/8 decode: %.2fx (per-file geometric mean %.2fx)\n",
               total_a / total_c, exp(log_ac / counted));

    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    tjDestroy(tj);
    dedup_decoder_free(dec);
    return counted ? 0 : 1;
}
