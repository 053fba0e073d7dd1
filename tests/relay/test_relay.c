/* test_relay.c — iroh-relay (the real binary, IROH_RELAY_BIN) over real TCP on loopback:
 * the HTTP pages and metrics, upgrade refusals, the handshake (challenge, bad signature, the
 * TLS keying-material header), forwarding single and batch datagrams, pings, EndpointGone,
 * duplicate ids (inactive connection, promotion), v1 health text, every access mode (allowlist,
 * denylist, tokens in header and query, an HTTP callout that answers true, false or too late),
 * the rate limit notice, and abuse: oversized and invalid WebSocket frames, unknown frame
 * types, garbage HTTP, silent (half-open) connections, a flood of unauthenticated connections,
 * a client that stops reading and one that stops answering pings — the offender is dropped and
 * the relay keeps serving others. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "core/relay_proto.h"
#include "core/websocket.h"
#include "iroh/error.h"
#include "tests/unit/tmpdir.h"
#include "tests/relay/relay_test_client.h"
#include "tests/test.h"

#define WAIT 10000 /* bound of every wait, ms */

struct relay_proc {
    pid_t pid;
    uint16_t port, tls_port, metrics_port;
    char dir[300];
};

static char base_dir[256];
static int dir_counter;

static void seed_of(int n, uint8_t seed[32])
{
    memset(seed, 0, 32);
    seed[0] = (uint8_t)n;
    seed[31] = 0x5a;
}

static void pk_hex(int n, char out[65])
{
    uint8_t seed[32];
    struct iroh_secret_key sk;
    struct iroh_public_key pk;
    seed_of(n, seed);
    memcpy(sk.seed, seed, 32);
    iroh_secret_key_public(&sk, &pk);
    iroh_public_key_format_hex(&pk, out, 65);
}

static uint16_t port_after(const char *log, const char *what)
{
    const char *p = strstr(log, what);
    if (!p) return 0;
    p = strstr(p, "listening on ");
    if (!p) return 0;
    const char *colon = strchr(p, '\n');
    const char *end = colon ? colon : p + strlen(p);
    while (end > p && end[-1] != ':')
        end--;
    return (uint16_t)atoi(end);
}

/* Starts iroh-relay with config text (may be "") and short timeouts (keep-alive pings every
 * ping_ms + jitter) and waits for its listeners. A connection not through its handshake is
 * dropped after 5 s: beyond the callout timeouts of test_access_callout (a client denied by
 * one must still be there to hear it) and what a handshake takes on a busy machine. */
static bool relay_start_pinging(struct relay_proc *r, const char *config, bool tls, int ping_ms)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/relay-%d", base_dir, ++dir_counter);
    mkdir(r->dir, 0700);
    char cfg_path[400], log_path[400];
    snprintf(cfg_path, sizeof cfg_path, "%s/relay.toml", r->dir);
    snprintf(log_path, sizeof log_path, "%s/relay.log", r->dir);
    FILE *f = fopen(cfg_path, "w");
    if (!f) return false;
    fprintf(f,
            "%s\n[timeouts]\nestablish_ms = 5000\nping_interval_ms = %d\npong_ms = 800\n"
            "write_ms = 800\n",
            config, ping_ms);
    fclose(f);
    r->pid = fork();
    if (r->pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        execl(IROH_RELAY_BIN, "iroh-relay", "-c", cfg_path, "--http-bind", "127.0.0.1:0",
              "--metrics-bind", "127.0.0.1:0", "--log-level", "debug", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < WAIT / 20; i++) {
        char log[8192] = "";
        FILE *lf = fopen(log_path, "r");
        if (lf) {
            size_t n = fread(log, 1, sizeof log - 1, lf);
            log[n] = '\0';
            fclose(lf);
        }
        r->metrics_port = port_after(log, "metrics (http)");
        r->port = port_after(log, tls ? "captive portal check (http)" : "relay (http)");
        r->tls_port = tls ? port_after(log, "relay (https)") : 0;
        if (r->metrics_port && r->port && (!tls || r->tls_port)) return true;
        int st;
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            fprintf(stderr, "iroh-relay exited early:\n%s\n", log);
            r->pid = 0;
            return false;
        }
        usleep(20000);
    }
    return false;
}

/* The same with pings rare enough not to matter (clients that do not read are not dropped for
 * missing pongs during a test). */
static bool relay_start(struct relay_proc *r, const char *config, bool tls)
{
    return relay_start_pinging(r, config, tls, 60000);
}

/* Stops the relay with SIGTERM; it must exit 0 (it stayed healthy). */
static void relay_stop(struct relay_proc *r)
{
    if (r->pid <= 0) return;
    kill(r->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < WAIT / 10; i++) {
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
            r->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, &st, 0);
    CHECK(!"iroh-relay did not stop on SIGTERM");
    r->pid = 0;
}

/* The value of a metrics counter, or -1. */
static long long metric(struct relay_proc *r, const char *name)
{
    static char out[65536];
    if (rtc_http(r->metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out,
                 WAIT) != 200)
        return -1;
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(out, key);
    return p ? atoll(p + strlen(key)) : -1;
}

static bool connect_n(struct rtc *c, struct relay_proc *r, int n)
{
    uint8_t seed[32];
    seed_of(n, seed);
    int rc = rtc_connect(c, r->port, seed, WAIT);
    CHECK_EQ_INT(rc, IROH_OK);
    return rc == IROH_OK;
}

static void send_datagram(struct rtc *from, const struct rtc *to, const char *text, bool batch)
{
    struct iroh_relay_frame f = {.type = batch ? IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH
                                               : IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM,
                                 .ecn = 2,
                                 .segment_size = batch ? 3 : 0,
                                 .data = (const uint8_t *)text,
                                 .data_len = strlen(text)};
    memcpy(f.key, to->pk.bytes, IROH_KEY_LEN);
    CHECK_EQ_INT(rtc_send(from, &f), IROH_OK);
}

/* Receives the next datagram (skipping other frames but EndpointGone/Status if want_type
 * says so) and checks its source and text. */
