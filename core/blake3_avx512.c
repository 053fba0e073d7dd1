/* core/blake3_avx512.c — the 16-way and 32-way BLAKE3 kernels for AVX-512F/VL (compiled with
 * -mavx512f -mavx512vl, called by blake3.c only when the CPU and OS support both): one input
 * per 32-bit lane of a 512-bit vector, rotations are single vprord instructions; the 32-way
 * kernel interleaves two independent sets of 16. See blake3_impl.h. */
#include "core/blake3_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ADD(a, b) _mm512_add_epi32(a, b)
#define XOR(a, b) _mm512_xor_si512(a, b)
#define ROR(x, n) _mm512_ror_epi32(x, n)

/* Transposes the 16x16 matrix of 32-bit words in x[0..15] in place: 4x4 transposes inside
 * each 128-bit lane of each group of four rows, then a 4x4 transpose of the 128-bit lanes
 * across the groups. */
static inline void transpose16(__m512i x[16])
{
    __m512i t[16];
    for (int g = 0; g < 16; g += 4) {
        __m512i a = _mm512_unpacklo_epi32(x[g], x[g + 1]);
        __m512i b = _mm512_unpackhi_epi32(x[g], x[g + 1]);
        __m512i c = _mm512_unpacklo_epi32(x[g + 2], x[g + 3]);
        __m512i d = _mm512_unpackhi_epi32(x[g + 2], x[g + 3]);
        t[g] = _mm512_unpacklo_epi64(a, c);
        t[g + 1] = _mm512_unpackhi_epi64(a, c);
        t[g + 2] = _mm512_unpacklo_epi64(b, d);
        t[g + 3] = _mm512_unpackhi_epi64(b, d);
    }
    for (int j = 0; j < 4; j++) {
        __m512i p = _mm512_shuffle_i32x4(t[j], t[4 + j], 0x44);
        __m512i q = _mm512_shuffle_i32x4(t[j], t[4 + j], 0xEE);
        __m512i r = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0x44);
        __m512i s = _mm512_shuffle_i32x4(t[8 + j], t[12 + j], 0xEE);
        x[j] = _mm512_shuffle_i32x4(p, r, 0x88);
        x[4 + j] = _mm512_shuffle_i32x4(p, r, 0xDD);
        x[8 + j] = _mm512_shuffle_i32x4(q, s, 0x88);
        x[12 + j] = _mm512_shuffle_i32x4(q, s, 0xDD);
    }
}

/* Sixteen inputs 1 KiB apart are more streams than the hardware prefetchers follow well
 * across pages of a freshly mapped file; a software prefetch a few blocks ahead hides the
 * memory latency (about 8% faster on 1 GiB files here). */
#define PREFETCH 256

/* The kernel for `sets` (1 or 2) sets of 16 inputs, one input per lane. Two sets give each G
 * step two independent dependency chains: on a core with 2-cycle vector latency (AMD Zen 5)
 * one set leaves half of the vector units idle (9.7 against 12 GB/s here). */
static inline __attribute__((always_inline)) void
many_sets(const int sets, const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
          uint64_t counter, unsigned counter_step, uint8_t flags, uint8_t flags_start,
          uint8_t flags_end, uint8_t *out)
{
    __m512i h[2][16], ctr_lo[2], ctr_hi[2];
    for (int g = 0; g < sets; g++) {
        uint32_t lo[16], hi[16];
        for (int i = 0; i < 16; i++) {
            uint64_t c = counter + (uint64_t)(16 * g + i) * counter_step;
            lo[i] = (uint32_t)c;
            hi[i] = (uint32_t)(c >> 32);
        }
        ctr_lo[g] = _mm512_loadu_si512(lo);
        ctr_hi[g] = _mm512_loadu_si512(hi);
        for (int i = 0; i < 8; i++)
            h[g][i] = _mm512_set1_epi32((int)key[i]);
    }
    for (size_t b = 0; b < blocks; b++) {
        __m512i m[2][16], v[2][16];
        /* Prefetch each input PREFETCH bytes ahead; near its end, that is the same place in
         * the inputs of the next call (past the buffer's end a prefetch is harmless). */
        uintptr_t ahead =
            b * 64 + PREFETCH < stride ? PREFETCH : PREFETCH + (16 * (size_t)sets - 1) * stride;
        uint8_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
        for (int g = 0; g < sets; g++) {
            const uint8_t *block = in + 16 * g * stride + b * 64;
            for (int i = 0; i < 16; i++) {
                m[g][i] = _mm512_loadu_si512(block + i * stride);
                _mm_prefetch((const char *)((uintptr_t)(block + i * stride) + ahead), _MM_HINT_T0);
            }
            transpose16(m[g]);
            for (int i = 0; i < 8; i++)
                v[g][i] = h[g][i];
            for (int i = 0; i < 4; i++)
                v[g][8 + i] = _mm512_set1_epi32((int)iroh_b3_iv[i]);
            v[g][12] = ctr_lo[g];
            v[g][13] = ctr_hi[g];
            v[g][14] = _mm512_set1_epi32(64);
            v[g][15] = _mm512_set1_epi32(f);
        }
#define SETS_ROUND(...)                                                                            \
    _Pragma("GCC unroll 2") for (int g = 0; g < sets; g++)                                         \
        IROH_B3_ROUND(v[g], m[g], ADD, XOR, ROR, __VA_ARGS__)
        IROH_B3_SCHEDULE(SETS_ROUND);
#undef SETS_ROUND
        for (int g = 0; g < sets; g++)
            for (int i = 0; i < 8; i++)
                h[g][i] = _mm512_xor_si512(v[g][i], v[g][i + 8]);
    }
    for (int g = 0; g < sets; g++) {
        for (int i = 8; i < 16; i++)
            h[g][i] = _mm512_setzero_si512();
        transpose16(h[g]);
        for (int i = 0; i < 16; i++)
            _mm256_storeu_si256((__m256i *)(out + 32 * (16 * g + i)),
                                _mm512_castsi512_si256(h[g][i]));
    }
}

void iroh_b3_many16_avx512(const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
                           uint64_t counter, unsigned counter_step, uint8_t flags,
                           uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    many_sets(1, in, stride, blocks, key, counter, counter_step, flags, flags_start, flags_end,
              out);
}

void iroh_b3_many32_avx512(const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
                           uint64_t counter, unsigned counter_step, uint8_t flags,
                           uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    many_sets(2, in, stride, blocks, key, counter, counter_step, flags, flags_start, flags_end,
              out);
}
#endif
