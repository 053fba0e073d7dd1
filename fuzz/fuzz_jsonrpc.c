/* fuzz_jsonrpc.c — one API message as irohd's server reads it (daemon/rpc_server.c
 * handle_line): the input up to its first newline is parsed with a depth-64 json_tokener
 * including the terminating NUL, then every message (or batch element) is classified, and
 * each request's params are checked against its method in the embedded API description.
 * Every method's result schema is also run over the whole value. Aborts unless: a valid
 * request's named params contain every required param and pass each param's schema; the
 * error and result answers built for any id are one line that parses back as a response with
 * the same id; and invalid messages always say why. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"
#include "ipc/api.h"
#include "ipc/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rpc_api *api;
static json_object *methods;

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

/* An answer built for id must be one line that parses back as a response with that id. */
static void check_answer(json_object *answer, json_object *id)
{
    if (!answer) abort();
    size_t len;
    const char *text = jsonrpc_text(answer, &len);
    if (memchr(text, '\n', len)) abort();
    json_tokener *tok = json_tokener_new();
    json_object *back = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success) abort();
    json_tokener_free(tok);
    if (jsonrpc_classify(back, NULL) != JSONRPC_RESPONSE) abort();
    json_object *back_id = (json_object *)1;
    if (!json_object_object_get_ex(back, "id", &back_id)) abort();
    if ((id == NULL) != (back_id == NULL)) abort();
    if (id && json_object_get_type(id) != json_object_get_type(back_id)) abort();
    if (json_object_is_type(id, json_type_string) &&
        strcmp(json_object_get_string(id), json_object_get_string(back_id)) != 0)
        abort();
    if (json_object_is_type(id, json_type_int) &&
        json_object_get_int64(id) != json_object_get_int64(back_id))
        abort();
    json_object_put(back);
    json_object_put(answer);
}

static void check_request(json_object *msg)
{
    json_object *method = member(msg, "method"), *params = member(msg, "params"), *id = NULL;
    json_object_object_get_ex(msg, "id", &id);
    int index = rpc_api_find(api, json_object_get_string(method));
    if (index >= 0) {
        json_object *named = NULL;
        char err[256] = "";
        int rc = rpc_api_check_params(api, (size_t)index, params, &named, err, sizeof err);
        if (rc == 0) {
            /* Every declared param present when required, and valid against its schema. */
            json_object *declared =
                member(json_object_array_get_idx(methods, (size_t)index), "params");
            for (size_t i = 0; i < json_object_array_length(declared); i++) {
                json_object *p = json_object_array_get_idx(declared, i), *value;
                const char *name = json_object_get_string(member(p, "name"));
                if (!json_object_object_get_ex(named, name, &value)) {
                    if (json_object_get_boolean(member(p, "required"))) abort();
                    continue;
                }
                if (rpc_schema_check(member(p, "schema"), value, "p", err, sizeof err) != 0)
                    abort();
            }
            json_object_put(named);
        } else if (rc != IROH_EINVAL || err[0] == '\0') {
            abort();
        }
        check_answer(jsonrpc_error_new(id, JSONRPC_INVALID_PARAMS, err, NULL), id);
    } else {
        check_answer(jsonrpc_error_new(id, JSONRPC_METHOD_NOT_FOUND, "no method", NULL), id);
    }
    check_answer(jsonrpc_result_new(id, json_object_get(params)), id);
}

static void check_message(json_object *msg)
{
    const char *why = NULL;
    switch (jsonrpc_classify(msg, &why)) {
    case JSONRPC_INVALID:
        if (!why || !*why) abort();
        check_answer(jsonrpc_error_new(NULL, JSONRPC_INVALID_REQUEST, why, NULL), NULL);
        break;
    case JSONRPC_REQUEST: check_request(msg); break;
    case JSONRPC_NOTIFICATION:
    case JSONRPC_RESPONSE: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api) {
        char err[256];
        if (rpc_api_parse(rpc_api_json, rpc_api_json_len, &api, err, sizeof err) != 0) abort();
        methods = member(rpc_api_document(api), "methods");
    }
    /* One line as the reader hands it over: up to the newline, NUL-terminated in its place. */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t len = nl ? (size_t)(nl - data) : size;
    if (len > 1u << 20) return 0;
    char *line = malloc(len + 1);
    if (!line) return 0;
    memcpy(line, data, len);
    line[len] = '\0';

    json_tokener *tok = json_tokener_new_ex(64);
    json_object *msg = json_tokener_parse_ex(tok, line, (int)len + 1);
    int ok = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (ok) {
        if (json_object_is_type(msg, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(msg); i++)
                check_message(json_object_array_get_idx(msg, i));
        } else {
            check_message(msg);
        }
        /* The result schemas over arbitrary values: never crash, always explain a refusal. */
        for (size_t i = 0; i < json_object_array_length(methods); i++) {
            json_object *schema =
                member(member(json_object_array_get_idx(methods, i), "result"), "schema");
            char err[256] = "";
            int rc = rpc_schema_check(schema, msg, "result", err, sizeof err);
            if (rc != 0 && (rc != IROH_EINVAL || strncmp(err, "result", 6) != 0)) abort();
        }
    }
    json_object_put(msg);
    free(line);
    return 0;
}
