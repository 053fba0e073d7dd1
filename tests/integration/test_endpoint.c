/* test_endpoint.c — irohd's QUIC endpoint in one process: two endpoints on one libuv loop over
 * real UDP sockets on 127.0.0.1 (and ::1 when the host has it). Echo on one and several
 * streams, the transport parameters each side receives (so what each sends: nothing iroh must
 * not see), a dial fanned out to a dead and a live address, the wrong id, no common ALPN, no
 * usable address, garbage datagrams, an echo through a forwarder that drops 1 datagram in 20
 * (it completes, and the loss counters see it), and stopping with connections open.
 * Every wait is bounded by a deadline on the loop. */
#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/endpoint_echo.h"
#include "daemon/log.h"
#include "tests/integration/echo_wait.h"
#include "tests/integration/loop_wait.h"
#include "tests/test.h"

static uv_loop_t loop;

struct node {
    struct endpoint *ep;
    struct iroh_public_key id;
    struct iroh_endpoint_addr addr;
};

static const char *bind_list;

static void node_start(struct node *n)
{
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    iroh_secret_key_public(&sk, &n->id);
    struct endpoint_options options = {.secret = &sk, .bind = bind_list};
    char err[256] = "";
    int rc = endpoint_start(&loop, &options, &n->ep, err, sizeof err);
    if (rc < 0) fprintf(stderr, "endpoint_start: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    endpoint_addr(n->ep, &n->addr);
    CHECK(n->addr.ip_count >= 1);
}

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

static void node_stop(struct node *n)
{
    bool stopped = false;
    endpoint_stop(n->ep, set_true, &stopped);
    CHECK(loop_run_until(&loop, &stopped, 5000));
}

/* ---- echo ------------------------------------------------------------------------------------ */

static struct echo_outcome echo(struct node *from, const struct iroh_endpoint_addr *to,
                                size_t bytes, unsigned streams, const char *alpn,
                                unsigned timeout_ms)
{
    struct echo_request req = {
        .addr = to, .alpn = alpn, .bytes = bytes, .streams = streams, .timeout_ms = timeout_ms};
    return echo_run(&loop, from->ep, &req);
}

/* ---- the transport parameters each side received, from the debug log ------------------------- */

static char peer_params[2][1024];
static int params_seen;

static void capture_log(const struct log_event *ev, void *ctx)
{
    (void)ctx;
    const char *marker = strstr(ev->message, "peer transport parameters: ");
    if (!marker || params_seen >= 2) return;
    snprintf(peer_params[params_seen++], sizeof peer_params[0], " %s ",
             marker + strlen("peer transport parameters: "));
}

/* Checks one side's parameters: our profile, and none of what iroh must not see. */
static void check_params(const char *p, bool from_server)
{
    static const char *const present[] = {" 0x1=30000 ",   " 0x3=1472 ",    " 0x4=10000000 ",
                                          " 0x5=1250000 ", " 0x6=1250000 ", " 0x7=1250000 ",
                                          " 0x8=100 ",     " 0x9=100 ",     " 0xe=5 ",
                                          " 0xf:",         " 0x20=65535 "};
    static const char *const absent[] = {" 0x2ab2",     " 0xff73db",   " 0x3e=", " 0x3d7f91120401",
                                         " 0x9f81a176", " 0xff04de1b", " 0xc:",  " 0x11:"};
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++) {
        if (!strstr(p, present[i])) fprintf(stderr, "missing%s in%s\n", present[i], p);
        CHECK(strstr(p, present[i]) != NULL);
    }
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        if (strstr(p, absent[i])) fprintf(stderr, "unexpected%s in%s\n", absent[i], p);
        CHECK(strstr(p, absent[i]) == NULL);
    }
    /* only a server sends original_destination_connection_id and a stateless reset token */
    CHECK((strstr(p, " 0x0:") != NULL) == from_server);
    CHECK((strstr(p, " 0x2:") != NULL) == from_server);
}

static void test_echo_and_params(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    CHECK_EQ_INT(echo_serve(b.ep), 0);
    CHECK_EQ_INT(echo_serve(b.ep), IROH_EEXIST);

    params_seen = 0;
    log_set_sink(capture_log, NULL, LOG_DEBUG);
    struct echo_outcome o = echo(&a, &b.addr, 1 << 20, 1, NULL, 20000);
    log_set_sink(NULL, NULL, LOG_ERROR);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, 1 << 20);
    CHECK_EQ_MEM(o.r.remote.bytes, b.id.bytes, IROH_KEY_LEN);
    CHECK(o.r.path[0] != '\0');

    /* the server reads the client's parameters (ClientHello), then the client the server's */
    CHECK_EQ_INT(params_seen, 2);
    check_params(peer_params[0], false);
    check_params(peer_params[1], true);

    /* several streams at once on one connection, and an empty echo */
    o = echo(&a, &b.addr, 300 * 1000, 8, NULL, 20000);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, 8 * 300 * 1000);
    o = echo(&a, &b.addr, 0, 2, NULL, 20000);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, 0);

    node_stop(&a);
    node_stop(&b);
}

