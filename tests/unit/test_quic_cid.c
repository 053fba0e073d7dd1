/* test_quic_cid.c — reading connection ids from QUIC headers and the connection id table
 * (growth, deletion with backward shift, removal by value), checked against a plain array. */
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/quic_cid.h"
#include "iroh/error.h"
#include "tests/test.h"

static void test_long_header(void)
{
    /* Initial v1: first byte 0xc3, version, dcid len 8, dcid, scid len 3, scid, rest */
    static const uint8_t pkt[] = {0xc3, 0x00, 0x00, 0x00, 0x01, 0x08, 1,  2,    3,    4,   5,
                                  6,    7,    8,    0x03, 9,    10,   11, 0x00, 0x41, 0x00};
    struct iroh_quic_header h;
    CHECK_EQ_INT(iroh_quic_header_read(pkt, sizeof pkt, 8, &h), IROH_OK);
    CHECK(h.long_header);
    CHECK(h.version == IROH_QUIC_V1);
    CHECK_EQ_INT(h.long_type, IROH_QUIC_INITIAL);
    CHECK_EQ_INT(h.dcid.len, 8);
    CHECK_EQ_MEM(h.dcid.bytes, pkt + 6, 8);
    CHECK_EQ_INT(h.scid.len, 3);
    CHECK_EQ_MEM(h.scid.bytes, pkt + 15, 3);
    CHECK(iroh_quic_header_is_v1_initial(&h));

    /* a Handshake packet and another version are not Initials; the fixed bit is ignored */
    uint8_t other[sizeof pkt];
    memcpy(other, pkt, sizeof pkt);
    other[0] = 0xa0; /* fixed bit clear, type 2 */
    CHECK_EQ_INT(iroh_quic_header_read(other, sizeof other, 8, &h), IROH_OK);
    CHECK_EQ_INT(h.long_type, IROH_QUIC_HANDSHAKE);
    CHECK(!iroh_quic_header_is_v1_initial(&h));
    memcpy(other, pkt, sizeof pkt);
    other[4] = 0x02;
    CHECK_EQ_INT(iroh_quic_header_read(other, sizeof other, 8, &h), IROH_OK);
    CHECK(!iroh_quic_header_is_v1_initial(&h));

    /* every truncation fails cleanly; an id over 20 bytes is refused */
    for (size_t len = 0; len < 18; len++)
        CHECK_EQ_INT(iroh_quic_header_read(pkt, len, 8, &h), IROH_EINVAL);
    memcpy(other, pkt, sizeof pkt);
    other[5] = 21;
    CHECK_EQ_INT(iroh_quic_header_read(other, sizeof other, 8, &h), IROH_EINVAL);
}

static void test_short_header(void)
{
    static const uint8_t pkt[] = {0x41, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa};
    struct iroh_quic_header h;
    CHECK_EQ_INT(iroh_quic_header_read(pkt, sizeof pkt, 8, &h), IROH_OK);
    CHECK(!h.long_header);
    CHECK_EQ_INT(h.dcid.len, 8);
    CHECK_EQ_MEM(h.dcid.bytes, pkt + 1, 8);
    CHECK(!iroh_quic_header_is_v1_initial(&h));
    CHECK_EQ_INT(iroh_quic_header_read(pkt, 8, 8, &h), IROH_EINVAL);
    CHECK_EQ_INT(iroh_quic_header_read(pkt, sizeof pkt, 21, &h), IROH_EINVAL);
}

static struct iroh_quic_cid cid_of(unsigned n, uint8_t len)
{
    struct iroh_quic_cid c = {.len = len};
    for (uint8_t i = 0; i < len; i++)
        c.bytes[i] = (uint8_t)(n >> (8 * (i % 4)));
    return c;
}

static void test_table_basics(void)
{
    struct iroh_cid_table t;
    CHECK_EQ_INT(iroh_cid_table_init(&t), IROH_OK);
    int a, b;
    struct iroh_quic_cid x = cid_of(1, 8), y = cid_of(1, 9), empty = {.len = 0};
    CHECK_EQ_INT(iroh_cid_table_put(&t, &x, &a), IROH_OK);
    CHECK_EQ_INT(iroh_cid_table_put(&t, &x, &b), IROH_EEXIST);
    CHECK_EQ_INT(iroh_cid_table_put(&t, &y, &b), IROH_OK); /* same prefix, other length */
    CHECK_EQ_INT(iroh_cid_table_put(&t, &empty, &b), IROH_OK);
    CHECK_EQ_INT(iroh_cid_table_put(&t, &y, NULL), IROH_EINVAL);
    CHECK(iroh_cid_table_get(&t, &x) == &a);
    CHECK(iroh_cid_table_get(&t, &y) == &b);
    CHECK(iroh_cid_table_get(&t, &empty) == &b);
    CHECK_EQ_INT(iroh_cid_table_remove_value(&t, &b), 2);
    CHECK(iroh_cid_table_get(&t, &y) == NULL);
    CHECK_EQ_INT(iroh_cid_table_remove(&t, &x), 1);
    CHECK_EQ_INT(iroh_cid_table_remove(&t, &x), 0);
    CHECK_EQ_INT(t.count, 0);
    iroh_cid_table_free(&t);
}

/* Many puts and removes in a pseudo-random order, compared with a reference array; the table
 * grows several times and deletes through long probe runs. */
static void test_table_against_reference(void)
{
    enum { N = 3000 };
    static int values[N];
    static bool present[N];
    struct iroh_cid_table t;
    CHECK_EQ_INT(iroh_cid_table_init(&t), IROH_OK);
    uint32_t rng = 12345;
    for (int round = 0; round < 20000; round++) {
        rng = rng * 1103515245u + 12345u;
        unsigned k = (rng >> 8) % N;
        struct iroh_quic_cid c = cid_of(k * 2654435761u, (uint8_t)(8 + k % 13));
        if (present[k]) {
            CHECK_EQ_INT(iroh_cid_table_remove(&t, &c), 1);
            present[k] = false;
        } else {
            CHECK_EQ_INT(iroh_cid_table_put(&t, &c, &values[k]), IROH_OK);
            present[k] = true;
        }
    }
    size_t count = 0;
    for (unsigned k = 0; k < N; k++) {
        struct iroh_quic_cid c = cid_of(k * 2654435761u, (uint8_t)(8 + k % 13));
        CHECK(iroh_cid_table_get(&t, &c) == (present[k] ? &values[k] : NULL));
        count += present[k];
    }
    CHECK_EQ_INT(t.count, count);

    /* everything under one value goes at once, the rest stays */
    int shared;
    for (unsigned k = 0; k < 500; k++) {
        struct iroh_quic_cid c = cid_of(0xf0000000u + k, 8);
        CHECK_EQ_INT(iroh_cid_table_put(&t, &c, &shared), IROH_OK);
    }
    CHECK_EQ_INT(iroh_cid_table_remove_value(&t, &shared), 500);
    CHECK_EQ_INT(t.count, count);
    for (unsigned k = 0; k < N; k++) {
        struct iroh_quic_cid c = cid_of(k * 2654435761u, (uint8_t)(8 + k % 13));
        CHECK(iroh_cid_table_get(&t, &c) == (present[k] ? &values[k] : NULL));
    }
    iroh_cid_table_free(&t);
}

int main(void)
{
    if (iroh_keys_init() < 0) return 1;
    RUN(test_long_header);
    RUN(test_short_header);
    RUN(test_table_basics);
    RUN(test_table_against_reference);
    return TEST_SUMMARY();
}
