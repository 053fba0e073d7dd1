/* blobs_fetch.c — the downloader and blobs.get; see blobs_fetch.h.
 *
 * Objects: a download (one blobs.get call) owns its providers (an address, then a
 * connection), its parts (the blobs to fetch) and its transfers (one part asked of one
 * provider on one stream). A transfer's store work runs on the thread pool: first what is
 * missing, then decoding what arrived into one batch while the previous batch is written (two
 * jobs at most); the loop only queues received bytes and gives the peer credit back.
 * Everything is freed once the call is answered and every transfer, dial, connection, job and
 * the timer has come back. */
#include "daemon/blobs_fetch.h"
#include "daemon/rpc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <iroh/error.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/blobs_proto.h"
#include "core/ticket.h"
#include "daemon/log.h"
#include "ipc/jsonrpc.h"
#include "storage/blob_collection.h"
#include "storage/blob_missing.h"

#define COMPONENT "blobs"
#define TICK_MS 100                      /* progress notifications and stall checks */
#define STALL_NS (20ull * 1000000000ull) /* a stream silent this long is given up */
/* A download of one blob: received bytes queued before credit is held back, and verified group
 * bytes written to the store at once (two batches in memory). The blobs of a hash sequence,
 * up to FETCH_MAX_PARALLEL at once, get a quarter of each. */
#define RX_HOLD_LIMIT (8u << 20)
#define BATCH_BYTES (8u << 20)
#define GROUP_LEN IROH_BAO_GROUP_LEN
#define DECODE_SHARE 8  /* a decoding job starts once 1/8 of RX_HOLD_LIMIT (or its quarter) came */
#define GBUF_ALIGN 4096 /* batches of groups are page-aligned: the store writes them O_DIRECT */
/* Batches of at least this size are aligned to it and asked to be backed by huge pages: each
 * O_DIRECT write pins the batch's pages, which took ~4 % of a downloader's CPU one 4 KiB page
 * at a time, and their first touch faulted them in one by one. */
#define GBUF_HUGE (2u << 20)
#define OUT_BLOCK (1u << 20) /* bytes per read when a range is written to a file */

struct download;

/* ---- state ---------------------------------------------------------------------------------- */

enum provider_state { PROV_IDLE, PROV_DIALING, PROV_READY, PROV_DEAD };

struct provider {
    struct download *d;
    unsigned index;
    struct iroh_endpoint_addr addr;
    enum provider_state state;
    bool dialing;         /* an endpoint_connect callback is still to come */
    struct quic_conn *qc; /* until its on_close */
    char why[256];        /* why it is dead */
};

enum part_state { PART_PENDING, PART_RUNNING, PART_DONE };

/* One blob of a download. */
struct part {
    uint8_t hash[BLOB_HASH_LEN];
    enum part_state state;
    uint32_t tried;  /* providers asked in this round (bit i: provider i) */
    unsigned rounds; /* rounds begun */
    int rc;          /* the last failure, and words for it */
    char why[300];
    uint64_t present, wanted; /* bytes of the wanted groups held / in all */
    uint64_t current;         /* bytes verified so far by the running transfer */
    uint64_t downloaded;      /* bytes stored by this download, every transfer */
};

#define RX_BUF_CAP (64 * 1024) /* received bytes are gathered in buffers of this size */

struct rx_buf {
    struct rx_buf *next;
    size_t len;
    uint8_t data[RX_BUF_CAP];
};

enum transfer_phase { T_MISSING, T_WAIT_CONN, T_STREAM };
enum transfer_job { JOB_MISSING, JOB_DECODE };

/* Verified groups and the parent pairs their paths need, on their way to the store. */
struct batch {
    struct blob_pair *pairs;
    uint64_t *pair_ends; /* end chunk of each pair's node */
    size_t npairs, pairs_cap;
    uint8_t *gbuf;      /* the groups' bytes, one after the other (page-aligned: O_DIRECT) */
    uint8_t (*cvs)[32]; /* each group's CV, as the decoder checked it */
    struct blob_group *groups;
    size_t ngroups, gbytes, gcap;
    size_t limit;      /* bytes that fill it */
    uint64_t leaf_end; /* end chunk of the last group */
};

/* One part asked of one provider. Two jobs may run at once: one decoding what arrived into
 * one batch while the other writes the previous batch to the store. */
struct transfer {
    struct download *d;
    struct transfer *next;
    struct part *part;
    struct provider *prov;
    enum transfer_phase phase;
    struct quic_stream *s; /* NULL once closed or let go */
    /* loop side: bytes received and not yet handed to the decoding */
    struct rx_buf *rx_head, *rx_tail;
    size_t rx_queued, held;         /* queued (also in the decoding's input), credit held back */
    size_t rx_new;                  /* bytes in rx_head.., not yet handed to the decoding */
    size_t hold_limit, batch_bytes; /* RX_HOLD_LIMIT, BATCH_BYTES or their quarters */
    struct rx_buf *spare;           /* used buffers to fill again */
    size_t nspare;
    bool fin, stream_closed, timed_out;
    bool conn_closed;       /* the stream ended because its connection did */
    bool rx_pending;        /* bytes arrived this loop iteration */
    uint64_t busy_since_ns; /* the connection had no stream for it since then */
    uint64_t last_rx_ns;    /* loop time (loop_ns) */
    /* the first job (what is missing), then the decoding jobs */
    uv_work_t work;
    bool working;
    enum transfer_job job;
    struct blob_missing missing;
    /* decoding: its input (owned by the job while it runs), reader, state */
    struct rx_buf *in_head, *in_tail;
    size_t in_off;        /* bytes of in_head already used */
    struct rx_buf *spent; /* buffers the job used up, reused by the loop (no page churn) */
    size_t consumed;      /* bytes the last job used */
    bool final;           /* the input holds the last bytes the stream will bring */
    bool input_done;      /* ... and they were all used */
    struct iroh_blobs_blob_reader reader;
    bool have_size, decode_done;
    uint64_t size;
    uint64_t verified; /* group bytes verified (the progress shown) */
    uint64_t failed_chunk;
    int rc;
    struct batch batch[2];
    int fill; /* the batch the decoding fills; the other one is the store's */
    /* storing */
    uv_work_t store_work;
    bool storing;
    bool created, already_complete;
    uint64_t stored; /* bytes written to the store by this transfer */
    int store_rc;
    struct blob_error err;
};

enum download_phase { D_ROOT, D_CHILDREN, D_FINISHING, D_DONE };
enum download_job { DJOB_CHILDREN, DJOB_FINISH };

struct download {
    struct blobs_fetch *bf;
    struct download *prev, *next;
    struct rpc_call *call;        /* until answered */
    struct rpc_subscription *sub; /* watches the caller */
    char *token;                  /* progress token, or NULL */
    uint64_t sent_done, sent_total;
    bool sent_any;
    /* what to fetch */
    uint8_t hash[BLOB_HASH_LEN];
    enum blob_format format;
    bool has_range;
    uint64_t range_start, range_end; /* bytes, end exclusive (UINT64_MAX: to the end) */
    uint64_t root_bounds[2];
    struct iroh_chunk_ranges root_wanted, all_wanted;
    uint64_t all_bounds[1];
    char *out, *tag;
    mode_t umask; /* the caller's, for the modes of what out writes */
    bool overwrite, no_tag;
    struct provider prov[FETCH_MAX_PROVIDERS];
    unsigned nprov;
    /* progress of the work */
    enum download_phase phase;
    struct part *parts;
    size_t nparts;
    size_t first_open; /* parts before it are done */
    struct transfer *transfers;
    unsigned running;
    bool failing; /* stop starting transfers: the call fails with rc/why */
    int rc;
    char why[512];
    /* download jobs (children list, finish) */
    uv_work_t work;
    bool working;
    enum download_job job;
    struct blob_temp_tag *temp_tag;
    uint8_t *children; /* DJOB_CHILDREN: hashes, 32 each */
    size_t nchildren;
    json_object *result;
    struct blob_error err;
    uv_timer_t timer;
    bool timer_closed;
    uv_check_t check; /* hands what arrived in one loop iteration to the decoding at once */
    bool check_closed;
};

