/* test_relay_proto.c — the relay protocol core against the vectors of spec
 * relay-and-discovery.md §1.4–§1.5 (upstream frame snapshots; the challenge example signed by
 * the real iroh), every frame type round-tripped, malformed frames refused, the keying-material
 * header, and both sides of the HTTP upgrade talking to each other through core/http1. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/encoding.h"
#include "core/http1.h"
#include "core/keys.h"
#include "core/relay_proto.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

#define KEY_HEX "197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61"

/* Encodes f, compares with the vector, decodes the vector and encodes that again. */
static void check_vector(const struct iroh_relay_frame *f, const char *hex)
{
    uint8_t want[256], got[256];
    size_t n = unhex(hex, want, sizeof want);
    CHECK_EQ_INT(iroh_relay_frame_encoded_len(f), n);
    CHECK_EQ_INT(iroh_relay_frame_encode(f, got, sizeof got), (int)n);
    CHECK_EQ_MEM(got, want, n);
    struct iroh_relay_frame d;
    CHECK_EQ_INT(iroh_relay_frame_decode(want, n, &d), IROH_OK);
    CHECK_EQ_INT(d.type, f->type);
    CHECK_EQ_INT(iroh_relay_frame_encode(&d, got, sizeof got), (int)n);
    CHECK_EQ_MEM(got, want, n);
    /* Encoding into one byte less fails cleanly. */
    CHECK_EQ_INT(iroh_relay_frame_encode(f, got, n - 1), IROH_EBUFFER);
}

static void test_frame_vectors(void)
{
    struct iroh_relay_frame f = {0};
    unhex(KEY_HEX, f.key, sizeof f.key);
    f.ecn = 3;
    f.data = (const uint8_t *)"Hello World!";
    f.data_len = 12;
    f.segment_size = 6;
    f.type = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH;
    check_vector(&f, "05" KEY_HEX "030006"
                     "48656c6c6f20576f726c6421");
    f.type = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM;
    check_vector(&f, "04" KEY_HEX "03"
                     "48656c6c6f20576f726c6421");
    f.type = IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH;
    check_vector(&f, "07" KEY_HEX "030006"
                     "48656c6c6f20576f726c6421");
    f.type = IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM;
    check_vector(&f, "06" KEY_HEX "03"
                     "48656c6c6f20576f726c6421");
    f.type = IROH_RELAY_ENDPOINT_GONE;
    check_vector(&f, "08" KEY_HEX);
    memset(f.ping, 0x2a, sizeof f.ping);
    f.type = IROH_RELAY_PING;
    check_vector(&f, "092a2a2a2a2a2a2a2a");
    f.type = IROH_RELAY_PONG;
    check_vector(&f, "0a2a2a2a2a2a2a2a2a");
    f.type = IROH_RELAY_RESTARTING;
    f.reconnect_in_ms = 10;
    f.try_for_ms = 20;
    check_vector(&f, "0c0000000a00000014");
    f.type = IROH_RELAY_STATUS;
    f.status = IROH_RELAY_STATUS_SAME_ENDPOINT_ID_CONNECTED;
    check_vector(&f, "0d01");
    f.status = IROH_RELAY_STATUS_RATE_LIMITED;
    check_vector(&f, "0d02");
    f.type = IROH_RELAY_HEALTH;
    f.data = (const uint8_t *)"Hello? Yes this is dog.";
    f.data_len = 23;
    check_vector(&f, "0b48656c6c6f3f20596573207468697320697320646f672e");
    f.type = IROH_RELAY_SERVER_DENIES_AUTH;
    f.data = (const uint8_t *)"not authorized";
    f.data_len = 14;
    check_vector(&f, "030e6e6f7420617574686f72697a6564");
    f.type = IROH_RELAY_SERVER_CONFIRMS_AUTH;
    check_vector(&f, "02");
    f.type = IROH_RELAY_SERVER_CHALLENGE;
    unhex("000102030405060708090a0b0c0d0e0f", f.challenge, sizeof f.challenge);
    check_vector(&f, "00000102030405060708090a0b0c0d0e0f");
}