/* A dial tries every address at once: a dead one does not get in the way. */
static void test_fan_out(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    echo_serve(b.ep);
    struct iroh_endpoint_addr to = b.addr;
    struct iroh_socket_addr dead = b.addr.ips[0];
    dead.port = dead.port == 1 ? 2 : 1; /* nothing listens on UDP port 1 or 2 */
    CHECK(iroh_endpoint_addr_add_ip(&to, &dead) == 1);
    struct echo_outcome o = echo(&a, &to, 100000, 1, NULL, 20000);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, 100000);
    char want[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_socket_addr_format(&b.addr.ips[0], want, sizeof want);
    bool on_live = false;
    for (size_t i = 0; i < b.addr.ip_count; i++) {
        iroh_socket_addr_format(&b.addr.ips[i], want, sizeof want);
        on_live |= strcmp(o.r.path, want) == 0;
    }
    CHECK(on_live);
    node_stop(&a);
    node_stop(&b);
}

/* TLS refuses a server whose key is not the dialed id, and a peer without our ALPN. */
static void test_refusals(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    echo_serve(b.ep);

    struct iroh_endpoint_addr wrong = b.addr;
    struct iroh_secret_key other;
    iroh_secret_key_generate(&other);
    iroh_secret_key_public(&other, &wrong.id);
    struct echo_outcome o = echo(&a, &wrong, 10, 1, NULL, 10000);
    CHECK_EQ_INT(o.r.status, IROH_EPROTO);
    CHECK(strstr(o.r.why, "alert 42") != NULL); /* bad_certificate, sent by us */

    o = echo(&a, &b.addr, 10, 1, "iroh-other/0", 10000);
    CHECK_EQ_INT(o.r.status, IROH_EPROTO);
    CHECK(strstr(o.r.why, "alert 120") != NULL);

    /* nothing to dial, dialing ourselves, bad requests: refused at once */
    struct iroh_endpoint_addr none;
    iroh_endpoint_addr_init(&none, &b.id);
    CHECK_EQ_INT(echo(&a, &none, 10, 1, NULL, 1000).r.status, IROH_ENOTFOUND);
    CHECK_EQ_INT(echo(&a, &a.addr, 10, 1, NULL, 1000).r.status, IROH_EINVAL);
    CHECK_EQ_INT(echo(&a, &b.addr, 10, 0, NULL, 1000).r.status, IROH_EINVAL);
    CHECK_EQ_INT(echo(&a, &b.addr, 10, 1, "", 1000).r.status, IROH_EINVAL);

    /* b still works after all that */
    o = echo(&a, &b.addr, 1000, 1, NULL, 10000);
    CHECK_EQ_INT(o.r.status, 0);
    node_stop(&a);
    node_stop(&b);
}

/* Datagrams that are not QUIC for us are dropped without harm. */
static void test_garbage(void)
{
    struct node b, a;
    node_start(&b);
    node_start(&a);
    echo_serve(b.ep);
    uv_udp_t sender;
    uv_udp_init(&loop, &sender);
    struct sockaddr_storage to;
    quic_addr_to_sockaddr(&b.addr.ips[0], &to);
    uint8_t junk[1300];
    uint32_t x = 7;
    for (int i = 0; i < 200; i++) {
        size_t len = 1 + (size_t)i * 37 % sizeof junk;
        for (size_t k = 0; k < len; k++)
            junk[k] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
        if (i % 3 == 0) junk[0] = 0xc0; /* long header, v1 Initial shape */
        if (i % 3 == 0 && len > 5) memcpy(junk + 1, "\x00\x00\x00\x01", 4);
        uv_buf_t buf = uv_buf_init((char *)junk, (unsigned)len);
        uv_udp_try_send(&sender, &buf, 1, (const struct sockaddr *)&to);
    }
    bool never = false;
    loop_run_until(&loop, &never, 200);
    uv_close((uv_handle_t *)&sender, NULL);
    struct echo_outcome o = echo(&a, &b.addr, 5000, 1, NULL, 10000);
    CHECK_EQ_INT(o.r.status, 0);
    node_stop(&a);
    node_stop(&b);
}

/* ---- losses: a forwarder that drops datagrams ------------------------------------------------ */

/* A UDP forwarder between one client and a server that drops every drop_every-th datagram
 * (both directions counted together). */
struct lossy {
    uv_udp_t sock;
    struct sockaddr_in server, client;
    unsigned seen, drop_every, dropped;
};

static void lossy_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    (void)h;
    (void)size;
    static char mem[65536];
    *buf = uv_buf_init(mem, sizeof mem);
}

static void lossy_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
                       unsigned flags)
{
    (void)flags;
    struct lossy *l = u->data;
    if (nread <= 0 || !from || from->sa_family != AF_INET) return;
    const struct sockaddr_in *in = (const struct sockaddr_in *)from;
    bool from_server =
        in->sin_port == l->server.sin_port && in->sin_addr.s_addr == l->server.sin_addr.s_addr;
    if (!from_server) l->client = *in;
    if (++l->seen % l->drop_every == 0) {
        l->dropped++;
        return;
    }
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
    uv_udp_try_send(u, &b, 1, (const struct sockaddr *)(from_server ? &l->client : &l->server));
}

