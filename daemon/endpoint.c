/* endpoint.c — UDP sockets, the datagram demultiplexer, the protocol router, dialing and the
 * node's addresses; see endpoint.h. */
#include "daemon/endpoint.h"

#include <errno.h>
#include <iroh/error.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/disco.h"
#include "core/peer_map.h"
#include "core/quic_cid.h"
#include "core/quic_path.h"
#include "daemon/log.h"
#include "daemon/quic_tls.h"

#define RECV_BUF (64 * 1024) /* the largest UDP payload, and a GRO batch */
/* Reads per wakeup at most (with GRO up to 512 KiB, about a congestion window): then the
 * connections answer (ACKs go out before the sender stalls) and the loop's other handles go on. */
#define RECV_ROUNDS 8
#define SOCKET_BUFFER (4 * 1024 * 1024) /* asked of the kernel; it may give less */
#define SEND_BATCH 64                   /* datagrams of one sendmmsg (quic_conn's batch) */
/* Remotes the path layer remembers (relay paths, disco keys and Pings); beyond it the least
 * recently used is forgotten. */
#define MAX_PEERS 1024
#define PEER_KEEP_NS (30 * 1000000000ull) /* the QUIC idle timeout */
/* A relay connection opened for a remote closes after this long without a datagram sent
 * through it (as iroh); the check runs every RELAY_SWEEP_MS. */
#define RELAY_IDLE_MS 60000
#define RELAY_SWEEP_MS 15000
/* A dial pings the remote's direct addresses again this often until its handshake completes:
 * a 0.35 node drops QUIC from an address until a Ping from it got through, and one Ping may be
 * lost or arrive before the node is listening. */
#define DIAL_PING_MS 1000
/* The first Ping of a dial that skipped its Pings (see endpoint_connect), unless it is done */
#define DIAL_SKIPPED_PING_MS 100

/* A UDP socket of our own (libuv's uv_udp_t has no GSO or GRO) watched with a uv_poll_t. */
struct udp_socket {
    uv_poll_t poll;
    int fd;
    struct endpoint *ep;
    struct iroh_socket_addr bound;
    bool active;  /* bound and receiving */
    bool closing; /* uv_close called */
    bool gso;     /* the kernel takes UDP_SEGMENT on this socket */
};

struct protocol {
    char alpn[QUIC_ALPN_MAX + 1];
    endpoint_accept_fn *fn;
    void *arg;
};

/* A relay connection: a configured one (kept) or one opened for a remote's relay. */
struct relay_slot {
    struct relay_client *rc; /* NULL: free */
    bool configured;
    uint64_t last_send; /* uv_now() of the last datagram sent through it */
};

/* An open connection as the endpoint counts it. */
struct tracked {
    struct quic_conn *qc;
    struct iroh_socket_addr from; /* a client's address when it started (incoming only) */
    bool incoming;
    bool validated; /* incoming after a Retry: the client answered from its address */
    bool established;
};

/* A dial that has not reached its callback yet. */
struct dial {
    struct dial *next;
    struct quic_conn *qc;
    struct iroh_public_key remote;
    struct iroh_socket_addr pinged[IROH_PATH_MAX_CANDIDATES]; /* its direct addresses */
    size_t n_pinged;
    endpoint_connect_fn *fn;
    void *arg;
};

struct endpoint {
    struct quic_host host; /* what connections call back into */
    uv_loop_t *loop;
    struct iroh_public_key id;
    struct iroh_secret_key secret;  /* for the relays' handshakes */
    struct iroh_disco_secret disco; /* our identity for disco boxes */
    struct iroh_peer_map peers;     /* the path layer's remotes (core/peer_map.h) */
    struct relay_slot relays[ENDPOINT_MAX_RELAYS];
    gnutls_certificate_credentials_t relay_trust; /* CAs for https relays */
    const char *relay_token; /* for the configured relays (points into relay_token_buf) */
    char relay_token_buf[RELAY_TOKEN_MAX + 1];
    uv_timer_t relay_sweep; /* closes idle relay connections opened for remotes */
    bool relay_sweep_on;    /* initialised, not yet closed */
    uv_timer_t dial_pings;  /* pings again for dials still handshaking (DIAL_PING_MS) */
    bool dial_pings_on;     /* initialised, not yet closed */
    int home;               /* index of the home relay in relays, -1 before one is connected */
    bool no_relay;          /* relays disabled */
    bool retry_always;      /* endpoint_options.retry_always */
    struct udp_socket sockets[ENDPOINT_MAX_SOCKETS];
    size_t n_sockets;    /* slots with an initialised handle */
    size_t handles_open; /* handles whose close has not completed */
    struct iroh_cid_table cids;
    struct protocol protocols[ENDPOINT_MAX_PROTOCOLS];
    const char *alpns[ENDPOINT_MAX_PROTOCOLS]; /* protocols' ALPNs in bytewise order */
    size_t n_protocols;
    struct dial *dials;
    struct tracked *conns; /* open connections */
    size_t n_conns, cap_conns;
    size_t n_established, n_incoming_handshakes;
    uint64_t retries_sent, initials_dropped;
    bool stopping;
    void (*stop_done)(void *arg);
    void *stop_arg;
    uint8_t recv_buf[RECV_BUF];
};

static struct endpoint *endpoint_of(struct quic_host *host)
{
    return (struct endpoint *)((char *)host - offsetof(struct endpoint, host));
}

/* ---- connection bookkeeping ------------------------------------------------------------------ */

/* Notes a new connection; from is the client's address of an incoming one (validated: after a
 * Retry), else NULL. */
static int track(struct endpoint *ep, struct quic_conn *qc, const struct iroh_socket_addr *from,
                 bool validated)
{
    if (ep->n_conns == ep->cap_conns) {
        size_t cap = ep->cap_conns ? 2 * ep->cap_conns : 16;
        struct tracked *bigger = realloc(ep->conns, cap * sizeof *bigger);
        if (!bigger) return IROH_ENOMEM;
        ep->conns = bigger;
        ep->cap_conns = cap;
    }
    ep->conns[ep->n_conns++] =
        (struct tracked){.qc = qc, .incoming = from != NULL, .validated = validated};
    if (from) {
        ep->conns[ep->n_conns - 1].from = *from;
        ep->n_incoming_handshakes++;
    }
    return 0;
}

