/* test_blobs_proto.c — iroh-blobs requests, response framing and Observe messages
 * (spec/blobs.md §2, §6, §7): the request vectors of §3.3 and §13.2 (upstream and derived, the
 * Get ones confirmed by iroh 0.35) encoded byte for byte and decoded back; requests arriving
 * piece by piece, with and without FIN; limits and malformed input; whole responses read by
 * the blob reader fed one byte at a time, checked against the §13.2 wire hashes; corruption
 * caught; Observe messages. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"
#include "core/blake3.h"
#include "core/blobs_proto.h"
#include "iroh/error.h"
#include "tests/test.h"
#include "tests/unit/unhex.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* hex with every "H" replaced by 32 bytes of `fill`. */
static size_t unhex_with_hash(const char *hex, uint8_t fill, uint8_t *out, size_t cap)
{
    size_t n = 0;
    char piece[256];
    while (*hex) {
        const char *h = strchr(hex, 'H');
        size_t len = h ? (size_t)(h - hex) : strlen(hex);
        CHECK(len < sizeof piece);
        if (len >= sizeof piece) len = sizeof piece - 1;
        memcpy(piece, hex, len);
        piece[len] = '\0';
        n += unhex(piece, out + n, cap - n);
        if (!h) break;
        memset(out + n, fill, 32);
        n += 32;
        hex = h + 1;
    }
    return n;
}

static const uint8_t HASH_DA[32] = {
    0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda,
    0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda, 0xda};

static void check_written(struct iroh_postcard_writer *w, const char *hex_with_hash)
{
    uint8_t want[256];
    size_t n = unhex_with_hash(hex_with_hash, 0xda, want, sizeof want);
    CHECK_EQ_INT(iroh_postcard_writer_finish(w), n);
    CHECK_EQ_MEM(w->buf, want, n);
}

/* ---- encoding ------------------------------------------------------------------------- */

static void test_get_vectors(void)
{
    uint8_t buf[256];
    struct iroh_postcard_writer w;
    static const struct {
        enum iroh_range_seq_named name;
        const char *hex;
    } cases[] = {
        {IROH_RANGE_SEQ_ROOT, "00 H 02 00 01 00 01 00"}, /* upstream GetRequest::blob */
        {IROH_RANGE_SEQ_ALL, "00 H 01 00 01 00"},        /* upstream GetRequest::all */
        {IROH_RANGE_SEQ_VERIFIED_SIZE, "00 H 02 00 01 ffffffffffffffffff01 01 00"},
        {IROH_RANGE_SEQ_VERIFIED_CHILD_SIZES, "00 H 02 00 01 00 01 01 ffffffffffffffffff01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        iroh_postcard_writer_init(&w, buf, sizeof buf);
        CHECK_EQ_INT(iroh_blobs_get_encode(&w, HASH_DA, cases[i].name), 0);
        check_written(&w, cases[i].hex);
    }
    /* Child 2, chunks 0..1: a header and a sequence built from entries. */
    uint64_t b[2] = {0, 1};
    struct iroh_range_seq_entry e[2] = {{3, {b, 2, 2}}, {4, {NULL, 0, 0}}};
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_get_header(&w, HASH_DA), 0);
    CHECK_EQ_INT(iroh_range_seq_encode(&w, e, 2), 0);
    check_written(&w, "00 H 02 03 02 00 01 01 00");
    /* A writer too small fails. */
    iroh_postcard_writer_init(&w, buf, 20);
    CHECK_EQ_INT(iroh_blobs_get_encode(&w, HASH_DA, IROH_RANGE_SEQ_ALL), IROH_EBUFFER);
}

