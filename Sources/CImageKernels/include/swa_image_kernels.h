#ifndef SWA_IMAGE_KERNELS_H
#define SWA_IMAGE_KERNELS_H
// Vector kernels of the image resize (SWAData/Images/BilinearResize+Region.swift), in C because
// Swift cannot compile one function for a wider instruction set than the package's baseline
// (x86-64, SSE2). Each kernel is compiled for its extension with a `target` attribute and is
// called only when `swa_cpu_features()` reports it, so the package still runs on baseline x86-64
// and on other architectures, where the kernels are absent and report so.
//
// Arithmetic: PIL's 8-bit resampling (libImaging/Resample.c), a sum of 8-bit pixels times 22-bit
// fixed-point weights starting at one half, shifted right by 22 and clipped to 0...255. The
// vector code splits every weight `w` into `hi = w >> 11` and `lo = w & 0x7FF` (both fit 16 bits)
// and forms `(Σ p·hi) << 11 + Σ p·lo` with 16-bit multiply-adds (`vpmaddwd`): the same integer
// as PIL's `Σ p·w`, so the bytes are PIL's, bit for bit.

#include <stddef.h>
#include <stdint.h>

/// Taps one prepared group holds: four input pixels.
#define SWA_HORIZONTAL_GROUP_TAPS 4
/// int16 values of one prepared group: a 16-lane vector of low halves, then one of high halves.
#define SWA_HORIZONTAL_GROUP_VALUES 32

/// 1 when this CPU and operating system run the AVX2 kernels, else 0.
int swa_image_kernels_have_avx2(void);

/// Lays out the weights of `columns` output pixels for `swa_horizontal_rgb8_avx2`.
///
/// - `weights`: `columns × kernel_size` 22-bit fixed-point weights, row-major, unused slots 0.
/// - `counts`: the taps each output pixel reads (at most `kernel_size`).
/// - `groups`: prepared groups per output pixel, at least `ceil(max(counts) / 4)`.
/// - `prepared`: `columns × groups × SWA_HORIZONTAL_GROUP_VALUES` int16 values, written.
/// Portable C; needs no vector extension.
void swa_horizontal_prepare(const int32_t *weights, ptrdiff_t kernel_size, const int32_t *counts, ptrdiff_t columns,
                            ptrdiff_t groups, int16_t *prepared);

/// PIL's `ImagingResampleHorizontal_8bpc` on packed RGB rows, with AVX2.
///
/// - `input`: the first of `rows` input rows, `input_stride` bytes apart, 3 bytes per pixel.
/// - `input_end`: one past the last byte that may be read (loads never cross it).
/// - `firsts`: per output pixel, the first input pixel it reads (from the row's start).
/// - `groups_per_column`: per output pixel, the prepared groups it uses (`ceil(count / 4)`).
/// - `groups`: the stride of `prepared` in groups per output pixel, as given to `swa_horizontal_prepare`.
/// - `output`: `rows` rows of `columns` RGB pixels, `output_stride` bytes apart.
/// Does nothing (and must not be called) when `swa_image_kernels_have_avx2()` is 0.
void swa_horizontal_rgb8_avx2(const uint8_t *input, ptrdiff_t input_stride, const uint8_t *input_end, ptrdiff_t rows,
                              const int32_t *firsts, const int32_t *groups_per_column, ptrdiff_t columns,
                              const int16_t *prepared, ptrdiff_t groups, uint8_t *output, ptrdiff_t output_stride);

/// Lays out the weights of `rows` output rows for `swa_vertical_8bpc_avx2`.
///
/// - `weights`: `rows × kernel_size` 22-bit fixed-point weights, row-major, unused slots 0.
/// - `counts`: the taps (input rows) each output row reads (at most `kernel_size`).
/// - `pairs`: tap pairs per output row, at least `ceil(max(counts) / 2)`.
/// - `prepared`: `rows × pairs × 2` int32 values, written: per pair, the low halves of its two
///   weights as int16s in one int32, then the high halves.
/// Portable C; needs no vector extension.
void swa_vertical_prepare(const int32_t *weights, ptrdiff_t kernel_size, const int32_t *counts, ptrdiff_t rows,
                          ptrdiff_t pairs, int32_t *prepared);

/// PIL's `ImagingResampleVertical_8bpc` with AVX2, on rows of `row_bytes` bytes (any channel count).
///
/// - `input`: the input rows, `row_bytes` apart; output row `r` reads rows `firsts[r] ..< firsts[r] + counts[r]`.
/// - `prepared`, `pairs`: as written by `swa_vertical_prepare`.
/// - `output`: `rows` rows of `row_bytes` bytes, packed.
/// Does nothing (and must not be called) when `swa_image_kernels_have_avx2()` is 0.
void swa_vertical_8bpc_avx2(const uint8_t *input, ptrdiff_t row_bytes, const int32_t *firsts, const int32_t *counts,
                            ptrdiff_t rows, const int32_t *prepared, ptrdiff_t pairs, uint8_t *output);

/// Packed RGB (`[H, W, 3]`) to three planes (`[3, H, W]`, torchvision's `ToTensor` order):
/// `red[i] = rgb[3i]`, `green[i] = rgb[3i + 1]`, `blue[i] = rgb[3i + 2]` for `pixels` pixels.
/// Does nothing (and must not be called) when `swa_image_kernels_have_avx2()` is 0.
void swa_planar_rgb8_avx2(const uint8_t *rgb, ptrdiff_t pixels, uint8_t *red, uint8_t *green, uint8_t *blue);

#endif