struct blobs_fetch {
    uv_loop_t *loop;
    struct endpoint *ep;
    struct blob_store *store;
    struct blob_changes changes;
    struct download *downloads;
    unsigned active;
    bool stopping;
    size_t pending; /* downloads not yet freed */
};

static void schedule(struct download *d);
static void transfer_step(struct transfer *t);
static void transfer_after_work(uv_work_t *req, int status);
static void transfer_open_stream(struct transfer *t);
static void conclude(struct transfer *t);
static void download_maybe_free(struct download *d);

/* The loop's time of this iteration in ns: no clock read per received packet (stalls are
 * judged in seconds). */
static uint64_t loop_ns(const struct download *d)
{
    return uv_now(d->bf->loop) * 1000000ull;
}

/* ---- answering ------------------------------------------------------------------------------ */

static int code_for(int rc)
{
    switch (rc) {
    case IROH_ENOTFOUND: return JSONRPC_NOT_FOUND;
    case IROH_EINVAL: return JSONRPC_INVALID_PARAMS;
    case IROH_EEXIST: return JSONRPC_ALREADY_EXISTS;
    case IROH_EBUSY: return JSONRPC_BUSY;
    case IROH_EPERM: return JSONRPC_PERMISSION_DENIED;
    case IROH_ENOMEM: return JSONRPC_INTERNAL_ERROR;
    default: return JSONRPC_IO_ERROR;
    }
}

static void fail_call(struct rpc_call *call, int code, const char *message, const char *detail)
{
    json_object *data = json_object_new_object();
    json_object_object_add(data, "detail", json_object_new_string(detail));
    rpc_call_fail(call, code, message, data);
}

static void hex_of(const uint8_t hash[BLOB_HASH_LEN], char out[BLOB_HASH_HEX_LEN + 1])
{
    blob_hash_hex(hash, out);
}

/* Sets the download's failure (the first one wins) and stops new transfers. */
static void download_fail(struct download *d, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void download_fail(struct download *d, int rc, const char *fmt, ...)
{
    if (d->failing) return;
    d->failing = true;
    d->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof d->why, fmt, ap);
    va_end(ap);
}

/* ---- progress ----------------------------------------------------------------------------- */

static void progress_totals(const struct download *d, uint64_t *done, uint64_t *total)
{
    *done = *total = 0;
    for (size_t i = 0; i < d->nparts; i++) {
        const struct part *p = &d->parts[i];
        *done += p->present + p->current;
        *total += p->wanted;
    }
}

static void send_progress(struct download *d)
{
    if (!d->token || !d->sub) return;
    uint64_t done, total;
    progress_totals(d, &done, &total);
    if (d->sent_any && done == d->sent_done && total == d->sent_total) return;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "token", json_object_new_string(d->token));
    json_object_object_add(p, "stage", json_object_new_string("downloading"));
    rpc_add_u64(p, "done", done);
    rpc_add_u64(p, "total", total);
    if (rpc_subscription_notify(d->sub, "blobs.progress", p) == 0) {
        d->sent_any = true;
        d->sent_done = done;
        d->sent_total = total;
    }
}

static const struct quic_stream_callbacks detached_callbacks;

/* Gives up the transfer's stream now (reset, what still comes is dropped): the transfer
 * concludes once its job is back, without waiting for the peer. */
static void transfer_abandon(struct transfer *t)
{
    if (!t->s) return;
    quic_stream_reset(t->s, 0);
    quic_stream_set_callbacks(t->s, &detached_callbacks, NULL);
    t->s = NULL;
    t->stream_closed = true;
    transfer_step(t);
}

/* Retries opening streams the connection had no room for; drops streams that stayed silent
 * for STALL_NS; sends progress. */
static void on_tick(uv_timer_t *timer)
{
    struct download *d = timer->data;
    uint64_t now = loop_ns(d);
    for (struct transfer *t = d->transfers, *next; t; t = next) {
        next = t->next; /* t may conclude, and be freed, below */
        if (t->phase == T_WAIT_CONN && t->busy_since_ns && t->prov->state == PROV_READY) {
            transfer_open_stream(t); /* another try for a stream (t may be gone after it) */
            continue;
        }
        if (t->phase != T_STREAM || !t->s || t->fin || now - t->last_rx_ns < STALL_NS) continue;
        t->timed_out = true;
        transfer_abandon(t);
    }
    send_progress(d);
}

/* ---- providers ---------------------------------------------------------------------------- */

static void provider_kill(struct provider *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void provider_kill(struct provider *p, const char *fmt, ...)
{
    if (p->state == PROV_DEAD) return;
    p->state = PROV_DEAD;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, sizeof p->why, fmt, ap);
    va_end(ap);
    if (p->qc) quic_conn_close(p->qc, 1, "cut off");
}

static void provider_on_close(struct quic_conn *qc, int status, void *arg)
{
    struct provider *p = arg;
    if (p->state != PROV_DEAD)
        provider_kill(p, "the connection closed (%s): %s", iroh_strerror(status),
                      quic_conn_error(qc));
    p->qc = NULL;
    struct download *d = p->d;
    /* Transfers still waiting for it were never given a stream. */
    for (struct transfer *t = d->transfers, *next; t; t = next) {
        next = t->next; /* t may conclude, and be freed, below */
        if (t->prov != p || t->phase != T_WAIT_CONN) continue;
        t->rc = IROH_ECLOSED;
        t->phase = T_STREAM;
        t->stream_closed = true;
        transfer_step(t);
    }
    download_maybe_free(d);
}

static const struct quic_conn_callbacks provider_conn_callbacks = {.on_close = provider_on_close};

static void provider_on_connect(struct quic_conn *qc, int status, const char *why, void *arg)
{
    struct provider *p = arg;
    struct download *d = p->d;
    p->dialing = false;
    if (status < 0) {
        provider_kill(p, "cannot connect: %s", why);
    } else {
        p->qc = qc;
        quic_conn_set_callbacks(qc, &provider_conn_callbacks, p);
        if (p->state == PROV_DEAD || d->phase == D_DONE)
            quic_conn_close(qc, 0, "not needed");
        else
            p->state = PROV_READY;
    }
    for (struct transfer *t = d->transfers, *next; t; t = next) {
        next = t->next; /* t may conclude, and be freed, below */
        if (t->prov != p || t->phase != T_WAIT_CONN) continue;
        if (p->state == PROV_READY) {
            transfer_open_stream(t);
        } else {
            t->rc = IROH_ECLOSED;
            t->phase = T_STREAM;
            t->stream_closed = true;
            transfer_step(t);
        }
    }
    download_maybe_free(d);
}