static struct tracked *tracked_of(struct endpoint *ep, const struct quic_conn *qc)
{
    for (size_t i = 0; i < ep->n_conns; i++)
        if (ep->conns[i].qc == qc) return &ep->conns[i];
    return NULL;
}

static void set_established(struct endpoint *ep, struct quic_conn *qc)
{
    struct tracked *t = tracked_of(ep, qc);
    if (!t || t->established) return;
    t->established = true;
    ep->n_established++;
    if (t->incoming) ep->n_incoming_handshakes--;
}

static void untrack(struct endpoint *ep, struct quic_conn *qc)
{
    struct tracked *t = tracked_of(ep, qc);
    if (!t) return;
    if (t->established)
        ep->n_established--;
    else if (t->incoming)
        ep->n_incoming_handshakes--;
    *t = ep->conns[--ep->n_conns];
}

/* Whether a and b are one source for ENDPOINT_MAX_HANDSHAKES_PER_IP: the same IPv4 address, the
 * same IPv6 /64 (what one host usually has to itself) or the same remote's relay path. */
static bool same_source(const struct iroh_socket_addr *a, const struct iroh_socket_addr *b)
{
    size_t n = a->family == IROH_IP_V6 && !iroh_peer_map_is_relay_addr(a) ? 8 : sizeof a->ip;
    return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

/* Incoming handshakes in progress from from's source (same_source); with validated_only, those
 * after a Retry only (a forged source address cannot make those). */
static size_t handshakes_from(const struct endpoint *ep, const struct iroh_socket_addr *from,
                              bool validated_only)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->n_conns; i++) {
        const struct tracked *t = &ep->conns[i];
        n += t->incoming && !t->established && (t->validated || !validated_only) &&
             same_source(&t->from, from);
    }
    return n;
}

void endpoint_counts(const struct endpoint *ep, struct endpoint_counts *out)
{
    *out = (struct endpoint_counts){
        .established = ep->n_established,
        .handshaking = ep->n_conns - ep->n_established,
        .handshaking_incoming = ep->n_incoming_handshakes,
        .retries_sent = ep->retries_sent,
        .initials_dropped = ep->initials_dropped,
    };
}

static struct dial *take_dial(struct endpoint *ep, struct quic_conn *qc)
{
    for (struct dial **p = &ep->dials; *p; p = &(*p)->next) {
        if ((*p)->qc != qc) continue;
        struct dial *d = *p;
        *p = d->next;
        return d;
    }
    return NULL;
}

/* ---- what connections call ------------------------------------------------------------------- */

static struct udp_socket *socket_for(struct endpoint *ep, uint8_t family)
{
    for (size_t i = 0; i < ep->n_sockets; i++)
        if (ep->sockets[i].active && ep->sockets[i].bound.family == family) return &ep->sockets[i];
    return NULL;
}

/* Sends data[0..len) as datagrams of segment bytes with one sendmmsg. Returns 0 or an errno. */
static int send_each(int fd, const struct sockaddr_storage *sa, socklen_t salen,
                     const uint8_t *data, size_t len, size_t segment)
{
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    unsigned n = 0;
    for (size_t off = 0; off < len && n < SEND_BATCH; off += segment, n++) {
        iov[n] = (struct iovec){(void *)(data + off), len - off < segment ? len - off : segment};
        msgs[n] = (struct mmsghdr){
            .msg_hdr = {
                .msg_name = (void *)sa, .msg_namelen = salen, .msg_iov = &iov[n], .msg_iovlen = 1}};
    }
    for (unsigned done = 0; done < n;) {
        int rc = sendmmsg(fd, msgs + done, n - done, 0);
        if (rc < 0) return errno;
        done += (unsigned)rc;
    }
    return 0;
}

/* Sends data[0..len) as datagrams of segment bytes with one sendmsg (UDP GSO). Returns 0 or an
 * errno. */
static int send_gso(int fd, const struct sockaddr_storage *sa, socklen_t salen, const uint8_t *data,
                    size_t len, size_t segment)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {(void *)data, len};
    struct msghdr msg = {.msg_name = (void *)sa,
                         .msg_namelen = salen,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)segment;
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    return sendmsg(fd, &msg, 0) < 0 ? errno : 0;
}

static void relay_send(struct endpoint *ep, const struct iroh_socket_addr *to, const uint8_t *data,
                       size_t len, size_t segment);

static int host_send(struct quic_host *host, const struct iroh_socket_addr *to, const uint8_t *data,
                     size_t len, size_t segment)
{
    struct endpoint *ep = endpoint_of(host);
    if (iroh_peer_map_is_relay_addr(to)) {
        relay_send(ep, to, data, len, segment);
        return 0;
    }
    struct udp_socket *s = socket_for(ep, to->family);
    if (!s) return IROH_ENOTFOUND;
    int fd = s->fd;
    struct sockaddr_storage sa;
    socklen_t salen = quic_addr_to_sockaddr(to, &sa);
    int rc;
    if (len <= segment) {
        rc = sendto(fd, data, len, 0, (const struct sockaddr *)&sa, salen) < 0 ? errno : 0;
    } else if (s->gso) {
        rc = send_gso(fd, &sa, salen, data, len, segment);
        if (rc == EIO || rc == EINVAL || rc == ENOPROTOOPT || rc == EOPNOTSUPP) {
            s->gso = false; /* no checksum offload on the route, or an old kernel */
            rc = send_each(fd, &sa, salen, data, len, segment);
        }
    } else {
        rc = send_each(fd, &sa, salen, data, len, segment);
    }
    /* A full socket buffer drops the datagrams; QUIC's loss recovery sends them again. */
    if (rc == EAGAIN || rc == EWOULDBLOCK) return IROH_EAGAIN;
    if (rc != 0) {
        char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
        iroh_socket_addr_format(to, text, sizeof text);
        log_debug("endpoint", "send to %s: %s", text, strerror(rc));
        return IROH_EIO;
    }
    return 0;
}

static int host_add_cid(struct quic_host *host, const struct iroh_quic_cid *cid,
                        struct quic_conn *qc)
{
    return iroh_cid_table_put(&endpoint_of(host)->cids, cid, qc);
}

static void host_remove_cid(struct quic_host *host, const struct iroh_quic_cid *cid)
{
    iroh_cid_table_remove(&endpoint_of(host)->cids, cid);
}

static const struct protocol *protocol_for(const struct endpoint *ep, const char *alpn)
{
    for (size_t i = 0; i < ep->n_protocols; i++)
        if (strcmp(ep->protocols[i].alpn, alpn) == 0) return &ep->protocols[i];
    return NULL;
}

