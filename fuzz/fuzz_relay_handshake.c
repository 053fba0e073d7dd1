/* fuzz_relay_handshake.c — what a relay server reads from a client before it knows who the
 * client is (core/relay_proto.c): the body of an iroh 0.35 ClientInfo frame and the value of
 * the keying-material header. The first byte picks which; the rest is the input. Aborts
 * unless: ClientInfo is answered IROH_OK (then its signature verifies over the bytes after the
 * signature, which start with the version), IROH_EPROTO or IROH_ECORRUPT; a header is answered
 * IROH_OK or IROH_EPROTO, and a parsed one encodes back to the same characters. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/relay_proto.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC_LEN 9 /* "RELAY🔑" */

static void client_info(const uint8_t *body, size_t len)
{
    struct iroh_public_key key;
    uint64_t version = 0;
    int rc = iroh_relay035_client_info_verify(body, len, &key, &version);
    if (rc == IROH_EPROTO || rc == IROH_ECORRUPT) return;
    if (rc != IROH_OK) abort();
    size_t fixed = MAGIC_LEN + IROH_KEY_LEN + IROH_SIGNATURE_LEN;
    if (len <= fixed || memcmp(key.bytes, body + MAGIC_LEN, IROH_KEY_LEN) != 0) abort();
    if (iroh_public_key_verify(&key, body + fixed, len - fixed, body + MAGIC_LEN + IROH_KEY_LEN) <
        0)
        abort();
}

static void ekm_header(const uint8_t *value, size_t len)
{
    struct iroh_relay_ekm_auth auth;
    int rc = iroh_relay_ekm_header_parse((const char *)value, len, &auth);
    if (rc == IROH_EPROTO) return;
    if (rc != IROH_OK || len != IROH_RELAY_AUTH_HEADER_LEN) abort();
    uint8_t body[IROH_KEY_LEN + 1 + IROH_SIGNATURE_LEN + 16];
    memcpy(body, auth.key.bytes, IROH_KEY_LEN);
    body[IROH_KEY_LEN] = IROH_SIGNATURE_LEN;
    memcpy(body + IROH_KEY_LEN + 1, auth.signature, IROH_SIGNATURE_LEN);
    memcpy(body + IROH_KEY_LEN + 1 + IROH_SIGNATURE_LEN, auth.suffix, 16);
    char text[IROH_RELAY_AUTH_HEADER_LEN + 1];
    sodium_bin2base64(text, sizeof text, body, sizeof body,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (memcmp(text, value, len) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        if (iroh_keys_init() != IROH_OK) abort();
        ready = true;
    }
    if (size < 1) return 0;
    if (data[0] & 1)
        ekm_header(data + 1, size - 1);
    else
        client_info(data + 1, size - 1);
    return 0;
}
