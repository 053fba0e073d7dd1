/* quic_conn.c — ngtcp2 connections and their streams; see quic_conn.h.
 *
 * Re-entrancy: every entry point (a datagram, the timer, a kick) runs with qc->busy raised;
 * ngtcp2 callbacks and service callbacks may ask for writes or a close, which happen in
 * settle() once the outermost entry point is done. Service calls made outside any entry point
 * (from other handles' callbacks) "kick" the connection: its timer fires at once and settles. */
#include "daemon/quic_conn.h"

#include <iroh/error.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/quic_path.h"
#include "daemon/log.h"

#define PKT_BUF 1500          /* ngtcp2 sends at most 1452 bytes (its PMTUD ceiling) */
#define MAX_PKTS_PER_WRITE 64 /* a burst; pacing (the timer) continues it */
/* Packets of one burst go to the endpoint in batches of same-size datagrams (one GSO send):
 * at most this many bytes (an IPv6 UDP payload's limit, rounded down) and segments. */
#define TX_BATCH_BYTES 65000
#define TX_BATCH_SEGMENTS 64
#define MAX_WRITE_STEPS 4096 /* bound on one write round's ngtcp2 calls */
#define MAX_STREAM_VECS 8
#define CHUNK_MIN (16 * 1024)
#define INITIAL_DCID_LEN 16
#define STREAM_WINDOW 1250000 /* per stream, as iroh */
#define CONN_WINDOW 10000000  /* initial connection window */
#define MAX_CONN_WINDOW (24 * 1024 * 1024)
#define MAX_STREAM_WINDOW (6 * 1024 * 1024)
#define MAX_DATAGRAM_FRAME 65535 /* the largest DATAGRAM frame we take, as iroh */
/* A short-header packet's overhead around a DATAGRAM frame: flags, the peer's connection id,
 * the longest packet number, the AEAD tag; and the frame's type and 2-byte length. */
#define DATAGRAM_PACKET_OVERHEAD(dcid_len) (1 + (dcid_len) + 4 + 16 + 1 + 2)

/* A piece of a stream's outgoing bytes, kept until the peer acknowledges all of it. */
struct chunk {
    struct chunk *next;
    uint64_t off; /* stream offset of data[0] */
    size_t len, cap;
    uint8_t data[];
};

struct quic_stream {
    struct quic_conn *qc;
    int64_t id;
    struct quic_stream *prev, *next; /* the connection's list; the send order rotates */
    struct chunk *head, *tail;
    uint64_t acked, sent, written; /* stream offsets */
    bool fin_requested, fin_sent, blocked, drain_wanted;
    bool write_shut;  /* the peer's STOP_SENDING made ngtcp2 reset our direction */
    bool reset;       /* we reset or refused the stream */
    bool read_shut;   /* we sent STOP_SENDING: the peer's bytes are dropped */
    bool write_reset; /* we reset our direction (quic_stream_reset_write) */
    bool peer_reset;  /* the peer reset its direction with peer_reset_code */
    uint64_t peer_reset_code;
    const struct quic_stream_callbacks *cb;
    void *arg;
};

/* A datagram waiting for congestion control to let it out. */
struct dgram {
    struct dgram *next;
    size_t len;
    uint8_t data[];
};

enum conn_state { ST_HANDSHAKE, ST_OPEN, ST_GONE };

struct quic_conn {
    struct quic_host *host;
    char name[24];
    uv_timer_t timer;
    ngtcp2_conn *conn;
    gnutls_session_t tls; /* NULL once the handshake is confirmed (release_tls) */
    bool tls_done;        /* the handshake is confirmed: the session goes at the next settle */
    struct quic_tls_peer peer;
    struct iroh_path_map paths;
    bool server;
    char alpn[QUIC_ALPN_MAX + 1];
    enum conn_state state;
    int busy;
    bool close_pending, send_close;
    int close_status;
    ngtcp2_connection_close_error ccerr;
    uint8_t reason[128];
    char why[200];
    struct quic_stream *streams, *streams_tail;
    struct dgram *dgram_head, *dgram_tail;
    size_t dgram_bytes;           /* queued, at most QUIC_DATAGRAM_QUEUE_BYTES */
    struct quic_conn_stats stats; /* stream_packets_lost counts closed streams only */
    ngtcp2_tstamp recovery_start; /* the congestion event last counted */
    const struct quic_conn_callbacks *cb;
    void *arg;
};

static unsigned next_serial;

/* Every path's local side: ngtcp2 never sees our sockets either. */
static struct sockaddr_in6 local_sockaddr = {
    .sin6_family = AF_INET6,
    .sin6_addr = {{{0xfd, 0x15, 0x07, 0x0a, 0x51, 0x0b, 0x00, 0xff}}},
};

static ngtcp2_tstamp now_ns(void)
{
    return uv_hrtime();
}

static void settle(struct quic_conn *qc);
static void on_timer(uv_timer_t *t);

static void enter(struct quic_conn *qc)
{
    qc->busy++;
}

static void leave(struct quic_conn *qc)
{
    if (--qc->busy == 0) settle(qc);
}

static void kick(struct quic_conn *qc)
{
    if (qc->busy == 0 && qc->state != ST_GONE) uv_timer_start(&qc->timer, on_timer, 0, 0);
}

/* ---- addresses ------------------------------------------------------------------------------- */

int quic_addr_from_sockaddr(const struct sockaddr *sa, struct iroh_socket_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->family = IROH_IP_V4;
        out->port = ntohs(in->sin_port);
        memcpy(out->ip, &in->sin_addr, 4);
        return IROH_OK;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        out->family = IROH_IP_V6;
        out->port = ntohs(in6->sin6_port);
        memcpy(out->ip, &in6->sin6_addr, 16);
        return IROH_OK;
    }
    return IROH_EINVAL;
}

