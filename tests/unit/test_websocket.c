/* test_websocket.c — RFC 6455 pieces: SHA-1 (FIPS 180 vectors), the handshake example of RFC
 * 6455 §1.3, frame headers of every length form for both roles, masking in pieces (the RFC
 * §5.7 example), and the refusals (RSV bits, wrong masking, long or fragmented control frames,
 * reserved opcodes, the 64-bit top bit, the payload limit). */
#include <stdint.h>
#include <string.h>

#include "core/encoding.h"
#include "core/keys.h"
#include "core/websocket.h"
#include "iroh/error.h"
#include "tests/test.h"

static void check_sha1(const char *msg, size_t len, const char *hex)
{
    uint8_t d[20];
    char h[41];
    iroh_ws_sha1(msg, len, d);
    CHECK_EQ_INT(iroh_hex_encode(d, 20, h, sizeof h), 40);
    CHECK_EQ_STR(h, hex);
}

static void test_sha1_vectors(void)
{
    check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha1(two, strlen(two), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* 55, 56 and 64 bytes: the padding edge cases. */
    char a[200];
    memset(a, 'a', sizeof a);
    check_sha1(a, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    check_sha1(a, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    check_sha1(a, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
}

static void test_accept_key(void)
{
    char out[IROH_WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    iroh_ws_accept_key(key, strlen(key), out);
    CHECK_EQ_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    char k1[IROH_WS_KEY_LEN + 1], k2[IROH_WS_KEY_LEN + 1];
    iroh_ws_client_key(k1);
    iroh_ws_client_key(k2);
    CHECK_EQ_INT(strlen(k1), IROH_WS_KEY_LEN);
    CHECK(strcmp(k1, k2) != 0);
    CHECK(k1[22] == '=' && k1[23] == '=');
}

/* Encodes a header and parses it back with the given role. */
static void roundtrip(uint64_t len, bool client_frame)
{
    uint8_t buf[IROH_WS_MAX_HEADER_LEN];
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t n = iroh_ws_encode_header(buf, true, IROH_WS_BINARY, len, client_frame ? mask : NULL);
    CHECK_EQ_INT(n, (len < 126 ? 2 : len <= 0xffff ? 4 : 10) + (client_frame ? 4 : 0));
    struct iroh_ws_header h;
    enum iroh_ws_role reader = client_frame ? IROH_WS_SERVER : IROH_WS_CLIENT;
    CHECK_EQ_INT(iroh_ws_parse_header(buf, n, reader, UINT64_MAX, &h), (int)n);
    CHECK(h.fin && h.opcode == IROH_WS_BINARY && h.masked == client_frame);
    CHECK(h.payload_len == len && h.header_len == n);
    if (client_frame) CHECK_EQ_MEM(h.mask, mask, 4);
    /* Every shorter prefix asks for more bytes. */
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(iroh_ws_parse_header(buf, i, reader, UINT64_MAX, &h), 0);
    /* The other role refuses it. */
    enum iroh_ws_role other = client_frame ? IROH_WS_CLIENT : IROH_WS_SERVER;
    CHECK_EQ_INT(iroh_ws_parse_header(buf, n, other, UINT64_MAX, &h), IROH_EPROTO);
}

static void test_header_forms(void)
{
    uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1u << 20, UINT64_C(1) << 40};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        roundtrip(lens[i], true);
        roundtrip(lens[i], false);
    }
}

static void test_refusals(void)
{
    struct iroh_ws_header h;
    uint8_t rsv[] = {0xc2, 0x00};                   /* RSV1 set */
    uint8_t op3[] = {0x83, 0x00};                   /* reserved data opcode */
    uint8_t opb[] = {0x8b, 0x00};                   /* reserved control opcode */
    uint8_t frag_ping[] = {0x09, 0x00};             /* ping without FIN */
    uint8_t long_ping[] = {0x89, 0x7e, 0x00, 0x7e}; /* 126-byte ping */
    uint8_t top_bit[] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1};
    CHECK_EQ_INT(iroh_ws_parse_header(rsv, 2, IROH_WS_CLIENT, 100, &h), IROH_EPROTO);
    CHECK_EQ_INT(iroh_ws_parse_header(op3, 2, IROH_WS_CLIENT, 100, &h), IROH_EPROTO);
    CHECK_EQ_INT(iroh_ws_parse_header(opb, 2, IROH_WS_CLIENT, 100, &h), IROH_EPROTO);
    CHECK_EQ_INT(iroh_ws_parse_header(frag_ping, 2, IROH_WS_CLIENT, 100, &h), IROH_EPROTO);
    CHECK_EQ_INT(iroh_ws_parse_header(long_ping, 4, IROH_WS_CLIENT, 1000, &h), IROH_EPROTO);
    CHECK_EQ_INT(iroh_ws_parse_header(top_bit, 10, IROH_WS_CLIENT, UINT64_MAX, &h), IROH_EPROTO);
    uint8_t big[IROH_WS_MAX_HEADER_LEN];
    size_t n = iroh_ws_encode_header(big, true, IROH_WS_BINARY, 1001, NULL);
    CHECK_EQ_INT(iroh_ws_parse_header(big, n, IROH_WS_CLIENT, 1000, &h), IROH_ETOOBIG);
    CHECK_EQ_INT(iroh_ws_parse_header(big, n, IROH_WS_CLIENT, 1001, &h), (int)n);
    /* A continuation frame without FIN is fine. */
    uint8_t cont[] = {0x00, 0x03};
    CHECK_EQ_INT(iroh_ws_parse_header(cont, 2, IROH_WS_CLIENT, 100, &h), 2);
    CHECK(!h.fin && h.opcode == IROH_WS_CONTINUATION && h.payload_len == 3);
}

static void test_masking(void)
{
    /* RFC 6455 §5.7: a masked "Hello". */
    const uint8_t frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct iroh_ws_header h;
    CHECK_EQ_INT(iroh_ws_parse_header(frame, sizeof frame, IROH_WS_SERVER, 100, &h), 6);
    uint8_t payload[5];
    memcpy(payload, frame + 6, 5);
    iroh_ws_mask(payload, 2, h.mask, 0); /* in two pieces */
    iroh_ws_mask(payload + 2, 3, h.mask, 2);
    CHECK_EQ_MEM(payload, "Hello", 5);
    /* Long buffers at every start phase agree with byte-wise XOR. */
    uint8_t data[100], ref[100];
    const uint8_t m[4] = {0xde, 0xad, 0xbe, 0xef};
    for (size_t off = 0; off < 8; off++) {
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = ref[i] = (uint8_t)(i * 7);
        iroh_ws_mask(data, sizeof data, m, off);
        for (size_t i = 0; i < sizeof data; i++)
            ref[i] ^= m[(off + i) & 3];
        CHECK_EQ_MEM(data, ref, sizeof data);
    }
}

static void test_close_payload(void)
{
    uint8_t out[IROH_WS_MAX_CONTROL_PAYLOAD];
    CHECK_EQ_INT(iroh_ws_close_payload(1002, "bad", out), 5);
    CHECK(out[0] == 0x03 && out[1] == 0xea && memcmp(out + 2, "bad", 3) == 0);
    char longr[300];
    memset(longr, 'x', sizeof longr - 1);
    longr[sizeof longr - 1] = '\0';
    CHECK_EQ_INT(iroh_ws_close_payload(1000, longr, out), IROH_WS_MAX_CONTROL_PAYLOAD);
    CHECK_EQ_INT(iroh_ws_close_payload(1000, NULL, out), 2);
}

int main(void)
{
    CHECK_EQ_INT(iroh_keys_init(), IROH_OK);
    RUN(test_sha1_vectors);
    RUN(test_accept_key);
    RUN(test_header_forms);
    RUN(test_refusals);
    RUN(test_masking);
    RUN(test_close_payload);
    return TEST_SUMMARY();
}
