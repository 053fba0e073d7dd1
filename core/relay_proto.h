/* core/relay_proto.h — the iroh relay protocol (spec relay-and-discovery.md §1): relay frames
 * (encode and decode of every type), the authentication handshake of both sides (challenge
 * signing and checking, the TLS keying-material header), and the HTTP upgrade of both sides
 * (the client's request and its check of the 101; the server's check of a request and its
 * 101 answer).
 *
 * Callers: the relay server (relay/) and irohd's relay client (daemon). I/O-free: frames go
 * in and out of caller buffers; the transport (TCP, TLS, WebSocket messages from
 * core/websocket.h) is the caller's. One relay frame = one binary WebSocket message. Call
 * iroh_keys_init() once before anything that signs or verifies.
 *
 * Public keys inside datagram and EndpointGone frames are decoded as raw bytes, not checked
 * to be curve points: a server only looks them up among authenticated clients, so an invalid
 * one simply matches nobody; a client that needs a valid key calls
 * iroh_public_key_from_bytes(). Keys in the handshake are always checked. */
#ifndef IROH_CORE_RELAY_PROTO_H
#define IROH_CORE_RELAY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/http1.h"
#include "core/keys.h"
#include "core/websocket.h"

#define IROH_RELAY_MAX_PACKET_SIZE 65536       /* bytes of a frame after its type */
#define IROH_RELAY_MAX_MESSAGE_SIZE (1u << 20) /* WebSocket message limit of both sides */
#define IROH_RELAY_CHALLENGE_LEN 16
#define IROH_RELAY_PING_LEN 8
#define IROH_RELAY_DATAGRAM_HEADER_LEN 34       /* type, key, ecn */
#define IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN 36 /* type, key, ecn, segment size */
#define IROH_RELAY_CLIENT_AUTH_LEN 98           /* a whole ClientAuth frame */
#define IROH_RELAY_MAX_REASON_LEN 1024          /* longest deny reason we encode */

/* Context of the BLAKE3 derive_key over the challenge; the client signs the derived key. */
#define IROH_RELAY_CHALLENGE_CONTEXT "iroh-relay handshake v1 challenge signature"
/* TLS exporter (RFC 5705) label; the context is the client's public key, 32 bytes out. */
#define IROH_RELAY_EKM_LABEL "iroh-relay handshake v1"
#define IROH_RELAY_EKM_LEN 32
#define IROH_RELAY_AUTH_HEADER "x-iroh-relay-client-auth-v1"
#define IROH_RELAY_AUTH_HEADER_LEN 151 /* base64url characters of its value */

#define IROH_RELAY_PATH "/relay"
#define IROH_RELAY_PROTOCOL_V1 "iroh-relay-v1"
#define IROH_RELAY_PROTOCOL_V2 "iroh-relay-v2"

/* Negotiated relay protocol version (Sec-WebSocket-Protocol). v1 clients get health news as
 * Health text frames, v2 clients as Status frames. V035 is the pre-1.0 protocol of iroh 0.35
 * (spec compat-0.35-and-paths.md §1.2): "Upgrade: iroh derp http" with its own framing, or a
 * WebSocket upgrade without Sec-WebSocket-Protocol; the client opens with ClientInfo and the
 * frame types are those of enum iroh_relay035_frame_type. */
enum iroh_relay_version {
    IROH_RELAY_V1 = 1,
    IROH_RELAY_V2 = 2,
    IROH_RELAY_V035 = 35,
};

enum iroh_relay_frame_type {
    IROH_RELAY_SERVER_CHALLENGE = 0,
    IROH_RELAY_CLIENT_AUTH = 1,
    IROH_RELAY_SERVER_CONFIRMS_AUTH = 2,
    IROH_RELAY_SERVER_DENIES_AUTH = 3,
    IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM = 4,
    IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH = 5,
    IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM = 6,
    IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH = 7,
    IROH_RELAY_ENDPOINT_GONE = 8,
    IROH_RELAY_PING = 9,
    IROH_RELAY_PONG = 10,
    IROH_RELAY_HEALTH = 11,
    IROH_RELAY_RESTARTING = 12,
    IROH_RELAY_STATUS = 13,
};

enum iroh_relay_status {
    IROH_RELAY_STATUS_HEALTHY = 0,
    IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED = 1,
    IROH_RELAY_STATUS_RATE_LIMITED = 2,
};

/* One decoded (or to-be-encoded) frame. Which members matter depends on type:
 *   SERVER_CHALLENGE        challenge
 *   CLIENT_AUTH             key (the client's public key, checked), signature
 *   SERVER_CONFIRMS_AUTH    —
 *   SERVER_DENIES_AUTH      data = reason (UTF-8, not NUL-terminated)
 *   *_DATAGRAM              key (dst for client-to-relay, src for relay-to-client), ecn, data
 *   *_DATAGRAM_BATCH        the same plus segment_size
 *   ENDPOINT_GONE           key
 *   PING, PONG              ping
 *   HEALTH                  data = text
 *   RESTARTING              reconnect_in_ms, try_for_ms
 *   STATUS                  status (a value outside enum iroh_relay_status is kept as is)
 * data points into the decoded buffer (decode) or is read from (encode). */