static void test_other_request_vectors(void)
{
    uint8_t buf[256], hashes[64];
    struct iroh_postcard_writer w;
    memset(hashes, 0x01, 32);
    memset(hashes + 32, 0x02, 32);
    uint64_t all = 0;
    struct iroh_chunk_ranges all_set = {&all, 1, 1};
    struct iroh_chunk_ranges per_blob[2] = {all_set, all_set};

    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_get_many_header(&w, hashes, 2), 0);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&w, per_blob, 2, false), 0);
    uint8_t want[128];
    size_t n = unhex("09 02", want, sizeof want);
    memcpy(want + n, hashes, 64);
    n += 64;
    n += unhex("02 00 01 00 02 00", want + n, sizeof want - n);
    CHECK_EQ_INT(iroh_postcard_writer_finish(&w), n);
    CHECK_EQ_MEM(buf, want, n);

    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_observe_encode(&w, HASH_DA, &all_set), 0);
    check_written(&w, "01 H 01 00");

    uint8_t get[64];
    struct iroh_postcard_writer gw;
    iroh_postcard_writer_init(&gw, get, sizeof get);
    CHECK_EQ_INT(iroh_blobs_get_encode(&gw, HASH_DA, IROH_RANGE_SEQ_ROOT), 0);
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_push_encode(&w, get, gw.len), 0);
    check_written(&w, "08 26 H 02 00 01 00 01 00");
    /* Only a Get can be pushed. */
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_push_encode(&w, buf, 0), IROH_EINVAL);
    get[0] = IROH_BLOBS_GET_MANY;
    CHECK_EQ_INT(iroh_blobs_push_encode(&w, get, gw.len), IROH_EINVAL);
}

/* ---- decoding ------------------------------------------------------------------------- */

/* Decodes the whole of hex (hash H = 32×da) as a finished request. */
static int decode_hex(const char *hex, uint8_t *buf, size_t cap, struct iroh_blobs_request *req,
                      size_t *len)
{
    *len = unhex_with_hash(hex, 0xda, buf, cap);
    return iroh_blobs_request_decode(buf, *len, true, req);
}

/* The (index, first bound, bound count) walk of a request's ranges, up to max indices. */
static size_t walk(const struct iroh_range_seq *seq, uint64_t out[][3], size_t max)
{
    uint64_t storage[16];
    struct iroh_chunk_ranges cur;
    struct iroh_range_seq_iter it;
    iroh_chunk_ranges_init(&cur, storage, 16);
    CHECK_EQ_INT(iroh_range_seq_iter_init(&it, seq, &cur), 0);
    size_t k = 0;
    uint64_t index;
    while (k < max && iroh_range_seq_iter_next(&it, &index) == 1) {
        out[k][0] = index;
        out[k][1] = cur.bounds[0];
        out[k][2] = cur.len;
        k++;
    }
    return k;
}

static void test_decode_vectors(void)
{
    uint8_t buf[256];
    size_t len;
    uint64_t w[8][3];
    struct iroh_blobs_request req;

    CHECK_EQ_INT(decode_hex("00 H 02 00 01 00 01 00", buf, sizeof buf, &req, &len), len);
    CHECK_EQ_INT(req.type, IROH_BLOBS_GET);
    CHECK_EQ_MEM(req.hash, HASH_DA, 32);
    CHECK_EQ_INT(walk(&req.ranges, w, 8), 1);
    CHECK(w[0][0] == 0 && w[0][1] == 0 && w[0][2] == 1);

    /* all(): infinite — the walk goes on as long as the caller asks. */
    CHECK_EQ_INT(decode_hex("00 H 01 00 01 00", buf, sizeof buf, &req, &len), len);
    CHECK_EQ_INT(walk(&req.ranges, w, 8), 8);
    CHECK_EQ_INT(w[7][0], 7);

    CHECK_EQ_INT(decode_hex("00 H 02 03 02 00 01 01 00", buf, sizeof buf, &req, &len), len);
    CHECK_EQ_INT(walk(&req.ranges, w, 8), 1);
    CHECK(w[0][0] == 3 && w[0][1] == 0 && w[0][2] == 2);

    /* A byte after the complete message is ignored (as postcard, observed with iroh 0.35). */
    CHECK_EQ_INT(decode_hex("00 H 02 00 01 00 01 00 55", buf, sizeof buf, &req, &len), len);
    CHECK_EQ_INT(req.type, IROH_BLOBS_GET);

    CHECK_EQ_INT(decode_hex("09 02"
                            "H"
                            "H"
                            "02 00 01 00 02 00",
                            buf, sizeof buf, &req, &len),
                 len);
    CHECK_EQ_INT(req.type, IROH_BLOBS_GET_MANY);
    CHECK_EQ_INT(req.hash_count, 2);
    CHECK(req.hashes == buf + 2);
    CHECK_EQ_INT(walk(&req.ranges, w, 8), 2);
    CHECK(w[0][0] == 0 && w[1][0] == 1);

    CHECK_EQ_INT(decode_hex("01 H 01 00", buf, sizeof buf, &req, &len), len);
    CHECK_EQ_INT(req.type, IROH_BLOBS_OBSERVE);
    CHECK_EQ_MEM(req.hash, HASH_DA, 32);
    CHECK_EQ_INT(req.observe_spec_len, 2);
    CHECK(req.observe_spec == buf + 33);

    /* Push: the message ends where its length says; the data follows. */
    len = unhex_with_hash("08 26 H 02 00 01 00 01 00 aa bb", 0xda, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, false, &req), 40);
    CHECK_EQ_INT(req.type, IROH_BLOBS_PUSH);
    CHECK_EQ_MEM(req.hash, HASH_DA, 32);
    CHECK_EQ_INT(walk(&req.ranges, w, 8), 1);
}

