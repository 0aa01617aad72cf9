import Foundation
import Testing
import SWAEngine
@testable import SWACommandLine

/// The tools put themselves on the BLAS kernels the CPU's features allow when OpenBLAS fell
/// back (BLASKernelSelection), and leave a user's OPENBLAS_CORETYPE alone.
@Suite struct KernelSelectionTests {
    static let hasAVX2Kernels = CPUFeatures.current.isSuperset(of: .avx2Kernels)

    /// The kernels line of `--version`.
    static func kernelsLine(environment: [String: String?]) throws -> String {
        let result = try ToolRunner.run("swa-inspect", ["--version"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func aCoreTypeTheUserSetIsNeverOverridden() throws {
        let line = try Self.kernelsLine(environment: ["OPENBLAS_CORETYPE": "Prescott", "SWA_BLAS_FALLBACK_CORE": nil])
        #expect(line.hasSuffix("kernels for Prescott (set by OPENBLAS_CORETYPE=Prescott)"), "\(line)")
    }

    /// On a CPU with AVX2 and FMA, the tools never run SSE kernels unless told to: on Intel
    /// models OpenBLAS 0.3.21 does not know, this is the re-execution at work.
    @Test(.enabled(if: hasAVX2Kernels)) func aCPUWithAVX2NeverRunsFallbackKernels() throws {
        let line = try Self.kernelsLine(environment: ["OPENBLAS_CORETYPE": nil, "SWA_BLAS_FALLBACK_CORE": nil])
        let core = line.components(separatedBy: "kernels for ").last?.split(separator: " ").first.map(String.init) ?? ""
        let level = try #require(BLASKernelChoice.vectorLevel(ofCore: core), "\(line)")
        #expect(level >= .avx2, "\(line)")
    }

    /// A fallback simulated on a CPU OpenBLAS knows: the tool re-executes itself with the core
    /// type its features allow, and says who chose it.
    @Test(.enabled(if: hasAVX2Kernels)) func aFallbackIsReplacedByReexecution() throws {
        let line = try Self.kernelsLine(environment: ["OPENBLAS_CORETYPE": nil, "SWA_BLAS_FALLBACK_CORE": nil,
                                                      "SWA_TEST_BLAS_FALLBACK": "Prescott"])
        let expected = BLASKernelChoice.replacement(forCore: "Prescott", on: .current)!
        #expect(line.contains("kernels for \(expected) (chosen by swa from the CPU's features ("), "\(line)")
        #expect(line.hasSuffix("OpenBLAS had fallen back to Prescott)"), "\(line)")
    }

    /// The re-executed tool does the same work with the same arguments.
    @Test(.enabled(if: hasAVX2Kernels)) func theReexecutedToolGivesTheSameOutput() throws {
        let arguments = ["fixtures/checkpoints/ckpt-003.safetensors.zst"]
        let plain = try ToolRunner.run("swa-inspect", arguments, environment: ["OPENBLAS_CORETYPE": nil])
        let reexecuted = try ToolRunner.run("swa-inspect", arguments,
                                            environment: ["OPENBLAS_CORETYPE": nil, "SWA_TEST_BLAS_FALLBACK": "Prescott"])
        #expect(plain.status == 0 && reexecuted.status == 0, "\(plain.stderr) \(reexecuted.stderr)")
        #expect(!plain.stdout.isEmpty)
        #expect(plain.stdout == reexecuted.stdout)
    }
}

/// Every `--json` names the backend it ran on.
@Suite struct ComputeBackendReportTests {
    @Test func jsonOutputNamesTheBLASAndItsKernels() throws {
        let user = try ToolRunner.run("swa-inspect", ["fixtures/checkpoints/ckpt-003.safetensors.zst", "--json"],
                                      environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(user.status == 0, "\(user.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(user.stdout.utf8)) as? [String: Any])
        let backend = try #require(object["backend"] as? [String: String], "\(user.stdout)")
        #expect(backend["blas"]?.hasPrefix("OpenBLAS ") == true)
        #expect(backend["kernels"] == "Prescott")
        #expect(backend["kernels_chosen_by"] == "set by OPENBLAS_CORETYPE=Prescott")
        #expect(backend["cpu_features"] == CPUFeatures.current.description)
        // The report's own members are still there.
        #expect(object["tensors"] != nil, "\(user.stdout)")
    }
}
