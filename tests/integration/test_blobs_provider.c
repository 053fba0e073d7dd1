/* test_blobs_provider.c — the iroh-blobs provider (daemon/blobs_provider.c) in one process: a
 * real blob store in a temp dir, two endpoints on one libuv loop over UDP on 127.0.0.1, and a
 * small requester written here that opens streams, sends requests built with
 * core/blobs_proto and checks every response with the verifying blob reader. Get of 0 B,
 * 1 KiB, 16 KiB + 1, 100000 B and 10 MiB (the §13.2 wire hashes where the spec has them),
 * ranges, a collection with its children, GetMany, Observe (complete, unknown, partial), a
 * partial blob served as far as it goes, an unknown hash reset with code 3 before any byte,
 * Push refused with code 1 and accepted from an allowed peer (a blob, a hash sequence and its
 * children, a corrupt blob cut off at its bad group), an invalid request, the per-connection
 * and total limits (code 2), the bound on buffered requests, the request timeout, a requester
 * that stops reading (the stall timeout), a requester leaving mid-response, the test-only
 * corruption, and the counters. Every wait is bounded by a deadline on the loop. */
#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/bao.h"
#include "core/blake3.h"
#include "core/blobs_proto.h"
#include "core/collection.h"
#include "core/keys.h"
#include "daemon/blobs_provider.h"
#include "daemon/endpoint.h"
#include "daemon/log.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "tests/unit/tmpdir.h"
#include "tests/integration/loop_wait.h"
#include "tests/test.h"

static uv_loop_t loop;

#define ZERO_ID "0000000000000000000000000000000000000000000000000000000000000000"

static void set_true(void *arg)
{
    *(bool *)arg = true;
}

/* ---- the world: a store, a provider endpoint, a requester endpoint ----------------------------
 */

static struct {
    char dir[512];
    sqlite3 *db;
    struct blob_store *store;
    struct endpoint *provider_ep, *client_ep;
    struct iroh_endpoint_addr provider_addr;
    struct iroh_public_key client_id;
    struct blobs_provider *provider;
    struct quic_conn *qc;
} w;

static struct endpoint *endpoint_new(struct iroh_public_key *id)
{
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    if (id) iroh_secret_key_public(&sk, id);
    struct endpoint_options options = {.secret = &sk, .bind = "127.0.0.1:0"};
    struct endpoint *ep = NULL;
    char err[256] = "";
    int rc = endpoint_start(&loop, &options, &ep, err, sizeof err);
    if (rc < 0) fprintf(stderr, "endpoint_start: %s\n", err);
    CHECK_EQ_INT(rc, 0);
    return ep;
}

static void provider_start(const struct blobs_provider_options *options)
{
    CHECK_EQ_INT(blobs_provider_start(&loop, w.provider_ep, w.store, options, &w.provider), 0);
}

static void on_conn_close(struct quic_conn *qc, int status, void *arg)
{
    (void)qc;
    (void)status;
    (void)arg;
    w.qc = NULL;
}

static const struct quic_conn_callbacks client_conn_callbacks = {.on_close = on_conn_close};

struct dial {
    bool done;
    int status;
};

static void on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct dial *d = arg;
    d->done = true;
    d->status = status;
    if (status < 0) {
        fprintf(stderr, "connect: %s\n", why);
        return;
    }
    w.qc = qc;
    quic_conn_set_callbacks(qc, &client_conn_callbacks, NULL);
}

/* Connects the requester to the provider (once). */
static void connect_provider(void)
{
    if (w.qc) return;
    struct dial d = {0};
    CHECK_EQ_INT(endpoint_connect(w.client_ep, &w.provider_addr, IROH_BLOBS_ALPN, on_connect, &d),
                 0);
    CHECK(loop_run_until(&loop, &d.done, 10000));
    CHECK_EQ_INT(d.status, 0);
}

static void world_start(void)
{
    tmpdir_make(w.dir, sizeof w.dir, "blobs-provider");
    char db_path[600], blobs[600], err[256] = "";
    snprintf(db_path, sizeof db_path, "%s/irohd.db", w.dir);
    snprintf(blobs, sizeof blobs, "%s/blobs", w.dir);
    CHECK_EQ_INT(storage_db_open(db_path, ZERO_ID, &w.db, err, sizeof err), 0);
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_open(db_path, blobs, &w.store, &e), 0);
    w.provider_ep = endpoint_new(NULL);
    w.client_ep = endpoint_new(&w.client_id);
    endpoint_addr(w.provider_ep, &w.provider_addr);
    provider_start(&(struct blobs_provider_options){0});
}

static bool requester_closed(void *arg)
{
    (void)arg;
    return w.qc == NULL;
}

/* The provider's counters say what the test waits for (the argument of stats_reached). */
struct stats_wait {
    uint64_t active;    /* requests being served: exactly this many */
    bool no_connection; /* and no connection open either */
};

static bool stats_reached(void *arg)
{
    const struct stats_wait *want = arg;
    struct blobs_provider_stats st;
    blobs_provider_stats(w.provider, &st);
    return st.active == want->active && (!want->no_connection || st.connections_open == 0);
}

