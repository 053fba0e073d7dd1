/* core/bao.h — the BLAKE3 verified-streaming tree of iroh-blobs ("bao" with 16 KiB chunk
 * groups, spec/blobs.md §5): tree geometry, group chaining values, the pre-order outboard
 * (the 64-byte hash pairs above the chunk groups) and the check of one stored group against
 * it.
 *
 * Any module may call these functions: they are pure computation over caller-owned memory and
 * caller-supplied read callbacks, allocate nothing and keep no global state. Only
 * iroh_bao_outboard_compute and iroh_bao_group_cv start threads (when asked to).
 *
 * Terms: a blob of `size` bytes is cut into chunk groups of 16 KiB (the last one may be
 * shorter; the empty blob has one empty group). Groups are the leaves of a left-balanced
 * binary tree (the BLAKE3 tree seen from 16 chunks up); every internal node is a 64-byte pair
 * "left CV ‖ right CV". The outboard stores these pairs in pre-order (a node before its left
 * subtree before its right subtree), (groups − 1) × 64 bytes, no header. */
#ifndef IROH_CORE_BAO_H
#define IROH_CORE_BAO_H

#include <stddef.h>
#include <stdint.h>

#define IROH_BAO_GROUP_LEN 16384 /* bytes of one chunk group (16 chunks) */
#define IROH_BAO_GROUP_CHUNKS 16 /* BLAKE3 chunks of one chunk group */
#define IROH_BAO_PAIR_LEN 64     /* bytes of one parent pair: left CV ‖ right CV */
#define IROH_BAO_STACK_MAX 52    /* tree levels a 2^64-byte blob can need, plus one */

/* The number of chunk groups of a blob of size bytes: max(1, ceil(size / 16384)). */
uint64_t iroh_bao_groups(uint64_t size);

/* Bytes of the pre-order outboard of a blob of size bytes: (groups − 1) × 64, so 0 for
 * size ≤ 16384. */
uint64_t iroh_bao_outboard_size(uint64_t size);

/* The real length of chunk group index of a blob of size bytes (16384, less for the last
 * group, 0 for the empty blob); 0 when index is past the last group. */
size_t iroh_bao_group_len(uint64_t size, uint64_t index);

/* Writes to cv the chaining value of chunk group index of a blob of size bytes, from its len
 * bytes of data (len must be iroh_bao_group_len(size, index)): the non-root subtree CV, or
 * the blob's root hash when the blob has a single group. threads is handed to
 * iroh_blake3_subtree_cv_parallel, which hashes inputs this small in the calling thread. */
void iroh_bao_group_cv(uint64_t size, uint64_t index, const void *data, size_t len,
                       unsigned threads, uint8_t cv[32]);

/* Called with every parent pair as soon as it is known: offset is its byte offset in the
 * pre-order outboard (a multiple of 64), pair is borrowed for the call. */
typedef void iroh_bao_emit_fn(void *ctx, uint64_t offset, const uint8_t pair[64]);

/* Reads exactly len bytes at byte offset into buf. Returns 0, or a negative IROH_E* code
 * (IROH_EIO after a failed read, IROH_ECORRUPT for a short file...) that the caller of the
 * bao function gets back unchanged. */
typedef int iroh_bao_read_fn(void *ctx, uint64_t offset, void *buf, size_t len);

/* A ready-made iroh_bao_read_fn over memory: ctx is a struct iroh_bao_buffer. Reads past
 * its end fail with IROH_ECORRUPT. */
struct iroh_bao_buffer {
    const uint8_t *data; /* borrowed */
    uint64_t len;
};
int iroh_bao_read_buffer(void *ctx, uint64_t offset, void *buf, size_t len);

/* A streaming pre-order outboard builder: fed the CVs of the chunk groups in order (so the
 * caller may hash groups in parallel and stream files of any size through it), it hands
 * every parent pair to emit as soon as both children are known. Plain data, fixed size, no
 * cleanup; fields are private to bao.c. */
struct iroh_bao_outboard_builder {
    uint64_t groups;        /* groups of the whole blob */
    uint64_t first;         /* first group this builder covers (0 for a whole blob) */
    uint64_t count;         /* groups it covers */
    uint64_t added;         /* groups added so far */
    iroh_bao_emit_fn *emit; /* borrowed */
    void *ctx;
    unsigned depth; /* entries on the stack */
    struct {
        uint64_t first, count; /* the groups of a finished subtree */
        uint8_t cv[32];        /* its CV */
    } stack[IROH_BAO_STACK_MAX];
};

/* Starts building the outboard of a blob of size bytes; emit and ctx must outlive the
 * builder. A blob of one group emits nothing. */
void iroh_bao_outboard_builder_init(struct iroh_bao_outboard_builder *b, uint64_t size,
                                    iroh_bao_emit_fn *emit, void *ctx);
/* Adds the CV of the next chunk group (from iroh_bao_group_cv); calls emit for every pair
 * this completes. Returns 0, or IROH_EINVAL if all groups of the size were already added. */
int iroh_bao_outboard_builder_add(struct iroh_bao_outboard_builder *b, const uint8_t group_cv[32]);
/* Writes the root hash of the blob. Returns 0, or IROH_EINVAL if groups are missing. */
int iroh_bao_outboard_builder_finish(const struct iroh_bao_outboard_builder *b,
                                     uint8_t root_hash[32]);

/* The outboard of an in-memory blob: writes iroh_bao_outboard_size(size) bytes to outboard
 * (caller-owned; may be NULL when that is 0) and its root hash, hashing with up to `threads`
 * threads. */
void iroh_bao_outboard_compute(const void *data, uint64_t size, unsigned threads, uint8_t *outboard,
                               uint8_t root_hash[32]);

/* Checks chunk group index (len bytes of data, which must be iroh_bao_group_len(size,
 * index)) of a complete blob against its root hash and outboard. Reads only the pairs on the
 * path from the root to the group (one per tree level, O(log groups)) through
 * read_outboard(ctx, offset, buf, 64); offsets are within iroh_bao_outboard_size(size).
 * Returns 0 when the group and those pairs check out, IROH_ECORRUPT when they do not,
 * IROH_EINVAL for an index past the last group or a wrong len, or read_outboard's error. */
int iroh_bao_verify_group(const uint8_t root_hash[32], uint64_t size,
                          iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                          const void *data, size_t len);

#endif
