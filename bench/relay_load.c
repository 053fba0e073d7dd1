/* relay_load.c — load on iroh-relay (IROH_RELAY_BIN, started here on loopback): N concurrent
 * relay clients (default 1000) in pairs, each sending datagram frames to its partner.
 *
 *   relay_load [-n CLIENTS] [-s PAYLOAD_BYTES] [-t SECONDS] [-l LOAD | -o GBPS] [-R REPS]
 *              [-b SOCKBUF] [-p] [-P] [-r RELAY_BINARY]
 *
 * 1. memory: the relay's RSS before and after N clients connected and authenticated (idle),
 *    per client;
 * 2. throughput: every client sends as fast as the relay takes it for SECONDS; aggregate
 *    payload bytes delivered per second (a frame the relay drops because the receiver's queue
 *    is full is not counted);
 * 3. latency at LOAD (default 0.5) of (2)'s throughput, or at GBPS, REPS times (default 1):
 *    every client sends one frame per interval, the clients' due times spread evenly over it
 *    (a 0.1 ms tick looks for due frames). Each phase starts from settled connections
 *    (settle(): clients the relay dropped connected again, every connection drained).
 *    A frame's latency runs from its due time, so a frame held back because the relay had not
 *    taken its client's previous frame counts that wait (see send_paced); frames never sent or
 *    never read count as lost. It is split with the kernel's receive stamp (SO_TIMESTAMPNS:
 *    when the relay's segment reached the receiver's socket) into the relay's part and the
 *    generator's own reading; the sender's own lateness is reported, not counted, and frames it
 *    would send more than 1 ms late are skipped (counted) rather than sent in a burst.
 * Two threads drive all clients (connections are set up with the blocking client of
 * tests/relay): one sends (epoll on writability when flooding, the tick when paced), one only
 * reads (in the latency phase one frame per read, so the read's stamp is that frame's). Frames
 * use a zero masking key, which RFC 6455 allows, so the generator does not spend its CPU on
 * masking. Stamps use CLOCK_REALTIME, the clock of the kernel's stamps.
 * Client sockets get SOCKBUF (default 128 KiB; 0: the kernel's autotuning) as send and receive
 * buffer: autotuned, 2000 loopback sockets flooded grow to tens of MiB each, push the kernel
 * into TCP memory pressure and it drops segments, whose retransmission timeouts (200 ms and
 * up) then show as latency. The kernel's TCP loss counters are printed for each phase.
 * -p pins the relay to CPU 0 and the generator to CPU 1, so the relay does not wait in the run
 * queue behind the generator's threads; the generator then has one CPU, which caps (2).
 * -P runs the relay and the generator's threads SCHED_FIFO while measuring (realtime_phase),
 * standing in for the dedicated machines of a deployment on a machine shared with other work.
 * The relay runs with pings off (the clients do not answer). */
#include <dirent.h>
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
#include <sys/uio.h>
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
    uint64_t prev_start_ns, prev_done_ns; /* the previous paced frame's first and last write */
    _Atomic bool dead; /* the relay closed the connection (seen by the receiver thread) */
};

/* One frame's way, CLOCK_REALTIME ns (the clock of the kernel's receive stamps): the sender's
 * write, the kernel's stamp of the relay's segment that completed it in the receiver's socket,
 * the receiver thread's read; and how long it was held back in the sender by the relay's
 * backpressure before that write. */
struct sample {
    uint64_t sent, in_socket, read, held;
};

/* One paced frame at the sender, ns: how late its write started for the sender's own reasons
 * (after its due time and after the previous frame was out), and how long the write() took. */
struct send_sample {
    uint32_t late, write;
};