/* A handshake over a direct address proves that address reaches the remote (and, for a 0.35
 * node, that it knows ours): the next dial over it needs no Ping first. */
static void note_direct_path(struct endpoint *ep, struct quic_conn *qc)
{
    struct iroh_socket_addr path;
    struct iroh_peer *p = iroh_peer_map_get(&ep->peers, quic_conn_remote_id(qc));
    if (p && quic_conn_path(qc, &path) == 0 && !iroh_peer_map_is_relay_addr(&path))
        iroh_peer_note_direct(p, &path, uv_hrtime());
}

static void host_established(struct quic_host *host, struct quic_conn *qc)
{
    struct endpoint *ep = endpoint_of(host);
    set_established(ep, qc);
    note_direct_path(ep, qc);
    if (!quic_conn_is_server(qc)) {
        struct dial *d = take_dial(ep, qc);
        if (d) d->fn(qc, 0, NULL, d->arg);
        free(d);
        return;
    }
    const struct protocol *p = protocol_for(ep, quic_conn_alpn(qc));
    if (p && !ep->stopping)
        p->fn(qc, p->arg);
    else /* TLS only negotiates registered ALPNs; this is a protocol removed meanwhile */
        quic_conn_close(qc, 0, "");
}

static void close_sockets(struct endpoint *ep);

static void host_closed(struct quic_host *host, struct quic_conn *qc, int status)
{
    struct endpoint *ep = endpoint_of(host);
    iroh_cid_table_remove_value(&ep->cids, qc);
    untrack(ep, qc);
    struct dial *d = take_dial(ep, qc);
    if (d) {
        d->fn(NULL, status == IROH_OK ? IROH_ECLOSED : status,
              status == IROH_OK ? "the endpoint is stopping" : quic_conn_error(qc), d->arg);
        free(d);
    }
}

static void host_freed(struct quic_host *host)
{
    struct endpoint *ep = endpoint_of(host);
    if (ep->stopping && host->conns == 0) close_sockets(ep);
}

/* ---- disco: the Pings and Pongs of iroh 0.35's path layer (core/disco.h) -------------------- */

/* Remotes that arrive by themselves (a disco packet, a relay datagram from a new id) take the
 * place only of a remote unused for PEER_KEEP_NS: a stream of fresh ids must not break the
 * relay paths of connections in use (their keep-alives, every 5 s, use their remote). */
static uint64_t peer_idle_before(uint64_t now)
{
    return now > PEER_KEEP_NS ? now - PEER_KEEP_NS : 0;
}

/* The box key for p, derived on first use. Returns false if p's id does not convert. */
static bool disco_key(struct endpoint *ep, struct iroh_peer *p)
{
    if (!p->has_disco_key)
        p->has_disco_key = iroh_disco_shared_init(&p->disco_key, &ep->disco, &p->id) == IROH_OK;
    return p->has_disco_key;
}

/* Seals msg for p and sends it to `to` (a direct address or p's relay path). */
static void disco_send(struct endpoint *ep, struct iroh_peer *p, const struct iroh_socket_addr *to,
                       const struct iroh_disco_msg *msg)
{
    uint8_t nonce[IROH_DISCO_NONCE_LEN], pkt[IROH_DISCO_PACKET_MAX];
    if (!disco_key(ep, p)) return;
    randombytes_buf(nonce, sizeof nonce);
    int n = iroh_disco_seal(&p->disco_key, &ep->id, nonce, msg, pkt, sizeof pkt);
    if (n > 0) host_send(&ep->host, to, pkt, (size_t)n, (size_t)n);
}

static void log_disco(const char *what, const struct iroh_public_key *id,
                      const struct iroh_socket_addr *where, const char *extra)
{
    char who[IROH_KEY_SHORT_LEN + 1], text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_public_key_format_short(id, who, sizeof who);
    iroh_socket_addr_format(where, text, sizeof text);
    log_debug("disco", "%s %s %s%s", what, who, text, extra);
}

/* Pings p at `to`: a 0.35 node drops QUIC from an address it has not learned, and learns ours
 * from a Ping (spec compat-0.35 §1.1.4). */
static void disco_ping(struct endpoint *ep, struct iroh_peer *p, const struct iroh_socket_addr *to)
{
    struct iroh_disco_msg ping = {.type = IROH_DISCO_PING, .node_key = ep->id};
    randombytes_buf(ping.tx_id, sizeof ping.tx_id);
    iroh_peer_note_ping(p, ping.tx_id, to, uv_hrtime());
    log_disco("ping to", &p->id, to, "");
    disco_send(ep, p, to, &ping);
}

/* Every DIAL_PING_MS while some dial still handshakes: its direct addresses are pinged again.
 * Stops itself when no dial has any. */
static void on_dial_pings(uv_timer_t *t)
{
    struct endpoint *ep = t->data;
    bool pinging = false;
    for (struct dial *d = ep->dials; d; d = d->next) {
        if (d->n_pinged == 0) continue;
        pinging = true;
        struct iroh_peer *peer = iroh_peer_map_add(&ep->peers, &d->remote, uv_hrtime(), UINT64_MAX);
        for (size_t i = 0; i < d->n_pinged; i++)
            disco_ping(ep, peer, &d->pinged[i]);
    }
    if (!pinging) uv_timer_stop(t);
}

/* A disco packet that came from `from` (a direct address, or the sender's relay path). Boxes
 * that do not open are dropped before the sender takes a place among the remotes. A Ping is
 * answered with a Pong over the same path; a Pong is matched to our Ping; the addresses of a
 * CallMeMaybe (heeded over a relay only, as 0.35) are pinged. */
