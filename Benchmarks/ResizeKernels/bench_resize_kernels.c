// The AVX2 image kernels (Sources/CImageKernels) against PIL's scalar loops, in CPU time per
// image of torchvision's evaluation recipe on a 500×375 photo: Resize 256 (→ 341×256) then
// CenterCrop 224, only the kept pixels computed (as BilinearResize+Region.swift does), and the
// planar write of the 224×224 result. Every round checks the bytes are identical.
// Built and run by Benchmarks/bench-resize-kernels.sh (`make bench-resize-kernels`).
#include "swa_image_kernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) {  // this thread's CPU time: other processes' load does not count
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double triangle(double x) { x = fabs(x); return x < 1 ? 1 - x : 0; }

/// PIL's precompute_coeffs (bilinear) and normalize_coeffs_8bpc; returns the kernel size.
static int coefficients(int in, int out, int32_t **weights, int32_t **firsts, int32_t **counts) {
    const double scale = (double)in / out, filter_scale = scale > 1 ? scale : 1, support = filter_scale;
    const int kernel_size = (int)ceil(support) * 2 + 1;
    *weights = calloc((size_t)(out * kernel_size), 4);
    *firsts = malloc((size_t)out * 4);
    *counts = malloc((size_t)out * 4);
    double *prepared = malloc((size_t)kernel_size * sizeof(double));
    for (int o = 0; o < out; o++) {
        const double center = (o + 0.5) * scale;
        int first = (int)(center - support + 0.5), last = (int)(center + support + 0.5);
        if (first < 0) first = 0;
        if (last > in) last = in;
        double total = 0;
        for (int i = 0; i < kernel_size; i++) prepared[i] = 0;
        for (int i = 0; i < last - first; i++) total += prepared[i] = triangle((i + first - center + 0.5) / filter_scale);
        for (int i = 0; i < last - first; i++) if (total != 0) prepared[i] /= total;
        for (int i = 0; i < kernel_size; i++) {
            const double v = prepared[i] * (1 << 22);
            (*weights)[o * kernel_size + i] = (int32_t)(v < 0 ? -0.5 + v : 0.5 + v);
        }
        (*firsts)[o] = first;
        (*counts)[o] = last - first;
    }
    free(prepared);
    return kernel_size;
}

static uint8_t clip8(int32_t sum) { return sum >= (1 << 22) << 8 ? 255 : sum <= 0 ? 0 : (uint8_t)(sum >> 22); }