static void expect_datagram(struct rtc *to, const struct rtc *from, const char *text, bool batch)
{
    struct iroh_relay_frame f;
    int rc = rtc_recv(to, &f, WAIT, false);
    CHECK_EQ_INT(rc, IROH_OK);
    if (rc < 0) return;
    CHECK_EQ_INT(f.type, batch ? IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH
                               : IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM);
    CHECK_EQ_MEM(f.key, from->pk.bytes, IROH_KEY_LEN);
    CHECK_EQ_INT(f.ecn, 2);
    CHECK_EQ_INT(f.segment_size, batch ? 3 : 0);
    CHECK(f.data_len == strlen(text) && memcmp(f.data, text, f.data_len) == 0);
}

static void expect_frame(struct rtc *c, enum iroh_relay_frame_type type, struct iroh_relay_frame *f)
{
    int rc = rtc_recv(c, f, WAIT, false);
    CHECK_EQ_INT(rc, IROH_OK);
    if (rc == IROH_OK) CHECK_EQ_INT(f->type, type);
}

/* A ping/pong round trip: the relay still serves this client. */
static void check_alive(struct rtc *c)
{
    struct iroh_relay_frame ping = {.type = IROH_RELAY_PING}, f;
    memcpy(ping.ping, "alive!!!", 8);
    CHECK_EQ_INT(rtc_send(c, &ping), IROH_OK);
    for (int i = 0; i < 100; i++) {
        int rc = rtc_recv(c, &f, WAIT, false);
        CHECK_EQ_INT(rc, IROH_OK);
        if (rc < 0) return;
        if (f.type == IROH_RELAY_PONG) {
            CHECK_EQ_MEM(f.ping, "alive!!!", 8);
            return;
        }
    }
    CHECK(!"no pong");
}