static void provider_stop(void)
{
    if (w.qc) quic_conn_close(w.qc, 0, "done");
    CHECK(loop_run_until_done(&loop, requester_closed, NULL, 20000));
    blobs_provider_stop(w.provider);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void world_stop(void)
{
    provider_stop();
    bool a = false, b = false;
    endpoint_stop(w.provider_ep, set_true, &a);
    endpoint_stop(w.client_ep, set_true, &b);
    CHECK(loop_run_until(&loop, &a, 5000) && loop_run_until(&loop, &b, 5000));
    uv_run(&loop, UV_RUN_DEFAULT);
    blob_store_close(w.store);
    storage_db_close(w.db);
    CHECK_EQ_INT(rm_rf(w.dir), 0);
}

/* ---- blobs --------------------------------------------------------------------------------- */

/* bao-tree's make_test_data: byte i = (i / 1024) mod 256. Caller frees. */
static uint8_t *td(size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i / 1024);
    return d;
}

static void add(const void *data, size_t len, uint8_t hash[32])
{
    struct blob_added added;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_add_bytes(w.store, data, len, NULL, &added, &e), 0);
    memcpy(hash, added.hash, 32);
    /* A named tag keeps it (nothing runs a GC here; the temp tag is not needed). */
    blob_temp_tag_drop(w.store, added.temp_tag);
}

/* ---- the requester ----------------------------------------------------------------------------
 */

struct response {
    uint8_t *data;
    size_t len, cap;
    bool closed;
    bool fin;            /* the provider finished its side cleanly */
    bool reset;          /* it reset its side */
    uint64_t reset_code; /* with this code */
    bool hold;           /* read nothing: give the provider no flow-control credit back */
    struct quic_stream *s;
};

static void resp_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                         void *arg)
{
    struct response *r = arg;
    if (!r->hold) quic_stream_consume(s, len);
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2;
        r->data = realloc(r->data, r->cap);
    }
    if (len) memcpy(r->data + r->len, data, len);
    r->len += len;
    if (fin) r->fin = true;
}

static void resp_on_reset(struct quic_stream *s, uint64_t code, bool stop, void *arg)
{
    (void)s;
    struct response *r = arg;
    if (!stop) { /* its RESET_STREAM (a STOP_SENDING says nothing of the response) */
        r->reset = true;
        r->reset_code = code;
    }
}

static void resp_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    struct response *r = arg;
    r->closed = true;
    r->s = NULL;
}

static const struct quic_stream_callbacks resp_callbacks = {
    .on_data = resp_on_data,
    .on_close = resp_on_close,
    .on_reset = resp_on_reset,
};

/* Opens a stream and writes req[0..len), finished unless keep_open. */
static void request_send(struct response *r, const uint8_t *req, size_t len, bool keep_open)
{
    connect_provider();
    memset(r, 0, sizeof *r);
    CHECK_EQ_INT(quic_conn_open_bi(w.qc, &r->s), 0);
    quic_stream_set_callbacks(r->s, &resp_callbacks, r);
    CHECK(quic_stream_write(r->s, req, len) >= 0);
    if (!keep_open) quic_stream_finish(r->s);
}

/* Sends a request and waits for the whole response (the stream closed). */
static struct response fetch(const uint8_t *req, size_t len)
{
    struct response r;
    request_send(&r, req, len, false);
    CHECK(loop_run_until(&loop, &r.closed, 60000));
    return r;
}

static struct response fetch_get(const uint8_t hash[32], enum iroh_range_seq_named named)
{
    uint8_t req[64];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    CHECK_EQ_INT(iroh_blobs_get_encode(&pw, hash, named), 0);
    return fetch(req, pw.len);
}

/* A Get of the root with one set of chunk ranges. */
static struct response fetch_ranges(const uint8_t hash[32], const struct iroh_chunk_ranges *r)
{
    uint8_t req[128];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_header(&pw, hash);
    CHECK_EQ_INT(iroh_range_seq_encode_from_ranges(&pw, r, 1, false), 0);
    return fetch(req, pw.len);
}

/* Reads one blob at *pos of a response with the verifying reader; copies released leaves into
 * out (when not NULL, at their offsets). Returns the reader's last result. */
static int read_blob(const struct response *r, size_t *pos, const uint8_t hash[32],
                     const struct iroh_chunk_ranges *ranges, uint8_t *out, uint64_t *size,
                     size_t *released)
{
    struct iroh_blobs_blob_reader *rd = malloc(sizeof *rd);
    iroh_blobs_blob_reader_init(rd, hash, ranges);
    int rc;
    *released = 0;
    for (;;) {
        size_t used = 0;
        struct iroh_bao_item item;
        rc = iroh_blobs_blob_reader_next(rd, r->data + *pos, r->len - *pos, &used, &item);
        *pos += used;
        if (rc == IROH_BAO_ITEM && item.kind == IROH_BAO_ITEM_LEAF) {
            if (out) memcpy(out + item.offset, item.bytes, item.len);
            *released += item.len;
        }
        if (rc == IROH_BAO_DONE || rc < 0 || (rc == IROH_BAO_NEED_INPUT && *pos == r->len)) break;
    }
    *size = rd->size;
    free(rd);
    return rc;
}

static uint64_t ALL_BOUND = 0;
static const struct iroh_chunk_ranges ALL = {&ALL_BOUND, 1, 1};

/* Checks that r is exactly the whole blob data[0..n) with this hash, cleanly finished. */
static void check_whole(const struct response *r, const uint8_t hash[32], const uint8_t *data,
                        size_t n)
{
    CHECK(r->fin && !r->reset);
    uint8_t *out = calloc(1, n ? n : 1);
    size_t pos = 0, released;
    uint64_t size;
    CHECK_EQ_INT(read_blob(r, &pos, hash, &ALL, out, &size, &released), IROH_BAO_DONE);
    CHECK_EQ_INT(size, n);
    CHECK_EQ_INT(released, n);
    CHECK_EQ_INT(pos, r->len);
    CHECK(n == 0 || memcmp(out, data, n) == 0);
    free(out);
}

