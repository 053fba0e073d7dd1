/* endpoint_service.h — the endpoint.* RPC methods; owns irohd's QUIC endpoint (endpoint.h) for
 * main.c and serves the echo protocol on it (endpoint_echo.h).
 *
 * Methods: endpoint.addr (this node's EndpointAddr), endpoint.ticket (its endpoint ticket) and
 * endpoint.echo (dial a ticket and round-trip bytes through the peer's echo protocol: a
 * diagnostic of the endpoint, and what the interop tests drive). Started by main.c; runs on
 * the loop thread. The methods for apps (endpoint.listen, endpoint.connect, conn.*) are
 * endpoint_apps.h's, started and stopped with this service. */
#ifndef IROHD_ENDPOINT_SERVICE_H
#define IROHD_ENDPOINT_SERVICE_H

#include <stddef.h>
#include <uv.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"

struct endpoint_service;

/* Starts the endpoint with options (endpoint.h), serves the echo protocol and registers the
 * methods on server. Returns 0 and *out, or an IROH_E* code with err saying why. */
int endpoint_service_start(uv_loop_t *loop, struct rpc_server *server,
                           const struct endpoint_options *options, struct endpoint_service **out,
                           char *err, size_t errlen);

/* This node's EndpointAddr (id and direct addresses). */
void endpoint_service_addr(const struct endpoint_service *es, struct iroh_endpoint_addr *out);

/* The endpoint itself, for the services that dial or serve other protocols on it (blobs);
 * valid until endpoint_service_stop. */
struct endpoint *endpoint_service_endpoint(const struct endpoint_service *es);

/* Fails the echo calls still running (shutting_down), then stops the endpoint and frees the
 * service once it has closed. Call before stopping the RPC server. */
void endpoint_service_stop(struct endpoint_service *es);

#endif
