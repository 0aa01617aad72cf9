import CBLAS
import CBuildInfo
import SWAEngine

/// The toolkit's release number: the version when the build found no git tag.
public let swaReleaseVersion = "0.1.0"

/// What every tool's `--version` prints (swift-argument-parser's `version:`), made once at
/// startup: the version, the commit, the build date and the BLAS kernels this process selected.
public let swaVersion: String = BuildInfo.current.versionText

/// What a tool knows about its build and the BLAS library it runs on.
///
/// The build values come from the `CBuildInfo` header, which the Makefile's release builds fill
/// in (`-Xcc -DSWA_BUILD_COMMIT=...`); a plain `swift build` leaves them nil.
public struct BuildInfo: Sendable {
    /// `git describe --tags --dirty` (`v0.2.0`, `v0.2.0-3-gc0bfeb9`), or nil without a tag.
    public var taggedVersion: String?
    /// The short commit hash, `-dirty` when the tree had uncommitted changes; nil when unknown.
    public var commit: String?
    /// The UTC day of the build (`yyyy-mm-dd`), or nil when unknown.
    public var buildDate: String?
    /// The kernel set OpenBLAS chose for this CPU when it loaded (`Haswell`, `SkylakeX`, `Zen`).
    public var blasCore: String
    /// How OpenBLAS was compiled (`OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64`).
    public var blasConfiguration: String
    /// Who chose `blasCore` (`BLASKernelSelection`).
    public var blasCoreOrigin: KernelOrigin = .openBLAS
    /// How convolutions run (`ConvolutionReport`); nil leaves the line out.
    public var convolutions: ConvolutionReport? = nil

    /// This process: the values compiled in by `CBuildInfo` and those OpenBLAS reports.
    ///
    /// The corresponding C functions are `openblas_get_corename` and `openblas_get_config`.
    public static var current: BuildInfo {
        BuildInfo(taggedVersion: known(swa_build_version()),
                  commit: known(swa_build_commit()),
                  buildDate: known(swa_build_date()),
                  blasCore: loadedBLASCore,
                  blasConfiguration: trimmed(String(cString: openblas_get_config())),
                  blasCoreOrigin: BLASKernelSelection.origin,
                  convolutions: .current)
    }

    /// The kernel set OpenBLAS loaded in this process (`Haswell`, `Prescott`, `Zen`).
    /// The corresponding C function is `openblas_get_corename`.
    public static var loadedBLASCore: String { trimmed(String(cString: openblas_get_corename())) }

    /// The version: the tag description, else the release number.
    public var version: String { taggedVersion.map { $0.hasPrefix("v") ? String($0.dropFirst()) : $0 } ?? swaReleaseVersion }

    /// `swa VERSION (commit C)`, the build date, how convolutions run (oneDNN, its ISA,
    /// `SWA_CONV_BACKEND`; left out when unknown), and last OpenBLAS, its kernels and who chose them.
    public var versionText: String {
        """
        swa \(version) (commit \(commit ?? "unknown: built without make"))
        built \(buildDate ?? "unknown")\(convolutions.map { "\nconvolutions: \($0.description)" } ?? "")
        BLAS: \(blasConfiguration); kernels for \(blasCore) (\(blasCoreOrigin))
        """
    }

    private static func known(_ value: UnsafePointer<CChar>) -> String? {
        let string = String(cString: value)
        return string.isEmpty || string == "unknown" ? nil : string
    }

    /// OpenBLAS pads both strings with spaces.
    private static func trimmed(_ value: String) -> String {
        String(value.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// The compute backend of this process, as every `--json` output reports it:
/// `{"blas": "OpenBLAS 0.3.21", "kernels": "Haswell", "kernels_chosen_by": "...", "cpu_features": "AVX AVX2 FMA"}`.
public struct ComputeBackend: Encodable, Sendable {
    /// The BLAS library and its version (`OpenBLAS 0.3.21`).
    public var blas: String
    /// The kernel set it runs (`openblas_get_corename`).
    public var kernels: String
    /// Who chose the kernels (`KernelOrigin`).
    public var kernelsChosenBy: String
    /// The CPU's vector extensions as swa reads them (`CPUFeatures`).
    public var cpuFeatures: String
    /// `SWA_CONV_BACKEND`'s policy: `auto`, `blas` or `dnnl`.
    public var convolutions: String
    /// oneDNN and its threading runtime (`oneDNN 2.6.3 (OpenMP)`), unless convolutions are all
    /// im2col + sgemm (`blas`) or oneDNN has no engine here.
    public var onednn: String?
    /// The ISA of oneDNN's JIT kernels (`avx2`, `avx512_core`), after any `ONEDNN_MAX_CPU_ISA` cap.
    public var onednnIsa: String?

    /// This process's backend.
    public static var current: ComputeBackend {
        let info = BuildInfo.current
        return ComputeBackend(blas: info.blasConfiguration.split(separator: " ").prefix(2).joined(separator: " "),
                              kernels: info.blasCore, kernelsChosenBy: info.blasCoreOrigin.description,
                              cpuFeatures: CPUFeatures.current.description,
                              convolutions: ConvolutionReport.current.policy.rawValue,
                              onednn: ConvolutionReport.current.oneDNN, onednnIsa: ConvolutionReport.current.oneDNNISA)
    }
}

/// How this process runs convolutions: the `SWA_CONV_BACKEND` policy and, when oneDNN may run
/// some layers, its version and ISA.
public struct ConvolutionReport: Sendable, CustomStringConvertible {
    public var policy: ConvolutionBackendPolicy
    /// `oneDNN 2.6.3 (OpenMP)`; nil when the policy is `blas` or oneDNN has no engine.
    public var oneDNN: String?
    /// oneDNN's effective ISA (`avx2`); nil with `oneDNN`.
    public var oneDNNISA: String?

    /// This process's.
    public static var current: ConvolutionReport {
        let policy = ConvolutionBackendPolicy.current
        guard policy != .blas, OneDNN.isAvailable else { return ConvolutionReport(policy: policy) }
        return ConvolutionReport(policy: policy, oneDNN: OneDNN.version, oneDNNISA: OneDNN.isa)
    }

    /// `im2col + OpenBLAS sgemm; oneDNN 2.6.3 (OpenMP) with avx2 kernels where it measured faster (SWA_CONV_BACKEND=auto)`.
    public var description: String {
        let variable = ConvolutionBackendPolicy.environmentVariable
        guard let oneDNN, let oneDNNISA else { return "im2col + OpenBLAS sgemm (\(variable)=\(policy.rawValue))" }
        let kernels = "\(oneDNN) with \(oneDNNISA) kernels"
        return switch policy {
        case .dnnl: "\(kernels) (\(variable)=dnnl)"
        default: "im2col + OpenBLAS sgemm; \(kernels) where it measured faster, no layer on this ISA so far (\(variable)=\(policy.rawValue))"
        }
    }
}
