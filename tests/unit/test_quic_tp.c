/* test_quic_tp.c — QUIC varints (RFC 9000 §16 and its Appendix A.1 examples) and transport
 * parameter lists: walking, removing what iroh must not see, describing. */
#include <string.h>

#include "core/quic_tp.h"
#include "iroh/error.h"
#include "tests/test.h"

static void test_varint_examples(void)
{
    /* RFC 9000 A.1: 8, 4, 2 and 1-byte examples */
    static const struct {
        uint8_t bytes[8];
        size_t len;
        uint64_t value;
    } examples[] = {
        {{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}, 8, UINT64_C(151288809941952652)},
        {{0x9d, 0x7f, 0x3e, 0x7d}, 4, 494878333},
        {{0x7b, 0xbd}, 2, 15293},
        {{0x25}, 1, 37},
    };
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        uint64_t v = 0;
        CHECK_EQ_INT(iroh_quic_varint_read(examples[i].bytes, examples[i].len, &v),
                     (int)examples[i].len);
        CHECK(v == examples[i].value);
        uint8_t out[8];
        CHECK_EQ_INT(iroh_quic_varint_write(examples[i].value, out, sizeof out),
                     (int)examples[i].len);
        CHECK_EQ_MEM(out, examples[i].bytes, examples[i].len);
    }
    /* a non-shortest encoding of 37 is still read */
    static const uint8_t long37[] = {0x40, 0x25};
    uint64_t v = 0;
    CHECK_EQ_INT(iroh_quic_varint_read(long37, sizeof long37, &v), 2);
    CHECK_EQ_INT(v, 37);
}

