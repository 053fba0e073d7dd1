/* core/blobs_proto.c — iroh-blobs requests, response framing and Observe messages
 * (spec/blobs.md §2, §6, §7); see blobs_proto.h. */
#include "core/blobs_proto.h"

#include <string.h>

#include "iroh/error.h"

/* ---- varints split across reads ------------------------------------------------------------ */

/* Reads a u64 varint at the start of in[0..len) that may not have fully arrived yet. Returns 1
 * with *v and *used, 0 when every byte so far continues it, or IROH_EINVAL when it is longer
 * than a u64's or overflows one. */
static int varint_prefix(const uint8_t *in, size_t len, uint64_t *v, size_t *used)
{
    struct iroh_postcard_reader rd;
    iroh_postcard_reader_init(&rd, in, len);
    if (iroh_postcard_get_u64(&rd, v) == 0) {
        *used = rd.pos;
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        if (i >= IROH_POSTCARD_VARINT_MAX_U64 - 1 || !(in[i] & 0x80)) return IROH_EINVAL;
    return 0;
}

/* ---- encoding requests -------------------------------------------------------------------- */

int iroh_blobs_get_header(struct iroh_postcard_writer *w, const uint8_t hash[IROH_BLOBS_HASH_LEN])
{
    iroh_postcard_put_u8(w, IROH_BLOBS_GET);
    return iroh_postcard_put_raw(w, hash, IROH_BLOBS_HASH_LEN);
}

int iroh_blobs_get_encode(struct iroh_postcard_writer *w, const uint8_t hash[IROH_BLOBS_HASH_LEN],
                          enum iroh_range_seq_named ranges)
{
    int rc = iroh_blobs_get_header(w, hash);
    return rc < 0 ? rc : iroh_range_seq_encode_named(w, ranges);
}

int iroh_blobs_get_many_header(struct iroh_postcard_writer *w, const uint8_t *hashes, size_t count)
{
    iroh_postcard_put_u8(w, IROH_BLOBS_GET_MANY);
    iroh_postcard_put_varint(w, count);
    for (size_t i = 0; i < count; i++)
        iroh_postcard_put_raw(w, hashes + i * IROH_BLOBS_HASH_LEN, IROH_BLOBS_HASH_LEN);
    return w->overflow ? IROH_EBUFFER : 0;
}

int iroh_blobs_observe_encode(struct iroh_postcard_writer *w,
                              const uint8_t hash[IROH_BLOBS_HASH_LEN],
                              const struct iroh_chunk_ranges *ranges)
{
    iroh_postcard_put_u8(w, IROH_BLOBS_OBSERVE);
    iroh_postcard_put_raw(w, hash, IROH_BLOBS_HASH_LEN);
    return iroh_range_spec_encode(w, ranges);
}

int iroh_blobs_push_encode(struct iroh_postcard_writer *w, const uint8_t *get, size_t len)
{
    if (len < 1 || get[0] != IROH_BLOBS_GET) return IROH_EINVAL;
    if (len - 1 > IROH_BLOBS_MAX_MESSAGE_SIZE) return IROH_ETOOBIG;
    iroh_postcard_put_u8(w, IROH_BLOBS_PUSH);
    iroh_postcard_put_varint(w, len - 1);
    return iroh_postcard_put_raw(w, get + 1, len - 1);
}

/* ---- decoding requests -------------------------------------------------------------------- */

/* Checks one RangeSpec (a count, then deltas whose running sum stays below 2^64) without
 * storing it: the Observe field nobody uses. */
static int range_spec_skip(struct iroh_postcard_reader *rd)
{
    uint64_t count, sum = 0;
    int rc = iroh_postcard_get_u64(rd, &count);
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        uint64_t delta;
        rc = iroh_postcard_get_u64(rd, &delta);
        if (rc == 0 && delta > UINT64_MAX - sum) rc = IROH_EINVAL;
        sum += delta;
    }
    return rc;
}

/* Reads a GetRequest (also a PushRequest's content): the hash and the RangeSpecSeq. */
static int get_body_decode(struct iroh_postcard_reader *rd, struct iroh_blobs_request *req)
{
    int rc = iroh_postcard_get_raw(rd, req->hash, IROH_BLOBS_HASH_LEN);
    return rc < 0 ? rc : iroh_range_seq_decode(rd, &req->ranges);
}

static int get_many_body_decode(struct iroh_postcard_reader *rd, struct iroh_blobs_request *req)
{
    int rc = iroh_postcard_get_u64(rd, &req->hash_count);
    if (rc < 0) return rc;
    if (req->hash_count > iroh_postcard_remaining(rd) / IROH_BLOBS_HASH_LEN) return IROH_EINVAL;
    req->hashes = rd->data + rd->pos;
    rd->pos += (size_t)req->hash_count * IROH_BLOBS_HASH_LEN;
    return iroh_range_seq_decode(rd, &req->ranges);
}

static int observe_body_decode(struct iroh_postcard_reader *rd, struct iroh_blobs_request *req)
{
    int rc = iroh_postcard_get_raw(rd, req->hash, IROH_BLOBS_HASH_LEN);
    if (rc < 0) return rc;
    size_t start = rd->pos;
    rc = range_spec_skip(rd);
    req->observe_spec = rd->data + start;
    req->observe_spec_len = rd->pos - start;
    return rc;
}