/* Starts dialing p if nobody has. Returns 0, or an error with p dead. */
static int provider_dial(struct provider *p)
{
    if (p->state != PROV_IDLE) return p->state == PROV_DEAD ? IROH_ECLOSED : 0;
    int rc = endpoint_connect(p->d->bf->ep, &p->addr, IROH_BLOBS_ALPN, provider_on_connect, p);
    if (rc < 0) {
        provider_kill(p, "cannot dial it: %s",
                      rc == IROH_ENOTFOUND ? "it has no relay and no direct address of an IP "
                                             "family we can reach"
                      : rc == IROH_EINVAL  ? "it is this node, which lacks the blob"
                                           : iroh_strerror(rc));
        return rc;
    }
    p->state = PROV_DIALING;
    p->dialing = true;
    return 0;
}

/* ---- the transfer's job: decoding and storing ------------------------------------------- */

static int add_pair(struct batch *b, const struct blob_pair *pair, uint64_t end)
{
    if (b->npairs == b->pairs_cap) {
        size_t cap = b->pairs_cap ? b->pairs_cap * 2 : 64;
        struct blob_pair *p = realloc(b->pairs, cap * sizeof *p);
        if (p) b->pairs = p;
        uint64_t *e = p ? realloc(b->pair_ends, cap * sizeof *e) : NULL;
        if (!p || !e) return IROH_ENOMEM;
        b->pair_ends = e;
        b->pairs_cap = cap;
    }
    b->pairs[b->npairs] = *pair;
    b->pair_ends[b->npairs++] = end;
    return 0;
}

static bool batch_full(const struct batch *b)
{
    return b->ngroups > 0 && (b->ngroups == b->gcap || b->gbytes >= b->limit);
}

static void batch_free(struct batch *b)
{
    free(b->pairs);
    free(b->pair_ends);
    free(b->gbuf);
    free(b->cvs);
    free(b->groups);
}

/* Room for a batch's groups: page-aligned, in huge pages where it is large enough. */
static uint8_t *batch_alloc(size_t len)
{
    if (len < GBUF_HUGE) return aligned_alloc(GBUF_ALIGN, len);
    void *p = NULL;
    if (posix_memalign(&p, GBUF_HUGE, len) != 0) return NULL;
    madvise(p, len / GBUF_HUGE * GBUF_HUGE, MADV_HUGEPAGE); /* a hint: fine if refused */
    return p;
}

/* A verified leaf: one whole chunk group, since only whole groups are ever asked for. */
static int add_leaf(struct transfer *t, struct batch *b, const struct iroh_bao_item *item)
{
    uint64_t index = item->start_chunk / IROH_BAO_GROUP_CHUNKS;
    if (item->start_chunk % IROH_BAO_GROUP_CHUNKS ||
        item->len != iroh_bao_group_len(t->size, index))
        return IROH_EPROTO;
    if (!b->gbuf) {
        /* Room for one batch, less for a small blob. */
        uint64_t need = t->size < t->batch_bytes ? t->size : t->batch_bytes;
        b->limit = (size_t)need;
        b->gcap = (size_t)need / GROUP_LEN + 2;
        b->gbuf = batch_alloc(b->gcap * GROUP_LEN);
        b->cvs = malloc(b->gcap * sizeof *b->cvs);
        b->groups = malloc(b->gcap * sizeof *b->groups);
        if (!b->gbuf || !b->cvs || !b->groups) return IROH_ENOMEM;
    }
    /* Groups are whole 16 KiB apart, so every full one stays page-aligned. */
    uint8_t *slot = b->gbuf + b->ngroups * GROUP_LEN;
    memcpy(slot, item->bytes, item->len);
    memcpy(b->cvs[b->ngroups], item->cv, 32);
    b->groups[b->ngroups] = (struct blob_group){index, slot, item->len, b->cvs[b->ngroups]};
    b->ngroups++;
    b->gbytes += item->len;
    b->leaf_end = item->start_chunk + item->chunks;
    t->verified += item->len;
    return 0;
}

/* The decoding job: feeds the input to the reader until it is used up, the body is complete or
 * failed, or the batch is full. */
static void decode(struct transfer *t)
{
    static const uint8_t nothing[1]; /* the empty last feed lets the reader see the end */
    struct batch *bt = &t->batch[t->fill];
    t->consumed = 0;
    while (!t->decode_done && t->rc == 0 && !batch_full(bt)) {
        struct rx_buf *b = t->in_head;
        size_t len = b ? b->len - t->in_off : 0, used = 0;
        struct iroh_bao_item item;
        int r = iroh_blobs_blob_reader_next(&t->reader, b ? b->data + t->in_off : nothing, len,
                                            &used, &item);
        t->in_off += used;
        t->consumed += used;
        if (r == IROH_BLOBS_SIZE) {
            t->size = t->reader.size;
            t->have_size = true;
        } else if (r == IROH_BAO_ITEM && item.kind == IROH_BAO_ITEM_LEAF) {
            t->rc = add_leaf(t, bt, &item);
        } else if (r == IROH_BAO_ITEM && item.offset != UINT64_MAX) {
            struct blob_pair pair = {.offset = item.offset};
            memcpy(pair.pair, item.bytes, IROH_BAO_PAIR_LEN);
            t->rc = add_pair(bt, &pair, item.start_chunk + item.chunks);
        } else if (r == IROH_BAO_ITEM) {
            /* a pair inside a group: only partly asked groups have them, never asked for */
        } else if (r == IROH_BAO_DONE) {
            t->decode_done = true;
        } else if (r == IROH_BAO_NEED_INPUT) {
            if (!b) {
                t->input_done = t->final;
                break;
            }
            t->in_head = b->next;
            if (!t->in_head) t->in_tail = NULL;
            t->in_off = 0;
            b->next = t->spent;
            t->spent = b;
        } else {
            t->rc = r;
            t->failed_chunk = iroh_bao_decoder_failed_chunk(&t->reader.decoder);
        }
    }
    if (t->rc == 0 && !t->decode_done && t->input_done) t->rc = IROH_ENOTFOUND; /* ended early */
}

static void transfer_work(uv_work_t *req)
{
    struct transfer *t = req->data;
    struct download *d = t->d;
    if (t->job == JOB_DECODE) {
        decode(t);
        return;
    }
    if (t->part == &d->parts[0] && !d->temp_tag) /* protect the root while it is fetched */
        t->rc = blob_temp_tag_new(d->bf->store, d->hash, d->format, &d->temp_tag);
    if (t->rc == 0)
        t->rc = blob_store_missing(d->bf->store, t->part->hash,
                                   t->part == &d->parts[0] ? &d->root_wanted : &d->all_wanted,
                                   &t->missing, &t->err);
    if (t->rc < 0) t->store_rc = t->rc;
}

/* The store job: writes the batch not being filled; the pairs later groups need were already
 * carried into the other one. */
static void store_work(uv_work_t *req)
{
    struct transfer *t = req->data;
    struct blob_store *store = t->d->bf->store;
    struct batch *b = &t->batch[!t->fill];
    int rc = 0;
    if (!t->created) {
        rc = blob_store_partial_create(store, t->part->hash, t->size, &t->err);
        if (rc == 1) t->already_complete = true;
        if (rc == IROH_EINVAL) rc = IROH_EPROTO; /* its size differs from a verified one */
        if (rc >= 0) t->created = true;
    }
    if (rc >= 0 && !t->already_complete) {
        rc = blob_store_partial_write(store, t->part->hash, b->pairs, b->npairs, b->groups,
                                      b->ngroups, &t->err);
        if (rc == 1) t->already_complete = true;
    }
    if (rc >= 0) t->stored += b->gbytes;
    t->store_rc = rc < 0 ? rc : 0;
    b->npairs = b->ngroups = b->gbytes = 0;
}

static void transfer_step(struct transfer *t);