static void test_http_pages(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "", false)) {
        CHECK(!"relay did not start");
        return;
    }
    static char out[16384];
    CHECK_EQ_INT(
        rtc_http(r.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out, WAIT), 200);
    CHECK(strstr(out, "{\"status\":\"ok\"") != NULL);
    CHECK(strstr(out, "Strict-Transport-Security: max-age=63072000; includeSubDomains") != NULL);
    CHECK(strstr(out, "Content-Security-Policy: default-src 'none'") != NULL);
    CHECK_EQ_INT(rtc_http(r.port, "GET /ping HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 200);
    CHECK(strstr(out, "Access-Control-Allow-Origin: *") != NULL);
    CHECK_EQ_INT(rtc_http(r.port,
                          "GET /generate_204 HTTP/1.1\r\nX-Iroh-Challenge: ts_relay.x\r\n\r\n", out,
                          sizeof out, WAIT),
                 204);
    CHECK(strstr(out, "X-Iroh-Response: response ts_relay.x\r\n") != NULL);
    CHECK(strstr(out, "Content-Length") == NULL);
    CHECK_EQ_INT(rtc_http(r.port, "GET /generate_204 HTTP/1.1\r\nX-Iroh-Challenge: a b\r\n\r\n",
                          out, sizeof out, WAIT),
                 204);
    CHECK(strstr(out, "X-Iroh-Response") == NULL);
    CHECK_EQ_INT(rtc_http(r.port, "GET /robots.txt HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 200);
    CHECK(strstr(out, "User-agent: *\nDisallow: /\n") != NULL);
    CHECK_EQ_INT(rtc_http(r.port, "GET / HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 200);
    CHECK(strstr(out, "Iroh Relay") != NULL);
    CHECK_EQ_INT(rtc_http(r.port, "GET /nothing HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 404);
    CHECK_EQ_INT(rtc_http(r.port, "GET /derp HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 404);
    /* Upgrade refusals (spec §1.2). */
    CHECK_EQ_INT(
        rtc_http(r.port,
                 "GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
                 "Sec-WebSocket-Version: 12\r\nSec-WebSocket-Protocol: iroh-relay-v2\r\n\r\n",
                 out, sizeof out, WAIT),
        400);
    CHECK(strstr(out, "Sec-WebSocket-Version: 13\r\n") != NULL);
    CHECK_EQ_INT(
        rtc_http(r.port,
                 "GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: iroh-relay-v9\r\n\r\n",
                 out, sizeof out, WAIT),
        400);
    /* /derp is only for iroh 0.35 clients. */
    CHECK_EQ_INT(
        rtc_http(r.port,
                 "GET /derp HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: iroh-relay-v2\r\n\r\n",
                 out, sizeof out, WAIT),
        404);
    /* Garbage and an endless head are answered and closed. */
    CHECK_EQ_INT(rtc_http(r.port, "\x16\x03\x01garbage\r\n\r\n", out, sizeof out, WAIT), 400);
    static char big[20000];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    CHECK_EQ_INT(rtc_http(r.port, big, out, sizeof out, WAIT), 431);
    /* The metrics listener. */
    CHECK_EQ_INT(rtc_http(r.metrics_port, "GET /metrics HTTP/1.1\r\n\r\n", out, sizeof out, WAIT),
                 200);
    CHECK(strstr(out, "relayserver_http_connections_total ") != NULL);
    CHECK(metric(&r, "relayserver_http_connections_total") >= 13);
    relay_stop(&r);
}

static void test_forwarding(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "", false)) {
        CHECK(!"relay did not start");
        return;
    }
    struct rtc a, b;
    if (!connect_n(&a, &r, 1) || !connect_n(&b, &r, 2)) return;
    CHECK_EQ_INT(a.version, IROH_RELAY_V2);
    send_datagram(&a, &b, "hello b", false);
    expect_datagram(&b, &a, "hello b", false);
    send_datagram(&b, &a, "abcdefgh", true);
    expect_datagram(&a, &b, "abcdefgh", true);
    /* A message in three WebSocket fragments (legal, though iroh does not send them). */
    uint8_t frag[IROH_RELAY_DATAGRAM_HEADER_LEN + 9];
    size_t h = iroh_relay_datagram_header_encode(IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM, b.pk.bytes, 2,
                                                 0, frag);
    memcpy(frag + h, "fragments", 9);
    CHECK_EQ_INT(rtc_send_ws(&a, IROH_WS_BINARY, frag, 10, true), IROH_OK);
    CHECK_EQ_INT(rtc_send_ws(&a, IROH_WS_CONTINUATION, frag + 10, 20, true), IROH_OK);
    CHECK_EQ_INT(rtc_send_ws(&a, 0x80 | IROH_WS_CONTINUATION, frag + 30, sizeof frag - 30, true),
                 IROH_OK);
    expect_datagram(&b, &a, "fragments", false);
    /* To oneself works too (not special-cased). */
    send_datagram(&a, &a, "me", false);
    expect_datagram(&a, &a, "me", false);
    /* A datagram to nobody is dropped silently; a 64 KiB one passes. */
    struct rtc nobody;
    uint8_t seed[32];
    seed_of(99, seed);
    memcpy(nobody.sk.seed, seed, 32);
    iroh_secret_key_public(&nobody.sk, &nobody.pk);
    send_datagram(&a, &nobody, "lost", false);
    static char large[IROH_RELAY_MAX_PACKET_SIZE - 33 + 1];
    memset(large, 'L', sizeof large - 1);
    send_datagram(&a, &b, large, false);
    expect_datagram(&b, &a, large, false);
    check_alive(&a);
    CHECK(metric(&r, "relayserver_send_packets_dropped_total") >= 1);
    CHECK(metric(&r, "relayserver_clients") == 2);
    /* A leaves: B, which A sent to, is told. */
    rtc_close(&a);
    struct iroh_relay_frame f;
    expect_frame(&b, IROH_RELAY_ENDPOINT_GONE, &f);
    uint8_t seed1[32];
    struct iroh_secret_key sk1;
    struct iroh_public_key pk1;
    seed_of(1, seed1);
    memcpy(sk1.seed, seed1, 32);
    iroh_secret_key_public(&sk1, &pk1);
    CHECK_EQ_MEM(f.key, pk1.bytes, 32);
    check_alive(&b);
    rtc_close(&b);
    relay_stop(&r);
}

static void test_server_pings(void)
{
    struct relay_proc r;
    if (!relay_start_pinging(&r, "", false, 600)) {
        CHECK(!"relay did not start");
        return;
    }
    struct rtc a, quiet;
    if (!connect_n(&a, &r, 1) || !connect_n(&quiet, &r, 2)) return;
    /* The relay pings (every 600 ms + jitter here); answering keeps the connection. */
    struct iroh_relay_frame f;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(rtc_recv(&a, &f, WAIT, true), IROH_OK);
        CHECK_EQ_INT(f.type, IROH_RELAY_PING);
        struct iroh_relay_frame pong = {.type = IROH_RELAY_PONG};
        memcpy(pong.ping, f.ping, 8);
        CHECK_EQ_INT(rtc_send(&a, &pong), IROH_OK);
    }
    /* A client that never answers (a half-open peer looks the same) is dropped. */
    CHECK_EQ_INT(rtc_wait_closed(&quiet, WAIT), IROH_OK);
    check_alive(&a);
    rtc_close(&quiet);
    rtc_close(&a);
    relay_stop(&r);
}

static void test_duplicate_ids(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "", false)) {
        CHECK(!"relay did not start");
        return;
    }
    struct rtc a1, a2, b;
    if (!connect_n(&a1, &r, 1) || !connect_n(&b, &r, 2) || !connect_n(&a2, &r, 1)) return;
    struct iroh_relay_frame f;
    expect_frame(&a1, IROH_RELAY_STATUS, &f);
    CHECK_EQ_INT(f.status, IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED);
    send_datagram(&b, &a2, "to the new one", false);
    expect_datagram(&a2, &b, "to the new one", false);
    /* The inactive one may still send. */
    send_datagram(&a1, &b, "from the old one", false);
    expect_datagram(&b, &a1, "from the old one", false);
    /* The active one leaves: the inactive one is promoted and told. */
    rtc_close(&a2);
    expect_frame(&a1, IROH_RELAY_STATUS, &f);
    CHECK_EQ_INT(f.status, IROH_RELAY_STATUS_HEALTHY);
    send_datagram(&b, &a1, "to the old one", false);
    expect_datagram(&a1, &b, "to the old one", false);
    CHECK_EQ_INT(metric(&r, "relayserver_clients_inactive_added_total"), 1);
    /* v1 clients hear about it as Health text. */
    struct rtc v1a, v1b;
    uint8_t seed[32];
    seed_of(7, seed);
    struct rtc_opts o = {.protocols = "iroh-relay-v1"};
    CHECK_EQ_INT(rtc_open(&v1a, r.port, seed, &o, WAIT), IROH_OK);
    CHECK_EQ_INT(v1a.version, IROH_RELAY_V1);
    CHECK_EQ_INT(rtc_handshake(&v1a, WAIT, NULL, 0, NULL), IROH_OK);
    CHECK_EQ_INT(rtc_connect(&v1b, r.port, seed, WAIT), IROH_OK);
    expect_frame(&v1a, IROH_RELAY_HEALTH, &f);
    CHECK(f.data_len > 0);
    rtc_close(&v1a);
    rtc_close(&v1b);
    rtc_close(&a1);
    rtc_close(&b);
    relay_stop(&r);
}

/* One client of the given seed against relay r: the handshake result and reason. */
static int try_client(struct relay_proc *r, int n, const struct rtc_opts *o, char *reason)
{
    struct rtc c;
    uint8_t seed[32];
    seed_of(n, seed);
    reason[0] = '\0';
    int rc = rtc_open(&c, r->port, seed, o, WAIT);
    if (rc == IROH_OK) rc = rtc_handshake(&c, WAIT, reason, 128, NULL);
    if (rc == IROH_OK) check_alive(&c);
    if (rc == IROH_EPERM) CHECK_EQ_INT(rtc_wait_closed(&c, WAIT), IROH_OK);
    rtc_close(&c);
    return rc;
}

static void test_access_lists(void)
{
    char hex1[65], hex2[65], cfg[512], reason[128];
    pk_hex(1, hex1);
    pk_hex(2, hex2);
    struct relay_proc r;
    snprintf(cfg, sizeof cfg, "[access]\nallowlist = [\n  \"%s\", # one\n]\n", hex1);
    if (relay_start(&r, cfg, false)) {
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_OK);
        CHECK_EQ_INT(try_client(&r, 2, NULL, reason), IROH_EPERM);
        CHECK_EQ_STR(reason, "not authorized");
        relay_stop(&r);
    } else {
        CHECK(!"relay did not start");
    }
    snprintf(cfg, sizeof cfg, "access.denylist = [\"%s\"]\n", hex2);
    if (relay_start(&r, cfg, false)) {
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_OK);
        CHECK_EQ_INT(try_client(&r, 2, NULL, reason), IROH_EPERM);
        CHECK_EQ_STR(reason, "not authorized");
        CHECK_EQ_INT(metric(&r, "relayserver_auth_denied_total"), 1);
        relay_stop(&r);
    } else {
        CHECK(!"relay did not start");
    }
    if (relay_start(&r, "[access]\nshared_token = [\"tok-a\", 'tok b']\n", false)) {
        struct rtc_opts bearer = {.token = "tok-a"},
                        query = {.query = "?token=tok%20b", .protocols = "iroh-relay-v2"};
        struct rtc_opts wrong = {.token = "tok-c"};
        CHECK_EQ_INT(try_client(&r, 1, &bearer, reason), IROH_OK);
        CHECK_EQ_INT(try_client(&r, 1, &query, reason), IROH_OK);
        CHECK_EQ_INT(try_client(&r, 1, &wrong, reason), IROH_EPERM);
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_EPERM);
        CHECK_EQ_STR(reason, "not authorized");
        relay_stop(&r);
    } else {
        CHECK(!"relay did not start");
    }
}

/* --- the HTTP callout: a small server on a thread -------------------------------------- */

struct callout {
    int listen_fd;
    uint16_t port;
    char allow_hex[65], slow_hex[65];
    _Atomic int requests;  /* answered */
    _Atomic int in_flight; /* read, not answered yet */
    _Atomic bool bearer_seen;
    _Atomic bool release_slow; /* the slow answer may go (the relay gave up on it) */
    _Atomic bool stop;
};

struct callout_request {
    struct callout *co;
    int fd;
};

/* Answers one request: "true" for allow_hex, else "false"; for slow_hex "true" once the test
 * sets release_slow, after it saw the relay give up waiting (a fixed delay past the relay's
 * timeout would make the relay's timeout a race against this thread). */
static void *callout_answer(void *arg)
{
    struct callout_request *cr = arg;
    struct callout *co = cr->co;
    char req[4096] = "";
    size_t len = 0;
    while (len < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
        struct pollfd q = {.fd = cr->fd, .events = POLLIN};
        if (poll(&q, 1, WAIT) <= 0) break;
        ssize_t n = recv(cr->fd, req + len, sizeof req - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
        req[len] = '\0';
    }
    if (strstr(req, "POST /check HTTP/1.1\r\n") && strstr(req, "Authorization: Bearer sekrit"))
        co->bearer_seen = true;
    const char *answer = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfalse";
    if (strstr(req, co->allow_hex)) answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue";
    if (strstr(req, co->slow_hex)) {
        for (int i = 0; i < WAIT / 10 && !co->release_slow; i++)
            usleep(10000);
        answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue";
    }
    send(cr->fd, answer, strlen(answer), MSG_NOSIGNAL);
    close(cr->fd);
    free(cr);
    co->requests++;
    co->in_flight--;
    return NULL;
}

/* The callout service: one thread per request, so a slow answer holds up no other. */
static void *callout_thread(void *arg)
{
    struct callout *co = arg;
    while (!co->stop) {
        struct pollfd p = {.fd = co->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        int fd = accept(co->listen_fd, NULL, NULL);
        if (fd < 0) continue;
        struct callout_request *cr = malloc(sizeof *cr);
        pthread_t th;
        cr->co = co;
        cr->fd = fd;
        co->in_flight++;
        pthread_create(&th, NULL, callout_answer, cr);
        pthread_detach(th);
    }
    return NULL;
}

/* Waits (bounded) until every request has been answered. */
static void callout_idle(struct callout *co)
{
    for (int i = 0; i < WAIT / 10 && co->in_flight > 0; i++)
        usleep(10000);
    CHECK_EQ_INT(co->in_flight, 0);
}

static void test_access_callout(void)
{
    struct callout co = {0};
    co.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK(bind(co.listen_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(co.listen_fd, 16) == 0);
    getsockname(co.listen_fd, (struct sockaddr *)&sa, &sl);
    co.port = ntohs(sa.sin_port);
    pk_hex(1, co.allow_hex);
    pk_hex(3, co.slow_hex);
    pthread_t th;
    pthread_create(&th, NULL, callout_thread, &co);
    char cfg[512], reason[128];
    /* The relay's callout timeout is what a prompt answer (from a thread of this process, on a
     * busy machine) must beat, and what the held one runs into. */
    snprintf(cfg, sizeof cfg,
             "[access.http]\nurl = \"http://127.0.0.1:%u/check\"\nbearer_token = \"sekrit\"\n"
             "timeout_ms = 2000\n",
             co.port);
    struct relay_proc r;
    if (relay_start(&r, cfg, false)) {
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_OK);
        CHECK_EQ_INT(try_client(&r, 2, NULL, reason), IROH_EPERM);
        CHECK_EQ_STR(reason, "not authorized");
        CHECK_EQ_INT(try_client(&r, 3, NULL, reason), IROH_EPERM); /* too late */
        CHECK(co.bearer_seen);
        co.release_slow = true;
        callout_idle(&co);
        CHECK_EQ_INT(co.requests, 3);
        relay_stop(&r);
    } else {
        CHECK(!"relay did not start");
    }
    /* At most max_pending callouts at once: while the slow one waits, another client is
     * denied without asking; once it is over, that client gets in. The other client's handshake
     * must reach the relay within the timeout of the slow callout. */
    co.release_slow = false;
    snprintf(cfg, sizeof cfg,
             "[access.http]\nurl = \"http://127.0.0.1:%u/check\"\ntimeout_ms = 3000\n"
             "max_pending = 1\n",
             co.port);
    if (relay_start(&r, cfg, false)) {
        struct rtc slow;
        struct iroh_relay_frame f, auth;
        uint8_t seed[32];
        seed_of(3, seed);
        CHECK_EQ_INT(rtc_open(&slow, r.port, seed, NULL, WAIT), IROH_OK);
        expect_frame(&slow, IROH_RELAY_SERVER_CHALLENGE, &f);
        iroh_relay_client_auth_make(&slow.sk, f.challenge, &auth);
        CHECK_EQ_INT(rtc_send(&slow, &auth), IROH_OK);
        for (int i = 0; i < WAIT / 10 && co.in_flight == 0; i++) /* the slow callout waits */
            usleep(10000);
        CHECK_EQ_INT(co.in_flight, 1);
        int requests = co.requests;
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_EPERM);
        CHECK_EQ_INT(co.requests + co.in_flight, requests + 1); /* denied without a callout */
        expect_frame(&slow, IROH_RELAY_SERVER_DENIES_AUTH, &f); /* its callout timed out */
        co.release_slow = true;
        rtc_close(&slow);
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_OK);
        callout_idle(&co);
        relay_stop(&r);
    } else {
        CHECK(!"relay did not start");
    }
    /* A callout URL where nobody listens denies. */
    close(co.listen_fd);
    co.stop = 1;
    pthread_join(th, NULL);
    snprintf(cfg, sizeof cfg, "[access.http]\nurl = \"http://127.0.0.1:%u/check\"\n", co.port);
    if (relay_start(&r, cfg, false)) {
        CHECK_EQ_INT(try_client(&r, 1, NULL, reason), IROH_EPERM);
        relay_stop(&r);
    }
}

static void test_bad_signature_and_frames(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "", false)) {
        CHECK(!"relay did not start");
        return;
    }
    uint8_t seed[32];
    seed_of(1, seed);
    struct rtc c;
    struct iroh_relay_frame f;
    /* A ClientAuth signed over the wrong challenge. */
    CHECK_EQ_INT(rtc_open(&c, r.port, seed, NULL, WAIT), IROH_OK);
    expect_frame(&c, IROH_RELAY_SERVER_CHALLENGE, &f);
    f.challenge[0] ^= 1;
    struct iroh_relay_frame auth;
    iroh_relay_client_auth_make(&c.sk, f.challenge, &auth);
    CHECK_EQ_INT(rtc_send(&c, &auth), IROH_OK);
    expect_frame(&c, IROH_RELAY_SERVER_DENIES_AUTH, &f);
    CHECK(f.data_len == 17 && memcmp(f.data, "signature invalid", 17) == 0);
    CHECK_EQ_INT(rtc_wait_closed(&c, WAIT), IROH_OK);
    rtc_close(&c);
    /* Frames a client may not send, each on a fresh registered connection. */
    const uint8_t bad_frames[][3] = {
        {IROH_RELAY_SERVER_CONFIRMS_AUTH}, {IROH_RELAY_STATUS, 0}, {0x3f}, {IROH_RELAY_PING, 1, 2}};
    const size_t lens[] = {1, 2, 1, 3};
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ_INT(rtc_connect(&c, r.port, seed, WAIT), IROH_OK);
        CHECK_EQ_INT(rtc_send_ws(&c, 0x82, bad_frames[i], lens[i], true), IROH_OK);
        CHECK_EQ_INT(rtc_wait_closed(&c, WAIT), IROH_OK);
        rtc_close(&c);
    }
    /* WebSocket abuse: unmasked, RSV bits, an oversized frame, a huge declared length. */
    const uint8_t ping[] = {IROH_RELAY_PING, 1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(rtc_connect(&c, r.port, seed, WAIT), IROH_OK);
        if (i == 0) CHECK_EQ_INT(rtc_send_ws(&c, 0x82, ping, sizeof ping, false), IROH_OK);
        if (i == 1) CHECK_EQ_INT(rtc_send_ws(&c, 0xc2, ping, sizeof ping, true), IROH_OK);
        if (i == 2) {
            static uint8_t big[IROH_RELAY_MAX_PACKET_SIZE + 100];
            big[0] = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM;
            CHECK_EQ_INT(rtc_send_ws(&c, 0x82, big, sizeof big, true), IROH_OK);
        }
        if (i == 3) {
            const uint8_t hdr[] = {0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
            CHECK_EQ_INT(rtc_send_raw(&c, hdr, sizeof hdr), IROH_OK);
        }
        CHECK_EQ_INT(rtc_wait_closed(&c, WAIT), IROH_OK);
        rtc_close(&c);
    }
    /* Bytes pipelined before the 101 get the connection dropped (as upstream). */
    struct rtc other;
    CHECK_EQ_INT(rtc_connect(&other, r.port, seed, WAIT), IROH_OK);
    check_alive(&other);
    rtc_close(&other);
    CHECK(metric(&r, "relayserver_http_connections_errored_total") >= 8);
    relay_stop(&r);
}

