/* core/peer_map.c — the path layer's remotes and their relay path addresses; see peer_map.h. */
#include "core/peer_map.h"

#include <stdlib.h>
#include <string.h>

#include "core/quic_path.h"
#include "iroh/error.h"

static const uint8_t RELAY_PREFIX[8] = {0xfd, 0x15, 0x07, 0x0a, 0x51, 0x0b, 0x00, 0x01};

int iroh_peer_map_init(struct iroh_peer_map *m, size_t cap)
{
    memset(m, 0, sizeof *m);
    m->slots = calloc(cap ? cap : 1, sizeof *m->slots);
    if (!m->slots) return IROH_ENOMEM;
    m->cap = cap ? cap : 1;
    return IROH_OK;
}

void iroh_peer_map_free(struct iroh_peer_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static bool holds(const struct iroh_peer *p, const struct iroh_public_key *id)
{
    return p->generation && memcmp(p->id.bytes, id->bytes, IROH_KEY_LEN) == 0;
}

struct iroh_peer *iroh_peer_map_get(struct iroh_peer_map *m, const struct iroh_public_key *id)
{
    if (holds(&m->slots[m->last], id)) return &m->slots[m->last];
    for (size_t i = 0; i < m->cap; i++) {
        if (!holds(&m->slots[i], id)) continue;
        m->last = i;
        return &m->slots[i];
    }
    return NULL;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct iroh_peer *iroh_peer_map_add(struct iroh_peer_map *m, const struct iroh_public_key *id,
                                    uint64_t now, uint64_t idle_before)
{
    struct iroh_peer *p = iroh_peer_map_get(m, id);
    if (p) {
        p->last_used = now;
        return p;
    }
    struct iroh_peer *victim = NULL;
    for (size_t i = 0; i < m->cap; i++) {
        struct iroh_peer *q = &m->slots[i];
        if (!q->generation) {
            victim = q;
            break;
        }
        if (!victim || q->last_used < victim->last_used) victim = q;
    }
    if (victim->generation && victim->last_used >= idle_before) return NULL;
    if (victim->generation) m->count--;
    memset(victim, 0, sizeof *victim);
    if (++m->generation == 0) m->generation = 1;
    victim->generation = m->generation;
    victim->id = *id;
    victim->last_used = now;
    struct iroh_socket_addr *a = &victim->relay_addr;
    a->family = IROH_IP_V6;
    a->port = IROH_PATH_SYNTHETIC_PORT;
    memcpy(a->ip, RELAY_PREFIX, sizeof RELAY_PREFIX);
    put_u32(a->ip + 8, (uint32_t)(victim - m->slots));
    put_u32(a->ip + 12, victim->generation);
    m->count++;
    return victim;
}

bool iroh_peer_map_is_relay_addr(const struct iroh_socket_addr *addr)
{
    return addr->family == IROH_IP_V6 && addr->port == IROH_PATH_SYNTHETIC_PORT &&
           memcmp(addr->ip, RELAY_PREFIX, sizeof RELAY_PREFIX) == 0;
}

struct iroh_peer *iroh_peer_map_by_relay_addr(struct iroh_peer_map *m,
                                              const struct iroh_socket_addr *addr)
{
    if (!iroh_peer_map_is_relay_addr(addr)) return NULL;
    uint32_t slot = get_u32(addr->ip + 8), generation = get_u32(addr->ip + 12);
    if (slot >= m->cap || generation == 0 || m->slots[slot].generation != generation) return NULL;
    return &m->slots[slot];
}

void iroh_peer_note_ping(struct iroh_peer *p, const uint8_t tx_id[IROH_DISCO_TX_ID_LEN],
                         const struct iroh_socket_addr *to, uint64_t now)
{
    struct iroh_peer_ping *ping = &p->pings[p->next_ping];
    p->next_ping = (p->next_ping + 1) % IROH_PEER_PINGS;
    memcpy(ping->tx_id, tx_id, IROH_DISCO_TX_ID_LEN);
    ping->to = *to;
    ping->sent = now ? now : 1;
}

bool iroh_peer_take_ping(struct iroh_peer *p, const uint8_t tx_id[IROH_DISCO_TX_ID_LEN],
                         struct iroh_socket_addr *to, uint64_t *sent)
{
    for (size_t i = 0; i < IROH_PEER_PINGS; i++) {
        struct iroh_peer_ping *ping = &p->pings[i];
        if (!ping->sent || memcmp(ping->tx_id, tx_id, IROH_DISCO_TX_ID_LEN) != 0) continue;
        *to = ping->to;
        *sent = ping->sent;
        ping->sent = 0;
        return true;
    }
    return false;
}

void iroh_peer_note_direct(struct iroh_peer *p, const struct iroh_socket_addr *to, uint64_t now)
{
    p->direct = *to;
    p->direct_at = now;
}

bool iroh_peer_direct_recent(const struct iroh_peer *p, const struct iroh_socket_addr *to,
                             uint64_t now)
{
    return p->direct_at != 0 && now >= p->direct_at &&
           now - p->direct_at < IROH_PEER_DIRECT_TRUST_NS &&
           iroh_socket_addr_compare(&p->direct, to) == 0;
}
