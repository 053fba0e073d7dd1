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

/* Steps from the current node to the child holding group target; returns true when that is
 * the right child. Going left passes the node itself; going right also passes the left
 * subtree's mid − 1 internal nodes. */
static bool walk_down(struct walk *w, uint64_t target)
{
    uint64_t mid = left_size(w->count);
    if (target < w->first + mid) {
        w->pair += 1;
        w->count = mid;
        return false;
    }
    w->pair += mid;
    w->first += mid;
    w->count -= mid;
    return true;
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
    uint64_t groups = iroh_bao_groups(size);
    if (index >= groups || len != iroh_bao_group_len(size, index)) return IROH_EINVAL;
    uint8_t expected[32], cv[32];
    memcpy(expected, root_hash, 32);
    struct walk w = {0, groups, 0};
    while (w.count > 1) {
        uint8_t pair[IROH_BAO_PAIR_LEN];
        int rc = read_outboard(ctx, w.pair * IROH_BAO_PAIR_LEN, pair, sizeof pair);
        if (rc < 0) return rc;
        iroh_blake3_parent_cv(pair, pair + 32, w.count == groups, cv);
        if (memcmp(cv, expected, 32) != 0) return IROH_ECORRUPT;
        memcpy(expected, walk_down(&w, index) ? pair + 32 : pair, 32);
    }
    iroh_bao_group_cv(size, index, data, len, 1, cv);
    return memcmp(cv, expected, 32) == 0 ? 0 : IROH_ECORRUPT;
}
