/* endpoint_apps.h — apps sharing irohd's identity: the endpoint.listen / unlisten / connect /
 * connections and conn.* RPC methods, the QUIC connections apps own, their streams, passed
 * to the apps as socketpair fds (app_streams.h), and their datagrams, passed as one
 * SOCK_SEQPACKET socketpair fd per connection (app_datagrams.h).
 *
 * Ownership: an API connection that listens or connects gets one subscription (returned by
 * endpoint.listen, carrying its endpoint.incoming notifications); every ALPN it listens on and
 * every QUIC connection it accepted or dialed belongs to it. When it disconnects (or
 * unsubscribes), its ALPNs are released and its pending calls end at once; each of its QUIC
 * connections is closed with application code APP_STREAM_CODE_APP_GONE once its stream bridges
 * have sent what they read from the app (and their FIN) and its streams are closed, or after
 * 5 s. One owner per ALPN at a time. An app may take over an ALPN irohd
 * serves itself (the echo protocol): irohd serves it again once the app lets it go.
 *
 * Known limit: ngtcp2 0.12 releases a unidirectional stream the peer opened only when its
 * connection closes (ngtcp2 issue 662, fixed in 0.13), so a peer can open at most 100 per
 * connection (quic_conn.h's initial_max_streams_uni; tests/integration/test_quic_hostile.c).
 * Bidirectional ones give their place back as they close: any number over time, 100 at once.
 *
 * endpoint_service.c starts and stops it. Loop thread only. */
#ifndef IROHD_ENDPOINT_APPS_H
#define IROHD_ENDPOINT_APPS_H

#include <uv.h>

#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"

struct endpoint_apps;

/* Registers the methods on server for ep. Returns 0 and *out, or IROH_ENOMEM. */
int endpoint_apps_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                        struct endpoint_apps **out);

/* Fails pending calls (shutting_down), closes the apps' connections, releases their ALPNs and
 * frees everything. Call before endpoint_stop. */
void endpoint_apps_stop(struct endpoint_apps *apps);

#endif
