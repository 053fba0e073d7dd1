/* endpoint_apps.c — connections and ALPNs owned by apps, and their RPC methods; see
 * endpoint_apps.h. */
#include "daemon/endpoint_apps.h"
#include "daemon/rpc_server.h"

#include <iroh/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/app_datagrams.h"
#include "daemon/app_streams.h"
#include "daemon/endpoint_echo.h"
#include "daemon/log.h"
#include "ipc/jsonrpc.h"

#define PENDING_STREAMS_MAX 64 /* streams the peer opened that the app has not accepted yet */
#define DIAL_TIMEOUT_DEFAULT_S 10
#define LEAVE_GRACE_MS 5000 /* how long the streams of an app that left may take to finish */

struct apps_session;

/* An app's listener: its ALPN is registered with the endpoint while this exists. */
struct listener {
    struct listener *next;
    struct apps_session *session;
    bool took_builtin; /* irohd served this ALPN itself before: serve it again afterwards */
    char alpn[QUIC_ALPN_MAX + 1];
};

/* A conn.accept_bi waiting for the peer to open a stream. */
struct waiter {
    struct waiter *next;
    struct rpc_call *call;
};

/* A stream the peer opened, waiting for the app to accept it. */
struct pending_stream {
    struct app_stream *as;
    int64_t id; /* its QUIC stream id */
};

/* Streams of one kind the peer opened and the app has not accepted, or accept calls waiting
 * for one (never both at once). */
struct stream_queue {
    struct pending_stream pending[PENDING_STREAMS_MAX];
    size_t n_pending;
    struct waiter *waiters, **waiters_tail;
};

enum { BI, UNI };

/* A QUIC connection an app owns; freed from its on_close (once its grace timer closed). */
struct app_conn {
    struct app_conn *next;
    struct apps_session *session; /* NULL once the app left (the connection is closing) */
    uint64_t id;
    struct quic_conn *qc;
    bool closing;
    struct stream_queue queues[2]; /* BI, UNI */
    struct app_stream_counts counts;
    struct app_datagrams *dgrams;
    uv_timer_t grace; /* after the app left: close even if streams are still open */
    bool grace_open;
};

/* An endpoint.connect in progress; freed once the endpoint answered and the timer closed. */
struct dial {
    struct dial *next;
    struct apps_session *session; /* NULL once answered or the app left */
    struct rpc_call *call;
    uv_timer_t timer;
    bool timer_open, dialing;
    unsigned timeout_s;
    char alpn[QUIC_ALPN_MAX + 1];
    char id[IROH_KEY_HEX_LEN + 1];
};

/* One API connection that listens or connects. */
struct apps_session {
    struct apps_session *next;
    struct endpoint_apps *apps;
    struct rpc_client *client;
    struct rpc_subscription *sub;
    struct app_conn *conns;
    struct dial *dials;
};

struct endpoint_apps {
    uv_loop_t *loop;
    struct endpoint *ep;
    struct apps_session *sessions;
    struct listener *listeners;
    uint64_t next_conn_id;
};

