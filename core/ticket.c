/* core/ticket.c — EndpointAddr, endpoint and blob tickets, relay URLs, socket address text;
 * see ticket.h. */
#include "core/ticket.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "iroh/error.h"

static const char TICKET_PREFIX[] = "endpoint";
#define TICKET_PREFIX_LEN (sizeof TICKET_PREFIX - 1)
/* Bytes of the largest ticket payload iroh_endpoint_ticket_decode accepts. */
#define TICKET_PAYLOAD_MAX IROH_BASE32_DECODED_LEN(IROH_ENDPOINT_TICKET_MAX_LEN - TICKET_PREFIX_LEN)
static const char BLOB_TICKET_PREFIX[] = "blob";
#define BLOB_TICKET_PAYLOAD_MAX                                                                    \
    IROH_BASE32_DECODED_LEN(IROH_BLOB_TICKET_MAX_LEN - (sizeof BLOB_TICKET_PREFIX - 1))

/* postcard variant indices (TransportAddr variant 2, Custom, is not supported) */
enum {
    TRANSPORT_ADDR_RELAY = 0,
    TRANSPORT_ADDR_IP = 1,
    SOCKET_ADDR_V4 = 0,
    SOCKET_ADDR_V6 = 1,
    TICKET_VARIANT_1 = 0,
};

#define IPV4_TEXT_MAX 15 /* "255.255.255.255" */
/* the longest inet_pton input: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" */
#define IPV6_TEXT_MAX 45

/* ---------------------------------------------------------------- IP text */

/* Runs inet_pton on text[0..len) (which need not be NUL-terminated) into ip. */
static bool parse_ip(int af, const char *text, size_t len, uint8_t *ip)
{
    char host[IPV6_TEXT_MAX + 1];
    size_t max = af == AF_INET ? IPV4_TEXT_MAX : IPV6_TEXT_MAX;
    if (len == 0 || len > max) return false;
    memcpy(host, text, len);
    host[len] = '\0';
    return inet_pton(af, host, ip) == 1;
}