socklen_t quic_addr_to_sockaddr(const struct iroh_socket_addr *a, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (a->family == IROH_IP_V4) {
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        memcpy(&in->sin_addr, a->ip, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(a->port);
    memcpy(&in6->sin6_addr, a->ip, 16);
    return sizeof *in6;
}

/* The ngtcp2 path from our local side to synthetic; remote_ss holds the remote sockaddr. */
static void make_path(ngtcp2_path *path, struct sockaddr_storage *remote_ss,
                      const struct iroh_socket_addr *synthetic)
{
    socklen_t len = quic_addr_to_sockaddr(synthetic, remote_ss);
    local_sockaddr.sin6_port = htons(IROH_PATH_SYNTHETIC_PORT);
    *path = (ngtcp2_path){
        .local = {(ngtcp2_sockaddr *)&local_sockaddr, sizeof local_sockaddr},
        .remote = {(ngtcp2_sockaddr *)remote_ss, len},
    };
}

/* Sends packets QUIC built for path, each segment bytes but the last, to the real address(es)
 * behind its remote side. */
static void send_packets(struct quic_conn *qc, const ngtcp2_path *path, const uint8_t *pkt,
                         size_t len, size_t segment)
{
    struct iroh_socket_addr synthetic;
    if (quic_addr_from_sockaddr((const struct sockaddr *)path->remote.addr, &synthetic) < 0) return;
    const struct iroh_socket_addr *to[IROH_PATH_MAX_CANDIDATES];
    size_t n = iroh_path_map_targets(&qc->paths, &synthetic, to, IROH_PATH_MAX_CANDIDATES);
    for (size_t i = 0; i < n; i++)
        qc->host->send(qc->host, to[i], pkt, len, segment);
}

static const char *tls_alert_name(unsigned alert)
{
    const char *name = gnutls_alert_get_name((gnutls_alert_description_t)alert);
    return name ? name : "unknown";
}

/* ---- failures and closing -------------------------------------------------------------------- */

static void set_close(struct quic_conn *qc, int status, bool send_close, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_close(struct quic_conn *qc, int status, bool send_close, const char *fmt, ...)
{
    if (qc->close_pending) return;
    qc->close_pending = true;
    qc->close_status = status;
    qc->send_close = send_close;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(qc->why, sizeof qc->why, fmt, ap);
    va_end(ap);
}

/* Describes a CONNECTION_CLOSE the peer sent. A TLS alert (transport codes 0x100-0x1ff) is a
 * refused handshake: a wrong id, no common ALPN. */
static void describe_peer_close(struct quic_conn *qc)
{
    ngtcp2_connection_close_error e;
    ngtcp2_conn_get_connection_close_error(qc->conn, &e);
    bool transport = e.type != NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
    if (transport && e.error_code >= 0x100 && e.error_code < 0x200) {
        unsigned alert = (unsigned)(e.error_code - 0x100);
        set_close(qc, IROH_EPROTO, false, "the peer refused the handshake: TLS alert %u (%s)",
                  alert, tls_alert_name(alert));
        return;
    }
    int n = e.reasonlen > 80 ? 80 : (int)e.reasonlen;
    set_close(qc, IROH_ECLOSED, false, "closed by the peer: %s code 0x%llx \"%.*s\"",
              transport ? "transport" : "application", (unsigned long long)e.error_code, n,
              e.reason ? (const char *)e.reason : "");
}

/* Turns an ngtcp2 error of a read, write or timer into the connection's close. */
static void fail_liberr(struct quic_conn *qc, int rv, const char *during)
{
    switch (rv) {
    case NGTCP2_ERR_DRAINING: describe_peer_close(qc); return;
    case NGTCP2_ERR_IDLE_CLOSE: set_close(qc, IROH_ETIMEDOUT, false, "idle timeout"); return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
        set_close(qc, IROH_ETIMEDOUT, false, "no handshake within 10 s");
        return;
    case NGTCP2_ERR_DROP_CONN: set_close(qc, IROH_EPROTO, false, "dropped by QUIC"); return;
    case NGTCP2_ERR_CRYPTO: {
        uint8_t alert = ngtcp2_conn_get_tls_alert(qc->conn);
        ngtcp2_connection_close_error_set_transport_error_tls_alert(&qc->ccerr, alert, NULL, 0);
        set_close(qc, IROH_EPROTO, true, "TLS handshake failed: alert %u (%s)", alert,
                  tls_alert_name(alert));
        return;
    }
    default:
        ngtcp2_connection_close_error_set_transport_error_liberr(&qc->ccerr, rv, NULL, 0);
        set_close(qc, rv == NGTCP2_ERR_NOMEM ? IROH_ENOMEM : IROH_EPROTO, true, "%s: %s", during,
                  ngtcp2_strerror(rv));
    }
}

static void free_stream(struct quic_stream *s)
{
    struct quic_conn *qc = s->qc;
    if (s->prev)
        s->prev->next = s->next;
    else
        qc->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        qc->streams_tail = s->prev;
    for (struct chunk *c = s->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(s);
}

static void dgram_pop(struct quic_conn *qc)
{
    struct dgram *d = qc->dgram_head;
    qc->dgram_head = d->next;
    if (!qc->dgram_head) qc->dgram_tail = NULL;
    qc->dgram_bytes -= d->len;
    free(d);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct quic_conn *qc = h->data;
    struct quic_host *host = qc->host;
    while (qc->dgram_head)
        dgram_pop(qc);
    ngtcp2_conn_del(qc->conn);
    if (qc->tls) gnutls_deinit(qc->tls);
    free(qc);
    host->conns--;
    host->freed(host);
}

/* Sends CONNECTION_CLOSE if due, tells the host, the streams and the service, and frees. */
static void do_close(struct quic_conn *qc)
{
    qc->state = ST_GONE;
    uv_timer_stop(&qc->timer);
    if (qc->send_close && !ngtcp2_conn_is_in_closing_period(qc->conn) &&
        !ngtcp2_conn_is_in_draining_period(qc->conn)) {
        uint8_t buf[PKT_BUF];
        ngtcp2_path_storage ps;
        ngtcp2_path_storage_zero(&ps);
        ngtcp2_pkt_info pi;
        ngtcp2_ssize n = ngtcp2_conn_write_connection_close(qc->conn, &ps.path, &pi, buf,
                                                            sizeof buf, &qc->ccerr, now_ns());
        if (n > 0) send_packets(qc, &ps.path, buf, (size_t)n, (size_t)n);
    }
    if (qc->close_status == IROH_OK)
        log_debug("quic", "%s: closed", qc->name);
    else
        log_info("quic", "%s: %s", qc->name, qc->why);
    qc->busy++; /* nothing below may re-enter settle() */
    qc->host->closed(qc->host, qc, qc->close_status);
    while (qc->streams) {
        struct quic_stream *s = qc->streams;
        if (s->cb && s->cb->on_close) s->cb->on_close(s, IROH_ECLOSED, 0, s->arg);
        free_stream(s);
    }
    if (qc->cb && qc->cb->on_close) qc->cb->on_close(qc, qc->close_status, qc->arg);
    uv_close((uv_handle_t *)&qc->timer, on_timer_closed);
}

/* ---- streams: sending ------------------------------------------------------------------------ */

static bool sendable(const struct quic_stream *s)
{
    return !s->blocked && !s->reset && !s->write_shut &&
           (s->sent < s->written || (s->fin_requested && !s->fin_sent));
}

static struct quic_stream *next_sendable(struct quic_conn *qc)
{
    for (struct quic_stream *s = qc->streams; s; s = s->next)
        if (sendable(s)) return s;
    return NULL;
}

/* Moves s to the end of the list, so streams take turns packet by packet. */
static void rotate(struct quic_stream *s)
{
    struct quic_conn *qc = s->qc;
    if (!s->next) return;
    if (s->prev)
        s->prev->next = s->next;
    else
        qc->streams = s->next;
    s->next->prev = s->prev;
    s->prev = qc->streams_tail;
    s->next = NULL;
    qc->streams_tail->next = s;
    qc->streams_tail = s;
}

/* Points vec at the unsent bytes of s. Returns the vector count; *all: they are all of them. */
static size_t stream_vecs(const struct quic_stream *s, ngtcp2_vec *vec, size_t max, bool *all)
{
    size_t n = 0;
    uint64_t covered = s->sent;
    for (const struct chunk *c = s->head; c && n < max; c = c->next) {
        if (c->off + c->len <= covered) continue;
        size_t skip = (size_t)(covered - c->off);
        vec[n++] = (ngtcp2_vec){(uint8_t *)c->data + skip, c->len - skip};
        covered = c->off + c->len;
    }
    *all = covered == s->written;
    return n;
}

/* Packets written but not yet handed to the endpoint: same path, same size but the last. */
struct tx_batch {
    uint8_t buf[TX_BATCH_BYTES];
    size_t used, segment, count;
    ngtcp2_path_storage path;
};

static void batch_flush(struct quic_conn *qc, struct tx_batch *b)
{
    if (b->count) send_packets(qc, &b->path.path, b->buf, b->used, b->segment);
    b->used = b->count = 0;
}

/* Takes the packet of len bytes just written at b->buf + b->used for path. */
static void batch_add(struct quic_conn *qc, struct tx_batch *b, const ngtcp2_path *path, size_t len)
{
    if (b->count && (len > b->segment || !ngtcp2_path_eq(&b->path.path, path))) {
        size_t at = b->used;
        batch_flush(qc, b); /* it cannot join: it starts the next batch (rare) */
        memmove(b->buf, b->buf + at, len);
    }
    if (b->count == 0) {
        ngtcp2_path_copy(&b->path.path, path);
        b->segment = len;
    }
    b->used += len;
    b->count++;
    /* a shorter datagram ends a batch, and the next must fit whole */
    if (len < b->segment || b->count == TX_BATCH_SEGMENTS || b->used + PKT_BUF > TX_BATCH_BYTES)
        batch_flush(qc, b);
}

/* Offers the first queued datagram to the packet being built at dest. Returns as
 * ngtcp2_conn_writev_datagram; a datagram the peer or the path cannot take is dropped. */
static ngtcp2_ssize write_datagram(struct quic_conn *qc, ngtcp2_path *path, ngtcp2_pkt_info *pi,
                                   uint8_t *dest, ngtcp2_tstamp ts)
{
    struct dgram *d = qc->dgram_head;
    if (d->len > quic_conn_max_datagram(qc)) { /* cannot happen unless the path shrank */
        dgram_pop(qc);
        qc->stats.datagrams_dropped++;
        return NGTCP2_ERR_WRITE_MORE;
    }
    ngtcp2_vec vec = {d->data, d->len};
    int accepted = 0;
    ngtcp2_ssize n = ngtcp2_conn_writev_datagram(qc->conn, path, pi, dest, PKT_BUF, &accepted,
                                                 NGTCP2_WRITE_DATAGRAM_FLAG_MORE, 0, &vec, 1, ts);
    if (n == NGTCP2_ERR_INVALID_ARGUMENT || n == NGTCP2_ERR_INVALID_STATE) {
        dgram_pop(qc); /* over the peer's limit, or the peer takes none */
        qc->stats.datagrams_dropped++;
        return NGTCP2_ERR_WRITE_MORE;
    }
    if (accepted) {
        dgram_pop(qc);
        qc->stats.datagrams_sent++;
    }
    return n;
}

static void write_packets(struct quic_conn *qc)
{
    struct tx_batch batch;
    batch.used = batch.count = 0;
    ngtcp2_path_storage_zero(&batch.path);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    ngtcp2_tstamp ts = now_ns();
    size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(qc->conn);
    size_t max_pkts = ngtcp2_conn_get_send_quantum(qc->conn) / (max_udp ? max_udp : 1200);
    if (max_pkts < 1) max_pkts = 1;
    if (max_pkts > MAX_PKTS_PER_WRITE) max_pkts = MAX_PKTS_PER_WRITE;

    size_t pkts = 0;
    for (int step = 0; step < MAX_WRITE_STEPS && pkts < max_pkts; step++) {
        if (qc->dgram_head) { /* datagrams first: they are the latency-sensitive ones */
            ngtcp2_ssize n = write_datagram(qc, &ps.path, &pi, batch.buf + batch.used, ts);
            if (n == NGTCP2_ERR_WRITE_MORE) continue;
            if (n < 0) {
                batch_flush(qc, &batch);
                fail_liberr(qc, (int)n, "write");
                return;
            }
            if (n == 0) break; /* congestion-limited */
            batch_add(qc, &batch, &ps.path, (size_t)n);
            pkts++;
            continue;
        }
        struct quic_stream *s = next_sendable(qc);
        ngtcp2_vec vec[MAX_STREAM_VECS];
        size_t nvec = 0;
        uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        bool all = false;
        if (s) {
            nvec = stream_vecs(s, vec, MAX_STREAM_VECS, &all);
            if (all && s->fin_requested) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        }
        ngtcp2_ssize taken = -1;
        ngtcp2_ssize n =
            ngtcp2_conn_writev_stream(qc->conn, &ps.path, &pi, batch.buf + batch.used, PKT_BUF,
                                      &taken, flags, s ? s->id : -1, vec, nvec, ts);
        if (s && taken >= 0) {
            s->sent += (uint64_t)taken;
            if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->sent == s->written) s->fin_sent = true;
        }
        if (n == NGTCP2_ERR_WRITE_MORE) continue;
        if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
            s->blocked = true;
            continue;
        }
        if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
            s->write_shut = true;
            continue;
        }
        if (n < 0) {
            batch_flush(qc, &batch);
            fail_liberr(qc, (int)n, "write");
            return;
        }
        if (n == 0) break; /* nothing to send, or congestion-limited */
        batch_add(qc, &batch, &ps.path, (size_t)n);
        pkts++;
        if (s) rotate(s);
    }
    batch_flush(qc, &batch);
    /* Pacing starts with the handshake's end. ngtcp2 0.12 paces by cwnd over the smoothed RTT,
     * which is the initial 333 ms until the first sample: pacing the first Initial held the
     * client's next flight (its Finished and first stream data) back by about 22 ms, until a
     * probe timeout, on every new connection. The handshake's few packets are not worth
     * spacing; what they sent counts in the first interval after it. */
    if (ngtcp2_conn_get_handshake_completed(qc->conn)) ngtcp2_conn_update_pkt_tx_time(qc->conn, ts);
}

static void arm_timer(struct quic_conn *qc)
{
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(qc->conn);
    if (expiry == UINT64_MAX) {
        uv_timer_stop(&qc->timer);
        return;
    }
    ngtcp2_tstamp now = now_ns();
    uint64_t ms = expiry > now ? (expiry - now + 999999) / 1000000 : 0;
    uv_update_time(qc->host->loop);
    uv_timer_start(&qc->timer, on_timer, ms, 0);
}

/* Counts a congestion event (loss or ECN) when ngtcp2 entered a new recovery period. */
static void note_congestion(struct quic_conn *qc)
{
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(qc->conn, &st);
    if (st.congestion_recovery_start_ts == UINT64_MAX ||
        st.congestion_recovery_start_ts == qc->recovery_start)
        return;
    qc->recovery_start = st.congestion_recovery_start_ts;
    qc->stats.congestion_events++;
}

/* Once the handshake is confirmed the TLS session has no more work (no tickets, no 0-RTT; key
 * updates are QUIC's): it is freed, about 9 KiB of an idle connection. Called outside any
 * ngtcp2 or GnuTLS call. */
static void release_tls(struct quic_conn *qc)
{
    if (!qc->tls_done || !qc->tls) return;
    ngtcp2_conn_set_tls_native_handle(qc->conn, NULL);
    gnutls_deinit(qc->tls);
    qc->tls = NULL;
}

/* Does what the callbacks of the finished entry point asked for: writes, or the close. */
static void settle(struct quic_conn *qc)
{
    if (qc->state == ST_GONE) return;
    release_tls(qc);
    note_congestion(qc);
    if (!qc->close_pending) {
        qc->busy++;
        write_packets(qc);
        qc->busy--;
    }
    if (qc->close_pending) {
        do_close(qc);
        return;
    }
    arm_timer(qc);
}

static void on_timer(uv_timer_t *t)
{
    struct quic_conn *qc = t->data;
    enter(qc);
    if (!qc->close_pending) {
        /* Only the timer fires probes; an acknowledgement sets pto_count back to 0. */
        ngtcp2_conn_stat before, after;
        ngtcp2_conn_get_conn_stat(qc->conn, &before);
        int rv = ngtcp2_conn_handle_expiry(qc->conn, now_ns());
        if (rv != 0) fail_liberr(qc, rv, "timer");
        ngtcp2_conn_get_conn_stat(qc->conn, &after);
        if (after.pto_count > before.pto_count)
            qc->stats.probe_timeouts += after.pto_count - before.pto_count;
    }
    leave(qc);
}

/* ---- ngtcp2 callbacks ------------------------------------------------------------------------ */

static void on_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
    (void)ctx;
    randombytes_buf(dest, len);
}

