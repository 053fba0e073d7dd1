/* rpc_server.h — the local API server of irohd: the listening Unix socket, one handle per
 * connected client, JSON-RPC dispatch through the API description (ipc/api.h), replies that
 * may carry fds, and subscriptions. Runs on the daemon's libuv loop; services (node_service.c
 * and later ones) register one handler per described method and answer calls, now or later.
 *
 * Handles and their lifetimes: a client lives while its connection is open and, after it only
 * half-closed (shutdown(SHUT_WR)), while calls of it are unanswered; one that hung up entirely
 * is closed at once (answers given later are dropped); an rpc_call lives until rpc_call_reply or
 * rpc_call_fail (exactly one of them must be called, possibly from a later callback); a
 * subscription lives until its client disconnects, the client calls rpc.unsubscribe (both end it
 * through its end callback), or its service calls rpc_subscription_end. The server itself serves
 * rpc.discover and rpc.unsubscribe. */
#ifndef IROHD_RPC_SERVER_H
#define IROHD_RPC_SERVER_H

#include <json-c/json.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ipc/api.h"

struct rpc_server;
struct rpc_client;
struct rpc_call;
struct rpc_subscription;

struct rpc_server_options {
    const char *socket_path;
    size_t max_clients;         /* connections beyond this are refused with a "busy" error */
    size_t client_output_limit; /* a client with more unread output than this is dropped */
};

/* A method's handler. params is the validated, named params object (borrowed). The handler
 * must eventually answer the call exactly once. */
typedef void rpc_handler_fn(struct rpc_call *call, json_object *params, void *ctx);

/* Binds and listens on options->socket_path (a stale socket file is replaced; a live one is
 * an error) with mode 0600. api is borrowed and must outlive the server. Returns 0 and the
 * server in *out, or IROH_EEXIST / IROH_EIO with err saying why. */
int rpc_server_start(uv_loop_t *loop, const struct rpc_server_options *options,
                     const struct rpc_api *api, struct rpc_server **out, char *err, size_t errlen);
/* Serves the described method `name` with fn. Returns 0, or IROH_ENOTFOUND if the API
 * description has no such method (every method must be described first). */
int rpc_server_register(struct rpc_server *server, const char *name, rpc_handler_fn *fn, void *ctx);
/* Returns 0 if every described method has a handler, else IROH_ENOTFOUND naming one in err. */
int rpc_server_check_complete(const struct rpc_server *server, char *err, size_t errlen);
/* Stops listening, removes the socket file, sends each client what is queued for it if the
 * socket takes it now, and closes every connection. `done` runs once everything is closed;
 * then the server is freed. */
void rpc_server_stop(struct rpc_server *server, void (*done)(void *arg), void *arg);
size_t rpc_server_client_count(const struct rpc_server *server);

/* Answers a call with a result (ownership taken) and nfds fds (ownership taken; named in
 * the result by index). A notification's answer, or one to a client that left, is dropped. */
void rpc_call_reply(struct rpc_call *call, json_object *result, const int *fds, size_t nfds);
/* Answers a call with a JSON-RPC error; data (may be NULL) is owned. */
void rpc_call_fail(struct rpc_call *call, int code, const char *message, json_object *data);
/* A handler's optional params: the string member `key` (NULL when absent or not a string),
 * and the boolean member `key` (false when absent). Both borrow from params. */
const char *rpc_param_string(json_object *params, const char *key);
bool rpc_param_bool(json_object *params, const char *key);
/* Adds the integer member key = v to a result object (JSON integers are int64: values over
 * INT64_MAX, which no count or size here reaches, would come out negative). */
void rpc_add_u64(json_object *o, const char *key, uint64_t v);
/* The client that made the call (valid until the call is answered). */
struct rpc_client *rpc_call_client(const struct rpc_call *call);

/* A description of a client for logs: "client 7 (pid 1234)". */
const char *rpc_client_name(const struct rpc_client *client);
/* The client process's umask now (Linux /proc/PID/status), so files irohd writes for it (blob
 * exports) get the modes the client's own tools would give them; RPC_DEFAULT_UMASK when it
 * cannot be read (the process is gone, a kernel before 4.7). */
#define RPC_DEFAULT_UMASK 022
mode_t rpc_client_umask(const struct rpc_client *client);

/* Called once when a subscription ends because its client left or unsubscribed. */
typedef void rpc_subscription_end_fn(struct rpc_subscription *sub, void *ctx);
/* Creates a subscription owned by client. Returns NULL when out of memory. */
struct rpc_subscription *rpc_subscription_new(struct rpc_client *client,
                                              rpc_subscription_end_fn *on_end, void *ctx);
uint64_t rpc_subscription_id(const struct rpc_subscription *sub);
/* Sends the notification `method` with params (owned; a "subscription" member is added).
 * Returns 0, or IROH_EBUSY when the client's unread output is over half its limit (nothing is
 * queued: the service decides whether to drop or end), or IROH_ENOMEM. */
int rpc_subscription_notify(struct rpc_subscription *sub, const char *method, json_object *params);
/* Ends a subscription from the service's side (its end callback is not called). */
void rpc_subscription_end(struct rpc_subscription *sub);

#endif