static void check_wire_b3(const struct response *r, const char *hex)
{
    uint8_t b3[32], want[32];
    iroh_blake3_hash(r->data, r->len, b3);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        want[i] = (uint8_t)v;
    }
    CHECK_EQ_MEM(b3, want, 32);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_get_sizes(void)
{
    static const struct {
        size_t n;
        const char *wire_b3; /* spec §13.2, confirmed by iroh 0.35; NULL: not listed */
    } cases[] = {
        {0, "71e0a99173564931c0b8acc52d2685a8e39c64dc52e3d02390fdac2a12b155cb"},
        {1024, "8c75425a30ff706c02664b66a7f7904152d6217ce4d5993b13fcead82673f8e8"},
        {16385, "cb0bb70e044de3149c69bf50bf4f2c499978e8193d7b564863207d2b81cc1476"},
        {100000, "da1f20b43fd8af859d328e4b89dad27bbc068875eccc934b3ee8e75d0bf3754b"},
        {10 << 20, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t hash[32], *data = td(cases[i].n);
        add(data, cases[i].n, hash);
        struct response r = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
        check_whole(&r, hash, data, cases[i].n);
        if (cases[i].wire_b3) check_wire_b3(&r, cases[i].wire_b3);
        free(r.data);
        free(data);
    }
}

static void test_ranges(void)
{
    uint8_t hash[32], *data = td(100000);
    add(data, 100000, hash);
    static const struct {
        uint64_t bounds[2];
        size_t n;
        size_t len;
        const char *wire_b3;
    } cases[] = {
        {{0, 1}, 2, 1480, "d4fdb25483699af1362a87c5602882cca31dcdda9d7a3886bdfa7524bb41e8e2"},
        {{3, 4}, 2, 1480, "6e1dff89b2e1add06a37462e3f50b1f72212d20f1d01e23c99f2235fe95ce16e"},
        {{16, 32}, 2, 16584, "90b3a7827ba3e46b7349a94ba96c2657b7aae31ea3e463273ff4d81c2266091c"},
        {{UINT64_MAX}, 1, 872, "843f96f46b8e1f0a1f18e2cec48ba6350a662fa659d578927d3a86c3fdf977e6"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t b[2] = {cases[i].bounds[0], cases[i].bounds[1]};
        struct iroh_chunk_ranges ranges = {b, cases[i].n, 2};
        struct response r = fetch_ranges(hash, &ranges);
        CHECK(r.fin);
        CHECK_EQ_INT(r.len, cases[i].len);
        check_wire_b3(&r, cases[i].wire_b3);
        uint8_t *out = calloc(1, 100000);
        size_t pos = 0, released;
        uint64_t size;
        CHECK_EQ_INT(read_blob(&r, &pos, hash, &ranges, out, &size, &released), IROH_BAO_DONE);
        CHECK_EQ_INT(pos, r.len);
        CHECK(released > 0);
        free(out);
        free(r.data);
    }
    free(data);
}

/* A collection: meta blob, two children; Get all() sends root, meta, children in order. */
static void test_collection(void)
{
    const char *names_text[] = {"a.txt", "dir/b.bin"};
    struct iroh_collection_name names[2] = {{names_text[0], 5}, {names_text[1], 9}};
    uint8_t meta[64], meta_hash[32], children[64], root[96], root_hash[32];
    size_t bad;
    int meta_len = iroh_collection_meta_encode(names, 2, meta, sizeof meta, &bad);
    CHECK(meta_len > 0);
    add(meta, (size_t)meta_len, meta_hash);
    uint8_t *c0 = td(1000), *c1 = td(70000);
    add(c0, 1000, children);
    add(c1, 70000, children + 32);
    iroh_collection_root_encode(meta_hash, children, 2, root);
    add(root, sizeof root, root_hash);

    struct response r = fetch_get(root_hash, IROH_RANGE_SEQ_ALL);
    CHECK(r.fin && !r.reset);
    size_t pos = 0, released;
    uint64_t size;
    const uint8_t *hashes[] = {root_hash, meta_hash, children, children + 32};
    const uint8_t *datas[] = {root, meta, c0, c1};
    size_t sizes[] = {sizeof root, (size_t)meta_len, 1000, 70000};
    for (int i = 0; i < 4; i++) {
        uint8_t *out = calloc(1, sizes[i]);
        CHECK_EQ_INT(read_blob(&r, &pos, hashes[i], &ALL, out, &size, &released), IROH_BAO_DONE);
        CHECK_EQ_INT(size, sizes[i]);
        CHECK_EQ_MEM(out, datas[i], sizes[i]);
        free(out);
    }
    CHECK_EQ_INT(pos, r.len);
    free(r.data);

    /* Only child 2 (the second file), chunks [1, 2): offset 3 of the sequence. */
    uint64_t b[2] = {1, 2};
    struct iroh_range_seq_entry e[2] = {{3, {b, 2, 2}}, {4, {NULL, 0, 0}}};
    uint8_t req[128];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_header(&pw, root_hash);
    iroh_range_seq_encode(&pw, e, 2);
    r = fetch(req, pw.len);
    CHECK(r.fin);
    pos = 0;
    uint8_t *out = calloc(1, 70000);
    CHECK_EQ_INT(read_blob(&r, &pos, children + 32, &e[0].ranges, out, &size, &released),
                 IROH_BAO_DONE);
    CHECK_EQ_INT(released, 1024);
    CHECK_EQ_MEM(out + 1024, c1 + 1024, 1024);
    CHECK_EQ_INT(pos, r.len);
    free(out);
    free(r.data);

    /* A child index past the end of the sequence ends the response cleanly. */
    e[0].offset = 9;
    e[1].offset = 10;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_header(&pw, root_hash);
    iroh_range_seq_encode(&pw, e, 2);
    r = fetch(req, pw.len);
    CHECK(r.fin && !r.reset);
    CHECK_EQ_INT(r.len, 0);
    free(r.data);

    /* Children of a blob that is not a hash sequence: the root, then reset code 3. */
    r = fetch_get(children + 32, IROH_RANGE_SEQ_ALL);
    CHECK(r.reset && r.reset_code == IROH_BLOBS_ERR_INTERNAL);
    free(r.data);
    free(c0);
    free(c1);
}

static void test_unknown_and_invalid(void)
{
    uint8_t unknown[32];
    memset(unknown, 0xda, 32);
    struct response r = fetch_get(unknown, IROH_RANGE_SEQ_ROOT);
    CHECK(r.reset);
    CHECK_EQ_INT(r.reset_code, IROH_BLOBS_ERR_INTERNAL);
    CHECK_EQ_INT(r.len, 0);
    free(r.data);

    /* A reserved type: a clean end without data, as iroh. */
    uint8_t req[64];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_encode(&pw, unknown, IROH_RANGE_SEQ_ROOT);
    req[0] = 2;
    r = fetch(req, pw.len);
    CHECK(r.fin && !r.reset);
    CHECK_EQ_INT(r.len, 0);
    free(r.data);

    /* The connection still serves. */
    uint8_t hash[32];
    add("hello", 5, hash);
    r = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
    check_whole(&r, hash, (const uint8_t *)"hello", 5);
    free(r.data);
}

static void test_get_many(void)
{
    uint8_t hashes[96], *a = td(5000), *b = td(40000);
    add(a, 5000, hashes);
    add(b, 40000, hashes + 32);
    memset(hashes + 64, 0xee, 32); /* unknown: its turn resets the stream */
    struct iroh_chunk_ranges per_blob[2] = {ALL, ALL};
    uint8_t req[256];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_many_header(&pw, hashes, 2);
    iroh_range_seq_encode_from_ranges(&pw, per_blob, 2, false);
    struct response r = fetch(req, pw.len);
    CHECK(r.fin);
    size_t pos = 0, released;
    uint64_t size;
    uint8_t *out = calloc(1, 40000);
    CHECK_EQ_INT(read_blob(&r, &pos, hashes, &ALL, out, &size, &released), IROH_BAO_DONE);
    CHECK_EQ_MEM(out, a, 5000);
    CHECK_EQ_INT(read_blob(&r, &pos, hashes + 32, &ALL, out, &size, &released), IROH_BAO_DONE);
    CHECK_EQ_MEM(out, b, 40000);
    CHECK_EQ_INT(pos, r.len);
    free(r.data);

    /* With the unknown third hash: two blobs, then the reset. */
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_many_header(&pw, hashes, 3);
    iroh_range_seq_encode_named(&pw, IROH_RANGE_SEQ_ALL);
    r = fetch(req, pw.len);
    CHECK(r.reset && r.reset_code == IROH_BLOBS_ERR_INTERNAL);
    free(r.data);
    free(out);
    free(a);
    free(b);
}

/* Reads Observe messages of r from *pos; returns the number decoded. */
static int observe_items(const struct response *r, size_t *pos, uint64_t *size,
                         struct iroh_chunk_ranges *ranges)
{
    int n = 0, used;
    while ((used = iroh_blobs_observe_item_decode(r->data + *pos, r->len - *pos, size, ranges)) >
           0) {
        *pos += (size_t)used;
        n++;
    }
    return n;
}

/* What an Observe stream has received after byte `from`: whether a whole message is there. */
struct observe_wait {
    const struct response *r;
    size_t from;
};

static bool observe_message_came(void *arg)
{
    const struct observe_wait *o = arg;
    uint64_t size;
    uint64_t storage[8];
    struct iroh_chunk_ranges ranges;
    iroh_chunk_ranges_init(&ranges, storage, 8);
    return o->r->closed || iroh_blobs_observe_item_decode(o->r->data + o->from, o->r->len - o->from,
                                                          &size, &ranges) > 0;
}

/* Runs the loop until r holds a whole Observe message after byte from (or r closed), at most
 * 20 s. */
static void wait_observe_message(const struct response *r, size_t from)
{
    struct observe_wait o = {r, from};
    CHECK(loop_run_until_done(&loop, observe_message_came, &o, 20000));
}

static void test_observe_and_partial(void)
{
    uint64_t storage[8], size;
    struct iroh_chunk_ranges got;
    iroh_chunk_ranges_init(&got, storage, 8);
    uint8_t hash[32], req[64], *data = td(100000);
    add(data, 100000, hash);
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_observe_encode(&pw, hash, &ALL);
    /* Complete: one message (size, all), then the end. */
    struct response r = fetch(req, pw.len);
    CHECK(r.fin);
    size_t pos = 0;
    CHECK_EQ_INT(observe_items(&r, &pos, &size, &got), 1);
    CHECK_EQ_INT(pos, r.len);
    CHECK_EQ_INT(size, 100000);
    CHECK(iroh_chunk_ranges_is_all(&got));
    free(r.data);

    /* A partial blob of 1 MiB with groups 2 and 63 (the last) present. */
    size_t n = 1 << 20;
    uint8_t *big = malloc(n), ph[32];
    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 7 / 1024 + 1);
    uint64_t ob_len = iroh_bao_outboard_size(n);
    uint8_t *ob = malloc(ob_len);
    iroh_bao_outboard_compute(big, n, 1, ob, ph);
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_partial_create(w.store, ph, n, &e), 0);
    uint64_t groups[2] = {2, 63};
    for (int k = 0; k < 2; k++) {
        uint64_t offsets[64];
        size_t np = blob_pair_path(n, groups[k], offsets, 64);
        struct blob_pair pairs[64];
        for (size_t i = 0; i < np; i++) {
            pairs[i].offset = offsets[i];
            memcpy(pairs[i].pair, ob + offsets[i], 64);
        }
        struct blob_group g = {groups[k], big + groups[k] * 16384, 16384, NULL};
        CHECK_EQ_INT(blob_store_partial_write(w.store, ph, pairs, np, &g, 1, &e), 0);
    }
    /* Observe it: one message, then updates while it is incomplete, each after the store's
     * writer says the blob changed (blobs_provider_blob_changed). */
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_observe_encode(&pw, ph, &ALL);
    request_send(&r, req, pw.len, false);
    wait_observe_message(&r, 0);
    pos = 0;
    CHECK(observe_items(&r, &pos, &size, &got) >= 1);
    CHECK_EQ_INT(size, n);
    CHECK_EQ_INT(got.len, 3); /* [32, 48) ∪ [1008, ∞) */
    CHECK(got.bounds[0] == 32 && got.bounds[1] == 48 && got.bounds[2] == 1008);
    /* Nothing polls: without a change no step runs and nothing more is sent, also when other
     * blobs change. */
    struct blobs_provider_stats st0, st1;
    blobs_provider_stats(w.provider, &st0);
    blobs_provider_blob_changed(w.provider, hash); /* another blob */
    for (int i = 0; i < 50; i++) {
        bool tick = false;
        loop_run_until(&loop, &tick, 20);
    }
    blobs_provider_stats(w.provider, &st1);
    CHECK_EQ_INT(st1.observe_steps, st0.observe_steps);
    CHECK_EQ_INT(r.len, pos);
    /* A group arrives: the next message is the change. */
    uint64_t offsets[64];
    size_t np = blob_pair_path(n, 5, offsets, 64);
    struct blob_pair pairs[64];
    for (size_t i = 0; i < np; i++) {
        pairs[i].offset = offsets[i];
        memcpy(pairs[i].pair, ob + offsets[i], 64);
    }
    struct blob_group g5 = {5, big + 5 * 16384, 16384, NULL};
    CHECK_EQ_INT(blob_store_partial_write(w.store, ph, pairs, np, &g5, 1, &e), 0);
    blobs_provider_blob_changed(w.provider, ph);
    blobs_provider_blob_changed(w.provider, ph); /* coalesced with the first */
    size_t first_end = pos;
    wait_observe_message(&r, first_end);
    pos = first_end;
    CHECK(observe_items(&r, &pos, &size, &got) >= 1);
    CHECK_EQ_INT(got.len, 2);
    CHECK(got.bounds[0] == 80 && got.bounds[1] == 96);
    blobs_provider_stats(w.provider, &st1);
    CHECK(st1.observe_steps - st0.observe_steps <= 2); /* the change and at most one more */
    quic_stream_reset(r.s, 0);
    CHECK(loop_run_until(&loop, &r.closed, 5000));
    free(r.data);

    /* Get of a present group of the partial blob works; of everything, it stops at group 0
     * (nothing of it is present) with a reset, after the size header at most. */
    uint64_t b[2] = {32, 48};
    struct iroh_chunk_ranges g2 = {b, 2, 2};
    r = fetch_ranges(ph, &g2);
    CHECK(r.fin);
    pos = 0;
    size_t released;
    uint8_t *out = calloc(1, n);
    CHECK_EQ_INT(read_blob(&r, &pos, ph, &g2, out, &size, &released), IROH_BAO_DONE);
    CHECK_EQ_INT(released, 16384);
    CHECK_EQ_MEM(out + 2 * 16384, big + 2 * 16384, 16384);
    free(r.data);
    r = fetch_get(ph, IROH_RANGE_SEQ_ROOT);
    CHECK(r.reset && r.reset_code == IROH_BLOBS_ERR_INTERNAL);
    pos = 0;
    int rc = read_blob(&r, &pos, ph, &ALL, out, &size, &released);
    CHECK(rc == IROH_BAO_NEED_INPUT || rc == IROH_BLOBS_SIZE);
    CHECK_EQ_INT(released, 0);
    free(r.data);
    free(out);

    /* Unknown: size 0, nothing; the stream stays open for changes. */
    uint8_t unknown[32];
    memset(unknown, 0x33, 32);
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_observe_encode(&pw, unknown, &ALL);
    request_send(&r, req, pw.len, false);
    wait_observe_message(&r, 0);
    pos = 0;
    CHECK_EQ_INT(observe_items(&r, &pos, &size, &got), 1);
    CHECK(size == 0 && got.len == 0 && !r.closed);
    quic_stream_reset(r.s, 0);
    CHECK(loop_run_until(&loop, &r.closed, 5000));
    free(r.data);
    free(big);
    free(ob);
    free(data);
}

