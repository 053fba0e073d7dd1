/* core/encoding.c — hex, base32 and base64 codecs; see encoding.h. */
#include "core/encoding.h"

#include <limits.h>
#include <string.h>

#include "iroh/error.h"

static const char HEX_DIGITS[] = "0123456789abcdef";
static const char BASE32_ALPHABET[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char Z32_ALPHABET[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
static const char BASE32HEX_ALPHABET[] = "0123456789abcdefghijklmnopqrstuv";
static const char BASE64_ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Checks that the text_len characters encoding n_bytes bytes, plus a NUL, fit in out_cap, and
 * that text_len fits in an int (every encoding here is at most twice as long as its input). */
static int check_text_capacity(size_t n_bytes, size_t text_len, size_t out_cap)
{
    if (n_bytes > (size_t)INT_MAX / 2) return IROH_ETOOBIG;
    if (out_cap < text_len + 1) return IROH_EBUFFER;
    return IROH_OK;
}

int iroh_hex_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    size_t text_len = IROH_HEX_ENCODED_LEN(n);
    int err = check_text_capacity(n, text_len, out_cap);
    if (err < 0) return err;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX_DIGITS[in[i] >> 4];
        out[2 * i + 1] = HEX_DIGITS[in[i] & 0x0f];
    }
    out[text_len] = '\0';
    return (int)text_len;
}

/* The value of one hex digit, or -1 if c is not a digit allowed by letter_case. */
static int hex_digit_value(char c, enum iroh_hex_case letter_case)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (letter_case == IROH_HEX_ANY_CASE && c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int iroh_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                    enum iroh_hex_case letter_case)
{
    if (in_len % 2 != 0) return IROH_EINVAL;
    size_t n = in_len / 2;
    if (n > (size_t)INT_MAX) return IROH_ETOOBIG;
    for (size_t i = 0; i < n; i++) {
        int high = hex_digit_value(in[2 * i], letter_case);
        int low = hex_digit_value(in[2 * i + 1], letter_case);
        if (high < 0 || low < 0) return IROH_EINVAL;
        if (i >= out_cap) return IROH_EBUFFER;
        out[i] = (uint8_t)(high << 4 | low);
    }
    return (int)n;
}

/* Base32 with any 32-symbol alphabet: 5 bits per symbol, most significant bits first, the
 * last symbol padded with zero bits, no '=' padding. */
static int base32_encode_with(const char alphabet[32], const uint8_t *in, size_t n, char *out,
                              size_t out_cap)
{
    size_t text_len = IROH_BASE32_ENCODED_LEN(n);
    int err = check_text_capacity(n, text_len, out_cap);
    if (err < 0) return err;
    size_t pos = 0;
    unsigned bits = 0, pending = 0;
    for (size_t i = 0; i < n; i++) {
        pending = (pending << 8 | in[i]) & 0xfff;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[pos++] = alphabet[(pending >> bits) & 31];
        }
    }
    if (bits > 0) out[pos++] = alphabet[(pending << (5 - bits)) & 31];
    out[pos] = '\0';
    return (int)pos;
}

/* The 5-bit value of an RFC 4648 base32 symbol of either case, or -1. */
static int base32_symbol_value(char c)
{
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

/* The 5-bit value of a (lowercase) z-base-32 symbol, or -1. */
static int z32_symbol_value(char c)
{
    const char *found = c != '\0' ? strchr(Z32_ALPHABET, c) : NULL;
    return found ? (int)(found - Z32_ALPHABET) : -1;
}

/* Decodes unpadded base32 whose symbols symbol_value maps to 5-bit values. */
static int base32_decode_with(int (*symbol_value)(char), const char *in, size_t in_len,
                              uint8_t *out, size_t out_cap)
{
    size_t leftover_symbols = in_len % 8;
    if (leftover_symbols == 1 || leftover_symbols == 3 || leftover_symbols == 6) {
        return IROH_EINVAL;
    }
    size_t n = IROH_BASE32_DECODED_LEN(in_len);
    if (n > (size_t)INT_MAX) return IROH_ETOOBIG;
    size_t pos = 0;
    unsigned bits = 0, pending = 0;
    for (size_t i = 0; i < in_len; i++) {
        int value = symbol_value(in[i]);
        if (value < 0) return IROH_EINVAL;
        pending = (pending << 5 | (unsigned)value) & 0xfff;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            if (pos >= out_cap) return IROH_EBUFFER;
            out[pos++] = (uint8_t)(pending >> bits);
        }
    }
    if ((pending & ((1u << bits) - 1)) != 0) return IROH_EINVAL;
    return (int)pos;
}

int iroh_base32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    return base32_encode_with(BASE32_ALPHABET, in, n, out, out_cap);
}

int iroh_base32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    return base32_decode_with(base32_symbol_value, in, in_len, out, out_cap);
}

int iroh_z32_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    return base32_encode_with(Z32_ALPHABET, in, n, out, out_cap);
}

int iroh_z32_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap)
{
    return base32_decode_with(z32_symbol_value, in, in_len, out, out_cap);
}

int iroh_base32hex_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    return base32_encode_with(BASE32HEX_ALPHABET, in, n, out, out_cap);
}

int iroh_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_cap)
{
    size_t text_len = IROH_BASE64_ENCODED_LEN(n);
    int err = check_text_capacity(n, text_len, out_cap);
    if (err < 0) return err;
    char *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        *o++ = BASE64_ALPHABET[v >> 18];
        *o++ = BASE64_ALPHABET[(v >> 12) & 63];
        *o++ = i + 1 < n ? BASE64_ALPHABET[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? BASE64_ALPHABET[v & 63] : '=';
    }
    *o = '\0';
    return (int)text_len;
}
