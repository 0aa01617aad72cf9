// The vertical pass of PIL's 8-bit bilinear resize with AVX2 (see swa_image_kernels.h for the
// arithmetic). Every byte of a row is one channel of one pixel and gets the same weights, so two
// input rows are interleaved byte by byte into int16 pairs and one `vpmaddwd` adds two taps of
// eight bytes; the prepared weights of a tap pair are the int32 `(w₁ << 16) | w₀` of their low
// halves, then of their high halves.

#include "swa_image_kernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void swa_vertical_prepare(const int32_t *weights, ptrdiff_t kernel_size, const int32_t *counts, ptrdiff_t rows,
                          ptrdiff_t pairs, int32_t *prepared) {
    for (ptrdiff_t row = 0; row < rows; row++) {
        int32_t *target = prepared + row * pairs * 2;
        memset(target, 0, (size_t)(pairs * 2) * sizeof(int32_t));
        for (ptrdiff_t tap = 0; tap < counts[row] && tap < pairs * 2; tap++) {
            const int32_t weight = weights[row * kernel_size + tap];
            const uint32_t low = (uint32_t)(weight & 0x7FF), high = (uint32_t)(uint16_t)(int16_t)(weight >> 11);
            const int shift = (tap % 2) * 16;
            target[(tap / 2) * 2] |= (int32_t)(low << shift);
            target[(tap / 2) * 2 + 1] |= (int32_t)(high << shift);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
void swa_vertical_8bpc_avx2(const uint8_t *input, ptrdiff_t row_bytes, const int32_t *firsts, const int32_t *counts,
                            ptrdiff_t rows, const int32_t *prepared, ptrdiff_t pairs, uint8_t *output) {
    const __m256i half = _mm256_set1_epi32(1 << 21);
    for (ptrdiff_t row = 0; row < rows; row++) {
        const uint8_t *first = input + (ptrdiff_t)firsts[row] * row_bytes;
        const ptrdiff_t count = counts[row];
        const int32_t *weights = prepared + row * pairs * 2;
        uint8_t *target = output + row * row_bytes;
        ptrdiff_t byte = 0;
        for (; byte + 16 <= row_bytes; byte += 16) {
            // Sums of bytes 0..3 and 8..11 (`low`), 4..7 and 12..15 (`high`) of the 16.
            __m256i low_lo = _mm256_setzero_si256(), low_hi = _mm256_setzero_si256();
            __m256i high_lo = _mm256_setzero_si256(), high_hi = _mm256_setzero_si256();
            for (ptrdiff_t tap = 0; tap < count; tap += 2) {
                const __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(first + tap * row_bytes + byte)));
                // An odd count's last pair reads no second row: its weight is 0 anyway.
                const __m256i b = tap + 1 < count
                    ? _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(first + (tap + 1) * row_bytes + byte)))
                    : _mm256_setzero_si256();
                const __m256i pairs_lo = _mm256_unpacklo_epi16(a, b), pairs_hi = _mm256_unpackhi_epi16(a, b);
                const __m256i weight_low = _mm256_set1_epi32(weights[tap]), weight_high = _mm256_set1_epi32(weights[tap + 1]);
                low_lo = _mm256_add_epi32(low_lo, _mm256_madd_epi16(pairs_lo, weight_low));
                high_lo = _mm256_add_epi32(high_lo, _mm256_madd_epi16(pairs_lo, weight_high));
                low_hi = _mm256_add_epi32(low_hi, _mm256_madd_epi16(pairs_hi, weight_low));
                high_hi = _mm256_add_epi32(high_hi, _mm256_madd_epi16(pairs_hi, weight_high));
            }
            const __m256i sums_lo = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(high_lo, 11), low_lo), half), 22);
            const __m256i sums_hi = _mm256_srai_epi32(_mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(high_hi, 11), low_hi), half), 22);
            // In-lane packs put bytes back in order: [0..7 | 8..15] as int16, then bytes (clip8 by saturation).
            const __m256i words = _mm256_packs_epi32(sums_lo, sums_hi);
            const __m256i bytes = _mm256_packus_epi16(words, words);
            _mm_storeu_si128((__m128i *)(target + byte), _mm256_castsi256_si128(_mm256_permute4x64_epi64(bytes, 0x08)));
        }
        for (; byte < row_bytes; byte++) {  // the last bytes of a row of fewer than 16
            int32_t sum = 1 << 21;
            for (ptrdiff_t tap = 0; tap < count; tap++) {
                const int32_t packed_low = weights[(tap / 2) * 2], packed_high = weights[(tap / 2) * 2 + 1];
                const int shift = (tap % 2) * 16;
                const int32_t low = (int16_t)(uint16_t)((uint32_t)packed_low >> shift);
                const int32_t high = (int16_t)(uint16_t)((uint32_t)packed_high >> shift);
                sum += (int32_t)first[tap * row_bytes + byte] * (high * 2048 + low);
            }
            sum >>= 22;
            target[byte] = (uint8_t)(sum < 0 ? 0 : sum > 255 ? 255 : sum);
        }
    }
}
#else
void swa_vertical_8bpc_avx2(const uint8_t *input, ptrdiff_t row_bytes, const int32_t *firsts, const int32_t *counts,
                            ptrdiff_t rows, const int32_t *prepared, ptrdiff_t pairs, uint8_t *output) {
    (void)input; (void)row_bytes; (void)firsts; (void)counts; (void)rows; (void)prepared; (void)pairs; (void)output;
}
#endif
