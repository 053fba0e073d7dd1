/* endpoint_service.h — the endpoint.* RPC methods and the echo protocol: owns irohd's QUIC
 * endpoint (endpoint.h) for main.c.
 *
 * Methods: endpoint.addr (this node's EndpointAddr), endpoint.ticket (its endpoint ticket) and
 * endpoint.echo (dial a ticket and round-trip bytes through the peer's echo protocol: a
 * diagnostic of the endpoint, and what the interop tests drive).
 * The echo protocol, ALPN "iroh-example/echo/0" as in iroh's examples: every bidirectional
 * stream a peer opens gets its bytes back on the same stream, and our side finishes when the
 * peer's does. Started by main.c; runs on the loop thread. */
#ifndef IROHD_ENDPOINT_SERVICE_H
#define IROHD_ENDPOINT_SERVICE_H

#include <stddef.h>
#include <uv.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"

#define ECHO_ALPN "iroh-example/echo/0"

struct endpoint_service;

/* Starts the endpoint with secret on the bind list (see endpoint_options; NULL for the
 * default), serves the echo protocol and registers the methods on server. Returns 0 and *out,
 * or an IROH_E* code with err saying why. */
int endpoint_service_start(uv_loop_t *loop, struct rpc_server *server,
                           const struct iroh_secret_key *secret, const char *bind,
                           struct endpoint_service **out, char *err, size_t errlen);

/* This node's EndpointAddr (id and direct addresses). */
void endpoint_service_addr(const struct endpoint_service *es, struct iroh_endpoint_addr *out);

/* Fails the echo calls still running, then stops the endpoint and frees the service; the
 * loop finishes closing its handles. Call before stopping the RPC server. */
void endpoint_service_stop(struct endpoint_service *es);

#endif
