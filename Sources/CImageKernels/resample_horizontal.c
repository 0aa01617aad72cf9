// The horizontal pass of PIL's 8-bit bilinear resize with AVX2 (see swa_image_kernels.h for the
// arithmetic). Layout of one prepared group of four taps t0..t3, as int16 lanes of two 256-bit
// vectors, low halves of the weights then high halves:
//   [t0 t1 | t0 t1 | t0 t1 | 0 0 ‖ t2 t3 | t2 t3 | t2 t3 | 0 0]   (R pair, G pair, B pair, unused)
// and the four pixels' bytes are shuffled to match:
//   [R0 R1 | G0 G1 | B0 B1 | 0 0 ‖ R2 R3 | G2 G3 | B2 B3 | 0 0]
// so that one `vpmaddwd` gives, per 128-bit half, the R, G and B sums of two taps.
// Four rows go through each output column together (as Pillow-SIMD does): they share the
// weights and the loop, and their sums are reduced and packed together.

#include "swa_image_kernels.h"
#include "swa_cpu_features.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int swa_image_kernels_have_avx2(void) {
#if defined(__x86_64__)
    return (swa_cpu_features() & SWA_CPU_AVX2) != 0;
#else
    return 0;
#endif
}

void swa_horizontal_prepare(const int32_t *weights, ptrdiff_t kernel_size, const int32_t *counts, ptrdiff_t columns,
                            ptrdiff_t groups, int16_t *prepared) {
    for (ptrdiff_t column = 0; column < columns; column++) {
        int16_t *target = prepared + column * groups * SWA_HORIZONTAL_GROUP_VALUES;
        memset(target, 0, (size_t)(groups * SWA_HORIZONTAL_GROUP_VALUES) * sizeof(int16_t));
        const ptrdiff_t count = counts[column];
        for (ptrdiff_t tap = 0; tap < count && tap < groups * SWA_HORIZONTAL_GROUP_TAPS; tap++) {
            const int32_t weight = weights[column * kernel_size + tap];
            const int16_t low = (int16_t)(weight & 0x7FF), high = (int16_t)(weight >> 11);
            int16_t *group = target + (tap / SWA_HORIZONTAL_GROUP_TAPS) * SWA_HORIZONTAL_GROUP_VALUES;
            const ptrdiff_t lane = (tap % SWA_HORIZONTAL_GROUP_TAPS) / 2 * 8 + tap % 2;
            for (int channel = 0; channel < 3; channel++) {
                group[lane + channel * 2] = low;
                group[16 + lane + channel * 2] = high;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))

/// The 16 bytes from `pixel`, zero from `end` on: loads near the image's end, which a plain
/// 16-byte load would overrun. Out of line and rare.
__attribute__((noinline)) AVX2
static __m128i load_before_end(const uint8_t *pixel, const uint8_t *end) {
    uint8_t tail[16] = {0};
    for (ptrdiff_t index = 0; index < end - pixel && index < 16; index++) tail[index] = pixel[index];
    return _mm_loadu_si128((const __m128i *)tail);
}

/// Bytes of pixels 0..3 (12 of the 16 loaded, in both halves) to the int16 lanes above; -1 gives 0.
AVX2 static inline __m256i pixel_shuffle(void) {
    return _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,
                            6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1);
}

/// One row's sums for one output pixel, `[R G B 0 ‖ R G B 0]` (the two halves add up to PIL's
/// sum without its starting half), from `bytes(pixel)` for each group of four taps.
#define COLUMN_SUMS(result, start, weights_start, groups, load)                                                          \
    do {                                                                                                                \
        const uint8_t *pixel_ = (start);                                                                                \
        const int16_t *weights_ = (weights_start);                                                                      \
        __m256i low_ = _mm256_setzero_si256(), high_ = _mm256_setzero_si256();                                          \
        for (int32_t group_ = 0; group_ < (groups); group_++) {                                                         \
            const __m256i lanes_ = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(load(pixel_)), pixel_shuffle());     \
            low_ = _mm256_add_epi32(low_, _mm256_madd_epi16(lanes_, _mm256_loadu_si256((const __m256i *)weights_)));    \
            high_ = _mm256_add_epi32(high_, _mm256_madd_epi16(lanes_, _mm256_loadu_si256((const __m256i *)(weights_ + 16)))); \
            weights_ += SWA_HORIZONTAL_GROUP_VALUES;                                                                    \
            pixel_ += SWA_HORIZONTAL_GROUP_TAPS * 3;                                                                    \
        }                                                                                                               \
        (result) = _mm256_add_epi32(_mm256_slli_epi32(high_, 11), low_);                                                \
    } while (0)

#define LOAD_16(pixel) _mm_loadu_si128((const __m128i *)(pixel))
#define LOAD_CHECKED(pixel) (end - (pixel) >= 16 ? LOAD_16(pixel) : load_before_end((pixel), end))

/// PIL's rounding and clip8 on two rows' sums: `[R G B 0]` of `a` in the low half, of `b` in the
/// high half, as 32-bit values 0...255.
AVX2 static inline __m256i finish_pair(__m256i a, __m256i b) {
    const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
    return _mm256_srai_epi32(_mm256_add_epi32(sums, _mm256_set1_epi32(1 << 21)), 22);
}

