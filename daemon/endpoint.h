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
 *   daemon/app_datagrams.c     a connection's datagrams bridged to an app's fd (app_datagrams.h)
 *   core/quic_cid.c, core/quic_path.c, core/quic_tp.c, core/tls_rpk.c   the I/O-free parts
 *   daemon/relay_client.c      one connection to a relay server (relay_client.h)
 *   core/disco.c, core/peer_map.c   disco packets; the remotes of the path layer
 *
 * The path layer below QUIC: direct UDP and relay paths. Datagrams on a socket are told apart
 * as STUN (dropped), disco (iroh 0.35's Pings and Pongs: answered) or QUIC. A remote's relay
 * path is an address of core/peer_map.h that QUIC's path map treats like any other; what is
 * sent to it goes through the relay the remote is reached by, what arrives over a relay comes
 * from it. The configured relays stay connected; the one with the lowest latency is the home
 * relay our address names; a remote's relay that is not ours is connected on demand. Not yet:
 * hole punching, address lookup, disco over relays.
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
#include "daemon/relay_client.h"

/* The most protocols (ALPNs) one endpoint serves: GnuTLS's limit per session. */
#define ENDPOINT_MAX_PROTOCOLS QUIC_TLS_MAX_ALPNS
#define ENDPOINT_MAX_SOCKETS 4
/* Open connections (both directions) beyond which new clients' Initials are dropped: each
 * handshake costs a connection and a TLS session until it completes or times out (10 s). */
#define ENDPOINT_MAX_CONNECTIONS 4096
/* Address validation (RFC 9000 8.1.2): while this many incoming handshakes are in progress, a
 * new client's first Initial gets a stateless Retry instead of a connection, and only a client
 * that answers it from the same address (a Retry token, sealed with a per-process secret, valid
 * 10 s) gets one: a flood of Initials from forged addresses then costs a Retry each and no
 * memory. */
#define ENDPOINT_RETRY_THRESHOLD 64
/* Incoming handshakes in progress from one source: past it, the source's first Initials get a
 * Retry, and the Initials that answer a Retry are dropped once this many handshakes that began
 * with a Retry are in progress from it (so one host holds at most twice this many, and forging a
 * source's address cannot lock the source out). A source is an IPv4 address, an IPv6 /64 (a
 * host commonly has a whole /64 to pick addresses from) or one remote's relay path. */
#define ENDPOINT_MAX_HANDSHAKES_PER_IP 16
/* Relay connections at once: the configured ones and those opened for remotes' relays (the
 * least recently used of these is closed to make room). */
#define ENDPOINT_MAX_RELAYS 8
/* Used when the bind option is empty: every IPv4 and IPv6 address, a random port each. */
#define ENDPOINT_DEFAULT_BIND "0.0.0.0:0,[::]:0"

struct endpoint;

struct endpoint_options {
    const struct iroh_secret_key *secret; /* the node identity (copied) */
    /* Comma-separated IP:PORT socket addresses to bind, at most ENDPOINT_MAX_SOCKETS; NULL or ""
     * means ENDPOINT_DEFAULT_BIND, where a family the host lacks is skipped. */
    const char *bind;
    /* Relay URLs (http:// or https://) to stay connected to; the home relay is chosen among
     * them. At most ENDPOINT_MAX_RELAYS - 1. */
    const char *const *relays;
    size_t n_relays;
    bool no_relay;             /* use no relay at all, not even a remote's */
    const char *relay_ca_file; /* PEM CAs trusted for https relays besides the system's; NULL */
    const char *relay_token;   /* access token for the configured relays (not a remote's); NULL */
    /* Every new client must first answer a Retry (else only past ENDPOINT_RETRY_THRESHOLD). */
    bool retry_always;
};

/* Binds the sockets, starts receiving and connecting to the relays. Returns 0 and *out, or
 * IROH_EINVAL (bad bind text, a relay URL that is not http(s), too many relays),
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

/* Dials addr over its direct IP addresses and its first relay URL (all at once; the first to
 * answer wins) offering alpn; each direct address gets a disco Ping first. Returns 0 (fn
 * follows from the loop), IROH_EINVAL (our own id, a bad ALPN), IROH_ENOTFOUND (no IP address
 * of a family we have a socket for and no relay URL we may use), IROH_ECLOSED (stopping),
 * IROH_ENOMEM, IROH_EIO. */
int endpoint_connect(struct endpoint *ep, const struct iroh_endpoint_addr *addr, const char *alpn,
                     endpoint_connect_fn *fn, void *arg);

/* This node's EndpointAddr: its id, its home relay (before one is connected, the first
 * configured relay) and the direct addresses peers can dial: for a wildcard socket every
 * interface address of its family with its port (loopback only when the family has nothing
 * else, IPv6 link-local never), else the bound address. */
void endpoint_addr(const struct endpoint *ep, struct iroh_endpoint_addr *out);

struct endpoint_relay_status {
    struct relay_client_info info;
    bool home;       /* the relay our address names */
    bool configured; /* from the options (else opened for a remote) */
};

/* The relay connections. Returns how many were written to out[0..cap) (the strings stay valid
 * until the loop runs again). */
size_t endpoint_relays(const struct endpoint *ep, struct endpoint_relay_status *out, size_t cap);

/* Characters of a path's text: "IP:PORT", "[IPv6]:PORT" or "relay:URL". */
#define ENDPOINT_PATH_TEXT_MAX (6 + IROH_RELAY_URL_MAX)

/* Writes the text of a connection's real address (quic_conn_path): a direct address as
 * IP:PORT, a relay path as "relay:" and the URL of the relay that reaches the remote, and a
 * NUL. Returns the length or IROH_EBUFFER (ENDPOINT_PATH_TEXT_MAX + 1 always suffices). */
int endpoint_path_format(struct endpoint *ep, const struct iroh_socket_addr *real, char *out,
                         size_t cap);

/* What the endpoint's connections are doing now, and what it refused since it started. */
struct endpoint_counts {
    size_t established;          /* connections past their handshake, both directions */
    size_t handshaking;          /* connections whose handshake is in progress, both directions */
    size_t handshaking_incoming; /* of these, the ones clients started */
    uint64_t retries_sent;       /* client Initials answered with a Retry */
    /* client Initials dropped: answering a Retry past ENDPOINT_MAX_HANDSHAKES_PER_IP, or past
     * ENDPOINT_MAX_CONNECTIONS (not counted: packets that cannot start a connection, bad Retry
     * tokens) */
    uint64_t initials_dropped;
};

void endpoint_counts(const struct endpoint *ep, struct endpoint_counts *out);

/* The addresses the sockets are bound to (wildcards as such). Returns how many were written to
 * out[0..cap). */
size_t endpoint_bound(const struct endpoint *ep, struct iroh_socket_addr *out, size_t cap);

#endif