static void on_disco(struct endpoint *ep, const struct iroh_socket_addr *from, const uint8_t *pkt,
                     size_t len)
{
    struct iroh_public_key sender;
    if (iroh_disco_sender(pkt, len, &sender) < 0 ||
        memcmp(sender.bytes, ep->id.bytes, IROH_KEY_LEN) == 0)
        return;
    struct iroh_peer *p = iroh_peer_map_get(&ep->peers, &sender);
    bool via_relay = iroh_peer_map_is_relay_addr(from);
    if (via_relay && (!p || iroh_peer_map_by_relay_addr(&ep->peers, from) != p)) return;
    struct iroh_disco_shared key;
    if (p ? !disco_key(ep, p) : iroh_disco_shared_init(&key, &ep->disco, &sender) < 0) return;
    struct iroh_disco_msg msg;
    if (iroh_disco_open(p ? &p->disco_key : &key, pkt, len, &msg) < 0) return;
    uint64_t now = uv_hrtime();
    if (!p) {
        if (!(p = iroh_peer_map_add(&ep->peers, &sender, now, peer_idle_before(now)))) return;
        p->disco_key = key;
        p->has_disco_key = true;
    }
    p->last_used = now;
    switch (msg.type) {
    case IROH_DISCO_PING: {
        struct iroh_disco_msg pong = {.type = IROH_DISCO_PONG};
        memcpy(pong.tx_id, msg.tx_id, sizeof pong.tx_id);
        if (via_relay)
            memcpy(pong.relay_url, p->relay_url, sizeof pong.relay_url);
        else
            pong.src = *from;
        log_disco("ping from", &sender, from, "");
        disco_send(ep, p, from, &pong);
        break;
    }
    case IROH_DISCO_PONG: {
        struct iroh_socket_addr to;
        uint64_t sent;
        if (!iroh_peer_take_ping(p, msg.tx_id, &to, &sent)) return;
        if (!iroh_peer_map_is_relay_addr(&to)) iroh_peer_note_direct(p, &to, now);
        char rtt[48];
        snprintf(rtt, sizeof rtt, " after %.3f ms", (double)(now - sent) / 1e6);
        log_disco("pong from", &sender, &to, rtt);
        for (struct dial *d = ep->dials; d; d = d->next) /* it knows our address now */
            if (memcmp(d->remote.bytes, sender.bytes, IROH_KEY_LEN) == 0) d->n_pinged = 0;
        break;
    }
    default: /* IROH_DISCO_CALL_ME_MAYBE */
        if (!via_relay) return;
        for (size_t i = 0; i < msg.addr_count; i++)
            if (socket_for(ep, msg.addrs[i].family)) disco_ping(ep, p, &msg.addrs[i]);
        break;
    }
}

/* ---- receiving: the demultiplexer ------------------------------------------------------------ */

/* A STUN message (RFC 5389: two zero top bits, the magic cookie), as iroh 0.35 tells them from
 * QUIC and disco. We send no STUN requests, so these are dropped. */
static bool looks_like_stun(const uint8_t *pkt, size_t len)
{
    return len >= 20 && (pkt[0] & 0xc0) == 0 && pkt[4] == 0x21 && pkt[5] == 0x12 &&
           pkt[6] == 0xa4 && pkt[7] == 0x42;
}

static void accept_initial(struct endpoint *ep, const struct iroh_socket_addr *from,
                           const uint8_t *pkt, size_t len)
{
    char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_socket_addr_format(from, text, sizeof text);
    int validated = quic_initial_check(&ep->host, from, pkt, len);
    if (validated < 0) {
        log_debug("endpoint", "dropping an Initial from %s: unusable or a bad Retry token", text);
        return;
    }
    /* A source at its limit gets Retries: someone forging its address cannot lock it out, as
     * only handshakes after a Retry count against a validated client. */
    const char *drop =
        ep->n_conns >= ENDPOINT_MAX_CONNECTIONS ? "too many connections are open"
        : validated && handshakes_from(ep, from, true) >= ENDPOINT_MAX_HANDSHAKES_PER_IP
            ? "too many handshakes from its address"
            : NULL;
    if (drop) {
        ep->initials_dropped++;
        log_debug("endpoint", "dropping a new client's Initial from %s: %s", text, drop);
        return;
    }
    if (!validated && (ep->retry_always || ep->n_incoming_handshakes >= ENDPOINT_RETRY_THRESHOLD ||
                       handshakes_from(ep, from, false) >= ENDPOINT_MAX_HANDSHAKES_PER_IP)) {
        if (quic_send_retry(&ep->host, from, pkt, len) == 0) ep->retries_sent++;
        return;
    }
    struct quic_conn *qc;
    if (quic_conn_accept(&ep->host, from, pkt, len, ep->alpns, ep->n_protocols, &qc) < 0) return;
    if (track(ep, qc, from, validated) < 0) {
        quic_conn_close(qc, 0, "");
        return;
    }
    log_debug("endpoint", "%s: incoming from %s%s", quic_conn_name(qc), text,
              validated ? " (after a Retry)" : "");
    quic_conn_receive(qc, from, pkt, len);
}

/* Routes one datagram: disco to on_disco, QUIC to its connection (or a client's Initial to a new
 * connection), STUN nowhere. from is a direct address or a remote's relay path. */
static void dispatch(struct endpoint *ep, const struct iroh_socket_addr *from, const uint8_t *pkt,
                     size_t len)
{
    if (looks_like_stun(pkt, len)) return;
    if (iroh_disco_looks_like(pkt, len)) {
        on_disco(ep, from, pkt, len);
        return;
    }
    struct iroh_quic_header h;
    if (iroh_quic_header_read(pkt, len, QUIC_CID_LEN, &h) < 0) return;
    struct quic_conn *qc = iroh_cid_table_get(&ep->cids, &h.dcid);
    if (qc)
        quic_conn_receive(qc, from, pkt, len);
    else if (iroh_quic_header_is_v1_initial(&h) && ep->n_protocols > 0 && !ep->stopping)
        accept_initial(ep, from, pkt, len);
    /* Anything else is for a connection we no longer have (or not QUIC v1): dropped. */
}

/* Reads the queued datagrams (at most RECV_ROUNDS reads); a read the kernel coalesced (GRO)
 * holds datagrams of the size its UDP_GRO message says, the last one maybe shorter. The
 * connections answer once all are read (quic_conn_receive). */
static void on_readable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    struct udp_socket *s = handle->data;
    struct endpoint *ep = s->ep;
    if (status < 0) {
        log_debug("endpoint", "receive: %s", uv_strerror(status));
        return;
    }
    for (int round = 0; round < RECV_ROUNDS && s->active; round++) {
        struct sockaddr_storage sa;
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {ep->recv_buf, sizeof ep->recv_buf};
        struct msghdr msg = {.msg_name = &sa,
                             .msg_namelen = sizeof sa,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        ssize_t n = recvmsg(s->fd, &msg, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_debug("endpoint", "receive: %s", strerror(errno));
            return;
        }
        struct iroh_socket_addr from;
        /* a source in the relay path block would pass for a remote's relay path */
        if (n == 0 || (msg.msg_flags & MSG_TRUNC) ||
            quic_addr_from_sockaddr((const struct sockaddr *)&sa, &from) < 0 ||
            iroh_peer_map_is_relay_addr(&from))
            continue;
        size_t len = (size_t)n, segment = len;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            int gro;
            if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO) continue;
            memcpy(&gro, CMSG_DATA(cm), sizeof gro);
            if (gro > 0) segment = (size_t)gro;
        }
        for (size_t off = 0; off < len; off += segment)
            dispatch(ep, &from, ep->recv_buf + off, len - off < segment ? len - off : segment);
    }
}

