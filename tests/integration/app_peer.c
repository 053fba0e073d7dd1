/* app_peer.c — a test app for apps.sh on libiroh-client's endpoint functions.
 *
 *   app_peer sink SOCKET ALPN HOLD_MS|signal [uni|echo]
 *       listens on ALPN and prints the node's ticket; once a connection came, waits HOLD_MS,
 *       accepts one stream and reads it to EOF; answers "<bytes>\n" on it, prints the count
 *       and waits for the peer to close. With signal instead of HOLD_MS: waits until irohd
 *       received stream bytes on the connection, prints "held", and reads nothing until
 *       SIGUSR1 comes (at most 120 s), so the test decides how long the sender is kept
 *       waiting. With uni: a unidirectional stream, no answer, and the sink closes the
 *       connection itself. With echo: sends back what it reads while the socket takes it, and
 *       no answer.
 *   app_peer push SOCKET TICKET ALPN N [uni|exit]
 *       dials TICKET (twice: the connection is reused), writes N zero bytes on a new stream,
 *       finishes it, prints the answer and checks conn.info's byte counts. With uni: waits
 *       for the sink to close the connection and prints N. With exit: exits at once after
 *       finishing the stream (irohd may still hold much of what it wrote).
 *   app_peer drop SOCKET ALPN
 *       listens as sink; accepts every stream of the first connection, waits 100 ms and
 *       closes it unread, until the connection closes; prints how many streams it dropped.
 *   app_peer spray SOCKET TICKET ALPN STREAMS N
 *       dials TICKET and writes up to N bytes on each of STREAMS streams in turn, until the
 *       peer stops the stream; closes the connection and prints STREAMS.
 *   app_peer dgram-echo SOCKET ALPN now|full
 *       listens; takes the first connection's datagram socket and sends back every datagram it
 *       reads (with full: only once irohd dropped one because the socket had no room, at most
 *       30 s after the connection came); waits at most 30 s for the first one, and after 2 s
 *       without one prints "RECEIVED DROPPED READ" (conn.info's datagrams_received and
 *       datagrams_dropped, and what it read) and closes the connection.
 *   app_peer dgram SOCKET TICKET ALPN N [WINDOW]
 *       dials TICKET, sends N datagrams (with WINDOW, at most that many unanswered at a time)
 * (sizes 1..max, numbered, content derived from the number) on its datagram socket and one with
 * conn.send_datagram, checks that one over the limit is refused, reads the echoes until 5 s pass
 * without one (the echo app's 2 s and its conn.info calls fit in them) or the peer closes the
 * connection, checks each echo's bytes (and conn.info's
 * datagrams_sent at the first), and prints "SENT ECHOED". app_peer codes SOCKET TICKET ALPN N dials
 * a `codes` server (codes-serve below, or tests/interop/peer.mjs serve) and checks, in order: N
 * bytes sent on a unidirectional stream come back whole on one the server opens; the server resets
 * a stream with code 42 (conn.stream_reset receive 42, EOF) and stops one with 43 (send 43, writes
 * fail with EPIPE); this app resets a stream with 44 and stops one with 45, and the server reports
 * seeing each code. Prints "ok". app_peer codes-serve SOCKET ALPN listens and serves the codes
 * protocol on the first connection until it closes: echoes one unidirectional stream on a new one;
 * on each bidirectional stream reads a line: "reset N" resets its sending direction with N, "stop
 * N" stops the peer's with N, "wait-reset" / "wait-stop" answer "ok" and wait for the peer's reset
 * (answers "reset N" on the stream) or stop (writes "stopped N" on a new unidirectional stream).
 * Exit status 0 when everything went as described, 1 otherwise (with a message). */
#include <errno.h>
#include <iroh/client.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t incoming_conn;
static iroh_stream_reset resets[64]; /* conn.stream_reset notifications, in order */
static size_t n_resets;

static void on_notification(iroh_client *client, const char *method, const char *params_json,
                            void *userdata)
{
    (void)client, (void)userdata;
    iroh_incoming in;
    if (iroh_incoming_parse(method, params_json, &in) == 0) incoming_conn = in.conn;
    if (n_resets < sizeof resets / sizeof resets[0] &&
        iroh_stream_reset_parse(method, params_json, &resets[n_resets]) == 0)
        n_resets++;
}

