/* core/websocket.h — the RFC 6455 pieces a relay needs: frame headers (parse and encode, for
 * either role), payload masking, the Sec-WebSocket-Accept key, a random Sec-WebSocket-Key and
 * the Close frame payload.
 *
 * The relay server (relay/) and the relay client (daemon) call it; any module may. It never
 * buffers: the caller keeps the stream, asks iroh_ws_parse_header() how long the frame is,
 * and (un)masks payload bytes in place. Messages split over continuation frames are the
 * caller's to join (the header says fin and the opcode).
 *
 * Role rules enforced by the parser: a server only accepts masked frames, a client only
 * unmasked ones (RFC 6455 §5.1); RSV bits must be 0 (no extension is negotiated); control
 * frames (Close, Ping, Pong) must be final and carry at most 125 bytes; the 64-bit length must
 * have its top bit clear; reserved opcodes are refused. */
#ifndef IROH_CORE_WEBSOCKET_H
#define IROH_CORE_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IROH_WS_MAX_HEADER_LEN 14 /* 2 + 8 (64-bit length) + 4 (mask) */
#define IROH_WS_KEY_LEN 24        /* base64 of 16 random bytes */
#define IROH_WS_ACCEPT_LEN 28     /* base64 of a SHA-1 digest */
#define IROH_WS_MAX_CONTROL_PAYLOAD 125

enum iroh_ws_opcode {
    IROH_WS_CONTINUATION = 0x0,
    IROH_WS_TEXT = 0x1,
    IROH_WS_BINARY = 0x2,
    IROH_WS_CLOSE = 0x8,
    IROH_WS_PING = 0x9,
    IROH_WS_PONG = 0xa,
};

/* Who parses: the server reads masked client frames, the client unmasked server frames. */
enum iroh_ws_role {
    IROH_WS_SERVER,
    IROH_WS_CLIENT,
};

/* Close status codes used by the relay (RFC 6455 §7.4.1). */
enum {
    IROH_WS_CLOSE_NORMAL = 1000,
    IROH_WS_CLOSE_PROTOCOL_ERROR = 1002,
    IROH_WS_CLOSE_TOO_BIG = 1009,
};

struct iroh_ws_header {
    bool fin;
    uint8_t opcode; /* enum iroh_ws_opcode */
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len; /* bytes of the header in the stream; the payload follows */
};

/* Parses the frame header at buf[0..len) as read by role. Returns the header length (2..14)
 * and fills *out, 0 if more bytes are needed, IROH_EPROTO if the header breaks the rules in
 * the file comment, or IROH_ETOOBIG if payload_len > max_payload. */
int iroh_ws_parse_header(const uint8_t *buf, size_t len, enum iroh_ws_role role,
                         uint64_t max_payload, struct iroh_ws_header *out);

/* Writes a frame header to out[IROH_WS_MAX_HEADER_LEN] and returns its length. mask is NULL
 * for server frames; clients pass 4 random bytes and then mask the payload with
 * iroh_ws_mask(). */
size_t iroh_ws_encode_header(uint8_t *out, bool fin, enum iroh_ws_opcode opcode,
                             uint64_t payload_len, const uint8_t mask[4]);

/* XORs data[0..len) with the mask, as if data started at payload offset `offset` (so a
 * payload can be (un)masked in pieces). Applying it twice restores the data. */
void iroh_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Writes base64(SHA-1(key ‖ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) and a NUL to
 * out[IROH_WS_ACCEPT_LEN + 1]: the server's Sec-WebSocket-Accept for a client's key. */
void iroh_ws_accept_key(const char *key, size_t key_len, char out[IROH_WS_ACCEPT_LEN + 1]);

/* Writes the base64 of 16 random bytes and a NUL to out[IROH_WS_KEY_LEN + 1]: a client's
 * Sec-WebSocket-Key (libsodium randombytes; call iroh_keys_init() once first). */
void iroh_ws_client_key(char out[IROH_WS_KEY_LEN + 1]);

/* Writes a Close payload (code u16 BE ‖ reason, reason cut to fit 125 bytes) to
 * out[IROH_WS_MAX_CONTROL_PAYLOAD] and returns its length. */
size_t iroh_ws_close_payload(uint16_t code, const char *reason, uint8_t *out);

/* The SHA-1 digest (FIPS 180-4) of data[0..len) into out[20]; exposed for the tests. */
void iroh_ws_sha1(const void *data, size_t len, uint8_t out[20]);

#endif
