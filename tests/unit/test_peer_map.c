/* test_peer_map.c — the path layer's remotes: adding and finding by id, relay path addresses
 * that name exactly one live remote, forgetting the least recently used one when full (its old
 * address then finds nothing) unless it was used too recently, matching Pongs to the Pings
 * sent, and the direct address trusted for a while after it reached the remote. */
#include <string.h>

#include "core/peer_map.h"
#include "iroh/error.h"
#include "tests/test.h"

static struct iroh_public_key key(uint8_t seed_byte)
{
    struct iroh_secret_key sk;
    memset(sk.seed, seed_byte, sizeof sk.seed);
    struct iroh_public_key pk;
    iroh_secret_key_public(&sk, &pk);
    return pk;
}

static void test_add_get_relay_addr(void)
{
    struct iroh_peer_map m;
    CHECK_EQ_INT(iroh_peer_map_init(&m, 4), IROH_OK);
    struct iroh_public_key a = key(1), b = key(2);
    CHECK(iroh_peer_map_get(&m, &a) == NULL);
    struct iroh_peer *pa = iroh_peer_map_add(&m, &a, 10, UINT64_MAX);
    struct iroh_peer *pb = iroh_peer_map_add(&m, &b, 11, UINT64_MAX);
    CHECK(pa != pb);
    CHECK(iroh_peer_map_add(&m, &a, 12, UINT64_MAX) == pa);
    CHECK_EQ_INT(pa->last_used, 12);
    CHECK(iroh_peer_map_get(&m, &b) == pb);
    CHECK_EQ_INT(m.count, 2);

    char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_socket_addr_format(&pa->relay_addr, text, sizeof text);
    CHECK_EQ_STR(text, "[fd15:70a:510b:1::1]:12345"); /* slot 0, generation 1 */
    CHECK(iroh_peer_map_is_relay_addr(&pa->relay_addr));
    CHECK(iroh_peer_map_by_relay_addr(&m, &pa->relay_addr) == pa);
    CHECK(iroh_peer_map_by_relay_addr(&m, &pb->relay_addr) == pb);

    struct iroh_socket_addr other = pa->relay_addr;
    other.ip[15] ^= 0x40; /* a generation nobody has */
    CHECK(iroh_peer_map_by_relay_addr(&m, &other) == NULL);
    other = pa->relay_addr;
    other.ip[11] = 9; /* a slot beyond the map */
    CHECK(iroh_peer_map_by_relay_addr(&m, &other) == NULL);
    struct iroh_socket_addr udp;
    CHECK_EQ_INT(iroh_socket_addr_parse("127.0.0.1:1", 11, &udp), IROH_OK);
    CHECK(!iroh_peer_map_is_relay_addr(&udp));
    CHECK(iroh_peer_map_by_relay_addr(&m, &udp) == NULL);
    /* a synthetic QUIC address (core/quic_path.h) is not a relay path */
    CHECK_EQ_INT(iroh_socket_addr_parse("[fd15:70a:510b:ff::1]:12345", 27, &udp), IROH_OK);
    CHECK(!iroh_peer_map_is_relay_addr(&udp));
    iroh_peer_map_free(&m);
}

static void test_full_map_forgets_least_recent(void)
{
    struct iroh_peer_map m;
    CHECK_EQ_INT(iroh_peer_map_init(&m, 3), IROH_OK);
    struct iroh_public_key k[4] = {key(1), key(2), key(3), key(4)};
    struct iroh_peer *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = iroh_peer_map_add(&m, &k[i], (uint64_t)(100 + i), UINT64_MAX);
    iroh_peer_map_add(&m, &k[0], 200, UINT64_MAX); /* k[1] is now the least recently used */
    struct iroh_socket_addr old = p[1]->relay_addr;
    struct iroh_peer *fresh = iroh_peer_map_add(&m, &k[3], 201, UINT64_MAX);
    CHECK(fresh == p[1]);
    CHECK_EQ_INT(m.count, 3);
    CHECK(iroh_peer_map_get(&m, &k[1]) == NULL);
    CHECK(iroh_peer_map_get(&m, &k[0]) == p[0] && iroh_peer_map_get(&m, &k[2]) == p[2]);
    CHECK(iroh_peer_map_by_relay_addr(&m, &old) == NULL);
    CHECK(iroh_peer_map_by_relay_addr(&m, &fresh->relay_addr) == fresh);
    CHECK_EQ_STR(fresh->relay_url, "");
    CHECK(!fresh->has_disco_key);
    iroh_peer_map_free(&m);
}

/* Remotes used since idle_before stay: a new id then finds no place (NULL) instead of pushing
 * out a remote in use; once the least recent one is older, it goes. */
