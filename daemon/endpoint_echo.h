/* endpoint_echo.h — the echo protocol over irohd's endpoint, ALPN "iroh-example/echo/0" as in
 * iroh's examples: every bidirectional stream a peer opens gets its bytes back on the same
 * stream, and our side finishes when the peer's does (unidirectional streams are refused).
 *
 * Both sides live here: echo_serve() answers peers; an echo client dials a peer, sends random
 * bytes on one or more streams at once, checks every byte that comes back and closes the
 * connection with code 0. endpoint_service.c serves it and runs clients for endpoint.echo; the
 * endpoint's tests use both sides. Loop thread only. */
#ifndef IROHD_ENDPOINT_ECHO_H
#define IROHD_ENDPOINT_ECHO_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/ticket.h"
#include "daemon/endpoint.h"

#define ECHO_ALPN "iroh-example/echo/0"
#define ECHO_MAX_STREAMS 16

/* Serves the echo protocol on ep. Returns 0 or endpoint_serve's error. */
int echo_serve(struct endpoint *ep);

struct echo_request {
    const struct iroh_endpoint_addr *addr; /* the peer (copied) */
    const char *alpn;                      /* NULL: ECHO_ALPN */
    size_t bytes;                          /* random bytes per stream */
    unsigned streams;                      /* 1..ECHO_MAX_STREAMS, all at once */
    unsigned timeout_ms;                   /* for everything, the dial included */
};

struct echo_result {
    /* 0, or why it failed: IROH_ENOTFOUND / IROH_EINVAL (cannot dial the address),
     * IROH_ETIMEDOUT, IROH_EPROTO (handshake), IROH_ECORRUPT (the echo differs),
     * IROH_ECLOSED (the peer ended a stream or the connection early; cancelled), IROH_ENOMEM */
    int status;
    char why[256];                    /* words for a failure */
    size_t bytes;                     /* echoed and checked, all streams */
    uint64_t connect_ns, transfer_ns; /* the dial; from connected to the last echo */
    uint64_t rtt_ns;
    struct quic_conn_stats stats;          /* of the connection, once connected */
    struct iroh_public_key remote;         /* once connected */
    char path[ENDPOINT_PATH_TEXT_MAX + 1]; /* the path used (endpoint_path_format), or "" */
};

/* Called once with the outcome (borrowed for the call). */
typedef void echo_done_fn(const struct echo_result *result, void *arg);

struct echo_client;

/* Starts an echo. Returns 0 and *out (valid until done runs), or without calling done:
 * IROH_EINVAL (streams out of range, our own id, a bad ALPN), IROH_ENOTFOUND (no IP address we
 * can reach), IROH_ECLOSED (the endpoint is stopping), IROH_ENOMEM. */
int echo_client_start(uv_loop_t *loop, struct endpoint *ep, const struct echo_request *req,
                      echo_done_fn *done, void *arg, struct echo_client **out);

/* Ends an echo early: done runs now with IROH_ECLOSED and why. */
void echo_client_cancel(struct echo_client *c, const char *why);

#endif
