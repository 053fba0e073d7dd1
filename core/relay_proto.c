/* core/relay_proto.c — relay frames, the relay handshake and the relay HTTP upgrade (see
 * relay_proto.h). */
#include "core/relay_proto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/blake3.h"
#include "core/quic_tp.h"
#include "iroh/error.h"

#define EKM_BODY_LEN (IROH_KEY_LEN + 1 + IROH_SIGNATURE_LEN + 16) /* 113 */

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Reads a postcard (LEB128) length of at most 2^32-1 from body[0..len). Returns the bytes
 * read or IROH_EPROTO. */
static int get_leb128(const uint8_t *body, size_t len, uint64_t *v)
{
    *v = 0;
    for (size_t i = 0; i < len && i < 5; i++) {
        *v |= (uint64_t)(body[i] & 0x7f) << (7 * i);
        if (!(body[i] & 0x80)) return (int)i + 1;
    }
    return IROH_EPROTO;
}

static size_t put_leb128(uint64_t v, uint8_t *out)
{
    size_t n = 0;
    do {
        out[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) out[n] |= 0x80;
        n++;
    } while (v);
    return n;
}

static int decode_datagram(const uint8_t *body, size_t len, bool batch,
                           struct iroh_relay_frame *out)
{
    size_t head = IROH_KEY_LEN + 1 + (batch ? 2 : 0);
    if (len < head) return IROH_EPROTO;
    memcpy(out->key, body, IROH_KEY_LEN);
    out->ecn = body[IROH_KEY_LEN] < 4 ? body[IROH_KEY_LEN] : 0;
    out->segment_size = batch ? get_u16(body + IROH_KEY_LEN + 1) : 0;
    out->data = body + head;
    out->data_len = len - head;
    return IROH_OK;
}

int iroh_relay_frame_decode(const uint8_t *buf, size_t len, struct iroh_relay_frame *out)
{
    uint64_t type;
    int n = iroh_quic_varint_read(buf, len, &type);
    if (n != 1) return IROH_EPROTO; /* every type is < 64: longer forms are not canonical */
    const uint8_t *body = buf + n;
    size_t blen = len - (size_t)n;
    if (blen > IROH_RELAY_MAX_PACKET_SIZE) return IROH_ETOOBIG;
    memset(out, 0, sizeof *out);
    if (type > IROH_RELAY_STATUS) return IROH_EPROTO;
    out->type = (enum iroh_relay_frame_type)type;
    switch (out->type) {
    case IROH_RELAY_SERVER_CHALLENGE:
        if (blen != IROH_RELAY_CHALLENGE_LEN) return IROH_EPROTO;
        memcpy(out->challenge, body, IROH_RELAY_CHALLENGE_LEN);
        return IROH_OK;
    case IROH_RELAY_CLIENT_AUTH: {
        struct iroh_public_key pk;
        if (blen != IROH_RELAY_CLIENT_AUTH_LEN - 1 || body[IROH_KEY_LEN] != IROH_SIGNATURE_LEN)
            return IROH_EPROTO;
        if (iroh_public_key_from_bytes(body, &pk) < 0) return IROH_EPROTO;
        memcpy(out->key, body, IROH_KEY_LEN);
        memcpy(out->signature, body + IROH_KEY_LEN + 1, IROH_SIGNATURE_LEN);
        return IROH_OK;
    }
    case IROH_RELAY_SERVER_CONFIRMS_AUTH: return blen == 0 ? IROH_OK : IROH_EPROTO;
    case IROH_RELAY_SERVER_DENIES_AUTH: {
        uint64_t slen;
        int m = get_leb128(body, blen, &slen);
        if (m < 0 || slen != blen - (size_t)m) return IROH_EPROTO;
        out->data = body + m;
        out->data_len = (size_t)slen;
        return IROH_OK;
    }
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM: return decode_datagram(body, blen, false, out);
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH: return decode_datagram(body, blen, true, out);
    case IROH_RELAY_ENDPOINT_GONE:
        if (blen != IROH_KEY_LEN) return IROH_EPROTO;
        memcpy(out->key, body, IROH_KEY_LEN);
        return IROH_OK;
    case IROH_RELAY_PING:
    case IROH_RELAY_PONG:
        if (blen != IROH_RELAY_PING_LEN) return IROH_EPROTO;
        memcpy(out->ping, body, IROH_RELAY_PING_LEN);
        return IROH_OK;
    case IROH_RELAY_HEALTH:
        out->data = body;
        out->data_len = blen;
        return IROH_OK;
    case IROH_RELAY_RESTARTING:
        if (blen != 8) return IROH_EPROTO;
        out->reconnect_in_ms = get_u32(body);
        out->try_for_ms = get_u32(body + 4);
        return IROH_OK;
    case IROH_RELAY_STATUS:
        if (blen < 1) return IROH_EPROTO;
        out->status = body[0];
        return IROH_OK;
    }
    return IROH_EPROTO;
}

