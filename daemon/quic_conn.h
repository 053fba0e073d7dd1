/* quic_conn.h — one QUIC connection of irohd's endpoint and its streams: an ngtcp2 connection
 * with its GnuTLS session (quic_tls.h; freed once the handshake is confirmed, as it has no
 * more work), its loss/idle/pacing timer on the libuv loop, its path
 * map (core/quic_path.h: QUIC only sees synthetic addresses) and byte buffers for what its
 * streams send until the peer acknowledges it.
 *
 * The endpoint (endpoint.c) creates connections, feeds them the datagrams its demultiplexer
 * routes to them, and provides what they need through struct quic_host. Services use the
 * connection and stream functions below. Everything runs on the loop thread.
 *
 * Lifetimes (libuv style: closing is asynchronous and always completes):
 *   - A connection lives until its on_close callback has returned; that is the last call that
 *     names it. quic_conn_close() only asks for the close; on_close follows from the loop.
 *   - A stream lives until its on_close callback has returned: after both directions finished
 *     (FIN or reset, and our data acknowledged), or when its connection closes.
 *   - Callbacks may call any function of this header, including closing the connection.
 *
 * Settings: QUIC v1 only; idle timeout 30 s, keep-alive PING every 5 s; per-stream windows
 * 1 250 000 bytes (as iroh), connection window 10 MB growing to 24 MiB; 100 bidi and 100 uni
 * streams at once (a bidi stream the peer opened gives its place back when it closes; a uni one
 * never does: ngtcp2 0.12 does not close it, its issue 662); 5 active connection ids;
 * max_udp_payload_size 1472; datagrams (RFC 9221) accepted up to max_datagram_frame_size 65535, as
 * iroh; migration allowed; 8-byte connection ids. The transport parameters actually sent are logged
 * by the peer (and tested in tests/integration/test_endpoint.c). */
#ifndef IROHD_QUIC_CONN_H
#define IROHD_QUIC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "core/keys.h"
#include "core/quic_cid.h"
#include "core/ticket.h"
#include "daemon/quic_tls.h"

#define QUIC_CID_LEN 8
#define QUIC_RESET_SECRET_LEN 32
#define QUIC_RETRY_SECRET_LEN 32
/* How long a Retry token stays valid (ns): a client answers a Retry within a round trip. */
#define QUIC_RETRY_TOKEN_LIFETIME_NS (10ull * 1000 * 1000 * 1000)
/* A stream whose unacknowledged data reaches QUIC_STREAM_HIGH_WATER gets on_drain once it has
 * fallen to QUIC_STREAM_LOW_WATER. */
#define QUIC_STREAM_HIGH_WATER (1024 * 1024)
#define QUIC_STREAM_LOW_WATER (256 * 1024)
/* Datagrams waiting to be sent (congestion control paces them) are bounded by bytes: past it
 * the oldest waiting datagram is dropped, as quinn does. */
#define QUIC_DATAGRAM_QUEUE_BYTES (256 * 1024)

struct quic_conn;
struct quic_stream;

/* What a connection needs from its endpoint (embedded in the endpoint; the hooks get it back). */
struct quic_host {
    uv_loop_t *loop;
    size_t conns; /* connection objects not yet freed (kept by quic_conn.c) */
    struct quic_tls_ctx *tls;
    uint8_t reset_secret[QUIC_RESET_SECRET_LEN]; /* keys stateless reset tokens */
    uint8_t retry_secret[QUIC_RETRY_SECRET_LEN]; /* keys Retry tokens (random per process) */
    /* Sends data[0..len) to a real address as UDP datagrams of segment bytes each (the last
     * may be shorter): one datagram when len <= segment, else a batch (GSO where the kernel
     * has it). Returns 0 when they left (or a relay took them), else a negative IROH_E*
     * (IROH_EAGAIN: the socket buffer was full); connections leave it to loss recovery. */
    int (*send)(struct quic_host *host, const struct iroh_socket_addr *to, const uint8_t *data,
                size_t len, size_t segment);
    /* Routes datagrams for cid to qc from now on. Returns 0 or a negative IROH_E*. */
    int (*add_cid)(struct quic_host *host, const struct iroh_quic_cid *cid, struct quic_conn *qc);
    void (*remove_cid)(struct quic_host *host, const struct iroh_quic_cid *cid);
    /* The handshake is over: the peer's id and the ALPN are known. */
    void (*established)(struct quic_host *host, struct quic_conn *qc);
    /* qc is closing with status (see quic_conn_callbacks.on_close); the host forgets it and its
     * ids. Called before the connection's own on_close; also for a connection whose creation
     * failed (quic_conn_dial/accept then return the error). */
    void (*closed)(struct quic_host *host, struct quic_conn *qc, int status);
    /* A connection's memory was released (conns went down): the TLS context may go once conns
     * is 0. */
    void (*freed)(struct quic_host *host);
};

