/* endpoint_service.c — endpoint.addr, endpoint.ticket, endpoint.echo and the echo protocol;
 * see endpoint_service.h. */
#include "daemon/endpoint_service.h"

#include <iroh/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "ipc/jsonrpc.h"

#define ECHO_WRITE_PIECE (64 * 1024)

struct echo_run;

struct endpoint_service {
    uv_loop_t *loop;
    struct endpoint *ep;   /* NULL once stopped */
    struct echo_run *runs; /* endpoint.echo calls in progress */
    bool stopping;
};

/* Frees a stopping service once its endpoint and its last echo run are gone. */
static void service_maybe_free(struct endpoint_service *es)
{
    if (es->stopping && !es->ep && !es->runs) free(es);
}

/* ---- the echo protocol, server side ------------------------------------------------------------
 */

/* One echoed stream: credit held back while our echo waits for the peer to read it. */
struct echo_stream {
    size_t held;
};

static void echo_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                         void *arg)
{
    struct echo_stream *e = arg;
    long buffered = len ? quic_stream_write(s, data, len) : 0;
    if (buffered < 0) { /* our side is closed: nothing more to echo */
        quic_stream_consume(s, len);
        return;
    }
    if (fin) quic_stream_finish(s);
    if ((size_t)buffered >= QUIC_STREAM_HIGH_WATER)
        e->held += len; /* the peer waits for its echo before sending more */
    else
        quic_stream_consume(s, len);
}

static void echo_on_drain(struct quic_stream *s, void *arg)
{
    struct echo_stream *e = arg;
    quic_stream_consume(s, e->held);
    e->held = 0;
}

static void echo_on_stream_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    free(arg);
}

static const struct quic_stream_callbacks echo_stream_callbacks = {
    .on_data = echo_on_data,
    .on_drain = echo_on_drain,
    .on_close = echo_on_stream_close,
};

static void echo_on_stream(struct quic_conn *qc, struct quic_stream *s, void *arg)
{
    (void)qc;
    (void)arg;
    if (quic_stream_id(s) & 0x2) return; /* unidirectional: refused */
    struct echo_stream *e = calloc(1, sizeof *e);
    if (e) quic_stream_set_callbacks(s, &echo_stream_callbacks, e);
}

static const struct quic_conn_callbacks echo_conn_callbacks = {.on_stream = echo_on_stream};

static void echo_accept(struct quic_conn *qc, void *arg)
{
    (void)arg;
    quic_conn_set_callbacks(qc, &echo_conn_callbacks, NULL);
}

/* ---- endpoint.echo: the client side ------------------------------------------------------------
 */

/* One endpoint.echo call. Freed when the call is answered, the connection is gone and the
 * timer is closed. */
struct echo_run {
    struct endpoint_service *es;
    struct echo_run *next;
    struct rpc_call *call; /* NULL once answered */
    struct quic_conn *qc;  /* NULL until connected and after it closed */
    bool dialing;          /* the connect callback is still due */
    struct quic_stream *stream;
    uv_timer_t timer;
    bool timer_open;
    uint8_t *data;
    size_t len, written, received;
    uint64_t started_ns, connected_ns;
    struct iroh_public_key remote;
};

static void run_maybe_free(struct echo_run *r)
{
    if (r->call || r->qc || r->dialing || r->timer_open) return;
    struct endpoint_service *es = r->es;
    for (struct echo_run **p = &es->runs; *p; p = &(*p)->next) {
        if (*p != r) continue;
        *p = r->next;
        break;
    }
    free(r->data);
    free(r);
    service_maybe_free(es);
}

static void run_timer_closed(uv_handle_t *h)
{
    struct echo_run *r = h->data;
    r->timer_open = false;
    run_maybe_free(r);
}

