/* node_service.h — the node.* methods: status (with the endpoint's ticket and relays),
 * shutdown and the live log stream (node.logs).
 * Started by main.c once the identity and the RPC server exist; runs on the loop thread. */
#ifndef IROHD_NODE_SERVICE_H
#define IROHD_NODE_SERVICE_H

#include <stdint.h>

#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"

struct node_service;

struct node_info {
    struct iroh_public_key id;
    const char *data_dir;      /* borrowed; must outlive the service */
    const char *socket_path;   /* borrowed; must outlive the service */
    uint64_t started_ns;       /* uv_hrtime() at start */
    struct endpoint *endpoint; /* the ticket's addresses and the relays; NULL: id only */
};

/* Registers node.status, node.shutdown and node.logs on server. node.shutdown answers, then
 * calls request_shutdown(arg). Returns 0 and the service in *out, or IROH_ENOMEM. */
int node_service_start(struct rpc_server *server, const struct node_info *info,
                       void (*request_shutdown)(void *arg), void *arg, struct node_service **out);
/* The endpoint ticket of this node now (valid until the next call or node.status). */
const char *node_service_ticket(struct node_service *ns);
/* Ends every log stream and frees the service. Call before stopping the RPC server. */
void node_service_stop(struct node_service *ns);

#endif