static void test_varint_limits(void)
{
    uint8_t out[8];
    CHECK_EQ_INT(iroh_quic_varint_len(63), 1);
    CHECK_EQ_INT(iroh_quic_varint_len(64), 2);
    CHECK_EQ_INT(iroh_quic_varint_len(16383), 2);
    CHECK_EQ_INT(iroh_quic_varint_len(16384), 4);
    CHECK_EQ_INT(iroh_quic_varint_len((UINT64_C(1) << 30) - 1), 4);
    CHECK_EQ_INT(iroh_quic_varint_len(UINT64_C(1) << 30), 8);
    CHECK_EQ_INT(iroh_quic_varint_len(IROH_QUIC_VARINT_MAX), 8);
    CHECK_EQ_INT(iroh_quic_varint_len(IROH_QUIC_VARINT_MAX + 1), 0);
    CHECK_EQ_INT(iroh_quic_varint_write(IROH_QUIC_VARINT_MAX + 1, out, sizeof out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_quic_varint_write(16384, out, 3), IROH_EBUFFER);
    CHECK_EQ_INT(iroh_quic_varint_write(IROH_QUIC_VARINT_MAX, out, sizeof out), 8);
    static const uint8_t max[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_EQ_MEM(out, max, 8);
    /* the long ids of spec/endpoint.md §4.2 */
    CHECK_EQ_INT(iroh_quic_varint_write(IROH_QUIC_TP_N0_NAT_TRAVERSAL, out, sizeof out), 8);
    static const uint8_t qnt[8] = {0xc0, 0x00, 0x3d, 0x7f, 0x91, 0x12, 0x04, 0x01};
    CHECK_EQ_MEM(out, qnt, 8);
    CHECK_EQ_INT(iroh_quic_varint_write(IROH_QUIC_TP_GREASE_QUIC_BIT, out, sizeof out), 2);
    CHECK(out[0] == 0x6a && out[1] == 0xb2);

    uint64_t v;
    CHECK_EQ_INT(iroh_quic_varint_read(out, 0, &v), IROH_EINVAL);
    static const uint8_t cut[] = {0x80, 0x01, 0x02};
    CHECK_EQ_INT(iroh_quic_varint_read(cut, sizeof cut, &v), IROH_EINVAL);
}

/* What ngtcp2 0.12 encodes for a client (captured): initial_scid, initial_max_data,
 * max_idle_timeout, grease_quic_bit, version_information (draft id 0xff73db). */
static const uint8_t NGTCP2_CLIENT_PARAMS[] = {
    0x0f, 0x08, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x80,
    0x10, 0x00, 0x00, 0x01, 0x04, 0x80, 0x00, 0x75, 0x30, 0x6a, 0xb2, 0x00, 0x80,
    0xff, 0x73, 0xdb, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
};

static void test_walk(void)
{
    static const uint64_t ids[] = {0x0f, 0x04, 0x01, 0x2ab2, 0xff73db};
    struct iroh_quic_tp tp;
    size_t pos = 0, n = 0;
    int rc;
    while ((rc = iroh_quic_tp_next(NGTCP2_CLIENT_PARAMS, sizeof NGTCP2_CLIENT_PARAMS, &pos, &tp)) ==
           1) {
        CHECK(n < 5);
        if (n < 5) CHECK(tp.id == ids[n]);
        n++;
    }
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(pos, sizeof NGTCP2_CLIENT_PARAMS);

    /* truncated value: an error, and the position stays at the broken parameter */
    pos = 0;
    CHECK_EQ_INT(iroh_quic_tp_next(NGTCP2_CLIENT_PARAMS, 5, &pos, &tp), IROH_EINVAL);
    CHECK_EQ_INT(pos, 0);
}

static void test_remove(void)
{
    uint8_t buf[sizeof NGTCP2_CLIENT_PARAMS];
    memcpy(buf, NGTCP2_CLIENT_PARAMS, sizeof buf);
    static const uint64_t drop[] = {IROH_QUIC_TP_GREASE_QUIC_BIT,
                                    IROH_QUIC_TP_VERSION_INFORMATION_DRAFT};
    int n = iroh_quic_tp_remove(buf, sizeof buf, drop, 2);
    CHECK_EQ_INT(n, 22); /* 10 + 6 + 6 bytes left */
    CHECK_EQ_MEM(buf, NGTCP2_CLIENT_PARAMS, 22);

    /* nothing to remove: unchanged; everything: empty */
    memcpy(buf, NGTCP2_CLIENT_PARAMS, sizeof buf);
    CHECK_EQ_INT(iroh_quic_tp_remove(buf, sizeof buf, NULL, 0), (int)sizeof buf);
    static const uint64_t all[] = {0x0f, 0x04, 0x01, 0x2ab2, 0xff73db};
    CHECK_EQ_INT(iroh_quic_tp_remove(buf, sizeof buf, all, 5), 0);

    /* malformed: refused, buffer untouched */
    memcpy(buf, NGTCP2_CLIENT_PARAMS, sizeof buf);
    CHECK_EQ_INT(iroh_quic_tp_remove(buf, sizeof buf - 1, drop, 2), IROH_EINVAL);
    CHECK_EQ_MEM(buf, NGTCP2_CLIENT_PARAMS, sizeof buf);
}

static void test_describe(void)
{
    char text[200];
    size_t n =
        iroh_quic_tp_describe(NGTCP2_CLIENT_PARAMS, sizeof NGTCP2_CLIENT_PARAMS, text, sizeof text);
    CHECK_EQ_STR(text, "0xf:0404040404040404 0x4=1048576 0x1=30000 0x2ab2: "
                       "0xff73db:0000000100000001");
    CHECK_EQ_INT(n, strlen(text));

    /* truncation reports the full length, like snprintf */
    char small[8];
    CHECK_EQ_INT(iroh_quic_tp_describe(NGTCP2_CLIENT_PARAMS, sizeof NGTCP2_CLIENT_PARAMS, small,
                                       sizeof small),
                 n);
    CHECK_EQ_STR(small, "0xf:040");

    /* the n0 NAT parameter is one raw byte, not a varint; a broken tail is marked */
    static const uint8_t qnt[] = {0xc0, 0x00, 0x3d, 0x7f, 0x91, 0x12,
                                  0x04, 0x01, 0x01, 0x20, 0x03, 0x05};
    iroh_quic_tp_describe(qnt, sizeof qnt, text, sizeof text);
    CHECK_EQ_STR(text, "0x3d7f91120401:20 (malformed)");
    iroh_quic_tp_describe(qnt, 0, text, sizeof text);
    CHECK_EQ_STR(text, "");
}

int main(void)
{
    RUN(test_varint_examples);
    RUN(test_varint_limits);
    RUN(test_walk);
    RUN(test_remove);
    RUN(test_describe);
    return TEST_SUMMARY();
}
