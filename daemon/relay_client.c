/* relay_client.c — a connection to an iroh relay server that keeps itself up; see
 * relay_client.h. */
#include "daemon/relay_client.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdarg.h>
#include <iroh/error.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/http1.h"
#include "core/relay_proto.h"
#include "core/websocket.h"
#include "daemon/log.h"

#define CONNECT_TIMEOUT_MS 10000
#define PING_INTERVAL_MS 15000
#define PONG_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 16000
/* Unsent output beyond which datagrams are dropped: QUIC's congestion control sees the loss
 * instead of a queue that only grows the round trip. */
#define OUT_MAX (2u * 1024 * 1024)
/* Datagrams sent while connecting wait for the connection (as iroh): at most this many bytes,
 * for at most HELD_MS. A dial through a relay opened on demand then needs no retransmission. */
#define HELD_MAX (256u * 1024)
#define HELD_MS 3000
#define HEAD_MAX 8192 /* the 101 answer's head */
#define READS_PER_WAKEUP 16
#define IN_CHUNK 65536
#define MAX_ADDRS 4 /* resolved addresses tried one after the other */

enum state {
    ST_WAITING,    /* for the timer: the next attempt */
    ST_RESOLVING,  /* the host name */
    ST_CONNECTING, /* TCP */
    ST_TLS,        /* the TLS handshake */
    ST_UPGRADE,    /* waiting for the 101 */
    ST_HANDSHAKE,  /* the relay's challenge and verdict */
    ST_CONNECTED,
    ST_CLOSED, /* relay_client_close was called */
};

/* One TCP connection's socket and poll handle; freed when the handle has closed. */
struct conn_io {
    uv_poll_t poll;
    int fd;
    struct relay_client *rc;
};

struct relay_client {
    uv_loop_t *loop;
    char url[IROH_RELAY_URL_MAX + 1];
    char host[256];      /* for DNS and TLS (no brackets, no trailing dot for SNI) */
    char host_port[300]; /* the Host header */
    char port[8];
    bool tls;
    struct iroh_secret_key sk;
    const struct relay_client_callbacks *cb;
    void *arg;

    enum state state;
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    bool resolving;                           /* gai is pending */
    struct sockaddr_storage addrs[MAX_ADDRS]; /* the host's addresses, tried in order */
    socklen_t addr_lens[MAX_ADDRS];
    size_t n_addrs, next_addr;
    struct conn_io *io;
    gnutls_session_t session;
    gnutls_certificate_credentials_t trust; /* borrowed */
    char token[RELAY_TOKEN_MAX + 1];        /* "" for none */
    bool tls_send_pending; /* gnutls_record_send must be called again (with NULL, 0) */
    char ws_key[IROH_WS_KEY_LEN + 1];

    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_len, out_sent, out_cap;
    uint8_t *held; /* WebSocket messages of datagrams sent before the connection was up */
    size_t held_len, held_cap;
    uint64_t held_since; /* uv_now() of the oldest */

    bool ping_outstanding;
    uint8_t ping[IROH_RELAY_PING_LEN];
    uint64_t ping_sent, latency_ns, since_ns;
    unsigned failures; /* attempts that failed before connecting, in a row */
    char error[160];

    size_t handles; /* open libuv handles (timer, the io's poll) */
    void (*close_done)(void *arg);
    void *close_arg;
};

static void fail(struct relay_client *rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void connect_now(struct relay_client *rc);
static void try_connect(struct relay_client *rc);
static void update_poll(struct relay_client *rc);

/* ---- URL --------------------------------------------------------------------------------- */

static int parse_url(struct relay_client *rc, const char *url)
{
    int n = iroh_relay_url_canonicalize(url, strlen(url), rc->url, sizeof rc->url);
    if (n < 0) return IROH_EINVAL;
    const char *p = rc->url;
    rc->tls = strncmp(p, "https://", 8) == 0;
    p += rc->tls ? 8 : 7;
    size_t auth = strcspn(p, "/?#");
    const char *end = p + auth, *colon = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', auth);
        if (!close) return IROH_EINVAL;
        if (close + 1 < end && close[1] == ':') colon = close + 1;
        snprintf(rc->host, sizeof rc->host, "%.*s", (int)(close - p - 1), p + 1);
    } else {
        colon = memchr(p, ':', auth);
        size_t hl = colon ? (size_t)(colon - p) : auth;
        if (hl && p[hl - 1] == '.') hl--; /* a fully qualified name: no dot for SNI */
        snprintf(rc->host, sizeof rc->host, "%.*s", (int)hl, p);
    }
    if (colon)
        snprintf(rc->port, sizeof rc->port, "%.*s", (int)(end - colon - 1), colon + 1);
    else
        snprintf(rc->port, sizeof rc->port, "%s", rc->tls ? "443" : "80");
    snprintf(rc->host_port, sizeof rc->host_port, "%.*s", (int)auth, p);
    return *rc->host ? 0 : IROH_EINVAL;
}