static int die(const char *what)
{
    fprintf(stderr, "app_peer: %s: %s\n", what, iroh_last_error());
    return 1;
}

/* A call on a connection failed because it closed: while closing, or once it is gone. */
static bool closed(int rc)
{
    return rc == IROH_ECLOSED || rc == IROH_ENOTFOUND;
}

/* Listens on alpn, prints the ticket and waits for the first connection (incoming_conn). */
static int listen_and_wait(iroh_client *client, const char *alpn)
{
    char ticket[4096];
    if (iroh_endpoint_listen(client, alpn, NULL) < 0) return die("listen");
    if (iroh_endpoint_ticket(client, ticket, sizeof ticket) < 0) return die("ticket");
    printf("%s\n", ticket);
    fflush(stdout);
    iroh_client_on_notification(client, on_notification, NULL);
    while (!incoming_conn) {
        struct pollfd p = {iroh_client_fd(client), POLLIN, 0};
        if (poll(&p, 1, 30000) <= 0 || iroh_client_process(client) < 0) return die("incoming");
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A numeric member of conn.info, or -1. */
static long long info_member(iroh_client *client, uint64_t conn, const char *name)
{
    char params[64], key[64];
    snprintf(params, sizeof params, "{\"conn\":%llu}", (unsigned long long)conn);
    snprintf(key, sizeof key, "\"%s\":", name);
    iroh_response *r;
    if (iroh_client_call(client, "conn.info", params, 5000, &r) < 0) return -1;
    const char *info = iroh_response_result(r), *at = info ? strstr(info, key) : NULL;
    long long v = at ? strtoll(at + strlen(key), NULL, 10) : -1;
    iroh_response_free(r);
    return v;
}

/* The sink's signal hold: once irohd received stream bytes on the connection (the sender is
 * mid-stream), prints "held" and waits for SIGUSR1 (blocked since main), at most 120 s. */
static int hold_until_signalled(iroh_client *client)
{
    long long got;
    for (int tries = 0; (got = info_member(client, incoming_conn, "bytes_received")) == 0;
         tries++) {
        if (tries == 3000) break; /* 60 s */
        sleep_ms(20);
    }
    if (got <= 0) {
        fprintf(stderr, "app_peer: no stream bytes came within 60 s (conn.info: %lld)\n", got);
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (sigtimedwait(&usr1, NULL, &(struct timespec){120, 0}) != SIGUSR1) {
        fprintf(stderr, "app_peer: no SIGUSR1 within 120 s\n");
        return 1;
    }
    return 0;
}

static int sink(iroh_client *client, const char *alpn, int hold_ms, bool uni, bool echo)
{
    if (listen_and_wait(client, alpn) < 0) return 1;
    if (hold_ms < 0 && hold_until_signalled(client)) return 1;
    if (hold_ms > 0) sleep_ms(hold_ms);
    int fd;
    if ((uni ? iroh_conn_accept_uni : iroh_conn_accept_bi)(client, incoming_conn, 30000, &fd) < 0)
        return die("accept");
    static char buf[1 << 16];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) total += (unsigned long long)n;
        if (n > 0 && echo) send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (uni) {
        printf("%llu\n", total);
        return iroh_conn_close(client, incoming_conn, 0, "got it") < 0 ? die("close") : 0;
    }
    int len = snprintf(buf, sizeof buf, "%llu\n", total);
    if (!echo && write(fd, buf, (size_t)len) != len) return die("answer");
    close(fd);
    printf("%llu\n", total);
    fflush(stdout);
    /* Stay until the peer closes the connection: leaving would close it under the answer. */
    return closed(iroh_conn_accept_bi(client, incoming_conn, 30000, &fd)) ? 0 : die("close");
}

/* conn.info counts what this app sent and received on conn. */
static int check_info(iroh_client *client, uint64_t conn, unsigned long long sent,
                      unsigned long long received)
{
    char params[64], want[128];
    snprintf(params, sizeof params, "{\"conn\":%llu}", (unsigned long long)conn);
    iroh_response *r;
    if (iroh_client_call(client, "conn.info", params, 5000, &r) < 0) return die("conn.info");
    const char *info = iroh_response_result(r);
    snprintf(want, sizeof want, "\"bytes_sent\":%llu,\"bytes_received\":%llu", sent, received);
    int ok = info && strstr(info, want);
    if (!ok) fprintf(stderr, "app_peer: conn.info %s lacks %s\n", info ? info : "(error)", want);
    iroh_response_free(r);
    return ok ? 0 : 1;
}

static int push(iroh_client *client, const char *ticket, const char *alpn, unsigned long long n,
                bool uni, bool leave)
{
    uint64_t conn;
    int fd;
    uint64_t again;
    if (iroh_endpoint_connect(client, ticket, alpn, 10000, &conn) < 0 ||
        iroh_endpoint_connect(client, ticket, alpn, 10000, &again) < 0)
        return die("connect");
    if (again != conn) {
        fprintf(stderr, "app_peer: a second connect made connection %llu, not reused %llu\n",
                (unsigned long long)again, (unsigned long long)conn);
        return 1;
    }
    if ((uni ? iroh_conn_open_uni : iroh_conn_open_bi)(client, conn, &fd) < 0) return die("open");
    static char buf[1 << 16];
    for (unsigned long long sent = 0; sent < n;) {
        size_t piece = n - sent < sizeof buf ? (size_t)(n - sent) : sizeof buf;
        ssize_t w = send(fd, buf, piece, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "app_peer: the stream ended after %llu bytes: %s\n", sent,
                    strerror(errno));
            return 1;
        }
        sent += (unsigned long long)w;
    }
    shutdown(fd, SHUT_WR);
    if (leave) return 0;
    if (uni) { /* the sink closes the connection once it has everything */
        int rc = iroh_conn_accept_bi(client, conn, 30000, &fd);
        printf("%llu\n", n);
        return closed(rc) ? 0 : die("waiting for the close");
    }
    ssize_t got = read(fd, buf, sizeof buf - 1);
    if (got <= 0) {
        fprintf(stderr, "app_peer: no answer\n");
        return 1;
    }
    buf[got] = 0;
    printf("%s", buf);
    close(fd);
    return check_info(client, conn, n, (unsigned long long)got);
}

#define PROBE_SEQ UINT32_MAX    /* the number of check_over_limit's datagrams */
static unsigned probes_through; /* of them, those sent because the limit had risen */

/* Datagram number seq of a dgram run: its size and bytes. */
static size_t dgram_fill(uint32_t seq, size_t max, uint8_t *buf)
{
    size_t len = 4 + (seq * 7919u) % (max - 3);
    if (len > max) len = max;
    memcpy(buf, &seq, 4);
    for (size_t i = 4; i < len; i++)
        buf[i] = (uint8_t)(seq * 31u + i);
    return len;
}

/* Waits up to ms for fd to be readable. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

/* dgram-echo's full: waits (at most 30 s) until irohd dropped a datagram for want of room in
 * the socket, which is not read meanwhile. */
static void wait_for_a_drop(iroh_client *client)
{
    for (int tries = 0; tries < 1500; tries++) {
        if (info_member(client, incoming_conn, "datagrams_dropped") != 0) return;
        sleep_ms(20);
    }
}

static int dgram_echo(iroh_client *client, const char *alpn, bool full)
{
    if (listen_and_wait(client, alpn) < 0) return 1;
    int fd;
    if (iroh_conn_datagrams(client, incoming_conn, &fd, NULL) < 0) return die("conn.datagrams");
    if (full) wait_for_a_drop(client);
    static uint8_t buf[65536];
    long long got = 0;
    while (readable(fd, got ? 2000 : 30000)) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got++;
        send(fd, buf, (size_t)n, MSG_NOSIGNAL);
    }
    printf("%lld %lld %lld\n", info_member(client, incoming_conn, "datagrams_received"),
           info_member(client, incoming_conn, "datagrams_dropped"), got);
    fflush(stdout);
    close(fd);
    return iroh_conn_close(client, incoming_conn, 0, "done") < 0 ? die("close") : 0;
}

