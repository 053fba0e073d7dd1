/* core/bao.c — the bao tree with 16 KiB chunk groups (spec/blobs.md §5): geometry, the
 * pre-order outboard and its checks. */
#include "core/bao.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "core/blake3.h"
#include "iroh/error.h"

/* Below this many groups per thread, outboard_compute does not start another thread. */
#define PARALLEL_MIN_GROUPS 64

/* ---- geometry ------------------------------------------------------------------------- */

/* The largest power of two strictly below n (n ≥ 2): the size of a left subtree. */
static uint64_t left_size(uint64_t n)
{
    uint64_t p = 1;
    while (p * 2 < n)
        p *= 2;
    return p;
}

uint64_t iroh_bao_groups(uint64_t size)
{
    uint64_t g = size / IROH_BAO_GROUP_LEN + (size % IROH_BAO_GROUP_LEN != 0);
    return g ? g : 1;
}

uint64_t iroh_bao_outboard_size(uint64_t size)
{
    return (iroh_bao_groups(size) - 1) * IROH_BAO_PAIR_LEN;
}

size_t iroh_bao_group_len(uint64_t size, uint64_t index)
{
    if (index >= iroh_bao_groups(size)) return 0;
    uint64_t rest = size - index * IROH_BAO_GROUP_LEN;
    return rest < IROH_BAO_GROUP_LEN ? (size_t)rest : IROH_BAO_GROUP_LEN;
}

/* A walk from the root of the group tree of a blob down to one node. */
struct walk {
    uint64_t first, count; /* the groups under the current node */
    uint64_t pair;         /* its pre-order index = number of internal nodes before it */
};

/* The pre-order index of a child of the internal node with index pair whose left subtree
 * holds left_groups groups: going left passes the node itself; going right also passes the
 * left subtree's left_groups − 1 internal nodes. */
static uint64_t child_pair(uint64_t pair, uint64_t left_groups, bool right)
{
    return pair + (right ? left_groups : 1);
}

/* Steps from the current node to the child holding group target; returns true when that is
 * the right child. */
static bool walk_down(struct walk *w, uint64_t target)
{
    uint64_t mid = left_size(w->count);
    bool right = target >= w->first + mid;
    w->pair = child_pair(w->pair, mid, right);
    if (right) {
        w->first += mid;
        w->count -= mid;
    } else {
        w->count = mid;
    }
    return right;
}

/* The byte offset in the pre-order outboard of the pair of the internal node covering groups
 * [first, first + count) of a blob of `groups` groups. */
static uint64_t pair_offset(uint64_t groups, uint64_t first, uint64_t count)
{
    struct walk w = {0, groups, 0};
    while (w.count > count)
        walk_down(&w, first);
    return w.pair * IROH_BAO_PAIR_LEN;
}

void iroh_bao_group_cv(uint64_t size, uint64_t index, const void *data, size_t len,
                       unsigned threads, uint8_t cv[32])
{
    iroh_blake3_subtree_cv_parallel(index * IROH_BAO_GROUP_CHUNKS, data, len,
                                    iroh_bao_groups(size) == 1, threads, cv);
}

int iroh_bao_read_buffer(void *ctx, uint64_t offset, void *buf, size_t len)
{
    const struct iroh_bao_buffer *b = ctx;
    if (offset > b->len || len > b->len - offset) return IROH_ECORRUPT;
    if (len) memcpy(buf, b->data + offset, len);
    return 0;
}

/* ---- the streaming outboard builder ----------------------------------------------------- */

/* Starts a builder for the subtree over groups [first, first + count) of a blob of `groups`
 * groups (a node of its tree); its finish yields that subtree's CV, the root hash only when
 * it covers the whole blob. */
static void builder_init_subtree(struct iroh_bao_outboard_builder *b, uint64_t groups,
                                 uint64_t first, uint64_t count, iroh_bao_emit_fn *emit, void *ctx)
{
    b->groups = groups;
    b->first = first;
    b->count = count;
    b->added = 0;
    b->emit = emit;
    b->ctx = ctx;
    b->depth = 0;
}

void iroh_bao_outboard_builder_init(struct iroh_bao_outboard_builder *b, uint64_t size,
                                    iroh_bao_emit_fn *emit, void *ctx)
{
    uint64_t groups = iroh_bao_groups(size);
    builder_init_subtree(b, groups, 0, groups, emit, ctx);
}

/* Joins the two topmost subtrees into their parent: emits the pair and keeps the parent's
 * CV, with the ROOT flag when the parent is the whole blob. */