/* ---- the byte stream (TCP or TLS) ---------------------------------------------------------- */

/* Reads into buf. Returns bytes read, 0 at the end of the stream, IROH_EAGAIN, IROH_EIO. */
static ssize_t stream_recv(struct relay_client *rc, uint8_t *buf, size_t cap)
{
    if (rc->session) {
        ssize_t n = gnutls_record_recv(rc->session, buf, cap);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) return IROH_EAGAIN;
        return n < 0 ? IROH_EIO : n;
    }
    ssize_t n = recv(rc->io->fd, buf, cap, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return IROH_EAGAIN;
    return n < 0 ? IROH_EIO : n;
}

static ssize_t stream_send(struct relay_client *rc, const uint8_t *buf, size_t len)
{
    if (rc->session) {
        if (len > 16384) len = 16384; /* one record */
        ssize_t n = rc->tls_send_pending ? gnutls_record_send(rc->session, NULL, 0)
                                         : gnutls_record_send(rc->session, buf, len);
        rc->tls_send_pending = n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED;
        if (rc->tls_send_pending) return IROH_EAGAIN;
        return n < 0 ? IROH_EIO : n;
    }
    ssize_t n = send(rc->io->fd, buf, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return IROH_EAGAIN;
    return n < 0 ? IROH_EIO : n;
}

/* Writes what is queued as far as the socket takes it. Returns 0 or IROH_EIO. */
static int flush(struct relay_client *rc)
{
    while (rc->out_sent < rc->out_len) {
        ssize_t n = stream_send(rc, rc->out + rc->out_sent, rc->out_len - rc->out_sent);
        if (n == IROH_EAGAIN) break;
        if (n <= 0) return IROH_EIO;
        rc->out_sent += (size_t)n;
    }
    if (rc->out_sent == rc->out_len) rc->out_len = rc->out_sent = 0;
    update_poll(rc);
    return 0;
}

/* Room for n more bytes at the end of *buf (*len used of *cap). Returns it or NULL. */
static uint8_t *buf_append(uint8_t **buf, size_t *len, size_t *cap, size_t n)
{
    if (*len + n > *cap) {
        size_t bigger_cap = *cap ? *cap : 65536;
        while (bigger_cap < *len + n)
            bigger_cap *= 2;
        uint8_t *bigger = realloc(*buf, bigger_cap);
        if (!bigger) return NULL;
        *buf = bigger;
        *cap = bigger_cap;
    }
    uint8_t *p = *buf + *len;
    *len += n;
    return p;
}

/* Room for n more output bytes. Returns a pointer to them or NULL (over OUT_MAX unsent, no
 * memory). */
static uint8_t *out_reserve(struct relay_client *rc, size_t n)
{
    if (rc->out_len - rc->out_sent + n > OUT_MAX) return NULL;
    if (rc->out_sent && rc->out_len + n > rc->out_cap) { /* what was sent makes room */
        memmove(rc->out, rc->out + rc->out_sent, rc->out_len - rc->out_sent);
        rc->out_len -= rc->out_sent;
        rc->out_sent = 0;
    }
    return buf_append(&rc->out, &rc->out_len, &rc->out_cap, n);
}

/* Room for n more bytes of datagrams held until the connection is up, or NULL (over HELD_MAX,
 * no memory). Held datagrams older than HELD_MS are dropped first. */
static uint8_t *held_reserve(struct relay_client *rc, size_t n)
{
    uint64_t now = uv_now(rc->loop);
    if (rc->held_len && now - rc->held_since > HELD_MS) rc->held_len = 0;
    if (rc->held_len + n > HELD_MAX) return NULL;
    if (rc->held_len == 0) rc->held_since = now;
    return buf_append(&rc->held, &rc->held_len, &rc->held_cap, n);
}

/* Queues one masked WebSocket message of opcode whose payload is head[0..head_len) followed
 * by body[0..body_len) for output, or (hold) until the connection is up. Returns 0 or
 * IROH_EAGAIN (no room). */
static int queue_message(struct relay_client *rc, bool hold, enum iroh_ws_opcode opcode,
                         const uint8_t *head, size_t head_len, const uint8_t *body, size_t body_len)
{
    uint8_t hdr[IROH_WS_MAX_HEADER_LEN], mask[4];
    randombytes_buf(mask, sizeof mask);
    size_t payload = head_len + body_len;
    size_t hl = iroh_ws_encode_header(hdr, true, opcode, payload, mask);
    uint8_t *p = hold ? held_reserve(rc, hl + payload) : out_reserve(rc, hl + payload);
    if (!p) return IROH_EAGAIN;
    memcpy(p, hdr, hl);
    if (head_len) memcpy(p + hl, head, head_len);
    if (body_len) memcpy(p + hl + head_len, body, body_len);
    iroh_ws_mask(p + hl, payload, mask, 0);
    return 0;
}

static int queue_frame(struct relay_client *rc, const struct iroh_relay_frame *f)
{
    uint8_t buf[256];
    int n = iroh_relay_frame_encode(f, buf, sizeof buf);
    if (n < 0) return n;
    return queue_message(rc, false, IROH_WS_BINARY, buf, (size_t)n, NULL, 0);
}

/* ---- connection life ---------------------------------------------------------------------- */

/* One handle (or the pending name lookup) is done; the last one after a close frees rc. */
static void release(struct relay_client *rc)
{
    if (--rc->handles > 0 || rc->state != ST_CLOSED) return;
    void (*done)(void *) = rc->close_done;
    void *arg = rc->close_arg;
    free(rc->in);
    free(rc->out);
    free(rc->held);
    sodium_memzero(rc, sizeof *rc);
    free(rc);
    if (done) done(arg);
}

static void on_io_closed(uv_handle_t *h)
{
    struct conn_io *io = h->data;
    struct relay_client *rc = io->rc;
    close(io->fd);
    free(io);
    release(rc);
}

static void on_timer_closed(uv_handle_t *h)
{
    release(h->data);
}

/* Drops the TCP connection (and TLS session) if there is one. */
static void teardown(struct relay_client *rc)
{
    if (rc->session) {
        gnutls_deinit(rc->session);
        rc->session = NULL;
    }
    rc->tls_send_pending = false;
    if (rc->io) {
        uv_close((uv_handle_t *)&rc->io->poll, on_io_closed);
        rc->io = NULL;
    }
    rc->in_len = rc->out_len = rc->out_sent = 0;
    rc->ping_outstanding = false;
}

static void on_timer(uv_timer_t *t);

static void fail(struct relay_client *rc, const char *fmt, ...)
{
    bool was_up = rc->state == ST_CONNECTED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rc->error, sizeof rc->error, fmt, ap);
    va_end(ap);
    teardown(rc);
    rc->state = ST_WAITING;
    uint64_t delay = 0;
    if (!was_up) {
        unsigned shift = rc->failures < 11 ? rc->failures : 11;
        delay = (uint64_t)BACKOFF_MIN_MS << shift;
        if (delay > BACKOFF_MAX_MS) delay = BACKOFF_MAX_MS;
        delay += randombytes_uniform((uint32_t)(delay / 2 + 1));
        rc->failures++;
    }
    log_msg(was_up ? LOG_INFO : LOG_DEBUG, "relay", "%s: %s; %s in %llu ms", rc->url, rc->error,
            was_up ? "reconnecting" : "retrying", (unsigned long long)delay);
    uv_timer_start(&rc->timer, on_timer, delay, 0);
    if (was_up) {
        rc->since_ns = uv_hrtime();
        rc->cb->on_change(rc, rc->arg);
    }
}

