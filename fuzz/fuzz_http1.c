/* fuzz_http1.c — the HTTP/1.x head parser (core/http1.c) and the relay's use of it
 * (core/relay_proto.c upgrade check and token). The first byte picks max_head; the rest is
 * parsed as a request and as a response. Aborts unless: a parsed head's length is within the
 * input and the limit and ends with an empty line; every pointer lies inside the input; field
 * names are non-empty and free of ':' and whitespace; values hold no CR or LF; the upgrade
 * check answers OK (with an answer that fits 1 KiB) or 400 with a reason; tokens fit their
 * buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http1.h"
#include "core/relay_proto.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_span(const char *base, size_t len, const char *p, size_t n)
{
    if (n && (p < base || p + n > base + len)) abort();
}

static void check_fields(const char *in, size_t head, const struct iroh_http_header *h, size_t n)
{
    if (n > IROH_HTTP_MAX_HEADERS) abort();
    for (size_t i = 0; i < n; i++) {
        check_span(in, head, h[i].name, h[i].name_len);
        check_span(in, head, h[i].value, h[i].value_len);
        if (h[i].name_len == 0) abort();
        for (size_t j = 0; j < h[i].name_len; j++)
            if (h[i].name[j] == ':' || h[i].name[j] == ' ' || h[i].name[j] == '\r') abort();
        if (memchr(h[i].value, '\n', h[i].value_len) || memchr(h[i].value, '\r', h[i].value_len))
            abort();
    }
}

static void check_head_end(const char *in, int head)
{
    if (head < 2 || in[head - 1] != '\n') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t max_head = 16 + (size_t)data[0] * 8;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct iroh_http_request req;
    int rc = iroh_http_parse_request(in, len, max_head, &req);
    if (rc > 0) {
        if ((size_t)rc > len || (size_t)rc > max_head) abort();
        check_head_end(in, rc);
        check_span(in, (size_t)rc, req.method, req.method_len);
        check_span(in, (size_t)rc, req.target, req.target_len);
        if (!req.method_len || !req.target_len) abort();
        check_fields(in, (size_t)rc, req.headers, req.num_headers);
        struct iroh_relay_upgrade up;
        const char *reason = NULL;
        bool need_version = false;
        int st = iroh_relay_upgrade_check(&req, &up, &reason, &need_version);
        if (st != IROH_OK && (st != 400 || !reason)) abort();
        if (st == IROH_OK && up.version != IROH_RELAY_V1 && up.version != IROH_RELAY_V2 &&
            up.version != IROH_RELAY_V035)
            abort();
        if (st == IROH_OK && up.websocket != (up.ws_key != NULL)) abort();
        if (st == IROH_OK) {
            char answer[1024];
            if (iroh_relay_upgrade_answer(&up, NULL, answer, sizeof answer) <= 0) abort();
        }
        char token[64];
        int t = iroh_relay_request_token(&req, token, sizeof token);
        if (t >= 0 && ((size_t)t >= sizeof token || token[t] != '\0')) abort();
    } else if (rc != 0 && rc != IROH_EPROTO && rc != IROH_ETOOBIG) {
        abort();
    }

    struct iroh_http_response resp;
    rc = iroh_http_parse_response(in, len, max_head, &resp);
    if (rc > 0) {
        if ((size_t)rc > len || (size_t)rc > max_head) abort();
        check_head_end(in, rc);
        if (resp.status < 100 || resp.status > 999) abort();
        check_fields(in, (size_t)rc, resp.headers, resp.num_headers);
        char key[IROH_WS_KEY_LEN + 1] = "dGhlIHNhbXBsZSBub25jZQ==";
        int v = iroh_relay_upgrade_response_check(&resp, key);
        if (v != IROH_RELAY_V1 && v != IROH_RELAY_V2 && v != IROH_EPERM && v != IROH_EPROTO)
            abort();
    } else if (rc != 0 && rc != IROH_EPROTO && rc != IROH_ETOOBIG) {
        abort();
    }
    return 0;
}