static struct iroh_quic_cid cid_of(const ngtcp2_cid *c)
{
    struct iroh_quic_cid out = {.len = (uint8_t)c->datalen};
    memcpy(out.bytes, c->data, c->datalen);
    return out;
}

static int on_new_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen, void *user)
{
    (void)conn;
    struct quic_conn *qc = user;
    randombytes_buf(cid->data, cidlen);
    cid->datalen = cidlen;
    struct iroh_quic_cid id = cid_of(cid);
    if (qc->host->add_cid(qc->host, &id, qc) < 0 ||
        ngtcp2_crypto_generate_stateless_reset_token(token, qc->host->reset_secret,
                                                     QUIC_RESET_SECRET_LEN, cid) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static int on_remove_cid(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user)
{
    (void)conn;
    struct quic_conn *qc = user;
    struct iroh_quic_cid id = cid_of(cid);
    qc->host->remove_cid(qc->host, &id);
    return 0;
}

static int on_handshake_completed(ngtcp2_conn *conn, void *user)
{
    (void)conn;
    struct quic_conn *qc = user;
    if (quic_tls_selected_alpn(qc->tls, qc->alpn, sizeof qc->alpn) < 0) {
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &qc->ccerr, GNUTLS_A_NO_APPLICATION_PROTOCOL, NULL, 0);
        set_close(qc, IROH_EPROTO, true, "no ALPN was negotiated");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    if (!qc->peer.remote_known) { /* GnuTLS requires the certificate; this cannot happen */
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &qc->ccerr, GNUTLS_A_CERTIFICATE_REQUIRED, NULL, 0);
        set_close(qc, IROH_EPROTO, true, "the peer sent no raw public key");
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
    qc->state = ST_OPEN;
    if (qc->server) qc->tls_done = true;
    char id[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&qc->peer.remote, id, sizeof id);
    log_info("quic", "%s: %s %s, ALPN %s", qc->name, qc->server ? "accepted from" : "connected to",
             id, qc->alpn);
    log_debug("quic", "%s: TLS 1.3 with %s, key exchange %s", qc->name,
              gnutls_cipher_get_name(gnutls_cipher_get(qc->tls)),
              gnutls_group_get_name(gnutls_group_get(qc->tls)));
    /* Now, inside the callback: streams the peer opens in the same flight need the service. */
    qc->host->established(qc->host, qc);
    return 0;
}

/* The client's handshake is confirmed (HANDSHAKE_DONE); a server's is at completion. */
static int on_handshake_confirmed(ngtcp2_conn *conn, void *user)
{
    (void)conn;
    struct quic_conn *qc = user;
    qc->tls_done = true;
    return 0;
}

/* Handshake bytes go to TLS; 1-RTT CRYPTO data after the session was freed (a TLS 1.3
 * NewSessionTicket the peer sends anyway) is dropped. */
static int on_crypto_data(ngtcp2_conn *conn, ngtcp2_crypto_level level, uint64_t offset,
                          const uint8_t *data, size_t len, void *user)
{
    struct quic_conn *qc = user;
    if (!qc->tls) return 0;
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len, user);
}

static struct quic_stream *new_stream(struct quic_conn *qc, int64_t id)
{
    struct quic_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->qc = qc;
    s->id = id;
    s->prev = qc->streams_tail;
    if (qc->streams_tail)
        qc->streams_tail->next = s;
    else
        qc->streams = s;
    qc->streams_tail = s;
    return s;
}

static int on_stream_open(ngtcp2_conn *conn, int64_t id, void *user)
{
    struct quic_conn *qc = user;
    struct quic_stream *s = new_stream(qc, id);
    if (!s) return NGTCP2_ERR_CALLBACK_FAILURE;
    ngtcp2_conn_set_stream_user_data(conn, id, s);
    if (qc->cb && qc->cb->on_stream) qc->cb->on_stream(qc, s, qc->arg);
    if (!s->cb) {
        log_debug("quic", "%s: refusing stream %lld", qc->name, (long long)id);
        ngtcp2_conn_shutdown_stream(conn, id, 0);
        s->reset = true;
    }
    return 0;
}

static int on_stream_data(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t offset,
                          const uint8_t *data, size_t len, void *user, void *stream_user)
{
    (void)offset;
    (void)user;
    struct quic_stream *s = stream_user;
    bool fin = flags & NGTCP2_STREAM_DATA_FLAG_FIN;
    if (s && s->cb && s->cb->on_data && !s->reset && !s->read_shut) {
        s->cb->on_data(s, data, len, fin, s->arg);
    } else { /* nobody reads it: credit it back at once */
        ngtcp2_conn_extend_max_stream_offset(conn, id, len);
        ngtcp2_conn_extend_max_offset(conn, len);
    }
    return 0;
}

static int on_acked(ngtcp2_conn *conn, int64_t id, uint64_t offset, uint64_t len, void *user,
                    void *stream_user)
{
    (void)conn;
    (void)id;
    (void)user;
    struct quic_stream *s = stream_user;
    if (!s) return 0;
    if (offset + len > s->acked) s->acked = offset + len;
    while (s->head && s->head->off + s->head->len <= s->acked) {
        struct chunk *c = s->head;
        s->head = c->next;
        free(c);
    }
    if (!s->head) s->tail = NULL;
    if (s->drain_wanted && s->written - s->acked <= QUIC_STREAM_LOW_WATER) {
        s->drain_wanted = false;
        if (s->cb && s->cb->on_drain) s->cb->on_drain(s, s->arg);
    }
    return 0;
}

static int on_stream_close(ngtcp2_conn *conn, uint32_t flags, int64_t id, uint64_t app_error,
                           void *user, void *stream_user)
{
    struct quic_conn *qc = user;
    /* ngtcp2 never raises the peer's stream limit by itself: each stream the peer opened gives
     * its place back when it closes, so a peer may open any number over time, 100 at once. */
    if ((id & 0x1) != qc->server) {
        if (id & 0x2)
            ngtcp2_conn_extend_max_streams_uni(conn, 1);
        else
            ngtcp2_conn_extend_max_streams_bidi(conn, 1);
    }
    struct quic_stream *s = stream_user;
    if (!s) return 0;
    bool errored = flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET;
    qc->stats.stream_packets_lost += ngtcp2_conn_get_stream_loss_count(conn, id);
    if (errored)
        log_debug("quic", "%s: stream %lld closed with code %llu", qc->name, (long long)id,
                  (unsigned long long)app_error);
    /* ngtcp2 0.12 tells nobody of a STOP_SENDING it received; its code is the stream's first
     * code, so a code that is neither ours nor the peer's RESET_STREAM's came with one. */
    bool ours = s->reset || s->read_shut || s->write_reset;
    if (errored && !ours && !(s->peer_reset && s->peer_reset_code == app_error) && s->cb) {
        if (s->cb->on_reset) s->cb->on_reset(s, app_error, true, s->arg);
        if (qc->cb && qc->cb->on_stream_reset)
            qc->cb->on_stream_reset(qc, s, app_error, true, qc->arg);
    }
    if (s->cb && s->cb->on_close)
        s->cb->on_close(s, errored ? IROH_ECLOSED : IROH_OK, errored ? app_error : 0, s->arg);
    free_stream(s);
    return 0;
}

static int on_extend_stream_data(ngtcp2_conn *conn, int64_t id, uint64_t max_data, void *user,
                                 void *stream_user)
{
    (void)conn;
    (void)id;
    (void)max_data;
    (void)user;
    struct quic_stream *s = stream_user;
    if (s) s->blocked = false;
    return 0;
}

static int on_stream_reset(ngtcp2_conn *conn, int64_t id, uint64_t final_size, uint64_t app_error,
                           void *user, void *stream_user)
{
    (void)conn;
    (void)final_size;
    struct quic_conn *qc = user;
    struct quic_stream *s = stream_user;
    log_debug("quic", "%s: the peer reset stream %lld: code %llu", qc->name, (long long)id,
              (unsigned long long)app_error);
    if (!s) return 0;
    s->peer_reset = true;
    s->peer_reset_code = app_error;
    if (!s->cb) return 0;
    if (s->cb->on_reset) s->cb->on_reset(s, app_error, false, s->arg);
    if (qc->cb && qc->cb->on_stream_reset)
        qc->cb->on_stream_reset(qc, s, app_error, false, qc->arg);
    return 0;
}

static int on_recv_datagram(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t len,
                            void *user)
{
    (void)conn;
    (void)flags;
    struct quic_conn *qc = user;
    qc->stats.datagrams_received++;
    if (qc->cb && qc->cb->on_datagram)
        qc->cb->on_datagram(qc, data, len, qc->arg);
    else
        qc->stats.datagrams_dropped++;
    return 0;
}

static int on_lost_datagram(ngtcp2_conn *conn, uint64_t id, void *user)
{
    (void)conn;
    (void)id;
    ((struct quic_conn *)user)->stats.datagrams_lost++;
    return 0;
}

static void fill_callbacks(ngtcp2_callbacks *cb, bool server)
{
    memset(cb, 0, sizeof *cb);
    if (server) {
        cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    } else {
        cb->client_initial = ngtcp2_crypto_client_initial_cb;
        cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
    }
    cb->recv_crypto_data = on_crypto_data;
    cb->handshake_confirmed = on_handshake_confirmed;
    cb->encrypt = ngtcp2_crypto_encrypt_cb;
    cb->decrypt = ngtcp2_crypto_decrypt_cb;
    cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
    cb->update_key = ngtcp2_crypto_update_key_cb;
    cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    cb->rand = on_rand;
    cb->get_new_connection_id = on_new_cid;
    cb->remove_connection_id = on_remove_cid;
    cb->handshake_completed = on_handshake_completed;
    cb->stream_open = on_stream_open;
    cb->recv_stream_data = on_stream_data;
    cb->acked_stream_data_offset = on_acked;
    cb->stream_close = on_stream_close;
    cb->extend_max_stream_data = on_extend_stream_data;
    cb->recv_datagram = on_recv_datagram;
    cb->stream_reset = on_stream_reset;
    cb->lost_datagram = on_lost_datagram;
}

/* The QUIC profile both roles share (quic_conn.h lists it). */
static void fill_settings(ngtcp2_settings *s, ngtcp2_transport_params *p)
{
    static uint32_t v1_only[] = {NGTCP2_PROTO_VER_V1};
    ngtcp2_settings_default(s);
    s->initial_ts = now_ns();
    s->cc_algo = NGTCP2_CC_ALGO_CUBIC;
    s->max_window = MAX_CONN_WINDOW;
    s->max_stream_window = MAX_STREAM_WINDOW;
    s->preferred_versions = v1_only;
    s->preferred_versionslen = 1;
    s->other_versions = v1_only;
    s->other_versionslen = 1;

    ngtcp2_transport_params_default(p);
    p->initial_max_stream_data_bidi_local = STREAM_WINDOW;
    p->initial_max_stream_data_bidi_remote = STREAM_WINDOW;
    p->initial_max_stream_data_uni = STREAM_WINDOW;
    p->initial_max_data = CONN_WINDOW;
    p->initial_max_streams_bidi = 100;
    p->initial_max_streams_uni = 100;
    p->max_idle_timeout = 30 * NGTCP2_SECONDS;
    p->max_udp_payload_size = 1472;
    p->active_connection_id_limit = 5;
    p->max_datagram_frame_size = MAX_DATAGRAM_FRAME;
}

/* ---- creating connections -------------------------------------------------------------------- */

static struct quic_conn *conn_alloc(struct quic_host *host, bool server)
{
    struct quic_conn *qc = calloc(1, sizeof *qc);
    if (!qc) return NULL;
    qc->host = host;
    host->conns++;
    qc->server = server;
    snprintf(qc->name, sizeof qc->name, "conn %u", ++next_serial);
    qc->peer.server = server;
    qc->peer.log_name = qc->name;
    qc->close_status = IROH_OK;
    ngtcp2_connection_close_error_default(&qc->ccerr);
    uv_timer_init(host->loop, &qc->timer);
    qc->timer.data = qc;
    return qc;
}

/* Frees a connection that never got going (its CIDs are dropped by the host). */
static void conn_discard(struct quic_conn *qc)
{
    qc->state = ST_GONE;
    qc->busy++;
    qc->host->closed(qc->host, qc, IROH_EIO);
    uv_close((uv_handle_t *)&qc->timer, on_timer_closed);
}

/* What ngtcp2_conn_client_new and _server_new take, filled for qc's role: its first path (the
 * remote's synthetic address, whose sockaddr lives here), the callbacks and the profile. */
struct conn_setup {
    struct sockaddr_storage remote;
    ngtcp2_path path;
    ngtcp2_callbacks cb;
    ngtcp2_settings settings;
    ngtcp2_transport_params params;
};

static void conn_setup_init(struct conn_setup *set, const struct quic_conn *qc)
{
    make_path(&set->path, &set->remote, iroh_path_map_first(&qc->paths));
    fill_callbacks(&set->cb, qc->server);
    fill_settings(&set->settings, &set->params);
}

static void random_cid(ngtcp2_cid *cid, size_t len)
{
    cid->datalen = len;
    randombytes_buf(cid->data, len);
}

/* Attaches a TLS session and starts the timer: the common end of dial and accept. */
static int conn_start_tls(struct quic_conn *qc, const char *const *alpns, size_t n_alpns)
{
    qc->peer.conn = qc->conn;
    int rc = quic_tls_session_new(qc->host->tls, &qc->peer, alpns, n_alpns, &qc->tls);
    if (rc < 0) return rc;
    ngtcp2_conn_set_tls_native_handle(qc->conn, qc->tls);
    ngtcp2_conn_set_keep_alive_timeout(qc->conn, 5 * NGTCP2_SECONDS);
    return 0;
}

int quic_conn_dial(struct quic_host *host, const struct iroh_public_key *id,
                   const struct iroh_socket_addr *candidates, size_t n, const char *alpn,
                   struct quic_conn **out)
{
    if (n == 0 || !alpn || !*alpn || strlen(alpn) > QUIC_ALPN_MAX) return IROH_EINVAL;
    struct quic_conn *qc = conn_alloc(host, false);
    if (!qc) return IROH_ENOMEM;
    qc->peer.expected = *id;
    iroh_path_map_init_dial(&qc->paths, candidates, n);

    ngtcp2_cid dcid, scid;
    random_cid(&dcid, INITIAL_DCID_LEN);
    random_cid(&scid, QUIC_CID_LEN);
    struct conn_setup set;
    conn_setup_init(&set, qc);
    int rc = ngtcp2_conn_client_new(&qc->conn, &dcid, &scid, &set.path, NGTCP2_PROTO_VER_V1,
                                    &set.cb, &set.settings, &set.params, NULL, qc);
    if (rc != 0) {
        uv_close((uv_handle_t *)&qc->timer, on_timer_closed);
        return IROH_ENOMEM;
    }
    struct iroh_quic_cid our = cid_of(&scid);
    const char *alpns[1] = {alpn};
    if ((rc = host->add_cid(host, &our, qc)) < 0 || (rc = conn_start_tls(qc, alpns, 1)) < 0) {
        conn_discard(qc);
        return rc;
    }
    log_debug("quic", "%s: dialing with %zu candidate address(es)", qc->name, n);
    *out = qc;
    kick(qc); /* the first Initial goes out from the loop, after the caller noted qc */
    return 0;
}

/* ---- address validation (Retry) ------------------------------------------------------------ */

/* Whether a client Initial carries a token of our Retry (we send no NEW_TOKEN, so a token of
 * another kind, e.g. another server's, counts as none). */
static bool has_retry_token(const ngtcp2_pkt_hd *hd)
{
    return hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY;
}

/* Whether hd's Retry token is ours, unexpired and made for `from`; then *odcid is the client's
 * first destination connection id. */
static bool retry_token_valid(const struct quic_host *host, const struct iroh_socket_addr *from,
                              const ngtcp2_pkt_hd *hd, ngtcp2_cid *odcid)
{
    struct sockaddr_storage ss;
    socklen_t sslen = quic_addr_to_sockaddr(from, &ss);
    return ngtcp2_crypto_verify_retry_token(odcid, hd->token.base, hd->token.len,
                                            host->retry_secret, sizeof host->retry_secret,
                                            hd->version, (const ngtcp2_sockaddr *)&ss, sslen,
                                            &hd->dcid, QUIC_RETRY_TOKEN_LIFETIME_NS, now_ns()) == 0;
}

int quic_initial_check(const struct quic_host *host, const struct iroh_socket_addr *from,
                       const uint8_t *pkt, size_t len)
{
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, len) != 0) return IROH_EINVAL;
    if (!has_retry_token(&hd)) return 0;
    ngtcp2_cid odcid;
    return retry_token_valid(host, from, &hd, &odcid) ? 1 : IROH_EINVAL;
}

