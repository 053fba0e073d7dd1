/* relay_test_client.c — the blocking relay client of the relay tests (see the header). */
#include "tests/relay/relay_test_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/http1.h"
#include "core/websocket.h"
#include "iroh/error.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int rtc_send_raw(struct rtc *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t n = c->tls ? gnutls_record_send(c->tls, p, len) : send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && !c->tls && errno == EINTR) continue;
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) continue;
        if (n <= 0) return IROH_EIO;
        p += n;
        len -= (size_t)n;
    }
    return IROH_OK;
}

/* Reads more bytes into c->buf within the deadline. */
static int fill(struct rtc *c, int64_t deadline)
{
    if (c->len == sizeof c->buf) return IROH_ETOOBIG;
    if (!(c->tls && gnutls_record_check_pending(c->tls))) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return IROH_ETIMEDOUT;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r == 0) return IROH_ETIMEDOUT;
        if (r < 0) return errno == EINTR ? IROH_OK : IROH_EIO;
    }
    ssize_t n = c->tls ? gnutls_record_recv(c->tls, c->buf + c->len, sizeof c->buf - c->len)
                       : recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (c->tls && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)) return IROH_OK;
    if (n == 0) return IROH_ECLOSED;
    if (n < 0) return (!c->tls && errno == EINTR) ? IROH_OK : IROH_ECLOSED;
    c->len += (size_t)n;
    return IROH_OK;
}

int rtc_send_ws(struct rtc *c, uint8_t first_byte, const uint8_t *payload, size_t len, bool mask)
{
    static uint8_t frame[IROH_WS_MAX_HEADER_LEN + (2u << 20)];
    uint8_t m[4];
    randombytes_buf(m, sizeof m);
    if (len > (2u << 20)) return IROH_ETOOBIG;
    size_t h = iroh_ws_encode_header(frame, true, IROH_WS_BINARY, len, mask ? m : NULL);
    frame[0] = first_byte;
    memcpy(frame + h, payload, len);
    if (mask) iroh_ws_mask(frame + h, len, m, 0);
    return rtc_send_raw(c, frame, h + len);
}

int rtc_send_message(struct rtc *c, const uint8_t *frame, size_t len)
{
    if (!c->derp) return rtc_send_ws(c, 0x80 | IROH_WS_BINARY, frame, len, true);
    static uint8_t buf[IROH_RELAY035_HEADER_LEN + IROH_RELAY_MAX_PACKET_SIZE + 64];
    if (len == 0 || len - 1 > sizeof buf - IROH_RELAY035_HEADER_LEN) return IROH_ETOOBIG;
    uint32_t blen = (uint32_t)(len - 1);
    uint8_t hdr[IROH_RELAY035_HEADER_LEN] = {frame[0], (uint8_t)(blen >> 24), (uint8_t)(blen >> 16),
                                             (uint8_t)(blen >> 8), (uint8_t)blen};
    memcpy(buf, hdr, sizeof hdr);
    memcpy(buf + sizeof hdr, frame + 1, blen);
    return rtc_send_raw(c, buf, sizeof hdr + blen);
}

int rtc_send(struct rtc *c, const struct iroh_relay_frame *f)
{
    uint8_t buf[IROH_RELAY_MAX_PACKET_SIZE + 64];
    int n = iroh_relay_frame_encode(f, buf, sizeof buf);
    if (n < 0) return n;
    return rtc_send_message(c, buf, (size_t)n);
}

static int tls_start(struct rtc *c, int timeout_ms)
{
    gnutls_certificate_allocate_credentials(&c->cred);
    gnutls_init(&c->tls, GNUTLS_CLIENT);
    gnutls_set_default_priority(c->tls);
    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, c->cred);
    gnutls_transport_set_int(c->tls, c->fd);
    gnutls_handshake_set_timeout(c->tls, (unsigned)timeout_ms);
    int rc;
    do {
        rc = gnutls_handshake(c->tls);
    } while (rc < 0 && !gnutls_error_is_fatal(rc));
    return rc < 0 ? IROH_EPROTO : IROH_OK;
}

