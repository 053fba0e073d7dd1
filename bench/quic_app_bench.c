/* quic_app_bench.c — bulk transfer between two irohd processes over 127.0.0.1 through app
 * stream fds: the path an app's bytes take (its socket → irohd's bridge → QUIC → the other
 * irohd → its bridge → the other app's socket), measured like bench/quic_bench measures the
 * endpoint inside the daemon, so the two can be printed side by side.
 *
 *   quic_app_bench [--irohd PATH] [--irohd-config FILE] [--bytes N] [--streams K] [--reps R]
 *                  [--piece P]
 *
 * It starts two irohd (temp data dirs, their own sockets, endpoints on 127.0.0.1) and one app
 * process on each, both on libiroh-client:
 *   sink (behind irohd B): endpoint.listen on its ALPN; for every connection, accepts K
 *         bidirectional streams (conn.accept_bi), reads each to EOF and discards the bytes
 *         (reads of 256 KiB, again at once after a full one, else back to poll), answers each
 *         with the 8-byte little-endian count and closes it.
 *   push (behind irohd A, this process): per rep, dials B's ticket (endpoint.connect), opens K
 *         streams (conn.open_bi), writes N/K bytes on each in writes of P bytes (default 64 KiB,
 *         quic_bench's piece) from a 1 MiB pattern (until a short write, then poll), shuts its
 *         write side, reads the answer and checks it; then closes the connection.
 * Goodput runs from the first conn.open_bi to the last answer (as quic_bench: from the first
 * stream open to the last answer; the dial is not timed). Printed per rep:
 *   "app bulk streams=K bytes=N goodput=X MB/s irohd_cpu=A%/B% app_cpu=a%/b% cpu=T s/GiB
 *    switches=A/B/a/b=S per GiB"
 * (each process's CPU time over the transfer: the pushing side first; all four together per
 * GiB, steadier than goodput on a busy machine; the voluntary context switches of each
 * process's main thread per GiB, sleeps a wakeup ended, and their sum; preemptions, which
 * other load on the machine adds, are left out), then
 *   "app median MB/s (streams=K): X", "app median cpu s/GiB (streams=K): T" and
 *   "app median context switches per GiB (streams=K): S".
 * Defaults: 1 GiB, K=1, 3 reps, irohd from this build; FILE is passed to both irohd as
 * --config (e.g. {"busy_poll_us": 0}). */
#include <errno.h>
#include <fcntl.h>
#include <iroh/client.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"

#define ALPN "irohd-bench/app-sink/0"
#define MAX_STREAMS 16
#define SOURCE_LEN (1024 * 1024)
#define SINK_READ (256 * 1024)
#define TIMEOUT_MS 10000

