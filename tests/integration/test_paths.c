/* test_paths.c — the endpoint's path layer below QUIC.
 *
 * Disco, against a hand-made peer on a plain UDP socket that speaks it as iroh 0.35 does
 * (core/disco.h): a Ping is answered with a Pong naming our address; a Ping sealed for another
 * key, a tampered one and STUN get no answer; dialing sends a disco Ping to the address before
 * the QUIC Initial; a Pong to that Ping is taken quietly; dials over a trusted address skip the
 * Ping and do not hold back the Pings of other dials; in a network namespace of its own, a
 * CallMeMaybe sent over UDP from a relay path address is not taken for one from the relay.
 *
 * Relay paths, with the real iroh-relay (relay/, plain HTTP on a free loopback port): two
 * endpoints that know each other only by id and relay URL echo 1 MiB through it (the
 * connection's path is "relay:URL"), the home relay and its latency show up, and after the
 * relay is killed and started again on the same port both reconnect and echo again. With two
 * relays, the home relay moves to the other one when it dies, and our address follows; and a
 * node whose home relay is X reaches one whose home relay is Y through Y (connected on demand,
 * then listed beside X); a relay that admits token holders only lets in the node with the
 * relay token and refuses the one without. Real sockets on 127.0.0.1; every wait is bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <iroh/error.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/disco.h"
#include "core/keys.h"
#include "core/ticket.h"
#include "core/peer_map.h"
#include "core/quic_cid.h"
#include "core/quic_path.h"
#include "daemon/endpoint.h"
#include "daemon/endpoint_echo.h"
#include "daemon/log.h"
#include "tests/integration/echo_wait.h"
#include "tests/integration/loop_wait.h"
#include "tests/test.h"

static uv_loop_t loop;

/* The hand-made peer: a UDP socket on 127.0.0.1 and an identity. */
struct peer {
    int fd;
    struct iroh_socket_addr addr;
    struct iroh_secret_key sk;
    struct iroh_public_key id;
    struct iroh_disco_secret disco;
};

static void peer_open(struct peer *p)
{
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    CHECK(bind(p->fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(p->fd, (struct sockaddr *)&sin, &len) == 0);
    p->addr = (struct iroh_socket_addr){.family = IROH_IP_V4, .port = ntohs(sin.sin_port)};
    memcpy(p->addr.ip, &sin.sin_addr, 4);
    iroh_secret_key_generate(&p->sk);
    iroh_secret_key_public(&p->sk, &p->id);
    iroh_disco_secret_init(&p->disco, &p->sk);
}

static void peer_send(struct peer *p, const struct iroh_socket_addr *to, const uint8_t *data,
                      size_t len)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(to->port)};
    memcpy(&sin.sin_addr, to->ip, 4);
    CHECK(sendto(p->fd, data, len, 0, (struct sockaddr *)&sin, sizeof sin) == (ssize_t)len);
}

/* Runs the loop until the peer's socket has a datagram or timeout_ms pass; returns its length
 * (0 if none came). */
static size_t peer_receive(struct peer *p, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
    uint64_t until = uv_hrtime() + timeout_ms * 1000000ull;
    while (uv_hrtime() < until) {
        ssize_t n = recv(p->fd, buf, cap, 0);
        if (n > 0) return (size_t)n;
        uv_run(&loop, UV_RUN_NOWAIT);
        struct pollfd pfd = {p->fd, POLLIN, 0};
        poll(&pfd, 1, 5);
    }
    return 0;
}

static int seal(struct peer *from, const struct iroh_public_key *to, const struct iroh_disco_msg *m,
                uint8_t *out)
{
    struct iroh_disco_shared key;
    CHECK_EQ_INT(iroh_disco_shared_init(&key, &from->disco, to), IROH_OK);
    uint8_t nonce[IROH_DISCO_NONCE_LEN];
    randombytes_buf(nonce, sizeof nonce);
    return iroh_disco_seal(&key, &from->id, nonce, m, out, IROH_DISCO_PACKET_MAX);
}

static bool open_from(struct peer *p, const struct iroh_public_key *sender, const uint8_t *pkt,
                      size_t len, struct iroh_disco_msg *out)
{
    struct iroh_disco_shared key;
    if (iroh_disco_shared_init(&key, &p->disco, sender) != IROH_OK) return false;
    return iroh_disco_open(&key, pkt, len, out) == IROH_OK;
}

struct node {
    struct endpoint *ep;
    struct iroh_public_key id;
    struct iroh_socket_addr addr;
};