/// Writes pixel `rgb` (bytes 0..2 of the 32-bit value): 4 bytes when the next pixel's write
/// will cover the fourth, else 3.
static inline void store_pixel(uint8_t *target, uint32_t rgb, int has_next) {
    if (has_next) {
        memcpy(target, &rgb, 4);
    } else {
        memcpy(target, &rgb, 2);
        target[2] = (uint8_t)(rgb >> 16);
    }
}

/// Output rows `row ..< row + 4` at once; every load lies before the input's end.
AVX2 static void four_rows(const uint8_t *source, ptrdiff_t stride, const int32_t *firsts,
                           const int32_t *groups_per_column, ptrdiff_t columns, const int16_t *prepared, ptrdiff_t groups,
                           uint8_t *target, ptrdiff_t target_stride) {
    for (ptrdiff_t column = 0; column < columns; column++) {
        const uint8_t *pixel = source + (ptrdiff_t)firsts[column] * 3;
        const int16_t *weights = prepared + column * groups * SWA_HORIZONTAL_GROUP_VALUES;
        const int32_t count = groups_per_column[column];
        __m256i s0, s1, s2, s3;
        COLUMN_SUMS(s0, pixel, weights, count, LOAD_16);
        COLUMN_SUMS(s1, pixel + stride, weights, count, LOAD_16);
        COLUMN_SUMS(s2, pixel + 2 * stride, weights, count, LOAD_16);
        COLUMN_SUMS(s3, pixel + 3 * stride, weights, count, LOAD_16);
        // Saturating packs: clip8. Bytes 0..3 row 0, 4..7 row 2; 16..19 row 1, 20..23 row 3.
        const __m256i words = _mm256_packs_epi32(finish_pair(s0, s1), finish_pair(s2, s3));
        const __m256i bytes = _mm256_packus_epi16(words, words);
        const __m128i rows02 = _mm256_castsi256_si128(bytes), rows13 = _mm256_extracti128_si256(bytes, 1);
        const int has_next = column + 1 < columns;
        uint8_t *out = target + column * 3;
        store_pixel(out, (uint32_t)_mm_cvtsi128_si32(rows02), has_next);
        store_pixel(out + target_stride, (uint32_t)_mm_cvtsi128_si32(rows13), has_next);
        store_pixel(out + 2 * target_stride, (uint32_t)_mm_extract_epi32(rows02, 1), has_next);
        store_pixel(out + 3 * target_stride, (uint32_t)_mm_extract_epi32(rows13, 1), has_next);
    }
}

/// One output row, its loads stopping at `end`.
AVX2 static void one_row(const uint8_t *source, const uint8_t *end, const int32_t *firsts,
                         const int32_t *groups_per_column, ptrdiff_t columns, const int16_t *prepared, ptrdiff_t groups,
                         uint8_t *target) {
    for (ptrdiff_t column = 0; column < columns; column++) {
        __m256i sums;
        COLUMN_SUMS(sums, source + (ptrdiff_t)firsts[column] * 3, prepared + column * groups * SWA_HORIZONTAL_GROUP_VALUES,
                    groups_per_column[column], LOAD_CHECKED);
        const __m256i words = _mm256_packs_epi32(finish_pair(sums, sums), _mm256_setzero_si256());
        const __m256i bytes = _mm256_packus_epi16(words, words);
        store_pixel(target + column * 3, (uint32_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(bytes)), column + 1 < columns);
    }
}

AVX2 void swa_horizontal_rgb8_avx2(const uint8_t *input, ptrdiff_t input_stride, const uint8_t *input_end, ptrdiff_t rows,
                                   const int32_t *firsts, const int32_t *groups_per_column, ptrdiff_t columns,
                                   const int16_t *prepared, ptrdiff_t groups, uint8_t *output, ptrdiff_t output_stride) {
    // The furthest any load of a row reaches past the row's start: rows whose loads all end
    // before `input_end` need no check.
    ptrdiff_t reach = 0;
    for (ptrdiff_t column = 0; column < columns; column++) {
        const ptrdiff_t last = ((ptrdiff_t)firsts[column] + (ptrdiff_t)(groups_per_column[column] - 1) * SWA_HORIZONTAL_GROUP_TAPS) * 3 + 16;
        if (groups_per_column[column] > 0 && last > reach) reach = last;
    }
    ptrdiff_t row = 0;
    for (; row + 4 <= rows && input_end - (input + (row + 3) * input_stride) >= reach; row += 4) {
        four_rows(input + row * input_stride, input_stride, firsts, groups_per_column, columns, prepared, groups,
                  output + row * output_stride, output_stride);
    }
    for (; row < rows; row++) {  // the last rows, one at a time, their loads checked
        one_row(input + row * input_stride, input_end, firsts, groups_per_column, columns, prepared, groups,
                output + row * output_stride);
    }
}
#else
void swa_horizontal_rgb8_avx2(const uint8_t *input, ptrdiff_t input_stride, const uint8_t *input_end, ptrdiff_t rows,
                              const int32_t *firsts, const int32_t *groups_per_column, ptrdiff_t columns,
                              const int16_t *prepared, ptrdiff_t groups, uint8_t *output, ptrdiff_t output_stride) {
    (void)input; (void)input_stride; (void)input_end; (void)rows; (void)firsts; (void)groups_per_column;
    (void)columns; (void)prepared; (void)groups; (void)output; (void)output_stride;
}
#endif