static void send_ping(struct relay_client *rc)
{
    struct iroh_relay_frame f = {.type = IROH_RELAY_PING};
    randombytes_buf(f.ping, sizeof f.ping);
    if (queue_frame(rc, &f) < 0) return;
    memcpy(rc->ping, f.ping, sizeof rc->ping);
    rc->ping_outstanding = true;
    rc->ping_sent = uv_hrtime();
    uv_timer_start(&rc->timer, on_timer, PONG_TIMEOUT_MS, 0);
}

static void on_connected(struct relay_client *rc)
{
    rc->state = ST_CONNECTED;
    rc->failures = 0;
    rc->error[0] = 0;
    rc->since_ns = uv_hrtime();
    log_info("relay", "connected to %s", rc->url);
    send_ping(rc);
    if (rc->held_len && uv_now(rc->loop) - rc->held_since <= HELD_MS) {
        uint8_t *p = out_reserve(rc, rc->held_len);
        if (p) memcpy(p, rc->held, rc->held_len);
    }
    rc->held_len = 0;
    rc->cb->on_change(rc, rc->arg);
}

static void on_timer(uv_timer_t *t)
{
    struct relay_client *rc = t->data;
    switch (rc->state) {
    case ST_WAITING: connect_now(rc); break;
    case ST_CONNECTED:
        if (rc->ping_outstanding) {
            fail(rc, "no pong within %d ms", PONG_TIMEOUT_MS);
            return;
        }
        send_ping(rc);
        if (flush(rc) < 0) fail(rc, "write failed");
        break;
    case ST_CLOSED: break;
    default: fail(rc, "no connection within %d ms", CONNECT_TIMEOUT_MS); break;
    }
}