static void store_done(uv_work_t *req, int status)
{
    struct transfer *t = req->data;
    (void)status;
    t->storing = false;
    /* Observers hear of the batch, even after an error: what was written before it stays. */
    blob_changes_notify(&t->d->bf->changes, t->part->hash);
    if (t->store_rc == IROH_EPROTO || t->store_rc == IROH_ECORRUPT) {
        /* the provider's data, not our store: cut it off */
        if (t->rc == 0) t->rc = t->store_rc;
        t->store_rc = 0;
    }
    transfer_step(t);
}

/* Hands the full (or last) batch to the store and carries the pairs whose nodes reach past
 * its last group into the batch filled next. */
static void start_store(struct transfer *t)
{
    struct batch *full = &t->batch[t->fill], *next = &t->batch[!t->fill];
    for (size_t i = 0; i < full->npairs && t->rc >= 0; i++)
        if (full->pair_ends[i] > full->leaf_end)
            t->rc = add_pair(next, &full->pairs[i], full->pair_ends[i]);
    t->fill = !t->fill;
    t->storing = true;
    t->store_work.data = t;
    uv_queue_work(t->d->bf->loop, &t->store_work, store_work, store_done);
}

static void start_decode(struct transfer *t)
{
    t->rx_new = 0;
    if (t->rx_head) { /* what arrived joins the input */
        if (t->in_tail)
            t->in_tail->next = t->rx_head;
        else
            t->in_head = t->rx_head;
        t->in_tail = t->rx_tail;
        t->rx_head = t->rx_tail = NULL;
    }
    t->final = t->fin || t->stream_closed;
    t->job = JOB_DECODE;
    t->working = true;
    uv_queue_work(t->d->bf->loop, &t->work, transfer_work, transfer_after_work);
}

/* Moves the transfer on after any event: a batch to the store, more input to the decoding,
 * or the end once both are idle. Fields a running job writes are read only once it is back. */
static void transfer_step(struct transfer *t)
{
    if (t->phase != T_STREAM || t->working) return;
    bool store_failed = !t->storing && t->store_rc < 0;
    bool over = t->decode_done || t->input_done || t->rc < 0 || store_failed;
    struct batch *f = &t->batch[t->fill];
    if (!t->storing && !store_failed && f->ngroups > 0 && (batch_full(f) || over)) start_store(t);
    over = over || t->rc < 0;
    f = &t->batch[t->fill];
    /* A decoding job gets at least a DECODE_SHARE of the credit's worth of new bytes (fewer
     * round trips to the pool), or what is left when the stream is over. */
    bool input = t->in_head || t->fin || t->stream_closed ||
                 (t->rx_head && t->rx_new >= t->hold_limit / DECODE_SHARE);
    if (!over && !batch_full(f) && input)
        start_decode(t);
    else if (over && !t->storing)
        conclude(t);
}

static void rx_free(struct rx_buf *b)
{
    while (b) {
        struct rx_buf *next = b->next;
        free(b);
        b = next;
    }
}

static void transfer_after_work(uv_work_t *req, int status)
{
    struct transfer *t = req->data;
    (void)status;
    t->working = false;
    if (t->job == JOB_MISSING) {
        struct part *p = t->part;
        p->present = t->missing.present_bytes;
        p->wanted = t->missing.wanted_bytes;
        p->current = 0;
        if (t->rc < 0 || iroh_chunk_ranges_is_empty(&t->missing.ranges)) {
            t->decode_done = t->rc == 0; /* nothing to ask for */
            conclude(t);
            return;
        }
        if (t->d->failing) {
            t->rc = IROH_ECLOSED;
            conclude(t);
            return;
        }
        t->phase = T_WAIT_CONN;
        if (t->prov->state == PROV_READY)
            transfer_open_stream(t);
        else if (provider_dial(t->prov) < 0) {
            t->rc = IROH_ECLOSED;
            conclude(t);
        }
        return;
    }
    t->rx_queued -= t->consumed;
    t->part->current = t->verified; /* one transfer per part at a time */
    while (t->spent) {              /* kept for the bytes still to come, up to the credit limit */
        struct rx_buf *b = t->spent;
        t->spent = b->next;
        if (t->nspare * RX_BUF_CAP < t->hold_limit) {
            b->next = t->spare;
            t->spare = b;
            t->nspare++;
        } else {
            free(b);
        }
    }
    if (t->held && t->s && t->rx_queued <= t->hold_limit) {
        quic_stream_consume(t->s, t->held);
        t->held = 0;
    }
    if (t->have_size && !t->missing.known) {
        /* Now the size is known: what the wanted ranges are in bytes. */
        struct download *d = t->d;
        uint64_t start = 0, end = t->size;
        if (t->part == &d->parts[0] && d->has_range) {
            start = d->range_start / GROUP_LEN * GROUP_LEN;
            end = d->range_end < t->size ? d->range_end : t->size;
        }
        t->part->wanted = end > start ? end - start : 0;
    }
    transfer_step(t);
}

/* ---- the stream ----------------------------------------------------------------------------- */

/* After the loop's I/O: the transfers that received bytes move on. */
static void on_check(uv_check_t *check)
{
    struct download *d = check->data;
    uv_check_stop(check);
    for (struct transfer *t = d->transfers, *next; t; t = next) {
        next = t->next; /* t may conclude, and be freed, below */
        if (!t->rx_pending) continue;
        t->rx_pending = false;
        transfer_step(t);
    }
}

static void stream_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                           void *arg)
{
    struct transfer *t = arg;
    t->last_rx_ns = loop_ns(t->d);
    for (size_t off = 0; off < len;) {
        struct rx_buf *b = t->rx_tail;
        if (!b || b->len == RX_BUF_CAP) {
            if (t->spare) {
                b = t->spare;
                t->spare = b->next;
                t->nspare--;
            } else if (!(b = malloc(sizeof *b))) {
                quic_stream_consume(s, len - off);
                transfer_abandon(t); /* the provider is passed over for this part */
                return;
            }
            b->next = NULL;
            b->len = 0;
            if (t->rx_tail)
                t->rx_tail->next = b;
            else
                t->rx_head = b;
            t->rx_tail = b;
        }
        size_t n = len - off < RX_BUF_CAP - b->len ? len - off : RX_BUF_CAP - b->len;
        memcpy(b->data + b->len, data + off, n);
        b->len += n;
        off += n;
    }
    t->rx_queued += len;
    t->rx_new += len;
    if (t->rx_queued <= t->hold_limit)
        quic_stream_consume(s, len);
    else
        t->held += len; /* given back when the jobs catch up */
    if (fin) t->fin = true;
    /* The decoding gets everything this loop iteration brings at once (one job, not one per
     * packet). */
    t->rx_pending = true;
    uv_check_start(&t->d->check, on_check);
}

static void stream_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    struct transfer *t = arg;
    t->conn_closed = status != IROH_OK && app_error == 0 && *quic_conn_error(quic_stream_conn(s));
    t->s = NULL;
    t->stream_closed = true;
    transfer_step(t);
}

static const struct quic_stream_callbacks stream_callbacks = {
    .on_data = stream_on_data,
    .on_close = stream_on_close,
};

/* A stream whose transfer has concluded: what still comes is credited and dropped. */
static void detached_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                             void *arg)
{
    (void)data;
    (void)fin;
    (void)arg;
    quic_stream_consume(s, len);
}

static void detached_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    (void)arg;
}

static const struct quic_stream_callbacks detached_callbacks = {
    .on_data = detached_on_data,
    .on_close = detached_on_close,
};