struct quic_conn_callbacks {
    /* The peer opened stream s: set its callbacks now (else it is refused with code 0). */
    void (*on_stream)(struct quic_conn *qc, struct quic_stream *s, void *arg);
    /* The connection is gone: IROH_OK if we closed it, IROH_ECLOSED if the peer did,
     * IROH_ETIMEDOUT (idle or handshake timeout), IROH_EPROTO (TLS or QUIC failure),
     * IROH_ENOMEM; quic_conn_error() says more. */
    void (*on_close)(struct quic_conn *qc, int status, void *arg);
    /* A datagram of the peer (RFC 9221; unreliable, unordered). Without this callback
     * datagrams are dropped (and counted in datagrams_dropped). */
    void (*on_datagram)(struct quic_conn *qc, const uint8_t *data, size_t len, void *arg);
    /* The peer abandoned a direction of stream s with code: its own (RESET_STREAM; stop is
     * false) or ours (STOP_SENDING; stop is true; see quic_stream_callbacks.on_reset). */
    void (*on_stream_reset)(struct quic_conn *qc, struct quic_stream *s, uint64_t code, bool stop,
                            void *arg);
};

/* Counts of a connection, since it started. */
struct quic_conn_stats {
    uint64_t datagrams_sent;     /* put into packets */
    uint64_t datagrams_received; /* from the peer */
    /* ours dropped before they were sent (the queue overflowed, or they no longer fit) and
     * the peer's that nobody took (no on_datagram) */
    uint64_t datagrams_dropped;
    uint64_t datagrams_lost; /* sent in packets QUIC declared lost (may be spurious) */
    /* What ngtcp2 0.12 lets us count of losses (it keeps no total of lost packets): packets
     * declared lost that carried STREAM frames, summed over the streams (ngtcp2's per-stream
     * count; a packet with frames of k streams counts k times; may include spurious losses);
     * probe timeouts that fired (PTO: nothing was acknowledged in time); congestion events
     * (recovery periods entered on loss or ECN). Packets without stream data (ACKs, control
     * frames) are in none of them. */
    uint64_t stream_packets_lost;
    uint64_t probe_timeouts;
    uint64_t congestion_events;
};

struct quic_stream_callbacks {
    /* Bytes of the peer (fin: nothing follows). Give the credit back with
     * quic_stream_consume() when they are processed, or the peer stops sending. */
    void (*on_data)(struct quic_stream *s, const uint8_t *data, size_t len, bool fin, void *arg);
    /* The unacknowledged data fell to QUIC_STREAM_LOW_WATER after reaching the high mark. */
    void (*on_drain)(struct quic_stream *s, void *arg);
    /* The stream is gone: status IROH_OK when both sides finished cleanly, IROH_ECLOSED when it
     * was reset (app_error says why) or its connection closed. */
    void (*on_close)(struct quic_stream *s, int status, uint64_t app_error, void *arg);
    /* The peer abandoned a direction with app_error: its own (RESET_STREAM: no more on_data),
     * or, with stop, ours (STOP_SENDING: QUIC reset our direction with that code). ngtcp2
     * 0.12 reports no received STOP_SENDING, so a stop is only known when the stream closes
     * (just before on_close; writes fail from the first send after it arrived). Called before
     * the connection's on_stream_reset. */
    void (*on_reset)(struct quic_stream *s, uint64_t app_error, bool stop, void *arg);
};