static int compare_doubles(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 7, repeats = 50;
    if (!swa_image_kernels_have_avx2()) { printf("this CPU has no AVX2: nothing to compare\n"); return 0; }
    const int width = 500, height = 375, resized_width = 341, resized_height = 256, crop = 224;
    uint8_t *image = malloc((size_t)(width * height * 3));
    srand(1);
    for (int i = 0; i < width * height * 3; i++) image[i] = (uint8_t)(rand() % 5 ? (i * 7) % 256 : rand());
    int32_t *hw, *hf, *hn, *vw, *vf, *vn;
    const int hk = coefficients(width, resized_width, &hw, &hf, &hn), vk = coefficients(height, resized_height, &vw, &vf, &vn);
    const int left = (resized_width - crop + 1) / 2, top = (resized_height - crop + 1) / 2;
    const int first_row = vf[top], rows = vf[top + crop - 1] + vn[top + crop - 1] - first_row, row_bytes = crop * 3;
    // The kernels' prepared weights, as the Swift side builds them per image (timed with the kernels).
    int32_t *groups_per_column = malloc(crop * 4), *vertical_firsts = malloc(crop * 4);
    int16_t *horizontal_prepared = malloc((size_t)crop * 2 * SWA_HORIZONTAL_GROUP_VALUES * 2);
    int32_t *vertical_prepared = malloc((size_t)crop * 64 * 4);
    uint8_t *scalar = malloc((size_t)(rows * row_bytes)), *vector = malloc((size_t)(rows * row_bytes));
    uint8_t *scalar_out = malloc((size_t)(crop * row_bytes)), *vector_out = malloc((size_t)(crop * row_bytes));
    uint8_t *scalar_planar = malloc((size_t)(crop * row_bytes)), *vector_planar = malloc((size_t)(crop * row_bytes));
    double times[6][64];
    for (int round = 0; round < rounds && round < 64; round++) {
        double start = cpu_seconds();
        for (int r = 0; r < repeats; r++) {  // PIL's ImagingResampleHorizontal_8bpc, kept columns
            for (int y = 0; y < rows; y++) {
                for (int c = 0; c < crop; c++) {
                    const int column = left + c;
                    const uint8_t *p = image + (size_t)(first_row + y) * width * 3 + hf[column] * 3;
                    int32_t red = 1 << 21, green = 1 << 21, blue = 1 << 21;
                    for (int i = 0; i < hn[column]; i++, p += 3) {
                        const int32_t k = hw[column * hk + i];
                        red += p[0] * k; green += p[1] * k; blue += p[2] * k;
                    }
                    uint8_t *o = scalar + y * row_bytes + c * 3;
                    o[0] = clip8(red); o[1] = clip8(green); o[2] = clip8(blue);
                }
            }
        }
        times[0][round] = (cpu_seconds() - start) / repeats;
        start = cpu_seconds();
        for (int r = 0; r < repeats; r++) {
            int groups = 1;
            for (int c = 0; c < crop; c++) {
                groups_per_column[c] = (hn[left + c] + 3) / 4;
                if (groups_per_column[c] > groups) groups = groups_per_column[c];
            }
            swa_horizontal_prepare(hw + left * hk, hk, hn + left, crop, groups, horizontal_prepared);
            swa_horizontal_rgb8_avx2(image + (size_t)first_row * width * 3, width * 3, image + width * height * 3, rows, hf + left,
                                     groups_per_column, crop, horizontal_prepared, groups, vector, row_bytes);
        }
        times[1][round] = (cpu_seconds() - start) / repeats;
        start = cpu_seconds();
        for (int r = 0; r < repeats; r++) {  // PIL's ImagingResampleVertical_8bpc, kept rows
            for (int y = 0; y < crop; y++) {
                for (int x = 0; x < row_bytes; x++) {
                    int32_t sum = 1 << 21;
                    for (int i = 0; i < vn[top + y]; i++) sum += scalar[(vf[top + y] - first_row + i) * row_bytes + x] * vw[(top + y) * vk + i];
                    scalar_out[y * row_bytes + x] = clip8(sum);
                }
            }
        }
        times[2][round] = (cpu_seconds() - start) / repeats;
        start = cpu_seconds();
        for (int r = 0; r < repeats; r++) {
            int pairs = 1;
            for (int y = 0; y < crop; y++) {
                vertical_firsts[y] = vf[top + y] - first_row;
                if ((vn[top + y] + 1) / 2 > pairs) pairs = (vn[top + y] + 1) / 2;
            }
            swa_vertical_prepare(vw + top * vk, vk, vn + top, crop, pairs, vertical_prepared);
            swa_vertical_8bpc_avx2(vector, row_bytes, vertical_firsts, vn + top, crop, vertical_prepared, pairs, vector_out);
        }
        times[3][round] = (cpu_seconds() - start) / repeats;
        const int plane = crop * crop;
        start = cpu_seconds();
        for (int r = 0; r < repeats; r++) {
            for (int i = 0; i < plane; i++) {
                scalar_planar[i] = scalar_out[i * 3];
                scalar_planar[plane + i] = scalar_out[i * 3 + 1];
                scalar_planar[2 * plane + i] = scalar_out[i * 3 + 2];
            }
        }
        times[4][round] = (cpu_seconds() - start) / repeats;
        start = cpu_seconds();
        for (int r = 0; r < repeats; r++) swa_planar_rgb8_avx2(vector_out, plane, vector_planar, vector_planar + plane, vector_planar + 2 * plane);
        times[5][round] = (cpu_seconds() - start) / repeats;
        if (memcmp(scalar, vector, (size_t)(rows * row_bytes)) || memcmp(scalar_out, vector_out, (size_t)(crop * row_bytes))
            || memcmp(scalar_planar, vector_planar, (size_t)(crop * row_bytes))) {
            printf("MISMATCH: the AVX2 kernels' bytes differ from PIL's loops\n");
            return 1;
        }
    }
    const char *names[3] = {"horizontal pass (500 -> 341 px, 224 kept)", "vertical pass (to 224 kept rows)", "planar write (224x224)"};
    printf("CPU time per image, median of %d rounds of %d (bytes identical in every round; %d input rows read):\n", rounds, repeats, rows);
    for (int k = 0; k < 3; k++) {
        qsort(times[2 * k], (size_t)rounds, sizeof(double), compare_doubles);
        qsort(times[2 * k + 1], (size_t)rounds, sizeof(double), compare_doubles);
        const double s = times[2 * k][rounds / 2], v = times[2 * k + 1][rounds / 2];
        printf("  %-42s scalar %.3f ms, AVX2 %.3f ms, %.1fx\n", names[k], s * 1e3, v * 1e3, s / v);
    }
    return 0;
}
