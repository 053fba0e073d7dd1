/* relay/access.c — access control and the HTTP callout (see access.h). */
#include "relay/access.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"
#include "daemon/log.h"
#include "iroh/error.h"

#define CALLOUT_MAX_ANSWER 65536

static uint32_t callouts_pending; /* on the loop thread only */

struct relay_access_req {
    uv_getaddrinfo_t resolve;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    uv_timer_t timer;
    relay_access_done_fn *done; /* NULL once answered or cancelled */
    void *ctx;
    bool resolving, tcp_open, finished;
    int open_handles;
    char request[2048];
    char answer[CALLOUT_MAX_ANSWER];
    size_t answer_len;
};

static bool id_listed(const struct relay_config *cfg, const struct iroh_public_key *key)
{
    for (size_t i = 0; i < cfg->num_ids; i++)
        if (memcmp(cfg->ids[i].bytes, key->bytes, IROH_KEY_LEN) == 0) return true;
    return false;
}

static bool token_listed(const struct relay_config *cfg, const char *token)
{
    if (!token) return false;
    size_t len = strlen(token);
    bool found = false;
    for (size_t i = 0; i < cfg->num_tokens; i++) /* compare all, in constant time each */
        if (strlen(cfg->tokens[i]) == len && sodium_memcmp(cfg->tokens[i], token, len) == 0)
            found = true;
    return found;
}

static void req_handle_closed(uv_handle_t *h)
{
    struct relay_access_req *r = h->data;
    if (--r->open_handles == 0 && !r->resolving) free(r);
}

/* Answers (once) and releases the handles. */
static void finish(struct relay_access_req *r, bool allowed)
{
    if (r->finished) return;
    r->finished = true;
    callouts_pending--;
    relay_access_done_fn *done = r->done;
    r->done = NULL;
    if (done) done(r->ctx, allowed);
    uv_close((uv_handle_t *)&r->timer, req_handle_closed);
    if (r->tcp_open)
        uv_close((uv_handle_t *)&r->tcp, req_handle_closed);
    else
        r->open_handles--; /* the tcp handle was never opened */
    if (r->open_handles == 0 && !r->resolving) free(r);
}

/* Status 200 and a body of exactly "true" admit. */
static bool answer_allows(const struct relay_access_req *r)
{
    struct iroh_http_response resp;
    int head = iroh_http_parse_response(r->answer, r->answer_len, sizeof r->answer, &resp);
    if (head <= 0 || resp.status != 200) return false;
    const char *body = r->answer + head;
    size_t body_len = r->answer_len - (size_t)head;
    const struct iroh_http_header *cl =
        iroh_http_find_header(resp.headers, resp.num_headers, "Content-Length");
    if (iroh_http_find_header(resp.headers, resp.num_headers, "Transfer-Encoding"))
        return false; /* chunked answers are not read: deny */
    if (cl) {
        size_t want = strtoul(cl->value, NULL, 10);
        if (want > body_len) return false;
        body_len = want;
    }
    return body_len == 4 && memcmp(body, "true", 4) == 0;
}