static void test_push_refused(void)
{
    uint8_t get[64], req[80], hash[32];
    add("pushed", 6, hash);
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, get, sizeof get);
    iroh_blobs_get_encode(&pw, hash, IROH_RANGE_SEQ_ROOT);
    size_t get_len = pw.len;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    CHECK_EQ_INT(iroh_blobs_push_encode(&pw, get, get_len), 0);
    struct response r;
    request_send(&r, req, pw.len, true); /* the data would follow: not finished */
    CHECK(loop_run_until(&loop, &r.closed, 10000));
    /* (It also sends STOP_SENDING 1, which ngtcp2 0.12 reports only when its code differs.) */
    CHECK(r.reset && r.reset_code == IROH_BLOBS_ERR_PERMISSION);
    free(r.data);
}

/* The size header and whole body of a blob, as a provider (or a pusher) sends it; caller frees. */
static uint8_t *encode_blob(const uint8_t *data, size_t n, size_t *len, uint8_t hash[32])
{
    uint64_t ob_len = iroh_bao_outboard_size(n);
    uint8_t *ob = malloc(ob_len ? ob_len : 1);
    iroh_bao_outboard_compute(data, n, 1, ob, hash);
    struct iroh_bao_buffer dbuf = {data, n}, obuf = {ob, ob_len};
    struct iroh_bao_encoder *e = malloc(sizeof *e);
    iroh_bao_encoder_init(e, n, &ALL, iroh_bao_read_buffer, &dbuf, iroh_bao_read_buffer, &obuf);
    size_t cap = n + n / 8 + 4096;
    uint8_t *wire = malloc(cap);
    iroh_blobs_size_header(n, wire);
    *len = IROH_BLOBS_SIZE_HEADER_LEN;
    struct iroh_bao_item item;
    while (iroh_bao_encoder_next(e, wire + *len, cap - *len, &item) == IROH_BAO_ITEM)
        *len += item.len;
    free(e);
    free(ob);
    return wire;
}

