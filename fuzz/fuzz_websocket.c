/* fuzz_websocket.c — the WebSocket frame header parser (core/websocket.c) over a byte stream.
 * The first byte picks the role and a payload limit; the rest is walked frame by frame as a
 * relay peer would. Aborts unless: each parsed header is 2..14 bytes; it re-encodes (same fin,
 * opcode, length, mask) to a header the parser reads back identically; control frames are
 * final and short; masking a payload twice restores it; every shorter prefix of a header asks
 * for more bytes or fails the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/websocket.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    enum iroh_ws_role role = (data[0] & 1) ? IROH_WS_SERVER : IROH_WS_CLIENT;
    uint64_t max_payload = (data[0] & 2) ? 1024 : UINT64_MAX;
    const uint8_t *in = data + 1;
    size_t len = size - 1, at = 0;
    static uint8_t payload[4096];
    while (at < len) {
        struct iroh_ws_header h;
        int rc = iroh_ws_parse_header(in + at, len - at, role, max_payload, &h);
        if (rc == 0 || rc == IROH_EPROTO || rc == IROH_ETOOBIG) {
            /* A shorter prefix never succeeds where the whole failed or was incomplete. */
            for (size_t i = 0; i < len - at && i < IROH_WS_MAX_HEADER_LEN; i++) {
                struct iroh_ws_header p;
                if (iroh_ws_parse_header(in + at, i, role, max_payload, &p) > 0) abort();
            }
            break;
        }
        if (rc < 2 || rc > IROH_WS_MAX_HEADER_LEN || (size_t)rc != h.header_len) abort();
        if (h.payload_len > max_payload) abort();
        if (h.opcode >= 8 && (!h.fin || h.payload_len > IROH_WS_MAX_CONTROL_PAYLOAD)) abort();
        if (h.masked != (role == IROH_WS_SERVER)) abort();
        uint8_t enc[IROH_WS_MAX_HEADER_LEN];
        size_t n = iroh_ws_encode_header(enc, h.fin, (enum iroh_ws_opcode)h.opcode, h.payload_len,
                                         h.masked ? h.mask : NULL);
        struct iroh_ws_header back;
        if (iroh_ws_parse_header(enc, n, role, UINT64_MAX, &back) != (int)n) abort();
        if (back.fin != h.fin || back.opcode != h.opcode || back.payload_len != h.payload_len ||
            memcmp(back.mask, h.mask, 4) != 0)
            abort();
        at += (size_t)rc;
        size_t avail = len - at;
        size_t take = h.payload_len < avail ? (size_t)h.payload_len : avail;
        size_t chunk = take < sizeof payload ? take : sizeof payload;
        memcpy(payload, in + at, chunk);
        iroh_ws_mask(payload, chunk / 2, h.mask, 0);
        iroh_ws_mask(payload + chunk / 2, chunk - chunk / 2, h.mask, chunk / 2);
        iroh_ws_mask(payload, chunk, h.mask, 0);
        if (memcmp(payload, in + at, chunk) != 0) abort();
        at += take;
    }
    return 0;
}
