/* relay_load.c — load on iroh-relay (IROH_RELAY_BIN, started here on loopback): N concurrent
 * relay clients (default 1000) in pairs, each sending datagram frames to its partner.
 *
 *   relay_load [-n CLIENTS] [-s PAYLOAD_BYTES] [-t SECONDS] [-l LOAD] [-b SOCKBUF] [-p]
 *              [-r RELAY_BINARY]
 *
 * 1. memory: the relay's RSS before and after N clients connected and authenticated (idle),
 *    per client;
 * 2. throughput: every client sends as fast as the relay takes it for SECONDS; aggregate
 *    payload bytes delivered per second (a frame the relay drops because the receiver's queue
 *    is full is not counted);
 * 3. latency at LOAD (default 0.5) of (2)'s throughput: every client sends one frame per
 *    interval, the clients' send times spread evenly over it (a 0.1 ms tick looks for due
 *    frames); each frame carries the time of the write that hands it to the kernel, the
 *    receiver thread subtracts it from the time it read the frame; p50/p99/max.
 * Two threads drive all clients (connections are set up with the blocking client of
 * tests/relay): one sends (epoll on writability when flooding, the tick when paced), one only
 * reads and timestamps; while paced the sender runs at nice 5, so on a shared CPU an arriving
 * frame is read at once rather than after the sender's time slice. Frames use a zero masking
 * key, which RFC 6455 allows, so the generator does not spend its CPU on masking.
 * Client sockets get SOCKBUF (default 128 KiB; 0: the kernel's autotuning) as send and receive
 * buffer: autotuned, 2000 loopback sockets flooded grow to tens of MiB each, push the kernel
 * into TCP memory pressure and it drops segments, whose retransmission timeouts (200 ms and
 * up) then show as latency. The kernel's TCP loss counters are printed for each phase.
 * -p pins the relay to CPU 0 and the generator to CPU 1, so the relay does not wait in the run
 * queue behind the generator's threads (on a 2-CPU machine, three busy threads otherwise make
 * the scheduler's time slice the p99); the generator then has one CPU, which caps (2).
 * The relay runs with pings off (the clients do not answer). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/relay_proto.h"
#include "core/websocket.h"
#include "iroh/error.h"
#include "tests/relay/relay_test_client.h"

struct client {
    int fd;
    struct iroh_public_key pk;
    uint8_t *frame; /* the whole masked WebSocket frame to the partner */
    size_t frame_len, sent;
    uint8_t *rbuf;
    size_t rlen;
    uint64_t next_send_ns;
};

static struct client *clients;
static int nclients = 1000;
static int sockbuf = 128 * 1024; /* SO_SNDBUF and SO_RCVBUF of every client socket; 0: kernel's */
static bool pin;                 /* relay on CPU 0, this process on CPU 1 */
static size_t payload = 16384;
/* Written by the receiver thread, reset and read by the main thread between phases. */
static _Atomic uint64_t received_bytes, received_frames;
static uint64_t *samples;
static _Atomic size_t nsamples;
static size_t max_samples = 4u << 20;
static _Atomic bool measure_latency, stop_receiver;
static _Atomic uint64_t phase_start_ns; /* latency samples older than this are stale frames */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
    if (f) fclose(f);
    return kib;
}

/* Kernel TCP counters (whole machine) that show loss on loopback: retransmitted segments,
 * retransmission timeouts and segments dropped because a receive queue was over its memory. */
struct tcp_loss {
    long retrans, timeouts, rcvq_drops, mem_pressures;
};

/* Reads one "Name: keys" / "Name: values" table pair of a /proc/net file into out. */
static void read_counters(const char *path, const char *table, const char *const *keys, long **out,
                          int nkeys)
{
    FILE *f = fopen(path, "r");
    char names[8192], values[8192];
    size_t tl = strlen(table);
    while (f && fgets(names, sizeof names, f) && fgets(values, sizeof values, f)) {
        if (strncmp(names, table, tl) != 0) continue;
        char *ns, *vs, *n = strtok_r(names, " \n", &ns), *v = strtok_r(values, " \n", &vs);
        while ((n = strtok_r(NULL, " \n", &ns)) && (v = strtok_r(NULL, " \n", &vs)))
            for (int k = 0; k < nkeys; k++)
                if (strcmp(n, keys[k]) == 0) *out[k] = atol(v);
    }
    if (f) fclose(f);
}