struct iroh_relay_frame {
    enum iroh_relay_frame_type type;
    uint8_t key[IROH_KEY_LEN];
    uint8_t challenge[IROH_RELAY_CHALLENGE_LEN];
    uint8_t signature[IROH_SIGNATURE_LEN];
    uint8_t ping[IROH_RELAY_PING_LEN];
    uint8_t ecn; /* 0 none, 1 ECT(1), 2 ECT(0), 3 CE */
    uint16_t segment_size;
    uint8_t status;
    uint32_t reconnect_in_ms, try_for_ms;
    const uint8_t *data;
    size_t data_len;
};

/* Decodes one frame (a whole WebSocket message) from buf[0..len). Returns IROH_OK, IROH_ETOOBIG
 * if more than IROH_RELAY_MAX_PACKET_SIZE bytes follow the type, IROH_EPROTO for an unknown
 * type (or a type not in its one-byte varint form) or a malformed body (also an invalid public
 * key in ClientAuth). Trailing bytes after a
 * fixed-size body are refused, except for Status (one byte, the rest ignored, as upstream). */
int iroh_relay_frame_decode(const uint8_t *buf, size_t len, struct iroh_relay_frame *out);

/* Bytes iroh_relay_frame_encode() will write for f. */
size_t iroh_relay_frame_encoded_len(const struct iroh_relay_frame *f);

/* Encodes f into out[0..out_cap). Returns the frame's length, IROH_EBUFFER if out_cap is too
 * small, IROH_ETOOBIG if the frame would exceed the protocol limit, IROH_EINVAL for an unknown
 * type, an empty datagram or a reason over IROH_RELAY_MAX_REASON_LEN. */
int iroh_relay_frame_encode(const struct iroh_relay_frame *f, uint8_t *out, size_t out_cap);

/* Writes only the head of a datagram frame of the given type (4..7) into
 * out[IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN]: type, key, ecn and (batches) the segment size.
 * Returns its length (34 or 36); the payload follows it on the wire. Lets a sender build the
 * frame around data it already holds. */
size_t iroh_relay_datagram_header_encode(enum iroh_relay_frame_type type,
                                         const uint8_t key[IROH_KEY_LEN], uint8_t ecn,
                                         uint16_t segment_size, uint8_t *out);

/* The server's forwarding step, in place: turns a ClientToRelayDatagram(Batch) frame
 * buf[0..len) (already decoded, destination in its key) into the RelayToClientDatagram(Batch)
 * frame for the destination, with src as the key; the length does not change. */
void iroh_relay_datagram_to_recv(uint8_t *buf, size_t len, const uint8_t src[IROH_KEY_LEN]);

/* --- handshake ------------------------------------------------------------------------- */

/* The 32 bytes a client signs for a challenge: BLAKE3 derive_key(CHALLENGE_CONTEXT, c). */
void iroh_relay_challenge_message(const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                  uint8_t out[32]);

/* Client: fills *out with the ClientAuth frame answering challenge, signed by sk. */
void iroh_relay_client_auth_make(const struct iroh_secret_key *sk,
                                 const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                 struct iroh_relay_frame *out);

/* Server: checks a decoded ClientAuth frame against the challenge it sent. Returns IROH_OK,
 * IROH_EINVAL if auth is not a ClientAuth frame, IROH_ECORRUPT if the signature is wrong. */
int iroh_relay_client_auth_verify(const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                  const struct iroh_relay_frame *auth);

/* The content of the keying-material header. */
struct iroh_relay_ekm_auth {
    struct iroh_public_key key;
    uint8_t signature[IROH_SIGNATURE_LEN]; /* over ekm[0..16) */
    uint8_t suffix[16];                    /* ekm[16..32) */
};

/* Client: writes the value of the IROH_RELAY_AUTH_HEADER header (base64url, no padding) and a
 * NUL to out[IROH_RELAY_AUTH_HEADER_LEN + 1]. ekm is the TLS exporter output for
 * (IROH_RELAY_EKM_LABEL, context = sk's public key, 32 bytes) on the relay connection. */
void iroh_relay_ekm_header_make(const struct iroh_secret_key *sk,
                                const uint8_t ekm[IROH_RELAY_EKM_LEN],
                                char out[IROH_RELAY_AUTH_HEADER_LEN + 1]);

/* Server: decodes a header value into *out. Returns IROH_OK or IROH_EPROTO (bad or
 * non-canonical base64url — the unused low bits of the last character set —, wrong length,
 * invalid public key); upstream drops the connection on IROH_EPROTO. */
int iroh_relay_ekm_header_parse(const char *value, size_t len, struct iroh_relay_ekm_auth *out);

/* Server: checks a parsed header against the exporter output the server computed with
 * auth->key as context. Returns IROH_OK, or IROH_ECORRUPT if the suffix or the signature does
 * not match (upstream then falls back to the challenge). */
int iroh_relay_ekm_auth_verify(const struct iroh_relay_ekm_auth *auth,
                               const uint8_t ekm[IROH_RELAY_EKM_LEN]);

/* --- HTTP upgrade ------------------------------------------------------------------------- */

