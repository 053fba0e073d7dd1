/* node_service.c — node.status, node.shutdown, node.logs; see node_service.h. */
#include "daemon/node_service.h"
#include "daemon/rpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/ticket.h"
#include "daemon/log.h"
#include "ipc/jsonrpc.h"

/* One node.logs stream: notifications, or lines on a pipe when pipe_fd >= 0. */
struct log_subscriber {
    struct node_service *ns;
    struct rpc_subscription *sub; /* NULL once ended; swept after the current event */
    enum log_level level;
    int pipe_fd;
    uint64_t dropped; /* events lost since the last one delivered */
    struct log_subscriber *next;
};

struct node_service {
    struct rpc_server *server;
    struct node_info info;
    char id_hex[IROH_KEY_HEX_LEN + 1];
    char ticket[IROH_ENDPOINT_TICKET_MAX_LEN + 1];
    void (*request_shutdown)(void *arg);
    void *shutdown_arg;
    struct log_subscriber *subscribers;
    bool in_sink; /* events logged while delivering one are not delivered (no recursion) */
};

static void update_sink(struct node_service *ns);

/* Makes ns->ticket this node's ticket now: the home relay and the addresses change. */
static void refresh_ticket(struct node_service *ns)
{
    struct iroh_endpoint_addr addr;
    if (ns->info.endpoint)
        endpoint_addr(ns->info.endpoint, &addr);
    else
        iroh_endpoint_addr_init(&addr, &ns->info.id);
    if (iroh_endpoint_ticket_encode(&addr, ns->ticket, sizeof ns->ticket) < 0) ns->ticket[0] = 0;
}

/* The relay connections: url, home, connected, latency_ms (once a relay Ping came back),
 * since (Unix time of the last change), error (why the last attempt failed, if it did). */
static json_object *relays_json(struct node_service *ns)
{
    json_object *list = json_object_new_array();
    if (!ns->info.endpoint) return list;
    struct endpoint_relay_status st[ENDPOINT_MAX_RELAYS];
    size_t n = endpoint_relays(ns->info.endpoint, st, ENDPOINT_MAX_RELAYS);
    uint64_t now_ns = uv_hrtime();
    double now_unix = (double)time(NULL);
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "url", json_object_new_string(st[i].info.url));
        json_object_object_add(r, "home", json_object_new_boolean(st[i].home));
        json_object_object_add(r, "connected", json_object_new_boolean(st[i].info.connected));
        if (st[i].info.latency_ns)
            json_object_object_add(r, "latency_ms",
                                   json_object_new_double(st[i].info.latency_ns / 1e6));
        double ago = (double)(now_ns - st[i].info.since_ns) / 1e9;
        rpc_add_u64(r, "since", now_unix - ago);
        if (*st[i].info.error)
            json_object_object_add(r, "error", json_object_new_string(st[i].info.error));
        json_object_array_add(list, r);
    }
    return list;
}

/* The endpoint's connections now and the client Initials it refused (endpoint_counts). */
static json_object *connections_json(struct node_service *ns)
{
    json_object *c = json_object_new_object();
    struct endpoint_counts n = {0};
    if (ns->info.endpoint) endpoint_counts(ns->info.endpoint, &n);
    rpc_add_u64(c, "established", n.established);
    rpc_add_u64(c, "handshaking", n.handshaking);
    rpc_add_u64(c, "handshaking_incoming", n.handshaking_incoming);
    rpc_add_u64(c, "retries_sent", n.retries_sent);
    rpc_add_u64(c, "initials_dropped", n.initials_dropped);
    return c;
}

static void handle_status(struct rpc_call *call, json_object *params, void *ctx)
{
    struct node_service *ns = ctx;
    (void)params;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "id", json_object_new_string(ns->id_hex));
    json_object_object_add(r, "version", json_object_new_string(IROHD_VERSION));
    double uptime = (uv_hrtime() - ns->info.started_ns) / 1e9;
    char uptime_text[32];
    snprintf(uptime_text, sizeof uptime_text, "%.3f", uptime);
    json_object_object_add(r, "uptime_s", json_object_new_double_s(uptime, uptime_text));
    json_object_object_add(r, "data_dir", json_object_new_string(ns->info.data_dir));
    json_object_object_add(r, "socket", json_object_new_string(ns->info.socket_path));
    json_object_object_add(r, "pid", json_object_new_int(getpid()));
    rpc_add_u64(r, "clients", rpc_server_client_count(ns->server));
    refresh_ticket(ns);
    json_object_object_add(r, "ticket", json_object_new_string(ns->ticket));
    json_object_object_add(r, "relays", relays_json(ns));
    json_object_object_add(r, "connections", connections_json(ns));
    rpc_call_reply(call, r, NULL, 0);
}

static void handle_shutdown(struct rpc_call *call, json_object *params, void *ctx)
{
    struct node_service *ns = ctx;
    (void)params;
    log_info("node", "shutdown requested by %s", rpc_client_name(rpc_call_client(call)));
    rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
    ns->request_shutdown(ns->shutdown_arg);
}

/* ---- node.logs ----------------------------------------------------------------------------- */

static void subscriber_close(struct log_subscriber *s)
{
    if (s->pipe_fd >= 0) close(s->pipe_fd);
    s->pipe_fd = -1;
    s->sub = NULL;
}

static void sweep_subscribers(struct node_service *ns)
{
    for (struct log_subscriber **p = &ns->subscribers; *p;) {
        struct log_subscriber *s = *p;
        if (s->sub) {
            p = &s->next;
            continue;
        }
        *p = s->next;
        free(s);
    }
    update_sink(ns);
}