/* Pushes wire[0..len) after a Push request for hash with a named sequence; waits for the end. */
static struct response push(const uint8_t hash[32], enum iroh_range_seq_named named,
                            const uint8_t *wire, size_t len)
{
    uint8_t get[64];
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, get, sizeof get);
    iroh_blobs_get_encode(&pw, hash, named);
    uint8_t *req = malloc(len + 80);
    size_t get_len = pw.len;
    iroh_postcard_writer_init(&pw, req, len + 80);
    CHECK_EQ_INT(iroh_blobs_push_encode(&pw, get, get_len), 0);
    memcpy(req + pw.len, wire, len);
    struct response r = fetch(req, pw.len + len);
    free(req);
    return r;
}

static void check_stored(const uint8_t hash[32], const uint8_t *data, size_t n)
{
    struct blob_status st;
    struct blob_error e = {""};
    struct blob_reader *rd = NULL;
    CHECK_EQ_INT(blob_store_status(w.store, hash, &st, &e), 0);
    CHECK(st.complete && st.size == n);
    if (!st.complete)
        fprintf(stderr, "only %llu of %llu groups stored\n", (unsigned long long)st.present_groups,
                (unsigned long long)st.total_groups);
    CHECK_EQ_INT(blob_store_reader_open(w.store, hash, &rd, &e), 0);
    if (!rd) return;
    uint8_t *back = malloc(n ? n : 1);
    CHECK_EQ_INT(blob_reader_read(rd, 0, back, n, &e), n);
    CHECK(n == 0 || memcmp(back, data, n) == 0);
    free(back);
    blob_reader_close(rd);
}

