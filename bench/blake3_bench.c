/* blake3_bench — BLAKE3 throughput on a file: maps it and hashes it with one thread and with
 * N threads, several times each, and prints GB/s (10^9 bytes per second).
 *
 * A timed run covers open, mmap (plain, so pages fault in while hashing), hashing and munmap,
 * like one b3sum run, so the numbers compare with `b3sum --num-threads N FILE` timed from
 * outside (bench/blake3-vs-b3sum.sh). -H maps with MAP_POPULATE and times the hashing only.
 *
 * usage: blake3_bench [-r REPS] [-t THREADS] [-o] [-H] FILE
 *   -r REPS     timed runs per configuration (default 5)
 *   -t THREADS  the multi-threaded configuration (default: online CPUs)
 *   -o          only the THREADS configuration (for timing from outside)
 *   -H          time the hashing only
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

static int hash_only; /* -H */

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
        map = mmap(NULL, *size, PROT_READ, MAP_SHARED | (hash_only ? MAP_POPULATE : 0), fd, 0);
        if (map == MAP_FAILED) {
            perror("mmap");
            close(fd);
            return -1;
        }
    }
    if (hash_only) start = now();
    iroh_blake3_hash_parallel(map, *size, threads, out);
    double hashed = now();
    if (*size > 0) munmap((void *)map, *size);
    close(fd);
    return (hash_only ? hashed : now()) - start;
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
    printf("%u thread%s, %s%s: best %.3f GB/s, median %.3f GB/s (%zu bytes, %d runs) hash ",
           threads, threads == 1 ? "" : "s", iroh_blake3_isa_name(iroh_blake3_isa_active()),
           hash_only ? ", hash only" : "", (double)size / secs[0] / 1e9,
           (double)size / secs[reps / 2] / 1e9, size, reps);
    for (int i = 0; i < 32; i++)
        printf("%02x", hash[i]);
    printf("\n");
    free(secs);
    return 0;
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-r REPS] [-t THREADS] [-o] [-H] FILE\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    int reps = 5, only = 0, opt;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = cpus > 0 ? (unsigned)cpus : 1;
    while ((opt = getopt(argc, argv, "r:t:oH")) != -1) {
        if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 't')
            threads = (unsigned)atoi(optarg);
        else if (opt == 'o')
            only = 1;
        else if (opt == 'H')
            hash_only = 1;
        else
            return usage(argv[0]);
    }
    if (optind + 1 != argc || reps < 1 || threads < 1) return usage(argv[0]);
    const char *path = argv[optind];
    if (!only && run(path, 1, reps) != 0) return 1;
    if ((only || threads > 1) && run(path, threads, reps) != 0) return 1;
    return 0;
}