/* Writes "a.b.c.d" into out (at least IPV4_TEXT_MAX + 1 bytes); returns its length. */
static size_t format_ipv4(const uint8_t ip[4], char *out)
{
    return (size_t)sprintf(out, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

/* Writes an IPv6 address in RFC 5952 form into out (at least IPV6_TEXT_MAX + 1 bytes):
 * lowercase hex groups without leading zeros, the first longest run of two or more zero
 * groups replaced by "::". With dotted_v4_mapped, ::ffff:a.b.c.d is written with a dotted
 * IPv4 tail (Rust's Display); without, as hex groups (WHATWG URL hosts). Returns the length. */
static size_t format_ipv6(const uint8_t ip[16], bool dotted_v4_mapped, char *out)
{
    static const uint8_t V4_MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (dotted_v4_mapped && memcmp(ip, V4_MAPPED_PREFIX, sizeof V4_MAPPED_PREFIX) == 0) {
        memcpy(out, "::ffff:", 7);
        return 7 + format_ipv4(ip + 12, out + 7);
    }
    unsigned groups[8];
    int zeros_start = -1, zeros_len = 1, run_start = 0, run_len = 0;
    for (int i = 0; i < 8; i++) {
        groups[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
        if (groups[i] != 0) {
            run_len = 0;
            continue;
        }
        if (run_len++ == 0) run_start = i;
        if (run_len > zeros_len) {
            zeros_start = run_start;
            zeros_len = run_len;
        }
    }
    size_t pos = 0;
    for (int i = 0; i < 8; i++) {
        if (i == zeros_start) {
            out[pos++] = ':';
            out[pos++] = ':';
            i += zeros_len - 1;
            continue;
        }
        if (pos > 0 && out[pos - 1] != ':') out[pos++] = ':';
        pos += (size_t)sprintf(out + pos, "%x", groups[i]);
    }
    out[pos] = '\0';
    return pos;
}

/* Parses a decimal port of one or more digits (leading zeros allowed) up to 65535. */
static bool parse_port(const char *text, size_t len, uint16_t *out)
{
    if (len == 0) return false;
    unsigned value = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        value = value * 10 + (unsigned)(text[i] - '0');
        if (value > UINT16_MAX) return false;
    }
    *out = (uint16_t)value;
    return true;
}

int iroh_socket_addr_parse(const char *text, size_t len, struct iroh_socket_addr *out)
{
    struct iroh_socket_addr addr = {0};
    const char *colon;
    if (len > 0 && text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close || close + 1 == text + len || close[1] != ':') return IROH_EINVAL;
        if (!parse_ip(AF_INET6, text + 1, (size_t)(close - text - 1), addr.ip)) {
            return IROH_EINVAL;
        }
        addr.family = IROH_IP_V6;
        colon = close + 1;
    } else {
        colon = memchr(text, ':', len);
        if (!colon || !parse_ip(AF_INET, text, (size_t)(colon - text), addr.ip)) {
            return IROH_EINVAL;
        }
        addr.family = IROH_IP_V4;
    }
    if (!parse_port(colon + 1, (size_t)(text + len - colon - 1), &addr.port)) return IROH_EINVAL;
    *out = addr;
    return IROH_OK;
}

int iroh_socket_addr_format(const struct iroh_socket_addr *addr, char *out, size_t out_cap)
{
    char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    size_t len;
    if (addr->family == IROH_IP_V4) {
        len = format_ipv4(addr->ip, text);
    } else if (addr->family == IROH_IP_V6) {
        text[0] = '[';
        len = 1 + format_ipv6(addr->ip, true, text + 1);
        text[len++] = ']';
    } else {
        return IROH_EINVAL;
    }
    len += (size_t)sprintf(text + len, ":%u", addr->port);
    if (out_cap < len + 1) return IROH_EBUFFER;
    memcpy(out, text, len + 1);
    return (int)len;
}

/* The number of address bytes of a family (0 if unknown). */
static size_t ip_len(uint8_t family)
{
    return family == IROH_IP_V4 ? 4 : family == IROH_IP_V6 ? 16 : 0;
}

int iroh_socket_addr_compare(const struct iroh_socket_addr *a, const struct iroh_socket_addr *b)
{
    if (a->family != b->family) return a->family < b->family ? -1 : 1;
    int by_ip = memcmp(a->ip, b->ip, ip_len(a->family));
    if (by_ip != 0) return by_ip;
    return a->port < b->port ? -1 : a->port > b->port ? 1 : 0;
}

/* ---------------------------------------------------------------- relay URLs */

/* A bounded string being assembled; overflow is sticky. */
struct text_out {
    char *buf;
    size_t cap;
    size_t len;
    bool overflow;
};

static void text_append(struct text_out *t, const char *s, size_t n)
{
    if (t->overflow || n + 1 > t->cap - t->len) {
        t->overflow = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether s[0..len) equals the lowercase word, ignoring ASCII case. */
static bool equals_ignoring_case(const char *s, size_t len, const char *word)
{
    if (strlen(word) != len) return false;
    for (size_t i = 0; i < len; i++) {
        if (ascii_lower(s[i]) != word[i]) return false;
    }
    return true;
}

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

/* Characters kept verbatim in path, query and fragment: printable ASCII except those WHATWG
 * would percent-encode in some part and the backslash it would turn into '/'. */
static bool is_path_char(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"<>`{}'\\", c);
}

/* Whether c ends a URL's authority (host and port). */
static bool ends_authority(char c)
{
    return c == '/' || c == '?' || c == '#';
}

/* Whether a domain "ends in a number" (WHATWG): its last label, ignoring one trailing dot, is
 * all decimal digits or "0x" followed by hex digits. Such hosts must be IPv4 addresses. */
static bool ends_in_number(const char *host, size_t len)
{
    if (len > 0 && host[len - 1] == '.') len--;
    size_t start = len;
    while (start > 0 && host[start - 1] != '.')
        start--;
    const char *label = host + start;
    size_t label_len = len - start;
    if (label_len == 0) return false;
    size_t digits_from = 0;
    bool hex = label_len >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X');
    if (hex) digits_from = 2;
    for (size_t i = digits_from; i < label_len; i++) {
        char c = ascii_lower(label[i]);
        if (!(c >= '0' && c <= '9') && !(hex && c >= 'a' && c <= 'f')) return false;
    }
    return true;
}

/* Appends the canonical form of a host (the authority without the port). */
static int append_host(struct text_out *t, const char *host, size_t len)
{
    uint8_t ip[16];
    char text[IPV6_TEXT_MAX + 1];
    if (len > 0 && host[0] == '[') {
        if (host[len - 1] != ']' || !parse_ip(AF_INET6, host + 1, len - 2, ip)) {
            return IROH_EINVAL;
        }
        text_append(t, "[", 1);
        text_append(t, text, format_ipv6(ip, false, text));
        text_append(t, "]", 1);
        return IROH_OK;
    }
    if (len == 0) return IROH_EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!is_host_char(host[i])) return IROH_EINVAL;
    }
    if (ends_in_number(host, len)) {
        size_t without_dot = host[len - 1] == '.' ? len - 1 : len;
        if (!parse_ip(AF_INET, host, without_dot, ip)) return IROH_EINVAL;
        text_append(t, text, format_ipv4(ip, text));
        return IROH_OK;
    }
    for (size_t i = 0; i < len; i++) {
        char c = ascii_lower(host[i]);
        text_append(t, &c, 1);
    }
    return IROH_OK;
}