/* Feeds a request one byte at a time: nothing is decided until it is complete. */
static void test_decode_incremental(void)
{
    uint8_t buf[256];
    struct iroh_blobs_request req;
    size_t len = unhex_with_hash("00 H 01 00 01 00", 0xda, buf, sizeof buf);
    for (size_t i = 0; i <= len; i++)
        CHECK_EQ_INT(iroh_blobs_request_decode(buf, i, false, &req), 0);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, true, &req), len);
    /* Finished early: malformed. */
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, 0, true, &req), IROH_EINVAL);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len - 1, true, &req), IROH_EINVAL);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, 20, true, &req), IROH_EINVAL);

    /* Push decides as soon as its message is in, FIN or not. */
    len = unhex_with_hash("08 26 H 02 00 01 00 01 00", 0xda, buf, sizeof buf);
    for (size_t i = 0; i < len; i++) {
        CHECK_EQ_INT(iroh_blobs_request_decode(buf, i, false, &req), 0);
        CHECK_EQ_INT(iroh_blobs_request_decode(buf, i, true, &req), IROH_EINVAL);
    }
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, false, &req), len);
    /* A length prefix split over reads. */
    uint8_t push[4] = {0x08, 0x80, 0x80, 0x01}; /* L = 16384 */
    CHECK_EQ_INT(iroh_blobs_request_decode(push, 2, false, &req), 0);
    CHECK_EQ_INT(iroh_blobs_request_decode(push, 3, false, &req), 0);
    CHECK_EQ_INT(iroh_blobs_request_decode(push, 4, false, &req), 0);
}

static void test_decode_refusals(void)
{
    uint8_t buf[256];
    size_t len;
    struct iroh_blobs_request req;
    /* Reserved and unknown types, with a Get body; an empty sequence is a valid request. */
    for (unsigned t = 2; t < 256; t++) {
        if (t == IROH_BLOBS_PUSH || t == IROH_BLOBS_GET_MANY) continue;
        len = unhex_with_hash("00 H 02 00 01 00 01 00", 0xda, buf, sizeof buf);
        buf[0] = (uint8_t)t;
        CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, true, &req), IROH_EINVAL);
    }
    CHECK_EQ_INT(decode_hex("00 H 00", buf, sizeof buf, &req, &len), len);
    /* Truncated or malformed bodies. */
    CHECK_EQ_INT(decode_hex("00 H 01 00", buf, sizeof buf, &req, &len), IROH_EINVAL);
    CHECK_EQ_INT(decode_hex("00 H 01 00 05 00", buf, sizeof buf, &req, &len), IROH_EINVAL);
    CHECK_EQ_INT(decode_hex("09 03 H H 00", buf, sizeof buf, &req, &len), IROH_EINVAL);
    CHECK_EQ_INT(decode_hex("09 ffffffffffffffff7f H 00", buf, sizeof buf, &req, &len),
                 IROH_EINVAL);
    CHECK_EQ_INT(decode_hex("01 H 02 ffffffffffffffffff01 01", buf, sizeof buf, &req, &len),
                 IROH_EINVAL); /* boundaries past 2^64 − 1 */
    CHECK_EQ_INT(decode_hex("01 H 03 00 01", buf, sizeof buf, &req, &len), IROH_EINVAL);
    /* Push: a length longer than the message, a varint over 10 bytes. */
    len = unhex_with_hash("08 27 H 02 00 01 00 01 00", 0xda, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, false, &req), 0);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, true, &req), IROH_EINVAL);
    len = unhex("08 ffffffffffffffffffff01", buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, false, &req), IROH_EINVAL);
    /* Push with a body that is not a GetRequest. */
    len = unhex("08 02 00 00", buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_request_decode(buf, len, false, &req), IROH_EINVAL);
}