int quic_send_retry(struct quic_host *host, const struct iroh_socket_addr *from, const uint8_t *pkt,
                    size_t len)
{
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, len) != 0) return IROH_EINVAL;
    ngtcp2_cid retry_scid;
    random_cid(&retry_scid, QUIC_CID_LEN);
    struct sockaddr_storage ss;
    socklen_t sslen = quic_addr_to_sockaddr(from, &ss);
    uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
    ngtcp2_ssize tokenlen = ngtcp2_crypto_generate_retry_token(
        token, host->retry_secret, sizeof host->retry_secret, hd.version,
        (const ngtcp2_sockaddr *)&ss, sslen, &retry_scid, &hd.dcid, now_ns());
    if (tokenlen < 0) return IROH_EIO;
    uint8_t retry[256];
    ngtcp2_ssize n = ngtcp2_crypto_write_retry(retry, sizeof retry, hd.version, &hd.scid,
                                               &retry_scid, &hd.dcid, token, (size_t)tokenlen);
    if (n < 0) return IROH_EIO;
    return host->send(host, from, retry, (size_t)n, (size_t)n);
}

int quic_conn_accept(struct quic_host *host, const struct iroh_socket_addr *from,
                     const uint8_t *pkt, size_t len, const char *const *alpns, size_t n_alpns,
                     struct quic_conn **out)
{
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, pkt, len) != 0) return IROH_EINVAL;
    /* After our Retry the client's destination id is the Retry's source id; the first one is in
     * the token, and the transport parameters must name both (RFC 9000 7.3). */
    ngtcp2_cid odcid = hd.dcid;
    bool retried = has_retry_token(&hd);
    if (retried && !retry_token_valid(host, from, &hd, &odcid)) return IROH_EINVAL;
    struct quic_conn *qc = conn_alloc(host, true);
    if (!qc) return IROH_ENOMEM;
    iroh_path_map_init_accept(&qc->paths, from);

    ngtcp2_cid scid;
    random_cid(&scid, QUIC_CID_LEN);
    struct conn_setup set;
    conn_setup_init(&set, qc);
    set.params.original_dcid = odcid;
    if (retried) {
        set.params.retry_scid = hd.dcid;
        set.params.retry_scid_present = 1;
        set.settings.token = hd.token; /* the address is validated: no amplification limit */
    }
    set.params.stateless_reset_token_present = 1;
    ngtcp2_crypto_generate_stateless_reset_token(set.params.stateless_reset_token,
                                                 host->reset_secret, QUIC_RESET_SECRET_LEN, &scid);
    int rc = ngtcp2_conn_server_new(&qc->conn, &hd.scid, &scid, &set.path, hd.version, &set.cb,
                                    &set.settings, &set.params, NULL, qc);
    if (rc != 0) {
        uv_close((uv_handle_t *)&qc->timer, on_timer_closed);
        return IROH_ENOMEM;
    }
    /* Later Initials still carry the client's first id; duplicates over other paths too. */
    struct iroh_quic_cid client_chosen = cid_of(&hd.dcid), our = cid_of(&scid);
    if ((rc = host->add_cid(host, &client_chosen, qc)) < 0 ||
        (rc = host->add_cid(host, &our, qc)) < 0 || (rc = conn_start_tls(qc, alpns, n_alpns)) < 0) {
        conn_discard(qc);
        return rc;
    }
    *out = qc;
    return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

