/* test_disco.c — disco messages: the inner encodings against iroh 0.35's own vectors
 * (disco.rs test_to_from_bytes), the key conversion and a sealed Ping against the spec's
 * derived vector (compat-0.35-and-paths.md §2.2), and what opening and decoding refuse. */
#include <sodium.h>
#include <string.h>

#include "core/disco.h"
#include "core/encoding.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

static struct iroh_socket_addr addr(const char *text)
{
    struct iroh_socket_addr a;
    CHECK_EQ_INT(iroh_socket_addr_parse(text, strlen(text), &a), IROH_OK);
    return a;
}

static void tx_1_to_12(uint8_t tx[IROH_DISCO_TX_ID_LEN])
{
    for (int i = 0; i < IROH_DISCO_TX_ID_LEN; i++)
        tx[i] = (uint8_t)(i + 1);
}

/* Encodes msg, compares with hex, decodes the bytes again and compares the encodings. */
static void check_vector(const struct iroh_disco_msg *msg, const char *hex)
{
    uint8_t want[IROH_DISCO_INNER_MAX], got[IROH_DISCO_INNER_MAX], again[IROH_DISCO_INNER_MAX];
    size_t want_len = unhex(hex, want, sizeof want);
    int n = iroh_disco_encode(msg, got, sizeof got);
    CHECK_EQ_INT(n, (long long)want_len);
    if (n != (int)want_len) return;
    CHECK_EQ_MEM(got, want, want_len);
    struct iroh_disco_msg decoded;
    CHECK_EQ_INT(iroh_disco_decode(want, want_len, &decoded), IROH_OK);
    CHECK_EQ_INT(decoded.type, msg->type);
    CHECK_EQ_INT(iroh_disco_encode(&decoded, again, sizeof again), (long long)want_len);
    CHECK_EQ_MEM(again, want, want_len);
    CHECK_EQ_INT(iroh_disco_encode(msg, got, want_len - 1), IROH_EBUFFER);
}

static void test_upstream_inner_vectors(void)
{
    struct iroh_disco_msg m = {.type = IROH_DISCO_PING};
    tx_1_to_12(m.tx_id);
    unhex("bef3416825 66af4bf31645c8a76b183fd88c782b0470103e759b2dd748af28bd", m.node_key.bytes,
          IROH_KEY_LEN);
    check_vector(&m, "01 00 0102030405060708090a0b0c bef3416825 66af4bf31645c8a76b183fd8"
                     "8c782b0470103e759b2dd748af28bd");

    m = (struct iroh_disco_msg){.type = IROH_DISCO_PONG, .src = addr("2.3.4.5:1234")};
    tx_1_to_12(m.tx_id);
    check_vector(&m, "02 00 0102030405060708090a0b0c 00 00000000000000000000ffff02030405 d204");
    struct iroh_disco_msg d;
    uint8_t buf[64];
    size_t len = unhex("02 00 0102030405060708090a0b0c 00 00000000000000000000ffff02030405 d204",
                       buf, sizeof buf);
    CHECK_EQ_INT(iroh_disco_decode(buf, len, &d), IROH_OK);
    CHECK(d.src.family == IROH_IP_V4 && d.src.port == 1234 && d.src.ip[0] == 2);
    CHECK_EQ_STR(d.relay_url, "");

    m = (struct iroh_disco_msg){.type = IROH_DISCO_PONG, .src = addr("[fed0::12]:6666")};
    tx_1_to_12(m.tx_id);
    check_vector(&m, "02 00 0102030405060708090a0b0c 00 fed00000000000000000000000000012 0a1a");

    m = (struct iroh_disco_msg){.type = IROH_DISCO_CALL_ME_MAYBE};
    check_vector(&m, "03 00");
    m.addr_count = 2;
    m.addrs[0] = addr("1.2.3.4:567");
    m.addrs[1] = addr("[2001::3456]:789");
    check_vector(&m, "03 00 00000000000000000000ffff01020304 3702 "
                     "20010000000000000000000000003456 1503");
}