/* Starts a dial to id at candidates[0..n) (all are tried at once; the first to answer wins)
 * offering alpn. Returns 0 and *out (the host hears established() or closed() later), or
 * IROH_EINVAL (no candidates, bad ALPN), IROH_ENOMEM, IROH_EIO. */
int quic_conn_dial(struct quic_host *host, const struct iroh_public_key *id,
                   const struct iroh_socket_addr *candidates, size_t n, const char *alpn,
                   struct quic_conn **out);

/* Address validation with stateless Retry (RFC 9000 8.1.2). A Retry's token is sealed with
 * host->retry_secret and names the client's real address, the Retry's source connection id,
 * the client's first destination id and when it was made (valid for
 * QUIC_RETRY_TOKEN_LIFETIME_NS).
 * quic_initial_check: whether the client Initial pkt[0..len) from `from` proves its address.
 * Returns 1 (a valid Retry token: the client answered a Retry of ours at that address), 0 (no
 * Retry token: a first Initial) or IROH_EINVAL (not an Initial we can take, or a Retry token
 * that is forged, expired or made for another address: drop it). */
int quic_initial_check(const struct quic_host *host, const struct iroh_socket_addr *from,
                       const uint8_t *pkt, size_t len);
/* Answers the client Initial pkt[0..len) from `from` with a Retry (sent through host->send)
 * instead of a connection. Returns 0 once it left, IROH_EINVAL (not an Initial), or what
 * host->send or making the Retry failed with. */
int quic_send_retry(struct quic_host *host, const struct iroh_socket_addr *from, const uint8_t *pkt,
                    size_t len);

/* Makes a server connection for the client Initial pkt[0..len) that came from `from`,
 * accepting alpns[0..n_alpns) (copied). An Initial with a Retry token (quic_initial_check
 * returned 1) continues the connection the Retry began: its address counts as validated. The
 * caller notes *out, then feeds it the same packet with quic_conn_receive(). Returns 0 and
 * *out, or IROH_EINVAL for a packet that cannot start a connection (drop it; also a bad
 * token), IROH_ENOMEM, IROH_EIO. */
int quic_conn_accept(struct quic_host *host, const struct iroh_socket_addr *from,
                     const uint8_t *pkt, size_t len, const char *const *alpns, size_t n_alpns,
                     struct quic_conn **out);

/* Feeds a datagram the demultiplexer routed to qc. What it makes the connection send (and a
 * close) follows from the loop, once for all the datagrams of this wakeup. */
void quic_conn_receive(struct quic_conn *qc, const struct iroh_socket_addr *from,
                       const uint8_t *pkt, size_t len);

void quic_conn_set_callbacks(struct quic_conn *qc, const struct quic_conn_callbacks *cb, void *arg);
/* Asks to close with an application error code and reason (CONNECTION_CLOSE); on_close
 * follows with IROH_OK. Repeated calls are ignored. */
void quic_conn_close(struct quic_conn *qc, uint64_t app_error, const char *reason);

/* Opens a bidirectional stream. Returns 0 and *out, IROH_EBUSY when the peer allows no more
 * streams now, IROH_ECLOSED when the connection is closing, IROH_ENOMEM. */
int quic_conn_open_bi(struct quic_conn *qc, struct quic_stream **out);
/* Opens a unidirectional stream (we send, the peer receives); returns as quic_conn_open_bi. */
int quic_conn_open_uni(struct quic_conn *qc, struct quic_stream **out);

/* The peer's id (valid once established), the negotiated ALPN ("" before), the real address
 * the connection currently uses, the smoothed RTT in ns, a name for logs ("conn 7"), and the
 * text of why it closed ("" while open). */
