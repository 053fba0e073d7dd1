/* blobs_provider.c — the iroh-blobs provider on irohd's endpoint; see blobs_provider.h.
 *
 * One struct request per accepted bidirectional stream. Its bytes are buffered until
 * core/blobs_proto decodes a request; then the request runs as a chain of pool steps (struct
 * get_state for Get/GetMany, struct observe_state for Observe, struct push_state for Push),
 * each followed on the loop by a write of what it produced (Push: by giving back the flow
 * control credit of what it stored). At most one step of a request is in flight; the next
 * starts when the stream has room (under QUIC_STREAM_HIGH_WATER, else on_drain) or, for Push,
 * when more bytes came. A request is freed once its stream has closed and no step or timer of
 * it is left. */
#include "daemon/blobs_provider.h"

#include <iroh/error.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"
#include "core/blobs_proto.h"
#include "daemon/log.h"

#define COMPONENT "blobs-provider"
/* A request is at most the type byte and IROH_BLOBS_MAX_MESSAGE_SIZE (Push: its length prefix
 * too); a stream that sends more before it decodes is refused. */
#define REQUEST_BUFFER_MAX (1 + IROH_POSTCARD_VARINT_MAX_U64 + IROH_BLOBS_MAX_MESSAGE_SIZE + 1)
/* Bytes all streams may hold in request buffers at once: a request may be 1 MiB, but peers
 * that send many large unfinished requests must not hold their limit's worth each. */
#define REQUEST_BYTES_BUDGET (32u << 20)
/* Room for a batch plus one more item and a size header. */
#define OUT_CAP (BLOBS_PROVIDER_BATCH + IROH_BAO_GROUP_LEN + 2 * IROH_BAO_PAIR_LEN + 64)
/* Output buffers of finished Get steps kept for the next steps (a freed one would come back as
 * fresh pages to fault in). */
#define SPARE_OUT 4
/* Get steps run ahead of their stream (while it is still above the high-water mark) at most this
 * many at once in total, each holding its output until the stream drains: that output is then
 * written at once instead of the stream running dry while a step is queued and run. */
#define PREFETCH_MAX 8
/* Chunk groups a Push step writes to the store at once (1 MiB). */
#define PUSH_BATCH_GROUPS 64
#define OB_WINDOW 16384 /* outboard bytes a Get reads at once (256 pairs) */

struct pconn;
struct request;

struct blobs_provider {
    uv_loop_t *loop;
    struct endpoint *ep;
    struct blob_store *store;
    struct iroh_public_key push_allow[BLOBS_PROVIDER_MAX_PUSH_ALLOW];
    size_t push_allow_count;
    unsigned max_requests, max_conn_requests;
    unsigned request_timeout_ms;
    unsigned stall_timeout_ms;
    struct pconn *conns;
    struct request *requests;
    struct blobs_provider_stats stats;
    uint64_t corrupt_leaf;       /* TEST ONLY: flip a byte of this leaf (1-based); 0: never */
    _Atomic uint64_t leaves_out; /* leaves produced so far (counted only for corrupt_leaf) */
    bool stopping;
    size_t pending;       /* connections and requests not yet freed */
    size_t request_bytes; /* held in request buffers (in_cap of every request) */
    /* Get steps take an output buffer when they start (on the pool) and give it back once the
     * loop has written it: only running steps hold one, not every request. */
    uv_mutex_t out_lock;
    uint8_t *spare_out[SPARE_OUT];
    unsigned nspare_out;
    unsigned prefetching; /* Get steps running ahead, or their outputs held (loop thread) */
};

struct pconn {
    struct blobs_provider *p;
    struct quic_conn *qc;
    unsigned active; /* requests of this connection being served */
    struct pconn *prev, *next;
};

/* What a Get or GetMany keeps between steps; used by the step running on the pool. */
struct get_state {
    struct iroh_range_seq_iter it;
    struct iroh_chunk_ranges ranges; /* the current blob's ranges (iterator-owned) */
    uint64_t *bounds;
    struct blob_reader *root; /* Get with children: the hash sequence */
    struct blob_reader *cur;  /* the blob being sent */
    bool in_blob;
    uint8_t *present; /* cur is partial: its bitfield of verified groups, else NULL */
    uint64_t present_groups;
    struct iroh_bao_encoder enc;
    /* the encoder asks for pairs in pre-order, which is outboard order: read them a window
     * at a time instead of one pread per pair */
    uint64_t ob_at;
    size_t ob_len;
    uint8_t ob_window[OB_WINDOW];
    /* the leaves of this step the encoder left unfilled, groups fill_first.. in a row: read
     * with one call into their places in out */
    uint64_t fill_first;
    uint8_t *fill[BLOB_READ_GROUPS_MAX];
    size_t nfill;
    uint8_t *corrupt_at; /* TEST ONLY: the byte to flip once its leaf is read */
    /* one step's output (OUT_CAP bytes, from take_out) and outcome */
    uint8_t *out;
    size_t out_len;
    bool prefetch; /* the step was started ahead of its stream (counts in p->prefetching) */
    bool held;     /* its output waits for the stream to drain */
    int outcome;   /* 0: more to send; 1: everything sent; < 0: IROH_E* (reset) */
    uint64_t blobs_done;
};

/* Observe: the bitfield last sent, and one step's outcome. A step runs when the request starts
 * and when blobs_provider_blob_changed names its hash; a change that comes while a step is
 * queued or running sets `dirty` for one more step after it. */
struct observe_state {
    bool sent_first;
    bool dirty;
    uint64_t size;
    uint64_t *bounds;
    size_t len;
    bool complete;
    uint8_t *out; /* the message to send, NULL when nothing changed */
    size_t out_len;
    int rc;
};

/* Push from an allowed peer: bytes the loop received wait in `pending` (their flow-control
 * credit held) until a step takes them over as `work`, verifies them blob by blob with the
 * request's ranges and writes whole chunk groups (with their parent pairs) to the store. */
