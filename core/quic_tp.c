/* core/quic_tp.c — QUIC varints and transport parameter lists; see quic_tp.h. */
#include "core/quic_tp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "iroh/error.h"

size_t iroh_quic_varint_len(uint64_t v)
{
    if (v < 64) return 1;
    if (v < 16384) return 2;
    if (v < (UINT64_C(1) << 30)) return 4;
    if (v <= IROH_QUIC_VARINT_MAX) return 8;
    return 0;
}

int iroh_quic_varint_write(uint64_t v, uint8_t *out, size_t out_cap)
{
    size_t n = iroh_quic_varint_len(v);
    if (n == 0) return IROH_EINVAL;
    if (out_cap < n) return IROH_EBUFFER;
    static const uint8_t length_bits[9] = {[1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0};
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    out[0] |= length_bits[n];
    return (int)n;
}

int iroh_quic_varint_read(const uint8_t *in, size_t len, uint64_t *v)
{
    if (len == 0) return IROH_EINVAL;
    size_t n = (size_t)1 << (in[0] >> 6);
    if (len < n) return IROH_EINVAL;
    uint64_t x = in[0] & 0x3f;
    for (size_t i = 1; i < n; i++)
        x = (x << 8) | in[i];
    *v = x;
    return (int)n;
}

int iroh_quic_tp_next(const uint8_t *buf, size_t len, size_t *pos, struct iroh_quic_tp *out)
{
    size_t p = *pos;
    if (p >= len) return 0;
    uint64_t id, vlen;
    int n = iroh_quic_varint_read(buf + p, len - p, &id);
    if (n < 0) return n;
    p += (size_t)n;
    if ((n = iroh_quic_varint_read(buf + p, len - p, &vlen)) < 0) return n;
    p += (size_t)n;
    if (vlen > len - p) return IROH_EINVAL;
    out->id = id;
    out->value = buf + p;
    out->len = (size_t)vlen;
    *pos = p + (size_t)vlen;
    return 1;
}

static bool listed(uint64_t id, const uint64_t *ids, size_t n_ids)
{
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] == id) return true;
    return false;
}

int iroh_quic_tp_remove(uint8_t *buf, size_t len, const uint64_t *ids, size_t n_ids)
{
    struct iroh_quic_tp tp;
    size_t pos = 0;
    int rc;
    while ((rc = iroh_quic_tp_next(buf, len, &pos, &tp)) == 1) {
    }
    if (rc < 0) return rc; /* check the whole list before changing anything */

    size_t out = 0;
    pos = 0;
    for (;;) {
        size_t start = pos;
        if (iroh_quic_tp_next(buf, len, &pos, &tp) != 1) break;
        if (listed(tp.id, ids, n_ids)) continue;
        memmove(buf + out, buf + start, pos - start);
        out += pos - start;
    }
    return (int)out;
}

/* Parameters whose value is one varint (RFC 9000 §18.2 and the extensions of quic_tp.h). */
static bool is_integer_param(uint64_t id)
{
    static const uint64_t integer_ids[] = {
        IROH_QUIC_TP_MAX_IDLE_TIMEOUT,
        IROH_QUIC_TP_MAX_UDP_PAYLOAD_SIZE,
        IROH_QUIC_TP_INITIAL_MAX_DATA,
        IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL,
        IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE,
        IROH_QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI,
        IROH_QUIC_TP_INITIAL_MAX_STREAMS_BIDI,
        IROH_QUIC_TP_INITIAL_MAX_STREAMS_UNI,
        IROH_QUIC_TP_ACK_DELAY_EXPONENT,
        IROH_QUIC_TP_MAX_ACK_DELAY,
        IROH_QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT,
        IROH_QUIC_TP_MAX_DATAGRAM_FRAME_SIZE,
        IROH_QUIC_TP_INITIAL_MAX_PATH_ID,
        IROH_QUIC_TP_MIN_ACK_DELAY,
        IROH_QUIC_TP_ADDRESS_DISCOVERY,
    };
    return listed(id, integer_ids, sizeof integer_ids / sizeof integer_ids[0]);
}

/* snprintf into a text that keeps counting past its capacity. */
struct text {
    char *out;
    size_t cap, len;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->cap ? t->cap - t->len : 0;
    int n = vsnprintf(room ? t->out + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n;
}

size_t iroh_quic_tp_describe(const uint8_t *buf, size_t len, char *out, size_t out_cap)
{
    struct text t = {out, out_cap, 0};
    out[0] = '\0';
    struct iroh_quic_tp tp;
    size_t pos = 0;
    int rc;
    while ((rc = iroh_quic_tp_next(buf, len, &pos, &tp)) == 1) {
        put(&t, "%s0x%" PRIx64, t.len ? " " : "", tp.id);
        uint64_t v;
        if (is_integer_param(tp.id) && tp.len > 0 &&
            iroh_quic_varint_read(tp.value, tp.len, &v) == (int)tp.len) {
            put(&t, "=%" PRIu64, v);
        } else if (tp.len > 16) {
            put(&t, ":(%zu bytes)", tp.len);
        } else {
            put(&t, ":");
            for (size_t i = 0; i < tp.len; i++)
                put(&t, "%02x", tp.value[i]);
        }
    }
    if (rc < 0) put(&t, "%s(malformed)", t.len ? " " : "");
    return t.len;
}
