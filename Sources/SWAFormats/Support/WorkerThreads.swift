import Foundation

/// How many threads the parallel loops of every tool use: `SWA_THREADS`, else the cores this
/// process may use.
///
/// Results never depend on it. Every parallel loop (kernels, the averager's element ranges,
/// image decoding, landscape points) gives each thread a disjoint part of its output and
/// computes every value the same way whatever the split; OpenBLAS runs each call on one thread
/// (`BLASRuntime.configureForKernels`). docs/RELIABILITY.md ("Determinism") shows the outputs
/// of every tool bit for bit equal at 1, 2 and 8 threads. The setting exists to leave cores to
/// others on a shared node, and to check that claim with more threads than cores.
///
/// oneDNN's convolutions (`SWA_CONV_BACKEND=dnnl`) thread with OpenMP, which `OMP_NUM_THREADS`
/// sets; their results do not depend on it either.
public enum WorkerThreads {
    /// The environment variable the tools read.
    public static let environmentVariable = "SWA_THREADS"

    /// The largest count accepted: far more threads than any core count gives nothing but
    /// memory (each thread of a kernel holds its own buffers).
    public static let maximum = 1024

    /// The count `SWA_THREADS` asks for, or nil when it is unset or empty.
    /// - Throws: `SWAError` naming the variable for anything but a whole number in
    ///   `1 ... maximum`.
    public static func requested(environmentValue: String?) throws -> Int? {
        guard let text = environmentValue?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        guard let count = Int(text), (1...maximum).contains(count) else {
            throw SWAError("\(environmentVariable)=\(environmentValue!) is not a thread count; give a whole number from 1 to \(maximum)")
        }
        return count
    }

    /// The cores this process may use (its CPU affinity mask, as `taskset` or a batch
    /// scheduler sets it), at least 1.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// This process's thread count, read once: `SWA_THREADS` when it is valid, else
    /// `availableCores` (the tools reject an invalid value at startup, before any work).
    public static let count: Int = {
        let value = ProcessInfo.processInfo.environment[environmentVariable]
        return ((try? requested(environmentValue: value)) ?? nil) ?? availableCores
    }()
}
