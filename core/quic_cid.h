/* core/quic_cid.h — the QUIC packet demultiplexer's two halves: reading the connection ids of
 * a datagram's first packet without decrypting it (RFC 8999 invariants, RFC 9000 §17), and a
 * table from connection id to connection.
 *
 * The endpoint (daemon/endpoint.c) routes every received datagram through these: the
 * destination connection id names the connection; an unknown one in a v1 Initial starts a new
 * server connection. The table hashes with SipHash under a random key (libsodium), because
 * clients choose their first destination ids. It allocates its slots; everything else works
 * on caller-owned structs. Requires iroh_keys_init() (libsodium). */
#ifndef IROH_CORE_QUIC_CID_H
#define IROH_CORE_QUIC_CID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IROH_QUIC_CID_MAX 20
#define IROH_QUIC_V1 UINT32_C(0x00000001)

struct iroh_quic_cid {
    uint8_t len;
    uint8_t bytes[IROH_QUIC_CID_MAX];
};

/* Long-header packet types of QUIC v1 (RFC 9000 §17.2). */
enum iroh_quic_long_type {
    IROH_QUIC_INITIAL = 0,
    IROH_QUIC_0RTT = 1,
    IROH_QUIC_HANDSHAKE = 2,
    IROH_QUIC_RETRY = 3,
};

struct iroh_quic_header {
    bool long_header;
    uint32_t version;  /* long header only; 0 is a Version Negotiation packet */
    uint8_t long_type; /* enum iroh_quic_long_type, meaningful for version 1 only */
    struct iroh_quic_cid dcid;
    struct iroh_quic_cid scid; /* long header only */
};

/* Reads the header of the first packet in pkt[0..len). Short-header packets carry no length
 * for their destination id, so the caller names the length of the ids it issues
 * (short_dcid_len). The fixed bit is not checked: peers that negotiated RFC 9287 may clear it.
 * Returns IROH_OK, or IROH_EINVAL if the packet is too short for its header or a long-header
 * id is longer than 20 bytes (only allowed for versions other than 1; such a packet is
 * reported with IROH_EINVAL too, as nothing here can use it). */
int iroh_quic_header_read(const uint8_t *pkt, size_t len, size_t short_dcid_len,
                          struct iroh_quic_header *out);

/* Whether h is a QUIC v1 Initial, the only packet that may start a server connection. */
bool iroh_quic_header_is_v1_initial(const struct iroh_quic_header *h);

/* A map from connection id to a caller's pointer (never NULL). Not thread-safe. */
struct iroh_cid_entry;
struct iroh_cid_table {
    struct iroh_cid_entry *slots;
    size_t cap, count;
    uint8_t key[16]; /* SipHash key, random per table */
};

/* Makes an empty table. Returns IROH_OK or IROH_ENOMEM. */
int iroh_cid_table_init(struct iroh_cid_table *t);
/* Frees the slots (not the values). */
void iroh_cid_table_free(struct iroh_cid_table *t);
/* Adds cid -> value. Returns IROH_OK, IROH_EEXIST if cid is present (with any value),
 * IROH_EINVAL for a NULL value, IROH_ENOMEM. */
int iroh_cid_table_put(struct iroh_cid_table *t, const struct iroh_quic_cid *cid, void *value);
/* The value of cid, or NULL. */
void *iroh_cid_table_get(const struct iroh_cid_table *t, const struct iroh_quic_cid *cid);
/* Removes cid. Returns 1 if it was present, 0 if not. */
int iroh_cid_table_remove(struct iroh_cid_table *t, const struct iroh_quic_cid *cid);
/* Removes every id that maps to value (a connection that is going away). Returns how many. */
size_t iroh_cid_table_remove_value(struct iroh_cid_table *t, const void *value);

#endif
