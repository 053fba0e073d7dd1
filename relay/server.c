/* relay/server.c — the iroh-relay server (see server.h).
 *
 * One struct conn per TCP connection, in one list swept every 100 ms for timeouts (establish,
 * write stall, keep-alive, pong, rate-limit refill): one timer for all, so an idle client costs
 * only its struct and kernel buffers. Reads land in one shared buffer and are processed at once;
 * only a partial frame is copied into the connection. Forwarded datagrams are not copied
 * either: while one read is processed they are collected per destination (pointing into the
 * read buffer) and then written with one writev per destination. Writes go straight to the
 * socket (uv_try_write); what the kernel does not take is queued per connection, and a client
 * whose queue makes no progress for write_timeout_ms is dropped. Datagram frames to a client
 * whose queue holds queue_frames datagrams or queue_bytes bytes are dropped (counted).
 *
 * States of a connection: HTTP (reading a request head) → 101 → CHALLENGE (ServerChallenge
 * sent, waiting for ClientAuth) or straight to the access check when the keying-material
 * header verified → ACCESS (an HTTP callout is pending) → RELAY (registered) → CLOSING.
 *
 * iroh 0.35 clients (relay_proto.h, IROH_RELAY_V035) take the same path, except that they
 * open with ClientInfo instead of answering a challenge, get no confirmation, use their own
 * frame types (over WebSocket or the "iroh derp http" framing) and live in a routing table of
 * their own: a 0.35 and a 1.x client cannot talk to each other anyway (their payloads differ).
 * A second 0.35 connection of one id replaces the first, as upstream 0.35 did. */
#include "relay/server.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"
#include "core/relay_proto.h"
#include "core/websocket.h"
#include "daemon/log.h"
#include "iroh/error.h"
#include "relay/access.h"
#include "relay/keymap.h"
#include "relay/tls.h"

#define SWEEP_MS 100
#define MAX_HEAD 8192
#define MAX_WS_PAYLOAD (IROH_RELAY_MAX_PACKET_SIZE + 1) /* a whole relay frame */
#define MAX_CARRY (IROH_WS_MAX_HEADER_LEN + MAX_WS_PAYLOAD)
#define MAX_HANDSHAKE_CARRY 2048
#define READ_BUF (256 * 1024)
#define MAX_WRITE_BUFS 32
#define MAX_PENDING 4096 /* forwarded frames collected before a flush */
#define FLUSH_FRAMES 256 /* frames per writev */

static const char RELAY_HEADERS[] =
    "Strict-Transport-Security: max-age=63072000; includeSubDomains\r\n"
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; form-action 'none'; "
    "base-uri 'self'; block-all-mixed-content; plugin-types 'none'\r\n";

static const char INDEX_HTML[] =
    "<html><head><title>Iroh Relay</title></head><body><h1>Iroh Relay</h1>"
    "<p>This is an <a href=\"https://iroh.computer\">Iroh</a> Relay server.</p></body></html>\n";

enum listener_kind {
    L_RELAY, /* plain HTTP relay service */
    L_RELAY_TLS,
    L_CAPTIVE, /* plain HTTP next to HTTPS: only /generate_204 */
    L_METRICS,
};

enum conn_state { S_HTTP, S_CHALLENGE, S_ACCESS, S_RELAY, S_CLOSING };

struct listener {
    uv_tcp_t tcp;
    struct relay_server *srv;
    enum listener_kind kind;
};

struct outbuf {
    struct outbuf *next;
    size_t len;
    uint32_t datagrams; /* datagram frames in it; 0 for a control frame */
    uint8_t data[];
};

struct client; /* the registry entry of one endpoint id */

struct conn {
    uv_tcp_t tcp;
    struct relay_server *srv;
    struct conn *prev, *next; /* all connections */
    enum listener_kind kind;
    enum conn_state state;
    bool upgraded; /* relay framing is on */
    bool derp;     /* the 0.35 "iroh derp http" framing instead of WebSocket */
    struct relay_tls *tls;

    uint8_t *in; /* a partial frame or head carried to the next read */
    size_t in_len, in_cap;
    uint8_t *frag; /* a binary message arriving in continuation frames */
    size_t frag_len, frag_cap;
    bool in_fragment;

    struct outbuf *out_head, *out_tail;
    size_t out_bytes;
    uint32_t out_datagrams, out_control;
    uint32_t pend_frames; /* forwarded frames collected for this connection, not yet written */
    size_t pend_bytes;
    int pend_head, pend_tail; /* indices into the server's pending records */
    uv_write_t wreq;
    size_t writing; /* outbufs in the current uv_write */
    uint64_t write_progress_at;
    bool close_after_flush, reading;
    uint32_t send_datagrams; /* datagram frames in the bytes being sent now */

    enum iroh_relay_version version;
    uint8_t challenge[IROH_RELAY_CHALLENGE_LEN];
    struct iroh_public_key key;
    char *token;
    struct client *client;
    struct conn *next_same; /* the client's connections, active first */
    struct keymap sent_to;
    uint8_t last_dst[IROH_KEY_LEN];
    bool has_last_dst;
    struct relay_access_req *access;

    uint64_t accepted_at, next_ping_at, ping_sent_at, pong_deadline, rtt_ms, refill_at;
    uint8_t ping_data[IROH_RELAY_PING_LEN];
    bool ping_outstanding, throttled, rate_notice_sent;
    int64_t rx_tokens;
};

struct client {
    struct iroh_public_key key;
    struct conn *conns; /* active first, then inactive ones, most recent first */
};

/* A forwarded frame waiting for the flush at the end of the read that brought it. */
struct pending {
    struct conn *dst;
    int next;
    uint8_t hdr[10]; /* its WebSocket header (unmasked: at most 10 bytes) */
    uint8_t hdr_len;
    const uint8_t *data;
    size_t len;
};

struct relay_server {
    uv_loop_t *loop;
    const struct relay_config *cfg;
    struct relay_tls_creds *creds;
    struct listener listeners[4];
    size_t num_listeners;
    uv_timer_t sweep;
    struct conn *conns;
    struct keymap clients, clients035;
    struct relay_metrics m;
    uint64_t rng;
    bool stopping;
    int open_handles;
    double accept_tokens; /* accept_conn_limit's bucket, refilled at accept_refill_at */
    uint64_t accept_refill_at;
    struct pending pend[MAX_PENDING];
    int npend;
    struct conn *pend_conns[MAX_PENDING];
    int npend_conns;
    uint8_t read_buf[READ_BUF];
    uint8_t plain_buf[READ_BUF];
};

static void conn_close(struct conn *c, bool errored);
static size_t process(struct conn *c, uint8_t *buf, size_t len);

/* --- small helpers ------------------------------------------------------------------------ */