/* ---- relay paths ----------------------------------------------------------------------------- */

static const char *relay_url(const struct relay_slot *r)
{
    return relay_client_url(r->rc);
}

/* Keeps the home relay unless it is down or another configured one answers in under 2/3 of its
 * latency (as iroh's net_report). */
static void choose_home(struct endpoint *ep)
{
    int best = -1;
    for (int i = 0; i < ENDPOINT_MAX_RELAYS; i++) {
        struct relay_slot *r = &ep->relays[i];
        if (!r->rc || !r->configured || !relay_client_connected(r->rc)) continue;
        struct relay_client_info a, b;
        relay_client_info(r->rc, &a);
        if (best >= 0) relay_client_info(ep->relays[best].rc, &b);
        if (best < 0 || (a.latency_ns && (!b.latency_ns || a.latency_ns < b.latency_ns))) best = i;
    }
    int home = ep->home;
    if (home >= 0 && ep->relays[home].rc && relay_client_connected(ep->relays[home].rc) &&
        best >= 0 && best != home) {
        struct relay_client_info h, b;
        relay_client_info(ep->relays[home].rc, &h);
        relay_client_info(ep->relays[best].rc, &b);
        if (!h.latency_ns || !b.latency_ns || b.latency_ns * 3 >= h.latency_ns * 2) best = home;
    }
    if (best < 0 && home >= 0) best = home; /* down: still our best guess until another is up */
    if (best == ep->home) return;
    ep->home = best;
    log_info("endpoint", "home relay: %s", best >= 0 ? relay_url(&ep->relays[best]) : "none");
}

static void on_relay_change(struct relay_client *rc, void *arg)
{
    (void)rc;
    choose_home(arg);
}

/* A datagram that came through a relay from src: it comes from src's relay path, and src is
 * answered through this relay from now on. */
static void on_relay_datagram(struct relay_client *rc, const struct iroh_public_key *src,
                              const uint8_t *data, size_t len, void *arg)
{
    struct endpoint *ep = arg;
    if (memcmp(src->bytes, ep->id.bytes, IROH_KEY_LEN) == 0 || ep->stopping) return;
    uint64_t now = uv_hrtime();
    struct iroh_peer *p = iroh_peer_map_add(&ep->peers, src, now, peer_idle_before(now));
    if (!p) return; /* every remote is in use: a new one waits until one goes idle */
    snprintf(p->relay_url, sizeof p->relay_url, "%s", relay_client_url(rc));
    struct iroh_socket_addr from = p->relay_addr;
    dispatch(ep, &from, data, len);
}

static const struct relay_client_callbacks relay_callbacks = {
    .on_datagram = on_relay_datagram,
    .on_change = on_relay_change,
};

static struct relay_slot *find_relay(struct endpoint *ep, const char *url)
{
    for (size_t i = 0; i < ENDPOINT_MAX_RELAYS; i++)
        if (ep->relays[i].rc && strcmp(relay_url(&ep->relays[i]), url) == 0) return &ep->relays[i];
    return NULL;
}

/* Starts a relay connection in a free slot, or in place of the least recently used one that
 * was opened for a remote. Returns the slot or NULL (no room, a bad URL). */
static struct relay_slot *open_relay(struct endpoint *ep, const char *url, bool configured)
{
    struct relay_slot *slot = NULL;
    for (size_t i = 0; i < ENDPOINT_MAX_RELAYS; i++) {
        struct relay_slot *r = &ep->relays[i];
        if (!r->rc) {
            slot = r;
            break;
        }
        if (!r->configured && (!slot || r->last_send < slot->last_send)) slot = r;
    }
    if (!slot) return NULL;
    if (slot->rc) {
        log_debug("endpoint", "closing relay %s to make room", relay_url(slot));
        relay_client_close(slot->rc, NULL, NULL);
        slot->rc = NULL;
    }
    /* the token is for our own relays only, never sent to a remote's */
    struct relay_client_options options = {.url = url,
                                           .secret = &ep->secret,
                                           .trust = ep->relay_trust,
                                           .token = configured ? ep->relay_token : NULL};
    if (relay_client_start(ep->loop, &options, &relay_callbacks, ep, &slot->rc) < 0) return NULL;
    slot->configured = configured;
    slot->last_send = uv_now(ep->loop);
    return slot;
}

/* What QUIC sends to a remote's relay path goes through the relay that reaches it (connected
 * on demand; until it is up, relay_client holds the datagrams for a while). */
static void relay_send(struct endpoint *ep, const struct iroh_socket_addr *to, const uint8_t *data,
                       size_t len, size_t segment)
{
    struct iroh_peer *p = iroh_peer_map_by_relay_addr(&ep->peers, to);
    if (!p || !*p->relay_url || ep->no_relay) return;
    struct relay_slot *r = find_relay(ep, p->relay_url);
    if (!r && !(r = open_relay(ep, p->relay_url, false))) return;
    r->last_send = uv_now(ep->loop);
    p->last_used = uv_hrtime();
    relay_client_send(r->rc, &p->id, data, len, segment);
}

static void on_relay_sweep(uv_timer_t *t)
{
    struct endpoint *ep = t->data;
    uint64_t now = uv_now(ep->loop);
    for (int i = 0; i < ENDPOINT_MAX_RELAYS; i++) {
        struct relay_slot *r = &ep->relays[i];
        if (!r->rc || r->configured || now - r->last_send < RELAY_IDLE_MS) continue;
        log_debug("endpoint", "closing relay %s: unused for %d s", relay_url(r),
                  RELAY_IDLE_MS / 1000);
        relay_client_close(r->rc, NULL, NULL); /* never the home relay: that is configured */
        r->rc = NULL;
    }
}

static void on_handle_closed(uv_handle_t *h);