/* Reads one echo within timeout_ms and checks it is a datagram dgram sent. Returns 1 (counted
 * in *echoed), 0 (none came), -1 (not one of ours, or conn.info disagrees). */
static int dgram_read_echo(iroh_client *client, uint64_t conn, int fd, unsigned n, size_t max,
                           int timeout_ms, unsigned *echoed)
{
    static uint8_t buf[65536], want[65536];
    if (!readable(fd, timeout_ms)) return 0;
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got <= 0) return 0;
    uint32_t num;
    memcpy(&num, buf, 4);
    if (got >= 4 && num == PROBE_SEQ) return 1; /* an over-the-limit probe sent as the limit rose */
    if (got < 4 || num > n || (size_t)got != dgram_fill(num, max, want) ||
        memcmp(buf, want, (size_t)got) != 0) {
        fprintf(stderr, "app_peer: echo of %zd bytes is no datagram we sent\n", got);
        return -1;
    }
    if ((*echoed)++ == 0) { /* one came back, so irohd sent at least one */
        long long sent = info_member(client, conn, "datagrams_sent");
        if (sent < 1 || sent > (long long)n + 1 + probes_through) {
            fprintf(stderr, "app_peer: conn.info datagrams_sent %lld of %u\n", sent,
                    n + 1 + probes_through);
            return -1;
        }
    }
    return 1;
}