static uint64_t next_random(struct relay_server *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

/* The next keep-alive: the interval plus a random 1/15..5/15 of it (1–5 s at 15 s). */
static void schedule_ping(struct conn *c)
{
    uint64_t iv = c->srv->cfg->ping_interval_ms;
    uint64_t lo = iv / 15, span = iv * 4 / 15 + 1;
    c->next_ping_at = uv_now(c->srv->loop) + iv + lo + next_random(c->srv) % span;
}

static void key_short(const struct iroh_public_key *k, char out[IROH_KEY_SHORT_LEN + 1])
{
    iroh_public_key_format_short(k, out, IROH_KEY_SHORT_LEN + 1);
}

/* --- writing ------------------------------------------------------------------------------ */

static void start_write(struct conn *c);

static void on_written(uv_write_t *w, int status)
{
    struct conn *c = w->data;
    for (size_t i = 0; i < c->writing; i++) {
        struct outbuf *b = c->out_head;
        c->out_head = b->next;
        if (!c->out_head) c->out_tail = NULL;
        c->out_bytes -= b->len;
        if (b->datagrams)
            c->out_datagrams -= b->datagrams;
        else
            c->out_control--;
        free(b);
    }
    c->writing = 0;
    if (c->state == S_CLOSING) return;
    if (status < 0) {
        conn_close(c, true);
        return;
    }
    c->write_progress_at = uv_now(c->srv->loop);
    if (c->out_head)
        start_write(c);
    else if (c->close_after_flush)
        conn_close(c, false);
}

static void start_write(struct conn *c)
{
    uv_buf_t bufs[MAX_WRITE_BUFS];
    size_t n = 0;
    for (struct outbuf *b = c->out_head; b && n < MAX_WRITE_BUFS; b = b->next)
        bufs[n++] = uv_buf_init((char *)b->data, (unsigned)b->len);
    c->writing = n;
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, (unsigned)n, on_written) < 0) {
        c->writing = 0;
        conn_close(c, true);
    }
}

/* Sends the concatenation of the pieces on the socket: directly if nothing is queued, the
 * rest (or all) into the queue. */
static int write_raw(struct conn *c, const uint8_t *const *pieces, const size_t *lens, size_t n)
{
    size_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    if (!c->out_head) {
        uv_buf_t bufs[2 * FLUSH_FRAMES];
        for (size_t i = 0; i < n; i++)
            bufs[i] = uv_buf_init((char *)pieces[i], (unsigned)lens[i]);
        int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)n);
        if (r < 0 && r != UV_EAGAIN) return IROH_EIO;
        done = r > 0 ? (size_t)r : 0;
        c->srv->m.bytes_sent += done;
        if (done == total) return IROH_OK;
        c->write_progress_at = uv_now(c->srv->loop);
    }
    struct outbuf *b = malloc(sizeof *b + total - done);
    if (!b) return IROH_ENOMEM;
    b->next = NULL;
    b->len = total - done;
    b->datagrams = c->send_datagrams;
    size_t at = 0, skip = done;
    for (size_t i = 0; i < n; i++) {
        size_t from = skip < lens[i] ? skip : lens[i];
        skip -= from;
        memcpy(b->data + at, pieces[i] + from, lens[i] - from);
        at += lens[i] - from;
    }
    if (c->out_tail)
        c->out_tail->next = b;
    else
        c->out_head = b;
    c->out_tail = b;
    c->out_bytes += b->len;
    c->srv->m.bytes_sent += b->len;
    if (b->datagrams)
        c->out_datagrams += b->datagrams;
    else
        c->out_control++;
    if (!c->writing) start_write(c);
    return IROH_OK;
}

static int tls_push(void *ctx, const uint8_t *data, size_t len)
{
    return write_raw(ctx, &data, &len, 1);
}

/* Sends plaintext pieces (through TLS if the connection has it). */
static void send_pieces(struct conn *c, const uint8_t *const *pieces, const size_t *lens, size_t n,
                        bool datagram)
{
    if (c->state == S_CLOSING) return;
    c->send_datagrams = datagram;
    int rc = c->tls ? relay_tls_send(c->tls, pieces, lens, n) : write_raw(c, pieces, lens, n);
    c->send_datagrams = 0;
    if (rc < 0) conn_close(c, true);
}

static void send_text(struct conn *c, const char *text, size_t len)
{
    const uint8_t *p = (const uint8_t *)text;
    send_pieces(c, &p, &len, 1, false);
}

/* One WebSocket message (server frames are not masked). */
static void send_ws(struct conn *c, enum iroh_ws_opcode op, const uint8_t *payload, size_t len,
                    bool datagram)
{
    uint8_t hdr[IROH_WS_MAX_HEADER_LEN];
    size_t hlen = iroh_ws_encode_header(hdr, true, op, len, NULL);
    const uint8_t *pieces[2] = {hdr, payload};
    size_t lens[2] = {hlen, len};
    send_pieces(c, pieces, lens, len ? 2 : 1, datagram);
}

/* One relay frame in the connection's framing: a WebSocket binary message, or the 0.35
 * type ‖ length ‖ body. */
static void send_message(struct conn *c, const uint8_t *frame, size_t len, bool datagram)
{
    if (!c->derp) {
        send_ws(c, IROH_WS_BINARY, frame, len, datagram);
        return;
    }
    uint8_t hdr[IROH_RELAY035_HEADER_LEN] = {frame[0], (uint8_t)((len - 1) >> 24),
                                             (uint8_t)((len - 1) >> 16), (uint8_t)((len - 1) >> 8),
                                             (uint8_t)(len - 1)};
    const uint8_t *pieces[2] = {hdr, frame + 1};
    size_t lens[2] = {sizeof hdr, len - 1};
    send_pieces(c, pieces, lens, len > 1 ? 2 : 1, datagram);
}

/* Collects a forwarded datagram frame (frame[0..len), in the buffer being processed) for dst;
 * flush_pending() writes it. A TLS destination encrypts it at once instead. */
static void flush_pending(struct relay_server *s);

static void forward(struct conn *dst, const uint8_t *frame, size_t len)
{
    struct relay_server *s = dst->srv;
    if (dst->tls) {
        send_message(dst, frame, len, true);
        return;
    }
    if (s->npend == MAX_PENDING) flush_pending(s);
    int idx = s->npend++;
    struct pending *p = &s->pend[idx];
    p->dst = dst;
    p->next = -1;
    if (dst->derp) { /* type ‖ length, then the body */
        p->hdr[0] = frame[0];
        for (int i = 0; i < 4; i++)
            p->hdr[1 + i] = (uint8_t)((len - 1) >> (24 - 8 * i));
        p->hdr_len = IROH_RELAY035_HEADER_LEN;
        p->data = frame + 1;
        p->len = len - 1;
    } else {
        p->hdr_len = (uint8_t)iroh_ws_encode_header(p->hdr, true, IROH_WS_BINARY, len, NULL);
        p->data = frame;
        p->len = len;
    }
    if (dst->pend_frames == 0) {
        dst->pend_head = idx;
        s->pend_conns[s->npend_conns++] = dst;
    } else {
        s->pend[dst->pend_tail].next = idx;
    }
    dst->pend_tail = idx;
    dst->pend_frames++;
    dst->pend_bytes += p->hdr_len + len;
}

