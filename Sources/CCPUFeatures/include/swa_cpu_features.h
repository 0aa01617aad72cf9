#ifndef SWA_CPU_FEATURES_H
#define SWA_CPU_FEATURES_H
// The x86 instruction-set extensions this CPU has and the operating system enables, read with
// `cpuid` and `xgetbv` (Swift has no inline assembly). OpenBLAS picks its kernels by CPU model;
// swa checks the features themselves when OpenBLAS did not recognise the model
// (SWAEngine/Kernels/BLASKernelChoice.swift). On other architectures every feature reads 0.

#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/// Bit flags of `swa_cpu_features()`.
static const uint32_t SWA_CPU_AVX = 1u << 0;        // AVX, with the OS saving YMM registers
static const uint32_t SWA_CPU_AVX2 = 1u << 1;
static const uint32_t SWA_CPU_FMA = 1u << 2;
static const uint32_t SWA_CPU_AVX512F = 1u << 3;    // AVX-512 Foundation, with the OS saving ZMM and opmask registers
static const uint32_t SWA_CPU_AVX512BW = 1u << 4;
static const uint32_t SWA_CPU_AVX512DQ = 1u << 5;
static const uint32_t SWA_CPU_AVX512VL = 1u << 6;
static const uint32_t SWA_CPU_AVX512CD = 1u << 7;
static const uint32_t SWA_CPU_AVX512BF16 = 1u << 8;

/// The features of the CPU this runs on, as `SWA_CPU_*` bits. A feature counts only when the
/// operating system also saves its registers (XCR0), as OpenBLAS and oneDNN require.
static inline uint32_t swa_cpu_features(void) {
    uint32_t features = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int has_osxsave = (ecx >> 27) & 1;
    const int has_avx = (ecx >> 28) & 1;
    const int has_fma = (ecx >> 12) & 1;
    if (!has_osxsave) return 0;
    unsigned int xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    const int os_saves_ymm = (xcr0_low & 0x6) == 0x6;            // SSE and AVX state
    const int os_saves_zmm = (xcr0_low & 0xE6) == 0xE6;          // plus opmask, ZMM_Hi256, Hi16_ZMM
    if (!(has_avx && os_saves_ymm)) return 0;
    features |= SWA_CPU_AVX;
    if (has_fma) features |= SWA_CPU_FMA;
    if (__get_cpuid_max(0, 0) < 7) return features;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned int max_leaf7_subleaf = eax;
    if ((ebx >> 5) & 1) features |= SWA_CPU_AVX2;
    if (os_saves_zmm) {
        if ((ebx >> 16) & 1) features |= SWA_CPU_AVX512F;
        if ((ebx >> 17) & 1) features |= SWA_CPU_AVX512DQ;
        if ((ebx >> 28) & 1) features |= SWA_CPU_AVX512CD;
        if ((ebx >> 30) & 1) features |= SWA_CPU_AVX512BW;
        if ((ebx >> 31) & 1) features |= SWA_CPU_AVX512VL;
        if (max_leaf7_subleaf >= 1) {
            __cpuid_count(7, 1, eax, ebx, ecx, edx);
            if ((eax >> 5) & 1) features |= SWA_CPU_AVX512BF16;
        }
    }
#endif
    return features;
}

#endif