/* ---- frames from the relay ------------------------------------------------------------------ */

static void deliver(struct relay_client *rc, const struct iroh_relay_frame *f)
{
    struct iroh_public_key src;
    if (iroh_public_key_from_bytes(f->key, &src) < 0) return;
    size_t segment = f->segment_size ? f->segment_size : f->data_len;
    for (size_t off = 0; off < f->data_len && rc->state == ST_CONNECTED; off += segment) {
        size_t n = f->data_len - off < segment ? f->data_len - off : segment;
        rc->cb->on_datagram(rc, &src, f->data + off, n, rc->arg);
    }
}

static void on_relay_frame(struct relay_client *rc, const uint8_t *buf, size_t len)
{
    struct iroh_relay_frame f;
    int rv = iroh_relay_frame_decode(buf, len, &f);
    if (rv < 0) {
        fail(rc, "bad frame from the relay: %s", iroh_strerror(rv));
        return;
    }
    if (rc->state == ST_HANDSHAKE) {
        if (f.type == IROH_RELAY_SERVER_CHALLENGE) {
            struct iroh_relay_frame auth;
            iroh_relay_client_auth_make(&rc->sk, f.challenge, &auth);
            if (queue_frame(rc, &auth) < 0) fail(rc, "cannot answer the challenge");
        } else if (f.type == IROH_RELAY_SERVER_CONFIRMS_AUTH) {
            on_connected(rc);
        } else if (f.type == IROH_RELAY_SERVER_DENIES_AUTH) {
            fail(rc, "the relay refused us: %.*s", (int)(f.data_len > 100 ? 100 : f.data_len),
                 (const char *)f.data);
        } else {
            fail(rc, "unexpected frame %d in the handshake", (int)f.type);
        }
        return;
    }
    switch (f.type) {
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH: deliver(rc, &f); break;
    case IROH_RELAY_PING:
        f.type = IROH_RELAY_PONG;
        queue_frame(rc, &f);
        break;
    case IROH_RELAY_PONG:
        if (!rc->ping_outstanding || memcmp(f.ping, rc->ping, sizeof rc->ping) != 0) break;
        rc->ping_outstanding = false;
        rc->latency_ns = uv_hrtime() - rc->ping_sent;
        uv_timer_start(&rc->timer, on_timer, PING_INTERVAL_MS, 0);
        rc->cb->on_change(rc, rc->arg);
        break;
    case IROH_RELAY_ENDPOINT_GONE:
    case IROH_RELAY_HEALTH:
    case IROH_RELAY_STATUS:
    case IROH_RELAY_RESTARTING: log_debug("relay", "%s: frame %d", rc->url, (int)f.type); break;
    default: fail(rc, "unexpected frame %d from the relay", (int)f.type); break;
    }
}