static bool is_datagram(enum iroh_relay_frame_type t)
{
    return t >= IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM &&
           t <= IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH;
}

static bool is_batch(enum iroh_relay_frame_type t)
{
    return t == IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH ||
           t == IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH;
}

size_t iroh_relay_frame_encoded_len(const struct iroh_relay_frame *f)
{
    uint8_t leb[10];
    switch (f->type) {
    case IROH_RELAY_SERVER_CHALLENGE: return 1 + IROH_RELAY_CHALLENGE_LEN;
    case IROH_RELAY_CLIENT_AUTH: return IROH_RELAY_CLIENT_AUTH_LEN;
    case IROH_RELAY_SERVER_CONFIRMS_AUTH: return 1;
    case IROH_RELAY_SERVER_DENIES_AUTH: return 1 + put_leb128(f->data_len, leb) + f->data_len;
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM: return IROH_RELAY_DATAGRAM_HEADER_LEN + f->data_len;
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH:
        return IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN + f->data_len;
    case IROH_RELAY_ENDPOINT_GONE: return 1 + IROH_KEY_LEN;
    case IROH_RELAY_PING:
    case IROH_RELAY_PONG: return 1 + IROH_RELAY_PING_LEN;
    case IROH_RELAY_HEALTH: return 1 + f->data_len;
    case IROH_RELAY_RESTARTING: return 9;
    case IROH_RELAY_STATUS: return 2;
    }
    return 0;
}

size_t iroh_relay_datagram_header_encode(enum iroh_relay_frame_type type,
                                         const uint8_t key[IROH_KEY_LEN], uint8_t ecn,
                                         uint16_t segment_size, uint8_t *out)
{
    out[0] = (uint8_t)type;
    memcpy(out + 1, key, IROH_KEY_LEN);
    out[1 + IROH_KEY_LEN] = ecn;
    if (!is_batch(type)) return IROH_RELAY_DATAGRAM_HEADER_LEN;
    out[2 + IROH_KEY_LEN] = (uint8_t)(segment_size >> 8);
    out[3 + IROH_KEY_LEN] = (uint8_t)segment_size;
    return IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN;
}

int iroh_relay_frame_encode(const struct iroh_relay_frame *f, uint8_t *out, size_t out_cap)
{
    if ((unsigned)f->type > IROH_RELAY_STATUS) return IROH_EINVAL;
    if (is_datagram(f->type) && f->data_len == 0) return IROH_EINVAL;
    if (f->type == IROH_RELAY_SERVER_DENIES_AUTH && f->data_len > IROH_RELAY_MAX_REASON_LEN)
        return IROH_EINVAL;
    size_t total = iroh_relay_frame_encoded_len(f);
    if (total - 1 > IROH_RELAY_MAX_PACKET_SIZE) return IROH_ETOOBIG;
    if (out_cap < total) return IROH_EBUFFER;
    out[0] = (uint8_t)f->type;
    uint8_t *p = out + 1;
    switch (f->type) {
    case IROH_RELAY_SERVER_CHALLENGE: memcpy(p, f->challenge, IROH_RELAY_CHALLENGE_LEN); break;
    case IROH_RELAY_CLIENT_AUTH:
        memcpy(p, f->key, IROH_KEY_LEN);
        p[IROH_KEY_LEN] = IROH_SIGNATURE_LEN;
        memcpy(p + IROH_KEY_LEN + 1, f->signature, IROH_SIGNATURE_LEN);
        break;
    case IROH_RELAY_SERVER_CONFIRMS_AUTH: break;
    case IROH_RELAY_SERVER_DENIES_AUTH: {
        size_t m = put_leb128(f->data_len, p);
        if (f->data_len) memcpy(p + m, f->data, f->data_len);
        break;
    }
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM:
    case IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM:
    case IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH: {
        size_t h = iroh_relay_datagram_header_encode(f->type, f->key, f->ecn, f->segment_size, out);
        memcpy(out + h, f->data, f->data_len);
        break;
    }
    case IROH_RELAY_ENDPOINT_GONE: memcpy(p, f->key, IROH_KEY_LEN); break;
    case IROH_RELAY_PING:
    case IROH_RELAY_PONG: memcpy(p, f->ping, IROH_RELAY_PING_LEN); break;
    case IROH_RELAY_HEALTH:
        if (f->data_len) memcpy(p, f->data, f->data_len);
        break;
    case IROH_RELAY_RESTARTING:
        put_u32(p, f->reconnect_in_ms);
        put_u32(p + 4, f->try_for_ms);
        break;
    case IROH_RELAY_STATUS: p[0] = f->status; break;
    }
    return (int)total;
}