static void node_start_on(struct node *n, const char *bind)
{
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    iroh_secret_key_public(&sk, &n->id);
    struct endpoint_options options = {.secret = &sk, .bind = bind};
    char err[256] = "";
    int rc = endpoint_start(&loop, &options, &n->ep, err, sizeof err);
    if (rc < 0) fprintf(stderr, "endpoint_start: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(endpoint_bound(n->ep, &n->addr, 1), 1);
}

static void node_start(struct node *n)
{
    node_start_on(n, "127.0.0.1:0");
}

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

static void node_stop(struct node *n)
{
    bool stopped = false;
    endpoint_stop(n->ep, set_true, &stopped);
    CHECK(loop_run_until(&loop, &stopped, 10000));
}

static void test_ping_gets_pong(void)
{
    struct node n;
    struct peer p;
    node_start(&n);
    peer_open(&p);
    uint8_t pkt[2048];

    /* a STUN binding request, a Ping for someone else and a tampered Ping: no answer */
    uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    peer_send(&p, &n.addr, stun, sizeof stun);
    struct iroh_disco_msg ping = {.type = IROH_DISCO_PING, .node_key = p.id};
    memset(ping.tx_id, 7, sizeof ping.tx_id);
    struct iroh_public_key stranger;
    struct iroh_secret_key stranger_sk;
    iroh_secret_key_generate(&stranger_sk);
    iroh_secret_key_public(&stranger_sk, &stranger);
    int len = seal(&p, &stranger, &ping, pkt);
    peer_send(&p, &n.addr, pkt, (size_t)len);
    len = seal(&p, &n.id, &ping, pkt);
    pkt[len - 30] ^= 1;
    peer_send(&p, &n.addr, pkt, (size_t)len);
    CHECK_EQ_INT(peer_receive(&p, pkt, sizeof pkt, 300), 0);

    /* a good Ping: a Pong with its transaction id, naming where the Ping came from */
    memset(ping.tx_id, 9, sizeof ping.tx_id);
    len = seal(&p, &n.id, &ping, pkt);
    peer_send(&p, &n.addr, pkt, (size_t)len);
    size_t got = peer_receive(&p, pkt, sizeof pkt, 5000);
    CHECK(iroh_disco_looks_like(pkt, got));
    struct iroh_disco_msg pong;
    CHECK(open_from(&p, &n.id, pkt, got, &pong));
    CHECK_EQ_INT(pong.type, IROH_DISCO_PONG);
    CHECK_EQ_MEM(pong.tx_id, ping.tx_id, sizeof ping.tx_id);
    CHECK_EQ_STR(pong.relay_url, "");
    CHECK(iroh_socket_addr_compare(&pong.src, &p.addr) == 0);

    close(p.fd);
    node_stop(&n);
}

/* A UDP socket bound to [ip]:port (0: any); its address in *out. */
static int udp6_open(const char *ip, uint16_t port, struct iroh_socket_addr *out)
{
    int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 sin = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    CHECK(inet_pton(AF_INET6, ip, &sin.sin6_addr) == 1);
    socklen_t len = sizeof sin;
    CHECK(bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
    *out = (struct iroh_socket_addr){.family = IROH_IP_V6, .port = ntohs(sin.sin6_port)};
    memcpy(out->ip, &sin.sin6_addr, 16);
    return fd;
}

static void udp6_send(int fd, const struct iroh_socket_addr *to, const uint8_t *data, size_t len)
{
    struct sockaddr_in6 sin = {.sin6_family = AF_INET6, .sin6_port = htons(to->port)};
    memcpy(&sin.sin6_addr, to->ip, 16);
    CHECK(sendto(fd, data, len, 0, (struct sockaddr *)&sin, sizeof sin) == (ssize_t)len);
}

/* Sends a Ping with tx_id byte tx from p and reads what comes back until its Pong; returns the
 * Pings among it (opened with n's key). */
static int ping_until_pong(struct peer *p, const struct node *n, uint8_t tx)
{
    uint8_t pkt[2048];
    struct iroh_disco_msg ping = {.type = IROH_DISCO_PING, .node_key = p->id}, got;
    memset(ping.tx_id, tx, sizeof ping.tx_id);
    int len = seal(p, &n->id, &ping, pkt);
    udp6_send(p->fd, &n->addr, pkt, (size_t)len);
    int pings = 0;
    for (int i = 0; i < 16; i++) {
        size_t r = peer_receive(p, pkt, sizeof pkt, 5000);
        if (r == 0 || !open_from(p, &n->id, pkt, r, &got)) break;
        if (got.type == IROH_DISCO_PING) pings++;
        if (got.type == IROH_DISCO_PONG && memcmp(got.tx_id, ping.tx_id, sizeof got.tx_id) == 0)
            return pings;
    }
    CHECK(!"no pong");
    return pings;
}

/* Runs in a network namespace of its own whose loopback also holds [fd15:70a:510b:1::1], the
 * relay path address of the first remote the endpoint learns (slot 0, generation 1): what an
 * attacker on the link could send from. A datagram from that address over UDP is not taken
 * for one that came through the relay: a CallMeMaybe from it (heeded over a relay only) makes
 * the endpoint ping nobody. */
static void relay_block_source_body(void)
{
    CHECK(system("ip link set lo up && ip -6 addr add fd15:70a:510b:1::1/128 dev lo nodad") == 0);
    struct node n;
    node_start_on(&n, "[::1]:0");
    struct peer p;
    p.fd = udp6_open("::1", 0, &p.addr);
    iroh_secret_key_generate(&p.sk);
    iroh_secret_key_public(&p.sk, &p.id);
    iroh_disco_secret_init(&p.disco, &p.sk);
    CHECK_EQ_INT(ping_until_pong(&p, &n, 1), 0); /* p is the endpoint's first remote now */

    struct iroh_socket_addr spoof_addr;
    int spoof = udp6_open("fd15:70a:510b:1::1", IROH_PATH_SYNTHETIC_PORT, &spoof_addr);
    CHECK(iroh_peer_map_is_relay_addr(&spoof_addr));
    struct iroh_disco_msg cmm = {.type = IROH_DISCO_CALL_ME_MAYBE, .addr_count = 1};
    cmm.addrs[0] = p.addr;
    uint8_t pkt[2048];
    int len = seal(&p, &n.id, &cmm, pkt);
    udp6_send(spoof, &n.addr, pkt, (size_t)len);
    CHECK_EQ_INT(ping_until_pong(&p, &n, 2), 0); /* its datagrams came in order: no Ping */
    close(spoof);
    close(p.fd);
    node_stop(&n);
}

static void test_relay_block_source_dropped(void)
{
    int failed_before = TEST_FAILED_CHECKS; /* the child inherits the count of earlier tests */
    pid_t pid = fork();
    if (pid == 0) {
        uv_loop_fork(&loop);
        if (unshare(CLONE_NEWNET) != 0) {
            perror("unshare(CLONE_NEWNET)");
            _exit(2);
        }
        relay_block_source_body();
        _exit(TEST_FAILED_CHECKS == failed_before ? 0 : 1);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    (void)qc;
    (void)why;
    *(int *)arg = status;
}

/* Receives what n sends p (each wait bounded) until a disco Ping comes; returns it, or a
 * message of type 0 if none came. */
static struct iroh_disco_msg next_ping(struct peer *p, const struct node *n)
{
    uint8_t pkt[2048];
    struct iroh_disco_msg m = {0};
    for (int i = 0; i < 20 && m.type != IROH_DISCO_PING; i++) {
        size_t got = peer_receive(p, pkt, sizeof pkt, 5000);
        if (got == 0) break;
        if (iroh_disco_looks_like(pkt, got)) CHECK(open_from(p, &n->id, pkt, got, &m));
    }
    return m;
}

/* Watches the endpoint's log for lines of component that begin with prefix and the short id
 * who, e.g. "ping to 1a2b3c4d5e ": what the endpoint did, not merely what reached a socket. */
struct log_watch {
    const char *component, *prefix, *who;
    int count;
    bool seen;          /* count > 0, for loop_run_until */
    unsigned long last; /* the number of the last line matched (log_lines then), for order */
};

static unsigned long log_lines; /* lines log_watch_event has seen */

/* A log sink; ctx is a NULL-terminated array of watches. */
static void log_watch_event(const struct log_event *ev, void *ctx)
{
    log_lines++;
    for (struct log_watch **each = ctx; *each; each++) {
        struct log_watch *w = *each;
        size_t prefix_len = strlen(w->prefix), who_len = strlen(w->who);
        if (strcmp(ev->component, w->component) == 0 &&
            strncmp(ev->message, w->prefix, prefix_len) == 0 &&
            strncmp(ev->message + prefix_len, w->who, who_len) == 0 &&
            ev->message[prefix_len + who_len] == ' ') {
            w->count++;
            w->seen = true;
            w->last = log_lines;
        }
    }
}

/* A dial pings each direct address before its QUIC Initial, and again (about every second)
 * while no Pong came back; a Pong back is taken, answered with nothing and ends the Pings. The
 * next dial there sends its Initial first, and pings when no handshake follows. What the
 * endpoint sent is told from its log (a Ping timer and the Initial's retransmission timer both
 * run out about a second after the dial, in either order: what waits in our socket after the
 * Pong says nothing of when it was sent). */
static void test_dial_pings_first(void)
{
    struct node n;
    struct peer p;
    node_start(&n);
    peer_open(&p);
    struct iroh_endpoint_addr to;
    iroh_endpoint_addr_init(&to, &p.id);
    CHECK_EQ_INT(iroh_endpoint_addr_add_ip(&to, &p.addr), 1);
    char p_short[IROH_KEY_SHORT_LEN + 1];
    iroh_public_key_format_short(&p.id, p_short, sizeof p_short);
    struct log_watch pings = {.component = "disco", .prefix = "ping to ", .who = p_short};
    struct log_watch pong_taken = {.component = "disco", .prefix = "pong from ", .who = p_short};
    struct log_watch *watches[] = {&pings, &pong_taken, NULL};
    log_set_sink(log_watch_event, watches, LOG_DEBUG);
    int status = 1;
    CHECK_EQ_INT(endpoint_connect(n.ep, &to, "test/paths", on_connect, &status), 0);
    CHECK_EQ_INT(pings.count, 1); /* by the dial itself; its Initial leaves from the loop */

    uint8_t pkt[2048];
    size_t got = peer_receive(&p, pkt, sizeof pkt, 5000);
    struct iroh_disco_msg ping;
    CHECK(open_from(&p, &n.id, pkt, got, &ping));
    CHECK_EQ_INT(ping.type, IROH_DISCO_PING);
    CHECK_EQ_MEM(ping.node_key.bytes, n.id.bytes, IROH_KEY_LEN);

    got = peer_receive(&p, pkt, sizeof pkt, 5000);
    CHECK(got >= 1200 && (pkt[0] & 0xf0) == 0xc0); /* a padded QUIC v1 Initial */
    CHECK(!iroh_disco_looks_like(pkt, got));
    /* its destination connection id stays the same in every retransmission */
    struct iroh_quic_header first;
    CHECK_EQ_INT(iroh_quic_header_read(pkt, got, 8, &first), 0);

    /* unanswered, the Ping comes again between the Initial's retransmissions */
    struct iroh_disco_msg again = next_ping(&p, &n);
    CHECK_EQ_INT(again.type, IROH_DISCO_PING);
    CHECK(memcmp(again.tx_id, ping.tx_id, sizeof ping.tx_id) != 0);
    int pings_read = 2;

    struct iroh_disco_msg pong = {.type = IROH_DISCO_PONG, .src = n.addr};
    memcpy(pong.tx_id, ping.tx_id, sizeof pong.tx_id);
    int len = seal(&p, &n.id, &pong, pkt);
    peer_send(&p, &n.addr, pkt, (size_t)len);
    /* the second dial below must come after the endpoint took the Pong, not merely after the
     * next datagram from it (one may already wait in our socket) */
    CHECK(loop_run_until(&loop, &pong_taken.seen, 10000));
    /* No Ping after it, for longer than the Ping timer's period. */
    bool never = false;
    loop_run_until(&loop, &never, 1500);
    CHECK(pings.last < pong_taken.last);
    /* The endpoint answers a Pong with nothing: every disco packet that reached us (all of
     * them are in our socket by now) is one of the Pings it logged, sent before the Pong. */
    ssize_t r;
    while ((r = recv(p.fd, pkt, sizeof pkt, 0)) > 0) {
        if (!iroh_disco_looks_like(pkt, (size_t)r)) continue;
        struct iroh_disco_msg m;
        CHECK(open_from(&p, &n.id, pkt, (size_t)r, &m) && m.type == IROH_DISCO_PING);
        pings_read++;
    }
    CHECK_EQ_INT(pings_read, pings.count);
    CHECK_EQ_INT(status, 1); /* nobody answered the QUIC handshake */

    /* The Pong made the address trusted: a second dial sends its Initial with no Ping first,
     * and pings soon after all, as the remote does not answer (it may have forgotten us). */
    int status2 = 1, pings_before = pings.count;
    CHECK_EQ_INT(endpoint_connect(n.ep, &to, "test/paths", on_connect, &status2), 0);
    CHECK_EQ_INT(pings.count, pings_before);
    struct iroh_quic_header h = first;
    bool pinged_before = false;
    for (int i = 0; i < 20 && h.dcid.len == first.dcid.len &&
                    memcmp(h.dcid.bytes, first.dcid.bytes, first.dcid.len) == 0;
         i++) { /* the first dial's retransmissions may come in between */
        got = peer_receive(&p, pkt, sizeof pkt, 5000);
        if (got == 0) break;
        if (iroh_disco_looks_like(pkt, got))
            pinged_before = true;
        else
            CHECK_EQ_INT(iroh_quic_header_read(pkt, got, 8, &h), 0);
    }
    CHECK(iroh_quic_header_is_v1_initial(&h));
    CHECK(memcmp(h.dcid.bytes, first.dcid.bytes, first.dcid.len) != 0); /* the second dial's */
    CHECK(!pinged_before);
    struct iroh_disco_msg later = next_ping(&p, &n);
    CHECK_EQ_INT(later.type, IROH_DISCO_PING);
    CHECK(pings.count > pings_before);

    close(p.fd);
    node_stop(&n);
    log_set_sink(NULL, NULL, LOG_ERROR);
    CHECK_EQ_INT(status, IROH_ECLOSED);
    CHECK_EQ_INT(status2, IROH_ECLOSED);
}

/* Echoes as req asks from a, and returns the Pings (counted by pings) that the dial itself
 * sent, before its Initial; those of the timer come later, from the loop. */
static int pings_at_dial(struct node *a, const struct echo_request *req, struct log_watch *pings)
{
    struct echo_outcome o = {0};
    struct echo_client *c;
    int before = pings->count;
    CHECK_EQ_INT(echo_client_start(&loop, a->ep, req, echo_outcome_set, &o, &c), 0);
    int at_dial = pings->count - before;
    if (!loop_run_until(&loop, &o.done, req->timeout_ms + 5000))
        echo_client_cancel(c, "the test's wait ended");
    CHECK_EQ_INT(o.r.status, 0);
    return at_dial;
}

/* The first dial to a remote pings it before its Initial; a dial soon after over the address
 * that answered goes without (the remote knows ours), and both echo. */
static void test_redial_skips_ping(void)
{
    struct node a, b;
    node_start(&a);
    node_start(&b);
    CHECK_EQ_INT(echo_serve(b.ep), 0);
    char b_short[IROH_KEY_SHORT_LEN + 1];
    iroh_public_key_format_short(&b.id, b_short, sizeof b_short);
    struct log_watch pings = {.component = "disco", .prefix = "ping to ", .who = b_short};
    struct log_watch *watches[] = {&pings, NULL};
    log_set_sink(log_watch_event, watches, LOG_DEBUG);
    struct iroh_endpoint_addr to;
    iroh_endpoint_addr_init(&to, &b.id);
    CHECK_EQ_INT(iroh_endpoint_addr_add_ip(&to, &b.addr), 1);
    struct echo_request req = {.addr = &to, .bytes = 1000, .streams = 1, .timeout_ms = 20000};
    CHECK_EQ_INT(pings_at_dial(&a, &req, &pings), 1);
    CHECK_EQ_INT(pings_at_dial(&a, &req, &pings), 0);
    log_set_sink(NULL, NULL, LOG_ERROR);
    node_stop(&a);
    node_stop(&b);
}

/* Dials that skip their Pings (over a trusted address) and come more often than the early
 * Ping they ask for do not hold back the Pings of the other dials still handshaking. */
static void test_skipped_dials_keep_pings(void)
{
    enum { SKIPPED_DIALS = 40 };
    struct node n;
    struct peer p, q;
    node_start(&n);
    peer_open(&p);
    peer_open(&q);
    struct iroh_endpoint_addr to_p, to_q;
    iroh_endpoint_addr_init(&to_p, &p.id);
    CHECK_EQ_INT(iroh_endpoint_addr_add_ip(&to_p, &p.addr), 1);
    iroh_endpoint_addr_init(&to_q, &q.id);
    CHECK_EQ_INT(iroh_endpoint_addr_add_ip(&to_q, &q.addr), 1);
    char p_short[IROH_KEY_SHORT_LEN + 1], q_short[IROH_KEY_SHORT_LEN + 1];
    iroh_public_key_format_short(&p.id, p_short, sizeof p_short);
    iroh_public_key_format_short(&q.id, q_short, sizeof q_short);
    struct log_watch pong_taken = {.component = "disco", .prefix = "pong from ", .who = p_short};
    struct log_watch q_pings = {.component = "disco", .prefix = "ping to ", .who = q_short};
    struct log_watch *watches[] = {&pong_taken, &q_pings, NULL};
    log_set_sink(log_watch_event, watches, LOG_DEBUG);
    int status[SKIPPED_DIALS + 2];
    for (size_t i = 0; i < sizeof status / sizeof status[0]; i++)
        status[i] = 1;

    /* p answers the first dial's Ping: its address is trusted from then on */
    CHECK_EQ_INT(endpoint_connect(n.ep, &to_p, "test/paths", on_connect, &status[0]), 0);
    struct iroh_disco_msg ping = next_ping(&p, &n);
    CHECK_EQ_INT(ping.type, IROH_DISCO_PING);
    struct iroh_disco_msg pong = {.type = IROH_DISCO_PONG, .src = n.addr};
    memcpy(pong.tx_id, ping.tx_id, sizeof pong.tx_id);
    uint8_t pkt[2048];
    int len = seal(&p, &n.id, &pong, pkt);
    peer_send(&p, &n.addr, pkt, (size_t)len);
    CHECK(loop_run_until(&loop, &pong_taken.seen, 10000));

    /* q never answers: its dial pings it at once, and again within a second */
    CHECK_EQ_INT(endpoint_connect(n.ep, &to_q, "test/paths", on_connect, &status[1]), 0);
    CHECK_EQ_INT(q_pings.count, 1);
    bool never = false;
    for (int i = 0; i < SKIPPED_DIALS && q_pings.count < 2; i++) {
        CHECK_EQ_INT(endpoint_connect(n.ep, &to_p, "test/paths", on_connect, &status[2 + i]), 0);
        loop_run_until(&loop, &never, 50);
    }
    CHECK(q_pings.count >= 2);

    close(p.fd);
    close(q.fd);
    node_stop(&n);
    log_set_sink(NULL, NULL, LOG_ERROR);
}

/* ---- relay paths ----------------------------------------------------------------------------- */

/* Starts iroh-relay --dev on 127.0.0.1:port (0: any) with its log in log_path, admitting only
 * clients that present token if it is not NULL; fills url. Returns its pid or -1. */
static pid_t relay_start_with(unsigned port, const char *token, const char *log_path, char *url,
                              size_t cap)
{
    char bind[32];
    snprintf(bind, sizeof bind, "127.0.0.1:%u", port);
    unlink(log_path);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        if (token)
            execl(IROH_RELAY_PATH, "iroh-relay", "--dev", "--http-bind", bind, "--no-metrics",
                  "--token", token, (char *)NULL);
        else
            execl(IROH_RELAY_PATH, "iroh-relay", "--dev", "--http-bind", bind, "--no-metrics",
                  (char *)NULL);
        _exit(127);
    }
    /* its log names the port: "listening on 127.0.0.1:N" (a sanitized relay on a busy machine
     * may take seconds to get there) */
    bool exited = false;
    for (int i = 0; i < 3000 && !exited; i++) {
        char text[4096] = "";
        FILE *f = fopen(log_path, "r");
        if (f) {
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = 0;
            fclose(f);
        }
        const char *at = strstr(text, "listening on 127.0.0.1:");
        if (at) {
            snprintf(url, cap, "http://127.0.0.1:%u/", (unsigned)atoi(at + 23));
            return pid;
        }
        exited = waitpid(pid, NULL, WNOHANG) == pid;
        usleep(10000);
    }
    if (exited) {
        fprintf(stderr, "iroh-relay exited; its log is %s\n", log_path);
        return -1;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static pid_t relay_start(unsigned port, const char *log_path, char *url, size_t cap)
{
    return relay_start_with(port, NULL, log_path, url, cap);
}

static void relay_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Two relays, x and y, each with its log in IROH_TEST_TMP, for the tests that need a choice. */
struct relay_pair {
    pid_t x, y; /* -1 once gone */
    char log_x[512], log_y[512], url_x[64], url_y[64];
};

/* Kills whichever of the pair still runs and removes both logs. */
static void relay_pair_stop(struct relay_pair *r)
{
    if (r->x > 0) relay_kill(r->x);
    if (r->y > 0) relay_kill(r->y);
    r->x = r->y = -1;
    unlink(r->log_x);
    unlink(r->log_y);
}

/* Starts both; false (a failed check, whatever started is stopped) if either does not. */
static bool relay_pair_start(struct relay_pair *r)
{
    const char *tmp = getenv("IROH_TEST_TMP");
    snprintf(r->log_x, sizeof r->log_x, "%s/relay-x-%d.log", tmp ? tmp : "/tmp", (int)getpid());
    snprintf(r->log_y, sizeof r->log_y, "%s/relay-y-%d.log", tmp ? tmp : "/tmp", (int)getpid());
    r->x = relay_start(0, r->log_x, r->url_x, sizeof r->url_x);
    r->y = relay_start(0, r->log_y, r->url_y, sizeof r->url_y);
    CHECK(r->x > 0 && r->y > 0);
    if (r->x > 0 && r->y > 0) return true;
    relay_pair_stop(r);
    return false;
}

static void relay_node_start_with(struct node *n, const char *url, const char *token)
{
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    iroh_secret_key_public(&sk, &n->id);
    const char *relays[1] = {url};
    struct endpoint_options options = {.secret = &sk,
                                       .bind = "127.0.0.1:0",
                                       .relays = relays,
                                       .n_relays = 1,
                                       .relay_token = token};
    char err[256] = "";
    int rc = endpoint_start(&loop, &options, &n->ep, err, sizeof err);
    if (rc < 0) fprintf(stderr, "endpoint_start: %s\n", err);
    CHECK_EQ_INT(rc, 0);
}

static void relay_node_start(struct node *n, const char *url)
{
    relay_node_start_with(n, url, NULL);
}

static bool home_connected(void *arg)
{
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    size_t n = endpoint_relays(arg, st, ENDPOINT_MAX_RELAYS);
    return n == 1 && st[0].home && st[0].info.connected && st[0].info.latency_ns > 0;
}

static bool home_down(void *arg)
{
    return !home_connected(arg);
}

/* from echoes bytes with `to` knowing only its id and relay URL; checks the path is a relay
 * path. */
static void echo_via_relay(struct node *from, struct node *to, const char *url, size_t bytes)
{
    struct iroh_endpoint_addr addr;
    iroh_endpoint_addr_init(&addr, &to->id);
    CHECK_EQ_INT(iroh_endpoint_addr_add_relay(&addr, url, strlen(url)), 1);
    struct echo_request req = {.addr = &addr, .bytes = bytes, .streams = 1, .timeout_ms = 20000};
    struct echo_outcome o = echo_run(&loop, from->ep, &req);
    CHECK_EQ_INT(o.r.status, 0);
    CHECK_EQ_INT(o.r.bytes, bytes);
    CHECK_EQ_MEM(o.r.remote.bytes, to->id.bytes, IROH_KEY_LEN);
    char want[IROH_RELAY_URL_MAX + 8];
    snprintf(want, sizeof want, "relay:%s", url);
    CHECK_EQ_STR(o.r.path, want);
}

static void test_relay_only(void)
{
    char log_path[512], url[64];
    const char *tmp = getenv("IROH_TEST_TMP");
    snprintf(log_path, sizeof log_path, "%s/relay-%d.log", tmp ? tmp : "/tmp", (int)getpid());
    pid_t relay = relay_start(0, log_path, url, sizeof url);
    CHECK(relay > 0);
    if (relay <= 0) return;
    struct node a, b;
    relay_node_start(&a, url);
    relay_node_start(&b, url);
    CHECK_EQ_INT(echo_serve(b.ep), 0);
    CHECK(loop_run_until_done(&loop, home_connected, a.ep, 10000));
    CHECK(loop_run_until_done(&loop, home_connected, b.ep, 10000));
    struct iroh_endpoint_addr self;
    endpoint_addr(a.ep, &self); /* the home relay is part of our address */
    CHECK(self.relay_count == 1 && strcmp(self.relays[0], url) == 0);

    echo_via_relay(&a, &b, url, 1 << 20);

    /* the relay goes away and comes back on the same port: both reconnect */
    relay_kill(relay);
    CHECK(loop_run_until_done(&loop, home_down, a.ep, 10000));
    unsigned port = (unsigned)atoi(strrchr(url, ':') + 1);
    char again[64];
    relay = relay_start(port, log_path, again, sizeof again);
    CHECK(relay > 0 && strcmp(again, url) == 0);
    CHECK(loop_run_until_done(&loop, home_connected, a.ep, 20000));
    CHECK(loop_run_until_done(&loop, home_connected, b.ep, 20000));
    CHECK_EQ_INT(echo_serve(a.ep), 0);
    echo_via_relay(&b, &a, url, 1 << 20); /* and the other way round */

    node_stop(&a);
    node_stop(&b);
    if (relay > 0) relay_kill(relay);
    unlink(log_path);
}

/* The home relay's URL, or "" while there is none. */
static const char *home_url(struct endpoint *ep)
{
    static char url[IROH_RELAY_URL_MAX + 1];
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    size_t n = endpoint_relays(ep, st, ENDPOINT_MAX_RELAYS);
    url[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (st[i].home) snprintf(url, sizeof url, "%s", st[i].info.url);
    return url;
}

static bool both_connected(void *arg)
{
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    size_t n = endpoint_relays(arg, st, ENDPOINT_MAX_RELAYS);
    return n == 2 && st[0].info.connected && st[1].info.connected && *home_url(arg);
}

struct home_change {
    struct endpoint *ep;
    const char *from;
};

static bool home_moved(void *arg)
{
    struct home_change *c = arg;
    return *home_url(c->ep) && strcmp(home_url(c->ep), c->from) != 0;
}

static void test_home_relay_fails_over(void)
{
    struct relay_pair r;
    if (!relay_pair_start(&r)) return;
    struct node n;
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    const char *relays[2] = {r.url_x, r.url_y};
    struct endpoint_options options = {
        .secret = &sk, .bind = "127.0.0.1:0", .relays = relays, .n_relays = 2};
    char err[256] = "";
    CHECK_EQ_INT(endpoint_start(&loop, &options, &n.ep, err, sizeof err), 0);
    CHECK(loop_run_until_done(&loop, both_connected, n.ep, 10000));

    char first[IROH_RELAY_URL_MAX + 1];
    snprintf(first, sizeof first, "%s", home_url(n.ep));
    CHECK(strcmp(first, r.url_x) == 0 || strcmp(first, r.url_y) == 0);
    struct iroh_endpoint_addr self;
    endpoint_addr(n.ep, &self);
    CHECK(self.relay_count == 1 && strcmp(self.relays[0], first) == 0);

    bool x_was_home = strcmp(first, r.url_x) == 0;
    pid_t *home_relay = x_was_home ? &r.x : &r.y;
    relay_kill(*home_relay);
    *home_relay = -1;
    struct home_change change = {n.ep, first};
    CHECK(loop_run_until_done(&loop, home_moved, &change, 10000));
    CHECK_EQ_STR(home_url(n.ep), x_was_home ? r.url_y : r.url_x);
    endpoint_addr(n.ep, &self);
    CHECK(self.relay_count == 1 && strcmp(self.relays[0], home_url(n.ep)) == 0);

    node_stop(&n);
    relay_pair_stop(&r);
}

static bool two_relays(void *arg)
{
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    return endpoint_relays(arg, st, ENDPOINT_MAX_RELAYS) == 2;
}

static void test_remote_relay_on_demand(void)
{
    struct relay_pair r;
    if (!relay_pair_start(&r)) return;
    struct node a, b;
    relay_node_start(&a, r.url_x);
    relay_node_start(&b, r.url_y);
    CHECK_EQ_INT(echo_serve(b.ep), 0);
    CHECK(loop_run_until_done(&loop, home_connected, a.ep, 10000));
    CHECK(loop_run_until_done(&loop, home_connected, b.ep, 10000));

    echo_via_relay(&a, &b, r.url_y, 1 << 18);
    CHECK(two_relays(a.ep)); /* its home and b's relay */
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    size_t n = endpoint_relays(a.ep, st, ENDPOINT_MAX_RELAYS);
    for (size_t i = 0; i < n; i++) {
        bool is_y = strcmp(st[i].info.url, r.url_y) == 0;
        CHECK(st[i].configured == !is_y && st[i].home == !is_y);
    }
    CHECK_EQ_STR(home_url(a.ep), r.url_x); /* a remote's relay never becomes home */

    node_stop(&a);
    node_stop(&b);
    relay_pair_stop(&r);
}

static bool refused(void *arg)
{
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    return endpoint_relays(arg, st, ENDPOINT_MAX_RELAYS) == 1 && !st[0].info.connected &&
           strstr(st[0].info.error, "refused") != NULL;
}

/* A relay that admits token holders only: irohd's relay token gets in, no token is refused. */
static void test_relay_token(void)
{
    char log_path[512], url[64];
    const char *tmp = getenv("IROH_TEST_TMP");
    snprintf(log_path, sizeof log_path, "%s/relay-t-%d.log", tmp ? tmp : "/tmp", (int)getpid());
    pid_t relay = relay_start_with(0, "open-sesame", log_path, url, sizeof url);
    CHECK(relay > 0);
    if (relay <= 0) return;
    struct node with, without;
    relay_node_start_with(&with, url, "open-sesame");
    relay_node_start(&without, url);
    CHECK(loop_run_until_done(&loop, home_connected, with.ep, 10000));
    CHECK(loop_run_until_done(&loop, refused, without.ep, 10000));
    struct endpoint_relay_status st;
    if (endpoint_relays(without.ep, &st, 1) == 1) fprintf(stderr, "no token: %s\n", st.info.error);
    node_stop(&with);
    node_stop(&without);
    relay_kill(relay);
    unlink(log_path);
}

int main(void)
{
    if (iroh_keys_init() != IROH_OK) return 1;
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    RUN(test_ping_gets_pong);
    RUN(test_dial_pings_first);
    RUN(test_redial_skips_ping);
    RUN(test_skipped_dials_keep_pings);
    RUN(test_relay_block_source_dropped);
    RUN(test_relay_only);
    RUN(test_home_relay_fails_over);
    RUN(test_remote_relay_on_demand);
    RUN(test_relay_token);
    uv_loop_close(&loop);
    return TEST_SUMMARY();
}
