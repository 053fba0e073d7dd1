/* blobs_share.h — the RPC methods of the provider side of blobs: blobs.share (a blob ticket for
 * a stored blob or collection, naming this node with its current addresses) and
 * blobs.provider_stats (the counters of daemon/blobs_provider.c). Started by main.c once the
 * endpoint, the store and the provider exist; runs on the loop thread, the store check on the
 * thread pool. */
#ifndef IROHD_BLOBS_SHARE_H
#define IROHD_BLOBS_SHARE_H

#include <uv.h>

#include "daemon/blobs_provider.h"
#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"
#include "storage/blob_store.h"

struct blobs_share;

/* Registers the methods on server; every argument is borrowed and must outlive the service.
 * Returns 0 and *out, or IROH_ENOMEM. */
int blobs_share_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                      struct blob_store *store, struct blobs_provider *provider,
                      struct blobs_share **out);
/* Frees the service once its pending store checks have come back (their answers go to
 * callers that are gone). Call before stopping the provider and the RPC server. */
void blobs_share_stop(struct blobs_share *bs);

#endif
