/* core/http1.c — HTTP/1.x message heads, parsed in place (see http1.h). */
#include "core/http1.h"

#include <string.h>

#include "iroh/error.h"

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool iroh_http_equal_nocase(const char *a, size_t a_len, const char *b)
{
    size_t b_len = strlen(b);
    if (a_len != b_len) return false;
    for (size_t i = 0; i < a_len; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return false;
    return true;
}

/* The end of the head: the offset just past the empty line, or 0 if there is none yet. */
static size_t head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n') continue;
        if (i + 1 < len && buf[i + 1] == '\n') return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') return i + 3;
    }
    return 0;
}

/* Cuts the next line from [*at, end): sets *line and *line_len (without CR LF). */
static void next_line(const char *buf, size_t end, size_t *at, const char **line, size_t *line_len)
{
    size_t start = *at, i = start;
    while (i < end && buf[i] != '\n')
        i++;
    size_t stop = i;
    if (stop > start && buf[stop - 1] == '\r') stop--;
    *line = buf + start;
    *line_len = stop - start;
    *at = i < end ? i + 1 : end;
}

/* Parses "HTTP/1.x" at s[0..8). */
static int parse_version(const char *s, size_t len, int *minor)
{
    if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0) return IROH_EPROTO;
    if (s[7] != '0' && s[7] != '1') return IROH_EPROTO;
    *minor = s[7] - '0';
    return IROH_OK;
}

/* Parses the header lines from *at up to the empty line. */
static int parse_fields(const char *buf, size_t end, size_t at, struct iroh_http_header *headers,
                        size_t *num)
{
    *num = 0;
    for (;;) {
        const char *line;
        size_t n;
        next_line(buf, end, &at, &line, &n);
        if (n == 0) return IROH_OK;
        if (line[0] == ' ' || line[0] == '\t') return IROH_EPROTO; /* obsolete folding */
        const char *colon = memchr(line, ':', n);
        if (!colon || colon == line) return IROH_EPROTO;
        size_t name_len = (size_t)(colon - line);
        for (size_t i = 0; i < name_len; i++)
            if (!is_tchar((unsigned char)line[i])) return IROH_EPROTO;
        const char *v = colon + 1, *v_end = line + n;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
            v_end--;
        for (const char *p = v; p < v_end; p++) {
            unsigned char c = (unsigned char)*p;
            if ((c < 0x20 && c != '\t') || c == 0x7f) return IROH_EPROTO;
        }
        if (*num == IROH_HTTP_MAX_HEADERS) return IROH_ETOOBIG;
        headers[*num] = (struct iroh_http_header){line, name_len, v, (size_t)(v_end - v)};
        (*num)++;
    }
}

/* Common start: finds the head, returns its length (or 0/error) and the first line. */
static int head_start(const char *buf, size_t len, size_t max_head, size_t *end, const char **line,
                      size_t *line_len, size_t *at)
{
    size_t scan = len < max_head ? len : max_head;
    *end = head_end(buf, scan);
    if (*end == 0) return len >= max_head ? IROH_ETOOBIG : 0;
    *at = 0;
    /* RFC 9112 §2.2: ignore at least one empty line before the start line. */
    next_line(buf, *end, at, line, line_len);
    if (*line_len == 0) next_line(buf, *end, at, line, line_len);
    if (*line_len == 0) return IROH_EPROTO;
    return 1;
}