static struct tcp_loss tcp_loss_now(void)
{
    struct tcp_loss t = {0};
    const char *snmp[] = {"RetransSegs"};
    long *snmp_out[] = {&t.retrans};
    read_counters("/proc/net/snmp", "Tcp:", snmp, snmp_out, 1);
    const char *ext[] = {"TCPTimeouts", "TCPRcvQDrop", "TCPMemoryPressures"};
    long *ext_out[] = {&t.timeouts, &t.rcvq_drops, &t.mem_pressures};
    read_counters("/proc/net/netstat", "TcpExt:", ext, ext_out, 3);
    return t;
}

static void print_tcp_loss(const char *phase, struct tcp_loss a)
{
    struct tcp_loss b = tcp_loss_now();
    printf("  kernel TCP during %s: %ld retransmitted segments, %ld timeouts, %ld receive-queue "
           "drops, %ld memory-pressure entries\n",
           phase, b.retrans - a.retrans, b.timeouts - a.timeouts, b.rcvq_drops - a.rcvq_drops,
           b.mem_pressures - a.mem_pressures);
}

/* Starts the relay with pings off; its log goes to a temp file, read for the port. */
/* CPU seconds (user + system) a process has used so far. */
static double cpu_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long ut = 0, st = 0;
    if (f) {
        /* Fields 14 and 15 (utime, stime) follow the ")" that ends the command name. */
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        if (p) sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        fclose(f);
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static pid_t start_relay(const char *bin, uint16_t *port)
{
    char cfg[] = "/tmp/relay_load-cfg-XXXXXX", logp[] = "/tmp/relay_load-log-XXXXXX";
    int fd = mkstemp(cfg), lfd = mkstemp(logp);
    const char *text = "[timeouts]\nping_interval_ms = 3600000\nestablish_ms = 600000\n";
    if (fd < 0 || lfd < 0 || write(fd, text, strlen(text)) < 0) return -1;
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(lfd, 2);
        if (pin) pin_to_cpu(0);
        execl(bin, "iroh-relay", "-c", cfg, "--http-bind", "127.0.0.1:0", "--no-metrics",
              "--log-level", "info", (char *)NULL);
        _exit(127);
    }
    *port = 0;
    for (int i = 0; i < 500 && !*port; i++) { /* at most 5 s */
        usleep(10000);
        char log[4096];
        ssize_t n = pread(lfd, log, sizeof log - 1, 0);
        log[n > 0 ? n : 0] = '\0';
        const char *p = strstr(log, "relay (http) listening on ");
        if (p) *port = (uint16_t)atoi(strrchr(p, ':') + 1);
    }
    close(lfd);
    unlink(cfg);
    unlink(logp);
    return *port ? pid : -1;
}

/* Builds client c's frame to its partner: ws header with a zero mask, then the relay frame. */
static void build_frame(struct client *c, const struct client *to)
{
    size_t relay_len = IROH_RELAY_DATAGRAM_HEADER_LEN + payload;
    c->frame = malloc(IROH_WS_MAX_HEADER_LEN + relay_len);
    const uint8_t zero_mask[4] = {0};
    size_t h = iroh_ws_encode_header(c->frame, true, IROH_WS_BINARY, relay_len, zero_mask);
    iroh_relay_datagram_header_encode(IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM, to->pk.bytes, 0, 0,
                                      c->frame + h);
    memset(c->frame + h + IROH_RELAY_DATAGRAM_HEADER_LEN, 0x5a, payload);
    c->frame_len = h + relay_len;
    c->sent = c->frame_len; /* nothing in flight */
}

/* Consumes whole server frames in c->rbuf. */
static void parse_frames(struct client *c)
{
    size_t at = 0;
    uint64_t now = measure_latency ? now_ns() : 0;
    for (;;) {
        struct iroh_ws_header h;
        int hl = iroh_ws_parse_header(c->rbuf + at, c->rlen - at, IROH_WS_CLIENT, UINT64_MAX, &h);
        if (hl <= 0 || c->rlen - at - (size_t)hl < h.payload_len) break;
        const uint8_t *f = c->rbuf + at + hl;
        if (h.payload_len > IROH_RELAY_DATAGRAM_HEADER_LEN &&
            f[0] == IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM) {
            received_frames++;
            received_bytes += h.payload_len - IROH_RELAY_DATAGRAM_HEADER_LEN;
            size_t k = nsamples;
            if (measure_latency && k < max_samples) {
                uint64_t sent;
                memcpy(&sent, f + IROH_RELAY_DATAGRAM_HEADER_LEN, 8);
                if (sent >= phase_start_ns && sent <= now) {
                    samples[k] = now - sent;
                    nsamples = k + 1;
                }
            }
        }
        at += (size_t)hl + (size_t)h.payload_len;
    }
    memmove(c->rbuf, c->rbuf + at, c->rlen - at);
    c->rlen -= at;
}