/* Whether a path segment is "." or ".." in any spelling WHATWG recognises. */
static bool is_dot_segment(const char *segment, size_t len)
{
    static const char *const DOT_SEGMENTS[] = {".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"};
    for (size_t i = 0; i < sizeof DOT_SEGMENTS / sizeof DOT_SEGMENTS[0]; i++) {
        if (equals_ignoring_case(segment, len, DOT_SEGMENTS[i])) return true;
    }
    return false;
}

/* Appends path, query and fragment (everything from the first '/', '?' or '#' after the
 * authority), with "/" for an empty path. */
static int append_path(struct text_out *t, const char *rest, size_t len)
{
    size_t path_len = 0;
    while (path_len < len && rest[path_len] != '?' && rest[path_len] != '#')
        path_len++;
    for (size_t i = 0; i < len; i++) {
        if (!is_path_char(rest[i])) return IROH_EINVAL;
    }
    for (size_t start = 1; start <= path_len;) { /* segments after each '/' */
        size_t end = start;
        while (end < path_len && rest[end] != '/')
            end++;
        if (is_dot_segment(rest + start, end - start)) return IROH_EINVAL;
        start = end + 1;
    }
    if (path_len == 0) text_append(t, "/", 1);
    text_append(t, rest, len);
    return IROH_OK;
}