/* Answers the call with an error (once) and closes what the run holds. */
static void run_fail(struct echo_run *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void run_fail(struct echo_run *r, int code, const char *fmt, ...)
{
    if (r->call) {
        char message[300];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        log_info("endpoint", "echo failed: %s", message);
        rpc_call_fail(r->call, code, message, NULL);
        r->call = NULL;
    }
    if (r->qc) quic_conn_close(r->qc, 1, "failed");
    if (r->timer_open) uv_close((uv_handle_t *)&r->timer, run_timer_closed);
}

static void run_succeed(struct echo_run *r)
{
    double ms = (double)(uv_hrtime() - r->connected_ns) / 1e6;
    json_object *res = json_object_new_object();
    char id[IROH_KEY_HEX_LEN + 1], path[IROH_SOCKET_ADDR_TEXT_MAX + 1] = "";
    iroh_public_key_format_hex(&r->remote, id, sizeof id);
    struct iroh_socket_addr pa;
    if (quic_conn_path(r->qc, &pa) == 0) iroh_socket_addr_format(&pa, path, sizeof path);
    json_object_object_add(res, "bytes", json_object_new_int64((int64_t)r->received));
    json_object_object_add(res, "ms", json_object_new_double(ms));
    json_object_object_add(res, "mbps",
                           json_object_new_double(ms > 0 ? (double)r->received / ms / 1e3 : 0));
    json_object_object_add(res, "connect_ms",
                           json_object_new_double((double)(r->connected_ns - r->started_ns) / 1e6));
    json_object_object_add(res, "remote", json_object_new_string(id));
    json_object_object_add(res, "path", json_object_new_string(path));
    json_object_object_add(res, "rtt_ms",
                           json_object_new_double((double)quic_conn_rtt_ns(r->qc) / 1e6));
    log_info("endpoint", "echo of %zu bytes with %.10s via %s in %.1f ms", r->received, id, path,
             ms);
    rpc_call_reply(r->call, res, NULL, 0);
    r->call = NULL;
    quic_conn_close(r->qc, 0, "done");
    if (r->timer_open) uv_close((uv_handle_t *)&r->timer, run_timer_closed);
}

static void run_push(struct echo_run *r)
{
    while (r->written < r->len) {
        size_t n = r->len - r->written < ECHO_WRITE_PIECE ? r->len - r->written : ECHO_WRITE_PIECE;
        long buffered = quic_stream_write(r->stream, r->data + r->written, n);
        if (buffered < 0) {
            run_fail(r, JSONRPC_IO_ERROR, "writing the stream: %s", iroh_strerror((int)buffered));
            return;
        }
        r->written += n;
        if ((size_t)buffered >= QUIC_STREAM_HIGH_WATER) return; /* on_drain continues */
    }
    quic_stream_finish(r->stream);
}

static void run_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin, void *arg)
{
    struct echo_run *r = arg;
    quic_stream_consume(s, len);
    if (!r->call) return;
    if (len > r->len - r->received || memcmp(data, r->data + r->received, len) != 0) {
        run_fail(r, JSONRPC_IO_ERROR, "the echo differs from what was sent at offset %zu",
                 r->received);
        return;
    }
    r->received += len;
    if (!fin) return;
    if (r->received != r->len)
        run_fail(r, JSONRPC_IO_ERROR, "the echo ended after %zu of %zu bytes", r->received, r->len);
    else
        run_succeed(r);
}

static void run_on_drain(struct quic_stream *s, void *arg)
{
    (void)s;
    struct echo_run *r = arg;
    if (r->call) run_push(r);
}

static void run_on_stream_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    struct echo_run *r = arg;
    r->stream = NULL;
    if (r->call)
        run_fail(r, JSONRPC_IO_ERROR, "the stream ended early (%s, code %llu)",
                 iroh_strerror(status), (unsigned long long)app_error);
}

static const struct quic_stream_callbacks run_stream_callbacks = {
    .on_data = run_on_data,
    .on_drain = run_on_drain,
    .on_close = run_on_stream_close,
};

static void run_on_conn_close(struct quic_conn *qc, int status, void *arg)
{
    struct echo_run *r = arg;
    if (r->call)
        run_fail(r, JSONRPC_IO_ERROR, "the connection closed: %s (%s)", quic_conn_error(qc),
                 iroh_strerror(status));
    r->qc = NULL;
    run_maybe_free(r);
}

static const struct quic_conn_callbacks run_conn_callbacks = {.on_close = run_on_conn_close};

static void run_on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct echo_run *r = arg;
    r->dialing = false;
    if (status < 0) {
        run_fail(r, JSONRPC_IO_ERROR, "connecting failed: %s", why);
        run_maybe_free(r);
        return;
    }
    r->qc = qc;
    r->connected_ns = uv_hrtime();
    r->remote = *quic_conn_remote_id(qc);
    quic_conn_set_callbacks(qc, &run_conn_callbacks, r);
    if (!r->call) { /* timed out while dialing */
        quic_conn_close(qc, 1, "timeout");
        return;
    }
    int rc = quic_conn_open_bi(qc, &r->stream);
    if (rc < 0) {
        run_fail(r, JSONRPC_IO_ERROR, "opening a stream: %s", iroh_strerror(rc));
        return;
    }
    quic_stream_set_callbacks(r->stream, &run_stream_callbacks, r);
    run_push(r);
}

static void run_on_timeout(uv_timer_t *t)
{
    struct echo_run *r = t->data;
    run_fail(r, JSONRPC_IO_ERROR, "timed out after %zu of %zu bytes echoed", r->received, r->len);
}

