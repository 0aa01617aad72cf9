import SWAFormats
import Foundation

// Which implementation runs each convolution layer: im2col + OpenBLAS sgemm (`conv2d`) or
// oneDNN (`OneDNNConvolution`). The forward pass asks once per layer, when it is built.

/// The implementation that runs one convolution layer.
public enum ConvolutionBackend: Sendable, Equatable {
    /// `conv2d`: im2col + `cblas_sgemm`, or the direct depthwise kernel.
    case blas
    /// `OneDNNConvolution` in the given layout.
    case oneDNN(OneDNNConvolution.Layout)
}

/// How the forward pass chooses a backend per convolution layer: `SWA_CONV_BACKEND=auto|blas|dnnl`.
///
/// `auto` (the default) applies `ConvolutionBackendPolicy.prefersOneDNN`, a rule read off the
/// per-shape measurements in docs/PERFORMANCE.md (oneDNN section), so the choice is a function
/// of the layer's shape and of the ISA oneDNN reports: the same model on the same machine
/// always gets the same kernels, hence the same floats, whatever the load. A timing probe at
/// plan time would follow the load instead, and a busy neighbour could flip a layer between
/// two runs. `blas` and `dnnl` force one backend everywhere (`dnnl` still leaves a shape to
/// `conv2d` when oneDNN has no implementation for it).
///
/// oneDNN always runs in its blocked layouts (`OneDNNConvolution.Layout.blocked`, its direct
/// JIT kernels): on plain NCHW it falls back to its own im2col + gemm, whose results change
/// with the OpenMP thread count (measured: 3 and 4 threads differ from 1 and 2 in the last
/// bits; `OneDNNConvolutionTests`), which would break the rule that results do not depend on
/// the core count.
public enum ConvolutionBackendPolicy: String, Sendable, CaseIterable {
    case auto, blas, dnnl

    /// The environment variable the tools read.
    public static let environmentVariable = "SWA_CONV_BACKEND"

    /// The policy `SWA_CONV_BACKEND` names (`auto` when unset or empty).
    /// - Throws: `SWAError` naming the variable and the accepted values for anything else.
    public init(environmentValue: String?) throws {
        guard let value = environmentValue?.lowercased(), !value.isEmpty else {
            self = .auto
            return
        }
        guard let policy = ConvolutionBackendPolicy(rawValue: value == "onednn" ? "dnnl" : value) else {
            throw SWAError("\(Self.environmentVariable)=\(environmentValue!) is not a convolution backend; use auto, blas or dnnl")
        }
        self = policy
    }

    /// This process's policy, from `SWA_CONV_BACKEND` (`auto` when unset or invalid: the tools
    /// reject an invalid value at startup, before any model runs).
    public static var current: ConvolutionBackendPolicy {
        (try? ConvolutionBackendPolicy(environmentValue: ProcessInfo.processInfo.environment[environmentVariable])) ?? .auto
    }

    /// The backend for a convolution of `geometry` over `height × width` input planes.
    public func backend(for geometry: Conv2dGeometry, height: Int, width: Int) -> ConvolutionBackend {
        switch self {
        case .blas: return .blas
        case .dnnl: return OneDNN.isAvailable ? .oneDNN(.blocked) : .blas
        case .auto:
            guard OneDNN.isAvailable, Self.prefersOneDNN(geometry, height: height, width: width, isa: OneDNN.isa) else { return .blas }
            return .oneDNN(.blocked)
        }
    }

    /// Whether oneDNN (blocked layouts, direct JIT kernels) measured consistently faster than
    /// im2col + sgemm for this shape on a CPU where oneDNN reports `isa` (docs/PERFORMANCE.md,
    /// "oneDNN convolutions", `make bench-dnnl`). Nowhere, so far:
    ///
    /// - AVX2 (AMD EPYC, 2 shared cores, 2026-12-02): oneDNN won some wide 3×3 stride-1 layers
    ///   (VGG16's 64→64 at 32×32 by 1.42x, 64→128 at 16×16 by 1.27x, WRN-28-10's 320→320 at
    ///   16×16 by 1.07x) and lost others of the same kind (WRN-28-10's 160→160 at 32×32, its most
    ///   frequent layer, by 1.30x; 128→128 at 16×16), every 1×1 and strided layer, the first
    ///   layers, and most small family layers, where its two reorders per layer weigh more than
    ///   the product and its OpenMP threads stall when the cores are shared (a descheduled thread
    ///   holds up the whole layer: 60–250 ms for layers im2col does in under 1 ms). No rule
    ///   over the shape separates its wins from its losses, so `auto` keeps im2col + sgemm.
    /// - AVX-512: not measured (no such machine here); `auto` keeps im2col + sgemm until
    ///   `make bench-dnnl` on one says otherwise. This function is where that answer goes.
    static func prefersOneDNN(_ geometry: Conv2dGeometry, height: Int, width: Int, isa: String) -> Bool {
        false
    }
}
