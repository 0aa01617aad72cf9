import CBLAS
import Foundation
import SWAEngine

/// Puts the process on the BLAS kernels its CPU deserves, before any work starts.
///
/// OpenBLAS chooses its kernel set when it loads, before `main`, by CPU model; on a model it does
/// not know it falls back to SSE3 kernels (`BLASKernelChoice`). The only way to change the
/// choice is the `OPENBLAS_CORETYPE` environment variable at load time, so a tool that finds
/// itself on fallback kernels sets it from the CPU's features and re-executes itself, once. The
/// cost is one `execv` (a few milliseconds) on the machines that need it and nothing elsewhere.
///
/// A core type the user set is never overridden: with `OPENBLAS_CORETYPE` in the environment
/// (`OPENBLAS_CORETYPE=Prescott` reproduces the fallback on any x86 CPU), nothing happens.
public enum BLASKernelSelection {
    /// Set in the re-executed process to the kernel set OpenBLAS fell back to; it tells
    /// `--version` who chose the kernels and stops a second re-execution.
    static let fallbackVariable = "SWA_BLAS_FALLBACK_CORE"
    /// For tests on CPUs that OpenBLAS knows: behave as if it had fallen back to this core.
    static let simulatedFallbackVariable = "SWA_TEST_BLAS_FALLBACK"

    /// Re-executes the process with `OPENBLAS_CORETYPE` set when OpenBLAS fell back to kernels
    /// below the CPU's features; returns only when nothing needs doing or `execv` failed (the
    /// process then goes on with the kernels it has). Call first thing in `main`, while the
    /// process has no threads of its own.
    /// The corresponding C function is `execv`.
    public static func reexecutingIfKernelsFellBack() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment[fallbackVariable] == nil else { return }
        let loaded = environment[simulatedFallbackVariable] ?? BuildInfo.loadedBLASCore
        guard let better = BLASKernelChoice.replacement(forCore: loaded, on: .current) else { return }
        setenv("OPENBLAS_CORETYPE", better, 1)
        setenv(fallbackVariable, loaded, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(fallbackVariable)
    }

    /// Who chose the kernels this process runs, as a phrase for `--version` and `--json`.
    public static var origin: KernelOrigin {
        let environment = ProcessInfo.processInfo.environment
        if let fallback = environment[fallbackVariable], environment["OPENBLAS_CORETYPE"] != nil {
            return .chosenBySWA(replacing: fallback, features: CPUFeatures.current.description)
        }
        if let setting = environment["OPENBLAS_CORETYPE"] { return .environment(setting) }
        return .openBLAS
    }
}

/// Who chose the BLAS kernels a process runs.
public enum KernelOrigin: Sendable, Equatable, CustomStringConvertible {
    /// OpenBLAS, by the CPU model, when it loaded.
    case openBLAS
    /// The user, through `OPENBLAS_CORETYPE=VALUE`.
    case environment(String)
    /// swa, because OpenBLAS had fallen back to `replacing` on a CPU with `features`.
    case chosenBySWA(replacing: String, features: String)

    public var description: String {
        switch self {
        case .openBLAS: "chosen by OpenBLAS for this CPU model"
        case .environment(let value): "set by OPENBLAS_CORETYPE=\(value)"
        case .chosenBySWA(let fallback, let features):
            "chosen by swa from the CPU's features (\(features)); OpenBLAS had fallen back to \(fallback)"
        }
    }
}
