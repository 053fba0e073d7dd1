/* endpoint_service.c — endpoint.addr, endpoint.ticket and endpoint.echo (the methods for apps
 * are in endpoint_apps.c); see endpoint_service.h. */
#include "daemon/endpoint_service.h"
#include "daemon/rpc_server.h"

#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/endpoint_apps.h"
#include "daemon/endpoint_echo.h"
#include "daemon/log.h"
#include "ipc/jsonrpc.h"

#define ECHO_MAX_TOTAL (64 * 1024 * 1024) /* bytes times streams of one endpoint.echo */

/* One endpoint.echo call in progress. */
struct echo_call {
    struct endpoint_service *es;
    struct echo_call *next;
    struct rpc_call *call;
    struct echo_client *client;
};

struct endpoint_service {
    uv_loop_t *loop;
    struct endpoint *ep;
    struct endpoint_apps *apps;
    struct echo_call *calls;
    bool stopping;
};

/* ---- endpoint.echo --------------------------------------------------------------------------- */

static int rpc_code_for_echo(int status)
{
    switch (status) {
    case IROH_EINVAL: return JSONRPC_INVALID_PARAMS;
    case IROH_ENOTFOUND: return JSONRPC_NOT_FOUND;
    case IROH_ENOMEM: return JSONRPC_BUSY;
    default: return JSONRPC_IO_ERROR;
    }
}

static void on_echo_done(const struct echo_result *r, void *arg)
{
    struct echo_call *ec = arg;
    struct endpoint_service *es = ec->es;
    for (struct echo_call **p = &es->calls; *p; p = &(*p)->next) {
        if (*p != ec) continue;
        *p = ec->next;
        break;
    }
    if (r->status < 0) {
        log_info("endpoint", "echo failed: %s", r->why);
        rpc_call_fail(ec->call, es->stopping ? JSONRPC_SHUTTING_DOWN : rpc_code_for_echo(r->status),
                      r->why, NULL);
        free(ec);
        return;
    }
    char id[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&r->remote, id, sizeof id);
    double ms = (double)r->transfer_ns / 1e6;
    json_object *res = json_object_new_object();
    rpc_add_u64(res, "bytes", r->bytes);
    json_object_object_add(res, "ms", json_object_new_double(ms));
    json_object_object_add(res, "mbps",
                           json_object_new_double(ms > 0 ? (double)r->bytes / ms / 1e3 : 0));
    json_object_object_add(res, "connect_ms", json_object_new_double((double)r->connect_ns / 1e6));
    json_object_object_add(res, "remote", json_object_new_string(id));
    json_object_object_add(res, "path", json_object_new_string(r->path));
    json_object_object_add(res, "rtt_ms", json_object_new_double((double)r->rtt_ns / 1e6));
    rpc_add_u64(res, "stream_packets_lost", r->stats.stream_packets_lost);
    rpc_add_u64(res, "probe_timeouts", r->stats.probe_timeouts);
    rpc_add_u64(res, "congestion_events", r->stats.congestion_events);
    log_info("endpoint", "echoed %zu bytes with %.10s via %s in %.1f ms", r->bytes, id, r->path,
             ms);
    rpc_call_reply(ec->call, res, NULL, 0);
    free(ec);
}

static int64_t get_int(json_object *params, const char *key)
{
    json_object *v;
    json_object_object_get_ex(params, key, &v);
    return json_object_get_int64(v);
}

static void handle_echo(struct rpc_call *call, json_object *params, void *ctx)
{
    struct endpoint_service *es = ctx;
    json_object *ticket_obj, *alpn_obj;
    json_object_object_get_ex(params, "ticket", &ticket_obj);
    json_object_object_get_ex(params, "alpn", &alpn_obj);
    const char *ticket = json_object_get_string(ticket_obj);
    struct iroh_endpoint_addr addr;
    if (iroh_endpoint_ticket_decode(ticket, strlen(ticket), &addr) < 0) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "ticket is not an endpoint ticket", NULL);
        return;
    }
    struct echo_request req = {
        .addr = &addr,
        .alpn = json_object_get_string(alpn_obj),
        .bytes = (size_t)get_int(params, "bytes"),
        .streams = (unsigned)get_int(params, "streams"),
        .timeout_ms = (unsigned)get_int(params, "timeout_s") * 1000,
    };
    if (req.bytes * req.streams > ECHO_MAX_TOTAL) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "bytes times streams is over 64 MiB", NULL);
        return;
    }
    struct echo_call *ec = calloc(1, sizeof *ec);
    int rc =
        ec ? echo_client_start(es->loop, es->ep, &req, on_echo_done, ec, &ec->client) : IROH_ENOMEM;
    if (rc < 0) {
        free(ec);
        const char *why = rc == IROH_ENOTFOUND ? "the ticket has no IP address this node can "
                                                 "reach and no relay it may use"
                          : rc == IROH_EINVAL  ? "cannot dial this node itself"
                                               : iroh_strerror(rc);
        rpc_call_fail(call, rpc_code_for_echo(rc), why, NULL);
        return;
    }
    *ec = (struct echo_call){.es = es, .next = es->calls, .call = call, .client = ec->client};
    es->calls = ec;
}

/* ---- endpoint.addr, endpoint.ticket ---------------------------------------------------------- */

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
    json_object_object_add(r, "relay",
                           addr.relay_count ? json_object_new_string(addr.relays[0]) : NULL);
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

/* ---- life cycle ------------------------------------------------------------------------------ */

int endpoint_service_start(uv_loop_t *loop, struct rpc_server *server,
                           const struct endpoint_options *options, struct endpoint_service **out,
                           char *err, size_t errlen)
{
    struct endpoint_service *es = calloc(1, sizeof *es);
    if (!es) return IROH_ENOMEM;
    es->loop = loop;
    int rc = endpoint_start(loop, options, &es->ep, err, errlen);
    if (rc < 0) {
        free(es);
        return rc;
    }
    if ((rc = echo_serve(es->ep)) < 0 ||
        (rc = endpoint_apps_start(loop, server, es->ep, &es->apps)) < 0) {
        snprintf(err, errlen, "cannot serve the endpoint's protocols: %s", iroh_strerror(rc));
        endpoint_stop(es->ep, NULL, NULL);
        free(es);
        return rc;
    }
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

struct endpoint *endpoint_service_endpoint(const struct endpoint_service *es)
{
    return es->ep;
}

static void on_endpoint_stopped(void *arg)
{
    free(arg);
}

void endpoint_service_stop(struct endpoint_service *es)
{
    es->stopping = true;
    while (es->calls) /* each answers and unlinks itself */
        echo_client_cancel(es->calls->client, "irohd is shutting down");
    endpoint_apps_stop(es->apps);
    endpoint_stop(es->ep, on_endpoint_stopped, es);
}
