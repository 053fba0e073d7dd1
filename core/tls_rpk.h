/* core/tls_rpk.h — the DER wrapper of an Ed25519 public key for TLS raw public keys (RFC 7250,
 * RFC 8410) and the peer identity in a presented raw public key.
 *
 * iroh's TLS certificate is the 44-byte SubjectPublicKeyInfo of the endpoint's Ed25519 key
 * (spec/endpoint.md §1.5, §3.2); the private key never passes through GnuTLS (quic_tls.c signs
 * with libsodium). Used by the QUIC
 * endpoint's TLS setup (daemon/quic_tls.c); pure functions over caller-owned buffers, nothing
 * allocated. Requires iroh_keys_init() (the peer key is point-checked). */
#ifndef IROH_CORE_TLS_RPK_H
#define IROH_CORE_TLS_RPK_H

#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"

#define IROH_TLS_SPKI_LEN 44 /* 30 2a 30 05 06 03 2b 65 70 03 21 00 || key */

/* Writes the SubjectPublicKeyInfo of pk (the raw public key iroh sends as its certificate). */
void iroh_tls_spki(const struct iroh_public_key *pk, uint8_t out[IROH_TLS_SPKI_LEN]);

/* Takes the endpoint id out of a peer's raw public key certificate: der must be exactly an
 * Ed25519 SubjectPublicKeyInfo (the 12-byte prefix above and 32 key bytes, nothing else) and
 * the key a valid point. This is stricter than a DER parser, and it is what iroh sends and
 * expects byte for byte. Returns IROH_OK or IROH_EINVAL. */
int iroh_tls_spki_key(const uint8_t *der, size_t len, struct iroh_public_key *out);

#endif
