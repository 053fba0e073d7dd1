/* core/chunk_ranges.h — sets of BLAKE3 chunks (ChunkRanges), their wire form RangeSpec and the
 * per-blob sequence RangeSpecSeq of iroh-blobs requests (spec/blobs.md §3).
 *
 * Any module may call these functions: pure computation on caller-owned memory, nothing is
 * allocated. A set keeps its boundaries in storage the caller lends it; functions that build
 * a set return IROH_EBUFFER when that storage is too small.
 *
 * Units are chunks of 1024 bytes: chunk c covers bytes [1024·c, 1024·c + 1024). A set is a
 * strictly increasing list of boundaries b0 < b1 < …: chunks in [b0,b1) ∪ [b2,b3) ∪ … are in
 * it, and an odd count means the last interval is open ([b_last, ∞), ∞ being past chunk
 * 2^64 − 1). Empty = {}, all = {0}, "the last chunk" = {2^64 − 1}. Readers may walk
 * bounds[0..len) directly. */
#ifndef IROH_CORE_CHUNK_RANGES_H
#define IROH_CORE_CHUNK_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/postcard.h"

/* A set of chunks over borrowed boundary storage. */
struct iroh_chunk_ranges {
    uint64_t *bounds; /* borrowed storage of cap entries; bounds[0..len) are the boundaries */
    size_t len;
    size_t cap;
};

/* Makes r the empty set over storage[0..cap) (storage must outlive r; may be NULL if cap 0). */
void iroh_chunk_ranges_init(struct iroh_chunk_ranges *r, uint64_t *storage, size_t cap);

/* The setters replace r's contents; each returns 0, or IROH_EBUFFER (r unchanged) when r's
 * storage is too small. */
/* Every chunk: {0}. Needs cap ≥ 1. */
int iroh_chunk_ranges_set_all(struct iroh_chunk_ranges *r);
/* Chunks [start, end); empty when end ≤ start. Needs cap ≥ 2. */
int iroh_chunk_ranges_set_range(struct iroh_chunk_ranges *r, uint64_t start, uint64_t end);
/* Chunks [start, ∞). Needs cap ≥ 1. */
int iroh_chunk_ranges_set_from(struct iroh_chunk_ranges *r, uint64_t start);
/* The chunks touched by bytes [start, end): [start / 1024, ceil(end / 1024)); empty when
 * end ≤ start. Needs cap ≥ 2. */
int iroh_chunk_ranges_set_bytes(struct iroh_chunk_ranges *r, uint64_t start, uint64_t end);
/* A copy of src. */
int iroh_chunk_ranges_copy(struct iroh_chunk_ranges *r, const struct iroh_chunk_ranges *src);

/* Set operations: out = a ∪ b, a ∩ b, a − b. out must not share storage with a or b. Return
 * 0, or IROH_EBUFFER (out's contents then unspecified) when out's storage is too small; the
 * result never has more than a.len + b.len boundaries. */
int iroh_chunk_ranges_union(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                            const struct iroh_chunk_ranges *b);
int iroh_chunk_ranges_intersection(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                                   const struct iroh_chunk_ranges *b);
int iroh_chunk_ranges_difference(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *a,
                                 const struct iroh_chunk_ranges *b);

/* Queries; none changes r. */
bool iroh_chunk_ranges_is_empty(const struct iroh_chunk_ranges *r);
/* true when r holds every chunk ({0}). */
bool iroh_chunk_ranges_is_all(const struct iroh_chunk_ranges *r);
bool iroh_chunk_ranges_equal(const struct iroh_chunk_ranges *a, const struct iroh_chunk_ranges *b);
/* true when chunk is in r. */
bool iroh_chunk_ranges_contains(const struct iroh_chunk_ranges *r, uint64_t chunk);
/* true when some chunk of [start, end) is in r (false for end ≤ start). */
bool iroh_chunk_ranges_intersects(const struct iroh_chunk_ranges *r, uint64_t start, uint64_t end);
/* true when every chunk of [start, end) is in r (true for end ≤ start). */
bool iroh_chunk_ranges_covers(const struct iroh_chunk_ranges *r, uint64_t start, uint64_t end);
/* true when every chunk of a is in b. */
bool iroh_chunk_ranges_is_subset(const struct iroh_chunk_ranges *a,
                                 const struct iroh_chunk_ranges *b);

/* ---- RangeSpec: postcard SmallVec<[u64; 2]> of delta-encoded boundaries ---------------- */

/* Bytes of the longest RangeSpec of a set of n boundaries. */
#define IROH_RANGE_SPEC_MAX_LEN(n) (IROH_POSTCARD_VARINT_MAX_U64 * ((size_t)(n) + 1))

/* Appends the RangeSpec of r (count, then b0, b1 − b0, b2 − b1, …). Returns 0 or IROH_EBUFFER
 * as the writer does (see core/postcard.h). */