static void test_decode_limits(void)
{
    size_t max = IROH_BLOBS_MAX_MESSAGE_SIZE;
    uint8_t *big = calloc(1, max + 2);
    struct iroh_blobs_request req;
    /* A Get of exactly the limit after the type byte decodes (the rest is ignored). */
    memset(big + 1, 0xda, 32);
    big[33] = 0; /* an empty sequence, then zeros */
    CHECK_EQ_INT(iroh_blobs_request_decode(big, max + 1, true, &req), max + 1);
    /* One byte more is refused, finished or not. */
    CHECK_EQ_INT(iroh_blobs_request_decode(big, max + 2, false, &req), IROH_ETOOBIG);
    CHECK_EQ_INT(iroh_blobs_request_decode(big, max + 2, true, &req), IROH_ETOOBIG);
    /* A Push whose announced length is over the limit is refused at once. */
    uint8_t push[5] = {0x08, 0x81, 0x80, 0x40}; /* L = 2^20 + 1 */
    CHECK_EQ_INT(iroh_blobs_request_decode(push, 4, false, &req), IROH_ETOOBIG);
    /* And a Push request longer than the limit cannot be encoded. */
    uint8_t out[16];
    struct iroh_postcard_writer w;
    iroh_postcard_writer_init(&w, out, sizeof out);
    big[0] = 0;
    CHECK_EQ_INT(iroh_blobs_push_encode(&w, big, max + 2), IROH_ETOOBIG);
    free(big);
}

/* ---- responses ------------------------------------------------------------------------ */

/* bao-tree's make_test_data: byte i = (i / 1024) mod 256. Caller frees. */
static uint8_t *td(size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i / 1024);
    return d;
}

/* The response for one blob (size header and body) of data[0..n) for ranges; caller frees. */
static uint8_t *respond(const uint8_t *data, size_t n, const struct iroh_chunk_ranges *ranges,
                        size_t *wire_len, uint8_t root[32])
{
    uint64_t ob_len = iroh_bao_outboard_size(n);
    uint8_t *ob = malloc(ob_len ? ob_len : 1);
    iroh_bao_outboard_compute(data, n, 1, ob, root);
    struct iroh_bao_buffer dbuf = {data, n}, obuf = {ob, ob_len};
    struct iroh_bao_encoder *e = malloc(sizeof *e);
    iroh_bao_encoder_init(e, n, ranges, iroh_bao_read_buffer, &dbuf, iroh_bao_read_buffer, &obuf);
    size_t cap = n + n / 8 + 4096, len = IROH_BLOBS_SIZE_HEADER_LEN;
    uint8_t *wire = malloc(cap);
    iroh_blobs_size_header(n, wire);
    struct iroh_bao_item item;
    int rc;
    while ((rc = iroh_bao_encoder_next(e, wire + len, cap - len, &item)) == IROH_BAO_ITEM)
        len += item.len;
    CHECK_EQ_INT(rc, IROH_BAO_DONE);
    free(e);
    free(ob);
    *wire_len = len;
    return wire;
}

/* Reads wire[0..len) with a blob reader fed `step` bytes at a time; returns the result of the
 * last call and the data bytes released (at their offsets) into data_out. */