static struct client *clients;
static int nclients = 1000;
static int sockbuf = 128 * 1024; /* SO_SNDBUF and SO_RCVBUF of every client socket; 0: kernel's */
static bool pin;                 /* relay on CPU 0, this process on CPU 1 */
static bool realtime;            /* paced phases under SCHED_FIFO (relay, sender, receiver) */
static _Atomic pid_t receiver_tid;
static int ep_in, ep_out; /* every client's socket: readable (receiver), writable (sender) */
static size_t payload = 16384;
static size_t recv_frame_len; /* a datagram frame as the relay sends it (unmasked header) */
/* Written by the receiver thread, reset and read by the main thread between phases. */
static _Atomic uint64_t received_bytes, received_frames;
#define MAX_SAMPLES (1u << 20)
#define GRACE_NS 200000000u /* how long after a paced phase its last frames may arrive */
#define LOST UINT64_MAX     /* the latency of a frame that did not arrive within GRACE_NS */
static struct sample *samples;
static _Atomic size_t nsamples;
static struct send_sample *send_samples; /* the sender's (main thread's) own */
static size_t nsend_samples, skipped_frames, started_frames;
static _Atomic bool measure_latency, stop_receiver;
static _Atomic uint64_t phase_start_ns; /* latency samples sent before this are stale frames */

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pacing and phases. */
static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Latency stamps: the kernel stamps received segments with this clock. */
static uint64_t real_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
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
/* CPU seconds a process has used so far: the scheduler's run time of each of its threads
 * (exact, unlike the tick-sampled utime and stime). */
static double cpu_seconds(pid_t pid)
{
    char path[300];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    unsigned long long total = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long ns = 0;
        if (f && fscanf(f, "%llu", &ns) == 1) total += ns;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return (double)total / 1e9;
}

static void pin_to_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* SCHED_FIFO at prio for one thread, or back to the normal policy (prio 0). */
static void set_fifo(pid_t tid, int prio)
{
    struct sched_param sp = {.sched_priority = prio};
    static bool warned;
    if (sched_setscheduler(tid, prio ? SCHED_FIFO : SCHED_OTHER, &sp) < 0 && !warned) {
        warned = true;
        fprintf(stderr, "relay_load: -P: cannot change the scheduling policy (%s)\n",
                strerror(errno));
    }
}

/* -P: while measuring, the relay (every thread), the sender (this thread) and the receiver run
 * SCHED_FIFO, so that other work on a shared machine does not preempt them. The relay comes
 * first; while flooding the receiver comes before the sender (a sender that never blocks would
 * otherwise starve it), while paced the sender comes first (its timing is the schedule). */
enum rt_phase { RT_OFF, RT_FLOOD, RT_PACED };

static void realtime_phase(pid_t relay, enum rt_phase phase)
{
    if (!realtime) return;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)relay);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.') set_fifo(atoi(e->d_name), phase == RT_OFF ? 0 : 3);
    if (d) closedir(d);
    set_fifo(gettid(), phase == RT_OFF ? 0 : phase == RT_FLOOD ? 1 : 2);
    set_fifo(receiver_tid, phase == RT_OFF ? 0 : phase == RT_FLOOD ? 2 : 1);
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
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no relay left behind if this process dies */
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

/* Connects and authenticates client i (its key from i) and registers its socket with both
 * epolls; its frame, if built, stays valid (the key is the same). */
static int connect_client(int i, uint16_t port)
{
    static struct rtc setup;
    uint8_t seed[32] = {0};
    memcpy(seed, &i, sizeof i);
    seed[31] = 0x77;
    if (rtc_connect(&setup, port, seed, 10000) != IROH_OK) return -1;
    struct client *c = &clients[i];
    c->fd = setup.fd;
    c->pk = setup.pk;
    c->rlen = 0;
    c->sent = c->frame_len;
    c->dead = false;
    setup.fd = -1;
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    int one = 1; /* the kernel's receive stamps for the latency phase's stages */
    setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (sockbuf) {
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf);
        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf);
    }
    struct epoll_event in = {.events = EPOLLIN | EPOLLET, .data.ptr = c};
    struct epoll_event out = {.events = EPOLLOUT | EPOLLET, .data.ptr = c};
    epoll_ctl(ep_in, EPOLL_CTL_ADD, c->fd, &in);
    epoll_ctl(ep_out, EPOLL_CTL_ADD, c->fd, &out);
    return 0;
}

/* Replaces the connections the relay closed (it drops a client that takes no data for its
 * write timeout, 2 s: after a flood that pushed the kernel into TCP memory pressure,
 * retransmission timeouts can last that long). Only between phases: the receiver thread no
 * longer touches a dead client. */
static int reconnect_dead(uint16_t port)
{
    int n = 0;
    for (int i = 0; i < nclients; i++) {
        if (!clients[i].dead) continue;
        epoll_ctl(ep_out, EPOLL_CTL_DEL, clients[i].fd, NULL);
        close(clients[i].fd);
        if (connect_client(i, port) < 0) {
            fprintf(stderr, "relay_load: client %d could not connect again\n", i);
            exit(1);
        }
        n++;
    }
    if (n) printf("  %d clients the relay had disconnected connected again\n", n);
    return n;
}