/* Writes what was collected for c, FLUSH_FRAMES frames per writev. */
static void flush_conn(struct conn *c)
{
    struct relay_server *s = c->srv;
    int idx = c->pend_head;
    uint32_t frames = c->pend_frames;
    c->pend_frames = 0;
    c->pend_bytes = 0;
    while (frames > 0 && c->state != S_CLOSING) {
        const uint8_t *pieces[2 * FLUSH_FRAMES];
        size_t lens[2 * FLUSH_FRAMES], n = 0;
        uint32_t batch = 0;
        for (; idx >= 0 && batch < FLUSH_FRAMES; idx = s->pend[idx].next, batch++) {
            pieces[n] = s->pend[idx].hdr;
            lens[n++] = s->pend[idx].hdr_len;
            pieces[n] = s->pend[idx].data;
            lens[n++] = s->pend[idx].len;
        }
        frames -= batch;
        c->send_datagrams = batch;
        int rc = write_raw(c, pieces, lens, n);
        c->send_datagrams = 0;
        if (rc < 0) conn_close(c, true);
    }
}

/* Writes everything collected; called before the buffer the frames point into changes. */
static void flush_pending(struct relay_server *s)
{
    for (int i = 0; i < s->npend_conns; i++)
        if (s->pend_conns[i]->pend_frames) flush_conn(s->pend_conns[i]);
    s->npend = 0;
    s->npend_conns = 0;
}

/* A control frame (encoded), dropped if the control queue is full. */
static void send_control(struct conn *c, const uint8_t *frame, size_t len)
{
    if (c->out_control >= c->srv->cfg->queue_frames) {
        c->srv->m.other_packets_dropped++;
        return;
    }
    c->srv->m.other_packets_sent++;
    send_message(c, frame, len, false);
}

/* A 1.x control frame. */
static void send_frame(struct conn *c, const struct iroh_relay_frame *f)
{
    uint8_t buf[64 + IROH_RELAY_MAX_REASON_LEN];
    int n = iroh_relay_frame_encode(f, buf, sizeof buf);
    if (n > 0) send_control(c, buf, (size_t)n);
}

/* A 0.35 control frame: type ‖ body. */
static void send_frame035(struct conn *c, enum iroh_relay035_frame_type type, const void *body,
                          size_t len)
{
    uint8_t buf[1 + 256];
    if (len > sizeof buf - 1) len = sizeof buf - 1;
    buf[0] = (uint8_t)type;
    memcpy(buf + 1, body, len);
    send_control(c, buf, 1 + len);
}

static void send_status(struct conn *c, enum iroh_relay_status status)
{
    struct iroh_relay_frame f = {0};
    if (c->version == IROH_RELAY_V035) return; /* 0.35 has no such news */
    if (c->version == IROH_RELAY_V2) {
        f.type = IROH_RELAY_STATUS;
        f.status = (uint8_t)status;
    } else {
        /* v1 knows Health text only for problems: no news of being rate limited (as
         * upstream) nor of being healthy again. */
        if (status != IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED) return;
        f.type = IROH_RELAY_HEALTH;
        f.data = (const uint8_t *)iroh_relay_status_text(status);
        f.data_len = strlen((const char *)f.data);
    }
    send_frame(c, &f);
}

/* Closes once everything queued is written (or the write timeout fires). */
static void close_after_flush(struct conn *c)
{
    if (c->state == S_CLOSING) return;
    c->close_after_flush = true;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    if (!c->out_head) conn_close(c, false);
}

/* Ends a WebSocket connection for a protocol error: a Close frame, then close. */
static void fail_ws(struct conn *c, uint16_t code, const char *why)
{
    char k[IROH_KEY_SHORT_LEN + 1] = "-";
    if (c->state == S_RELAY) key_short(&c->key, k);
    log_debug("relay", "closing connection of %s: %s", k, why);
    c->srv->m.http_connections_errored++;
    if (!c->derp) {
        uint8_t payload[IROH_WS_MAX_CONTROL_PAYLOAD];
        size_t n = iroh_ws_close_payload(code, why, payload);
        send_ws(c, IROH_WS_CLOSE, payload, n, false);
    }
    close_after_flush(c);
}

static void deny(struct conn *c, const char *reason)
{
    c->srv->m.auth_denied++;
    if (c->version == IROH_RELAY_V035) { /* 0.35 says so in a Health frame */
        static const char text[] = "not authenticated";
        send_frame035(c, IROH_RELAY035_HEALTH, text, sizeof text - 1);
    } else {
        struct iroh_relay_frame f = {.type = IROH_RELAY_SERVER_DENIES_AUTH,
                                     .data = (const uint8_t *)reason,
                                     .data_len = strlen(reason)};
        send_frame(c, &f);
    }
    close_after_flush(c);
}

/* --- HTTP --------------------------------------------------------------------------------- */

/* Answers one request and closes after it. */
static void respond(struct conn *c, int status, const char *reason, const char *headers,
                    const char *content_type, const char *body)
{
    char head[1536], length[48] = "";
    size_t blen = body ? strlen(body) : 0;
    if (status != 204) /* a 204 carries no Content-Length (RFC 9110 §8.6) */
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", blen);
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n%s%s%s%s%s%sConnection: close\r\n\r\n",
                     status, reason, c->kind == L_METRICS ? "" : RELAY_HEADERS,
                     headers ? headers : "", content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "", length);
    if (n > 0 && (size_t)n < sizeof head) {
        const uint8_t *pieces[2] = {(const uint8_t *)head, (const uint8_t *)body};
        size_t lens[2] = {(size_t)n, blen};
        send_pieces(c, pieces, lens, blen ? 2 : 1, false);
    }
    close_after_flush(c);
}