/* Sends the request for what the part lacks: a Get of the blob with only its ranges. */
static void transfer_open_stream(struct transfer *t)
{
    int rc = t->d->failing ? IROH_ECLOSED : quic_conn_open_bi(t->prov->qc, &t->s);
    if (rc == IROH_EBUSY && (!t->busy_since_ns || uv_hrtime() - t->busy_since_ns < STALL_NS)) {
        /* The peer allows no more streams until it has seen ours close: on_tick retries. */
        if (!t->busy_since_ns) t->busy_since_ns = uv_hrtime();
        t->s = NULL;
        return;
    }
    t->phase = T_STREAM;
    if (rc < 0) {
        t->s = NULL;
        t->rc = rc;
        t->stream_closed = true;
        transfer_step(t);
        return;
    }
    quic_stream_set_callbacks(t->s, &stream_callbacks, t);
    t->last_rx_ns = loop_ns(t->d);
    struct iroh_chunk_ranges *ranges = &t->missing.ranges;
    size_t cap = 1 + IROH_BLOBS_HASH_LEN + 2 * IROH_POSTCARD_VARINT_MAX_U64 +
                 IROH_RANGE_SPEC_MAX_LEN(ranges->len) + IROH_RANGE_SPEC_MAX_LEN(0);
    uint8_t *req = malloc(cap);
    struct iroh_postcard_writer w;
    rc = req ? 0 : IROH_ENOMEM;
    if (rc == 0) {
        iroh_postcard_writer_init(&w, req, cap);
        rc = iroh_blobs_get_header(&w, t->part->hash);
    }
    if (rc == 0) rc = iroh_range_seq_encode_from_ranges(&w, ranges, 1, false);
    if (rc == 0 && w.len > IROH_BLOBS_MAX_MESSAGE_SIZE) {
        /* Too fragmented to name: ask from the first missing group on (held groups that
         * come again are skipped by the store). */
        uint64_t first = ranges->bounds[0];
        iroh_chunk_ranges_set_from(ranges, first);
        iroh_postcard_writer_init(&w, req, cap);
        rc = iroh_blobs_get_header(&w, t->part->hash);
        if (rc == 0) rc = iroh_range_seq_encode_from_ranges(&w, ranges, 1, false);
    }
    long wrote = rc == 0 ? quic_stream_write(t->s, req, w.len) : rc;
    free(req);
    if (wrote < 0 || quic_stream_finish(t->s) < 0) {
        t->rc = wrote < 0 ? (int)wrote : IROH_ECLOSED;
        quic_stream_reset(t->s, 0); /* on_close follows and concludes */
        return;
    }
    iroh_blobs_blob_reader_init(&t->reader, t->part->hash, ranges);
}

/* ---- transfers: start and conclusion ----------------------------------------------------- */

static void transfer_free(struct transfer *t)
{
    rx_free(t->rx_head);
    rx_free(t->in_head);
    rx_free(t->spent);
    rx_free(t->spare);
    blob_missing_free(&t->missing);
    batch_free(&t->batch[0]);
    batch_free(&t->batch[1]);
    free(t);
}

static void transfer_start(struct download *d, struct part *p, struct provider *prov)
{
    struct transfer *t = calloc(1, sizeof *t);
    if (!t) {
        download_fail(d, IROH_ENOMEM, "out of memory");
        return;
    }
    t->d = d;
    t->part = p;
    t->prov = prov;
    t->phase = T_MISSING;
    t->work.data = t;
    unsigned share = d->nparts > 1 ? 4 : 1;
    t->hold_limit = RX_HOLD_LIMIT / share;
    t->batch_bytes = BATCH_BYTES / share;
    t->next = d->transfers;
    d->transfers = t;
    d->running++;
    p->state = PART_RUNNING;
    p->tried |= 1u << prov->index;
    if (prov->state == PROV_IDLE) provider_dial(prov); /* dial while the store is asked */
    t->job = JOB_MISSING;
    t->working = true;
    uv_queue_work(d->bf->loop, &t->work, transfer_work, transfer_after_work);
}

static const char *hash_short(const uint8_t hash[BLOB_HASH_LEN], char buf[13])
{
    char hex[BLOB_HASH_HEX_LEN + 1];
    hex_of(hash, hex);
    memcpy(buf, hex, 12);
    buf[12] = 0;
    return buf;
}

static const char *provider_name(const struct provider *p, char buf[13])
{
    char hex[IROH_KEY_HEX_LEN + 1];
    iroh_public_key_format_hex(&p->addr.id, hex, sizeof hex);
    memcpy(buf, hex, 12);
    buf[12] = 0;
    return buf;
}

/* The transfer is over: its outcome goes to its part (and provider), it is freed. */
static void conclude(struct transfer *t)
{
    struct download *d = t->d;
    struct part *p = t->part;
    struct provider *prov = t->prov;
    if (t->s) {
        if (!t->fin) quic_stream_stop(t->s, 0);
        quic_stream_set_callbacks(t->s, &detached_callbacks, NULL);
        t->s = NULL;
    }
    for (struct transfer **pp = &d->transfers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    d->running--;
    p->present += t->stored;
    p->current = 0;
    p->downloaded += t->stored;
    char hs[13], ps[13];
    int rc = t->timed_out ? IROH_ETIMEDOUT : t->rc;
    if (rc == IROH_ENOTFOUND && t->conn_closed) rc = IROH_ECLOSED; /* not the provider's word */
    if (t->store_rc < 0) {
        /* Our side failed (disk, memory): no provider can help. */
        download_fail(d, t->store_rc, "cannot store blob %s: %s", hash_short(p->hash, hs),
                      t->err.detail[0] ? t->err.detail : iroh_strerror(t->store_rc));
    } else if (rc == 0 && (t->decode_done || t->already_complete)) {
        p->state = PART_DONE;
        if (t->stored)
            log_debug(COMPONENT, "got %llu bytes of %s from %s", (unsigned long long)t->stored,
                      hash_short(p->hash, hs), provider_name(prov, ps));
    } else {
        p->state = PART_PENDING;
        p->rc = rc;
        switch (rc) {
        case IROH_ECORRUPT:
        case IROH_EPROTO:
            snprintf(p->why, sizeof p->why,
                     "provider %s sent data for blob %s that does not verify (at chunk %llu); it "
                     "was cut off",
                     provider_name(prov, ps), hash_short(p->hash, hs),
                     (unsigned long long)t->failed_chunk);
            log_warn(COMPONENT, "%s", p->why);
            provider_kill(prov, "it sent data that does not verify");
            break;
        case IROH_ENOTFOUND:
            snprintf(p->why, sizeof p->why, "provider %s does not have %s of blob %s",
                     provider_name(prov, ps), t->have_size ? "all" : "any",
                     hash_short(p->hash, hs));
            break;
        case IROH_ETIMEDOUT:
            snprintf(p->why, sizeof p->why, "provider %s sent nothing for %llu s",
                     provider_name(prov, ps), STALL_NS / 1000000000ull);
            provider_kill(prov, "it stalled");
            break;
        default:
            snprintf(p->why, sizeof p->why, "provider %s: %s", provider_name(prov, ps),
                     prov->state == PROV_DEAD ? prov->why : iroh_strerror(rc));
            break;
        }
        log_debug(COMPONENT, "%s", p->why);
    }
    transfer_free(t);
    schedule(d);
}

/* ---- the download ------------------------------------------------------------------------- */

static void download_job_work(uv_work_t *req);
static void download_job_done(uv_work_t *req, int status);

static void download_job(struct download *d, enum download_job job)
{
    d->job = job;
    d->working = true;
    uv_queue_work(d->bf->loop, &d->work, download_job_work, download_job_done);
}

/* Picks a live provider part i has not asked in this round, starting at i mod n; begins a new
 * round when all were asked. NULL when none is left. */
static struct provider *pick_provider(struct download *d, size_t i)
{
    struct part *p = &d->parts[i];
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned k = 0; k < d->nprov; k++) {
            struct provider *prov = &d->prov[(i + k) % d->nprov];
            if (prov->state != PROV_DEAD && !(p->tried & (1u << prov->index))) {
                if (p->tried == 0) p->rounds++;
                return prov;
            }
        }
        if (p->rounds >= FETCH_MAX_ROUNDS) break;
        p->tried = 0; /* everyone live was asked: another round */
    }
    return NULL;
}