/* Consumes whole server frames in c->rbuf; in_socket and read are the stamps of the read that
 * completed them (0: none). */
static void parse_frames(struct client *c, uint64_t in_socket, uint64_t read_at)
{
    size_t at = 0;
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
            if (read_at && k < MAX_SAMPLES) {
                uint64_t stamp[2];
                memcpy(stamp, f + IROH_RELAY_DATAGRAM_HEADER_LEN, sizeof stamp);
                if (stamp[0] >= phase_start_ns && stamp[0] <= read_at) {
                    samples[k] = (struct sample){stamp[0], in_socket, read_at, stamp[1]};
                    nsamples = k + 1;
                }
            }
        }
        at += (size_t)hl + (size_t)h.payload_len;
    }
    memmove(c->rbuf, c->rbuf + at, c->rlen - at);
    c->rlen -= at;
}

/* How much to read so that the read ends where the frame being received ends: the kernel's
 * receive stamp of a read is that of the last segment it took, so it is this frame's. */
static size_t to_frame_end(const struct client *c)
{
    struct iroh_ws_header h;
    int hl = iroh_ws_parse_header(c->rbuf, c->rlen, IROH_WS_CLIENT, UINT64_MAX, &h);
    size_t end = hl > 0 ? (size_t)hl + (size_t)h.payload_len : recv_frame_len;
    return end > c->rlen ? end - c->rlen : 1;
}

/* Reads until the socket is empty (the receiver's epoll is edge-triggered). */
static void on_readable(struct client *c)
{
    while (!c->dead) {
        bool stamp = measure_latency;
        size_t want = 2 * (payload + 64) - c->rlen;
        if (stamp && to_frame_end(c) < want) want = to_frame_end(c);
        struct iovec iov = {c->rbuf + c->rlen, want};
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct msghdr m = {.msg_iov = &iov,
                           .msg_iovlen = 1,
                           .msg_control = ctl.buf,
                           .msg_controllen = sizeof ctl.buf};
        ssize_t n = recvmsg(c->fd, &m, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) { /* the relay closed the connection */
            epoll_ctl(ep_in, EPOLL_CTL_DEL, c->fd, NULL);
            c->dead = true;
        }
        if (n <= 0) return;
        uint64_t read_at = stamp ? real_ns() : 0, in_socket = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                in_socket = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            }
        c->rlen += (size_t)n;
        parse_frames(c, in_socket, read_at);
    }
}

/* Flooding: writes c's frame again and again until the socket is full. */
static void send_flood(struct client *c)
{
    while (!c->dead) {
        if (c->sent == c->frame_len) c->sent = 0;
        ssize_t n = write(c->fd, c->frame + c->sent, c->frame_len - c->sent);
        if (n <= 0) return;
        c->sent += (size_t)n;
    }
}

#define MAX_OWN_DELAY_NS 1000000

/* How long a frame due at `due` waited for its client's previous frame to get room in the
 * socket: the part of [due, now) from the first write of that frame (if the socket did not
 * take it whole) to its last. */
static uint64_t held_back(const struct client *c, uint64_t due)
{
    uint64_t from = c->prev_start_ns > due ? c->prev_start_ns : due;
    return c->prev_done_ns > from ? c->prev_done_ns - from : 0;
}

/* Paced: continues c's frame, or starts the next one once it is due. A frame carries the time
 * of the write that starts it and how long it was held back after its due time because the
 * previous frame's bytes were still waiting for room in the socket: that is the relay's
 * backpressure, part of its latency. The rest of the time between due and write is this
 * thread's own lateness (its tick, its scheduling): it goes to send_samples instead, and a
 * frame it would start more than MAX_OWN_DELAY_NS late is skipped and counted, as independent
 * clients would not send the frames a stalled generator owes all at once: that burst would be
 * the generator's doing. tick: the time this round over the clients began. */