int iroh_relay_url_canonicalize(const char *url, size_t len, char *out, size_t out_cap)
{
    while (len > 0 && (unsigned char)url[0] <= 0x20) {
        url++;
        len--;
    }
    while (len > 0 && (unsigned char)url[len - 1] <= 0x20)
        len--;

    const char *scheme;
    uint16_t default_port;
    const char *separator = memchr(url, ':', len);
    size_t scheme_len = separator ? (size_t)(separator - url) : len;
    if (equals_ignoring_case(url, scheme_len, "https")) {
        scheme = "https";
        default_port = 443;
    } else if (equals_ignoring_case(url, scheme_len, "http")) {
        scheme = "http";
        default_port = 80;
    } else {
        return IROH_EINVAL;
    }
    if (len - scheme_len < 3 || memcmp(url + scheme_len, "://", 3) != 0) return IROH_EINVAL;
    const char *authority = url + scheme_len + 3;
    const char *end = url + len;
    size_t authority_len = 0;
    while (authority + authority_len < end && !ends_authority(authority[authority_len])) {
        authority_len++;
    }

    /* The port starts at the first ':' after an IPv6 literal's ']' (or in the host). */
    const char *host_end = authority;
    if (authority_len > 0 && authority[0] == '[') {
        const char *close = memchr(authority, ']', authority_len);
        if (!close) return IROH_EINVAL;
        host_end = close + 1;
    }
    const char *port_colon = memchr(host_end, ':', authority_len - (size_t)(host_end - authority));
    size_t host_len = port_colon ? (size_t)(port_colon - authority) : authority_len;
    uint16_t port = default_port;
    if (port_colon) {
        size_t port_len = authority_len - host_len - 1;
        if (port_len > 0 && !parse_port(port_colon + 1, port_len, &port)) return IROH_EINVAL;
    }

    struct text_out t = {out, out_cap, 0, out_cap == 0};
    text_append(&t, scheme, strlen(scheme));
    text_append(&t, "://", 3);
    int err = append_host(&t, authority, host_len);
    if (err < 0) return err;
    if (port != default_port) {
        char port_text[8];
        text_append(&t, port_text, (size_t)sprintf(port_text, ":%u", port));
    }
    err = append_path(&t, authority + authority_len, (size_t)(end - authority) - authority_len);
    if (err < 0) return err;
    return t.overflow ? IROH_EBUFFER : (int)t.len;
}

/* ---------------------------------------------------------------- EndpointAddr */

void iroh_endpoint_addr_init(struct iroh_endpoint_addr *addr, const struct iroh_public_key *id)
{
    memset(addr, 0, sizeof *addr);
    addr->id = *id;
}

int iroh_endpoint_addr_add_relay(struct iroh_endpoint_addr *addr, const char *url, size_t len)
{
    char canonical[IROH_RELAY_URL_MAX + 1];
    int n = iroh_relay_url_canonicalize(url, len, canonical, sizeof canonical);
    if (n == IROH_EBUFFER) return IROH_ETOOBIG;
    if (n < 0) return n;
    size_t at = 0;
    int order = 1;
    while (at < addr->relay_count && (order = strcmp(addr->relays[at], canonical)) < 0)
        at++;
    if (at < addr->relay_count && order == 0) return 0;
    if (addr->relay_count == IROH_ADDR_MAX_RELAYS) return IROH_ETOOBIG;
    memmove(&addr->relays[at + 1], &addr->relays[at],
            (addr->relay_count - at) * sizeof addr->relays[0]);
    memset(addr->relays[at], 0, sizeof addr->relays[at]);
    memcpy(addr->relays[at], canonical, (size_t)n + 1);
    addr->relay_count++;
    return 1;
}

int iroh_endpoint_addr_add_ip(struct iroh_endpoint_addr *addr, const struct iroh_socket_addr *ip)
{
    size_t len = ip_len(ip->family);
    if (len == 0) return IROH_EINVAL;
    struct iroh_socket_addr normalized = {.family = ip->family, .port = ip->port};
    memcpy(normalized.ip, ip->ip, len);
    size_t at = 0;
    int order = 1;
    while (at < addr->ip_count &&
           (order = iroh_socket_addr_compare(&addr->ips[at], &normalized)) < 0) {
        at++;
    }
    if (at < addr->ip_count && order == 0) return 0;
    if (addr->ip_count == IROH_ADDR_MAX_IPS) return IROH_ETOOBIG;
    memmove(&addr->ips[at + 1], &addr->ips[at], (addr->ip_count - at) * sizeof addr->ips[0]);
    addr->ips[at] = normalized;
    addr->ip_count++;
    return 1;
}