static void builder_merge(struct iroh_bao_outboard_builder *b)
{
    uint8_t pair[IROH_BAO_PAIR_LEN];
    unsigned l = b->depth - 2, r = b->depth - 1;
    memcpy(pair, b->stack[l].cv, 32);
    memcpy(pair + 32, b->stack[r].cv, 32);
    b->stack[l].count += b->stack[r].count;
    b->depth--;
    b->emit(b->ctx, pair_offset(b->groups, b->stack[l].first, b->stack[l].count), pair);
    iroh_blake3_parent_cv(pair, pair + 32, b->stack[l].count == b->groups, b->stack[l].cv);
}

int iroh_bao_outboard_builder_add(struct iroh_bao_outboard_builder *b, const uint8_t group_cv[32])
{
    if (b->added == b->count) return IROH_EINVAL;
    unsigned top = b->depth++;
    b->stack[top].first = b->first + b->added;
    b->stack[top].count = 1;
    memcpy(b->stack[top].cv, group_cv, 32);
    b->added++;
    if (b->added < b->count) {
        /* Every aligned power-of-two run of groups is a node of a left-balanced tree, so two
         * equal neighbours are siblings (and their parent is not the root: groups follow). */
        while (b->depth >= 2 && b->stack[b->depth - 1].count == b->stack[b->depth - 2].count)
            builder_merge(b);
    } else {
        /* The last group closes the right edge, whose subtrees are not powers of two. */
        while (b->depth >= 2)
            builder_merge(b);
    }
    return 0;
}

int iroh_bao_outboard_builder_finish(const struct iroh_bao_outboard_builder *b,
                                     uint8_t root_hash[32])
{
    if (b->added != b->count) return IROH_EINVAL;
    memcpy(root_hash, b->stack[0].cv, 32);
    return 0;
}

/* ---- in-memory outboard ----------------------------------------------------------------- */

/* One subtree of an in-memory outboard computation. */
struct outboard_job {
    const uint8_t *data;
    uint64_t size;
    uint8_t *outboard;
    uint64_t first, count; /* the subtree's groups */
    unsigned threads;      /* threads it may use, the calling one included */
    uint8_t cv[32];        /* result: the subtree's CV */
};

static void outboard_store_pair(void *ctx, uint64_t offset, const uint8_t pair[64])
{
    memcpy((uint8_t *)ctx + offset, pair, IROH_BAO_PAIR_LEN);
}

/* Computes a subtree: big ones with spare threads split at the root, the left half in a new
 * thread (done here if none can be started); the rest streams its groups through a builder. */
static void *outboard_subtree(void *arg)
{
    struct outboard_job *job = arg;
    uint64_t groups = iroh_bao_groups(job->size);
    if (job->threads > 1 && job->count >= 2 * PARALLEL_MIN_GROUPS) {
        uint64_t mid = left_size(job->count);
        struct outboard_job left = *job, right = *job;
        left.count = mid;
        left.threads = (job->threads + 1) / 2;
        right.first += mid;
        right.count -= mid;
        right.threads = job->threads - left.threads;
        pthread_t tid;
        bool started = pthread_create(&tid, NULL, outboard_subtree, &left) == 0;
        outboard_subtree(&right);
        if (started)
            pthread_join(tid, NULL);
        else
            outboard_subtree(&left);
        uint8_t *pair = job->outboard + pair_offset(groups, job->first, job->count);
        memcpy(pair, left.cv, 32);
        memcpy(pair + 32, right.cv, 32);
        iroh_blake3_parent_cv(left.cv, right.cv, job->count == groups, job->cv);
        return NULL;
    }
    struct iroh_bao_outboard_builder b;
    builder_init_subtree(&b, groups, job->first, job->count, outboard_store_pair, job->outboard);
    for (uint64_t i = job->first; i < job->first + job->count; i++) {
        uint8_t cv[32];
        iroh_bao_group_cv(job->size, i, job->data + i * IROH_BAO_GROUP_LEN,
                          iroh_bao_group_len(job->size, i), 1, cv);
        iroh_bao_outboard_builder_add(&b, cv);
    }
    iroh_bao_outboard_builder_finish(&b, job->cv);
    return NULL;
}

void iroh_bao_outboard_compute(const void *data, uint64_t size, unsigned threads, uint8_t *outboard,
                               uint8_t root_hash[32])
{
    struct outboard_job job = {
        .data = data,
        .size = size,
        .outboard = outboard,
        .first = 0,
        .count = iroh_bao_groups(size),
        .threads = threads,
    };
    outboard_subtree(&job);
    memcpy(root_hash, job.cv, 32);
}

/* ---- checking one group ----------------------------------------------------------------- */