/* An allowed peer pushes a blob, a hash sequence with its children, and a corrupt blob. */
static void test_push_allowed(void)
{
    provider_stop();
    provider_start(
        &(struct blobs_provider_options){.push_allow = &w.client_id, .push_allow_count = 1});
    size_t n = 300000, len;
    uint8_t hash[32], *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 131 + i / 777);
    uint8_t *wire = encode_blob(data, n, &len, hash);
    struct response r = push(hash, IROH_RANGE_SEQ_ROOT, wire, len);
    CHECK(r.fin && !r.reset);
    check_stored(hash, data, n);
    free(r.data);
    free(wire);

    /* A hash sequence of two new blobs: root, then each child. */
    uint8_t *a = td(50000), b[3000], seq[64], seq_hash[32];
    memset(b, 0x5a, sizeof b);
    size_t la, lb, ls;
    uint8_t *wa = encode_blob(a, 50000, &la, seq), *wb = encode_blob(b, sizeof b, &lb, seq + 32);
    uint8_t *ws = encode_blob(seq, sizeof seq, &ls, seq_hash);
    uint8_t *all = malloc(ls + la + lb);
    memcpy(all, ws, ls);
    memcpy(all + ls, wa, la);
    memcpy(all + ls + la, wb, lb);
    r = push(seq_hash, IROH_RANGE_SEQ_ALL, all, ls + la + lb);
    CHECK(r.fin && !r.reset);
    check_stored(seq_hash, seq, sizeof seq);
    check_stored(seq, a, 50000);
    check_stored(seq + 32, b, sizeof b);
    free(r.data);

    /* A flipped byte in group 3: reset with code 3; groups 0..2 verified and kept. */
    uint8_t c_hash[32], *c = td(100000);
    c[5] = 0x99; /* not already in the store */
    uint8_t *wc = encode_blob(c, 100000, &len, c_hash);
    size_t group3 = len - (100000 - 3 * 16384) + 100;
    wc[group3] ^= 0x01;
    r = push(c_hash, IROH_RANGE_SEQ_ROOT, wc, len);
    CHECK(r.reset && r.reset_code == IROH_BLOBS_ERR_INTERNAL);
    struct blob_status st;
    struct blob_error e = {""};
    CHECK_EQ_INT(blob_store_status(w.store, c_hash, &st, &e), 0);
    CHECK(!st.complete);
    CHECK_EQ_INT(st.present_groups, 3);
    free(r.data);

    struct blobs_provider_stats stats;
    blobs_provider_stats(w.provider, &stats);
    CHECK_EQ_INT(stats.push, 3);
    CHECK_EQ_INT(stats.blobs_received, 4);
    CHECK_EQ_INT(stats.bytes_received, n + sizeof seq + 50000 + sizeof b + 3 * 16384);
    free(wc);
    free(c);
    free(all);
    free(wa);
    free(wb);
    free(ws);
    free(a);
    free(data);
}

