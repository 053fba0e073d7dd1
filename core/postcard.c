/* core/postcard.c — postcard writer and reader; see postcard.h. */
#include "core/postcard.h"

#include <limits.h>
#include <string.h>

#include "iroh/error.h"

void iroh_postcard_writer_init(struct iroh_postcard_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

int iroh_postcard_writer_finish(const struct iroh_postcard_writer *w)
{
    if (w->overflow) return IROH_EBUFFER;
    if (w->len > (size_t)INT_MAX) return IROH_ETOOBIG;
    return (int)w->len;
}

/* Whether n more bytes fit; if not, marks the writer overflowed. */
static bool fits(struct iroh_postcard_writer *w, size_t n)
{
    if (w->overflow || n > w->cap - w->len) w->overflow = true;
    return !w->overflow;
}

int iroh_postcard_put_raw(struct iroh_postcard_writer *w, const void *data, size_t len)
{
    if (!fits(w, len)) return IROH_EBUFFER;
    if (len > 0) {
        memcpy(w->buf + w->len, data, len);
        w->len += len;
    }
    return IROH_OK;
}

int iroh_postcard_put_u8(struct iroh_postcard_writer *w, uint8_t value)
{
    return iroh_postcard_put_raw(w, &value, 1);
}

int iroh_postcard_put_bool(struct iroh_postcard_writer *w, bool value)
{
    return iroh_postcard_put_u8(w, value ? 1 : 0);
}

int iroh_postcard_put_varint(struct iroh_postcard_writer *w, uint64_t value)
{
    uint8_t encoded[IROH_POSTCARD_VARINT_MAX_U64];
    size_t n = 0;
    while (value >= 0x80) {
        encoded[n++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    encoded[n++] = (uint8_t)value;
    return iroh_postcard_put_raw(w, encoded, n);
}

size_t iroh_postcard_varint_len(uint64_t value)
{
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

int iroh_postcard_put_bytes(struct iroh_postcard_writer *w, const void *data, size_t len)
{
    if (w->overflow) return IROH_EBUFFER;
    size_t start = w->len;
    if (iroh_postcard_put_varint(w, len) < 0 || iroh_postcard_put_raw(w, data, len) < 0) {
        w->len = start;
        return IROH_EBUFFER;
    }
    return IROH_OK;
}

void iroh_postcard_reader_init(struct iroh_postcard_reader *r, const void *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
}

size_t iroh_postcard_remaining(const struct iroh_postcard_reader *r)
{
    return r->len - r->pos;
}

int iroh_postcard_get_raw(struct iroh_postcard_reader *r, void *out, size_t len)
{
    if (len > iroh_postcard_remaining(r)) return IROH_EINVAL;
    if (len > 0) memcpy(out, r->data + r->pos, len);
    r->pos += len;
    return IROH_OK;
}

int iroh_postcard_get_u8(struct iroh_postcard_reader *r, uint8_t *out)
{
    return iroh_postcard_get_raw(r, out, 1);
}

int iroh_postcard_get_bool(struct iroh_postcard_reader *r, bool *out)
{
    if (iroh_postcard_remaining(r) < 1 || r->data[r->pos] > 1) return IROH_EINVAL;
    *out = r->data[r->pos++] == 1;
    return IROH_OK;
}

/* Reads a LEB128 varint of at most max_bytes bytes whose value must not exceed max_value
 * (a power of two minus one). */
static int get_varint(struct iroh_postcard_reader *r, unsigned max_bytes, uint64_t max_value,
                      uint64_t *out)
{
    uint64_t value = 0;
    size_t pos = r->pos;
    for (unsigned i = 0; i < max_bytes; i++) {
        if (pos >= r->len) return IROH_EINVAL;
        uint8_t byte = r->data[pos++];
        uint64_t group = byte & 0x7f;
        if (group > max_value >> (7 * i)) return IROH_EINVAL;
        value |= group << (7 * i);
        if ((byte & 0x80) == 0) {
            r->pos = pos;
            *out = value;
            return IROH_OK;
        }
    }
    return IROH_EINVAL;
}

int iroh_postcard_get_u16(struct iroh_postcard_reader *r, uint16_t *out)
{
    uint64_t value;
    int err = get_varint(r, IROH_POSTCARD_VARINT_MAX_U16, UINT16_MAX, &value);
    if (err == IROH_OK) *out = (uint16_t)value;
    return err;
}

int iroh_postcard_get_u32(struct iroh_postcard_reader *r, uint32_t *out)
{
    uint64_t value;
    int err = get_varint(r, IROH_POSTCARD_VARINT_MAX_U32, UINT32_MAX, &value);
    if (err == IROH_OK) *out = (uint32_t)value;
    return err;
}

int iroh_postcard_get_u64(struct iroh_postcard_reader *r, uint64_t *out)
{
    return get_varint(r, IROH_POSTCARD_VARINT_MAX_U64, UINT64_MAX, out);
}

int iroh_postcard_get_bytes(struct iroh_postcard_reader *r, const uint8_t **out, size_t *len)
{
    size_t start = r->pos;
    uint64_t n;
    int err = iroh_postcard_get_u64(r, &n);
    if (err < 0) return err;
    if (n > iroh_postcard_remaining(r)) {
        r->pos = start;
        return IROH_EINVAL;
    }
    *out = r->data + r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return IROH_OK;
}

bool iroh_postcard_utf8_valid(const void *text, size_t len)
{
    const uint8_t *s = text;
    size_t i = 0;
    while (i < len) {
        uint8_t lead = s[i];
        size_t continuation;
        uint8_t second_min = 0x80, second_max = 0xbf;
        if (lead < 0x80) {
            continuation = 0;
        } else if (lead >= 0xc2 && lead <= 0xdf) {
            continuation = 1;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            continuation = 2;
            if (lead == 0xe0) second_min = 0xa0; /* overlong */
            if (lead == 0xed) second_max = 0x9f; /* surrogates */
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            continuation = 3;
            if (lead == 0xf0) second_min = 0x90; /* overlong */
            if (lead == 0xf4) second_max = 0x8f; /* above U+10FFFF */
        } else {
            return false;
        }
        if (continuation > len - i - 1) return false;
        for (size_t k = 1; k <= continuation; k++) {
            uint8_t min = k == 1 ? second_min : 0x80, max = k == 1 ? second_max : 0xbf;
            if (s[i + k] < min || s[i + k] > max) return false;
        }
        i += continuation + 1;
    }
    return true;
}

int iroh_postcard_get_str(struct iroh_postcard_reader *r, const char **out, size_t *len)
{
    size_t start = r->pos;
    const uint8_t *bytes;
    size_t n;
    int err = iroh_postcard_get_bytes(r, &bytes, &n);
    if (err < 0) return err;
    if (!iroh_postcard_utf8_valid(bytes, n)) {
        r->pos = start;
        return IROH_EINVAL;
    }
    *out = (const char *)bytes;
    *len = n;
    return IROH_OK;
}