static void close_relays(struct endpoint *ep)
{
    if (ep->relay_sweep_on) {
        ep->relay_sweep_on = false;
        uv_close((uv_handle_t *)&ep->relay_sweep, on_handle_closed);
    }
    for (size_t i = 0; i < ENDPOINT_MAX_RELAYS; i++) {
        if (!ep->relays[i].rc) continue;
        relay_client_close(ep->relays[i].rc, NULL, NULL);
        ep->relays[i].rc = NULL;
    }
    ep->home = -1;
}

static int start_relays(struct endpoint *ep, const struct endpoint_options *o, char *err,
                        size_t errlen)
{
    ep->home = -1;
    ep->no_relay = o->no_relay;
    if (o->no_relay) return 0;
    if (o->relay_token) {
        if (strlen(o->relay_token) > RELAY_TOKEN_MAX) {
            snprintf(err, errlen, "the relay token is over %d bytes", RELAY_TOKEN_MAX);
            return IROH_EINVAL;
        }
        snprintf(ep->relay_token_buf, sizeof ep->relay_token_buf, "%s", o->relay_token);
        ep->relay_token = ep->relay_token_buf;
    }
    uv_timer_init(ep->loop, &ep->relay_sweep);
    ep->relay_sweep.data = ep;
    ep->handles_open++;
    ep->relay_sweep_on = true;
    uv_timer_start(&ep->relay_sweep, on_relay_sweep, RELAY_SWEEP_MS, RELAY_SWEEP_MS);
    uv_unref((uv_handle_t *)&ep->relay_sweep); /* housekeeping keeps no loop alive */
    /* read once here, not on the loop when a relay connects */
    if (gnutls_certificate_allocate_credentials(&ep->relay_trust) < 0) return IROH_ENOMEM;
    if (gnutls_certificate_set_x509_system_trust(ep->relay_trust) < 0)
        log_warn("endpoint", "no system CAs: https relays need --relay-ca");
    if (o->relay_ca_file && gnutls_certificate_set_x509_trust_file(
                                ep->relay_trust, o->relay_ca_file, GNUTLS_X509_FMT_PEM) <= 0) {
        snprintf(err, errlen, "no CA certificate in %s", o->relay_ca_file);
        return IROH_EINVAL;
    }
    if (o->n_relays >= ENDPOINT_MAX_RELAYS) {
        snprintf(err, errlen, "at most %d relays", ENDPOINT_MAX_RELAYS - 1);
        return IROH_EINVAL;
    }
    for (size_t i = 0; i < o->n_relays; i++) {
        char canonical[IROH_RELAY_URL_MAX + 1];
        if (iroh_relay_url_canonicalize(o->relays[i], strlen(o->relays[i]), canonical,
                                        sizeof canonical) < 0) {
            snprintf(err, errlen, "relay \"%s\" is not an http:// or https:// URL", o->relays[i]);
            return IROH_EINVAL;
        }
        if (find_relay(ep, canonical)) continue;
        if (!open_relay(ep, canonical, true)) {
            snprintf(err, errlen, "cannot use relay %s%s", canonical,
                     ep->relay_token ? " (a relay token is printable ASCII without spaces)" : "");
            return IROH_EINVAL;
        }
        log_info("endpoint", "relay %s", canonical);
    }
    return 0;
}

size_t endpoint_relays(const struct endpoint *ep, struct endpoint_relay_status *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < ENDPOINT_MAX_RELAYS && n < cap; i++) {
        const struct relay_slot *r = &ep->relays[i];
        if (!r->rc) continue;
        out[n] = (struct endpoint_relay_status){.home = i == ep->home, .configured = r->configured};
        relay_client_info(r->rc, &out[n].info);
        n++;
    }
    return n;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void on_socket_closed(uv_handle_t *h);

static void close_socket(struct udp_socket *s)
{
    if (s->closing) return;
    s->closing = true;
    s->active = false;
    uv_close((uv_handle_t *)&s->poll, on_socket_closed);
}

/* Socket buffers (the kernel may give less), GSO if the kernel has it, GRO. */
static void tune_socket(struct udp_socket *s)
{
    int size = SOCKET_BUFFER, one = 1, gso_size = 0;
    socklen_t gso_len = sizeof gso_size;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    s->gso = getsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &gso_size, &gso_len) == 0;
    setsockopt(s->fd, SOL_UDP, UDP_GRO, &one, sizeof one); /* without it: one datagram a read */
}

static int bind_one(struct endpoint *ep, const struct iroh_socket_addr *addr, char *err,
                    size_t errlen)
{
    char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_socket_addr_format(addr, text, sizeof text);
    if (socket_for(ep, addr->family)) {
        snprintf(err, errlen, "bind %s: one socket per address family", text);
        return IROH_EINVAL;
    }
    struct udp_socket *s = &ep->sockets[ep->n_sockets];
    struct sockaddr_storage sa;
    socklen_t salen = quic_addr_to_sockaddr(addr, &sa);
    int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "UDP socket for %s: %s", text, strerror(errno));
        return IROH_EIO;
    }
    int one = 1;
    socklen_t len = sizeof sa;
    if ((addr->family == IROH_IP_V6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (const struct sockaddr *)&sa, salen) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
        quic_addr_from_sockaddr((const struct sockaddr *)&sa, &s->bound) < 0) {
        snprintf(err, errlen, "bind UDP %s: %s", text, strerror(errno));
        close(fd);
        return IROH_EIO;
    }
    int rc = uv_poll_init(ep->loop, &s->poll, fd);
    if (rc < 0) {
        snprintf(err, errlen, "UDP socket for %s: %s", text, uv_strerror(rc));
        close(fd);
        return IROH_EIO;
    }
    s->fd = fd;
    s->ep = ep;
    s->poll.data = s;
    ep->n_sockets++;
    ep->handles_open++;
    rc = uv_poll_start(&s->poll, UV_READABLE, on_readable);
    if (rc < 0) {
        snprintf(err, errlen, "receive on UDP %s: %s", text, uv_strerror(rc));
        close_socket(s);
        return IROH_EIO;
    }
    s->active = true;
    tune_socket(s);
    iroh_socket_addr_format(&s->bound, text, sizeof text);
    log_info("endpoint", "listening on UDP %s", text);
    return 0;
}

static size_t active_sockets(const struct endpoint *ep)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->n_sockets; i++)
        n += ep->sockets[i].active;
    return n;
}

/* Binds every address of the comma-separated list. With the default list a family the host
 * cannot bind (no IPv6) is skipped, as long as one socket remains. */
