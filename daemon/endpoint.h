/* endpoint.h — irohd's QUIC endpoint: its UDP sockets, the demultiplexer that routes every
 * datagram to its connection (core/quic_cid.h), dialing an EndpointAddr, accepting
 * connections and handing them to the service that registered their ALPN (the protocol
 * router), and this node's own address.
 *
 * Files of the endpoint (all owned here; docs/architecture.md "The QUIC endpoint"):
 *   daemon/endpoint.c          sockets, demultiplexer, router, dial/accept, addresses
 *   daemon/quic_conn.c         one connection and its streams over ngtcp2 (quic_conn.h)
 *   daemon/quic_tls.c          GnuTLS raw-public-key sessions for QUIC (quic_tls.h)
 *   daemon/endpoint_echo.c     the echo protocol, both sides (endpoint_echo.h)
 *   daemon/endpoint_service.c  the endpoint.* RPC methods
 *   daemon/endpoint_apps.c     connections and ALPNs owned by apps, conn.* (endpoint_apps.h)
 *   daemon/app_streams.c       a stream bridged to an app's socketpair fd (app_streams.h)
 *   core/quic_cid.c, core/quic_path.c, core/quic_tp.c, core/tls_rpk.c   the I/O-free parts
 * Only direct UDP paths so far: no relay, no hole punching, no address lookup.
 *
 * main.c starts and stops it; services (endpoint_service.c, later blobs, gossip, docs) call
 * the functions below from the loop thread. */
#ifndef IROHD_ENDPOINT_H
#define IROHD_ENDPOINT_H

#include <stddef.h>
#include <uv.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/quic_conn.h"

/* The most protocols (ALPNs) one endpoint serves: GnuTLS's limit per session. */
#define ENDPOINT_MAX_PROTOCOLS QUIC_TLS_MAX_ALPNS
#define ENDPOINT_MAX_SOCKETS 4
/* Open connections (both directions) beyond which new clients' Initials are dropped: each
 * handshake costs a connection and a TLS session until it completes or times out (10 s). */
#define ENDPOINT_MAX_CONNECTIONS 4096
/* Used when the bind option is empty: every IPv4 and IPv6 address, a random port each. */
#define ENDPOINT_DEFAULT_BIND "0.0.0.0:0,[::]:0"

struct endpoint;

struct endpoint_options {
    const struct iroh_secret_key *secret; /* the node identity (copied) */
    /* Comma-separated IP:PORT socket addresses to bind, at most ENDPOINT_MAX_SOCKETS; NULL or ""
     * means ENDPOINT_DEFAULT_BIND, where a family the host lacks is skipped. */
    const char *bind;
};

/* Binds the sockets and starts receiving. Returns 0 and *out, or IROH_EINVAL (bad bind text),
 * IROH_EIO (bind failed, TLS setup failed), IROH_ENOMEM, with err saying why. */
int endpoint_start(uv_loop_t *loop, const struct endpoint_options *options, struct endpoint **out,
                   char *err, size_t errlen);

/* Closes every connection (application code 0), ends pending dials with IROH_ECLOSED, closes
 * the sockets, frees the endpoint and then calls done(arg). */
void endpoint_stop(struct endpoint *ep, void (*done)(void *arg), void *arg);

/* Called with each established incoming connection whose ALPN is the one registered; the
 * service sets the connection's callbacks now (else its streams are refused). */
typedef void endpoint_accept_fn(struct quic_conn *qc, void *arg);

/* Serves alpn (1..QUIC_ALPN_MAX bytes, copied) with fn. Clients are only accepted once a
 * protocol is registered, as iroh. Returns 0, IROH_EEXIST if alpn is taken, IROH_EINVAL for a
 * bad ALPN, IROH_EBUSY past ENDPOINT_MAX_PROTOCOLS. */
int endpoint_serve(struct endpoint *ep, const char *alpn, endpoint_accept_fn *fn, void *arg);

/* Stops serving alpn: later handshakes offering it fail, connections already accepted stay
 * with their service. Returns 0 or IROH_ENOTFOUND. */
int endpoint_unserve(struct endpoint *ep, const char *alpn);

/* Called once per dial: with the established connection and status 0 (then set its
 * callbacks), or with NULL, a negative IROH_E* and why (a text valid during the call):
 * IROH_ETIMEDOUT (no answer), IROH_EPROTO (TLS: wrong id, no common ALPN), IROH_ECLOSED (the
 * endpoint stopped or the peer refused). */
typedef void endpoint_connect_fn(struct quic_conn *qc, int status, const char *why, void *arg);

/* Dials addr's direct IP addresses (all at once; the first to answer wins) offering alpn.
 * Returns 0 (fn follows from the loop), IROH_EINVAL (our own id, a bad ALPN), IROH_ENOTFOUND
 * (no IP address of a family we have a socket for: relays are not supported yet),
 * IROH_ECLOSED (stopping), IROH_ENOMEM, IROH_EIO. */
int endpoint_connect(struct endpoint *ep, const struct iroh_endpoint_addr *addr, const char *alpn,
                     endpoint_connect_fn *fn, void *arg);

/* This node's EndpointAddr: its id and the direct addresses peers can dial: for a wildcard
 * socket every interface address of its family with its port (loopback only when the family
 * has nothing else, IPv6 link-local never), else the bound address. */
void endpoint_addr(const struct endpoint *ep, struct iroh_endpoint_addr *out);

/* The addresses the sockets are bound to (wildcards as such). Returns how many were written to
 * out[0..cap). */
size_t endpoint_bound(const struct endpoint *ep, struct iroh_socket_addr *out, size_t cap);

#endif