bool iroh_endpoint_addr_equal(const struct iroh_endpoint_addr *a,
                              const struct iroh_endpoint_addr *b)
{
    if (memcmp(a->id.bytes, b->id.bytes, IROH_KEY_LEN) != 0) return false;
    if (a->relay_count != b->relay_count || a->ip_count != b->ip_count) return false;
    for (size_t i = 0; i < a->relay_count; i++) {
        if (strcmp(a->relays[i], b->relays[i]) != 0) return false;
    }
    for (size_t i = 0; i < a->ip_count; i++) {
        if (iroh_socket_addr_compare(&a->ips[i], &b->ips[i]) != 0) return false;
    }
    return true;
}

/* Rebuilds addr in canonical form into *out. */
static int canonical_copy(const struct iroh_endpoint_addr *addr, struct iroh_endpoint_addr *out)
{
    if (addr->relay_count > IROH_ADDR_MAX_RELAYS || addr->ip_count > IROH_ADDR_MAX_IPS) {
        return IROH_EINVAL;
    }
    iroh_endpoint_addr_init(out, &addr->id);
    for (size_t i = 0; i < addr->relay_count; i++) {
        const char *url = addr->relays[i];
        int err = iroh_endpoint_addr_add_relay(out, url, strnlen(url, sizeof addr->relays[i]));
        if (err < 0) return err;
    }
    for (size_t i = 0; i < addr->ip_count; i++) {
        int err = iroh_endpoint_addr_add_ip(out, &addr->ips[i]);
        if (err < 0) return err;
    }
    return IROH_OK;
}

/* Appends a serde SocketAddr: variant V4 or V6, the address bytes, varint(port). */
static void encode_socket_addr(struct iroh_postcard_writer *w, const struct iroh_socket_addr *ip)
{
    iroh_postcard_put_varint(w, ip->family == IROH_IP_V4 ? SOCKET_ADDR_V4 : SOCKET_ADDR_V6);
    iroh_postcard_put_raw(w, ip->ip, ip_len(ip->family));
    iroh_postcard_put_varint(w, ip->port);
}

int iroh_endpoint_addr_encode(struct iroh_postcard_writer *w, const struct iroh_endpoint_addr *addr)
{
    struct iroh_endpoint_addr canonical;
    int err = canonical_copy(addr, &canonical);
    if (err < 0) return err;
    iroh_postcard_put_raw(w, canonical.id.bytes, IROH_KEY_LEN);
    iroh_postcard_put_varint(w, canonical.relay_count + canonical.ip_count);
    for (size_t i = 0; i < canonical.relay_count; i++) {
        iroh_postcard_put_varint(w, TRANSPORT_ADDR_RELAY);
        iroh_postcard_put_bytes(w, canonical.relays[i], strlen(canonical.relays[i]));
    }
    for (size_t i = 0; i < canonical.ip_count; i++) {
        iroh_postcard_put_varint(w, TRANSPORT_ADDR_IP);
        encode_socket_addr(w, &canonical.ips[i]);
    }
    return w->overflow ? IROH_EBUFFER : IROH_OK;
}

/* Reads the content of a TransportAddr::Ip (a serde SocketAddr) into *out. */
static int decode_socket_addr(struct iroh_postcard_reader *r, struct iroh_socket_addr *out)
{
    uint32_t variant;
    int err = iroh_postcard_get_u32(r, &variant);
    if (err < 0) return err;
    memset(out, 0, sizeof *out);
    if (variant == SOCKET_ADDR_V4) {
        out->family = IROH_IP_V4;
    } else if (variant == SOCKET_ADDR_V6) {
        out->family = IROH_IP_V6;
    } else {
        return IROH_EINVAL;
    }
    err = iroh_postcard_get_raw(r, out->ip, ip_len(out->family));
    return err < 0 ? err : iroh_postcard_get_u16(r, &out->port);
}