static void fail_reason(struct rpc_call *call, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_reason(struct rpc_call *call, int code, const char *reason, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *data = NULL;
    if (reason) {
        data = json_object_new_object();
        json_object_object_add(data, "reason", json_object_new_string(reason));
    }
    rpc_call_fail(call, code, msg, data);
}

static const char *param_string(json_object *params, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(params, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t param_int(json_object *params, const char *key, int64_t fallback)
{
    json_object *v;
    return json_object_object_get_ex(params, key, &v) ? json_object_get_int64(v) : fallback;
}

/* ---- listeners ------------------------------------------------------------------------------- */

static struct listener *listener_for(struct endpoint_apps *apps, const char *alpn)
{
    for (struct listener *l = apps->listeners; l; l = l->next)
        if (strcmp(l->alpn, alpn) == 0) return l;
    return NULL;
}

static void listener_release(struct endpoint_apps *apps, struct listener *l)
{
    for (struct listener **p = &apps->listeners; *p; p = &(*p)->next) {
        if (*p != l) continue;
        *p = l->next;
        break;
    }
    endpoint_unserve(apps->ep, l->alpn);
    if (l->took_builtin && echo_serve(apps->ep) < 0)
        log_warn("endpoint", "cannot serve %s again", l->alpn);
    log_info("endpoint", "%s stopped listening on %s", rpc_client_name(l->session->client),
             l->alpn);
    free(l);
}

/* ---- connections ----------------------------------------------------------------------------- */

static void answer_stream(struct rpc_call *call, struct app_stream *as, int64_t id)
{
    int fd;
    int rc = app_stream_attach(as, &fd);
    if (rc < 0) {
        rpc_call_fail(call, jsonrpc_code_for(rc), "cannot bridge the stream", NULL);
        return;
    }
    json_object *r = json_object_new_object();
    json_object_object_add(r, "fd", json_object_new_int(0));
    json_object_object_add(r, "stream", json_object_new_int64(id));
    rpc_call_reply(call, r, &fd, 1);
}

/* Fails the accept calls waiting on c and drops the streams nobody accepted. */
static void end_queues(struct app_conn *c, const char *why)
{
    for (int k = BI; k <= UNI; k++) {
        struct stream_queue *q = &c->queues[k];
        while (q->waiters) {
            struct waiter *w = q->waiters;
            q->waiters = w->next;
            fail_reason(w->call, JSONRPC_IO_ERROR, "closed", "%s", why);
            free(w);
        }
        q->waiters_tail = &q->waiters;
        while (q->n_pending)
            app_stream_discard(q->pending[--q->n_pending].as);
    }
}

static struct pending_stream queue_pop(struct stream_queue *q)
{
    struct pending_stream p = q->pending[0];
    memmove(&q->pending[0], &q->pending[1], --q->n_pending * sizeof p);
    return p;
}

static void on_unclaimed(struct app_stream *as, void *arg)
{
    struct stream_queue *q = arg;
    for (size_t i = 0; i < q->n_pending; i++) {
        if (q->pending[i].as != as) continue;
        memmove(&q->pending[i], &q->pending[i + 1], (q->n_pending - i - 1) * sizeof q->pending[0]);
        q->n_pending--;
        return;
    }
}

static void conn_on_stream(struct quic_conn *qc, struct quic_stream *s, void *arg)
{
    (void)qc;
    struct app_conn *c = arg;
    struct stream_queue *q = &c->queues[quic_stream_id(s) & 0x2 ? UNI : BI];
    if (!c->session || q->n_pending == PENDING_STREAMS_MAX) return; /* refused */
    struct app_stream *as;
    if (app_stream_new(c->session->apps->loop, s, &c->counts, on_unclaimed, q, &as) < 0) return;
    struct waiter *w = q->waiters;
    if (!w) {
        q->pending[q->n_pending++] = (struct pending_stream){as, quic_stream_id(s)};
        return;
    }
    q->waiters = w->next;
    if (!q->waiters) q->waiters_tail = &q->waiters;
    answer_stream(w->call, as, quic_stream_id(s));
    free(w);
}

static void conn_unlink(struct app_conn *c)
{
    if (!c->session) return;
    for (struct app_conn **p = &c->session->conns; *p; p = &(*p)->next) {
        if (*p != c) continue;
        *p = c->next;
        break;
    }
    c->session = NULL;
}

static void on_grace_closed(uv_handle_t *h)
{
    free(h->data);
}

static void conn_on_close(struct quic_conn *qc, int status, void *arg)
{
    (void)status;
    struct app_conn *c = arg;
    char why[256];
    snprintf(why, sizeof why, "the connection closed: %s", quic_conn_error(qc));
    c->counts.all_closed = NULL;
    end_queues(c, why);
    app_datagrams_free(c->dgrams);
    conn_unlink(c);
    if (c->grace_open)
        uv_close((uv_handle_t *)&c->grace, on_grace_closed);
    else
        free(c);
}

static void conn_on_datagram(struct quic_conn *qc, const uint8_t *data, size_t len, void *arg)
{
    (void)qc;
    app_datagrams_received(((struct app_conn *)arg)->dgrams, data, len);
}

/* Tells the app that the peer reset or stopped a stream (conn.stream_reset). */
static void conn_on_stream_reset(struct quic_conn *qc, struct quic_stream *s, uint64_t code,
                                 bool stop, void *arg)
{
    (void)qc;
    struct app_conn *c = arg;
    if (!c->session) return;
    json_object *n = json_object_new_object();
    rpc_add_u64(n, "conn", c->id);
    json_object_object_add(n, "stream", json_object_new_int64(quic_stream_id(s)));
    rpc_add_u64(n, "code", code);
    json_object_object_add(n, "direction", json_object_new_string(stop ? "send" : "receive"));
    rpc_subscription_notify(c->session->sub, "conn.stream_reset", n);
}

static const struct quic_conn_callbacks app_conn_callbacks = {
    .on_stream = conn_on_stream,
    .on_close = conn_on_close,
    .on_datagram = conn_on_datagram,
    .on_stream_reset = conn_on_stream_reset,
};

static struct app_conn *conn_new(struct apps_session *s, struct quic_conn *qc)
{
    struct app_conn *c = calloc(1, sizeof *c);
    if (!c || app_datagrams_new(s->apps->loop, qc, &c->dgrams) < 0) {
        free(c);
        quic_conn_close(qc, APP_STREAM_CODE_APP_GONE, "out of memory");
        return NULL;
    }
    c->session = s;
    c->id = ++s->apps->next_conn_id;
    c->qc = qc;
    c->queues[BI].waiters_tail = &c->queues[BI].waiters;
    c->queues[UNI].waiters_tail = &c->queues[UNI].waiters;
    c->next = s->conns;
    s->conns = c;
    quic_conn_set_callbacks(qc, &app_conn_callbacks, c);
    return c;
}

/* Closes c on behalf of its app (the app left, or asked): pending calls and streams end now. */
static void conn_close(struct app_conn *c, uint64_t code, const char *reason)
{
    c->closing = true;
    end_queues(c, "the connection was closed");
    quic_conn_close(c->qc, code, reason);
}

static void close_app_gone(struct app_conn *c)
{
    quic_conn_close(c->qc, APP_STREAM_CODE_APP_GONE, "the app left");
}

static void on_streams_closed(struct app_stream_counts *counts)
{
    close_app_gone((struct app_conn *)((char *)counts - offsetof(struct app_conn, counts)));
}

static void on_grace_timeout(uv_timer_t *t)
{
    close_app_gone(t->data);
}

/* The app left: its bridges go on sending what it wrote (and their FIN); c closes with
 * APP_STREAM_CODE_APP_GONE once all its streams are closed, or after LEAVE_GRACE_MS. */
static void conn_leave(struct app_conn *c, uv_loop_t *loop)
{
    c->closing = true;
    end_queues(c, "the app left");
    conn_unlink(c);
    if (c->counts.open == 0) {
        close_app_gone(c);
        return;
    }
    c->counts.all_closed = on_streams_closed;
    uv_timer_init(loop, &c->grace);
    c->grace.data = c;
    c->grace_open = true;
    uv_timer_start(&c->grace, on_grace_timeout, LEAVE_GRACE_MS, 0);
}

static struct app_conn *conn_find(struct apps_session *s, int64_t id)
{
    for (struct app_conn *c = s ? s->conns : NULL; c; c = c->next)
        if ((int64_t)c->id == id && !c->closing) return c;
    return NULL;
}

static json_object *conn_describe(const struct app_conn *c)
{
    char id[IROH_KEY_HEX_LEN + 1], path[ENDPOINT_PATH_TEXT_MAX + 1] = "";
    iroh_public_key_format_hex(quic_conn_remote_id(c->qc), id, sizeof id);
    struct iroh_socket_addr a;
    if (quic_conn_path(c->qc, &a) == 0 && c->session) /* a relay path as relay:URL */
        endpoint_path_format(c->session->apps->ep, &a, path, sizeof path);
    else if (quic_conn_path(c->qc, &a) == 0) /* the app left: direct addresses only */
        iroh_socket_addr_format(&a, path, sizeof path);
    json_object *r = json_object_new_object();
    rpc_add_u64(r, "conn", c->id);
    json_object_object_add(r, "remote", json_object_new_string(id));
    json_object_object_add(r, "alpn", json_object_new_string(quic_conn_alpn(c->qc)));
    json_object_object_add(r, "path", json_object_new_string(path));
    json_object_object_add(r, "rtt_ms",
                           json_object_new_double((double)quic_conn_rtt_ns(c->qc) / 1e6));
    rpc_add_u64(r, "bytes_sent", c->counts.sent);
    rpc_add_u64(r, "bytes_received", c->counts.received);
    struct quic_conn_stats st;
    quic_conn_stats(c->qc, &st);
    rpc_add_u64(r, "max_datagram_size", quic_conn_max_datagram(c->qc));
    rpc_add_u64(r, "datagrams_sent", st.datagrams_sent);
    rpc_add_u64(r, "datagrams_received", st.datagrams_received);
    rpc_add_u64(r, "datagrams_dropped", st.datagrams_dropped + app_datagrams_dropped(c->dgrams));
    rpc_add_u64(r, "datagrams_lost", st.datagrams_lost);
    rpc_add_u64(r, "stream_packets_lost", st.stream_packets_lost);
    rpc_add_u64(r, "probe_timeouts", st.probe_timeouts);
    rpc_add_u64(r, "congestion_events", st.congestion_events);
    json_object_object_add(
        r, "direction",
        json_object_new_string(quic_conn_is_server(c->qc) ? "incoming" : "outgoing"));
    return r;
}

/* ---- sessions -------------------------------------------------------------------------------- */

static struct rpc_call *dial_detach(struct dial *d);

/* Ends s: its ALPNs are released, its dials' calls fail (a dial still handshaking runs on and
 * its connection is closed the moment it is made, see on_dial) and its connections are closed,
 * at once when irohd stops, else once their streams finished (conn_leave). */
static void session_release(struct apps_session *s, bool stopping)
{
    struct endpoint_apps *apps = s->apps;
    for (struct apps_session **p = &apps->sessions; *p; p = &(*p)->next) {
        if (*p != s) continue;
        *p = s->next;
        break;
    }
    for (struct listener *l = apps->listeners, *next; l; l = next) {
        next = l->next;
        if (l->session == s) listener_release(apps, l);
    }
    while (s->dials)
        rpc_call_fail(dial_detach(s->dials), JSONRPC_SHUTTING_DOWN, "the app left", NULL);
    while (s->conns) {
        struct app_conn *c = s->conns;
        if (stopping) {
            conn_close(c, APP_STREAM_CODE_APP_GONE, "irohd is stopping");
            conn_unlink(c);
        } else {
            conn_leave(c, apps->loop);
        }
    }
    free(s);
}

static void on_session_end(struct rpc_subscription *sub, void *ctx)
{
    (void)sub;
    session_release(ctx, false);
}

static struct apps_session *session_find(struct endpoint_apps *apps, struct rpc_call *call)
{
    struct rpc_client *client = rpc_call_client(call);
    for (struct apps_session *s = apps->sessions; s; s = s->next)
        if (s->client == client) return s;
    return NULL;
}

/* The caller's session, made on first use. Answers the call with busy and returns NULL when
 * out of memory. */
static struct apps_session *session_get(struct endpoint_apps *apps, struct rpc_call *call)
{
    struct apps_session *s = session_find(apps, call);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (s) s->sub = rpc_subscription_new(rpc_call_client(call), on_session_end, s);
    if (!s || !s->sub) {
        free(s);
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return NULL;
    }
    s->apps = apps;
    s->client = rpc_call_client(call);
    s->next = apps->sessions;
    apps->sessions = s;
    return s;
}

/* ---- endpoint.listen, endpoint.unlisten ------------------------------------------------------ */

static void on_incoming(struct quic_conn *qc, void *arg)
{
    struct listener *l = arg;
    struct app_conn *c = conn_new(l->session, qc);
    if (!c) return;
    json_object *n = conn_describe(c);
    json_object_object_del(n, "direction");
    int rc = rpc_subscription_notify(l->session->sub, "endpoint.incoming", n);
    if (rc < 0) {
        log_info("endpoint", "%s: refusing a connection on %s: %s",
                 rpc_client_name(l->session->client), l->alpn, iroh_strerror(rc));
        conn_close(c, APP_STREAM_CODE_APP_GONE, "the app is busy");
    }
}

static void handle_listen(struct rpc_call *call, json_object *params, void *ctx)
{
    struct endpoint_apps *apps = ctx;
    const char *alpn = param_string(params, "alpn");
    if (listener_for(apps, alpn)) {
        rpc_call_fail(call, JSONRPC_ALREADY_EXISTS, "another app listens on this ALPN", NULL);
        return;
    }
    struct apps_session *s = session_get(apps, call);
    if (!s) return;
    struct listener *l = calloc(1, sizeof *l);
    if (!l) {
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return;
    }
    snprintf(l->alpn, sizeof l->alpn, "%s", alpn);
    l->session = s;
    int rc = endpoint_serve(apps->ep, alpn, on_incoming, l);
    if (rc == IROH_EEXIST && strcmp(alpn, ECHO_ALPN) == 0) { /* taking over irohd's own echo */
        endpoint_unserve(apps->ep, alpn);
        l->took_builtin = true;
        rc = endpoint_serve(apps->ep, alpn, on_incoming, l);
    }
    if (rc < 0) {
        if (l->took_builtin) echo_serve(apps->ep);
        free(l);
        rpc_call_fail(call, jsonrpc_code_for(rc),
                      rc == IROH_EEXIST  ? "irohd serves this ALPN itself"
                      : rc == IROH_EBUSY ? "too many ALPNs are served"
                                         : iroh_strerror(rc),
                      NULL);
        return;
    }
    l->next = apps->listeners;
    apps->listeners = l;
    log_info("endpoint", "%s listens on %s", rpc_client_name(s->client), alpn);
    json_object *r = json_object_new_object();
    rpc_add_u64(r, "subscription", rpc_subscription_id(s->sub));
    rpc_call_reply(call, r, NULL, 0);
}

static void handle_unlisten(struct rpc_call *call, json_object *params, void *ctx)
{
    struct endpoint_apps *apps = ctx;
    struct listener *l = listener_for(apps, param_string(params, "alpn"));
    if (!l || l->session != session_find(apps, call)) {
        rpc_call_fail(call, JSONRPC_NOT_FOUND, "this connection does not listen on this ALPN",
                      NULL);
        return;
    }
    listener_release(apps, l);
    rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
}

/* ---- endpoint.connect ------------------------------------------------------------------------ */

static void dial_maybe_free(struct dial *d)
{
    if (!d->dialing && !d->timer_open) free(d);
}

static void on_dial_timer_closed(uv_handle_t *h)
{
    struct dial *d = h->data;
    d->timer_open = false;
    dial_maybe_free(d);
}

/* Unlinks d from its session (its call is then answered by the caller) and stops the timer. */
static struct rpc_call *dial_detach(struct dial *d)
{
    struct apps_session *s = d->session;
    for (struct dial **p = &s->dials; *p; p = &(*p)->next) {
        if (*p != d) continue;
        *p = d->next;
        break;
    }
    d->session = NULL;
    if (d->timer_open) uv_close((uv_handle_t *)&d->timer, on_dial_timer_closed);
    return d->call;
}

static void on_dial_timeout(uv_timer_t *t)
{
    struct dial *d = t->data;
    fail_reason(dial_detach(d), JSONRPC_IO_ERROR, "timeout",
                "timed out: %s did not answer within %u s", d->id, d->timeout_s);
}

static void fail_dial(struct rpc_call *call, const struct dial *d, int status, const char *why)
{
    if (status == IROH_ETIMEDOUT)
        fail_reason(call, JSONRPC_IO_ERROR, "timeout", "timed out: %s", why);
    else if (status == IROH_EPROTO && strstr(why, "alert 120"))
        fail_reason(call, JSONRPC_IO_ERROR, "alpn", "the peer does not speak ALPN %s", d->alpn);
    else if (status == IROH_EPROTO && (strstr(why, "alert 42") || strstr(why, "alert 51")))
        fail_reason(call, JSONRPC_IO_ERROR, "authentication",
                    "authentication failed: the node that answered is not %s (%s)", d->id, why);
    else
        fail_reason(call, JSONRPC_IO_ERROR, "connect", "connecting failed: %s", why);
}

static void on_dial(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct dial *d = arg;
    d->dialing = false;
    if (!d->session) { /* timed out or the app left */
        if (qc) quic_conn_close(qc, APP_STREAM_CODE_APP_GONE, "cancelled");
        dial_maybe_free(d);
        return;
    }
    struct apps_session *s = d->session;
    struct rpc_call *call = dial_detach(d);
    if (status < 0) {
        fail_dial(call, d, status, why);
    } else {
        struct app_conn *c = conn_new(s, qc);
        if (c)
            rpc_call_reply(call, conn_describe(c), NULL, 0);
        else
            rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
    }
    dial_maybe_free(d);
}

/* The peer's address from ticket, or from id and addrs. Answers the call and returns -1 when
 * they are malformed. */
static int connect_target(struct rpc_call *call, json_object *params,
                          struct iroh_endpoint_addr *out)
{
    const char *ticket = param_string(params, "ticket");
    const char *id = param_string(params, "id");
    json_object *addrs = NULL;
    json_object_object_get_ex(params, "addrs", &addrs);
    if (!ticket == !id) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "give either ticket or id", NULL);
        return -1;
    }
    if (ticket) {
        if (iroh_endpoint_ticket_decode(ticket, strlen(ticket), out) == 0) return 0;
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "ticket is not an endpoint ticket", NULL);
        return -1;
    }
    struct iroh_public_key key;
    if (iroh_public_key_parse(id, strlen(id), &key) < 0) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "id is not an endpoint id", NULL);
        return -1;
    }
    iroh_endpoint_addr_init(out, &key);
    size_t n = addrs ? json_object_array_length(addrs) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *text = json_object_get_string(json_object_array_get_idx(addrs, i));
        struct iroh_socket_addr a;
        if (!text || iroh_socket_addr_parse(text, strlen(text), &a) < 0 ||
            iroh_endpoint_addr_add_ip(out, &a) < 0) {
            fail_reason(call, JSONRPC_INVALID_PARAMS, NULL, "bad address: %s",
                        text ? text : "(not a string)");
            return -1;
        }
    }
    return 0;
}

