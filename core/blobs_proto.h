/* core/blobs_proto.h — the iroh-blobs request/response protocol over ALPN "/iroh-bytes/4"
 * (spec/blobs.md §2, §6, §7, §8): requests Get, GetMany, Observe and Push, their encoders and
 * the provider's decoder; the per-blob response framing (8-byte LE size, then the bao body of
 * core/bao.h) read incrementally by a getter; Observe's length-prefixed bitfield messages.
 *
 * I/O-free: everything works on caller-owned buffers and structs, nothing is allocated. Any
 * module may call it: the provider (daemon/blobs_provider.c), the downloader
 * (daemon/blobs_fetch.c), tests and fuzz targets.
 *
 * One request per bidirectional QUIC stream: the requester writes the request and finishes
 * its side (Get, GetMany, Observe) — the provider reads up to FIN, at most
 * IROH_BLOBS_MAX_MESSAGE_SIZE bytes after the type byte, and ignores bytes after a complete
 * message as postcard does — or, for Push, writes a length-prefixed request followed by the
 * data. The provider answers Get and GetMany with, for each requested blob in order,
 * size (u64 LE) ‖ bao body, and finishes; on an error it resets its side with one of the
 * IROH_BLOBS_ERR_* codes (unknown hash: IROH_BLOBS_ERR_INTERNAL before any byte). */
#ifndef IROH_CORE_BLOBS_PROTO_H
#define IROH_CORE_BLOBS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bao.h"
#include "core/chunk_ranges.h"
#include "core/postcard.h"

#define IROH_BLOBS_ALPN "/iroh-bytes/4"
#define IROH_BLOBS_HASH_LEN 32
/* Longest request body after the type byte (upstream MAX_MESSAGE_SIZE); a getter must not
 * send a longer request (type byte included), a provider refuses one. */
#define IROH_BLOBS_MAX_MESSAGE_SIZE (1024 * 1024)
#define IROH_BLOBS_SIZE_HEADER_LEN 8

/* RESET_STREAM application codes of a provider (§8). */
#define IROH_BLOBS_ERR_PERMISSION 1 /* request refused (e.g. Push not allowed) */
#define IROH_BLOBS_ERR_LIMIT 2      /* a limit was reached */
#define IROH_BLOBS_ERR_INTERNAL 3   /* unknown hash, missing data, invalid hash sequence, I/O */

/* The first byte of a request stream: the postcard variant index of Request. 2..7 are reserved
 * and, like any other value, refused. */
enum iroh_blobs_request_type {
    IROH_BLOBS_GET = 0,
    IROH_BLOBS_OBSERVE = 1,
    IROH_BLOBS_PUSH = 8,
    IROH_BLOBS_GET_MANY = 9,
};

/* ---- encoding requests (getter side) ------------------------------------------------------ */

/* A Get request is the header (type 00 and the root hash) followed by a RangeSpecSeq, which
 * the caller appends with any iroh_range_seq_encode* function of core/chunk_ranges.h: entry 0
 * is the root blob, entry k ≥ 1 child k − 1 of the hash sequence in the root. Returns 0 or
 * IROH_EBUFFER as the writer does. */
int iroh_blobs_get_header(struct iroh_postcard_writer *w, const uint8_t hash[IROH_BLOBS_HASH_LEN]);

/* A whole Get request with a named sequence: IROH_RANGE_SEQ_ROOT is upstream's
 * GetRequest::blob (the root only), IROH_RANGE_SEQ_ALL is GetRequest::all (the root and every
 * child). Returns 0, IROH_EBUFFER, or IROH_EINVAL for an unknown name. */
int iroh_blobs_get_encode(struct iroh_postcard_writer *w, const uint8_t hash[IROH_BLOBS_HASH_LEN],
                          enum iroh_range_seq_named ranges);

/* A GetMany request's header: type 09, varint(count), the count hashes (hashes + 32 i); the
 * caller appends the RangeSpecSeq whose entry i applies to hashes[i] (no root entry). Returns 0
 * or IROH_EBUFFER. */
int iroh_blobs_get_many_header(struct iroh_postcard_writer *w, const uint8_t *hashes, size_t count);

/* A whole Observe request: type 01, the hash, the RangeSpec of ranges (current providers
 * ignore it and observe the whole blob; send all). Returns 0 or IROH_EBUFFER. */
int iroh_blobs_observe_encode(struct iroh_postcard_writer *w,
                              const uint8_t hash[IROH_BLOBS_HASH_LEN],
                              const struct iroh_chunk_ranges *ranges);

/* A Push request from an encoded Get request get[0..len) (as built above; its first byte must
 * be 00): type 08, varint(len − 1), then get[1..len). The pushed data (as a provider would
 * send it for that Get) follows on the stream. Returns 0, IROH_EBUFFER, IROH_EINVAL (get is
 * not a Get request) or IROH_ETOOBIG (over IROH_BLOBS_MAX_MESSAGE_SIZE). */
int iroh_blobs_push_encode(struct iroh_postcard_writer *w, const uint8_t *get, size_t len);

/* ---- decoding requests (provider side) ---------------------------------------------------- */

