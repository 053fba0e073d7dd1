/* endpoint.c — libiroh-client's wrappers for apps sharing irohd's endpoint (endpoint.listen,
 * endpoint.connect, conn.*): small JSON params in, small JSON results and passed stream fds
 * out, daemon errors turned into IROH_E* codes plus words for iroh_last_error(). Implements
 * the endpoint part of include/iroh/client.h over iroh_client_call. */
#include <iroh/client.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encoding.h"
#include "ipc/jsonrpc.h"

#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define CONNECT_TIMEOUT_DEFAULT_MS 10000
#define CALL_SLACK_MS 5000 /* the daemon answers a dial's timeout itself; this is a backstop */

static _Thread_local char last_error[320];

const char *iroh_last_error(void)
{
    return last_error;
}

static int failed(int rc, const char *words)
{
    snprintf(last_error, sizeof last_error, "%s", words ? words : iroh_strerror(rc));
    return rc;
}

/* The IROH_E* code for a daemon error, refined by the reason in its data (endpoint.connect,
 * conn.accept_bi). */
static int code_for_error(const iroh_response *r)
{
    switch (iroh_response_error_code(r)) {
    case JSONRPC_INVALID_PARAMS: return IROH_EINVAL;
    case JSONRPC_NOT_FOUND: return IROH_ENOTFOUND;
    case JSONRPC_ALREADY_EXISTS: return IROH_EEXIST;
    case JSONRPC_PERMISSION_DENIED: return IROH_EPERM;
    case JSONRPC_BUSY: return IROH_EBUSY;
    case JSONRPC_SHUTTING_DOWN: return IROH_ECLOSED;
    case JSONRPC_TOO_LARGE: return IROH_ETOOBIG;
    case JSONRPC_IO_ERROR: break;
    default: return IROH_ERPC;
    }
    const char *data = iroh_response_error_data(r);
    json_object *d = data ? json_tokener_parse(data) : NULL, *reason;
    const char *why =
        json_object_object_get_ex(d, "reason", &reason) ? json_object_get_string(reason) : "";
    int rc = strcmp(why, "timeout") == 0          ? IROH_ETIMEDOUT
             : strcmp(why, "authentication") == 0 ? IROH_EPERM
             : strcmp(why, "alpn") == 0           ? IROH_EPROTO
             : strcmp(why, "closed") == 0         ? IROH_ECLOSED
                                                  : IROH_EIO;
    json_object_put(d);
    return rc;
}

/* Calls method with params (owned). On success returns 0 with the parsed result in *result
 * (if not NULL; the caller puts it) and the response in *response (if not NULL; for its fds). */
static int call(iroh_client *c, const char *method, json_object *params, int timeout_ms,
                json_object **result, iroh_response **response)
{
    iroh_response *r;
    int rc = iroh_client_call(c, method, json_object_to_json_string_ext(params, TEXT_FLAGS),
                              timeout_ms, &r);
    json_object_put(params);
    if (rc < 0) return failed(rc, NULL);
    if (iroh_response_error_code(r)) {
        rc = failed(code_for_error(r), iroh_response_error_message(r));
        iroh_response_free(r);
        return rc;
    }
    if (result && !(*result = json_tokener_parse(iroh_response_result(r)))) {
        iroh_response_free(r);
        return failed(IROH_EPROTO, "irohd's result is not JSON");
    }
    if (response)
        *response = r;
    else
        iroh_response_free(r);
    last_error[0] = 0;
    return 0;
}

static int64_t member_int(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *member_string(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static json_object *params_alpn(const char *alpn)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "alpn", json_object_new_string(alpn));
    return p;
}

static json_object *params_conn(uint64_t conn)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "conn", json_object_new_int64((int64_t)conn));
    return p;
}

int iroh_endpoint_ticket(iroh_client *client, char *buf, size_t len)
{
    json_object *res;
    int rc = call(client, "endpoint.ticket", json_object_new_object(), -1, &res, NULL);
    if (rc < 0) return rc;
    const char *t = member_string(res, "ticket");
    rc = t && strlen(t) < len ? 0 : IROH_EBUFFER;
    if (rc == 0) memcpy(buf, t, strlen(t) + 1);
    json_object_put(res);
    return rc < 0 ? failed(rc, NULL) : 0;
}