static void schedule(struct download *d)
{
    if (d->phase == D_DONE || d->working) return;
    while (d->first_open < d->nparts && d->parts[d->first_open].state == PART_DONE)
        d->first_open++;
    bool all_done = d->first_open == d->nparts;
    for (size_t i = d->first_open; i < d->nparts && !d->failing && d->running < FETCH_MAX_PARALLEL;
         i++) {
        struct part *p = &d->parts[i];
        if (p->state != PART_PENDING) continue;
        struct provider *prov = pick_provider(d, i);
        if (prov) {
            transfer_start(d, p, prov);
            continue;
        }
        char hs[13];
        if (p->rc == 0) /* never failed, yet nobody is left: every provider is dead */
            snprintf(p->why, sizeof p->why, "no provider could be reached");
        download_fail(d, p->rc == IROH_ENOTFOUND ? IROH_ENOTFOUND : IROH_EIO,
                      "cannot get blob %s: %s", hash_short(p->hash, hs), p->why);
    }
    if (d->running) return;
    if (d->failing) {
        d->phase = D_FINISHING;
        download_job(d, DJOB_FINISH); /* drops the temp tag, answers the failure */
        return;
    }
    if (!all_done) return;
    if (d->phase == D_ROOT && d->format == BLOB_FORMAT_HASH_SEQ) {
        download_job(d, DJOB_CHILDREN);
        return;
    }
    d->phase = D_FINISHING;
    download_job(d, DJOB_FINISH);
}

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, BLOB_HASH_LEN);
}

/* The children listed by the (complete) root, each once. */
static void work_children(struct download *d)
{
    struct blob_store *s = d->bf->store;
    struct blob_reader *r;
    d->rc = blob_store_reader_open(s, d->hash, &r, &d->err);
    if (d->rc < 0) return;
    uint64_t size = blob_reader_size(r);
    if (size % BLOB_HASH_LEN) {
        snprintf(d->err.detail, sizeof d->err.detail,
                 "the blob has %llu bytes: a hash sequence is a multiple of 32 bytes",
                 (unsigned long long)size);
        d->rc = IROH_EINVAL;
    } else if (!(d->children = malloc(size ? size : 1))) {
        d->rc = IROH_ENOMEM;
    } else {
        int64_t got = blob_reader_read(r, 0, d->children, size, &d->err);
        d->rc = got < 0 ? (int)got : got == (int64_t)size ? 0 : IROH_EIO;
    }
    blob_reader_close(r);
    if (d->rc < 0) return;
    size_t n = size / BLOB_HASH_LEN, k = 0;
    qsort(d->children, n, BLOB_HASH_LEN, hash_cmp);
    for (size_t i = 0; i < n; i++)
        if (k == 0 || memcmp(d->children + (k - 1) * BLOB_HASH_LEN, d->children + i * BLOB_HASH_LEN,
                             BLOB_HASH_LEN) != 0)
            memmove(d->children + k++ * BLOB_HASH_LEN, d->children + i * BLOB_HASH_LEN,
                    BLOB_HASH_LEN);
    d->nchildren = k;
}

/* Writes bytes [start, end) of a (partial) blob to path. */
static int write_range(struct download *d, const char *path, uint64_t start, uint64_t end)
{
    struct blob_reader *r;
    int rc = blob_store_reader_open(d->bf->store, d->hash, &r, &d->err);
    if (rc < 0) return rc;
    uint64_t size = blob_reader_size(r);
    if (end > size) end = size;
    if (start > end) start = end;
    int fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (d->overwrite ? 0 : O_EXCL), 0600);
    if (fd >= 0) fchmod(fd, 0666 & ~d->umask); /* irohd's own umask is 077 */
    uint8_t *buf = fd >= 0 ? malloc(OUT_BLOCK) : NULL;
    if (fd < 0 || !buf) {
        rc = fd < 0 && errno == EEXIST ? IROH_EEXIST : IROH_EIO;
        snprintf(d->err.detail, sizeof d->err.detail, "cannot write %s: %s", path,
                 rc == IROH_EEXIST ? "it exists; pass overwrite to replace it" : strerror(errno));
    }
    for (uint64_t at = start; rc == 0 && at < end;) {
        size_t n = end - at < OUT_BLOCK ? (size_t)(end - at) : OUT_BLOCK;
        int64_t got = blob_reader_read(r, at, buf, n, &d->err);
        if (got <= 0) {
            rc = got < 0 ? (int)got : IROH_EIO;
            break;
        }
        for (size_t off = 0; off < (size_t)got;) {
            ssize_t w = write(fd, buf + off, (size_t)got - off);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                snprintf(d->err.detail, sizeof d->err.detail, "cannot write %s: %s", path,
                         strerror(errno));
                rc = IROH_EIO;
                break;
            }
            off += (size_t)w;
        }
        at += (uint64_t)got;
    }
    if (rc == 0 && fsync(fd) < 0) {
        snprintf(d->err.detail, sizeof d->err.detail, "cannot sync %s: %s", path, strerror(errno));
        rc = IROH_EIO;
    }
    if (fd >= 0) close(fd);
    free(buf);
    blob_reader_close(r);
    return rc;
}

/* Tags the root, writes out, and builds the result. */
static void work_finish(struct download *d)
{
    struct blob_store *s = d->bf->store;
    json_object *r = json_object_new_object();
    char name[64];
    const char *tag = NULL;
    struct blob_status st;
    d->rc = blob_store_status(s, d->hash, &st, &d->err);
    if (d->rc == 0 && d->tag) {
        d->rc = blob_store_tag_set(s, d->tag, d->hash, d->format, &d->err);
        tag = d->tag;
    } else if (d->rc == 0 && !d->no_tag) {
        d->rc = blob_store_tag_create(s, d->hash, d->format, name, sizeof name, &d->err);
        tag = name;
    }
    uint64_t files = 0, written = 0;
    bool as_dir = false;
    if (d->rc == 0 && d->out) {
        if (d->format == BLOB_FORMAT_HASH_SEQ) {
            struct blob_collection *c;
            d->rc = blob_collection_load(s, d->hash, &c, &d->err);
            if (d->rc == 0) {
                struct blob_collection_exported ex;
                d->rc = blob_collection_export(s, c, d->out, d->overwrite, d->umask, NULL, &ex,
                                               &d->err);
                blob_collection_free(c);
                files = ex.files;
                written = ex.total_size;
                as_dir = true;
            }
        } else if (d->has_range) {
            d->rc = write_range(d, d->out, d->range_start, d->range_end);
            files = 1;
            struct stat fst;
            if (d->rc == 0 && stat(d->out, &fst) == 0) written = (uint64_t)fst.st_size;
        } else {
            struct stat fst;
            if (!d->overwrite && lstat(d->out, &fst) == 0) {
                snprintf(d->err.detail, sizeof d->err.detail,
                         "%s exists; pass overwrite to replace it", d->out);
                d->rc = IROH_EEXIST;
            } else {
                d->rc = blob_store_export(s, d->hash, d->out, d->umask, NULL, &written, &d->err);
                files = 1;
            }
        }
    }
    if (d->rc < 0) {
        json_object_put(r);
        return;
    }
    char hex[BLOB_HASH_HEX_LEN + 1];
    hex_of(d->hash, hex);
    json_object_object_add(r, "hash", json_object_new_string(hex));
    json_object_object_add(r, "format", json_object_new_string(blob_format_name(d->format)));
    rpc_add_u64(r, "size", st.size);
    json_object_object_add(r, "complete", json_object_new_boolean(st.complete));
    json_object_object_add(r, "tag", tag ? json_object_new_string(tag) : NULL);
    if (d->out) {
        json_object_object_add(r, "path", json_object_new_string(d->out));
        rpc_add_u64(r, "files", files);
        rpc_add_u64(r, "written", written);
        json_object_object_add(r, "collection", json_object_new_boolean(as_dir));
    }
    d->result = r;
}