/* Spec §1.4.1 worked example: RFC 8032 test 1 key, challenge 00..0f. */
static void test_challenge_vector(void)
{
    struct iroh_secret_key sk;
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", sk.seed, 32);
    uint8_t c[16], m[32], want_m[32], want_sig[64];
    unhex("000102030405060708090a0b0c0d0e0f", c, sizeof c);
    unhex("b7b16e505d2cb5dbaf494800092c3b05a6c45d8d3fd4f1b888c6a77240b876c0", want_m, 32);
    unhex("5e84353f03f3a6b4354eb7196e6b0e2dbd193cd1cb60a53e6faa5093f75ac9d6"
          "9fe168c58d6043e6812935e4e5135e09292fc9ccc9607aefa8ecb2b7c71e4207",
          want_sig, 64);
    iroh_relay_challenge_message(c, m);
    CHECK_EQ_MEM(m, want_m, 32);
    struct iroh_relay_frame auth;
    iroh_relay_client_auth_make(&sk, c, &auth);
    CHECK_EQ_MEM(auth.signature, want_sig, 64);
    uint8_t frame[IROH_RELAY_CLIENT_AUTH_LEN], want[IROH_RELAY_CLIENT_AUTH_LEN];
    CHECK_EQ_INT(unhex("01d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a40"
                       "5e84353f03f3a6b4354eb7196e6b0e2dbd193cd1cb60a53e6faa5093f75ac9d6"
                       "9fe168c58d6043e6812935e4e5135e09292fc9ccc9607aefa8ecb2b7c71e4207",
                       want, sizeof want),
                 IROH_RELAY_CLIENT_AUTH_LEN);
    CHECK_EQ_INT(iroh_relay_frame_encode(&auth, frame, sizeof frame), IROH_RELAY_CLIENT_AUTH_LEN);
    CHECK_EQ_MEM(frame, want, sizeof want);
    struct iroh_relay_frame d;
    CHECK_EQ_INT(iroh_relay_frame_decode(frame, sizeof frame, &d), IROH_OK);
    CHECK_EQ_INT(iroh_relay_client_auth_verify(c, &d), IROH_OK);
    /* Another challenge, a flipped signature bit, a wrong frame type. */
    uint8_t c2[16];
    memcpy(c2, c, 16);
    c2[0] ^= 1;
    CHECK_EQ_INT(iroh_relay_client_auth_verify(c2, &d), IROH_ECORRUPT);
    d.signature[10] ^= 4;
    CHECK_EQ_INT(iroh_relay_client_auth_verify(c, &d), IROH_ECORRUPT);
    d.type = IROH_RELAY_PING;
    CHECK_EQ_INT(iroh_relay_client_auth_verify(c, &d), IROH_EINVAL);
    /* A ClientAuth whose key is not a valid point is refused by the decoder. */
    memset(frame + 1, 0xff, 32);
    CHECK_EQ_INT(iroh_relay_frame_decode(frame, sizeof frame, &d), IROH_EPROTO);
}