void quic_conn_receive(struct quic_conn *qc, const struct iroh_socket_addr *from,
                       const uint8_t *pkt, size_t len)
{
    if (qc->state == ST_GONE || qc->close_pending) return;
    struct iroh_socket_addr active, synthetic;
    const ngtcp2_path *current = ngtcp2_conn_get_path(qc->conn);
    bool have_active =
        quic_addr_from_sockaddr((const struct sockaddr *)current->remote.addr, &active) == 0;
    bool after_handshake = ngtcp2_conn_get_handshake_completed(qc->conn);
    if (iroh_path_map_incoming(&qc->paths, from, after_handshake, have_active ? &active : NULL,
                               &synthetic) < 0)
        return; /* another path during the handshake: a duplicate or a stray */
    struct sockaddr_storage remote;
    ngtcp2_path path;
    make_path(&path, &remote, &synthetic);
    ngtcp2_pkt_info pi = {0};
    enter(qc);
    int rv = ngtcp2_conn_read_pkt(qc->conn, &path, &pi, pkt, len, now_ns());
    if (rv != 0) fail_liberr(qc, rv, "read");
    /* Settles from the loop, after the other datagrams of this wakeup: one write round (and
     * one acknowledgement) for them all. */
    qc->busy--;
    kick(qc);
}