static void handle_connect(struct rpc_call *call, json_object *params, void *ctx)
{
    struct endpoint_apps *apps = ctx;
    struct iroh_endpoint_addr addr;
    if (connect_target(call, params, &addr) < 0) return;
    const char *alpn = param_string(params, "alpn");
    struct apps_session *s = session_get(apps, call);
    if (!s) return;
    for (struct app_conn *c = s->conns; c; c = c->next) { /* reuse a live connection */
        if (c->closing || memcmp(quic_conn_remote_id(c->qc)->bytes, addr.id.bytes, IROH_KEY_LEN) ||
            strcmp(quic_conn_alpn(c->qc), alpn) != 0)
            continue;
        rpc_call_reply(call, conn_describe(c), NULL, 0);
        return;
    }
    struct dial *d = calloc(1, sizeof *d);
    if (!d) {
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return;
    }
    snprintf(d->alpn, sizeof d->alpn, "%s", alpn);
    iroh_public_key_format_hex(&addr.id, d->id, sizeof d->id);
    d->timeout_s = (unsigned)param_int(params, "timeout_s", DIAL_TIMEOUT_DEFAULT_S);
    int rc = endpoint_connect(apps->ep, &addr, alpn, on_dial, d);
    if (rc < 0) {
        free(d);
        rpc_call_fail(call, jsonrpc_code_for(rc),
                      rc == IROH_ENOTFOUND ? "no IP address of the peer this node can reach "
                                             "(relays are not supported yet)"
                      : rc == IROH_EINVAL  ? "cannot connect to this node itself"
                                           : iroh_strerror(rc),
                      NULL);
        return;
    }
    d->session = s;
    d->call = call;
    d->dialing = true;
    d->next = s->dials;
    s->dials = d;
    uv_timer_init(apps->loop, &d->timer);
    d->timer.data = d;
    d->timer_open = true;
    uv_timer_start(&d->timer, on_dial_timeout, (uint64_t)d->timeout_s * 1000, 0);
}