static bool captive_challenge_ok(const char *v, size_t len)
{
    if (len == 0 || len >= 64) return false;
    for (size_t i = 0; i < len; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static void serve_generate_204(struct conn *c, const struct iroh_http_request *req)
{
    const struct iroh_http_header *ch =
        iroh_http_find_header(req->headers, req->num_headers, "X-Iroh-Challenge");
    char hdr[128] = "";
    if (ch && captive_challenge_ok(ch->value, ch->value_len))
        snprintf(hdr, sizeof hdr, "X-Iroh-Response: response %.*s\r\n", (int)ch->value_len,
                 ch->value);
    respond(c, 204, "No Content", hdr, NULL, NULL);
}

static void serve_metrics(struct conn *c)
{
    size_t need = relay_metrics_render(&c->srv->m, NULL, 0) + 1;
    char *body = malloc(need);
    if (!body) {
        respond(c, 500, "Internal Server Error", NULL, NULL, NULL);
        return;
    }
    relay_metrics_render(&c->srv->m, body, need);
    respond(c, 200, "OK", NULL, "application/openmetrics-text; version=1.0.0; charset=utf-8", body);
    free(body);
}

static void start_relay(struct conn *c, const struct iroh_http_request *req,
                        const struct iroh_relay_upgrade *up);

/* Handles a complete request head. Returns the bytes it consumed. */
static void handle_request(struct conn *c, const struct iroh_http_request *req, size_t head,
                           size_t len)
{
    size_t plen = iroh_http_target_path_len(req->target, req->target_len);
    bool get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
#define PATH_IS(p) (plen == sizeof(p) - 1 && memcmp(req->target, p, plen) == 0)
    if (c->kind == L_METRICS) {
        serve_metrics(c);
        return;
    }
    if (get && PATH_IS("/generate_204") && c->kind != L_RELAY_TLS) {
        serve_generate_204(c, req);
        return;
    }
    if (c->kind == L_CAPTIVE || !get) {
        respond(c, 404, "Not Found", NULL, "text/plain; charset=utf-8", "Not Found");
        return;
    }
    bool derp_path = PATH_IS("/derp"); /* 0.35 clients may use it */
    if ((PATH_IS(IROH_RELAY_PATH) || derp_path) && c->srv->cfg->enable_relay) {
        struct iroh_relay_upgrade up;
        const char *why = NULL;
        bool need_version = false;
        int rc = iroh_relay_upgrade_check(req, &up, &why, &need_version);
        if (derp_path && (rc != IROH_OK || up.version != IROH_RELAY_V035)) {
            respond(c, 404, "Not Found", NULL, "text/plain; charset=utf-8", "Not Found");
            return;
        }
        if (rc != IROH_OK) {
            c->srv->m.http_connections_errored++;
            respond(c, 400, "Bad Request", need_version ? "Sec-WebSocket-Version: 13\r\n" : NULL,
                    "text/plain; charset=utf-8", why);
            return;
        }
        if (len > head) { /* bytes before our 101: upstream drops such a client */
            c->srv->m.http_connections_errored++;
            conn_close(c, true);
            return;
        }
        start_relay(c, req, &up);
    } else if (PATH_IS("/") || PATH_IS("/index.html")) {
        respond(c, 200, "OK", NULL, "text/html; charset=utf-8", INDEX_HTML);
    } else if (PATH_IS("/ping")) {
        respond(c, 200, "OK", "Access-Control-Allow-Origin: *\r\n", NULL, NULL);
    } else if (PATH_IS("/robots.txt")) {
        respond(c, 200, "OK", NULL, "text/plain", "User-agent: *\nDisallow: /\n");
    } else if (PATH_IS("/healthz")) {
        respond(c, 200, "OK", NULL, "application/json",
                "{\"status\":\"ok\",\"version\":\"" IROHD_VERSION "\",\"git_hash\":\"unknown\"}");
    } else {
        respond(c, 404, "Not Found", NULL, "text/plain; charset=utf-8", "Not Found");
    }
#undef PATH_IS
}

/* --- the relay protocol ----------------------------------------------------------------- */

/* The routing table of c's protocol generation. */
static struct keymap *clients_of(const struct conn *c)
{
    return c->version == IROH_RELAY_V035 ? &c->srv->clients035 : &c->srv->clients;
}

static void send_gone(const uint8_t key[32], void *value, void *ctx)
{
    struct conn *gone = ctx;
    (void)value;
    struct client *e = keymap_get(clients_of(gone), key);
    if (!e || !e->conns) return;
    /* EndpointGone (1.x) and NodeGone (0.35) are both type 8 ‖ id. */
    struct iroh_relay_frame f = {.type = IROH_RELAY_ENDPOINT_GONE};
    memcpy(f.key, gone->key.bytes, IROH_KEY_LEN);
    send_frame(e->conns, &f);
}

static void register_client(struct conn *c)
{
    struct relay_server *s = c->srv;
    struct keymap *table = clients_of(c);
    struct client *e = keymap_get(table, c->key.bytes);
    char k[IROH_KEY_SHORT_LEN + 1];
    key_short(&c->key, k);
    if (e && e->conns && c->version == IROH_RELAY_V035) {
        log_debug("relay", "%s connected again: the older 0.35 connection is closed", k);
        conn_close(e->conns, false);
        e = keymap_get(table, c->key.bytes);
    }
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e || keymap_put(table, c->key.bytes, e) < 0) {
            free(e);
            conn_close(c, true);
            return;
        }
        e->key = c->key;
        s->m.clients++;
    } else if (e->conns) {
        log_debug("relay", "%s connected again: the older connection becomes inactive", k);
        s->m.clients_inactive_added++;
        send_status(e->conns, IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED);
    }
    c->client = e;
    c->next_same = e->conns;
    e->conns = c;
    c->state = S_RELAY;
    s->m.accepts++;
    log_debug("relay", "client %s registered (v%d)", k, c->version);
    if (c->version != IROH_RELAY_V035) { /* a 0.35 client gets no confirmation */
        struct iroh_relay_frame ok = {.type = IROH_RELAY_SERVER_CONFIRMS_AUTH};
        send_frame(c, &ok);
    }
    schedule_ping(c);
}

static void unregister_client(struct conn *c)
{
    struct relay_server *s = c->srv;
    struct client *e = c->client;
    c->client = NULL;
    bool was_active = e->conns == c;
    for (struct conn **p = &e->conns; *p; p = &(*p)->next_same) {
        if (*p == c) {
            *p = c->next_same;
            break;
        }
    }
    c->next_same = NULL;
    if (!was_active) {
        s->m.clients_inactive_removed++;
        return;
    }
    s->m.disconnects++;
    if (e->conns) { /* the most recent inactive connection takes over */
        send_status(e->conns, IROH_RELAY_STATUS_HEALTHY);
        return;
    }
    keymap_remove(clients_of(c), e->key.bytes);
    free(e);
    s->m.clients--;
    keymap_each(&c->sent_to, send_gone, c);
}

static void access_decided(struct conn *c, bool allowed)
{
    if (!allowed) {
        char k[IROH_KEY_SHORT_LEN + 1];
        key_short(&c->key, k);
        log_info("relay", "client %s refused by access control", k);
        deny(c, RELAY_DENY_REASON);
        return;
    }
    register_client(c);
}

static void on_access_answer(void *ctx, bool allowed)
{
    struct conn *c = ctx;
    c->access = NULL;
    access_decided(c, allowed);
    /* Frames that arrived while we waited. */
    if (c->state == S_RELAY && c->in_len) {
        size_t used = process(c, c->in, c->in_len);
        flush_pending(c->srv);
        if (c->state != S_CLOSING) {
            memmove(c->in, c->in + used, c->in_len - used);
            c->in_len -= used;
        }
    }
}

