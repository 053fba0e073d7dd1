/* relay/access.h — who may use the relay (spec relay-and-discovery.md §2.4): everyone, an
 * allowlist or denylist of endpoint ids, shared tokens, or an HTTP callout (POST to a URL with
 * X-Iroh-NodeId; admitted only on status 200 with body "true", within a timeout). Runs after
 * authentication. Used by relay/server.c on its loop. */
#ifndef IROH_RELAY_ACCESS_H
#define IROH_RELAY_ACCESS_H

#include <stdbool.h>
#include <uv.h>

#include "core/keys.h"
#include "relay/config.h"

#define RELAY_DENY_REASON "not authorized"

/* Called once with the callout's answer, on the loop, unless the request was cancelled. */
typedef void relay_access_done_fn(void *ctx, bool allowed);

struct relay_access_req;

enum relay_access_answer {
    RELAY_ACCESS_DENIED = 0,
    RELAY_ACCESS_ALLOWED = 1,
    RELAY_ACCESS_PENDING = 2, /* a callout started: done will be called */
};

/* Decides for the authenticated key; token is what the client presented (NULL if nothing).
 * Returns RELAY_ACCESS_ALLOWED, RELAY_ACCESS_DENIED, or RELAY_ACCESS_PENDING with *req set
 * (cancel it with relay_access_cancel if the client leaves first). A callout that cannot
 * start, or one more than cfg->callout_max_pending at once (a flood of new ids must not turn
 * into a flood of requests to the access service), answers DENIED. */
enum relay_access_answer relay_access_check(uv_loop_t *loop, const struct relay_config *cfg,
                                            const struct iroh_public_key *key, const char *token,
                                            relay_access_done_fn *done, void *ctx,
                                            struct relay_access_req **req);

/* Stops a pending callout: done is not called; its resources are freed asynchronously. */
void relay_access_cancel(struct relay_access_req *req);

#endif
