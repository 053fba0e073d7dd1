/* core/ticket.h — EndpointAddr (an id plus relay URLs and IP socket addresses), its postcard
 * form, endpoint and blob ticket strings, RelayUrl canonicalisation and IP:PORT text.
 *
 * Any module may call it; requires iroh_keys_init() (ids are point-checked when decoded).
 * Everything lives in caller-owned structs and buffers; nothing is allocated.
 *
 * An iroh_endpoint_addr built with iroh_endpoint_addr_init/add_relay/add_ip (and every one
 * produced by a decoder) is canonical: relays are canonical URL strings sorted by their bytes,
 * IPs are sorted V4 before V6, then by address bytes, then by port, and nothing is repeated —
 * the order of iroh's BTreeSet<TransportAddr>. Two canonical addrs are equal exactly when
 * iroh_endpoint_addr_equal says so. The encoders accept non-canonical structs too and always
 * write the canonical form.
 *
 * Not supported: iroh's Custom transport addresses (TransportAddr variant 2). Their postcard
 * layout changed incompatibly between iroh 1.0.3 and later versions, so a ticket or address
 * that contains one is rejected with IROH_EINVAL rather than misread. */
#ifndef IROH_CORE_TICKET_H
#define IROH_CORE_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/postcard.h"

#define IROH_ADDR_MAX_RELAYS 4       /* relay URLs an iroh_endpoint_addr holds */
#define IROH_ADDR_MAX_IPS 16         /* socket addresses an iroh_endpoint_addr holds */
#define IROH_RELAY_URL_MAX 255       /* bytes of a canonical relay URL, without the NUL */
#define IROH_SOCKET_ADDR_TEXT_MAX 47 /* "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535" */
/* Longest ticket string iroh_endpoint_ticket_decode accepts, and the longest the encoder can
 * produce (a full iroh_endpoint_addr with four 255-byte relays is 2252 characters). */
#define IROH_ENDPOINT_TICKET_MAX_LEN 4096

enum iroh_ip_family {
    IROH_IP_V4 = 4,
    IROH_IP_V6 = 6,
};

/* An IP socket address. V4 uses ip[0..4) (network order) and leaves the rest zero; V6 uses
 * all 16 bytes. IPv6 flow info and scope ids are not kept (iroh does not transmit them). */
struct iroh_socket_addr {
    uint8_t family; /* enum iroh_ip_family */
    uint16_t port;  /* host order */
    uint8_t ip[16];
};

struct iroh_endpoint_addr {
    struct iroh_public_key id;
    size_t relay_count;
    char relays[IROH_ADDR_MAX_RELAYS][IROH_RELAY_URL_MAX + 1]; /* canonical, NUL-terminated */
    size_t ip_count;
    struct iroh_socket_addr ips[IROH_ADDR_MAX_IPS];
};

/* Parses "A.B.C.D:PORT" (four decimal octets, no leading zeros) or "[IPV6]:PORT" (any
 * inet_pton form, no scope id) with a decimal PORT <= 65535 (leading zeros allowed, as Rust).
 * Returns IROH_OK or IROH_EINVAL. */
int iroh_socket_addr_parse(const char *text, size_t len, struct iroh_socket_addr *out);

/* Writes addr as Rust's SocketAddr Display does ("1.2.3.4:5", "[2001:db8::1]:5",
 * "[::ffff:1.2.3.4]:5") and a NUL. Returns the length, IROH_EBUFFER if out_cap is too small
 * (IROH_SOCKET_ADDR_TEXT_MAX + 1 always suffices) or IROH_EINVAL for an unknown family. */
int iroh_socket_addr_format(const struct iroh_socket_addr *addr, char *out, size_t out_cap);

/* Orders socket addresses as Rust's SocketAddr Ord: V4 before V6, then address bytes, then
 * port. Returns <0, 0 or >0. */
int iroh_socket_addr_compare(const struct iroh_socket_addr *a, const struct iroh_socket_addr *b);

