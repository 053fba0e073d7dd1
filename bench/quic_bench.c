/* quic_bench.c — irohd's QUIC endpoint (daemon/endpoint.h) measured the way
 * ../shared/anchors/quinn-bench measures quinn: two processes over 127.0.0.1, one endpoint each
 * on its own libuv loop, as two irohd talk (the endpoint inside the daemon, without IPC).
 *
 *   quic_bench [--bytes N] [--streams K] [--reps R] [--handshakes H] [--idle C] [--only WHAT]
 *
 * WHAT is bulk, handshake or idle (default: all three).
 *   bulk:      the client opens K bidirectional streams, writes N/K bytes on each and finishes
 *              them; the server counts what it reads and answers each stream with the 8-byte
 *              count. Goodput runs from the first open to the last answer (as quinn-bench).
 *              Printed per rep: "ours bulk streams=K bytes=N goodput=X MB/s client_cpu=C%
 *              server_cpu=S% cpu=T s/GiB ..." (each process's CPU time over the transfer, and
 *              both together per GiB: steadier than goodput on a busy machine) and the
 *              sender's losses (lost=P pto=T congestion=E, struct quic_conn_stats), then the
 *              medians.
 *   handshake: H dials one after another with a 5 ms pause between them (as quinn-bench
 *              --ttfb), each a full handshake: connect() to established, and the first byte
 *              (that, then one byte on a new stream, up to the first byte of the answer).
 *              Printed: "ours handshake n=H p50=X us p10=Y us p90=Z us" and the same for
 *              "first byte".
 *   idle:      C connections held open; the RSS growth of each process divided by C, and the
 *              client's heap in use (mallinfo2) per connection.
 *              Printed: "ours idle conns=C client=X bytes/conn server=Y bytes/conn
 *              client_heap=H bytes/conn".
 * Defaults: 1 GiB, K=1, 3 reps, 200 handshakes, 1000 idle connections. */
#include <iroh/error.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "bench_proc.h"
#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/log.h"

#define SINK_ALPN "irohd-bench/sink/0"
#define MAX_STREAMS 16
#define SOURCE_LEN (1024 * 1024) /* the bytes every stream repeats */
#define WRITE_PIECE (64 * 1024)
#define HANDSHAKE_PAUSE_MS 5 /* between the handshakes, as quinn-bench --ttfb */

static uv_loop_t loop;

/* ---- server: the sink ------------------------------------------------------------------------ */

struct sink {
    uint64_t count;
};

static void sink_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                         void *arg)
{
    (void)data;
    struct sink *k = arg;
    k->count += len;
    quic_stream_consume(s, len);
    if (!fin) return;
    uint8_t answer[8];
    for (int i = 0; i < 8; i++)
        answer[i] = (uint8_t)(k->count >> (8 * i));
    quic_stream_write(s, answer, sizeof answer);
    quic_stream_finish(s);
}

static void sink_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    free(arg);
}

static const struct quic_stream_callbacks sink_stream_callbacks = {
    .on_data = sink_on_data,
    .on_close = sink_on_close,
};

static void sink_on_stream(struct quic_conn *qc, struct quic_stream *s, void *arg)
{
    (void)qc;
    (void)arg;
    struct sink *k = calloc(1, sizeof *k);
    if (k) quic_stream_set_callbacks(s, &sink_stream_callbacks, k);
}

static const struct quic_conn_callbacks sink_conn_callbacks = {.on_stream = sink_on_stream};

static void sink_accept(struct quic_conn *qc, void *arg)
{
    (void)arg;
    quic_conn_set_callbacks(qc, &sink_conn_callbacks, NULL);
}

