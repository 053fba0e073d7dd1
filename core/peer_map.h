/* core/peer_map.h — the endpoint's table of remote endpoints for its path layer: per remote
 * id, the relay it is reached through, the stable address that stands for that relay path,
 * the disco box key (core/disco.h), the disco Pings sent to it and the direct address that
 * last reached it.
 *
 * Relay paths as addresses: QUIC and the per-connection path map (core/quic_path.h) only
 * handle socket addresses, so a remote's relay path is the address
 * [fd15:70a:510b:1:SSSS:SSSS:GGGG:GGGG]:12345 (slot S, generation G, both u32 big-endian; the
 * ULA block iroh uses for its mapped addresses, never on the wire). The endpoint sends what is
 * addressed to it through the relay and hands datagrams that arrive over a relay to QUIC as
 * coming from it. The generation changes when a slot is reused, so a stale address finds
 * nothing instead of another remote.
 *
 * Bounded: at most cap remotes; adding one more forgets the least recently used, if the caller
 * says it has been idle long enough (iroh_peer_map_add). Lookups by id
 * try the remote found last, then scan the table (the endpoint does it per relay datagram and
 * per disco packet, never for direct QUIC traffic). Pure apart from its one allocation; the caller
 * passes the time. Used by daemon/endpoint.c only, on the loop thread. */
#ifndef IROH_CORE_PEER_MAP_H
#define IROH_CORE_PEER_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/disco.h"
#include "core/keys.h"
#include "core/ticket.h"

#define IROH_PEER_PINGS 8 /* disco Pings remembered per remote (the oldest is forgotten) */
/* How long a direct address that reached a remote (a Pong from it, a handshake over it) is
 * trusted to reach it again without a Ping first. A 0.35 node forgets our address when it
 * prunes us: an address inactive for 2 min, or a whole remote inactive for 45 s once it has
 * more than 30 (compat-0.35 §2.8, §2.12); NAT mappings often last 30 s. */
#define IROH_PEER_DIRECT_TRUST_NS (20ull * 1000000000ull)

struct iroh_peer_ping {
    uint8_t tx_id[IROH_DISCO_TX_ID_LEN];
    struct iroh_socket_addr to;
    uint64_t sent; /* caller's clock; 0: unused */
};

struct iroh_peer {
    struct iroh_public_key id;
    struct iroh_socket_addr relay_addr;     /* the relay path's address (see above) */
    char relay_url[IROH_RELAY_URL_MAX + 1]; /* the relay that reaches it; "" none known */
    bool has_disco_key;
    struct iroh_disco_shared disco_key;
    struct iroh_peer_ping pings[IROH_PEER_PINGS];
    size_t next_ping;
    struct iroh_socket_addr direct; /* the UDP address that last reached it ... */
    uint64_t direct_at;             /* ... and when (caller's clock); 0: none */
    uint64_t last_used;             /* caller's clock */
    uint32_t generation;            /* 0: the slot is free */
};

struct iroh_peer_map {
    struct iroh_peer *slots;
    size_t cap, count;
    uint32_t generation;
    size_t last; /* the slot found last: looked at first (a flow's datagrams come in runs) */
};

/* Makes an empty map for at most cap (>= 1) remotes. Returns IROH_OK or IROH_ENOMEM. */
int iroh_peer_map_init(struct iroh_peer_map *m, size_t cap);
void iroh_peer_map_free(struct iroh_peer_map *m);

/* The remote with this id, or NULL. */
struct iroh_peer *iroh_peer_map_get(struct iroh_peer_map *m, const struct iroh_public_key *id);

/* The remote with this id, added (no relay, no key) if it was not there — forgetting the least
 * recently used one when the map is full, but only one last used before idle_before: NULL when
 * every remote was used since (so remotes that only announce themselves, one new id after
 * another, cannot push out the remotes in use). UINT64_MAX lets any remote go: never NULL.
 * Its last_used becomes now. */
struct iroh_peer *iroh_peer_map_add(struct iroh_peer_map *m, const struct iroh_public_key *id,
                                    uint64_t now, uint64_t idle_before);

/* The remote whose relay path addr is, or NULL (not a relay path address, or a forgotten one). */
struct iroh_peer *iroh_peer_map_by_relay_addr(struct iroh_peer_map *m,
                                              const struct iroh_socket_addr *addr);

/* Whether addr is in the block of relay path addresses (live or not). */
bool iroh_peer_map_is_relay_addr(const struct iroh_socket_addr *addr);

/* Notes a disco Ping sent to `to` (a UDP address or the remote's relay_addr). */
void iroh_peer_note_ping(struct iroh_peer *p, const uint8_t tx_id[IROH_DISCO_TX_ID_LEN],
                         const struct iroh_socket_addr *to, uint64_t now);

/* Notes that the UDP address `to` reached p at now: a Pong came for a Ping to it, or a
 * handshake completed over it. */
void iroh_peer_note_direct(struct iroh_peer *p, const struct iroh_socket_addr *to, uint64_t now);

/* Whether `to` reached p less than IROH_PEER_DIRECT_TRUST_NS before now (iroh_peer_note_direct),
 * so that a dial over it may skip the Ping before its Initial. */
bool iroh_peer_direct_recent(const struct iroh_peer *p, const struct iroh_socket_addr *to,
                             uint64_t now);

/* Takes the Ping a Pong answers: returns true and fills *to and *sent if tx_id is one of ours
 * (each is matched once). */
bool iroh_peer_take_ping(struct iroh_peer *p, const uint8_t tx_id[IROH_DISCO_TX_ID_LEN],
                         struct iroh_socket_addr *to, uint64_t *sent);

#endif