static void download_job_work(uv_work_t *req)
{
    struct download *d = req->data;
    if (d->job == DJOB_CHILDREN) {
        work_children(d);
        return;
    }
    if (!d->failing) work_finish(d);
    blob_temp_tag_drop(d->bf->store, d->temp_tag);
    d->temp_tag = NULL;
}

static void answer(struct download *d)
{
    struct blobs_fetch *bf = d->bf;
    if (d->sub) {
        send_progress(d);
        rpc_subscription_end(d->sub);
        d->sub = NULL;
    }
    char hex[BLOB_HASH_HEX_LEN + 1];
    hex_of(d->hash, hex);
    if (d->failing || d->rc < 0) {
        int rc = d->rc;
        const char *detail = d->failing         ? d->why
                             : d->err.detail[0] ? d->err.detail
                                                : iroh_strerror(d->rc);
        if (bf->stopping)
            fail_call(d->call, JSONRPC_SHUTTING_DOWN, "irohd is shutting down", detail);
        else
            fail_call(d->call, code_for(rc), "cannot get the blob", detail);
        log_info(COMPONENT, "download of %s failed: %s", hex, detail);
    } else {
        uint64_t done, total, got = 0;
        progress_totals(d, &done, &total);
        for (size_t i = 0; i < d->nparts; i++)
            got += d->parts[i].downloaded;
        rpc_add_u64(d->result, "blobs", d->nparts);
        rpc_add_u64(d->result, "total_size", total);
        rpc_add_u64(d->result, "downloaded", got);
        log_info(COMPONENT, "downloaded %s: %zu blobs, %llu bytes fetched", hex, d->nparts,
                 (unsigned long long)got);
        rpc_call_reply(d->call, d->result, NULL, 0);
        d->result = NULL;
    }
    d->call = NULL;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct download *d = h->data;
    d->timer_closed = true;
    download_maybe_free(d);
}

static void on_check_closed(uv_handle_t *h)
{
    struct download *d = h->data;
    d->check_closed = true;
    download_maybe_free(d);
}

static void download_job_done(uv_work_t *req, int status)
{
    struct download *d = req->data;
    (void)status;
    d->working = false;
    if (d->job == DJOB_CHILDREN) {
        if (d->rc < 0) {
            download_fail(d, d->rc, "the root is not a hash sequence: %s", d->err.detail);
        } else {
            struct part *parts = realloc(d->parts, (1 + d->nchildren) * sizeof *parts);
            if (!parts) {
                download_fail(d, IROH_ENOMEM, "out of memory");
            } else {
                d->parts = parts;
                for (size_t i = 0; i < d->nchildren; i++) {
                    struct part *p = &d->parts[1 + i];
                    memset(p, 0, sizeof *p);
                    memcpy(p->hash, d->children + i * BLOB_HASH_LEN, BLOB_HASH_LEN);
                }
                d->nparts = 1 + d->nchildren;
            }
        }
        free(d->children);
        d->children = NULL;
        d->phase = D_CHILDREN;
        schedule(d);
        return;
    }
    d->phase = D_DONE;
    answer(d);
    for (unsigned i = 0; i < d->nprov; i++)
        if (d->prov[i].qc) quic_conn_close(d->prov[i].qc, 0, "done");
    uv_close((uv_handle_t *)&d->timer, on_timer_closed);
    uv_close((uv_handle_t *)&d->check, on_check_closed);
    download_maybe_free(d);
}

static void download_maybe_free(struct download *d)
{
    if (d->phase != D_DONE || d->working || d->transfers || !d->timer_closed || !d->check_closed)
        return;
    for (unsigned i = 0; i < d->nprov; i++)
        if (d->prov[i].dialing || d->prov[i].qc) return;
    struct blobs_fetch *bf = d->bf;
    if (d->prev)
        d->prev->next = d->next;
    else
        bf->downloads = d->next;
    if (d->next) d->next->prev = d->prev;
    bf->active--;
    free(d->parts);
    free(d->token);
    free(d->out);
    free(d->tag);
    json_object_put(d->result);
    free(d);
    if (--bf->pending == 0 && bf->stopping) free(bf);
}

/* The caller left: stop, nobody waits for the answer. */
static void on_watch_end(struct rpc_subscription *sub, void *ctx)
{
    struct download *d = ctx;
    (void)sub;
    d->sub = NULL;
    download_fail(d, IROH_ECLOSED, "cancelled: the caller left");
    for (struct transfer *t = d->transfers, *next; t; t = next) {
        next = t->next; /* t may conclude, and be freed, below */
        transfer_abandon(t);
    }
}

/* ---- blobs.get ------------------------------------------------------------------------------- */

/* Adds a provider from an endpoint ticket or a blob ticket's address; repeated ids are kept
 * once. Returns 0 or IROH_EINVAL with why. */
static int add_provider(struct download *d, const char *text, char *why, size_t whylen)
{
    struct iroh_endpoint_addr addr;
    int rc;
    if (strncmp(text, "blob", 4) == 0) {
        struct iroh_blob_ticket t;
        rc = iroh_blob_ticket_decode(text, strlen(text), &t);
        addr = t.addr;
    } else {
        rc = iroh_endpoint_ticket_decode(text, strlen(text), &addr);
    }
    if (rc < 0) {
        snprintf(why, whylen, "\"%.60s\" is neither an endpoint ticket nor a blob ticket: %s", text,
                 iroh_strerror(rc));
        return IROH_EINVAL;
    }
    for (unsigned i = 0; i < d->nprov; i++)
        if (memcmp(&d->prov[i].addr.id, &addr.id, sizeof addr.id) == 0) return 0;
    if (d->nprov == FETCH_MAX_PROVIDERS) {
        snprintf(why, whylen, "at most %d providers", FETCH_MAX_PROVIDERS);
        return IROH_EINVAL;
    }
    struct provider *p = &d->prov[d->nprov];
    p->d = d;
    p->index = d->nprov++;
    p->addr = addr;
    return 0;
}

