/*
 * bench_spawn.c - run a command several times and print its best wall time,
 * its CPU time and its peak resident memory (from wait4's rusage), so the
 * shell benchmarks need no GNU time or hyperfine.
 *
 * usage: bench_spawn RUNS command [args...]
 * prints: wall_ms=<min> cpu_ms=<min user+sys> maxrss_kb=<max> exit=<last status>
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t wait4(pid_t pid, int *status, int options, struct rusage *rusage);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s RUNS command [args...]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]);
    double best_wall = 1e18, best_cpu = 1e18;
    long max_rss = 0;
    int last = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            if (!freopen("/dev/null", "w", stdout))
                _exit(127);
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        int status;
        struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) {
            perror("wait4");
            return 2;
        }
        double wall = now_ms() - t0;
        double cpu = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
                     ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
        if (wall < best_wall)
            best_wall = wall;
        if (cpu < best_cpu)
            best_cpu = cpu;
        if (ru.ru_maxrss > max_rss)
            max_rss = ru.ru_maxrss;
        last = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    printf("wall_ms=%.1f cpu_ms=%.1f maxrss_kb=%ld exit=%d\n", best_wall, best_cpu, max_rss, last);
    return 0;
}
