/* core/keys.c — Ed25519 keys over libsodium; see keys.h. */
#include "core/keys.h"

#include <sodium.h>
#include <string.h>

#include "core/encoding.h"
#include "iroh/error.h"

static const char TLS_NAME_SUFFIX[] = ".iroh.invalid";
_Static_assert(IROH_KEY_BASE32_LEN + sizeof TLS_NAME_SUFFIX - 1 == IROH_TLS_SERVER_NAME_LEN,
               "TLS server name length");

int iroh_keys_init(void)
{
    return sodium_init() < 0 ? IROH_EIO : IROH_OK;
}

void iroh_secret_key_generate(struct iroh_secret_key *out)
{
    randombytes_buf(out->seed, sizeof out->seed);
}

void iroh_secret_key_public(const struct iroh_secret_key *sk, struct iroh_public_key *out)
{
    uint8_t expanded[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(out->bytes, expanded, sk->seed);
    sodium_memzero(expanded, sizeof expanded);
}

/* The FromStr rule shared by secret and public keys: 64 characters are lowercase hex, any
 * other length is unpadded base32 of either case that must hold exactly 32 bytes. */
static int decode_key_text(const char *text, size_t len, uint8_t out[IROH_KEY_LEN])
{
    int n = len == IROH_KEY_HEX_LEN
                ? iroh_hex_decode(text, len, out, IROH_KEY_LEN, IROH_HEX_LOWER_ONLY)
                : iroh_base32_decode(text, len, out, IROH_KEY_LEN);
    return n == IROH_KEY_LEN ? IROH_OK : IROH_EINVAL;
}

int iroh_secret_key_parse(const char *text, size_t len, struct iroh_secret_key *out)
{
    int err = decode_key_text(text, len, out->seed);
    if (err < 0) sodium_memzero(out->seed, sizeof out->seed);
    return err;
}

void iroh_secret_key_sign(const struct iroh_secret_key *sk, const uint8_t *msg, size_t msg_len,
                          uint8_t sig[IROH_SIGNATURE_LEN])
{
    uint8_t public_key[crypto_sign_PUBLICKEYBYTES];
    uint8_t expanded[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(public_key, expanded, sk->seed);
    crypto_sign_detached(sig, NULL, msg, msg_len, expanded);
    sodium_memzero(expanded, sizeof expanded);
}

int iroh_public_key_from_bytes(const uint8_t bytes[IROH_KEY_LEN], struct iroh_public_key *out)
{
    if (!crypto_core_ed25519_is_valid_point(bytes)) return IROH_EINVAL;
    memcpy(out->bytes, bytes, IROH_KEY_LEN);
    return IROH_OK;
}

int iroh_public_key_parse(const char *text, size_t len, struct iroh_public_key *out)
{
    uint8_t bytes[IROH_KEY_LEN];
    int err = decode_key_text(text, len, bytes);
    return err < 0 ? err : iroh_public_key_from_bytes(bytes, out);
}

int iroh_public_key_parse_z32(const char *text, size_t len, struct iroh_public_key *out)
{
    uint8_t bytes[IROH_KEY_LEN];
    if (iroh_z32_decode(text, len, bytes, sizeof bytes) != IROH_KEY_LEN) return IROH_EINVAL;
    return iroh_public_key_from_bytes(bytes, out);
}

int iroh_public_key_format_hex(const struct iroh_public_key *pk, char *out, size_t out_cap)
{
    return iroh_hex_encode(pk->bytes, IROH_KEY_LEN, out, out_cap);
}

int iroh_public_key_format_short(const struct iroh_public_key *pk, char *out, size_t out_cap)
{
    return iroh_hex_encode(pk->bytes, IROH_KEY_SHORT_LEN / 2, out, out_cap);
}

int iroh_public_key_format_base32(const struct iroh_public_key *pk, char *out, size_t out_cap)
{
    return iroh_base32_encode(pk->bytes, IROH_KEY_LEN, out, out_cap);
}

int iroh_public_key_format_z32(const struct iroh_public_key *pk, char *out, size_t out_cap)
{
    return iroh_z32_encode(pk->bytes, IROH_KEY_LEN, out, out_cap);
}

int iroh_public_key_tls_server_name(const struct iroh_public_key *pk, char *out, size_t out_cap)
{
    if (out_cap < IROH_TLS_SERVER_NAME_LEN + 1) return IROH_EBUFFER;
    int label_len = iroh_base32hex_encode(pk->bytes, IROH_KEY_LEN, out, out_cap);
    if (label_len < 0) return label_len;
    memcpy(out + label_len, TLS_NAME_SUFFIX, sizeof TLS_NAME_SUFFIX);
    return IROH_TLS_SERVER_NAME_LEN;
}

int iroh_public_key_verify(const struct iroh_public_key *pk, const uint8_t *msg, size_t msg_len,
                           const uint8_t sig[IROH_SIGNATURE_LEN])
{
    return crypto_sign_verify_detached(sig, msg, msg_len, pk->bytes) == 0 ? IROH_OK : IROH_ECORRUPT;
}
