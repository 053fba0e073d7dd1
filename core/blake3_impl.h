/* core/blake3_impl.h — private to the blake3 module: the contract between blake3.c (tree
 * logic, hasher, dispatch, portable compression) and the per-ISA kernels in blake3_sse41.c,
 * blake3_avx2.c and blake3_avx512.c. Only those four files include it.
 *
 * The round function is written once, here, as macros over the vector operations ADD, XOR
 * and ROR(x, n) (rotate each 32-bit lane right by the constant n). The portable compression
 * instantiates it with plain uint32_t; the wide kernels with one SIMD lane per input, so W
 * inputs are compressed at once; the SSE4.1 single-block compression with one row of the
 * state per vector. Each kernel file only adds what differs per ISA: the operations, message
 * loading (transposition), and for the row form the diagonal shuffles and the message
 * permutation done with shuffles. */
#ifndef IROH_CORE_BLAKE3_IMPL_H
#define IROH_CORE_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Domain separation flags (BLAKE3 paper Table 3). */
enum {
    IROH_B3_CHUNK_START = 1,
    IROH_B3_CHUNK_END = 2,
    IROH_B3_PARENT = 4,
    IROH_B3_ROOT = 8,
    IROH_B3_KEYED_HASH = 16,
    IROH_B3_DERIVE_KEY_CONTEXT = 32,
    IROH_B3_DERIVE_KEY_MATERIAL = 64,
};

/* The IV: the SHA-256 initial hash value. Defined in blake3.c. */
extern const uint32_t iroh_b3_iv[8];

/* One quarter-round G on state words (or vectors) v[a], v[b], v[c], v[d] with message words
 * x and y. */
#define IROH_B3_G(v, a, b, c, d, x, y, ADD, XOR, ROR)                                              \
    do {                                                                                           \
        v[a] = ADD(ADD(v[a], v[b]), x);                                                            \
        v[d] = ROR(XOR(v[d], v[a]), 16);                                                           \
        v[c] = ADD(v[c], v[d]);                                                                    \
        v[b] = ROR(XOR(v[b], v[c]), 12);                                                           \
        v[a] = ADD(ADD(v[a], v[b]), y);                                                            \
        v[d] = ROR(XOR(v[d], v[a]), 8);                                                            \
        v[c] = ADD(v[c], v[d]);                                                                    \
        v[b] = ROR(XOR(v[b], v[c]), 7);                                                            \
    } while (0)

/* One round on the 16-word state v: G on the columns, then on the diagonals; the message
 * words m[s0] … m[s15] are taken in this round's permuted order. */
#define IROH_B3_ROUND(v, m, ADD, XOR, ROR, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12,  \
                      s13, s14, s15)                                                               \
    do {                                                                                           \
        IROH_B3_G(v, 0, 4, 8, 12, m[s0], m[s1], ADD, XOR, ROR);                                    \
        IROH_B3_G(v, 1, 5, 9, 13, m[s2], m[s3], ADD, XOR, ROR);                                    \
        IROH_B3_G(v, 2, 6, 10, 14, m[s4], m[s5], ADD, XOR, ROR);                                   \
        IROH_B3_G(v, 3, 7, 11, 15, m[s6], m[s7], ADD, XOR, ROR);                                   \
        IROH_B3_G(v, 0, 5, 10, 15, m[s8], m[s9], ADD, XOR, ROR);                                   \
        IROH_B3_G(v, 1, 6, 11, 12, m[s10], m[s11], ADD, XOR, ROR);                                 \
        IROH_B3_G(v, 2, 7, 8, 13, m[s12], m[s13], ADD, XOR, ROR);                                  \
        IROH_B3_G(v, 3, 4, 9, 14, m[s14], m[s15], ADD, XOR, ROR);                                  \
    } while (0)

/* The message schedule: round r uses the message permutation applied r times to 0..15.
 * IROH_B3_SCHEDULE(R) expands R(s0, …, s15) for the seven rounds, so every consumer gets the
 * indices as compile-time constants. */
#define IROH_B3_SCHEDULE(R)                                                                        \
    R(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);                                       \
    R(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8);                                       \
    R(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1);                                       \
    R(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6);                                       \
    R(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4);                                       \
    R(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7);                                       \
    R(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)

/* Compresses one block: cv is the input chaining value, block the 64 message bytes (zero
 * padded past block_len), counter and flags as in the paper. Writes the 16-word extended
 * output: out[i] = v[i] ^ v[i+8] (the new CV, i < 8) and out[i+8] = v[i+8] ^ cv[i]. */
typedef void iroh_b3_compress_fn(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                                 uint64_t counter, uint8_t flags, uint32_t out[16]);

/* Hashes exactly W inputs at once (W = 4, 8, 16 or 32 by kernel). Input i starts at in + i*stride
 * and is `blocks` full 64-byte blocks; it is compressed from the CV `key` with counter
 * counter + i*counter_step; its first block gets flags|flags_start, its last flags|flags_end.
 * Writes the W resulting CVs, 32 little-endian bytes each, to out (not overlapping in).
 * Used for chunks (stride 1024, 16 blocks, step 1, CHUNK_START/CHUNK_END) and for parents
 * (stride 64: consecutive CV pairs, 1 block, step 0, flags including PARENT). */
typedef void iroh_b3_many_fn(const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
                             uint64_t counter, unsigned counter_step, uint8_t flags,
                             uint8_t flags_start, uint8_t flags_end, uint8_t *out);

iroh_b3_compress_fn iroh_b3_compress_sse41;
iroh_b3_many_fn iroh_b3_many4_sse41;
iroh_b3_many_fn iroh_b3_many8_avx2;
iroh_b3_many_fn iroh_b3_many16_avx512;
iroh_b3_many_fn iroh_b3_many32_avx512;

#endif