static void send_paced(struct client *c, uint64_t tick, uint64_t interval_ns)
{
    bool first = false;
    uint64_t now = 0, own = 0;
    if (c->dead) return; /* its frames count as lost */
    if (c->sent == c->frame_len) {
        uint64_t due = c->next_send_ns;
        if (tick < due) return;
        now = now_ns();
        uint64_t held = held_back(c, due);
        own = now - due - held;
        if (own > MAX_OWN_DELAY_NS) {
            while (c->next_send_ns + held_back(c, c->next_send_ns) + MAX_OWN_DELAY_NS < now) {
                c->next_send_ns += interval_ns;
                skipped_frames++;
            }
            return;
        }
        c->next_send_ns += interval_ns;
        uint64_t stamp[2] = {real_ns(), held};
        memcpy(c->frame + c->frame_len - payload, stamp, sizeof stamp);
        first = true;
        started_frames++;
        c->sent = 0;
        c->prev_start_ns = now;
    }
    ssize_t n = write(c->fd, c->frame + c->sent, c->frame_len - c->sent);
    if (first && nsend_samples < MAX_SAMPLES) {
        uint64_t took = now_ns() - now;
        send_samples[nsend_samples++] =
            (struct send_sample){(uint32_t)own, (uint32_t)(took < UINT32_MAX ? took : UINT32_MAX)};
    }
    if (n <= 0) return;
    c->sent += (size_t)n;
    if (c->sent == c->frame_len) /* taken at once: nothing held back the next frame */
        c->prev_done_ns = first ? c->prev_start_ns : now_ns();
}

#define PACE_TICK_NS 100000 /* paced sending looks for due frames every 0.1 ms */

enum mode {
    FLOOD, /* every client sends as fast as it can */
    PACED, /* every client sends one frame per interval_ns */
};

/* The receiver thread: reads every client as data arrives. */
static void *receiver(void *arg)
{
    (void)arg;
    receiver_tid = gettid();
    struct epoll_event evs[256];
    while (!stop_receiver) {
        int n = epoll_wait(ep_in, evs, 256, 10);
        for (int i = 0; i < n; i++)
            on_readable(evs[i].data.ptr);
    }
    return NULL;
}

/* Sends for `seconds` (flooding: on ep_out's edge-triggered writability). Returns the time of
 * the last round over the clients. */
static uint64_t run(double seconds, enum mode mode, uint64_t interval_ns)
{
    uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    for (int i = 0; i < nclients; i++)
        clients[i].next_send_ns =
            start + (mode == PACED ? (uint64_t)i * (interval_ns / nclients) : 0);
    for (int i = 0; i < nclients; i++)
        clients[i].prev_start_ns = clients[i].prev_done_ns = 0;
    if (mode == FLOOD) /* the edge may have passed: start every client once */
        for (int i = 0; i < nclients; i++)
            send_flood(&clients[i]);
    struct epoll_event evs[256];
    uint64_t now, last = start;
    while ((now = now_ns()) < end) {
        last = now;
        if (mode == FLOOD) {
            int n = epoll_wait(ep_out, evs, 256, 10);
            for (int i = 0; i < n; i++)
                send_flood(evs[i].data.ptr);
        } else if (mode == PACED) {
            for (int i = 0; i < nclients; i++)
                send_paced(&clients[i], now, interval_ns);
            struct timespec tick = {0, PACE_TICK_NS};
            nanosleep(&tick, NULL);
        }
    }
    return last;
}

/* Whether no TCP connection to or from the relay's port has bytes queued unacknowledged, in
 * either direction (/proc/net/tcp's tx_queue of both ends). */
static bool relay_connections_idle(uint16_t port)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[256];
    bool idle = f != NULL;
    while (idle && fgets(line, sizeof line, f)) {
        unsigned lport, rport, txq;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %x", &lport, &rport, &txq) == 3 &&
            (lport == port || rport == port) && txq > 0)
            idle = false;
    }
    if (f) fclose(f);
    return idle;
}

/* Finishes every partially written frame and waits until every byte between the clients and
 * the relay has been acknowledged, in both directions, and nothing has arrived for 0.1 s, so
 * that a paced phase starts from quiet connections: after a flood, connections that lost
 * segments may wait out retransmission timeouts for seconds. At most 30 s; prints how long. */
