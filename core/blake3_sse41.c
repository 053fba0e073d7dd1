/* core/blake3_sse41.c — BLAKE3 kernels for SSE4.1 (compiled with -msse4.1, called by
 * blake3.c only when the CPU has it): the single-block compression with one state row per
 * vector, and the 4-way kernel with one input per lane. See blake3_impl.h. */
#include "core/blake3_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ADD(a, b) _mm_add_epi32(a, b)
#define XOR(a, b) _mm_xor_si128(a, b)
#define ROR(x, n) ror128(x, n)

/* Rotates each lane right by n; byte-aligned amounts are one byte shuffle. */
static inline __m128i ror128(__m128i x, int n)
{
    if (n == 16)
        return _mm_shuffle_epi8(
            x, _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
    if (n == 8)
        return _mm_shuffle_epi8(
            x, _mm_setr_epi8(1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12));
    return _mm_or_si128(_mm_srli_epi32(x, n), _mm_slli_epi32(x, 32 - n));
}

/* ---- single block, row form ------------------------------------------------------------ *
 * row[0..3] hold state words 0-3, 4-7, 8-11, 12-15. A column step is one vector G; rotating
 * rows 1-3 left by 1-3 lanes lines the diagonals up as columns for the second step. The
 * message stays in four vectors, in the order the steps consume it: x = words s0 s2 s4 s6,
 * y = s1 s3 s5 s7 (columns), dx = s8 s10 s12 s14, dy = s9 s11 s13 s15 (diagonals), where s is
 * this round's schedule. The next round's schedule is s[P[i]] for the message permutation P,
 * which in this layout is: x' = (x1 y1 y3 x2), y' = (x3 dx1 x0 dy2),
 * dx' = (y0 dx2 dy0 dy3), dy' = (dy1 y2 dx3 dx0). */

#define SHUF_PS(a, b, imm)                                                                         \
    _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), imm))

/* One round on row[] with message vectors x, y, dx, dy, then their permutation. */
#define ROW_ROUND()                                                                                \
    do {                                                                                           \
        IROH_B3_G(row, 0, 1, 2, 3, x, y, ADD, XOR, ROR);                                           \
        row[1] = _mm_shuffle_epi32(row[1], _MM_SHUFFLE(0, 3, 2, 1));                               \
        row[2] = _mm_shuffle_epi32(row[2], _MM_SHUFFLE(1, 0, 3, 2));                               \
        row[3] = _mm_shuffle_epi32(row[3], _MM_SHUFFLE(2, 1, 0, 3));                               \
        IROH_B3_G(row, 0, 1, 2, 3, dx, dy, ADD, XOR, ROR);                                         \
        row[1] = _mm_shuffle_epi32(row[1], _MM_SHUFFLE(2, 1, 0, 3));                               \
        row[2] = _mm_shuffle_epi32(row[2], _MM_SHUFFLE(1, 0, 3, 2));                               \
        row[3] = _mm_shuffle_epi32(row[3], _MM_SHUFFLE(0, 3, 2, 1));                               \
        __m128i nx =                                                                               \
            _mm_shuffle_epi32(SHUF_PS(x, y, _MM_SHUFFLE(3, 1, 2, 1)), _MM_SHUFFLE(1, 3, 2, 0));    \
        __m128i ny = SHUF_PS(SHUF_PS(x, dx, _MM_SHUFFLE(1, 1, 3, 3)),                              \
                             SHUF_PS(x, dy, _MM_SHUFFLE(2, 2, 0, 0)), _MM_SHUFFLE(2, 0, 2, 0));    \
        __m128i ndx =                                                                              \
            SHUF_PS(SHUF_PS(y, dx, _MM_SHUFFLE(2, 2, 0, 0)), dy, _MM_SHUFFLE(3, 0, 2, 0));         \
        dy = SHUF_PS(SHUF_PS(dy, y, _MM_SHUFFLE(2, 2, 1, 1)), dx, _MM_SHUFFLE(0, 3, 2, 0));        \
        x = nx;                                                                                    \
        y = ny;                                                                                    \
        dx = ndx;                                                                                  \
    } while (0)