struct push_state {
    struct iroh_range_seq_iter it;
    struct iroh_chunk_ranges ranges;
    uint64_t *bounds;
    struct iroh_blobs_blob_reader reader;
    uint8_t hash[IROH_BLOBS_HASH_LEN]; /* the blob being received */
    bool in_blob, have_it;             /* have_it: the store has it complete already */
    /* the blobs this step wrote to: changed_hash if one, any when several */
    uint8_t changed_hash[IROH_BLOBS_HASH_LEN];
    enum { PUSH_CHANGED_NONE, PUSH_CHANGED_ONE, PUSH_CHANGED_SEVERAL } changed;
    bool children; /* a child of the root was pushed */
    bool done;     /* every requested blob arrived */
    uint8_t *pending, *work;
    size_t pending_len, pending_cap, work_len, work_cap;
    bool fin, work_fin;
    /* a batch of verified pieces of the current blob */
    struct blob_pair *pairs;
    size_t npairs, pairs_cap;
    size_t pairs_pending; /* the last of them, after the last group */
    struct blob_group groups[PUSH_BATCH_GROUPS];
    uint8_t cvs[PUSH_BATCH_GROUPS][32]; /* the CVs the decoder checked them against */
    uint8_t *group_data;
    size_t ngroups;
    /* one step's outcome */
    int outcome; /* 0: more to come; 1: done; < 0: IROH_E* */
    uint64_t bytes_stored, blobs_done;
};

struct request {
    struct blobs_provider *p;
    struct pconn *pc;
    struct quic_stream *s; /* NULL once closed */
    struct request *prev, *next;
    uint8_t *in;
    size_t in_len, in_cap;
    bool decoded;
    bool ended; /* our side is finished or reset: nothing more to do */
    bool active;
    struct iroh_blobs_request req;
    uv_work_t work;
    bool working;
    bool waiting_drain;
    uv_timer_t timer;
    bool timer_open;
    struct get_state *get;
    struct observe_state *obs;
    struct push_state *push;
};

/* ---- life cycle of requests and connections ------------------------------------------------ */

static void provider_maybe_free(struct blobs_provider *p)
{
    if (!p->stopping || p->pending) return;
    while (p->nspare_out)
        free(p->spare_out[--p->nspare_out]);
    uv_mutex_destroy(&p->out_lock);
    free(p);
}

/* An output buffer for a Get step (any thread), NULL when out of memory. */
static uint8_t *take_out(struct blobs_provider *p)
{
    uv_mutex_lock(&p->out_lock);
    uint8_t *out = p->nspare_out ? p->spare_out[--p->nspare_out] : NULL;
    uv_mutex_unlock(&p->out_lock);
    return out ? out : malloc(OUT_CAP);
}

static void give_out(struct blobs_provider *p, uint8_t *out)
{
    if (!out) return;
    uv_mutex_lock(&p->out_lock);
    if (p->nspare_out < SPARE_OUT) {
        p->spare_out[p->nspare_out++] = out;
        out = NULL;
    }
    uv_mutex_unlock(&p->out_lock);
    free(out);
}

static void get_state_free(struct blobs_provider *p, struct get_state *g)
{
    if (!g) return;
    if (g->prefetch) p->prefetching--;
    give_out(p, g->out);
    if (g->root) blob_reader_close(g->root);
    if (g->cur) blob_reader_close(g->cur);
    free(g->present);
    free(g->bounds);
    free(g);
}

static void push_state_free(struct push_state *ps)
{
    if (!ps) return;
    free(ps->bounds);
    free(ps->pending);
    free(ps->work);
    free(ps->pairs);
    free(ps->group_data);
    free(ps);
}

static void observe_state_free(struct observe_state *o)
{
    if (!o) return;
    free(o->bounds);
    free(o->out);
    free(o);
}

/* The request no longer counts against the limits. */
static void request_end(struct request *r)
{
    r->ended = true;
    r->waiting_drain = false;
    if (r->timer_open) uv_timer_stop(&r->timer);
    if (!r->active) return;
    r->active = false;
    r->p->stats.active--;
    if (r->pc) r->pc->active--;
}

static void request_maybe_free(struct request *r)
{
    if (r->s || r->working || r->timer_open) return;
    struct blobs_provider *p = r->p;
    request_end(r);
    if (r->prev)
        r->prev->next = r->next;
    else
        p->requests = r->next;
    if (r->next) r->next->prev = r->prev;
    get_state_free(p, r->get);
    observe_state_free(r->obs);
    push_state_free(r->push);
    free(r->in);
    p->request_bytes -= r->in_cap;
    free(r);
    p->pending--;
    provider_maybe_free(p);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct request *r = h->data;
    r->timer_open = false;
    request_maybe_free(r);
}