static void test_floods_and_slow_clients(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "[limits.client]\nqueue_frames = 64\n", false)) {
        CHECK(!"relay did not start");
        return;
    }
    /* 200 connections that never finish: silent, half a head, upgraded but never authed. */
    enum { FLOOD = 200 };
    static struct rtc flood[FLOOD];
    uint8_t seed[32];
    for (int i = 0; i < FLOOD; i++) {
        seed_of(100 + i % 50, seed);
        if (i % 3 == 0) {
            CHECK_EQ_INT(rtc_open(&flood[i], r.port, seed, NULL, WAIT), IROH_OK);
        } else {
            memset(&flood[i], 0, sizeof flood[i]);
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(r.port)};
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            flood[i].fd = socket(AF_INET, SOCK_STREAM, 0);
            CHECK(connect(flood[i].fd, (struct sockaddr *)&sa, sizeof sa) == 0);
            if (i % 3 == 1) rtc_send_raw(&flood[i], "GET /relay HTTP/1.1\r\nHost", 25);
        }
    }
    /* Meanwhile a real pair works. */
    struct rtc a, b;
    if (!connect_n(&a, &r, 1) || !connect_n(&b, &r, 2)) return;
    send_datagram(&a, &b, "through the flood", false);
    expect_datagram(&b, &a, "through the flood", false);
    for (int i = 0; i < FLOOD; i++) {
        CHECK_EQ_INT(rtc_wait_closed(&flood[i], WAIT), IROH_OK);
        rtc_close(&flood[i]);
    }
    /* B stops reading while A floods it: datagrams beyond B's queue are dropped and B,
     * which makes no progress, is dropped; A is unaffected. */
    static char chunk[60000];
    memset(chunk, 'x', sizeof chunk - 1);
    int sent = 0;
    for (; sent < 400; sent++) {
        struct iroh_relay_frame f = {.type = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM,
                                     .data = (const uint8_t *)chunk,
                                     .data_len = sizeof chunk - 1};
        memcpy(f.key, b.pk.bytes, 32);
        if (rtc_send(&a, &f) < 0) break;
        if (sent % 20 == 0) check_alive(&a);
    }
    CHECK_EQ_INT(sent, 400);
    CHECK(metric(&r, "relayserver_send_packets_dropped_total") > 0);
    /* B still reads nothing; the relay gives up on it (its writes make no progress). */
    long long clients = -1;
    for (int i = 0; i < WAIT / 50 && (clients = metric(&r, "relayserver_clients")) != 1; i++)
        usleep(50000);
    CHECK_EQ_INT(clients, 1);
    CHECK_EQ_INT(rtc_wait_closed(&b, WAIT), IROH_OK);
    check_alive(&a);
    struct rtc c;
    if (connect_n(&c, &r, 3)) {
        send_datagram(&c, &a, "after the storm", false);
        expect_datagram(&a, &c, "after the storm", false);
        rtc_close(&c);
    }
    rtc_close(&a);
    rtc_close(&b);
    relay_stop(&r);
}