/* Runs the server until killed; its port goes to the parent through fd. */
static int run_server(const struct iroh_secret_key *sk, int fd)
{
    struct endpoint *ep;
    char err[256] = "";
    struct endpoint_options options = {.secret = sk, .bind = "127.0.0.1:0"};
    if (endpoint_start(&loop, &options, &ep, err, sizeof err) < 0 ||
        endpoint_serve(ep, SINK_ALPN, sink_accept, NULL) < 0) {
        fprintf(stderr, "server: %s\n", err);
        return 1;
    }
    struct iroh_socket_addr bound;
    endpoint_bound(ep, &bound, 1);
    if (write(fd, &bound.port, sizeof bound.port) != sizeof bound.port) return 1;
    close(fd);
    return uv_run(&loop, UV_RUN_DEFAULT);
}

/* ---- client helpers -------------------------------------------------------------------------- */

static struct endpoint *client_ep;
static struct iroh_endpoint_addr server_addr;
static uint8_t *source;

static void run_while(const bool *busy)
{
    while (*busy)
        uv_run(&loop, UV_RUN_ONCE);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- bulk ------------------------------------------------------------------------------------ */

struct bulk_stream {
    struct bulk *b;
    struct quic_stream *s;
    uint64_t written, want;
    bool answered;
};

struct bulk {
    bool busy;
    int status;
    unsigned streams, answered;
    struct quic_conn *qc;
    struct bulk_stream st[MAX_STREAMS];
};

static void bulk_fail(struct bulk *b, int status)
{
    if (b->status == 0) b->status = status;
    b->busy = false;
}

static void bulk_push(struct bulk_stream *bs)
{
    while (bs->written < bs->want) {
        size_t off = (size_t)(bs->written % SOURCE_LEN);
        size_t n = WRITE_PIECE - off % WRITE_PIECE;
        if (n > bs->want - bs->written) n = (size_t)(bs->want - bs->written);
        long buffered = quic_stream_write(bs->s, source + off, n);
        if (buffered < 0) {
            bulk_fail(bs->b, (int)buffered);
            return;
        }
        bs->written += n;
        if ((size_t)buffered >= QUIC_STREAM_HIGH_WATER) return; /* on_drain goes on */
    }
    quic_stream_finish(bs->s);
}

static void bulk_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                         void *arg)
{
    (void)data;
    struct bulk_stream *bs = arg;
    quic_stream_consume(s, len);
    if (!fin || bs->answered) return;
    bs->answered = true;
    if (++bs->b->answered == bs->b->streams) bs->b->busy = false;
}

static void bulk_on_drain(struct quic_stream *s, void *arg)
{
    (void)s;
    bulk_push(arg);
}

static void bulk_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)app_error;
    struct bulk_stream *bs = arg;
    if (!bs->answered) bulk_fail(bs->b, status < 0 ? status : IROH_ECLOSED);
}

static const struct quic_stream_callbacks bulk_stream_callbacks = {
    .on_data = bulk_on_data,
    .on_drain = bulk_on_drain,
    .on_close = bulk_on_close,
};

static void bulk_conn_on_close(struct quic_conn *qc, int status, void *arg)
{
    struct bulk *b = arg;
    if (b->busy) {
        fprintf(stderr, "bulk: %s\n", quic_conn_error(qc));
        bulk_fail(b, status < 0 ? status : IROH_ECLOSED);
    }
    b->qc = NULL;
}

static const struct quic_conn_callbacks bulk_conn_callbacks = {.on_close = bulk_conn_on_close};

static void bulk_on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct bulk *b = arg;
    if (status < 0) {
        fprintf(stderr, "bulk: connect: %s\n", why);
        bulk_fail(b, status);
        return;
    }
    b->qc = qc;
    quic_conn_set_callbacks(qc, &bulk_conn_callbacks, b);
    b->busy = false; /* connected: the caller starts the clock */
}

static pid_t server_pid;
static double client_cpu, server_cpu;       /* of the last bulk run, in percent of its time */
static struct quic_conn_stats client_stats; /* the sender's, of the last bulk run */