static void test_malformed(void)
{
    struct iroh_relay_frame d;
    uint8_t buf[IROH_RELAY_MAX_PACKET_SIZE + 64];
    memset(buf, 0, sizeof buf);
    const struct {
        const char *hex;
    } bad[] = {
        {""},
        {"0e"},
        {"3f"},
        {"4040"}, /* empty, unknown types */
        {"0000"},
        {"0100"},
        {"0201"}, /* short challenge/auth; confirm with body */
        {"0305616263"},
        {"03"}, /* deny: length past the end; no length */
        {"04" KEY_HEX},
        {"05" KEY_HEX "0300"}, /* datagrams without ecn / segment size */
        {"08" KEY_HEX "00"},
        {"0900"},
        {"0a2a2a2a2a2a2a2a2a2a"}, /* fixed sizes */
        {"0c00"},
        {"0d"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = unhex(bad[i].hex, buf, sizeof buf);
        int rc = iroh_relay_frame_decode(buf, n, &d);
        if (rc != IROH_EPROTO) fprintf(stderr, "case %zu: %d\n", i, rc);
        CHECK_EQ_INT(rc, IROH_EPROTO);
    }
    /* The packet limit: 65536 bytes after the type are fine, one more is not. */
    buf[0] = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM;
    CHECK_EQ_INT(iroh_relay_frame_decode(buf, 1 + IROH_RELAY_MAX_PACKET_SIZE, &d), IROH_OK);
    CHECK_EQ_INT(d.data_len, IROH_RELAY_MAX_PACKET_SIZE - 33);
    CHECK_EQ_INT(iroh_relay_frame_decode(buf, 2 + IROH_RELAY_MAX_PACKET_SIZE, &d), IROH_ETOOBIG);
    /* Status ignores extra bytes; an ECN value over 3 reads as none. */
    uint8_t st[] = {0x0d, 0x07, 0x99};
    CHECK_EQ_INT(iroh_relay_frame_decode(st, sizeof st, &d), IROH_OK);
    CHECK_EQ_INT(d.status, 7);
    size_t n = unhex("04" KEY_HEX "09aa", buf, sizeof buf);
    CHECK_EQ_INT(iroh_relay_frame_decode(buf, n, &d), IROH_OK);
    CHECK_EQ_INT(d.ecn, 0);
    /* Encoder refusals. */
    struct iroh_relay_frame f = {.type = IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM, .data = buf};
    CHECK_EQ_INT(iroh_relay_frame_encode(&f, buf, sizeof buf), IROH_EINVAL); /* empty */
    static uint8_t big[IROH_RELAY_MAX_PACKET_SIZE];
    f.data = big;
    f.data_len = IROH_RELAY_MAX_PACKET_SIZE - 33;
    static uint8_t out[IROH_RELAY_MAX_PACKET_SIZE + 64];
    CHECK_EQ_INT(iroh_relay_frame_encode(&f, out, sizeof out), IROH_RELAY_MAX_PACKET_SIZE + 1);
    f.data_len++;
    CHECK_EQ_INT(iroh_relay_frame_encode(&f, out, sizeof out), IROH_ETOOBIG);
    f.type = (enum iroh_relay_frame_type)14;
    CHECK_EQ_INT(iroh_relay_frame_encode(&f, out, sizeof out), IROH_EINVAL);
}

static void test_forward_in_place(void)
{
    uint8_t src[32], dst[32], buf[64];
    memset(src, 0x11, 32);
    memset(dst, 0x22, 32);
    size_t h = iroh_relay_datagram_header_encode(IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH, dst, 2,
                                                 1200, buf);
    CHECK_EQ_INT(h, IROH_RELAY_DATAGRAM_BATCH_HEADER_LEN);
    memcpy(buf + h, "abc", 3);
    iroh_relay_datagram_to_recv(buf, h + 3, src);
    struct iroh_relay_frame d;
    CHECK_EQ_INT(iroh_relay_frame_decode(buf, h + 3, &d), IROH_OK);
    CHECK_EQ_INT(d.type, IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH);
    CHECK_EQ_MEM(d.key, src, 32);
    CHECK(d.ecn == 2 && d.segment_size == 1200 && d.data_len == 3);
    h = iroh_relay_datagram_header_encode(IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM, dst, 0, 0, buf);
    CHECK_EQ_INT(h, IROH_RELAY_DATAGRAM_HEADER_LEN);
    buf[h] = 'x';
    iroh_relay_datagram_to_recv(buf, h + 1, src);
    CHECK_EQ_INT(iroh_relay_frame_decode(buf, h + 1, &d), IROH_OK);
    CHECK_EQ_INT(d.type, IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM);
    CHECK_EQ_MEM(d.key, src, 32);
}

static void test_ekm_header(void)
{
    struct iroh_secret_key sk;
    memset(sk.seed, 0x2a, 32);
    uint8_t ekm[32];
    for (int i = 0; i < 32; i++)
        ekm[i] = (uint8_t)(i * 3);
    char hdr[IROH_RELAY_AUTH_HEADER_LEN + 1];
    iroh_relay_ekm_header_make(&sk, ekm, hdr);
    CHECK_EQ_INT(strlen(hdr), IROH_RELAY_AUTH_HEADER_LEN);
    CHECK(strchr(hdr, '+') == NULL && strchr(hdr, '/') == NULL && strchr(hdr, '=') == NULL);
    struct iroh_relay_ekm_auth a;
    CHECK_EQ_INT(iroh_relay_ekm_header_parse(hdr, strlen(hdr), &a), IROH_OK);
    uint8_t key[32];
    unhex(KEY_HEX, key, 32);
    CHECK_EQ_MEM(a.key.bytes, key, 32);
    CHECK_EQ_INT(iroh_relay_ekm_auth_verify(&a, ekm), IROH_OK);
    ekm[20] ^= 1; /* suffix differs */
    CHECK_EQ_INT(iroh_relay_ekm_auth_verify(&a, ekm), IROH_ECORRUPT);
    ekm[20] ^= 1;
    ekm[3] ^= 1; /* signed part differs */
    CHECK_EQ_INT(iroh_relay_ekm_auth_verify(&a, ekm), IROH_ECORRUPT);
    CHECK_EQ_INT(iroh_relay_ekm_header_parse(hdr, strlen(hdr) - 1, &a), IROH_EPROTO);
    /* The same body spelt with the last character's two unused bits set: refused. */
    static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *last = &hdr[IROH_RELAY_AUTH_HEADER_LEN - 1];
    size_t v = (size_t)(strchr(B64URL, *last) - B64URL);
    CHECK_EQ_INT(v & 3, 0);
    *last = B64URL[v | 1];
    CHECK_EQ_INT(iroh_relay_ekm_header_parse(hdr, strlen(hdr), &a), IROH_EPROTO);
    *last = B64URL[v];
    CHECK_EQ_INT(iroh_relay_ekm_header_parse(hdr, strlen(hdr), &a), IROH_OK);
    hdr[5] = '*';
    CHECK_EQ_INT(iroh_relay_ekm_header_parse(hdr, strlen(hdr), &a), IROH_EPROTO);
}

/* The client's request is accepted by the server check; the server's answer by the client. */
static void test_upgrade_both_sides(void)
{
    char key[IROH_WS_KEY_LEN + 1], req_text[1024], resp_text[1024];
    iroh_ws_client_key(key);
    int n = iroh_relay_upgrade_request("relay.example:3340", key, "tok en", NULL, req_text,
                                       sizeof req_text);
    CHECK(n > 0);
    struct iroh_http_request req;
    CHECK_EQ_INT(iroh_http_parse_request(req_text, (size_t)n, 8192, &req), n);
    CHECK(req.target_len == 6 && memcmp(req.target, "/relay", 6) == 0);
    struct iroh_relay_upgrade up;
    const char *reason = NULL;
    bool need_version = true;
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &need_version), IROH_OK);
    CHECK_EQ_INT(up.version, IROH_RELAY_V2);
    CHECK(up.ekm_header == NULL);
    char token[64];
    CHECK_EQ_INT(iroh_relay_request_token(&req, token, sizeof token), 6);
    CHECK_EQ_STR(token, "tok en");
    n = iroh_relay_upgrade_answer(&up, "X-Extra: 1\r\n", resp_text, sizeof resp_text);
    CHECK(n > 0);
    struct iroh_http_response resp;
    CHECK_EQ_INT(iroh_http_parse_response(resp_text, (size_t)n, 8192, &resp), n);
    CHECK_EQ_INT(iroh_relay_upgrade_response_check(&resp, key), IROH_RELAY_V2);
    CHECK(iroh_http_find_header(resp.headers, resp.num_headers, "X-Extra") != NULL);
    /* Another key's accept value is refused; a 403 is a refusal. */
    char other[IROH_WS_KEY_LEN + 1];
    iroh_ws_client_key(other);
    CHECK_EQ_INT(iroh_relay_upgrade_response_check(&resp, other), IROH_EPROTO);
    resp.status = 403;
    CHECK_EQ_INT(iroh_relay_upgrade_response_check(&resp, key), IROH_EPERM);
    /* With the keying-material header and no token. */
    char ekm_hdr[IROH_RELAY_AUTH_HEADER_LEN + 1];
    struct iroh_secret_key sk;
    uint8_t ekm[32] = {0};
    memset(sk.seed, 7, 32);
    iroh_relay_ekm_header_make(&sk, ekm, ekm_hdr);
    n = iroh_relay_upgrade_request("h", key, NULL, ekm_hdr, req_text, sizeof req_text);
    CHECK_EQ_INT(iroh_http_parse_request(req_text, (size_t)n, 8192, &req), n);
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &need_version), IROH_OK);
    CHECK(up.ekm_header_len == IROH_RELAY_AUTH_HEADER_LEN &&
          memcmp(up.ekm_header, ekm_hdr, IROH_RELAY_AUTH_HEADER_LEN) == 0);
    CHECK_EQ_INT(iroh_relay_request_token(&req, token, sizeof token), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_relay_upgrade_request("h", key, NULL, NULL, req_text, 50), IROH_EBUFFER);
}