/* Push: varint(L) and L bytes of PushRequest after the type byte; the data follows. */
static int push_decode(const uint8_t *in, size_t len, bool fin, struct iroh_blobs_request *req)
{
    uint64_t body_len;
    size_t used;
    int rc = varint_prefix(in + 1, len - 1, &body_len, &used);
    if (rc < 0) return rc;
    if (rc == 0) return fin ? IROH_EINVAL : 0;
    if (body_len > IROH_BLOBS_MAX_MESSAGE_SIZE) return IROH_ETOOBIG;
    size_t start = 1 + used;
    if (len - start < body_len) return fin ? IROH_EINVAL : 0;
    struct iroh_postcard_reader rd;
    iroh_postcard_reader_init(&rd, in + start, (size_t)body_len);
    rc = get_body_decode(&rd, req);
    return rc < 0 ? rc : (int)(start + body_len);
}

int iroh_blobs_request_decode(const uint8_t *in, size_t len, bool fin,
                              struct iroh_blobs_request *req)
{
    if (len == 0) return fin ? IROH_EINVAL : 0;
    memset(req, 0, sizeof *req);
    req->type = in[0];
    if (in[0] == IROH_BLOBS_PUSH) return push_decode(in, len, fin, req);
    if (in[0] != IROH_BLOBS_GET && in[0] != IROH_BLOBS_GET_MANY && in[0] != IROH_BLOBS_OBSERVE)
        return IROH_EINVAL;
    if (len - 1 > IROH_BLOBS_MAX_MESSAGE_SIZE) return IROH_ETOOBIG;
    if (!fin) return 0;
    struct iroh_postcard_reader rd;
    iroh_postcard_reader_init(&rd, in + 1, len - 1);
    int rc = in[0] == IROH_BLOBS_GET        ? get_body_decode(&rd, req)
             : in[0] == IROH_BLOBS_GET_MANY ? get_many_body_decode(&rd, req)
                                            : observe_body_decode(&rd, req);
    return rc < 0 ? rc : (int)len;
}

/* ---- responses -------------------------------------------------------------------------- */

void iroh_blobs_size_header(uint64_t size, uint8_t out[IROH_BLOBS_SIZE_HEADER_LEN])
{
    for (int i = 0; i < IROH_BLOBS_SIZE_HEADER_LEN; i++)
        out[i] = (uint8_t)(size >> (8 * i));
}

void iroh_blobs_blob_reader_init(struct iroh_blobs_blob_reader *r,
                                 const uint8_t hash[IROH_BLOBS_HASH_LEN],
                                 const struct iroh_chunk_ranges *ranges)
{
    memcpy(r->hash, hash, IROH_BLOBS_HASH_LEN);
    r->ranges = ranges;
    r->header_have = 0;
    r->size = 0;
}

int iroh_blobs_blob_reader_next(struct iroh_blobs_blob_reader *r, const void *in, size_t len,
                                size_t *consumed, struct iroh_bao_item *item)
{
    if (r->header_have < IROH_BLOBS_SIZE_HEADER_LEN) {
        size_t n = IROH_BLOBS_SIZE_HEADER_LEN - r->header_have;
        if (n > len) n = len;
        if (n) memcpy(r->header + r->header_have, in, n);
        r->header_have += n;
        *consumed = n;
        if (r->header_have < IROH_BLOBS_SIZE_HEADER_LEN) return IROH_BAO_NEED_INPUT;
        r->size = 0;
        for (int i = IROH_BLOBS_SIZE_HEADER_LEN - 1; i >= 0; i--)
            r->size = r->size << 8 | r->header[i];
        iroh_bao_decoder_init(&r->decoder, r->hash, r->size, r->ranges);
        return IROH_BLOBS_SIZE;
    }
    return iroh_bao_decoder_next(&r->decoder, in, len, consumed, item);
}

/* ---- Observe messages ------------------------------------------------------------------------ */

int iroh_blobs_observe_item_encode(struct iroh_postcard_writer *w, uint64_t size,
                                   const struct iroh_chunk_ranges *ranges)
{
    size_t body = iroh_postcard_varint_len(size) + iroh_postcard_varint_len(ranges->len);
    for (size_t i = 0; i < ranges->len; i++)
        body += iroh_postcard_varint_len(ranges->bounds[i]);
    iroh_postcard_put_varint(w, body);
    iroh_postcard_put_varint(w, size);
    iroh_postcard_put_varint(w, ranges->len);
    for (size_t i = 0; i < ranges->len; i++)
        iroh_postcard_put_varint(w, ranges->bounds[i]);
    return w->overflow ? IROH_EBUFFER : 0;
}

int iroh_blobs_observe_item_decode(const uint8_t *in, size_t len, uint64_t *size,
                                   struct iroh_chunk_ranges *ranges)
{
    uint64_t body_len, count;
    size_t used;
    int rc = varint_prefix(in, len, &body_len, &used);
    if (rc <= 0) return rc;
    if (body_len > IROH_BLOBS_MAX_MESSAGE_SIZE) return IROH_EINVAL;
    if (len - used < body_len) return 0;
    struct iroh_postcard_reader rd;
    iroh_postcard_reader_init(&rd, in + used, (size_t)body_len);
    ranges->len = 0;
    rc = iroh_postcard_get_u64(&rd, size);
    if (rc == 0) rc = iroh_postcard_get_u64(&rd, &count);
    if (rc < 0) return rc;
    if (count > iroh_postcard_remaining(&rd)) return IROH_EINVAL; /* a varint is ≥ 1 byte */
    if (count > ranges->cap) return IROH_EBUFFER;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t b;
        rc = iroh_postcard_get_u64(&rd, &b);
        if (rc == 0 && i > 0 && b <= ranges->bounds[i - 1]) rc = IROH_EINVAL;
        if (rc < 0) {
            ranges->len = 0;
            return rc;
        }
        ranges->bounds[i] = b;
        ranges->len = i + 1;
    }
    return (int)(used + body_len);
}