int iroh_range_spec_encode(struct iroh_postcard_writer *w, const struct iroh_chunk_ranges *r);
/* Reads one RangeSpec into r (replacing its contents). Non-canonical forms (zero-width spans)
 * are accepted and normalised. Returns 0; IROH_EINVAL for truncated or malformed input or
 * boundaries past 2^64 − 1; IROH_EBUFFER when r's storage is too small (a spec of k values
 * needs at most k boundaries). On failure r is empty and the reader's position unchanged. */
int iroh_range_spec_decode(struct iroh_postcard_reader *rd, struct iroh_chunk_ranges *r);

/* ---- RangeSpecSeq: the ranges of blob i of a request, for every i ------------------------ */

/* One entry of a sequence: from blob index offset on (until the next entry), ranges apply.
 * After the last entry its ranges repeat forever: a finite sequence ends with an empty entry. */
struct iroh_range_seq_entry {
    uint64_t offset;
    struct iroh_chunk_ranges ranges; /* borrowed */
};

/* Appends the RangeSpecSeq of entries[0..n) (offsets absolute and non-decreasing): count,
 * then for each entry the offset delta and the RangeSpec. Returns 0, IROH_EINVAL for
 * decreasing offsets (nothing written), or IROH_EBUFFER as the writer does. */
int iroh_range_seq_encode(struct iroh_postcard_writer *w,
                          const struct iroh_range_seq_entry *entries, size_t n);
/* Appends the canonical sequence giving blob i the ranges per_blob[i] for i < n (iroh-blobs'
 * from_ranges): an entry wherever the ranges change, then, unless infinite, an empty entry at
 * n so that later blobs get nothing; when infinite, per_blob[n − 1] repeats forever. Returns
 * 0 or IROH_EBUFFER. */
int iroh_range_seq_encode_from_ranges(struct iroh_postcard_writer *w,
                                      const struct iroh_chunk_ranges *per_blob, size_t n,
                                      bool infinite);

/* The sequences iroh-blobs names. */
enum iroh_range_seq_named {
    IROH_RANGE_SEQ_ROOT,                 /* [(0, all), (1, ∅)]: the whole root blob */
    IROH_RANGE_SEQ_ALL,                  /* [(0, all)]: the root and every child, whole */
    IROH_RANGE_SEQ_VERIFIED_SIZE,        /* [(0, last chunk), (1, ∅)]: a size proof */
    IROH_RANGE_SEQ_VERIFIED_CHILD_SIZES, /* [(0, all), (1, last chunk)]: root + child sizes */
};
/* Appends a named sequence. Returns 0 or IROH_EBUFFER; IROH_EINVAL for an unknown name. */
int iroh_range_seq_encode_named(struct iroh_postcard_writer *w, enum iroh_range_seq_named name);

/* A decoded RangeSpecSeq: a validated view into the reader's input (borrowed, must outlive
 * it and its iterators). */
struct iroh_range_seq {
    const uint8_t *entries; /* the bytes after the count */
    size_t len;             /* their length */
    uint64_t count;         /* entries */
    size_t max_bounds;      /* storage any entry's ranges need while decoding */
};

/* Reads and validates one RangeSpecSeq (every RangeSpec, offsets below 2^64). Returns 0,
 * IROH_EINVAL for truncated or malformed input; on failure the position is unchanged. */
int iroh_range_seq_decode(struct iroh_postcard_reader *rd, struct iroh_range_seq *seq);

/* Walks the blob indices whose ranges are non-empty, in increasing order (iroh-blobs'
 * iter_non_empty_infinite). Plain data; fields are private to chunk_ranges.c. */
struct iroh_range_seq_iter {
    struct iroh_postcard_reader rd;   /* over the entries not yet read */
    uint64_t left;                    /* entries not yet read */
    uint64_t next_offset;             /* offset of the next entry, when left > 0 */
    uint64_t index;                   /* the next blob index to look at */
    bool done;                        /* no index is left */
    struct iroh_chunk_ranges *ranges; /* borrowed: the current entry's ranges */
};

/* Starts a walk over seq whose current ranges live in *ranges (borrowed for the walk; its
 * storage needs seq->max_bounds entries). Returns 0, or IROH_EBUFFER when it has fewer. */
int iroh_range_seq_iter_init(struct iroh_range_seq_iter *it, const struct iroh_range_seq *seq,
                             struct iroh_chunk_ranges *ranges);
/* Moves to the next blob index with non-empty ranges: writes it to *index, leaves its ranges
 * in the set given to init, and returns 1; returns 0 when no index is left (the last entry is
 * empty, or index 2^64 − 1 was passed). An infinite sequence goes on until then: the caller
 * stops (e.g. at the end of a hash sequence). */
int iroh_range_seq_iter_next(struct iroh_range_seq_iter *it, uint64_t *index);

#endif