static int bind_all(struct endpoint *ep, const char *list, char *err, size_t errlen)
{
    bool is_default = !list || !*list;
    if (is_default) list = ENDPOINT_DEFAULT_BIND;
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct iroh_socket_addr addr;
        if (iroh_socket_addr_parse(p, len, &addr) < 0) {
            snprintf(err, errlen, "bind address \"%.*s\" is not IP:PORT", (int)len, p);
            return IROH_EINVAL;
        }
        if (ep->n_sockets == ENDPOINT_MAX_SOCKETS) {
            snprintf(err, errlen, "at most %d bind addresses", ENDPOINT_MAX_SOCKETS);
            return IROH_EINVAL;
        }
        int rc = bind_one(ep, &addr, err, errlen);
        if (rc < 0 && !(is_default && rc == IROH_EIO)) return rc;
        if (rc < 0) log_info("endpoint", "skipping %s", err);
        p = end ? end + 1 : p + len;
    }
    if (active_sockets(ep) == 0) {
        snprintf(err, errlen, "no UDP socket could be bound");
        return IROH_EIO;
    }
    return 0;
}

static void endpoint_free(struct endpoint *ep)
{
    quic_tls_ctx_free(ep->host.tls);
    iroh_peer_map_free(&ep->peers);
    if (ep->relay_trust) gnutls_certificate_free_credentials(ep->relay_trust);
    iroh_cid_table_free(&ep->cids);
    free(ep->conns);
    void (*done)(void *) = ep->stop_done;
    void *arg = ep->stop_arg;
    sodium_memzero(ep, sizeof *ep);
    free(ep);
    if (done) done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct endpoint *ep = h->data;
    if (--ep->handles_open == 0 && ep->stopping) endpoint_free(ep);
}

static void on_socket_closed(uv_handle_t *h)
{
    struct udp_socket *s = h->data;
    struct endpoint *ep = s->ep;
    close(s->fd);
    if (--ep->handles_open == 0 && ep->stopping) endpoint_free(ep);
}

static void close_sockets(struct endpoint *ep)
{
    close_relays(ep);
    if (ep->dial_pings_on) {
        ep->dial_pings_on = false;
        uv_close((uv_handle_t *)&ep->dial_pings, on_handle_closed);
    }
    for (size_t i = 0; i < ep->n_sockets; i++)
        close_socket(&ep->sockets[i]);
    if (ep->handles_open == 0) endpoint_free(ep);
}

int endpoint_start(uv_loop_t *loop, const struct endpoint_options *options, struct endpoint **out,
                   char *err, size_t errlen)
{
    struct endpoint *ep = calloc(1, sizeof *ep);
    if (!ep) return IROH_ENOMEM;
    ep->loop = loop;
    ep->host = (struct quic_host){
        .loop = loop,
        .send = host_send,
        .add_cid = host_add_cid,
        .remove_cid = host_remove_cid,
        .established = host_established,
        .closed = host_closed,
        .freed = host_freed,
    };
    randombytes_buf(ep->host.reset_secret, sizeof ep->host.reset_secret);
    randombytes_buf(ep->host.retry_secret, sizeof ep->host.retry_secret);
    ep->retry_always = options->retry_always;
    ep->secret = *options->secret;
    iroh_secret_key_public(options->secret, &ep->id);
    iroh_disco_secret_init(&ep->disco, options->secret);
    ep->home = -1;
    uv_timer_init(loop, &ep->dial_pings);
    ep->dial_pings.data = ep;
    ep->handles_open++;
    ep->dial_pings_on = true;
    uv_unref((uv_handle_t *)&ep->dial_pings); /* housekeeping keeps no loop alive */
    int rc = iroh_cid_table_init(&ep->cids);
    if (rc == 0) rc = iroh_peer_map_init(&ep->peers, MAX_PEERS);
    if (rc == 0) rc = quic_tls_ctx_new(options->secret, &ep->host.tls, err, errlen);
    if (rc == 0) rc = bind_all(ep, options->bind, err, errlen);
    if (rc == 0) rc = start_relays(ep, options, err, errlen);
    if (rc < 0) {
        if (rc == IROH_ENOMEM) snprintf(err, errlen, "out of memory");
        ep->stopping = true;
        close_sockets(ep);
        return rc;
    }
    *out = ep;
    return 0;
}

void endpoint_stop(struct endpoint *ep, void (*done)(void *arg), void *arg)
{
    ep->stopping = true;
    ep->stop_done = done;
    ep->stop_arg = arg;
    for (size_t i = 0; i < ep->n_conns; i++)
        quic_conn_close(ep->conns[i].qc, 0, "");
    if (ep->host.conns == 0) close_sockets(ep);
}

/* ---- protocols and dialing ------------------------------------------------------------------- */

