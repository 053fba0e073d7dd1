/* jsonrpc.c — JSON-RPC 2.0 message helpers; see jsonrpc.h. */
#include "ipc/jsonrpc.h"

#include <iroh/error.h>
#include <stdbool.h>
#include <string.h>

static bool is_valid_id(json_object *id)
{
    switch (json_object_get_type(id)) {
    case json_type_null:
    case json_type_string:
    case json_type_int: return true;
    default: return false; /* fractional numbers, objects, arrays and booleans are not ids */
    }
}

enum jsonrpc_kind jsonrpc_classify(json_object *msg, const char **why)
{
    const char *unused;
    if (!why) why = &unused;
    if (!json_object_is_type(msg, json_type_object)) {
        *why = "a message must be a JSON object";
        return JSONRPC_INVALID;
    }
    json_object *version, *method, *id, *params;
    if (!json_object_object_get_ex(msg, "jsonrpc", &version) ||
        !json_object_is_type(version, json_type_string) ||
        strcmp(json_object_get_string(version), "2.0") != 0) {
        *why = "\"jsonrpc\" must be \"2.0\"";
        return JSONRPC_INVALID;
    }
    bool has_id = json_object_object_get_ex(msg, "id", &id);
    if (has_id && !is_valid_id(id)) {
        *why = "\"id\" must be a string, an integer or null";
        return JSONRPC_INVALID;
    }
    if (json_object_object_get_ex(msg, "method", &method)) {
        if (!json_object_is_type(method, json_type_string)) {
            *why = "\"method\" must be a string";
            return JSONRPC_INVALID;
        }
        if (json_object_object_get_ex(msg, "params", &params) &&
            !json_object_is_type(params, json_type_object) &&
            !json_object_is_type(params, json_type_array)) {
            *why = "\"params\" must be an object or an array";
            return JSONRPC_INVALID;
        }
        return has_id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
    }
    bool has_result = json_object_object_get_ex(msg, "result", NULL);
    json_object *error;
    bool has_error = json_object_object_get_ex(msg, "error", &error);
    if (has_id && has_result != has_error) {
        if (has_error && !json_object_is_type(error, json_type_object)) {
            *why = "\"error\" must be an object";
            return JSONRPC_INVALID;
        }
        return JSONRPC_RESPONSE;
    }
    *why = "a message needs \"method\", or \"id\" with exactly one of \"result\" and \"error\"";
    return JSONRPC_INVALID;
}

static const struct {
    int code;
    const char *kind;
} code_kinds[] = {
    {JSONRPC_PARSE_ERROR, "parse_error"},
    {JSONRPC_INVALID_REQUEST, "invalid_request"},
    {JSONRPC_METHOD_NOT_FOUND, "method_not_found"},
    {JSONRPC_INVALID_PARAMS, "invalid_params"},
    {JSONRPC_INTERNAL_ERROR, "internal_error"},
    {JSONRPC_NOT_FOUND, "not_found"},
    {JSONRPC_ALREADY_EXISTS, "already_exists"},
    {JSONRPC_PERMISSION_DENIED, "permission_denied"},
    {JSONRPC_BUSY, "busy"},
    {JSONRPC_IO_ERROR, "io_error"},
    {JSONRPC_TOO_LARGE, "too_large"},
    {JSONRPC_SHUTTING_DOWN, "shutting_down"},
};

const char *jsonrpc_code_kind(int code)
{
    for (size_t i = 0; i < sizeof code_kinds / sizeof code_kinds[0]; i++)
        if (code_kinds[i].code == code) return code_kinds[i].kind;
    return "error";
}

int jsonrpc_code_for(int iroh_err)
{
    switch (iroh_err) {
    case IROH_EINVAL: return JSONRPC_INVALID_PARAMS;
    case IROH_ENOTFOUND: return JSONRPC_NOT_FOUND;
    case IROH_EEXIST: return JSONRPC_ALREADY_EXISTS;
    case IROH_EPERM: return JSONRPC_PERMISSION_DENIED;
    case IROH_EBUSY:
    case IROH_EAGAIN: return JSONRPC_BUSY;
    case IROH_EIO: return JSONRPC_IO_ERROR;
    case IROH_ETOOBIG: return JSONRPC_TOO_LARGE;
    default: return JSONRPC_INTERNAL_ERROR;
    }
}

static json_object *envelope(bool with_id, json_object *id)
{
    json_object *msg = json_object_new_object();
    if (!msg) return NULL;
    json_object_object_add(msg, "jsonrpc", json_object_new_string("2.0"));
    if (with_id) json_object_object_add(msg, "id", json_object_get(id));
    return msg;
}

json_object *jsonrpc_result_new(json_object *id, json_object *result)
{
    json_object *msg = envelope(true, id);
    if (!msg) {
        json_object_put(result);
        return NULL;
    }
    json_object_object_add(msg, "result", result);
    return msg;
}

json_object *jsonrpc_error_new(json_object *id, int code, const char *message, json_object *data)
{
    json_object *msg = envelope(true, id);
    json_object *error = json_object_new_object();
    if (!data) data = json_object_new_object();
    if (!msg || !error || !data) {
        json_object_put(msg);
        json_object_put(error);
        json_object_put(data);
        return NULL;
    }
    json_object_object_add(error, "code", json_object_new_int(code));
    json_object_object_add(error, "message", json_object_new_string(message));
    if (json_object_is_type(data, json_type_object) &&
        !json_object_object_get_ex(data, "kind", NULL))
        json_object_object_add(data, "kind", json_object_new_string(jsonrpc_code_kind(code)));
    json_object_object_add(error, "data", data);
    json_object_object_add(msg, "error", error);
    return msg;
}

/* A request (with_id) or a notification calling method with params (owned). */
static json_object *call_new(bool with_id, int64_t id, const char *method, json_object *params)
{
    json_object *idobj = with_id ? json_object_new_int64(id) : NULL;
    json_object *msg = envelope(with_id, idobj);
    json_object_put(idobj);
    if (!msg) {
        json_object_put(params);
        return NULL;
    }
    json_object_object_add(msg, "method", json_object_new_string(method));
    if (params) json_object_object_add(msg, "params", params);
    return msg;
}

json_object *jsonrpc_request_new(int64_t id, const char *method, json_object *params)
{
    return call_new(true, id, method, params);
}

json_object *jsonrpc_notification_new(const char *method, json_object *params)
{
    return call_new(false, 0, method, params);
}

const char *jsonrpc_text(json_object *msg, size_t *len)
{
    return json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}