/* conn.send_datagram refuses a datagram one byte over the connection's limit. Path MTU
 * discovery raises the limit now and then, also between reading it and sending: a probe that
 * went through counts as a failure only if the limit had not risen over it meanwhile, else it
 * is tried again over the new limit (at most 8 times). Probes are numbered PROBE_SEQ, and the
 * echo of one that went through is ignored. */
static int check_over_limit(iroh_client *client, uint64_t conn, size_t max, uint8_t *buf,
                            size_t cap)
{
    for (int tries = 0; tries < 8; tries++) {
        long long limit = info_member(client, conn, "max_datagram_size");
        if (limit < (long long)max || limit >= (long long)cap) {
            fprintf(stderr, "app_peer: conn.info max_datagram_size %lld (was %zu)\n", limit, max);
            return 1;
        }
        uint32_t probe = PROBE_SEQ;
        memcpy(buf, &probe, 4);
        memset(buf + 4, 0xa5, (size_t)limit + 1 - 4);
        int rc = iroh_conn_send_datagram(client, conn, buf, (size_t)limit + 1);
        if (rc == IROH_ETOOBIG) return 0;
        probes_through += rc == 0;
        long long after = info_member(client, conn, "max_datagram_size");
        if (rc < 0 || after <= limit) {
            fprintf(stderr, "app_peer: a datagram of %lld bytes was not refused (limit %lld)\n",
                    limit + 1, after);
            return 1;
        }
    }
    fprintf(stderr, "app_peer: the datagram limit rose 8 times while it was checked\n");
    return 1;
}

/* Sends n datagrams (and one more through conn.send_datagram) and counts the echoes. With a
 * window, at most that many are unanswered at a time (an echo that does not come within
 * 500 ms is taken as lost), so a slow echo app is never sent more than its socket holds. */
static int dgram(iroh_client *client, const char *ticket, const char *alpn, unsigned n,
                 unsigned window)
{
    uint64_t conn;
    int fd;
    size_t max;
    if (iroh_endpoint_connect(client, ticket, alpn, 10000, &conn) < 0) return die("connect");
    if (iroh_conn_datagrams(client, conn, &fd, &max) < 0) return die("conn.datagrams");
    if (max < 1000 || max > 1500) {
        fprintf(stderr, "app_peer: max_datagram_size %zu on loopback\n", max);
        return 1;
    }
    static uint8_t buf[65536];
    unsigned echoed = 0, given_up = 0;
    uint32_t seq;
    for (seq = 0; seq < n; seq++) {
        while (window && seq - echoed - given_up >= window) {
            int rc = dgram_read_echo(client, conn, fd, n, max, 500, &echoed);
            if (rc < 0) return 1;
            given_up += rc == 0;
        }
        size_t len = dgram_fill(seq, max, buf);
        if (send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
            fprintf(stderr, "app_peer: sending datagram %u: %s\n", seq, strerror(errno));
            return 1;
        }
    }
    size_t len = dgram_fill(seq, max, buf);
    if (iroh_conn_send_datagram(client, conn, buf, len) < 0) return die("conn.send_datagram");
    if (check_over_limit(client, conn, max, buf, sizeof buf)) return 1;
    int rc;
    while ((rc = dgram_read_echo(client, conn, fd, n, max, 5000, &echoed)) > 0)
        ;
    if (rc < 0) return 1;
    printf("%u %u\n", n + 1, echoed);
    close(fd);
    rc = iroh_conn_close(client, conn, 0, "done");
    return rc < 0 && !closed(rc) ? die("close") : 0;
}