/* An echo through a path that loses 1 datagram in 20 still completes, and the loss counters
 * see it (ngtcp2 0.12 keeps no total of lost packets: quic_conn_stats says what is counted). */
static void test_losses_counted(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    echo_serve(b.ep);
    struct lossy l = {.drop_every = 20};
    const struct iroh_socket_addr *v4 = NULL;
    for (size_t i = 0; i < b.addr.ip_count && !v4; i++)
        if (b.addr.ips[i].family == IROH_IP_V4) v4 = &b.addr.ips[i];
    CHECK(v4 != NULL);
    struct sockaddr_storage ss;
    quic_addr_to_sockaddr(v4, &ss);
    memcpy(&l.server, &ss, sizeof l.server);
    uv_udp_init(&loop, &l.sock);
    l.sock.data = &l;
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ_INT(uv_udp_bind(&l.sock, (const struct sockaddr *)&any, 0), 0);
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_udp_getsockname(&l.sock, (struct sockaddr *)&bound, &len);
    uv_udp_recv_start(&l.sock, lossy_alloc, lossy_recv);

    struct iroh_endpoint_addr via;
    iroh_endpoint_addr_init(&via, &b.id);
    struct iroh_socket_addr fwd;
    quic_addr_from_sockaddr((const struct sockaddr *)&bound, &fwd);
    CHECK(iroh_endpoint_addr_add_ip(&via, &fwd) == 1);
    struct echo_outcome o = echo(&a, &via, 2 << 20, 2, NULL, 60000);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, 2 * (2 << 20));
    printf("dropped %u of %u datagrams: stream_packets_lost %llu, probe_timeouts %llu, "
           "congestion_events %llu\n",
           l.dropped, l.seen, (unsigned long long)o.r.stats.stream_packets_lost,
           (unsigned long long)o.r.stats.probe_timeouts,
           (unsigned long long)o.r.stats.congestion_events);
    CHECK(l.dropped > 0);
    CHECK(o.r.stats.stream_packets_lost > 0);
    CHECK(o.r.stats.congestion_events > 0);
    uv_close((uv_handle_t *)&l.sock, NULL);
    node_stop(&a);
    node_stop(&b);
}

static bool has_established(void *ep)
{
    struct endpoint_counts counts;
    endpoint_counts(ep, &counts);
    return counts.established > 0;
}

/* Stopping an endpoint in the middle of an echo ends it on both sides. */
static void test_stop_with_open_connection(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    echo_serve(b.ep);
    struct echo_outcome o = {0};
    struct echo_request req = {
        .addr = &b.addr, .bytes = 32 << 20, .streams = 1, .timeout_ms = 20000};
    struct echo_client *c;
    CHECK_EQ_INT(echo_client_start(&loop, a.ep, &req, echo_outcome_set, &o, &c), 0);
    /* b stops once it holds the connection (its handshake is complete, so a's is too and a
     * is sending): a fixed wait instead let a slow machine stop b mid-handshake, which ends
     * the dial some other way */
    CHECK(loop_run_until_done(&loop, has_established, b.ep, 10000));
    CHECK(!o.done);
    node_stop(&b);
    CHECK(loop_run_until(&loop, &o.done, 5000));
    CHECK_EQ_INT(o.r.status, IROH_ECLOSED);
    node_stop(&a);

    /* a dial still in progress is ended by stopping its endpoint */
    node_start(&a);
    struct iroh_endpoint_addr silent = a.addr;
    struct iroh_secret_key other;
    iroh_secret_key_generate(&other);
    iroh_secret_key_public(&other, &silent.id);
    silent.ips[0].port = silent.ips[0].port == 1 ? 2 : 1;
    silent.ip_count = 1;
    memset(&o, 0, sizeof o);
    req.addr = &silent;
    CHECK_EQ_INT(echo_client_start(&loop, a.ep, &req, echo_outcome_set, &o, &c), 0);
    node_stop(&a);
    CHECK(o.done);
    CHECK_EQ_INT(o.r.status, IROH_ECLOSED);
}

int main(void)
{
    if (iroh_keys_init() < 0) return 1;
    log_set_stderr_level(LOG_WARN);
    uv_loop_init(&loop);
    /* IPv6 loopback too when the host has it, so dials fan out over both families */
    struct node probe;
    bind_list = "127.0.0.1:0,[::1]:0";
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    struct endpoint_options options = {.secret = &sk, .bind = bind_list};
    char err[256];
    if (endpoint_start(&loop, &options, &probe.ep, err, sizeof err) < 0)
        bind_list = "127.0.0.1:0";
    else
        node_stop(&probe);
    printf("binding %s\n", bind_list);

    RUN(test_echo_and_params);
    RUN(test_fan_out);
    RUN(test_refusals);
    RUN(test_garbage);
    RUN(test_losses_counted);
    RUN(test_stop_with_open_connection);
    uv_run(&loop, UV_RUN_DEFAULT); /* every handle is closed: returns at once */
    CHECK_EQ_INT(uv_loop_close(&loop), 0);
    return TEST_SUMMARY();
}
