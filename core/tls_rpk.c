/* core/tls_rpk.c — Ed25519 SPKI and PKCS#8 wrappers; see tls_rpk.h. */
#include "core/tls_rpk.h"

#include <string.h>

#include "iroh/error.h"

/* SEQUENCE { SEQUENCE { OID 1.3.101.112 (Ed25519) }, BIT STRING (0 unused bits) { key } } */
static const uint8_t SPKI_PREFIX[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
/* SEQUENCE { INTEGER 0, SEQUENCE { OID Ed25519 }, OCTET STRING { OCTET STRING { seed } } } */
static const uint8_t PKCS8_PREFIX[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                       0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

_Static_assert(sizeof SPKI_PREFIX + IROH_KEY_LEN == IROH_TLS_SPKI_LEN, "SPKI length");
_Static_assert(sizeof PKCS8_PREFIX + IROH_KEY_LEN == IROH_TLS_PKCS8_LEN, "PKCS#8 length");

void iroh_tls_spki(const struct iroh_public_key *pk, uint8_t out[IROH_TLS_SPKI_LEN])
{
    memcpy(out, SPKI_PREFIX, sizeof SPKI_PREFIX);
    memcpy(out + sizeof SPKI_PREFIX, pk->bytes, IROH_KEY_LEN);
}

void iroh_tls_pkcs8(const struct iroh_secret_key *sk, uint8_t out[IROH_TLS_PKCS8_LEN])
{
    memcpy(out, PKCS8_PREFIX, sizeof PKCS8_PREFIX);
    memcpy(out + sizeof PKCS8_PREFIX, sk->seed, IROH_KEY_LEN);
}

int iroh_tls_spki_key(const uint8_t *der, size_t len, struct iroh_public_key *out)
{
    if (len != IROH_TLS_SPKI_LEN || memcmp(der, SPKI_PREFIX, sizeof SPKI_PREFIX) != 0)
        return IROH_EINVAL;
    return iroh_public_key_from_bytes(der + sizeof SPKI_PREFIX, out);
}