static void authenticated(struct conn *c)
{
    c->state = S_ACCESS;
    switch (relay_access_check(c->srv->loop, c->srv->cfg, &c->key, c->token, on_access_answer, c,
                               &c->access)) {
    case RELAY_ACCESS_ALLOWED: access_decided(c, true); break;
    case RELAY_ACCESS_DENIED: access_decided(c, false); break;
    case RELAY_ACCESS_PENDING: break;
    }
}

static void start_relay(struct conn *c, const struct iroh_http_request *req,
                        const struct iroh_relay_upgrade *up)
{
    char token[512];
    if (iroh_relay_request_token(req, token, sizeof token) >= 0) c->token = strdup(token);
    struct iroh_relay_ekm_auth ekm_auth;
    bool have_ekm = false;
    if (up->ekm_header) {
        if (iroh_relay_ekm_header_parse(up->ekm_header, up->ekm_header_len, &ekm_auth) < 0) {
            c->srv->m.http_connections_errored++;
            conn_close(c, true); /* as upstream: a bad header is a hard failure */
            return;
        }
        have_ekm = true;
    }
    char answer[512];
    int n = iroh_relay_upgrade_answer(up, RELAY_HEADERS, answer, sizeof answer);
    if (n < 0) {
        conn_close(c, true);
        return;
    }
    c->version = up->version;
    c->upgraded = true;
    c->derp = !up->websocket;
    send_text(c, answer, (size_t)n);
    if (c->state == S_CLOSING) return;
    if (c->version == IROH_RELAY_V035) { /* the client opens with ClientInfo */
        c->state = S_CHALLENGE;
        return;
    }
    if (have_ekm && c->tls) {
        uint8_t ekm[IROH_RELAY_EKM_LEN];
        if (relay_tls_export(c->tls, IROH_RELAY_EKM_LABEL, ekm_auth.key.bytes, IROH_KEY_LEN, ekm) ==
                IROH_OK &&
            iroh_relay_ekm_auth_verify(&ekm_auth, ekm) == IROH_OK) {
            c->key = ekm_auth.key;
            authenticated(c);
            return;
        }
    }
    struct iroh_relay_frame ch = {.type = IROH_RELAY_SERVER_CHALLENGE};
    randombytes_buf(c->challenge, sizeof c->challenge);
    memcpy(ch.challenge, c->challenge, sizeof c->challenge);
    c->state = S_CHALLENGE;
    send_frame(c, &ch);
}

static void handle_datagram(struct conn *c, uint8_t *frame, size_t len,
                            const struct iroh_relay_frame *f)
{
    struct relay_server *s = c->srv;
    s->m.send_packets_recv++;
    struct client *e = keymap_get(clients_of(c), f->key);
    struct conn *dst = e ? e->conns : NULL;
    if (!dst || dst->out_datagrams + dst->pend_frames >= s->cfg->queue_frames ||
        dst->out_bytes + dst->pend_bytes >= s->cfg->queue_bytes) {
        s->m.send_packets_dropped++;
        return;
    }
    /* Remember the destination for EndpointGone (the last one is cached: most clients talk
     * to few peers at a time). */
    if (!c->has_last_dst || memcmp(c->last_dst, f->key, IROH_KEY_LEN) != 0) {
        if (keymap_put(&c->sent_to, f->key, NULL) < 0) return;
        memcpy(c->last_dst, f->key, IROH_KEY_LEN);
        c->has_last_dst = true;
    }
    iroh_relay_datagram_to_recv(frame, len, c->key.bytes);
    s->m.send_packets_sent++;
    forward(dst, frame, len);
}

/* One 0.35 frame: type ‖ body (compat-0.35-and-paths.md §1.2.4). */
static void handle_frame035(struct conn *c, uint8_t *frame, size_t len)
{
    struct relay_server *s = c->srv;
    uint8_t type = frame[0];
    const uint8_t *body = frame + 1;
    size_t blen = len - 1;
    if (c->state == S_CHALLENGE) {
        uint64_t version = 0;
        if (type != IROH_RELAY035_CLIENT_INFO) {
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "expected ClientInfo");
            return;
        }
        int rc = iroh_relay035_client_info_verify(body, blen, &c->key, &version);
        if (rc == IROH_ECORRUPT) {
            deny(c, "signature invalid");
            return;
        }
        if (rc < 0 || version != IROH_RELAY035_PROTOCOL_VERSION) {
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "bad ClientInfo");
            return;
        }
        authenticated(c);
        return;
    }
    if (c->state != S_RELAY) return;
    schedule_ping(c);
    switch (type) {
    case IROH_RELAY035_SEND_PACKET: {
        if (blen < IROH_KEY_LEN) break;
        s->m.send_packets_recv++;
        struct client *e = keymap_get(clients_of(c), body);
        struct conn *dst = e ? e->conns : NULL;
        if (!dst || dst->out_datagrams + dst->pend_frames >= s->cfg->queue_frames ||
            dst->out_bytes + dst->pend_bytes >= s->cfg->queue_bytes) {
            s->m.send_packets_dropped++;
            return;
        }
        if (keymap_put(&c->sent_to, body, NULL) < 0) return;
        frame[0] = IROH_RELAY035_RECV_PACKET; /* in place: same length */
        memcpy(frame + 1, c->key.bytes, IROH_KEY_LEN);
        s->m.send_packets_sent++;
        forward(dst, frame, len);
        return;
    }
    case IROH_RELAY035_PING:
        if (blen != IROH_RELAY_PING_LEN) break;
        s->m.got_ping++;
        s->m.sent_pong++;
        send_frame035(c, IROH_RELAY035_PONG, body, blen);
        return;
    case IROH_RELAY035_PONG:
        if (blen != IROH_RELAY_PING_LEN) break;
        if (c->ping_outstanding && memcmp(body, c->ping_data, blen) == 0)
            c->ping_outstanding = false;
        return;
    case IROH_RELAY035_CLIENT_INFO:
    case IROH_RELAY035_RECV_PACKET:
    case IROH_RELAY035_KEEP_ALIVE:
    case IROH_RELAY035_NOTE_PREFERRED:
    case IROH_RELAY035_NODE_GONE:
    case IROH_RELAY035_RESTARTING:
        s->m.other_packets_recv++; /* known, ignored, as upstream 0.35 */
        return;
    default: break; /* Health from a client, unknown types, malformed bodies */
    }
    s->m.unknown_frames++;
    fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "bad 0.35 frame");
}

