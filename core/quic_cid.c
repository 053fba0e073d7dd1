/* core/quic_cid.c — QUIC header peeking and the connection id table; see quic_cid.h. */
#include "core/quic_cid.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "iroh/error.h"

int iroh_quic_header_read(const uint8_t *pkt, size_t len, size_t short_dcid_len,
                          struct iroh_quic_header *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1) return IROH_EINVAL;
    if (!(pkt[0] & 0x80)) {
        if (short_dcid_len > IROH_QUIC_CID_MAX || len < 1 + short_dcid_len) return IROH_EINVAL;
        out->dcid.len = (uint8_t)short_dcid_len;
        memcpy(out->dcid.bytes, pkt + 1, short_dcid_len);
        return IROH_OK;
    }
    /* first byte, version (4), dcid length (1), dcid, scid length (1), scid */
    if (len < 7) return IROH_EINVAL;
    out->long_header = true;
    out->version = (uint32_t)pkt[1] << 24 | (uint32_t)pkt[2] << 16 | (uint32_t)pkt[3] << 8 | pkt[4];
    out->long_type = (pkt[0] >> 4) & 0x03;
    size_t p = 5;
    struct iroh_quic_cid *ids[2] = {&out->dcid, &out->scid};
    for (int i = 0; i < 2; i++) {
        if (p >= len) return IROH_EINVAL;
        size_t n = pkt[p++];
        if (n > IROH_QUIC_CID_MAX || n > len - p) return IROH_EINVAL;
        ids[i]->len = (uint8_t)n;
        memcpy(ids[i]->bytes, pkt + p, n);
        p += n;
    }
    return IROH_OK;
}

bool iroh_quic_header_is_v1_initial(const struct iroh_quic_header *h)
{
    return h->long_header && h->version == IROH_QUIC_V1 && h->long_type == IROH_QUIC_INITIAL;
}

/* ---- the table: open addressing, linear probing, deletion by backward shift ------------------ */

struct iroh_cid_entry {
    struct iroh_quic_cid cid;
    void *value; /* NULL: empty slot */
};

#define INITIAL_CAP 64

static size_t slot_of(const struct iroh_cid_table *t, const struct iroh_quic_cid *cid)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, cid->bytes, cid->len, t->key);
    uint64_t x;
    memcpy(&x, h, sizeof x);
    return (size_t)(x & (t->cap - 1));
}

static bool cid_equal(const struct iroh_quic_cid *a, const struct iroh_quic_cid *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

int iroh_cid_table_init(struct iroh_cid_table *t)
{
    t->slots = calloc(INITIAL_CAP, sizeof *t->slots);
    if (!t->slots) return IROH_ENOMEM;
    t->cap = INITIAL_CAP;
    t->count = 0;
    randombytes_buf(t->key, sizeof t->key);
    return IROH_OK;
}

void iroh_cid_table_free(struct iroh_cid_table *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->count = 0;
}

static struct iroh_cid_entry *find(const struct iroh_cid_table *t, const struct iroh_quic_cid *cid)
{
    for (size_t i = slot_of(t, cid);; i = (i + 1) & (t->cap - 1)) {
        struct iroh_cid_entry *e = &t->slots[i];
        if (!e->value || cid_equal(&e->cid, cid)) return e;
    }
}

static int grow(struct iroh_cid_table *t)
{
    struct iroh_cid_table bigger = *t;
    bigger.cap = t->cap * 2;
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots) return IROH_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].value) *find(&bigger, &t->slots[i].cid) = t->slots[i];
    free(t->slots);
    *t = bigger;
    return IROH_OK;
}

int iroh_cid_table_put(struct iroh_cid_table *t, const struct iroh_quic_cid *cid, void *value)
{
    if (!value || cid->len > IROH_QUIC_CID_MAX) return IROH_EINVAL;
    if (iroh_cid_table_get(t, cid)) return IROH_EEXIST;
    if ((t->count + 1) * 2 > t->cap) { /* keep the load at most 1/2 */
        int rc = grow(t);
        if (rc < 0) return rc;
    }
    struct iroh_cid_entry *e = find(t, cid);
    memset(&e->cid, 0, sizeof e->cid);
    e->cid.len = cid->len;
    memcpy(e->cid.bytes, cid->bytes, cid->len);
    e->value = value;
    t->count++;
    return IROH_OK;
}

void *iroh_cid_table_get(const struct iroh_cid_table *t, const struct iroh_quic_cid *cid)
{
    if (cid->len > IROH_QUIC_CID_MAX) return NULL;
    return find(t, cid)->value;
}

/* Empties slot i and moves later entries of its probe run back so lookups still find them. */
static void delete_at(struct iroh_cid_table *t, size_t i)
{
    size_t mask = t->cap - 1;
    t->slots[i].value = NULL;
    t->count--;
    for (size_t j = (i + 1) & mask; t->slots[j].value; j = (j + 1) & mask) {
        size_t home = slot_of(t, &t->slots[j].cid);
        /* The entry at j may move to the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        t->slots[i] = t->slots[j];
        t->slots[j].value = NULL;
        i = j;
    }
}

int iroh_cid_table_remove(struct iroh_cid_table *t, const struct iroh_quic_cid *cid)
{
    if (cid->len > IROH_QUIC_CID_MAX) return 0;
    struct iroh_cid_entry *e = find(t, cid);
    if (!e->value) return 0;
    delete_at(t, (size_t)(e - t->slots));
    return 1;
}

size_t iroh_cid_table_remove_value(struct iroh_cid_table *t, const void *value)
{
    size_t removed = 0;
    /* A backward shift can move an entry into the slot just examined, so look at it again. */
    for (size_t i = 0; i < t->cap;) {
        if (t->slots[i].value == value) {
            delete_at(t, i);
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}
