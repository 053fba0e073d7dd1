/* jsonrpc.h — JSON-RPC 2.0 messages as json-c objects: classify what arrived, build what to
 * send, and the error codes of the local API (the same list as "x-errors" in ipc/api.json).
 * Pure functions over json-c; used by the daemon's RPC server and the client library. */
#ifndef IROH_IPC_JSONRPC_H
#define IROH_IPC_JSONRPC_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

enum jsonrpc_code {
    JSONRPC_PARSE_ERROR = -32700,
    JSONRPC_INVALID_REQUEST = -32600,
    JSONRPC_METHOD_NOT_FOUND = -32601,
    JSONRPC_INVALID_PARAMS = -32602,
    JSONRPC_INTERNAL_ERROR = -32603,
    JSONRPC_NOT_FOUND = 1001,
    JSONRPC_ALREADY_EXISTS = 1002,
    JSONRPC_PERMISSION_DENIED = 1003,
    JSONRPC_BUSY = 1004,
    JSONRPC_IO_ERROR = 1005,
    JSONRPC_TOO_LARGE = 1006,
    JSONRPC_SHUTTING_DOWN = 1007,
};

enum jsonrpc_kind {
    JSONRPC_INVALID,
    JSONRPC_REQUEST,      /* method and id */
    JSONRPC_NOTIFICATION, /* method, no id */
    JSONRPC_RESPONSE,     /* result or error, and id */
};

/* Classifies one message. For JSONRPC_INVALID, *why (if not NULL) is set to a static reason. */
enum jsonrpc_kind jsonrpc_classify(json_object *msg, const char **why);

/* The short snake_case name of a code ("invalid_params", "not_found", …); "error" if unknown. */
const char *jsonrpc_code_kind(int code);
/* The JSON-RPC code that reports an IROH_E* error to a client. */
int jsonrpc_code_for(int iroh_err);

/* Builders. Every returned object is new (the caller owns one reference). Arguments marked
 * "owned" are consumed even on failure; id is borrowed (a new reference is taken). They return
 * NULL only when out of memory. */
json_object *jsonrpc_result_new(json_object *id, json_object *result /* owned */);
/* data may be NULL; a "kind" member naming the code is always added to the error's data. */
json_object *jsonrpc_error_new(json_object *id, int code, const char *message,
                               json_object *data /* owned */);
json_object *jsonrpc_request_new(int64_t id, const char *method, json_object *params /* owned */);
json_object *jsonrpc_notification_new(const char *method, json_object *params /* owned */);

/* The compact one-line text of msg (valid while msg lives; never contains a raw newline). */
const char *jsonrpc_text(json_object *msg, size_t *len);

#endif
