/* core/postcard.h — a bounded writer and reader for the postcard 1.x wire format (serde's data
 * model as used by iroh, iroh-blobs, iroh-gossip, iroh-docs and the relay protocol).
 *
 * Any module may use it to build or parse postcard messages; it only moves bytes between
 * caller-owned buffers. The postcard rules a caller composes from these primitives:
 *   u8 / i8 / bool          one raw byte (bool: 00 or 01)
 *   u16 / u32 / u64 / usize unsigned LEB128 varint (iroh_postcard_put_varint / get_uNN)
 *   enum                    varint(u32 variant index), then the variant's content
 *   Option<T>               00 = None, 01 then T = Some
 *   String, Vec<u8>         varint(length) then the bytes (put_bytes / get_bytes, get_str)
 *   Vec<T>, sets, maps      varint(count) then the elements
 *   struct, tuple, [T; N]   the fields in order, no prefix (put_raw / get_raw for [u8; N])
 * postcard ignores bytes after a complete value; callers decide whether to check
 * iroh_postcard_remaining().
 *
 * Writer: every put either writes its whole item or nothing. The first put that does not fit
 * returns IROH_EBUFFER and marks the writer overflowed; later puts then fail too, so a caller
 * may ignore individual results and check iroh_postcard_writer_finish() once.
 * Reader: every get checks bounds and returns IROH_EINVAL on truncated or malformed input,
 * leaving the position unchanged; on success it advances past the item. */
#ifndef IROH_CORE_POSTCARD_H
#define IROH_CORE_POSTCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Byte counts of the longest varint of each unsigned type. */
#define IROH_POSTCARD_VARINT_MAX_U16 3
#define IROH_POSTCARD_VARINT_MAX_U32 5
#define IROH_POSTCARD_VARINT_MAX_U64 10

struct iroh_postcard_writer {
    uint8_t *buf;  /* borrowed output buffer */
    size_t cap;    /* its capacity */
    size_t len;    /* bytes written so far */
    bool overflow; /* a put did not fit */
};

struct iroh_postcard_reader {
    const uint8_t *data; /* borrowed input */
    size_t len;          /* its length */
    size_t pos;          /* bytes consumed so far */
};

/* Starts writing at the beginning of buf[0..cap). buf must outlive the writer. */
void iroh_postcard_writer_init(struct iroh_postcard_writer *w, uint8_t *buf, size_t cap);

/* Returns the number of bytes written, IROH_EBUFFER if any put overflowed, or IROH_ETOOBIG if
 * the length does not fit in an int. */
int iroh_postcard_writer_finish(const struct iroh_postcard_writer *w);

/* Each put returns IROH_OK or IROH_EBUFFER (see the header comment). */
int iroh_postcard_put_u8(struct iroh_postcard_writer *w, uint8_t value);
int iroh_postcard_put_bool(struct iroh_postcard_writer *w, bool value);
/* The shortest LEB128 form of value; serves u16, u32, u64, usize and enum indices. */
int iroh_postcard_put_varint(struct iroh_postcard_writer *w, uint64_t value);
/* Bytes iroh_postcard_put_varint writes for value (1 to IROH_POSTCARD_VARINT_MAX_U64). */
size_t iroh_postcard_varint_len(uint64_t value);
/* data[0..len) as is, without a length prefix (fixed-size arrays, e.g. a public key). */
int iroh_postcard_put_raw(struct iroh_postcard_writer *w, const void *data, size_t len);
/* varint(len) then data[0..len) (Vec<u8>, &[u8], String — strings must be valid UTF-8). */
int iroh_postcard_put_bytes(struct iroh_postcard_writer *w, const void *data, size_t len);

/* Starts reading data[0..len). data must outlive the reader and every view taken from it. */
void iroh_postcard_reader_init(struct iroh_postcard_reader *r, const void *data, size_t len);

/* Bytes left after the position. */
size_t iroh_postcard_remaining(const struct iroh_postcard_reader *r);

/* Each get returns IROH_OK, or IROH_EINVAL if the input is truncated or malformed. */
int iroh_postcard_get_u8(struct iroh_postcard_reader *r, uint8_t *out);
/* Rejects bytes other than 00 and 01. */
int iroh_postcard_get_bool(struct iroh_postcard_reader *r, bool *out);
/* Varints: reject more than the type's maximum byte count and values above its range;
 * redundant zero groups within the maximum byte count are accepted, as postcard does. */
int iroh_postcard_get_u16(struct iroh_postcard_reader *r, uint16_t *out);
int iroh_postcard_get_u32(struct iroh_postcard_reader *r, uint32_t *out);
int iroh_postcard_get_u64(struct iroh_postcard_reader *r, uint64_t *out);
/* Copies the next len bytes (a fixed-size array) into out. */
int iroh_postcard_get_raw(struct iroh_postcard_reader *r, void *out, size_t len);
/* A varint length and that many bytes; *out points into the reader's input (borrowed, not
 * NUL-terminated). */
int iroh_postcard_get_bytes(struct iroh_postcard_reader *r, const uint8_t **out, size_t *len);
/* As get_bytes, and the bytes must be valid UTF-8 (as serde's str). */
int iroh_postcard_get_str(struct iroh_postcard_reader *r, const char **out, size_t *len);

/* Whether text[0..len) is well-formed UTF-8 as serde's str requires (no overlong forms, no
 * surrogates, nothing above U+10FFFF): what a writer checks before put_bytes of a String. */
bool iroh_postcard_utf8_valid(const void *text, size_t len);

#endif
