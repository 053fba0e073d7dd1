/* core/quic_path.c — per-connection synthetic <-> real address map; see quic_path.h. */
#include "core/quic_path.h"

#include <string.h>

#include "iroh/error.h"

static const uint8_t SYNTHETIC_PREFIX[8] = {0xfd, 0x15, 0x07, 0x0a, 0x51, 0x0b, 0x00, 0xff};

static bool same(const struct iroh_socket_addr *a, const struct iroh_socket_addr *b)
{
    return iroh_socket_addr_compare(a, b) == 0;
}

static struct iroh_socket_addr next_synthetic(struct iroh_path_map *m)
{
    struct iroh_socket_addr s = {.family = IROH_IP_V6, .port = IROH_PATH_SYNTHETIC_PORT};
    memcpy(s.ip, SYNTHETIC_PREFIX, sizeof SYNTHETIC_PREFIX);
    uint16_t n = ++m->generation;
    s.ip[14] = (uint8_t)(n >> 8);
    s.ip[15] = (uint8_t)n;
    return s;
}

void iroh_path_map_init_dial(struct iroh_path_map *m, const struct iroh_socket_addr *candidates,
                             size_t n)
{
    memset(m, 0, sizeof *m);
    if (n > IROH_PATH_MAX_CANDIDATES) n = IROH_PATH_MAX_CANDIDATES;
    memcpy(m->candidates, candidates, n * sizeof *candidates);
    m->candidate_count = n;
    m->slot_count = 1;
    m->slots[0].synthetic = next_synthetic(m);
}

void iroh_path_map_init_accept(struct iroh_path_map *m, const struct iroh_socket_addr *real)
{
    memset(m, 0, sizeof *m);
    m->pinned = true;
    m->slot_count = 1;
    m->slots[0].synthetic = next_synthetic(m);
    m->slots[0].real = *real;
}

const struct iroh_socket_addr *iroh_path_map_first(const struct iroh_path_map *m)
{
    return &m->slots[0].synthetic;
}

size_t iroh_path_map_targets(const struct iroh_path_map *m,
                             const struct iroh_socket_addr *synthetic,
                             const struct iroh_socket_addr **out, size_t cap)
{
    if (!m->pinned) {
        if (!same(synthetic, &m->slots[0].synthetic)) return 0;
        size_t n = 0;
        for (; n < m->candidate_count && n < cap; n++)
            out[n] = &m->candidates[n];
        return n;
    }
    for (size_t i = 0; i < m->slot_count; i++) {
        if (!same(synthetic, &m->slots[i].synthetic)) continue;
        if (cap == 0) return 0;
        out[0] = &m->slots[i].real;
        return 1;
    }
    return 0;
}

int iroh_path_map_incoming(struct iroh_path_map *m, const struct iroh_socket_addr *real,
                           bool allow_new_path, const struct iroh_socket_addr *active,
                           struct iroh_socket_addr *synthetic)
{
    if (!m->pinned) {
        m->slots[0].real = *real;
        m->pinned = true;
        *synthetic = m->slots[0].synthetic;
        return IROH_OK;
    }
    for (size_t i = 0; i < m->slot_count; i++) {
        if (same(real, &m->slots[i].real)) {
            *synthetic = m->slots[i].synthetic;
            return IROH_OK;
        }
    }
    if (!allow_new_path) return IROH_ENOTFOUND;

    size_t at = m->slot_count;
    if (at == IROH_PATH_SLOTS) { /* forget the oldest path that QUIC is not using */
        size_t victim = 0;
        if (active && same(active, &m->slots[0].synthetic)) victim = 1;
        memmove(&m->slots[victim], &m->slots[victim + 1],
                (IROH_PATH_SLOTS - victim - 1) * sizeof m->slots[0]);
        at = IROH_PATH_SLOTS - 1;
    } else {
        m->slot_count++;
    }
    m->slots[at].synthetic = next_synthetic(m);
    m->slots[at].real = *real;
    *synthetic = m->slots[at].synthetic;
    return IROH_OK;
}
