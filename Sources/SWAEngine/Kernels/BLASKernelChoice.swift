import CCPUFeatures

// MARK: - CPU features

/// The x86 vector extensions of the CPU this process runs on, counted only where the operating
/// system also saves their registers. Empty on other architectures.
///
/// The corresponding C function is `swa_cpu_features` (`cpuid` and `xgetbv`).
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let avx = CPUFeatures(rawValue: SWA_CPU_AVX)
    public static let avx2 = CPUFeatures(rawValue: SWA_CPU_AVX2)
    public static let fma = CPUFeatures(rawValue: SWA_CPU_FMA)
    public static let avx512f = CPUFeatures(rawValue: SWA_CPU_AVX512F)
    public static let avx512bw = CPUFeatures(rawValue: SWA_CPU_AVX512BW)
    public static let avx512dq = CPUFeatures(rawValue: SWA_CPU_AVX512DQ)
    public static let avx512vl = CPUFeatures(rawValue: SWA_CPU_AVX512VL)
    public static let avx512cd = CPUFeatures(rawValue: SWA_CPU_AVX512CD)
    public static let avx512bf16 = CPUFeatures(rawValue: SWA_CPU_AVX512BF16)

    /// What OpenBLAS's Haswell kernels need.
    public static let avx2Kernels: CPUFeatures = [.avx, .avx2, .fma]
    /// What OpenBLAS's SkylakeX kernels need (AVX-512 F, CD, BW, DQ, VL, as Skylake-SP has them).
    public static let avx512Kernels: CPUFeatures = [.avx2Kernels, .avx512f, .avx512cd, .avx512bw, .avx512dq, .avx512vl]

    /// The CPU this process runs on.
    public static var current: CPUFeatures { CPUFeatures(rawValue: swa_cpu_features()) }

    /// `AVX2 FMA AVX-512F ...`: the names as /proc/cpuinfo spells them, upper-cased.
    public var description: String {
        let names: [(CPUFeatures, String)] = [
            (.avx, "AVX"), (.avx2, "AVX2"), (.fma, "FMA"), (.avx512f, "AVX512F"), (.avx512cd, "AVX512CD"),
            (.avx512bw, "AVX512BW"), (.avx512dq, "AVX512DQ"), (.avx512vl, "AVX512VL"), (.avx512bf16, "AVX512_BF16"),
        ]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "none" : present.joined(separator: " ")
    }
}

// MARK: - Kernel choice

/// Which OpenBLAS kernel set a CPU should run, judged by its features rather than its model.
///
/// OpenBLAS built with DYNAMIC_ARCH (Debian's) chooses its kernels by CPU family and model when
/// it loads. A model it does not know falls back to SSE3 kernels: Debian's 0.3.21 runs the Intel
/// Xeon of family 6 model 207 (AVX-512) on its "Prescott" kernels, 2 to 4 times slower
/// (docs/PERFORMANCE.md). The choice can only be changed before the library loads, through the
/// `OPENBLAS_CORETYPE` environment variable; the tools do that by re-executing themselves once
/// (`SWACommandLine`'s `BLASKernelSelection`). This type only decides.
public enum BLASKernelChoice {
    /// The widest vector extension an OpenBLAS kernel set uses.
    public enum VectorLevel: Int, Comparable, Sendable {
        case sse, avx, avx2, avx512
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The level of the kernel set OpenBLAS names `core` (`openblas_get_corename`, any case),
    /// or nil for a name this table does not know (left alone).
    public static func vectorLevel(ofCore core: String) -> VectorLevel? {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": .avx512
        case "haswell", "zen", "excavator": .avx2
        case "sandybridge", "bulldozer", "piledriver", "steamroller": .avx
        case "katmai", "coppermine", "northwood", "prescott", "banias", "atom", "core2", "penryn", "dunnington",
             "nehalem", "opteron", "opteron(sse3)", "barcelona", "nano", "bobcat":
            .sse
        default: nil
        }
    }

    /// The kernel set to load instead of `currentCore`, or nil to keep it.
    ///
    /// Only a fallback is replaced: a core without AVX2 kernels on a CPU that has AVX2 and FMA.
    /// The replacement is the set OpenBLAS itself gives CPUs with these features: `SkylakeX`
    /// when AVX-512 F/CD/BW/DQ/VL are all usable, else `Haswell`. A kernel set OpenBLAS chose
    /// knowingly (`Zen`, `Haswell`, `SkylakeX`) is never second-guessed, nor is a name this table
    /// does not know.
    public static func replacement(forCore currentCore: String, on features: CPUFeatures) -> String? {
        guard let level = vectorLevel(ofCore: currentCore), level < .avx2 else { return nil }
        if features.isSuperset(of: .avx512Kernels) { return "SkylakeX" }
        if features.isSuperset(of: .avx2Kernels) { return "Haswell" }
        return nil
    }
}