int rtc_open(struct rtc *c, uint16_t port, const uint8_t seed[32], const struct rtc_opts *o,
             int timeout_ms)
{
    static const struct rtc_opts defaults;
    if (!o) o = &defaults;
    memset(c, 0, sizeof *c);
    memcpy(c->sk.seed, seed, 32);
    iroh_secret_key_public(&c->sk, &c->pk);
    c->fd = tcp_connect(port);
    if (c->fd < 0) return IROH_EIO;
    if (o->tls && tls_start(c, timeout_ms) < 0) return IROH_EPROTO;
    char key[IROH_WS_KEY_LEN + 1], ekm_hdr[IROH_RELAY_AUTH_HEADER_LEN + 1];
    iroh_ws_client_key(key);
    if (o->ekm) {
        uint8_t ekm[IROH_RELAY_EKM_LEN];
        if (!c->tls || gnutls_prf_rfc5705(c->tls, strlen(IROH_RELAY_EKM_LABEL),
                                          IROH_RELAY_EKM_LABEL, IROH_KEY_LEN,
                                          (const char *)c->pk.bytes, sizeof ekm, (char *)ekm) < 0)
            return IROH_EPROTO;
        iroh_relay_ekm_header_make(&c->sk, ekm, ekm_hdr);
    }
    char req[2048];
    int n;
    if (o->v035_derp) {
        n = snprintf(req, sizeof req,
                     "GET /derp HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: iroh derp http\r\n\r\n");
    } else if (o->v035_ws) {
        n = snprintf(req, sizeof req,
                     "GET /relay HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     key);
    } else if (o->query || o->protocols) {
        n = snprintf(req, sizeof req,
                     "GET /relay%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s%s%s%s%s\r\n",
                     o->query ? o->query : "", key, o->protocols ? "Sec-WebSocket-Protocol: " : "",
                     o->protocols ? o->protocols : "", o->protocols ? "\r\n" : "",
                     o->token ? "Authorization: Bearer " : "", o->token ? o->token : "",
                     o->token ? "\r\n" : "");
    } else {
        n = iroh_relay_upgrade_request("127.0.0.1", key, o->token, o->ekm ? ekm_hdr : NULL, req,
                                       sizeof req);
    }
    if (n < 0 || rtc_send_raw(c, req, (size_t)n) < 0) return IROH_EIO;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        struct iroh_http_response resp;
        int head = iroh_http_parse_response((const char *)c->buf, c->len, 8192, &resp);
        if (head < 0) return IROH_EPROTO;
        if (head > 0) {
            c->http_status = resp.status;
            /* A 0.35 answer has no protocol header (and derp no accept key). */
            int v = o->v035_ws || o->v035_derp ? (resp.status == 101 ? IROH_RELAY_V035 : IROH_EPERM)
                                               : iroh_relay_upgrade_response_check(&resp, key);
            c->derp = o->v035_derp;
            memmove(c->buf, c->buf + head, c->len - (size_t)head);
            c->len -= (size_t)head;
            if (v < 0) return v;
            c->version = v;
            return IROH_OK;
        }
        int rc = fill(c, deadline);
        if (rc < 0) return rc;
    }
}

/* Reads the next frame into c->msg: a binary WebSocket message, or a derp frame (type ‖
 * body). */
static int next_message(struct rtc *c, size_t *len, int64_t deadline)
{
    for (;;) {
        if (c->derp) {
            if (c->len >= IROH_RELAY035_HEADER_LEN) {
                uint32_t blen = (uint32_t)c->buf[1] << 24 | (uint32_t)c->buf[2] << 16 |
                                (uint32_t)c->buf[3] << 8 | c->buf[4];
                if (blen > sizeof c->msg - 1) return IROH_EPROTO;
                if (c->len - IROH_RELAY035_HEADER_LEN >= blen) {
                    c->msg[0] = c->buf[0];
                    memcpy(c->msg + 1, c->buf + IROH_RELAY035_HEADER_LEN, blen);
                    c->len -= IROH_RELAY035_HEADER_LEN + blen;
                    memmove(c->buf, c->buf + IROH_RELAY035_HEADER_LEN + blen, c->len);
                    *len = 1 + blen;
                    return IROH_OK;
                }
            }
            int rc = fill(c, deadline);
            if (rc < 0) return rc;
            continue;
        }
        struct iroh_ws_header h;
        int hl = iroh_ws_parse_header(c->buf, c->len, IROH_WS_CLIENT, sizeof c->msg, &h);
        if (hl < 0) return IROH_EPROTO;
        if (hl > 0 && c->len - (size_t)hl >= h.payload_len) {
            size_t plen = (size_t)h.payload_len;
            memcpy(c->msg, c->buf + hl, plen);
            memmove(c->buf, c->buf + hl + plen, c->len - (size_t)hl - plen);
            c->len -= (size_t)hl + plen;
            if (h.opcode == IROH_WS_CLOSE) return IROH_ECLOSED;
            if (h.opcode == IROH_WS_PING) {
                uint8_t pong[IROH_WS_MAX_HEADER_LEN + IROH_WS_MAX_CONTROL_PAYLOAD], m[4] = {0};
                size_t n = iroh_ws_encode_header(pong, true, IROH_WS_PONG, plen, m);
                memcpy(pong + n, c->msg, plen);
                rtc_send_raw(c, pong, n + plen);
                continue;
            }
            if (h.opcode != IROH_WS_BINARY || !h.fin) continue;
            *len = plen;
            return IROH_OK;
        }
        int rc = fill(c, deadline);
        if (rc < 0) return rc;
    }
}