void quic_conn_set_callbacks(struct quic_conn *qc, const struct quic_conn_callbacks *cb, void *arg)
{
    qc->cb = cb;
    qc->arg = arg;
}

void quic_conn_close(struct quic_conn *qc, uint64_t app_error, const char *reason)
{
    if (qc->close_pending || qc->state == ST_GONE) return;
    size_t n = reason ? strlen(reason) : 0;
    if (n > sizeof qc->reason) n = sizeof qc->reason;
    if (n) memcpy(qc->reason, reason, n);
    ngtcp2_connection_close_error_set_application_error(&qc->ccerr, app_error, qc->reason, n);
    set_close(qc, IROH_OK, true, "closed by us: code %llu", (unsigned long long)app_error);
    kick(qc);
}

static int open_stream(struct quic_conn *qc, bool uni, struct quic_stream **out)
{
    if (qc->state != ST_OPEN || qc->close_pending) return IROH_ECLOSED;
    int64_t id;
    struct quic_stream *s = new_stream(qc, -1);
    if (!s) return IROH_ENOMEM;
    int rv = uni ? ngtcp2_conn_open_uni_stream(qc->conn, &id, s)
                 : ngtcp2_conn_open_bidi_stream(qc->conn, &id, s);
    if (rv != 0) {
        free_stream(s);
        return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? IROH_EBUSY : IROH_ENOMEM;
    }
    s->id = id;
    *out = s;
    return 0;
}

