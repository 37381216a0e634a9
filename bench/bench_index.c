/*
 * bench_index.c - multi-index query vs brute-force scan.  Not a test.
 *
 * Usage: bench_index [count [queries [radius]]]   (default 100000 2000 31)
 *
 * Half the queries are random codes (almost never within radius: the cost
 * of saying "no leak"), half are copies of an indexed code with 5..31 bits
 * flipped (the cost of finding one).  Each method runs over all queries in
 * its own timed loop so timer overhead stays out of the per-query numbers;
 * an untimed pass then compares the two answers hit for hit.  CPU time,
 * not wall time, so a busy machine skews less.  Exits 1 if answers differ.
 */
#include "dedup/index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static dedup_pdq_hash random_code(uint64_t *rng)
{
    dedup_pdq_hash h;
    for (int i = 0; i < DEDUP_PDQ_WORDS; i++)
        h.w[i] = splitmix64(rng);
    return h;
}

static dedup_pdq_hash flip_bits(dedup_pdq_hash h, unsigned k, uint64_t *rng)
{
    unsigned pos[256];
    for (unsigned i = 0; i < 256; i++)
        pos[i] = i;
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + (unsigned)(splitmix64(rng) % (256 - i));
        unsigned t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
        h.w[pos[i] / 64] ^= 1ull << (pos[i] % 64);
    }
    return h;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_arg(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

typedef int (*query_fn)(const dedup_index *, const dedup_pdq_hash *, unsigned, dedup_index_hits *,
                        dedup_error *);

/* Run every query once; returns CPU seconds, or a negative value on error. */
static double timed_pass(query_fn fn, const dedup_index *idx, const dedup_pdq_hash *queries,
                         size_t nq, unsigned radius, dedup_index_hits *hits, size_t *total)
{
    dedup_error err;
    dedup_error_clear(&err);
    *total = 0;
    double t0 = cpu_seconds();
    for (size_t i = 0; i < nq; i++) {
        if (fn(idx, &queries[i], radius, hits, &err)) {
            fprintf(stderr, "bench_index: query %zu: %s\n", i, err.msg);
            return -1.0;
        }
        *total += hits->count;
    }
    return cpu_seconds() - t0;
}

int main(int argc, char **argv)
{
    unsigned long long count = 100000, nq = 2000, radius = 31;
    if (argc > 4 || (argc > 1 && parse_arg(argv[1], UINT32_MAX, &count)) ||
        (argc > 2 && parse_arg(argv[2], 100000000ull, &nq)) ||
        (argc > 3 && parse_arg(argv[3], 256, &radius))) {
        fprintf(stderr, "usage: bench_index [count [queries [radius<=256]]]\n");
        return 2;
    }

    uint64_t rng = 0x5EED;
    dedup_pdq_hash *codes = malloc((count ? count : 1) * sizeof(*codes));
    dedup_pdq_hash *queries = malloc((nq ? nq : 1) * sizeof(*queries));
    if (!codes || !queries) {
        fprintf(stderr, "bench_index: out of memory\n");
        return 2;
    }
    for (size_t i = 0; i < count; i++)
        codes[i] = random_code(&rng);
    for (size_t i = 0; i < nq; i++) {
        if (i % 2 == 0 || count == 0)
            queries[i] = random_code(&rng);
        else
            queries[i] = flip_bits(codes[splitmix64(&rng) % count],
                                   5 + (unsigned)(splitmix64(&rng) % 27), &rng);
    }

    dedup_error err;
    dedup_error_clear(&err);
    dedup_index *idx = NULL;
    double t0 = cpu_seconds();
    if (dedup_index_new(&idx, codes, count, &err)) {
        fprintf(stderr, "bench_index: %s\n", err.msg);
        return 2;
    }
    double build = cpu_seconds() - t0;
    /*
     * Approximate: the layout index.c uses (a copy of the codes, sixteen
     * offset tables of 65537 entries and sixteen id arrays).  Indexes under
     * 512 codes skip the tables, so this overstates them.
     */
    double mem = (double)count * sizeof(dedup_pdq_hash) + 16.0 * 65537 * sizeof(uint32_t) +
                 16.0 * (double)count * sizeof(uint32_t);

    dedup_index_hits a, b;
    dedup_index_hits_init(&a);
    dedup_index_hits_init(&b);
    size_t total_mih = 0, total_brute = 0;
    double t_mih =
        timed_pass(dedup_index_query, idx, queries, nq, (unsigned)radius, &a, &total_mih);
    double t_brute =
        timed_pass(dedup_index_query_brute, idx, queries, nq, (unsigned)radius, &b, &total_brute);
    if (t_mih < 0 || t_brute < 0)
        return 2;

    int same = total_mih == total_brute;
    for (size_t i = 0; same && i < nq; i++) {
        if (dedup_index_query(idx, &queries[i], (unsigned)radius, &a, &err) ||
            dedup_index_query_brute(idx, &queries[i], (unsigned)radius, &b, &err)) {
            fprintf(stderr, "bench_index: query %zu: %s\n", i, err.msg);
            return 2;
        }
        same = a.count == b.count;
        for (size_t j = 0; same && j < a.count; j++)
            same = a.items[j].id == b.items[j].id && a.items[j].distance == b.items[j].distance;
        if (!same)
            fprintf(stderr, "bench_index: query %zu: results differ\n", i);
    }

    double per_mih = nq ? t_mih * 1e3 / (double)nq : 0.0;
    double per_brute = nq ? t_brute * 1e3 / (double)nq : 0.0;
    printf("index: %llu codes, build %.1f ms, memory ~%.1f MiB\n", count, build * 1e3,
           mem / (1024.0 * 1024.0));
    printf("index: %llu codes, %llu queries, radius %llu: mih %.3f ms/query, brute %.3f "
           "ms/query, speedup %.1fx, results identical: %s\n",
           count, nq, radius, per_mih, per_brute, t_mih > 0 ? t_brute / t_mih : 0.0,
           same ? "yes" : "no");
    printf("index: %zu hits in total (%llu of %llu queries planted)\n", total_mih, nq / 2, nq);

    dedup_index_hits_free(&a);
    dedup_index_hits_free(&b);
    dedup_index_free(idx);
    free(codes);
    free(queries);
    return same ? 0 : 1;
}