/* Client: writes the upgrade request head (ending in the empty line) and a NUL to out.
 * host is "host[:port]" as the Host header; ws_key from iroh_ws_client_key(); token (the
 * relay's access token, Authorization: Bearer) and ekm_header (from
 * iroh_relay_ekm_header_make) may be NULL. Offers v2 then v1. Returns the length or
 * IROH_EBUFFER. */
int iroh_relay_upgrade_request(const char *host, const char *ws_key, const char *token,
                               const char *ekm_header, char *out, size_t out_cap);

/* Client: checks the parsed answer to its upgrade: status 101, Upgrade: websocket, the right
 * Sec-WebSocket-Accept for ws_key, a known Sec-WebSocket-Protocol. Returns the negotiated
 * enum iroh_relay_version, IROH_EPERM if the status is not 101 (the server refused, e.g. 401
 * or 403), IROH_EPROTO otherwise. */
int iroh_relay_upgrade_response_check(const struct iroh_http_response *resp, const char *ws_key);

/* What a server learns from a valid upgrade request. Pointers point into the request. */
struct iroh_relay_upgrade {
    enum iroh_relay_version version;
    bool websocket; /* false: the 0.35 "iroh derp http" framing (ws_key is NULL) */
    const char *ws_key;
    size_t ws_key_len;
    const char *ekm_header; /* NULL if absent */
    size_t ekm_header_len;
};

/* Server: checks a GET /relay request as upstream does (§1.2). Returns IROH_OK and fills *out,
 * or an HTTP status to answer with (400, and *reason set to a static message; when the
 * WebSocket version is wrong the answer must also carry "Sec-WebSocket-Version: 13", which
 * *need_version_header says). A request with "Upgrade: iroh derp http", or a WebSocket one
 * without Sec-WebSocket-Protocol, is an iroh 0.35 client (version IROH_RELAY_V035). */
int iroh_relay_upgrade_check(const struct iroh_http_request *req, struct iroh_relay_upgrade *out,
                             const char **reason, bool *need_version_header);

/* Server: writes the 101 answer head (with extra_headers, each line CRLF-terminated, or NULL)
 * and a NUL to out. Returns the length or IROH_EBUFFER. */
int iroh_relay_upgrade_answer(const struct iroh_relay_upgrade *up, const char *extra_headers,
                              char *out, size_t out_cap);

/* The token a client presents: the first "Authorization: Bearer <token>" header (scheme
 * case-insensitive), else the percent-decoded "token" query parameter. Writes it and a NUL
 * to out. Returns its length, IROH_ENOTFOUND, or IROH_EBUFFER. */
int iroh_relay_request_token(const struct iroh_http_request *req, char *out, size_t out_cap);

/* The text a v1 client gets in a Health frame for a status. */
const char *iroh_relay_status_text(enum iroh_relay_status status);

/* --- iroh 0.35 (compat-0.35-and-paths.md §1.2) ------------------------------------------
 * A frame is type u8 ‖ body: one WebSocket binary message, or with the "iroh derp http"
 * framing type u8 ‖ body length u32 BE ‖ body (IROH_RELAY035_HEADER_LEN bytes of header). */

#define IROH_RELAY035_UPGRADE "iroh derp http"
#define IROH_RELAY035_HEADER_LEN 5
#define IROH_RELAY035_MAX_BODY (1u << 20)
#define IROH_RELAY035_PROTOCOL_VERSION 3
#define IROH_RELAY035_CLIENT_INFO_LEN 107 /* a whole ClientInfo frame: type, 106 bytes */

enum iroh_relay035_frame_type {
    IROH_RELAY035_CLIENT_INFO = 2,
    IROH_RELAY035_SEND_PACKET = 4, /* dst[32] ‖ packet */
    IROH_RELAY035_RECV_PACKET = 5, /* src[32] ‖ packet */
    IROH_RELAY035_KEEP_ALIVE = 6,
    IROH_RELAY035_NOTE_PREFERRED = 7,
    IROH_RELAY035_NODE_GONE = 8, /* id[32] */
    IROH_RELAY035_PING = 12,     /* data[8] */
    IROH_RELAY035_PONG = 13,     /* data[8] */
    IROH_RELAY035_HEALTH = 14,   /* UTF-8 text */
    IROH_RELAY035_RESTARTING = 15,
};

/* Server: checks the body of a ClientInfo frame (after its type byte): the magic "RELAY🔑",
 * a valid key, the Ed25519 signature over the postcard message. Writes the key and the
 * client's protocol version. Returns IROH_OK, IROH_EPROTO (malformed) or IROH_ECORRUPT (bad
 * signature). */
int iroh_relay035_client_info_verify(const uint8_t *body, size_t len, struct iroh_public_key *key,
                                     uint64_t *version);

/* Client: writes a ClientInfo frame (type byte first, protocol version 3) signed by sk to
 * out[IROH_RELAY035_CLIENT_INFO_LEN]. */
void iroh_relay035_client_info_make(const struct iroh_secret_key *sk,
                                    uint8_t out[IROH_RELAY035_CLIENT_INFO_LEN]);

#endif