/* Waits up to 10 s for a conn.stream_reset of stream; with any_direction the first of either
 * direction, else the one of direction send. Returns the notification or NULL. */
static const iroh_stream_reset *wait_reset(iroh_client *client, uint64_t stream, bool any_direction,
                                           int send)
{
    for (int tries = 0; tries < 100; tries++) {
        for (size_t i = 0; i < n_resets; i++)
            if (resets[i].stream == stream && (any_direction || resets[i].send == send))
                return &resets[i];
        struct pollfd p = {iroh_client_fd(client), POLLIN, 0};
        if (poll(&p, 1, 100) > 0 && iroh_client_process(client) < 0) return NULL;
    }
    return NULL;
}

/* Reads one line (at most len - 1 bytes, without its newline) from a stream fd. */
static bool read_line(int fd, char *line, size_t len)
{
    size_t n = 0;
    while (n + 1 < len && readable(fd, 10000)) {
        ssize_t got = read(fd, line + n, 1);
        if (got <= 0) break;
        if (line[n] == '\n') {
            line[n] = 0;
            return true;
        }
        n++;
    }
    line[n] = 0;
    return false;
}

static bool write_text(int fd, const char *text)
{
    return send(fd, text, strlen(text), MSG_NOSIGNAL) == (ssize_t)strlen(text);
}

static int check(bool ok, const char *what)
{
    if (!ok) fprintf(stderr, "app_peer: codes: %s\n", what);
    return ok ? 0 : 1;
}

/* Sends n patterned bytes on a new unidirectional stream and reads them back whole from the
 * one the server opens. */
static int uni_round_trip(iroh_client *client, uint64_t conn, size_t n)
{
    int out, in;
    if (iroh_conn_open_stream(client, conn, 1, &out, NULL) < 0) return die("open_uni");
    static uint8_t buf[65536];
    for (size_t sent = 0; sent < n;) {
        size_t piece = n - sent < sizeof buf ? n - sent : sizeof buf;
        for (size_t i = 0; i < piece; i++)
            buf[i] = (uint8_t)((sent + i) * 13 + (sent + i) / 251);
        if (send(out, buf, piece, MSG_NOSIGNAL) != (ssize_t)piece) return check(false, "uni send");
        sent += piece;
    }
    close(out);
    if (iroh_conn_accept_stream(client, conn, 1, 30000, &in, NULL) < 0) return die("accept_uni");
    size_t got = 0;
    ssize_t r;
    while ((r = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < r; i++, got++)
            if (buf[i] != (uint8_t)(got * 13 + got / 251))
                return check(false, "the unidirectional echo differs");
    }
    close(in);
    if (got != n) fprintf(stderr, "app_peer: uni echo: %zu of %zu bytes\n", got, n);
    return check(got == n, "the unidirectional echo is short");
}

