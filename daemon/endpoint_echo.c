/* endpoint_echo.c — the echo protocol, server and checking client; see endpoint_echo.h. */
#include "daemon/endpoint_echo.h"

#include <iroh/error.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_PIECE (64 * 1024)

/* ---- server ---------------------------------------------------------------------------------- */

/* One echoed stream: credit held back while our echo waits for the peer to read it. */
struct served_stream {
    size_t held;
};

static void served_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                           void *arg)
{
    struct served_stream *e = arg;
    long buffered = len ? quic_stream_write(s, data, len) : 0;
    if (buffered < 0) { /* our direction is closed: nothing more to echo */
        quic_stream_consume(s, len);
        return;
    }
    if (fin) quic_stream_finish(s);
    if ((size_t)buffered >= QUIC_STREAM_HIGH_WATER)
        e->held += len; /* the peer waits for its echo before it may send more */
    else
        quic_stream_consume(s, len);
}

static void served_on_drain(struct quic_stream *s, void *arg)
{
    struct served_stream *e = arg;
    quic_stream_consume(s, e->held);
    e->held = 0;
}

static void served_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    free(arg);
}

static const struct quic_stream_callbacks served_stream_callbacks = {
    .on_data = served_on_data,
    .on_drain = served_on_drain,
    .on_close = served_on_close,
};

static void served_on_stream(struct quic_conn *qc, struct quic_stream *s, void *arg)
{
    (void)qc;
    (void)arg;
    if (quic_stream_id(s) & 0x2) return; /* unidirectional: refused */
    struct served_stream *e = calloc(1, sizeof *e);
    if (e) quic_stream_set_callbacks(s, &served_stream_callbacks, e);
}

static const struct quic_conn_callbacks served_conn_callbacks = {.on_stream = served_on_stream};

static void on_accept(struct quic_conn *qc, void *arg)
{
    (void)arg;
    quic_conn_set_callbacks(qc, &served_conn_callbacks, NULL);
}

int echo_serve(struct endpoint *ep)
{
    return endpoint_serve(ep, ECHO_ALPN, on_accept, NULL);
}

/* ---- client ---------------------------------------------------------------------------------- */

struct client_stream {
    struct echo_client *c;
    struct quic_stream *s;
    const uint8_t *data; /* what this stream sends: c->bytes of it */
    size_t written, received;
    bool echoed; /* the peer finished after echoing everything */
};

/* Freed once done has run, the dial and the connection are over and the timer is closed. */
struct echo_client {
    struct endpoint *ep;
    echo_done_fn *done;
    void *arg;
    bool reported;
    bool dialing;
    struct quic_conn *qc;
    uv_timer_t timer;
    bool timer_open;
    uint8_t *data;
    size_t bytes;
    unsigned streams, echoed;
    struct client_stream st[ECHO_MAX_STREAMS];
    uint64_t started_ns, connected_ns;
    struct echo_result result;
};

static void client_maybe_free(struct echo_client *c)
{
    if (!c->reported || c->dialing || c->qc || c->timer_open) return;
    free(c->data);
    free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct echo_client *c = h->data;
    c->timer_open = false;
    client_maybe_free(c);
}

/* Reports the outcome once, then lets go of the connection and the timer. */
static void finish(struct echo_client *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(struct echo_client *c, int status, const char *fmt, ...)
{
    if (c->reported) return;
    c->reported = true;
    struct echo_result *r = &c->result;
    r->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    for (unsigned i = 0; i < c->streams; i++)
        r->bytes += c->st[i].received;
    uint64_t now = uv_hrtime();
    if (c->connected_ns) {
        r->connect_ns = c->connected_ns - c->started_ns;
        r->transfer_ns = now - c->connected_ns;
    }
    if (c->qc) {
        struct iroh_socket_addr path;
        r->rtt_ns = quic_conn_rtt_ns(c->qc);
        quic_conn_stats(c->qc, &r->stats);
        if (quic_conn_path(c->qc, &path) == 0)
            endpoint_path_format(c->ep, &path, r->path, sizeof r->path);
        quic_conn_close(c->qc, status == 0 ? 0 : 1, status == 0 ? "done" : "failed");
    }
    c->done(r, c->arg);
    if (c->timer_open) uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

static void push(struct client_stream *cs)
{
    struct echo_client *c = cs->c;
    while (cs->written < c->bytes) {
        size_t n = c->bytes - cs->written < WRITE_PIECE ? c->bytes - cs->written : WRITE_PIECE;
        long buffered = quic_stream_write(cs->s, cs->data + cs->written, n);
        if (buffered < 0) {
            finish(c, IROH_ECLOSED, "writing a stream: %s", iroh_strerror((int)buffered));
            return;
        }
        cs->written += n;
        if ((size_t)buffered >= QUIC_STREAM_HIGH_WATER) return; /* on_drain goes on */
    }
    quic_stream_finish(cs->s);
}

static void stream_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                           void *arg)
{
    struct client_stream *cs = arg;
    struct echo_client *c = cs->c;
    quic_stream_consume(s, len);
    if (c->reported) return;
    if (len > c->bytes - cs->received || (len && memcmp(data, cs->data + cs->received, len) != 0)) {
        finish(c, IROH_ECORRUPT, "stream %lld: the echo differs from what was sent at offset %zu",
               (long long)quic_stream_id(s), cs->received);
        return;
    }
    cs->received += len;
    if (!fin) return;
    if (cs->received != c->bytes) {
        finish(c, IROH_ECLOSED, "stream %lld: the echo ended after %zu of %zu bytes",
               (long long)quic_stream_id(s), cs->received, c->bytes);
        return;
    }
    cs->echoed = true;
    if (++c->echoed == c->streams) finish(c, 0, "%s", "");
}

static void stream_on_drain(struct quic_stream *s, void *arg)
{
    (void)s;
    struct client_stream *cs = arg;
    if (!cs->c->reported) push(cs);
}

static void stream_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    struct client_stream *cs = arg;
    if (!cs->echoed)
        finish(cs->c, IROH_ECLOSED, "stream %lld ended early (%s, code %llu)",
               (long long)quic_stream_id(s), iroh_strerror(status), (unsigned long long)app_error);
    cs->s = NULL;
}

