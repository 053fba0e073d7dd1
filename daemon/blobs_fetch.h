/* blobs_fetch.h — the downloader of iroh-blobs content (spec/blobs.md §6, §11) and its RPC
 * method blobs.get: fetch a blob, or a hash sequence (a collection) with its children, from
 * one or more providers over ALPN /iroh-bytes/4, into the blob store.
 *
 * How a download goes:
 *   - Its blobs are parts: the root, and once the root is complete and its format is HashSeq,
 *     every child it lists. At most FETCH_MAX_PARALLEL parts are in flight at once, each on
 *     its own stream; parts are spread over the providers (part i starts with provider
 *     i mod n: a split), one QUIC connection per provider, dialed when first needed.
 *   - Before a part is asked for, the store says what it lacks (storage/blob_missing.h): the
 *     request names only those chunk groups, so a download that was interrupted (irohd
 *     killed, a provider gone) resumes where it stopped.
 *   - The response is verified while it streams (core/blobs_proto.h, core/bao.h) on the
 *     thread pool; only verified whole 16 KiB groups, with their parent pairs and the CVs the
 *     decoder checked them against, are written to the store's partial entry (which checks
 *     each CV's path to the root again, without hashing the data twice), in batches of up to
 *     8 MiB while the next batch is decoded.
 *   - A provider that sends a byte that does not verify is cut off at that group: what
 *     verified before it is kept, its connection is closed and it gets no more requests. A
 *     provider that lacks the blob (a reset, or the stream ending before the size, as iroh
 *     0.35 does) or a part of it, goes quiet for 20 s, or cannot be reached, is passed over
 *     for that part. The next provider is asked for what is still missing; every live
 *     provider is tried at most FETCH_MAX_ROUNDS times per part before the download fails.
 *   - Progress goes to the caller as blobs.progress notifications (stage "downloading"), at
 *     most ten a second; a caller that disconnects cancels its download.
 *   - At the end the root is tagged (as blobs.add does) and, with out, written to a file, or
 *     for a collection to a directory.
 *
 * Started by main.c after the endpoint and the blob store; runs on the loop thread; store
 * calls run on the libuv thread pool. */
#ifndef IROHD_BLOBS_FETCH_H
#define IROHD_BLOBS_FETCH_H

#include <uv.h>

#include "daemon/blob_changes.h"
#include "daemon/endpoint.h"
#include "daemon/rpc_server.h"
#include "storage/blob_store.h"

#define FETCH_MAX_PROVIDERS 16 /* providers of one download */
#define FETCH_MAX_PARALLEL 4   /* parts of one download in flight at once */
#define FETCH_MAX_DOWNLOADS 16 /* downloads at once; more are refused as busy */
#define FETCH_MAX_ROUNDS 2     /* times each live provider is asked for one part */

struct blobs_fetch;

/* Registers blobs.get on server. ep and store are borrowed and must outlive the service (stop
 * it before the endpoint). Returns 0 and *out, or IROH_ENOMEM. */
int blobs_fetch_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                      struct blob_store *store, struct blobs_fetch **out);

/* Whom to tell once a batch of a blob is committed to the store (copied; main.c: the
 * provider, for its Observe requests). Until then, and after blobs_fetch_stop, nobody. */
void blobs_fetch_set_changes(struct blobs_fetch *bf, const struct blob_changes *changes);

/* Cancels every download (their calls fail with shutting_down), closes their connections and
 * frees the service once the last one has let go. Call before stopping the endpoint. */
void blobs_fetch_stop(struct blobs_fetch *bf);

#endif