static void on_readable(struct client *c)
{
    size_t cap = 2 * (payload + 64);
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, cap - c->rlen);
        if (n <= 0) return;
        c->rlen += (size_t)n;
        parse_frames(c);
    }
}

/* Continues or starts c's frame; in latency mode a new frame only when it is due. */
static void try_send(struct client *c, uint64_t now, uint64_t interval_ns)
{
    for (;;) {
        if (c->sent == c->frame_len) {
            if (interval_ns && now < c->next_send_ns) return;
            if (interval_ns) {
                c->next_send_ns += interval_ns;
                if (c->next_send_ns < now) c->next_send_ns = now + interval_ns; /* fell behind */
                uint64_t t = now_ns(); /* the moment the frame goes to the socket */
                memcpy(c->frame + c->frame_len - payload, &t, 8);
            }
            c->sent = 0;
        }
        ssize_t n = write(c->fd, c->frame + c->sent, c->frame_len - c->sent);
        if (n <= 0) return;
        c->sent += (size_t)n;
        if (interval_ns && c->sent == c->frame_len) return;
    }
}

#define PACE_TICK_NS 100000 /* paced sending looks for due frames every 0.1 ms */

enum mode {
    FLOOD, /* every client sends as fast as it can */
    PACED, /* every client sends one frame per interval_ns */
    DRAIN, /* nobody sends; what is in flight is read */
};

/* The receiver thread: reads every client as data arrives. */
static void *receiver(void *arg)
{
    int ep = *(int *)arg;
    struct epoll_event evs[256];
    while (!stop_receiver) {
        int n = epoll_wait(ep, evs, 256, 10);
        for (int i = 0; i < n; i++)
            on_readable(evs[i].data.ptr);
    }
    return NULL;
}