/* ---- conn.* ---------------------------------------------------------------------------------- */

/* The caller's connection named by params.conn, or NULL after answering not_found. */
static struct app_conn *conn_param(struct endpoint_apps *apps, struct rpc_call *call,
                                   json_object *params)
{
    struct app_conn *c = conn_find(session_find(apps, call), param_int(params, "conn", 0));
    if (!c) rpc_call_fail(call, JSONRPC_NOT_FOUND, "no such connection of this client", NULL);
    return c;
}

static void open_stream(struct rpc_call *call, json_object *params, void *ctx, int kind)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (!c) return;
    struct quic_stream *qs;
    int rc = kind == UNI ? quic_conn_open_uni(c->qc, &qs) : quic_conn_open_bi(c->qc, &qs);
    struct app_stream *as;
    if (rc == 0)
        rc = app_stream_new(c->session->apps->loop, qs, &c->counts, on_unclaimed, NULL, &as);
    if (rc < 0) {
        rpc_call_fail(call, jsonrpc_code_for(rc),
                      rc == IROH_EBUSY ? "the peer allows no more streams now" : iroh_strerror(rc),
                      NULL);
        return;
    }
    answer_stream(call, as, quic_stream_id(qs));
}

static void accept_stream(struct rpc_call *call, json_object *params, void *ctx, int kind)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (!c) return;
    struct stream_queue *q = &c->queues[kind];
    if (q->n_pending) {
        struct pending_stream p = queue_pop(q);
        answer_stream(call, p.as, p.id);
        return;
    }
    struct waiter *w = calloc(1, sizeof *w);
    if (!w) {
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return;
    }
    w->call = call;
    *q->waiters_tail = w;
    q->waiters_tail = &w->next;
}

