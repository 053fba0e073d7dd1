/* relay_client.h — one connection of irohd's endpoint to an iroh relay server (spec
 * relay-and-discovery.md §1): TCP (TLS with GnuTLS for https URLs, verified against the
 * caller's trusted CAs and the URL's host name), the HTTP/1.1 WebSocket upgrade to /relay,
 * the challenge handshake,
 * then relay frames as binary WebSocket messages (core/relay_proto.h, core/websocket.h,
 * core/http1.h do the bytes).
 *
 * It stays connected: a relay Ping right after connecting and every 15 s (the Pong must come
 * within 5 s, its round trip is the relay's latency), a connect timeout of 10 s, and after a
 * failure a reconnect — at once if the connection had been up, else after a backoff from
 * 10 ms doubling to 16 s (with jitter). Datagrams sent while it is not connected wait for it,
 * up to 256 KiB and 3 s (then they are dropped: QUIC retransmits); datagrams beyond 2 MiB of
 * unsent output are dropped.
 *
 * Used by daemon/endpoint.c (its relay paths), on the loop thread. */
#ifndef IROHD_RELAY_CLIENT_H
#define IROHD_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <gnutls/gnutls.h>
#include <uv.h>

#include "core/keys.h"
#include "core/ticket.h"

struct relay_client;

struct relay_client_callbacks {
    /* A datagram from src came through the relay (data valid during the call). */
    void (*on_datagram)(struct relay_client *rc, const struct iroh_public_key *src,
                        const uint8_t *data, size_t len, void *arg);
    /* The connection came up or went down, or a new latency was measured. */
    void (*on_change)(struct relay_client *rc, void *arg);
};

struct relay_client_info {
    const char *url;     /* canonical (valid while the client lives) */
    bool connected;      /* the handshake is done */
    uint64_t latency_ns; /* the last relay Ping's round trip; 0 before one */
    uint64_t since_ns;   /* uv_hrtime() when it last connected or went down */
    const char *error;   /* why the last attempt failed ("" if none) */
};

#define RELAY_TOKEN_MAX 255 /* bytes of an access token */

struct relay_client_options {
    const char *url;                      /* http:// or https:// (canonicalised, copied) */
    const struct iroh_secret_key *secret; /* our identity (copied) */
    /* The CAs an https relay's certificate must chain to; must outlive the client. */
    gnutls_certificate_credentials_t trust;
    const char *token; /* sent as "Authorization: Bearer TOKEN" (copied), or NULL */
};

/* Starts connecting. Returns 0 and *out, IROH_EINVAL for a URL it cannot use or a token that
 * is too long or not printable ASCII, IROH_ENOMEM. */
int relay_client_start(uv_loop_t *loop, const struct relay_client_options *options,
                       const struct relay_client_callbacks *cb, void *arg,
                       struct relay_client **out);

/* Sends data[0..len) to dst as datagrams of segment bytes (the last may be shorter), or holds
 * them until the connection is up. Returns 0, or IROH_EAGAIN when they were dropped (closed,
 * no room). */
int relay_client_send(struct relay_client *rc, const struct iroh_public_key *dst,
                      const uint8_t *data, size_t len, size_t segment);

void relay_client_info(const struct relay_client *rc, struct relay_client_info *out);
const char *relay_client_url(const struct relay_client *rc);
bool relay_client_connected(const struct relay_client *rc);

/* Closes the connection and frees the client; done(arg) follows from the loop (done may be
 * NULL). No callback is called after this. */
void relay_client_close(struct relay_client *rc, void (*done)(void *arg), void *arg);

#endif