/* One relay frame (a whole binary message). */
static void handle_relay_frame(struct conn *c, uint8_t *frame, size_t len)
{
    struct relay_server *s = c->srv;
    if (c->version == IROH_RELAY_V035) {
        if (len == 0) {
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "empty frame");
            return;
        }
        handle_frame035(c, frame, len);
        return;
    }
    struct iroh_relay_frame f;
    int rc = iroh_relay_frame_decode(frame, len, &f);
    if (rc < 0) {
        s->m.unknown_frames++;
        fail_ws(c, rc == IROH_ETOOBIG ? IROH_WS_CLOSE_TOO_BIG : IROH_WS_CLOSE_PROTOCOL_ERROR,
                "malformed relay frame");
        return;
    }
    if (c->state == S_CHALLENGE) {
        if (f.type != IROH_RELAY_CLIENT_AUTH) {
            s->m.unknown_frames++;
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "expected ClientAuth");
            return;
        }
        if (iroh_relay_client_auth_verify(c->challenge, &f) != IROH_OK) {
            deny(c, "signature invalid");
            return;
        }
        memcpy(c->key.bytes, f.key, IROH_KEY_LEN);
        authenticated(c);
        return;
    }
    if (c->state != S_RELAY) return;
    schedule_ping(c);
    switch (f.type) {
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM:
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH: handle_datagram(c, frame, len, &f); return;
    case IROH_RELAY_PING: {
        s->m.got_ping++;
        s->m.other_packets_recv++;
        struct iroh_relay_frame pong = {.type = IROH_RELAY_PONG};
        memcpy(pong.ping, f.ping, sizeof pong.ping);
        s->m.sent_pong++;
        send_frame(c, &pong);
        return;
    }
    case IROH_RELAY_PONG:
        s->m.other_packets_recv++;
        if (c->ping_outstanding && memcmp(f.ping, c->ping_data, sizeof f.ping) == 0) {
            c->ping_outstanding = false;
            c->rtt_ms = uv_now(s->loop) - c->ping_sent_at;
        }
        return;
    default:
        s->m.unknown_frames++;
        fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "unexpected frame type");
        return;
    }
}

/* One WebSocket frame with its (unmasked) payload. */
static void handle_ws_frame(struct conn *c, const struct iroh_ws_header *h, uint8_t *payload)
{
    size_t len = (size_t)h->payload_len;
    switch (h->opcode) {
    case IROH_WS_BINARY:
        if (c->in_fragment) {
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
            return;
        }
        if (h->fin) {
            handle_relay_frame(c, payload, len);
            return;
        }
        c->in_fragment = true;
        c->frag_len = 0;
        __attribute__((fallthrough)); /* keep the first piece */
    case IROH_WS_CONTINUATION:
        if (!c->in_fragment) {
            fail_ws(c, IROH_WS_CLOSE_PROTOCOL_ERROR, "continuation without a message");
            return;
        }
        if (!c->frag) { /* before authentication only a handshake frame's worth */
            c->frag_cap = c->state == S_RELAY ? MAX_WS_PAYLOAD : MAX_HANDSHAKE_CARRY;
            if (!(c->frag = malloc(c->frag_cap))) {
                conn_close(c, true);
                return;
            }
        }
        if (c->frag_len + len > c->frag_cap) {
            fail_ws(c, IROH_WS_CLOSE_TOO_BIG, "message too big");
            return;
        }
        memcpy(c->frag + c->frag_len, payload, len);
        c->frag_len += len;
        if (h->fin) {
            c->in_fragment = false;
            handle_relay_frame(c, c->frag, c->frag_len);
            flush_pending(c->srv); /* a frame forwarded from c->frag points into it */
            if (c->state != S_CLOSING) {
                free(c->frag);
                c->frag = NULL;
            }
        }
        return;
    case IROH_WS_TEXT: log_debug("relay", "ignoring a text message"); return;
    case IROH_WS_PING: /* answered within the control queue, as relay Pings */
        if (c->out_control >= c->srv->cfg->queue_frames) {
            c->srv->m.other_packets_dropped++;
            return;
        }
        send_ws(c, IROH_WS_PONG, payload, len, false);
        return;
    case IROH_WS_PONG: return;
    case IROH_WS_CLOSE:
        send_ws(c, IROH_WS_CLOSE, payload, len < 2 ? len : 2, false);
        close_after_flush(c);
        return;
    }
}

/* Processes buf[0..len) (modifying it: unmasking, forwarding in place). Returns the bytes
 * consumed; the rest is an incomplete head or frame. */
