/* fuzz_quic.c — the parsers of the QUIC endpoint's cores on untrusted bytes: packet headers
 * (core/quic_cid), transport parameter lists (core/quic_tp) and raw public key certificates
 * (core/tls_rpk). Invariants checked: a header read never claims ids longer than 20 bytes or
 * than the packet; walking a parameter list consumes exactly the bytes of what it returns;
 * removing ids keeps a well-formed list without them, and removing nothing changes nothing;
 * describing never writes past its buffer; a peer key is only taken from exactly the 44-byte
 * Ed25519 SPKI. Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/quic_cid.h"
#include "core/quic_tp.h"
#include "core/tls_rpk.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(const uint8_t *data, size_t size)
{
    struct iroh_quic_header h;
    if (iroh_quic_header_read(data, size, 8, &h) != IROH_OK) return;
    if (h.dcid.len > IROH_QUIC_CID_MAX || h.scid.len > IROH_QUIC_CID_MAX) abort();
    if (1u + h.dcid.len > size) abort();
    if (iroh_quic_header_is_v1_initial(&h) && (!h.long_header || h.version != IROH_QUIC_V1))
        abort();
}

static void check_params(const uint8_t *data, size_t size)
{
    struct iroh_quic_tp tp;
    size_t pos = 0, count = 0;
    uint64_t first_id = 0;
    int rc;
    while ((rc = iroh_quic_tp_next(data, size, &pos, &tp)) == 1) {
        if (tp.value < data || tp.value + tp.len != data + pos || pos > size) abort();
        if (count++ == 0) first_id = tp.id;
    }
    if (rc < 0 && pos > size) abort();

    char text[64];
    size_t full = iroh_quic_tp_describe(data, size, text, sizeof text);
    if (strlen(text) >= sizeof text || (full < sizeof text && strlen(text) != full)) abort();

    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    int same = iroh_quic_tp_remove(copy, size, NULL, 0);
    if (rc == 0 && (same != (int)size || memcmp(copy, data, size) != 0)) abort();
    if (rc < 0 && (same != IROH_EINVAL || memcmp(copy, data, size) != 0)) abort();
    if (rc == 0 && count > 0) {
        int n = iroh_quic_tp_remove(copy, size, &first_id, 1);
        if (n < 0 || (size_t)n > size) abort();
        pos = 0;
        while ((rc = iroh_quic_tp_next(copy, (size_t)n, &pos, &tp)) == 1)
            if (tp.id == first_id) abort();
        if (rc != 0) abort();
    }
    free(copy);
}

static void check_spki(const uint8_t *data, size_t size)
{
    struct iroh_public_key pk;
    if (iroh_tls_spki_key(data, size, &pk) != IROH_OK) return;
    uint8_t again[IROH_TLS_SPKI_LEN];
    iroh_tls_spki(&pk, again);
    if (size != IROH_TLS_SPKI_LEN || memcmp(again, data, size) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        if (iroh_keys_init() != IROH_OK) abort();
        initialized = 1;
    }
    check_header(data, size);
    check_params(data, size);
    check_spki(data, size);
    return 0;
}
