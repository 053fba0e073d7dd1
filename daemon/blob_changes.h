/* blob_changes.h — who to tell that a blob's stored content changed (its verified ranges, its
 * size, or its presence). The modules that change the store on the loop's behalf
 * (blobs_fetch.c, blobs_service.c) hold one and call blob_changes_notify from the loop thread
 * once a store job that may have changed a blob has come back; main.c points it at
 * blobs_provider_blob_changed, so those modules do not depend on the provider. A type and one
 * inline call, no state of its own. */
#ifndef IROHD_BLOB_CHANGES_H
#define IROHD_BLOB_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "storage/blob_store.h"

/* changed(ctx, hash): the blob hash changed; hash NULL: any blob may have (a GC, a directory
 * added). Loop thread only. */
struct blob_changes {
    void (*changed)(void *ctx, const uint8_t hash[BLOB_HASH_LEN]);
    void *ctx;
};

static inline void blob_changes_notify(const struct blob_changes *c,
                                       const uint8_t hash[BLOB_HASH_LEN])
{
    if (c->changed) c->changed(c->ctx, hash);
}

#endif