/* Canonicalises a relay URL the way iroh's RelayUrl (a WHATWG URL) serialises it, for the
 * forms relays use: "http" or "https" scheme (any case) followed by "://"; leading and
 * trailing spaces and control characters are trimmed; the host is lowercased (a trailing dot
 * is kept), a dotted-quad IPv4 host is kept as is without a trailing dot, a bracketed IPv6
 * host is written in its shortest form ("[::ffff:7f00:1]"); the port is dropped when it is
 * the scheme's default (443 for https, 80 for http) or empty, leading zeros are removed; an
 * empty path becomes "/"; path, query and fragment are kept verbatim.
 *
 * Stricter than WHATWG, which would accept and rewrite these (they are rejected here with
 * IROH_EINVAL): other schemes, missing "//" or backslashes, user info ("user@"), hosts with
 * characters other than ASCII letters, digits, '-', '_' and '.' (IDNs must be given in
 * punycode), numeric hosts that are not four decimal octets without leading zeros (such as
 * "1.2.3", "0x7f.1", "01.2.3.4"), IPv6 zone ids, "." or ".." path segments (plain or
 * percent-encoded), and characters WHATWG would percent-encode (space, controls, '"', '<',
 * '>', '`', '{', '}', '\'' and non-ASCII bytes).
 *
 * Writes the canonical URL and a NUL to out, which must not overlap url. Returns its length,
 * IROH_EINVAL for an input outside the accepted forms, IROH_EBUFFER if it does not fit in
 * out_cap. */
int iroh_relay_url_canonicalize(const char *url, size_t len, char *out, size_t out_cap);

/* Makes *addr the address of endpoint id with no relays and no IPs. */
void iroh_endpoint_addr_init(struct iroh_endpoint_addr *addr, const struct iroh_public_key *id);

/* Canonicalises url and inserts it in sorted position. Returns 1 if added, 0 if the canonical
 * URL was already present, IROH_EINVAL if the URL is not accepted by
 * iroh_relay_url_canonicalize, IROH_ETOOBIG if its canonical form is longer than
 * IROH_RELAY_URL_MAX bytes or the addr already holds IROH_ADDR_MAX_RELAYS relays. */
int iroh_endpoint_addr_add_relay(struct iroh_endpoint_addr *addr, const char *url, size_t len);

/* Inserts ip in sorted position. Returns 1 if added, 0 if already present, IROH_EINVAL for an
 * unknown family, IROH_ETOOBIG if the addr already holds IROH_ADDR_MAX_IPS addresses. */
int iroh_endpoint_addr_add_ip(struct iroh_endpoint_addr *addr, const struct iroh_socket_addr *ip);

/* Whether two canonical addrs have the same id, relays and IPs. */
bool iroh_endpoint_addr_equal(const struct iroh_endpoint_addr *a,
                              const struct iroh_endpoint_addr *b);

/* Appends the postcard form of EndpointAddr: id (32 raw bytes), varint(count), then each
 * TransportAddr in canonical order — Relay: varint(0) and the URL as a string; Ip: varint(1),
 * then 00 + 4 address bytes or 01 + 16 address bytes, then varint(port). Duplicates are
 * written once. Returns IROH_OK, IROH_EBUFFER from the writer, or IROH_EINVAL/IROH_ETOOBIG
 * (as add_relay/add_ip) if addr holds something that cannot be canonicalised. */
int iroh_endpoint_addr_encode(struct iroh_postcard_writer *w,
                              const struct iroh_endpoint_addr *addr);

/* Reads an EndpointAddr in postcard form into *out (canonical). Entries may come in any
 * order; duplicates (also after URL canonicalisation) collapse. Returns IROH_OK; IROH_EINVAL
 * for truncated or malformed input, an id that is not a valid point, a relay URL that
 * iroh_relay_url_canonicalize rejects, a Custom address (variant 2) or an unknown variant;
 * IROH_ETOOBIG if more distinct relays or IPs than out can hold, or a relay URL longer than
 * IROH_RELAY_URL_MAX bytes. On error *out is unspecified and the reader position is
 * unspecified. */
