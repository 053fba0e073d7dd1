/* test_quic_path.c — the path layer's per-connection map: dial fan-out and pinning, dropping
 * other sources during the handshake, new synthetic paths for migration, slot reuse, and a
 * relay path as one more real address. */
#include <string.h>

#include "core/peer_map.h"
#include "core/quic_path.h"
#include "iroh/error.h"
#include "tests/test.h"

static struct iroh_socket_addr addr(const char *text)
{
    struct iroh_socket_addr a;
    CHECK_EQ_INT(iroh_socket_addr_parse(text, strlen(text), &a), IROH_OK);
    return a;
}

static bool same(const struct iroh_socket_addr *a, const struct iroh_socket_addr *b)
{
    return iroh_socket_addr_compare(a, b) == 0;
}

static void test_dial_fans_out_then_pins(void)
{
    struct iroh_socket_addr c[2] = {addr("127.0.0.1:4000"), addr("[::1]:4001")};
    struct iroh_path_map m;
    iroh_path_map_init_dial(&m, c, 2);
    struct iroh_socket_addr first = *iroh_path_map_first(&m);
    char text[IROH_SOCKET_ADDR_TEXT_MAX + 1];
    iroh_socket_addr_format(&first, text, sizeof text);
    CHECK_EQ_STR(text, "[fd15:70a:510b:ff::1]:12345");

    const struct iroh_socket_addr *to[4];
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 4), 2);
    CHECK(same(to[0], &c[0]) && same(to[1], &c[1]));
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 1), 1);
    struct iroh_socket_addr unknown = addr("[fd15:70a:510b:ff::9]:12345");
    CHECK_EQ_INT(iroh_path_map_targets(&m, &unknown, to, 4), 0);

    /* the answer from the v6 candidate pins the path; the v4 one is then dropped */
    struct iroh_socket_addr s;
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &c[1], false, NULL, &s), IROH_OK);
    CHECK(same(&s, &first));
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 4), 1);
    CHECK(same(to[0], &c[1]));
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &c[0], false, NULL, &s), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &c[1], false, NULL, &s), IROH_OK);
}

static void test_dial_pins_unlisted_source(void)
{
    /* a multi-homed server may answer from another address of its own */
    struct iroh_socket_addr c = addr("10.0.0.1:4000"), other = addr("10.0.0.2:4000");
    struct iroh_path_map m;
    iroh_path_map_init_dial(&m, &c, 1);
    struct iroh_socket_addr s;
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &other, false, NULL, &s), IROH_OK);
    const struct iroh_socket_addr *to[2];
    CHECK_EQ_INT(iroh_path_map_targets(&m, &s, to, 2), 1);
    CHECK(same(to[0], &other));
}

static void test_accept_and_migrate(void)
{
    struct iroh_socket_addr a = addr("192.0.2.1:5000"), b = addr("192.0.2.1:5001");
    struct iroh_path_map m;
    iroh_path_map_init_accept(&m, &a);
    struct iroh_socket_addr first = *iroh_path_map_first(&m), s;

    /* a duplicate Initial over another path during the handshake is dropped */
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &b, false, &first, &s), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &a, false, &first, &s), IROH_OK);
    CHECK(same(&s, &first));

    /* after it, a new source is a new path with its own synthetic address */
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &b, true, &first, &s), IROH_OK);
    CHECK(!same(&s, &first));
    const struct iroh_socket_addr *to[2];
    CHECK_EQ_INT(iroh_path_map_targets(&m, &s, to, 2), 1);
    CHECK(same(to[0], &b));
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 2), 1);
    CHECK(same(to[0], &a));
    struct iroh_socket_addr again;
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &b, true, &s, &again), IROH_OK);
    CHECK(same(&again, &s));
}

static void test_slot_reuse_keeps_active(void)
{
    struct iroh_socket_addr a = addr("192.0.2.1:6000");
    struct iroh_path_map m;
    iroh_path_map_init_accept(&m, &a);
    struct iroh_socket_addr active = *iroh_path_map_first(&m), s;
    /* fill every slot, then several more sources: the active path 0 always survives */
    for (int i = 1; i <= 3 * IROH_PATH_SLOTS; i++) {
        struct iroh_socket_addr src = a;
        src.port = (uint16_t)(6000 + i);
        CHECK_EQ_INT(iroh_path_map_incoming(&m, &src, true, &active, &s), IROH_OK);
        CHECK(m.slot_count <= IROH_PATH_SLOTS);
        const struct iroh_socket_addr *to[1];
        CHECK_EQ_INT(iroh_path_map_targets(&m, &active, to, 1), 1);
        CHECK(same(to[0], &a));
        CHECK_EQ_INT(iroh_path_map_targets(&m, &s, to, 1), 1);
        CHECK(same(to[0], &src));
    }
    CHECK_EQ_INT(m.slot_count, IROH_PATH_SLOTS);
}

/* A relay path (core/peer_map.h) is one more real address: a dial fans out to it beside the
 * direct candidates, may be pinned to it, and a direct source after the handshake is a new
 * path (QUIC validates it as a migration). */
static void test_relay_path_is_a_real_address(void)
{
    struct iroh_secret_key sk;
    memset(sk.seed, 7, sizeof sk.seed);
    struct iroh_public_key id;
    iroh_secret_key_public(&sk, &id);
    struct iroh_peer_map peers;
    CHECK_EQ_INT(iroh_peer_map_init(&peers, 4), IROH_OK);
    struct iroh_peer *p = iroh_peer_map_add(&peers, &id, 1, UINT64_MAX);
    struct iroh_socket_addr c[2] = {addr("192.0.2.7:4000"), p->relay_addr};
    struct iroh_path_map m;
    iroh_path_map_init_dial(&m, c, 2);
    struct iroh_socket_addr first = *iroh_path_map_first(&m), s;
    const struct iroh_socket_addr *to[4];
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 4), 2);
    CHECK(iroh_peer_map_by_relay_addr(&peers, to[1]) == p);

    CHECK_EQ_INT(iroh_path_map_incoming(&m, &p->relay_addr, false, NULL, &s), IROH_OK);
    CHECK(same(&s, &first));
    CHECK_EQ_INT(iroh_path_map_targets(&m, &first, to, 4), 1);
    CHECK(iroh_peer_map_is_relay_addr(to[0]));
    /* the direct copy of the answer during the handshake is dropped, afterwards it migrates */
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &c[0], false, &first, &s), IROH_ENOTFOUND);
    CHECK_EQ_INT(iroh_path_map_incoming(&m, &c[0], true, &first, &s), IROH_OK);
    CHECK(!same(&s, &first));
    iroh_peer_map_free(&peers);
}

int main(void)
{
    if (iroh_keys_init() != IROH_OK) return 1;
    RUN(test_dial_fans_out_then_pins);
    RUN(test_dial_pins_unlisted_source);
    RUN(test_accept_and_migrate);
    RUN(test_slot_reuse_keeps_active);
    RUN(test_relay_path_is_a_real_address);
    return TEST_SUMMARY();
}
