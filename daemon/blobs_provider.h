/* blobs_provider.h — serves the blob store to peers over ALPN "/iroh-bytes/4" on irohd's
 * endpoint, as an iroh-blobs provider (spec/blobs.md §6–§8; core/blobs_proto.h):
 *   - Get: the root blob and, when asked, children of the hash sequence in it; GetMany; each
 *     blob as size (u64 LE) ‖ bao body with 16 KiB chunk groups for the requested ranges;
 *     partial blobs are served as far as their verified groups go.
 *   - Observe: the blob's bitfield of verified chunks, then its changes (old XOR new); the stream
 *     is finished once it is complete. Nothing polls: the bitfield is read again (a pool step of
 *     the request) only when blobs_provider_blob_changed names the blob (or any blob), at most
 *     one step per request at a time; a change that comes while one is queued or running gets
 *     one more step after it. Every path that changes the store's blobs in irohd tells it: the
 *     provider's own Push writes, and through main.c (struct blob_changes, so that they do not
 *     depend on the provider) blobs_fetch.c's batches and blobs_service.c's add, delete and gc.
 *     A store changed by another process while irohd runs is not seen (irohd owns its store).
 *   - Push: refused with IROH_BLOBS_ERR_PERMISSION unless the peer's id is in the allow-list;
 *     an allowed peer's pushed blobs are verified group by group and stored as partial entries
 *     that complete when the last group arrives.
 *   - Errors as upstream iroh-blobs: an unknown hash (or a missing part, or a root that is not
 *     a complete hash sequence when children are asked for) resets our side of the stream with
 *     IROH_BLOBS_ERR_INTERNAL, before any byte for the root; a request over a limit is reset
 *     with IROH_BLOBS_ERR_LIMIT; an undecodable request gets a clean finish with no data and
 *     STOP_SENDING 0, as a dropped stream of iroh's.
 *   - Limits: concurrent requests per connection and in total, 32 MiB of request bytes
 *     buffered in total (a request may be 1 MiB), and the time to send a whole request; streams
 *     over a limit are reset with IROH_BLOBS_ERR_LIMIT.
 * Store reads (and Push writes) run on the libuv thread pool, one step per request at a time,
 * each step producing up to BLOBS_PROVIDER_BATCH bytes into an output buffer it holds only
 * until the loop has written them (a few spare buffers are kept for the next steps, not one per
 * request); a stream is written only while its unacknowledged data is under
 * QUIC_STREAM_HIGH_WATER, so a slow peer holds at most that plus one batch in its stream. The
 * step after a write that reached the mark runs at once all the same (at most 8 such steps in
 * the whole provider), and its output waits for the stream to drain: then it is written without
 * the stream running dry while a step is queued and run. Large steps matter too: each is a round
 * trip through the pool (two thread wake-ups).
 *
 * TEST ONLY: when the environment variable IROHD_TEST_CORRUPT_PROVIDER=N (N ≥ 1) is set at
 * start, the Nth data leaf (chunk group, or chunk of a partly requested group) this provider
 * sends has one byte flipped, once — so tests can check that a getter cuts off a corrupt
 * provider. A warning is logged at start. Never set it outside tests.
 *
 * Used by main.c (start/stop, and blobs_provider_blob_changed wired to blobs_fetch.c and
 * blobs_service.c), blobs_share.c (stats) and the provider's tests.
 * Loop thread only. */
#ifndef IROHD_BLOBS_PROVIDER_H
#define IROHD_BLOBS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/keys.h"
#include "daemon/endpoint.h"
#include "storage/blob_store.h"

#define BLOBS_PROVIDER_MAX_PUSH_ALLOW 16
#define BLOBS_PROVIDER_DEFAULT_MAX_REQUESTS 512     /* in total */
#define BLOBS_PROVIDER_DEFAULT_MAX_CONN_REQUESTS 64 /* per connection */
#define BLOBS_PROVIDER_DEFAULT_REQUEST_TIMEOUT_MS 20000
#define BLOBS_PROVIDER_DEFAULT_STALL_TIMEOUT_MS 60000
#define BLOBS_PROVIDER_BATCH (1024 * 1024) /* response bytes per pool step */

struct blobs_provider;

struct blobs_provider_options {
    /* Peers allowed to Push (copied; at most BLOBS_PROVIDER_MAX_PUSH_ALLOW). */
    const struct iroh_public_key *push_allow;
    size_t push_allow_count;
    unsigned max_requests;      /* 0: BLOBS_PROVIDER_DEFAULT_MAX_REQUESTS */
    unsigned max_conn_requests; /* 0: BLOBS_PROVIDER_DEFAULT_MAX_CONN_REQUESTS */
    /* A stream must send its whole request (Get, GetMany, Observe: up to its FIN) within this
     * time, else it is reset with IROH_BLOBS_ERR_LIMIT. 0: the default. */
    unsigned request_timeout_ms;
    /* A response the peer takes nothing more of (its stream stays at QUIC_STREAM_HIGH_WATER
     * unacknowledged bytes) for this long is reset with IROH_BLOBS_ERR_LIMIT, so a requester
     * that never reads cannot hold a request slot. 0: the default. */
    unsigned stall_timeout_ms;
};

/* Counts since start (active ones: now). */
struct blobs_provider_stats {
    uint64_t connections;      /* accepted */
    uint64_t connections_open; /* now */
    uint64_t requests;         /* decoded, of any type */
    uint64_t get, get_many, observe, push;
    uint64_t active;             /* requests being served now */
    uint64_t refused_limit;      /* streams reset with IROH_BLOBS_ERR_LIMIT */
    uint64_t refused_permission; /* pushes refused */
    uint64_t invalid;            /* undecodable requests */
    uint64_t not_found;          /* requests ended with IROH_BLOBS_ERR_INTERNAL */
    uint64_t blobs_sent;         /* blob responses sent whole */
    uint64_t blobs_received;     /* blobs received whole by Push */
    uint64_t bytes_sent;         /* response bytes written to streams */
    uint64_t bytes_received;     /* Push data bytes verified and stored */
    uint64_t observe_steps;      /* bitfield reads of Observe requests (first and changes) */
};

/* Serves ALPN /iroh-bytes/4 on ep from store (both borrowed: the store must stay open until
 * the loop has finished, ep until blobs_provider_stop). Returns 0 and *out, IROH_EINVAL (more
 * than BLOBS_PROVIDER_MAX_PUSH_ALLOW ids), IROH_ENOMEM, or endpoint_serve's error. */
int blobs_provider_start(uv_loop_t *loop, struct endpoint *ep, struct blob_store *store,
                         const struct blobs_provider_options *options, struct blobs_provider **out);

void blobs_provider_stats(const struct blobs_provider *p, struct blobs_provider_stats *out);

/* The blob hash may have changed in the store (call once the change is committed): Observe
 * requests on it read its bitfield again and send the difference, if any. hash NULL: any blob
 * may have (every Observe request takes a step). Cheap when nobody observes it (a walk over
 * the provider's requests). Does nothing once the provider is stopping. */
void blobs_provider_blob_changed(struct blobs_provider *p, const uint8_t hash[BLOB_HASH_LEN]);

/* Stops serving the ALPN, closes the provider's connections (code 0) and frees the provider
 * once the last pool step has come back. Call before the endpoint stops. */
void blobs_provider_stop(struct blobs_provider *p);

#endif