int quic_conn_open_bi(struct quic_conn *qc, struct quic_stream **out)
{
    return open_stream(qc, false, out);
}

int quic_conn_open_uni(struct quic_conn *qc, struct quic_stream **out)
{
    return open_stream(qc, true, out);
}

const struct iroh_public_key *quic_conn_remote_id(const struct quic_conn *qc)
{
    return &qc->peer.remote;
}

const char *quic_conn_alpn(const struct quic_conn *qc)
{
    return qc->alpn;
}

int quic_conn_path(const struct quic_conn *qc, struct iroh_socket_addr *out)
{
    struct iroh_socket_addr synthetic;
    const ngtcp2_path *p = ngtcp2_conn_get_path(qc->conn);
    if (quic_addr_from_sockaddr((const struct sockaddr *)p->remote.addr, &synthetic) < 0)
        return IROH_ENOTFOUND;
    const struct iroh_socket_addr *to[1];
    if (!qc->paths.pinned || iroh_path_map_targets(&qc->paths, &synthetic, to, 1) != 1)
        return IROH_ENOTFOUND;
    *out = *to[0];
    return IROH_OK;
}

uint64_t quic_conn_rtt_ns(const struct quic_conn *qc)
{
    ngtcp2_conn_stat st;
    ngtcp2_conn_get_conn_stat(qc->conn, &st);
    return st.smoothed_rtt;
}

const char *quic_conn_name(const struct quic_conn *qc)
{
    return qc->name;
}

