/* core/quic_tp.h — QUIC variable-length integers (RFC 9000 §16) and the transport parameter
 * list (RFC 9000 §18): walking it, removing parameters from it, describing it for logs.
 *
 * The QUIC endpoint (daemon/quic_tls.c) uses it on the bytes of the quic_transport_parameters
 * TLS extension: ngtcp2 0.12 always adds grease_quic_bit and a draft version_information, which
 * an iroh-compatible endpoint does not advertise (spec/endpoint.md §4.1, §4.3), so they are
 * removed before sending; the peer's list is described in the debug log. Pure functions over
 * caller-owned buffers; any module may call them. */
#ifndef IROH_CORE_QUIC_TP_H
#define IROH_CORE_QUIC_TP_H

#include <stddef.h>
#include <stdint.h>

#define IROH_QUIC_VARINT_MAX ((UINT64_C(1) << 62) - 1)

/* Transport parameter ids this project names (RFC 9000 and the extensions iroh knows). */
enum {
    IROH_QUIC_TP_ORIGINAL_DCID = 0x00,
    IROH_QUIC_TP_MAX_IDLE_TIMEOUT = 0x01,
    IROH_QUIC_TP_STATELESS_RESET_TOKEN = 0x02,
    IROH_QUIC_TP_MAX_UDP_PAYLOAD_SIZE = 0x03,
    IROH_QUIC_TP_INITIAL_MAX_DATA = 0x04,
    IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL = 0x05,
    IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE = 0x06,
    IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI = 0x07,
    IROH_QUIC_TP_INITIAL_MAX_STREAMS_BIDI = 0x08,
    IROH_QUIC_TP_INITIAL_MAX_STREAMS_UNI = 0x09,
    IROH_QUIC_TP_ACK_DELAY_EXPONENT = 0x0a,
    IROH_QUIC_TP_MAX_ACK_DELAY = 0x0b,
    IROH_QUIC_TP_DISABLE_ACTIVE_MIGRATION = 0x0c,
    IROH_QUIC_TP_PREFERRED_ADDRESS = 0x0d,
    IROH_QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT = 0x0e,
    IROH_QUIC_TP_INITIAL_SCID = 0x0f,
    IROH_QUIC_TP_RETRY_SCID = 0x10,
    IROH_QUIC_TP_VERSION_INFORMATION = 0x11,
    IROH_QUIC_TP_MAX_DATAGRAM_FRAME_SIZE = 0x20,
    IROH_QUIC_TP_INITIAL_MAX_PATH_ID = 0x3e,           /* multipath */
    IROH_QUIC_TP_GREASE_QUIC_BIT = 0x2ab2,             /* RFC 9287 */
    IROH_QUIC_TP_VERSION_INFORMATION_DRAFT = 0xff73db, /* what ngtcp2 0.12 sends */
};
#define IROH_QUIC_TP_MIN_ACK_DELAY UINT64_C(0xff04de1b)        /* ACK frequency draft */
#define IROH_QUIC_TP_ADDRESS_DISCOVERY UINT64_C(0x9f81a176)    /* QAD */
#define IROH_QUIC_TP_N0_NAT_TRAVERSAL UINT64_C(0x3d7f91120401) /* n0 QNT */

/* Bytes of the shortest encoding of v (1, 2, 4 or 8), or 0 if v > IROH_QUIC_VARINT_MAX. */
size_t iroh_quic_varint_len(uint64_t v);

/* Writes the shortest encoding of v to out. Returns its length, IROH_EINVAL if v is too
 * large, IROH_EBUFFER if out_cap is too small. */
int iroh_quic_varint_write(uint64_t v, uint8_t *out, size_t out_cap);

/* Reads one varint from in[0..len) into *v. Returns the bytes read (1..8) or IROH_EINVAL if
 * in is too short. Non-shortest encodings are accepted, as RFC 9000 requires. */
int iroh_quic_varint_read(const uint8_t *in, size_t len, uint64_t *v);

/* One parameter of a list; value points into the walked buffer. */
struct iroh_quic_tp {
    uint64_t id;
    const uint8_t *value;
    size_t len;
};

/* Reads the parameter at *pos of buf[0..len) and advances *pos past it. Returns 1 with *out
 * filled, 0 at the end of the list, IROH_EINVAL if the parameter is truncated (then *pos is
 * unchanged). */
int iroh_quic_tp_next(const uint8_t *buf, size_t len, size_t *pos, struct iroh_quic_tp *out);

/* Removes every parameter whose id is in ids[0..n_ids) from buf[0..len), in place, keeping the
 * others in order. Returns the new length, or IROH_EINVAL (buf unchanged) if the list is
 * malformed. */
int iroh_quic_tp_remove(uint8_t *buf, size_t len, const uint64_t *ids, size_t n_ids);

/* Describes a list for logs as space-separated items: integer parameters as "0x4=1048576",
 * others as "0xf:HEX" (values over 16 bytes as "0xd:(N bytes)"); a malformed tail as
 * "(malformed)". Writes a NUL-terminated, possibly truncated, text to out (out_cap >= 1) and
 * returns the length it would have had untruncated (like snprintf). */
size_t iroh_quic_tp_describe(const uint8_t *buf, size_t len, char *out, size_t out_cap);

#endif
