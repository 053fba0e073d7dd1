/* fuzz_relay_frame.c — the relay frame decoder and encoder (core/relay_proto.c). The input is
 * one frame as a WebSocket message. Aborts unless: a decoded frame re-encodes to at most the
 * input's length and decodes back to the same fields; a client datagram turned into a relay
 * datagram in place keeps its length, ECN, segment size and payload; decode errors are only
 * IROH_EPROTO or IROH_ETOOBIG. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/relay_proto.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct iroh_relay_frame *a, const struct iroh_relay_frame *b)
{
    if (a->type != b->type || memcmp(a->key, b->key, sizeof a->key) != 0 ||
        memcmp(a->challenge, b->challenge, sizeof a->challenge) != 0 ||
        memcmp(a->signature, b->signature, sizeof a->signature) != 0 ||
        memcmp(a->ping, b->ping, sizeof a->ping) != 0 || a->ecn != b->ecn ||
        a->segment_size != b->segment_size || a->status != b->status ||
        a->reconnect_in_ms != b->reconnect_in_ms || a->try_for_ms != b->try_for_ms ||
        a->data_len != b->data_len || (a->data_len && memcmp(a->data, b->data, a->data_len) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[IROH_RELAY_MAX_PACKET_SIZE + 64], copy[IROH_RELAY_MAX_PACKET_SIZE + 64];
    if (size > sizeof copy) return 0;
    struct iroh_relay_frame f, g;
    int rc = iroh_relay_frame_decode(data, size, &f);
    if (rc == IROH_EPROTO || rc == IROH_ETOOBIG) return 0;
    if (rc != IROH_OK) abort();
    bool empty_datagram = f.type >= IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM &&
                          f.type <= IROH_RELAY_RELAY_TO_CLIENT_DATAGRAM_BATCH && f.data_len == 0;
    bool long_reason =
        f.type == IROH_RELAY_SERVER_DENIES_AUTH && f.data_len > IROH_RELAY_MAX_REASON_LEN;
    int n = iroh_relay_frame_encode(&f, out, sizeof out);
    if (empty_datagram || long_reason) {
        if (n != IROH_EINVAL) abort();
    } else {
        if (n <= 0 || (size_t)n > size) abort();
        if (iroh_relay_frame_decode(out, (size_t)n, &g) != IROH_OK) abort();
        same(&f, &g);
    }
    if (f.type == IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM ||
        f.type == IROH_RELAY_CLIENT_TO_RELAY_DATAGRAM_BATCH) {
        uint8_t src[IROH_KEY_LEN];
        memset(src, 0x5a, sizeof src);
        memcpy(copy, data, size);
        iroh_relay_datagram_to_recv(copy, size, src);
        if (iroh_relay_frame_decode(copy, size, &g) != IROH_OK) abort();
        if (g.type != f.type + 2 || memcmp(g.key, src, sizeof src) != 0 || g.ecn != f.ecn ||
            g.segment_size != f.segment_size || g.data_len != f.data_len)
            abort();
    }
    return 0;
}