/* Reads one TransportAddr and adds it to *out. */
static int decode_transport_addr(struct iroh_postcard_reader *r, struct iroh_endpoint_addr *out)
{
    uint32_t variant;
    int err = iroh_postcard_get_u32(r, &variant);
    if (err < 0) return err;
    if (variant == TRANSPORT_ADDR_RELAY) {
        const char *url;
        size_t len;
        err = iroh_postcard_get_str(r, &url, &len);
        return err < 0 ? err : iroh_endpoint_addr_add_relay(out, url, len);
    }
    if (variant == TRANSPORT_ADDR_IP) {
        struct iroh_socket_addr ip;
        err = decode_socket_addr(r, &ip);
        return err < 0 ? err : iroh_endpoint_addr_add_ip(out, &ip);
    }
    /* Custom (variant 2, whose layout differs between iroh versions) or unknown. */
    return IROH_EINVAL;
}

int iroh_endpoint_addr_decode(struct iroh_postcard_reader *r, struct iroh_endpoint_addr *out)
{
    uint8_t id_bytes[IROH_KEY_LEN];
    struct iroh_public_key id;
    uint64_t count;
    int err = iroh_postcard_get_raw(r, id_bytes, sizeof id_bytes);
    if (err == IROH_OK) err = iroh_public_key_from_bytes(id_bytes, &id);
    if (err == IROH_OK) err = iroh_postcard_get_u64(r, &count);
    if (err < 0) return err;
    iroh_endpoint_addr_init(out, &id);
    for (uint64_t i = 0; i < count; i++) {
        err = decode_transport_addr(r, out);
        if (err < 0) return err;
    }
    return IROH_OK;
}

/* ---------------------------------------------------------------- tickets */

/* Writes prefix + base32(payload[0..len)) and a NUL to out; returns the length or an error. */
static int ticket_text_encode(const char *prefix, const uint8_t *payload, size_t len, char *out,
                              size_t out_cap)
{
    size_t prefix_len = strlen(prefix);
    if (out_cap < prefix_len) return IROH_EBUFFER;
    memcpy(out, prefix, prefix_len);
    int text_len = iroh_base32_encode(payload, len, out + prefix_len, out_cap - prefix_len);
    return text_len < 0 ? text_len : (int)prefix_len + text_len;
}

/* Checks the exact prefix and the length limit of text[0..len), base32-decodes the rest into
 * payload[0..cap) and reads the ticket variant, which must be 0. Leaves *r after it. */
static int ticket_text_decode(const char *prefix, size_t max_len, const char *text, size_t len,
                              uint8_t *payload, size_t cap, struct iroh_postcard_reader *r)
{
    size_t prefix_len = strlen(prefix);
    if (len > max_len) return IROH_ETOOBIG;
    if (len < prefix_len || memcmp(text, prefix, prefix_len) != 0) return IROH_EINVAL;
    int n = iroh_base32_decode(text + prefix_len, len - prefix_len, payload, cap);
    if (n < 0) return n;
    uint32_t variant;
    iroh_postcard_reader_init(r, payload, (size_t)n);
    int err = iroh_postcard_get_u32(r, &variant);
    if (err < 0) return err;
    return variant == TICKET_VARIANT_1 ? IROH_OK : IROH_EINVAL;
}

int iroh_endpoint_ticket_encode(const struct iroh_endpoint_addr *addr, char *out, size_t out_cap)
{
    uint8_t payload[TICKET_PAYLOAD_MAX];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, payload, sizeof payload);
    iroh_postcard_put_varint(&w, TICKET_VARIANT_1);
    int err = iroh_endpoint_addr_encode(&w, addr);
    return err < 0 ? err : ticket_text_encode(TICKET_PREFIX, payload, w.len, out, out_cap);
}

int iroh_endpoint_ticket_decode(const char *text, size_t len, struct iroh_endpoint_addr *out)
{
    uint8_t payload[TICKET_PAYLOAD_MAX];
    struct iroh_postcard_reader r;
    int err = ticket_text_decode(TICKET_PREFIX, IROH_ENDPOINT_TICKET_MAX_LEN, text, len, payload,
                                 sizeof payload, &r);
    return err < 0 ? err : iroh_endpoint_addr_decode(&r, out);
}