/* Before authentication a message in WebSocket fragments may not grow past a handshake frame's
 * worth (the server closes with 1009 at once instead of holding a 64 KiB buffer for it), and
 * WebSocket Pings from a client that does not read are answered only within the control queue
 * (the rest dropped and counted) instead of queueing Pongs without bound. */
static void test_ws_fragments_and_pings(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "[limits.client]\nqueue_frames = 16\n", false)) {
        CHECK(!"relay did not start");
        return;
    }
    uint8_t seed[32];
    seed_of(7, seed);
    struct rtc c;
    CHECK_EQ_INT(rtc_open(&c, r.port, seed, NULL, WAIT), IROH_OK);
    size_t len;
    CHECK_EQ_INT(rtc_recv_message(&c, &len, WAIT), IROH_OK); /* the challenge */
    static uint8_t piece[1500];
    memset(piece, 0xab, sizeof piece);
    piece[0] = IROH_RELAY_CLIENT_AUTH;
    CHECK_EQ_INT(rtc_send_ws(&c, IROH_WS_BINARY, piece, sizeof piece, true), IROH_OK);
    CHECK_EQ_INT(rtc_send_ws(&c, IROH_WS_CONTINUATION, piece, sizeof piece, true), IROH_OK);
    memset(c.msg, 0, sizeof c.msg);
    CHECK_EQ_INT(rtc_recv_message(&c, &len, WAIT), IROH_ECLOSED);
    CHECK_EQ_INT(c.msg[0] << 8 | c.msg[1], IROH_WS_CLOSE_TOO_BIG); /* a Close, not a timeout */
    rtc_close(&c);

    /* A registered client sends WebSocket Pings and never reads. */
    struct rtc a, b;
    if (!connect_n(&a, &r, 1) || !connect_n(&b, &r, 2)) return;
    enum { PER_SEND = 1000, PING_FRAME = 2 + 4 + IROH_WS_MAX_CONTROL_PAYLOAD };
    static uint8_t pings[PER_SEND * PING_FRAME];
    for (size_t i = 0; i < PER_SEND; i++) {
        uint8_t *f = pings + i * PING_FRAME, mask[4] = {1, 2, 3, 4};
        size_t h = iroh_ws_encode_header(f, true, IROH_WS_PING, IROH_WS_MAX_CONTROL_PAYLOAD, mask);
        memset(f + h, 'p', IROH_WS_MAX_CONTROL_PAYLOAD);
        iroh_ws_mask(f + h, IROH_WS_MAX_CONTROL_PAYLOAD, mask, 0);
    }
    long long dropped = 0;
    for (int i = 0; i < 400 && dropped <= 0; i++) { /* at most 52 MB of Pings */
        if (rtc_send_raw(&a, pings, sizeof pings) < 0) break;
        if (i % 20 == 19) dropped = metric(&r, "relayserver_other_packets_dropped_total");
    }
    if (dropped <= 0) dropped = metric(&r, "relayserver_other_packets_dropped_total");
    CHECK(dropped > 0);
    check_alive(&b);
    rtc_close(&a);
    rtc_close(&b);
    relay_stop(&r);
}