void iroh_b3_compress_sse41(const uint32_t cv[8], const uint8_t block[64], uint8_t block_len,
                            uint64_t counter, uint8_t flags, uint32_t out[16])
{
    __m128i m0 = _mm_loadu_si128((const __m128i *)block);
    __m128i m1 = _mm_loadu_si128((const __m128i *)(block + 16));
    __m128i m2 = _mm_loadu_si128((const __m128i *)(block + 32));
    __m128i m3 = _mm_loadu_si128((const __m128i *)(block + 48));
    __m128i x = SHUF_PS(m0, m1, _MM_SHUFFLE(2, 0, 2, 0)),
            y = SHUF_PS(m0, m1, _MM_SHUFFLE(3, 1, 3, 1));
    __m128i dx = SHUF_PS(m2, m3, _MM_SHUFFLE(2, 0, 2, 0)),
            dy = SHUF_PS(m2, m3, _MM_SHUFFLE(3, 1, 3, 1));
    __m128i cv_lo = _mm_loadu_si128((const __m128i *)cv);
    __m128i cv_hi = _mm_loadu_si128((const __m128i *)(cv + 4));
    __m128i row[4] = {
        cv_lo,
        cv_hi,
        _mm_loadu_si128((const __m128i *)iroh_b3_iv),
        _mm_setr_epi32((int)(uint32_t)counter, (int)(uint32_t)(counter >> 32), block_len, flags),
    };
    for (int r = 0; r < 7; r++)
        ROW_ROUND();
    _mm_storeu_si128((__m128i *)out, _mm_xor_si128(row[0], row[2]));
    _mm_storeu_si128((__m128i *)(out + 4), _mm_xor_si128(row[1], row[3]));
    _mm_storeu_si128((__m128i *)(out + 8), _mm_xor_si128(row[2], cv_lo));
    _mm_storeu_si128((__m128i *)(out + 12), _mm_xor_si128(row[3], cv_hi));
}

/* ---- 4 inputs, one per lane ------------------------------------------------------------ */

/* Transposes the 4x4 matrix of 32-bit words in x[0..3] in place. */
static inline void transpose4(__m128i x[4])
{
    __m128i a = _mm_unpacklo_epi32(x[0], x[1]), b = _mm_unpackhi_epi32(x[0], x[1]);
    __m128i c = _mm_unpacklo_epi32(x[2], x[3]), d = _mm_unpackhi_epi32(x[2], x[3]);
    x[0] = _mm_unpacklo_epi64(a, c);
    x[1] = _mm_unpackhi_epi64(a, c);
    x[2] = _mm_unpacklo_epi64(b, d);
    x[3] = _mm_unpackhi_epi64(b, d);
}

#define LANE_ROUND(...) IROH_B3_ROUND(v, m, ADD, XOR, ROR, __VA_ARGS__)

void iroh_b3_many4_sse41(const uint8_t *in, size_t stride, size_t blocks, const uint32_t key[8],
                         uint64_t counter, unsigned counter_step, uint8_t flags,
                         uint8_t flags_start, uint8_t flags_end, uint8_t *out)
{
    uint32_t lo[4], hi[4];
    for (int i = 0; i < 4; i++) {
        uint64_t c = counter + (uint64_t)i * counter_step;
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
    __m128i h[8];
    for (int i = 0; i < 8; i++)
        h[i] = _mm_set1_epi32((int)key[i]);
    const __m128i ctr_lo = _mm_loadu_si128((const __m128i *)lo);
    const __m128i ctr_hi = _mm_loadu_si128((const __m128i *)hi);
    for (size_t b = 0; b < blocks; b++) {
        __m128i m[16];
        for (int q = 0; q < 4; q++) {
            for (int i = 0; i < 4; i++)
                m[4 * q + i] =
                    _mm_loadu_si128((const __m128i *)(in + i * stride + b * 64 + q * 16));
            transpose4(m + 4 * q);
        }
        uint8_t f = flags | (b == 0 ? flags_start : 0) | (b + 1 == blocks ? flags_end : 0);
        __m128i v[16];
        for (int i = 0; i < 8; i++)
            v[i] = h[i];
        for (int i = 0; i < 4; i++)
            v[8 + i] = _mm_set1_epi32((int)iroh_b3_iv[i]);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm_set1_epi32(64);
        v[15] = _mm_set1_epi32(f);
        IROH_B3_SCHEDULE(LANE_ROUND);
        for (int i = 0; i < 8; i++)
            h[i] = _mm_xor_si128(v[i], v[i + 8]);
    }
    transpose4(h);
    transpose4(h + 4);
    for (int i = 0; i < 4; i++) {
        _mm_storeu_si128((__m128i *)(out + 32 * i), h[i]);
        _mm_storeu_si128((__m128i *)(out + 32 * i + 16), h[4 + i]);
    }
}
#endif
