/* blake3_bench — BLAKE3 throughput on a file: maps it and hashes it with one thread and with
 * N threads, several times each, and prints GB/s (10^9 bytes per second). Each timed run
 * includes open, mmap, hashing and munmap, as b3sum's run does, so that the numbers compare
 * with `b3sum --num-threads N FILE` timed from outside (bench/blake3-vs-b3sum.sh).
 *
 * usage: blake3_bench [-r REPS] [-t THREADS] [-o] FILE
 *   -r REPS     timed runs per configuration (default 5)
 *   -t THREADS  the multi-threaded configuration (default: online CPUs)
 *   -o          only the THREADS configuration, once per rep (for timing from outside)
 * IROH_BLAKE3_ISA=portable|sse41|avx2|avx512 caps the SIMD level. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/blake3.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Maps and hashes path with `threads` threads; returns the seconds taken, or -1. */
static double hash_file(const char *path, unsigned threads, size_t *size, uint8_t out[32])
{
    double start = now();
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        if (fd >= 0) close(fd);
        return -1;
    }
    *size = (size_t)st.st_size;
    const void *map = NULL;
    if (*size > 0) {
        map = mmap(NULL, *size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            perror("mmap");
            close(fd);
            return -1;
        }
    }
    iroh_blake3_hash_parallel(map, *size, threads, out);
    if (*size > 0) munmap((void *)map, *size);
    close(fd);
    return now() - start;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs `reps` timed hashes with `threads` threads and prints the best and median GB/s. */
static int run(const char *path, unsigned threads, int reps)
{
    double *secs = calloc((size_t)reps, sizeof *secs);
    size_t size = 0;
    uint8_t hash[32];
    if (!secs) return -1;
    for (int i = 0; i < reps; i++) {
        secs[i] = hash_file(path, threads, &size, hash);
        if (secs[i] < 0) {
            free(secs);
            return -1;
        }
    }
    qsort(secs, (size_t)reps, sizeof *secs, cmp_double);
    printf("%u thread%s: best %.3f GB/s, median %.3f GB/s (%zu bytes, %d runs) hash ", threads,
           threads == 1 ? "" : "s", (double)size / secs[0] / 1e9,
           (double)size / secs[reps / 2] / 1e9, size, reps);
    for (int i = 0; i < 32; i++)
        printf("%02x", hash[i]);
    printf("\n");
    free(secs);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 5, only = 0, opt;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 0 ? (unsigned)cpus : 1;
    while ((opt = getopt(argc, argv, "r:t:o")) != -1) {
        if (opt == 'r') {
            reps = atoi(optarg);
        } else if (opt == 't') {
            threads = (unsigned)atoi(optarg);
        } else if (opt == 'o') {
            only = 1;
        } else {
            fprintf(stderr, "usage: %s [-r REPS] [-t THREADS] [-o] FILE\n", argv[0]);
            return 2;
        }
    }
    if (optind + 1 != argc || reps < 1 || threads < 1) {
        fprintf(stderr, "usage: %s [-r REPS] [-t THREADS] [-o] FILE\n", argv[0]);
        return 2;
    }
    const char *path = argv[optind];
    if (!only) printf("isa %s\n", iroh_blake3_isa_name(iroh_blake3_isa_active()));
    if (!only && run(path, 1, reps) != 0) return 1;
    if ((only || threads > 1) && run(path, threads, reps) != 0) return 1;
    return 0;
}
