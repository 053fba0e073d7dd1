/* core/tls_rpk.c — the Ed25519 SPKI wrapper; see tls_rpk.h. */
#include "core/tls_rpk.h"

#include <string.h>

#include "iroh/error.h"

/* SEQUENCE { SEQUENCE { OID 1.3.101.112 (Ed25519) }, BIT STRING (0 unused bits) { key } } */
static const uint8_t SPKI_PREFIX[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

_Static_assert(sizeof SPKI_PREFIX + IROH_KEY_LEN == IROH_TLS_SPKI_LEN, "SPKI length");

void iroh_tls_spki(const struct iroh_public_key *pk, uint8_t out[IROH_TLS_SPKI_LEN])
{
    memcpy(out, SPKI_PREFIX, sizeof SPKI_PREFIX);
    memcpy(out + sizeof SPKI_PREFIX, pk->bytes, IROH_KEY_LEN);
}

int iroh_tls_spki_key(const uint8_t *der, size_t len, struct iroh_public_key *out)
{
    if (len != IROH_TLS_SPKI_LEN || memcmp(der, SPKI_PREFIX, sizeof SPKI_PREFIX) != 0)
        return IROH_EINVAL;
    return iroh_public_key_from_bytes(der + sizeof SPKI_PREFIX, out);
}