int iroh_blob_ticket_encode(const struct iroh_blob_ticket *ticket, char *out, size_t out_cap)
{
    if (ticket->format > IROH_BLOB_TICKET_HASH_SEQ) return IROH_EINVAL;
    struct iroh_endpoint_addr canonical;
    int err = canonical_copy(&ticket->addr, &canonical);
    if (err < 0) return err;
    uint8_t payload[BLOB_TICKET_PAYLOAD_MAX];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, payload, sizeof payload);
    iroh_postcard_put_varint(&w, TICKET_VARIANT_1);
    iroh_postcard_put_raw(&w, canonical.id.bytes, IROH_KEY_LEN);
    iroh_postcard_put_bool(&w, canonical.relay_count > 0);
    if (canonical.relay_count > 0)
        iroh_postcard_put_bytes(&w, canonical.relays[0], strlen(canonical.relays[0]));
    iroh_postcard_put_varint(&w, canonical.ip_count);
    for (size_t i = 0; i < canonical.ip_count; i++)
        encode_socket_addr(&w, &canonical.ips[i]);
    iroh_postcard_put_varint(&w, ticket->format);
    iroh_postcard_put_raw(&w, ticket->hash, sizeof ticket->hash);
    if (w.overflow) return IROH_EBUFFER;
    return ticket_text_encode(BLOB_TICKET_PREFIX, payload, w.len, out, out_cap);
}

/* Reads the node part of a blob ticket (iroh 0.35's NodeAddr layout) into *out. */
static int decode_blob_ticket_node(struct iroh_postcard_reader *r, struct iroh_endpoint_addr *out)
{
    uint8_t id_bytes[IROH_KEY_LEN];
    struct iroh_public_key id;
    bool has_relay;
    uint64_t count;
    int err = iroh_postcard_get_raw(r, id_bytes, sizeof id_bytes);
    if (err == IROH_OK) err = iroh_public_key_from_bytes(id_bytes, &id);
    if (err == IROH_OK) err = iroh_postcard_get_bool(r, &has_relay);
    if (err < 0) return err;
    iroh_endpoint_addr_init(out, &id);
    if (has_relay) {
        const char *url;
        size_t len;
        err = iroh_postcard_get_str(r, &url, &len);
        if (err == IROH_OK) err = iroh_endpoint_addr_add_relay(out, url, len);
        if (err < 0) return err;
    }
    err = iroh_postcard_get_u64(r, &count);
    for (uint64_t i = 0; i < count && err >= 0; i++) {
        struct iroh_socket_addr ip;
        err = decode_socket_addr(r, &ip);
        if (err == IROH_OK) err = iroh_endpoint_addr_add_ip(out, &ip);
    }
    return err < 0 ? err : IROH_OK;
}

int iroh_blob_ticket_decode(const char *text, size_t len, struct iroh_blob_ticket *out)
{
    uint8_t payload[BLOB_TICKET_PAYLOAD_MAX];
    struct iroh_postcard_reader r;
    uint32_t format;
    int err = ticket_text_decode(BLOB_TICKET_PREFIX, IROH_BLOB_TICKET_MAX_LEN, text, len, payload,
                                 sizeof payload, &r);
    if (err == IROH_OK) err = decode_blob_ticket_node(&r, &out->addr);
    if (err == IROH_OK) err = iroh_postcard_get_u32(&r, &format);
    if (err == IROH_OK && format > IROH_BLOB_TICKET_HASH_SEQ) err = IROH_EINVAL;
    if (err == IROH_OK) err = iroh_postcard_get_raw(&r, out->hash, sizeof out->hash);
    if (err < 0) return err;
    out->format = (uint8_t)format;
    return IROH_OK;
}
