/* fuzz_disco.c — disco packets and messages (core/disco) on untrusted bytes. The input is tried
 * as an inner message and as a sealed packet from the key of seed 32×2a to the key of seed
 * 32×01. Invariants checked: a message that decodes encodes again, and that encoding decodes
 * to the same bytes (a fixed point); sealing it and opening the packet gives that message
 * back; opening never succeeds for a packet that does not look like disco, and a sender id is
 * only read from one that does. Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/disco.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct iroh_public_key sender_id;
static struct iroh_disco_shared key;

static void setup(void)
{
    if (iroh_keys_init() != IROH_OK) abort();
    struct iroh_secret_key a, b;
    memset(a.seed, 0x2a, sizeof a.seed);
    memset(b.seed, 0x01, sizeof b.seed);
    iroh_secret_key_public(&a, &sender_id);
    struct iroh_disco_secret b_x;
    iroh_disco_secret_init(&b_x, &b);
    if (iroh_disco_shared_init(&key, &b_x, &sender_id) != IROH_OK) abort();
}

static void check_message(const uint8_t *data, size_t size)
{
    struct iroh_disco_msg m, again;
    if (iroh_disco_decode(data, size, &m) != IROH_OK) return;
    uint8_t enc[IROH_DISCO_INNER_MAX], enc2[IROH_DISCO_INNER_MAX];
    int n = iroh_disco_encode(&m, enc, sizeof enc);
    if (n < 2 || enc[0] != data[0]) abort();
    if (iroh_disco_decode(enc, (size_t)n, &again) != IROH_OK) abort();
    if (iroh_disco_encode(&again, enc2, sizeof enc2) != n || memcmp(enc, enc2, (size_t)n)) abort();

    uint8_t nonce[IROH_DISCO_NONCE_LEN] = {0}, pkt[IROH_DISCO_PACKET_MAX];
    int len = iroh_disco_seal(&key, &sender_id, nonce, &m, pkt, sizeof pkt);
    if (len != n + IROH_DISCO_OVERHEAD) abort();
    if (iroh_disco_open(&key, pkt, (size_t)len, &again) != IROH_OK) abort();
    if (iroh_disco_encode(&again, enc2, sizeof enc2) != n || memcmp(enc, enc2, (size_t)n)) abort();
}

static void check_packet(const uint8_t *data, size_t size)
{
    struct iroh_public_key who;
    struct iroh_disco_msg m;
    bool looks = iroh_disco_looks_like(data, size);
    if (iroh_disco_sender(data, size, &who) == IROH_OK && !looks) abort();
    int rc = iroh_disco_open(&key, data, size, &m);
    if (rc == IROH_OK && !looks) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        setup();
        initialized = 1;
    }
    check_message(data, size);
    check_packet(data, size);
    return 0;
}
