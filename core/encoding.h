/* core/encoding.h — the text encodings of binary values used by iroh: lowercase hex, RFC 4648
 * base32 (no padding), z-base-32, lowercase base32hex, and RFC 4648 base64 (with padding, as
 * the local API's *_base64 params).
 *
 * Pure functions over caller-provided buffers; any module may call them. Encoders write the
 * text followed by a NUL terminator (so the output capacity must be the encoded length + 1) and
 * return the text length. Decoders take an explicit input length (no NUL needed), write raw
 * bytes and return the decoded length. Errors: IROH_EINVAL for malformed text, IROH_EBUFFER for
 * a too small output buffer, IROH_ETOOBIG when a length would not fit in an int. After an
 * error the output buffer's contents are unspecified. */
#ifndef IROH_CORE_ENCODING_H
#define IROH_CORE_ENCODING_H

#include <stddef.h>
#include <stdint.h>

/* Text length (without the NUL) of n bytes in hex, and in any of the base32 alphabets. */
#define IROH_HEX_ENCODED_LEN(n) ((n)*2)
#define IROH_BASE32_ENCODED_LEN(n) (((n)*8 + 4) / 5)
/* Bytes held by `chars` base32 characters (the remaining bits are padding bits). */
#define IROH_BASE32_DECODED_LEN(chars) ((chars)*5 / 8)
/* Text length (without the NUL) of n bytes in padded base64. */
#define IROH_BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Which letters a hex decoder accepts. */
enum iroh_hex_case {
    IROH_HEX_LOWER_ONLY, /* a-f only: the canonical form, as iroh's HEXLOWER decoder */
    IROH_HEX_ANY_CASE,   /* a-f and A-F */
};

/* Writes the 2n lowercase hex digits of in[0..n) and a NUL to out (capacity out_cap).
 * Returns 2n, IROH_EBUFFER if out_cap < 2n + 1, IROH_ETOOBIG if 2n does not fit in an int. */
int iroh_hex_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* Decodes in[0..in_len) hex digits into out (capacity out_cap). in_len must be even.
 * Returns in_len / 2, IROH_EINVAL for an odd length or a digit not allowed by letter_case,
 * IROH_EBUFFER if out_cap < in_len / 2. */
int iroh_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                    enum iroh_hex_case letter_case);

/* RFC 4648 base32 (alphabet a-z 2-7), lowercase, without padding: writes the
 * IROH_BASE32_ENCODED_LEN(n) characters and a NUL. Returns that length, IROH_EBUFFER or
 * IROH_ETOOBIG. */
int iroh_base32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* Decodes RFC 4648 base32 without padding, letters of either case (iroh uppercases ASCII
 * before decoding). Rejects with IROH_EINVAL: '=' or any other character outside the
 * alphabet, a length that no byte count encodes to (in_len % 8 of 1, 3 or 6) and non-zero
 * bits in the last character's unused low bits. Returns the decoded length or IROH_EBUFFER. */
int iroh_base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap);

/* z-base-32 (alphabet ybndrfg8ejkmcpqxot1uwisza345h769), bits MSB first, no padding; the
 * encoding of public keys in DNS names and pkarr. Same returns as iroh_base32_encode. */
int iroh_z32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* Decodes z-base-32: lowercase alphabet only (case-sensitive), same length and trailing-bit
 * rules and returns as iroh_base32_decode. */
int iroh_z32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap);

/* RFC 4648 "extended hex" base32 (alphabet 0-9 a-v), lowercase, without padding: the label
 * of iroh's synthetic TLS server name. Same returns as iroh_base32_encode. */
int iroh_base32hex_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

/* RFC 4648 base64 (alphabet A-Z a-z 0-9 + /) with '=' padding. Same returns as
 * iroh_hex_encode, with IROH_BASE64_ENCODED_LEN(n) characters. */
int iroh_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap);

#endif