static int read_response(const uint8_t root[32], const struct iroh_chunk_ranges *ranges,
                         const uint8_t *wire, size_t len, size_t step, uint8_t *data_out,
                         uint64_t *size, size_t *used, size_t *released)
{
    struct iroh_blobs_blob_reader *r = malloc(sizeof *r);
    iroh_blobs_blob_reader_init(r, root, ranges);
    size_t pos = 0, fed = 0;
    int rc = IROH_BAO_NEED_INPUT, sizes = 0;
    *released = 0;
    while (rc != IROH_BAO_DONE && rc >= 0) {
        if (rc == IROH_BAO_NEED_INPUT && pos == fed) {
            if (fed == len) break;
            fed = fed + step < len ? fed + step : len;
        }
        size_t consumed = 0;
        struct iroh_bao_item item;
        rc = iroh_blobs_blob_reader_next(r, wire + pos, fed - pos, &consumed, &item);
        pos += consumed;
        if (rc == IROH_BLOBS_SIZE) sizes++;
        if (rc == IROH_BAO_ITEM && item.kind == IROH_BAO_ITEM_LEAF) {
            memcpy(data_out + item.offset, item.bytes, item.len);
            *released += item.len;
        }
    }
    CHECK(sizes <= 1);
    *size = r->size;
    *used = pos;
    free(r);
    return rc;
}

static void test_response_reader(void)
{
    /* §13.2 full-blob wire hashes (BLAKE3 of size header ‖ body), confirmed by iroh 0.35. */
    static const struct {
        size_t n;
        const char *wire_b3;
    } cases[] = {
        {0, "71e0a99173564931c0b8acc52d2685a8e39c64dc52e3d02390fdac2a12b155cb"},
        {1, "9b779f74b305adc3ec513485085d52e95f9ce4fbaf9e56cb02d38a07e19353df"},
        {1025, "6f355588aac7d42bd9a564bd51ac528ab41ba65fa23654f784d1db124fac6dc3"},
        {16385, "cb0bb70e044de3149c69bf50bf4f2c499978e8193d7b564863207d2b81cc1476"},
        {100000, "da1f20b43fd8af859d328e4b89dad27bbc068875eccc934b3ee8e75d0bf3754b"},
    };
    uint64_t all = 0;
    struct iroh_chunk_ranges all_set = {&all, 1, 1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = cases[i].n, wire_len;
        uint8_t *data = td(n), root[32], b3[32], want[32];
        uint8_t *wire = respond(data, n, &all_set, &wire_len, root);
        iroh_blake3_hash(wire, wire_len, b3);
        unhex(cases[i].wire_b3, want, sizeof want);
        CHECK_EQ_MEM(b3, want, 32);
        /* Followed by another blob's bytes, which the reader must leave alone. */
        uint8_t *with_next = malloc(wire_len + 8);
        memcpy(with_next, wire, wire_len);
        memset(with_next + wire_len, 0x77, 8);
        size_t steps[] = {1, 7, 16384, wire_len + 8};
        for (size_t s = 0; s < 4; s++) {
            uint8_t *out = calloc(1, n ? n : 1);
            uint64_t size;
            size_t used, released;
            CHECK_EQ_INT(read_response(root, &all_set, with_next, wire_len + 8, steps[s], out,
                                       &size, &used, &released),
                         IROH_BAO_DONE);
            CHECK_EQ_INT(size, n);
            CHECK_EQ_INT(used, wire_len);
            CHECK_EQ_INT(released, n);
            CHECK(n == 0 || memcmp(out, data, n) == 0);
            free(out);
        }
        free(with_next);
        free(wire);
        free(data);
    }
}