static int compare_alpn(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int endpoint_serve(struct endpoint *ep, const char *alpn, endpoint_accept_fn *fn, void *arg)
{
    size_t len = strlen(alpn);
    if (len == 0 || len > QUIC_ALPN_MAX) return IROH_EINVAL;
    if (protocol_for(ep, alpn)) return IROH_EEXIST;
    if (ep->n_protocols == ENDPOINT_MAX_PROTOCOLS) return IROH_EBUSY;
    struct protocol *p = &ep->protocols[ep->n_protocols];
    memcpy(p->alpn, alpn, len + 1);
    p->fn = fn;
    p->arg = arg;
    ep->alpns[ep->n_protocols++] = p->alpn;
    /* iroh's router offers its ALPNs in bytewise order and TLS prefers the server's order */
    qsort(ep->alpns, ep->n_protocols, sizeof ep->alpns[0], compare_alpn);
    return 0;
}

int endpoint_unserve(struct endpoint *ep, const char *alpn)
{
    size_t i = 0;
    while (i < ep->n_protocols && strcmp(ep->protocols[i].alpn, alpn) != 0)
        i++;
    if (i == ep->n_protocols) return IROH_ENOTFOUND;
    ep->protocols[i] = ep->protocols[--ep->n_protocols];
    for (size_t j = 0; j < ep->n_protocols; j++)
        ep->alpns[j] = ep->protocols[j].alpn;
    qsort(ep->alpns, ep->n_protocols, sizeof ep->alpns[0], compare_alpn);
    return 0;
}

int endpoint_connect(struct endpoint *ep, const struct iroh_endpoint_addr *addr, const char *alpn,
                     endpoint_connect_fn *fn, void *arg)
{
    if (ep->stopping) return IROH_ECLOSED;
    if (memcmp(addr->id.bytes, ep->id.bytes, IROH_KEY_LEN) == 0) return IROH_EINVAL;
    bool via_relay = !ep->no_relay && addr->relay_count > 0;
    struct iroh_socket_addr candidates[IROH_PATH_MAX_CANDIDATES];
    size_t n = 0;
    for (size_t i = 0; i < addr->ip_count && n < IROH_PATH_MAX_CANDIDATES - (size_t)via_relay; i++)
        if (socket_for(ep, addr->ips[i].family)) candidates[n++] = addr->ips[i];
    if (n == 0 && !via_relay) return IROH_ENOTFOUND;
    struct dial *d = calloc(1, sizeof *d);
    if (!d) return IROH_ENOMEM;
    uint64_t now = uv_hrtime();
    /* our own dial may take the place of any remote */
    struct iroh_peer *peer = iroh_peer_map_add(&ep->peers, &addr->id, now, UINT64_MAX);
    /* Pings first (the Initial leaves from the loop): a 0.35 node learns our address from them.
     * Not to an address that reached the remote lately (such a node still knows ours): that
     * Ping and its Pong cost the handshake about 0.1 ms. If the node forgot us after all (it
     * restarted, our NAT mapping changed), the Ping DIAL_SKIPPED_PING_MS later lets the
     * Initial's first retransmission through (about 1 s). All are pinged again every
     * DIAL_PING_MS until the handshake completes. */
    bool skipped = false;
    for (size_t i = 0; i < n; i++) {
        if (iroh_peer_direct_recent(peer, &candidates[i], now))
            skipped = true;
        else
            disco_ping(ep, peer, &candidates[i]);
    }
    *d = (struct dial){.remote = addr->id, .n_pinged = n};
    memcpy(d->pinged, candidates, n * sizeof candidates[0]);
    if (via_relay) {
        /* the ticket's relay, unless a live relay connection already reaches the remote */
        if (!*peer->relay_url || !find_relay(ep, peer->relay_url))
            snprintf(peer->relay_url, sizeof peer->relay_url, "%s", addr->relays[0]);
        if (!find_relay(ep, peer->relay_url)) open_relay(ep, peer->relay_url, false);
        candidates[n++] = peer->relay_addr;
    }
    struct quic_conn *qc;
    int rc = quic_conn_dial(&ep->host, &addr->id, candidates, n, alpn, &qc);
    if (rc == 0 && (rc = track(ep, qc, NULL, false)) < 0) quic_conn_close(qc, 0, "");
    if (rc < 0) {
        free(d);
        return rc;
    }
    d->next = ep->dials;
    d->qc = qc;
    d->fn = fn;
    d->arg = arg;
    ep->dials = d;
    /* A skipped dial brings the next round of Pings forward (other dials are pinged early then
     * too: harmless), never back: dials that start more often than that still get theirs. */
    bool pinging = uv_is_active((uv_handle_t *)&ep->dial_pings);
    if (skipped && (!pinging || uv_timer_get_due_in(&ep->dial_pings) > DIAL_SKIPPED_PING_MS))
        uv_timer_start(&ep->dial_pings, on_dial_pings, DIAL_SKIPPED_PING_MS, DIAL_PING_MS);
    else if (d->n_pinged > 0 && !pinging)
        uv_timer_start(&ep->dial_pings, on_dial_pings, DIAL_PING_MS, DIAL_PING_MS);
    return 0;
}

/* ---- addresses ------------------------------------------------------------------------------- */

static bool is_unspecified(const struct iroh_socket_addr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->ip, zero, a->family == IROH_IP_V4 ? 4 : 16) == 0;
}

/* Adds every usable interface address of socket s's family with its port. */
static void add_interface_addrs(struct iroh_endpoint_addr *out, const struct udp_socket *s)
{
    uv_interface_address_t *ifs;
    int count;
    if (uv_interface_addresses(&ifs, &count) != 0) return;
    for (int pass = 0; pass < 2; pass++) { /* pass 1: loopback, if pass 0 found nothing */
        size_t found = 0;
        for (int i = 0; i < count; i++) {
            struct iroh_socket_addr a;
            if (quic_addr_from_sockaddr((const struct sockaddr *)&ifs[i].address, &a) < 0 ||
                a.family != s->bound.family || (bool)ifs[i].is_internal != (pass == 1))
                continue;
            if (a.family == IROH_IP_V6 && a.ip[0] == 0xfe && (a.ip[1] & 0xc0) == 0x80)
                continue; /* link-local needs a scope id, which tickets cannot carry */
            a.port = s->bound.port;
            if (iroh_endpoint_addr_add_ip(out, &a) >= 0) found++;
        }
        if (found) break;
    }
    uv_free_interface_addresses(ifs, count);
}

void endpoint_addr(const struct endpoint *ep, struct iroh_endpoint_addr *out)
{
    iroh_endpoint_addr_init(out, &ep->id);
    const struct relay_slot *home = ep->home >= 0 ? &ep->relays[ep->home] : NULL;
    for (size_t i = 0; !home && i < ENDPOINT_MAX_RELAYS; i++)
        if (ep->relays[i].rc && ep->relays[i].configured) home = &ep->relays[i];
    if (home) iroh_endpoint_addr_add_relay(out, relay_url(home), strlen(relay_url(home)));
    for (size_t i = 0; i < ep->n_sockets; i++) {
        const struct udp_socket *s = &ep->sockets[i];
        if (!s->active) continue;
        if (is_unspecified(&s->bound))
            add_interface_addrs(out, s);
        else
            iroh_endpoint_addr_add_ip(out, &s->bound);
    }
}

int endpoint_path_format(struct endpoint *ep, const struct iroh_socket_addr *real, char *out,
                         size_t cap)
{
    if (!iroh_peer_map_is_relay_addr(real)) return iroh_socket_addr_format(real, out, cap);
    const struct iroh_peer *p = iroh_peer_map_by_relay_addr(&ep->peers, real);
    int n = snprintf(out, cap, "relay:%s", p && *p->relay_url ? p->relay_url : "");
    return n >= 0 && (size_t)n < cap ? n : IROH_EBUFFER;
}

size_t endpoint_bound(const struct endpoint *ep, struct iroh_socket_addr *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->n_sockets && n < cap; i++)
        if (ep->sockets[i].active) out[n++] = ep->sockets[i].bound;
    return n;
}