int iroh_bao_verify_group(const uint8_t root_hash[32], uint64_t size,
                          iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                          const void *data, size_t len)
{
    if (index >= iroh_bao_groups(size) || len != iroh_bao_group_len(size, index))
        return IROH_EINVAL;
    uint8_t cv[32];
    iroh_bao_group_cv(size, index, data, len, 1, cv);
    return iroh_bao_verify_group_cv(root_hash, size, read_outboard, ctx, index, cv);
}

int iroh_bao_verify_group_cv(const uint8_t root_hash[32], uint64_t size,
                             iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                             const uint8_t group_cv[32])
{
    struct iroh_bao_path path;
    iroh_bao_path_init(&path);
    return iroh_bao_verify_group_cv_path(root_hash, size, read_outboard, ctx, index, group_cv,
                                         &path);
}

void iroh_bao_path_init(struct iroh_bao_path *path)
{
    path->depth = 0;
}

int iroh_bao_verify_group_cv_path(const uint8_t root_hash[32], uint64_t size,
                                  iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                                  const uint8_t group_cv[32], struct iroh_bao_path *path)
{
    uint64_t groups = iroh_bao_groups(size);
    if (index >= groups) return IROH_EINVAL;
    if (path->depth && (path->size != size || memcmp(path->root, root_hash, 32) != 0))
        path->depth = 0;
    path->size = size;
    memcpy(path->root, root_hash, 32);
    const uint8_t *expected = root_hash;
    struct walk w = {0, groups, 0};
    for (unsigned level = 0; w.count > 1; level++) {
        uint8_t *pair = path->pair[level];
        if (level >= path->depth || path->index[level] != w.pair) {
            /* Off the held path: this level and every one below it are checked anew. */
            path->depth = level;
            int rc = read_outboard(ctx, w.pair * IROH_BAO_PAIR_LEN, pair, IROH_BAO_PAIR_LEN);
            if (rc < 0) return rc;
            uint8_t cv[32];
            iroh_blake3_parent_cv(pair, pair + 32, w.count == groups, cv);
            if (memcmp(cv, expected, 32) != 0) return IROH_ECORRUPT;
            path->index[level] = w.pair;
            path->depth = level + 1;
        }
        expected = walk_down(&w, index) ? pair + 32 : pair;
    }
    return memcmp(group_cv, expected, 32) == 0 ? 0 : IROH_ECORRUPT;
}

/* ---- the body walk (§5.3) shared by encoder and decoder --------------------------------- */

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Does the selection S (§5.2) meet chunks [s, e), e ≤ chunks? The last chunk lc stands for
 * everything at or past it. */
static bool selected_any(const struct iroh_bao_walk *w, uint64_t s, uint64_t e)
{
    uint64_t lc = w->chunks - 1;
    return iroh_chunk_ranges_intersects(w->ranges, s, min_u64(e, lc)) ||
           (e > lc && w->last_selected);
}

/* Does S hold all of chunks [s, e), e ≤ chunks? */
static bool selected_all(const struct iroh_bao_walk *w, uint64_t s, uint64_t e)
{
    uint64_t lc = w->chunks - 1;
    return iroh_chunk_ranges_covers(w->ranges, s, min_u64(e, lc)) && (e <= lc || w->last_selected);
}

/* A node is sent as a leaf when it is one chunk, or inside a chunk group and fully selected;
 * otherwise as a parent pair. */
static bool node_is_leaf(const struct iroh_bao_walk *w, const struct iroh_bao_node *n)
{
    return n->chunks == 1 ||
           (n->chunks <= IROH_BAO_GROUP_CHUNKS && selected_all(w, n->start, n->start + n->chunks));
}

static bool node_is_root(const struct iroh_bao_walk *w, const struct iroh_bao_node *n)
{
    return n->chunks == w->chunks;
}

/* The bytes of the blob under a node. */
static void node_bytes(const struct iroh_bao_walk *w, const struct iroh_bao_node *n,
                       uint64_t *offset, size_t *len)
{
    uint64_t end = n->start + n->chunks == w->chunks
                       ? w->size
                       : (n->start + n->chunks) * IROH_BLAKE3_CHUNK_LEN;
    *offset = n->start * IROH_BLAKE3_CHUNK_LEN;
    *len = (size_t)(end - *offset);
}

static void walk_push(struct iroh_bao_walk *w, uint64_t start, uint64_t chunks, uint64_t pair,
                      const uint8_t *cv)
{
    if (!selected_any(w, start, start + chunks)) return;
    struct iroh_bao_node *n = &w->stack[w->depth++];
    n->start = start;
    n->chunks = chunks;
    n->pair = pair;
    if (cv) memcpy(n->cv, cv, 32);
}