/* Whether the response (arg) has 1 MiB or more, or closed. */
static bool got_a_mib(void *arg)
{
    const struct response *r = arg;
    return r->len >= (1u << 20) || r->closed;
}

/* The requester goes away in the middle of a 10 MiB response: by resetting its stream, then by
 * closing its connection. The provider lets go of both requests (none stays active) and serves
 * the next connection. */
static void test_requester_leaves(void)
{
    size_t n = 10 << 20;
    uint8_t hash[32], *data = td(n);
    data[0] = 0x42; /* not the blob of test_get_sizes */
    add(data, n, hash);
    for (int how = 0; how < 2; how++) {
        uint8_t req[64];
        struct iroh_postcard_writer pw;
        iroh_postcard_writer_init(&pw, req, sizeof req);
        iroh_blobs_get_encode(&pw, hash, IROH_RANGE_SEQ_ROOT);
        struct response r;
        request_send(&r, req, pw.len, false);
        CHECK(loop_run_until_done(&loop, got_a_mib, &r, 20000));
        CHECK(!r.closed);
        if (how == 0)
            quic_stream_reset(r.s, 0);
        else
            quic_conn_close(w.qc, 0, "leaving");
        CHECK(loop_run_until(&loop, &r.closed, 10000));
        free(r.data);
        struct stats_wait idle = {.active = 0, .no_connection = how == 1};
        CHECK(loop_run_until_done(&loop, stats_reached, &idle, 20000));
    }
    CHECK(w.qc == NULL);
    struct response ok = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
    check_whole(&ok, hash, data, n);
    free(ok.data);
    free(data);
}

struct budget_wait {
    const struct response *r;
    int n;
};

/* Whether one of the responses (arg: a budget_wait) was reset for a limit. */
static bool some_refused(void *arg)
{
    const struct budget_wait *b = arg;
    for (int i = 0; i < b->n; i++)
        if (b->r[i].reset && b->r[i].reset_code == IROH_BLOBS_ERR_LIMIT) return true;
    return false;
}

/* Unfinished requests of 1 MiB on 40 streams: request buffers are bounded in total (32 MiB),
 * so some streams are refused with code 2; the connection still serves. */
static void test_request_budget(void)
{
    enum { STREAMS = 40 };
    size_t n = 1 << 20;
    uint8_t *junk = calloc(1, n); /* a Get of hash 00…, never finished */
    struct response *r = calloc(STREAMS, sizeof *r);
    for (int i = 0; i < STREAMS; i++)
        request_send(&r[i], junk, n, true);
    struct budget_wait bw = {r, STREAMS};
    CHECK(loop_run_until_done(&loop, some_refused, &bw, 20000));
    for (int i = 0; i < STREAMS; i++) {
        if (r[i].s && !r[i].closed) quic_stream_reset(r[i].s, 0);
        CHECK(loop_run_until(&loop, &r[i].closed, 10000));
        free(r[i].data);
    }
    free(r);
    free(junk);
    uint8_t hash[32];
    add("budget", 6, hash);
    struct response ok = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
    check_whole(&ok, hash, (const uint8_t *)"budget", 6);
    free(ok.data);
}

/* Two requests of a connection run at once with max_conn_requests 2: a third is refused with
 * code 2; once one is done, a new one is served. The same with max_requests 2. */
static void test_limits(void)
{
    provider_stop();
    provider_start(&(struct blobs_provider_options){.max_conn_requests = 2});
    uint8_t hash[32], req[64];
    add("limit", 5, hash);
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_encode(&pw, hash, IROH_RANGE_SEQ_ROOT);
    struct response open[2], third;
    request_send(&open[0], req, pw.len, true); /* unfinished: they wait for their FIN */
    request_send(&open[1], req, pw.len, true);
    /* the third stream opens once the provider holds both (sent at once, its frame might be
     * taken first: stream frames of one packet come in no promised order) */
    struct stats_wait two = {.active = 2};
    CHECK(loop_run_until_done(&loop, stats_reached, &two, 10000));
    request_send(&third, req, pw.len, false);
    CHECK(loop_run_until(&loop, &third.closed, 10000));
    CHECK(third.reset && third.reset_code == IROH_BLOBS_ERR_LIMIT);
    quic_stream_finish(open[0].s);
    CHECK(loop_run_until(&loop, &open[0].closed, 10000));
    CHECK(open[0].fin);
    struct response again = fetch(req, pw.len);
    check_whole(&again, hash, (const uint8_t *)"limit", 5);
    quic_stream_finish(open[1].s);
    CHECK(loop_run_until(&loop, &open[1].closed, 10000));
    CHECK(open[1].fin);
    struct blobs_provider_stats st;
    blobs_provider_stats(w.provider, &st);
    CHECK_EQ_INT(st.refused_limit, 1);
    CHECK_EQ_INT(st.get, 3);
    CHECK_EQ_INT(st.active, 0);
    CHECK_EQ_INT(st.blobs_sent, 3);
    free(open[0].data);
    free(open[1].data);
    free(third.data);
    free(again.data);

    /* The total limit the same way: 2 at once in all, 64 per connection. */
    provider_stop();
    provider_start(&(struct blobs_provider_options){.max_requests = 2});
    request_send(&open[0], req, pw.len, true);
    request_send(&open[1], req, pw.len, true);
    CHECK(loop_run_until_done(&loop, stats_reached, &two, 10000));
    request_send(&third, req, pw.len, false);
    CHECK(loop_run_until(&loop, &third.closed, 10000));
    CHECK(third.reset && third.reset_code == IROH_BLOBS_ERR_LIMIT);
    for (int i = 0; i < 2; i++) {
        quic_stream_finish(open[i].s);
        CHECK(loop_run_until(&loop, &open[i].closed, 10000));
        CHECK(open[i].fin);
        free(open[i].data);
    }
    free(third.data);
}