/* Server-side refusals of upgrade requests (spec §1.2). */
static void check_refused(const char *text, bool want_version_header)
{
    struct iroh_http_request req;
    int n = iroh_http_parse_request(text, strlen(text), 8192, &req);
    CHECK(n > 0);
    struct iroh_relay_upgrade up;
    const char *reason = NULL;
    bool need_version = false;
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &need_version), 400);
    CHECK(reason != NULL);
    CHECK(need_version == want_version_header);
}

static void test_upgrade_refusals(void)
{
    check_refused("GET /relay HTTP/1.1\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: a\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: iroh-relay-v1\r\n\r\n",
                  false);
    check_refused("GET /relay HTTP/1.1\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: iroh-relay-v1\r\n\r\n",
                  false);
    check_refused("GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
                  "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: iroh-relay-v1\r\n\r\n",
                  true);
    check_refused("GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
                  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: iroh-relay-v3\r\n\r\n",
                  false);
    /* v1 only is accepted as v1. */
    const char *v1 =
        "GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: a\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: x, iroh-relay-v1\r\n\r\n";
    struct iroh_http_request req;
    CHECK(iroh_http_parse_request(v1, strlen(v1), 8192, &req) > 0);
    struct iroh_relay_upgrade up;
    const char *reason;
    bool nv;
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &nv), IROH_OK);
    CHECK_EQ_INT(up.version, IROH_RELAY_V1);
    /* Token from the query when there is no Bearer header (a Basic one is skipped). */
    const char *q = "GET /relay?token=se%2Fcret HTTP/1.1\r\nAuthorization: Basic abc\r\n\r\n";
    CHECK(iroh_http_parse_request(q, strlen(q), 8192, &req) > 0);
    char token[32];
    CHECK_EQ_INT(iroh_relay_request_token(&req, token, sizeof token), 7);
    CHECK_EQ_STR(token, "se/cret");
    const char *b = "GET /relay HTTP/1.1\r\nauthorization: bEaReR xyz\r\n\r\n";
    CHECK(iroh_http_parse_request(b, strlen(b), 8192, &req) > 0);
    CHECK_EQ_INT(iroh_relay_request_token(&req, token, sizeof token), 3);
    CHECK_EQ_STR(token, "xyz");
}