/* Parses the 101 answer. Returns bytes consumed, 0 if incomplete, -1 after fail(). */
static long read_upgrade_answer(struct relay_client *rc)
{
    struct iroh_http_response resp;
    int n = iroh_http_parse_response((const char *)rc->in, rc->in_len, HEAD_MAX, &resp);
    if (n == 0) return 0;
    if (n < 0) {
        fail(rc, "the relay's answer is not HTTP");
        return -1;
    }
    int rv = iroh_relay_upgrade_response_check(&resp, rc->ws_key);
    if (rv < 0) {
        fail(rc, "the relay refused the upgrade: HTTP %d", resp.status);
        return -1;
    }
    rc->state = ST_HANDSHAKE;
    return n;
}

/* Handles every complete WebSocket frame in rc->in. */
static void process_input(struct relay_client *rc)
{
    size_t pos = 0;
    if (rc->state == ST_UPGRADE) {
        long n = read_upgrade_answer(rc);
        if (n <= 0) return;
        pos = (size_t)n;
    }
    while (rc->state == ST_HANDSHAKE || rc->state == ST_CONNECTED) {
        struct iroh_ws_header h;
        int n = iroh_ws_parse_header(rc->in + pos, rc->in_len - pos, IROH_WS_CLIENT,
                                     IROH_RELAY_MAX_MESSAGE_SIZE, &h);
        if (n < 0) {
            fail(rc, "bad WebSocket frame from the relay");
            return;
        }
        if (n == 0 || rc->in_len - pos < h.header_len + h.payload_len) break;
        uint8_t *payload = rc->in + pos + h.header_len;
        size_t len = (size_t)h.payload_len;
        pos += h.header_len + len;
        if (!h.fin || h.opcode == IROH_WS_CONTINUATION) {
            fail(rc, "fragmented WebSocket message from the relay");
            return;
        }
        if (h.opcode == IROH_WS_BINARY)
            on_relay_frame(rc, payload, len);
        else if (h.opcode == IROH_WS_PING)
            queue_message(rc, false, IROH_WS_PONG, payload, len, NULL, 0);
        else if (h.opcode == IROH_WS_CLOSE) {
            fail(rc, "the relay closed the WebSocket");
            return;
        }
    }
    if (rc->state != ST_HANDSHAKE && rc->state != ST_CONNECTED && rc->state != ST_UPGRADE) return;
    memmove(rc->in, rc->in + pos, rc->in_len - pos);
    rc->in_len -= pos;
}

static void do_read(struct relay_client *rc)
{
    for (int i = 0; i < READS_PER_WAKEUP && rc->io; i++) {
        if (rc->in_cap - rc->in_len < IN_CHUNK) {
            size_t cap = rc->in_cap ? rc->in_cap * 2 : 2 * IN_CHUNK;
            if (cap > IROH_RELAY_MAX_MESSAGE_SIZE + 2 * IN_CHUNK) {
                fail(rc, "a WebSocket message over the limit");
                return;
            }
            uint8_t *bigger = realloc(rc->in, cap);
            if (!bigger) {
                fail(rc, "out of memory");
                return;
            }
            rc->in = bigger;
            rc->in_cap = cap;
        }
        ssize_t n = stream_recv(rc, rc->in + rc->in_len, rc->in_cap - rc->in_len);
        if (n == IROH_EAGAIN) break;
        if (n <= 0) {
            fail(rc, n == 0 ? "the relay closed the connection" : "read: %s", strerror(errno));
            return;
        }
        rc->in_len += (size_t)n;
        process_input(rc);
        if (rc->state == ST_UPGRADE && rc->in_len >= HEAD_MAX) {
            fail(rc, "the relay's answer head is too long");
            return;
        }
    }
    if (rc->io && flush(rc) < 0) fail(rc, "write failed");
}

/* ---- connecting ------------------------------------------------------------------------------ */

static void start_upgrade(struct relay_client *rc)
{
    char req[1024];
    iroh_ws_client_key(rc->ws_key);
    int n = iroh_relay_upgrade_request(rc->host_port, rc->ws_key, *rc->token ? rc->token : NULL,
                                       NULL, req, sizeof req);
    uint8_t *p = n > 0 ? out_reserve(rc, (size_t)n) : NULL;
    if (!p) {
        fail(rc, "cannot build the upgrade request");
        return;
    }
    memcpy(p, req, (size_t)n);
    rc->state = ST_UPGRADE;
    if (flush(rc) < 0) fail(rc, "write failed");
}