static void handle_open_bi(struct rpc_call *call, json_object *params, void *ctx)
{
    open_stream(call, params, ctx, BI);
}

static void handle_open_uni(struct rpc_call *call, json_object *params, void *ctx)
{
    open_stream(call, params, ctx, UNI);
}

static void handle_accept_bi(struct rpc_call *call, json_object *params, void *ctx)
{
    accept_stream(call, params, ctx, BI);
}

static void handle_accept_uni(struct rpc_call *call, json_object *params, void *ctx)
{
    accept_stream(call, params, ctx, UNI);
}

static void handle_close(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (!c) return;
    const char *reason = param_string(params, "reason");
    conn_close(c, (uint64_t)param_int(params, "code", 0), reason ? reason : "");
    rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
}

/* The caller's open stream named by params.stream on c that has our direction (send) or the
 * peer's (!send), or NULL after answering not_found / invalid_params. */
static struct quic_stream *stream_param(struct app_conn *c, struct rpc_call *call,
                                        json_object *params, bool send)
{
    int64_t id = param_int(params, "stream", -1);
    struct quic_stream *s = quic_conn_find_stream(c->qc, id);
    if (!s) {
        rpc_call_fail(call, JSONRPC_NOT_FOUND, "no such open stream on this connection", NULL);
        return NULL;
    }
    bool uni = id & 0x2, ours = ((id & 0x1) != 0) == quic_conn_is_server(c->qc);
    if (uni && ours != send) {
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS,
                      send ? "the peer opened this unidirectional stream: only it sends"
                           : "this unidirectional stream only sends",
                      NULL);
        return NULL;
    }
    return s;
}