int iroh_endpoint_addr_decode(struct iroh_postcard_reader *r, struct iroh_endpoint_addr *out);

/* Writes the endpoint ticket "endpoint" + lowercase unpadded base32 of (00 ‖ EndpointAddr)
 * and a NUL. Returns the string length, IROH_EBUFFER if out_cap is too small
 * (IROH_ENDPOINT_TICKET_MAX_LEN + 1 always suffices), or as iroh_endpoint_addr_encode. */
int iroh_endpoint_ticket_encode(const struct iroh_endpoint_addr *addr, char *out, size_t out_cap);

/* Parses an endpoint ticket: the prefix "endpoint" (exact, lowercase), then base32 of either
 * case (no padding, zero trailing bits), whose bytes must be variant 0 and an EndpointAddr as
 * iroh_endpoint_addr_decode reads it; bytes after the EndpointAddr are ignored, as iroh does.
 * Returns IROH_OK, IROH_EINVAL for anything malformed, IROH_ETOOBIG for a ticket longer than
 * IROH_ENDPOINT_TICKET_MAX_LEN or an address larger than the struct holds. */
int iroh_endpoint_ticket_decode(const char *text, size_t len, struct iroh_endpoint_addr *out);

/* ---- blob tickets (spec/blobs.md §9.4; the same bytes in iroh 0.35 and current iroh-blobs) */

/* Longest blob ticket string the decoder accepts; the encoder never produces more than about
 * 1040 characters (one 255-byte relay, IROH_ADDR_MAX_IPS IPv6 addresses). */
#define IROH_BLOB_TICKET_MAX_LEN 2048

enum iroh_blob_ticket_format {
    IROH_BLOB_TICKET_RAW = 0,      /* a single blob */
    IROH_BLOB_TICKET_HASH_SEQ = 1, /* a hash sequence (e.g. a collection) and its children */
};

/* What a blob ticket names: a provider and a blob. */
struct iroh_blob_ticket {
    /* The provider. A ticket carries at most one relay URL: the encoder writes the first of
     * addr.relays (the smallest, addrs being canonical) and ignores the others. */
    struct iroh_endpoint_addr addr;
    uint8_t format; /* enum iroh_blob_ticket_format */
    uint8_t hash[32];
};

/* Writes "blob" + lowercase unpadded base32 of the postcard bytes
 *   00 (variant 0) ‖ id[32] ‖ Option<relay URL string> ‖ varint(n) ‖ n × SocketAddr
 *   (00 ‖ ip4[4] ‖ varint port | 01 ‖ ip6[16] ‖ varint port, sorted, unique) ‖ format ‖ hash[32]
 * and a NUL to out. Returns the string length, IROH_EBUFFER if out_cap is too small
 * (IROH_BLOB_TICKET_MAX_LEN + 1 always suffices), IROH_EINVAL for a format other than 0 or 1
 * or an address iroh_endpoint_addr_encode refuses. */
int iroh_blob_ticket_encode(const struct iroh_blob_ticket *ticket, char *out, size_t out_cap);

/* Parses a blob ticket: the prefix "blob" (exact), base32 of either case (no padding, zero
 * trailing bits) of the bytes above; the relay URL must be accepted by
 * iroh_relay_url_canonicalize, repeated addresses collapse, bytes after the hash are ignored
 * (as iroh does). Returns IROH_OK, IROH_EINVAL for anything malformed (an unknown variant or
 * format, an id that is not a valid point), IROH_ETOOBIG for a string longer than
 * IROH_BLOB_TICKET_MAX_LEN or more addresses than the struct holds. */
int iroh_blob_ticket_decode(const char *text, size_t len, struct iroh_blob_ticket *out);

#endif