static int die(const char *who, const char *what)
{
    fprintf(stderr, "quic_app_bench: %s: %s: %s\n", who, what, iroh_last_error());
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the sink app ---------------------------------------------------------------------------- */

/* Connections announced by endpoint.incoming (a ring), served in order. */
#define INCOMING_RING 64
static uint64_t incoming[INCOMING_RING];
static size_t n_incoming;

static void on_notification(iroh_client *client, const char *method, const char *params_json,
                            void *userdata)
{
    (void)client, (void)userdata;
    iroh_incoming in;
    if (iroh_incoming_parse(method, params_json, &in) == 0)
        incoming[n_incoming++ % INCOMING_RING] = in.conn;
}

/* Reads every stream to EOF, discarding; answers each with its count and closes it. */
static void sink_streams(int *fds, unsigned k)
{
    static uint8_t buf[SINK_READ];
    uint64_t count[MAX_STREAMS] = {0};
    struct pollfd p[MAX_STREAMS];
    unsigned open = k;
    for (unsigned i = 0; i < k; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    while (open > 0) {
        if (poll(p, k, TIMEOUT_MS) <= 0) die("sink", "no bytes for 10 s");
        for (unsigned i = 0; i < k; i++) {
            if (p[i].fd < 0 || !p[i].revents) continue;
            ssize_t n;
            /* a full read says more may be waiting: read again before polling */
            while ((n = recv(p[i].fd, buf, sizeof buf, MSG_DONTWAIT)) == (ssize_t)sizeof buf)
                count[i] += sizeof buf;
            if (n > 0) {
                count[i] += (uint64_t)n;
                continue;
            }
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            uint8_t answer[8];
            for (int b = 0; b < 8; b++)
                answer[b] = (uint8_t)(count[i] >> (8 * b));
            if (n < 0 || send(p[i].fd, answer, sizeof answer, MSG_NOSIGNAL) != sizeof answer)
                fprintf(stderr, "quic_app_bench: sink: stream %u failed\n", i);
            close(p[i].fd);
            p[i].fd = -1;
            open--;
        }
    }
}

/* Serves connections until irohd B goes away. Sends B's ticket through ticket_fd first. */
static int run_sink(const char *socket_path, unsigned k, int ticket_fd)
{
    iroh_client *c;
    char ticket[4096];
    if (iroh_client_connect(socket_path, &c) < 0) die("sink", "connect to irohd");
    if (iroh_endpoint_listen(c, ALPN, NULL) < 0) die("sink", "endpoint.listen");
    if (iroh_endpoint_ticket(c, ticket, sizeof ticket) < 0) die("sink", "endpoint.ticket");
    iroh_client_on_notification(c, on_notification, NULL);
    size_t len = strlen(ticket) + 1;
    if (write(ticket_fd, ticket, len) != (ssize_t)len) return 1;
    close(ticket_fd);
    for (size_t served = 0;; served++) {
        while (served == n_incoming) {
            struct pollfd p = {iroh_client_fd(c), POLLIN, 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR) return 1;
            if (iroh_client_process(c) < 0) return 0; /* irohd stopped: the benchmark is over */
        }
        if (n_incoming - served > INCOMING_RING) die("sink", "too many connections at once");
        uint64_t conn = incoming[served % INCOMING_RING];
        int fds[MAX_STREAMS];
        unsigned got = 0;
        while (got < k && iroh_conn_accept_bi(c, conn, TIMEOUT_MS, &fds[got]) == 0)
            got++;
        if (got < k) die("sink", "conn.accept_bi");
        sink_streams(fds, k);
    }
}

/* ---- the pushing app ------------------------------------------------------------------------- */

struct push_stream {
    int fd;
    uint64_t written, want;
    uint8_t answer[8];
    size_t answer_len;
    bool done;
};

static uint8_t *source;

/* Writes what the socket takes; shuts the write side once everything is written. */
static void push_some(struct push_stream *ps, size_t piece)
{
    while (ps->written < ps->want) {
        size_t off = (size_t)(ps->written % SOURCE_LEN);
        size_t n = piece;
        if (n > SOURCE_LEN - off) n = SOURCE_LEN - off;
        if (n > ps->want - ps->written) n = (size_t)(ps->want - ps->written);
        ssize_t w = send(ps->fd, source + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return;
        if (w <= 0) die("push", "the stream failed while writing");
        ps->written += (uint64_t)w;
        if ((size_t)w < n) return; /* the socket is full: wait for POLLOUT, no EAGAIN send */
    }
    shutdown(ps->fd, SHUT_WR);
}

/* Reads the answer; marks the stream done at EOF after 8 bytes. */
static void read_answer(struct push_stream *ps)
{
    uint8_t buf[64];
    ssize_t n = recv(ps->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n < 0) die("push", "the stream failed while reading the answer");
    if (n == 0) {
        uint64_t count = 0;
        for (int b = 0; b < 8; b++)
            count |= (uint64_t)ps->answer[b] << (8 * b);
        if (ps->answer_len != 8 || count != ps->want) {
            fprintf(stderr, "quic_app_bench: the sink counted %llu of %llu bytes\n",
                    (unsigned long long)count, (unsigned long long)ps->want);
            exit(1);
        }
        ps->done = true;
        return;
    }
    for (ssize_t i = 0; i < n && ps->answer_len < 8; i++)
        ps->answer[ps->answer_len++] = buf[i];
}

struct procs {
    pid_t irohd_push, irohd_sink, app_sink;
};

/* Voluntary context switches of process pid's main thread so far, or 0. */
static uint64_t voluntary_switches(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long n = 0;
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1) break;
    fclose(f);
    return n;
}

/* One rep. Returns goodput in MB/s; the four processes' CPU (percent of the time) in cpu[] and
 * their voluntary context switches in sw[] (same order). */
static double push_once(iroh_client *c, const char *ticket, uint64_t bytes, unsigned k,
                        size_t piece, const struct procs *pr, double cpu[4], uint64_t sw[4])
{
    uint64_t conn;
    if (iroh_endpoint_connect(c, ticket, ALPN, TIMEOUT_MS, &conn) < 0)
        die("push", "endpoint.connect");
    pid_t pids[4] = {pr->irohd_push, pr->irohd_sink, getpid(), pr->app_sink};
    double cpu0[4];
    for (int i = 0; i < 4; i++) {
        cpu0[i] = bench_cpu_seconds(pids[i]);
        sw[i] = voluntary_switches(pids[i]);
    }
    uint64_t t0 = now_ns();
    struct push_stream st[MAX_STREAMS];
    struct pollfd p[MAX_STREAMS];
    for (unsigned i = 0; i < k; i++) {
        st[i] = (struct push_stream){.want = bytes / k + (i < bytes % k)};
        if (iroh_conn_open_bi(c, conn, &st[i].fd) < 0) die("push", "conn.open_bi");
        push_some(&st[i], piece);
    }
    for (unsigned left = k; left > 0;) {
        for (unsigned i = 0; i < k; i++)
            p[i] = (struct pollfd){.fd = st[i].done ? -1 : st[i].fd,
                                   .events = st[i].written < st[i].want ? POLLOUT : POLLIN};
        if (poll(p, k, TIMEOUT_MS) <= 0) die("push", "no progress for 10 s");
        for (unsigned i = 0; i < k; i++) {
            if (!p[i].revents) continue;
            if (st[i].written < st[i].want)
                push_some(&st[i], piece);
            else
                read_answer(&st[i]);
            if (st[i].done) {
                close(st[i].fd);
                left--;
            }
        }
    }
    uint64_t ns = now_ns() - t0;
    for (int i = 0; i < 4; i++) {
        cpu[i] = (bench_cpu_seconds(pids[i]) - cpu0[i]) * 1e11 / (double)ns;
        sw[i] = voluntary_switches(pids[i]) - sw[i];
    }
    if (iroh_conn_close(c, conn, 0, "done") < 0) die("push", "conn.close");
    return (double)bytes / ((double)ns / 1e9) / 1e6;
}

/* What this process started, stopped on every exit (also die()'s) of this process only. */
static pid_t main_pid, sink_pid;
static struct bench_irohd irohd_a, irohd_b;
static char tmp_dir[] = "/tmp/quic-app-bench-XXXXXX";

static void cleanup(void)
{
    if (getpid() != main_pid) return; /* the sink app inherited the handler */
    bench_irohd_stop(&irohd_b);       /* the sink app sees its irohd go and exits */
    bench_irohd_stop(&irohd_a);
    if (sink_pid > 0) {
        kill(sink_pid, SIGTERM);
        waitpid(sink_pid, NULL, 0);
    }
    if (bench_remove_tree(tmp_dir) != 0)
        fprintf(stderr, "quic_app_bench: could not remove %s\n", tmp_dir);
}

int main(int argc, char **argv)
{
    const char *irohd = IROHD_PATH;
    uint64_t bytes = 1ull << 30;
    unsigned k = 1, reps = 3;
    size_t piece = 64 * 1024;
    const char *config = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--irohd") == 0)
            irohd = argv[i + 1];
        else if (strcmp(argv[i], "--bytes") == 0)
            bytes = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--streams") == 0)
            k = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--irohd-config") == 0)
            config = argv[i + 1];
        else if (strcmp(argv[i], "--piece") == 0)
            piece = (size_t)strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: %s [--irohd PATH] [--irohd-config FILE] [--bytes N] [--streams K] "
                    "[--reps R] [--piece P]\n",
                    argv[0]);
            return 2;
        }
    }
    if (argc % 2 == 0 || k < 1 || k > MAX_STREAMS || reps < 1 || reps > 64 || bytes < k ||
        piece < 1 || piece > SOURCE_LEN) {
        fprintf(stderr, "quic_app_bench: bad option value\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    main_pid = getpid();
    atexit(cleanup);
    char dir_a[64], dir_b[64];
    snprintf(dir_a, sizeof dir_a, "%s/a", tmp_dir);
    snprintf(dir_b, sizeof dir_b, "%s/b", tmp_dir);
    const char *bind[] = {"--bind", "127.0.0.1:0", config ? "--config" : NULL, config, NULL};
    if (bench_irohd_start(&irohd_a, irohd, dir_a, bind) < 0 ||
        bench_irohd_start(&irohd_b, irohd, dir_b, bind) < 0)
        return 1;

    int tp[2];
    if (pipe(tp) < 0) return 1;
    pid_t sink = fork();
    if (sink < 0) return 1;
    if (sink == 0) {
        close(tp[0]);
        _exit(run_sink(irohd_b.socket_path, k, tp[1]));
    }
    sink_pid = sink;
    close(tp[1]);
    char ticket[4096];
    size_t got = 0;
    for (ssize_t n;
         got < sizeof ticket && (n = read(tp[0], ticket + got, sizeof ticket - got)) > 0;)
        got += (size_t)n;
    close(tp[0]);
    if (got == 0 || ticket[got - 1] != '\0') {
        fprintf(stderr, "quic_app_bench: the sink app did not start\n");
        return 1;
    }

    source = malloc(SOURCE_LEN);
    if (!source) return 1;
    for (size_t i = 0; i < SOURCE_LEN; i++)
        source[i] = (uint8_t)(i * 2654435761u >> 13);
    iroh_client *c;
    if (iroh_client_connect(irohd_a.socket_path, &c) < 0) die("push", "connect to irohd");
    struct procs pr = {irohd_a.pid, irohd_b.pid, sink};
    double v[64], total[64], csw[64];
    for (unsigned r = 0; r < reps; r++) {
        double cpu[4];
        uint64_t sw[4];
        v[r] = push_once(c, ticket, bytes, k, piece, &pr, cpu, sw);
        double gib = (double)bytes / (1 << 30);
        csw[r] = (double)(sw[0] + sw[1] + sw[2] + sw[3]) / gib;
        /* percent of the time -> seconds per GiB */
        total[r] = (cpu[0] + cpu[1] + cpu[2] + cpu[3]) / 100 * ((double)bytes / (v[r] * 1e6)) /
                   ((double)bytes / (1 << 30));
        printf("app bulk streams=%u bytes=%llu goodput=%.1f MB/s irohd_cpu=%.0f%%/%.0f%% "
               "app_cpu=%.0f%%/%.0f%% cpu=%.2f s/GiB switches=%.0f/%.0f/%.0f/%.0f=%.0f per GiB\n",
               k, (unsigned long long)bytes, v[r], cpu[0], cpu[1], cpu[2], cpu[3], total[r],
               (double)sw[0] / gib, (double)sw[1] / gib, (double)sw[2] / gib, (double)sw[3] / gib,
               csw[r]);
        fflush(stdout);
    }
    printf("app median MB/s (streams=%u): %.1f\n", k, bench_median(v, reps));
    printf("app median cpu s/GiB (streams=%u): %.2f\n", k, bench_median(total, reps));
    printf("app median context switches per GiB (streams=%u): %.0f\n", k, bench_median(csw, reps));

    iroh_client_close(c);
    free(source);
    return 0; /* cleanup() stops the rest */
}