static void test_pong_via_relay(void)
{
    struct iroh_disco_msg m = {.type = IROH_DISCO_PONG};
    tx_1_to_12(m.tx_id);
    strcpy(m.relay_url, "http://127.0.0.1:3340/");
    uint8_t buf[IROH_DISCO_INNER_MAX];
    int n = iroh_disco_encode(&m, buf, sizeof buf);
    CHECK_EQ_INT(n, 2 + 12 + 1 + 22);
    CHECK_EQ_INT(buf[14], 1);
    CHECK_EQ_MEM(buf + 15, "http://127.0.0.1:3340/", 22);
    struct iroh_disco_msg d;
    CHECK_EQ_INT(iroh_disco_decode(buf, (size_t)n, &d), IROH_OK);
    CHECK_EQ_STR(d.relay_url, "http://127.0.0.1:3340/");
    /* a relay form shorter than 2 bytes is a body 0.35 cannot read: never written or read */
    strcpy(m.relay_url, "h");
    CHECK_EQ_INT(iroh_disco_encode(&m, buf, sizeof buf), IROH_EINVAL);
    CHECK_EQ_INT(iroh_disco_decode(buf, 15, &d), IROH_EINVAL);
}

static void test_decode_refuses(void)
{
    uint8_t b[128];
    struct iroh_disco_msg d;
    size_t n = unhex("01 00 0102030405060708090a0b0c bef3416825 66af4bf31645c8a76b183fd88c782b04"
                     "70103e759b2dd748af28bd",
                     b, sizeof b);
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_OK);
    b[n] = 0x77; /* bytes after a Ping's key are ignored, as 0.35 does */
    CHECK_EQ_INT(iroh_disco_decode(b, n + 1, &d), IROH_OK);
    CHECK_EQ_INT(iroh_disco_decode(b, n - 1, &d), IROH_EINVAL);
    b[1] = 1; /* version */
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_EINVAL);
    b[1] = 0;
    b[0] = 4; /* type */
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_EINVAL);
    b[0] = 1;
    memset(b + 14, 0xff, 32); /* not a point */
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_EINVAL);

    n = unhex("02 00 0102030405060708090a0b0c 00 00000000000000000000ffff02030405 d204", b,
              sizeof b);
    CHECK_EQ_INT(iroh_disco_decode(b, n - 1, &d), IROH_EINVAL);
    b[n] = 0;
    CHECK_EQ_INT(iroh_disco_decode(b, n + 1, &d), IROH_EINVAL);
    b[14] = 2; /* neither UDP nor relay */
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_EINVAL);
    b[14] = 1;
    b[20] = 0; /* a relay URL holding a NUL */
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_EINVAL);

    n = unhex("03 00 00000000000000000000ffff01020304 3702", b, sizeof b);
    CHECK_EQ_INT(iroh_disco_decode(b, n, &d), IROH_OK);
    CHECK_EQ_INT(d.addr_count, 1);
    CHECK_EQ_INT(iroh_disco_decode(b, n - 1, &d), IROH_EINVAL);
    CHECK_EQ_INT(iroh_disco_decode(b, 1, &d), IROH_EINVAL);

    /* a CallMeMaybe with more addresses than we keep: the first ones */
    uint8_t big[2 + 18 * (IROH_DISCO_MAX_ADDRS + 3)] = {3, 0};
    for (size_t i = 0; i < IROH_DISCO_MAX_ADDRS + 3; i++) {
        big[2 + 18 * i + 10] = big[2 + 18 * i + 11] = 0xff;
        big[2 + 18 * i + 15] = (uint8_t)i;
    }
    CHECK_EQ_INT(iroh_disco_decode(big, sizeof big, &d), IROH_OK);
    CHECK_EQ_INT(d.addr_count, IROH_DISCO_MAX_ADDRS);
    CHECK_EQ_INT(d.addrs[IROH_DISCO_MAX_ADDRS - 1].ip[3], IROH_DISCO_MAX_ADDRS - 1);
}

static void seed(struct iroh_secret_key *sk, uint8_t byte)
{
    memset(sk->seed, byte, sizeof sk->seed);
}

static void check_hex(const uint8_t *got, size_t n, const char *hex)
{
    uint8_t want[256];
    CHECK_EQ_INT(unhex(hex, want, sizeof want), (long long)n);
    CHECK_EQ_MEM(got, want, n);
}