int rtc_recv_message(struct rtc *c, size_t *len, int timeout_ms)
{
    return next_message(c, len, now_ms() + timeout_ms);
}

int rtc_recv(struct rtc *c, struct iroh_relay_frame *f, int timeout_ms, bool keep_pings)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        size_t len;
        int rc = next_message(c, &len, deadline);
        if (rc < 0) return rc;
        if (iroh_relay_frame_decode(c->msg, len, f) < 0) return IROH_EPROTO;
        if (f->type == IROH_RELAY_PING && !keep_pings) {
            struct iroh_relay_frame pong = {.type = IROH_RELAY_PONG};
            memcpy(pong.ping, f->ping, sizeof pong.ping);
            rtc_send(c, &pong);
            continue;
        }
        return IROH_OK;
    }
}

int rtc_handshake(struct rtc *c, int timeout_ms, char *reason, size_t reason_cap, bool *challenged)
{
    struct iroh_relay_frame f;
    if (challenged) *challenged = false;
    int rc = rtc_recv(c, &f, timeout_ms, true);
    if (rc < 0) return rc;
    if (f.type == IROH_RELAY_SERVER_CHALLENGE) {
        if (challenged) *challenged = true;
        struct iroh_relay_frame auth;
        iroh_relay_client_auth_make(&c->sk, f.challenge, &auth);
        if ((rc = rtc_send(c, &auth)) < 0) return rc;
        if ((rc = rtc_recv(c, &f, timeout_ms, true)) < 0) return rc;
    }
    if (f.type == IROH_RELAY_SERVER_CONFIRMS_AUTH) return IROH_OK;
    if (f.type == IROH_RELAY_SERVER_DENIES_AUTH) {
        if (reason && reason_cap)
            snprintf(reason, reason_cap, "%.*s", (int)f.data_len, (const char *)f.data);
        return IROH_EPERM;
    }
    return IROH_EPROTO;
}

int rtc_connect(struct rtc *c, uint16_t port, const uint8_t seed[32], int timeout_ms)
{
    int rc = rtc_open(c, port, seed, NULL, timeout_ms);
    if (rc == IROH_OK) rc = rtc_handshake(c, timeout_ms, NULL, 0, NULL);
    return rc;
}

int rtc_wait_closed(struct rtc *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        c->len = 0;
        int rc = fill(c, deadline);
        if (rc == IROH_ECLOSED) return IROH_OK;
        if (rc == IROH_ETIMEDOUT) return rc;
        if (rc < 0) return IROH_OK;
    }
}

void rtc_close(struct rtc *c)
{
    if (c->tls) {
        gnutls_deinit(c->tls);
        gnutls_certificate_free_credentials(c->cred);
        c->tls = NULL;
    }
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

int rtc_http(uint16_t port, const char *request, char *out, size_t out_cap, int timeout_ms)
{
    int fd = tcp_connect(port);
    if (fd < 0) return IROH_EIO;
    if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0) {
        close(fd);
        return IROH_EIO;
    }
    size_t len = 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            close(fd);
            return IROH_ETIMEDOUT;
        }
        ssize_t n = recv(fd, out + len, out_cap - 1 - len, 0);
        if (n <= 0 || len + (size_t)n >= out_cap - 1) {
            if (n > 0) len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    out[len] = '\0';
    struct iroh_http_response resp;
    int head = iroh_http_parse_response(out, len, out_cap, &resp);
    return head > 0 ? resp.status : IROH_EPROTO;
}