/* A stream that does not finish its request in time (here 300 ms) is reset with code 2. */
static void test_request_timeout(void)
{
    provider_stop();
    provider_start(&(struct blobs_provider_options){.request_timeout_ms = 300});
    uint8_t hash[32], req[64];
    add("slow", 4, hash);
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_encode(&pw, hash, IROH_RANGE_SEQ_ROOT);
    struct response slow;
    request_send(&slow, req, pw.len, true); /* never finished */
    CHECK(loop_run_until(&loop, &slow.closed, 10000));
    CHECK(slow.reset && slow.reset_code == IROH_BLOBS_ERR_LIMIT);
    struct blobs_provider_stats st;
    blobs_provider_stats(w.provider, &st);
    CHECK_EQ_INT(st.refused_limit, 1);
    CHECK_EQ_INT(st.active, 0);
    struct response ok = fetch(req, pw.len); /* a finished one in time is served */
    check_whole(&ok, hash, (const uint8_t *)"slow", 4);
    free(slow.data);
    free(ok.data);
}

/* A requester that stops reading a 10 MiB response holds its slot only until the stall
 * timeout (here 2 s): then the provider resets the stream with code 2. A reader that reads must
 * never look stalled: the provider and the reader share this process's loop, so the timeout
 * leaves room for a sanitized build on a busy machine between "the stream is full" and "it
 * drained". */
static void test_stalled_reader(void)
{
    provider_stop();
    provider_start(&(struct blobs_provider_options){.stall_timeout_ms = 2000});
    size_t n = 10u << 20;
    uint8_t hash[32], req[64], *data = td(n);
    add(data, n, hash);
    struct iroh_postcard_writer pw;
    iroh_postcard_writer_init(&pw, req, sizeof req);
    iroh_blobs_get_encode(&pw, hash, IROH_RANGE_SEQ_ROOT);
    struct response stalled;
    request_send(&stalled, req, pw.len, false);
    stalled.hold = true;
    CHECK(loop_run_until(&loop, &stalled.reset, 20000));
    CHECK_EQ_INT(stalled.reset_code, IROH_BLOBS_ERR_LIMIT);
    CHECK(stalled.len < n); /* it had not taken the response */
    struct blobs_provider_stats st;
    blobs_provider_stats(w.provider, &st);
    CHECK_EQ_INT(st.refused_limit, 1);
    CHECK_EQ_INT(st.active, 0);
    CHECK(loop_run_until(&loop, &stalled.closed, 10000));
    struct response ok = fetch(req, pw.len); /* a reader that reads gets all of it */
    check_whole(&ok, hash, data, n);
    free(stalled.data);
    free(ok.data);
    free(data);
}

/* TEST ONLY fault injection: the 3rd leaf sent is corrupt; the reader stops at it. */
static void test_corruption(void)
{
    provider_stop();
    setenv("IROHD_TEST_CORRUPT_PROVIDER", "3", 1);
    provider_start(&(struct blobs_provider_options){0});
    unsetenv("IROHD_TEST_CORRUPT_PROVIDER");
    size_t n = 200000;
    uint8_t hash[32], *data = td(n);
    add(data, n, hash);
    struct response r = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
    size_t pos = 0, released;
    uint64_t size;
    CHECK_EQ_INT(read_blob(&r, &pos, hash, &ALL, NULL, &size, &released), IROH_ECORRUPT);
    CHECK_EQ_INT(released, 2 * 16384); /* the first two groups verified, nothing after */
    free(r.data);
    /* Only once: the next response is good. */
    r = fetch_get(hash, IROH_RANGE_SEQ_ROOT);
    check_whole(&r, hash, data, n);
    free(r.data);
    free(data);
}

static void test_stats(void)
{
    struct blobs_provider_stats st;
    blobs_provider_stats(w.provider, &st);
    CHECK(st.connections >= 1);
    CHECK(st.requests >= 10);
    CHECK(st.get >= 8 && st.get_many == 2 && st.observe == 3 && st.push == 1);
    CHECK_EQ_INT(st.refused_permission, 1);
    CHECK_EQ_INT(st.invalid, 1);
    CHECK(st.not_found >= 4);
    CHECK(st.bytes_sent > (10u << 20));
    CHECK_EQ_INT(st.active, 0);
}

int main(void)
{
    if (iroh_keys_init() < 0) return 1;
    log_set_stderr_level(LOG_WARN);
    uv_loop_init(&loop);
    world_start();
    RUN(test_get_sizes);
    RUN(test_ranges);
    RUN(test_collection);
    RUN(test_unknown_and_invalid);
    RUN(test_get_many);
    RUN(test_observe_and_partial);
    RUN(test_push_refused);
    RUN(test_stats);
    RUN(test_request_budget);
    RUN(test_requester_leaves);
    RUN(test_push_allowed);
    RUN(test_limits);
    RUN(test_request_timeout);
    RUN(test_stalled_reader);
    RUN(test_corruption);
    world_stop();
    uv_loop_close(&loop);
    return TEST_SUMMARY();
}