/* Ends the request: our side finished (code < 0) or reset with code. */
static void request_finish(struct request *r, int64_t code)
{
    if (r->ended) return;
    if (r->s) {
        if (code < 0)
            quic_stream_finish(r->s);
        else
            quic_stream_reset_write(r->s, (uint64_t)code);
    }
    request_end(r);
    if (r->timer_open) uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

/* ---- pool steps ---------------------------------------------------------------------------- */

static void step_work(uv_work_t *w);
static void step_done(uv_work_t *w, int status);

static void queue_step(struct request *r)
{
    if (r->working || r->ended || !r->s) return;
    if (r->obs) r->p->stats.observe_steps++;
    r->working = true;
    r->work.data = r;
    uv_queue_work(r->p->loop, &r->work, step_work, step_done);
}

static int read_data(void *ctx, uint64_t offset, void *buf, size_t len)
{
    struct blob_error e;
    for (size_t done = 0; done < len;) {
        int64_t n = blob_reader_read(ctx, offset + done, (uint8_t *)buf + done, len - done, &e);
        if (n < 0) return (int)n;
        if (n == 0) return IROH_ECORRUPT; /* the entry is shorter than its size */
        done += (size_t)n;
    }
    return 0;
}

/* iroh_bao_read_fn over the current blob's outboard through the get_state's window. The
 * window is read after the blob's bitfield (next_blob), so it holds every pair of the groups
 * that bitfield names (they were synced before it committed). */
static int read_outboard(void *ctx, uint64_t offset, void *buf, size_t len)
{
    struct get_state *g = ctx;
    struct blob_error e;
    if (offset < g->ob_at || offset + len > g->ob_at + g->ob_len) {
        uint64_t size = iroh_bao_outboard_size(blob_reader_size(g->cur));
        if (offset >= size || len > OB_WINDOW)
            return blob_reader_outboard(g->cur, offset, buf, len, &e);
        size_t want = size - offset < OB_WINDOW ? (size_t)(size - offset) : OB_WINDOW;
        g->ob_len = 0;
        int rc = blob_reader_outboard(g->cur, offset, g->ob_window, want, &e);
        if (rc < 0) return rc;
        g->ob_at = offset;
        g->ob_len = want;
        if (len > want) return IROH_EINVAL;
    }
    memcpy(buf, g->ob_window + (offset - g->ob_at), len);
    return 0;
}

/* Whether the node [start, start + chunks) of the current partial blob holds a verified group:
 * only then are its stored pairs (or its data) meaningful. */
static bool node_present(const struct get_state *g, uint64_t start, uint64_t chunks)
{
    uint64_t first = start / IROH_BAO_GROUP_CHUNKS;
    uint64_t end = (start + chunks + IROH_BAO_GROUP_CHUNKS - 1) / IROH_BAO_GROUP_CHUNKS;
    for (uint64_t i = first; i < end && i < g->present_groups; i++)
        if (g->present[i / 8] & (1u << (i % 8))) return true;
    return false;
}

/* The hash of blob index of the request: the root, child index − 1 of the hash sequence in
 * the root (Get) or hashes[index] (GetMany). Returns 0, 1 when index is past the end, or an
 * error (the root is missing or not a complete hash sequence). */
static int target_hash(struct blobs_provider *p, const struct iroh_blobs_request *req,
                       struct get_state *g, uint64_t index, uint8_t hash[IROH_BLOBS_HASH_LEN])
{
    struct blob_error e;
    if (req->type == IROH_BLOBS_GET_MANY) {
        if (index >= req->hash_count) return 1;
        memcpy(hash, req->hashes + index * IROH_BLOBS_HASH_LEN, IROH_BLOBS_HASH_LEN);
        return 0;
    }
    if (index == 0) {
        memcpy(hash, req->hash, IROH_BLOBS_HASH_LEN);
        return 0;
    }
    if (!g->root) {
        int rc = blob_store_reader_open(p->store, req->hash, &g->root, &e);
        if (rc < 0) return rc;
    }
    uint64_t size = blob_reader_size(g->root);
    if (!blob_reader_complete(g->root) || size % IROH_BLOBS_HASH_LEN != 0) return IROH_EINVAL;
    if (index - 1 >= size / IROH_BLOBS_HASH_LEN) return 1;
    return read_data(g->root, (index - 1) * IROH_BLOBS_HASH_LEN, hash, IROH_BLOBS_HASH_LEN);
}

/* Moves to the next requested blob and writes its size header. Returns 0, 1 at the end of the
 * request, or an error. */
static int next_blob(struct blobs_provider *p, const struct iroh_blobs_request *req,
                     struct get_state *g)
{
    uint64_t index;
    uint8_t hash[IROH_BLOBS_HASH_LEN];
    if (iroh_range_seq_iter_next(&g->it, &index) == 0) return 1;
    int rc = target_hash(p, req, g, index, hash);
    if (rc != 0) return rc;
    struct blob_error e;
    rc = blob_store_reader_open(p->store, hash, &g->cur, &e);
    if (rc < 0) return rc;
    uint64_t size = blob_reader_size(g->cur);
    free(g->present);
    g->present = NULL;
    if (!blob_reader_complete(g->cur)) {
        /* Served as far as its verified groups go. A size-less partial entry cannot be. */
        if (size == 0) return IROH_ENOTFOUND;
        size_t cap = (size_t)((iroh_bao_groups(size) + 7) / 8);
        if (!(g->present = malloc(cap))) return IROH_ENOMEM;
        rc = blob_store_bitfield(p->store, hash, g->present, cap, &g->present_groups, &e);
        if (rc < 0) return rc;
    }
    iroh_blobs_size_header(size, g->out + g->out_len);
    g->out_len += IROH_BLOBS_SIZE_HEADER_LEN;
    g->ob_len = 0;
    iroh_bao_encoder_init(&g->enc, size, &g->ranges, read_data, g->cur, read_outboard, g);
    iroh_bao_encoder_defer_groups(&g->enc);
    g->in_blob = true;
    return 0;
}

/* Reads the unfilled leaves gathered so far. On an error the output ends before the first of
 * them that was not read and checked (a changed group of a referenced file: the groups before
 * it are still sent; what follows was never meant to be sent without it). */
static int fill_leaves(struct get_state *g)
{
    if (g->nfill == 0) return 0;
    struct blob_error e;
    size_t checked;
    int rc = blob_reader_read_groups(g->cur, g->fill_first, g->fill, g->nfill, &checked, &e);
    if (rc < 0) g->out_len = (size_t)(g->fill[checked] - g->out);
    g->nfill = 0;
    if (rc == 0 && g->corrupt_at) *g->corrupt_at ^= 0x01;
    g->corrupt_at = NULL;
    return rc;
}

/* Takes an unfilled leaf (a whole group) of the encoder into the run to read. */
static int add_unfilled(struct get_state *g, const struct iroh_bao_item *item)
{
    uint64_t group = item->offset / IROH_BAO_GROUP_LEN;
    if (g->nfill && (group != g->fill_first + g->nfill || g->nfill == BLOB_READ_GROUPS_MAX)) {
        int rc = fill_leaves(g);
        if (rc < 0) return rc;
    }
    if (g->nfill == 0) g->fill_first = group;
    g->fill[g->nfill++] = g->out + g->out_len;
    return 0;
}

static void get_step(struct request *r)
{
    struct blobs_provider *p = r->p;
    struct get_state *g = r->get;
    g->out_len = 0;
    g->blobs_done = 0;
    g->outcome = 0;
    if (!(g->out = take_out(p))) {
        g->outcome = IROH_ENOMEM;
        return;
    }
    while (g->out_len < BLOBS_PROVIDER_BATCH) {
        if (!g->in_blob) {
            int rc = next_blob(p, &r->req, g);
            if (rc != 0) {
                g->outcome = rc;
                return;
            }
        }
        struct iroh_bao_item item;
        int rc = iroh_bao_encoder_next(&g->enc, g->out + g->out_len, OUT_CAP - g->out_len, &item);
        if (rc == IROH_BAO_DONE) {
            rc = fill_leaves(g);
            if (rc < 0) {
                g->outcome = rc;
                return;
            }
            blob_reader_close(g->cur);
            g->cur = NULL;
            g->in_blob = false;
            g->blobs_done++;
            continue;
        }
        if (rc < 0 || (g->present && !node_present(g, item.start_chunk, item.chunks))) {
            int filled = fill_leaves(g);
            g->outcome = rc < 0 ? rc : filled < 0 ? filled : IROH_ENOTFOUND;
            return;
        }
        if (item.unfilled && (rc = add_unfilled(g, &item)) < 0) {
            g->outcome = rc;
            return;
        }
        if (p->corrupt_leaf && item.kind == IROH_BAO_ITEM_LEAF && item.len > 0 &&
            atomic_fetch_add(&p->leaves_out, 1) + 1 == p->corrupt_leaf) {
            if (item.unfilled)
                g->corrupt_at = g->out + g->out_len + item.len / 2;
            else
                g->out[g->out_len + item.len / 2] ^= 0x01;
        }
        g->out_len += item.len;
    }
    int rc = fill_leaves(g);
    if (rc < 0) g->outcome = rc;
}

/* The chunks of the verified groups of a blob of size bytes as iroh's bitfield: [0] when
 * complete, and the run holding the last chunk open-ended. Writes bounds (capacity
 * present_groups + 1) and returns their number. */
static size_t bitfield_ranges(const uint8_t *bits, uint64_t groups, uint64_t size, uint64_t *bounds)
{
    uint64_t chunks = size / 1024 + (size % 1024 != 0);
    size_t n = 0;
    bool in = false;
    for (uint64_t i = 0; i < groups; i++) {
        bool present = bits[i / 8] & (1u << (i % 8));
        if (present == in) continue;
        uint64_t chunk = i * IROH_BAO_GROUP_CHUNKS;
        bounds[n++] = chunk < chunks ? chunk : chunks;
        in = present;
    }
    /* An open run at the end reaches the last chunk: it stays open, as iroh's Bitfield. */
    return n;
}

/* The upper chunk bound of a bitfield (UINT64_MAX when open-ended). */
static uint64_t upper_bound(const uint64_t *bounds, size_t len)
{
    if (len == 0) return 0;
    return len % 2 ? UINT64_MAX : bounds[len - 1];
}

/* iroh's choose_size: the size of the bitfield reaching further; on a tie the larger. */
static uint64_t choose_size(uint64_t old_size, const struct iroh_chunk_ranges *old,
                            uint64_t new_size, const struct iroh_chunk_ranges *now)
{
    uint64_t up_old = upper_bound(old->bounds, old->len),
             up_new = upper_bound(now->bounds, now->len);
    if (up_new != up_old) return up_new > up_old ? new_size : old_size;
    return new_size > old_size ? new_size : old_size;
}

/* Reads the blob's bitfield into *size, *complete and a new bounds array (*bounds, *len).
 * An unknown blob has size 0 and nothing verified. */
static int read_bitfield(struct blobs_provider *p, const uint8_t hash[IROH_BLOBS_HASH_LEN],
                         uint64_t *size, bool *complete, uint64_t **bounds, size_t *len)
{
    struct blob_status st;
    struct blob_error e;
    *size = 0;
    *complete = false;
    *len = 0;
    int rc = blob_store_status(p->store, hash, &st, &e);
    if (rc == IROH_ENOTFOUND)
        st.total_groups = 0;
    else if (rc < 0)
        return rc;
    if (!(*bounds = malloc((size_t)(st.total_groups + 1) * sizeof **bounds))) return IROH_ENOMEM;
    if (rc == IROH_ENOTFOUND) return 0;
    *size = st.size;
    *complete = st.complete;
    if (st.complete) {
        (*bounds)[0] = 0;
        *len = 1;
        return 0;
    }
    size_t cap = (size_t)((st.total_groups + 7) / 8);
    uint8_t *bits = malloc(cap ? cap : 1);
    uint64_t groups = 0;
    rc = bits ? blob_store_bitfield(p->store, hash, bits, cap, &groups, &e) : IROH_ENOMEM;
    if (rc == 0) *len = bitfield_ranges(bits, groups, st.size, *bounds);
    free(bits);
    return rc;
}

static void observe_step(struct request *r)
{
    struct observe_state *o = r->obs;
    uint64_t size, *bounds = NULL;
    size_t len;
    bool complete;
    free(o->out);
    o->out = NULL;
    o->rc = read_bitfield(r->p, r->req.hash, &size, &complete, &bounds, &len);
    size_t n = len + o->len + 1;
    uint64_t *scratch = o->rc == 0 ? malloc(4 * n * sizeof *scratch) : NULL;
    if (o->rc == 0 && !scratch) o->rc = IROH_ENOMEM;
    if (o->rc < 0) {
        free(bounds);
        return;
    }
    /* The first message is the whole bitfield (the change from nothing), later ones old XOR
     * new = (new − old) ∪ (old − new). */
    struct iroh_chunk_ranges now = {bounds, len, len}, old = {o->bounds, o->len, o->len};
    struct iroh_chunk_ranges added, removed, diff;
    iroh_chunk_ranges_init(&added, scratch, n);
    iroh_chunk_ranges_init(&removed, scratch + n, n);
    iroh_chunk_ranges_init(&diff, scratch + 2 * n, 2 * n);
    iroh_chunk_ranges_difference(&added, &now, &old);
    iroh_chunk_ranges_difference(&removed, &old, &now);
    iroh_chunk_ranges_union(&diff, &added, &removed);
    if (!o->sent_first || !iroh_chunk_ranges_is_empty(&diff) || size != o->size) {
        size_t cap =
            2 * IROH_POSTCARD_VARINT_MAX_U64 + (diff.len + 1) * IROH_POSTCARD_VARINT_MAX_U64;
        struct iroh_postcard_writer w;
        if ((o->out = malloc(cap))) {
            iroh_postcard_writer_init(&w, o->out, cap);
            iroh_blobs_observe_item_encode(&w, choose_size(o->size, &old, size, &now), &diff);
            o->out_len = w.len;
        } else {
            o->rc = IROH_ENOMEM;
        }
    }
    free(scratch);
    free(o->bounds);
    o->bounds = bounds;
    o->len = len;
    o->size = size;
    o->complete = complete;
    o->sent_first = true;
}

/* Notes that the current blob may have changed in the store (told to its observers once the
 * step is back on the loop). */
static void push_changed(struct push_state *ps)
{
    if (ps->changed == PUSH_CHANGED_NONE) {
        memcpy(ps->changed_hash, ps->hash, IROH_BLOBS_HASH_LEN);
        ps->changed = PUSH_CHANGED_ONE;
    } else if (memcmp(ps->changed_hash, ps->hash, IROH_BLOBS_HASH_LEN) != 0) {
        ps->changed = PUSH_CHANGED_SEVERAL;
    }
}

/* Writes the batch of the current blob to the store. Pairs only check out together with a
 * group below them, so the pairs that came after the batch's last group (pre-order: they
 * belong to groups still to come) stay for the next batch, unless the blob is over. Returns 0
 * or an error. */
static int push_flush(struct blobs_provider *p, struct push_state *ps, bool blob_end)
{
    int rc = 0;
    if (ps->ngroups) {
        struct blob_error e;
        size_t written = ps->npairs - ps->pairs_pending;
        rc = blob_store_partial_write(p->store, ps->hash, ps->pairs, written, ps->groups,
                                      ps->ngroups, &e);
        push_changed(ps);
        for (size_t i = 0; i < ps->ngroups && rc >= 0; i++)
            ps->bytes_stored += ps->groups[i].len;
        if (ps->pairs_pending)
            memmove(ps->pairs, ps->pairs + written, ps->pairs_pending * sizeof ps->pairs[0]);
        ps->npairs = ps->pairs_pending;
        ps->ngroups = 0;
    }
    if (blob_end) ps->npairs = ps->pairs_pending = 0;
    return rc < 0 ? rc : 0;
}

/* Keeps a verified item of the current blob: parent pairs of the outboard and whole chunk
 * groups (the store keeps nothing smaller). */
static int push_keep(struct blobs_provider *p, struct push_state *ps,
                     const struct iroh_bao_item *item)
{
    if (ps->have_it) return 0;
    if (item->kind == IROH_BAO_ITEM_PARENT) {
        if (item->offset == UINT64_MAX) return 0; /* inside a group */
        if (ps->npairs == ps->pairs_cap) {
            size_t cap = ps->pairs_cap ? 2 * ps->pairs_cap : 64;
            struct blob_pair *pairs = realloc(ps->pairs, cap * sizeof *pairs);
            if (!pairs) return IROH_ENOMEM;
            ps->pairs = pairs;
            ps->pairs_cap = cap;
        }
        ps->pairs[ps->npairs].offset = item->offset;
        memcpy(ps->pairs[ps->npairs++].pair, item->bytes, IROH_BAO_PAIR_LEN);
        ps->pairs_pending++;
        return 0;
    }
    uint64_t group = item->start_chunk / IROH_BAO_GROUP_CHUNKS;
    if (item->start_chunk % IROH_BAO_GROUP_CHUNKS != 0 ||
        item->len != iroh_bao_group_len(ps->reader.size, group))
        return 0;
    uint8_t *slot = ps->group_data + ps->ngroups * IROH_BAO_GROUP_LEN;
    memcpy(slot, item->bytes, item->len);
    memcpy(ps->cvs[ps->ngroups], item->cv, 32); /* the store checks its path, not the data */
    ps->groups[ps->ngroups] = (struct blob_group){group, slot, item->len, ps->cvs[ps->ngroups]};
    ps->ngroups++;
    ps->pairs_pending = 0;
    return ps->ngroups == PUSH_BATCH_GROUPS ? push_flush(p, ps, false) : 0;
}

/* Starts the next requested blob. Returns 0, or 1 when none is left. */
static int push_next_blob(struct blobs_provider *p, const struct iroh_blobs_request *req,
                          struct push_state *ps)
{
    uint64_t index;
    if (iroh_range_seq_iter_next(&ps->it, &index) == 0) return 1;
    if (index == 0) {
        memcpy(ps->hash, req->hash, IROH_BLOBS_HASH_LEN);
    } else {
        /* A child: its hash is in the root, which must have arrived whole. */
        struct blob_reader *root;
        struct blob_error e;
        int rc = blob_store_reader_open(p->store, req->hash, &root, &e);
        if (rc < 0) return rc;
        uint64_t size = blob_reader_size(root);
        if (!blob_reader_complete(root) || size % IROH_BLOBS_HASH_LEN != 0)
            rc = IROH_EINVAL;
        else if (index - 1 >= size / IROH_BLOBS_HASH_LEN)
            rc = 1;
        else
            rc = read_data(root, (index - 1) * IROH_BLOBS_HASH_LEN, ps->hash, IROH_BLOBS_HASH_LEN);
        blob_reader_close(root);
        if (rc != 0) return rc;
        ps->children = true;
    }
    iroh_blobs_blob_reader_init(&ps->reader, ps->hash, &ps->ranges);
    ps->in_blob = true;
    ps->have_it = false;
    return 0;
}

static void push_step(struct request *r)
{
    struct blobs_provider *p = r->p;
    struct push_state *ps = r->push;
    size_t pos = 0;
    int rc = 0;
    ps->outcome = 0;
    ps->bytes_stored = 0;
    ps->blobs_done = 0;
    ps->changed = PUSH_CHANGED_NONE;
    while (rc >= 0 && !ps->done) {
        if (!ps->in_blob) {
            rc = push_next_blob(p, &r->req, ps);
            if (rc == 1) ps->done = true;
            if (rc != 0) break;
        }
        size_t used = 0;
        struct iroh_bao_item item;
        rc = iroh_blobs_blob_reader_next(&ps->reader, ps->work + pos, ps->work_len - pos, &used,
                                         &item);
        pos += used;
        if (rc == IROH_BLOBS_SIZE) {
            struct blob_error e;
            rc = blob_store_partial_create(p->store, ps->hash, ps->reader.size, &e);
            ps->have_it = rc == 1;
            if (rc == 0) push_changed(ps);
        } else if (rc == IROH_BAO_ITEM) {
            rc = push_keep(p, ps, &item);
        } else if (rc == IROH_BAO_DONE) {
            rc = push_flush(p, ps, true);
            ps->in_blob = false;
            ps->blobs_done++;
        } else if (rc == IROH_BAO_NEED_INPUT) {
            break;
        }
    }
    int flushed = push_flush(p, ps, false); /* what verified before an error is kept too */
    if (rc >= 0) rc = flushed;
    if (rc < 0)
        ps->outcome = rc;
    else if (ps->done)
        ps->outcome = 1;
    else if (ps->work_fin)
        ps->outcome = IROH_ENOTFOUND; /* the pusher ended before everything it announced */
    if (ps->outcome == 1) {
        char name[64];
        struct blob_error e;
        blob_store_tag_create(p->store, r->req.hash,
                              ps->children ? BLOB_FORMAT_HASH_SEQ : BLOB_FORMAT_RAW, name,
                              sizeof name, &e);
    }
}

static void step_work(uv_work_t *w)
{
    struct request *r = w->data;
    if (r->get)
        get_step(r);
    else if (r->obs)
        observe_step(r);
    else
        push_step(r);
}

/* A stream that has not sent a whole request in time holds a slot for nothing. */
static void on_request_timeout(uv_timer_t *t)
{
    struct request *r = t->data;
    if (r->decoded || r->ended || !r->s) return;
    r->p->stats.refused_limit++;
    quic_stream_stop(r->s, IROH_BLOBS_ERR_LIMIT);
    request_finish(r, IROH_BLOBS_ERR_LIMIT);
}

/* A response its peer stopped taking holds a slot for nothing. */
static void on_send_stall(uv_timer_t *t)
{
    struct request *r = t->data;
    if (!r->waiting_drain || r->ended || !r->s) return;
    r->p->stats.refused_limit++;
    log_debug(COMPONENT, "%s: stream %lld: the peer took nothing for %u ms",
              quic_conn_name(r->pc->qc), (long long)quic_stream_id(r->s), r->p->stall_timeout_ms);
    request_finish(r, IROH_BLOBS_ERR_LIMIT);
}

/* Writes bytes to the stream; false when the peer no longer takes them. */
static bool stream_write(struct request *r, const uint8_t *data, size_t len, bool *full)
{
    *full = false;
    if (len == 0) return true;
    long buffered = quic_stream_write(r->s, data, len);
    if (buffered < 0) return false;
    r->p->stats.bytes_sent += len;
    *full = (size_t)buffered >= QUIC_STREAM_HIGH_WATER;
    return true;
}

/* Writes a finished Get step's output and moves on: the end of the request, or the next step,
 * started at once even while the stream is above the high-water mark (within PREFETCH_MAX), so
 * that its output is ready when the stream drains. */
static void get_write(struct request *r)
{
    struct get_state *g = r->get;
    struct blobs_provider *p = r->p;
    bool full;
    p->stats.blobs_sent += g->blobs_done;
    bool written = stream_write(r, g->out, g->out_len, &full); /* the stream keeps a copy */
    give_out(p, g->out);
    g->out = NULL;
    if (g->prefetch) {
        g->prefetch = false;
        p->prefetching--;
    }
    if (!written) {
        request_finish(r, IROH_BLOBS_ERR_INTERNAL);
        return;
    }
    if (g->outcome == 1) {
        request_finish(r, -1);
        return;
    }
    if (g->outcome < 0) {
        p->stats.not_found++;
        log_debug(COMPONENT, "%s: request ends: %s", quic_conn_name(r->pc->qc),
                  iroh_strerror(g->outcome));
        request_finish(r, IROH_BLOBS_ERR_INTERNAL);
        return;
    }
    if (full) {
        r->waiting_drain = true;
        uv_timer_start(&r->timer, on_send_stall, p->stall_timeout_ms, 0);
        if (p->prefetching >= PREFETCH_MAX) return; /* stream_on_drain starts the next step */
        g->prefetch = true;
        p->prefetching++;
    }
    queue_step(r);
}

/* A Get step finished: its output is written now, or held while the stream is above the
 * high-water mark (the step ran ahead) and written when it drains. */
static void get_done(struct request *r)
{
    if (r->waiting_drain)
        r->get->held = true;
    else
        get_write(r);
}

static void observe_done(struct request *r)
{
    struct observe_state *o = r->obs;
    bool full;
    if (o->rc < 0 || !stream_write(r, o->out, o->out ? o->out_len : 0, &full)) {
        request_finish(r, IROH_BLOBS_ERR_INTERNAL);
        return;
    }
    if (o->complete) {
        request_finish(r, -1); /* nothing will change any more */
        return;
    }
    if (o->dirty) { /* a change came while the step ran: it may not have seen it */
        o->dirty = false;
        queue_step(r);
    } /* else the next step waits for blobs_provider_blob_changed */
}

/* Hands the bytes received so far to a push step (loop side). */
static void push_kick(struct request *r)
{
    struct push_state *ps = r->push;
    if (r->working || r->ended || !r->s || (ps->pending_len == 0 && !ps->fin)) return;
    if (ps->work_fin) return; /* the last bytes were handed over already */
    uint8_t *buf = ps->work;
    size_t cap = ps->work_cap;
    ps->work = ps->pending;
    ps->work_cap = ps->pending_cap;
    ps->work_len = ps->pending_len;
    ps->work_fin = ps->fin;
    ps->pending = buf;
    ps->pending_cap = cap;
    ps->pending_len = 0;
    queue_step(r);
}

static bool push_append(struct push_state *ps, const uint8_t *data, size_t len)
{
    if (ps->pending_len + len > ps->pending_cap) {
        size_t cap = ps->pending_cap ? ps->pending_cap : 64 * 1024;
        while (cap < ps->pending_len + len)
            cap *= 2;
        uint8_t *grown = realloc(ps->pending, cap);
        if (!grown) return false;
        ps->pending = grown;
        ps->pending_cap = cap;
    }
    if (len) memcpy(ps->pending + ps->pending_len, data, len);
    ps->pending_len += len;
    return true;
}

static void push_done(struct request *r)
{
    struct push_state *ps = r->push;
    struct blobs_provider *p = r->p;
    quic_stream_consume(r->s, ps->work_len);
    ps->work_len = 0;
    p->stats.bytes_received += ps->bytes_stored;
    p->stats.blobs_received += ps->blobs_done;
    if (ps->outcome < 0) {
        log_debug(COMPONENT, "%s: push ends: %s", quic_conn_name(r->pc->qc),
                  iroh_strerror(ps->outcome));
        quic_stream_stop(r->s, IROH_BLOBS_ERR_INTERNAL);
        request_finish(r, IROH_BLOBS_ERR_INTERNAL);
    } else if (ps->outcome == 1) {
        quic_stream_stop(r->s, 0); /* whatever follows is not asked for */
        request_finish(r, -1);
    } else {
        push_kick(r);
    }
}

static void step_done(uv_work_t *w, int status)
{
    (void)status;
    struct request *r = w->data;
    r->working = false;
    if (r->push && r->push->changed != PUSH_CHANGED_NONE) /* what it stored stays */
        blobs_provider_blob_changed(
            r->p, r->push->changed == PUSH_CHANGED_ONE ? r->push->changed_hash : NULL);
    if (r->ended || !r->s || r->p->stopping) {
        request_maybe_free(r);
        return;
    }
    if (r->get)
        get_done(r);
    else if (r->obs)
        observe_done(r);
    else
        push_done(r);
    request_maybe_free(r);
}

/* ---- requests ------------------------------------------------------------------------------- */

static bool push_allowed(const struct blobs_provider *p, const struct iroh_public_key *id)
{
    for (size_t i = 0; i < p->push_allow_count; i++)
        if (memcmp(p->push_allow[i].bytes, id->bytes, IROH_KEY_LEN) == 0) return true;
    return false;
}

static int start_get(struct request *r)
{
    struct get_state *g = calloc(1, sizeof *g);
    if (!g) return IROH_ENOMEM;
    r->get = g;
    size_t n = r->req.ranges.max_bounds;
    if (!(g->bounds = malloc((n ? n : 1) * sizeof *g->bounds))) return IROH_ENOMEM;
    iroh_chunk_ranges_init(&g->ranges, g->bounds, n);
    int rc = iroh_range_seq_iter_init(&g->it, &r->req.ranges, &g->ranges);
    if (rc < 0) return rc;
    queue_step(r);
    return 0;
}

/* Push: the bytes after the request (consumed) are the first data. */
static int start_push(struct request *r, size_t request_len)
{
    struct push_state *ps = calloc(1, sizeof *ps);
    if (!ps) return IROH_ENOMEM;
    r->push = ps;
    size_t n = r->req.ranges.max_bounds;
    ps->bounds = malloc((n ? n : 1) * sizeof *ps->bounds);
    ps->group_data = malloc((size_t)PUSH_BATCH_GROUPS * IROH_BAO_GROUP_LEN);
    if (!ps->bounds || !ps->group_data) return IROH_ENOMEM;
    iroh_chunk_ranges_init(&ps->ranges, ps->bounds, n);
    int rc = iroh_range_seq_iter_init(&ps->it, &r->req.ranges, &ps->ranges);
    if (rc < 0) return rc;
    if (!push_append(ps, r->in + request_len, r->in_len - request_len)) return IROH_ENOMEM;
    push_kick(r);
    return 0;
}

/* A request of request_len bytes has been decoded: serve it. */
static void dispatch(struct request *r, size_t request_len, bool fin)
{
    struct blobs_provider *p = r->p;
    p->stats.requests++;
    int rc = 0;
    switch (r->req.type) {
    case IROH_BLOBS_GET:
    case IROH_BLOBS_GET_MANY:
        if (r->req.type == IROH_BLOBS_GET)
            p->stats.get++;
        else
            p->stats.get_many++;
        rc = start_get(r);
        break;
    case IROH_BLOBS_OBSERVE:
        p->stats.observe++;
        if (!(r->obs = calloc(1, sizeof *r->obs)))
            rc = IROH_ENOMEM;
        else
            queue_step(r);
        break;
    case IROH_BLOBS_PUSH:
        p->stats.push++;
        if (!push_allowed(p, quic_conn_remote_id(r->pc->qc))) {
            p->stats.refused_permission++;
            quic_stream_stop(r->s, IROH_BLOBS_ERR_PERMISSION);
            request_finish(r, IROH_BLOBS_ERR_PERMISSION);
            return;
        }
        r->push = NULL;
        rc = start_push(r, request_len);
        if (rc == 0 && fin) {
            r->push->fin = true;
            push_kick(r);
        }
        break;
    }
    if (rc < 0) request_finish(r, IROH_BLOBS_ERR_INTERNAL);
}

static void stream_on_data(struct quic_stream *s, const uint8_t *data, size_t len, bool fin,
                           void *arg)
{
    struct request *r = arg;
    if (r->push && !r->ended) { /* Push data: credited back once stored */
        r->push->fin |= fin;
        if (!push_append(r->push, data, len)) request_finish(r, IROH_BLOBS_ERR_INTERNAL);
        push_kick(r);
        return;
    }
    quic_stream_consume(s, len);
    if (r->decoded || r->ended) return;
    if (r->in_len + len > REQUEST_BUFFER_MAX) len = REQUEST_BUFFER_MAX - r->in_len;
    if (r->in_len + len > r->in_cap) {
        size_t cap = r->in_cap ? r->in_cap : 256;
        while (cap < r->in_len + len)
            cap *= 2;
        if (cap > REQUEST_BUFFER_MAX) cap = REQUEST_BUFFER_MAX;
        if (r->p->request_bytes - r->in_cap + cap > REQUEST_BYTES_BUDGET) {
            r->p->stats.refused_limit++;
            quic_stream_stop(s, IROH_BLOBS_ERR_LIMIT);
            request_finish(r, IROH_BLOBS_ERR_LIMIT);
            return;
        }
        uint8_t *in = realloc(r->in, cap);
        if (!in) {
            request_finish(r, IROH_BLOBS_ERR_INTERNAL);
            return;
        }
        r->p->request_bytes += cap - r->in_cap;
        r->in = in;
        r->in_cap = cap;
    }
    if (len) memcpy(r->in + r->in_len, data, len);
    r->in_len += len;
    int rc = iroh_blobs_request_decode(r->in, r->in_len, fin, &r->req);
    if (rc == 0) return;
    if (rc < 0) {
        /* As iroh drops the stream of a request it cannot read: a clean end, no data. */
        r->p->stats.invalid++;
        log_debug(COMPONENT, "%s: stream %lld: invalid request (%s)", quic_conn_name(r->pc->qc),
                  (long long)quic_stream_id(s), iroh_strerror(rc));
        if (!fin) quic_stream_stop(s, 0);
        request_finish(r, -1);
        return;
    }
    r->decoded = true;
    uv_timer_stop(&r->timer);
    dispatch(r, (size_t)rc, fin);
}

static void stream_on_drain(struct quic_stream *s, void *arg)
{
    (void)s;
    struct request *r = arg;
    if (!r->waiting_drain) return;
    uv_timer_stop(&r->timer);
    r->waiting_drain = false;
    if (r->get && r->get->held) {
        r->get->held = false;
        get_write(r);
    } else {
        queue_step(r); /* unless the step that ran ahead is still at work */
    }
}

static void stream_on_reset(struct quic_stream *s, uint64_t app_error, bool stop, void *arg)
{
    (void)s;
    (void)app_error;
    struct request *r = arg;
    if (stop) request_end(r); /* the peer wants no more of the response */
}

static void stream_on_close(struct quic_stream *s, int status, uint64_t app_error, void *arg)
{
    (void)s;
    (void)status;
    (void)app_error;
    struct request *r = arg;
    r->s = NULL;
    request_end(r);
    if (r->timer_open && !uv_is_closing((uv_handle_t *)&r->timer))
        uv_close((uv_handle_t *)&r->timer, on_timer_closed);
    request_maybe_free(r);
}

static const struct quic_stream_callbacks stream_callbacks = {
    .on_data = stream_on_data,
    .on_drain = stream_on_drain,
    .on_close = stream_on_close,
    .on_reset = stream_on_reset,
};

/* ---- connections ---------------------------------------------------------------------------- */

static void conn_on_stream(struct quic_conn *qc, struct quic_stream *s, void *arg)
{
    (void)qc;
    struct pconn *pc = arg;
    struct blobs_provider *p = pc->p;
    if (quic_stream_id(s) & 0x2 || p->stopping) return; /* unidirectional: refused */
    if (pc->active >= p->max_conn_requests || p->stats.active >= p->max_requests) {
        p->stats.refused_limit++;
        quic_stream_reset(s, IROH_BLOBS_ERR_LIMIT);
        return;
    }
    struct request *r = calloc(1, sizeof *r);
    if (!r) return;
    r->p = p;
    r->pc = pc;
    r->s = s;
    r->active = true;
    pc->active++;
    p->stats.active++;
    r->next = p->requests;
    if (p->requests) p->requests->prev = r;
    p->requests = r;
    p->pending++;
    uv_timer_init(p->loop, &r->timer);
    r->timer.data = r;
    r->timer_open = true;
    uv_timer_start(&r->timer, on_request_timeout, p->request_timeout_ms, 0);
    quic_stream_set_callbacks(s, &stream_callbacks, r);
}

static void conn_on_close(struct quic_conn *qc, int status, void *arg)
{
    (void)qc;
    (void)status;
    struct pconn *pc = arg;
    struct blobs_provider *p = pc->p;
    /* Its streams closed first (their requests let go of pc then). */
    for (struct request *r = p->requests; r; r = r->next)
        if (r->pc == pc) r->pc = NULL;
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        p->conns = pc->next;
    if (pc->next) pc->next->prev = pc->prev;
    free(pc);
    p->stats.connections_open--;
    p->pending--;
    provider_maybe_free(p);
}

static const struct quic_conn_callbacks conn_callbacks = {
    .on_stream = conn_on_stream,
    .on_close = conn_on_close,
};

static void on_accept(struct quic_conn *qc, void *arg)
{
    struct blobs_provider *p = arg;
    struct pconn *pc = calloc(1, sizeof *pc);
    if (!pc) {
        quic_conn_close(qc, IROH_BLOBS_ERR_INTERNAL, "internal");
        return;
    }
    pc->p = p;
    pc->qc = qc;
    pc->next = p->conns;
    if (p->conns) p->conns->prev = pc;
    p->conns = pc;
    p->pending++;
    p->stats.connections++;
    p->stats.connections_open++;
    quic_conn_set_callbacks(qc, &conn_callbacks, pc);
}

/* ---- start and stop ----------------------------------------------------------------------- */

int blobs_provider_start(uv_loop_t *loop, struct endpoint *ep, struct blob_store *store,
                         const struct blobs_provider_options *options, struct blobs_provider **out)
{
    if (options->push_allow_count > BLOBS_PROVIDER_MAX_PUSH_ALLOW) return IROH_EINVAL;
    struct blobs_provider *p = calloc(1, sizeof *p);
    if (!p) return IROH_ENOMEM;
    if (uv_mutex_init(&p->out_lock) != 0) {
        free(p);
        return IROH_ENOMEM;
    }
    p->loop = loop;
    p->ep = ep;
    p->store = store;
    if (options->push_allow_count)
        memcpy(p->push_allow, options->push_allow,
               options->push_allow_count * sizeof p->push_allow[0]);
    p->push_allow_count = options->push_allow_count;
    p->max_requests =
        options->max_requests ? options->max_requests : BLOBS_PROVIDER_DEFAULT_MAX_REQUESTS;
    p->max_conn_requests = options->max_conn_requests ? options->max_conn_requests
                                                      : BLOBS_PROVIDER_DEFAULT_MAX_CONN_REQUESTS;
    p->request_timeout_ms = options->request_timeout_ms ? options->request_timeout_ms
                                                        : BLOBS_PROVIDER_DEFAULT_REQUEST_TIMEOUT_MS;
    p->stall_timeout_ms = options->stall_timeout_ms ? options->stall_timeout_ms
                                                    : BLOBS_PROVIDER_DEFAULT_STALL_TIMEOUT_MS;
    const char *corrupt = getenv("IROHD_TEST_CORRUPT_PROVIDER");
    if (corrupt && *corrupt) {
        p->corrupt_leaf = strtoull(corrupt, NULL, 10);
        log_warn(COMPONENT,
                 "TEST ONLY: IROHD_TEST_CORRUPT_PROVIDER=%s: leaf %llu sent will be corrupted",
                 corrupt, (unsigned long long)p->corrupt_leaf);
    }
    int rc = endpoint_serve(ep, IROH_BLOBS_ALPN, on_accept, p);
    if (rc < 0) {
        uv_mutex_destroy(&p->out_lock);
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void blobs_provider_blob_changed(struct blobs_provider *p, const uint8_t hash[BLOB_HASH_LEN])
{
    if (p->stopping) return;
    for (struct request *r = p->requests; r; r = r->next) {
        if (!r->obs || r->ended || !r->s) continue;
        if (hash && memcmp(r->req.hash, hash, IROH_BLOBS_HASH_LEN) != 0) continue;
        if (r->working)
            r->obs->dirty = true;
        else
            queue_step(r);
    }
}

void blobs_provider_stats(const struct blobs_provider *p, struct blobs_provider_stats *out)
{
    *out = p->stats;
}

void blobs_provider_stop(struct blobs_provider *p)
{
    endpoint_unserve(p->ep, IROH_BLOBS_ALPN);
    p->stopping = true;
    for (struct pconn *pc = p->conns; pc; pc = pc->next)
        quic_conn_close(pc->qc, 0, "provider stopping");
    provider_maybe_free(p);
}