const char *quic_conn_error(const struct quic_conn *qc)
{
    return qc->why;
}

bool quic_conn_is_server(const struct quic_conn *qc)
{
    return qc->server;
}

void quic_conn_stats(const struct quic_conn *qc, struct quic_conn_stats *out)
{
    *out = qc->stats;
    if (qc->state == ST_GONE) return;
    for (const struct quic_stream *s = qc->streams; s; s = s->next)
        if (s->id >= 0)
            out->stream_packets_lost += ngtcp2_conn_get_stream_loss_count(qc->conn, s->id);
}

size_t quic_conn_max_datagram(const struct quic_conn *qc)
{
    if (qc->state != ST_OPEN) return 0;
    const ngtcp2_transport_params *p = ngtcp2_conn_get_remote_transport_params(qc->conn);
    if (!p || p->max_datagram_frame_size <= 3) return 0;
    size_t by_peer = (size_t)p->max_datagram_frame_size - 3; /* frame type and length */
    size_t overhead = DATAGRAM_PACKET_OVERHEAD(ngtcp2_conn_get_dcid(qc->conn)->datalen);
    size_t udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(qc->conn);
    size_t by_path = udp > overhead ? udp - overhead : 0;
    return by_peer < by_path ? by_peer : by_path;
}

int quic_conn_send_datagram(struct quic_conn *qc, const void *data, size_t len)
{
    if (qc->close_pending || qc->state == ST_GONE) return IROH_ECLOSED;
    if (len == 0) return IROH_EINVAL;
    if (len > quic_conn_max_datagram(qc)) return IROH_ETOOBIG;
    struct dgram *d = malloc(sizeof *d + len);
    if (!d) return IROH_ENOMEM;
    d->next = NULL;
    d->len = len;
    memcpy(d->data, data, len);
    while (qc->dgram_head && qc->dgram_bytes + len > QUIC_DATAGRAM_QUEUE_BYTES) {
        dgram_pop(qc); /* the oldest gives way */
        qc->stats.datagrams_dropped++;
    }
    if (qc->dgram_tail)
        qc->dgram_tail->next = d;
    else
        qc->dgram_head = d;
    qc->dgram_tail = d;
    qc->dgram_bytes += len;
    kick(qc);
    return 0;
}

/* ---- stream functions ------------------------------------------------------------------------ */

void quic_stream_set_callbacks(struct quic_stream *s, const struct quic_stream_callbacks *cb,
                               void *arg)
{
    s->cb = cb;
    s->arg = arg;
}

static bool write_closed(const struct quic_stream *s)
{
    const struct quic_conn *qc = s->qc;
    return s->fin_requested || s->reset || s->write_shut || qc->close_pending ||
           qc->state == ST_GONE;
}

/* The chunk new bytes go to: the tail while it has min_room bytes free, else a new one for at
 * least want bytes. NULL without memory. */
static struct chunk *tail_with_room(struct quic_stream *s, size_t min_room, size_t want)
{
    struct chunk *t = s->tail;
    if (t && t->cap - t->len >= min_room) return t;
    size_t cap = want > CHUNK_MIN ? want : CHUNK_MIN;
    t = malloc(sizeof *t + cap);
    if (!t) return NULL;
    *t = (struct chunk){.off = s->written, .cap = cap};
    if (s->tail)
        s->tail->next = t;
    else
        s->head = t;
    s->tail = t;
    return t;
}

/* After bytes were queued: the drain mark, the kick; returns the bytes unacknowledged. */
static long queued(struct quic_stream *s)
{
    uint64_t buffered = s->written - s->acked;
    if (buffered >= QUIC_STREAM_HIGH_WATER) s->drain_wanted = true;
    kick(s->qc);
    return (long)buffered;
}

long quic_stream_write(struct quic_stream *s, const void *data, size_t len)
{
    if (write_closed(s)) return IROH_ECLOSED;
    const uint8_t *p = data;
    while (len > 0) {
        struct chunk *t = tail_with_room(s, 1, len);
        if (!t) return IROH_ENOMEM;
        size_t n = t->cap - t->len < len ? t->cap - t->len : len;
        memcpy(t->data + t->len, p, n);
        t->len += n;
        s->written += n;
        p += n;
        len -= n;
    }
    return queued(s);
}

int quic_stream_reserve(struct quic_stream *s, size_t want, uint8_t **buf, size_t *room)
{
    if (write_closed(s)) return IROH_ECLOSED;
    struct chunk *t = tail_with_room(s, want < CHUNK_MIN ? want : CHUNK_MIN, want);
    if (!t) return IROH_ENOMEM;
    *buf = t->data + t->len;
    *room = t->cap - t->len;
    return 0;
}

long quic_stream_commit(struct quic_stream *s, size_t n)
{
    s->tail->len += n;
    s->written += n;
    return queued(s);
}

int quic_stream_finish(struct quic_stream *s)
{
    if (s->fin_requested || s->reset || s->qc->state == ST_GONE) return IROH_ECLOSED;
    s->fin_requested = true;
    kick(s->qc);
    return 0;
}

void quic_stream_consume(struct quic_stream *s, size_t n)
{
    struct quic_conn *qc = s->qc;
    if (qc->state == ST_GONE || n == 0) return;
    ngtcp2_conn_extend_max_stream_offset(qc->conn, s->id, n);
    ngtcp2_conn_extend_max_offset(qc->conn, n);
    kick(qc);
}

void quic_stream_reset(struct quic_stream *s, uint64_t app_error)
{
    struct quic_conn *qc = s->qc;
    if (s->reset || qc->state == ST_GONE) return;
    s->reset = true;
    ngtcp2_conn_shutdown_stream(qc->conn, s->id, app_error);
    kick(qc);
}

void quic_stream_stop(struct quic_stream *s, uint64_t app_error)
{
    struct quic_conn *qc = s->qc;
    if (s->reset || s->read_shut || qc->state == ST_GONE) return;
    s->read_shut = true;
    ngtcp2_conn_shutdown_stream_read(qc->conn, s->id, app_error);
    kick(qc);
}

void quic_stream_reset_write(struct quic_stream *s, uint64_t app_error)
{
    struct quic_conn *qc = s->qc;
    if (s->reset || s->write_shut || qc->state == ST_GONE) return;
    s->write_shut = s->write_reset = true;
    ngtcp2_conn_shutdown_stream_write(qc->conn, s->id, app_error);
    kick(qc);
}

struct quic_stream *quic_conn_find_stream(struct quic_conn *qc, int64_t id)
{
    for (struct quic_stream *s = qc->streams; s; s = s->next)
        if (s->id == id) return s;
    return NULL;
}

int64_t quic_stream_id(const struct quic_stream *s)
{
    return s->id;
}

struct quic_conn *quic_stream_conn(const struct quic_stream *s)
{
    return s->qc;
}