/* One bulk run. Returns goodput in MB/s, or a negative IROH_E*. */
static double bulk_once(uint64_t bytes, unsigned streams)
{
    struct bulk b = {.busy = true, .streams = streams};
    int rc = endpoint_connect(client_ep, &server_addr, SINK_ALPN, bulk_on_connect, &b);
    if (rc < 0) return rc;
    run_while(&b.busy);
    if (b.status < 0) return b.status;
    uint64_t t0 = uv_hrtime();
    double c0 = bench_cpu_seconds(getpid()), s0 = bench_cpu_seconds(server_pid);
    b.busy = true;
    for (unsigned i = 0; i < streams; i++) {
        struct bulk_stream *bs = &b.st[i];
        *bs = (struct bulk_stream){.b = &b, .want = bytes / streams + (i < bytes % streams)};
        if ((rc = quic_conn_open_bi(b.qc, &bs->s)) < 0) return rc;
        quic_stream_set_callbacks(bs->s, &bulk_stream_callbacks, bs);
        bulk_push(bs);
    }
    run_while(&b.busy);
    uint64_t ns = uv_hrtime() - t0;
    client_cpu = (bench_cpu_seconds(getpid()) - c0) * 1e11 / (double)ns;
    server_cpu = (bench_cpu_seconds(server_pid) - s0) * 1e11 / (double)ns;
    if (b.qc) {
        quic_conn_stats(b.qc, &client_stats);
        quic_conn_close(b.qc, 0, "done");
    }
    while (b.qc)
        uv_run(&loop, UV_RUN_ONCE);
    if (b.status < 0) return b.status;
    return (double)bytes / ((double)ns / 1e9) / 1e6;
}

static int run_bulk(uint64_t bytes, unsigned streams, unsigned reps)
{
    double v[64], cpu[64];
    if (reps > 64) reps = 64;
    for (unsigned r = 0; r < reps; r++) {
        v[r] = bulk_once(bytes, streams);
        if (v[r] < 0) {
            fprintf(stderr, "bulk failed: %s\n", iroh_strerror((int)v[r]));
            return 1;
        }
        /* percent of the time -> seconds per GiB */
        cpu[r] = (client_cpu + server_cpu) / 100 * ((double)bytes / (v[r] * 1e6)) /
                 ((double)bytes / (1 << 30));
        printf("ours bulk streams=%u bytes=%llu goodput=%.1f MB/s client_cpu=%.0f%% "
               "server_cpu=%.0f%% cpu=%.2f s/GiB lost=%llu pto=%llu congestion=%llu\n",
               streams, (unsigned long long)bytes, v[r], client_cpu, server_cpu, cpu[r],
               (unsigned long long)client_stats.stream_packets_lost,
               (unsigned long long)client_stats.probe_timeouts,
               (unsigned long long)client_stats.congestion_events);
        fflush(stdout);
    }
    printf("ours median MB/s (streams=%u): %.1f\n", streams, bench_median(v, reps));
    printf("ours median cpu s/GiB (streams=%u): %.2f\n", streams, bench_median(cpu, reps));
    return 0;
}

/* ---- handshakes and idle connections --------------------------------------------------------- */

struct dialer {
    size_t pending, failed;
    struct quic_conn **conns;
    size_t n_conns;
    uint64_t started;
    uint64_t *lat;
    bool busy;
};

static void dial_on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct dialer *d = arg;
    d->pending--;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", why);
        d->failed++;
    } else {
        if (d->lat) d->lat[d->n_conns] = uv_hrtime() - d->started;
        d->conns[d->n_conns++] = qc;
    }
    d->busy = false;
}

static int dial_one(struct dialer *d)
{
    d->pending++;
    d->busy = true;
    d->started = uv_hrtime();
    int rc = endpoint_connect(client_ep, &server_addr, SINK_ALPN, dial_on_connect, d);
    if (rc < 0) d->pending--;
    return rc;
}