static void handle_reset_stream(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    struct quic_stream *s = c ? stream_param(c, call, params, true) : NULL;
    if (!s) return;
    quic_stream_reset_write(s, (uint64_t)param_int(params, "code", 0));
    rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
}

static void handle_stop_stream(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    struct quic_stream *s = c ? stream_param(c, call, params, false) : NULL;
    if (!s) return;
    quic_stream_stop(s, (uint64_t)param_int(params, "code", 0));
    rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
}

static void handle_datagrams(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (!c) return;
    int fd;
    int rc = app_datagrams_attach(c->dgrams, &fd);
    if (rc < 0) {
        rpc_call_fail(call, jsonrpc_code_for(rc),
                      rc == IROH_EEXIST ? "this connection's datagrams already have a socket"
                                        : iroh_strerror(rc),
                      NULL);
        return;
    }
    json_object *r = json_object_new_object();
    json_object_object_add(r, "fd", json_object_new_int(0));
    rpc_add_u64(r, "max_datagram_size", quic_conn_max_datagram(c->qc));
    rpc_call_reply(call, r, &fd, 1);
}

static void handle_send_datagram(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (!c) return;
    const char *b64 = param_string(params, "data_base64");
    size_t in = strlen(b64), len;
    uint8_t *data = malloc(in / 4 * 3 + 3);
    const char *end;
    if (!data) {
        rpc_call_fail(call, JSONRPC_BUSY, "out of memory", NULL);
        return;
    }
    if (sodium_base642bin(data, in / 4 * 3 + 3, b64, in, NULL, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + in) {
        free(data);
        rpc_call_fail(call, JSONRPC_INVALID_PARAMS, "data_base64 is not base64 (RFC 4648)", NULL);
        return;
    }
    int rc = quic_conn_send_datagram(c->qc, data, len);
    free(data);
    if (rc == IROH_ETOOBIG)
        fail_reason(call, JSONRPC_TOO_LARGE, NULL,
                    "%zu bytes: the largest datagram this connection takes now is %zu bytes", len,
                    quic_conn_max_datagram(c->qc));
    else if (rc < 0)
        rpc_call_fail(call, jsonrpc_code_for(rc), iroh_strerror(rc), NULL);
    else
        rpc_call_reply(call, json_object_new_boolean(1), NULL, 0);
}

static void handle_info(struct rpc_call *call, json_object *params, void *ctx)
{
    struct app_conn *c = conn_param(ctx, call, params);
    if (c) rpc_call_reply(call, conn_describe(c), NULL, 0);
}

static void handle_connections(struct rpc_call *call, json_object *params, void *ctx)
{
    (void)params;
    struct apps_session *s = session_find(ctx, call);
    json_object *list = json_object_new_array();
    for (struct app_conn *c = s ? s->conns : NULL; c; c = c->next)
        if (!c->closing) json_object_array_add(list, conn_describe(c));
    rpc_call_reply(call, list, NULL, 0);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int endpoint_apps_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                        struct endpoint_apps **out)
{
    struct endpoint_apps *apps = calloc(1, sizeof *apps);
    if (!apps) return IROH_ENOMEM;
    apps->loop = loop;
    apps->ep = ep;
    rpc_server_register(server, "endpoint.listen", handle_listen, apps);
    rpc_server_register(server, "endpoint.unlisten", handle_unlisten, apps);
    rpc_server_register(server, "endpoint.connect", handle_connect, apps);
    rpc_server_register(server, "endpoint.connections", handle_connections, apps);
    rpc_server_register(server, "conn.open_bi", handle_open_bi, apps);
    rpc_server_register(server, "conn.accept_bi", handle_accept_bi, apps);
    rpc_server_register(server, "conn.open_uni", handle_open_uni, apps);
    rpc_server_register(server, "conn.accept_uni", handle_accept_uni, apps);
    rpc_server_register(server, "conn.close", handle_close, apps);
    rpc_server_register(server, "conn.info", handle_info, apps);
    rpc_server_register(server, "conn.datagrams", handle_datagrams, apps);
    rpc_server_register(server, "conn.reset_stream", handle_reset_stream, apps);
    rpc_server_register(server, "conn.stop_stream", handle_stop_stream, apps);
    rpc_server_register(server, "conn.send_datagram", handle_send_datagram, apps);
    *out = apps;
    return 0;
}

void endpoint_apps_stop(struct endpoint_apps *apps)
{
    while (apps->sessions) {
        struct apps_session *s = apps->sessions;
        rpc_subscription_end(s->sub);
        session_release(s, true);
    }
    free(apps);
}