int iroh_endpoint_listen(iroh_client *client, const char *alpn, uint64_t *subscription)
{
    json_object *res;
    int rc = call(client, "endpoint.listen", params_alpn(alpn), -1, &res, NULL);
    if (rc < 0) return rc;
    if (subscription) *subscription = (uint64_t)member_int(res, "subscription");
    json_object_put(res);
    return 0;
}

int iroh_endpoint_unlisten(iroh_client *client, const char *alpn)
{
    return call(client, "endpoint.unlisten", params_alpn(alpn), -1, NULL, NULL);
}

int iroh_incoming_parse(const char *method, const char *params_json, iroh_incoming *out)
{
    if (!method || strcmp(method, "endpoint.incoming") != 0 || !params_json) return IROH_EINVAL;
    json_object *p = json_tokener_parse(params_json);
    const char *remote = member_string(p, "remote"), *alpn = member_string(p, "alpn");
    int rc = IROH_EINVAL;
    if (remote && alpn && strlen(remote) < sizeof out->remote && strlen(alpn) < sizeof out->alpn) {
        out->conn = (uint64_t)member_int(p, "conn");
        memcpy(out->remote, remote, strlen(remote) + 1);
        memcpy(out->alpn, alpn, strlen(alpn) + 1);
        rc = 0;
    }
    json_object_put(p);
    return rc;
}

static int connect_with(iroh_client *client, json_object *p, const char *alpn, int timeout_ms,
                        uint64_t *conn)
{
    if (timeout_ms <= 0) timeout_ms = CONNECT_TIMEOUT_DEFAULT_MS;
    json_object_object_add(p, "alpn", json_object_new_string(alpn));
    json_object_object_add(p, "timeout_s", json_object_new_int((timeout_ms + 999) / 1000));
    json_object *res;
    int rc = call(client, "endpoint.connect", p, timeout_ms + CALL_SLACK_MS, &res, NULL);
    if (rc < 0) return rc;
    *conn = (uint64_t)member_int(res, "conn");
    json_object_put(res);
    return 0;
}

int iroh_endpoint_connect(iroh_client *client, const char *ticket, const char *alpn, int timeout_ms,
                          uint64_t *conn)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "ticket", json_object_new_string(ticket));
    return connect_with(client, p, alpn, timeout_ms, conn);
}

int iroh_endpoint_connect_addrs(iroh_client *client, const char *id, const char *const *addrs,
                                size_t n, const char *alpn, int timeout_ms, uint64_t *conn)
{
    json_object *p = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(p, "id", json_object_new_string(id));
    for (size_t i = 0; i < n; i++)
        json_object_array_add(list, json_object_new_string(addrs[i]));
    json_object_object_add(p, "addrs", list);
    return connect_with(client, p, alpn, timeout_ms, conn);
}

static int stream_call(iroh_client *client, const char *method, uint64_t conn, int timeout_ms,
                       int *fd, uint64_t *stream)
{
    iroh_response *r;
    json_object *res;
    int rc = call(client, method, params_conn(conn), timeout_ms, &res, &r);
    if (rc < 0) return rc;
    if (stream) *stream = (uint64_t)member_int(res, "stream");
    json_object_put(res);
    *fd = iroh_response_take_fd(r, 0);
    iroh_response_free(r);
    return *fd >= 0 ? 0 : failed(IROH_EPROTO, "irohd passed no fd");
}

int iroh_conn_open_stream(iroh_client *client, uint64_t conn, int uni, int *fd, uint64_t *stream)
{
    return stream_call(client, uni ? "conn.open_uni" : "conn.open_bi", conn, -1, fd, stream);
}

int iroh_conn_accept_stream(iroh_client *client, uint64_t conn, int uni, int timeout_ms, int *fd,
                            uint64_t *stream)
{
    return stream_call(client, uni ? "conn.accept_uni" : "conn.accept_bi", conn, timeout_ms, fd,
                       stream);
}

int iroh_conn_open_bi(iroh_client *client, uint64_t conn, int *fd)
{
    return iroh_conn_open_stream(client, conn, 0, fd, NULL);
}

int iroh_conn_accept_bi(iroh_client *client, uint64_t conn, int timeout_ms, int *fd)
{
    return iroh_conn_accept_stream(client, conn, 0, timeout_ms, fd, NULL);
}

int iroh_conn_open_uni(iroh_client *client, uint64_t conn, int *fd)
{
    return iroh_conn_open_stream(client, conn, 1, fd, NULL);
}

int iroh_conn_accept_uni(iroh_client *client, uint64_t conn, int timeout_ms, int *fd)
{
    return iroh_conn_accept_stream(client, conn, 1, timeout_ms, fd, NULL);
}