static void walk_init(struct iroh_bao_walk *w, uint64_t size,
                      const struct iroh_chunk_ranges *ranges, const uint8_t *root_cv)
{
    w->size = size;
    w->chunks = size / IROH_BLAKE3_CHUNK_LEN + (size % IROH_BLAKE3_CHUNK_LEN != 0);
    if (w->chunks == 0) w->chunks = 1;
    w->ranges = ranges;
    w->last_selected = iroh_chunk_ranges_intersects(ranges, w->chunks - 1, UINT64_MAX) ||
                       iroh_chunk_ranges_contains(ranges, UINT64_MAX);
    w->depth = 0;
    walk_push(w, 0, w->chunks, 0, root_cv);
}

/* The next node to send, or NULL when the body is complete. */
static const struct iroh_bao_node *walk_peek(const struct iroh_bao_walk *w)
{
    return w->depth ? &w->stack[w->depth - 1] : NULL;
}

/* Done with the top node: a parent's selected children follow, left first, each expecting its
 * CV from pair. */
static void walk_pop(struct iroh_bao_walk *w, const uint8_t pair[64])
{
    struct iroh_bao_node n = w->stack[--w->depth];
    if (node_is_leaf(w, &n)) return;
    uint64_t mid = left_size(n.chunks), left_groups = mid / IROH_BAO_GROUP_CHUNKS;
    walk_push(w, n.start + mid, n.chunks - mid, child_pair(n.pair, left_groups, true), pair + 32);
    walk_push(w, n.start, mid, child_pair(n.pair, left_groups, false), pair);
}

/* Describes the node as an item of bytes[0..len). */
static void walk_item(const struct iroh_bao_walk *w, const struct iroh_bao_node *n,
                      const uint8_t *bytes, struct iroh_bao_item *item)
{
    item->start_chunk = n->start;
    item->chunks = n->chunks;
    item->bytes = bytes;
    item->unfilled = false;
    if (node_is_leaf(w, n)) {
        item->kind = IROH_BAO_ITEM_LEAF;
        node_bytes(w, n, &item->offset, &item->len);
    } else {
        item->kind = IROH_BAO_ITEM_PARENT;
        item->len = IROH_BAO_PAIR_LEN;
        item->offset = n->chunks > IROH_BAO_GROUP_CHUNKS ? n->pair * IROH_BAO_PAIR_LEN : UINT64_MAX;
    }
}

/* ---- encoder ----------------------------------------------------------------------------- */

void iroh_bao_encoder_init(struct iroh_bao_encoder *e, uint64_t size,
                           const struct iroh_chunk_ranges *ranges, iroh_bao_read_fn *read_data,
                           void *data_ctx, iroh_bao_read_fn *read_outboard, void *outboard_ctx)
{
    walk_init(&e->walk, size, ranges, NULL);
    e->read_data = read_data;
    e->data_ctx = data_ctx;
    e->read_outboard = read_outboard;
    e->outboard_ctx = outboard_ctx;
    e->defer_groups = false;
    e->loaded_group = UINT64_MAX;
}

void iroh_bao_encoder_defer_groups(struct iroh_bao_encoder *e)
{
    e->defer_groups = true;
}

/* Makes group[] hold chunk group g. Returns 0 or the read error. */
static int encoder_load_group(struct iroh_bao_encoder *e, uint64_t g)
{
    if (e->loaded_group == g) return 0;
    e->loaded_group = UINT64_MAX;
    int rc = e->read_data(e->data_ctx, g * IROH_BAO_GROUP_LEN, e->group,
                          iroh_bao_group_len(e->walk.size, g));
    if (rc == 0) e->loaded_group = g;
    return rc;
}

/* The pair of a node inside a chunk group, from the group's data (the outboard does not hold
 * it). */
static int encoder_inner_pair(struct iroh_bao_encoder *e, const struct iroh_bao_node *n,
                              uint8_t pair[64])
{
    uint64_t g = n->start / IROH_BAO_GROUP_CHUNKS, offset;
    size_t len;
    int rc = encoder_load_group(e, g);
    if (rc < 0) return rc;
    node_bytes(&e->walk, n, &offset, &len);
    const uint8_t *data = e->group + (offset - g * IROH_BAO_GROUP_LEN);
    size_t left_len = (size_t)left_size(n->chunks) * IROH_BLAKE3_CHUNK_LEN;
    iroh_blake3_subtree_cv(n->start, data, left_len, false, pair);
    iroh_blake3_subtree_cv(n->start + left_size(n->chunks), data + left_len, len - left_len, false,
                           pair + 32);
    return 0;
}