/* compat-0.35-and-paths.md §2.2.3: sender seed 32×2a, receiver seed 32×01, Ping tx 01..0c
 * naming the sender, nonce 00..17. */
static void test_sealed_vector(void)
{
    struct iroh_secret_key a, b;
    seed(&a, 0x2a);
    seed(&b, 0x01);
    struct iroh_public_key a_id, b_id;
    iroh_secret_key_public(&a, &a_id);
    iroh_secret_key_public(&b, &b_id);
    struct iroh_disco_secret a_x, b_x;
    iroh_disco_secret_init(&a_x, &a);
    iroh_disco_secret_init(&b_x, &b);
    check_hex(a_x.x25519, 32, "f00a2613bdbcce990d0a124d6fc4bf97319d0cccf3f67a2c3fe575b5b9986452");
    uint8_t a_pub[32], b_pub[32], shared[32];
    crypto_scalarmult_curve25519_base(a_pub, a_x.x25519);
    check_hex(a_pub, 32, "55c0506c70233f01c32633ba683b9099c4d4adb209a046c3470b78788ec3c13f");
    CHECK_EQ_INT(crypto_sign_ed25519_pk_to_curve25519(b_pub, b_id.bytes), 0);
    check_hex(b_pub, 32, "1b1b58dd50ea14b60da17b790cd02754d970c9bab864ebb3c0f3016fe51d3f57");
    CHECK_EQ_INT(crypto_scalarmult_curve25519(shared, a_x.x25519, b_pub), 0);
    check_hex(shared, 32, "7222366d7f0667e7489ad739e288e93e2d80d3e6311c18976c963536d7fffc7f");

    struct iroh_disco_shared ab, ba;
    CHECK_EQ_INT(iroh_disco_shared_init(&ab, &a_x, &b_id), IROH_OK);
    CHECK_EQ_INT(iroh_disco_shared_init(&ba, &b_x, &a_id), IROH_OK);
    check_hex(ab.key, 32, "31f63c2d169ecbe973050581413c1b15034a906340ba20c550005d032b585536");
    CHECK_EQ_MEM(ab.key, ba.key, 32);

    struct iroh_disco_msg ping = {.type = IROH_DISCO_PING, .node_key = a_id};
    tx_1_to_12(ping.tx_id);
    uint8_t nonce[IROH_DISCO_NONCE_LEN], pkt[IROH_DISCO_PACKET_MAX];
    for (int i = 0; i < IROH_DISCO_NONCE_LEN; i++)
        nonce[i] = (uint8_t)i;
    int n = iroh_disco_seal(&ab, &a_id, nonce, &ping, pkt, sizeof pkt);
    CHECK_EQ_INT(n, 124);
    if (n != 124) return;
    check_hex(pkt, 124,
              "5453f09f92ac197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61"
              "0f81b139cd325f89de4a034eb410103a3b675c8fd2bf9baa3862d664d05b8672862b1bb0565052"
              "c21868333dce4b944413d06016e9763557f20b9508ffb4"
              "000102030405060708090a0b0c0d0e0f1011121314151617");
    CHECK_EQ_INT(iroh_disco_seal(&ab, &a_id, nonce, &ping, pkt, 123), IROH_EBUFFER);

    CHECK(iroh_disco_looks_like(pkt, (size_t)n));
    struct iroh_public_key sender;
    CHECK_EQ_INT(iroh_disco_sender(pkt, (size_t)n, &sender), IROH_OK);
    CHECK_EQ_MEM(sender.bytes, a_id.bytes, IROH_KEY_LEN);
    struct iroh_disco_msg got;
    CHECK_EQ_INT(iroh_disco_open(&ba, pkt, (size_t)n, &got), IROH_OK);
    CHECK_EQ_INT(got.type, IROH_DISCO_PING);
    CHECK_EQ_MEM(got.tx_id, ping.tx_id, IROH_DISCO_TX_ID_LEN);
    CHECK_EQ_MEM(got.node_key.bytes, a_id.bytes, IROH_KEY_LEN);

    /* any flipped bit of the box or the nonce, or another key, fails to open */
    for (int at = IROH_DISCO_HEADER_LEN; at < n; at += 7) {
        pkt[at] ^= 0x10;
        CHECK_EQ_INT(iroh_disco_open(&ba, pkt, (size_t)n, &got), IROH_ECORRUPT);
        pkt[at] ^= 0x10;
    }
    struct iroh_secret_key c;
    seed(&c, 0x02);
    struct iroh_disco_secret c_x;
    struct iroh_disco_shared ca;
    iroh_disco_secret_init(&c_x, &c);
    CHECK_EQ_INT(iroh_disco_shared_init(&ca, &c_x, &a_id), IROH_OK);
    CHECK_EQ_INT(iroh_disco_open(&ca, pkt, (size_t)n, &got), IROH_ECORRUPT);
    CHECK_EQ_INT(iroh_disco_open(&ba, pkt, IROH_DISCO_OVERHEAD - 1, &got), IROH_EINVAL);
    /* a header and a nonce around a bare tag do not open */
    CHECK_EQ_INT(iroh_disco_open(&ba, pkt, IROH_DISCO_OVERHEAD, &got), IROH_ECORRUPT);
}