static void drain(uint16_t port)
{
    uint64_t start = now_ns(), quiet_since = start, frames = received_frames;
    bool idle = false;
    while (now_ns() - start < 30000000000u) {
        idle = true;
        for (int i = 0; i < nclients; i++) {
            struct client *c = &clients[i];
            if (c->sent < c->frame_len && !c->dead) {
                ssize_t n = write(c->fd, c->frame + c->sent, c->frame_len - c->sent);
                if (n > 0) c->sent += (size_t)n;
                if (c->sent < c->frame_len) idle = false;
            }
        }
        if (frames != received_frames) {
            frames = received_frames;
            quiet_since = now_ns();
        }
        if (idle && now_ns() - quiet_since > 100000000u && relay_connections_idle(port)) break;
        idle = false;
        usleep(10000);
    }
    printf("  drained in %.2f s%s\n", (double)(now_ns() - start) / 1e9,
           idle ? "" : " (gave up: still sending)");
}

/* Before a paced phase: every client connected and every connection drained (the relay may
 * drop more clients while the others drain). */
static void settle(uint16_t port)
{
    for (int round = 0; round < 5; round++) {
        reconnect_dead(port);
        drain(port);
        bool any_dead = false;
        for (int i = 0; i < nclients; i++)
            any_dead |= clients[i].dead;
        if (!any_dead) return;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A distribution's p50, p99, p99.9 and max in ms. */
struct dist {
    double p50, p99, p999, max;
};

static struct dist dist_of(uint64_t *v, size_t n)
{
    struct dist d = {0};
    if (!n) return d;
    qsort(v, n, sizeof *v, cmp_u64);
    d.p50 = (double)v[n / 2] / 1e6;
    d.p99 = (double)v[n * 99 / 100] / 1e6;
    d.p999 = (double)v[n * 999 / 1000] / 1e6;
    d.max = (double)v[n - 1] / 1e6;
    return d;
}

/* A figure in ms, or "lost". */
static const char *ms(double v, char buf[16])
{
    if (v >= (double)LOST / 1e6)
        snprintf(buf, 16, "lost");
    else
        snprintf(buf, 16, "%.3f ms", v);
    return buf;
}

static void print_dist(const char *what, struct dist d)
{
    char a[16], b[16], c[16], e[16];
    printf("  %-42s p50 %10s  p99 %10s  p99.9 %10s  max %10s\n", what, ms(d.p50, a), ms(d.p99, b),
           ms(d.p999, c), ms(d.max, e));
}
static double load_average(void)
{
    double l[1] = {-1};
    getloadavg(l, 1);
    return l[0];
}

/* The latency phase's figures, for the summary over repetitions. */
struct latency_run {
    struct dist total, relay, receive;
};

/* One paced phase: prints the stages of the frames' way and returns the figures. */
/* Frames of a paced phase with no sample: due before its end but never started (their client's
 * previous frame still waiting for room), or started but not read within GRACE_NS after the
 * end (in the relay, in a socket, or dropped by the relay). They count as latency LOST (more
 * than GRACE_NS) in the figures, so that a stuck client cannot improve them by sending less. */
static size_t lost_frames(uint64_t end, uint64_t interval, size_t received)
{
    size_t due = started_frames;
    for (int i = 0; i < nclients; i++)
        if (clients[i].next_send_ns <= end) due += (end - clients[i].next_send_ns) / interval + 1;
    return due > received ? due - received : 0;
}

/* Fills v with one figure per sample (and lost ones) and returns its distribution. */
static struct dist stage(uint64_t *v, size_t lost, uint64_t (*figure)(const struct sample *))
{
    size_t n = 0;
    for (size_t i = 0; i < nsamples; i++)
        v[n++] = figure(&samples[i]);
    for (size_t i = 0; i < lost; i++)
        v[n++] = LOST;
    return dist_of(v, n);
}

/* The stages of a frame's way (the kernel's receive stamp lies between the write and the read
 * unless the clocks misbehave; such frames then count as 0 in the split). */
static bool stamp_ok(const struct sample *s)
{
    return s->in_socket >= s->sent && s->in_socket <= s->read;
}
static uint64_t end_to_end(const struct sample *s)
{
    return s->held + s->read - s->sent;
}
static uint64_t relay_stage(const struct sample *s)
{
    return s->held + (stamp_ok(s) ? s->in_socket : s->read) - s->sent;
}
static uint64_t receive_stage(const struct sample *s)
{
    return stamp_ok(s) ? s->read - s->in_socket : 0;
}

/* One paced phase: prints the stages of the frames' way and returns the figures. */
static struct latency_run paced_phase(pid_t relay, double seconds, double rate)
{
    struct latency_run r = {0};
    uint64_t interval = (uint64_t)((double)payload * nclients / rate * 1e9);
    double load0 = load_average();
    struct tcp_loss loss0 = tcp_loss_now();
    received_bytes = received_frames = 0;
    nsamples = 0;
    nsend_samples = skipped_frames = started_frames = 0;
    double relay_cpu0 = cpu_seconds(relay), self_cpu0 = cpu_seconds(getpid());
    phase_start_ns = real_ns();
    measure_latency = true;
    realtime_phase(relay, RT_PACED);
    uint64_t t0 = now_ns();
    uint64_t last_tick = run(seconds, PACED, interval);
    double secs = (double)(now_ns() - t0) / 1e9;
    realtime_phase(relay, RT_OFF);
    double relay_cpu = 100 * (cpu_seconds(relay) - relay_cpu0) / secs,
           self_cpu = 100 * (cpu_seconds(getpid()) - self_cpu0) / secs;
    usleep(GRACE_NS / 1000); /* the last frames arrive */
    measure_latency = false;
    size_t count = nsamples, lost = lost_frames(last_tick, interval, count);
    double delivered = (double)received_bytes / secs;
    uint64_t *v = malloc((count + lost + nsend_samples + 1) * sizeof *v);
    printf("latency at %.3f GB/s offered (%.3f GB/s delivered, %zu frames), load average %.2f "
           "before, %.2f after; CPU: relay %.0f %%, load generator %.0f %%\n",
           rate / 1e9, delivered / 1e9, count, load0, load_average(), relay_cpu, self_cpu);
    r.total = stage(v, lost, end_to_end);
    print_dist("end to end (due -> receiver's read)", r.total);
    r.relay = stage(v, lost, relay_stage);
    print_dist("relay (due -> receiver's socket)", r.relay);
    r.receive = stage(v, 0, receive_stage);
    print_dist("generator (receiver's socket -> its read)", r.receive);
    size_t held = 0, unstamped = 0;
    for (size_t i = 0; i < count; i++) {
        if (samples[i].held) v[held++] = samples[i].held;
        unstamped += !stamp_ok(&samples[i]);
    }
    if (unstamped) printf("  %zu frames without a kernel receive stamp\n", unstamped);
    printf("  %zu frames lost (not read within %.1f s after the phase: counted as lost above)\n",
           lost, GRACE_NS / 1e9);
    printf("  %zu frames held back by the relay's backpressure (in the figures above)\n", held);
    if (held) print_dist("  of them, held back", dist_of(v, held));
    for (size_t i = 0; i < nsend_samples; i++)
        v[i] = send_samples[i].late;
    print_dist("sender's own delay (not in the figures)", dist_of(v, nsend_samples));
    printf("  %zu frames (%.2f %%) skipped: the sender was more than %.1f ms late on its own\n",
           skipped_frames,
           100.0 * (double)skipped_frames / (double)(started_frames + skipped_frames),
           MAX_OWN_DELAY_NS / 1e6);
    for (size_t i = 0; i < nsend_samples; i++)
        v[i] = send_samples[i].write;
    print_dist("sender: write() call", dist_of(v, nsend_samples));
    free(v);
    print_tcp_loss("latency", loss0);
    return r;
}

/* The range of d[0..n)'s figures. */
static void print_range(const char *what, const struct dist *d, int n)
{
    struct dist lo = d[0], hi = d[0];
    for (int i = 1; i < n; i++) {
#define RANGE(f)                                                                                   \
    if (d[i].f < lo.f) lo.f = d[i].f;                                                              \
    if (d[i].f > hi.f) hi.f = d[i].f;
        RANGE(p50) RANGE(p99) RANGE(p999) RANGE(max)
#undef RANGE
    }
    char b[8][16];
    printf("  %-12s p50 %s - %s, p99 %s - %s, p99.9 %s - %s, max %s - %s\n", what, ms(lo.p50, b[0]),
           ms(hi.p50, b[1]), ms(lo.p99, b[2]), ms(hi.p99, b[3]), ms(lo.p999, b[4]),
           ms(hi.p999, b[5]), ms(lo.max, b[6]), ms(hi.max, b[7]));
}

int main(int argc, char **argv)
{
    const char *bin = IROH_RELAY_BIN;
    double seconds = 3, load = 0.5, offered = 0;
    int opt, reps = 1;
    while ((opt = getopt(argc, argv, "n:s:t:r:l:o:R:b:pP")) != -1) {
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
        else if (opt == 'o')
            offered = atof(optarg) * 1e9;
        else if (opt == 'R')
            reps = atoi(optarg);
        else if (opt == 'b')
            sockbuf = atoi(optarg);
        else if (opt == 'p')
            pin = true;
        else if (opt == 'P')
            realtime = true;
        else {
            fprintf(stderr,
                    "usage: relay_load [-n CLIENTS] [-s PAYLOAD] [-t SECONDS] [-l LOAD | -o GBPS] "
                    "[-R REPS] [-b SOCKBUF] [-p] [-P] [-r RELAY]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 100 || nclients < 2 || nclients % 2 || payload < 16 ||
        payload > IROH_RELAY_MAX_PACKET_SIZE - 33) {
        fprintf(stderr,
                "relay_load: CLIENTS must be even and >= 2, PAYLOAD 16..65503, REPS 1..100\n");
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
    ep_in = epoll_create1(0);
    ep_out = epoll_create1(0);
    for (int i = 0; i < nclients; i++) {
        clients[i].rbuf = malloc(2 * (payload + 64));
        if (connect_client(i, port) < 0) {
            fprintf(stderr, "relay_load: client %d could not connect\n", i);
            kill(relay, SIGKILL);
            return 1;
        }
    }
    for (int i = 0; i < nclients; i++)
        build_frame(&clients[i], &clients[i ^ 1]);
    size_t relay_len = IROH_RELAY_DATAGRAM_HEADER_LEN + payload;
    uint8_t scratch[IROH_WS_MAX_HEADER_LEN];
    recv_frame_len =
        iroh_ws_encode_header(scratch, true, IROH_WS_BINARY, relay_len, NULL) + relay_len;
    usleep(500000);
    long rss_idle = rss_kib(relay);
    printf("clients: %d, payload %zu bytes per datagram frame; load average %.2f\n", nclients,
           payload, load_average());
    printf("memory: relay RSS %ld KiB before, %ld KiB with %d idle clients: %.1f KiB per client\n",
           rss_before, rss_idle, nclients, (double)(rss_idle - rss_before) / nclients);

    samples = malloc(MAX_SAMPLES * sizeof *samples);
    send_samples = malloc(MAX_SAMPLES * sizeof *send_samples);
    pthread_t rx;
    pthread_create(&rx, NULL, receiver, NULL);
    while (!receiver_tid)
        usleep(1000);
    run(0.5, FLOOD, 0); /* warm-up */
    received_bytes = received_frames = 0;
    struct tcp_loss loss0 = tcp_loss_now();
    uint64_t t0 = now_ns();
    double relay_cpu0 = cpu_seconds(relay), self_cpu0 = cpu_seconds(getpid());
    realtime_phase(relay, RT_FLOOD);
    run(seconds, FLOOD, 0);
    realtime_phase(relay, RT_OFF);
    double secs = (double)(now_ns() - t0) / 1e9;
    double rate = (double)received_bytes / secs;
    printf("throughput: %.3f GB/s delivered (%.0f frames/s) with all %d clients sending; CPU: "
           "relay %.0f %%, load generator %.0f %%\n",
           rate / 1e9, (double)received_frames / secs, nclients,
           100 * (cpu_seconds(relay) - relay_cpu0) / secs,
           100 * (cpu_seconds(getpid()) - self_cpu0) / secs);
    printf("memory under load: relay RSS %ld KiB\n", rss_kib(relay));
    print_tcp_loss("throughput", loss0);

    /* LOAD of the flood (or GBPS) with timestamps, REPS times, each from quiet connections. */
    settle(port);
    struct dist total[100], relayed[100], received[100];
    for (int i = 0; i < reps; i++) {
        struct latency_run r = paced_phase(relay, seconds, offered ? offered : rate * load);
        total[i] = r.total;
        relayed[i] = r.relay;
        received[i] = r.receive;
        if (i + 1 < reps) settle(port);
    }
    if (reps > 1) {
        printf("over %d latency runs:\n", reps);
        print_range("end to end", total, reps);
        print_range("relay", relayed, reps);
        print_range("generator", received, reps);
    }
    stop_receiver = true;
    pthread_join(rx, NULL);
    kill(relay, SIGTERM);
    waitpid(relay, NULL, 0);
    return 0;
}
