/* blobs_service.h — the blobs.* and tags.* methods over the blob store (storage/blob_store.h):
 * add, export, read (inline or through a passed pipe), status, list, delete, gc, and named
 * tags. Started by main.c once the store and the RPC server exist; runs on the loop thread.
 * Every store call runs on the libuv thread pool (uv_queue_work) and answers its rpc_call from
 * the completion on the loop; blobs.add and blobs.export report progress to their caller as
 * blobs.progress notifications (at most 10 a second) and are cancelled if it disconnects. */
#ifndef IROHD_BLOBS_SERVICE_H
#define IROHD_BLOBS_SERVICE_H

#include <uv.h>

#include "daemon/blob_changes.h"
#include "daemon/rpc_server.h"
#include "storage/blob_store.h"

struct blobs_service;

/* Registers the methods on server. store is borrowed and must stay open until the loop has
 * finished (every job ends before uv_run returns). Returns 0 and the service, or IROH_ENOMEM. */
int blobs_service_start(uv_loop_t *loop, struct rpc_server *server, struct blob_store *store,
                        struct blobs_service **out);
/* Whom to tell once blobs.add, blobs.delete or blobs.gc changed blobs (copied; main.c: the
 * provider, for its Observe requests). Until then, and after blobs_service_stop, nobody. */
void blobs_service_set_changes(struct blobs_service *bs, const struct blob_changes *changes);

/* Cancels running imports and exports, closes read pipes and frees the service once the
 * last job has come back (its answer goes to a client that is gone). Call before stopping
 * the RPC server. */
void blobs_service_stop(struct blobs_service *bs);

#endif