static void test_rate_limit(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "[limits.client.rx]\nbytes_per_second = 20000\nmax_burst_bytes = 4000\n",
                     false)) {
        CHECK(!"relay did not start");
        return;
    }
    struct rtc a, b;
    if (!connect_n(&a, &r, 1) || !connect_n(&b, &r, 2)) return;
    static char chunk[2000];
    memset(chunk, 'r', sizeof chunk - 1);
    for (int i = 0; i < 5; i++)
        send_datagram(&a, &b, chunk, false);
    struct iroh_relay_frame f;
    for (int i = 0; i < 100; i++) {
        int rc = rtc_recv(&a, &f, WAIT, false);
        CHECK_EQ_INT(rc, IROH_OK);
        if (rc < 0 || f.type == IROH_RELAY_STATUS) break;
    }
    CHECK_EQ_INT(f.type, IROH_RELAY_STATUS);
    CHECK_EQ_INT(f.status, IROH_RELAY_STATUS_RATE_LIMITED);
    /* Everything still arrives, later. */
    for (int i = 0; i < 5; i++)
        expect_datagram(&b, &a, chunk, false);
    CHECK_EQ_INT(metric(&r, "relayserver_conns_rx_ratelimited_total_total"), 1);
    rtc_close(&a);
    rtc_close(&b);
    relay_stop(&r);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* accept_conn_limit: 1 connection a second with a burst of 3: of 6 at once, 3 are served
 * and the rest closed before any answer (the metrics port is not limited). */
