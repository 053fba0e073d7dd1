/* core/bao.h — the BLAKE3 verified-streaming tree of iroh-blobs ("bao" with 16 KiB chunk
 * groups, spec/blobs.md §5): tree geometry, group chaining values, the pre-order outboard
 * (the 64-byte hash pairs above the chunk groups), the check of one stored group against it,
 * and the response body of a range request: its encoder (provider) and its incremental,
 * verifying decoder (getter).
 *
 * Any module may call these functions: they are pure computation over caller-owned memory and
 * caller-supplied read callbacks, allocate nothing and keep no global state. Only
 * iroh_bao_outboard_compute and iroh_bao_group_cv start threads (when asked to). The encoder
 * and decoder are state machines in caller-owned structs; each is used by one thread at a
 * time and needs no cleanup.
 *
 * Terms: a blob of `size` bytes is cut into chunk groups of 16 KiB (the last one may be
 * shorter; the empty blob has one empty group). Groups are the leaves of a left-balanced
 * binary tree (the BLAKE3 tree seen from 16 chunks up); every internal node is a 64-byte pair
 * "left CV ‖ right CV". The outboard stores these pairs in pre-order (a node before its left
 * subtree before its right subtree), (groups − 1) × 64 bytes, no header. */
#ifndef IROH_CORE_BAO_H
#define IROH_CORE_BAO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/chunk_ranges.h"

#define IROH_BAO_GROUP_LEN 16384 /* bytes of one chunk group (16 chunks) */
#define IROH_BAO_GROUP_CHUNKS 16 /* BLAKE3 chunks of one chunk group */
#define IROH_BAO_PAIR_LEN 64     /* bytes of one parent pair: left CV ‖ right CV */
#define IROH_BAO_STACK_MAX 52    /* group-tree levels a 2^64-byte blob can need, plus one */
#define IROH_BAO_WALK_MAX 64     /* chunk-tree levels a 2^64-byte blob can need (55), rounded */

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
/* The same check for a group whose chaining value is already known (e.g. from
 * iroh_bao_group_cv, or a verifying decoder's item->cv): checks only the pairs on its path and
 * that the path ends in group_cv, hashing no data. Returns 0, IROH_ECORRUPT, IROH_EINVAL (index
 * past the last group) or read_outboard's error. */
int iroh_bao_verify_group_cv(const uint8_t root_hash[32], uint64_t size,
                             iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                             const uint8_t group_cv[32]);

/* The pairs of the paths checked so far, one per level from the root down, each already read
 * and found to hash to what its parent (or the root hash) says. Checking groups in order, a
 * group's path shares all but about two of its lowest levels with the one before: those are
 * taken from here, neither read nor hashed again (a 1 GiB blob has 16 levels). Only valid for
 * pairs that cannot change while it is used (the same outboard, or the same batch of pairs):
 * the caller starts one with iroh_bao_path_init per blob and such a source. Plain data, no
 * cleanup; fields are private to bao.c. */
struct iroh_bao_path {
    uint64_t size; /* the blob it is for */
    uint8_t root[32];
    unsigned depth;                     /* levels held */
    uint64_t index[IROH_BAO_STACK_MAX]; /* pre-order index of each level's pair */
    uint8_t pair[IROH_BAO_STACK_MAX][IROH_BAO_PAIR_LEN];
};
void iroh_bao_path_init(struct iroh_bao_path *path);
/* iroh_bao_verify_group_cv, reading and hashing only the pairs of the group's path that path
 * does not hold yet, and keeping them in it when they check out. A path used for another root
 * hash or size starts over. */
int iroh_bao_verify_group_cv_path(const uint8_t root_hash[32], uint64_t size,
                                  iroh_bao_read_fn *read_outboard, void *ctx, uint64_t index,
                                  const uint8_t group_cv[32], struct iroh_bao_path *path);

/* ---- response bodies (§5.3): encoder and decoder ---------------------------------------- */

/* The body of a response for (size, ranges) is fixed by the tree: walking it in pre-order,
 * every node whose chunks meet the selection S (ranges with anything at or past the last
 * chunk meaning the last chunk, §5.2) is sent either as a parent pair (64 bytes) or, when it
 * is one chunk or a fully selected part of a chunk group, as a leaf: its data, at most 16 KiB.
 * Nothing else is on the wire. */

enum iroh_bao_item_kind {
    IROH_BAO_ITEM_PARENT, /* 64 bytes: left child CV ‖ right child CV */
    IROH_BAO_ITEM_LEAF,   /* the data of chunks [start_chunk, start_chunk + chunks) */
};

/* One item of a body, as the encoder wrote it or the decoder verified it. */
struct iroh_bao_item {
    enum iroh_bao_item_kind kind;
    uint64_t start_chunk, chunks; /* the tree node: its first chunk and chunk count */
    const uint8_t *bytes;         /* borrowed: the item's bytes (see the producer) */
    size_t len;                   /* 64 for a parent; the data length for a leaf */
    /* Leaf: byte offset of the data in the blob. Parent: byte offset of the pair in the
     * pre-order outboard, or UINT64_MAX for a pair inside a chunk group (not part of the
     * outboard; only partially requested groups carry these). */
    uint64_t offset;
    /* Decoder only: the chaining value the item was checked against (for a leaf that is a
     * whole chunk group, the group's CV as iroh_bao_group_cv computes it). */
    uint8_t cv[32];
    /* Encoder with iroh_bao_encoder_defer_groups only: a leaf whose bytes were not read; the
     * caller puts the blob's bytes [offset, offset + len) at bytes before sending them. */
    bool unfilled;
};

