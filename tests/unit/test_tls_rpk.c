/* test_tls_rpk.c — the Ed25519 SPKI wrapper and peer key extraction: the seed-0
 * vector of spec/endpoint.md §10 and rejected forms. GnuTLS loading them is covered by
 * tests/integration/test_endpoint.c (every handshake uses them). */
#include <string.h>

#include "core/encoding.h"
#include "core/keys.h"
#include "core/tls_rpk.h"
#include "iroh/error.h"
#include "tests/test.h"

static const char SEED0_SPKI_HEX[] =
    "302a300506032b65700321003b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

static void test_spki_vector(void)
{
    struct iroh_secret_key sk = {{0}};
    struct iroh_public_key pk;
    iroh_secret_key_public(&sk, &pk);
    uint8_t spki[IROH_TLS_SPKI_LEN];
    iroh_tls_spki(&pk, spki);
    char hex[2 * IROH_TLS_SPKI_LEN + 1];
    CHECK_EQ_INT(iroh_hex_encode(spki, sizeof spki, hex, sizeof hex), 2 * IROH_TLS_SPKI_LEN);
    CHECK_EQ_STR(hex, SEED0_SPKI_HEX);

    struct iroh_public_key back;
    CHECK_EQ_INT(iroh_tls_spki_key(spki, sizeof spki, &back), IROH_OK);
    CHECK_EQ_MEM(back.bytes, pk.bytes, IROH_KEY_LEN);
}

static void test_peer_key_rejects(void)
{
    struct iroh_secret_key sk = {{0}};
    struct iroh_public_key pk, out;
    iroh_secret_key_public(&sk, &pk);
    uint8_t spki[IROH_TLS_SPKI_LEN + 1];
    iroh_tls_spki(&pk, spki);

    CHECK_EQ_INT(iroh_tls_spki_key(spki, IROH_TLS_SPKI_LEN - 1, &out), IROH_EINVAL);
    spki[IROH_TLS_SPKI_LEN] = 0;
    CHECK_EQ_INT(iroh_tls_spki_key(spki, IROH_TLS_SPKI_LEN + 1, &out), IROH_EINVAL);
    CHECK_EQ_INT(iroh_tls_spki_key(spki, 0, &out), IROH_EINVAL);

    /* an X25519 key (OID 1.3.101.110) in the same layout */
    spki[8] = 0x6e;
    CHECK_EQ_INT(iroh_tls_spki_key(spki, IROH_TLS_SPKI_LEN, &out), IROH_EINVAL);
    spki[8] = 0x70;

    /* the identity point is small order: refused like every id */
    memset(spki + 12, 0, IROH_KEY_LEN);
    spki[12] = 0x01;
    CHECK_EQ_INT(iroh_tls_spki_key(spki, IROH_TLS_SPKI_LEN, &out), IROH_EINVAL);
}

int main(void)
{
    if (iroh_keys_init() < 0) return 1;
    RUN(test_spki_vector);
    RUN(test_peer_key_rejects);
    return TEST_SUMMARY();
}