static void do_tls(struct relay_client *rc)
{
    int rv = gnutls_handshake(rc->session);
    if (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED) {
        update_poll(rc);
        return;
    }
    if (rv < 0) {
        fail(rc, "TLS: %s", gnutls_strerror(rv));
        return;
    }
    start_upgrade(rc);
}

static int start_tls(struct relay_client *rc)
{
    if (gnutls_init(&rc->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0) return IROH_ENOMEM;
    if (gnutls_set_default_priority(rc->session) < 0 ||
        gnutls_credentials_set(rc->session, GNUTLS_CRD_CERTIFICATE, rc->trust) < 0 ||
        gnutls_server_name_set(rc->session, GNUTLS_NAME_DNS, rc->host, strlen(rc->host)) < 0)
        return IROH_EIO;
    gnutls_session_set_verify_cert(rc->session, rc->host, 0);
    gnutls_transport_set_int(rc->session, rc->io->fd);
    rc->state = ST_TLS;
    do_tls(rc);
    return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct conn_io *io = h->data;
    struct relay_client *rc = io->rc;
    if (rc->io != io) return;
    if (status < 0 && rc->state != ST_CONNECTING) {
        /* an error on the socket (a reset): reading it says which */
        if (rc->state >= ST_UPGRADE) do_read(rc);
        if (rc->io == io) fail(rc, "socket: %s", uv_strerror(status));
        return;
    }
    switch (rc->state) {
    case ST_CONNECTING: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            if (rc->next_addr < rc->n_addrs) { /* the host's next address */
                teardown(rc);
                try_connect(rc);
            } else {
                fail(rc, "connect to %s port %s: %s", rc->host, rc->port, strerror(err));
            }
            return;
        }
        int one = 1;
        setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (rc->tls) {
            int rv = start_tls(rc);
            if (rv < 0) fail(rc, "TLS setup: %s", iroh_strerror(rv));
        } else {
            start_upgrade(rc);
        }
        break;
    }
    case ST_TLS: do_tls(rc); break;
    case ST_UPGRADE:
    case ST_HANDSHAKE:
    case ST_CONNECTED:
        if (events & UV_READABLE) do_read(rc);
        if (rc->io && (events & UV_WRITABLE) && flush(rc) < 0) fail(rc, "write failed");
        break;
    default: break;
    }
}

static void update_poll(struct relay_client *rc)
{
    if (!rc->io) return;
    int events = UV_READABLE;
    if (rc->state == ST_CONNECTING || rc->out_len > rc->out_sent || rc->tls_send_pending ||
        (rc->state == ST_TLS && gnutls_record_get_direction(rc->session) == 1))
        events |= UV_WRITABLE;
    uv_poll_start(&rc->io->poll, events, on_poll);
}

/* Connects to the next resolved address (a failed one moves on to the one after). */
static void try_connect(struct relay_client *rc)
{
    int err = 0;
    while (rc->next_addr < rc->n_addrs) {
        size_t i = rc->next_addr++;
        const struct sockaddr *sa = (const struct sockaddr *)&rc->addrs[i];
        int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, sa, rc->addr_lens[i]) < 0 && errno != EINPROGRESS) {
            err = errno;
            close(fd);
            continue;
        }
        struct conn_io *io = calloc(1, sizeof *io);
        if (!io || uv_poll_init(rc->loop, &io->poll, fd) < 0) {
            free(io);
            close(fd);
            fail(rc, "out of memory");
            return;
        }
        io->fd = fd;
        io->rc = rc;
        io->poll.data = io;
        rc->io = io;
        rc->handles++;
        rc->state = ST_CONNECTING;
        update_poll(rc);
        return;
    }
    fail(rc, "connect to %s port %s: %s", rc->host, rc->port, strerror(err));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct relay_client *rc = req->data;
    rc->resolving = false;
    if (rc->state != ST_RESOLVING) { /* closed meanwhile */
        uv_freeaddrinfo(res);
        if (rc->state == ST_CLOSED) release(rc);
        return;
    }
    rc->n_addrs = rc->next_addr = 0;
    for (struct addrinfo *ai = res; ai && rc->n_addrs < MAX_ADDRS; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof rc->addrs[0]) continue;
        memcpy(&rc->addrs[rc->n_addrs], ai->ai_addr, ai->ai_addrlen);
        rc->addr_lens[rc->n_addrs++] = ai->ai_addrlen;
    }
    uv_freeaddrinfo(res);
    if (status < 0 || rc->n_addrs == 0) {
        fail(rc, "cannot resolve %s: %s", rc->host, uv_strerror(status));
        return;
    }
    try_connect(rc);
}