static int codes(iroh_client *client, const char *ticket, const char *alpn, size_t n)
{
    uint64_t conn, s;
    int fd, bad = 0;
    char line[64];
    iroh_client_on_notification(client, on_notification, NULL);
    if (iroh_endpoint_connect(client, ticket, alpn, 10000, &conn) < 0) return die("connect");
    if (uni_round_trip(client, conn, n)) return 1;

    /* the server resets its direction with 42: EOF here, and the code */
    if (iroh_conn_open_stream(client, conn, 0, &fd, &s) < 0) return die("open_bi");
    write_text(fd, "reset 42\n");
    const iroh_stream_reset *r = wait_reset(client, s, false, 0);
    bad |= check(r && r->code == 42, "no conn.stream_reset receive 42");
    bad |= check(readable(fd, 10000) && read(fd, line, sizeof line) == 0, "no EOF after a reset");
    close(fd);

    /* the server stops our direction with 43: writes fail, and the code */
    if (iroh_conn_open_stream(client, conn, 0, &fd, &s) < 0) return die("open_bi");
    write_text(fd, "stop 43\n");
    r = wait_reset(client, s, false, 1);
    bad |= check(r && r->code == 43, "no conn.stream_reset send 43");
    errno = 0;
    bad |= check(!write_text(fd, "more\n") && errno == EPIPE, "writing after a stop did not fail");
    close(fd);

    /* we reset ours with 44: the server answers what it saw */
    if (iroh_conn_open_stream(client, conn, 0, &fd, &s) < 0) return die("open_bi");
    write_text(fd, "wait-reset\n");
    bad |= check(read_line(fd, line, sizeof line) && strcmp(line, "ok") == 0, "no ok");
    if (iroh_conn_reset_stream(client, conn, s, 44) < 0) return die("conn.reset_stream");
    bool got = read_line(fd, line, sizeof line);
    if (!got || strcmp(line, "reset 44") != 0)
        fprintf(stderr, "app_peer: codes: the server answered \"%s\"%s\n", line,
                got ? "" : " (and then nothing within 10 s, or EOF)");
    bad |= check(got && strcmp(line, "reset 44") == 0, "the server did not see reset 44");
    close(fd);

    /* we stop the server's with 45: it says so on a unidirectional stream */
    if (iroh_conn_open_stream(client, conn, 0, &fd, &s) < 0) return die("open_bi");
    write_text(fd, "wait-stop\n");
    bad |= check(read_line(fd, line, sizeof line) && strcmp(line, "ok") == 0, "no ok");
    if (iroh_conn_stop_stream(client, conn, s, 45) < 0) return die("conn.stop_stream");
    shutdown(fd, SHUT_WR); /* the stream closes, and irohd (ngtcp2 0.12) reports the stop */
    int in;
    if (iroh_conn_accept_stream(client, conn, 1, 30000, &in, NULL) < 0) return die("accept_uni");
    bad |= check(read_line(in, line, sizeof line) && strcmp(line, "stopped 45") == 0,
                 "the server did not see stop 45");
    close(in);
    close(fd);
    if (bad) return 1;
    printf("ok\n");
    return iroh_conn_close(client, conn, 0, "done") < 0 ? die("close") : 0;
}

/* One bidirectional stream of codes-serve. */
static int serve_codes_stream(iroh_client *client, uint64_t conn, int fd, uint64_t s)
{
    char line[64];
    unsigned long long code;
    if (!read_line(fd, line, sizeof line)) return check(false, "no command");
    if (sscanf(line, "reset %llu", &code) == 1)
        return iroh_conn_reset_stream(client, conn, s, code);
    if (sscanf(line, "stop %llu", &code) == 1) return iroh_conn_stop_stream(client, conn, s, code);
    if ((strcmp(line, "wait-reset") != 0 && strcmp(line, "wait-stop") != 0) ||
        !write_text(fd, "ok\n"))
        return check(false, line);
    const iroh_stream_reset *r = wait_reset(client, s, true, 0);
    if (!r) return check(false, "the peer neither reset nor stopped the stream");
    char answer[64];
    snprintf(answer, sizeof answer, "%s %llu\n", r->send ? "stopped" : "reset",
             (unsigned long long)r->code);
    if (!r->send) return check(write_text(fd, answer), "answering a reset");
    int out;
    if (iroh_conn_open_stream(client, conn, 1, &out, NULL) < 0) return die("open_uni");
    bool ok = write_text(out, answer);
    close(out);
    return check(ok, "answering a stop");
}

static int codes_serve(iroh_client *client, const char *alpn)
{
    if (listen_and_wait(client, alpn) < 0) return 1;
    int in, out, fd;
    if (iroh_conn_accept_stream(client, incoming_conn, 1, 30000, &in, NULL) < 0)
        return die("accept_uni");
    if (iroh_conn_open_stream(client, incoming_conn, 1, &out, NULL) < 0) return die("open_uni");
    static uint8_t buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (send(out, buf, (size_t)n, MSG_NOSIGNAL) != n) return check(false, "uni echo");
    close(in);
    close(out);
    uint64_t s;
    int rc;
    while ((rc = iroh_conn_accept_stream(client, incoming_conn, 0, 30000, &fd, &s)) == 0) {
        int bad = serve_codes_stream(client, incoming_conn, fd, s);
        close(fd);
        if (bad) return 1;
    }
    return closed(rc) ? 0 : die("accept_bi");
}

static int drop(iroh_client *client, const char *alpn)
{
    if (listen_and_wait(client, alpn) < 0) return 1;
    int fd, rc, dropped = 0;
    while ((rc = iroh_conn_accept_bi(client, incoming_conn, 30000, &fd)) == 0) {
        sleep_ms(100);
        close(fd);
        dropped++;
    }
    printf("%d\n", dropped);
    return closed(rc) ? 0 : die("accept");
}

