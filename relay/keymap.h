/* relay/keymap.h — a hash map from 32-byte endpoint ids to pointers (open addressing, SipHash
 * with a per-process random key so clients cannot pick colliding ids). The relay server keeps
 * its clients in one and each connection's "sent to" set in another (values unused). An empty
 * map allocates nothing. Used by relay/server.c; call iroh_keys_init() before the first put. */
#ifndef IROH_RELAY_KEYMAP_H
#define IROH_RELAY_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct keymap_slot;

struct keymap {
    struct keymap_slot *slots;
    size_t cap, count, used; /* used = live + deleted slots */
};

/* The value stored under key, or NULL (also when stored as NULL: use keymap_contains). */
void *keymap_get(const struct keymap *m, const uint8_t key[32]);
int keymap_contains(const struct keymap *m, const uint8_t key[32]);
/* Stores value under key (replacing). Returns IROH_OK or IROH_ENOMEM. */
int keymap_put(struct keymap *m, const uint8_t key[32], void *value);
/* Removes key if present. */
void keymap_remove(struct keymap *m, const uint8_t key[32]);
/* Calls fn for every entry; fn must not change the map. */
void keymap_each(const struct keymap *m, void (*fn)(const uint8_t key[32], void *value, void *ctx),
                 void *ctx);
void keymap_free(struct keymap *m);

#endif