/* The answer is complete once the head and Content-Length bytes are in (or at EOF). */
static bool answer_complete(const struct relay_access_req *r)
{
    struct iroh_http_response resp;
    int head = iroh_http_parse_response(r->answer, r->answer_len, sizeof r->answer, &resp);
    if (head < 0) return true;
    if (head == 0) return false;
    const struct iroh_http_header *cl =
        iroh_http_find_header(resp.headers, resp.num_headers, "Content-Length");
    return cl && r->answer_len - (size_t)head >= strtoul(cl->value, NULL, 10);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct relay_access_req *r = h->data;
    (void)suggested;
    *buf = uv_buf_init(r->answer + r->answer_len, (unsigned)(sizeof r->answer - r->answer_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct relay_access_req *r = s->data;
    (void)buf;
    if (n > 0) r->answer_len += (size_t)n;
    if (n == UV_EOF || r->answer_len == sizeof r->answer || answer_complete(r)) {
        finish(r, answer_allows(r));
    } else if (n < 0) {
        finish(r, false);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct relay_access_req *r = w->data;
    if (status < 0) finish(r, false);
}

static void on_connected(uv_connect_t *c, int status)
{
    struct relay_access_req *r = c->data;
    if (r->finished) return;
    if (status < 0) {
        log_warn("access", "callout connect failed: %s", uv_strerror(status));
        finish(r, false);
        return;
    }
    uv_buf_t b = uv_buf_init(r->request, (unsigned)strlen(r->request));
    r->write.data = r;
    if (uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, on_written) < 0 ||
        uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read) < 0)
        finish(r, false);
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
    struct relay_access_req *r = g->data;
    r->resolving = false;
    if (r->finished) {
        uv_freeaddrinfo(ai);
        if (r->open_handles == 0) free(r);
        return;
    }
    if (status < 0 || !ai) {
        log_warn("access", "callout host lookup failed: %s", uv_strerror(status));
        uv_freeaddrinfo(ai);
        finish(r, false);
        return;
    }
    uv_tcp_init(g->loop, &r->tcp);
    r->tcp.data = r;
    r->tcp_open = true;
    r->connect.data = r;
    int rc = uv_tcp_connect(&r->connect, &r->tcp, ai->ai_addr, on_connected);
    uv_freeaddrinfo(ai);
    if (rc < 0) finish(r, false);
}

static void on_timeout(uv_timer_t *t)
{
    struct relay_access_req *r = t->data;
    log_warn("access", "callout timed out");
    finish(r, false);
}

/* Splits "http://host[:port]/path" into host, port and path. */
static int parse_url(const char *url, char *host, size_t host_cap, char *port, size_t port_cap,
                     const char **path)
{
    if (strncmp(url, "http://", 7) != 0) return IROH_EINVAL;
    const char *h = url + 7, *slash = strchr(h, '/');
    *path = slash ? slash : "/";
    size_t hp_len = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = NULL;
    if (*h == '[') {
        const char *close = memchr(h, ']', hp_len);
        if (!close) return IROH_EINVAL;
        if ((size_t)(close - h - 1) >= host_cap) return IROH_EINVAL;
        snprintf(host, host_cap, "%.*s", (int)(close - h - 1), h + 1);
        colon = close + 1 < h + hp_len && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(h, ':', hp_len);
        size_t hl = colon ? (size_t)(colon - h) : hp_len;
        if (hl == 0 || hl >= host_cap) return IROH_EINVAL;
        snprintf(host, host_cap, "%.*s", (int)hl, h);
    }
    if (colon) {
        size_t pl = (size_t)(h + hp_len - colon - 1);
        if (pl == 0 || pl >= port_cap) return IROH_EINVAL;
        snprintf(port, port_cap, "%.*s", (int)pl, colon + 1);
    } else {
        snprintf(port, port_cap, "80");
    }
    return IROH_OK;
}

static enum relay_access_answer start_callout(uv_loop_t *loop, const struct relay_config *cfg,
                                              const struct iroh_public_key *key,
                                              relay_access_done_fn *done, void *ctx,
                                              struct relay_access_req **out)
{
    char host[256], port[16], hex[IROH_KEY_HEX_LEN + 1];
    const char *path;
    if (callouts_pending >= cfg->callout_max_pending) {
        log_warn("access", "%u callouts pending: client denied", callouts_pending);
        return RELAY_ACCESS_DENIED;
    }
    if (parse_url(cfg->callout_url, host, sizeof host, port, sizeof port, &path) < 0)
        return RELAY_ACCESS_DENIED;
    struct relay_access_req *r = calloc(1, sizeof *r);
    if (!r) return RELAY_ACCESS_DENIED;
    iroh_public_key_format_hex(key, hex, sizeof hex);
    int n = snprintf(r->request, sizeof r->request,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nX-Iroh-NodeId: %s\r\n%s%s%s"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     path, host, hex, cfg->callout_bearer[0] ? "Authorization: Bearer " : "",
                     cfg->callout_bearer, cfg->callout_bearer[0] ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof r->request) {
        free(r);
        return RELAY_ACCESS_DENIED;
    }
    r->done = done;
    r->ctx = ctx;
    r->resolve.data = r;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (uv_getaddrinfo(loop, &r->resolve, on_resolved, host, port, &hints) < 0) {
        free(r);
        return RELAY_ACCESS_DENIED;
    }
    r->resolving = true;
    callouts_pending++;
    r->open_handles = 2; /* timer and tcp (counted even before the tcp handle exists) */
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, on_timeout, cfg->callout_timeout_ms, 0);
    *out = r;
    return RELAY_ACCESS_PENDING;
}

enum relay_access_answer relay_access_check(uv_loop_t *loop, const struct relay_config *cfg,
                                            const struct iroh_public_key *key, const char *token,
                                            relay_access_done_fn *done, void *ctx,
                                            struct relay_access_req **req)
{
    switch (cfg->access) {
    case RELAY_ACCESS_EVERYONE: return RELAY_ACCESS_ALLOWED;
    case RELAY_ACCESS_ALLOWLIST:
        return id_listed(cfg, key) ? RELAY_ACCESS_ALLOWED : RELAY_ACCESS_DENIED;
    case RELAY_ACCESS_DENYLIST:
        return id_listed(cfg, key) ? RELAY_ACCESS_DENIED : RELAY_ACCESS_ALLOWED;
    case RELAY_ACCESS_SHARED_TOKEN:
        return token_listed(cfg, token) ? RELAY_ACCESS_ALLOWED : RELAY_ACCESS_DENIED;
    case RELAY_ACCESS_HTTP: return start_callout(loop, cfg, key, done, ctx, req);
    }
    return RELAY_ACCESS_DENIED;
}

void relay_access_cancel(struct relay_access_req *req)
{
    req->done = NULL;
    if (req->resolving) uv_cancel((uv_req_t *)&req->resolve);
    finish(req, false);
}