/* A decoded request: views into the input, which must outlive it. */
struct iroh_blobs_request {
    enum iroh_blobs_request_type type;
    uint8_t hash[IROH_BLOBS_HASH_LEN]; /* Get, Push, Observe: the (root) hash */
    const uint8_t *hashes;             /* GetMany: hash i at hashes + 32 i */
    uint64_t hash_count;               /* GetMany */
    struct iroh_range_seq ranges;      /* Get, Push, GetMany (see core/chunk_ranges.h) */
    const uint8_t *observe_spec;       /* Observe: its RangeSpec (validated), unused upstream */
    size_t observe_spec_len;
};

/* Decodes the request at the start of a stream from the bytes received so far, in[0..len);
 * fin says the requester finished its side after them. Returns
 *   > 0           the request is complete: the number of bytes it used. For Get, GetMany and
 *                 Observe that is len (bytes after the message are ignored; the provider must
 *                 have read to FIN); for Push the data starts at that offset.
 *   0             more bytes are needed (Get/GetMany/Observe: until FIN; Push: its length
 *                 prefix and message).
 *   IROH_ETOOBIG  over IROH_BLOBS_MAX_MESSAGE_SIZE after the type byte (also when not yet
 *                 finished: the provider may stop reading).
 *   IROH_EINVAL   an unknown or reserved type, a malformed message, a request ended by FIN
 *                 before it was complete, or hashes past the input.
 * Never reads past in[len). */
int iroh_blobs_request_decode(const uint8_t *in, size_t len, bool fin,
                              struct iroh_blobs_request *req);

/* ---- responses -------------------------------------------------------------------------- */

/* Writes the 8-byte little-endian size header of one blob of a response. */
void iroh_blobs_size_header(uint64_t size, uint8_t out[IROH_BLOBS_SIZE_HEADER_LEN]);

/* Results of iroh_blobs_blob_reader_next beyond those of enum iroh_bao_step (NEED_INPUT,
 * ITEM, DONE keep their values). */
#define IROH_BLOBS_SIZE 3 /* the size header is in: reader->size holds the (claimed) size */

/* Reads one blob of a Get/GetMany response: its size header, then its body through a
 * verifying iroh_bao_decoder. Plain data, no cleanup; a getter runs one per blob in request
 * order (the next blob's header follows the previous body directly). Fields other than size
 * are private to blobs_proto.c. */
struct iroh_blobs_blob_reader {
    uint8_t hash[IROH_BLOBS_HASH_LEN];
    const struct iroh_chunk_ranges *ranges; /* borrowed */
    uint8_t header[IROH_BLOBS_SIZE_HEADER_LEN];
    size_t header_have;
    uint64_t size; /* valid after IROH_BLOBS_SIZE; verified once the last chunk was */
    struct iroh_bao_decoder decoder;
};

/* Starts reading the blob with this hash for the requested ranges (borrowed, unchanged until
 * the reader is done). */
void iroh_blobs_blob_reader_init(struct iroh_blobs_blob_reader *r,
                                 const uint8_t hash[IROH_BLOBS_HASH_LEN],
                                 const struct iroh_chunk_ranges *ranges);
/* Feeds in[0..len) (any split), stores in *consumed how many bytes were used and returns
 *   IROH_BLOBS_SIZE       the header is complete (r->size); call again with the rest
 *   IROH_BAO_ITEM         *item is verified (see iroh_bao_decoder_next); call again
 *   IROH_BAO_NEED_INPUT   everything was used; feed more
 *   IROH_BAO_DONE         the blob is complete; later bytes belong to the next blob
 *   IROH_ECORRUPT         a check failed (iroh_bao_decoder_failed_chunk(&r->decoder) says
 *                         where); the reader stays failed.
 * A getter that meets the end of the stream before the header treats it as "not found", as a
 * reset with IROH_BLOBS_ERR_INTERNAL (iroh 0.35 providers finish cleanly instead of
 * resetting); within the body, as the provider lacking the rest. */
int iroh_blobs_blob_reader_next(struct iroh_blobs_blob_reader *r, const void *in, size_t len,
                                size_t *consumed, struct iroh_bao_item *item);

/* ---- Observe responses ---------------------------------------------------------------------- */

/* Appends one Observe message: varint(L) ‖ postcard ObserveItem { size, ChunkRanges } (L bytes;
 * the ranges as a count and *absolute* boundaries, unlike a RangeSpec). The first message
 * carries the whole bitfield, later ones its change (old XOR new). Returns 0 or IROH_EBUFFER. */
int iroh_blobs_observe_item_encode(struct iroh_postcard_writer *w, uint64_t size,
                                   const struct iroh_chunk_ranges *ranges);

/* Reads one Observe message from in[0..len) into *size and ranges (replacing its contents).
 * Returns the bytes used (> 0), 0 when more are needed, IROH_EINVAL (malformed, boundaries not
 * strictly increasing, over IROH_BLOBS_MAX_MESSAGE_SIZE) or IROH_EBUFFER (ranges' storage is
 * too small). */
int iroh_blobs_observe_item_decode(const uint8_t *in, size_t len, uint64_t *size,
                                   struct iroh_chunk_ranges *ranges);

#endif
