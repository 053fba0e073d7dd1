/* fuzz_blobs_request.c — the parsers of core/blobs_proto.h: the provider's request decoder and
 * the Observe message decoder. The input is a request stream. Its unfinished prefixes must decode
 * to "more", to the error the whole input gives, or (a complete Push) to the same request as the
 * whole input; a decoded request's views must lie inside the input and its range walk must be
 * increasing; a Get or Push re-encoded from the decoded fields must decode to the same fields.
 * Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/blobs_proto.h"
#include "iroh/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t len, const uint8_t *data, size_t size)
{
    return p >= data && len <= size && (size_t)(p - data) <= size - len;
}

static void check_walk(const struct iroh_range_seq *seq)
{
    uint64_t *storage = malloc((seq->max_bounds ? seq->max_bounds : 1) * sizeof *storage);
    struct iroh_chunk_ranges cur;
    struct iroh_range_seq_iter it;
    iroh_chunk_ranges_init(&cur, storage, seq->max_bounds);
    if (iroh_range_seq_iter_init(&it, seq, &cur) != 0) abort();
    uint64_t index, prev = 0;
    for (int k = 0; k < 64 && iroh_range_seq_iter_next(&it, &index) == 1; k++) {
        if ((k > 0 && index <= prev) || iroh_chunk_ranges_is_empty(&cur)) abort();
        prev = index;
    }
    free(storage);
}

static bool same(const struct iroh_blobs_request *a, const struct iroh_blobs_request *b)
{
    return a->type == b->type && memcmp(a->hash, b->hash, sizeof a->hash) == 0 &&
           a->hash_count == b->hash_count && a->ranges.count == b->ranges.count &&
           a->ranges.len == b->ranges.len &&
           (a->ranges.len == 0 || memcmp(a->ranges.entries, b->ranges.entries, a->ranges.len) == 0);
}

/* Rebuilds a Get (and its Push) from the decoded hash and range sequence. */
static void check_get_round_trip(const struct iroh_blobs_request *req)
{
    size_t cap = 1 + 32 + 10 + req->ranges.len + 16;
    uint8_t *get = malloc(cap), *push = malloc(cap + 16);
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, get, cap);
    iroh_blobs_get_header(&w, req->hash);
    iroh_postcard_put_varint(&w, req->ranges.count);
    iroh_postcard_put_raw(&w, req->ranges.entries, req->ranges.len);
    int n = iroh_postcard_writer_finish(&w);
    struct iroh_blobs_request back;
    if (n < 0 || iroh_blobs_request_decode(get, (size_t)n, true, &back) != n) abort();
    if (back.type != IROH_BLOBS_GET) abort();
    back.type = req->type;
    if (!same(req, &back)) abort();
    iroh_postcard_writer_init(&w, push, cap + 16);
    if (iroh_blobs_push_encode(&w, get, (size_t)n) != 0) abort();
    int m = iroh_postcard_writer_finish(&w);
    if (iroh_blobs_request_decode(push, (size_t)m, false, &back) != m) abort();
    back.type = req->type;
    if (!same(req, &back)) abort();
    free(get);
    free(push);
}

static void check_observe_items(const uint8_t *data, size_t size)
{
    uint64_t *storage = malloc((size + 1) * sizeof *storage), *again_storage = NULL;
    struct iroh_chunk_ranges ranges, again;
    iroh_chunk_ranges_init(&ranges, storage, size + 1);
    uint64_t item_size, again_size;
    size_t pos = 0;
    int used;
    while ((used = iroh_blobs_observe_item_decode(data + pos, size - pos, &item_size, &ranges)) >
           0) {
        if ((size_t)used > size - pos) abort();
        pos += (size_t)used;
        size_t cap = 2 * IROH_POSTCARD_VARINT_MAX_U64 + ranges.len * IROH_POSTCARD_VARINT_MAX_U64;
        uint8_t *buf = malloc(cap);
        struct iroh_postcard_writer w;
        iroh_postcard_writer_init(&w, buf, cap);
        if (iroh_blobs_observe_item_encode(&w, item_size, &ranges) != 0) abort();
        again_storage = realloc(again_storage, (ranges.len + 1) * sizeof *again_storage);
        iroh_chunk_ranges_init(&again, again_storage, ranges.len + 1);
        if (iroh_blobs_observe_item_decode(buf, w.len, &again_size, &again) != (int)w.len ||
            again_size != item_size || !iroh_chunk_ranges_equal(&again, &ranges))
            abort();
        free(buf);
    }
    free(storage);
    free(again_storage);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_observe_items(data, size);
    struct iroh_blobs_request req, part;
    int rc = iroh_blobs_request_decode(data, size, true, &req);
    if (rc > 0) {
        if ((size_t)rc > size) abort();
        if (req.type != IROH_BLOBS_PUSH && (size_t)rc != size) abort();
        if (req.type == IROH_BLOBS_GET_MANY &&
            (req.hash_count > size / 32 || !inside(req.hashes, req.hash_count * 32, data, size)))
            abort();
        if (req.type == IROH_BLOBS_OBSERVE &&
            !inside(req.observe_spec, req.observe_spec_len, data, size))
            abort();
        if (req.type != IROH_BLOBS_OBSERVE) {
            if (!inside(req.ranges.entries, req.ranges.len, data, size)) abort();
            check_walk(&req.ranges);
        }
        if (req.type == IROH_BLOBS_GET || req.type == IROH_BLOBS_PUSH) check_get_round_trip(&req);
    } else if (rc == 0) {
        abort(); /* a finished stream is never "more" */
    }
    /* Unfinished prefixes: only "more" until a Push is complete; then the same request. */
    size_t step = size > 512 ? size / 64 : 1;
    for (size_t k = 0; k < size; k += step) {
        int p = iroh_blobs_request_decode(data, k, false, &part);
        if (p > 0) {
            if (part.type != IROH_BLOBS_PUSH || rc != p || !same(&req, &part)) abort();
        } else if (p < 0 && p != rc) {
            abort(); /* what a prefix already shows wrong stays wrong */
        }
    }
    return 0;
}
