/* blob_missing.c — the groups of a blob a download still needs; see blob_missing.h. */
#include "storage/blob_missing.h"

#include <iroh/error.h>
#include <stdlib.h>
#include <string.h>

#include "core/bao.h"

#define GROUP IROH_BAO_GROUP_CHUNKS

int blob_ranges_to_groups(struct iroh_chunk_ranges *out, const struct iroh_chunk_ranges *r)
{
    out->len = 0;
    for (size_t i = 0; i < r->len; i += 2) {
        uint64_t a = r->bounds[i] / GROUP * GROUP;
        bool open = i + 1 == r->len || r->bounds[i + 1] > UINT64_MAX - (GROUP - 1);
        uint64_t b = open ? 0 : (r->bounds[i + 1] + GROUP - 1) / GROUP * GROUP;
        if (out->len > 0 && out->bounds[out->len - 1] >= a) { /* meets the previous interval */
            if (open)
                out->len--;
            else if (b > out->bounds[out->len - 1])
                out->bounds[out->len - 1] = b;
        } else {
            if (out->len + (open ? 1 : 2) > out->cap) return IROH_EBUFFER;
            out->bounds[out->len++] = a;
            if (!open) out->bounds[out->len++] = b;
        }
        if (open) break;
    }
    return 0;
}

/* Whether group g of a blob of `groups` groups is wanted: the last group stands for every
 * chunk at or past its start. */
static bool group_wanted(const struct iroh_chunk_ranges *wanted, uint64_t g, uint64_t groups)
{
    uint64_t start = g * GROUP;
    if (g + 1 < groups) return iroh_chunk_ranges_intersects(wanted, start, start + GROUP);
    return iroh_chunk_ranges_intersects(wanted, start, UINT64_MAX) ||
           iroh_chunk_ranges_contains(wanted, UINT64_MAX);
}

static int alloc_ranges(struct blob_missing *m, size_t cap, struct blob_error *e)
{
    uint64_t *storage = malloc((cap ? cap : 1) * sizeof *storage);
    if (!storage) {
        if (e) strcpy(e->detail, "out of memory");
        return IROH_ENOMEM;
    }
    iroh_chunk_ranges_init(&m->ranges, storage, cap ? cap : 1);
    return 0;
}

int blob_store_missing(struct blob_store *s, const uint8_t hash[BLOB_HASH_LEN],
                       const struct iroh_chunk_ranges *wanted, struct blob_missing *out,
                       struct blob_error *e)
{
    memset(out, 0, sizeof *out);
    struct blob_status st;
    int rc = blob_store_status(s, hash, &st, e);
    if (rc == IROH_ENOTFOUND) {
        if ((rc = alloc_ranges(out, wanted->len, e)) < 0) return rc;
        return blob_ranges_to_groups(&out->ranges, wanted);
    }
    if (rc < 0) return rc;
    out->known = true;
    out->complete = st.complete;
    out->size = st.size;
    uint64_t groups = iroh_bao_groups(st.size);
    uint8_t *bits = NULL;
    if (!st.complete) {
        size_t len = (size_t)((groups + 7) / 8);
        if (!(bits = malloc(len))) {
            if (e) strcpy(e->detail, "out of memory");
            return IROH_ENOMEM;
        }
        if ((rc = blob_store_bitfield(s, hash, bits, len, &groups, e)) < 0) {
            free(bits);
            return rc;
        }
    }
    /* At most one run of missing groups starts after each held one: groups + 2 bounds. */
    if ((rc = alloc_ranges(out, st.complete ? 0 : (size_t)groups + 2, e)) < 0) {
        free(bits);
        return rc;
    }
    struct iroh_chunk_ranges *m = &out->ranges;
    for (uint64_t g = 0; g < groups; g++) {
        if (!group_wanted(wanted, g, groups)) continue;
        uint64_t len = iroh_bao_group_len(st.size, g);
        out->wanted_bytes += len;
        if (!bits || (bits[g / 8] >> (g % 8)) & 1) {
            out->present_bytes += len;
            continue;
        }
        if (m->len > 0 && m->bounds[m->len - 1] == g * GROUP)
            m->bounds[m->len - 1] += GROUP;
        else {
            m->bounds[m->len++] = g * GROUP;
            m->bounds[m->len++] = g * GROUP + GROUP;
        }
    }
    free(bits);
    return 0;
}

void blob_missing_free(struct blob_missing *m)
{
    free(m->ranges.bounds);
    m->ranges.bounds = NULL;
    m->ranges.len = m->ranges.cap = 0;
}