const struct iroh_public_key *quic_conn_remote_id(const struct quic_conn *qc);
const char *quic_conn_alpn(const struct quic_conn *qc);
int quic_conn_path(const struct quic_conn *qc, struct iroh_socket_addr *out);
uint64_t quic_conn_rtt_ns(const struct quic_conn *qc);
const char *quic_conn_name(const struct quic_conn *qc);
const char *quic_conn_error(const struct quic_conn *qc);
bool quic_conn_is_server(const struct quic_conn *qc);
void quic_conn_stats(const struct quic_conn *qc, struct quic_conn_stats *out);

/* The largest datagram quic_conn_send_datagram takes now: what the peer's
 * max_datagram_frame_size allows and what fits in one packet of the current path (path MTU
 * discovery may raise it). 0 before the handshake or when the peer takes no datagrams. */
size_t quic_conn_max_datagram(const struct quic_conn *qc);
/* Queues data[0..len) (copied) as one datagram. Returns 0 (sent as congestion control allows;
 * unreliable: it may be dropped, see struct quic_conn_stats), IROH_EINVAL when len is 0,
 * IROH_ETOOBIG when it is over quic_conn_max_datagram (always when the peer takes none),
 * IROH_ECLOSED, IROH_ENOMEM. */
int quic_conn_send_datagram(struct quic_conn *qc, const void *data, size_t len);

void quic_stream_set_callbacks(struct quic_stream *s, const struct quic_stream_callbacks *cb,
                               void *arg);
/* Queues data[0..len) (copied). Returns the bytes now unacknowledged (compare with
 * QUIC_STREAM_HIGH_WATER to pace yourself), or IROH_ECLOSED after finish/reset, IROH_ENOMEM. */
long quic_stream_write(struct quic_stream *s, const void *data, size_t len);
/* The same without the copy, for bytes read from elsewhere (a socket): reserve returns 0 and
 * room for 1..*room bytes at *buf (at least min(want, 16 KiB); IROH_ECLOSED or IROH_ENOMEM as
 * above), valid until the next call on s; commit queues the first n of them and returns as
 * quic_stream_write. Room not committed is used by the next write. */
int quic_stream_reserve(struct quic_stream *s, size_t want, uint8_t **buf, size_t *room);
long quic_stream_commit(struct quic_stream *s, size_t n);
/* Ends our direction after the queued data. Returns 0 or IROH_ECLOSED. */
int quic_stream_finish(struct quic_stream *s);
/* Returns n received bytes' worth of flow-control credit to the peer. */
void quic_stream_consume(struct quic_stream *s, size_t n);
/* Abandons both directions with app_error (RESET_STREAM and STOP_SENDING). */
void quic_stream_reset(struct quic_stream *s, uint64_t app_error);
/* Abandons the peer's direction only (STOP_SENDING with app_error): what it sends from now on
 * is dropped and credited back; our direction goes on. */
void quic_stream_stop(struct quic_stream *s, uint64_t app_error);
/* Abandons our direction only (RESET_STREAM with app_error): what is queued is not sent, later
 * writes fail; the peer's direction goes on. */
void quic_stream_reset_write(struct quic_stream *s, uint64_t app_error);
/* The open stream of qc with QUIC stream id, or NULL. */
struct quic_stream *quic_conn_find_stream(struct quic_conn *qc, int64_t id);
int64_t quic_stream_id(const struct quic_stream *s);
struct quic_conn *quic_stream_conn(const struct quic_stream *s);

/* sockaddr <-> iroh_socket_addr for the socket layer. from: returns IROH_OK or IROH_EINVAL for
 * a family other than IPv4/IPv6. to: returns the sockaddr's length. */
int quic_addr_from_sockaddr(const struct sockaddr *sa, struct iroh_socket_addr *out);
socklen_t quic_addr_to_sockaddr(const struct iroh_socket_addr *a, struct sockaddr_storage *out);

#endif