void iroh_relay_datagram_to_recv(uint8_t *buf, size_t len, const uint8_t src[IROH_KEY_LEN])
{
    (void)len;
    buf[0] = buf[0] == IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH
                 ? IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH
                 : IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM;
    memcpy(buf + 1, src, IROH_KEY_LEN);
}

/* --- handshake ------------------------------------------------------------------------- */

void iroh_relay_challenge_message(const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                  uint8_t out[32])
{
    iroh_blake3_derive_key(IROH_RELAY_CHALLENGE_CONTEXT, challenge, IROH_RELAY_CHALLENGE_LEN, out,
                           32);
}

void iroh_relay_client_auth_make(const struct iroh_secret_key *sk,
                                 const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                 struct iroh_relay_frame *out)
{
    uint8_t msg[32];
    struct iroh_public_key pk;
    memset(out, 0, sizeof *out);
    out->type = IROH_RELAY_CLIENT_AUTH;
    iroh_secret_key_public(sk, &pk);
    memcpy(out->key, pk.bytes, IROH_KEY_LEN);
    iroh_relay_challenge_message(challenge, msg);
    iroh_secret_key_sign(sk, msg, sizeof msg, out->signature);
}

int iroh_relay_client_auth_verify(const uint8_t challenge[IROH_RELAY_CHALLENGE_LEN],
                                  const struct iroh_relay_frame *auth)
{
    if (auth->type != IROH_RELAY_CLIENT_AUTH) return IROH_EINVAL;
    struct iroh_public_key pk;
    if (iroh_public_key_from_bytes(auth->key, &pk) < 0) return IROH_ECORRUPT;
    uint8_t msg[32];
    iroh_relay_challenge_message(challenge, msg);
    return iroh_public_key_verify(&pk, msg, sizeof msg, auth->signature) < 0 ? IROH_ECORRUPT
                                                                             : IROH_OK;
}

