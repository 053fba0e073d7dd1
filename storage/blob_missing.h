/* blob_missing.h — what a download of one blob still needs: the chunks of the wanted ranges
 * that the store does not hold yet, in whole 16 KiB chunk groups (the unit the store keeps and
 * verifies, storage/blob_store.h "partial entries"), and how many of the wanted bytes it
 * holds already. Resuming a download is asking a provider for exactly these ranges.
 *
 * Built on the store's public calls (blob_store_status, blob_store_bitfield); called by the
 * downloader (daemon/blobs_fetch.c) from libuv worker threads. Errors are IROH_E* codes with a
 * sentence in the struct blob_error, as the store's own calls. */
#ifndef IROH_STORAGE_BLOB_MISSING_H
#define IROH_STORAGE_BLOB_MISSING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/chunk_ranges.h"
#include "storage/blob_store.h"

struct blob_missing {
    bool known;    /* the store has an entry, complete or partial */
    bool complete; /* the entry is complete */
    uint64_t size; /* known: its size (a partial entry's is the one a provider claimed) */
    /* Bytes of the wanted groups (0 while the size is unknown) and those of them held. */
    uint64_t wanted_bytes, present_bytes;
    /* The chunks to ask for: the wanted ranges widened to whole groups, less the groups held.
     * Without an entry, the widened wanted ranges (possibly open-ended). Empty when nothing
     * is missing. Its storage is owned: free it with blob_missing_free. */
    struct iroh_chunk_ranges ranges;
};

/* Widens r to whole chunk groups: every interval [a, b) becomes [a rounded down, b rounded up
 * to a multiple of 16 chunks), merged where they meet; an open end stays open. Writes into out
 * (its own storage, at least r->len boundaries). Returns 0 or IROH_EBUFFER. */
int blob_ranges_to_groups(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *r);

/* Fills *out for hash and the wanted chunk ranges (anything at or past the blob's last chunk
 * means the last chunk, as in a request). Returns 0 (free out with blob_missing_free), or
 * IROH_ENOMEM / IROH_EIO. */
int blob_store_missing(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                       const struct iroh_chunk_ranges *wanted, struct blob_missing *out,
                       struct blob_error *e);

void blob_missing_free(struct blob_missing *m);

#endif
