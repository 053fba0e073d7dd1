/* blobs_observer.c — the requester side of iroh-blobs' Observe for blobs_observe.sh: dials an
 * irohd by its endpoint ticket over ALPN /iroh-bytes/4 from an endpoint of its own on
 * 127.0.0.1, sends an Observe request for a hash and prints every message as one line
 *   size=SIZE diff=B0,B1,... now=B0,B1,...
 * (the chunk-range boundaries of the change, and of the verified chunks it leaves: the XOR of
 * every change so far; "-" for none) flushed at once, so that the script can wait for each one.
 * Prints "end" and exits 0 when the provider finishes the stream (the blob is complete); exits 1 on
 * a reset, an undecodable message, a failed dial or when TIMEOUT_S seconds pass. Usage:
 * blobs_observer ENDPOINT_TICKET HASH_HEX TIMEOUT_S */
#include <iroh/error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/blobs_proto.h"
#include "core/chunk_ranges.h"
#include "core/keys.h"
#include "core/ticket.h"
#include "daemon/endpoint.h"
#include "daemon/log.h"
#include "storage/blob_store.h"

#define MAX_BOUNDS 1024

static struct {
    uv_loop_t loop;
    struct endpoint *ep;
    uint8_t hash[BLOB_HASH_LEN];
    uint8_t *in;
    size_t in_len, in_cap;
    int exit_code; /* -1 while running */
    uv_timer_t timer;
    uint64_t now_bounds[MAX_BOUNDS];
    struct iroh_chunk_ranges now; /* the verified chunks the messages so far add up to */
} o = {.exit_code = -1};

static void print_ranges(const char *name, const struct iroh_chunk_ranges *r)
{
    printf(" %s=", name);
    for (size_t i = 0; i < r->len; i++)
        printf("%s%llu", i ? "," : "", (unsigned long long)r->bounds[i]);
    if (!r->len) printf("-");
}

/* now = now XOR diff = (now - diff) ∪ (diff - now). */
static bool apply(const struct iroh_chunk_ranges *diff)
{
    static uint64_t a_bounds[MAX_BOUNDS], b_bounds[MAX_BOUNDS];
    struct iroh_chunk_ranges a, b;
    iroh_chunk_ranges_init(&a, a_bounds, MAX_BOUNDS);
    iroh_chunk_ranges_init(&b, b_bounds, MAX_BOUNDS);
    return iroh_chunk_ranges_difference(&a, &o.now, diff) >= 0 &&
           iroh_chunk_ranges_difference(&b, diff, &o.now) >= 0 &&
           iroh_chunk_ranges_union(&o.now, &a, &b) >= 0;
}

static void done(int code)
{
    if (o.exit_code < 0) o.exit_code = code;
    uv_stop(&o.loop);
}

/* Prints every whole message buffered; false on an undecodable one. */
static bool print_messages(void)
{
    static uint64_t storage[MAX_BOUNDS];
    size_t pos = 0;
    for (;;) {
        struct iroh_chunk_ranges ranges;
        iroh_chunk_ranges_init(&ranges, storage, MAX_BOUNDS);
        uint64_t size;
        int used = iroh_blobs_observe_item_decode(o.in + pos, o.in_len - pos, &size, &ranges);
        if (used < 0) return false;
        if (used == 0) break;
        pos += (size_t)used;
        if (!apply(&ranges)) return false;
        printf("size=%llu", (unsigned long long)size);
        print_ranges("diff", &ranges);
        print_ranges("now", &o.now);
        printf("\n");
        fflush(stdout);
    }
    memmove(o.in, o.in + pos, o.in_len - pos);
    o.in_len -= pos;
    return true;
}

static void on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin, void *arg)
{
    (void)arg;
    quic_stream_consume(s, len);
    if (o.in_len + len > o.in_cap) {
        o.in_cap = (o.in_len + len) * 2;
        if (!(o.in = realloc(o.in, o.in_cap))) {
            done(1);
            return;
        }
    }
    if (len) memcpy(o.in + o.in_len, data, len);
    o.in_len += len;
    if (!print_messages()) {
        fprintf(stderr, "blobs_observer: an undecodable message\n");
        done(1);
    } else if (fin) {
        printf("end\n");
        fflush(stdout);
        done(o.in_len == 0 ? 0 : 1);
    }
}

static void on_reset(struct quic_stream *s, uint64_t code, bool stop, void *arg)
{
    (void)s;
    (void)arg;
    if (stop) return; /* STOP_SENDING says nothing of the response */
    fprintf(stderr, "blobs_observer: the provider reset the stream with code %llu\n",
            (unsigned long long)code);
    done(1);
}

static void on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    (void)arg;
    done(o.exit_code < 0 ? 1 : o.exit_code);
}

static const struct quic_stream_callbacks stream_callbacks = {
    .on_data = on_data,
    .on_reset = on_reset,
    .on_close = on_close,
};

static void on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    (void)arg;
    struct quic_stream *s;
    uint8_t req[128];
    struct iroh_postcard_writer w;
    uint64_t all = 0;
    const struct iroh_chunk_ranges every = {&all, 1, 1};
    iroh_postcard_writer_init(&w, req, sizeof req);
    if (status < 0 || quic_conn_open_bi(qc, &s) < 0 ||
        iroh_blobs_observe_encode(&w, o.hash, &every) < 0) {
        fprintf(stderr, "blobs_observer: cannot dial or open a stream: %s\n", why ? why : "");
        done(1);
        return;
    }
    quic_stream_set_callbacks(s, &stream_callbacks, NULL);
    quic_stream_write(s, req, w.len);
    quic_stream_finish(s);
}

static void on_timeout(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "blobs_observer: timed out\n");
    done(1);
}

int main(int argc, char **argv)
{
    if (argc != 4 || iroh_keys_init() < 0) {
        fprintf(stderr, "usage: blobs_observer ENDPOINT_TICKET HASH_HEX TIMEOUT_S\n");
        return 2;
    }
    log_set_stderr_level(LOG_WARN);
    struct iroh_endpoint_addr addr;
    if (iroh_endpoint_ticket_decode(argv[1], strlen(argv[1]), &addr) < 0 ||
        blob_hash_parse(argv[2], o.hash) < 0) {
        fprintf(stderr, "blobs_observer: a bad ticket or hash\n");
        return 2;
    }
    uv_loop_init(&o.loop);
    iroh_chunk_ranges_init(&o.now, o.now_bounds, MAX_BOUNDS);
    struct iroh_secret_key sk;
    iroh_secret_key_generate(&sk);
    struct endpoint_options options = {.secret = &sk, .bind = "127.0.0.1:0"};
    char err[256] = "";
    if (endpoint_start(&o.loop, &options, &o.ep, err, sizeof err) < 0) {
        fprintf(stderr, "blobs_observer: endpoint_start: %s\n", err);
        return 1;
    }
    uv_timer_init(&o.loop, &o.timer);
    uv_timer_start(&o.timer, on_timeout, strtoull(argv[3], NULL, 10) * 1000, 0);
    if (endpoint_connect(o.ep, &addr, IROH_BLOBS_ALPN, on_connect, NULL) < 0) done(1);
    if (o.exit_code < 0) uv_run(&o.loop, UV_RUN_DEFAULT);
    free(o.in);
    return o.exit_code; /* the process exit closes the connection */
}
