/* core/http1.h — the head of an HTTP/1.x message (RFC 9112): the request or status line and the
 * header fields, parsed in place; plus the few field-value helpers a relay needs (header lookup,
 * comma-separated token lists, the path and a percent-decoded query parameter of a target).
 *
 * Used by the relay server (relay/) for requests and by relay clients (daemon) for the 101
 * answer to their upgrade request; any module may call it. Nothing is allocated: the parsed
 * structs point into the caller's buffer, which must outlive them. Bodies are not handled; a
 * caller that expects one reads Content-Length bytes after the head itself.
 *
 * Strictness: the parser accepts CRLF or bare LF line ends, refuses obsolete line folding,
 * whitespace before a field's colon, control characters in values, and field names that are
 * not RFC 9110 tokens. Leading and trailing whitespace of a value is dropped. */
#ifndef IROH_CORE_HTTP1_H
#define IROH_CORE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>

#define IROH_HTTP_MAX_HEADERS 64 /* more fields than this → IROH_ETOOBIG */

/* One header field; both parts point into the parsed buffer (not NUL-terminated). */
struct iroh_http_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

struct iroh_http_request {
    const char *method;
    size_t method_len;
    const char *target; /* request-target as sent, e.g. "/relay?token=abc" */
    size_t target_len;
    int minor_version; /* 0 or 1 of HTTP/1.x */
    struct iroh_http_header headers[IROH_HTTP_MAX_HEADERS];
    size_t num_headers;
};

struct iroh_http_response {
    int minor_version;
    int status; /* 100..999 */
    const char *reason;
    size_t reason_len;
    struct iroh_http_header headers[IROH_HTTP_MAX_HEADERS];
    size_t num_headers;
};

/* Parses a request head from buf[0..len). Returns the head's length in bytes (through the
 * empty line; what follows is body or pipelined data), 0 if the head is not complete yet,
 * IROH_ETOOBIG if len >= max_head without a complete head or there are too many fields, or
 * IROH_EPROTO if the bytes are not a valid HTTP/1.x request head. */
int iroh_http_parse_request(const char *buf, size_t len, size_t max_head,
                            struct iroh_http_request *out);

/* The same for a response head ("HTTP/1.1 101 Switching Protocols"). */
int iroh_http_parse_response(const char *buf, size_t len, size_t max_head,
                             struct iroh_http_response *out);

/* The first field named name (ASCII case-insensitive), or NULL. */
const struct iroh_http_header *iroh_http_find_header(const struct iroh_http_header *headers,
                                                     size_t n, const char *name);

/* True if the comma-separated list value[0..len) holds token (case-insensitive, elements
 * trimmed), as for "Connection: keep-alive, Upgrade". */
bool iroh_http_list_has_token(const char *value, size_t len, const char *token);

/* True if a[0..a_len) equals the NUL-terminated b, ASCII case-insensitive. */
bool iroh_http_equal_nocase(const char *a, size_t a_len, const char *b);

/* The path of a request-target: the bytes before '?' (or all). */
size_t iroh_http_target_path_len(const char *target, size_t len);

/* Finds query parameter name in target[0..len) ("/relay?a=1&token=x%20y") and writes its
 * percent-decoded value ('+' stays '+') and a NUL to out. Returns the value's length,
 * IROH_ENOTFOUND if absent, IROH_EINVAL on a bad %-escape, IROH_EBUFFER if out_cap is too
 * small. */
int iroh_http_query_param(const char *target, size_t len, const char *name, char *out,
                          size_t out_cap);

#endif
