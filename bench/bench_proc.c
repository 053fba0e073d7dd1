/* bench_proc.c — processes for the benchmarks; see bench_proc.h. */
#define _XOPEN_SOURCE 700
#include "bench_proc.h"

#include <fcntl.h>
#include <ftw.h>
#include <iroh/client.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_EXTRA_ARGS 16

int bench_irohd_start(struct bench_irohd *d, const char *path, const char *dir,
                      const char *const *extra_args)
{
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    snprintf(d->socket_path, sizeof d->socket_path, "%s/irohd.sock", dir);
    mkdir(dir, 0700);
    const char *argv[8 + MAX_EXTRA_ARGS] = {path,           "--data-dir",  dir,   "--socket",
                                            d->socket_path, "--log-level", "warn"};
    size_t argc = 7;
    for (size_t i = 0; extra_args && extra_args[i] && i < MAX_EXTRA_ARGS; i++)
        argv[argc++] = extra_args[i];
    d->pid = fork();
    if (d->pid < 0) {
        perror("fork");
        return -1;
    }
    if (d->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) { /* up to 5 s */
        iroh_client *c;
        if (iroh_client_connect(d->socket_path, &c) == 0) {
            iroh_client_close(c);
            return 0;
        }
        usleep(10000);
    }
    fprintf(stderr, "%s did not start in %s\n", path, dir);
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    return -1;
}

void bench_irohd_stop(struct bench_irohd *d)
{
    if (d->pid <= 0) return;
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int bench_remove_tree(const char *dir)
{
    return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

double bench_cpu_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long utime = 0, stime = 0;
    if (!f) return 0;
    /* after the ")" that ends comm: state and 10 more fields, then utime and stime */
    int c;
    while ((c = fgetc(f)) != EOF && c != ')')
        ;
    if (fscanf(f, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        utime = stime = 0;
    fclose(f);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long bench_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double bench_median(double *v, size_t n)
{
    bench_sort(v, n);
    return v[(n - 1) / 2];
}