/* Results of the encoder and decoder steps (negative values are IROH_E* errors). */
enum iroh_bao_step {
    IROH_BAO_NEED_INPUT = 0, /* decoder: every input byte was used; feed more */
    IROH_BAO_ITEM = 1,       /* *item holds the next item */
    IROH_BAO_DONE = 2,       /* the body is complete */
};

/* The pre-order walk shared by encoder and decoder: the nodes still to send, the next on top.
 * Private to bao.c. */
struct iroh_bao_walk {
    uint64_t size, chunks;                  /* the blob's claimed size and its chunk count */
    const struct iroh_chunk_ranges *ranges; /* borrowed: the requested ranges */
    bool last_selected;                     /* ranges reach the last chunk */
    unsigned depth;
    struct iroh_bao_node {
        uint64_t start, chunks; /* chunks [start, start + chunks) */
        uint64_t pair;          /* pre-order index in the outboard (nodes above groups) */
        uint8_t cv[32];         /* decoder: the CV the node must have */
    } stack[IROH_BAO_WALK_MAX];
};

/* Produces the body of a response item by item. Fields are private to bao.c. */
struct iroh_bao_encoder {
    struct iroh_bao_walk walk;
    iroh_bao_read_fn *read_data, *read_outboard; /* borrowed */
    void *data_ctx, *outboard_ctx;
    bool defer_groups;     /* whole-group leaves are left to the caller to fill */
    uint64_t loaded_group; /* the group in group[], UINT64_MAX for none */
    uint8_t group[IROH_BAO_GROUP_LEN];
};

/* Starts the body for a complete blob of size bytes and the requested ranges (borrowed,
 * unchanged until the encoder is done). Data is read through read_data(data_ctx, offset, buf,
 * len) with offset and len within the blob, the outboard through read_outboard(outboard_ctx,
 * offset, buf, 64) (read_outboard may be NULL when iroh_bao_outboard_size(size) is 0).
 * Neither is checked: the caller serves data it trusts (see iroh_bao_verify_group). */
void iroh_bao_encoder_init(struct iroh_bao_encoder *e, uint64_t size,
                           const struct iroh_chunk_ranges *ranges, iroh_bao_read_fn *read_data,
                           void *data_ctx, iroh_bao_read_fn *read_outboard, void *outboard_ctx);
/* From now on, leaves that are whole chunk groups (every leaf of a request for whole groups)
 * are not read through read_data: their room in buf is reserved and the item says so
 * (item->unfilled), so that the caller may read the data of many groups at once, straight to
 * where each belongs. Parts of a group (partial requests) are still read. */
void iroh_bao_encoder_defer_groups(struct iroh_bao_encoder *e);
/* Writes the next item into buf[0..cap) (16384 bytes always suffice) and describes it in
 * *item (item->bytes == buf). Returns IROH_BAO_ITEM, IROH_BAO_DONE when the body is complete,
 * IROH_EBUFFER when the item does not fit, or a read callback's error; after an error nothing
 * was consumed and the call may be repeated. */
int iroh_bao_encoder_next(struct iroh_bao_encoder *e, uint8_t *buf, size_t cap,
                          struct iroh_bao_item *item);

/* Checks a body as it arrives and releases only verified items. Fields are private to
 * bao.c. */
struct iroh_bao_decoder {
    struct iroh_bao_walk walk;
    int err;               /* sticky error, 0 for none */
    uint64_t failed_chunk; /* after IROH_ECORRUPT: first chunk of the node that failed */
    size_t have;           /* bytes of the current item held in buf */
    uint8_t buf[IROH_BAO_GROUP_LEN];
};

/* Starts decoding the body of the blob with this root hash, for the claimed size (from the
 * response header: not trusted, it only shapes the tree; it is verified once the last chunk
 * is) and the requested ranges (borrowed, unchanged until the decoder is done). */
void iroh_bao_decoder_init(struct iroh_bao_decoder *d, const uint8_t root_hash[32], uint64_t size,
                           const struct iroh_chunk_ranges *ranges);
/* Feeds in[0..len) (any split of the body works, one byte at a time too) and stores in
 * *consumed how many of those bytes were used. Returns
 *   IROH_BAO_ITEM        *item is the next item, verified against the root hash. Its bytes
 *                        point into in or into the decoder and stay valid until the next
 *                        call. Call again with the unused rest of the input.
 *   IROH_BAO_NEED_INPUT  all input was used, the body is not complete: feed more.
 *   IROH_BAO_DONE        the body is complete; bytes after it are not consumed (in a
 *                        response they are the next blob's size header).
 *   IROH_ECORRUPT        a parent pair or leaf failed its check (see failed_chunk); nothing
 *                        of it was released. The decoder stays failed.
 * The bytes of an item are verified as a whole: a leaf is released only once all of it is in
 * and checks out. */
int iroh_bao_decoder_next(struct iroh_bao_decoder *d, const void *in, size_t len, size_t *consumed,
                          struct iroh_bao_item *item);
/* The first chunk of the node whose check failed, after IROH_ECORRUPT. */
uint64_t iroh_bao_decoder_failed_chunk(const struct iroh_bao_decoder *d);

/* Called with each verified item; a negative return stops decoding and is returned. */
typedef int iroh_bao_item_fn(void *ctx, const struct iroh_bao_item *item);
/* Decodes a whole body held in memory, handing each verified item to on_item. Returns 0;
 * IROH_ECORRUPT at the first bad item; IROH_ENOTFOUND when the body ends early (the provider
 * does not have the rest); IROH_EPROTO when bytes follow the body; or on_item's error. */
int iroh_bao_decode(const uint8_t root_hash[32], uint64_t size,
                    const struct iroh_chunk_ranges *ranges, const void *body, size_t len,
                    iroh_bao_item_fn *on_item, void *ctx);

#endif
