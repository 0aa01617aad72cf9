import CImageKernels

/// Which implementation of the image kernels runs: the resize's two passes
/// (`BilinearResize+Kernels.swift`) and the planar write (`RGBImage.writePlanar`).
///
/// Each exists twice, giving the same bytes: Swift loops, which run anywhere, and AVX2 kernels
/// in C (`CImageKernels`; Swift compiles every function for the package's baseline, x86-64 with
/// SSE2, and cannot target one function at AVX2). The AVX2 ones run where `cpuid` reports AVX2
/// (the AMD EPYC and Intel Xeon machines here); `ResizeKernelTests` holds them to the Swift ones.
enum ImageKernel: Sendable, CaseIterable {
    /// Swift loops: PIL's loop, three channels side by side (horizontal pass); a row at a time
    /// (vertical pass); a pixel at a time (planar write).
    case scalar
    /// CImageKernels' `swa_horizontal_rgb8_avx2`, `swa_vertical_8bpc_avx2`, `swa_planar_rgb8_avx2`.
    case avx2

    /// The fastest one this CPU runs: AVX2 where `cpuid` and the OS allow it, else scalar.
    static let fastest: ImageKernel = isAvailable(.avx2) ? .avx2 : .scalar

    /// Whether this CPU runs `kernel`.
    static func isAvailable(_ kernel: ImageKernel) -> Bool {
        switch kernel {
        case .scalar: true
        case .avx2: hasAVX2
        }
    }

    /// Read once: `cpuid` traps to the hypervisor in a virtual machine (1.9% of a pass's
    /// samples when it was asked per image).
    private static let hasAVX2 = swa_image_kernels_have_avx2() != 0
}