static void test_accept_limit(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "[limits]\naccept_conn_limit = 1\naccept_conn_burst = 3\n", false)) {
        CHECK(!"relay did not start");
        return;
    }
    static char out[4096];
    int served = 0;
    int64_t start = monotonic_ms();
    for (int i = 0; i < 6; i++)
        served += rtc_http(r.port, "GET /ping HTTP/1.1\r\n\r\n", out, sizeof out, WAIT) == 200;
    int64_t took = monotonic_ms() - start;
    /* a token comes back each second the six take (one at most on a machine that is not busy) */
    if (served < 3 || served > 4 + took / 1000)
        fprintf(stderr, "%d of 6 served in %lld ms\n", served, (long long)took);
    CHECK(served >= 3 && served <= 4 + took / 1000);
    CHECK_EQ_INT(metric(&r, "relayserver_accepts_ratelimited_total"), 6 - served);
    usleep(1100 * 1000); /* a second refills a token */
    CHECK_EQ_INT(rtc_http(r.port, "GET /ping HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 200);
    relay_stop(&r);
}

static void test_tls(void)
{
    char cmd[1200], cert[400], key[400];
    snprintf(cert, sizeof cert, "%s/cert.pem", base_dir);
    snprintf(key, sizeof key, "%s/key.pem", base_dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=localhost -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    if (system(cmd) != 0) {
        printf("SKIP test_tls: openssl cannot make a certificate\n");
        return;
    }
    char cfg[1200];
    snprintf(cfg, sizeof cfg,
             "[tls]\nhttps_bind_addr = \"127.0.0.1:0\"\ncert_mode = \"Manual\"\n"
             "manual_cert_path = \"%s\"\nmanual_key_path = \"%s\"\n",
             cert, key);
    struct relay_proc r;
    if (!relay_start(&r, cfg, true)) {
        CHECK(!"relay did not start");
        return;
    }
    uint8_t seed_a[32], seed_b[32];
    seed_of(1, seed_a);
    seed_of(2, seed_b);
    struct rtc a, b;
    struct rtc_opts ekm = {.tls = true, .ekm = true}, plain_tls = {.tls = true};
    bool challenged = true;
    /* The keying-material header skips the challenge; without it there is one. */
    CHECK_EQ_INT(rtc_open(&a, r.tls_port, seed_a, &ekm, WAIT), IROH_OK);
    CHECK_EQ_INT(rtc_handshake(&a, WAIT, NULL, 0, &challenged), IROH_OK);
    CHECK(!challenged);
    CHECK_EQ_INT(rtc_open(&b, r.tls_port, seed_b, &plain_tls, WAIT), IROH_OK);
    CHECK_EQ_INT(rtc_handshake(&b, WAIT, NULL, 0, &challenged), IROH_OK);
    CHECK(challenged);
    send_datagram(&a, &b, "over tls", false);
    expect_datagram(&b, &a, "over tls", false);
    send_datagram(&b, &a, "and back", true);
    expect_datagram(&a, &b, "and back", true);
    check_alive(&a);
    /* Garbage instead of a TLS handshake is dropped; the relay goes on. */
    struct rtc junk;
    memset(&junk, 0, sizeof junk);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(r.tls_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    junk.fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(junk.fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK_EQ_INT(rtc_send_raw(&junk, "GET / HTTP/1.1\r\n\r\n", 18), IROH_OK);
    CHECK_EQ_INT(rtc_wait_closed(&junk, WAIT), IROH_OK);
    rtc_close(&junk);
    check_alive(&b);
    /* The plain port only answers the captive portal check. */
    static char out[8192];
    CHECK_EQ_INT(rtc_http(r.port, "GET /generate_204 HTTP/1.1\r\n\r\n", out, sizeof out, WAIT),
                 204);
    CHECK_EQ_INT(rtc_http(r.port, "GET /relay HTTP/1.1\r\n\r\n", out, sizeof out, WAIT), 404);
    rtc_close(&a);
    rtc_close(&b);
    relay_stop(&r);
}

/* An iroh 0.35 client of the given seed and framing, after its ClientInfo. */
static bool open035(struct rtc *c, struct relay_proc *r, int n, bool derp)
{
    uint8_t seed[32], info[IROH_RELAY035_CLIENT_INFO_LEN];
    seed_of(n, seed);
    struct rtc_opts o = {.v035_derp = derp, .v035_ws = !derp};
    int rc = rtc_open(c, r->port, seed, &o, WAIT);
    CHECK_EQ_INT(rc, IROH_OK);
    if (rc < 0) return false;
    CHECK_EQ_INT(c->version, IROH_RELAY_V035);
    iroh_relay035_client_info_make(&c->sk, info);
    return rtc_send_message(c, info, sizeof info) == IROH_OK;
}

static void send035(struct rtc *from, const struct rtc *to, const char *text)
{
    uint8_t frame[256];
    frame[0] = IROH_RELAY035_SEND_PACKET;
    memcpy(frame + 1, to->pk.bytes, 32);
    memcpy(frame + 33, text, strlen(text));
    CHECK_EQ_INT(rtc_send_message(from, frame, 33 + strlen(text)), IROH_OK);
}

/* The next 0.35 frame of the given type (skipping the relay's pings). */
static size_t expect035(struct rtc *c, uint8_t type)
{
    for (int i = 0; i < 100; i++) {
        size_t len = 0;
        int rc = rtc_recv_message(c, &len, WAIT);
        CHECK_EQ_INT(rc, IROH_OK);
        if (rc < 0) return 0;
        if (c->msg[0] == IROH_RELAY035_PING && type != IROH_RELAY035_PING) continue;
        CHECK_EQ_INT(c->msg[0], type);
        return len;
    }
    return 0;
}

static void test_v035(void)
{
    struct relay_proc r;
    if (!relay_start(&r, "", false)) {
        CHECK(!"relay did not start");
        return;
    }
    struct rtc a, b, a2, bad;
    if (!open035(&a, &r, 1, true) || !open035(&b, &r, 2, false)) return;
    /* derp framing to WebSocket and back. */
    send035(&a, &b, "from a, derp");
    size_t len = expect035(&b, IROH_RELAY035_RECV_PACKET);
    CHECK(len == 33 + 12 && memcmp(b.msg + 1, a.pk.bytes, 32) == 0 &&
          memcmp(b.msg + 33, "from a, derp", 12) == 0);
    send035(&b, &a, "from b, ws");
    len = expect035(&a, IROH_RELAY035_RECV_PACKET);
    CHECK(len == 33 + 10 && memcmp(a.msg + 1, b.pk.bytes, 32) == 0 &&
          memcmp(a.msg + 33, "from b, ws", 10) == 0);
    /* Ping 12 → Pong 13; KeepAlive and NotePreferred are ignored. */
    const uint8_t keepalive[] = {IROH_RELAY035_KEEP_ALIVE}, preferred[] = {7, 1};
    CHECK_EQ_INT(rtc_send_message(&a, keepalive, 1), IROH_OK);
    CHECK_EQ_INT(rtc_send_message(&a, preferred, 2), IROH_OK);
    const uint8_t ping[] = {IROH_RELAY035_PING, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_EQ_INT(rtc_send_message(&a, ping, sizeof ping), IROH_OK);
    len = expect035(&a, IROH_RELAY035_PONG);
    CHECK(len == 9 && memcmp(a.msg + 1, ping + 1, 8) == 0);
    /* A 1.x client shares no table with 0.35 clients: its datagram to a is dropped. */
    long long dropped = metric(&r, "relayserver_send_packets_dropped_total");
    struct rtc c;
    if (connect_n(&c, &r, 3)) {
        send_datagram(&c, &a, "wrong generation", false);
        check_alive(&c);
        CHECK_EQ_INT(metric(&r, "relayserver_send_packets_dropped_total"), dropped + 1);
        rtc_close(&c);
    }
    /* b leaves: a, which sent to it, gets NodeGone(b). */
    rtc_close(&b);
    len = expect035(&a, IROH_RELAY035_NODE_GONE);
    CHECK(len == 33 && memcmp(a.msg + 1, b.pk.bytes, 32) == 0);
    /* The same id again replaces the first connection. */
    if (open035(&a2, &r, 1, false)) {
        CHECK_EQ_INT(rtc_wait_closed(&a, WAIT), IROH_OK);
        CHECK_EQ_INT(rtc_send_message(&a2, ping, sizeof ping), IROH_OK);
        expect035(&a2, IROH_RELAY035_PONG);
        rtc_close(&a2);
    }
    rtc_close(&a);
    /* A bad signature: Health "not authenticated", then the end. */
    uint8_t seed[32], info[IROH_RELAY035_CLIENT_INFO_LEN];
    seed_of(4, seed);
    struct rtc_opts derp = {.v035_derp = true};
    CHECK_EQ_INT(rtc_open(&bad, r.port, seed, &derp, WAIT), IROH_OK);
    iroh_relay035_client_info_make(&bad.sk, info);
    info[50] ^= 1;
    CHECK_EQ_INT(rtc_send_message(&bad, info, sizeof info), IROH_OK);
    len = expect035(&bad, IROH_RELAY035_HEALTH);
    CHECK(len == 18 && memcmp(bad.msg + 1, "not authenticated", 17) == 0);
    CHECK_EQ_INT(rtc_wait_closed(&bad, WAIT), IROH_OK);
    rtc_close(&bad);
    relay_stop(&r);
}

/* iroh-relay refuses a broken config file with exit status 2 and says where. */
static void test_config_errors(void)
{
    const char *bad[][2] = {
        {"access = \"somebody\"\n", "relay.toml:1"},
        {"[access]\nallowlist = [\"not-an-id\"]\n", "not an endpoint id"},
        {"\n\nno_such_key = 1\n", "relay.toml:3: unknown key no_such_key"},
        {"[access]\nshared_token = []\n", "must not be empty"},
        {"enable_quic_addr_discovery = true\n", "not supported"},
        {"[tls]\ncert_mode = \"LetsEncrypt\"\n", "only \"Manual\""},
        {"http_bind_addr = \"nowhere\"\n", "bad listen address"},
        {"[access.http]\nurl = \"https://x/\"\n", "must start with http://"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dir[400], cfg[450], log[450];
        snprintf(dir, sizeof dir, "%s/config-%zu", base_dir, i);
        mkdir(dir, 0700);
        snprintf(cfg, sizeof cfg, "%s/relay.toml", dir);
        snprintf(log, sizeof log, "%s/relay.log", dir);
        FILE *f = fopen(cfg, "w");
        if (!f) continue;
        fputs(bad[i][0], f);
        fclose(f);
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 2);
            execl(IROH_RELAY_BIN, "iroh-relay", "-c", cfg, "--metrics-bind", "127.0.0.1:0",
                  (char *)NULL);
            _exit(127);
        }
        int st = -1;
        for (int t = 0; t < WAIT / 10 && waitpid(pid, &st, WNOHANG) == 0; t++)
            usleep(10000);
        if (!WIFEXITED(st)) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        char text[2048] = "";
        FILE *lf = fopen(log, "r");
        if (lf) {
            text[fread(text, 1, sizeof text - 1, lf)] = '\0';
            fclose(lf);
        }
        bool ok = WIFEXITED(st) && WEXITSTATUS(st) != 0 && strstr(text, bad[i][1]) != NULL;
        if (!ok) fprintf(stderr, "config %zu: status %d, said: %s\n", i, st, text);
        CHECK(ok);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ_INT(iroh_keys_init(), IROH_OK);
    tmpdir_make(base_dir, sizeof base_dir, "relay-test");
    RUN(test_http_pages);
    RUN(test_forwarding);
    RUN(test_server_pings);
    RUN(test_duplicate_ids);
    RUN(test_access_lists);
    RUN(test_access_callout);
    RUN(test_bad_signature_and_frames);
    RUN(test_floods_and_slow_clients);
    RUN(test_ws_fragments_and_pings);
    RUN(test_rate_limit);
    RUN(test_accept_limit);
    RUN(test_tls);
    RUN(test_v035);
    RUN(test_config_errors);
    int failed = TEST_SUMMARY();
    if (!failed) {
        if (rm_rf(base_dir) != 0) fprintf(stderr, "could not remove %s\n", base_dir);
    } else {
        fprintf(stderr, "relay logs kept in %s\n", base_dir);
    }
    return failed;
}