static size_t process(struct conn *c, uint8_t *buf, size_t len)
{
    size_t at = 0;
    while (at < len && c->state != S_CLOSING && !c->close_after_flush) {
        if (c->state == S_HTTP) {
            struct iroh_http_request req;
            int head = iroh_http_parse_request((const char *)buf, len, MAX_HEAD, &req);
            if (head == 0) return 0;
            if (head < 0) {
                c->srv->m.http_connections_errored++;
                if (head == IROH_ETOOBIG)
                    respond(c, 431, "Request Header Fields Too Large", NULL, NULL, NULL);
                else
                    respond(c, 400, "Bad Request", NULL, NULL, NULL);
                return len;
            }
            handle_request(c, &req, (size_t)head, len);
            return len;
        }
        if (c->state == S_ACCESS) return at; /* keep it until access is decided */
        if (c->derp) {                       /* type u8 ‖ length u32 ‖ body */
            if (len - at < IROH_RELAY035_HEADER_LEN) break;
            const uint8_t *p = buf + at;
            uint32_t blen =
                (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
            if (blen > MAX_WS_PAYLOAD - 1) {
                fail_ws(c, 0, "frame too big");
                return len;
            }
            if (len - at - IROH_RELAY035_HEADER_LEN < blen) break;
            buf[at + 4] = p[0]; /* type ‖ body, contiguous */
            uint8_t *frame = buf + at + 4;
            at += IROH_RELAY035_HEADER_LEN + blen;
            handle_relay_frame(c, frame, 1 + (size_t)blen);
            continue;
        }
        struct iroh_ws_header h;
        int hl = iroh_ws_parse_header(buf + at, len - at, IROH_WS_SERVER, MAX_WS_PAYLOAD, &h);
        if (hl == 0) break;
        if (hl < 0) {
            fail_ws(c, hl == IROH_ETOOBIG ? IROH_WS_CLOSE_TOO_BIG : IROH_WS_CLOSE_PROTOCOL_ERROR,
                    hl == IROH_ETOOBIG ? "frame too big" : "invalid websocket frame");
            return len;
        }
        if (len - at - (size_t)hl < h.payload_len) break;
        uint8_t *payload = buf + at + hl;
        iroh_ws_mask(payload, (size_t)h.payload_len, h.mask, 0);
        at += (size_t)hl + (size_t)h.payload_len;
        handle_ws_frame(c, &h, payload);
    }
    return at;
}

/* What a connection may leave unprocessed: a request head; before authentication only a
 * handshake frame (ClientAuth, ClientInfo: about 100 bytes), so an unauthenticated flood holds
 * little memory; afterwards one whole frame. */
static size_t carry_limit(const struct conn *c)
{
    if (c->state == S_HTTP) return MAX_HEAD;
    return c->state == S_CHALLENGE ? MAX_HANDSHAKE_CARRY : MAX_CARRY;
}

/* Appends to the carried input (the caller keeps within carry_limit). */
static int carry(struct conn *c, const uint8_t *data, size_t len)
{
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 4096;
        while (cap < c->in_len + len)
            cap *= 2;
        if (cap > carry_limit(c)) cap = carry_limit(c);
        uint8_t *grown = realloc(c->in, cap);
        if (!grown) return IROH_ENOMEM;
        c->in = grown;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    return IROH_OK;
}

/* The client sent more than fits a head or a frame. */
static void input_overflow(struct conn *c)
{
    if (c->upgraded)
        fail_ws(c, IROH_WS_CLOSE_TOO_BIG, "input too large");
    else
        respond(c, 431, "Request Header Fields Too Large", NULL, NULL, NULL);
}

static void count_rate(struct conn *c, size_t len)
{
    struct relay_server *s = c->srv;
    if (!s->cfg->rx_bytes_per_second || c->state != S_RELAY) return;
    c->rx_tokens -= (int64_t)len;
    if (c->rx_tokens > 0 || c->throttled) return;
    c->throttled = true;
    s->m.bytes_rx_ratelimited_total += len;
    if (!c->rate_notice_sent) {
        c->rate_notice_sent = true;
        s->m.conns_rx_ratelimited_total++;
        send_status(c, IROH_RELAY_STATUS_RATE_LIMITED);
    }
}

/* Plaintext from the client. Complete frames are processed where they lie; a partial one is
 * carried in c->in, which is filled only up to the end of that frame's bound before it is
 * processed, so it never holds more than one head or frame. Returns -1 once closing. */
static int on_plain(void *ctx, uint8_t *data, size_t len)
{
    struct conn *c = ctx;
    count_rate(c, len);
    while (len > 0) {
        if (c->state == S_CLOSING) return -1;
        if (c->close_after_flush) return 0;
        if (c->in_len == 0) {
            size_t used = process(c, data, len);
            flush_pending(c->srv);
            if (c->state == S_CLOSING) return -1;
            if (c->close_after_flush || used == len) return 0;
            data += used;
            len -= used;
            if (len > carry_limit(c)) {
                input_overflow(c);
                return -1;
            }
            if (carry(c, data, len) < 0) {
                conn_close(c, true);
                return -1;
            }
            return 0;
        }
        size_t room = carry_limit(c) - c->in_len;
        if (room == 0) {
            input_overflow(c);
            return -1;
        }
        size_t take = len < room ? len : room;
        if (carry(c, data, take) < 0) {
            conn_close(c, true);
            return -1;
        }
        data += take;
        len -= take;
        size_t used = process(c, c->in, c->in_len);
        flush_pending(c->srv);
        if (c->state == S_CLOSING) return -1;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    if (c->in_len == 0 && c->in_cap > 4096) { /* an idle client keeps no big buffer */
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->srv->read_buf, READ_BUF);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    struct relay_server *s = c->srv;
    if (n == 0) return;
    if (n < 0) {
        conn_close(c, n != UV_EOF && n != UV_ECONNRESET);
        return;
    }
    s->m.bytes_recv += (uint64_t)n;
    if (c->tls) {
        int rc = relay_tls_feed(c->tls, (uint8_t *)buf->base, (size_t)n, s->plain_buf,
                                sizeof s->plain_buf, on_plain, c);
        if (rc < 0 && c->state != S_CLOSING) {
            if (rc == IROH_EPROTO) s->m.http_connections_errored++;
            conn_close(c, rc == IROH_EPROTO);
        }
    } else {
        on_plain(c, (uint8_t *)buf->base, (size_t)n);
    }
    if (c->state != S_CLOSING && c->throttled && c->reading) {
        uv_read_stop(st);
        c->reading = false;
    }
}

/* --- connection lifecycle --------------------------------------------------------------- */

/* One of the server's handles finished closing; the last one frees the server. */
static void server_handle_gone(struct relay_server *s)
{
    if (--s->open_handles > 0) return;
    keymap_free(&s->clients);
    keymap_free(&s->clients035);
    relay_tls_creds_free(s->creds);
    free(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct relay_server *s = c->srv;
    while (c->out_head) {
        struct outbuf *b = c->out_head;
        c->out_head = b->next;
        free(b);
    }
    relay_tls_free(c->tls);
    keymap_free(&c->sent_to);
    free(c->in);
    free(c->frag);
    free(c->token);
    free(c);
    server_handle_gone(s);
}

static void conn_close(struct conn *c, bool errored)
{
    if (c->state == S_CLOSING) return;
    struct relay_server *s = c->srv;
    if (c->client) unregister_client(c);
    if (c->access) relay_access_cancel(c->access);
    c->access = NULL;
    c->pend_frames = 0; /* flush_pending skips it */
    c->state = S_CLOSING;
    if (errored) s->m.http_connections_errored++;
    s->m.http_connections_closed++;
    s->m.connections--;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* accept_conn_limit: a token bucket of new connections (always true without a limit). */
static bool accept_allowed(struct relay_server *s)
{
    uint32_t limit = s->cfg->accept_conn_limit;
    if (!limit) return true;
    uint64_t now = uv_now(s->loop);
    s->accept_tokens += (double)(now - s->accept_refill_at) * limit / 1000.0;
    s->accept_refill_at = now;
    if (s->accept_tokens > s->cfg->accept_conn_burst) s->accept_tokens = s->cfg->accept_conn_burst;
    if (s->accept_tokens < 1.0) return false;
    s->accept_tokens -= 1.0;
    return true;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct relay_server *s = l->srv;
    if (status < 0) return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    c->kind = l->kind;
    uv_tcp_init(s->loop, &c->tcp);
    c->tcp.data = c;
    s->open_handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 ||
        s->m.connections >= s->cfg->max_connections) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    if (l->kind != L_METRICS && !accept_allowed(s)) {
        s->m.accepts_ratelimited++;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->m.connections++;
    s->m.http_connections++;
    uv_tcp_nodelay(&c->tcp, 1);
    c->accepted_at = c->write_progress_at = c->refill_at = uv_now(s->loop);
    c->rx_tokens = s->cfg->rx_max_burst_bytes;
    if (l->kind == L_RELAY_TLS && relay_tls_new(s->creds, tls_push, c, &c->tls) < 0) {
        conn_close(c, true);
        return;
    }
    c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
}

/* --- the sweep: timeouts, keep-alive, rate-limit refill ---------------------------------- */

static void send_ping(struct conn *c, uint64_t now)
{
    const struct relay_config *cfg = c->srv->cfg;
    struct iroh_relay_frame f = {.type = IROH_RELAY_PING};
    randombytes_buf(f.ping, sizeof f.ping);
    memcpy(c->ping_data, f.ping, sizeof f.ping);
    if (c->version == IROH_RELAY_V035) { /* type 12; a fixed pong timeout, as 0.35 */
        c->ping_outstanding = true;
        c->ping_sent_at = now;
        c->pong_deadline = now + cfg->pong_timeout_ms;
        schedule_ping(c);
        send_frame035(c, IROH_RELAY035_PING, f.ping, sizeof f.ping);
        return;
    }
    c->ping_outstanding = true;
    c->ping_sent_at = now;
    uint64_t timeout = cfg->pong_timeout_ms;
    if (c->rtt_ms) {
        uint64_t floor = cfg->pong_timeout_ms < 500 ? cfg->pong_timeout_ms : 500;
        timeout = 3 * c->rtt_ms;
        if (timeout < floor) timeout = floor;
        if (timeout > cfg->pong_timeout_ms) timeout = cfg->pong_timeout_ms;
    }
    c->pong_deadline = now + timeout;
    schedule_ping(c);
    send_frame(c, &f);
}

static void sweep_conn(struct conn *c, uint64_t now)
{
    const struct relay_config *cfg = c->srv->cfg;
    if (c->state == S_CLOSING) return;
    if (c->state != S_RELAY && now - c->accepted_at > cfg->establish_timeout_ms) {
        log_debug("relay", "connection not established in time");
        conn_close(c, true);
        return;
    }
    if (c->out_head && now - c->write_progress_at > cfg->write_timeout_ms) {
        log_debug("relay", "client does not read: dropped");
        conn_close(c, true);
        return;
    }
    if (c->state != S_RELAY || c->close_after_flush) return;
    if (c->ping_outstanding && now > c->pong_deadline) {
        log_debug("relay", "no pong: dropped");
        conn_close(c, true);
        return;
    }
    if (!c->ping_outstanding && now >= c->next_ping_at) send_ping(c, now);
    if (cfg->rx_bytes_per_second && now - c->refill_at >= SWEEP_MS) {
        uint64_t periods = (now - c->refill_at) / SWEEP_MS;
        c->refill_at += periods * SWEEP_MS;
        int64_t add = (int64_t)(periods * cfg->rx_bytes_per_second * SWEEP_MS / 1000);
        c->rx_tokens += add;
        if (c->rx_tokens > (int64_t)cfg->rx_max_burst_bytes) c->rx_tokens = cfg->rx_max_burst_bytes;
        if (c->throttled && c->rx_tokens > 0) {
            c->throttled = false;
            c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
        }
    }
}

static void on_sweep(uv_timer_t *t)
{
    struct relay_server *s = t->data;
    uint64_t now = uv_now(s->loop);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        sweep_conn(c, now);
    }
}

/* --- start and stop ------------------------------------------------------------------------ */

static int parse_addr(const char *text, struct sockaddr_storage *out)
{
    char host[RELAY_ADDR_LEN];
    const char *colon = strrchr(text, ':');
    if (!colon) return IROH_EINVAL;
    int port = atoi(colon + 1);
    size_t hl = (size_t)(colon - text);
    if (hl >= sizeof host || port < 0 || port > 65535) return IROH_EINVAL;
    memcpy(host, text, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        return uv_ip6_addr(host + 1, port, (struct sockaddr_in6 *)out) == 0 ? IROH_OK : IROH_EINVAL;
    }
    return uv_ip4_addr(host, port, (struct sockaddr_in *)out) == 0 ? IROH_OK : IROH_EINVAL;
}

static const char *kind_name(enum listener_kind k)
{
    switch (k) {
    case L_RELAY: return "relay (http)";
    case L_RELAY_TLS: return "relay (https)";
    case L_CAPTIVE: return "captive portal check (http)";
    case L_METRICS: return "metrics (http)";
    }
    return "?";
}

static int add_listener(struct relay_server *s, const char *addr, enum listener_kind kind,
                        char *err, size_t cap)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (parse_addr(addr, &ss) < 0) {
        snprintf(err, cap, "bad listen address '%s' (want ip:port or [ipv6]:port)", addr);
        return IROH_EINVAL;
    }
    struct listener *l = &s->listeners[s->num_listeners];
    uv_tcp_init(s->loop, &l->tcp);
    l->tcp.data = l;
    l->srv = s;
    l->kind = kind;
    s->num_listeners++;
    s->open_handles++;
    int rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&l->tcp, 4096, on_connection);
    if (rc < 0) {
        snprintf(err, cap, "cannot listen on %s: %s", addr, uv_strerror(rc));
        return IROH_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    char ip[64] = "?";
    int port = 0;
    uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &blen);
    if (bound.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&bound, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
        log_info("relay", "%s listening on [%s]:%d", kind_name(kind), ip, port);
    } else {
        uv_ip4_name((struct sockaddr_in *)&bound, ip, sizeof ip);
        port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
        log_info("relay", "%s listening on %s:%d", kind_name(kind), ip, port);
    }
    return IROH_OK;
}

static void on_handle_closed(uv_handle_t *h)
{
    server_handle_gone(h->data);
}

static void on_listener_closed(uv_handle_t *h)
{
    struct listener *l = h->data;
    h->data = l->srv;
    on_handle_closed(h);
}

int relay_server_start(uv_loop_t *loop, const struct relay_config *cfg, struct relay_server **out,
                       char *err, size_t cap)
{
    struct relay_server *s = calloc(1, sizeof *s);
    if (!s) return IROH_ENOMEM;
    s->loop = loop;
    s->cfg = cfg;
    randombytes_buf(&s->rng, sizeof s->rng);
    s->rng |= 1;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->open_handles = 1;
    s->accept_tokens = cfg->accept_conn_burst; /* a full bucket at start */
    s->accept_refill_at = uv_now(loop);
    int rc = IROH_OK;
    if (cfg->tls) rc = relay_tls_creds_load(cfg->cert_path, cfg->key_path, &s->creds, err, cap);
    if (rc == IROH_OK && cfg->tls)
        rc = add_listener(s, cfg->https_bind_addr, L_RELAY_TLS, err, cap);
    if (rc == IROH_OK)
        rc = add_listener(s, cfg->http_bind_addr, cfg->tls ? L_CAPTIVE : L_RELAY, err, cap);
    if (rc == IROH_OK && cfg->enable_metrics)
        rc = add_listener(s, cfg->metrics_bind_addr, L_METRICS, err, cap);
    if (rc < 0) {
        relay_server_stop(s);
        return rc;
    }
    uv_timer_start(&s->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    *out = s;
    return IROH_OK;
}

void relay_server_stop(struct relay_server *s)
{
    if (s->stopping) return;
    s->stopping = true;
    while (s->conns)
        conn_close(s->conns, false);
    for (size_t i = 0; i < s->num_listeners; i++)
        uv_close((uv_handle_t *)&s->listeners[i].tcp, on_listener_closed);
    uv_close((uv_handle_t *)&s->sweep, on_handle_closed);
}

const struct relay_metrics *relay_server_metrics(const struct relay_server *s)
{
    return &s->m;
}