int iroh_http_parse_request(const char *buf, size_t len, size_t max_head,
                            struct iroh_http_request *out)
{
    size_t end, at, n;
    const char *line;
    int rc = head_start(buf, len, max_head, &end, &line, &n, &at);
    if (rc <= 0) return rc;
    const char *sp1 = memchr(line, ' ', n);
    if (!sp1 || sp1 == line) return IROH_EPROTO;
    const char *rest = sp1 + 1;
    size_t rest_len = n - (size_t)(rest - line);
    const char *sp2 = memchr(rest, ' ', rest_len);
    if (!sp2 || sp2 == rest) return IROH_EPROTO;
    out->method = line;
    out->method_len = (size_t)(sp1 - line);
    for (size_t i = 0; i < out->method_len; i++)
        if (!is_tchar((unsigned char)line[i])) return IROH_EPROTO;
    out->target = rest;
    out->target_len = (size_t)(sp2 - rest);
    for (size_t i = 0; i < out->target_len; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (c <= 0x20 || c >= 0x7f) return IROH_EPROTO;
    }
    rc = parse_version(sp2 + 1, n - (size_t)(sp2 + 1 - line), &out->minor_version);
    if (rc < 0) return rc;
    rc = parse_fields(buf, end, at, out->headers, &out->num_headers);
    return rc < 0 ? rc : (int)end;
}

int iroh_http_parse_response(const char *buf, size_t len, size_t max_head,
                             struct iroh_http_response *out)
{
    size_t end, at, n;
    const char *line;
    int rc = head_start(buf, len, max_head, &end, &line, &n, &at);
    if (rc <= 0) return rc;
    if (n < 12 || line[8] != ' ') return IROH_EPROTO;
    rc = parse_version(line, 8, &out->minor_version);
    if (rc < 0) return rc;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (line[i] < '0' || line[i] > '9') return IROH_EPROTO;
        status = status * 10 + (line[i] - '0');
    }
    if (status < 100) return IROH_EPROTO;
    if (n > 12 && line[12] != ' ') return IROH_EPROTO;
    out->status = status;
    out->reason = n > 12 ? line + 13 : line + 12;
    out->reason_len = n > 12 ? n - 13 : 0;
    rc = parse_fields(buf, end, at, out->headers, &out->num_headers);
    return rc < 0 ? rc : (int)end;
}

const struct iroh_http_header *iroh_http_find_header(const struct iroh_http_header *headers,
                                                     size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (iroh_http_equal_nocase(headers[i].name, headers[i].name_len, name)) return &headers[i];
    return NULL;
}

bool iroh_http_list_has_token(const char *value, size_t len, const char *token)
{
    size_t at = 0;
    while (at <= len) {
        size_t start = at;
        while (at < len && value[at] != ',')
            at++;
        size_t stop = at;
        while (start < stop && (value[start] == ' ' || value[start] == '\t'))
            start++;
        while (stop > start && (value[stop - 1] == ' ' || value[stop - 1] == '\t'))
            stop--;
        if (iroh_http_equal_nocase(value + start, stop - start, token)) return true;
        at++;
    }
    return false;
}

size_t iroh_http_target_path_len(const char *target, size_t len)
{
    const char *q = memchr(target, '?', len);
    return q ? (size_t)(q - target) : len;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int iroh_http_query_param(const char *target, size_t len, const char *name, char *out,
                          size_t out_cap)
{
    size_t path = iroh_http_target_path_len(target, len);
    if (path == len) return IROH_ENOTFOUND;
    size_t name_len = strlen(name), at = path + 1;
    while (at <= len) {
        size_t start = at;
        while (at < len && target[at] != '&')
            at++;
        const char *pair = target + start;
        size_t pair_len = at - start;
        at++;
        if (pair_len < name_len || memcmp(pair, name, name_len) != 0) continue;
        if (pair_len > name_len && pair[name_len] != '=') continue;
        const char *v = pair_len > name_len ? pair + name_len + 1 : pair + pair_len;
        size_t v_len = (size_t)(pair + pair_len - v), o = 0;
        for (size_t i = 0; i < v_len; i++) {
            char c = v[i];
            if (c == '%') {
                if (i + 2 >= v_len) return IROH_EINVAL;
                int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
                if (hi < 0 || lo < 0) return IROH_EINVAL;
                c = (char)(hi << 4 | lo);
                i += 2;
            }
            if (o + 1 >= out_cap) return IROH_EBUFFER;
            out[o++] = c;
        }
        if (o >= out_cap) return IROH_EBUFFER;
        out[o] = '\0';
        return (int)o;
    }
    return IROH_ENOTFOUND;
}