int iroh_bao_encoder_next(struct iroh_bao_encoder *e, uint8_t *buf, size_t cap,
                          struct iroh_bao_item *item)
{
    const struct iroh_bao_node *n = walk_peek(&e->walk);
    if (!n) return IROH_BAO_DONE;
    walk_item(&e->walk, n, buf, item);
    if (cap < item->len) return IROH_EBUFFER;
    int rc = 0;
    if (item->kind == IROH_BAO_ITEM_LEAF && e->defer_groups && item->len > 0 &&
        item->offset % IROH_BAO_GROUP_LEN == 0 &&
        item->len == iroh_bao_group_len(e->walk.size, item->offset / IROH_BAO_GROUP_LEN))
        item->unfilled = true;
    else if (item->kind == IROH_BAO_ITEM_PARENT && item->offset == UINT64_MAX)
        rc = encoder_inner_pair(e, n, buf);
    else if (item->kind == IROH_BAO_ITEM_PARENT)
        rc = e->read_outboard(e->outboard_ctx, item->offset, buf, IROH_BAO_PAIR_LEN);
    else if (e->loaded_group == n->start / IROH_BAO_GROUP_CHUNKS) /* a part of a partial group */
        memcpy(buf, e->group + item->offset % IROH_BAO_GROUP_LEN, item->len);
    else
        rc = e->read_data(e->data_ctx, item->offset, buf, item->len);
    if (rc < 0) return rc;
    walk_pop(&e->walk, buf);
    return IROH_BAO_ITEM;
}

/* ---- decoder ----------------------------------------------------------------------------- */

void iroh_bao_decoder_init(struct iroh_bao_decoder *d, const uint8_t root_hash[32], uint64_t size,
                           const struct iroh_chunk_ranges *ranges)
{
    walk_init(&d->walk, size, ranges, root_hash);
    d->err = 0;
    d->failed_chunk = 0;
    d->have = 0;
}

/* Checks an item's bytes against the CV its node must have. */
static bool decoder_check(const struct iroh_bao_walk *w, const struct iroh_bao_node *n,
                          const struct iroh_bao_item *item)
{
    uint8_t cv[32];
    if (item->kind == IROH_BAO_ITEM_PARENT)
        iroh_blake3_parent_cv(item->bytes, item->bytes + 32, node_is_root(w, n), cv);
    else
        iroh_blake3_subtree_cv(n->start, item->bytes, item->len, node_is_root(w, n), cv);
    return memcmp(cv, n->cv, 32) == 0;
}

int iroh_bao_decoder_next(struct iroh_bao_decoder *d, const void *in, size_t len, size_t *consumed,
                          struct iroh_bao_item *item)
{
    *consumed = 0;
    if (d->err) return d->err;
    const struct iroh_bao_node *n = walk_peek(&d->walk);
    if (!n) return IROH_BAO_DONE;
    walk_item(&d->walk, n, d->buf, item);
    if (d->have == 0 && len >= item->len && item->len > 0) {
        item->bytes = in; /* the whole item is in the input: check it there */
        *consumed = item->len;
    } else {
        size_t take = min_u64(item->len - d->have, len);
        if (take) memcpy(d->buf + d->have, in, take);
        d->have += take;
        *consumed = take;
        if (d->have < item->len) return IROH_BAO_NEED_INPUT;
        d->have = 0;
    }
    if (!decoder_check(&d->walk, n, item)) {
        d->failed_chunk = n->start;
        return d->err = IROH_ECORRUPT;
    }
    memcpy(item->cv, n->cv, 32);
    walk_pop(&d->walk, item->bytes);
    return IROH_BAO_ITEM;
}

uint64_t iroh_bao_decoder_failed_chunk(const struct iroh_bao_decoder *d)
{
    return d->failed_chunk;
}

int iroh_bao_decode(const uint8_t root_hash[32], uint64_t size,
                    const struct iroh_chunk_ranges *ranges, const void *body, size_t len,
                    iroh_bao_item_fn *on_item, void *ctx)
{
    struct iroh_bao_decoder d;
    struct iroh_bao_item item;
    const uint8_t *p = body;
    iroh_bao_decoder_init(&d, root_hash, size, ranges);
    for (;;) {
        size_t used;
        int rc = iroh_bao_decoder_next(&d, p, len, &used, &item);
        if (used) p += used;
        len -= used;
        if (rc == IROH_BAO_DONE) return len ? IROH_EPROTO : 0;
        if (rc == IROH_BAO_NEED_INPUT) return IROH_ENOTFOUND;
        if (rc < 0) return rc;
        rc = on_item(ctx, &item);
        if (rc < 0) return rc;
    }
}