static int spray(iroh_client *client, const char *ticket, const char *alpn, int streams,
                 unsigned long long n)
{
    uint64_t conn;
    if (iroh_endpoint_connect(client, ticket, alpn, 10000, &conn) < 0) return die("connect");
    static char buf[1 << 16];
    for (int i = 0; i < streams; i++) {
        int fd;
        if (iroh_conn_open_bi(client, conn, &fd) < 0) return die("open_bi");
        for (unsigned long long sent = 0; sent < n;) {
            size_t piece = n - sent < sizeof buf ? (size_t)(n - sent) : sizeof buf;
            ssize_t w = send(fd, buf, piece, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break; /* the receiver dropped the stream */
            sent += (unsigned long long)w;
        }
        close(fd);
    }
    printf("%d\n", streams);
    return iroh_conn_close(client, conn, 0, "done") < 0 ? die("close") : 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    bool uni = argc > 5 && strcmp(argv[argc - 1], "uni") == 0;
    bool leave = argc > 5 && strcmp(argv[argc - 1], "exit") == 0;
    bool echo = argc > 5 && strcmp(argv[argc - 1], "echo") == 0;
    int args = argc - uni - leave - echo;
    iroh_client *client = NULL;
    int rc = 2;
    if (!((strcmp(mode, "sink") == 0 && args == 5) || (strcmp(mode, "push") == 0 && args == 6) ||
          (strcmp(mode, "drop") == 0 && argc == 4) || (strcmp(mode, "spray") == 0 && argc == 7) ||
          (strcmp(mode, "dgram-echo") == 0 && argc == 5 &&
           (strcmp(argv[4], "now") == 0 || strcmp(argv[4], "full") == 0)) ||
          (strcmp(mode, "dgram") == 0 && (argc == 6 || argc == 7)) ||
          (strcmp(mode, "codes") == 0 && argc == 6) ||
          (strcmp(mode, "codes-serve") == 0 && argc == 4))) {
        fprintf(stderr, "usage: app_peer sink SOCKET ALPN HOLD_MS|signal [uni|echo] | "
                        "push SOCKET TICKET ALPN N [uni|exit] | drop SOCKET ALPN | "
                        "spray SOCKET TICKET ALPN STREAMS N | dgram-echo SOCKET ALPN now|full | "
                        "dgram SOCKET TICKET ALPN N [WINDOW] | codes SOCKET TICKET ALPN N | "
                        "codes-serve SOCKET ALPN\n");
        return rc;
    }
    if ((rc = iroh_client_connect(argv[2], &client)) < 0) {
        fprintf(stderr, "app_peer: cannot reach irohd: %s\n", iroh_strerror(rc));
        return 1;
    }
    if (strcmp(mode, "sink") == 0) {
        /* blocked before the test can see "held" and send it; sigtimedwait takes it */
        sigset_t usr1;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        sigprocmask(SIG_BLOCK, &usr1, NULL);
        rc = sink(client, argv[3], strcmp(argv[4], "signal") == 0 ? -1 : atoi(argv[4]), uni, echo);
    } else if (strcmp(mode, "push") == 0)
        rc = push(client, argv[3], argv[4], strtoull(argv[5], NULL, 10), uni, leave);
    else if (strcmp(mode, "drop") == 0)
        rc = drop(client, argv[3]);
    else if (strcmp(mode, "dgram-echo") == 0)
        rc = dgram_echo(client, argv[3], strcmp(argv[4], "full") == 0);
    else if (strcmp(mode, "codes") == 0)
        rc = codes(client, argv[3], argv[4], strtoull(argv[5], NULL, 10));
    else if (strcmp(mode, "codes-serve") == 0)
        rc = codes_serve(client, argv[3]);
    else if (strcmp(mode, "dgram") == 0)
        rc = dgram(client, argv[3], argv[4], (unsigned)strtoul(argv[5], NULL, 10),
                   argc == 7 ? (unsigned)strtoul(argv[6], NULL, 10) : 0);
    else
        rc = spray(client, argv[3], argv[4], atoi(argv[5]), strtoull(argv[6], NULL, 10));
    iroh_client_close(client);
    return rc;
}
