// Packed RGB to planes (torchvision's `ToTensor` order) with SSSE3 shuffles, compiled for AVX2
// and called only when the CPU has it (swa_image_kernels.h).

#include "swa_image_kernels.h"
#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2")))
void swa_planar_rgb8_avx2(const uint8_t *rgb, ptrdiff_t pixels, uint8_t *red, uint8_t *green, uint8_t *blue) {
    // 16 pixels are 48 bytes in three vectors; each channel's 16 bytes come from all three,
    // gathered by one shuffle per vector (-1 gives 0) and OR-ed together.
#define X -1
    const __m128i red0 = _mm_setr_epi8(0, 3, 6, 9, 12, 15, X, X, X, X, X, X, X, X, X, X);
    const __m128i red1 = _mm_setr_epi8(X, X, X, X, X, X, 2, 5, 8, 11, 14, X, X, X, X, X);
    const __m128i red2 = _mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 1, 4, 7, 10, 13);
    const __m128i green0 = _mm_setr_epi8(1, 4, 7, 10, 13, X, X, X, X, X, X, X, X, X, X, X);
    const __m128i green1 = _mm_setr_epi8(X, X, X, X, X, 0, 3, 6, 9, 12, 15, X, X, X, X, X);
    const __m128i green2 = _mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, X, 2, 5, 8, 11, 14);
    const __m128i blue0 = _mm_setr_epi8(2, 5, 8, 11, 14, X, X, X, X, X, X, X, X, X, X, X);
    const __m128i blue1 = _mm_setr_epi8(X, X, X, X, X, 1, 4, 7, 10, 13, X, X, X, X, X, X);
    const __m128i blue2 = _mm_setr_epi8(X, X, X, X, X, X, X, X, X, X, 0, 3, 6, 9, 12, 15);
#undef X
    ptrdiff_t pixel = 0;
    for (; pixel + 16 <= pixels; pixel += 16) {
        const __m128i a = _mm_loadu_si128((const __m128i *)(rgb + pixel * 3));
        const __m128i b = _mm_loadu_si128((const __m128i *)(rgb + pixel * 3 + 16));
        const __m128i c = _mm_loadu_si128((const __m128i *)(rgb + pixel * 3 + 32));
        _mm_storeu_si128((__m128i *)(red + pixel),
                         _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, red0), _mm_shuffle_epi8(b, red1)), _mm_shuffle_epi8(c, red2)));
        _mm_storeu_si128((__m128i *)(green + pixel),
                         _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, green0), _mm_shuffle_epi8(b, green1)), _mm_shuffle_epi8(c, green2)));
        _mm_storeu_si128((__m128i *)(blue + pixel),
                         _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(a, blue0), _mm_shuffle_epi8(b, blue1)), _mm_shuffle_epi8(c, blue2)));
    }
    for (; pixel < pixels; pixel++) {
        red[pixel] = rgb[pixel * 3];
        green[pixel] = rgb[pixel * 3 + 1];
        blue[pixel] = rgb[pixel * 3 + 2];
    }
}
#else
void swa_planar_rgb8_avx2(const uint8_t *rgb, ptrdiff_t pixels, uint8_t *red, uint8_t *green, uint8_t *blue) {
    (void)rgb; (void)pixels; (void)red; (void)green; (void)blue;
}
#endif
