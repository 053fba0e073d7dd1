/* blobs_share.c — blobs.share and blobs.provider_stats; see blobs_share.h. */
#include "daemon/blobs_share.h"
#include "daemon/rpc_server.h"

#include <iroh/error.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/ticket.h"
#include "ipc/jsonrpc.h"

struct blobs_share {
    uv_loop_t *loop;
    struct endpoint *ep;
    struct blob_store *store;
    struct blobs_provider *provider;
    bool stopping;
    size_t pending; /* store checks not yet back */
};

/* One blobs.share call: the store check runs on the pool. */
struct share_job {
    uv_work_t req;
    struct blobs_share *bs;
    struct rpc_call *call;
    uint8_t hash[BLOB_HASH_LEN];
    bool collection;
    int rc;
    const char *why; /* static words for a refusal */
    struct blob_error err;
};

static void maybe_free(struct blobs_share *bs)
{
    if (bs->stopping && bs->pending == 0) free(bs);
}

static void fail(struct rpc_call *call, int rc, const char *message, const char *detail)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "detail",
                           json_object_new_string(detail && *detail ? detail : iroh_strerror(rc)));
    rpc_call_fail(call, jsonrpc_code_for(rc), message, data);
}

/* A blob is shared only when it is complete; a collection only when its root is a complete
 * hash sequence (32-byte hashes). */
static void share_work(uv_work_t *req)
{
    struct share_job *j = req->data;
    struct blob_status st;
    j->rc = blob_store_status(j->bs->store, j->hash, &st, &j->err);
    if (j->rc == IROH_ENOTFOUND) {
        j->why = "the store does not have this blob";
    } else if (j->rc == 0 && !st.complete) {
        j->rc = IROH_ENOTFOUND;
        j->why = "the store has only part of this blob: it cannot be shared yet";
    } else if (j->rc == 0 && j->collection && st.size % BLOB_HASH_LEN != 0) {
        j->rc = IROH_EINVAL;
        j->why = "this blob is not a hash sequence (its size is not a multiple of 32)";
    }
}

static void share_done(uv_work_t *req, int status)
{
    (void)status;
    struct share_job *j = req->data;
    struct blobs_share *bs = j->bs;
    bs->pending--;
    if (bs->stopping) {
        rpc_call_fail(j->call, JSONRPC_SHUTTING_DOWN, "irohd is stopping", NULL);
    } else if (j->rc < 0) {
        fail(j->call, j->rc, "cannot share the blob", j->why ? j->why : j->err.detail);
    } else {
        struct iroh_blob_ticket t;
        endpoint_addr(bs->ep, &t.addr);
        t.format = j->collection ? IROH_BLOB_TICKET_HASH_SEQ : IROH_BLOB_TICKET_RAW;
        memcpy(t.hash, j->hash, sizeof t.hash);
        char ticket[IROH_BLOB_TICKET_MAX_LEN + 1], hex[BLOB_HASH_HEX_LEN + 1];
        int rc = iroh_blob_ticket_encode(&t, ticket, sizeof ticket);
        if (rc < 0) {
            fail(j->call, rc, "cannot make the ticket", NULL);
        } else {
            blob_hash_hex(j->hash, hex);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ticket", json_object_new_string(ticket));
            json_object_object_add(o, "hash", json_object_new_string(hex));
            json_object_object_add(o, "format",
                                   json_object_new_string(blob_format_name(
                                       j->collection ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW)));
            rpc_call_reply(j->call, o, NULL, 0);
        }
    }
    free(j);
    maybe_free(bs);
}

static void handle_share(struct rpc_call *call, json_object *params, void *ctx)
{
    struct blobs_share *bs = ctx;
    json_object *v;
    struct share_job *j = calloc(1, sizeof *j);
    if (!j) {
        fail(call, IROH_ENOMEM, "cannot share the blob", NULL);
        return;
    }
    j->bs = bs;
    j->call = call;
    j->req.data = j;
    const char *hash =
        json_object_object_get_ex(params, "hash", &v) ? json_object_get_string(v) : "";
    j->collection =
        json_object_object_get_ex(params, "collection", &v) && json_object_get_boolean(v);
    if (blob_hash_parse(hash, j->hash) < 0) {
        fail(call, IROH_EINVAL, "invalid hash", "expected 64 hex digits or 52 base32 characters");
        free(j);
        return;
    }
    bs->pending++;
    uv_queue_work(bs->loop, &j->req, share_work, share_done);
}

static void handle_provider_stats(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    struct blobs_share *bs = ctx;
    struct blobs_provider_stats st;
    blobs_provider_stats(bs->provider, &st);
    const struct {
        const char *name;
        uint64_t value;
    } fields[] = {
        {"connections", st.connections},
        {"connections_open", st.connections_open},
        {"requests", st.requests},
        {"get", st.get},
        {"get_many", st.get_many},
        {"observe", st.observe},
        {"push", st.push},
        {"active", st.active},
        {"refused_limit", st.refused_limit},
        {"refused_permission", st.refused_permission},
        {"invalid", st.invalid},
        {"not_found", st.not_found},
        {"blobs_sent", st.blobs_sent},
        {"blobs_received", st.blobs_received},
        {"bytes_sent", st.bytes_sent},
        {"bytes_received", st.bytes_received},
        {"observe_steps", st.observe_steps},
    };
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        rpc_add_u64(o, fields[i].name, fields[i].value);
    rpc_call_reply(call, o, NULL, 0);
}

int blobs_share_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                      struct blob_store *store, struct blobs_provider *provider,
                      struct blobs_share **out)
{
    struct blobs_share *bs = calloc(1, sizeof *bs);
    if (!bs) return IROH_ENOMEM;
    bs->loop = loop;
    bs->ep = ep;
    bs->store = store;
    bs->provider = provider;
    rpc_server_register(server, "blobs.share", handle_share, bs);
    rpc_server_register(server, "blobs.provider_stats", handle_provider_stats, bs);
    *out = bs;
    return 0;
}

void blobs_share_stop(struct blobs_share *bs)
{
    bs->stopping = true;
    maybe_free(bs);
}