void iroh_relay_ekm_header_make(const struct iroh_secret_key *sk,
                                const uint8_t ekm[IROH_RELAY_EKM_LEN],
                                char out[IROH_RELAY_AUTH_HEADER_LEN + 1])
{
    uint8_t body[EKM_BODY_LEN];
    struct iroh_public_key pk;
    iroh_secret_key_public(sk, &pk);
    memcpy(body, pk.bytes, IROH_KEY_LEN);
    body[IROH_KEY_LEN] = IROH_SIGNATURE_LEN;
    iroh_secret_key_sign(sk, ekm, 16, body + IROH_KEY_LEN + 1);
    memcpy(body + IROH_KEY_LEN + 1 + IROH_SIGNATURE_LEN, ekm + 16, 16);
    sodium_bin2base64(out, IROH_RELAY_AUTH_HEADER_LEN + 1, body, sizeof body,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int iroh_relay_ekm_header_parse(const char *value, size_t len, struct iroh_relay_ekm_auth *out)
{
    uint8_t body[EKM_BODY_LEN];
    size_t n;
    if (len != IROH_RELAY_AUTH_HEADER_LEN) return IROH_EPROTO;
    if (sodium_base642bin(body, sizeof body, value, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof body || body[IROH_KEY_LEN] != IROH_SIGNATURE_LEN)
        return IROH_EPROTO;
    /* 113 bytes leave 2 bits of the last character over: they must be 0 (one body, one
     * spelling), as a strict base64url decoder requires. */
    char canonical[IROH_RELAY_AUTH_HEADER_LEN + 1];
    sodium_bin2base64(canonical, sizeof canonical, body, sizeof body,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(canonical, value, len) != 0) return IROH_EPROTO;
    if (iroh_public_key_from_bytes(body, &out->key) < 0) return IROH_EPROTO;
    memcpy(out->signature, body + IROH_KEY_LEN + 1, IROH_SIGNATURE_LEN);
    memcpy(out->suffix, body + IROH_KEY_LEN + 1 + IROH_SIGNATURE_LEN, 16);
    return IROH_OK;
}

int iroh_relay_ekm_auth_verify(const struct iroh_relay_ekm_auth *auth,
                               const uint8_t ekm[IROH_RELAY_EKM_LEN])
{
    if (sodium_memcmp(auth->suffix, ekm + 16, 16) != 0) return IROH_ECORRUPT;
    return iroh_public_key_verify(&auth->key, ekm, 16, auth->signature) < 0 ? IROH_ECORRUPT
                                                                            : IROH_OK;
}

/* --- HTTP upgrade ------------------------------------------------------------------------- */

int iroh_relay_upgrade_request(const char *host, const char *ws_key, const char *token,
                               const char *ekm_header, char *out, size_t out_cap)
{
    int n = snprintf(out, out_cap,
                     "GET " IROH_RELAY_PATH " HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: " IROH_RELAY_PROTOCOL_V2 ", " IROH_RELAY_PROTOCOL_V1
                     "\r\n"
                     "%s%s%s"
                     "%s%s%s"
                     "\r\n",
                     host, ws_key, token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "", ekm_header ? IROH_RELAY_AUTH_HEADER ": " : "",
                     ekm_header ? ekm_header : "", ekm_header ? "\r\n" : "");
    if (n < 0 || (size_t)n >= out_cap) return IROH_EBUFFER;
    return n;
}

/* The highest version named in a Sec-WebSocket-Protocol list, or 0. */
static int pick_version(const char *v, size_t len)
{
    if (iroh_http_list_has_token(v, len, IROH_RELAY_PROTOCOL_V2)) return IROH_RELAY_V2;
    if (iroh_http_list_has_token(v, len, IROH_RELAY_PROTOCOL_V1)) return IROH_RELAY_V1;
    return 0;
}

int iroh_relay_upgrade_response_check(const struct iroh_http_response *resp, const char *ws_key)
{
    if (resp->status != 101) return IROH_EPERM;
    const struct iroh_http_header *h = resp->headers;
    size_t n = resp->num_headers;
    const struct iroh_http_header *up = iroh_http_find_header(h, n, "Upgrade");
    const struct iroh_http_header *acc = iroh_http_find_header(h, n, "Sec-WebSocket-Accept");
    const struct iroh_http_header *proto = iroh_http_find_header(h, n, "Sec-WebSocket-Protocol");
    if (!up || !iroh_http_equal_nocase(up->value, up->value_len, "websocket")) return IROH_EPROTO;
    char want[IROH_WS_ACCEPT_LEN + 1];
    iroh_ws_accept_key(ws_key, strlen(ws_key), want);
    if (!acc || acc->value_len != IROH_WS_ACCEPT_LEN ||
        memcmp(acc->value, want, IROH_WS_ACCEPT_LEN))
        return IROH_EPROTO;
    if (!proto) return IROH_EPROTO;
    if (iroh_http_equal_nocase(proto->value, proto->value_len, IROH_RELAY_PROTOCOL_V2))
        return IROH_RELAY_V2;
    if (iroh_http_equal_nocase(proto->value, proto->value_len, IROH_RELAY_PROTOCOL_V1))
        return IROH_RELAY_V1;
    return IROH_EPROTO;
}

int iroh_relay_upgrade_check(const struct iroh_http_request *req, struct iroh_relay_upgrade *out,
                             const char **reason, bool *need_version_header)
{
    const struct iroh_http_header *h = req->headers;
    size_t n = req->num_headers;
    const struct iroh_http_header *up = iroh_http_find_header(h, n, "Upgrade");
    const struct iroh_http_header *key = iroh_http_find_header(h, n, "Sec-WebSocket-Key");
    const struct iroh_http_header *ver = iroh_http_find_header(h, n, "Sec-WebSocket-Version");
    const struct iroh_http_header *proto = iroh_http_find_header(h, n, "Sec-WebSocket-Protocol");
    const struct iroh_http_header *ekm = iroh_http_find_header(h, n, IROH_RELAY_AUTH_HEADER);
    *need_version_header = false;
    memset(out, 0, sizeof *out);
    if (up && iroh_http_equal_nocase(up->value, up->value_len, IROH_RELAY035_UPGRADE)) {
        out->version = IROH_RELAY_V035;
        return IROH_OK;
    }
    if (!up || up->value_len != 9 || memcmp(up->value, "websocket", 9) != 0) {
        *reason = "upgrade header must be websocket";
        return 400;
    }
    if (!key) {
        *reason = "missing Sec-WebSocket-Key header";
        return 400;
    }
    if (!ver) {
        *reason = "missing Sec-WebSocket-Version header";
        return 400;
    }
    if (ver->value_len != 2 || memcmp(ver->value, "13", 2) != 0) {
        *reason = "unsupported websocket version";
        *need_version_header = true;
        return 400;
    }
    out->websocket = true;
    out->ws_key = key->value;
    out->ws_key_len = key->value_len;
    if (!proto) { /* an iroh 0.35 client over WebSocket */
        out->version = IROH_RELAY_V035;
        return IROH_OK;
    }
    int version = pick_version(proto->value, proto->value_len);
    if (!version) {
        *reason = "no supported relay protocol version";
        return 400;
    }
    out->version = (enum iroh_relay_version)version;
    out->ekm_header = ekm ? ekm->value : NULL;
    out->ekm_header_len = ekm ? ekm->value_len : 0;
    return IROH_OK;
}

int iroh_relay_upgrade_answer(const struct iroh_relay_upgrade *up, const char *extra_headers,
                              char *out, size_t out_cap)
{
    char accept[IROH_WS_ACCEPT_LEN + 1];
    const char *extra = extra_headers ? extra_headers : "";
    int n;
    if (!up->websocket) {
        n = snprintf(out, out_cap,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " IROH_RELAY035_UPGRADE
                     "\r\n%s\r\n",
                     extra);
    } else {
        iroh_ws_accept_key(up->ws_key, up->ws_key_len, accept);
        const char *proto = up->version == IROH_RELAY_V2   ? IROH_RELAY_PROTOCOL_V2
                            : up->version == IROH_RELAY_V1 ? IROH_RELAY_PROTOCOL_V1
                                                           : NULL;
        n = snprintf(out, out_cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "%s%s%s"
                     "%s\r\n",
                     accept, proto ? "Sec-WebSocket-Protocol: " : "", proto ? proto : "",
                     proto ? "\r\n" : "", extra);
    }
    if (n < 0 || (size_t)n >= out_cap) return IROH_EBUFFER;
    return n;
}

int iroh_relay_request_token(const struct iroh_http_request *req, char *out, size_t out_cap)
{
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct iroh_http_header *h = &req->headers[i];
        if (!iroh_http_equal_nocase(h->name, h->name_len, "Authorization")) continue;
        const char *sp = memchr(h->value, ' ', h->value_len);
        if (!sp || !iroh_http_equal_nocase(h->value, (size_t)(sp - h->value), "Bearer")) continue;
        size_t tlen = h->value_len - (size_t)(sp + 1 - h->value);
        if (tlen + 1 > out_cap) return IROH_EBUFFER;
        memcpy(out, sp + 1, tlen);
        out[tlen] = '\0';
        return (int)tlen;
    }
    return iroh_http_query_param(req->target, req->target_len, "token", out, out_cap);
}

const char *iroh_relay_status_text(enum iroh_relay_status status)
{
    switch (status) {
    case IROH_RELAY_STATUS_HEALTHY: return "healthy";
    case IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED:
        return "another endpoint connected with the same endpoint id: no more messages will be "
               "received";
    case IROH_RELAY_STATUS_RATE_LIMITED: return "rate limited";
    }
    return "unknown status";
}

/* --- iroh 0.35 ------------------------------------------------------------------------ */

#define MAGIC035 "RELAY\xf0\x9f\x94\x91"
#define MAGIC035_LEN 9

int iroh_relay035_client_info_verify(const uint8_t *body, size_t len, struct iroh_public_key *key,
                                     uint64_t *version)
{
    size_t fixed = MAGIC035_LEN + IROH_KEY_LEN + IROH_SIGNATURE_LEN;
    if (len <= fixed || memcmp(body, MAGIC035, MAGIC035_LEN) != 0) return IROH_EPROTO;
    if (iroh_public_key_from_bytes(body + MAGIC035_LEN, key) < 0) return IROH_EPROTO;
    const uint8_t *sig = body + MAGIC035_LEN + IROH_KEY_LEN, *msg = body + fixed;
    size_t msg_len = len - fixed;
    if (get_leb128(msg, msg_len, version) < 0) return IROH_EPROTO;
    return iroh_public_key_verify(key, msg, msg_len, sig) < 0 ? IROH_ECORRUPT : IROH_OK;
}

void iroh_relay035_client_info_make(const struct iroh_secret_key *sk,
                                    uint8_t out[IROH_RELAY035_CLIENT_INFO_LEN])
{
    struct iroh_public_key pk;
    iroh_secret_key_public(sk, &pk);
    uint8_t *p = out;
    *p++ = IROH_RELAY035_CLIENT_INFO;
    memcpy(p, MAGIC035, MAGIC035_LEN);
    p += MAGIC035_LEN;
    memcpy(p, pk.bytes, IROH_KEY_LEN);
    p += IROH_KEY_LEN;
    uint8_t msg = IROH_RELAY035_PROTOCOL_VERSION; /* postcard ClientInfo{version: 3} */
    iroh_secret_key_sign(sk, &msg, 1, p);
    p[IROH_SIGNATURE_LEN] = msg;
}
