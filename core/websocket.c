/* core/websocket.c — RFC 6455 frame headers, masking and the handshake keys (see websocket.h).
 * SHA-1 is here because the handshake needs it and libsodium has none; it secures nothing. */
#include "core/websocket.h"

#include <sodium.h>
#include <string.h>

#include "iroh/error.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int iroh_ws_parse_header(const uint8_t *buf, size_t len, enum iroh_ws_role role,
                         uint64_t max_payload, struct iroh_ws_header *out)
{
    if (len < 2) return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    if (b0 & 0x70) return IROH_EPROTO; /* RSV1-3 without an extension */
    uint8_t op = b0 & 0x0f;
    bool control = op >= 0x8;
    if (op != IROH_WS_CONTINUATION && op != IROH_WS_TEXT && op != IROH_WS_BINARY &&
        op != IROH_WS_CLOSE && op != IROH_WS_PING && op != IROH_WS_PONG)
        return IROH_EPROTO;
    bool masked = b1 & 0x80;
    if (masked != (role == IROH_WS_SERVER)) return IROH_EPROTO;
    uint64_t plen = b1 & 0x7f;
    size_t at = 2;
    if (plen == 126) {
        if (len < 4) return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        at = 4;
    } else if (plen == 127) {
        if (len < 10) return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        if (plen >> 63) return IROH_EPROTO;
        at = 10;
    }
    if (control && (!(b0 & 0x80) || plen > IROH_WS_MAX_CONTROL_PAYLOAD)) return IROH_EPROTO;
    if (masked) {
        if (len < at + 4) return 0;
        memcpy(out->mask, buf + at, 4);
        at += 4;
    } else {
        memset(out->mask, 0, 4);
    }
    if (plen > max_payload) return IROH_ETOOBIG;
    out->fin = b0 & 0x80;
    out->opcode = op;
    out->masked = masked;
    out->payload_len = plen;
    out->header_len = at;
    return (int)at;
}

size_t iroh_ws_encode_header(uint8_t *out, bool fin, enum iroh_ws_opcode opcode,
                             uint64_t payload_len, const uint8_t mask[4])
{
    size_t at = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | opcode);
    uint8_t mask_bit = mask ? 0x80 : 0;
    if (payload_len < 126) {
        out[1] = (uint8_t)(mask_bit | payload_len);
    } else if (payload_len <= 0xffff) {
        out[1] = mask_bit | 126;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        at = 4;
    } else {
        out[1] = mask_bit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        at = 10;
    }
    if (mask) {
        memcpy(out + at, mask, 4);
        at += 4;
    }
    return at;
}

void iroh_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
    size_t i = 0;
    /* Byte-wise until the mask phase is 0, then 8 bytes at a time. */
    for (; i < len && ((offset + i) & 3); i++)
        data[i] ^= mask[(offset + i) & 3];
    uint32_t m32;
    memcpy(&m32, mask, 4);
    uint64_t m64 = (uint64_t)m32 | (uint64_t)m32 << 32;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        v ^= m64;
        memcpy(data + i, &v, 8);
    }
    for (; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
}

static uint32_t rol(uint32_t x, int n)
{
    return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void iroh_ws_sha1(const void *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const uint8_t *p = data;
    size_t full = len / 64 * 64;
    for (size_t i = 0; i < full; i += 64)
        sha1_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t rest = len - full;
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < tail_len; i += 64)
        sha1_block(h, tail + i);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

void iroh_ws_accept_key(const char *key, size_t key_len, char out[IROH_WS_ACCEPT_LEN + 1])
{
    /* A key longer than a real one (24 characters) cannot be valid; cut it so the buffer is
     * bounded and the answer simply will not match. */
    char buf[128 + sizeof WS_GUID];
    if (key_len > 128) key_len = 128;
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, WS_GUID, sizeof WS_GUID - 1);
    uint8_t digest[20];
    iroh_ws_sha1(buf, key_len + sizeof WS_GUID - 1, digest);
    sodium_bin2base64(out, IROH_WS_ACCEPT_LEN + 1, digest, sizeof digest,
                      sodium_base64_VARIANT_ORIGINAL);
}

void iroh_ws_client_key(char out[IROH_WS_KEY_LEN + 1])
{
    uint8_t raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, IROH_WS_KEY_LEN + 1, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
}

size_t iroh_ws_close_payload(uint16_t code, const char *reason, uint8_t *out)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > IROH_WS_MAX_CONTROL_PAYLOAD - 2) n = IROH_WS_MAX_CONTROL_PAYLOAD - 2;
    if (n) memcpy(out + 2, reason, n);
    return 2 + n;
}
