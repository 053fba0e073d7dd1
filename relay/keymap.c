/* relay/keymap.c — open-addressing map of 32-byte keys (see keymap.h). */
#include "relay/keymap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"

enum { SLOT_EMPTY, SLOT_LIVE, SLOT_DELETED };

struct keymap_slot {
    uint8_t key[32];
    void *value;
    uint8_t state;
};

static uint8_t hash_key[crypto_shorthash_KEYBYTES];
static int hash_key_ready;

static size_t slot_of(const struct keymap *m, const uint8_t key[32])
{
    uint64_t h;
    crypto_shorthash((unsigned char *)&h, key, 32, hash_key);
    return (size_t)h & (m->cap - 1);
}

/* The slot holding key, or the first free slot of its probe sequence when absent (in *free). */
static struct keymap_slot *find(const struct keymap *m, const uint8_t key[32],
                                struct keymap_slot **free_slot)
{
    *free_slot = NULL;
    if (!m->cap) return NULL;
    for (size_t i = slot_of(m, key), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
        struct keymap_slot *s = &m->slots[i];
        if (s->state == SLOT_EMPTY) {
            if (!*free_slot) *free_slot = s;
            return NULL;
        }
        if (s->state == SLOT_DELETED) {
            if (!*free_slot) *free_slot = s;
        } else if (memcmp(s->key, key, 32) == 0) {
            return s;
        }
    }
    return NULL;
}

void *keymap_get(const struct keymap *m, const uint8_t key[32])
{
    struct keymap_slot *f, *s = find(m, key, &f);
    return s ? s->value : NULL;
}

int keymap_contains(const struct keymap *m, const uint8_t key[32])
{
    struct keymap_slot *f;
    return find(m, key, &f) != NULL;
}

static int grow(struct keymap *m)
{
    size_t cap = m->count * 2 >= m->cap ? (m->cap ? m->cap * 2 : 8) : m->cap; /* else rehash */
    struct keymap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return IROH_ENOMEM;
    struct keymap old = *m;
    m->slots = slots;
    m->cap = cap;
    m->count = m->used = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].state == SLOT_LIVE) keymap_put(m, old.slots[i].key, old.slots[i].value);
    free(old.slots);
    return IROH_OK;
}

int keymap_put(struct keymap *m, const uint8_t key[32], void *value)
{
    if (!hash_key_ready) {
        crypto_shorthash_keygen(hash_key);
        hash_key_ready = 1;
    }
    struct keymap_slot *f, *s = find(m, key, &f);
    if (s) {
        s->value = value;
        return IROH_OK;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        if (grow(m) < 0) return IROH_ENOMEM;
        find(m, key, &f);
    }
    if (f->state == SLOT_EMPTY) m->used++;
    memcpy(f->key, key, 32);
    f->value = value;
    f->state = SLOT_LIVE;
    m->count++;
    return IROH_OK;
}

void keymap_remove(struct keymap *m, const uint8_t key[32])
{
    struct keymap_slot *f, *s = find(m, key, &f);
    if (!s) return;
    s->state = SLOT_DELETED;
    s->value = NULL;
    m->count--;
    if (m->count == 0) { /* start over: no tombstones left behind */
        memset(m->slots, 0, m->cap * sizeof *m->slots);
        m->used = 0;
    }
}

void keymap_each(const struct keymap *m, void (*fn)(const uint8_t key[32], void *value, void *ctx),
                 void *ctx)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].state == SLOT_LIVE) fn(m->slots[i].key, m->slots[i].value, ctx);
}

void keymap_free(struct keymap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}