/* Closes every connection of d and runs the loop until their closes went out. */
static void close_all(struct dialer *d)
{
    for (size_t i = 0; i < d->n_conns; i++)
        quic_conn_close(d->conns[i], 0, "done");
    d->n_conns = 0;
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* The first-byte probe of a handshake run: one byte on a new stream, the sink's answer back. */
struct probe {
    bool waiting; /* for the answer's first byte, or the stream's end */
    uint64_t at;  /* when that byte came; 0: none came */
};

static void probe_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                          void *arg)
{
    (void)data;
    (void)fin;
    struct probe *p = arg;
    quic_stream_consume(s, len);
    if (len && !p->at) {
        p->at = uv_hrtime();
        p->waiting = false;
    }
}

static void probe_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    struct probe *p = arg;
    p->waiting = false;
}

static const struct quic_stream_callbacks probe_callbacks = {.on_data = probe_on_data,
                                                             .on_close = probe_on_close};

static void on_pause_over(uv_timer_t *t)
{
    *(bool *)t->data = false;
}

/* Runs the loop for ms, so that what the last connection still does ends before the next. */
static void pause_ms(unsigned ms)
{
    bool pausing = true;
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &pausing;
    uv_timer_start(&t, on_pause_over, ms, 0);
    run_while(&pausing);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void print_percentiles(const char *what, uint64_t *lat, unsigned n)
{
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("ours %s n=%u p50=%.0f us p10=%.0f us p90=%.0f us\n", what, n, lat[n / 2] / 1e3,
           lat[n / 10] / 1e3, lat[n * 9 / 10] / 1e3);
}

/* As quinn-bench --ttfb: fresh connections one after another, a pause of HANDSHAKE_PAUSE_MS
 * between them; per connection the handshake (dial to established) and the first byte (that,
 * then a 1-byte request on a new stream, up to the first byte of the answer). */
static int run_handshakes(unsigned n)
{
    struct quic_conn *one[1];
    uint64_t *lat = calloc(n, sizeof *lat), *first = calloc(n, sizeof *first);
    struct probe *probes = calloc(n, sizeof *probes); /* a closing stream may still call back */
    if (!lat || !first || !probes) {
        free(lat);
        free(first);
        free(probes);
        return 1;
    }
    struct dialer d = {.conns = one};
    unsigned done = 0;
    for (; done < n; done++) {
        d.lat = lat + done;
        if (dial_one(&d) < 0) break;
        run_while(&d.busy);
        if (d.n_conns == 0) break;
        struct probe *p = &probes[done];
        p->waiting = true;
        struct quic_stream *s;
        if (quic_conn_open_bi(one[0], &s) < 0) break;
        quic_stream_set_callbacks(s, &probe_callbacks, p);
        static const uint8_t request = 1;
        if (quic_stream_write(s, &request, 1) < 0 || quic_stream_finish(s) < 0) break;
        run_while(&p->waiting);
        if (!p->at) break;
        first[done] = p->at - d.started;
        close_all(&d);
        pause_ms(HANDSHAKE_PAUSE_MS);
    }
    close_all(&d);
    int rc = 0;
    if (done < n) {
        fprintf(stderr, "handshake %u of %u failed\n", done + 1, n);
        rc = 1;
    } else {
        print_percentiles("handshake", lat, n);
        print_percentiles("first byte", first, n);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    free(lat);
    free(first);
    free(probes);
    return rc;
}

static int run_idle(unsigned n, pid_t server)
{
    struct dialer d = {.conns = calloc(n, sizeof(struct quic_conn *))};
    if (!d.conns) return 1;
    long c0 = bench_rss_kib(getpid()), s0 = bench_rss_kib(server);
    size_t heap0 = mallinfo2().uordblks;
    for (unsigned i = 0; i < n; i++) {
        if (dial_one(&d) < 0) break;
        while (d.pending >= 16) /* a few handshakes at a time */
            uv_run(&loop, UV_RUN_ONCE);
    }
    while (d.pending)
        uv_run(&loop, UV_RUN_ONCE);
    /* let the last handshakes' acknowledgements and new connection ids settle */
    uint64_t until = uv_hrtime() + 300 * 1000000ull;
    while (uv_hrtime() < until)
        uv_run(&loop, UV_RUN_NOWAIT);
    long c1 = bench_rss_kib(getpid()), s1 = bench_rss_kib(server);
    double heap = (double)mallinfo2().uordblks - (double)heap0;
    size_t held = d.n_conns;
    printf("ours idle conns=%zu client=%.0f bytes/conn server=%.0f bytes/conn "
           "client_heap=%.0f bytes/conn\n",
           held, held ? (double)(c1 - c0) * 1024 / (double)held : 0.0,
           held ? (double)(s1 - s0) * 1024 / (double)held : 0.0, held ? heap / (double)held : 0.0);
    close_all(&d);
    free(d.conns);
    return d.failed ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

int main(int argc, char **argv)
{
    uint64_t bytes = 1ull << 30;
    unsigned streams = 1, reps = 3, handshakes = 200, idle = 1000;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--bytes") == 0)
            bytes = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--streams") == 0)
            streams = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--handshakes") == 0)
            handshakes = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--idle") == 0)
            idle = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        else {
            fprintf(stderr,
                    "usage: %s [--bytes N] [--streams K] [--reps R] [--handshakes H] "
                    "[--idle C] [--only bulk|handshake|idle]\n",
                    argv[0]);
            return 2;
        }
    }
    if (streams < 1 || streams > MAX_STREAMS || reps < 1 || handshakes < 1 || idle < 1 ||
        bytes < streams) {
        fprintf(stderr, "quic_bench: bad option value\n");
        return 2;
    }
    log_set_stderr_level(LOG_WARN);
    struct iroh_secret_key server_sk, client_sk;
    iroh_secret_key_generate(&server_sk);
    iroh_secret_key_generate(&client_sk);
    int fds[2];
    if (pipe(fds) < 0) return 1;
    pid_t server = fork();
    if (server < 0) return 1;
    if (server == 0) {
        close(fds[0]);
        uv_loop_init(&loop);
        _exit(run_server(&server_sk, fds[1]));
    }
    close(fds[1]);
    uint16_t port;
    if (read(fds[0], &port, sizeof port) != sizeof port) {
        fprintf(stderr, "the server did not start\n");
        return 1;
    }
    close(fds[0]);
    server_pid = server;

    uv_loop_init(&loop);
    struct iroh_public_key server_id;
    iroh_secret_key_public(&server_sk, &server_id);
    iroh_endpoint_addr_init(&server_addr, &server_id);
    struct iroh_socket_addr a = {.family = IROH_IP_V4, .ip = {127, 0, 0, 1}, .port = port};
    iroh_endpoint_addr_add_ip(&server_addr, &a);
    char err[256] = "";
    struct endpoint_options options = {.secret = &client_sk, .bind = "127.0.0.1:0"};
    int rc = endpoint_start(&loop, &options, &client_ep, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "client: %s\n", err);
        kill(server, SIGKILL);
        return 1;
    }
    source = malloc(SOURCE_LEN);
    if (!source) return 1;
    for (size_t i = 0; i < SOURCE_LEN; i++)
        source[i] = (uint8_t)(i * 2654435761u >> 13);

    rc = 0;
    if (!only || strcmp(only, "bulk") == 0) rc |= run_bulk(bytes, streams, reps);
    if (!only || strcmp(only, "handshake") == 0) rc |= run_handshakes(handshakes);
    if (!only || strcmp(only, "idle") == 0) rc |= run_idle(idle, server);

    bool stopped = false;
    endpoint_stop(client_ep, set_true, &stopped);
    while (!stopped)
        uv_run(&loop, UV_RUN_ONCE);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    free(source);
    return rc;
}
