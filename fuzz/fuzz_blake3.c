/* fuzz_blake3.c — incremental BLAKE3 against one-shot hashing. The input is stretched into a
 * message of up to 64 times its length (so that inputs of a few KiB reach trees of hundreds
 * of chunks), fed to a hasher in pieces whose sizes come from the input, under a SIMD level
 * chosen by the input; the hash, an extended output read at an input-chosen offset, and the
 * keyed hash must equal the one-shot results, or the target aborts.
 *
 * Input: byte 0 = stretch factor (1 + b % 64), byte 1 = SIMD level cap, byte 2 = XOF
 * seek; the whole input (bytes 0-2 included) is the message seed and, read as 16-bit words,
 * the piece sizes (0 to 20000 bytes, cycling; 0 is an empty update followed by 1 byte). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/blake3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define XOF_LEN 100

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* Feeds msg to h in pieces sized by the 16-bit words of data. */
static void feed(struct iroh_blake3_hasher *h, const uint8_t *msg, size_t len, const uint8_t *data,
                 size_t size)
{
    size_t off = 0;
    for (size_t k = 0; off < len; k++) {
        size_t piece = len - off;
        if (size >= 2) {
            size_t j = (2 * k) % (size - 1);
            piece = ((size_t)data[j] | (size_t)data[j + 1] << 8) % 20001;
        }
        if (piece == 0) { /* an empty update changes nothing; then take one byte */
            iroh_blake3_update(h, msg + off, 0);
            piece = 1;
        }
        if (piece > len - off) piece = len - off;
        iroh_blake3_update(h, msg + off, piece);
        off += piece;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t stretch = size > 0 ? 1 + data[0] % 64 : 1;
    if (size > 1) iroh_blake3_set_isa((enum iroh_blake3_isa)(data[1] % 4));
    uint64_t seek = size > 2 ? (uint64_t)data[2] * 61 : 0;

    size_t len = size * stretch;
    uint8_t *msg = xmalloc(len);
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(data[i % size] + i / size);

    uint8_t want[XOF_LEN], got[XOF_LEN], whole[XOF_LEN + 255 * 61];
    static const uint8_t key[IROH_BLAKE3_KEY_LEN] = "0123456789abcdef0123456789abcdef";
    struct iroh_blake3_hasher h;

    iroh_blake3_hash(msg, len, want);
    iroh_blake3_init(&h);
    feed(&h, msg, len, data, size);
    iroh_blake3_finalize(&h, got, IROH_BLAKE3_OUT_LEN);
    if (memcmp(got, want, IROH_BLAKE3_OUT_LEN) != 0) abort();

    iroh_blake3_finalize(&h, whole, (size_t)seek + XOF_LEN);
    iroh_blake3_finalize_seek(&h, seek, got, XOF_LEN);
    if (memcmp(whole, want, IROH_BLAKE3_OUT_LEN) != 0) abort();
    if (memcmp(got, whole + seek, XOF_LEN) != 0) abort();

    iroh_blake3_keyed_hash(key, msg, len, want);
    iroh_blake3_init_keyed(&h, key);
    feed(&h, msg, len, data, size);
    iroh_blake3_finalize(&h, got, IROH_BLAKE3_OUT_LEN);
    if (memcmp(got, want, IROH_BLAKE3_OUT_LEN) != 0) abort();

    free(msg);
    return 0;
}
