import CDNNL

// The one door to oneDNN (Debian libdnnl-dev 2.6.3, C API): the CPU engine, what the library
// reports about itself, and the status check every call goes through. The convolution
// primitives are in OneDNNConvolution.swift; which layers use them is ConvolutionBackend.swift.

/// oneDNN as this process loaded it.
///
/// The engine is created once, lazily, on first use; creating it costs a few milliseconds and
/// it is shared by every primitive (oneDNN's engines are thread-safe). oneDNN reads
/// `ONEDNN_MAX_CPU_ISA` (e.g. `AVX2`) when the engine is first created: that caps the
/// instruction set of its JIT kernels, to try the AVX2 kernels on an AVX-512 machine.
public enum OneDNN {
    /// The library's version and CPU threading runtime: `oneDNN 2.6.3 (OpenMP)`.
    ///
    /// The corresponding C function is `dnnl_version`.
    public static var version: String {
        let v = dnnl_version()!.pointee
        let runtime: String = switch v.cpu_runtime {
        case UInt32(DNNL_RUNTIME_OMP): "OpenMP"
        case UInt32(DNNL_RUNTIME_TBB): "TBB"
        case UInt32(DNNL_RUNTIME_SEQ): "sequential"
        case UInt32(DNNL_RUNTIME_THREADPOOL): "threadpool"
        default: "runtime \(v.cpu_runtime)"
        }
        return "oneDNN \(v.major).\(v.minor).\(v.patch) (\(runtime))"
    }

    /// The instruction set oneDNN's JIT kernels use on this CPU, as oneDNN names it (`avx2`,
    /// `avx512_core`, `avx512_core_amx`), after any `ONEDNN_MAX_CPU_ISA` cap.
    ///
    /// The corresponding C function is `dnnl_get_effective_cpu_isa`.
    public static var isa: String { isaName(dnnl_get_effective_cpu_isa()) }

    /// The threads one oneDNN primitive may use: OpenMP's `omp_get_max_threads()` on the
    /// calling thread (`OMP_NUM_THREADS`, else the cores).
    public static var maximumThreads: Int { Int(omp_get_max_threads()) }

    /// Sets the threads oneDNN primitives created afterwards on the calling thread may use.
    /// Tests and benchmarks use it to vary the thread count in one process; primitives size
    /// their work split when they are created.
    ///
    /// The corresponding C function is OpenMP's `omp_set_num_threads`.
    public static func setMaximumThreads(_ count: Int) {
        precondition(count > 0, "oneDNN: thread count must be positive")
        omp_set_num_threads(Int32(count))
    }

    /// The CPU engine every primitive runs on, or nil when oneDNN cannot create one (then every
    /// convolution takes the BLAS path).
    static var engine: dnnl_engine_t? { sharedEngine.handle }

    /// Whether oneDNN has a CPU engine here.
    public static var isAvailable: Bool { engine != nil }

    private static let sharedEngine = EngineHandle()

    /// Owns the engine for the life of the process (a `static let` initialiser runs once,
    /// lazily and thread-safely). The handle is only read after creation, and oneDNN engines
    /// may be used from any thread, hence `@unchecked Sendable`.
    private final class EngineHandle: @unchecked Sendable {
        let handle: dnnl_engine_t?
        init() {
            var engine: dnnl_engine_t?
            handle = dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success ? engine : nil
        }
    }
}

/// oneDNN's name for an ISA value (`dnnl_cpu_isa_t`), as in its documentation and
/// `ONEDNN_MAX_CPU_ISA`.
func isaName(_ isa: dnnl_cpu_isa_t) -> String {
    switch isa {
    case dnnl_cpu_isa_all: "all"
    case dnnl_cpu_isa_sse41: "sse41"
    case dnnl_cpu_isa_avx: "avx"
    case dnnl_cpu_isa_avx2: "avx2"
    case dnnl_cpu_isa_avx2_vnni: "avx2_vnni"
    case dnnl_cpu_isa_avx512_core: "avx512_core"
    case dnnl_cpu_isa_avx512_core_vnni: "avx512_core_vnni"
    case dnnl_cpu_isa_avx512_core_bf16: "avx512_core_bf16"
    case dnnl_cpu_isa_avx512_core_amx: "avx512_core_amx"
    default: "isa 0x\(String(isa.rawValue, radix: 16))"
    }
}

/// Stops with a message naming the call unless oneDNN reports success: after a primitive was
/// created, a failing call is a bug in how we call it, not bad input.
func checkDNNL(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN: \(call()) failed with status \(status.rawValue)")
}