static int stream_code_call(iroh_client *client, const char *method, uint64_t conn, uint64_t stream,
                            uint64_t code)
{
    json_object *p = params_conn(conn);
    json_object_object_add(p, "stream", json_object_new_int64((int64_t)stream));
    json_object_object_add(p, "code", json_object_new_int64((int64_t)code));
    return call(client, method, p, -1, NULL, NULL);
}

int iroh_conn_reset_stream(iroh_client *client, uint64_t conn, uint64_t stream, uint64_t code)
{
    return stream_code_call(client, "conn.reset_stream", conn, stream, code);
}

int iroh_conn_stop_stream(iroh_client *client, uint64_t conn, uint64_t stream, uint64_t code)
{
    return stream_code_call(client, "conn.stop_stream", conn, stream, code);
}

int iroh_stream_reset_parse(const char *method, const char *params_json, iroh_stream_reset *out)
{
    if (!method || strcmp(method, "conn.stream_reset") != 0 || !params_json) return IROH_EINVAL;
    json_object *p = json_tokener_parse(params_json);
    const char *direction = member_string(p, "direction");
    int rc = IROH_EINVAL;
    if (direction) {
        out->conn = (uint64_t)member_int(p, "conn");
        out->stream = (uint64_t)member_int(p, "stream");
        out->code = (uint64_t)member_int(p, "code");
        out->send = strcmp(direction, "send") == 0;
        rc = 0;
    }
    json_object_put(p);
    return rc;
}

struct accept_call {
    iroh_stream_cb *cb;
    void *userdata;
    uint64_t conn;
};

static void on_accepted(iroh_client *client, int status, iroh_response *response, void *userdata)
{
    struct accept_call a = *(struct accept_call *)userdata;
    free(userdata);
    int fd = -1;
    if (status == 0 && iroh_response_error_code(response))
        status = failed(code_for_error(response), iroh_response_error_message(response));
    else if (status == 0 && (fd = iroh_response_take_fd(response, 0)) < 0)
        status = failed(IROH_EPROTO, "irohd passed no fd");
    a.cb(client, status, a.conn, fd, a.userdata);
}

int iroh_conn_accept_bi_async(iroh_client *client, uint64_t conn, iroh_stream_cb *cb,
                              void *userdata)
{
    struct accept_call *a = malloc(sizeof *a);
    if (!a) return failed(IROH_ENOMEM, NULL);
    *a = (struct accept_call){cb, userdata, conn};
    json_object *p = params_conn(conn);
    int rc =
        iroh_client_call_async(client, "conn.accept_bi",
                               json_object_to_json_string_ext(p, TEXT_FLAGS), on_accepted, a, NULL);
    json_object_put(p);
    if (rc < 0) {
        free(a);
        return failed(rc, NULL);
    }
    return 0;
}

int iroh_conn_datagrams(iroh_client *client, uint64_t conn, int *fd, size_t *max_size)
{
    iroh_response *r;
    json_object *res;
    int rc = call(client, "conn.datagrams", params_conn(conn), -1, &res, &r);
    if (rc < 0) return rc;
    if (max_size) *max_size = (size_t)member_int(res, "max_datagram_size");
    json_object_put(res);
    *fd = iroh_response_take_fd(r, 0);
    iroh_response_free(r);
    return *fd >= 0 ? 0 : failed(IROH_EPROTO, "irohd passed no fd");
}

int iroh_conn_send_datagram(iroh_client *client, uint64_t conn, const void *data, size_t len)
{
    size_t cap = IROH_BASE64_ENCODED_LEN(len) + 1;
    char *text = malloc(cap);
    if (!text) return failed(IROH_ENOMEM, NULL);
    int rc = iroh_base64_encode(data, len, text, cap);
    if (rc < 0) {
        free(text);
        return failed(rc, NULL);
    }
    json_object *p = params_conn(conn);
    json_object_object_add(p, "data_base64", json_object_new_string(text));
    free(text);
    return call(client, "conn.send_datagram", p, -1, NULL, NULL);
}

int iroh_conn_close(iroh_client *client, uint64_t conn, uint64_t code, const char *reason)
{
    json_object *p = params_conn(conn);
    json_object_object_add(p, "code", json_object_new_int64((int64_t)code));
    if (reason) json_object_object_add(p, "reason", json_object_new_string(reason));
    return call(client, "conn.close", p, -1, NULL, NULL);
}