/* Sends for `seconds` (ep_out: every client, edge-triggered writability). */
static void run(int ep_out, double seconds, enum mode mode, uint64_t interval_ns)
{
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < nclients; i++)
        clients[i].next_send_ns =
            start + (mode == PACED ? (uint64_t)i * (interval_ns / nclients) : 0);
    if (mode == FLOOD) /* the edge may have passed: start every client once */
        for (int i = 0; i < nclients; i++)
            try_send(&clients[i], start, 0);
    struct epoll_event evs[256];
    uint64_t now;
    while ((now = now_ns()) < end) {
        if (mode == FLOOD) {
            int n = epoll_wait(ep_out, evs, 256, 10);
            for (int i = 0; i < n; i++)
                try_send(evs[i].data.ptr, now, 0);
        } else if (mode == PACED) {
            for (int i = 0; i < nclients; i++)
                try_send(&clients[i], now, interval_ns);
            struct timespec tick = {0, PACE_TICK_NS};
            nanosleep(&tick, NULL);
        } else {
            usleep(10000);
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *bin = IROH_RELAY_BIN;
    double seconds = 3, load = 0.5;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:t:r:l:b:p")) != -1) {
        if (opt == 'n')
            nclients = atoi(optarg);
        else if (opt == 's')
            payload = (size_t)atol(optarg);
        else if (opt == 't')
            seconds = atof(optarg);
        else if (opt == 'r')
            bin = optarg;
        else if (opt == 'l')
            load = atof(optarg);
        else if (opt == 'b')
            sockbuf = atoi(optarg);
        else if (opt == 'p')
            pin = true;
        else {
            fprintf(
                stderr,
                "usage: relay_load [-n CLIENTS] [-s PAYLOAD] [-t SECONDS] [-l LOAD] [-b SOCKBUF] "
                "[-p] [-r RELAY]\n");
            return 2;
        }
    }
    if (nclients < 2 || nclients % 2 || payload < 16 || payload > IROH_RELAY_MAX_PACKET_SIZE - 33) {
        fprintf(stderr, "relay_load: CLIENTS must be even and >= 2, PAYLOAD 16..65503\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL); /* wake-ups when due, not up to 50 us later */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (iroh_keys_init() < 0) return 1;
    uint16_t port;
    pid_t relay = start_relay(bin, &port);
    if (pin) pin_to_cpu(1);
    if (relay < 0) {
        fprintf(stderr, "relay_load: cannot start %s\n", bin);
        return 1;
    }
    usleep(200000);
    long rss_before = rss_kib(relay);

    clients = calloc((size_t)nclients, sizeof *clients);
    struct rtc *setup = malloc(sizeof *setup);
    int ep_in = epoll_create1(0), ep_out = epoll_create1(0);
    for (int i = 0; i < nclients; i++) {
        uint8_t seed[32] = {0};
        memcpy(seed, &i, sizeof i);
        seed[31] = 0x77;
        if (rtc_connect(setup, port, seed, 10000) != IROH_OK) {
            fprintf(stderr, "relay_load: client %d could not connect\n", i);
            kill(relay, SIGKILL);
            return 1;
        }
        clients[i].fd = setup->fd;
        clients[i].pk = setup->pk;
        clients[i].rbuf = malloc(2 * (payload + 64));
        setup->fd = -1;
        fcntl(clients[i].fd, F_SETFL, O_NONBLOCK);
        if (sockbuf) {
            setsockopt(clients[i].fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
            setsockopt(clients[i].fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf);
        }
        struct epoll_event in = {.events = EPOLLIN | EPOLLET, .data.ptr = &clients[i]};
        struct epoll_event out = {.events = EPOLLOUT | EPOLLET, .data.ptr = &clients[i]};
        epoll_ctl(ep_in, EPOLL_CTL_ADD, clients[i].fd, &in);
        epoll_ctl(ep_out, EPOLL_CTL_ADD, clients[i].fd, &out);
    }
    free(setup);
    for (int i = 0; i < nclients; i++)
        build_frame(&clients[i], &clients[i ^ 1]);
    usleep(500000);
    long rss_idle = rss_kib(relay);
    printf("clients: %d, payload %zu bytes per datagram frame\n", nclients, payload);
    printf("memory: relay RSS %ld KiB before, %ld KiB with %d idle clients: %.1f KiB per client\n",
           rss_before, rss_idle, nclients, (double)(rss_idle - rss_before) / nclients);

    samples = malloc(max_samples * sizeof *samples);
    pthread_t rx;
    pthread_create(&rx, NULL, receiver, &ep_in);
    run(ep_out, 0.5, FLOOD, 0); /* warm-up */
    received_bytes = received_frames = 0;
    struct tcp_loss loss0 = tcp_loss_now();
    uint64_t t0 = now_ns();
    double relay_cpu0 = cpu_seconds(relay), self_cpu0 = cpu_seconds(getpid());
    run(ep_out, seconds, FLOOD, 0);
    double secs = (double)(now_ns() - t0) / 1e9;
    double rate = (double)received_bytes / secs;
    printf("throughput: %.3f GB/s delivered (%.0f frames/s) with all %d clients sending; CPU: "
           "relay %.0f %%, load generator %.0f %%\n",
           rate / 1e9, (double)received_frames / secs, nclients,
           100 * (cpu_seconds(relay) - relay_cpu0) / secs,
           100 * (cpu_seconds(getpid()) - self_cpu0) / secs);
    printf("memory under load: relay RSS %ld KiB\n", rss_kib(relay));
    print_tcp_loss("throughput", loss0);

    /* Drain what is in flight, then half the load with timestamps. */
    run(ep_out, 2, DRAIN, 0);
    measure_latency = true;
    received_bytes = received_frames = 0;
    uint64_t interval = (uint64_t)((double)payload * nclients / (rate * load) * 1e9);
    loss0 = tcp_loss_now();
    /* The receiver thread first: on a CPU shared with this thread, a frame that arrives is read
     * and stamped at once instead of after this thread's time slice. This thread stamps each
     * frame when it writes it, so its own delays are not counted. */
    setpriority(PRIO_PROCESS, (id_t)gettid(), 5);
    relay_cpu0 = cpu_seconds(relay);
    self_cpu0 = cpu_seconds(getpid());
    t0 = phase_start_ns = now_ns();
    run(ep_out, seconds, PACED, interval);
    secs = (double)(now_ns() - t0) / 1e9;
    measure_latency = false;
    stop_receiver = true;
    pthread_join(rx, NULL);
    size_t count = nsamples;
    qsort(samples, count, sizeof *samples, cmp_u64);
    if (count) {
        printf(
            "latency at %.0f %% load (%.3f GB/s offered, %.3f GB/s delivered, %zu samples): "
            "p50 %.3f ms, p99 %.3f ms, max %.3f ms; CPU: relay %.0f %%, load generator %.0f %%\n",
            100 * load, rate * load / 1e9, (double)received_bytes / secs / 1e9, count,
            samples[count / 2] / 1e6, samples[count * 99 / 100] / 1e6, samples[count - 1] / 1e6,
            100 * (cpu_seconds(relay) - relay_cpu0) / secs,
            100 * (cpu_seconds(getpid()) - self_cpu0) / secs);
    }
    print_tcp_loss("latency", loss0);
    kill(relay, SIGTERM);
    waitpid(relay, NULL, 0);
    return 0;
}