/* iroh 0.35: the upstream ClientInfo snapshot (secret 32×0x2a), its check, and both ways a 0.35
 * client upgrades. */
static void test_v035(void)
{
    struct iroh_secret_key sk;
    memset(sk.seed, 0x2a, 32);
    uint8_t frame[IROH_RELAY035_CLIENT_INFO_LEN], want[IROH_RELAY035_CLIENT_INFO_LEN];
    CHECK_EQ_INT(
        unhex("0252454c4159f09f9491" KEY_HEX
              "88e77b22f292ab37435da8de0bc8cb84e288f4e73b3582a52731e9ff9865465c87e05e8d427d"
              "f422bb6e85e1c05f6f749837baa4a5c7eba3230d775699"
              "10430e03",
              want, sizeof want),
        IROH_RELAY035_CLIENT_INFO_LEN);
    iroh_relay035_client_info_make(&sk, frame);
    CHECK_EQ_MEM(frame, want, sizeof want);
    struct iroh_public_key pk;
    uint64_t version = 0;
    CHECK_EQ_INT(iroh_relay035_client_info_verify(frame + 1, sizeof frame - 1, &pk, &version),
                 IROH_OK);
    CHECK_EQ_INT(version, IROH_RELAY035_PROTOCOL_VERSION);
    uint8_t key[32];
    unhex(KEY_HEX, key, 32);
    CHECK_EQ_MEM(pk.bytes, key, 32);
    frame[sizeof frame - 1] = 4; /* another version: the signature no longer matches */
    CHECK_EQ_INT(iroh_relay035_client_info_verify(frame + 1, sizeof frame - 1, &pk, &version),
                 IROH_ECORRUPT);
    frame[1] = 'X';
    CHECK_EQ_INT(iroh_relay035_client_info_verify(frame + 1, sizeof frame - 1, &pk, &version),
                 IROH_EPROTO);
    CHECK_EQ_INT(iroh_relay035_client_info_verify(want + 1, 60, &pk, &version), IROH_EPROTO);

    const char *derp = "GET /derp HTTP/1.1\r\nHost: r\r\nUpgrade: iroh derp http\r\n\r\n";
    const char *ws = "GET /relay HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "
                     "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    struct iroh_http_request req;
    struct iroh_relay_upgrade up;
    const char *reason;
    bool nv;
    char answer[512];
    CHECK(iroh_http_parse_request(derp, strlen(derp), 8192, &req) > 0);
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &nv), IROH_OK);
    CHECK(up.version == IROH_RELAY_V035 && !up.websocket);
    CHECK(iroh_relay_upgrade_answer(&up, NULL, answer, sizeof answer) > 0);
    CHECK_EQ_STR(answer, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: iroh derp http\r\n\r\n");
    CHECK(iroh_http_parse_request(ws, strlen(ws), 8192, &req) > 0);
    CHECK_EQ_INT(iroh_relay_upgrade_check(&req, &up, &reason, &nv), IROH_OK);
    CHECK(up.version == IROH_RELAY_V035 && up.websocket);
    CHECK(iroh_relay_upgrade_answer(&up, NULL, answer, sizeof answer) > 0);
    CHECK(strstr(answer, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    CHECK(strstr(answer, "Sec-WebSocket-Protocol") == NULL);
}

int main(void)
{
    CHECK_EQ_INT(iroh_keys_init(), IROH_OK);
    RUN(test_frame_vectors);
    RUN(test_challenge_vector);
    RUN(test_malformed);
    RUN(test_forward_in_place);
    RUN(test_ekm_header);
    RUN(test_upgrade_both_sides);
    RUN(test_upgrade_refusals);
    RUN(test_v035);
    return TEST_SUMMARY();
}
