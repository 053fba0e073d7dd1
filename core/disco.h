/* core/disco.h — disco, the small authenticated messages of iroh 0.35's path layer
 * (magicsock): Ping, Pong and CallMeMaybe, their inner encoding and the sealed packet that
 * carries them over UDP or a relay (spec compat-0.35-and-paths.md §2.2).
 *
 * A packet is   magic "TS💬" (6) ‖ sender id (32) ‖ tag (16) ‖ ciphertext (n) ‖ nonce (24),
 * where tag ‖ ciphertext is libsodium's crypto_box_curve25519xchacha20poly1305 "easy" box of
 * the inner message under the key both ends derive from their Ed25519 identities converted
 * to X25519 (crypto_sign_ed25519_{sk,pk}_to_curve25519). iroh 0.35 uses the reduced signing
 * scalar where libsodium keeps the clamped one; on public keys of the prime-order subgroup
 * (the only ones keys.h accepts) both give the same shared secret. A box that opens proves
 * the header's sender id.
 *
 * Inner = type ‖ version 0 ‖ body. Addresses in bodies are 16 bytes of IPv6 (IPv4 as
 * v4-mapped) and a little-endian port.
 *
 * Any module may call it; pure (no I/O, no clock, no randomness: the caller supplies nonces
 * and transaction ids), nothing allocated. Requires iroh_keys_init(). The endpoint
 * (daemon/endpoint.c) uses it to answer Pings and to ping the addresses it dials. */
#ifndef IROH_CORE_DISCO_H
#define IROH_CORE_DISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/keys.h"
#include "core/ticket.h"

#define IROH_DISCO_MAGIC_LEN 6
#define IROH_DISCO_HEADER_LEN (IROH_DISCO_MAGIC_LEN + IROH_KEY_LEN) /* magic ‖ sender id */
#define IROH_DISCO_TAG_LEN 16
#define IROH_DISCO_NONCE_LEN 24
#define IROH_DISCO_OVERHEAD (IROH_DISCO_HEADER_LEN + IROH_DISCO_TAG_LEN + IROH_DISCO_NONCE_LEN)
#define IROH_DISCO_TX_ID_LEN 12
/* Addresses of a CallMeMaybe kept by the decoder (more are ignored) and written by the
 * encoder. */
#define IROH_DISCO_MAX_ADDRS 32
/* The longest inner message this codec writes or reads: a Pong naming a relay URL, or a
 * CallMeMaybe with IROH_DISCO_MAX_ADDRS addresses. */
#define IROH_DISCO_INNER_MAX (2 + 18 * IROH_DISCO_MAX_ADDRS)
#define IROH_DISCO_PACKET_MAX (IROH_DISCO_OVERHEAD + IROH_DISCO_INNER_MAX)

enum iroh_disco_type {
    IROH_DISCO_PING = 1,
    IROH_DISCO_PONG = 2,
    IROH_DISCO_CALL_ME_MAYBE = 3,
};

struct iroh_disco_msg {
    uint8_t type; /* enum iroh_disco_type */
    /* Ping and Pong: the transaction id (a Pong repeats its Ping's). */
    uint8_t tx_id[IROH_DISCO_TX_ID_LEN];
    /* Ping: the sender's id. */
    struct iroh_public_key node_key;
    /* Pong: where the Ping came from — a relay (relay_url non-empty, the URL as sent) or else
     * the UDP address src. */
    char relay_url[IROH_RELAY_URL_MAX + 1];
    struct iroh_socket_addr src;
    /* CallMeMaybe: the sender's direct addresses. */
    size_t addr_count;
    struct iroh_socket_addr addrs[IROH_DISCO_MAX_ADDRS];
};

/* The X25519 side of one identity, derived once (wipe it with sodium_memzero when done). */
struct iroh_disco_secret {
    uint8_t x25519[32];
};

/* The box key shared with one peer: HChaCha20 of the X25519 shared secret. */
struct iroh_disco_shared {
    uint8_t key[32];
};

/* Whether pkt[0..len) is a disco packet as iroh tells them apart from QUIC and STUN: at least
 * the header long and starting with the magic. */
bool iroh_disco_looks_like(const uint8_t *pkt, size_t len);

/* The sender id of a packet that looks like disco. Returns IROH_OK, or IROH_EINVAL when the
 * packet is too short to be opened or the id is not a valid point. */
int iroh_disco_sender(const uint8_t *pkt, size_t len, struct iroh_public_key *out);

/* Converts our identity for disco. */
void iroh_disco_secret_init(struct iroh_disco_secret *out, const struct iroh_secret_key *sk);

/* The box key between us and peer. Returns IROH_OK, or IROH_EINVAL for a peer key that does
 * not convert (not a valid point) or gives an all-zero shared secret. */
int iroh_disco_shared_init(struct iroh_disco_shared *out, const struct iroh_disco_secret *ours,
                           const struct iroh_public_key *peer);

/* Writes the inner form of msg to out[0..cap). Returns its length, IROH_EBUFFER if cap is too
 * small (IROH_DISCO_INNER_MAX always suffices), or IROH_EINVAL for an unknown type, a relay
 * URL of fewer than 2 bytes (0.35 would refuse the Pong) or more than IROH_DISCO_MAX_ADDRS
 * addresses. */
int iroh_disco_encode(const struct iroh_disco_msg *msg, uint8_t *out, size_t cap);

/* Reads an inner message as iroh 0.35 does: version 0 only; Ping needs 44 body bytes (more are
 * ignored) and a valid sender key; a Pong's UDP form is exactly 19 bytes after the
 * transaction id, its relay form at least 2 bytes of URL; a CallMeMaybe is a multiple of 18
 * bytes (only the first IROH_DISCO_MAX_ADDRS addresses are kept). Returns IROH_OK or
 * IROH_EINVAL (also for an unknown type and a relay URL holding a NUL or longer than
 * IROH_RELAY_URL_MAX bytes). */
int iroh_disco_decode(const uint8_t *in, size_t len, struct iroh_disco_msg *out);

/* Seals msg from sender (our id) under key with nonce into out[0..cap). Returns the packet
 * length, IROH_EBUFFER if cap is too small (IROH_DISCO_PACKET_MAX always suffices), or
 * IROH_EINVAL as iroh_disco_encode. */
int iroh_disco_seal(const struct iroh_disco_shared *key, const struct iroh_public_key *sender,
                    const uint8_t nonce[IROH_DISCO_NONCE_LEN], const struct iroh_disco_msg *msg,
                    uint8_t *out, size_t cap);

/* Opens a packet whose sender's key is key (iroh_disco_sender tells who to derive it for) and
 * decodes its message. Returns IROH_OK, IROH_ECORRUPT when the box does not open (wrong key,
 * tampered), IROH_EINVAL when it is not a disco packet, its message does not decode or is
 * longer than 2048 bytes (far beyond what iroh sends). */
int iroh_disco_open(const struct iroh_disco_shared *key, const uint8_t *pkt, size_t len,
                    struct iroh_disco_msg *out);

#endif
