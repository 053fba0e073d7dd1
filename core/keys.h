/* core/keys.h — Ed25519 secret keys and public keys (a public key is an EndpointId): their
 * generation, textual forms, parsing, signatures and the synthetic TLS server name.
 *
 * Any module may call these functions, after iroh_keys_init() has succeeded once in the
 * process (it initialises libsodium; it is idempotent and thread-safe). Everything works on
 * caller-owned structs and buffers; nothing is allocated. Functions that copy secret material
 * to the stack wipe it before returning.
 *
 * Public key validity is checked with libsodium's crypto_core_ed25519_is_valid_point, which is
 * stricter than iroh (ed25519-dalek only requires the bytes to decompress to a curve point):
 * it also rejects small-order points (such as the identity 01 00…00), points outside the
 * prime-order subgroup and non-canonical encodings (such as ff…ff). No key made by Ed25519
 * key generation is affected; only hand-crafted ids that iroh accepts are refused here. */
#ifndef IROH_CORE_KEYS_H
#define IROH_CORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define IROH_KEY_LEN 32             /* bytes of a secret seed and of a public key */
#define IROH_SIGNATURE_LEN 64       /* bytes of an Ed25519 signature R || S */
#define IROH_KEY_HEX_LEN 64         /* characters of the canonical (hex) id form */
#define IROH_KEY_SHORT_LEN 10       /* characters of the short (log) form */
#define IROH_KEY_BASE32_LEN 52      /* characters of the RFC 4648 base32 form */
#define IROH_KEY_Z32_LEN 52         /* characters of the z-base-32 form */
#define IROH_TLS_SERVER_NAME_LEN 65 /* characters of "<52 base32hex>.iroh.invalid" */

/* A secret key: the 32-byte RFC 8032 seed. */
struct iroh_secret_key {
    uint8_t seed[IROH_KEY_LEN];
};

/* A public key, i.e. an EndpointId: the 32-byte compressed Edwards point. */
struct iroh_public_key {
    uint8_t bytes[IROH_KEY_LEN];
};

/* Initialises libsodium. Call once before any other function of this header or of a module
 * that validates keys (ticket.h). Returns IROH_OK, or IROH_EIO if libsodium cannot start. */
int iroh_keys_init(void);

/* Fills *out with a fresh random seed from the system's CSPRNG (libsodium randombytes). */
void iroh_secret_key_generate(struct iroh_secret_key *out);

/* Derives the public key (EndpointId) of secret key sk into *out. */
void iroh_secret_key_public(const struct iroh_secret_key *sk, struct iroh_public_key *out);

/* Parses a secret key string exactly as iroh's SecretKey::from_str: 64 characters are decoded
 * as lowercase-only hex; any other length as RFC 4648 base32 without padding (either case)
 * that must decode to 32 bytes. Returns IROH_OK, or IROH_EINVAL (out is then wiped). */
int iroh_secret_key_parse(const char *text, size_t len, struct iroh_secret_key *out);

/* Signs msg[0..msg_len) with pure Ed25519 (RFC 8032, deterministic) into
 * sig[IROH_SIGNATURE_LEN]. Re-derives the public key on every call. */
void iroh_secret_key_sign(const struct iroh_secret_key *sk, const uint8_t *msg, size_t msg_len,
                          uint8_t sig[IROH_SIGNATURE_LEN]);

/* Makes a public key from 32 raw bytes (the postcard form), checking that they are a valid
 * point (see the header comment). Returns IROH_OK or IROH_EINVAL. */
int iroh_public_key_from_bytes(const uint8_t bytes[IROH_KEY_LEN], struct iroh_public_key *out);

/* Parses an EndpointId string as iroh's PublicKey::from_str: 64 characters as lowercase-only
 * hex, any other length as RFC 4648 base32 without padding (either case) of exactly 32 bytes;
 * then the point check. z-base-32 is not accepted here. Returns IROH_OK or IROH_EINVAL. */
int iroh_public_key_parse(const char *text, size_t len, struct iroh_public_key *out);

/* Parses the z-base-32 form (lowercase, exactly 52 characters, zero trailing bits) as iroh's
 * PublicKey::from_z32, with the point check. Returns IROH_OK or IROH_EINVAL. */
int iroh_public_key_parse_z32(const char *text, size_t len, struct iroh_public_key *out);

/* Text forms of a public key. Each writes the form and a NUL into out (capacity out_cap) and
 * returns the form's length, or IROH_EBUFFER if out_cap is shorter than that length + 1.
 * hex: the canonical 64 lowercase hex characters (iroh's Display). short: the first 5 bytes
 * as 10 lowercase hex characters (iroh's fmt_short). base32: RFC 4648 lowercase, 52
 * characters. z32: z-base-32, 52 characters (DNS and pkarr names). */
int iroh_public_key_format_hex(const struct iroh_public_key *pk, char *out, size_t out_cap);
int iroh_public_key_format_short(const struct iroh_public_key *pk, char *out, size_t out_cap);
int iroh_public_key_format_base32(const struct iroh_public_key *pk, char *out, size_t out_cap);
int iroh_public_key_format_z32(const struct iroh_public_key *pk, char *out, size_t out_cap);

/* Writes the synthetic TLS server name "<base32hex(pk)>.iroh.invalid" and a NUL to out.
 * Returns IROH_TLS_SERVER_NAME_LEN, or IROH_EBUFFER if out_cap <= IROH_TLS_SERVER_NAME_LEN. */
int iroh_public_key_tls_server_name(const struct iroh_public_key *pk, char *out, size_t out_cap);

/* Verifies an Ed25519 signature of msg[0..msg_len) by pk (libsodium
 * crypto_sign_verify_detached: rejects non-canonical S and small-order keys).
 * Returns IROH_OK if valid, IROH_ECORRUPT if not. */
int iroh_public_key_verify(const struct iroh_public_key *pk, const uint8_t *msg, size_t msg_len,
                           const uint8_t sig[IROH_SIGNATURE_LEN]);

#endif
