import Foundation
import Testing
import SWAEngine

/// Choosing OpenBLAS kernels by CPU features when OpenBLAS fell back on an unknown CPU model.
@Suite struct BLASKernelChoiceTests {
    @Test func aFallbackIsReplacedByTheWidestKernelsTheFeaturesAllow() {
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: .avx512Kernels) == "SkylakeX")
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: [.avx512Kernels, .avx512bf16]) == "SkylakeX")
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: .avx2Kernels) == "Haswell")
        #expect(BLASKernelChoice.replacement(forCore: "Sandybridge", on: .avx2Kernels) == "Haswell")
        #expect(BLASKernelChoice.replacement(forCore: "Core2", on: .avx512Kernels) == "SkylakeX")
        // Names in any case, as OpenBLAS accepts them.
        #expect(BLASKernelChoice.replacement(forCore: "prescott", on: .avx2Kernels) == "Haswell")
    }

    @Test func aPartialAVX512SetGetsAVX2Kernels() {
        var features = CPUFeatures.avx512Kernels
        features.remove(.avx512bw)
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: features) == "Haswell")
    }

    @Test func noReplacementWithoutAVX2AndFMA() {
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: [.avx, .avx2]) == nil)
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: [.avx, .fma]) == nil)
        #expect(BLASKernelChoice.replacement(forCore: "Prescott", on: []) == nil)
    }

    @Test func aKnowinglyChosenOrUnknownCoreIsLeftAlone() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "Excavator"] {
            #expect(BLASKernelChoice.replacement(forCore: core, on: .avx512Kernels) == nil, "\(core)")
        }
        #expect(BLASKernelChoice.replacement(forCore: "Neoversen1", on: .avx512Kernels) == nil)
        #expect(BLASKernelChoice.vectorLevel(ofCore: "Neoversen1") == nil)
        #expect(BLASKernelChoice.vectorLevel(ofCore: "Zen") == .avx2)
        #expect(BLASKernelChoice.vectorLevel(ofCore: "Prescott") == .sse)
    }

    /// cpuid and xgetbv as swa reads them agree with the kernel's view in /proc/cpuinfo, which
    /// also lists a feature only when the OS enables its registers.
    @Test func featuresMatchProcCPUInfo() throws {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let flagsLine = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            Issue.record("no flags line in /proc/cpuinfo")
            return
        }
        let flags = Set(flagsLine.split(separator: ":")[1].split(separator: " ").map(String.init))
        let current = CPUFeatures.current
        let pairs: [(CPUFeatures, String)] = [
            (.avx, "avx"), (.avx2, "avx2"), (.fma, "fma"), (.avx512f, "avx512f"), (.avx512bw, "avx512bw"),
            (.avx512dq, "avx512dq"), (.avx512vl, "avx512vl"), (.avx512cd, "avx512cd"), (.avx512bf16, "avx512_bf16"),
        ]
        for (feature, flag) in pairs {
            #expect(current.contains(feature) == flags.contains(flag), "\(flag): cpuid says \(current)")
        }
    }
}