static void handle_echo(struct rpc_call *call, json_object *params, void *ctx)
{
    struct endpoint_service *es = ctx;
    json_object *ticket_obj, *bytes_obj, *alpn_obj, *timeout_obj;
    json_object_object_get_ex(params, "ticket", &ticket_obj);
    json_object_object_get_ex(params, "bytes", &bytes_obj);
    json_object_object_get_ex(params, "alpn", &alpn_obj);
    json_object_object_get_ex(params, "timeout_s", &timeout_obj);
    const char *ticket = json_object_get_string(ticket_obj);
    struct iroh_endpoint_addr addr;
    if (iroh_endpoint_ticket_decode(ticket, strlen(ticket), &addr) < 0) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "ticket is not an endpoint ticket", NULL);
        return;
    }
    struct echo_run *r = calloc(1, sizeof *r);
    size_t len = (size_t)json_object_get_int64(bytes_obj);
    if (!r || !(r->data = malloc(len ? len : 1))) {
        free(r);
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return;
    }
    randombytes_buf(r->data, len);
    r->es = es;
    r->call = call;
    r->len = len;
    r->started_ns = uv_hrtime();
    int rc = endpoint_connect(es->ep, &addr, json_object_get_string(alpn_obj), run_on_connect, r);
    if (rc < 0) {
        const char *why = rc == IROH_ENOTFOUND ? "the ticket has no IP address we can reach "
                                                 "(relays are not supported yet)"
                          : rc == IROH_EINVAL  ? "cannot dial this node itself, or bad ALPN"
                                               : iroh_strerror(rc);
        rpc_call_fail(call, jsonrpc_code_for(rc), why, NULL);
        free(r->data);
        free(r);
        return;
    }
    r->dialing = true;
    uv_timer_init(es->loop, &r->timer);
    r->timer.data = r;
    r->timer_open = true;
    uv_timer_start(&r->timer, run_on_timeout, (uint64_t)json_object_get_int64(timeout_obj) * 1000,
                   0);
    r->next = es->runs;
    es->runs = r;
}

/* ---- endpoint.addr, endpoint.ticket ------------------------------------------------------------
 */

static json_object *addr_list(const struct iroh_socket_addr *addrs, size_t n)
{
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
        iroh_socket_addr_format(&addrs[i], text, sizeof text);
        json_object_array_add(list, json_object_new_string(text));
    }
    return list;
}

static void handle_addr(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    struct endpoint_service *es = ctx;
    struct iroh_endpoint_addr addr;
    endpoint_addr(es->ep, &addr);
    char id[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&addr.id, id, sizeof id);
    struct iroh_socket_addr bound[ENDPOINT_MAX_SOCKETS];
    size_t n = endpoint_bound(es->ep, bound, ENDPOINT_MAX_SOCKETS);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "id", json_object_new_string(id));
    json_object_object_add(r, "addrs", addr_list(addr.ips, addr.ip_count));
    json_object_object_add(r, "relay", NULL);
    json_object_object_add(r, "bound", addr_list(bound, n));
    rpc_call_reply(call, r, NULL, 0);
}

static void handle_ticket(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    struct endpoint_service *es = ctx;
    struct iroh_endpoint_addr addr;
    endpoint_addr(es->ep, &addr);
    char ticket[IROH_ENDPOINT_TICKET_MAX_LEN + 1];
    int rc = iroh_endpoint_ticket_encode(&addr, ticket, sizeof ticket);
    if (rc < 0) {
        rpc_call_fail(call, jsonrpc_code_for(rc), iroh_strerror(rc), NULL);
        return;
    }
    json_object *r = json_object_new_object();
    json_object_object_add(r, "ticket", json_object_new_string(ticket));
    rpc_call_reply(call, r, NULL, 0);
}

/* ---- life cycle --------------------------------------------------------------------------------
 */

int endpoint_service_start(uv_loop_t *loop, struct rpc_server *server,
                           const struct iroh_secret_key *secret, const char *bind,
                           struct endpoint_service **out, char *err, size_t errlen)
{
    struct endpoint_service *es = calloc(1, sizeof *es);
    if (!es) return IROH_ENOMEM;
    es->loop = loop;
    struct endpoint_options options = {.secret = secret, .bind = bind};
    int rc = endpoint_start(loop, &options, &es->ep, err, errlen);
    if (rc < 0) {
        free(es);
        return rc;
    }
    endpoint_serve(es->ep, ECHO_ALPN, echo_accept, es);
    rpc_server_register(server, "endpoint.addr", handle_addr, es);
    rpc_server_register(server, "endpoint.ticket", handle_ticket, es);
    rpc_server_register(server, "endpoint.echo", handle_echo, es);
    *out = es;
    return 0;
}

void endpoint_service_addr(const struct endpoint_service *es, struct iroh_endpoint_addr *out)
{
    endpoint_addr(es->ep, out);
}

static void on_endpoint_stopped(void *arg)
{
    struct endpoint_service *es = arg;
    es->ep = NULL;
    service_maybe_free(es);
}

void endpoint_service_stop(struct endpoint_service *es)
{
    es->stopping = true;
    for (struct echo_run *r = es->runs, *next; r; r = next) {
        next = r->next;
        run_fail(r, JSONRPC_SHUTTING_DOWN, "irohd is shutting down");
    }
    endpoint_stop(es->ep, on_endpoint_stopped, es);
}
