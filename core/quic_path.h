/* core/quic_path.h — the path layer's map for one QUIC connection: ngtcp2 only ever sees
 * synthetic remote addresses, and this map says which real transport address each one stands
 * for: a UDP socket address, or the address that stands for a remote's relay path
 * (core/peer_map.h; the endpoint routes it through the relay). The map treats both alike.
 *
 * Why: a dial may try several addresses at once and must then stay on whichever answered
 * first; duplicate Initials that arrive over a second path must be dropped; and ngtcp2 must see
 * one stable address per path however the real address is reached (spec/endpoint.md §5.1,
 * §9, §11 items 4 and 5). The rules:
 *   - A dial starts unpinned with candidate addresses: what QUIC sends to the first synthetic
 *     address goes to every candidate, and the first datagram that comes back for the
 *     connection pins slot 0 to its source (its destination id is our random id, so an
 *     off-path sender cannot forge it).
 *   - An accepted connection starts pinned to the address its Initial came from.
 *   - While the handshake runs, datagrams from any other address are dropped.
 *   - Afterwards a new source address gets a new synthetic address (a new slot), so ngtcp2
 *     sees a new path and validates it (RFC 9000 migration). At most IROH_PATH_SLOTS paths are
 *     remembered; the oldest one that is not the active path makes room.
 * Used by daemon/quic_conn.c; pure, no allocation. */
#ifndef IROH_CORE_QUIC_PATH_H
#define IROH_CORE_QUIC_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ticket.h"

#define IROH_PATH_SLOTS 4
#define IROH_PATH_MAX_CANDIDATES IROH_ADDR_MAX_IPS
/* Synthetic addresses are [fd15:70a:510b:ff::N]:12345 (a ULA block iroh also uses for its
 * mapped addresses; never on the wire). */
#define IROH_PATH_SYNTHETIC_PORT 12345

struct iroh_path_slot {
    struct iroh_socket_addr synthetic;
    struct iroh_socket_addr real;
};

struct iroh_path_map {
    bool pinned; /* slot 0 has its real address */
    size_t candidate_count;
    struct iroh_socket_addr candidates[IROH_PATH_MAX_CANDIDATES];
    size_t slot_count;
    struct iroh_path_slot slots[IROH_PATH_SLOTS];
    uint16_t generation; /* numbers synthetic addresses */
};

/* A dial to candidates[0..n) (at most IROH_PATH_MAX_CANDIDATES are kept; n may be 0). */
void iroh_path_map_init_dial(struct iroh_path_map *m, const struct iroh_socket_addr *candidates,
                             size_t n);
/* An accepted connection whose first datagram came from real. */
void iroh_path_map_init_accept(struct iroh_path_map *m, const struct iroh_socket_addr *real);

/* The synthetic address of the first path: the remote address the connection is created with. */
const struct iroh_socket_addr *iroh_path_map_first(const struct iroh_path_map *m);

/* Where a datagram QUIC sends to synthetic must go: fills out[0..cap) with pointers into m and
 * returns how many (all candidates while a dial is unpinned, else 1, or 0 for an address the
 * map does not know). */
size_t iroh_path_map_targets(const struct iroh_path_map *m,
                             const struct iroh_socket_addr *synthetic,
                             const struct iroh_socket_addr **out, size_t cap);

/* Maps the source of a received datagram to the synthetic address to hand QUIC, following the
 * rules above. allow_new_path: the handshake is over, so a new source is a migration. active is
 * the synthetic address QUIC currently uses (kept when a slot must be reused; may be NULL).
 * Returns IROH_OK with *synthetic filled, or IROH_ENOTFOUND: drop the datagram. */
int iroh_path_map_incoming(struct iroh_path_map *m, const struct iroh_socket_addr *real,
                           bool allow_new_path, const struct iroh_socket_addr *active,
                           struct iroh_socket_addr *synthetic);

#endif
