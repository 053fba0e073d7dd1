/* relay/server.h — the iroh-relay server on a libuv loop: the relay listener (HTTP or HTTPS)
 * with the WebSocket upgrade at /relay, the relay protocol (handshake, access control,
 * forwarding, keep-alive, duplicate ids, EndpointGone, queues, rate limit), the plain HTTP
 * pages (/, /ping, /healthz, /robots.txt, /generate_204) and the metrics listener.
 *
 * Used by relay/main.c (and tests/bench that embed it). One server per loop; everything runs
 * on the loop thread. */
#ifndef IROH_RELAY_SERVER_H
#define IROH_RELAY_SERVER_H

#include <uv.h>

#include "relay/config.h"
#include "relay/metrics.h"

struct relay_server;

/* Binds the listeners of cfg (borrowed; must outlive the server) and starts serving. Returns
 * IROH_OK, or a negative code with a message in err. */
int relay_server_start(uv_loop_t *loop, const struct relay_config *cfg, struct relay_server **out,
                       char *err, size_t err_cap);

/* Closes listeners and connections; the server frees itself once its handles are closed (run
 * the loop to let it). */
void relay_server_stop(struct relay_server *s);

/* The live counters. */
const struct relay_metrics *relay_server_metrics(const struct relay_server *s);

#endif