static const struct quic_stream_callbacks client_stream_callbacks = {
    .on_data = stream_on_data,
    .on_drain = stream_on_drain,
    .on_close = stream_on_close,
};

static void conn_on_close(struct quic_conn *qc, int status, void *arg)
{
    struct echo_client *c = arg;
    finish(c, status == IROH_OK ? IROH_ECLOSED : status, "the connection closed: %s",
           quic_conn_error(qc));
    c->qc = NULL;
    client_maybe_free(c);
}

static const struct quic_conn_callbacks client_conn_callbacks = {.on_close = conn_on_close};

static void on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct echo_client *c = arg;
    c->dialing = false;
    if (status < 0) {
        finish(c, status, "connecting failed: %s", why);
        client_maybe_free(c);
        return;
    }
    c->qc = qc;
    c->connected_ns = uv_hrtime();
    c->result.remote = *quic_conn_remote_id(qc);
    quic_conn_set_callbacks(qc, &client_conn_callbacks, c);
    if (c->reported) { /* timed out or cancelled while dialing */
        quic_conn_close(qc, 1, "cancelled");
        return;
    }
    for (unsigned i = 0; i < c->streams && !c->reported; i++) {
        struct client_stream *cs = &c->st[i];
        int rc = quic_conn_open_bi(qc, &cs->s);
        if (rc < 0) {
            finish(c, rc, "opening stream %u: %s", i, iroh_strerror(rc));
            return;
        }
        quic_stream_set_callbacks(cs->s, &client_stream_callbacks, cs);
        push(cs);
    }
}

static void on_timeout(uv_timer_t *t)
{
    struct echo_client *c = t->data;
    size_t got = 0;
    for (unsigned i = 0; i < c->streams; i++)
        got += c->st[i].received;
    finish(c, IROH_ETIMEDOUT, "timed out after %zu of %zu bytes echoed", got,
           c->bytes * c->streams);
}

int echo_client_start(uv_loop_t *loop, struct endpoint *ep, const struct echo_request *req,
                      echo_done_fn *done, void *arg, struct echo_client **out)
{
    if (req->streams < 1 || req->streams > ECHO_MAX_STREAMS) return IROH_EINVAL;
    struct echo_client *c = calloc(1, sizeof *c);
    size_t total = req->bytes * req->streams;
    if (!c || !(c->data = malloc(total ? total : 1))) {
        free(c);
        return IROH_ENOMEM;
    }
    randombytes_buf(c->data, total);
    c->ep = ep;
    c->done = done;
    c->arg = arg;
    c->bytes = req->bytes;
    c->streams = req->streams;
    for (unsigned i = 0; i < c->streams; i++)
        c->st[i] = (struct client_stream){.c = c, .data = c->data + i * req->bytes};
    c->started_ns = uv_hrtime();
    int rc = endpoint_connect(ep, req->addr, req->alpn ? req->alpn : ECHO_ALPN, on_connect, c);
    if (rc < 0) {
        free(c->data);
        free(c);
        return rc;
    }
    c->dialing = true;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->timer_open = true;
    uv_timer_start(&c->timer, on_timeout, req->timeout_ms, 0);
    *out = c;
    return 0;
}

void echo_client_cancel(struct echo_client *c, const char *why)
{
    finish(c, IROH_ECLOSED, "%s", why);
}