static void connect_now(struct relay_client *rc)
{
    rc->state = ST_RESOLVING;
    uv_timer_start(&rc->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    rc->gai.data = rc;
    int rv = uv_getaddrinfo(rc->loop, &rc->gai, on_resolved, rc->host, rc->port, &hints);
    if (rv < 0) {
        fail(rc, "cannot resolve %s: %s", rc->host, uv_strerror(rv));
        return;
    }
    rc->resolving = true;
}

/* ---- API ---------------------------------------------------------------------------------------
 */

/* A token goes into a header line: printable ASCII without spaces only. */
static bool token_ok(const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] > '~') return false;
    return n <= RELAY_TOKEN_MAX;
}

int relay_client_start(uv_loop_t *loop, const struct relay_client_options *options,
                       const struct relay_client_callbacks *cb, void *arg,
                       struct relay_client **out)
{
    if (options->token && !token_ok(options->token)) return IROH_EINVAL;
    struct relay_client *rc = calloc(1, sizeof *rc);
    if (!rc) return IROH_ENOMEM;
    if (parse_url(rc, options->url) < 0) {
        free(rc);
        return IROH_EINVAL;
    }
    rc->loop = loop;
    rc->sk = *options->secret;
    rc->trust = options->trust;
    if (options->token) snprintf(rc->token, sizeof rc->token, "%s", options->token);
    rc->cb = cb;
    rc->arg = arg;
    rc->since_ns = uv_hrtime();
    uv_timer_init(loop, &rc->timer);
    rc->timer.data = rc;
    rc->handles = 1;
    connect_now(rc);
    *out = rc;
    return 0;
}

int relay_client_send(struct relay_client *rc, const struct iroh_public_key *dst,
                      const uint8_t *data, size_t len, size_t segment)
{
    if (rc->state == ST_CLOSED || len == 0) return IROH_EAGAIN;
    bool hold = rc->state != ST_CONNECTED;
    if (segment == 0 || segment > len) segment = len;
    /* a batch frame holds as many whole segments as fit in one relay packet */
    size_t per_frame =
        (IROH_RELAY_MAX_PACKET_SIZE - IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN) / segment * segment;
    if (per_frame == 0) return IROH_EAGAIN;
    for (size_t off = 0; off < len; off += per_frame) {
        size_t n = len - off < per_frame ? len - off : per_frame;
        bool batch = n > segment;
        uint8_t head[IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN];
        size_t hl = iroh_relay_datagram_header_encode(
            batch ? IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH : IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM,
            dst->bytes, 0, batch ? (uint16_t)segment : 0, head);
        if (queue_message(rc, hold, IROH_WS_BINARY, head, hl, data + off, n) < 0)
            return IROH_EAGAIN;
    }
    if (!hold && flush(rc) < 0) {
        fail(rc, "write failed");
        return IROH_EAGAIN;
    }
    return 0;
}

void relay_client_info(const struct relay_client *rc, struct relay_client_info *out)
{
    *out = (struct relay_client_info){.url = rc->url,
                                      .connected = rc->state == ST_CONNECTED,
                                      .latency_ns = rc->latency_ns,
                                      .since_ns = rc->since_ns,
                                      .error = rc->error};
}

const char *relay_client_url(const struct relay_client *rc)
{
    return rc->url;
}

bool relay_client_connected(const struct relay_client *rc)
{
    return rc->state == ST_CONNECTED;
}

void relay_client_close(struct relay_client *rc, void (*done)(void *arg), void *arg)
{
    teardown(rc);
    rc->state = ST_CLOSED;
    rc->close_done = done;
    rc->close_arg = arg;
    if (rc->resolving) {
        rc->handles++; /* on_resolved still comes (uv_cancel makes it come sooner) */
        uv_cancel((uv_req_t *)&rc->gai);
    }
    uv_close((uv_handle_t *)&rc->timer, on_timer_closed);
}
