import Foundation
import Testing
import SWAEngine
@testable import SWACommandLine

/// What every tool says about itself: `--version` and the completion scripts `make install`
/// ships. The tarball itself (static linking, an empty environment) is checked by
/// `make check-dist`, which needs a release build and is too slow for `swift test`.
@Suite struct VersionAndCompletionTests {
    static let tools = ["swa-avg", "swa-inspect", "swa-bn-update", "swa-eval", "swa-convert", "swa-landscape"]

    @Test(arguments: tools) func versionNamesReleaseBuildDateAndBLASKernels(tool: String) throws {
        let result = try ToolRunner.run(tool, ["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.stdout)")
        // How convolutions run, before the BLAS line: the policy, and oneDNN with its ISA unless `blas`.
        #expect(lines.dropFirst(2).first == "convolutions: \(ConvolutionReport.current.description)", "\(result.stdout)")
        #expect(lines.dropFirst(2).first?.contains("SWA_CONV_BACKEND=") == true, "\(result.stdout)")
        let info = BuildInfo.current
        // The tag's version, else the release number; the tests' debug build has no tag compiled in.
        #expect(lines.first?.hasPrefix("swa \(info.version) (commit ") == true, "\(result.stdout)")
        #expect(lines.dropFirst().first?.hasPrefix("built ") == true, "\(result.stdout)")
        #expect(result.stdout.contains("OpenBLAS"), "\(result.stdout)")
        // The kernels OpenBLAS selected in this process are those of the tool, unless they were a
        // fallback the tool replaced on starting (BLASKernelSelection).
        #expect(!info.blasCore.isEmpty)
        let expected = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil ? info.blasCore
            : BLASKernelChoice.replacement(forCore: info.blasCore, on: .current) ?? info.blasCore
        #expect(lines.last?.contains("kernels for \(expected) (") == true, "\(result.stdout)")
    }

    @Test func aMisspeltConvolutionBackendIsAUsageError() throws {
        let result = try ToolRunner.run("swa-inspect", ["fixtures/checkpoints/ckpt-003.safetensors.zst"],
                                        environment: ["SWA_CONV_BACKEND": "mkl"])
        #expect(result.status == 2)
        #expect(result.stderr == "swa-inspect: SWA_CONV_BACKEND=mkl is not a convolution backend; use auto, blas or dnnl\n")
        #expect(result.stdout.isEmpty)
        let forced = try ToolRunner.run("swa-inspect", ["--version"], environment: ["SWA_CONV_BACKEND": "dnnl"])
        #expect(forced.stdout.contains("convolutions: oneDNN 2.") && forced.stdout.contains("(SWA_CONV_BACKEND=dnnl)"), "\(forced.stdout)")
    }

    @Test func versionOfPlainSwiftBuildSaysUnknown() {
        let info = BuildInfo(taggedVersion: nil, commit: nil, buildDate: nil, blasCore: "Haswell",
                             blasConfiguration: "OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell")
        #expect(info.versionText == """
            swa \(swaReleaseVersion) (commit unknown: built without make)
            built unknown
            BLAS: OpenBLAS 0.3.21 DYNAMIC_ARCH Haswell; kernels for Haswell (chosen by OpenBLAS for this CPU model)
            """)
    }

    @Test func versionOfTaggedBuildDropsTheV() {
        let info = BuildInfo(taggedVersion: "v0.2.0-3-gc0bfeb9", commit: "c0bfeb9", buildDate: "2026-12-01",
                             blasCore: "Zen", blasConfiguration: "OpenBLAS 0.3.21")
        #expect(info.versionText.hasPrefix("swa 0.2.0-3-gc0bfeb9 (commit c0bfeb9)\nbuilt 2026-12-01\n"))
    }

    /// How each shell's script spells the long option `--start`.
    @Test(arguments: [("bash", "--start"), ("zsh", "'--start["), ("fish", "-l 'start'")])
    func completionScriptOffersSelectionFlags(shell: String, start: String) throws {
        let result = try ToolRunner.run("swa-avg", ["--generate-completion-script", shell])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(start), "\(shell)")
    }
}
