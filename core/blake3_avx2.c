/* core/blake3_avx2.c — the 8-way BLAKE3 kernel for AVX2 (compiled with -mavx2, called by
 * blake3.c only when the CPU and OS support it): one input per 32-bit lane. See
 * blake3_impl.h. */
#include "core/blake3_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ADD(a, b) _mm256_add_epi32(a, b)
#define XOR(a, b) _mm256_xor_si256(a, b)
#define ROR(x, n) ror256(x, n)

/* Rotates each lane right by n; byte-aligned amounts are one byte shuffle. */
static inline __m256i ror256(__m256i x, int n)
{
    if (n == 16)
        return _mm256_shuffle_epi8(x, _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15,
                                                       12, 13, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9,
                                                       14, 15, 12, 13));
    if (n == 8)
        return _mm256_shuffle_epi8(x, _mm256_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14,
                                                       15, 12, 1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8,
                                                       13, 14, 15, 12));
    return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n));
}

/* Transposes the 8x8 matrix of 32-bit words in x[0..7] in place: 4x4 transposes inside each
 * 128-bit half, then the halves are exchanged. */
static inline void transpose8(__m256i x[8])
{
    __m256i t[8];
    for (int g = 0; g < 8; g += 4) {
        __m256i a = _mm256_unpacklo_epi32(x[g], x[g + 1]);
        __m256i b = _mm256_unpackhi_epi32(x[g], x[g + 1]);
        __m256i c = _mm256_unpacklo_epi32(x[g + 2], x[g + 3]);
        __m256i d = _mm256_unpackhi_epi32(x[g + 2], x[g + 3]);
        t[g] = _mm256_unpacklo_epi64(a, c);
        t[g + 1] = _mm256_unpackhi_epi64(a, c);
        t[g + 2] = _mm256_unpacklo_epi64(b, d);
        t[g + 3] = _mm256_unpackhi_epi64(b, d);
    }
    for (int j = 0; j < 4; j++) {
        x[j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x20);
        x[4 + j] = _mm256_permute2x128_si256(t[j], t[4 + j], 0x31);
    }
}

#define LANE_ROUND(...) IROH_B3_ROUND(v, m, ADD, XOR, ROR, __VA_ARGS__)

void iroh_b3_many8_avx2(const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
                        uint64_t counter, unsigned counter_step, uint8_t flags, uint8_t flags_start,
                        uint8_t flags_end, uint8_t *out)
{
    uint32_t lo[8], hi[8];
    for (int i = 0; i < 8; i++) {
        uint64_t c = counter + (uint64_t)i * counter_step;
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
    __m256i h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm256_set1_epi32((int)key[i]);
    const __m256i ctr_lo = _mm256_loadu_si256((const __m256i *)lo);
    const __m256i ctr_hi = _mm256_loadu_si256((const __m256i *)hi);
    for (size_t b = 0; b < blocks; b++) {
        __m256i m[16];
        for (int half = 0; half < 2; half++) {
            for (int i = 0; i < 8; i++)
                m[8 * half + i] =
                    _mm256_loadu_si256((const __m256i *)(in + i * stride + b * 64 + half * 32));
            transpose8(m + 8 * half);
        }
        uint8_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
        __m256i v[16];
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm256_set1_epi32((int)iroh_b3_iv[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm256_set1_epi32(64);
        v[15] = _mm256_set1_epi32(f);
        IROH_B3_SCHEDULE(LANE_ROUND);
        for (int i = 0; i < 8; i++)
            h[i] = _mm256_xor_si256(v[i], v[i + 8]);
    }
    transpose8(h);
    for (int i = 0; i < 8; i++)
        _mm256_storeu_si256((__m256i *)(out + 32 * i), h[i]);
}
#endif
