/* fuzz_bao_decode.c — the verifying bao decoder fed arbitrary bodies for a fixed 40000-byte
 * blob. Input: byte 0 picks the requested ranges, byte 1 the claimed size, byte 2 the piece
 * size the body is fed in (0: all at once), the rest is the body. Aborts if the decoder ever
 * releases a leaf that is not the real blob's data at that offset, a pair that is not the
 * real outboard's (when the size is right), or completes a body that proves a wrong size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BLOB_SIZE 40000

static uint8_t blob[BLOB_SIZE], outboard[128], root[32];

static const struct {
    size_t n;
    uint64_t bounds[4];
} RANGES[] = {
    {1, {0}},      {2, {0, 1}}, {1, {UINT64_MAX}}, {2, {3, 4}}, {4, {1, 3, 9, 13}},  {2, {16, 32}},
    {2, {15, 17}}, {1, {39}},   {2, {30, 100}},    {0, {0}},    {4, {0, 2, 20, 21}},
};

static const uint64_t CLAIMS[] = {BLOB_SIZE, BLOB_SIZE - 1, BLOB_SIZE + 1, 0,
                                  1,         1024,          16384,         16385,
                                  32768,     39 * 1024,     41 * 1024,     UINT64_MAX};

struct check {
    uint64_t claimed;
};

static int check_item(void *ctx, const struct iroh_bao_item *item)
{
    const struct check *c = ctx;
    if (item->kind == IROH_BAO_ITEM_LEAF) {
        if (item->offset > BLOB_SIZE || item->len > BLOB_SIZE - item->offset) abort();
        if (item->len && memcmp(item->bytes, blob + item->offset, item->len) != 0) abort();
    } else if (item->offset != UINT64_MAX && c->claimed == BLOB_SIZE) {
        if (item->offset > sizeof outboard - 64) abort();
        if (memcmp(item->bytes, outboard + item->offset, 64) != 0) abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int initialized;
    if (!initialized) {
        for (size_t i = 0; i < BLOB_SIZE; i++)
            blob[i] = (uint8_t)(i % 251);
        iroh_bao_outboard_compute(blob, BLOB_SIZE, 1, outboard, root);
        initialized = 1;
    }
    if (size < 3) return 0;
    size_t which = data[0] % (sizeof RANGES / sizeof RANGES[0]);
    uint64_t bounds[4];
    memcpy(bounds, RANGES[which].bounds, sizeof bounds);
    struct iroh_chunk_ranges ranges = {bounds, RANGES[which].n, 4};
    struct check c = {CLAIMS[data[1] % (sizeof CLAIMS / sizeof CLAIMS[0])]};
    size_t piece = data[2];
    const uint8_t *body = data + 3;
    size_t len = size - 3;

    /* One shot. */
    int rc = iroh_bao_decode(root, c.claimed, &ranges, body, len, check_item, &c);
    uint64_t chunks = c.claimed / 1024 + (c.claimed % 1024 != 0);
    bool proves_size = iroh_chunk_ranges_intersects(&ranges, chunks ? chunks - 1 : 0, UINT64_MAX) ||
                       iroh_chunk_ranges_contains(&ranges, UINT64_MAX);
    if (rc == 0 && proves_size && c.claimed != BLOB_SIZE) abort();

    /* In pieces: the same verdict. */
    struct iroh_bao_decoder *d = malloc(sizeof *d);
    iroh_bao_decoder_init(d, root, c.claimed, &ranges);
    size_t pos = 0;
    int step;
    for (;;) {
        size_t n = piece && piece < len - pos ? piece : len - pos, used;
        struct iroh_bao_item item;
        step = iroh_bao_decoder_next(d, body + pos, n, &used, &item);
        if (used > n) abort();
        pos += used;
        if (step == IROH_BAO_ITEM) {
            check_item(&c, &item);
            continue;
        }
        if (step == IROH_BAO_NEED_INPUT && pos < len) continue;
        break;
    }
    free(d);
    int verdict = step == IROH_BAO_DONE         ? (pos == len ? 0 : IROH_EPROTO)
                  : step == IROH_BAO_NEED_INPUT ? IROH_ENOTFOUND
                                                : step;
    if (verdict != rc) abort();
    return 0;
}
