/* test_http1.c — HTTP/1.x heads: a relay upgrade request and a 101 answer (CRLF and bare LF),
 * incomplete and oversized heads, malformed lines and fields, too many fields, the lookup and
 * token-list helpers, and query parameters with percent escapes. */
#include <stdio.h>
#include <string.h>

#include "core/http1.h"
#include "iroh/error.h"
#include "tests/test.h"

static const char REQUEST[] = "GET /relay?x=1&token=a%20b HTTP/1.1\r\n"
                              "Host: relay.example:3340\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: keep-alive, Upgrade\r\n"
                              "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==   \r\n"
                              "\r\n"
                              "extra";

static void test_request(void)
{
    struct iroh_http_request r;
    size_t head = sizeof REQUEST - 1 - 5;
    CHECK_EQ_INT(iroh_http_parse_request(REQUEST, sizeof REQUEST - 1, 8192, &r), (int)head);
    CHECK(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);
    CHECK(r.target_len == 22 && memcmp(r.target, "/relay?x=1&token=a%20b", 22) == 0);
    CHECK_EQ_INT(r.minor_version, 1);
    CHECK_EQ_INT(r.num_headers, 4);
    const struct iroh_http_header *h = iroh_http_find_header(r.headers, r.num_headers, "upgrade");
    CHECK(h && h->value_len == 9 && memcmp(h->value, "websocket", 9) == 0);
    h = iroh_http_find_header(r.headers, r.num_headers, "SEC-WEBSOCKET-KEY");
    CHECK(h && h->value_len == 24); /* surrounding whitespace dropped */
    h = iroh_http_find_header(r.headers, r.num_headers, "Connection");
    CHECK(h && iroh_http_list_has_token(h->value, h->value_len, "upgrade"));
    CHECK(h && !iroh_http_list_has_token(h->value, h->value_len, "close"));
    CHECK(!iroh_http_find_header(r.headers, r.num_headers, "Authorization"));
    CHECK_EQ_INT(iroh_http_target_path_len(r.target, r.target_len), 6);
    /* Every prefix of the head is incomplete. */
    for (size_t i = 0; i < head; i++)
        CHECK_EQ_INT(iroh_http_parse_request(REQUEST, i, 8192, &r), 0);
    /* A head that does not fit the limit. */
    CHECK_EQ_INT(iroh_http_parse_request(REQUEST, head, 50, &r), IROH_ETOOBIG);
    CHECK_EQ_INT(iroh_http_parse_request(REQUEST, 40, 40, &r), IROH_ETOOBIG);
    /* Bare LF works too. */
    const char lf[] = "GET / HTTP/1.0\nHost: a\n\n";
    CHECK_EQ_INT(iroh_http_parse_request(lf, sizeof lf - 1, 100, &r), (int)sizeof lf - 1);
    CHECK_EQ_INT(r.minor_version, 0);
    CHECK_EQ_INT(r.num_headers, 1);
}

static void test_malformed(void)
{
    struct iroh_http_request r;
    const char *bad[] = {
        "GET /relay HTTP/2.0\r\n\r\n",
        "GET /relay\r\n\r\n",
        "GET  /relay HTTP/1.1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        "GET /\x7f HTTP/1.1\r\n\r\n",
        "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = iroh_http_parse_request(bad[i], strlen(bad[i]), 1000, &r);
        if (rc != IROH_EPROTO) fprintf(stderr, "case %zu: %d\n", i, rc);
        CHECK_EQ_INT(rc, IROH_EPROTO);
    }
    char many[8192];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= IROH_HTTP_MAX_HEADERS; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: v\r\n", i);
    n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
    CHECK_EQ_INT(iroh_http_parse_request(many, n, sizeof many, &r), IROH_ETOOBIG);
}

static void test_response(void)
{
    struct iroh_http_response r;
    const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    CHECK_EQ_INT(iroh_http_parse_response(ok, sizeof ok - 1, 1000, &r), (int)sizeof ok - 1);
    CHECK_EQ_INT(r.status, 101);
    CHECK(r.reason_len == 19 && memcmp(r.reason, "Switching Protocols", 19) == 0);
    CHECK_EQ_INT(r.num_headers, 1);
    const char noreason[] = "HTTP/1.1 204\r\n\r\n";
    CHECK_EQ_INT(iroh_http_parse_response(noreason, sizeof noreason - 1, 1000, &r),
                 (int)sizeof noreason - 1);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_INT(r.reason_len, 0);
    const char *bad[] = {"HTTP/1.1 1O1 x\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
                         "HTTP/1.1 1011\r\n\r\n", "HTTX/1.1 101 x\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(iroh_http_parse_response(bad[i], strlen(bad[i]), 1000, &r), IROH_EPROTO);
}

static void test_query(void)
{
    char out[32];
    const char *t = "/relay?x=1&token=a%20b%2Bc+d&empty=&flag";
    size_t n = strlen(t);
    CHECK_EQ_INT(iroh_http_query_param(t, n, "token", out, sizeof out), 7);
    CHECK_EQ_STR(out, "a b+c+d");
    CHECK_EQ_INT(iroh_http_query_param(t, n, "x", out, sizeof out), 1);
    CHECK_EQ_STR(out, "1");
    CHECK_EQ_INT(iroh_http_query_param(t, n, "empty", out, sizeof out), 0);
    CHECK_EQ_INT(iroh_http_query_param(t, n, "flag", out, sizeof out), 0);
    CHECK_EQ_INT(iroh_http_query_param(t, n, "tok", out, sizeof out), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_http_query_param("/relay", 6, "token", out, sizeof out), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_http_query_param("/?token=%2", 10, "token", out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_http_query_param("/?token=%zz", 11, "token", out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_http_query_param(t, n, "token", out, 5), IROH_EBUFFER);
    CHECK(iroh_http_equal_nocase("WebSocket", 9, "websocket"));
    CHECK(!iroh_http_equal_nocase("websocke", 8, "websocket"));
}

int main(void)
{
    RUN(test_request);
    RUN(test_malformed);
    RUN(test_response);
    RUN(test_query);
    return TEST_SUMMARY();
}