static void on_subscription_end(struct rpc_subscription *sub, void *ctx)
{
    struct log_subscriber *s = ctx;
    (void)sub;
    subscriber_close(s);
    if (!s->ns->in_sink) sweep_subscribers(s->ns);
}

/* Writes one line to a pipe subscriber; never blocks. Returns false if the reader is gone. */
static bool pipe_deliver(struct log_subscriber *s, const struct log_event *ev)
{
    char line[1200];
    int n = 0;
    if (s->dropped)
        n = snprintf(line, sizeof line, "[%llu log events dropped: the reader fell behind]\n",
                     (unsigned long long)s->dropped);
    time_t secs = (time_t)ev->time;
    struct tm tm;
    gmtime_r(&secs, &tm);
    n += snprintf(line + n, sizeof line - (size_t)n,
                  "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s: %s\n", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  (int)((ev->time - (double)secs) * 1000), log_level_name(ev->level), ev->component,
                  ev->message);
    if ((size_t)n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* Writes of at most PIPE_BUF bytes are all or nothing, so lines never interleave. */
    ssize_t w = write(s->pipe_fd, line, (size_t)n);
    if (w < 0 && errno == EPIPE) return false;
    if (w < 0)
        s->dropped++;
    else
        s->dropped = 0;
    return true;
}

static void notify_deliver(struct log_subscriber *s, const struct log_event *ev)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "level", json_object_new_string(log_level_name(ev->level)));
    json_object_object_add(p, "component", json_object_new_string(ev->component));
    json_object_object_add(p, "message", json_object_new_string(ev->message));
    json_object_object_add(p, "time", json_object_new_double(ev->time));
    if (s->dropped) rpc_add_u64(p, "dropped", s->dropped);
    if (rpc_subscription_notify(s->sub, "node.log", p) < 0)
        s->dropped++;
    else
        s->dropped = 0;
}

static void log_sink(const struct log_event *ev, void *ctx)
{
    struct node_service *ns = ctx;
    if (ns->in_sink) return;
    ns->in_sink = true;
    for (struct log_subscriber *s = ns->subscribers; s; s = s->next) {
        if (!s->sub || ev->level > s->level) continue;
        if (s->pipe_fd < 0) {
            notify_deliver(s, ev);
        } else if (!pipe_deliver(s, ev)) {
            rpc_subscription_end(s->sub);
            subscriber_close(s);
        }
    }
    ns->in_sink = false;
    sweep_subscribers(ns);
}

static void update_sink(struct node_service *ns)
{
    int wants = -1;
    for (struct log_subscriber *s = ns->subscribers; s; s = s->next)
        if (s->sub && (int)s->level > wants) wants = (int)s->level;
    if (wants < 0)
        log_set_sink(NULL, NULL, LOG_ERROR);
    else
        log_set_sink(log_sink, ns, (enum log_level)wants);
}

static void handle_logs(struct rpc_call *call, json_object *params, void *ctx)
{
    struct node_service *ns = ctx;
    json_object *level, *use_fd;
    json_object_object_get_ex(params, "level", &level);
    json_object_object_get_ex(params, "fd", &use_fd);

    struct log_subscriber *s = calloc(1, sizeof *s);
    int fds[2] = {-1, -1};
    if (!s) goto busy;
    s->ns = ns;
    s->level = (enum log_level)log_level_parse(json_object_get_string(level));
    s->pipe_fd = -1;
    if (json_object_get_boolean(use_fd)) {
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) goto busy;
        /* Only our end is non-blocking; the reader gets an ordinary blocking pipe. */
        fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) & ~O_NONBLOCK);
        s->pipe_fd = fds[1];
    }
    s->sub = rpc_subscription_new(rpc_call_client(call), on_subscription_end, s);
    if (!s->sub) goto busy;
    s->next = ns->subscribers;
    ns->subscribers = s;
    update_sink(ns);

    json_object *r = json_object_new_object();
    rpc_add_u64(r, "subscription", rpc_subscription_id(s->sub));
    if (fds[0] >= 0) json_object_object_add(r, "fd", json_object_new_int(0));
    rpc_call_reply(call, r, fds[0] >= 0 ? fds : NULL, fds[0] >= 0 ? 1 : 0);
    return;
busy:
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    free(s);
    rpc_call_fail(call, JSONRPC_BUSY, "cannot start a log stream now", NULL);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

int node_service_start(struct rpc_server *server, const struct node_info *info,
                       void (*request_shutdown)(void *arg), void *arg, struct node_service **out)
{
    struct node_service *ns = calloc(1, sizeof *ns);
    if (!ns) return IROH_ENOMEM;
    ns->server = server;
    ns->info = *info;
    ns->request_shutdown = request_shutdown;
    ns->shutdown_arg = arg;
    iroh_public_key_format_hex(&info->id, ns->id_hex, sizeof ns->id_hex);
    rpc_server_register(server, "node.status", handle_status, ns);
    rpc_server_register(server, "node.shutdown", handle_shutdown, ns);
    rpc_server_register(server, "node.logs", handle_logs, ns);
    *out = ns;
    return 0;
}

const char *node_service_ticket(struct node_service *ns)
{
    refresh_ticket(ns);
    return ns->ticket;
}

void node_service_stop(struct node_service *ns)
{
    for (struct log_subscriber *s = ns->subscribers; s; s = s->next) {
        if (!s->sub) continue;
        rpc_subscription_end(s->sub);
        subscriber_close(s);
    }
    sweep_subscribers(ns);
    free(ns);
}