static void test_full_map_keeps_remotes_in_use(void)
{
    struct iroh_peer_map m;
    CHECK_EQ_INT(iroh_peer_map_init(&m, 2), IROH_OK);
    struct iroh_public_key a = key(1), b = key(2), c = key(3);
    struct iroh_peer *pa = iroh_peer_map_add(&m, &a, 100, 0);
    struct iroh_peer *pb = iroh_peer_map_add(&m, &b, 110, 0); /* free slots: always taken */
    CHECK(pa && pb && pa != pb);
    CHECK(iroh_peer_map_add(&m, &c, 120, 100) == NULL); /* a was used at 100: kept */
    CHECK(iroh_peer_map_get(&m, &a) == pa && iroh_peer_map_get(&m, &b) == pb);
    CHECK(iroh_peer_map_get(&m, &c) == NULL);
    CHECK_EQ_INT(m.count, 2);
    CHECK(iroh_peer_map_by_relay_addr(&m, &pa->relay_addr) == pa);
    CHECK(iroh_peer_map_add(&m, &a, 125, 100) == pa);           /* a known id is always found */
    struct iroh_peer *pc = iroh_peer_map_add(&m, &c, 130, 111); /* b (110) is idle now */
    CHECK(pc == pb);
    CHECK(iroh_peer_map_get(&m, &b) == NULL);
    CHECK_EQ_INT(m.count, 2);
    iroh_peer_map_free(&m);
}

static void test_pings(void)
{
    struct iroh_peer_map m;
    CHECK_EQ_INT(iroh_peer_map_init(&m, 1), IROH_OK);
    struct iroh_public_key a = key(1);
    struct iroh_peer *p = iroh_peer_map_add(&m, &a, 1, UINT64_MAX);
    struct iroh_socket_addr to, got;
    CHECK_EQ_INT(iroh_socket_addr_parse("10.0.0.1:7", 10, &to), IROH_OK);
    uint8_t tx[IROH_PEER_PINGS + 1][IROH_DISCO_TX_ID_LEN];
    for (int i = 0; i <= IROH_PEER_PINGS; i++) {
        memset(tx[i], i + 1, IROH_DISCO_TX_ID_LEN);
        iroh_peer_note_ping(p, tx[i], &to, (uint64_t)(1000 + i));
    }
    uint64_t sent = 0;
    CHECK(!iroh_peer_take_ping(p, tx[0], &got, &sent)); /* the oldest was forgotten */
    CHECK(iroh_peer_take_ping(p, tx[3], &got, &sent));
    CHECK_EQ_INT(sent, 1003);
    CHECK(iroh_socket_addr_compare(&got, &to) == 0);
    CHECK(!iroh_peer_take_ping(p, tx[3], &got, &sent)); /* matched once */
    CHECK(iroh_peer_take_ping(p, tx[IROH_PEER_PINGS], &got, &sent));
    iroh_peer_map_free(&m);
}

static void test_direct_trust(void)
{
    struct iroh_peer_map m;
    CHECK_EQ_INT(iroh_peer_map_init(&m, 1), IROH_OK);
    struct iroh_public_key a = key(1), b = key(2);
    struct iroh_peer *p = iroh_peer_map_add(&m, &a, 1, UINT64_MAX);
    struct iroh_socket_addr to, other_port, other_ip;
    CHECK_EQ_INT(iroh_socket_addr_parse("10.0.0.1:7", 10, &to), IROH_OK);
    CHECK_EQ_INT(iroh_socket_addr_parse("10.0.0.1:8", 10, &other_port), IROH_OK);
    CHECK_EQ_INT(iroh_socket_addr_parse("10.0.0.2:7", 10, &other_ip), IROH_OK);
    uint64_t t = 5000000000ull;
    CHECK(!iroh_peer_direct_recent(p, &to, t)); /* nothing reached it yet */
    iroh_peer_note_direct(p, &to, t);
    CHECK(iroh_peer_direct_recent(p, &to, t));
    CHECK(iroh_peer_direct_recent(p, &to, t + IROH_PEER_DIRECT_TRUST_NS - 1));
    CHECK(!iroh_peer_direct_recent(p, &to, t + IROH_PEER_DIRECT_TRUST_NS)); /* expired */
    CHECK(!iroh_peer_direct_recent(p, &to, t - 1));                         /* a clock gone back */
    CHECK(!iroh_peer_direct_recent(p, &other_port, t));
    CHECK(!iroh_peer_direct_recent(p, &other_ip, t));
    iroh_peer_note_direct(p, &other_port, t + 10); /* the latest address is the one trusted */
    CHECK(iroh_peer_direct_recent(p, &other_port, t + 10));
    CHECK(!iroh_peer_direct_recent(p, &to, t + 10));
    /* the slot, reused for another remote, trusts nothing of the one before */
    struct iroh_peer *q = iroh_peer_map_add(&m, &b, 2, UINT64_MAX);
    CHECK(q == p);
    CHECK(!iroh_peer_direct_recent(q, &other_port, t + 10));
    iroh_peer_map_free(&m);
}

int main(void)
{
    if (iroh_keys_init() != IROH_OK) return 1;
    RUN(test_add_get_relay_addr);
    RUN(test_full_map_forgets_least_recent);
    RUN(test_full_map_keeps_remotes_in_use);
    RUN(test_pings);
    RUN(test_direct_trust);
    return TEST_SUMMARY();
}