/* "START..END" in bytes, either side may be empty (end exclusive). */
static bool parse_range(const char *text, uint64_t *start, uint64_t *end)
{
    const char *dots = strstr(text, "..");
    if (!dots) return false;
    char *stop;
    *start = 0;
    *end = UINT64_MAX;
    if (dots != text) {
        if (*text < '0' || *text > '9') return false;
        errno = 0;
        *start = strtoull(text, &stop, 10);
        if (errno || stop != dots) return false;
    }
    if (dots[2]) {
        if (dots[2] < '0' || dots[2] > '9') return false;
        errno = 0;
        *end = strtoull(dots + 2, &stop, 10);
        if (errno || *stop) return false;
    }
    return *start < *end;
}

static int parse_params(struct download *d, json_object *params, char *why, size_t whylen)
{
    const char *ticket = rpc_param_string(params, "ticket"),
               *hash = rpc_param_string(params, "hash");
    if (!ticket == !hash) {
        snprintf(why, whylen, "give either ticket or hash (with providers)");
        return IROH_EINVAL;
    }
    if (ticket) {
        struct iroh_blob_ticket t;
        int rc = iroh_blob_ticket_decode(ticket, strlen(ticket), &t);
        if (rc < 0) {
            snprintf(why, whylen, "the ticket is not a blob ticket: %s", iroh_strerror(rc));
            return IROH_EINVAL;
        }
        memcpy(d->hash, t.hash, BLOB_HASH_LEN);
        d->format = t.format == IROH_BLOB_TICKET_HASH_SEQ ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW;
        if (add_provider(d, ticket, why, whylen) < 0) return IROH_EINVAL;
    } else if (blob_hash_parse(hash, d->hash) < 0) {
        snprintf(why, whylen,
                 "hash must be a BLAKE3 hash: 64 hex digits or 52 base32 characters, not "
                 "\"%.80s\"",
                 hash);
        return IROH_EINVAL;
    }
    const char *format = rpc_param_string(params, "format");
    if (format)
        d->format = strcmp(format, "hash_seq") == 0 ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW;
    json_object *list;
    if (json_object_object_get_ex(params, "providers", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++)
            if (add_provider(d, json_object_get_string(json_object_array_get_idx(list, i)), why,
                             whylen) < 0)
                return IROH_EINVAL;
    if (d->nprov == 0) {
        snprintf(why, whylen, "no provider: give a ticket, or providers with the hash");
        return IROH_EINVAL;
    }
    const char *range = rpc_param_string(params, "range");
    if (range) {
        if (!parse_range(range, &d->range_start, &d->range_end)) {
            snprintf(why, whylen,
                     "range must be START..END in bytes (END excluded, either may be left out), "
                     "not \"%.60s\"",
                     range);
            return IROH_EINVAL;
        }
        if (d->format == BLOB_FORMAT_HASH_SEQ) {
            snprintf(why, whylen, "range applies to a single blob, not a hash sequence");
            return IROH_EINVAL;
        }
        d->has_range = true;
    }
    const char *out = rpc_param_string(params, "out");
    if (out && out[0] != '/') {
        snprintf(why, whylen,
                 "out must be an absolute path (irohd does not know the caller's "
                 "working directory)");
        return IROH_EINVAL;
    }
    if (rpc_param_string(params, "tag") && rpc_param_bool(params, "no_tag")) {
        snprintf(why, whylen, "tag and no_tag: true exclude each other");
        return IROH_EINVAL;
    }
    d->overwrite = rpc_param_bool(params, "overwrite");
    d->no_tag = rpc_param_bool(params, "no_tag");
    const char *tag = rpc_param_string(params, "tag"),
               *token = rpc_param_string(params, "progress");
    if ((out && !(d->out = strdup(out))) || (tag && !(d->tag = strdup(tag))) ||
        (token && !(d->token = strdup(token)))) {
        snprintf(why, whylen, "out of memory");
        return IROH_ENOMEM;
    }
    return 0;
}

static void handle_get(struct rpc_call *call, json_object *params, void *ctx)
{
    struct blobs_fetch *bf = ctx;
    if (bf->stopping) {
        fail_call(call, JSONRPC_SHUTTING_DOWN, "irohd is shutting down", "irohd is stopping");
        return;
    }
    if (bf->active >= FETCH_MAX_DOWNLOADS) {
        char why[100];
        snprintf(why, sizeof why, "%d downloads are running; retry when one has finished",
                 FETCH_MAX_DOWNLOADS);
        fail_call(call, JSONRPC_BUSY, "too many downloads", why);
        return;
    }
    struct download *d = calloc(1, sizeof *d);
    struct part *root = calloc(1, sizeof *root);
    if (!d || !root) {
        free(d);
        free(root);
        rpc_call_fail(call, JSONRPC_INTERNAL_ERROR, "out of memory", NULL);
        return;
    }
    d->bf = bf;
    d->work.data = d;
    char why[300] = "";
    int rc = parse_params(d, params, why, sizeof why);
    if (rc < 0) {
        fail_call(call, code_for(rc), "invalid params", why);
        free(d->out);
        free(d->tag);
        free(d->token);
        free(root);
        free(d);
        return;
    }
    iroh_chunk_ranges_init(&d->root_wanted, d->root_bounds, 2);
    iroh_chunk_ranges_init(&d->all_wanted, d->all_bounds, 1);
    iroh_chunk_ranges_set_all(&d->all_wanted);
    if (d->has_range)
        iroh_chunk_ranges_set_bytes(&d->root_wanted, d->range_start, d->range_end);
    else
        iroh_chunk_ranges_set_all(&d->root_wanted);
    memcpy(root->hash, d->hash, BLOB_HASH_LEN);
    d->parts = root;
    d->nparts = 1;
    d->call = call;
    d->umask = rpc_client_umask(rpc_call_client(call));
    d->sub = rpc_subscription_new(rpc_call_client(call), on_watch_end, d);
    uv_timer_init(bf->loop, &d->timer);
    uv_check_init(bf->loop, &d->check);
    d->check.data = d;
    d->timer.data = d;
    uv_timer_start(&d->timer, on_tick, TICK_MS, TICK_MS);
    d->next = bf->downloads;
    if (d->next) d->next->prev = d;
    bf->downloads = d;
    bf->active++;
    bf->pending++;
    char hex[BLOB_HASH_HEX_LEN + 1];
    hex_of(d->hash, hex);
    log_info(COMPONENT, "downloading %s (%s) from %u provider%s", hex, blob_format_name(d->format),
             d->nprov, d->nprov == 1 ? "" : "s");
    schedule(d);
}

/* ---- life cycle ----------------------------------------------------------------------------- */

int blobs_fetch_start(uv_loop_t *loop, struct rpc_server *server, struct endpoint *ep,
                      struct blob_store *store, struct blobs_fetch **out)
{
    struct blobs_fetch *bf = calloc(1, sizeof *bf);
    if (!bf) return IROH_ENOMEM;
    bf->loop = loop;
    bf->ep = ep;
    bf->store = store;
    rpc_server_register(server, "blobs.get", handle_get, bf);
    *out = bf;
    return 0;
}

void blobs_fetch_set_changes(struct blobs_fetch *bf, const struct blob_changes *changes)
{
    bf->changes = *changes;
}

void blobs_fetch_stop(struct blobs_fetch *bf)
{
    bf->stopping = true;
    bf->changes = (struct blob_changes){0};
    for (struct download *d = bf->downloads; d; d = d->next) {
        if (d->sub) {
            rpc_subscription_end(d->sub);
            d->sub = NULL;
        }
        download_fail(d, IROH_ECLOSED, "irohd is shutting down");
        for (struct transfer *t = d->transfers, *next; t; t = next) {
            next = t->next; /* t may conclude, and be freed, below */
            transfer_abandon(t);
        }
    }
    if (bf->pending == 0) free(bf);
}