static void test_response_reader_ranges_and_corruption(void)
{
    size_t n = 100000, wire_len;
    uint8_t *data = td(n), root[32];
    uint64_t b[2] = {16, 32};
    struct iroh_chunk_ranges r16 = {b, 2, 2};
    uint8_t *wire = respond(data, n, &r16, &wire_len, root);
    CHECK_EQ_INT(wire_len, 16584); /* §13.2: 3 parents + 16384 data */
    uint8_t *out = calloc(1, n);
    uint64_t size;
    size_t used, released;
    CHECK_EQ_INT(read_response(root, &r16, wire, wire_len, 1000, out, &size, &used, &released),
                 IROH_BAO_DONE);
    CHECK_EQ_INT(released, 16384);
    CHECK_EQ_MEM(out + 16384, data + 16384, 16384);

    /* One flipped byte in the data: caught, nothing of that group released. */
    wire[wire_len - 100] ^= 1;
    CHECK_EQ_INT(read_response(root, &r16, wire, wire_len, 1000, out, &size, &used, &released),
                 IROH_ECORRUPT);
    CHECK_EQ_INT(released, 0);
    wire[wire_len - 100] ^= 1;
    /* A size header off by 65536: the tree does not check out. (Off by one it would: the size
     * only shapes the tree, and is verified with the last chunk, which was not asked for.) */
    wire[2] ^= 1;
    CHECK_EQ_INT(read_response(root, &r16, wire, wire_len, 1000, out, &size, &used, &released),
                 IROH_ECORRUPT);
    wire[2] ^= 1;
    /* The stream ends early: the reader just wants more. */
    CHECK_EQ_INT(read_response(root, &r16, wire, 5, 1, out, &size, &used, &released),
                 IROH_BAO_NEED_INPUT);
    CHECK_EQ_INT(read_response(root, &r16, wire, wire_len - 1, 1, out, &size, &used, &released),
                 IROH_BAO_NEED_INPUT);
    /* Size 0 is only the empty blob: a zero header for another hash fails. */
    uint8_t zero[8] = {0};
    uint64_t all = 0;
    struct iroh_chunk_ranges all_set = {&all, 1, 1};
    CHECK_EQ_INT(read_response(root, &all_set, zero, 8, 8, out, &size, &used, &released),
                 IROH_ECORRUPT);
    free(out);
    free(wire);
    free(data);
}

/* ---- Observe messages ---------------------------------------------------------------- */

static void test_observe_items(void)
{
    uint8_t buf[64];
    struct iroh_postcard_writer w;
    uint64_t all = 0, storage[4];
    struct iroh_chunk_ranges all_set = {&all, 1, 1}, got;
    iroh_chunk_ranges_init(&got, storage, 4);
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_observe_item_encode(&w, 100000, &all_set), 0);
    uint8_t want[8];
    size_t n = unhex("05 a0 8d 06 01 00", want, sizeof want);
    CHECK_EQ_INT(w.len, n);
    CHECK_EQ_MEM(buf, want, n);
    uint64_t size;
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, i, &size, &got), 0);
    CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, n, &size, &got), n);
    CHECK_EQ_INT(size, 100000);
    CHECK(iroh_chunk_ranges_equal(&got, &all_set));

    /* Absolute boundaries, not deltas: [16, 48) ∪ [97, ∞). */
    uint64_t b[3] = {16, 48, 97};
    struct iroh_chunk_ranges three = {b, 3, 3};
    iroh_postcard_writer_init(&w, buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_observe_item_encode(&w, 1000000, &three), 0);
    n = unhex("07 c0 84 3d 03 10 30 61", want, sizeof want);
    CHECK_EQ_INT(w.len, n);
    CHECK_EQ_MEM(buf, want, n);
    CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, n, &size, &got), n);
    CHECK(iroh_chunk_ranges_equal(&got, &three));
    /* Storage too small, boundaries not increasing, a count past the message. */
    struct iroh_chunk_ranges small;
    iroh_chunk_ranges_init(&small, storage, 2);
    CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, n, &size, &small), IROH_EBUFFER);
    n = unhex("04 00 02 05 05", buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, n, &size, &got), IROH_EINVAL);
    n = unhex("03 00 05 01", buf, sizeof buf);
    CHECK_EQ_INT(iroh_blobs_observe_item_decode(buf, n, &size, &got), IROH_EINVAL);
}

int main(void)
{
    RUN(test_get_vectors);
    RUN(test_other_request_vectors);
    RUN(test_decode_vectors);
    RUN(test_decode_incremental);
    RUN(test_decode_refusals);
    RUN(test_decode_limits);
    RUN(test_response_reader);
    RUN(test_response_reader_ranges_and_corruption);
    RUN(test_observe_items);
    return TEST_SUMMARY();
}