static void test_header_checks(void)
{
    uint8_t pkt[IROH_DISCO_OVERHEAD] = {0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac};
    CHECK(!iroh_disco_looks_like(pkt, IROH_DISCO_HEADER_LEN - 1));
    CHECK(iroh_disco_looks_like(pkt, IROH_DISCO_HEADER_LEN));
    struct iroh_public_key pk;
    CHECK_EQ_INT(iroh_disco_sender(pkt, IROH_DISCO_HEADER_LEN, &pk), IROH_EINVAL);
    CHECK_EQ_INT(iroh_disco_sender(pkt, sizeof pkt, &pk), IROH_EINVAL); /* zero key */
    pkt[0] = 0x55;
    CHECK(!iroh_disco_looks_like(pkt, sizeof pkt));
    /* a QUIC short header (fixed bit set) never looks like disco */
    uint8_t quic[64] = {0x40 | 0x03};
    CHECK(!iroh_disco_looks_like(quic, sizeof quic));

    struct iroh_disco_secret ours;
    struct iroh_secret_key sk;
    seed(&sk, 0x2a);
    iroh_disco_secret_init(&ours, &sk);
    struct iroh_public_key bad;
    memset(bad.bytes, 0xff, sizeof bad.bytes);
    struct iroh_disco_shared key;
    CHECK_EQ_INT(iroh_disco_shared_init(&key, &ours, &bad), IROH_EINVAL);
}

static void test_encode_refuses(void)
{
    uint8_t buf[IROH_DISCO_INNER_MAX];
    struct iroh_disco_msg m = {.type = 9};
    CHECK_EQ_INT(iroh_disco_encode(&m, buf, sizeof buf), IROH_EINVAL);
    m = (struct iroh_disco_msg){.type = IROH_DISCO_PONG}; /* no source at all */
    CHECK_EQ_INT(iroh_disco_encode(&m, buf, sizeof buf), IROH_EINVAL);
    m = (struct iroh_disco_msg){.type = IROH_DISCO_CALL_ME_MAYBE,
                                .addr_count = IROH_DISCO_MAX_ADDRS + 1};
    CHECK_EQ_INT(iroh_disco_encode(&m, buf, sizeof buf), IROH_EINVAL);
    m.addr_count = IROH_DISCO_MAX_ADDRS;
    for (size_t i = 0; i < m.addr_count; i++)
        m.addrs[i] = addr("[2001:db8::1]:1");
    CHECK_EQ_INT(iroh_disco_encode(&m, buf, sizeof buf), IROH_DISCO_INNER_MAX);
}

int main(void)
{
    if (iroh_keys_init() != IROH_OK) return 1;
    RUN(test_upstream_inner_vectors);
    RUN(test_pong_via_relay);
    RUN(test_decode_refuses);
    RUN(test_sealed_vector);
    RUN(test_header_checks);
    RUN(test_encode_refuses);
    return TEST_SUMMARY();
}
