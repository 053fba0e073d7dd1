/* relay_test_client.h — a blocking relay client for the relay tests and bench/relay_load.c,
 * built on the cores (core/relay_proto, core/websocket, core/http1) over a plain or GnuTLS
 * socket. Every wait is bounded by the timeout the caller passes. It can also misbehave on
 * purpose: raw bytes, unmasked or oversized WebSocket frames. */
#ifndef IROH_RELAY_TEST_CLIENT_H
#define IROH_RELAY_TEST_CLIENT_H

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/relay_proto.h"

struct rtc {
    int fd;
    gnutls_session_t tls; /* NULL for plain TCP */
    gnutls_certificate_credentials_t cred;
    struct iroh_secret_key sk;
    struct iroh_public_key pk;
    int version; /* negotiated enum iroh_relay_version */
    bool derp;   /* 0.35 "iroh derp http" framing */
    int http_status;
    uint8_t buf[IROH_RELAY_MAX_PACKET_SIZE + 64 + 16384];
    size_t len;
    uint8_t msg[IROH_RELAY_MAX_PACKET_SIZE + 64]; /* the last message received */
};

/* Options of rtc_open. */
struct rtc_opts {
    const char *token;     /* Authorization: Bearer */
    const char *query;     /* appended to /relay, e.g. "?token=x" */
    const char *protocols; /* Sec-WebSocket-Protocol; NULL: v2, v1 */
    bool tls;              /* TLS without certificate checks */
    bool ekm;              /* send the keying-material header (needs tls) */
    bool v035_ws;          /* an iroh 0.35 client over WebSocket (no Sec-WebSocket-Protocol) */
    bool v035_derp;        /* an iroh 0.35 client with "Upgrade: iroh derp http" at /derp */
};

/* TCP (and TLS) to 127.0.0.1:port and the upgrade; key from seed. Returns IROH_OK when the
 * server answered 101 (c->version set), IROH_EPERM with c->http_status for another status,
 * or another error. */
int rtc_open(struct rtc *c, uint16_t port, const uint8_t seed[32], const struct rtc_opts *opts,
             int timeout_ms);

/* The handshake after rtc_open: answers a challenge if one comes. Returns IROH_OK when
 * confirmed, IROH_EPERM when denied (reason copied to reason if not NULL), or an error.
 * *challenged says whether a challenge came. */
int rtc_handshake(struct rtc *c, int timeout_ms, char *reason, size_t reason_cap, bool *challenged);

/* rtc_open + rtc_handshake with default options; returns IROH_OK or the first error. */
int rtc_connect(struct rtc *c, uint16_t port, const uint8_t seed[32], int timeout_ms);

/* Sends one relay frame as a masked binary message. */
int rtc_send(struct rtc *c, const struct iroh_relay_frame *f);
/* Sends one frame (type ‖ body, relay or 0.35) in the connection's framing: a masked binary
 * message, or for derp the 0.35 type ‖ length ‖ body. */
int rtc_send_message(struct rtc *c, const uint8_t *frame, size_t len);
/* Receives the next frame (type ‖ body) into c->msg, whatever its type (WebSocket pings are
 * answered). Returns IROH_OK with *len set, IROH_ECLOSED, IROH_ETIMEDOUT or IROH_EPROTO. */
int rtc_recv_message(struct rtc *c, size_t *len, int timeout_ms);

/* Sends bytes as they are (no framing). */
int rtc_send_raw(struct rtc *c, const void *data, size_t len);
/* Sends a masked WebSocket frame with the given first byte and payload. */
int rtc_send_ws(struct rtc *c, uint8_t first_byte, const uint8_t *payload, size_t len, bool mask);

/* Receives the next relay frame into *f (data points into c->msg). WebSocket pings are
 * answered and skipped; relay Pings are answered unless keep_pings. Returns IROH_OK,
 * IROH_ECLOSED when the server closed (or sent a Close), IROH_ETIMEDOUT, or IROH_EPROTO. */
int rtc_recv(struct rtc *c, struct iroh_relay_frame *f, int timeout_ms, bool keep_pings);

/* Waits until the server closes the connection, discarding what arrives. Returns IROH_OK
 * when closed, IROH_ETIMEDOUT otherwise. */
int rtc_wait_closed(struct rtc *c, int timeout_ms);

void rtc_close(struct rtc *c);

/* A plain HTTP request to 127.0.0.1:port; the whole answer (until the server closes) goes to
 * out, NUL-terminated. Returns the status or a negative error. */
int rtc_http(uint16_t port, const char *request, char *out, size_t out_cap, int timeout_ms);

#endif
