/* rpc_bench.c — how fast irohd answers its local API: node.status round trips through
 * libiroh-client (p50/p99 latency with one client; calls/s with 1 and 8 blocking clients and
 * with one pipelining client), printed next to the goals of the foundation issue.
 *   rpc_bench [--irohd PATH] [--calls N] [--seconds S]
 * It starts its own irohd in a temporary directory and stops it at the end. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <iroh/client.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"

#define GOAL_P50_US 50.0
#define GOAL_CALLS_PER_S 50000.0
#define PIPELINE_DEPTH 64

static const char *socket_path; /* the started irohd's */
static double seconds = 3.0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static iroh_client *connect_or_die(void)
{
    iroh_client *c;
    int rc = iroh_client_connect(socket_path, &c);
    if (rc < 0) {
        fprintf(stderr, "rpc_bench: connect %s: %s\n", socket_path, iroh_strerror(rc));
        exit(1);
    }
    return c;
}

static void call_or_die(iroh_client *c)
{
    iroh_response *r;
    int rc = iroh_client_call(c, "node.status", NULL, 10000, &r);
    if (rc < 0 || iroh_response_error_code(r) != 0) {
        fprintf(stderr, "rpc_bench: node.status failed: %s\n",
                rc < 0 ? iroh_strerror(rc) : iroh_response_error_message(r));
        exit(1);
    }
    iroh_response_free(r);
}

static void bench_latency(long calls, double *p50, double *p99, double *mean)
{
    iroh_client *c = connect_or_die();
    for (int i = 0; i < 2000; i++)
        call_or_die(c);
    double *us = malloc((size_t)calls * sizeof *us), sum = 0;
    for (long i = 0; i < calls; i++) {
        double t0 = now_s();
        call_or_die(c);
        us[i] = (now_s() - t0) * 1e6;
        sum += us[i];
    }
    bench_sort(us, (size_t)calls);
    *p50 = us[calls / 2];
    *p99 = us[calls * 99 / 100];
    *mean = sum / calls;
    free(us);
    iroh_client_close(c);
}

struct worker {
    pthread_t thread;
    long calls;
};

static volatile int go, stop;

static void *blocking_worker(void *arg)
{
    struct worker *w = arg;
    iroh_client *c = connect_or_die();
    while (!go)
        usleep(100);
    while (!stop) {
        call_or_die(c);
        w->calls++;
    }
    iroh_client_close(c);
    return NULL;
}

static double bench_clients(int nclients)
{
    struct worker workers[8] = {0};
    go = stop = 0;
    for (int i = 0; i < nclients; i++)
        pthread_create(&workers[i].thread, NULL, blocking_worker, &workers[i]);
    usleep(100000);
    double t0 = now_s();
    go = 1;
    usleep((useconds_t)(seconds * 1e6));
    stop = 1;
    double elapsed = now_s() - t0;
    long total = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].calls;
    }
    return total / elapsed;
}

static long pipelined_done;

static void on_pipelined(iroh_client *c, int status, iroh_response *r, void *userdata)
{
    (void)c, (void)userdata;
    if (status == IROH_ECLOSED) return; /* still in flight when the bench closed: not counted */
    if (status < 0 || iroh_response_error_code(r) != 0) {
        fprintf(stderr, "rpc_bench: pipelined call failed: %s\n",
                status < 0 ? iroh_strerror(status) : iroh_response_error_message(r));
        exit(1);
    }
    pipelined_done++;
}

static double bench_pipelined(void)
{
    iroh_client *c = connect_or_die();
    long sent = 0;
    pipelined_done = 0;
    double t0 = now_s(), end = t0 + seconds;
    while (now_s() < end) {
        while (sent - pipelined_done < PIPELINE_DEPTH) {
            if (iroh_client_call_async(c, "node.status", NULL, on_pipelined, NULL, NULL) < 0) break;
            sent++;
        }
        struct pollfd p = {iroh_client_fd(c), POLLIN | (iroh_client_wants_write(c) ? POLLOUT : 0),
                           0};
        poll(&p, 1, 100);
        if (iroh_client_process(c) < 0) {
            fprintf(stderr, "rpc_bench: connection lost\n");
            exit(1);
        }
    }
    double rate = pipelined_done / (now_s() - t0);
    iroh_client_close(c); /* the calls still in flight end with IROH_ECLOSED: not counted */
    return rate;
}

static const char *verdict(int ok)
{
    return ok ? "meets goal" : "MISSES goal";
}

int main(int argc, char **argv)
{
    const char *irohd = IROHD_PATH;
    long calls = 50000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--irohd") == 0 && i + 1 < argc)
            irohd = argv[++i];
        else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            calls = atol(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: rpc_bench [--irohd PATH] [--calls N] [--seconds S]\n");
            return 2;
        }
    }
    if (calls < 100) calls = 100;
    char dir[] = "/tmp/rpc-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct bench_irohd daemon;
    if (bench_irohd_start(&daemon, irohd, dir, NULL) < 0) {
        bench_remove_tree(dir);
        return 1;
    }
    socket_path = daemon.socket_path;

    double p50, p99, mean;
    bench_latency(calls, &p50, &p99, &mean);
    double one = bench_clients(1), eight = bench_clients(8), piped = bench_pipelined();

    printf("irohd local API, node.status through libiroh-client (%ld timed calls, %.0f s per "
           "throughput run)\n",
           calls, seconds);
    printf("  round trip, 1 client    p50 %7.1f us  p99 %7.1f us  mean %7.1f us   goal p50 < %.0f "
           "us: %s\n",
           p50, p99, mean, GOAL_P50_US, verdict(p50 < GOAL_P50_US));
    printf("  calls/s, 1 client        %9.0f                                     goal >= %.0f: "
           "%s\n",
           one, GOAL_CALLS_PER_S, verdict(one >= GOAL_CALLS_PER_S));
    printf("  calls/s, 8 clients       %9.0f                                     goal >= %.0f: "
           "%s\n",
           eight, GOAL_CALLS_PER_S, verdict(eight >= GOAL_CALLS_PER_S));
    printf("  calls/s, 1 client, %d in flight  %9.0f\n", PIPELINE_DEPTH, piped);

    bench_irohd_stop(&daemon);
    if (bench_remove_tree(dir) != 0) fprintf(stderr, "rpc_bench: could not remove %s\n", dir);
    return 0;
}
