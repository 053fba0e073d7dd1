/* bench_proc.h — processes for the benchmarks: irohd started and stopped for those that drive
 * it through libiroh-client (rpc_bench, quic_app_bench), each in its own data dir with its own
 * socket and its output discarded; a process's CPU time and resident memory from /proc; the
 * median of a run's figures. Benchmarks only. */
#ifndef IROHD_BENCH_PROC_H
#define IROHD_BENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct bench_irohd {
    pid_t pid;
    char dir[256];         /* its data dir */
    char socket_path[300]; /* dir/irohd.sock */
};

/* Starts irohd (the executable at path) with data dir dir (created if missing) and socket
 * dir/irohd.sock, log level warn, plus extra_args (NULL-terminated, may be NULL), and waits up
 * to 5 s for its socket to answer. Returns 0, or -1 with a message on stderr (nothing left
 * running). */
int bench_irohd_start(struct bench_irohd *d, const char *path, const char *dir,
                      const char *const *extra_args);

/* SIGTERM, then waits for it to exit. */
void bench_irohd_stop(struct bench_irohd *d);

/* CPU time (user + system) of process pid so far, in seconds (0 if unreadable). */
double bench_cpu_seconds(pid_t pid);

/* VmRSS of process pid in KiB, or -1. */
long bench_rss_kib(pid_t pid);

/* Sorts v[0..n) ascending; the median of v[0..n) (n >= 1; sorts v). */
void bench_sort(double *v, size_t n);
double bench_median(double *v, size_t n);

/* Removes dir and everything below it (the benchmark's temp dir). Returns 0 or -1. */
int bench_remove_tree(const char *dir);

#endif
